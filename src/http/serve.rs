//! The listener's accept loop: HTTP/1.1 only (hyper), with the limits that keep a flood of
//! connections from costing the daemon its file descriptors (each open connection is one):
//!
//! - at most [`MAX_CONNECTIONS`] open at once; one more is accepted and closed at once;
//! - the request head must arrive within [`HEADER_READ_TIMEOUT`] (also between keep-alive
//!   requests), so half-sent headers do not hold a slot;
//! - a handler has [`REQUEST_DEADLINE`] to answer (else 503), and a connection lives at most
//!   [`CONNECTION_LIFETIME`], then finishes its request in flight (at most another
//!   [`REQUEST_DEADLINE`]) and is closed.
//!
//! With a TLS acceptor (the SCIM service's `tls_cert_file`), each connection's handshake must
//! also finish within [`HEADER_READ_TIMEOUT`], inside its connection slot.
//!
//! Refused connections and accept errors (such as "too many open files") are logged at most
//! once per [`WARN_EVERY`], with how many there were.

use super::guard::Reached;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long a client has to send a request's head (line and headers).
pub(super) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a handler has to answer.
pub(super) const REQUEST_DEADLINE: Duration = Duration::from_secs(30);
/// How long one connection is kept (keep-alive included).
pub(super) const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// Connections open at once; the unit's `LimitNOFILE=` leaves room for these and the daemon's own.
pub(super) const MAX_CONNECTIONS: usize = 256;
/// How often refused connections or accept errors are logged.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// Serves `router` on `listener` until `shutdown`, then waits (a bounded time) for open
/// connections to finish their request.
pub(super) async fn run(
    listener: TcpListener,
    router: axum::Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    run_tls(listener, router, None, shutdown).await
}

/// [`run`], with every connection first passing a TLS handshake when `tls` is given.
pub(super) async fn run_tls(
    listener: TcpListener,
    router: axum::Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let connections = TaskTracker::new();
    let (mut refused, mut errors) = (Warner::new(), Warner::new());
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                if let Some(n) = errors.count() {
                    tracing::warn!(error = %e, count = n, "The status page cannot accept connections.");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            if let Some(n) = refused.count() {
                tracing::warn!(
                    count = n,
                    limit = MAX_CONNECTIONS,
                    "The status page has too many open connections; new ones are closed."
                );
            }
            continue;
        };
        let Ok(local) = stream.local_addr() else { continue };
        let (router, shutdown, tls) = (router.clone(), shutdown.clone(), tls.clone());
        connections.spawn(async move {
            match tls {
                None => serve_one(stream, local, router, shutdown).await,
                Some(acceptor) => {
                    let handshake = tokio::time::timeout(HEADER_READ_TIMEOUT, acceptor.accept(stream)).await;
                    if let Ok(Ok(stream)) = handshake {
                        serve_one(stream, local, router, shutdown).await;
                    }
                }
            }
            drop(slot);
        });
    }
    connections.close();
    let _ = tokio::time::timeout(REQUEST_DEADLINE, connections.wait()).await;
    Ok(())
}

/// One connection, within its limits.
async fn serve_one<S>(
    stream: S,
    local: std::net::SocketAddr,
    router: axum::Router,
    shutdown: CancellationToken,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let inner = TowerToHyperService::new(router);
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(Reached(local));
        let answer = hyper::service::Service::call(&inner, req);
        async move {
            match tokio::time::timeout(REQUEST_DEADLINE, answer).await {
                Ok(answer) => answer,
                Err(_) => Ok::<Response<Body>, Infallible>(
                    (StatusCode::SERVICE_UNAVAILABLE, "the page took too long; try again\n").into_response(),
                ),
            }
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        () = tokio::time::sleep(CONNECTION_LIFETIME) => {}
        () = shutdown.cancelled() => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(REQUEST_DEADLINE, conn).await;
}

/// Counts events and says when to log them: the first, then at most once per [`WARN_EVERY`].
struct Warner {
    since_last: u64,
    last: Option<Instant>,
}

impl Warner {
    fn new() -> Self {
        Self { since_last: 0, last: None }
    }

    /// One more event; `Some(events since the last log)` when this one should be logged.
    fn count(&mut self) -> Option<u64> {
        self.since_last += 1;
        if self.last.is_some_and(|t| t.elapsed() < WARN_EVERY) {
            return None;
        }
        self.last = Some(Instant::now());
        Some(std::mem::take(&mut self.since_last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_are_ten_seconds_for_a_head_and_256_connections() {
        assert_eq!(HEADER_READ_TIMEOUT, Duration::from_secs(10));
        assert_eq!(MAX_CONNECTIONS, 256);
        assert!(REQUEST_DEADLINE < CONNECTION_LIFETIME);
    }

    #[test]
    fn a_flood_is_logged_once_with_its_count() {
        let mut w = Warner::new();
        assert_eq!(w.count(), Some(1));
        assert_eq!((0..999).filter_map(|_| w.count()).count(), 0);
        assert_eq!(w.since_last, 999);
    }
}
