//! The data directory's files are owner-only whatever the umask: the SQLite database and its WAL
//! and shared-memory files, master.key, the directory itself; older, looser ones are tightened.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use store::Store;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777
}

#[tokio::test]
async fn database_files_and_master_key_are_owner_only() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let store = Store::open(&data, None).await.unwrap();
    // A write, so the WAL and its index exist.
    store.create_account().await.unwrap();
    let db = data.join(store::SQLITE_FILE);
    for p in [db.clone(), data.join("shipshape.db-wal"), data.join("shipshape.db-shm"), data.join(store::MASTER_KEY_FILE)] {
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    assert_eq!(mode(&data), 0o700);
    store.close().await;

    // Files an older version left group/world-readable are tightened at the next open.
    for p in [&db, &data] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let store = Store::open(&data, None).await.unwrap();
    assert_eq!((mode(&db), mode(&data)), (0o600, 0o700));
    store.close().await;

    // A `sqlite:` URL names its own file: the same mode.
    let other = tmp.path().join("other.db");
    let store = Store::open(&tmp.path().join("d2"), Some(&format!("sqlite://{}?mode=rwc", other.display()))).await.unwrap();
    store.create_account().await.unwrap();
    assert_eq!((mode(&other), mode(&tmp.path().join("other.db-wal"))), (0o600, 0o600));
    store.close().await;
}
