#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = packages::parsers::parse_package_json(data);
    let _ = packages::parsers::parse_package_lock(data);
});
