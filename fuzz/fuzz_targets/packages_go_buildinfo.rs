#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(info) = packages::parsers::parse_build_info(data) {
        let _ = info.packages();
    }
});
