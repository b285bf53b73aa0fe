//! The daemon's HTTP listener (`[http] listen`, loopback unless `allow_remote`): one router for
//! the read-only status page and the machine endpoints.
//!
//! - `/` the overview ([`overview`]), `/files/{id}` one file and its report and rejects
//!   downloads ([`file`]), `/style.css` (served from the binary);
//! - `/api/status`: the JSON of `fdsync status --json`, built by the same code
//!   ([`crate::status_file::StatusReport`]);
//! - `/metrics` (OpenMetrics, [`crate::metrics`]) and `/healthz`.
//!
//! GET (and HEAD) only: there is no action over HTTP (approve, retry and undo stay CLI
//! commands), every other method answers 405. Before any route, [`guard`] answers 421 to a
//! foreign `Host` and, when `[http] token_file` is set, 401 without the bearer token (but
//! `/healthz`); [`serve`] caps connections and the time a request may take. Every answer carries
//! `Content-Security-Policy: default-src 'self'` and `X-Content-Type-Options: nosniff`; pages are
//! rendered by maud, which escapes every value, and load nothing from outside the process. The
//! page reads what the daemon keeps in memory ([`Live`]) and, per load, one bounded journal read
//! through its own read-only connection ([`Journal::open_read_only`]), so page loads never queue
//! behind the engine's writes.

mod chart;
mod file;
mod guard;
mod layout;
mod live;
mod overview;
mod serve;

pub use guard::Access;
pub use live::Live;

use crate::journal::Journal;
use crate::metrics::Metrics;
use crate::status_file::StatusReport;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What the handlers read.
pub struct Site {
    /// A read-only handle ([`Journal::open_read_only`]).
    pub journal: Journal,
    pub state_dir: PathBuf,
    /// The inboxes at start (the live status has them as reloaded since).
    pub inboxes: Vec<PathBuf>,
    /// Why a file held at intake is held (`more than N deletes`).
    pub max_deletes_per_file: u32,
    pub live: Arc<Live>,
    pub metrics: Arc<Metrics>,
    /// The configured connections, as `status --json` lists them.
    pub connections: Vec<crate::status_file::ConnectionInfo>,
}

type Shared = State<Arc<Site>>;

const STYLE: &str = include_str!("http/style.css");
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves the router on an already bound listener until `shutdown`, admitting only what
/// `access` allows ([`guard`]) within the connection limits of [`serve`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    site: Site,
    access: Access,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    serve::run(listener, router(Arc::new(site), Arc::new(access)), shutdown).await
}

/// Serves another router (the SCIM service, [`crate::scim`]) behind the same admission rules
/// ([`guard`]: `Host` allowlist, bearer token) and connection limits ([`serve`]) as the status
/// page, over TLS when `tls` is given.
pub(crate) async fn serve_guarded(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    access: Access,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let router = router.layer(axum::middleware::from_fn_with_state(Arc::new(access), guard::admit));
    serve::run_tls(listener, router, tls, shutdown).await
}

fn router(site: Arc<Site>, access: Arc<Access>) -> axum::Router {
    axum::Router::new()
        .route("/", get(overview::show))
        .route("/files/{id}", get(file::show))
        .route("/files/{id}/report.csv", get(file::report))
        .route("/files/{id}/rejects.csv", get(file::rejects))
        .route("/api/status", get(api_status))
        .route("/style.css", get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE) }))
        .route("/metrics", get(metrics))
        .route(guard::HEALTHZ, get(|| async { "ok" }))
        .fallback(|| async { not_found("no such page") })
        .layer(axum::middleware::from_fn_with_state(access, guard::admit))
        .layer(axum::middleware::map_response(secure_headers))
        .with_state(site)
}

/// The headers every answer carries, errors and 405s included.
async fn secure_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'self'"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

async fn api_status(State(site): Shared) -> Response {
    let inboxes = site.live.status().map_or_else(|| site.inboxes.clone(), |s| s.inboxes);
    let inboxes = inboxes.iter().map(|p| p.display().to_string()).collect();
    let connections = site.connections.clone();
    let limit = crate::status_file::STATUS_FILES;
    match StatusReport::build(&site.journal, &site.state_dir, inboxes, connections, limit).await {
        Ok(report) => axum::Json(report).into_response(),
        Err(e) => journal_unavailable(e),
    }
}

async fn metrics(State(site): Shared) -> Response {
    ([(header::CONTENT_TYPE, OPENMETRICS)], site.metrics.render()).into_response()
}

fn html(markup: maud::Markup) -> Response {
    Html(markup.into_string()).into_response()
}

fn not_found(what: &str) -> Response {
    let body = layout::page("Not found", maud::html! { section class="wide" { p { (what) } } });
    (StatusCode::NOT_FOUND, Html(body.into_string())).into_response()
}

fn journal_unavailable(e: crate::journal::Error) -> Response {
    tracing::warn!(error = %e, "The status page cannot read the journal.");
    (StatusCode::SERVICE_UNAVAILABLE, "the journal cannot be read right now; try again").into_response()
}
