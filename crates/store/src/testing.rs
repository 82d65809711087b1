//! Helpers for tests of this and other crates (real databases, no mocks).

use sqlx::Executor;
use sqlx::any::AnyPoolOptions;

use crate::Error;

/// Whether the test services are required (`SHIPSHAPE_TEST_SERVICES=1`, the one spelling the e2e
/// tests use too): a missing one is then a failure, not a skip.
pub fn services_required() -> bool {
    std::env::var("SHIPSHAPE_TEST_SERVICES").as_deref() == Ok("1")
}

/// When `SHIPSHAPE_TEST_PG` (a server URL) is set, creates a fresh, uniquely named database on that
/// server and returns its URL. `None` when the variable is unset; a panic then when the services
/// are required, so no PostgreSQL part is skipped silently.
pub async fn fresh_postgres() -> Result<Option<String>, Error> {
    let Ok(base) = std::env::var("SHIPSHAPE_TEST_PG") else {
        assert!(!services_required(), "SHIPSHAPE_TEST_SERVICES=1 but SHIPSHAPE_TEST_PG is unset");
        return Ok(None);
    };
    sqlx::any::install_default_drivers();
    let name = format!("shipshape_test_{}", crate::sealing::random_alnum(12)?.to_ascii_lowercase());
    let pool = AnyPoolOptions::new().max_connections(1).connect(&base).await?;
    pool.execute(format!("CREATE DATABASE {name}").as_str()).await?;
    pool.close().await;
    Ok(Some(with_database(&base, &name)))
}

/// A store per backend under test: SQLite in `dir`, and a fresh PostgreSQL database when
/// `SHIPSHAPE_TEST_PG` is set.
pub async fn stores(dir: &std::path::Path) -> Vec<crate::Store> {
    let mut out = vec![crate::Store::open(dir, None).await.expect("open SQLite store")];
    if let Some(url) = fresh_postgres().await.expect("create PostgreSQL database") {
        out.push(crate::Store::open(&dir.join("pg"), Some(&url)).await.expect("open PostgreSQL store"));
    }
    out
}

/// [`stores`], each with a new account.
pub async fn stores_with_account(dir: &std::path::Path) -> Vec<(crate::Store, model::AccountId)> {
    let mut with = Vec::new();
    for s in stores(dir).await {
        let a = s.create_account().await.expect("create account").app_id;
        with.push((s, a));
    }
    with
}

/// `postgres://u@h:5432/db?x=y` with the database replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let authority_start = head.find("://").map_or(0, |i| i + 3);
    let base = match head[authority_start..].find('/') {
        Some(i) => &head[..authority_start + i],
        None => head,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_database() {
        assert_eq!(super::with_database("postgres://p@h:5432/postgres", "x"), "postgres://p@h:5432/x");
        assert_eq!(super::with_database("postgres://p@h:5432", "x"), "postgres://p@h:5432/x");
        assert_eq!(super::with_database("postgres://p@h/db?sslmode=disable", "x"), "postgres://p@h/x?sslmode=disable");
    }
}
