//! Local images and image scan tasks: `DescribeAssetImageList`, `CreateAssetImageScanTask`,
//! `DescribeAssetImageScanStatus`, `ModifyAssetImageScanStop`, `DescribeAssetImageScanTask`,
//! `DescribeAssetImageVulList` / `VirusList` / `RiskList`, `DescribeAssetImageDetail`
//! (schemas: ../shared/spec/schema/<Action>.json, objects.json).
//!
//! Handlers only read and write the store: tasks are durable queue rows that the `scan` worker
//! (started by `serve`) claims; a stop marks the rows cancelled and the worker notices within
//! a heartbeat. The inventory is what the worker last saw in the Docker Engine.
//!
//! Conventions where TCSS leaves room:
//! - Levels (vulnerability `Level`, virus `RiskLevel`, risk `Level`): 1 low, 2 medium, 3 high,
//!   4 critical. Filters accept the numbers or the words (`HIGH`).
//! - Risk `Type`: 1 secret or private key in a file's content, 2 sensitive file. `Behavior`: 1
//!   the file is in the final image, 2 a later layer deleted or replaced it (still in the
//!   layer blobs). `Desc` carries the rule, path, line and layer; `InstructionContent` the
//!   remedy and the masked value (a secret's value is never returned).
//! - `Filters` with `ExactMatch` false match substrings (case-insensitive), true whole values.
//! - Times are UTC `YYYY-MM-DD HH:MM:SS`.
//! - `ScanError` of a scan that hit a walk limit (files, size, depth) but otherwise finished says
//!   so (`PARTIAL_SCAN`); the status stays `SCANNED`.
//! - Vulnerability fields from the advisory data: `SubmitTime` = the advisory's `published`
//!   (RFC 3339 as the data gives it; empty when the record has none), `Des` = its `details`
//!   (else a sentence naming advisory, package, file and layer), `Category` = the CWE ids it
//!   names (`CWE-79,CWE-89`; empty when none), `CategoryType` = `SYSTEM` for OS packages,
//!   `APPLICATION` for language packages, `AttackLevel` = from the CVSS attack vector: 3 network,
//!   2 adjacent network, 1 local or physical, 0 no vector. `DefenseSolution` stays empty:
//!   Shipshape has no runtime defence to propose.

use std::cmp::Ordering;
use std::collections::HashMap;

use api::Caller;
use model::{Location, Severity};
use serde::{Deserialize, Serialize};
use store::scan_tasks::{CreatedTask, ImageAsset, ImageScanResult, NewImageScanTask, format_utc};

use crate::Service;
use crate::error::ServiceError;
pub use crate::list::AssetFilters;
use crate::list::invalid;

const DEFAULT_TIMEOUT_SECS: u64 = 3600;
const MAX_LIST: usize = 1000;

// ---- stored rows (written by `scan`: results::ImageSummary and the finding types) ----

// The stored summary (written by `scan::results`), one definition in `model`; the registry lists
// and the metrics read it through these names.
use model::scan_summary::FindingKind;
pub(crate) use model::scan_summary::{ImageSummary as Summary, KindSummary};

// Findings are read back as the types the scan wrote them with (one definition each).
pub(crate) type StoredVuln = vuln::VulnFinding;
pub(crate) type StoredVirus = model::MalwareFinding;
pub(crate) type StoredRisk = model::RiskFinding;

/// `ScanError`: the whole scan's error, else a note that a walk limit cut the scan short (the
/// stored `partial`; TCSS has no field of its own for it), else empty.
fn scan_error(s: &Summary) -> String {
    if !s.error.is_empty() {
        s.error.clone()
    } else if s.partial {
        PARTIAL_SCAN.to_string()
    } else {
        String::new()
    }
}

/// An image's scan status word, shared by the local and registry image lists: a running task
/// wins, then no stored result, then a result that recorded an error.
pub(crate) fn scan_status(running: bool, result: Option<&ImageScanResult>, summary: &Summary) -> &'static str {
    if running {
        "SCANNING"
    } else if result.is_none() {
        "NOT_SCAN"
    } else if !summary.error.is_empty() {
        "SCAN_ERR"
    } else {
        "SCANNED"
    }
}

/// The `ScanError` of a scan that finished but hit a walk limit.
pub(crate) const PARTIAL_SCAN: &str = "partial scan: a file count, size or depth limit was reached; findings may be missing";

fn parse_summary(r: Option<&ImageScanResult>) -> Summary {
    r.and_then(|r| serde_json::from_str(&r.summary).ok()).unwrap_or_default()
}

