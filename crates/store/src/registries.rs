//! Image registries of an account and their images per (repository, tag): the rows behind the
//! TCSS registry actions (migration 0033).
//!
//! A registry is added over the API (`origin` `api`, its password sealed like API secret keys,
//! never read back but by the scan worker) or mirrored from the server's registries file (`file`,
//! one row per account and host, read-only over the API; its password stays in the file or the
//! environment). Either kind is an inventory source of the image scan worker: a sync writes the
//! registry's tags here and its images into `image_assets` (source [`Registry::source`]) in one
//! transaction, so the registry lists and the local image list agree. Scan results stay per image
//! id (`image_scan_results` / `image_findings`), whoever scanned it.
//!
//! Registry scan tasks are image scan tasks of the family `registry` on the one queue of
//! `scan_tasks` (one unfinished task per account and family).

use std::collections::{HashMap, HashSet};

use model::AccountId;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::scan_tasks::{CreatedTask, FAMILY_REGISTRY, ImageAsset, ImageScanTask, NewImageScanTask, upsert_asset_row};
use crate::{Backend, Error, Store, now_unix};

pub const ORIGIN_API: &str = "api";
pub const ORIGIN_FILE: &str = "file";
/// Inventory source names of API registries start with this, then the registry id.
pub const API_SOURCE_PREFIX: &str = "registry-api:";
/// Inventory source names of file registries (the registries file's own scheme).
pub const FILE_SOURCE_PREFIX: &str = "registry:";
/// Names of file registries start with this, then the host (reserved for them).
pub const FILE_NAME_PREFIX: &str = "file:";

/// `conn_status` values (TCSS `ConnDetectStatus`).
pub const CONN_SUCCESS: &str = "status_success";
pub const CONN_AUTH_FAILED: &str = "status_auth_failed";
pub const CONN_FAILED: &str = "status_conn_failed";
pub const CONN_DETECTING: &str = "status_detecting";

/// What a client sets on a registry (file rows: derived from the file entry).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct RegistrySpec {
    pub name: String,
    /// As given (`https://host:port`, `http://host`, `host:port`).
    pub url: String,
    /// `HOST[:PORT]`, as in image references.
    pub host: String,
    /// The URL says `http://`.
    pub plain_http: bool,
    /// TCSS `Insecure` 1: TLS certificates are not verified.
    pub insecure: bool,
    /// Empty: anonymous.
    pub username: String,
    pub registry_type: String,
    pub net_type: String,
    pub registry_version: String,
    pub registry_region: String,
    /// Layer download limit, MB/s (10^6 bytes); 0: none.
    pub speed_limit: u64,
    /// `ConnDetectConfig` as given: (Quuid, Uuid) of agent hosts (Shipshape checks from the server).
    pub conn_detect_config: Vec<(String, String)>,
    pub need_scan: bool,
    /// 0 full (every tag's manifest read on each sync), 1 incremental (only tags not seen before).
    pub sync_mode: u64,
    pub webhook_url: String,
    pub webhook_token: String,
    pub instance_id: String,
    /// Repositories to list; `None`: the registry's whole catalog.
    pub repositories: Option<Vec<String>>,
}

/// The outcome of a connection check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnStatus {
    /// One of the `CONN_*` values.
    pub status: String,
    /// Empty on success, else why.
    pub message: String,
    pub checked_at: Option<i64>,
}

impl std::fmt::Debug for RegistrySpec {
    // The webhook token is a credential: never in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrySpec")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("username", &self.username)
            .field("webhook_url", &self.webhook_url)
            .field("webhook_token", &if self.webhook_token.is_empty() { "" } else { "****" })
            .finish_non_exhaustive()
    }
}

/// A connection check of a registry's address and credential. Implemented by `scan` (which
/// speaks to registries) and used by `service` on add and update; it lives here because both
/// depend on this crate and neither on the other.
pub trait ConnectionCheck: Send + Sync {
    fn check<'a>(
        &'a self,
        spec: &'a RegistrySpec,
        password: Option<&'a str>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ConnStatus> + Send + 'a>>;
}

/// A registry as stored (the password only as "there is one").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    pub registry_id: i64,
    pub origin: String,
    pub spec: RegistrySpec,
    pub has_password: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub conn: ConnStatus,
    /// A sync was asked for and no worker has started it yet.
    pub sync_requested: bool,
    /// `""` never synced, `doing`, `success`, `failed`.
    pub sync_status: String,
    pub sync_error: String,
    pub synced_at: Option<i64>,
    pub sync_success_at: Option<i64>,
}

impl Registry {
    /// The `source` of its rows in `image_assets`.
    pub fn source(&self) -> String {
        if self.origin == ORIGIN_FILE { format!("{FILE_SOURCE_PREFIX}{}", self.spec.host) } else { api_source(self.registry_id) }
    }

    pub fn read_only(&self) -> bool {
        self.origin == ORIGIN_FILE
    }
}

pub fn api_source(registry_id: i64) -> String {
    format!("{API_SOURCE_PREFIX}{registry_id}")
}

/// A registry of the registries file, as mirrored into every account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileRegistry {
    pub host: String,
    pub plain_http: bool,
    pub username: Option<String>,
    pub repositories: Option<Vec<String>>,
}

/// What an add or update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryWrite {
    /// Written; the registry id.
    Done(i64),
    /// Another registry of the account has this name (its id); nothing written.
    NameTaken(i64),
    NotFound,
    /// A registries-file entry: edit the file instead.
    ReadOnly,
}

/// The password on an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChange<'a> {
    /// Anonymous from now on.
    Clear,
    Set(&'a str),
    /// Keep the stored one.
    Keep,
}

/// One tag of a registry, as a sync writes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryTag {
    pub repository: String,
    pub tag: String,
    /// Config digest.
    pub image_id: String,
    /// The digest the tag points at (the index's, for a multi-platform tag).
    pub digest: String,
    /// Compressed layer bytes.
    pub size: u64,
    pub created: String,
    pub os: String,
    pub architecture: String,
}

/// One tag of a registry with what the lists show of its registry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryImage {
    /// TCSS list entry `Id`.
    pub id: i64,
    pub registry_id: i64,
    pub tag: RegistryTag,
    pub registry_name: String,
    pub registry_type: String,
    pub registry_region: String,
    pub host: String,
    pub instance_id: String,
}

impl RegistryImage {
    /// `HOST/REPO`.
    pub fn address(&self) -> String {
        format!("{}/{}", self.host, self.tag.repository)
    }

    /// The repository's first path component (a Harbor project, a Quay organisation, a GitLab
    /// group); empty for a top-level repository.
    pub fn namespace(&self) -> &str {
        namespace(&self.tag.repository)
    }
}

pub fn namespace(repository: &str) -> &str {
    repository.split_once('/').map_or("", |(n, _)| n)
}

/// Rows that are their repository's latest image: newest image creation time, then the tag
/// named `latest`, then the greatest tag name.
pub fn latest_ids(rows: &[RegistryImage]) -> HashSet<i64> {
    let mut best: HashMap<(i64, &str), &RegistryImage> = HashMap::new();
    for r in rows {
        let key = (r.registry_id, r.tag.repository.as_str());
        let rank = |x: &RegistryImage| (x.tag.created.clone(), x.tag.tag == "latest", x.tag.tag.clone());
        match best.get(&key) {
            Some(b) if rank(b) >= rank(r) => {}
            _ => {
                best.insert(key, r);
            }
        }
    }
    best.values().map(|r| r.id).collect()
}

/// A registry image list the database can page ([`Store::registry_image_page`]).
#[derive(Debug, Clone, Default)]
pub struct ImagePageQuery {
    /// All must hold; each holds when any of its values does.
    pub filters: Vec<ImageFilter>,
    pub sort: ImageSort,
    /// Descending: the `id` tie-break too (as the in-memory sort of the list reverses it).
    pub desc: bool,
    pub limit: u64,
    pub offset: u64,
}

#[derive(Debug, Clone)]
pub struct ImageFilter {
    pub column: ImageColumn,
    pub test: ImageTest,
}

