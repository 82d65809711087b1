//! Advisory storage: incremental import of `vuln` sources and the lookups matching needs.
//!
//! Import is per source (a directory or bundle directory, see `vuln::import`): a source whose
//! fingerprint is unchanged is skipped without parsing; a changed one is diffed by advisory
//! content hash inside one transaction (new rows inserted, changed rows replaced, vanished
//! rows deleted). Withdrawn advisories stay stored (for alias lookups) and never match.
//! A source that parses to no advisory at all never replaces stored data (a broken
//! download must not wipe the database).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use sqlx::Row;
use vuln::{Advisory, AdvisoryIndex, AdvisoryKey, IndexError, MemoryIndex, Prepared};

use crate::{Error, Store, now_unix};

/// Rows per multi-row INSERT (well under SQLite's and PostgreSQL's bind-parameter limits).
const CHUNK: usize = 200;

/// What happened to one source during an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceImport {
    pub name: String,
    pub outcome: SourceOutcome,
    /// Recognised files that failed to parse, by name (`file: error`).
    pub problems: Vec<String>,
    /// Files in no advisory format (READMEs, scripts...).
    pub skipped_files: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceOutcome {
    /// Same fingerprint as the stored one: not parsed, nothing written.
    Unchanged,
    /// Diffed into the store.
    Imported { added: u64, updated: u64, removed: u64, unchanged: u64 },
    /// No advisory in it (a folder of scripts, or every file bad): nothing written.
    Empty,
}

/// The result of `import_advisories`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub sources: Vec<SourceImport>,
}

impl ImportReport {
    pub fn problems(&self) -> impl Iterator<Item = &str> {
        self.sources.iter().flat_map(|s| s.problems.iter().map(String::as_str))
    }
}

/// One stored source in `advisory_status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStatus {
    pub name: String,
    pub fingerprint: String,
    pub imported_at: i64,
    pub advisories: u64,
    pub newest_modified: Option<String>,
}

/// `shipshape db status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdvisoryStatus {
    pub sources: Vec<SourceStatus>,
    /// Matchable (not withdrawn) advisories per ecosystem key (`PyPI`, `Debian:12`...).
    pub per_ecosystem: Vec<(String, u64)>,
    /// Advisories stored, withdrawn included.
    pub total: u64,
    /// Newest `modified` date over all sources (placeholder dates such as Go's `0001-01-01` ignored).
    pub newest_modified: Option<String>,
    /// Changes whenever any source's content changes: a stored scan matched under another
    /// version must be re-matched.
    pub data_version: String,
}

