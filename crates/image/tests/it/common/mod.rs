//! Shared helpers of the source tests: env-gated fixtures and a walk of every layer.
#![allow(dead_code, reason = "each test binary uses its own subset of these helpers")]

use layer::{AnalyzeError, Analyzer, AnalyzerSet, FileInput, FileMeta, LayerFindings, LayerIndex, WalkOptions};
use model::{RiskFinding, Severity};
use std::path::PathBuf;
use std::sync::Arc;

/// `SHIPSHAPE_TESTIMAGES/<name>`, or `None` (skip) when not configured outside CI.
pub fn testimage(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("SHIPSHAPE_TESTIMAGES").map(PathBuf::from);
    let path = dir.map(|d| d.join(name)).filter(|p| p.exists());
    if path.is_none() {
        required(&format!("test image {name} (SHIPSHAPE_TESTIMAGES)"));
    }
    path
}

/// An env var a test needs, or `None` (skip) when not configured outside CI.
pub fn service(var: &str) -> Option<String> {
    let v = std::env::var(var).ok().filter(|v| !v.is_empty());
    if v.is_none() {
        required(var);
    }
    v
}

fn required(what: &str) {
    if std::env::var("SHIPSHAPE_TEST_SERVICES").is_ok_and(|v| v == "1") {
        panic!("{what} is required when SHIPSHAPE_TEST_SERVICES=1");
    }
    eprintln!("skipped: {what} not available");
}

/// Wants every regular file; records path, bytes seen and truncation as warnings-free data,
/// and reports every file under `app/config/` as a risk (to follow deletions through merge).
#[derive(Default)]
pub struct WantsAll {
    pub seen: std::sync::Mutex<Vec<(String, usize, bool)>>,
}

impl Analyzer for WantsAll {
    fn name(&self) -> &'static str {
        "wants-all"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, _: &str, _: &FileMeta) -> bool {
        true
    }
    fn analyze(&self, f: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        self.seen.lock().unwrap().push((f.path.to_string(), f.data.len(), f.truncated));
        if f.path.starts_with("app/config/") {
            out.risks.push(RiskFinding {
                rule_id: "test-config-file".into(),
                title: "config file".into(),
                category: "sensitive-file".into(),
                severity: Severity::Low,
                location: f.location.clone(),
                line: 0,
                masked: String::new(),
                deleted_in_layer: None,
            });
        }
        Ok(())
    }
}

/// Shares one analyzer between the set and the test.
pub struct Shared(pub Arc<WantsAll>);
impl Analyzer for Shared {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, p: &str, m: &FileMeta) -> bool {
        self.0.wants(p, m)
    }
    fn analyze(&self, f: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        self.0.analyze(f, out)
    }
}

/// Walks every layer of an opened image on a blocking thread.
pub async fn walk_all(img: Arc<image::OpenedImage>, analyzer: Arc<WantsAll>) -> Vec<LayerIndex> {
    tokio::task::spawn_blocking(move || {
        let set = AnalyzerSet::new(vec![Box::new(Shared(analyzer))]).unwrap();
        let opts = WalkOptions::default();
        let mut out = Vec::new();
        for (i, l) in img.image().layers.iter().enumerate() {
            let blob = img.layer_reader(i).unwrap();
            let (tar, _) = layer::decompress(blob, Some(&l.media_type)).unwrap();
            out.push(layer::walk_layer(tar, &l.diff_id, i as u32, &set, &opts).unwrap());
        }
        out
    })
    .await
    .unwrap()
}
