//! The shared application state of one simulator (config, data, quota, dice, OAuth tokens) and
//! the counters a test reads back. Every lock here is a std lock, taken briefly, never across
//! an await.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard};

use axum::http::HeaderMap;
use serde::Serialize;

use crate::auth::OAuthStore;
use crate::config::SimConfig;
use crate::quota::Quota;
use crate::state::Store;

/// One request as received, for tests that check what a client sent.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Every header as (lower-case name, value); non-UTF-8 bytes replaced.
    pub headers: Vec<(String, String)>,
    /// The credentials header: `authorization`, or the configured alternative, raw.
    pub auth_header: Option<(String, String)>,
    /// Form parameters (token requests only).
    pub form: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    /// The first value of form parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// What the simulator has seen and done since start or the last reset.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counters {
    /// Answers by `"METHOD /route/template STATUS"`, e.g. `"POST /api/v2/tickets 201"`.
    pub requests: BTreeMap<String, u64>,
    /// Every /api/v2 request received (faulted ones included).
    pub api_requests: u64,
    /// 429 answers (quota and storms).
    pub rate_limited: u64,
    /// Connections closed after the change was applied.
    pub drops: u64,
    /// Connections closed before anything was applied.
    pub resets: u64,
    /// Injected 502/503 answers (nothing applied).
    pub faults_5xx: u64,
    /// Injected 502/504 answers sent after the handler ran (the change, if valid, applied).
    pub faults_5xx_after: u64,
    /// Changes the late-apply fault has started holding (`late_holds - late_applies` are held
    /// right now).
    pub late_holds: u64,
    /// Changes applied late: held for `late_delay`, then handled. Counted once applied.
    pub late_applies: u64,
    pub tickets_created: u64,
    /// Ticket updates applied (`PUT tickets/{id}` answered 200), per ticket id.
    pub ticket_updates: std::collections::BTreeMap<u64, u64>,
    pub agents_created: u64,
    pub agents_deleted: u64,
    pub contacts_created: u64,
    /// Credits used in the current quota window by everyone (filled in by snapshots).
    pub quota_used: u64,
    /// Credits spent by the simulated competitor.
    pub competitor_spent: u64,
    /// The last /api/v2 request.
    pub last_request: Option<RecordedRequest>,
    /// Every `POST /oauth/token` request.
    pub token_requests: Vec<RecordedRequest>,
}

impl Counters {
    /// Answers to `"METHOD /route"` with any status.
    pub fn route(&self, route: &str) -> u64 {
        let prefix = format!("{route} ");
        self.requests.iter().filter(|(k, _)| k.starts_with(&prefix)).map(|(_, n)| n).sum()
    }

    /// Answers to `"METHOD /route"` with `status`.
    pub fn route_status(&self, route: &str, status: u16) -> u64 {
        self.requests.get(&format!("{route} {status}")).copied().unwrap_or(0)
    }
}

/// The whole simulator state shared by handlers, middleware and the handle.
pub(crate) struct App {
    pub config: RwLock<SimConfig>,
    pub store: Mutex<Store>,
    pub quota: Mutex<Quota>,
    pub counters: Mutex<Counters>,
    pub rng: Mutex<fastrand::Rng>,
    pub oauth: Mutex<OAuthStore>,
    /// The last /api/v2 request, kept raw (cheap to clone) and rendered on snapshot.
    pub last_request: Mutex<Option<RawRequest>>,
    /// `METHOD /path` of every /api/v2 request in arrival order (the newest [`REQUEST_LOG_MAX`]).
    pub request_log: Mutex<std::collections::VecDeque<String>>,
    /// `http://127.0.0.1:PORT`, for `Location` and `Link` headers.
    pub base_url: String,
}

/// A request as received, before rendering into a [`RecordedRequest`].
pub(crate) struct RawRequest {
    pub method: axum::http::Method,
    pub uri: axum::http::Uri,
    pub headers: HeaderMap,
}

impl RawRequest {
    fn render(&self, auth_header: &str) -> RecordedRequest {
        let headers = header_pairs(&self.headers);
        let auth = headers.iter().find(|(n, _)| n == "authorization" || n == auth_header).cloned();
        RecordedRequest {
            method: self.method.to_string(),
            path: self.uri.path().to_string(),
            query: self.uri.query().map(str::to_string),
            headers,
            auth_header: auth,
            form: Vec::new(),
        }
    }
}

/// How many requests the request log keeps (the oldest are dropped first).
pub(crate) const REQUEST_LOG_MAX: usize = 50_000;

/// Locks a mutex, recovering the data if a panicking thread poisoned it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl App {
    /// Appends `METHOD /path` (no query) to the request log.
    pub fn log_request(&self, method: &axum::http::Method, path: &str) {
        let mut log = lock(&self.request_log);
        if log.len() == REQUEST_LOG_MAX {
            log.pop_front();
        }
        log.push_back(format!("{method} {path}"));
    }

    pub fn new(config: SimConfig, base_url: String) -> App {
        App {
            store: Mutex::new(Store::new(&config)),
            rng: Mutex::new(fastrand::Rng::with_seed(config.seed)),
            config: RwLock::new(config),
            quota: Mutex::new(Quota::default()),
            counters: Mutex::new(Counters::default()),
            oauth: Mutex::new(OAuthStore::default()),
            last_request: Mutex::new(None),
            request_log: Mutex::new(std::collections::VecDeque::new()),
            base_url,
        }
    }

    pub fn config(&self) -> RwLockReadGuard<'_, SimConfig> {
        self.config.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the config; a changed seed restarts the fault dice.
    pub fn update_config(&self, f: impl FnOnce(&mut SimConfig)) {
        let mut guard = self.config.write().unwrap_or_else(|e| e.into_inner());
        let seed = guard.seed;
        f(&mut guard);
        if guard.seed != seed {
            *lock(&self.rng) = fastrand::Rng::with_seed(guard.seed);
        }
    }

    pub fn counters(&self) -> MutexGuard<'_, Counters> {
        lock(&self.counters)
    }

    /// A copy of the counters with the current window's usage filled in.
    pub fn counters_snapshot(&self) -> Counters {
        let (window, auth_header) = {
            let c = self.config();
            (c.window, c.auth_header.to_ascii_lowercase())
        };
        let used = lock(&self.quota).used(window, std::time::Instant::now());
        let mut snapshot = self.counters().clone();
        snapshot.quota_used = used;
        snapshot.last_request = lock(&self.last_request).as_ref().map(|r| r.render(&auth_header));
        snapshot
    }

    /// Clears data, counters, quota and tokens; keeps the config.
    pub fn reset(&self) {
        let config = self.config().clone();
        *lock(&self.store) = Store::new(&config);
        *lock(&self.quota) = Quota::default();
        *lock(&self.counters) = Counters::default();
        *lock(&self.last_request) = None;
        lock(&self.request_log).clear();
        *lock(&self.oauth) = OAuthStore::default();
        *lock(&self.rng) = fastrand::Rng::with_seed(config.seed);
    }
}

/// Headers as (lower-case name, lossy value) pairs.
pub(crate) fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    let pair = |(n, v): (&axum::http::HeaderName, &axum::http::HeaderValue)| {
        (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    headers.iter().map(pair).collect()
}
