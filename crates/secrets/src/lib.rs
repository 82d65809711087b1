//! Leaked secrets, private keys and sensitive files in image layers.
//!
//! [`Secrets`] holds the compiled rule table ([`builtin_rules`] or user rules of the same
//! [`RuleSpec`] shape): an aho-corasick keyword prefilter decides which regexes run at all,
//! regexes run over bounded overlapping chunks under a per-file time/size [`Budget`], known
//! examples and package test fixtures are allow-listed, and every value is masked (first 4
//! characters) before it leaves the scanner. [`RiskAnalyzer`] plugs it into the layer walk.
//!
//! Not here: verifying secrets against live services (never: no network in analyzers).

mod engine;
mod rules;
mod sensitive;

pub use engine::{Budget, FileScan, SecretHit, Secrets, allowed_path, mask};
pub use rules::{RuleSpec, builtin_rules};

use layer::{AnalyzeError, Analyzer, EntryKind, FileInput, FileMeta, LayerFindings};
use model::RiskFinding;
use std::sync::Arc;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("secret rule {id}: {reason}")]
    Rule { id: String, reason: String },
}

/// Whether a file at `path` (no leading `/`) is worth reading at all: not docs, binaries by
/// extension or package test fixtures, unless it is a known sensitive file.
pub fn wanted(path: &str) -> bool {
    !allowed_path(path) || sensitive::classify(path).is_some()
}

/// The `layer::Analyzer` for secrets and sensitive files.
pub struct RiskAnalyzer {
    secrets: Arc<Secrets>,
}

impl RiskAnalyzer {
    pub fn new(secrets: Arc<Secrets>) -> RiskAnalyzer {
        RiskAnalyzer { secrets }
    }

    /// With the built-in rules.
    pub fn builtin() -> Result<RiskAnalyzer, Error> {
        Ok(RiskAnalyzer::new(Arc::new(Secrets::builtin()?)))
    }
}

impl Analyzer for RiskAnalyzer {
    fn name(&self) -> &'static str {
        "secrets"
    }

    fn version(&self) -> u32 {
        1
    }

    fn wants(&self, path: &str, meta: &FileMeta) -> bool {
        meta.kind == EntryKind::File && meta.size > 0 && wanted(path)
    }

    // Findings depend on the file alone: the walker may scan files on all cores.
    fn stateless(&self) -> bool {
        true
    }

    fn analyze(&self, file: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        let scan = self.secrets.scan(file.path, file.data);
        out.warnings.extend(scan.warnings);
        out.risks.extend(scan.hits.into_iter().map(|h| RiskFinding {
            rule_id: h.rule_id,
            title: h.title,
            category: h.category,
            severity: h.severity,
            location: file.location.clone(),
            line: h.line,
            masked: h.masked,
            deleted_in_layer: None,
        }));
        Ok(())
    }
}
