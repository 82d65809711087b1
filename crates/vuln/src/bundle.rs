//! Signed advisory bundles: every advisory source of a store in one file, for air-gapped
//! installs (`shipshape db bundle export` → `shipshape db import FILE --verify-key KEY.pub`).
//!
//! A bundle is a zip of
//! - `manifest.json`: format and version, creation time, the signing key's id (SHA-256 of the
//!   raw public key) and, per source: name, fingerprint, advisory count, payload file name,
//!   size and SHA-256;
//! - one payload per source, `NNNN.advisories.jsonl`: its advisories as stored, one JSON line
//!   each, ordered by id (read back by [`crate::import::AdvisoryLines`]);
//! - `manifest.sig`: the raw 64-byte Ed25519 signature over the exact bytes of `manifest.json`.
//!
//! [`read_bundle`] checks the signature, then every payload's size, hash and line count against
//! the signed manifest, and returns nothing unless all of it holds: the signature covers every
//! byte that reaches a store. Zip metadata (times, compression, CRCs) is unsigned and never
//! reaches a store, but a zip entry the manifest does not list is refused so that nothing
//! unchecked rides along.
//!
//! Keys: the private key is PKCS#8 v1 in PEM (`-----BEGIN PRIVATE KEY-----`, what
//! `openssl genpkey -algorithm ed25519` writes, so OpenSSL can inspect it); bare base64 of the
//! DER is accepted too. The public key is one line, `shipshape-ed25519 <base64 of 32 bytes>`.
//! Crypto is aws-lc-rs, the provider rustls already brings in (no second crypto library).
//!
//! Not here: files and their permissions (the CLI), the store.

use std::collections::HashSet;
use std::fmt;
use std::io::{Read, Seek, Write};

use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

use crate::import::{ADVISORY_LINES_SUFFIX, DataFile, SourceData};

/// `manifest.json`'s `format`.
pub const FORMAT: &str = "shipshape-advisory-bundle";
/// The manifest layout this build writes and reads; a reader refuses any other.
pub const VERSION: u32 = 1;
const MANIFEST: &str = "manifest.json";
const SIGNATURE: &str = "manifest.sig";
const SIGNATURE_LEN: usize = 64;
const PUBLIC_KEY_TAG: &str = "shipshape-ed25519";

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("not an Ed25519 private key (PKCS#8 PEM): {0}")]
    PrivateKey(String),
    #[error("not a public key (`{PUBLIC_KEY_TAG} <base64>`): {0}")]
    PublicKey(String),
    #[error("not a readable bundle: {0}")]
    Archive(String),
    #[error("unsigned: no {SIGNATURE} in the bundle")]
    Unsigned,
    #[error("the signature does not verify with key {key_id}{hint}")]
    BadSignature { key_id: String, hint: String },
    #[error("manifest: {0}")]
    Manifest(String),
    #[error("{file}: {reason}")]
    Payload { file: String, reason: String },
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("writing the bundle: {0}")]
    Write(String),
    #[error("key generation failed")]
    KeyGen,
}

/// Size caps for reading (and writing, so an export is always importable). The manifest's
/// declared sizes are checked against these before any payload is decompressed.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_manifest: u64,
    pub max_payload: u64,
    pub max_total: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        // Payloads stay in memory until the import (like any import); 1 GiB per source is
        // several times the largest OSV ecosystem as stored.
        Limits { max_manifest: 16 << 20, max_payload: 1 << 30, max_total: crate::import::MAX_BUNDLE_BYTES }
    }
}

/// An Ed25519 signing key.
pub struct SigningKey(Ed25519KeyPair);

/// An Ed25519 public key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey([u8; 32]);

impl SigningKey {
    pub fn generate() -> Result<SigningKey, BundleError> {
        Ed25519KeyPair::generate().map(SigningKey).map_err(|_| BundleError::KeyGen)
    }

