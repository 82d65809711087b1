#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut budget = 64 << 20;
    let (mut out, mut warnings) = (Vec::new(), Vec::new());
    let _ = packages::parsers::read_archive(data, "fuzz.jar", 0, &mut budget, &mut out, &mut warnings);
});
