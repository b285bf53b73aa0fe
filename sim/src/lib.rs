//! fdsync-sim: a local, stateful model of the Freshdesk API v2, for fdsync's tests, benchmarks
//! and `fdsync demo`. It follows /work/shared/freshdesk-api.md (the facts file): API-key Basic
//! auth, the per-account fixed-window quota with `X-RateLimit-*` headers and 429 + `Retry-After`,
//! Freshdesk's three error body shapes and empty-body 404s, tickets (validation, contact
//! auto-creation, list filters, `Link` paging, soft delete, lagging search, updates that refuse
//! a custom field required for agents left empty), agents and contacts, and the account's groups
//! (three built in: Tier 1, Tier 2, Billing) and products (three built in: Acme Cloud, Acme Mobile,
//! AcmeMobile).
//!
//! Fault injection (seeded, changeable live, /api/v2 only): latency, 502/503 HTML answers (not
//! applied), *drop after commit* (applied, then the connection closes with no answer), resets
//! (closed before anything is applied), 502/504 HTML answers *after* a change was applied
//! (`fail_after_rate`), *late apply* (a change held for `late_delay`, longer than the client's
//! timeout, then applied: `late_rate`), 429 storms, and a competitor spending the same quota.
//!
//! **Simulator conveniences that real Freshdesk v2 does not offer:** OAuth 2.0 endpoints
//! (`/oauth/authorize`, `/oauth/token`) and `Authorization: Bearer` tokens, and an alternative
//! credentials header (`SimConfig::auth_header`) accepting `Token <key>` or a bare key. Real
//! Freshdesk takes API keys only; these exist for gateways in front of it and for testing
//! fdsync's OAuth and custom-header support. `/_sim/*` is the inspection API.
//!
//! **Model limits** (where the simulator is simpler than Freshdesk): statuses are the four
//! defaults (2–5), plus `SimConfig::custom_statuses` (6+) that an update may set (a create may
//! not, and `GET /api/v2/ticket_fields` does not list them); groups and products are fixed (a
//! ticket's `group_id`, `responder_id` and `product_id` are checked as positive integers, not
//! against them); ticket types the five defaults; custom fields are text, paragraph, number,
//! decimal, checkbox, date, dropdown or nested (`SimConfig::custom_fields`, listed by
//! `GET /api/v2/ticket_fields` and checked on create: type, choices, dependent levels, required
//! for agents / for closure); a ticket create may be `multipart/form-data` with
//! `attachments[]` (≤ 20 MB, bytes kept in [`SimState`]); other multipart requests are refused
//! (415); `include=stats|company` are accepted and
//! charged but add nothing; search knows tag, status, priority, type, group_id, agent_id,
//! created_at, updated_at and the configured custom fields; there is one account and one
//! admin (the `api_key` owner) plus one non-admin agent (`agent_api_key`).
//!
//! # Layout
//! - [`config`]: `SimConfig`, plans and limits, live patches.
//! - `router`: the route table and the /api/v2 pipeline (quota, faults, header checks).
//! - `server`: the accept loop and the per-connection kill switch.
//! - `state`: the in-memory account and its JSON renderings.
//! - `fields`: the account's ticket fields (default and custom) and custom value checks.
//! - `quota`, `faults`, `auth`, `error`: the limiter, the dice, credentials, error shapes.
//! - `routes`: one module per resource, plus `oauth` and `inspect`.
//! - [`cli`]: `fdsync sim`.
//!
//! # Inspection API (no auth, no quota, no faults)
//! - `GET /_sim/state`: tickets, agents and contacts ([`SimState`]).
//! - `GET /_sim/counters`: [`Counters`] (answers by route and status, 429s, drops, resets, 5xx,
//!   5xx after apply, late applies, creations, the last request's headers, token requests, the window's usage).
//! - `POST /_sim/reset`: clears data, counters, quota and tokens; keeps the config.
//! - `GET /_sim/config`, `PATCH /_sim/config`: partial JSON update with any of `plan`, `rate`,
//!   `window_secs`, `competitor`, `latency_ms` (`[a, b]`), `fail_rate`, `drop_rate`,
//!   `reset_rate`, `fail_after_rate`, `late_rate`, `late_ms`, `storm_secs`, `seats`,
//!   `custom_fields` (names, or `{name, type, choices, required_for_agents, …}`),
//!   `search_lag_secs`, `token_ttl_secs`, `auth_header`, `max_body_bytes`.
//! - `POST /_sim/revoke`: revokes every refresh token (`?access=true`: access tokens too).
#![forbid(unsafe_code)]