    /// PKCS#8 PEM, or the bare base64 of the DER.
    pub fn from_pem(text: &str) -> Result<SigningKey, BundleError> {
        let text = text.trim();
        let b64: String = if text.starts_with("-----BEGIN") {
            let mut lines = text.lines().map(str::trim);
            let begin = lines.next().unwrap_or_default();
            if begin != "-----BEGIN PRIVATE KEY-----" {
                return Err(BundleError::PrivateKey(format!("expected an unencrypted PRIVATE KEY, found `{begin}`")));
            }
            lines.take_while(|l| !l.starts_with("-----END")).collect()
        } else {
            text.split_whitespace().collect()
        };
        let der = B64.decode(b64).map_err(|e| BundleError::PrivateKey(e.to_string()))?;
        Ed25519KeyPair::from_pkcs8(&der).map(SigningKey).map_err(|e| BundleError::PrivateKey(e.to_string()))
    }

    /// PKCS#8 v1 PEM (v1: what OpenSSL reads and writes for Ed25519).
    pub fn to_pem(&self) -> Result<String, BundleError> {
        let der = self.0.to_pkcs8v1().map_err(|_| BundleError::KeyGen)?;
        let b64 = B64.encode(der.as_ref());
        let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END PRIVATE KEY-----\n");
        Ok(pem)
    }

    pub fn public_key(&self) -> PublicKey {
        let mut raw = [0u8; 32];
        raw.copy_from_slice(self.0.public_key().as_ref());
        PublicKey(raw)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.public_key().key_id())
    }
}

impl PublicKey {
    /// `shipshape-ed25519 <base64>`; anything after the key on the line is a comment.
    pub fn parse(text: &str) -> Result<PublicKey, BundleError> {
        let mut fields = text.split_whitespace();
        if fields.next() != Some(PUBLIC_KEY_TAG) {
            return Err(BundleError::PublicKey(format!("does not start with `{PUBLIC_KEY_TAG}`")));
        }
        let raw = B64.decode(fields.next().unwrap_or_default()).map_err(|e| BundleError::PublicKey(e.to_string()))?;
        raw.try_into().map(PublicKey).map_err(|_| BundleError::PublicKey("not 32 bytes".into()))
    }

    /// The key file's line (with a newline).
    pub fn to_line(&self) -> String {
        format!("{self}\n")
    }

    /// SHA-256 of the raw public key, hex: names the key in manifests and messages.
    pub fn key_id(&self) -> String {
        hex::encode(Sha256::digest(self.0))
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, self.0).verify(msg, sig).is_ok()
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PUBLIC_KEY_TAG} {}", B64.encode(self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.key_id())
    }
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// RFC 3339, as the exporter's clock had it (informational).
    pub created: String,
    pub key_id: String,
    pub sources: Vec<ManifestSource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestSource {
    /// The store's source name, kept on import.
    pub name: String,
    /// The store's fingerprint, kept on import: an unchanged source is skipped there too.
    pub fingerprint: String,
    pub advisories: u64,
    pub file: String,
    pub size: u64,
    pub sha256: String,
}

/// A source's payload, verified.
#[derive(Debug, Clone)]
pub struct BundleSource {
    pub entry: ManifestSource,
    pub payload: Vec<u8>,
}

/// A bundle whose signature and payloads all checked out.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    pub manifest: Manifest,
    pub sources: Vec<BundleSource>,
}

impl VerifiedBundle {
    /// The sources for `Store::import_sources`, under their exported names and fingerprints.
    /// `display` prefixes file names in messages (the bundle's path).
    pub fn into_sources(self, display: &str) -> Vec<SourceData> {
        self.sources
            .into_iter()
            .map(|s| SourceData {
                // Not SourceData::new: its fingerprint would be over this payload, not the
                // exporter's data, and every re-import would count as a change.
                files: vec![DataFile { path: format!("{display}!{}", s.entry.file), data: s.payload }],
                name: s.entry.name,
                fingerprint: s.entry.fingerprint,
            })
            .collect()
    }
}

/// Writes a bundle source by source, advisory by advisory (memory stays bounded by one zip
/// entry's compressor, whatever the store's size).
pub struct BundleWriter<W: Write + Seek> {
    zip: zip::ZipWriter<W>,
    limits: Limits,
    sources: Vec<ManifestSource>,
    open: Option<(ManifestSource, Sha256)>,
    total: u64,
}

impl<W: Write + Seek> BundleWriter<W> {
    pub fn new(out: W) -> BundleWriter<W> {
        BundleWriter { zip: zip::ZipWriter::new(out), limits: Limits::default(), sources: Vec::new(), open: None, total: 0 }
    }

