//! A reader held to a byte rate (a registry's `SpeedLimit`): after each read it sleeps until
//! the bytes read so far fit the rate. Blocking, like the layer readers it wraps.

use std::io::Read;
use std::time::{Duration, Instant};

pub(crate) struct Throttled<R> {
    inner: R,
    bytes_per_sec: u64,
    start: Instant,
    read: u64,
}

impl<R: Read> Throttled<R> {
    pub(crate) fn new(inner: R, bytes_per_sec: u64) -> Self {
        Throttled { inner, bytes_per_sec: bytes_per_sec.max(1), start: Instant::now(), read: 0 }
    }
}

impl<R: Read> Read for Throttled<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // Reads of at most a tenth of a second's worth keep the pace smooth.
        let cap = usize::try_from(self.bytes_per_sec / 10).unwrap_or(usize::MAX).max(1);
        let n = buf.len().min(cap);
        let got = self.inner.read(&mut buf[..n])?;
        self.read += got as u64;
        let due = Duration::from_secs_f64(self.read as f64 / self.bytes_per_sec as f64);
        if let Some(wait) = due.checked_sub(self.start.elapsed()) {
            std::thread::sleep(wait);
        }
        Ok(got)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_the_rate() {
        let data = vec![7u8; 300_000];
        let start = Instant::now();
        let mut out = Vec::new();
        Throttled::new(&data[..], 1_000_000).read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
        // 0.3 MB at 1 MB/s: at least 0.3 s (a lower bound; no upper bound on a busy machine).
        assert!(start.elapsed() >= Duration::from_millis(290), "{:?}", start.elapsed());
    }
}
