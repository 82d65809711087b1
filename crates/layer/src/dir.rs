//! The one pass over a directory of the host (a source tree for `fs scan`), producing the same
//! [`LayerIndex`] a layer walk does, so merging, finalising and matching are shared.
//!
//! Symlinks are recorded, never followed; FIFOs, sockets and devices are recorded, never
//! opened; `.git` directories are not entered (as Trivy's walker). The limits of
//! [`WalkOptions`] hold as in a layer: per-file cap, per-walk and shared read budgets, entry
//! count. `max_layer_size` has no meaning here (nothing is streamed): only wanted files are
//! read, and those reads are what the budgets bound. `walkdir` does the traversal: it keeps one
//! open directory handle per level and never follows links unless asked.

use crate::error::{Error, ErrorKind};
use crate::walk::{cap_warnings, finish, limit_warning, named, run_analyzer};
use crate::{Analyzer, AnalyzerSet, EntryKind, FileInput, FileMeta, LayerIndex, LinkRecord, ReadBudget, WalkOptions};
use model::Location;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::Ordering;

/// Walks `root` once and hands each wanted regular file to the analyzers that want it.
///
/// Paths are relative to `root` with `/` separators (locations get a leading `/`, as in an
/// image); `diff_id` names the walk in locations and messages. `skip_dir` is asked with the
/// relative path of every directory below the root: `true` leaves it (and what is under it)
/// out. Per-entry problems (unreadable directories or files, analyzer errors or panics) are
/// warnings; only an unreadable root is an [`Error`].
pub fn walk_dir(
    root: &Path,
    diff_id: &str,
    analyzers: &AnalyzerSet,
    opts: &WalkOptions,
    skip_dir: &dyn Fn(&str) -> bool,
) -> Result<LayerIndex, Error> {
    let io_err = |source: std::io::Error| -> Error { ErrorKind::Io { diff_id: diff_id.to_string(), source }.into() };
    let root_meta = std::fs::metadata(root).map_err(io_err)?;
    if !root_meta.is_dir() {
        return Err(io_err(std::io::Error::new(std::io::ErrorKind::NotADirectory, format!("{} is not a directory", root.display()))));
    }
    let mut idx = LayerIndex { diff_id: diff_id.to_string(), ..LayerIndex::default() };
    let mut buf: Vec<u8> = Vec::new();
    let mut wanting: Vec<&dyn Analyzer> = Vec::new();
    let mut read_total: u64 = 0;
    let mut dropped_warnings = 0;

    let rel_of = |p: &Path| -> (String, bool) {
        let rel = p.strip_prefix(root).unwrap_or(p);
        let lossy = rel.to_str().is_none();
        let mut s = String::new();
        for c in rel.components() {
            if !s.is_empty() {
                s.push('/');
            }
            s.push_str(&c.as_os_str().to_string_lossy());
        }
        (s, lossy)
    };
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_type().is_dir() || (e.file_name() != ".git" && !skip_dir(&rel_of(e.path()).0)));
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let at = e.path().map(|p| rel_of(p).0).unwrap_or_default();
                idx.findings.warnings.push(format!("/{at}: {e}: skipped"));
                continue;
            }
        };
        if entry.depth() == 0 {
            continue;
        }
        cap_warnings(&mut idx, &mut dropped_warnings);
        idx.entries += 1;
        if let Some(p) = &opts.progress {
            p.entries.fetch_add(1, Ordering::Relaxed);
        }
        if idx.entries > opts.max_entries {
            limit_warning(&mut idx, format!("more than {} entries: rest not walked", opts.max_entries));
            break;
        }
        let (path, lossy) = rel_of(entry.path());
        if lossy {
            idx.findings.warnings.push(format!("file name is not UTF-8: kept as /{path}"));
        }
        let ft = entry.file_type();
        // Mode bits are checked below, where the metadata is read.
        if !ft.is_dir() && !ft.is_file() && named(&idx) >= opts.max_named_paths {
            limit_warning(
                &mut idx,
                format!("more than {} links, specials, whiteouts and setuid files: rest not walked", opts.max_named_paths),
            );
            break;
        }
        if ft.is_dir() {
            idx.dirs.insert(&path);
            continue;
        }
        if ft.is_symlink() {
            match std::fs::read_link(entry.path()) {
                Ok(t) => idx.symlinks.push(LinkRecord { path, target: t.to_string_lossy().into_owned() }),
                Err(e) => idx.findings.warnings.push(format!("symlink /{path}: {e}: skipped")),
            }
            continue;
        }
        if !ft.is_file() {
            idx.specials.push(path);
            continue;
        }
        let md = match entry.metadata() {
            Ok(m) => m,
            Err(e) => {
                idx.findings.warnings.push(format!("/{path}: {e}: skipped"));
                continue;
            }
        };
        let meta = file_meta(&md);
        idx.bytes += meta.size;
        if let Some(p) = &opts.progress {
            p.bytes.fetch_add(meta.size, Ordering::Relaxed);
        }
        if meta.mode & 0o6000 != 0 {
            if named(&idx) < opts.max_named_paths {
                idx.setuid_files.push(path.clone());
            } else {
                idx.partial = true;
            }
        }
        wanting.clear();
        wanting.extend(analyzers.analyzers().iter().map(|a| &**a).filter(|a| a.wants(&path, &meta)));
        if !wanting.is_empty() {
            let budget_left = opts.image_budget.as_ref().map_or(u64::MAX, ReadBudget::remaining);
            let cap = opts.max_file_size.min(opts.max_layer_read - read_total.min(opts.max_layer_read)).min(budget_left);
            if cap == 0 && meta.size > 0 {
                limit_warning(&mut idx, format!("/{path}: read budget exhausted: not analysed"));
            } else {
                buf.clear();
                match read_capped(entry.path(), cap, &mut buf) {
                    Ok(()) => {
                        let n = buf.len() as u64;
                        read_total += n;
                        if let Some(b) = &opts.image_budget {
                            b.take(n);
                        }
                        let truncated = meta.size > n;
                        if truncated {
                            idx.findings.warnings.push(format!("/{path}: {} bytes, only the first {n} analysed", meta.size));
                        }
                        let location = Location { path: format!("/{path}"), layer_index: 0, layer_digest: diff_id.to_string() };
                        let input = FileInput { path: &path, meta, data: &buf, truncated, location: &location };
                        for a in &wanting {
                            run_analyzer(*a, &input, &mut idx.findings);
                        }
                    }
                    Err(e) => idx.findings.warnings.push(format!("/{path}: {e}: not analysed")),
                }
            }
        }
        idx.files.insert(&path);
    }
    finish(&mut idx, dropped_warnings);
    Ok(idx)
}