mod app;
mod auth;
pub mod cli;
pub mod config;
mod error;
mod faults;
mod fields;
mod quota;
mod router;
mod routes;
mod server;
mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use app::{Counters, RecordedRequest};
pub use config::{BasicUser, Limits, OAuthClient, Plan, SimConfig};
pub use error::FieldError;
pub use fields::{CustomField, FieldKind};
pub use state::{
    AgentInfo, BUILT_IN_ROLES, ROLE_ACCOUNT_ADMIN, ROLE_ADMIN, ROLE_AGENT, ROLE_SUPERVISOR, SimState, Ticket,
    User,
};

use app::{App, lock};

/// A running simulator. Dropping it leaves the server running until its shutdown future ends.
pub struct SimHandle {
    app: Arc<App>,
    addr: SocketAddr,
    stop: Arc<watch::Sender<bool>>,
    server: JoinHandle<()>,
    competitor: JoinHandle<()>,
}

/// Starts the simulator on an already bound listener and returns at once.
pub async fn serve(
    listener: TcpListener,
    config: SimConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> SimHandle {
    let mut addr = listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let app = Arc::new(App::new(config, format!("http://{addr}")));
    let (tx, rx) = watch::channel(false);
    let stop = Arc::new(tx);
    let trigger = stop.clone();
    tokio::spawn(async move {
        shutdown.await;
        let _ = trigger.send(true);
    });
    let server = tokio::spawn(server::run(listener, router::router(app.clone()), rx.clone()));
    let competitor = tokio::spawn(competitor(app.clone(), rx));
    SimHandle { app, addr, stop, server, competitor }
}

impl SimHandle {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The admin API key.
    pub fn api_key(&self) -> String {
        self.app.config().api_key.clone()
    }

    /// A snapshot of tickets, agents and contacts.
    pub fn state(&self) -> SimState {
        lock(&self.app.store).snapshot()
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> Counters {
        self.app.counters_snapshot()
    }

    /// `METHOD /path` of every /api/v2 request received, in order (faulted and refused ones
    /// too; the newest 50,000): what a test reads to check the order of calls.
    pub fn request_log(&self) -> Vec<String> {
        lock(&self.app.request_log).iter().cloned().collect()
    }

    /// Changes the config live (faults, rate, window, lag, seats, …).
    pub fn update(&self, f: impl FnOnce(&mut SimConfig)) {
        self.app.update_config(f);
    }

    /// Clears data, counters, quota and tokens, keeping the config (as `POST /_sim/reset`).
    pub fn reset(&self) {
        self.app.reset();
    }

    /// Stops accepting, lets in-flight requests finish (bounded), and waits.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.server.await;
        let _ = self.competitor.await;
    }
}

/// Spends `competitor` credits per window, spread evenly, on the account's quota.
async fn competitor(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let mut owed = 0.0_f64;
    loop {
        let (per_window, window) = {
            let c = app.config();
            (c.competitor, c.window)
        };
        let tick = if per_window == 0 {
            Duration::from_millis(50)
        } else {
            // Short ticks so live changes apply quickly; `owed` carries the fractions.
            let even = window / u32::try_from(per_window).unwrap_or(u32::MAX);
            even.max(Duration::from_millis(5)).min(Duration::from_millis(250))
        };
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = server::stopped(&mut stop) => return,
        }
        if per_window == 0 || window.is_zero() {
            owed = 0.0;
            continue;
        }
        owed += per_window as f64 * tick.as_secs_f64() / window.as_secs_f64();
        let spend = owed.floor();
        if spend >= 1.0 {
            owed -= spend;
            let spend = spend as u64;
            lock(&app.quota).spend_background(spend, window, Instant::now());
            app.counters().competitor_spent += spend;
        }
    }
}