    /// Starts the next source's payload (closing the previous one).
    pub fn begin_source(&mut self, name: &str, fingerprint: &str) -> Result<(), BundleError> {
        self.close_source();
        if self.sources.iter().any(|s| s.name == name) {
            return Err(BundleError::Write(format!("source {name} given twice")));
        }
        let file = format!("{:04}{ADVISORY_LINES_SUFFIX}", self.sources.len() + 1);
        let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        self.zip.start_file(file.as_str(), options).map_err(|e| BundleError::Write(e.to_string()))?;
        let entry = ManifestSource {
            name: name.to_owned(),
            fingerprint: fingerprint.to_owned(),
            advisories: 0,
            file,
            size: 0,
            sha256: String::new(),
        };
        self.open = Some((entry, Sha256::new()));
        Ok(())
    }

    /// Appends one advisory's stored JSON to the current source.
    pub fn add_advisory(&mut self, json: &str) -> Result<(), BundleError> {
        let Some((entry, hasher)) = self.open.as_mut() else {
            return Err(BundleError::Write("advisory outside a source".into()));
        };
        // One line per advisory: stored JSON is compact, so a newline means corrupt data.
        if json.contains('\n') {
            return Err(BundleError::Write(format!("{}: advisory JSON spans lines", entry.name)));
        }
        let len = json.len() as u64 + 1;
        if entry.size + len > self.limits.max_payload || self.total + len > self.limits.max_total {
            return Err(BundleError::TooLarge(format!(
                "{}: over {} bytes per source or {} in all (the import limits)",
                entry.name, self.limits.max_payload, self.limits.max_total
            )));
        }
        for part in [json.as_bytes(), b"\n"] {
            self.zip.write_all(part).map_err(|e| BundleError::Write(e.to_string()))?;
            hasher.update(part);
        }
        entry.size += len;
        entry.advisories += 1;
        self.total += len;
        Ok(())
    }

    fn close_source(&mut self) {
        if let Some((mut entry, hasher)) = self.open.take() {
            entry.sha256 = hex::encode(hasher.finalize());
            self.sources.push(entry);
        }
    }

    /// Writes and signs the manifest; returns the output and the manifest written.
    pub fn finish(mut self, key: &SigningKey, created: &str) -> Result<(W, Manifest), BundleError> {
        self.close_source();
        let manifest = Manifest {
            format: FORMAT.into(),
            version: VERSION,
            created: created.into(),
            key_id: key.public_key().key_id(),
            sources: self.sources,
        };
        let bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| BundleError::Write(e.to_string()))?;
        let sig = key.0.sign(&bytes);
        let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let w = |e: std::io::Error| BundleError::Write(e.to_string());
        let z = |e: zip::result::ZipError| BundleError::Write(e.to_string());
        self.zip.start_file(MANIFEST, options).map_err(z)?;
        self.zip.write_all(&bytes).map_err(w)?;
        self.zip.start_file(SIGNATURE, options).map_err(z)?;
        self.zip.write_all(sig.as_ref()).map_err(w)?;
        Ok((self.zip.finish().map_err(z)?, manifest))
    }
}

/// Whether `r` is a bundle (a zip with a `manifest.json` beside a signature or a payload), so
/// that one is never imported as a plain zip of advisory files, unverified.
pub fn looks_like_bundle<R: Read + Seek>(r: R) -> bool {
    let Ok(z) = zip::ZipArchive::new(r) else {
        return false;
    };
    z.file_names().any(|n| n == MANIFEST) && z.file_names().any(|n| n == SIGNATURE || n.ends_with(ADVISORY_LINES_SUFFIX))
}

/// Reads and verifies a bundle with the default [`Limits`].
pub fn read_bundle<R: Read + Seek>(r: R, key: &PublicKey) -> Result<VerifiedBundle, BundleError> {
    read_bundle_with(r, key, Limits::default())
}

