//! TLS for the API: a PEM certificate chain and key, served with rustls (aws-lc-rs provider, TLS 1.2
//! and 1.3, ALPN `http/1.1`), reloadable while serving.
//!
//! The server config is built once around a certificate resolver that holds the current
//! chain and key; [`Tls::reload`] swaps them, so connections accepted afterwards get the new
//! certificate and open ones keep theirs. A reload that fails (unreadable file, bad PEM, key not
//! matching the certificate) changes nothing.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::{CryptoProvider, aws_lc_rs};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, ServerConfig};

/// Why a certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: no PEM CERTIFICATE block")]
    NoCertificate { path: PathBuf },
    #[error("{path}: bad PEM: {reason}")]
    Pem { path: PathBuf, reason: String },
    #[error("{path}: no PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC)")]
    NoKey { path: PathBuf },
    #[error("{key} does not fit {cert}: {reason}")]
    Key { cert: PathBuf, key: PathBuf, reason: String },
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// What was loaded, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    /// Certificates in the chain, leaf first.
    pub chain_len: usize,
    /// SHA-256 of the leaf certificate's DER, hex (what `openssl x509 -fingerprint -sha256` shows).
    pub leaf_sha256: String,
}

impl fmt::Display for CertSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} certificate(s), leaf SHA-256 {}", self.chain_len, self.leaf_sha256)
    }
}

/// The serving TLS state: the files, the current certificate, the acceptor.
pub struct Tls {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: Arc<CurrentCert>,
    acceptor: TlsAcceptor,
}

impl Tls {
    /// Loads the chain (`cert`: PEM, leaf first, then intermediates) and its key (`key`: PEM).
    pub fn load(cert: &Path, key: &Path) -> Result<Tls, TlsError> {
        let provider = Arc::new(aws_lc_rs::default_provider());
        let certified = load_certified_key(cert, key, &provider)?;
        let current = Arc::new(CurrentCert(RwLock::new(Arc::new(certified))));
        let mut config = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&current) as Arc<dyn ResolvesServerCert>);
        // The router speaks HTTP/1.1 only.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            cert_path: cert.to_path_buf(),
            key_path: key.to_path_buf(),
            provider,
            current,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// Reads both files again; on success new connections get the new certificate, on failure the
    /// current one stays.
    pub fn reload(&self) -> Result<CertSummary, TlsError> {
        let certified = load_certified_key(&self.cert_path, &self.key_path, &self.provider)?;
        let summary = summary(&certified);
        *self.current.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(certified);
        Ok(summary)
    }

    /// The certificate served now.
    pub fn summary(&self) -> CertSummary {
        summary(&self.current.0.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn acceptor(&self) -> TlsAcceptor {
        self.acceptor.clone()
    }

    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }
}

/// The resolver: every handshake gets the current certificate (no SNI selection).
#[derive(Debug)]
struct CurrentCert(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for CurrentCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0.read().unwrap_or_else(|p| p.into_inner())))
    }
}

fn summary(k: &CertifiedKey) -> CertSummary {
    let leaf = k.cert.first().map(|c| hex::encode(Sha256::digest(c.as_ref()))).unwrap_or_default();
    CertSummary { chain_len: k.cert.len(), leaf_sha256: leaf }
}

