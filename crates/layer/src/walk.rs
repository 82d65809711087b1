//! The one streaming pass over an uncompressed layer tar.
//!
//! Nothing here touches the host file system: names become image-root-relative strings
//! ([`crate::path`]), links are recorded and never followed, special files are never opened.
//! Memory is one reused content buffer (at most the per-file cap), 8 bytes per file and
//! directory ([`crate::PathSet`]), the named entries (links, specials, whiteouts, setuid files:
//! at most [`WalkOptions::max_named_paths`]) and at most [`MAX_WARNINGS`] warnings.

use crate::error::{Error, ErrorKind};
use crate::path::{file_name, normalize, parent};
use crate::{Analyzer, AnalyzerSet, EntryKind, FileInput, FileMeta, LayerFindings, LayerIndex, LinkRecord};
use model::Location;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, mpsc};

/// Limits of one walk. Part of the layer cache key ([`WalkOptions::cache_key`]), except the
/// shared image budget and the progress counters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WalkOptions {
    /// Bytes of one file handed to analyzers; the rest is skipped (`FileInput::truncated`).
    pub max_file_size: u64,
    /// Bytes handed to analyzers per layer, all files together.
    pub max_layer_read: u64,
    /// Tar entries per layer; the walk stops there with a warning.
    pub max_entries: u64,
    /// Uncompressed tar bytes per layer; the walk stops there with a warning.
    pub max_layer_size: u64,
    /// Entries kept by name per layer (symlinks, hard links, specials, whiteouts, opaque
    /// directories, setuid files: ~100 bytes each); the walk stops there with a warning.
    /// Regular files and directories are not counted: they cost 8 bytes each.
    #[serde(default = "default_max_named_paths")]
    pub max_named_paths: u64,
    /// Bytes handed to analyzers across every layer of an image (share one clone per image).
    #[serde(skip)]
    pub image_budget: Option<ReadBudget>,
    /// Live counters for a progress bar.
    #[serde(skip)]
    pub progress: Option<Arc<WalkProgress>>,
    /// Analyzer threads of one walk (0: one per core, 1: none besides the walker). The
    /// findings do not depend on it.
    #[serde(skip)]
    pub threads: usize,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            max_file_size: 64 << 20,
            max_layer_read: 4 << 30,
            max_entries: 10_000_000,
            max_layer_size: 64 << 30,
            max_named_paths: default_max_named_paths(),
            image_budget: None,
            progress: None,
            threads: 0,
        }
    }
}

fn default_max_named_paths() -> u64 {
    1_000_000
}

/// Warnings kept per layer; past it they are counted, not kept (a hostile layer can make one
/// per entry).
pub const MAX_WARNINGS: usize = 1000;

impl WalkOptions {
    /// The limits as a stable string, for the layer cache key.
    pub fn cache_key(&self) -> String {
        format!(
            "file={};layer_read={};entries={};layer_size={};named={}",
            self.max_file_size, self.max_layer_read, self.max_entries, self.max_layer_size, self.max_named_paths
        )
    }
}

/// Remaining analyzer bytes shared by all layer walks of one image.
#[derive(Debug, Clone)]
pub struct ReadBudget(Arc<AtomicU64>);

impl ReadBudget {
    pub fn new(bytes: u64) -> Self {
        ReadBudget(Arc::new(AtomicU64::new(bytes)))
    }
    pub fn remaining(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    pub(crate) fn take(&self, n: u64) {
        let _ = self.0.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| Some(r.saturating_sub(n)));
    }
}

/// Entries and uncompressed bytes walked so far, updated as the walk goes.
#[derive(Debug, Default)]
pub struct WalkProgress {
    pub entries: AtomicU64,
    pub bytes: AtomicU64,
}

/// Counts stream bytes and cuts the stream at a limit (reported as an error the walk
/// recognises through the flag, not as corruption).
struct Metered<R> {
    inner: R,
    read: u64,
    limit: u64,
    hit: Arc<AtomicBool>,
    progress: Option<Arc<WalkProgress>>,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read >= self.limit {
            self.hit.store(true, Ordering::Relaxed);
            return Err(std::io::Error::other("layer size limit reached"));
        }
        let room = usize::try_from(self.limit - self.read).unwrap_or(usize::MAX).min(buf.len());
        let n = self.inner.read(&mut buf[..room])?;
        self.read += n as u64;
        if let Some(p) = &self.progress {
            p.bytes.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// Walks one uncompressed layer tar once and returns what the analyzers found in it.
///
/// Per-file problems (unreadable names, analyzer errors or panics, caps) become warnings in
/// `findings.warnings`; only a corrupt or unreadable stream is an [`Error`]. Hard links are
/// recorded, not re-read: a tar stream cannot rewind, so analyzers see the content once, at
/// the first copy (the link target), never at the link path.
///
/// The tar is read on the calling thread; files whose every wanting analyzer is
/// [`Analyzer::stateless`] are analysed on [`WalkOptions::threads`] workers, and their findings
/// are appended in walk order, so the result is the same as a walk on one thread.
pub fn walk_layer(
    reader: impl Read,
    diff_id: &str,
    layer_index: u32,
    analyzers: &AnalyzerSet,
    opts: &WalkOptions,
) -> Result<LayerIndex, Error> {
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    if threads <= 1 || !analyzers.analyzers().iter().any(|a| a.stateless()) {
        return walk_tar(reader, diff_id, layer_index, analyzers, opts, &mut Pool::sequential());
    }
    // Declared first: the pool borrows it for as long as the job channel lives.
    let finished = Finished::new(threads);
    let (job_tx, job_rx) = mpsc::channel::<Job<'_>>();
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    let job_rx = Mutex::new(job_rx);
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (jobs, done, finished) = (&job_rx, done_tx.clone(), &finished);
            s.spawn(move || worker(jobs, &done, finished));
        }
        drop(done_tx);
        let mut pool = Pool::new(Some(job_tx), Some((done_rx, &finished)));
        // Dropping the pool closes the job channel, so the workers end and the scope joins them.
        walk_tar(reader, diff_id, layer_index, analyzers, opts, &mut pool)
    })
}

