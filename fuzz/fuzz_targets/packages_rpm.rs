#![no_main]
use libfuzzer_sys::fuzz_target;

// The first byte picks the reader: a header blob, or an SQLite / NDB / BDB database whose
// blobs are then decoded as headers.
fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let blobs = match sel % 4 {
        0 => Ok(vec![rest.to_vec()]),
        1 => packages::parsers::parse_sqlite(rest),
        2 => packages::parsers::parse_ndb(rest),
        _ => packages::parsers::parse_bdb(rest),
    };
    for b in blobs.unwrap_or_default() {
        let _ = packages::parsers::parse_header_blob(&b);
    }
});