/// Stored columns of a tag row a filter or sort can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImageColumn {
    #[default]
    Id,
    RegistryId,
    Repository,
    Tag,
    ImageId,
    Digest,
    Size,
    Created,
}

impl ImageColumn {
    fn sql(self) -> &'static str {
        match self {
            ImageColumn::Id => "id",
            ImageColumn::RegistryId => "registry_id",
            ImageColumn::Repository => "repository",
            ImageColumn::Tag => "tag",
            ImageColumn::ImageId => "image_id",
            ImageColumn::Digest => "digest",
            ImageColumn::Size => "size",
            ImageColumn::Created => "created",
        }
    }
}

pub type ImageSort = ImageColumn;

#[derive(Debug, Clone)]
pub enum ImageTest {
    /// Byte-equal to one of the values.
    Equals(Vec<String>),
    /// Contains one of the values, ASCII case-insensitively (callers pass ASCII values only: the
    /// databases' LOWER differ beyond ASCII).
    Contains(Vec<String>),
    /// An integer column equal to one of the values.
    Ids(Vec<i64>),
}

enum Bind {
    I(i64),
    S(String),
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    binds: &'q [Bind],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for b in binds {
        q = match b {
            Bind::I(v) => q.bind(*v),
            Bind::S(v) => q.bind(v.as_str()),
        };
    }
    q
}

/// `%`, `_` and the escape character itself taken literally in a LIKE pattern (`ESCAPE '!'`).
fn like_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out
}

/// A registry image as a client names it (TCSS `ImageInfo`); empty fields match anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    pub instance_name: String,
    pub namespace: String,
    pub image_name: String,
    pub image_tag: String,
    pub force: String,
    pub image_digest: String,
    pub registry_type: String,
    pub image_repo_address: String,
    pub instance_id: String,
}

impl ImageRef {
    /// Names at least one image: a name, an address or a digest.
    pub fn is_specific(&self) -> bool {
        !(self.image_name.trim().is_empty() && self.image_repo_address.trim().is_empty() && self.image_digest.trim().is_empty())
    }

    pub fn matches(&self, r: &RegistryImage) -> bool {
        let empty_or = |want: &str, f: &dyn Fn(&str) -> bool| {
            let w = want.trim();
            w.is_empty() || f(w)
        };
        let address = r.address();
        empty_or(&self.image_name, &|w| w == r.tag.repository || w == address)
            && empty_or(&self.image_tag, &|w| w == r.tag.tag)
            && empty_or(&self.image_repo_address, &|w| w == address || w == format!("{address}:{}", r.tag.tag))
            && empty_or(&self.image_digest, &|w| w == r.tag.digest || w == r.tag.image_id)
            && empty_or(&self.instance_name, &|w| w == r.registry_name)
            && empty_or(&self.instance_id, &|w| w == r.instance_id || w == r.registry_id.to_string())
            && empty_or(&self.namespace, &|w| w == r.namespace())
            && empty_or(&self.registry_type, &|w| w.eq_ignore_ascii_case(&r.registry_type))
    }
}

/// Which registry images a scan (or the schedule) takes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrySelection {
    /// 0 every image, 1 the chosen ones (`ids`, `images`), 2 recommended: images some container uses.
    pub scope: u64,
    pub ids: Vec<i64>,
    pub images: Vec<ImageRef>,
    pub exclude_ids: Vec<i64>,
    /// Only each repository's latest image ([`latest_ids`]).
    pub latest_only: bool,
    /// Empty: any.
    pub registry_types: Vec<String>,
    pub namespaces: Vec<String>,
    /// Only images with a running container.
    pub container_running: bool,
}

impl RegistrySelection {
    /// The rows chosen; `containers(image_id)` = (containers, running containers).
    pub fn select<'a>(&self, rows: &'a [RegistryImage], containers: &dyn Fn(&str) -> (u64, u64)) -> Vec<&'a RegistryImage> {
        let latest = if self.latest_only { Some(latest_ids(rows)) } else { None };
        rows.iter()
            .filter(|r| match self.scope {
                1 => self.ids.contains(&r.id) || self.images.iter().any(|i| i.matches(r)),
                2 => containers(&r.tag.image_id).0 > 0,
                _ => true,
            })
            .filter(|r| self.registry_types.is_empty() || self.registry_types.iter().any(|t| t.eq_ignore_ascii_case(&r.registry_type)))
            .filter(|r| self.namespaces.is_empty() || self.namespaces.iter().any(|n| n == r.namespace()))
            .filter(|r| latest.as_ref().is_none_or(|l| l.contains(&r.id)))
            .filter(|r| !self.container_running || containers(&r.tag.image_id).1 > 0)
            .filter(|r| !self.exclude_ids.contains(&r.id))
            .collect()
    }
}

/// The registry scan schedule (`UpdateImageRegistryTimingScanTask`), validated by the service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryScanSetting {
    pub enable: bool,
    /// UTC `HH:MM[:SS]`.
    pub scan_time: String,
    /// Days.
    pub scan_period: u64,
    pub scan_end_time: Option<String>,
    /// `ScanType` as given (echoed back).
    pub scan_types: Vec<String>,
    pub scan_vul: bool,
    pub scan_virus: bool,
    pub scan_risk: bool,
    /// `All` as given.
    pub all: bool,
    pub selection: RegistrySelection,
}

/// A stored schedule with the scheduler's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryScanSchedule {
    pub account: AccountId,
    pub setting: RegistryScanSetting,
    pub updated_at: i64,
    pub last_slot: Option<i64>,
    pub last_scan_time: Option<String>,
    pub scan_result: Option<String>,
}

/// One image of a registry task's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedImage {
    pub image_id: String,
    /// `pending`, `running`, `done`, `failed`, `cancelled`.
    pub state: String,
    pub error: String,
    pub risk_count: u64,
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

const COLS: &str = "registry_id, origin, name, url, host, plain_http, insecure, username, password_sealed IS NOT NULL, \
                    registry_type, net_type, registry_version, registry_region, speed_limit, conn_detect_config, need_scan, \
                    sync_mode, webhook_url, webhook_token, instance_id, repositories, created_at, updated_at, conn_status, \
                    conn_message, conn_checked_at, sync_requested, sync_status, sync_error, synced_at, sync_success_at";

fn corrupt(reason: String) -> Error {
    Error::Corrupt { table: "registries", reason }
}

