//! Encryption at rest of API secret keys.
//!
//! TC3-HMAC-SHA256 needs the plain secret on the server to recompute signatures, so a one-way hash is
//! impossible; instead each secret is sealed with XChaCha20-Poly1305 under a 256-bit key kept in
//! `DATA_DIR/master.key` (mode 0600, never in the database). A stolen database alone reveals no secret.
//! The SecretId is the AEAD associated data, so a ciphertext cannot be moved to another key's row.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::Error;

pub const MASTER_KEY_FILE: &str = "master.key";

pub(crate) struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    // The master key never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(****)")
    }
}

impl SecretBox {
    /// Loads `dir/master.key`, creating it (0600, 32 random bytes as hex) when absent.
    pub(crate) fn open_or_create(dir: &Path) -> Result<SecretBox, Error> {
        let path = dir.join(MASTER_KEY_FILE);
        let key = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let mode = std::fs::metadata(&path).map_err(Error::io(&path))?.permissions().mode();
                if mode & 0o077 != 0 {
                    return Err(master(&path, format!("permissions {:o} are too open; run chmod 600", mode & 0o777)));
                }
                let mut key = [0u8; 32];
                hex::decode_to_slice(text.trim(), &mut key).map_err(|_| master(&path, "expected 64 hex digits".into()))?;
                key
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = random_bytes()?;
                let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).map_err(Error::io(&path))?;
                writeln!(f, "{}", hex::encode(key)).and_then(|_| f.sync_all()).map_err(Error::io(&path))?;
                tracing::info!(path = %path.display(), "created master key for secrets at rest");
                key
            }
            Err(e) => return Err(Error::io(&path)(e)),
        };
        Ok(SecretBox { cipher: XChaCha20Poly1305::new(&key.into()) })
    }

    /// Returns (nonce, ciphertext).
    pub(crate) fn seal(&self, secret_id: &str, secret: &str) -> Result<(Vec<u8>, Vec<u8>), Error> {
        let nonce: [u8; 24] = random_bytes()?;
        let ct = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: secret.as_bytes(), aad: secret_id.as_bytes() })
            .map_err(|_| Error::Decrypt { secret_id: secret_id.to_string() })?;
        Ok((nonce.to_vec(), ct))
    }

    pub(crate) fn open(&self, secret_id: &str, nonce: &[u8], ciphertext: &[u8]) -> Result<String, Error> {
        let fail = || Error::Decrypt { secret_id: secret_id.to_string() };
        if nonce.len() != 24 {
            return Err(fail());
        }
        let plain =
            self.cipher.decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: secret_id.as_bytes() }).map_err(|_| fail())?;
        String::from_utf8(plain).map_err(|_| fail())
    }
}

fn master(path: &Path, reason: String) -> Error {
    Error::MasterKey { path: PathBuf::from(path), reason }
}

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| Error::Random(e.to_string()))?;
    Ok(b)
}

/// How a bearer token (Harbor's, an export link's) is stored: 256 random bits need no salt or
/// slow hash, and the SHA-256 is enough to look the token up.
pub(crate) fn token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// `len` random characters from [A-Za-z0-9] (rejection sampling: no modulo bias).
pub(crate) fn random_alnum(len: usize) -> Result<String, Error> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes::<64>()? {
            if b < 248 && out.len() < len {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_the_master_key() {
        let dir = tempfile::tempdir().unwrap();
        let b = SecretBox::open_or_create(dir.path()).unwrap();
        let key = std::fs::read_to_string(dir.path().join(MASTER_KEY_FILE)).unwrap();
        let shown = format!("{b:?}");
        assert_eq!(shown, "SecretBox(****)");
        assert!(!shown.contains(key.trim()));
    }

    #[test]
    fn seal_open_round_trip_and_binding() {
        let dir = tempfile::tempdir().unwrap();
        let b = SecretBox::open_or_create(dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(MASTER_KEY_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let (n, ct) = b.seal("AKID1", "s3cret").unwrap();
        assert!(!ct.windows(6).any(|w| w == b"s3cret"));
        assert_eq!(b.open("AKID1", &n, &ct).unwrap(), "s3cret");
        assert!(b.open("AKID2", &n, &ct).is_err(), "AAD binds the secret to its SecretId");
        // Reopening reads the same key.
        let b2 = SecretBox::open_or_create(dir.path()).unwrap();
        assert_eq!(b2.open("AKID1", &n, &ct).unwrap(), "s3cret");
        // A world-readable key file is refused.
        std::fs::set_permissions(dir.path().join(MASTER_KEY_FILE), std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(SecretBox::open_or_create(dir.path()), Err(Error::MasterKey { .. })));
    }

    #[test]
    fn alnum() {
        let s = random_alnum(32).unwrap();
        assert_eq!(s.len(), 32);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(s, random_alnum(32).unwrap());
    }
}
