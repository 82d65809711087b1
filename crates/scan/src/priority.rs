//! Scan work runs at a lower CPU priority than the API, so that on a busy machine the API (e.g.
//! `DescribeAssetImageScanStatus` polled during a scan) keeps answering promptly while scans take
//! what is left. `serve` gives the workers their own runtime whose threads (async workers and
//! the blocking pool alike) call [`lower_current_thread`] when they start; Linux applies `nice`
//! per thread.

/// Niceness of the scan workers' threads.
pub const WORKER_NICE: i32 = 10;

/// Raises the calling thread's niceness to at least `nice`; false when the kernel refused.
pub fn lower_current_thread(nice: i32) -> bool {
    // SAFETY: plain syscalls on the calling thread's own id; no memory is shared.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        *libc::__errno_location() = 0;
        let now = libc::getpriority(libc::PRIO_PROCESS, tid);
        if *libc::__errno_location() != 0 {
            return false;
        }
        now >= nice || libc::setpriority(libc::PRIO_PROCESS, tid, nice) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nice() -> i32 {
        // SAFETY: as above.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
    }

    #[test]
    fn only_the_calling_thread_gets_nicer() {
        let main = nice();
        let inner = std::thread::spawn(|| {
            assert!(lower_current_thread(WORKER_NICE));
            nice()
        })
        .join()
        .unwrap();
        assert_eq!(inner, main.max(WORKER_NICE));
        assert_eq!(nice(), main);
    }
}
