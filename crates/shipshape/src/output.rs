//! The CLI's output glue, shared by the subcommands: `--format` of the report commands and of the
//! status/import commands, writing to a file or standard output, usage errors. The formats
//! themselves (SBOMs, SARIF, scan JSON, tables) are the `report` crate's.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;

/// Exit status of a user error (bad path, bad flag value, nothing importable).
pub const EXIT_USAGE: i32 = 2;

/// `--format` of the status and import commands (`db`, `rules`, `compliance check`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

/// Prints `error: msg` and exits with [`EXIT_USAGE`].
pub fn usage_error(msg: impl std::fmt::Display) -> ! {
    eprintln!("error: {msg}");
    std::process::exit(EXIT_USAGE)
}

/// Prints the JSON (pretty, newline-terminated) or the table `format` asks for; only the one
/// asked for is built.
pub fn print(format: Format, json: impl FnOnce() -> serde_json::Value, table: impl FnOnce() -> String) -> anyhow::Result<()> {
    let text = match format {
        Format::Json => report::json_text(&json())?,
        Format::Table => table(),
    };
    print!("{text}");
    Ok(())
}

/// A report's `--format` as one of `allowed`; when not given, table on a terminal, else json.
pub fn report_format(given: Option<&str>, out: &Option<PathBuf>, allowed: &[report::Format]) -> anyhow::Result<report::Format> {
    match given {
        Some(s) => report::Format::parse_one_of(s, allowed).map_err(|e| anyhow::anyhow!("--format: {e}")),
        None if out.is_none() && std::io::stdout().is_terminal() => Ok(report::Format::Table),
        None => Ok(report::Format::Json),
    }
}

/// Writes a report to `--output FILE`, or to standard output.
pub fn write_out(out: &Option<PathBuf>, text: &str) -> anyhow::Result<()> {
    match out {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display())),
        None => {
            let mut o = std::io::stdout().lock();
            o.write_all(text.as_bytes())?;
            o.flush()?;
            Ok(())
        }
    }
}
