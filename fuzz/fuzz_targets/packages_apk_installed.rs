#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = packages::parsers::parse_installed(&String::from_utf8_lossy(data));
});