/// Reads and verifies a bundle: signature over the manifest, then each payload against it.
pub fn read_bundle_with<R: Read + Seek>(r: R, key: &PublicKey, limits: Limits) -> Result<VerifiedBundle, BundleError> {
    let arch = |e: zip::result::ZipError| BundleError::Archive(e.to_string());
    let mut z = zip::ZipArchive::new(r).map_err(arch)?;
    // Two central-directory records of one name collapse into one entry in the zip crate (the
    // last wins); whichever is read is the one verified below, so a duplicate cannot smuggle
    // unverified bytes in.
    let sig = match z.by_name(SIGNATURE) {
        Ok(mut f) => read_capped(&mut f, SIGNATURE_LEN as u64, SIGNATURE)?,
        Err(zip::result::ZipError::FileNotFound) => return Err(BundleError::Unsigned),
        Err(e) => return Err(arch(e)),
    };
    let manifest_bytes = match z.by_name(MANIFEST) {
        Ok(mut f) => read_capped(&mut f, limits.max_manifest, MANIFEST)?,
        Err(zip::result::ZipError::FileNotFound) => {
            return Err(BundleError::Archive(format!("no {MANIFEST}")));
        }
        Err(e) => return Err(arch(e)),
    };
    if sig.len() != SIGNATURE_LEN || !key.verify(&manifest_bytes, &sig) {
        // The unverified manifest only feeds the hint ("signed by another key").
        let hint = serde_json::from_slice::<Manifest>(&manifest_bytes)
            .ok()
            .filter(|m| m.key_id != key.key_id())
            .map(|m| format!(" (the bundle names key {})", m.key_id))
            .unwrap_or_else(|| " (tampered, or signed by another key)".into());
        return Err(BundleError::BadSignature { key_id: key.key_id(), hint });
    }
    // From here on every byte parsed is signed.
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes).map_err(|e| BundleError::Manifest(e.to_string()))?;
    check_manifest(&manifest, key, limits)?;
    let listed: HashSet<&str> = manifest.sources.iter().map(|s| s.file.as_str()).chain([MANIFEST, SIGNATURE]).collect();
    if let Some(extra) = z.file_names().find(|n| !listed.contains(n)) {
        return Err(BundleError::Archive(format!("entry {extra} is not in the manifest")));
    }
    let mut sources = Vec::with_capacity(manifest.sources.len());
    for entry in &manifest.sources {
        let bad = |reason: String| BundleError::Payload { file: entry.file.clone(), reason };
        let mut f = z.by_name(&entry.file).map_err(|e| bad(e.to_string()))?;
        let payload = read_capped(&mut f, entry.size, &entry.file).map_err(|e| match e {
            BundleError::TooLarge(_) => bad(format!("expands past the {} bytes the manifest says", entry.size)),
            e => e,
        })?;
        if payload.len() as u64 != entry.size {
            return Err(bad(format!("{} bytes, the manifest says {}", payload.len(), entry.size)));
        }
        if hex::encode(Sha256::digest(&payload)) != entry.sha256 {
            return Err(bad("SHA-256 does not match the manifest".into()));
        }
        let lines = payload.iter().filter(|&&b| b == b'\n').count() as u64;
        if lines != entry.advisories {
            return Err(bad(format!("{lines} advisories, the manifest says {}", entry.advisories)));
        }
        sources.push(BundleSource { entry: entry.clone(), payload });
    }
    Ok(VerifiedBundle { manifest, sources })
}

fn check_manifest(m: &Manifest, key: &PublicKey, limits: Limits) -> Result<(), BundleError> {
    let bad = |s: String| Err(BundleError::Manifest(s));
    if m.format != FORMAT {
        return bad(format!("format `{}`, expected `{FORMAT}`", m.format));
    }
    if m.version != VERSION {
        return bad(format!("format version {} (this build reads {VERSION})", m.version));
    }
    if m.key_id != key.key_id() {
        return bad(format!("names key {}, signed by {}", m.key_id, key.key_id()));
    }
    let mut names = HashSet::new();
    let mut files = HashSet::new();
    let mut total = 0u64;
    for s in &m.sources {
        if !names.insert(s.name.as_str()) || !files.insert(s.file.as_str()) {
            return bad(format!("source {} or file {} listed twice", s.name, s.file));
        }
        if s.file.contains('/') || !s.file.ends_with(ADVISORY_LINES_SUFFIX) {
            return bad(format!("payload name {} is not NNNN{ADVISORY_LINES_SUFFIX}", s.file));
        }
        if s.size > limits.max_payload {
            return Err(BundleError::TooLarge(format!("{}: {} bytes (limit {})", s.file, s.size, limits.max_payload)));
        }
        total = total.saturating_add(s.size);
    }
    if total > limits.max_total {
        return Err(BundleError::TooLarge(format!("payloads total {total} bytes (limit {})", limits.max_total)));
    }
    Ok(())
}

