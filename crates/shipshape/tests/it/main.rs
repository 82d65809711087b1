//! One integration-test binary per crate: each file under tests/ used to link its own copy of
//! the crate's dependency tree (yara-x and wasmtime for several), which cost link time and disk.
mod cli_db_rules;
mod db_bundle;
mod db_update;
mod dependency_direction;
mod distro_vuln;
mod fs_scan;
mod image_cli;