fn corrupt<E: std::fmt::Display>(e: E) -> ServiceError {
    ServiceError::Store(store::Error::Corrupt { table: "image_findings", reason: e.to_string() })
}

mod detail;
mod findings;
mod list;
mod tasks;
pub use detail::*;
pub use findings::*;
pub use list::*;
pub use tasks::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::list::{descending, page, paged, parse_level, text_match};

    fn asset(id: &str, names: &[&str]) -> ImageAsset {
        ImageAsset {
            facts: model::node::ImageFacts {
                image_id: id.into(),
                names: names.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn image_naming() {
        let a = asset("sha256:0123456789abcdef0123", &["shipshape-test/bookworm-app:1", "app:latest"]);
        assert!(names_image(&a, "sha256:0123456789abcdef0123"));
        assert!(names_image(&a, "0123456789ab"));
        assert!(!names_image(&a, "0123456789"));
        assert!(names_image(&a, "shipshape-test/bookworm-app:1"));
        assert!(names_image(&a, "app"));
        assert!(!names_image(&a, "shipshape-test/bookworm-app"));
        assert!(!names_image(&a, ""));
    }

    #[test]
    fn filters_and_orders() {
        let f = AssetFilters { name: "ImageName".into(), values: vec!["BOOK".into()], exact_match: None };
        assert!(text_match(&f, "bookworm"));
        let f = AssetFilters { exact_match: Some(true), ..f };
        assert!(!text_match(&f, "bookworm"));
        assert!(descending(Some("DESC")).unwrap());
        assert!(descending(Some("-")).unwrap());
        assert!(!descending(Some("asc")).unwrap());
        assert!(descending(Some("up")).is_err());
        assert_eq!(parse_level("L", "HIGH").unwrap(), 3);
        assert_eq!(parse_level("L", "4").unwrap(), 4);
        assert!(parse_level("L", "5").is_err());
        assert!(page(Some(101), None).is_err());
        assert_eq!(paged(vec![1, 2, 3, 4], (2, 1)), vec![2, 3]);
    }

    #[test]
    fn partial_scans_are_reported() {
        // The summary as `scan` writes it: the stored `partial` reaches ScanError (it was dropped
        // by a reader-side copy of the summary type before).
        let stored = r#"{"os_name":"","component_cnt":3,"vul":null,"virus":null,"risk":null,"partial":true,"error":""}"#;
        let s: Summary = serde_json::from_str(stored).unwrap();
        assert_eq!(scan_error(&s), PARTIAL_SCAN);
        let r = ImageRow { asset: asset("sha256:1", &[]), summary: s.clone(), scanned_at: Some(0), status: "SCANNED" };
        assert_eq!(images_info(&r).scan_error, PARTIAL_SCAN);
        assert_eq!(images_info(&r).scan_status, "SCANNED");
        // An error of the whole scan wins; a complete scan has none.
        assert_eq!(scan_error(&Summary { error: "gone".into(), ..s.clone() }), "gone");
        assert_eq!(scan_error(&Summary { partial: false, ..s }), "");
    }

    fn row(id: &str, containers: u64) -> ImageRow {
        let mut a = asset(id, &[]);
        a.facts.container_cnt = containers;
        ImageRow { asset: a, summary: Summary::default(), scanned_at: None, status: "NOT_SCAN" }
    }

    #[test]
    fn selection() {
        let rows = || vec![row("sha256:aaaaaaaaaaaaaaaa", 0), row("sha256:bbbbbbbbbbbbbbbb", 2)];
        assert_eq!(select(rows(), true, &[], &[], &[], 0).unwrap().len(), 2);
        let ex = vec!["sha256:aaaaaaaaaaaaaaaa".to_string()];
        assert_eq!(select(rows(), true, &[], &[], &ex, 0).unwrap().len(), 1);
        let unknown = vec!["sha256:cccccccccccccccc".to_string()];
        assert!(matches!(select(rows(), false, &unknown, &[], &[], 0), Err(ServiceError::NotFound { .. })));
        assert!(matches!(select(rows(), false, &[], &[], &[], 0), Err(ServiceError::MissingParameter { .. })));
        assert_eq!(select(rows(), false, &[], &[], &[], 2).unwrap().len(), 1);
        let f = vec![AssetFilters { name: "ImageID".into(), values: vec!["bbbb".into()], exact_match: Some(false) }];
        assert_eq!(select(rows(), false, &[], &f, &[], 0).unwrap().len(), 1);
        let bad = vec![AssetFilters { name: "Nope".into(), values: vec!["x".into()], exact_match: None }];
        assert!(select(rows(), false, &[], &bad, &[], 0).is_err());
    }
}