/// Bytes of file content read ahead of the analyzers, all workers together: a hostile layer of
/// many large files costs at most this plus one file (the per-file cap) of memory.
const MAX_BYTES_IN_FLIGHT: u64 = 64 << 20;
/// Files read ahead of the analyzers (bounds the bookkeeping of many tiny files).
const MAX_FILES_IN_FLIGHT: u64 = 4096;

/// One file for a worker: an owned copy of what `FileInput` borrows.
struct Job<'s> {
    seq: u64,
    analyzers: Vec<&'s dyn Analyzer>,
    path: String,
    meta: FileMeta,
    data: Vec<u8>,
    truncated: bool,
    location: Location,
}

/// What a worker found in the file with sequence number `seq`.
struct Done {
    seq: u64,
    bytes: u64,
    findings: LayerFindings,
}

/// How many files the workers have finished, and how many workers still run: the walker waits
/// on it for a number of files at once and is woken once, at the last of them, instead of at
/// every file (a futex wake and a context switch per file cost 3-5 % of a scan's CPU).
struct Finished {
    counts: Mutex<FinishedCounts>,
    changed: Condvar,
}

struct FinishedCounts {
    files: u64,
    /// The walker sleeps until `files` reaches this.
    wake_at: u64,
    workers: usize,
}

impl Finished {
    fn new(workers: usize) -> Finished {
        Finished { counts: Mutex::new(FinishedCounts { files: 0, wake_at: u64::MAX, workers }), changed: Condvar::new() }
    }

    // Nothing panics while holding the lock, so a poisoned one still has sound counts.
    fn lock(&self) -> MutexGuard<'_, FinishedCounts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A worker has sent the findings of one more file.
    fn file_done(&self) {
        let mut c = self.lock();
        c.files += 1;
        if c.files == c.wake_at {
            self.changed.notify_one();
        }
    }

    /// Waits until `files` files are finished in all, or no worker is left.
    fn wait_for(&self, files: u64) {
        let mut c = self.lock();
        c.wake_at = files;
        while c.files < files && c.workers > 0 {
            c = self.changed.wait(c).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Counts a worker out when it ends, however it ends.
struct WorkerExit<'a>(&'a Finished);

impl Drop for WorkerExit<'_> {
    fn drop(&mut self) {
        self.0.lock().workers -= 1;
        self.0.changed.notify_one();
    }
}

fn worker(jobs: &Mutex<mpsc::Receiver<Job<'_>>>, done: &mpsc::Sender<Done>, finished: &Finished) {
    let _exit = WorkerExit(finished);
    loop {
        // The guard is dropped at the end of the statement: only the wait is serialised.
        let next = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = next else { return };
        let seq = job.seq;
        let mut findings = LayerFindings::default();
        let input = FileInput { path: &job.path, meta: job.meta, data: &job.data, truncated: job.truncated, location: &job.location };
        for a in &job.analyzers {
            run_analyzer(*a, &input, &mut findings);
        }
        if done.send(Done { seq, bytes: job.data.len() as u64, findings }).is_err() {
            return;
        }
        finished.file_done();
    }
}

/// The walker's side of the workers: hands out files in walk order and merges their findings
/// back in the same order (`flush` before anything else is written to the findings).
struct Pool<'s> {
    jobs: Option<mpsc::Sender<Job<'s>>>,
    done: Option<(mpsc::Receiver<Done>, &'s Finished)>,
    /// Sequence number of the next job / of the next findings to merge.
    next: u64,
    merged: u64,
    ready: BTreeMap<u64, LayerFindings>,
    bytes_in_flight: u64,
    files_in_flight: u64,
}

impl<'s> Pool<'s> {
    fn sequential() -> Pool<'s> {
        Pool::new(None, None)
    }

