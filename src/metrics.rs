//! Prometheus metrics for `fdsync run`, served as `/metrics` (OpenMetrics text) by the daemon's
//! HTTP listener ([`crate::http`]). Answers are counted as they arrive; everything else is a
//! gauge refreshed from a journal and pacer snapshot every couple of seconds. The unlabelled
//! series are the whole daemon's (quota gauges: the first connection's account); the
//! `fdsync_connection_*` series carry a `connection` label, one series per connection.

use crate::engine::pacer::PacerSnapshot;
use crate::freshdesk::Answer;
use crate::journal::JournalStats;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

type Labels = Vec<(String, String)>;

/// File states and row outcomes always exported (at 0 when absent), so series do not vanish.
const FILE_STATES: &[&str] = &["queued", "processing", "held", "done", "failed", "duplicate"];
const ROW_STATES: &[&str] = &["pending", "sending", "done", "failed"];
const OUTCOMES: &[&str] =
    &["created", "exists", "found", "not_found", "deleted", "already_deleted", "failed", "skipped"];

pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    rate_limited: Counter,
    rows: Family<Labels, Gauge>,
    rows_by_state: Family<Labels, Gauge>,
    files: Family<Labels, Gauge>,
    quota_total: Gauge,
    quota_budget: Gauge,
    quota_remaining: Gauge,
    in_flight: Gauge,
    lag_seconds: Gauge<f64, AtomicU64>,
    per_connection: PerConnection,
}

/// The series labelled `connection`.
#[derive(Default)]
struct PerConnection {
    requests: Family<Labels, Counter>,
    rate_limited: Family<Labels, Counter>,
    rows_pending: Family<Labels, Gauge>,
    quota_budget: Family<Labels, Gauge>,
    quota_remaining: Family<Labels, Gauge>,
    in_flight: Family<Labels, Gauge>,
    credentials_refused: Family<Labels, Gauge>,
}

/// What the gauges of one connection are refreshed from.
pub struct ConnectionGauges<'a> {
    pub connection: &'a str,
    pub pacer: &'a PacerSnapshot,
    pub rows_pending: u64,
    pub credentials_refused: bool,
}

fn label(k: &str, v: &str) -> Labels {
    vec![(k.to_string(), v.to_string())]
}

