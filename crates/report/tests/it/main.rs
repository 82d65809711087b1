//! One test binary for the crate (see the workspace rule): one module per file.

mod formats;
mod schemas;