    fn new(jobs: Option<mpsc::Sender<Job<'s>>>, done: Option<(mpsc::Receiver<Done>, &'s Finished)>) -> Pool<'s> {
        Pool { jobs, done, next: 0, merged: 0, ready: BTreeMap::new(), bytes_in_flight: 0, files_in_flight: 0 }
    }

    /// Whether this file goes to a worker: only when every analyzer that wants it is stateless.
    fn takes(&self, wanting: &[&dyn Analyzer]) -> bool {
        self.jobs.is_some() && wanting.iter().all(|a| a.stateless())
    }

    fn submit(&mut self, job: PendingJob<'s>) {
        let Some(tx) = &self.jobs else { return };
        let bytes = job.data.len() as u64;
        let PendingJob { analyzers, path, meta, data, truncated, location } = job;
        if tx.send(Job { seq: self.next, analyzers, path, meta, data, truncated, location }).is_ok() {
            self.next += 1;
            self.bytes_in_flight += bytes;
            self.files_in_flight += 1;
        }
    }

    /// Waits until `n` more files' findings have arrived (n ≤ files in flight). False when
    /// the workers are gone first (cannot happen while the pool holds the job sender, as
    /// analyzer panics are caught).
    fn receive(&mut self, n: u64) -> bool {
        let Some((rx, finished)) = &self.done else { return false };
        let target = self.next - self.files_in_flight + n;
        // A worker counts a file finished after sending its findings, so they are all queued.
        finished.wait_for(target);
        let arrived: Vec<Done> = rx.try_iter().collect();
        for d in arrived {
            self.accept(d);
        }
        self.next - self.files_in_flight >= target
    }

    fn accept(&mut self, d: Done) {
        self.bytes_in_flight -= d.bytes;
        self.files_in_flight -= 1;
        self.ready.insert(d.seq, d.findings);
    }

    fn merge_ready(&mut self, idx: &mut LayerIndex) {
        if let Some((rx, _)) = &self.done {
            let arrived: Vec<Done> = rx.try_iter().collect();
            for d in arrived {
                self.accept(d);
            }
        }
        while let Some(f) = self.ready.remove(&self.merged) {
            append(&mut idx.findings, f);
            self.merged += 1;
        }
    }

    /// Waits until a file of `bytes` fits within the in-flight caps (one always fits). At a
    /// cap it waits for half the files in flight at a time, not for one: the walker then reads
    /// ahead in long runs and sleeps once per run.
    fn make_room(&mut self, idx: &mut LayerIndex, bytes: u64) {
        while self.files_in_flight > 0
            && (self.bytes_in_flight + bytes > MAX_BYTES_IN_FLIGHT || self.files_in_flight >= MAX_FILES_IN_FLIGHT)
        {
            if !self.receive(self.files_in_flight.div_ceil(2)) {
                break;
            }
        }
        self.merge_ready(idx);
    }

    /// Merges every submitted file's findings, in walk order.
    fn flush(&mut self, idx: &mut LayerIndex) {
        self.merge_ready(idx);
        if self.merged < self.next {
            let all = self.receive(self.files_in_flight);
            self.merge_ready(idx);
            if !all {
                let lost = self.next - self.merged;
                idx.findings.warnings.push(format!("analyzer threads stopped: {lost} files not analysed"));
                idx.partial = true;
                self.merged = self.next;
            }
        }
    }
}

/// A file read for a worker, before it gets its sequence number.
struct PendingJob<'s> {
    analyzers: Vec<&'s dyn Analyzer>,
    path: String,
    meta: FileMeta,
    data: Vec<u8>,
    truncated: bool,
    location: Location,
}

/// Appends one file's findings as if its analyzers had written into `into` directly.
fn append(into: &mut LayerFindings, f: LayerFindings) {
    let LayerFindings { packages, distribution, risks, malware, warnings } = f;
    into.packages.extend(packages);
    if distribution.is_some() {
        into.distribution = distribution;
    }
    into.risks.extend(risks);
    into.malware.extend(malware);
    into.warnings.extend(warnings);
}

/// A walker warning, after the findings of every file before it.
fn warn(pool: &mut Pool<'_>, idx: &mut LayerIndex, msg: String) {
    pool.flush(idx);
    idx.findings.warnings.push(msg);
}

/// Reads at most `cap` bytes of the current entry into `buf`.
fn read_capped(
    entry: &mut impl Read,
    cap: u64,
    buf: &mut Vec<u8>,
    hit: &AtomicBool,
    entries: u64,
    tar_err: &impl Fn(u64, std::io::Error) -> Error,
) -> Result<(), Error> {
    entry.take(cap).read_to_end(buf).map(drop).map_err(|e| {
        if hit.load(Ordering::Relaxed) {
            tar_err(entries, std::io::Error::other("layer size limit reached inside a file"))
        } else {
            tar_err(entries, e)
        }
    })
}

/// Charges `n` read bytes to the layer and image budgets; warns and returns true when the file
/// was cut at the cap.
fn account(idx: &mut LayerIndex, pool: &mut Pool<'_>, layer_read: &mut u64, opts: &WalkOptions, path: &str, size: u64, n: u64) -> bool {
    *layer_read += n;
    if let Some(b) = &opts.image_budget {
        b.take(n);
    }
    let truncated = size > n;
    if truncated {
        warn(pool, idx, format!("/{path}: {size} bytes, only the first {n} analysed"));
    }
    truncated
}

