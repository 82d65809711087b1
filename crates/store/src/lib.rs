//! Shipshape's persistence. One code path over `sqlx::AnyPool`: SQLite in the data dir by default,
//! PostgreSQL when given a `postgres://` URL. Migrations per backend (`migrations/{sqlite,postgres}`)
//! run at open. Every row of account data carries an `account_id`; every query filters by it.
//! How to add tables: see this crate's README.md.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

mod error;
mod sealing;

pub mod accounts;
pub mod advisories;
pub mod audit;
pub mod compliance;
pub mod coordination;
pub mod exports;
pub mod harbor;
pub mod layer_cache;
pub mod nodes;
pub mod private_fs;
pub(crate) mod queue;
pub mod registries;
pub mod scan_settings;
pub mod scan_tasks;
pub mod seen_signatures;
pub mod stats;
pub mod testing;

pub use accounts::{Account, KeyInfo, NewKey};
pub use error::{Error, redact_url};
pub use scan_settings::ImageScanSetting;
pub use sealing::MASTER_KEY_FILE;

/// File name of the SQLite database inside the data dir.
pub const SQLITE_FILE: &str = "shipshape.db";

// sqlx::migrate!'s own expansion, from sqlx-macros directly (see Cargo.toml).
static SQLITE_MIGRATIONS: Migrator = sqlx_macros::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx_macros::migrate!("./migrations/postgres");

/// Which database is behind the pool, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A handle to the database plus the secret-key sealer. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    secrets: std::sync::Arc<sealing::SecretBox>,
    data_dir: PathBuf,
}

impl Store {
    /// Opens (creating when needed) the data dir, its master key and the database, and runs migrations.
    /// `database_url`: `None` → SQLite file `DATA_DIR/shipshape.db`; `postgres://…` or `sqlite://…` otherwise.
    pub async fn open(data_dir: &Path, database_url: Option<&str>) -> Result<Store, Error> {
        create_private_dir(data_dir)?;
        let secrets = sealing::SecretBox::open_or_create(data_dir)?;
        sqlx::any::install_default_drivers();

        let (url, backend) = match database_url {
            None => (format!("sqlite://{}?mode=rwc", data_dir.join(SQLITE_FILE).display()), Backend::Sqlite),
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => (u.to_string(), Backend::Postgres),
            Some(u) if u.starts_with("sqlite:") => (u.to_string(), Backend::Sqlite),
            Some(u) => return Err(Error::UnsupportedUrl(redact_url(u))),
        };
        if backend == Backend::Sqlite
            && let Some(file) = private_fs::sqlite_url_path(&url)
        {
            private_fs::prepare_sqlite(file).map_err(Error::io(file))?;
        }
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL: readers never block the writer; NORMAL is durable across crashes of
                            // the process (not of the OS) and avoids an fsync per commit.
                            conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 15000;")
                                .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(10)).connect_with(options).await?
            }
        };
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
        }
        let store = Store { pool, backend, secrets: std::sync::Arc::new(secrets), data_dir: data_dir.to_path_buf() };
        store.rekey_advisories_if_needed().await?;
        Ok(store)
    }

    /// A write transaction. SQLite: `BEGIN IMMEDIATE`, so a transaction that reads before it writes
    /// takes the write lock up front (waiting up to the busy timeout) instead of failing with
    /// SQLITE_BUSY_SNAPSHOT when another process (a `db import` beside the server) committed between.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, Error> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Closes the pool (waits for connections to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn create_private_dir(dir: &Path) -> Result<(), Error> {
    match private_fs::create_dir(dir) {
        // A directory someone else owns (a mount point) cannot be tightened: its files still are.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && dir.is_dir() => {
            tracing::warn!(dir = %dir.display(), error = %e, "the data directory is not owner-only and cannot be made so");
            Ok(())
        }
        r => r.map_err(Error::io(dir)),
    }
}

pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