/// Changes whenever any source's content changes.
fn data_version<'a>(sources: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut h = Sha256::new();
    // The same data means other findings under other keys or matching rules.
    h.update(vuln::KEY_SCHEME.as_bytes());
    h.update([0]);
    h.update(vuln::MATCHER_VERSION.as_bytes());
    h.update([0]);
    for (name, fingerprint) in sources {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(fingerprint.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

fn content_hash(json: &str) -> String {
    hex::encode(Sha256::digest(json.as_bytes()))
}

/// The (ecosystem key, normalised name) pairs an advisory is found under.
fn lookup_keys(adv: &Advisory) -> Vec<(String, String)> {
    adv.keys().into_iter().map(|k| (k.ecosystem, k.name)).collect()
}

async fn insert_keys(tx: &mut sqlx::Transaction<'static, sqlx::Any>, source: &str, keys: &[(String, String, &str)]) -> Result<(), Error> {
    for chunk in keys.chunks(CHUNK) {
        let mut sql = String::from("INSERT INTO advisory_keys (ecosystem, name, source, id) VALUES ");
        for i in 0..chunk.len() {
            let b = i * 4;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("(${},${},${},${})", b + 1, b + 2, b + 3, b + 4));
        }
        sql.push_str(" ON CONFLICT DO NOTHING");
        let mut q = sqlx::query(&sql);
        for (e, n, id) in chunk {
            q = q.bind(e.clone()).bind(n.clone()).bind(source.to_owned()).bind(id.to_string());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// One feed's state as `db status` shows it and `db update` uses it (validators).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FeedState {
    pub name: String,
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Unix time of the last attempt.
    pub checked_at: i64,
    /// Unix time of the last download that changed or confirmed the data.
    pub updated_at: Option<i64>,
    /// Advisories the feed holds in the store.
    pub records: u64,
    /// The last attempt's error (the previous data is kept).
    pub error: Option<String>,
}

fn real_date(d: &Option<String>) -> Option<&str> {
    d.as_deref().filter(|d| !d.starts_with("0001-") && !d.is_empty())
}

impl Store {
    /// Imports `path` (directory, file, `.zip` or `.tar.gz`). Reading and parsing run on the
    /// blocking pool; each changed source is swapped in by one transaction. Bad files are listed
    /// in the report, and the rest imports.
    pub async fn import_advisories(&self, path: &Path) -> Result<ImportReport, Error> {
        let p = path.to_path_buf();
        let raw = tokio::task::spawn_blocking(move || vuln::import::read_sources(&p))
            .await
            .map_err(|e| Error::Advisories(e.to_string()))?
            .map_err(|e| Error::Advisories(e.to_string()))?;
        self.import_sources(raw, false).await
    }

    /// Imports sources already read (from a path, a feed download or a bundle). `strict`: a
    /// source with any bad file is not applied at all and fails the call (feeds: a truncated or
    /// corrupted download must keep the previous data whole); otherwise bad files are listed and
    /// the rest imports. Each source is swapped in by its own transaction.
    pub async fn import_sources(&self, raw: Vec<vuln::import::SourceData>, strict: bool) -> Result<ImportReport, Error> {
        let known: HashMap<String, String> = sqlx::query("SELECT name, fingerprint FROM advisory_sources")
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let (changed, unchanged): (Vec<_>, Vec<_>) = raw.into_iter().partition(|s| known.get(&s.name) != Some(&s.fingerprint));
        let mut report = ImportReport::default();
        for s in unchanged {
            report.sources.push(SourceImport { name: s.name, outcome: SourceOutcome::Unchanged, problems: vec![], skipped_files: 0 });
        }
        let parsed = tokio::task::spawn_blocking(move || {
            use rayon::prelude::*;
            changed.par_iter().map(|s| s.parse()).collect::<Vec<_>>()
        })
        .await
        .map_err(|e| Error::Advisories(e.to_string()))?;
        // Strict: a file in no known format counts as bad too (an HTML error page served as
        // main.json must fail the feed, not pass as "no advisories").
        if strict && let Some(bad) = parsed.iter().find(|s| !s.problems.is_empty() || !s.skipped.is_empty()) {
            let n = bad.problems.len() + bad.skipped.len();
            let p = bad.problems.first().or(bad.skipped.first()).expect("one bad file");
            return Err(Error::Advisories(format!("{}: {n} bad file(s), nothing applied; first: {}: {}", bad.name, p.file, p.error)));
        }
        for src in parsed {
            let name = src.name.clone();
            let problems = src.problems.iter().map(|p| format!("{}: {}", p.file, p.error)).collect();
            let skipped_files = src.skipped.len();
            let outcome = if src.advisories.is_empty() { SourceOutcome::Empty } else { self.replace_source(src).await? };
            report.sources.push(SourceImport { name, outcome, problems, skipped_files });
        }
        report.sources.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(report)
    }

    async fn replace_source(&self, src: vuln::import::ParsedSource) -> Result<SourceOutcome, Error> {
        // JSON and content hashes off the async threads and before the write lock is taken
        // (SQLite has one writer: the server's scans wait while it is held).
        let (src, encoded) = tokio::task::spawn_blocking(move || {
            use rayon::prelude::*;
            let encoded: Result<Vec<(String, String)>, serde_json::Error> =
                src.advisories.par_iter().map(|a| serde_json::to_string(a).map(|json| (content_hash(&json), json))).collect();
            (src, encoded)
        })
        .await
        .map_err(|e| Error::Advisories(e.to_string()))?;
        let encoded = encoded.map_err(|e| Error::Advisories(e.to_string()))?;
        let mut tx = self.begin_write().await?;
        let existing: HashMap<String, String> = sqlx::query("SELECT id, content_hash FROM advisories WHERE source = $1")
            .bind(&src.name)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let newest = src.advisories.iter().filter_map(|a| real_date(&a.modified)).max().map(str::to_owned);
        let mut write: Vec<(&Advisory, String, String)> = Vec::new();
        let mut drop_ids: Vec<&str> = Vec::new();
        let (mut added, mut updated, mut unchanged) = (0u64, 0u64, 0u64);
        let mut seen = std::collections::HashSet::new();
        for (adv, (h, json)) in src.advisories.iter().zip(encoded) {
            seen.insert(adv.id.as_str());
            match existing.get(&adv.id) {
                Some(old) if *old == h => unchanged += 1,
                Some(_) => {
                    updated += 1;
                    drop_ids.push(&adv.id);
                    write.push((adv, h, json));
                }
                None => {
                    added += 1;
                    write.push((adv, h, json));
                }
            }
        }
        let removed_ids: Vec<&str> = existing.keys().map(String::as_str).filter(|id| !seen.contains(id)).collect();
        let removed = removed_ids.len() as u64;
        drop_ids.extend(removed_ids);
        for id in drop_ids {
            sqlx::query("DELETE FROM advisory_keys WHERE source = $1 AND id = $2").bind(&src.name).bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM advisories WHERE source = $1 AND id = $2").bind(&src.name).bind(id).execute(&mut *tx).await?;
        }
        for chunk in write.chunks(CHUNK) {
            let mut sql = String::from("INSERT INTO advisories (source, id, content_hash, modified, withdrawn, data) VALUES ");
            for i in 0..chunk.len() {
                let b = i * 6;
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!("(${},${},${},${},${},${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6));
            }
            let mut q = sqlx::query(&sql);
            for (adv, h, json) in chunk {
                q = q
                    .bind(src.name.clone())
                    .bind(adv.id.clone())
                    .bind(h.clone())
                    .bind(adv.modified.clone())
                    .bind(i64::from(adv.is_withdrawn()))
                    .bind(json.clone());
            }
            q.execute(&mut *tx).await?;
        }
        let keys: Vec<(String, String, &str)> =
            write.iter().flat_map(|(adv, _, _)| lookup_keys(adv).into_iter().map(|(e, n)| (e, n, adv.id.as_str()))).collect();
        insert_keys(&mut tx, &src.name, &keys).await?;
        sqlx::query(
            "INSERT INTO advisory_sources (name, fingerprint, imported_at, advisory_count, newest_modified) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint, imported_at = excluded.imported_at, \
             advisory_count = excluded.advisory_count, newest_modified = excluded.newest_modified",
        )
        .bind(&src.name)
        .bind(&src.fingerprint)
        .bind(now_unix())
        .bind(src.advisories.len() as i64)
        .bind(newest)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(SourceOutcome::Imported { added, updated, removed, unchanged })
    }

    /// Rebuilds `advisory_keys` from the stored advisories when they were built under another
    /// key scheme than [`vuln::KEY_SCHEME`] (an upgrade that folds distribution ecosystems
    /// differently). One transaction; the advisories themselves are not touched.
    pub(crate) async fn rekey_advisories_if_needed(&self) -> Result<(), Error> {
        const SCHEME: &str = "SELECT value FROM advisory_meta WHERE name = 'key_scheme'";
        let scheme = |r: Option<sqlx::any::AnyRow>| r.map(|r| r.try_get::<String, _>(0)).transpose();
        if scheme(sqlx::query(SCHEME).fetch_optional(&self.pool).await?)?.as_deref() == Some(vuln::KEY_SCHEME) {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        if self.backend == crate::Backend::Postgres {
            // Imports write advisories and keys in their own transactions: none may commit
            // between this rebuild's read and its writes (SQLite: BEGIN IMMEDIATE already).
            sqlx::query("LOCK TABLE advisories, advisory_keys IN SHARE ROW EXCLUSIVE MODE").execute(&mut *tx).await?;
        }
        // Another process may have rebuilt them while this one waited for the lock.
        if scheme(sqlx::query(SCHEME).fetch_optional(&mut *tx).await?)?.as_deref() == Some(vuln::KEY_SCHEME) {
            return Ok(());
        }
        sqlx::query("DELETE FROM advisory_keys").execute(&mut *tx).await?;
        // Paged by (source, id): memory stays one page whatever the data size.
        let (mut after_source, mut after_id, mut total) = (String::new(), String::new(), 0usize);
        loop {
            let rows = sqlx::query(
                "SELECT source, id, data FROM advisories WHERE source > $1 OR (source = $1 AND id > $2) ORDER BY source, id LIMIT 2000",
            )
            .bind(&after_source)
            .bind(&after_id)
            .fetch_all(&mut *tx)
            .await?;
            let Some(last) = rows.last() else { break };
            (after_source, after_id) = (last.try_get(0)?, last.try_get(1)?);
            total += rows.len();
            let mut by_source: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
            for r in &rows {
                let (source, id, data): (String, String, String) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
                let adv: Advisory = serde_json::from_str(&data)
                    .map_err(|e| Error::Corrupt { table: "advisories", reason: format!("{source}/{id}: {e}") })?;
                by_source.entry(source).or_default().extend(lookup_keys(&adv).into_iter().map(|(e, n)| (e, n, id.clone())));
            }
            for (source, keys) in &by_source {
                let keys: Vec<(String, String, &str)> = keys.iter().map(|(e, n, id)| (e.clone(), n.clone(), id.as_str())).collect();
                insert_keys(&mut tx, source, &keys).await?;
            }
        }
        sqlx::query(
            "INSERT INTO advisory_meta (name, value) VALUES ('key_scheme', $1) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(vuln::KEY_SCHEME)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if total > 0 {
            tracing::info!(advisories = total, scheme = vuln::KEY_SCHEME, "advisory lookup keys rebuilt");
        }
        Ok(())
    }

    /// Every feed's state, by name.
    pub async fn feed_states(&self) -> Result<Vec<FeedState>, Error> {
        let rows = sqlx::query(
            "SELECT f.name, f.url, f.etag, f.last_modified, f.checked_at, f.updated_at, f.error,              (SELECT COUNT(*) FROM advisories a WHERE a.source = 'feed:' || f.name) FROM advisory_feeds f ORDER BY f.name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FeedState {
                    name: r.try_get(0)?,
                    url: r.try_get(1)?,
                    etag: r.try_get(2)?,
                    last_modified: r.try_get(3)?,
                    checked_at: r.try_get(4)?,
                    updated_at: r.try_get(5)?,
                    error: r.try_get(6)?,
                    records: r.try_get::<i64, _>(7)?.max(0) as u64,
                })
            })
            .collect()
    }

    /// Records a feed attempt. On success (`error` None) the validators and `updated_at` are
    /// replaced; on failure only the error and `checked_at` change, so the next attempt still
    /// sends the validators of the data actually stored.
    pub async fn record_feed(&self, st: &FeedState) -> Result<(), Error> {
        let mut tx = self.begin_write().await?;
        if st.error.is_none() {
            sqlx::query(
                "INSERT INTO advisory_feeds (name, url, etag, last_modified, checked_at, updated_at, records, error)                  VALUES ($1, $2, $3, $4, $5, $6, 0, NULL) ON CONFLICT (name) DO UPDATE SET url = excluded.url,                  etag = excluded.etag, last_modified = excluded.last_modified, checked_at = excluded.checked_at,                  updated_at = excluded.updated_at, error = NULL",
            )
            .bind(&st.name)
            .bind(&st.url)
            .bind(&st.etag)
            .bind(&st.last_modified)
            .bind(st.checked_at)
            .bind(st.updated_at)
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query(
                "INSERT INTO advisory_feeds (name, url, checked_at, records, error) VALUES ($1, $2, $3, 0, $4)                  ON CONFLICT (name) DO UPDATE SET url = excluded.url, checked_at = excluded.checked_at, error = excluded.error, \
                 etag = CASE WHEN advisory_feeds.url = excluded.url THEN advisory_feeds.etag END, \
                 last_modified = CASE WHEN advisory_feeds.url = excluded.url THEN advisory_feeds.last_modified END",
            )
            .bind(&st.name)
            .bind(&st.url)
            .bind(st.checked_at)
            .bind(&st.error)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The matchable advisories for `keys`, loaded into memory in a few queries: the async way
    /// to match (`vuln::match_packages(&index, dist, packages)`).
    pub async fn advisories_for(&self, keys: &[AdvisoryKey]) -> Result<MemoryIndex, Error> {
        let mut index = MemoryIndex::new();
        let mut seen = std::collections::HashSet::new();
        for chunk in keys.chunks(CHUNK) {
            let mut sql = String::from(
                "SELECT DISTINCT a.source, a.id, a.data FROM advisory_keys k JOIN advisories a \
                 ON a.source = k.source AND a.id = k.id WHERE a.withdrawn = 0 AND (",
            );
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push_str(" OR ");
                }
                sql.push_str(&format!("(k.ecosystem = ${} AND k.name = ${})", 2 * i + 1, 2 * i + 2));
            }
            sql.push(')');
            let mut q = sqlx::query(&sql);
            for k in chunk {
                q = q.bind(k.ecosystem.clone()).bind(k.name.clone());
            }
            for r in q.fetch_all(&self.pool).await? {
                let (source, id): (String, String) = (r.try_get(0)?, r.try_get(1)?);
                if !seen.insert((source, id)) {
                    continue;
                }
                let data: String = r.try_get(2)?;
                let adv: Advisory =
                    serde_json::from_str(&data).map_err(|e| Error::Corrupt { table: "advisories", reason: e.to_string() })?;
                index.insert(adv);
            }
        }
        Ok(index)
    }

    /// Whether any matchable advisory is stored (a scan without data must fail, not report 0).
    pub async fn has_advisories(&self) -> Result<bool, Error> {
        let row =
            sqlx::query("SELECT COUNT(*) FROM (SELECT 1 FROM advisories WHERE withdrawn = 0 LIMIT 1) t").fetch_one(&self.pool).await?;
        Ok(row.try_get::<i64, _>(0)? > 0)
    }

    /// Sources, counts per ecosystem, newest date, data version.
    pub async fn advisory_status(&self) -> Result<AdvisoryStatus, Error> {
        let mut st = AdvisoryStatus::default();
        for r in sqlx::query("SELECT name, fingerprint, imported_at, advisory_count, newest_modified FROM advisory_sources ORDER BY name")
            .fetch_all(&self.pool)
            .await?
        {
            st.sources.push(SourceStatus {
                name: r.try_get(0)?,
                fingerprint: r.try_get(1)?,
                imported_at: r.try_get(2)?,
                advisories: r.try_get::<i64, _>(3)?.max(0) as u64,
                newest_modified: r.try_get(4)?,
            });
        }
        for r in sqlx::query(
            "SELECT t.ecosystem, COUNT(*) FROM (SELECT DISTINCT k.ecosystem, k.source, k.id FROM advisory_keys k \
             JOIN advisories a ON a.source = k.source AND a.id = k.id WHERE a.withdrawn = 0) t \
             GROUP BY t.ecosystem ORDER BY t.ecosystem",
        )
        .fetch_all(&self.pool)
        .await?
        {
            st.per_ecosystem.push((r.try_get(0)?, r.try_get::<i64, _>(1)?.max(0) as u64));
        }
        st.total = sqlx::query("SELECT COUNT(*) FROM advisories").fetch_one(&self.pool).await?.try_get::<i64, _>(0)?.max(0) as u64;
        st.newest_modified = st.sources.iter().filter_map(|s| s.newest_modified.clone()).max();
        st.data_version = data_version(st.sources.iter().map(|s| (s.name.as_str(), s.fingerprint.as_str())));
        Ok(st)
    }

    /// The advisory data version alone (cheap: one small query), for the re-match loop.
    pub async fn advisory_data_version(&self) -> Result<String, Error> {
        let rows = sqlx::query("SELECT name, fingerprint FROM advisory_sources ORDER BY name").fetch_all(&self.pool).await?;
        let pairs: Vec<(String, String)> = rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect::<Result<_, Error>>()?;
        Ok(data_version(pairs.iter().map(|(a, b)| (a.as_str(), b.as_str()))))
    }

    async fn advisories_at(&self, key: &AdvisoryKey) -> Result<Vec<Arc<Prepared>>, Error> {
        let index = self.advisories_for(std::slice::from_ref(key)).await?;
        Ok(index.advisories(key).unwrap_or_default())
    }

    /// One page of a source's advisories as stored (`(id, JSON)`, withdrawn included), ordered
    /// by id, after `after`: `db bundle export` streams a source of any size this way, in
    /// bounded memory, with the same SQL on both backends (keyset paging, no cursor).
    pub async fn source_advisories_page(&self, source: &str, after: Option<&str>, limit: u32) -> Result<Vec<(String, String)>, Error> {
        let rows = sqlx::query("SELECT id, data FROM advisories WHERE source = $1 AND id > $2 ORDER BY id LIMIT $3")
            .bind(source)
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }
}

/// The synchronous trait over the async pool: usable from blocking code running on a
/// multi-threaded tokio runtime (it parks the worker with `block_in_place`). Async callers
/// should prefetch with [`Store::advisories_for`] instead.
impl AdvisoryIndex for Store {
    fn advisories(&self, key: &AdvisoryKey) -> Result<Vec<Arc<Prepared>>, IndexError> {
        let handle = on_multi_thread_runtime()?;
        tokio::task::block_in_place(|| handle.block_on(self.advisories_at(key))).map_err(|e| IndexError(e.to_string()))
    }

    fn is_empty(&self) -> Result<bool, IndexError> {
        let handle = on_multi_thread_runtime()?;
        tokio::task::block_in_place(|| handle.block_on(self.has_advisories())).map(|has| !has).map_err(|e| IndexError(e.to_string()))
    }
}

fn on_multi_thread_runtime() -> Result<tokio::runtime::Handle, IndexError> {
    let handle = tokio::runtime::Handle::try_current()
        .map_err(|_| IndexError("the store's AdvisoryIndex needs a tokio runtime; use Store::advisories_for".into()))?;
    if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
        return Err(IndexError("the store's AdvisoryIndex needs a multi-threaded runtime; use Store::advisories_for".into()));
    }
    Ok(handle)
}
