//! One integration-test binary per crate: each file under tests/ used to link its own copy of
//! the crate's dependency tree (yara-x and wasmtime for several), which cost link time and disk.
mod acceptance;
mod ranges;
