//! Files that hold secrets or findings (the database and its WAL, `master.key`, `credentials.json`,
//! layer caches, exports): owner-only, 0600 files and 0700 dirs, whatever the process umask. The mode
//! is given at creation, so there is no moment with a wider one, and set again after it (a umask can
//! also take away the owner's bits); files an older version created looser are tightened on open.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of every private file.
pub const FILE_MODE: u32 = 0o600;
/// Mode of every private directory.
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` and its missing parents 0700; an existing, looser `dir` is tightened to 0700.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)?;
    tighten(dir)
}

/// Opens `path` for writing, 0600: created when absent, truncated when `truncate`.
pub fn create_file(path: &Path, truncate: bool) -> io::Result<File> {
    let f = OpenOptions::new().write(true).create(true).truncate(truncate).mode(FILE_MODE).open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
    Ok(f)
}

/// Takes group and other bits off `path` when it exists (a file 0600, a directory 0700).
pub fn tighten(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Ok(()),
        Ok(m) if m.permissions().mode() & 0o077 != 0 => set_mode(path, if m.is_dir() { DIR_MODE } else { FILE_MODE }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// The SQLite database at `db`: created 0600 before SQLite opens it, because SQLite creates the
/// `-wal` and `-shm` files with its database's mode; those of an older, looser database are tightened.
pub(crate) fn prepare_sqlite(db: &Path) -> io::Result<()> {
    if !db.exists() {
        create_file(db, false)?;
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        tighten(Path::new(&p))?;
    }
    Ok(())
}

/// The file of a `sqlite:` URL (`sqlite://PATH?…` or `sqlite:PATH`); `None` for an in-memory database.
pub(crate) fn sqlite_url_path(url: &str) -> Option<&Path> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| Path::new(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_and_tightened_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        create_dir(&nested).unwrap();
        assert_eq!((mode(&dir.path().join("a")), mode(&nested)), (0o700, 0o700));
        let f = nested.join("f");
        create_file(&f, true).unwrap();
        assert_eq!(mode(&f), 0o600);
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&nested, std::fs::Permissions::from_mode(0o755)).unwrap();
        tighten(&f).unwrap();
        tighten(&nested).unwrap();
        assert_eq!((mode(&f), mode(&nested)), (0o600, 0o700));
        tighten(&nested.join("absent")).unwrap();
    }

    #[test]
    fn sqlite_url_paths() {
        assert_eq!(sqlite_url_path("sqlite:///d/x.db?mode=rwc"), Some(Path::new("/d/x.db")));
        assert_eq!(sqlite_url_path("sqlite:x.db"), Some(Path::new("x.db")));
        assert_eq!(sqlite_url_path("sqlite::memory:"), None);
        assert_eq!(sqlite_url_path("postgres://h/db"), None);
    }
}
