//! Where the router meets the network: plain TCP or TLS, the client address the per-address limit
//! reads ([`ClientAddr`]), graceful shutdown.
//!
//! TLS uses axum's own `serve` with a [`Listener`] that hands over finished handshakes: handshakes
//! run concurrently in their own tasks (at most [`MAX_HANDSHAKES`] at once, each within
//! [`HANDSHAKE_TIMEOUT`]), so a slow or silent client never holds up the accept loop. This is why
//! no extra server crate (axum-server, hyper-util's builder loop) is needed: tokio-rustls, already in
//! the tree through reqwest, plus ~60 lines here.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::tls::Tls;

/// A handshake not finished in this time is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; further connections wait in the kernel's accept queue.
pub const MAX_HANDSHAKES: usize = 512;

/// The TCP peer of a request, as a request extension (`ConnectInfo<ClientAddr>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

impl Connected<IncomingStream<'_, TcpListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then finishes in-flight requests. With
/// `tls`, every connection is TLS; without it, plain HTTP, with a warning unless on loopback.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<Tls>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let svc = app.into_make_service_with_connect_info::<ClientAddr>();
    match tls {
        None => {
            if !local.ip().is_loopback() {
                tracing::warn!(
                    listen = %local,
                    "serving plain HTTP on a non-loopback address: keys' signatures and findings cross the network \
                     in the clear; use --tls-cert/--tls-key"
                );
            }
            axum::serve(listener, svc).with_graceful_shutdown(shutdown).await
        }
        Some(tls) => {
            tracing::info!(listen = %local, cert = %tls.cert_path().display(), summary = %tls.summary(), "TLS on");
            axum::serve(TlsListener::new(listener, tls.acceptor()), svc).with_graceful_shutdown(shutdown).await
        }
    }
}

/// Accepts TCP connections and yields them once their TLS handshake is done.
pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    accept_loop: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub fn new(listener: TcpListener, acceptor: TlsAcceptor) -> Self {
        let local = listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (tx, ready) = mpsc::channel(64);
        let accept_loop = tokio::spawn(accept_loop(listener, acceptor, tx));
        TlsListener { local, ready, accept_loop }
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

async fn accept_loop(mut listener: TcpListener, acceptor: TlsAcceptor, tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>) {
    let permits = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else { return };
        // TcpListener's Listener impl logs and retries accept errors (EMFILE…) itself.
        let (tcp, peer) = Listener::accept(&mut listener).await;
        let (acceptor, tx) = (acceptor.clone(), tx.clone());
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => {
                    // Fails only when the server is shutting down.
                    let _ = tx.send((stream, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept loop only ends when aborted by drop; never yield a connection then.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