fn walk_tar<'s>(
    reader: impl Read,
    diff_id: &str,
    layer_index: u32,
    analyzers: &'s AnalyzerSet,
    opts: &WalkOptions,
    pool: &mut Pool<'s>,
) -> Result<LayerIndex, Error> {
    let hit = Arc::new(AtomicBool::new(false));
    let metered = Metered { inner: reader, read: 0, limit: opts.max_layer_size, hit: hit.clone(), progress: opts.progress.clone() };
    let mut archive = tar::Archive::new(metered);
    let mut idx = LayerIndex { diff_id: diff_id.to_string(), ..LayerIndex::default() };
    let mut buf: Vec<u8> = Vec::new();
    let mut wanting: Vec<&'s dyn Analyzer> = Vec::new();
    let mut layer_read: u64 = 0;
    let mut dropped_warnings: usize = 0;
    let tar_err =
        |entries: u64, source: std::io::Error| -> Error { ErrorKind::Tar { diff_id: diff_id.to_string(), entries, source }.into() };

    let entries = archive.entries().map_err(|e| tar_err(0, e))?;
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) if hit.load(Ordering::Relaxed) => {
                pool.flush(&mut idx);
                limit_warning(&mut idx, format!("layer is larger than {} bytes: rest not walked", opts.max_layer_size));
                let _ = e;
                break;
            }
            Err(e) => return Err(tar_err(idx.entries, e)),
        };
        cap_warnings(&mut idx, &mut dropped_warnings);
        idx.entries += 1;
        if let Some(p) = &opts.progress {
            p.entries.fetch_add(1, Ordering::Relaxed);
        }
        if idx.entries > opts.max_entries {
            pool.flush(&mut idx);
            limit_warning(&mut idx, format!("more than {} entries: rest not walked", opts.max_entries));
            break;
        }
        let header = entry.header();
        let etype = header.entry_type();
        let meta = FileMeta {
            kind: EntryKind::File,
            size: entry.size(),
            mode: header.mode().unwrap_or(0),
            uid: header.uid().unwrap_or(0),
            gid: header.gid().unwrap_or(0),
        };
        let kind = match etype {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => EntryKind::File,
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink => EntryKind::Symlink,
            tar::EntryType::Link => EntryKind::HardLink,
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => EntryKind::Special,
            // Extension headers the tar crate already applied to the next entry.
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader | tar::EntryType::GNULongName | tar::EntryType::GNULongLink => continue,
            other => {
                let raw = entry.path_bytes();
                warn(
                    pool,
                    &mut idx,
                    format!("{}: unknown tar entry type {:?}: skipped", String::from_utf8_lossy(&raw), other.as_byte() as char),
                );
                continue;
            }
        };
        let meta = FileMeta { kind, ..meta };
        let raw = entry.path_bytes();
        let np = normalize(&raw);
        if np.escaped {
            warn(pool, &mut idx, format!("entry {:?} climbs above the image root: kept as /{}", String::from_utf8_lossy(&raw), np.path));
        }
        if np.lossy {
            warn(pool, &mut idx, format!("entry name is not UTF-8: kept as /{}", np.path));
        }
        drop(raw);
        let path = np.path;
        if path.is_empty() {
            if kind != EntryKind::Dir {
                warn(pool, &mut idx, format!("{kind:?} entry names the image root: skipped"));
            }
            continue;
        }

        // Whiteouts: `.wh.<name>` deletes <name> from lower layers, `.wh..wh..opq` empties the
        // directory; other `.wh..wh.` names are aufs bookkeeping. None is a real file.
        let name = file_name(&path);
        let kept_by_name = kind != EntryKind::Dir && (kind != EntryKind::File || name.starts_with(".wh.") || meta.mode & 0o6000 != 0);
        if kept_by_name && named(&idx) >= opts.max_named_paths {
            pool.flush(&mut idx);
            limit_warning(
                &mut idx,
                format!("more than {} links, specials, whiteouts and setuid files: rest not walked", opts.max_named_paths),
            );
            break;
        }
        if let Some(rest) = name.strip_prefix(".wh.")
            && kind != EntryKind::Dir
        {
            let dir = parent(&path);
            if rest == ".wh..opq" {
                idx.opaque_dirs.push(dir.to_string());
            } else if rest == "." || rest == ".." {
                warn(pool, &mut idx, format!("whiteout /{path} names no file: ignored"));
            } else if !rest.starts_with(".wh.") && !rest.is_empty() {
                idx.whiteouts.push(if dir.is_empty() { rest.to_string() } else { format!("{dir}/{rest}") });
            }
            continue;
        }

        match kind {
            EntryKind::Dir => idx.dirs.insert(&path),
            EntryKind::Special => idx.specials.push(path),
            EntryKind::Symlink => {
                let target = entry.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned());
                match target {
                    Some(target) => idx.symlinks.push(LinkRecord { path, target }),
                    None => warn(pool, &mut idx, format!("symlink /{path} has no target: skipped")),
                }
            }
            EntryKind::HardLink => {
                let target = entry.link_name_bytes().map(|t| normalize(&t));
                match target {
                    Some(t) => {
                        if t.escaped {
                            warn(pool, &mut idx, format!("hard link /{path} points above the image root: kept as /{}", t.path));
                        }
                        idx.files.insert(&path);
                        idx.hardlinks.push(LinkRecord { path, target: t.path });
                    }
                    None => warn(pool, &mut idx, format!("hard link /{path} has no target: skipped")),
                }
            }
            EntryKind::File => {
                if meta.mode & 0o6000 != 0 {
                    idx.setuid_files.push(path.clone());
                }
                wanting.clear();
                wanting.extend(analyzers.analyzers().iter().map(|a| &**a).filter(|a| a.wants(&path, &meta)));
                if !wanting.is_empty() {
                    let image_left = opts.image_budget.as_ref().map_or(u64::MAX, ReadBudget::remaining);
                    let cap = opts.max_file_size.min(opts.max_layer_read - layer_read.min(opts.max_layer_read)).min(image_left);
                    if cap == 0 && meta.size > 0 {
                        pool.flush(&mut idx);
                        limit_warning(&mut idx, format!("/{path}: read budget exhausted: not analysed"));
                    } else if pool.takes(&wanting) {
                        // Read into a buffer of its own and let a worker analyse it while the
                        // walk goes on; `make_room` keeps the bytes in flight bounded.
                        let want = usize::try_from(cap.min(meta.size)).unwrap_or(usize::MAX);
                        pool.make_room(&mut idx, want as u64);
                        let mut data = Vec::with_capacity(want);
                        read_capped(&mut entry, cap, &mut data, &hit, idx.entries, &tar_err)?;
                        let truncated = account(&mut idx, pool, &mut layer_read, opts, &path, meta.size, data.len() as u64);
                        let location = Location { path: format!("/{path}"), layer_index, layer_digest: diff_id.to_string() };
                        pool.submit(PendingJob { analyzers: wanting.clone(), path: path.clone(), meta, data, truncated, location });
                    } else {
                        pool.flush(&mut idx);
                        buf.clear();
                        read_capped(&mut entry, cap, &mut buf, &hit, idx.entries, &tar_err)?;
                        let truncated = account(&mut idx, pool, &mut layer_read, opts, &path, meta.size, buf.len() as u64);
                        let location = Location { path: format!("/{path}"), layer_index, layer_digest: diff_id.to_string() };
                        let input = FileInput { path: &path, meta, data: &buf, truncated, location: &location };
                        for a in &wanting {
                            run_analyzer(*a, &input, &mut idx.findings);
                        }
                    }
                }
                idx.files.insert(&path);
            }
        }
    }
    pool.flush(&mut idx);
    idx.bytes = archive.into_inner().read;
    finish(&mut idx, dropped_warnings);
    Ok(idx)
}

