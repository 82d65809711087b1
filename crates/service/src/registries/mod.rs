//! Image registries and their images (schemas: ../shared/spec/schema/<Action>.json, objects.json):
//! `AddAssetImageRegistryRegistryDetail`, `UpdateAssetImageRegistryRegistryDetail`,
//! `RemoveAssetImageRegistryRegistryDetail`, `CheckRepeatAssetImageRegistry`,
//! `DescribeAssetImageRegistryRegistryList` / `...RegistryDetail`, `DescribeImageRegistryNamespaceList`;
//! `SyncAssetImageRegistryAsset`, `DescribeAssetImageRegistryAssetStatus`,
//! `DescribeAssetImageRegistryList` / `Detail` / `Summary`, `CreateAssetImageRegistryScanTask(OneKey)`,
//! `DescribeAssetImageRegistryScanStatusOneKey`, `ModifyAssetImageRegistryScanStop(OneKey)`,
//! `DescribeAssetImageRegistryVulList` / `VirusList` / `RiskInfoList`,
//! `DescribeImageRegistryTimingScanTask` / `UpdateImageRegistryTimingScanTask`.
//!
//! Handlers read and write the store (`store::registries`); the `scan` worker syncs registries
//! and scans their images on the one image scan queue (registry tasks are its `registry` family),
//! so a registry image has the same results as the same image id in the local image actions —
//! the finding lists here are the local ones (`images/findings.rs`: rows, filters, sort keys,
//! each registry list's table joining the local one's with its own filters) in the registry
//! shapes. The one
//! network call is the connection check on add and update (bounded, `scan`'s
//! [`store::registries::ConnectionCheck`]).
//!
//! One file per part: `registry.rs` (the registries themselves), `sync.rs`, `image_list.rs` (the
//! image rows: list, summary, detail), `namespaces.rs`, `tasks.rs` (scan tasks), `findings.rs`,
//! `schedule.rs`; the input checks they share are here.
//!
//! Conventions where TCSS leaves room:
//! - Registries of `serve --registries FILE` are listed too, named `file:HOST`, read-only: update
//!   and remove answer `FailedOperation` (edit the file). Names starting with `file:` are theirs.
//! - `Url`: `https://HOST[:PORT]`, `http://HOST[:PORT]` (plain HTTP) or `HOST[:PORT]` (HTTPS).
//!   `Insecure` 1: HTTPS without checking the certificate. `RegistryType`: harbor, quay, jfrog,
//!   gitlab, dockerhub, aws, azure, tcr, ccr, other-tcr, other (a plain distribution registry):
//!   all are read the same way (OCI distribution API; Basic credential, or a bearer token from
//!   the registry's token realm). `NetType`: public or private (recorded; the server's own
//!   network decides reachability). `SpeedLimit`: MB/s of layer downloads during scans (0: none).
//!   `SyncMode` 0 reads every tag's manifest on each sync, 1 only tags not seen before. `NeedScan`:
//!   after each sync the registry's never-scanned images are scanned (mode 0: each repository's
//!   latest only). `ConnDetectConfig`, `WebhookUrl`/`WebhookToken`, `InstanceId`,
//!   `RegistryVersion`/`RegistryRegion` are recorded and shown; the connection is checked from
//!   the server itself (`ConnDetectType` `backend`, Quuid/Uuid `backend`).
//! - A name already taken: `NameRepeatErr` says so, `RegistryId` is 0 and nothing is stored. A
//!   failed connection check: the registry is stored and `HealthCheckErr` says why (also in its
//!   `ConnDetectDetail`, with `ConnDetectStatus` `status_success`, `status_auth_failed`,
//!   `status_conn_failed` or `status_detecting` until the first check).
//! - Update with an empty `Password` and the same `Username` keeps the stored password; both
//!   empty: anonymous. Passwords are never returned (`Password` is always empty).
//! - List rows are (registry, repository, tag); `Id` is stable while the tag exists; `ImageName`
//!   is the repository, `Namespace` its first path component (empty for a top-level repository),
//!   `InstanceName` the registry's name. `IsLatestImage`: the repository's newest image (creation
//!   time, then the tag `latest`). Statuses and counts are those of the image id (`NOT_SCAN`,
//!   `SCANNING`, `SCANNED`, `SCAN_ERR`), as in `DescribeAssetImageList`.
//! - `ScanType`: `CVE` (or `VUL`), `VIRUS`, `RISK`, any case; absent: all three. Registry task
//!   ids are integers. One unfinished registry task per account (`FailedOperation.ErrAlreadyScanning`),
//!   beside the local one.
//! - Scan progress (`DescribeAssetImageRegistryScanStatusOneKey`): `SuccessCount` = images scanned
//!   without findings, `RiskCount` = with findings; `ImageStatus` has one entry per image of the
//!   task (its first registry row), or the rows asked for; per-image `ScanStatus` `WAIT_SCAN`,
//!   `SCANNING`, `SCANNED`, `SCAN_ERR`, `CANCELLED`.
//! - Times are UTC `YYYY-MM-DD HH:MM:SS`; `ImageCreateTime` is the image config's RFC 3339 time.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

