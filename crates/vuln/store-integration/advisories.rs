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

fn content_hash(json: &str) -> String {
    hex::encode(Sha256::digest(json.as_bytes()))
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
        let known: HashMap<String, String> = sqlx::query("SELECT name, fingerprint FROM advisory_sources")
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let (changed, unchanged): (Vec<_>, Vec<_>) =
            raw.into_iter().partition(|s| known.get(&s.name) != Some(&s.fingerprint));
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
        let mut tx = self.pool.begin().await?;
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
        for adv in &src.advisories {
            seen.insert(adv.id.as_str());
            let json = serde_json::to_string(adv).map_err(|e| Error::Advisories(e.to_string()))?;
            let h = content_hash(&json);
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
        let mut keys: Vec<(String, String, &str)> = Vec::new();
        for (adv, _, _) in &write {
            let mut ks: Vec<(String, String)> =
                adv.affected.iter().map(|a| (a.ecosystem.clone(), vuln::normalize_name(&a.ecosystem, &a.name))).collect();
            ks.sort();
            ks.dedup();
            keys.extend(ks.into_iter().map(|(e, n)| (e, n, adv.id.as_str())));
        }
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
                q = q.bind(e.clone()).bind(n.clone()).bind(src.name.clone()).bind(id.to_string());
            }
            q.execute(&mut *tx).await?;
        }
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
                let adv: Advisory = serde_json::from_str(&data)
                    .map_err(|e| Error::Corrupt { table: "advisories", reason: e.to_string() })?;
                index.insert(adv);
            }
        }
        Ok(index)
    }

    /// Whether any matchable advisory is stored (a scan without data must fail, not report 0).
    pub async fn has_advisories(&self) -> Result<bool, Error> {
        let row = sqlx::query("SELECT COUNT(*) FROM (SELECT 1 FROM advisories WHERE withdrawn = 0 LIMIT 1) t")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>(0)? > 0)
    }

    /// Sources, counts per ecosystem, newest date, data version.
    pub async fn advisory_status(&self) -> Result<AdvisoryStatus, Error> {
        let mut st = AdvisoryStatus::default();
        for r in sqlx::query(
            "SELECT name, fingerprint, imported_at, advisory_count, newest_modified FROM advisory_sources ORDER BY name",
        )
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
        let mut h = Sha256::new();
        for s in &st.sources {
            h.update(s.name.as_bytes());
            h.update([0]);
            h.update(s.fingerprint.as_bytes());
            h.update([0]);
        }
        st.data_version = hex::encode(h.finalize());
        Ok(st)
    }

    async fn advisories_at(&self, key: &AdvisoryKey) -> Result<Vec<Arc<Prepared>>, Error> {
        let index = self.advisories_for(std::slice::from_ref(key)).await?;
        Ok(index.advisories(key).unwrap_or_default())
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

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Ecosystem, Location, Package};

    fn fixtures() -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vuln/tests/data/osv")
    }

    fn pkg(eco: Ecosystem, name: &str, version: &str) -> Package {
        Package {
            ecosystem: eco,
            name: name.into(),
            version: version.into(),
            source_name: None,
            source_version: None,
            purl: String::new(),
            licenses: vec![],
            location: Location::default(),
        }
    }

    async fn ids(store: &Store, p: Package) -> Vec<String> {
        let pkgs = [p];
        let index = store.advisories_for(&vuln::query_keys(None, &pkgs)).await.unwrap();
        vuln::match_packages(&index, None, &pkgs).unwrap().into_iter().map(|f| f.advisory_id).collect()
    }

    async fn stores(dir: &Path) -> Vec<Store> {
        let mut stores = vec![Store::open(&dir.join("sqlite"), None).await.unwrap()];
        if let Some(url) = crate::testing::fresh_postgres().await.unwrap() {
            stores.push(Store::open(&dir.join("pg"), Some(&url)).await.unwrap());
        }
        stores
    }

    #[tokio::test]
    async fn import_is_idempotent_and_incremental() {
        let tmp = tempfile::tempdir().unwrap();
        for store in stores(tmp.path()).await {
            let data = tempfile::tempdir().unwrap();
            let dir = data.path().join("osv");
            std::fs::create_dir(&dir).unwrap();
            for e in std::fs::read_dir(fixtures()).unwrap() {
                let e = e.unwrap();
                std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
            }
            assert!(!store.has_advisories().await.unwrap());
            let r = store.import_advisories(&dir).await.unwrap();
            assert_eq!(r.sources.len(), 1);
            assert_eq!(r.sources[0].outcome, SourceOutcome::Imported { added: 10, updated: 0, removed: 0, unchanged: 0 });
            assert_eq!(r.problems().count(), 1);
            assert!(r.problems().next().unwrap().contains("TEST-BROKEN.json"), "bad file named");
            assert_eq!(ids(&store, pkg(Ecosystem::Npm, "left-pad", "2.1.0")).await, ["TEST-NPM-1"]);
            assert_eq!(ids(&store, pkg(Ecosystem::PyPI, "Some_Pkg.Name", "0.9")).await, ["TEST-PYPI-1"]);
            let st = store.advisory_status().await.unwrap();
            assert_eq!(st.total, 10);
            assert!(st.per_ecosystem.contains(&("PyPI".to_owned(), 1)), "withdrawn not counted: {:?}", st.per_ecosystem);
            assert_eq!(st.newest_modified.as_deref(), Some("2024-01-01T00:00:00Z"));

            // Same content again: nothing parsed, nothing written.
            let r = store.import_advisories(&dir).await.unwrap();
            assert_eq!(r.sources[0].outcome, SourceOutcome::Unchanged);
            assert_eq!(store.advisory_status().await.unwrap().data_version, st.data_version);

            // Changed fix, a withdrawn advisory, a deleted file.
            let npm = std::fs::read_to_string(dir.join("TEST-NPM-1.json")).unwrap().replace("\"limit\":\"2.5.0\"", "\"fixed\":\"2.1.0\"");
            std::fs::write(dir.join("TEST-NPM-1.json"), npm).unwrap();
            let py = std::fs::read_to_string(dir.join("TEST-PYPI-1.json")).unwrap().replacen("\"modified\"", "\"withdrawn\":\"2024-03-01T00:00:00Z\",\"modified\"", 1);
            std::fs::write(dir.join("TEST-PYPI-1.json"), py).unwrap();
            std::fs::remove_file(dir.join("TEST-GEM-1.json")).unwrap();
            let r = store.import_advisories(&dir).await.unwrap();
            assert_eq!(r.sources[0].outcome, SourceOutcome::Imported { added: 0, updated: 2, removed: 1, unchanged: 7 });
            assert!(ids(&store, pkg(Ecosystem::Npm, "left-pad", "2.1.0")).await.is_empty(), "now fixed in 2.1.0");
            assert_eq!(ids(&store, pkg(Ecosystem::Npm, "left-pad", "2.0.5")).await, ["TEST-NPM-1"]);
            assert!(ids(&store, pkg(Ecosystem::PyPI, "some-pkg-name", "0.9")).await.is_empty(), "withdrawn stops matching");
            assert!(ids(&store, pkg(Ecosystem::RubyGems, "rack", "2.0.9")).await.is_empty(), "deleted file's advisory is gone");
            let st2 = store.advisory_status().await.unwrap();
            assert_eq!(st2.total, 9);
            assert_ne!(st2.data_version, st.data_version);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sync_index_trait_on_the_store() {
        let tmp = tempfile::tempdir().unwrap();
        for store in stores(tmp.path()).await {
            assert!(AdvisoryIndex::is_empty(&store).unwrap());
            store.import_advisories(&fixtures()).await.unwrap();
            assert!(!AdvisoryIndex::is_empty(&store).unwrap());
            let f = vuln::match_packages(&store, None, &[pkg(Ecosystem::Maven, "org.example:core", "5.2.1")]).unwrap();
            assert_eq!(f.len(), 1);
            assert_eq!(f[0].advisory_id, "TEST-MAVEN-1");
        }
    }

    /// All of ../shared/vulndata through the store, then the sanity cases of its README.
    #[tokio::test]
    async fn full_vulndata_import() {
        let shared = std::env::var_os("SHIPSHAPE_SHARED")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
        let tmp = tempfile::tempdir().unwrap();
        for store in stores(tmp.path()).await {
            let r = store.import_advisories(&shared.join("vulndata")).await.unwrap();
            assert_eq!(r.problems().count(), 0, "{:?}", r.problems().take(3).collect::<Vec<_>>());
            let st = store.advisory_status().await.unwrap();
            let count = |eco: &str| st.per_ecosystem.iter().find(|(e, _)| e == eco).map(|(_, n)| *n).unwrap_or(0);
            assert!(count("PyPI") > 2000 && count("Debian:12") > 200 && count("Alpine:v3.11") > 100, "{:?}", st.per_ecosystem);
            assert!(count("Debian:11") > 0, "tracker lists keyed by release");
            let bookworm = model::Distribution { id: "debian".into(), version_id: "12".into(), ..Default::default() };
            let mut ssl = pkg(Ecosystem::Debian, "libssl3", "3.0.20-1~deb12u2");
            ssl.source_name = Some("openssl".into());
            let pkgs = [ssl, pkg(Ecosystem::PyPI, "Django", "3.2"), pkg(Ecosystem::Npm, "lodash", "4.17.15")];
            let index = store.advisories_for(&vuln::query_keys(Some(&bookworm), &pkgs)).await.unwrap();
            let f = vuln::match_packages(&index, Some(&bookworm), &pkgs).unwrap();
            let has = |id: &str| f.iter().any(|f| f.advisory_id == id);
            assert!(has("DEBIAN-BOOKWORM-SEC-openssl-3.0.22-1~deb12u1") && has("DEBIAN-BOOKWORM-SEC-openssl-3.0.22-1~deb12u2"));
            assert!(has("PYSEC-2021-98") && has("GHSA-35jh-r3h4-6jhm") && has("NPM-ADV-516"));
            assert!(!has("PYSEC-2007-1"));
            let again = store.import_advisories(&shared.join("vulndata")).await.unwrap();
            assert!(again.sources.iter().all(|s| matches!(s.outcome, SourceOutcome::Unchanged | SourceOutcome::Empty)));
        }
    }
}