/// Reads at most `cap` bytes; more is an error (bounds a zip bomb before it expands).
fn read_capped(r: &mut dyn Read, cap: u64, name: &str) -> Result<Vec<u8>, BundleError> {
    let mut buf = Vec::new();
    r.take(cap + 1).read_to_end(&mut buf).map_err(|e| BundleError::Archive(format!("{name}: {e}")))?;
    if buf.len() as u64 > cap {
        return Err(BundleError::TooLarge(format!("{name}: more than {cap} bytes")));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn adv(id: &str) -> String {
        format!(r#"{{"id":"{id}","source":"s","affected":[{{"ecosystem":"PyPI","name":"pkg"}}]}}"#)
    }

    fn sample(key: &SigningKey) -> Vec<u8> {
        let mut w = BundleWriter::new(Cursor::new(Vec::new()));
        w.begin_source("vulndata/osv/PyPI", "fp1").unwrap();
        for i in 0..20 {
            w.add_advisory(&adv(&format!("PYSEC-{i}"))).unwrap();
        }
        w.begin_source("vulndata/osv/npm", "fp2").unwrap();
        w.add_advisory(&adv("GHSA-1")).unwrap();
        w.finish(key, "2026-01-01T00:00:00Z").unwrap().0.into_inner()
    }

    /// A zip of the given entries, written as-is.
    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            z.start_file(*name, SimpleFileOptions::default()).unwrap();
            z.write_all(data).unwrap();
        }
        z.finish().unwrap().into_inner()
    }

    /// The bundle's entries, decompressed.
    fn entries(bundle: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut z = zip::ZipArchive::new(Cursor::new(bundle)).unwrap();
        (0..z.len())
            .map(|i| {
                let mut f = z.by_index(i).unwrap();
                let mut data = Vec::new();
                f.read_to_end(&mut data).unwrap();
                (f.name().to_owned(), data)
            })
            .collect()
    }

    /// `bundle` with one entry's content replaced by `edit` of it.
    fn rewrite(bundle: &[u8], name: &str, edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
        let mut es = entries(bundle);
        let e = es.iter_mut().find(|(n, _)| n == name).unwrap();
        edit(&mut e.1);
        zip_of(&es.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect::<Vec<_>>())
    }

    fn read(bundle: &[u8], key: &PublicKey) -> Result<VerifiedBundle, BundleError> {
        read_bundle(Cursor::new(bundle), key)
    }

    #[test]
    fn round_trip_keeps_names_fingerprints_and_advisories() {
        let key = SigningKey::generate().unwrap();
        let bundle = sample(&key);
        assert!(looks_like_bundle(Cursor::new(&bundle)));
        let v = read(&bundle, &key.public_key()).unwrap();
        assert_eq!(v.manifest.key_id, key.public_key().key_id());
        let sources = v.into_sources("b.bundle");
        assert_eq!(sources.len(), 2);
        assert_eq!((sources[0].name.as_str(), sources[0].fingerprint.as_str()), ("vulndata/osv/PyPI", "fp1"));
        let parsed = sources[0].parse();
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        assert_eq!(parsed.advisories.len(), 20);
        assert!(parsed.advisories.iter().all(|a| a.source == "vulndata/osv/PyPI"));
        assert_eq!(sources[1].parse().advisories[0].id, "GHSA-1");
    }

    #[test]
    fn keys_round_trip_through_their_files() {
        let key = SigningKey::generate().unwrap();
        let pem = key.to_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let again = SigningKey::from_pem(&pem).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        let bare: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert_eq!(SigningKey::from_pem(&bare).unwrap().public_key(), key.public_key());
        let line = key.public_key().to_line();
        assert!(line.starts_with("shipshape-ed25519 "));
        assert_eq!(PublicKey::parse(&line).unwrap(), key.public_key());
        assert!(PublicKey::parse("ssh-ed25519 AAAA").is_err());
        assert!(SigningKey::from_pem("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----").is_err());
    }

    #[test]
    fn changed_payload_manifest_or_signature_is_refused() {
        let key = SigningKey::generate().unwrap();
        let pk = key.public_key();
        let bundle = sample(&key);
        let flip_middle = |d: &mut Vec<u8>| {
            let i = d.len() / 2;
            d[i] ^= 1;
        };
        let payload = rewrite(&bundle, "0001.advisories.jsonl", flip_middle);
        assert!(matches!(read(&payload, &pk), Err(BundleError::Payload { .. })), "{:?}", read(&payload, &pk));
        let manifest = rewrite(&bundle, MANIFEST, flip_middle);
        assert!(matches!(read(&manifest, &pk), Err(BundleError::BadSignature { .. })));
        let sig = rewrite(&bundle, SIGNATURE, flip_middle);
        assert!(matches!(read(&sig, &pk), Err(BundleError::BadSignature { .. })));
        // A dropped advisory (payload and manifest both consistent, but not re-signed).
        let short = rewrite(&bundle, "0002.advisories.jsonl", |d| d.clear());
        assert!(read(&short, &pk).is_err());
    }

    /// Flipping any single byte of the file either makes it unreadable or changes nothing
    /// that reaches a store (zip timestamps and the like).
    #[test]
    fn every_byte_that_matters_is_covered() {
        let key = SigningKey::generate().unwrap();
        let pk = key.public_key();
        let bundle = sample(&key);
        let good = read(&bundle, &pk).unwrap();
        let content = |v: &VerifiedBundle| (v.manifest.clone(), v.sources.iter().map(|s| s.payload.clone()).collect::<Vec<_>>());
        for i in 0..bundle.len() {
            let mut b = bundle.clone();
            b[i] ^= 0x20;
            if let Ok(v) = read(&b, &pk) {
                assert_eq!(content(&v), content(&good), "flipped byte {i} changed verified content");
            }
        }
    }

    #[test]
    fn wrong_key_is_refused_and_named() {
        let key = SigningKey::generate().unwrap();
        let other = SigningKey::generate().unwrap().public_key();
        let err = read(&sample(&key), &other).unwrap_err();
        assert!(err.to_string().contains(&key.public_key().key_id()), "{err}");
    }

    #[test]
    fn unsigned_or_padded_bundles_are_refused() {
        let key = SigningKey::generate().unwrap();
        let pk = key.public_key();
        let bundle = sample(&key);
        let unsigned: Vec<(String, Vec<u8>)> = entries(&bundle).into_iter().filter(|(n, _)| n != SIGNATURE).collect();
        let unsigned = zip_of(&unsigned.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect::<Vec<_>>());
        assert!(looks_like_bundle(Cursor::new(&unsigned)));
        assert!(matches!(read(&unsigned, &pk), Err(BundleError::Unsigned)));
        let mut es = entries(&bundle);
        es.push(("extra.advisories.jsonl".into(), adv("EVIL-1").into_bytes()));
        let padded = zip_of(&es.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect::<Vec<_>>());
        assert!(matches!(read(&padded, &pk), Err(BundleError::Archive(_))));
        assert!(matches!(read(b"not a zip", &pk), Err(BundleError::Archive(_))));
        assert!(!looks_like_bundle(Cursor::new(zip_of(&[("a/GHSA-1.json", b"{}")]))));
    }

    #[test]
    fn oversize_entries_are_refused() {
        let key = SigningKey::generate().unwrap();
        let pk = key.public_key();
        let bundle = sample(&key);
        let small = |max_payload, max_total| Limits { max_manifest: 1 << 20, max_payload, max_total };
        let too_big = read_bundle_with(Cursor::new(&bundle), &pk, small(100, 1 << 20));
        assert!(matches!(too_big, Err(BundleError::TooLarge(_))), "{too_big:?}");
        let too_much = read_bundle_with(Cursor::new(&bundle), &pk, small(1 << 20, 100));
        assert!(matches!(too_much, Err(BundleError::TooLarge(_))), "{too_much:?}");
        let huge_manifest = read_bundle_with(Cursor::new(&bundle), &pk, Limits { max_manifest: 10, ..Limits::default() });
        assert!(matches!(huge_manifest, Err(BundleError::TooLarge(_))));
        // A payload that expands past its signed size stops at the size, not at the end.
        let bomb = rewrite(&bundle, "0002.advisories.jsonl", |d| d.extend(std::iter::repeat_n(b' ', 1 << 20)));
        assert!(matches!(read(&bomb, &pk), Err(BundleError::Payload { .. })));
    }
}
