//! A reader that checks a blob's sha256 digest when the stream ends.

use sha2::{Digest, Sha256};
use std::io::Read;

pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Passes bytes through; at EOF fails with `InvalidData` if the content does not match
/// `expected` (`sha256:<hex>`; other algorithms are passed through unchecked).
pub(crate) struct VerifyingReader<R> {
    inner: R,
    hasher: Option<Sha256>,
    expected: String,
}

impl<R: Read> VerifyingReader<R> {
    pub(crate) fn new(inner: R, expected: &str) -> Self {
        let hasher = expected.starts_with("sha256:").then(Sha256::new);
        VerifyingReader { inner, hasher, expected: expected.to_string() }
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = self.hasher.as_mut() {
            if n == 0 && !buf.is_empty() {
                let actual = format!("sha256:{}", hex::encode(self.hasher.take().map(Sha256::finalize).unwrap_or_default()));
                if actual != self.expected {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("blob digest mismatch: expected {}, got {actual}", self.expected),
                    ));
                }
            } else {
                h.update(&buf[..n]);
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_mismatch_at_eof() {
        let data = b"layer bytes";
        let good = sha256_digest(data);
        let mut out = Vec::new();
        VerifyingReader::new(&data[..], &good).read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
        let bad = sha256_digest(b"other");
        let err = VerifyingReader::new(&data[..], &bad).read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    }
}