#[cfg(unix)]
fn file_meta(md: &std::fs::Metadata) -> FileMeta {
    use std::os::unix::fs::MetadataExt;
    FileMeta { kind: EntryKind::File, size: md.len(), mode: md.mode() & 0o7777, uid: u64::from(md.uid()), gid: u64::from(md.gid()) }
}

#[cfg(not(unix))]
fn file_meta(md: &std::fs::Metadata) -> FileMeta {
    FileMeta { kind: EntryKind::File, size: md.len(), mode: 0o644, uid: 0, gid: 0 }
}

/// Reads at most `cap` bytes of a regular file into `buf`. Opened without following a symlink
/// and without blocking, then checked again to be a regular file: a path swapped for a link or
/// a FIFO after the walk saw it is refused, not followed or waited on.
fn read_capped(path: &Path, cap: u64, buf: &mut Vec<u8>) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let f = o.open(path)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other("no longer a regular file"));
    }
    f.take(cap).read_to_end(buf)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AnalyzeError, LayerFindings};

    /// Reports every file it is handed as a warning `saw PATH LEN`.
    struct Echo(fn(&str) -> bool);
    impl Analyzer for Echo {
        fn name(&self) -> &'static str {
            "echo"
        }
        fn version(&self) -> u32 {
            1
        }
        fn wants(&self, path: &str, _: &FileMeta) -> bool {
            (self.0)(path)
        }
        fn analyze(&self, f: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
            if f.data.starts_with(b"boom") {
                panic!("analyzer bug");
            }
            out.warnings.push(format!("saw {} {}{}", f.location.path, f.data.len(), if f.truncated { " truncated" } else { "" }));
            Ok(())
        }
    }

    fn set(want: fn(&str) -> bool) -> AnalyzerSet {
        AnalyzerSet::new(vec![Box::new(Echo(want))]).unwrap()
    }

    fn saw(idx: &LayerIndex) -> Vec<&str> {
        idx.findings.warnings.iter().filter_map(|w| w.strip_prefix("saw ")).collect()
    }

    #[test]
    fn walks_relative_paths_skips_git_and_asked_dirs() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        for (p, c) in [("a/Cargo.lock", "x"), ("a/b/c.txt", "hello"), (".git/config", "g"), ("target/x.lock", "t"), ("z", "boom")] {
            std::fs::create_dir_all(r.join(p).parent().unwrap()).unwrap();
            std::fs::write(r.join(p), c).unwrap();
        }
        std::os::unix::fs::symlink("/etc/passwd", r.join("a/link")).unwrap();
        std::os::unix::fs::symlink("..", r.join("a/loop")).unwrap();
        let idx = walk_dir(r, "dir:test", &set(|_| true), &WalkOptions::default(), &|p| p == "target").unwrap();
        assert_eq!(idx.files, ["a/Cargo.lock", "a/b/c.txt", "z"].into_iter().collect());
        assert_eq!(idx.dirs, ["a", "a/b"].into_iter().collect());
        assert_eq!(idx.symlinks.iter().map(|l| l.path.as_str()).collect::<Vec<_>>(), vec!["a/link", "a/loop"]);
        assert_eq!(saw(&idx), vec!["/a/Cargo.lock 1", "/a/b/c.txt 5"]);
        assert!(idx.findings.warnings.iter().any(|w| w.contains("panicked on /z")), "{:?}", idx.findings.warnings);
        assert_eq!(idx.bytes, 10);
    }

    #[test]
    fn caps_and_budgets_hold() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("big"), vec![b'x'; 10_000]).unwrap();
        std::fs::write(d.path().join("small"), b"abc").unwrap();
        let opts = WalkOptions { max_file_size: 1000, ..Default::default() };
        let idx = walk_dir(d.path(), "d", &set(|_| true), &opts, &|_| false).unwrap();
        assert_eq!(saw(&idx), vec!["/big 1000 truncated", "/small 3"]);
        assert!(!idx.partial);
        let opts = WalkOptions { max_layer_read: 500, ..Default::default() };
        let idx = walk_dir(d.path(), "d", &set(|_| true), &opts, &|_| false).unwrap();
        assert_eq!(saw(&idx), vec!["/big 500 truncated"]);
        assert!(idx.partial);
        let idx = walk_dir(d.path(), "d", &set(|_| true), &WalkOptions { max_entries: 1, ..Default::default() }, &|_| false).unwrap();
        assert_eq!(idx.files, ["big"].into_iter().collect());
        assert!(idx.partial);
    }

    #[test]
    fn fifo_is_recorded_never_opened_and_missing_root_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let idx = walk_dir(d.path(), "d", &set(|_| true), &WalkOptions::default(), &|_| false).unwrap();
        assert_eq!(idx.specials, vec!["pipe"]);
        assert!(walk_dir(&d.path().join("nope"), "d", &set(|_| true), &WalkOptions::default(), &|_| false).is_err());
        assert!(walk_dir(&d.path().join("pipe"), "d", &set(|_| true), &WalkOptions::default(), &|_| false).is_err());
    }
}