/// The status class of an answer's HTTP status: `2xx`, `4xx`, `429`, `5xx`, or `none` (no
/// answer arrived).
pub fn status_class(http_status: Option<u16>) -> &'static str {
    match http_status {
        Some(429) => "429",
        Some(s) if (200..300).contains(&s) => "2xx",
        Some(s) if (400..500).contains(&s) => "4xx",
        Some(s) if s >= 500 => "5xx",
        Some(_) => "other",
        None => "none",
    }
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("fdsync");
        let m = Metrics {
            requests: Family::default(),
            rate_limited: Counter::default(),
            rows: Family::default(),
            rows_by_state: Family::default(),
            files: Family::default(),
            quota_total: Gauge::default(),
            quota_budget: Gauge::default(),
            quota_remaining: Gauge::default(),
            in_flight: Gauge::default(),
            lag_seconds: Gauge::default(),
            per_connection: PerConnection::default(),
            registry: Registry::default(),
        };
        m.per_connection.register(&mut registry);
        registry.register("requests", "Freshdesk answers by status class", m.requests.clone());
        registry.register("rate_limited", "Freshdesk 429 answers", m.rate_limited.clone());
        registry.register("rows", "Finished rows by outcome", m.rows.clone());
        registry.register("rows_state", "Rows by journal state", m.rows_by_state.clone());
        registry.register("files", "Files by state", m.files.clone());
        registry.register(
            "quota_total",
            "X-RateLimit-Total as last seen (0: unknown)",
            m.quota_total.clone(),
        );
        registry.register("quota_budget", "Requests per window fdsync allows itself", m.quota_budget.clone());
        registry.register(
            "quota_remaining",
            "Lowest X-RateLimit-Remaining this window",
            m.quota_remaining.clone(),
        );
        registry.register("in_flight", "Requests in flight", m.in_flight.clone());
        registry.register("journal_lag_seconds", "Age of the oldest unfinished row", m.lag_seconds.clone());
        Arc::new(Metrics { registry, ..m })
    }

    /// Counts one Freshdesk answer.
    pub fn observe_answer<T>(&self, answer: &Answer<T>) {
        self.observe_status(answer.http_status());
    }

    /// Counts one Freshdesk answer by its HTTP status (`None`: no answer arrived).
    fn observe_status(&self, http_status: Option<u16>) {
        let class = status_class(http_status);
        self.requests.get_or_create(&label("class", class)).inc();
        if class == "429" {
            self.rate_limited.inc();
        }
    }

    /// Counts one Freshdesk answer on `connection` (and in the unlabelled totals).
    pub fn observe_status_on(&self, connection: &str, http_status: Option<u16>) {
        self.observe_status(http_status);
        let class = status_class(http_status);
        let labels =
            vec![("connection".to_string(), connection.to_string()), ("class".to_string(), class.into())];
        self.per_connection.requests.get_or_create(&labels).inc();
        if class == "429" {
            self.per_connection.rate_limited.get_or_create(&label("connection", connection)).inc();
        }
    }

    /// Refreshes one connection's gauges.
    pub fn update_connection(&self, g: &ConnectionGauges<'_>) {
        let l = label("connection", g.connection);
        let p = &self.per_connection;
        p.rows_pending.get_or_create(&l).set(g.rows_pending as i64);
        p.quota_budget.get_or_create(&l).set(g.pacer.budget_per_window.map_or(0, i64::from));
        p.quota_remaining.get_or_create(&l).set(g.pacer.remaining.map_or(0, i64::from));
        p.in_flight.get_or_create(&l).set(g.pacer.in_flight as i64);
        p.credentials_refused.get_or_create(&l).set(i64::from(g.credentials_refused));
    }

    /// Refreshes the gauges from a journal and pacer snapshot.
    pub fn update(&self, stats: &JournalStats, pacer: &PacerSnapshot, now_ms: i64) {
        let get =
            |m: &std::collections::BTreeMap<String, u64>, k: &str| m.get(k).copied().unwrap_or(0) as i64;
        for s in FILE_STATES {
            self.files.get_or_create(&label("state", s)).set(get(&stats.files_by_state, s));
        }
        for s in ROW_STATES {
            self.rows_by_state.get_or_create(&label("state", s)).set(get(&stats.rows_by_state, s));
        }
        for o in OUTCOMES.iter().copied().chain(stats.rows_by_outcome.keys().map(String::as_str)) {
            self.rows.get_or_create(&label("outcome", o)).set(get(&stats.rows_by_outcome, o));
        }
        self.quota_total.set(pacer.server_total.map_or(0, i64::from));
        self.quota_budget.set(pacer.budget_per_window.map_or(0, i64::from));
        self.quota_remaining.set(pacer.remaining.map_or(0, i64::from));
        self.in_flight.set(pacer.in_flight as i64);
        let lag = stats.oldest_unfinished_ms.map_or(0.0, |t| (now_ms - t).max(0) as f64 / 1000.0);
        self.lag_seconds.set(lag);
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl PerConnection {
    fn register(&self, r: &mut Registry) {
        r.register(
            "connection_requests",
            "Freshdesk answers by connection and status class",
            self.requests.clone(),
        );
        r.register(
            "connection_rate_limited",
            "Freshdesk 429 answers by connection",
            self.rate_limited.clone(),
        );
        r.register("connection_rows_pending", "Rows not yet final by connection", self.rows_pending.clone());
        r.register(
            "connection_quota_budget",
            "Requests per window the connection's account allows fdsync",
            self.quota_budget.clone(),
        );
        r.register(
            "connection_quota_remaining",
            "Lowest X-RateLimit-Remaining this window on the connection's account",
            self.quota_remaining.clone(),
        );
        r.register(
            "connection_in_flight",
            "Requests in flight on the connection's account",
            self.in_flight.clone(),
        );
        r.register(
            "connection_credentials_refused",
            "1 while Freshdesk refuses the connection's credentials",
            self.credentials_refused.clone(),
        );
    }
}

/// One connection's answers as its engine's send path gets them ([`crate::engine::Tally`]):
/// counted under the connection and in the unlabelled totals.
pub struct ConnectionTally {
    metrics: Arc<Metrics>,
    connection: String,
}

impl ConnectionTally {
    pub fn new(metrics: Arc<Metrics>, connection: &str) -> Self {
        Self { metrics, connection: connection.to_string() }
    }
}

impl crate::engine::Tally for ConnectionTally {
    fn answer(&self, http_status: Option<u16>) {
        self.metrics.observe_status_on(&self.connection, http_status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Tally;

    fn snapshot() -> PacerSnapshot {
        PacerSnapshot {
            server_total: Some(400),
            budget_per_window: Some(360),
            window_secs: 60.0,
            remaining: Some(200),
            in_flight: 3,
            concurrency_limit: 8,
            requests: 10,
            credits_used: 10,
            rate_limited: 1,
            paused_for_ms: 0,
            pace_per_window: Some(360),
        }
    }

    #[test]
    fn answers_are_counted_by_status_class() {
        let m = Metrics::new();
        m.observe_answer(&Answer::Ok { status: 201, value: () });
        m.observe_answer(&Answer::<()>::RateLimited { retry_after: std::time::Duration::from_secs(1) });
        m.observe_answer(&Answer::<()>::Uncertain { reason: "timeout".into() });
        m.observe_answer(&Answer::<()>::NotFound);
        let text = m.render();
        for line in [
            "fdsync_requests_total{class=\"2xx\"} 1",
            "fdsync_requests_total{class=\"429\"} 1",
            "fdsync_requests_total{class=\"none\"} 1",
            "fdsync_requests_total{class=\"4xx\"} 1",
            "fdsync_rate_limited_total 1",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
    }

    #[test]
    fn gauges_follow_the_latest_snapshot() {
        let m = Metrics::new();
        let mut stats = JournalStats::default();
        stats.files_by_state.insert("done".into(), 2);
        stats.rows_by_state.insert("pending".into(), 5);
        stats.rows_by_outcome.insert("created".into(), 7);
        stats.oldest_unfinished_ms = Some(1_000);
        m.update(&stats, &snapshot(), 4_000);
        let text = m.render();
        for line in [
            "fdsync_files{state=\"done\"} 2",
            "fdsync_files{state=\"held\"} 0",
            "fdsync_rows_state{state=\"pending\"} 5",
            "fdsync_rows{outcome=\"created\"} 7",
            "fdsync_quota_remaining 200",
            "fdsync_quota_budget 360",
            "fdsync_in_flight 3",
            "fdsync_journal_lag_seconds 3.0",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
    }

    #[test]
    fn per_connection_series_carry_a_connection_label() {
        let m = Metrics::new();
        let tally = ConnectionTally::new(m.clone(), "it-desk");
        tally.answer(
            Answer::<()>::RateLimited { retry_after: std::time::Duration::from_secs(1) }.http_status(),
        );
        let g = ConnectionGauges {
            connection: "it-desk",
            pacer: &snapshot(),
            rows_pending: 4,
            credentials_refused: true,
        };
        m.update_connection(&g);
        let text = m.render();
        for line in [
            "fdsync_requests_total{class=\"429\"} 1",
            "fdsync_connection_requests_total{connection=\"it-desk\",class=\"429\"} 1",
            "fdsync_connection_rate_limited_total{connection=\"it-desk\"} 1",
            "fdsync_connection_rows_pending{connection=\"it-desk\"} 4",
            "fdsync_connection_quota_budget{connection=\"it-desk\"} 360",
            "fdsync_connection_credentials_refused{connection=\"it-desk\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
    }
}
