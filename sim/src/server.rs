//! The accept loop: one hyper HTTP/1.1 connection task per socket, each with a kill switch so a
//! handler can close its connection without answering (drop and reset faults), and a graceful
//! stop that finishes in-flight requests.

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Closes the request's connection, with no bytes written, when triggered.
#[derive(Clone, Default)]
pub(crate) struct KillSwitch(Arc<Notify>);

impl KillSwitch {
    pub fn trigger(&self) {
        self.0.notify_one();
    }
}

/// Serves `router` on `listener` until `stop` turns true, then drains connections.
pub(crate) async fn run(listener: TcpListener, router: Router, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    let for_connections = stop.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    connections.spawn(serve_connection(stream, router.clone(), for_connections.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "simulator accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stopped(&mut stop) => break,
        }
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(std::time::Duration::from_secs(5), drain).await.is_err() {
        connections.abort_all();
    }
}

async fn serve_connection(stream: tokio::net::TcpStream, router: Router, mut stop: watch::Receiver<bool>) {
    let kill = KillSwitch::default();
    let switch = kill.clone();
    let svc = router.map_request(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(switch.clone());
        req
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc));
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => break,
            // Dropping `conn` closes the socket without an answer.
            _ = kill.0.notified() => break,
            _ = stopped(&mut stop), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Resolves once the stop flag is true (or its sender is gone).
pub(crate) async fn stopped(rx: &mut watch::Receiver<bool>) {
    loop {
        let stop = *rx.borrow_and_update();
        if stop || rx.changed().await.is_err() {
            return;
        }
    }
}
