#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = catalog::parsers::parse_package_json(data);
    let _ = catalog::parsers::parse_package_lock(data);
});