/// Entries kept by name so far (see [`WalkOptions::max_named_paths`]).
pub(crate) fn named(idx: &LayerIndex) -> u64 {
    (idx.whiteouts.len() + idx.opaque_dirs.len() + idx.symlinks.len() + idx.hardlinks.len() + idx.specials.len() + idx.setuid_files.len())
        as u64
}

/// Keeps at most [`MAX_WARNINGS`] warnings, counting the rest.
pub(crate) fn cap_warnings(idx: &mut LayerIndex, dropped: &mut usize) {
    let w = &mut idx.findings.warnings;
    if w.len() > MAX_WARNINGS {
        *dropped += w.len() - MAX_WARNINGS;
        w.truncate(MAX_WARNINGS);
    }
}

/// Seals the path sets and reports warnings that were counted, not kept.
pub(crate) fn finish(idx: &mut LayerIndex, mut dropped: usize) {
    cap_warnings(idx, &mut dropped);
    if dropped > 0 {
        idx.findings.warnings.push(format!("{dropped} more warnings not kept"));
    }
    idx.files.seal();
    idx.dirs.seal();
}

pub(crate) fn limit_warning(idx: &mut LayerIndex, msg: String) {
    idx.partial = true;
    idx.findings.warnings.push(msg);
}

/// One analyzer on one file: its error or panic is a warning, never the end of the walk.
pub(crate) fn run_analyzer(a: &dyn Analyzer, input: &FileInput<'_>, findings: &mut LayerFindings) {
    match catch_unwind(AssertUnwindSafe(|| a.analyze(input, findings))) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => findings.warnings.push(format!("{}: {e}", a.name())),
        Err(_) => findings.warnings.push(format!("{}: panicked on {}", a.name(), input.location.path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AnalyzeError, LayerFindings};
    use std::sync::Mutex;

    /// Records every file it is handed; wants paths matching `want`.
    struct Recorder {
        want: fn(&str) -> bool,
        seen: Mutex<Vec<(String, usize, bool)>>,
    }
    impl Analyzer for Recorder {
        fn name(&self) -> &'static str {
            "recorder"
        }
        fn version(&self) -> u32 {
            1
        }
        fn wants(&self, path: &str, _: &FileMeta) -> bool {
            (self.want)(path)
        }
        fn analyze(&self, f: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
            self.seen.lock().unwrap().push((f.path.to_string(), f.data.len(), f.truncated));
            if f.data.starts_with(b"boom") {
                panic!("analyzer bug");
            }
            if f.data.starts_with(b"bad") {
                return Err(AnalyzeError::Other { path: f.path.into(), reason: "bad".into() });
            }
            out.warnings.push(format!("saw {}", f.location.path));
            Ok(())
        }
    }

    fn header(name: &[u8], kind: tar::EntryType, size: u64) -> tar::Header {
        let mut h = tar::Header::new_ustar();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(0o644);
        h.set_cksum();
        h
    }

    fn tar_of(entries: &[(&[u8], tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, kind, data) in entries {
            b.append(&header(name, *kind, data.len() as u64), *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn set(want: fn(&str) -> bool) -> (AnalyzerSet, *const Recorder) {
        let r = Box::new(Recorder { want, seen: Mutex::new(Vec::new()) });
        let ptr = &*r as *const Recorder;
        (AnalyzerSet::new(vec![r]).unwrap(), ptr)
    }

    fn seen(ptr: *const Recorder) -> Vec<(String, usize, bool)> {
        // SAFETY: the set owning the recorder outlives every call in these tests.
        unsafe { (*ptr).seen.lock().unwrap().clone() }
    }

    use tar::EntryType as T;

    #[test]
    fn records_whiteouts_opaque_links_specials() {
        let data = tar_of(&[
            (b"./", T::Directory, b""),
            (b"./etc/", T::Directory, b""),
            (b"./etc/os-release", T::Regular, b"ID=debian\n"),
            (b"app/config/.wh.old_credentials.json", T::Regular, b""),
            (b"usr/share/.wh..wh..opq", T::Regular, b""),
            (b".wh..wh.plnk", T::Directory, b""),
            (b"dev/mem", T::Char, b""),
            (b"tmp/fifo", T::Fifo, b""),
            (b"../../escape.txt", T::Regular, b"x"),
            (b"/abs-escape.txt", T::Regular, b"y"),
        ]);
        let (s, r) = set(|_| true);
        let idx = walk_layer(&data[..], "sha256:aa", 3, &s, &WalkOptions::default()).unwrap();
        assert_eq!(idx.whiteouts, vec!["app/config/old_credentials.json"]);
        assert_eq!(idx.opaque_dirs, vec!["usr/share"]);
        assert_eq!(idx.specials, vec!["dev/mem", "tmp/fifo"]);
        assert_eq!(idx.files, ["etc/os-release", "escape.txt", "abs-escape.txt"].into_iter().collect());
        assert_eq!(idx.dirs, ["etc", ".wh..wh.plnk"].into_iter().collect());
        assert!(idx.findings.warnings.iter().any(|w| w.contains("climbs above") && w.contains("/escape.txt")));
        assert!(idx.findings.warnings.iter().any(|w| w == "saw /etc/os-release"));
        let got: Vec<_> = seen(r).into_iter().map(|s| s.0).collect();
        assert_eq!(got, vec!["etc/os-release", "escape.txt", "abs-escape.txt"]);
        assert_eq!(idx.entries, 10);
        // The walk stops at the end-of-archive block; trailing padding is not read.
        assert!(idx.bytes <= data.len() as u64 && idx.bytes >= data.len() as u64 - 1024);
    }

    #[test]
    fn links_are_recorded_not_followed() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(T::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "etc/os-release", "../usr/lib/os-release").unwrap();
        let mut h = header(b"hardlink-outside", T::Link, 0);
        h.as_old_mut().linkname[..21].copy_from_slice(b"../../../../etc/shado");
        h.set_cksum();
        b.append(&h, &[][..]).unwrap();
        let data = b.into_inner().unwrap();
        let (s, r) = set(|_| true);
        let idx = walk_layer(&data[..], "d", 0, &s, &WalkOptions::default()).unwrap();
        assert_eq!(idx.symlinks, vec![LinkRecord { path: "etc/os-release".into(), target: "../usr/lib/os-release".into() }]);
        assert_eq!(idx.hardlinks, vec![LinkRecord { path: "hardlink-outside".into(), target: "etc/shado".into() }]);
        assert!(idx.findings.warnings.iter().any(|w| w.contains("points above the image root")));
        assert!(seen(r).is_empty());
    }

    #[test]
    fn per_file_cap_truncates_and_budgets_hold() {
        let big = vec![0u8; 10_000];
        let data = tar_of(&[(b"big", T::Regular, &big), (b"small", T::Regular, b"abc")]);
        let (s, r) = set(|_| true);
        let opts = WalkOptions { max_file_size: 1000, ..Default::default() };
        let idx = walk_layer(&data[..], "d", 0, &s, &opts).unwrap();
        assert_eq!(seen(r), vec![("big".into(), 1000, true), ("small".into(), 3, false)]);
        assert!(!idx.partial);

        let (s, r) = set(|_| true);
        let budget = ReadBudget::new(500);
        let opts = WalkOptions { image_budget: Some(budget.clone()), ..Default::default() };
        let idx = walk_layer(&data[..], "d", 0, &s, &opts).unwrap();
        assert_eq!(seen(r), vec![("big".into(), 500, true)]);
        assert_eq!(budget.remaining(), 0);
        assert!(idx.partial);
        assert_eq!(idx.files, ["big", "small"].into_iter().collect());
    }

    #[test]
    fn entry_and_size_limits_stop_with_warning() {
        let data = tar_of(&[(b"a", T::Regular, b"1"), (b"b", T::Regular, b"2"), (b"c", T::Regular, b"3")]);
        let (s, _) = set(|_| false);
        let idx = walk_layer(&data[..], "d", 0, &s, &WalkOptions { max_entries: 2, ..Default::default() }).unwrap();
        assert_eq!(idx.files, ["a", "b"].into_iter().collect());
        assert!(idx.partial);
        let idx = walk_layer(&data[..], "d", 0, &s, &WalkOptions { max_layer_size: 1024, ..Default::default() }).unwrap();
        assert!(idx.partial);
        assert!(idx.files.len() < 3);
        // A walk that keeps too many entries by name stops, partial.
        let fifos: Vec<(String, T)> = (0..5).map(|i| (format!("p{i}"), T::Fifo)).chain([("f".to_string(), T::Regular)]).collect();
        let entries: Vec<(&[u8], T, &[u8])> = fifos.iter().map(|(n, k)| (n.as_bytes(), *k, &b""[..])).collect();
        let data = tar_of(&entries);
        let idx = walk_layer(&data[..], "d", 0, &s, &WalkOptions { max_named_paths: 3, ..Default::default() }).unwrap();
        assert!(idx.partial);
        assert_eq!(idx.specials.len(), 3);
        assert!(!idx.files.contains("f"));
        assert!(idx.findings.warnings.iter().any(|w| w.contains("more than 3 links")), "{:?}", idx.findings.warnings);
    }

    #[test]
    fn warnings_are_capped() {
        let names: Vec<String> = (0..MAX_WARNINGS + 500).map(|i| format!("../x{i}")).collect();
        let entries: Vec<(&[u8], T, &[u8])> = names.iter().map(|n| (n.as_bytes(), T::Regular, &b""[..])).collect();
        let (s, _) = set(|_| false);
        let idx = walk_layer(&tar_of(&entries)[..], "d", 0, &s, &WalkOptions::default()).unwrap();
        assert_eq!(idx.files.len(), MAX_WARNINGS + 500);
        let w = &idx.findings.warnings;
        assert_eq!(w.len(), MAX_WARNINGS + 1);
        assert_eq!(w.last().map(String::as_str), Some("500 more warnings not kept"));
    }

    #[test]
    fn analyzer_errors_and_panics_are_warnings() {
        let data = tar_of(&[(b"p", T::Regular, b"boom"), (b"e", T::Regular, b"bad"), (b"ok", T::Regular, b"fine")]);
        let (s, r) = set(|_| true);
        let idx = walk_layer(&data[..], "d", 0, &s, &WalkOptions::default()).unwrap();
        assert_eq!(seen(r).len(), 3);
        let w = &idx.findings.warnings;
        assert!(w.iter().any(|w| w.contains("panicked on /p")), "{w:?}");
        assert!(w.iter().any(|w| w.starts_with("recorder: e: bad")), "{w:?}");
        assert!(w.iter().any(|w| w == "saw /ok"));
    }

    #[test]
    fn long_pax_names_and_deep_paths() {
        let deep = "d/".repeat(300) + "bottom.txt";
        let mut b = tar::Builder::new(Vec::new());
        b.append_pax_extensions([("path", deep.as_bytes())]).unwrap();
        b.append(&header(b"placeholder", T::Regular, 2), &b"hi"[..]).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(2);
        h.set_entry_type(T::Regular);
        b.append_data(&mut h, format!("gnu/{}", "x".repeat(300)), &b"yo"[..]).unwrap();
        let data = b.into_inner().unwrap();
        let (s, r) = set(|p| p.ends_with("bottom.txt") || p.starts_with("gnu/"));
        let idx = walk_layer(&data[..], "d", 0, &s, &WalkOptions::default()).unwrap();
        assert!(idx.files.contains(&deep));
        assert!(idx.files.contains(&format!("gnu/{}", "x".repeat(300))));
        assert_eq!(seen(r).len(), 2);
    }

    #[test]
    fn corrupt_tar_is_an_error() {
        let mut data = tar_of(&[(b"a", T::Regular, b"hello")]);
        data[148..156].copy_from_slice(b"0000000\0"); // break the header checksum
        let (s, _) = set(|_| true);
        let err = walk_layer(&data[..], "sha256:x", 0, &s, &WalkOptions::default()).unwrap_err();
        assert!(err.is_invalid_input(), "{err}");
    }

    /// Appends a warning per file; stateless or not, wanting every file or every other one.
    struct Echo {
        name: &'static str,
        stateless: bool,
        every: usize,
    }
    impl Analyzer for Echo {
        fn name(&self) -> &'static str {
            self.name
        }
        fn version(&self) -> u32 {
            1
        }
        fn wants(&self, path: &str, _: &FileMeta) -> bool {
            path.bytes().map(usize::from).sum::<usize>() % self.every == 0
        }
        fn analyze(&self, f: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
            if f.data.starts_with(b"boom") {
                panic!("analyzer bug");
            }
            out.warnings.push(format!("{} saw {} ({} bytes)", self.name, f.location.path, f.data.len()));
            Ok(())
        }
        fn stateless(&self) -> bool {
            self.stateless
        }
    }

    #[test]
    fn worker_threads_keep_the_one_thread_result_and_order() {
        let mut entries: Vec<(Vec<u8>, T, Vec<u8>)> = Vec::new();
        for i in 0..300usize {
            let data = match i % 37 {
                5 => b"boom".to_vec(),
                9 => vec![b'x'; 2000],
                _ => vec![b'y'; i * 7 % 500],
            };
            entries.push((format!("f/{i}").into_bytes(), T::Regular, data));
            if i % 41 == 0 {
                entries.push((format!("f/{i}/.wh..").into_bytes(), T::Regular, Vec::new()));
            }
        }
        let refs: Vec<(&[u8], T, &[u8])> = entries.iter().map(|(n, t, d)| (&n[..], *t, &d[..])).collect();
        let data = tar_of(&refs);
        let set = AnalyzerSet::new(vec![
            Box::new(Echo { name: "all", stateless: true, every: 1 }),
            Box::new(Echo { name: "some", stateless: false, every: 7 }),
            Box::new(Echo { name: "half", stateless: true, every: 2 }),
        ])
        .unwrap();
        let walk = |threads| {
            let opts = WalkOptions { max_file_size: 1000, threads, ..Default::default() };
            walk_layer(&data[..], "d", 0, &set, &opts).unwrap()
        };
        let one = walk(1);
        let w = &one.findings.warnings;
        assert!(w.iter().any(|w| w.contains("panicked on /f/5")), "{w:?}");
        assert!(w.iter().any(|w| w.contains("only the first 1000 analysed")), "{w:?}");
        assert!(w.iter().any(|w| w.starts_with("some saw")), "{w:?}");
        assert!(w.iter().any(|w| w.contains("names no file")), "{w:?}");
        for threads in [2, 3, 8] {
            assert_eq!(walk(threads), one, "threads = {threads}");
        }
    }

    /// Reports every file as a finding (warnings are capped), slower than the walker reads.
    struct Slow;
    impl Analyzer for Slow {
        fn name(&self) -> &'static str {
            "slow"
        }
        fn version(&self) -> u32 {
            1
        }
        fn wants(&self, _: &str, _: &FileMeta) -> bool {
            true
        }
        fn analyze(&self, f: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
            std::thread::sleep(std::time::Duration::from_micros(20));
            out.malware.push(model::MalwareFinding {
                signature: "seen".into(),
                source: "test".into(),
                severity: model::Severity::Low,
                location: f.location.clone(),
                archive_member: None,
                size: f.data.len() as u64,
                md5: String::new(),
                sha256: String::new(),
                deleted_in_layer: None,
            });
            Ok(())
        }
        fn stateless(&self) -> bool {
            true
        }
    }

    #[test]
    fn read_ahead_caps_keep_every_file_in_order() {
        // More files than may be in flight, then more bytes: the walker stops at each cap and
        // waits for the workers to drain half of what is in flight.
        let small = MAX_FILES_IN_FLIGHT as usize * 2 + 100;
        let big = usize::try_from(MAX_BYTES_IN_FLIGHT >> 20).unwrap() + 10;
        let mut entries: Vec<(Vec<u8>, T, Vec<u8>)> = Vec::new();
        for i in 0..small {
            entries.push((format!("s/{i}").into_bytes(), T::Regular, vec![b'x'; 1 + i % 3]));
        }
        for i in 0..big {
            entries.push((format!("b/{i}").into_bytes(), T::Regular, vec![b'y'; 1 << 20]));
        }
        let refs: Vec<(&[u8], T, &[u8])> = entries.iter().map(|(n, t, d)| (&n[..], *t, &d[..])).collect();
        let data = tar_of(&refs);
        let set = AnalyzerSet::new(vec![Box::new(Slow)]).unwrap();
        let walk = |threads| {
            let opts = WalkOptions { threads, ..Default::default() };
            walk_layer(&data[..], "d", 0, &set, &opts).unwrap()
        };
        let two = walk(2);
        let seen: Vec<(&str, u64)> = two.findings.malware.iter().map(|m| (m.location.path.as_str(), m.size)).collect();
        let want: Vec<(String, u64)> =
            entries.iter().map(|(n, _, d)| (format!("/{}", String::from_utf8_lossy(n)), d.len() as u64)).collect();
        assert_eq!(seen.len(), want.len());
        assert!(seen.iter().zip(&want).all(|(s, w)| s.0 == w.0 && s.1 == w.1));
        assert!(!two.partial && two.findings.warnings.is_empty(), "{:?}", two.findings.warnings);
        assert_eq!(walk(1), two);
    }
}