use api::Caller;
use model::AccountId;
use model::scan_summary::FindingKind;
use serde::{Deserialize, Serialize};
use store::registries::{
    CONN_AUTH_FAILED, CONN_DETECTING, CONN_FAILED, CONN_SUCCESS, ConnStatus, FILE_NAME_PREFIX, ImagePageQuery, ImageRef, PasswordChange,
    Registry, RegistryImage, RegistryScanSetting, RegistrySelection, RegistrySpec, RegistryWrite, latest_ids,
};
use store::scan_tasks::{CreatedTask, ImageScanResult, NewImageScanTask, format_utc};

use crate::Service;
use crate::error::ServiceError;
use crate::images;
use crate::images::{KindSummary, Summary};
use crate::list::{AssetFilters, Filter, ListQuery, ListRequest, ListSpec, check_filters, descending, invalid, joined, page, text_match};

mod findings;
mod image_list;
mod namespaces;
mod registry;
mod schedule;
mod sync;
mod tasks;

pub use findings::*;
pub use image_list::*;
pub use namespaces::*;
pub use registry::*;
pub use schedule::*;
pub use sync::*;
pub use tasks::*;

#[cfg(test)]
mod tests;

const MAX_TEXT: usize = 512;
const MAX_NAME: usize = 128;
const MAX_LIST: usize = 1000;
const MAX_SPEED: i64 = 100_000;
const DEFAULT_TIMEOUT_SECS: u64 = 3600;
const MAX_TIMEOUT_SECS: u64 = 30 * 86_400;
const REGISTRY_TYPES: &[&str] = &["harbor", "quay", "jfrog", "gitlab", "dockerhub", "aws", "azure", "tcr", "ccr", "other-tcr", "other"];

fn value(field: &'static str, reason: String) -> ServiceError {
    ServiceError::InvalidValue { field, reason }
}

fn missing(field: &'static str, reason: &str) -> ServiceError {
    ServiceError::MissingParameter { field, reason: reason.into() }
}

fn not_found(what: &'static str, id: impl ToString) -> ServiceError {
    ServiceError::NotFound { what, id: id.to_string() }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn id_i64(field: &'static str, v: u64) -> Result<i64, ServiceError> {
    i64::try_from(v).map_err(|_| invalid(field, format!("{v} is out of range")))
}

fn ids_i64(field: &'static str, v: &Option<Vec<u64>>) -> Result<Vec<i64>, ServiceError> {
    let v = v.as_deref().unwrap_or_default();
    if v.len() > MAX_LIST {
        return Err(ServiceError::LengthLimit { field, reason: format!("at most {MAX_LIST} entries, got {}", v.len()) });
    }
    v.iter().map(|x| id_i64(field, *x)).collect()
}

fn text(field: &'static str, v: Option<&str>, max: usize) -> Result<String, ServiceError> {
    let v = v.unwrap_or("").trim();
    if v.chars().any(char::is_control) {
        return Err(ServiceError::InvalidFormat { field, reason: "control characters are not allowed".into() });
    }
    if v.chars().count() > max {
        return Err(ServiceError::LengthLimit { field, reason: format!("at most {max} characters") });
    }
    Ok(v.to_string())
}

fn list_of(field: &'static str, v: &Option<Vec<String>>) -> Result<Vec<String>, ServiceError> {
    let v = v.as_deref().unwrap_or_default();
    if v.len() > MAX_LIST {
        return Err(ServiceError::LengthLimit { field, reason: format!("at most {MAX_LIST} entries, got {}", v.len()) });
    }
    v.iter().map(|s| text(field, Some(s), MAX_TEXT)).collect()
}