fn load_certified_key(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let read = |p: &Path| std::fs::read(p).map_err(|source| TlsError::Read { path: p.to_path_buf(), source });
    let pem_err = |p: &Path, e: rustls::pki_types::pem::Error| TlsError::Pem { path: p.to_path_buf(), reason: e.to_string() };

    let cert_pem = read(cert)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem).collect::<Result<Vec<_>, _>>().map_err(|e| pem_err(cert, e))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate { path: cert.to_path_buf() });
    }
    let key_pem = read(key)?;
    let key_der = match PrivateKeyDer::from_pem_slice(&key_pem) {
        Ok(k) => k,
        Err(rustls::pki_types::pem::Error::NoItemsFound) => return Err(TlsError::NoKey { path: key.to_path_buf() }),
        Err(e) => return Err(pem_err(key, e)),
    };
    let key_error = |e: rustls::Error| TlsError::Key { cert: cert.to_path_buf(), key: key.to_path_buf(), reason: e.to_string() };
    let certified = CertifiedKey::from_der(chain, key_der, provider).map_err(key_error)?;
    // from_der lets an undeterminable match through; aws-lc-rs keys always expose their public key.
    certified.keys_match().map_err(key_error)?;
    Ok(certified)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::TlsConnector;
    use tokio_rustls::rustls::pki_types::ServerName;
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};

    use super::*;

    fn data(name: &str) -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/tls")).join(name)
    }

    #[test]
    fn loads_chain_and_keys_of_each_format() {
        let t = Tls::load(&data("chain.pem"), &data("chain.key")).unwrap();
        assert_eq!(t.summary().chain_len, 2, "leaf and intermediate");
        let o = Tls::load(&data("other.pem"), &data("other.key")).unwrap();
        assert_eq!(o.summary().chain_len, 1);
        assert_ne!(t.summary().leaf_sha256, o.summary().leaf_sha256);
        assert_eq!(t.summary().leaf_sha256.len(), 64);
    }

    /// The serving state's `Debug` (the resolver holds the signing key) shows no key material.
    #[test]
    fn debug_shows_no_key_material() {
        let t = Tls::load(&data("chain.pem"), &data("chain.key")).unwrap();
        let shown = format!("{:?}", t.current);
        let der = PrivateKeyDer::from_pem_file(data("chain.key")).unwrap();
        let secret = der.secret_der();
        // As a byte list, as hex, and as the PEM's base64 lines.
        let list = format!("{:?}", &secret[..24]);
        let list = &list[1..list.len() - 1];
        assert!(!shown.contains(list) && !shown.contains(&hex::encode(&secret[..16])), "{shown}");
        let pem = std::fs::read_to_string(data("chain.key")).unwrap();
        assert!(pem.lines().filter(|l| !l.starts_with("-----")).all(|l| !shown.contains(l)), "{shown}");
        assert!(shown.contains("CurrentCert"), "{shown}");
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let err = |c: &str, k: &str| Tls::load(&data(c), &data(k)).err().expect("must fail").to_string();
        let e = err("missing.pem", "chain.key");
        assert!(e.contains("missing.pem") && e.contains("reading"), "{e}");
        let e = err("chain.key", "chain.key");
        assert!(e.contains("no PEM CERTIFICATE"), "{e}");
        let e = err("chain.pem", "chain.pem");
        assert!(e.contains("no PEM private key"), "{e}");
        let e = err("chain.pem", "other.key");
        assert!(e.contains("does not fit"), "{e}");
    }

    /// Handshakes with a client trusting only the root CA: the intermediate must be served.
    async fn handshake(acceptor: TlsAcceptor) -> String {
        let mut roots = RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(data("ca.pem")).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        let client = ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut s = acceptor.accept(tcp).await.unwrap();
            s.write_all(b"hi").await.unwrap();
            s.shutdown().await.unwrap();
        });
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut s = TlsConnector::from(Arc::new(client)).connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
        let mut got = String::new();
        s.read_to_string(&mut got).await.unwrap();
        let leaf = s.get_ref().1.peer_certificates().unwrap()[0].clone();
        server.await.unwrap();
        assert_eq!(got, "hi");
        hex::encode(Sha256::digest(leaf.as_ref()))
    }

    #[tokio::test]
    async fn reload_swaps_for_new_connections_and_keeps_the_old_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::copy(data("chain.pem"), &cert).unwrap();
        std::fs::copy(data("chain.key"), &key).unwrap();
        let t = Tls::load(&cert, &key).unwrap();
        let first = t.summary().leaf_sha256;
        assert_eq!(handshake(t.acceptor()).await, first);

        // Only the certificate replaced: the key no longer fits, the old pair stays in service.
        std::fs::copy(data("other.pem"), &cert).unwrap();
        assert!(matches!(t.reload(), Err(TlsError::Key { .. })));
        assert_eq!(handshake(t.acceptor()).await, first);
        std::fs::write(&key, "garbage").unwrap();
        assert!(t.reload().is_err());
        assert_eq!(t.summary().leaf_sha256, first);

        std::fs::copy(data("other.key"), &key).unwrap();
        let second = t.reload().unwrap();
        assert_ne!(second.leaf_sha256, first);
        assert_eq!(handshake(t.acceptor()).await, second.leaf_sha256);
    }
}