fn b(r: &AnyRow, i: usize) -> Result<bool, Error> {
    // `x IS NOT NULL` is an integer in SQLite and a boolean in PostgreSQL.
    match r.try_get::<i64, _>(i) {
        Ok(v) => Ok(v != 0),
        Err(_) => Ok(r.try_get::<bool, _>(i)?),
    }
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn registry_from_row(r: &AnyRow) -> Result<Registry, Error> {
    let conn_cfg: String = r.try_get(14)?;
    let conn_detect_config: Vec<(String, String)> =
        serde_json::from_str(&conn_cfg).map_err(|e| corrupt(format!("conn_detect_config: {e}")))?;
    let repos: Option<String> = r.try_get(20)?;
    let repositories = repos.map(|t| serde_json::from_str(&t)).transpose().map_err(|e| corrupt(format!("repositories: {e}")))?;
    Ok(Registry {
        registry_id: r.try_get(0)?,
        origin: r.try_get(1)?,
        spec: RegistrySpec {
            name: r.try_get(2)?,
            url: r.try_get(3)?,
            host: r.try_get(4)?,
            plain_http: b(r, 5)?,
            insecure: b(r, 6)?,
            username: r.try_get(7)?,
            registry_type: r.try_get(9)?,
            net_type: r.try_get(10)?,
            registry_version: r.try_get(11)?,
            registry_region: r.try_get(12)?,
            speed_limit: u(r.try_get(13)?),
            conn_detect_config,
            need_scan: b(r, 15)?,
            sync_mode: u(r.try_get(16)?),
            webhook_url: r.try_get(17)?,
            webhook_token: r.try_get(18)?,
            instance_id: r.try_get(19)?,
            repositories,
        },
        has_password: b(r, 8)?,
        created_at: r.try_get(21)?,
        updated_at: r.try_get(22)?,
        conn: ConnStatus { status: r.try_get(23)?, message: r.try_get(24)?, checked_at: r.try_get(25)? },
        sync_requested: b(r, 26)?,
        sync_status: r.try_get(27)?,
        sync_error: r.try_get(28)?,
        synced_at: r.try_get(29)?,
        sync_success_at: r.try_get(30)?,
    })
}

fn password_aad(registry_id: i64) -> String {
    format!("registry-password:{registry_id}")
}

fn json_pairs(v: &[(String, String)]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn json_repos(v: &Option<Vec<String>>) -> Option<String> {
    v.as_ref().map(|r| serde_json::Value::from(r.clone()).to_string())
}

const IMAGE_COLS: &str = "id, registry_id, repository, tag, image_id, digest, size, created, os, architecture";

/// A tag row; its registry's display fields are filled from `regs`.
fn image_from_row(r: &AnyRow, regs: &HashMap<i64, Registry>) -> Result<RegistryImage, Error> {
    let registry_id: i64 = r.try_get(1)?;
    let reg = regs.get(&registry_id);
    let field = |f: fn(&Registry) -> &String| reg.map(|g| f(g).clone()).unwrap_or_default();
    Ok(RegistryImage {
        id: r.try_get(0)?,
        registry_id,
        tag: RegistryTag {
            repository: r.try_get(2)?,
            tag: r.try_get(3)?,
            image_id: r.try_get(4)?,
            digest: r.try_get(5)?,
            size: u(r.try_get(6)?),
            created: r.try_get(7)?,
            os: r.try_get(8)?,
            architecture: r.try_get(9)?,
        },
        registry_name: field(|g| &g.spec.name),
        registry_type: field(|g| &g.spec.registry_type),
        registry_region: field(|g| &g.spec.registry_region),
        host: field(|g| &g.spec.host),
        instance_id: field(|g| &g.spec.instance_id),
    })
}

/// Deletes a registry's tags and inventory rows (inside `tx`).
async fn forget_registry_rows(tx: &mut Tx, account: AccountId, registry_id: i64, source: &str) -> Result<(), Error> {
    sqlx::query("DELETE FROM registry_images WHERE account_id = $1 AND registry_id = $2")
        .bind(account)
        .bind(registry_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM image_assets WHERE account_id = $1 AND source = $2").bind(account).bind(source).execute(&mut **tx).await?;
    Ok(())
}

async fn name_owner(tx: &mut Tx, account: AccountId, name: &str) -> Result<Option<i64>, Error> {
    let row = sqlx::query("SELECT registry_id FROM registries WHERE account_id = $1 AND name = $2")
        .bind(account)
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

impl Store {
    /// Adds an API registry (a sync of it is requested at once). `NameTaken` when the account
    /// already has a registry of that name.
    pub async fn add_registry(
        &self,
        account: AccountId,
        spec: &RegistrySpec,
        password: Option<&str>,
        conn: &ConnStatus,
    ) -> Result<RegistryWrite, Error> {
        let mut tx = self.begin_write().await?;
        if let Some(id) = name_owner(&mut tx, account, &spec.name).await? {
            return Ok(RegistryWrite::NameTaken(id));
        }
        let now = now_unix();
        let inserted = sqlx::query(
            "INSERT INTO registries (account_id, origin, file_host, name, url, host, plain_http, insecure, username, \
             registry_type, net_type, registry_version, registry_region, speed_limit, conn_detect_config, need_scan, sync_mode, \
             webhook_url, webhook_token, instance_id, repositories, created_at, updated_at, conn_status, conn_message, \
             conn_checked_at, sync_requested, sync_status, sync_error) \
             VALUES ($1, 'api', NULL, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20, \
             $21, $22, $23, 1, 'doing', '') RETURNING registry_id",
        )
        .bind(account)
        .bind(&spec.name)
        .bind(&spec.url)
        .bind(&spec.host)
        .bind(spec.plain_http as i64)
        .bind(spec.insecure as i64)
        .bind(&spec.username)
        .bind(&spec.registry_type)
        .bind(&spec.net_type)
        .bind(&spec.registry_version)
        .bind(&spec.registry_region)
        .bind(i(spec.speed_limit))
        .bind(json_pairs(&spec.conn_detect_config))
        .bind(spec.need_scan as i64)
        .bind(i(spec.sync_mode))
        .bind(&spec.webhook_url)
        .bind(&spec.webhook_token)
        .bind(&spec.instance_id)
        .bind(json_repos(&spec.repositories))
        .bind(now)
        .bind(&conn.status)
        .bind(&conn.message)
        .bind(conn.checked_at)
        .fetch_one(&mut *tx)
        .await;
        let id: i64 = match inserted {
            Ok(r) => r.try_get(0)?,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                drop(tx);
                // A concurrent add took the name.
                let mut tx = self.begin_write().await?;
                return Ok(name_owner(&mut tx, account, &spec.name).await?.map_or(RegistryWrite::NotFound, RegistryWrite::NameTaken));
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(p) = password {
            let (nonce, sealed) = self.secrets.seal(&password_aad(id), p)?;
            sqlx::query("UPDATE registries SET password_nonce = $1, password_sealed = $2 WHERE registry_id = $3")
                .bind(nonce)
                .bind(sealed)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(RegistryWrite::Done(id))
    }

    /// Replaces an API registry's settings (a sync is requested; its tags stay until then).
    pub async fn update_registry(
        &self,
        account: AccountId,
        registry_id: i64,
        spec: &RegistrySpec,
        password: PasswordChange<'_>,
        conn: &ConnStatus,
    ) -> Result<RegistryWrite, Error> {
        let mut tx = self.begin_write().await?;
        let origin = sqlx::query("SELECT origin FROM registries WHERE account_id = $1 AND registry_id = $2")
            .bind(account)
            .bind(registry_id)
            .fetch_optional(&mut *tx)
            .await?;
        match origin {
            None => return Ok(RegistryWrite::NotFound),
            Some(r) if r.try_get::<String, _>(0)? != ORIGIN_API => return Ok(RegistryWrite::ReadOnly),
            Some(_) => {}
        }
        if let Some(other) = name_owner(&mut tx, account, &spec.name).await?.filter(|o| *o != registry_id) {
            return Ok(RegistryWrite::NameTaken(other));
        }
        sqlx::query(
            "UPDATE registries SET name = $1, url = $2, host = $3, plain_http = $4, insecure = $5, username = $6, \
             registry_type = $7, net_type = $8, registry_version = $9, registry_region = $10, speed_limit = $11, \
             conn_detect_config = $12, need_scan = $13, sync_mode = $14, instance_id = $15, updated_at = $16, \
             conn_status = $17, conn_message = $18, conn_checked_at = $19, sync_requested = 1, sync_status = 'doing', \
             sync_error = '' WHERE account_id = $20 AND registry_id = $21",
        )
        .bind(&spec.name)
        .bind(&spec.url)
        .bind(&spec.host)
        .bind(spec.plain_http as i64)
        .bind(spec.insecure as i64)
        .bind(&spec.username)
        .bind(&spec.registry_type)
        .bind(&spec.net_type)
        .bind(&spec.registry_version)
        .bind(&spec.registry_region)
        .bind(i(spec.speed_limit))
        .bind(json_pairs(&spec.conn_detect_config))
        .bind(spec.need_scan as i64)
        .bind(i(spec.sync_mode))
        .bind(&spec.instance_id)
        // Microseconds would be nicer, but a later sync only compares for equality: a second
        // update within the same second is caught by the sync request it sets.
        .bind(now_unix())
        .bind(&conn.status)
        .bind(&conn.message)
        .bind(conn.checked_at)
        .bind(account)
        .bind(registry_id)
        .execute(&mut *tx)
        .await?;
        match password {
            PasswordChange::Keep => {}
            PasswordChange::Clear => {
                sqlx::query("UPDATE registries SET password_nonce = NULL, password_sealed = NULL WHERE registry_id = $1")
                    .bind(registry_id)
                    .execute(&mut *tx)
                    .await?;
            }
            PasswordChange::Set(p) => {
                let (nonce, sealed) = self.secrets.seal(&password_aad(registry_id), p)?;
                sqlx::query("UPDATE registries SET password_nonce = $1, password_sealed = $2 WHERE registry_id = $3")
                    .bind(nonce)
                    .bind(sealed)
                    .bind(registry_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(RegistryWrite::Done(registry_id))
    }

    /// Removes an API registry with its tags and inventory rows (its images' results stay: they
    /// belong to the image id, which another source may hold).
    pub async fn remove_registry(&self, account: AccountId, registry_id: i64) -> Result<RegistryWrite, Error> {
        let mut tx = self.begin_write().await?;
        let Some(reg) = self.registry_in(&mut tx, account, registry_id).await? else {
            return Ok(RegistryWrite::NotFound);
        };
        if reg.read_only() {
            return Ok(RegistryWrite::ReadOnly);
        }
        forget_registry_rows(&mut tx, account, registry_id, &reg.source()).await?;
        sqlx::query("DELETE FROM registries WHERE account_id = $1 AND registry_id = $2")
            .bind(account)
            .bind(registry_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(RegistryWrite::Done(registry_id))
    }

    async fn registry_in(&self, tx: &mut Tx, account: AccountId, registry_id: i64) -> Result<Option<Registry>, Error> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM registries WHERE account_id = $1 AND registry_id = $2"))
            .bind(account)
            .bind(registry_id)
            .fetch_optional(&mut **tx)
            .await?;
        row.as_ref().map(registry_from_row).transpose()
    }

    /// The account's registries by id.
    pub async fn registries(&self, account: AccountId) -> Result<Vec<Registry>, Error> {
        let rows = sqlx::query(&format!("SELECT {COLS} FROM registries WHERE account_id = $1 ORDER BY registry_id"))
            .bind(account)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(registry_from_row).collect()
    }

    pub async fn registry(&self, account: AccountId, registry_id: i64) -> Result<Option<Registry>, Error> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM registries WHERE account_id = $1 AND registry_id = $2"))
            .bind(account)
            .bind(registry_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(registry_from_row).transpose()
    }

    /// The id of the account's registry named `name`.
    pub async fn registry_named(&self, account: AccountId, name: &str) -> Result<Option<i64>, Error> {
        let row = sqlx::query("SELECT registry_id FROM registries WHERE account_id = $1 AND name = $2")
            .bind(account)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Every registry of every account (the sync worker's list).
    pub async fn all_registries(&self) -> Result<Vec<(AccountId, Registry)>, Error> {
        let rows = sqlx::query(&format!("SELECT {COLS}, account_id FROM registries ORDER BY account_id, registry_id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get(31)?, registry_from_row(r)?))).collect()
    }

    /// The plain password of an API registry (`None`: anonymous or a file registry). For the
    /// scan worker only; never shown.
    pub async fn registry_password(&self, account: AccountId, registry_id: i64) -> Result<Option<String>, Error> {
        let row = sqlx::query("SELECT password_nonce, password_sealed FROM registries WHERE account_id = $1 AND registry_id = $2")
            .bind(account)
            .bind(registry_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let (nonce, sealed): (Option<Vec<u8>>, Option<Vec<u8>>) = (row.try_get(0)?, row.try_get(1)?);
        match (nonce, sealed) {
            (Some(n), Some(c)) => Ok(Some(self.secrets.open(&password_aad(registry_id), &n, &c)?)),
            _ => Ok(None),
        }
    }

    /// Makes the account's file registries exactly `files` (by host): new ones are added, changed
    /// ones updated, and those gone removed with their tags and inventory rows.
    pub async fn mirror_file_registries(&self, account: AccountId, files: &[FileRegistry]) -> Result<(), Error> {
        let now = now_unix();
        let mut tx = self.begin_write().await?;
        let existing = sqlx::query("SELECT registry_id, file_host FROM registries WHERE account_id = $1 AND origin = 'file'")
            .bind(account)
            .fetch_all(&mut *tx)
            .await?;
        let hosts: HashSet<&str> = files.iter().map(|f| f.host.as_str()).collect();
        for r in &existing {
            let (id, host): (i64, String) = (r.try_get(0)?, r.try_get(1)?);
            if !hosts.contains(host.as_str()) {
                forget_registry_rows(&mut tx, account, id, &format!("{FILE_SOURCE_PREFIX}{host}")).await?;
                sqlx::query("DELETE FROM registries WHERE registry_id = $1").bind(id).execute(&mut *tx).await?;
            }
        }
        for f in files {
            let scheme = if f.plain_http { "http" } else { "https" };
            sqlx::query(
                "INSERT INTO registries (account_id, origin, file_host, name, url, host, plain_http, insecure, username, \
                 registry_type, net_type, registry_version, registry_region, speed_limit, conn_detect_config, need_scan, sync_mode, \
                 webhook_url, webhook_token, instance_id, repositories, created_at, updated_at, conn_status, conn_message, \
                 conn_checked_at, sync_requested, sync_status, sync_error) \
                 VALUES ($1, 'file', $2, $3, $4, $2, $5, 0, $6, 'other', 'public', 'V2', 'default', 0, '[]', 0, 0, '', '', '', $7, \
                 $8, $8, $9, '', NULL, 0, '', '') \
                 ON CONFLICT (account_id, file_host) DO UPDATE SET url = excluded.url, plain_http = excluded.plain_http, \
                 username = excluded.username, repositories = excluded.repositories, updated_at = CASE WHEN \
                 registries.url = excluded.url AND registries.username = excluded.username AND \
                 COALESCE(registries.repositories, '') = COALESCE(excluded.repositories, '') \
                 THEN registries.updated_at ELSE excluded.updated_at END",
            )
            .bind(account)
            .bind(&f.host)
            .bind(format!("{FILE_NAME_PREFIX}{}", f.host))
            .bind(format!("{scheme}://{}", f.host))
            .bind(f.plain_http as i64)
            .bind(f.username.clone().unwrap_or_default())
            .bind(json_repos(&f.repositories))
            .bind(now)
            .bind(CONN_DETECTING)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Asks for a sync of the given registries (all of the account's with `None`). Returns the
    /// ids marked.
    pub async fn request_registry_sync(&self, account: AccountId, ids: Option<&[i64]>) -> Result<Vec<i64>, Error> {
        let regs = self.registries(account).await?;
        let chosen: Vec<i64> = regs.iter().map(|r| r.registry_id).filter(|id| ids.is_none_or(|want| want.contains(id))).collect();
        let mut tx = self.begin_write().await?;
        for id in &chosen {
            sqlx::query("UPDATE registries SET sync_requested = 1, sync_status = 'doing' WHERE account_id = $1 AND registry_id = $2")
                .bind(account)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(chosen)
    }

    /// Takes the pending sync requests (each is handed to one caller): (account, registry id).
    pub async fn claim_registry_syncs(&self) -> Result<Vec<(AccountId, i64)>, Error> {
        let rows = sqlx::query("UPDATE registries SET sync_requested = 0 WHERE sync_requested = 1 RETURNING account_id, registry_id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// Marks a sync as running.
    pub async fn start_registry_sync(&self, account: AccountId, registry_id: i64) -> Result<(), Error> {
        sqlx::query("UPDATE registries SET sync_status = 'doing' WHERE account_id = $1 AND registry_id = $2")
            .bind(account)
            .bind(registry_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a connection check.
    pub async fn set_registry_conn(&self, account: AccountId, registry_id: i64, conn: &ConnStatus) -> Result<(), Error> {
        sqlx::query(
            "UPDATE registries SET conn_status = $1, conn_message = $2, conn_checked_at = $3 WHERE account_id = $4 AND registry_id = $5",
        )
        .bind(&conn.status)
        .bind(&conn.message)
        .bind(conn.checked_at)
        .bind(account)
        .bind(registry_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ends a sync started when the registry's `updated_at` was `listed_as`: on success makes its
    /// tags exactly `tags` and its inventory rows exactly `assets` (one transaction); on failure
    /// keeps them (an outage is not a disappearance) and records why. A registry removed or
    /// edited meanwhile is left alone (its own sync follows). Returns whether it was written.
    pub async fn finish_registry_sync(
        &self,
        account: AccountId,
        registry_id: i64,
        listed_as: i64,
        listing: Result<(&[RegistryTag], &[ImageAsset]), &str>,
        conn: &ConnStatus,
    ) -> Result<bool, Error> {
        let now = now_unix();
        let mut tx = self.begin_write().await?;
        let Some(reg) = self.registry_in(&mut tx, account, registry_id).await? else {
            return Ok(false);
        };
        if reg.updated_at != listed_as {
            return Ok(false);
        }
        let (status, error) = match listing {
            Ok((tags, assets)) => {
                write_tags(&mut tx, account, registry_id, tags).await?;
                let source = reg.source();
                // Microseconds: two syncs within one second must still tell old rows from new.
                let seen = crate::scan_tasks::now_micros();
                for a in assets {
                    upsert_asset_row(&mut tx, account, &source, a, seen).await?;
                }
                sqlx::query("DELETE FROM image_assets WHERE account_id = $1 AND source = $2 AND seen_at <> $3")
                    .bind(account)
                    .bind(&source)
                    .bind(seen)
                    .execute(&mut *tx)
                    .await?;
                ("success", String::new())
            }
            Err(e) => ("failed", e.to_string()),
        };
        sqlx::query(
            "UPDATE registries SET sync_status = CASE WHEN sync_requested = 1 THEN 'doing' ELSE $1 END, sync_error = $2, \
             synced_at = $3, sync_success_at = CASE WHEN $1 = 'success' THEN $3 ELSE sync_success_at END, conn_status = $4, \
             conn_message = $5, conn_checked_at = $6 WHERE account_id = $7 AND registry_id = $8",
        )
        .bind(status)
        .bind(&error)
        .bind(now)
        .bind(&conn.status)
        .bind(&conn.message)
        .bind(conn.checked_at)
        .bind(account)
        .bind(registry_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Every tag of the account's registries, with its registry's display fields, by id. (The
    /// registries are read apart, not joined: a list of thousands of tags decodes fewer columns.)
    pub async fn registry_images(&self, account: AccountId) -> Result<Vec<RegistryImage>, Error> {
        let regs: HashMap<i64, Registry> = self.registries(account).await?.into_iter().map(|r| (r.registry_id, r)).collect();
        let rows = sqlx::query(&format!("SELECT {IMAGE_COLS} FROM registry_images WHERE account_id = $1 ORDER BY id"))
            .bind(account)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| image_from_row(r, &regs)).collect()
    }

    /// One page of the account's tag rows, filtered, sorted and cut by the database, with the
    /// filtered total (the registry image list when every filter and the sort are on stored columns).
    pub async fn registry_image_page(&self, account: AccountId, q: &ImagePageQuery) -> Result<(Vec<RegistryImage>, u64), Error> {
        let mut binds: Vec<Bind> = vec![Bind::I(account)];
        let mut wh = vec!["account_id = $1".to_string()];
        let arg = |b: Bind, binds: &mut Vec<Bind>| {
            binds.push(b);
            format!("${}", binds.len())
        };
        for f in &q.filters {
            let col = f.column.sql();
            let alts: Vec<String> = match &f.test {
                ImageTest::Equals(vs) => vs.iter().map(|v| format!("{col} = {}", arg(Bind::S(v.clone()), &mut binds))).collect(),
                ImageTest::Contains(vs) => vs
                    .iter()
                    .map(|v| {
                        format!(
                            "LOWER({col}) LIKE {} ESCAPE '!'",
                            arg(Bind::S(format!("%{}%", like_escape(&v.to_ascii_lowercase()))), &mut binds)
                        )
                    })
                    .collect(),
                ImageTest::Ids(vs) => vs.iter().map(|v| format!("{col} = {}", arg(Bind::I(*v), &mut binds))).collect(),
            };
            wh.push(if alts.is_empty() { "1 = 0".into() } else { format!("({})", alts.join(" OR ")) });
        }
        let wh = wh.join(" AND ");
        let total: i64 = bind_all(sqlx::query(&format!("SELECT COUNT(*) FROM registry_images WHERE {wh}")), &binds)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let dir = if q.desc { "DESC" } else { "ASC" };
        // Rust compares strings by bytes: so do SQLite (BINARY) and PostgreSQL with the C collation.
        let collate = if self.backend == Backend::Postgres { " COLLATE \"C\"" } else { "" };
        let order = match q.sort {
            ImageSort::Id => format!("id {dir}"),
            ImageSort::Size => format!("size {dir}, id {dir}"),
            s => format!("{}{collate} {dir}, id {dir}", s.sql()),
        };
        let limit = arg(Bind::I(i64::try_from(q.limit).unwrap_or(i64::MAX)), &mut binds);
        let offset = arg(Bind::I(i64::try_from(q.offset).unwrap_or(i64::MAX)), &mut binds);
        let sql = format!("SELECT {IMAGE_COLS} FROM registry_images WHERE {wh} ORDER BY {order} LIMIT {limit} OFFSET {offset}");
        let rows = bind_all(sqlx::query(&sql), &binds).fetch_all(&self.pool).await?;
        let regs: HashMap<i64, Registry> = self.registries(account).await?.into_iter().map(|r| (r.registry_id, r)).collect();
        Ok((rows.iter().map(|r| image_from_row(r, &regs)).collect::<Result<_, _>>()?, u(total)))
    }

    /// Which of `ids` are their repository's newest image ([`latest_ids`]'s rule, asked of the
    /// database for a page instead of computed over every row).
    pub async fn registry_latest_among(&self, account: AccountId, ids: &[i64]) -> Result<HashSet<i64>, Error> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let collate = if self.backend == Backend::Postgres { " COLLATE \"C\"" } else { "" };
        let list: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
        // A row is the latest unless a row of its repository ranks higher by (created, tag is
        // `latest`, tag).
        let sql = format!(
            "SELECT i.id FROM registry_images i WHERE i.account_id = $1 AND i.id IN ({}) AND NOT EXISTS (\
             SELECT 1 FROM registry_images o WHERE o.account_id = i.account_id AND o.registry_id = i.registry_id \
             AND o.repository = i.repository AND o.id <> i.id AND (o.created{collate} > i.created{collate} OR (o.created = i.created AND (\
             (CASE WHEN o.tag = 'latest' THEN 1 ELSE 0 END) > (CASE WHEN i.tag = 'latest' THEN 1 ELSE 0 END) OR \
             ((CASE WHEN o.tag = 'latest' THEN 1 ELSE 0 END) = (CASE WHEN i.tag = 'latest' THEN 1 ELSE 0 END) AND o.tag{collate} > i.tag{collate})))))",
            list.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(account);
        for id in ids {
            query = query.bind(*id);
        }
        query.fetch_all(&self.pool).await?.iter().map(|r| r.try_get(0).map_err(Error::from)).collect()
    }

    pub async fn registry_image(&self, account: AccountId, id: i64) -> Result<Option<RegistryImage>, Error> {
        let row = sqlx::query(&format!("SELECT {IMAGE_COLS} FROM registry_images WHERE account_id = $1 AND id = $2"))
            .bind(account)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let registry_id: i64 = row.try_get(1)?;
        let regs: HashMap<i64, Registry> = self.registry(account, registry_id).await?.into_iter().map(|r| (r.registry_id, r)).collect();
        image_from_row(&row, &regs).map(Some)
    }

    /// (image id, containers, running containers) of every image of the account's inventory that
    /// some container uses (what the registry lists show of an image, without its names).
    pub async fn image_container_counts(&self, account: AccountId) -> Result<Vec<(String, u64, u64)>, Error> {
        let rows = sqlx::query(
            "SELECT image_id, CAST(SUM(container_cnt) AS BIGINT), CAST(SUM(running_cnt) AS BIGINT) FROM image_assets \
             WHERE account_id = $1 AND container_cnt > 0 GROUP BY image_id",
        )
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, u(r.try_get(1)?), u(r.try_get(2)?)))).collect()
    }

    /// The tags of one registry (what an incremental sync already knows).
    pub async fn registry_tags(&self, account: AccountId, registry_id: i64) -> Result<Vec<RegistryTag>, Error> {
        let rows = sqlx::query(
            "SELECT repository, tag, image_id, digest, size, created, os, architecture FROM registry_images \
             WHERE account_id = $1 AND registry_id = $2 ORDER BY repository, tag",
        )
        .bind(account)
        .bind(registry_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RegistryTag {
                    repository: r.try_get(0)?,
                    tag: r.try_get(1)?,
                    image_id: r.try_get(2)?,
                    digest: r.try_get(3)?,
                    size: u(r.try_get(4)?),
                    created: r.try_get(5)?,
                    os: r.try_get(6)?,
                    architecture: r.try_get(7)?,
                })
            })
            .collect()
    }

    // ---- the schedule ----

    pub async fn registry_scan_setting(&self, account: AccountId) -> Result<Option<RegistryScanSchedule>, Error> {
        let row = sqlx::query(
            "SELECT account_id, setting, updated_at, last_slot, last_scan_time, scan_result FROM registry_scan_settings \
             WHERE account_id = $1",
        )
        .bind(account)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(schedule_from_row).transpose()
    }

    /// Replaces the account's schedule (keeps the scheduler's memory of the last run).
    pub async fn put_registry_scan_setting(&self, account: AccountId, s: &RegistryScanSetting) -> Result<(), Error> {
        let text = serde_json::to_string(s).map_err(|e| Error::Corrupt { table: "registry_scan_settings", reason: e.to_string() })?;
        sqlx::query(
            "INSERT INTO registry_scan_settings (account_id, setting, enable, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id) DO UPDATE SET setting = excluded.setting, enable = excluded.enable, \
             updated_at = excluded.updated_at",
        )
        .bind(account)
        .bind(text)
        .bind(s.enable as i64)
        .bind(now_unix())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Enabled schedules of every account.
    pub async fn registry_scan_schedules(&self) -> Result<Vec<RegistryScanSchedule>, Error> {
        let rows = sqlx::query(
            "SELECT account_id, setting, updated_at, last_slot, last_scan_time, scan_result FROM registry_scan_settings \
             WHERE enable = 1 ORDER BY account_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(schedule_from_row).collect()
    }

    /// Remembers the slot the scheduler fired.
    pub async fn set_registry_scan_last_slot(&self, account: AccountId, slot: i64) -> Result<(), Error> {
        sqlx::query("UPDATE registry_scan_settings SET last_slot = $1 WHERE account_id = $2")
            .bind(slot)
            .bind(account)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The outcome of a scheduled run (`LastScanTime` / `ScanResult`).
    pub async fn record_scheduled_registry_scan(&self, account: AccountId, time: &str, result: &str) -> Result<(), Error> {
        sqlx::query("UPDATE registry_scan_settings SET last_scan_time = $1, scan_result = $2 WHERE account_id = $3")
            .bind(time)
            .bind(result)
            .bind(account)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---- tasks ----

    /// Queues a registry scan task (family `registry`), unless one is unfinished.
    pub async fn create_registry_scan_task(&self, account: AccountId, new: &NewImageScanTask) -> Result<CreatedTask, Error> {
        self.create_scan_task(account, new, FAMILY_REGISTRY).await
    }

    /// A registry task by id, or the latest one.
    pub async fn registry_scan_task(&self, account: AccountId, task_id: Option<&str>) -> Result<Option<ImageScanTask>, Error> {
        Ok(self.scan_task(account, FAMILY_REGISTRY, task_id).await?.filter(|t| t.family == FAMILY_REGISTRY))
    }

    /// The unfinished registry task, if any.
    pub async fn active_registry_scan_task(&self, account: AccountId) -> Result<Option<String>, Error> {
        self.active_scan_task(account, FAMILY_REGISTRY).await
    }

    /// Records a scheduled task's outcome (`LastScanTime` = its start, `ScanResult`) in its
    /// family's schedule.
    pub async fn record_scheduled_task(&self, account: AccountId, task: &ImageScanTask, result: &str) -> Result<(), Error> {
        let at = crate::scan_tasks::format_utc(task.started_at.unwrap_or(task.created_at));
        if task.family == FAMILY_REGISTRY {
            self.record_scheduled_registry_scan(account, &at, result).await
        } else {
            self.record_scheduled_image_scan(account, &at, result).await
        }
    }

    /// The images of a task's queue in scan order.
    pub async fn scan_task_queue(&self, account: AccountId, task_id: &str) -> Result<Vec<QueuedImage>, Error> {
        let rows = sqlx::query(
            "SELECT image_id, state, error, risk_count FROM image_scan_queue WHERE account_id = $1 AND task_id = $2 ORDER BY seq",
        )
        .bind(account)
        .bind(task_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(QueuedImage { image_id: r.try_get(0)?, state: r.try_get(1)?, error: r.try_get(2)?, risk_count: u(r.try_get(3)?) }))
            .collect()
    }
}

fn schedule_from_row(r: &AnyRow) -> Result<RegistryScanSchedule, Error> {
    let text: String = r.try_get(1)?;
    Ok(RegistryScanSchedule {
        account: r.try_get(0)?,
        setting: serde_json::from_str(&text).map_err(|e| Error::Corrupt { table: "registry_scan_settings", reason: e.to_string() })?,
        updated_at: r.try_get(2)?,
        last_slot: r.try_get(3)?,
        last_scan_time: r.try_get(4)?,
        scan_result: r.try_get(5)?,
    })
}

/// Makes the registry's tags exactly `tags`: ids of tags seen before are kept, new tags get new
/// ids, tags gone are deleted. Multi-row statements: a registry can hold thousands of tags.
async fn write_tags(tx: &mut Tx, account: AccountId, registry_id: i64, tags: &[RegistryTag]) -> Result<(), Error> {
    const CHUNK: usize = 50;
    const N: usize = 11;
    let seen = crate::scan_tasks::now_micros();
    let now = now_unix();
    // A listing never holds a tag twice; keep the first if a caller slips.
    let mut unique = HashSet::new();
    let tags: Vec<&RegistryTag> = tags.iter().filter(|t| unique.insert((t.repository.as_str(), t.tag.as_str()))).collect();
    for chunk in tags.chunks(CHUNK) {
        let mut sql = String::from(
            "INSERT INTO registry_images (account_id, registry_id, repository, tag, image_id, digest, size, created, os, \
             architecture, first_seen, seen_at) VALUES ",
        );
        for n in 0..chunk.len() {
            let b = n * N;
            if n > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "($1, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
                b + 9,
                b + 10,
                b + 11,
                b + 12
            ));
        }
        sql.push_str(
            " ON CONFLICT (account_id, registry_id, repository, tag) DO UPDATE SET image_id = excluded.image_id, \
             digest = excluded.digest, size = excluded.size, created = excluded.created, os = excluded.os, \
             architecture = excluded.architecture, seen_at = excluded.seen_at",
        );
        let mut q = sqlx::query(&sql).bind(account);
        for t in chunk {
            q = q
                .bind(registry_id)
                .bind(t.repository.clone())
                .bind(t.tag.clone())
                .bind(t.image_id.clone())
                .bind(t.digest.clone())
                .bind(i(t.size))
                .bind(t.created.clone())
                .bind(t.os.clone())
                .bind(t.architecture.clone())
                .bind(now)
                .bind(seen);
        }
        q.execute(&mut **tx).await?;
    }
    sqlx::query("DELETE FROM registry_images WHERE account_id = $1 AND registry_id = $2 AND seen_at <> $3")
        .bind(account)
        .bind(registry_id)
        .bind(seen)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan_tasks::FAMILY_LOCAL;
    use model::node::ImageFacts;

    fn spec(name: &str, host: &str) -> RegistrySpec {
        RegistrySpec {
            name: name.into(),
            url: format!("http://{host}"),
            host: host.into(),
            plain_http: true,
            username: "u".into(),
            registry_type: "harbor".into(),
            net_type: "public".into(),
            registry_region: "default".into(),
            conn_detect_config: vec![("q".into(), "u".into())],
            ..Default::default()
        }
    }

    fn ok() -> ConnStatus {
        ConnStatus { status: CONN_SUCCESS.into(), message: String::new(), checked_at: Some(1) }
    }

    fn tag(repo: &str, tag: &str, image: &str, created: &str) -> RegistryTag {
        RegistryTag {
            repository: repo.into(),
            tag: tag.into(),
            image_id: image.into(),
            digest: format!("sha256:m-{image}"),
            size: 10,
            created: created.into(),
            os: "linux".into(),
            architecture: "amd64".into(),
        }
    }

    fn asset(id: &str, names: &[&str]) -> ImageAsset {
        ImageAsset {
            facts: ImageFacts { image_id: id.into(), names: names.iter().map(|s| s.to_string()).collect(), size: 10, ..Default::default() },
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn add_update_remove_with_sealed_password() {
        let dir = tempfile::tempdir().unwrap();
        for (s, a) in crate::testing::stores_with_account(dir.path()).await {
            let RegistryWrite::Done(id) = s.add_registry(a, &spec("one", "r:5000"), Some("hunter2"), &ok()).await.unwrap() else {
                panic!()
            };
            assert_eq!(s.add_registry(a, &spec("one", "x:1"), None, &ok()).await.unwrap(), RegistryWrite::NameTaken(id));
            let r = s.registry(a, id).await.unwrap().unwrap();
            assert!(r.has_password && r.sync_requested && r.sync_status == "doing" && !r.read_only());
            assert_eq!(r.spec.conn_detect_config, vec![("q".to_string(), "u".to_string())]);
            assert_eq!(r.source(), format!("registry-api:{id}"));
            assert_eq!(s.registry_password(a, id).await.unwrap().as_deref(), Some("hunter2"));
            // The password is sealed at rest.
            let raw: Vec<u8> = sqlx::query("SELECT password_sealed FROM registries WHERE registry_id = $1")
                .bind(id)
                .fetch_one(s.pool())
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            assert!(!raw.windows(7).any(|w| w == b"hunter2"));
            // Another account sees nothing and cannot touch it.
            let other = s.create_account().await.unwrap().app_id;
            assert!(s.registries(other).await.unwrap().is_empty());
            assert_eq!(s.remove_registry(other, id).await.unwrap(), RegistryWrite::NotFound);
            assert_eq!(s.registry_password(other, id).await.unwrap(), None);

            let RegistryWrite::Done(id2) = s.add_registry(a, &spec("two", "r:5001"), None, &ok()).await.unwrap() else { panic!() };
            assert_eq!(
                s.update_registry(a, id, &spec("two", "r:5000"), PasswordChange::Keep, &ok()).await.unwrap(),
                RegistryWrite::NameTaken(id2)
            );
            let mut renamed = spec("uno", "r:5002");
            renamed.speed_limit = 5;
            assert_eq!(s.update_registry(a, id, &renamed, PasswordChange::Keep, &ok()).await.unwrap(), RegistryWrite::Done(id));
            let r = s.registry(a, id).await.unwrap().unwrap();
            assert_eq!((r.spec.name.as_str(), r.spec.host.as_str(), r.spec.speed_limit), ("uno", "r:5002", 5));
            assert_eq!(s.registry_password(a, id).await.unwrap().as_deref(), Some("hunter2"));
            s.update_registry(a, id, &renamed, PasswordChange::Set("new"), &ok()).await.unwrap();
            assert_eq!(s.registry_password(a, id).await.unwrap().as_deref(), Some("new"));
            s.update_registry(a, id, &renamed, PasswordChange::Clear, &ok()).await.unwrap();
            assert_eq!(s.registry_password(a, id).await.unwrap(), None);
            assert_eq!(s.update_registry(a, 999_999, &renamed, PasswordChange::Keep, &ok()).await.unwrap(), RegistryWrite::NotFound);
            assert_eq!(s.registry_named(a, "uno").await.unwrap(), Some(id));

            // A synced registry: removing it takes its tags and inventory rows along.
            let listed_as = s.registry(a, id).await.unwrap().unwrap().updated_at;
            let tags = [tag("team/app", "1", "sha256:1", "2024")];
            let assets = [asset("sha256:1", &["r:5002/team/app:1"])];
            assert!(s.finish_registry_sync(a, id, listed_as, Ok((&tags, &assets)), &ok()).await.unwrap());
            assert_eq!(s.registry_images(a).await.unwrap().len(), 1);
            assert_eq!(s.image_assets(a).await.unwrap().len(), 1);
            assert_eq!(s.remove_registry(a, id).await.unwrap(), RegistryWrite::Done(id));
            assert!(s.registry_images(a).await.unwrap().is_empty());
            assert!(s.image_assets(a).await.unwrap().is_empty());
            assert_eq!(s.remove_registry(a, id).await.unwrap(), RegistryWrite::NotFound);
            assert_eq!(s.registries(a).await.unwrap().len(), 1);
        }
    }

    #[tokio::test]
    async fn sync_keeps_ids_and_replaces_rows() {
        let dir = tempfile::tempdir().unwrap();
        for (s, a) in crate::testing::stores_with_account(dir.path()).await {
            let RegistryWrite::Done(id) = s.add_registry(a, &spec("r", "r:5000"), None, &ok()).await.unwrap() else { panic!() };
            assert_eq!(s.claim_registry_syncs().await.unwrap(), vec![(a, id)]);
            assert!(s.claim_registry_syncs().await.unwrap().is_empty(), "a request is handed out once");
            let listed_as = s.registry(a, id).await.unwrap().unwrap().updated_at;
            // Enough tags for several multi-row chunks.
            let mut tags: Vec<RegistryTag> = (0..130).map(|n| tag("app", &format!("t{n:03}"), "sha256:1", "2024-01-01")).collect();
            tags.push(tag("team/other", "latest", "sha256:2", "2023-01-01"));
            let assets = [asset("sha256:1", &["r:5000/app:t000"]), asset("sha256:2", &["r:5000/team/other:latest"])];
            assert!(s.finish_registry_sync(a, id, listed_as, Ok((&tags, &assets)), &ok()).await.unwrap());
            let rows = s.registry_images(a).await.unwrap();
            assert_eq!(rows.len(), 131);
            let first = rows.iter().find(|r| r.tag.tag == "t005").unwrap().clone();
            assert_eq!((first.registry_name.as_str(), first.address().as_str(), first.namespace()), ("r", "r:5000/app", ""));
            let reg = s.registry(a, id).await.unwrap().unwrap();
            assert_eq!((reg.sync_status.as_str(), reg.conn.status.as_str()), ("success", CONN_SUCCESS));
            assert!(reg.sync_success_at.is_some());

            // The next sync: one tag moved to another image, one gone, one new; ids of kept tags stay.
            tags.retain(|t| t.tag != "t000");
            tags.iter_mut().find(|t| t.tag == "t005").unwrap().image_id = "sha256:2".into();
            tags.push(tag("app", "new", "sha256:2", "2025-01-01"));
            assert!(s.finish_registry_sync(a, id, listed_as, Ok((&tags, &assets[1..])), &ok()).await.unwrap());
            let rows = s.registry_images(a).await.unwrap();
            assert_eq!(rows.len(), 131);
            let moved = s.registry_image(a, first.id).await.unwrap().unwrap();
            assert_eq!((moved.tag.tag.as_str(), moved.tag.image_id.as_str()), ("t005", "sha256:2"));
            assert!(!rows.iter().any(|r| r.tag.tag == "t000"));
            assert_eq!(s.image_assets(a).await.unwrap().iter().map(|x| x.facts.image_id.as_str()).collect::<Vec<_>>(), ["sha256:2"]);
            assert_eq!(s.registry_tags(a, id).await.unwrap().len(), 131);

            // A failed sync keeps the rows and says why; a sync of an edited registry is dropped.
            let down = ConnStatus { status: CONN_FAILED.into(), message: "connection refused".into(), checked_at: Some(2) };
            assert!(s.finish_registry_sync(a, id, listed_as, Err("connection refused"), &down).await.unwrap());
            let reg = s.registry(a, id).await.unwrap().unwrap();
            assert_eq!(
                (reg.sync_status.as_str(), reg.sync_error.as_str(), reg.conn.status.as_str()),
                ("failed", "connection refused", CONN_FAILED)
            );
            assert_eq!(s.registry_images(a).await.unwrap().len(), 131);
            assert!(!s.finish_registry_sync(a, id, listed_as - 1, Ok((&[], &[])), &ok()).await.unwrap());
            assert_eq!(s.registry_images(a).await.unwrap().len(), 131);

            // Container counts come from the Docker Engine's rows, summed per image.
            let used = ImageAsset {
                facts: ImageFacts { image_id: "sha256:2".into(), container_cnt: 2, running_cnt: 1, ..Default::default() },
                ..Default::default()
            };
            s.sync_image_assets(a, "docker", &[used, asset("sha256:9", &["x:1"])]).await.unwrap();
            assert_eq!(s.image_container_counts(a).await.unwrap(), vec![("sha256:2".to_string(), 2, 1)]);

            // Latest per repository and the selection.
            let latest = latest_ids(&rows);
            let names: HashSet<String> =
                rows.iter().filter(|r| latest.contains(&r.id)).map(|r| format!("{}:{}", r.tag.repository, r.tag.tag)).collect();
            assert_eq!(names, ["app:new".to_string(), "team/other:latest".to_string()].into_iter().collect());
            let none = |_: &str| (0, 0);
            let sel = RegistrySelection { latest_only: true, ..Default::default() };
            assert_eq!(sel.select(&rows, &none).len(), 2);
            let sel = RegistrySelection { namespaces: vec!["team".into()], ..Default::default() };
            assert_eq!(sel.select(&rows, &none).len(), 1);
            let by_ref = ImageRef { image_name: "app".into(), image_tag: "new".into(), instance_name: "r".into(), ..Default::default() };
            let sel = RegistrySelection { scope: 1, images: vec![by_ref.clone()], ids: vec![first.id], ..Default::default() };
            assert_eq!(sel.select(&rows, &none).len(), 2);
            let sel = RegistrySelection { exclude_ids: vec![first.id], ..sel };
            assert_eq!(sel.select(&rows, &none).len(), 1);
            let addr = ImageRef { image_repo_address: "r:5000/app:new".into(), ..Default::default() };
            assert!(addr.is_specific() && addr.matches(rows.iter().find(|r| r.tag.tag == "new").unwrap()));
            assert!(!ImageRef { force: "x".into(), ..Default::default() }.is_specific());
            let running = |i: &str| if i == "sha256:2" { (1, 1) } else { (0, 0) };
            assert_eq!(RegistrySelection { scope: 2, ..Default::default() }.select(&rows, &running).len(), 3);
            assert_eq!(RegistrySelection { container_running: true, ..Default::default() }.select(&rows, &running).len(), 3);
        }
    }

    #[tokio::test]
    async fn file_registries_are_mirrored_per_account() {
        let dir = tempfile::tempdir().unwrap();
        for (s, a) in crate::testing::stores_with_account(dir.path()).await {
            let files = vec![
                FileRegistry { host: "a:5000".into(), plain_http: true, ..Default::default() },
                FileRegistry {
                    host: "b:5000".into(),
                    username: Some("u".into()),
                    repositories: Some(vec!["x".into()]),
                    ..Default::default()
                },
            ];
            s.mirror_file_registries(a, &files).await.unwrap();
            s.mirror_file_registries(a, &files).await.unwrap();
            let regs = s.registries(a).await.unwrap();
            assert_eq!(regs.len(), 2);
            let ra = regs.iter().find(|r| r.spec.host == "a:5000").unwrap().clone();
            assert!(ra.read_only() && ra.spec.name == "file:a:5000" && ra.spec.url == "http://a:5000" && ra.source() == "registry:a:5000");
            assert_eq!(regs.iter().find(|r| r.spec.host == "b:5000").unwrap().spec.repositories, Some(vec!["x".to_string()]));
            assert_eq!(s.remove_registry(a, ra.registry_id).await.unwrap(), RegistryWrite::ReadOnly);
            assert_eq!(
                s.update_registry(a, ra.registry_id, &spec("x", "x"), PasswordChange::Keep, &ok()).await.unwrap(),
                RegistryWrite::ReadOnly
            );
            let tags = [tag("app", "1", "sha256:1", "")];
            s.finish_registry_sync(a, ra.registry_id, ra.updated_at, Ok((&tags, &[asset("sha256:1", &["a:5000/app:1"])])), &ok())
                .await
                .unwrap();
            assert_eq!(s.image_assets(a).await.unwrap()[0].sources, ["registry:a:5000"]);
            // Dropped from the file: gone with its rows; the id of the kept one is stable.
            s.mirror_file_registries(a, &files[1..]).await.unwrap();
            let regs = s.registries(a).await.unwrap();
            assert_eq!(regs.iter().map(|r| r.spec.host.as_str()).collect::<Vec<_>>(), ["b:5000"]);
            assert!(s.registry_images(a).await.unwrap().is_empty() && s.image_assets(a).await.unwrap().is_empty());
            // An API registry cannot take a file registry's name.
            assert!(matches!(s.add_registry(a, &spec("file:b:5000", "b:5000"), None, &ok()).await.unwrap(), RegistryWrite::NameTaken(_)));
        }
    }

    #[tokio::test]
    async fn registry_tasks_and_local_tasks_run_side_by_side() {
        let dir = tempfile::tempdir().unwrap();
        for (s, a) in crate::testing::stores_with_account(dir.path()).await {
            let new = NewImageScanTask { scan_risk: true, images: vec![("sha256:1".into(), 10)], ..Default::default() };
            let CreatedTask::Created(local) = s.create_image_scan_task(a, &new).await.unwrap() else { panic!() };
            let CreatedTask::Created(reg) = s.create_registry_scan_task(a, &new).await.unwrap() else { panic!() };
            assert!(reg.parse::<u64>().is_ok(), "registry task ids are integers: {reg}");
            assert_eq!(s.create_registry_scan_task(a, &new).await.unwrap(), CreatedTask::AlreadyRunning(reg.clone()));
            assert_eq!(s.active_image_scan_task(a).await.unwrap(), Some(local.clone()));
            assert_eq!(s.active_registry_scan_task(a).await.unwrap(), Some(reg.clone()));
            assert_eq!(s.image_scan_task(a, None).await.unwrap().unwrap().family, FAMILY_LOCAL);
            assert_eq!(s.registry_scan_task(a, None).await.unwrap().unwrap().task_id, reg);
            assert!(s.registry_scan_task(a, Some(&local)).await.unwrap().is_none());
            assert_eq!(s.scan_task_queue(a, &reg).await.unwrap()[0].state, "pending");
            assert!(s.stop_image_scan_task(a, &reg, "Cancel").await.unwrap());
            assert_eq!(s.scan_task_queue(a, &reg).await.unwrap()[0].state, "cancelled");
            assert_eq!(s.active_image_scan_task(a).await.unwrap(), Some(local));
        }
    }

    #[tokio::test]
    async fn schedule_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        for (s, a) in crate::testing::stores_with_account(dir.path()).await {
            assert!(s.registry_scan_setting(a).await.unwrap().is_none());
            let set = RegistryScanSetting {
                enable: true,
                scan_time: "01:00".into(),
                scan_period: 2,
                scan_types: vec!["CVE".into()],
                scan_vul: true,
                selection: RegistrySelection { scope: 1, ids: vec![3], ..Default::default() },
                ..Default::default()
            };
            s.put_registry_scan_setting(a, &set).await.unwrap();
            s.set_registry_scan_last_slot(a, 42).await.unwrap();
            s.record_scheduled_registry_scan(a, "2026-01-01 01:00:00", "Success").await.unwrap();
            s.put_registry_scan_setting(a, &set).await.unwrap();
            let got = s.registry_scan_setting(a).await.unwrap().unwrap();
            assert_eq!((got.setting, got.last_slot, got.scan_result.as_deref()), (set.clone(), Some(42), Some("Success")));
            assert_eq!(s.registry_scan_schedules().await.unwrap().len(), 1);
            s.put_registry_scan_setting(a, &RegistryScanSetting { enable: false, ..set }).await.unwrap();
            assert!(s.registry_scan_schedules().await.unwrap().is_empty());
        }
    }
}
