//! Shipshape's own advisory format: [`Advisory`] values as a store keeps them, one JSON object
//! per line, in a file named `*.advisories.jsonl` (the payloads of a signed bundle, see
//! [`crate::bundle`]). Re-parsing is lossless, so a bundle import stores exactly what was exported.

use super::Importer;
use crate::advisory::Advisory;

/// File names this importer claims: by name alone, since the content is plain JSON lines.
pub const ADVISORY_LINES_SUFFIX: &str = ".advisories.jsonl";

pub struct AdvisoryLines;

impl Importer for AdvisoryLines {
    fn name(&self) -> &'static str {
        "advisories-jsonl"
    }

    fn detect(&self, path: &str, _head: &[u8]) -> bool {
        path.ends_with(ADVISORY_LINES_SUFFIX)
    }

    fn parse(&self, _path: &str, data: &[u8], source: &str) -> Result<Option<Vec<Advisory>>, String> {
        let mut out = Vec::new();
        for (i, line) in data.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let mut adv: Advisory = serde_json::from_slice(line).map_err(|e| format!("line {}: {e}", i + 1))?;
            // Stamped like every importer: the store keys advisories by (source, id).
            adv.source = source.to_owned();
            out.push(adv);
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_names_the_bad_one() {
        let good = r#"{"id":"X-1","source":"old","affected":[{"ecosystem":"PyPI","name":"a"}]}"#;
        let data = format!("{good}\n\n{good}\n");
        let advs = AdvisoryLines.parse("p", data.as_bytes(), "src").unwrap().unwrap();
        assert_eq!(advs.len(), 2);
        assert!(advs.iter().all(|a| a.source == "src"));
        let err = AdvisoryLines.parse("p", format!("{good}\n{{oops\n").as_bytes(), "src").unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
        assert!(AdvisoryLines.detect("b.bundle!0001.advisories.jsonl", b""));
        assert!(!AdvisoryLines.detect("x.jsonl", b""));
    }
}
