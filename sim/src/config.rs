//! The simulator's settings: account plan and quota, credentials, fault rates and model knobs.
//!
//! Everything is plain data with public fields so tests can build a config with struct-update
//! syntax and change it live through [`crate::SimHandle::update`] or `PATCH /_sim/config`.
//! This module decides nothing at request time; it only holds values and derives the plan limits.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::fields::CustomField;

/// A Freshdesk plan; fixes the per-window total and the four sub-limits (facts file §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    /// Any plan during trial: 50 calls per window, no sub-limits.
    Trial,
    /// 200 calls; 80 create, 80 update, 20 tickets list, 20 contacts list.
    Growth,
    /// 400 calls; 160 create, 160 update, 100 tickets list, 100 contacts list.
    Pro,
    /// 700 calls; 280 create, 280 update, 200 tickets list, 200 contacts list.
    Enterprise,
}

impl std::str::FromStr for Plan {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "trial" => Ok(Plan::Trial),
            "growth" => Ok(Plan::Growth),
            "pro" => Ok(Plan::Pro),
            "enterprise" => Ok(Plan::Enterprise),
            other => Err(format!("unknown plan {other:?} (trial, growth, pro, enterprise)")),
        }
    }
}

/// The budget of one window: the account total and the four per-operation sub-limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub total: u64,
    pub ticket_create: Option<u64>,
    pub ticket_update: Option<u64>,
    pub tickets_list: Option<u64>,
    pub contacts_list: Option<u64>,
}

impl Limits {
    /// The limits of `plan`, or of a custom `rate` scaled like the Pro plan's ratios.
    pub fn resolve(plan: Plan, rate: Option<u64>) -> Limits {
        if let Some(total) = rate {
            let part = |num: u64, den: u64| Some((total.saturating_mul(num) / den).max(1));
            return Limits {
                total,
                ticket_create: part(2, 5),
                ticket_update: part(2, 5),
                tickets_list: part(1, 4),
                contacts_list: part(1, 4),
            };
        }
        let (total, create, list) = match plan {
            Plan::Trial => {
                return Limits {
                    total: 50,
                    ticket_create: None,
                    ticket_update: None,
                    tickets_list: None,
                    contacts_list: None,
                };
            }
            Plan::Growth => (200, 80, 20),
            Plan::Pro => (400, 160, 100),
            Plan::Enterprise => (700, 280, 200),
        };
        Limits {
            total,
            ticket_create: Some(create),
            ticket_update: Some(create),
            tickets_list: Some(list),
            contacts_list: Some(list),
        }
    }
}

/// A user allowed to log in with e-mail + password Basic auth (legacy; off unless listed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BasicUser {
    pub email: String,
    pub password: String,
}

/// A registered OAuth client of the simulator's token endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: String,
}

/// All settings of one simulated Freshdesk account.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The admin's API key (Basic user name). The key's owner is a seeded admin agent.
    pub api_key: String,
    /// A non-admin agent's key: 403 `access_denied` on admin routes.
    pub agent_api_key: String,
    /// E-mail + password pairs accepted as Basic auth; empty = legacy auth rejected (401).
    pub basic_users: Vec<BasicUser>,
    /// Alternative header (lower case) that also accepts `Token <key>` and a bare key (gateways).
    pub auth_header: String,
    /// The plan, used when `rate` is `None`.
    pub plan: Plan,
    /// A custom per-window total overriding the plan (sub-limits scaled from Pro's ratios).
    pub rate: Option<u64>,
    /// The fixed quota window (60 s on real per-minute accounts).
    pub window: Duration,
    /// Requests per window spent by another integration on the same account.
    pub competitor: u64,
    /// Added latency range in milliseconds, inclusive (`None` = no delay).
    pub latency_ms: Option<(u64, u64)>,
    /// Probability of a 502/503 HTML answer; the change is not applied.
    pub fail_rate: f64,
    /// Probability of "drop after commit": the change is applied, then the connection closes.
    pub drop_rate: f64,
    /// Probability of a connection reset before anything is applied.
    pub reset_rate: f64,
    /// Probability of a 502 or 504 HTML answer *after* the change was applied: a gateway that
    /// lost the application's answer. Changes only (POST, PUT, DELETE); reads are never hit.
    pub fail_after_rate: f64,
    /// Probability of a *late apply*: the request is held for `late_delay`, then the change is
    /// applied and answered (usually to a client that gave up long ago). Changes only.
    pub late_rate: f64,
    /// How long a late-applied change is held; make it longer than the client's timeout.
    pub late_delay: Duration,
    /// Until this instant every /api/v2 request gets 429 (a "429 storm").
    pub storm_until: Option<Instant>,
    /// Seed of the fault dice (deterministic fault sequences).
    pub seed: u64,
    /// Extra agents seeded at start and on reset (agent0001@example.com, ...).
    pub agents: u32,
    /// Full-time agent seats; creating a full-time agent beyond them gives 400.
    pub seats: u64,
    /// Ticket custom fields that exist on the account, checked on ticket create and update and
    /// listed by `GET /api/v2/ticket_fields`. `"cf_x".into()` is an optional text field.
    pub custom_fields: Vec<CustomField>,
    /// Search indexing lag: tickets younger than this are not found by search.
    pub search_lag: Duration,
    /// Lifetime of OAuth access tokens.
    pub token_ttl: Duration,
    /// Registered OAuth clients.
    pub oauth_clients: Vec<OAuthClient>,
    /// Largest accepted request body; bigger bodies get 413.
    pub max_body_bytes: usize,
    /// `GET /api/v2/roles` answers a 200 HTML page instead of the roles.
    pub roles_unreadable: bool,
    /// The "unique contact identifier" feature: a ticket's requester may be given by
    /// `unique_external_id` (without it, that key is `inaccessible_field`).
    pub unique_contact_identifier: bool,
    /// Statuses the account added (6 and up, facts file §4: "accounts may add custom statuses
    /// 6+"): a ticket update may set them (a create may not, here).
    pub custom_statuses: Vec<u64>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            api_key: "sim-api-key".into(),
            agent_api_key: "sim-agent-key".into(),
            basic_users: Vec::new(),
            auth_header: "authorization".into(),
            plan: Plan::Pro,
            rate: None,
            window: Duration::from_secs(60),
            competitor: 0,
            latency_ms: None,
            fail_rate: 0.0,
            drop_rate: 0.0,
            reset_rate: 0.0,
            fail_after_rate: 0.0,
            late_rate: 0.0,
            // Longer than fdsync's default request timeout (60 s).
            late_delay: Duration::from_secs(65),
            storm_until: None,
            seed: 42,
            agents: 0,
            seats: 1000,
            custom_fields: crate::fields::default_custom_fields(),
            search_lag: Duration::ZERO,
            token_ttl: Duration::from_secs(3600),
            oauth_clients: vec![OAuthClient {
                client_id: "sim-client".into(),
                client_secret: "sim-secret".into(),
            }],
            max_body_bytes: 1024 * 1024,
            roles_unreadable: false,
            unique_contact_identifier: false,
            custom_statuses: Vec::new(),
        }
    }
}

impl SimConfig {
    /// The current window budget.
    pub fn limits(&self) -> Limits {
        Limits::resolve(self.plan, self.rate)
    }
}

/// The JSON view of the config served by `GET /_sim/config` (secrets left out).
#[derive(Serialize)]
pub(crate) struct ConfigView {
    plan: Plan,
    rate: Option<u64>,
    limits: Limits,
    window_secs: f64,
    competitor: u64,
    latency_ms: Option<(u64, u64)>,
    fail_rate: f64,
    drop_rate: f64,
    reset_rate: f64,
    fail_after_rate: f64,
    late_rate: f64,
    late_ms: u64,
    storm_secs_left: f64,
    seats: u64,
    custom_fields: Vec<CustomField>,
    search_lag_secs: f64,
    token_ttl_secs: f64,
    auth_header: String,
    max_body_bytes: usize,
    roles_unreadable: bool,
}

impl ConfigView {
    pub(crate) fn of(c: &SimConfig) -> ConfigView {
        let storm = c.storm_until.map(|u| u.saturating_duration_since(Instant::now()));
        ConfigView {
            plan: c.plan,
            rate: c.rate,
            limits: c.limits(),
            window_secs: c.window.as_secs_f64(),
            competitor: c.competitor,
            latency_ms: c.latency_ms,
            fail_rate: c.fail_rate,
            drop_rate: c.drop_rate,
            reset_rate: c.reset_rate,
            fail_after_rate: c.fail_after_rate,
            late_rate: c.late_rate,
            late_ms: u64::try_from(c.late_delay.as_millis()).unwrap_or(u64::MAX),
            storm_secs_left: storm.unwrap_or_default().as_secs_f64(),
            seats: c.seats,
            custom_fields: c.custom_fields.clone(),
            search_lag_secs: c.search_lag.as_secs_f64(),
            token_ttl_secs: c.token_ttl.as_secs_f64(),
            auth_header: c.auth_header.clone(),
            max_body_bytes: c.max_body_bytes,
            roles_unreadable: c.roles_unreadable,
        }
    }
}

/// A partial update accepted by `PATCH /_sim/config`; absent keys keep their value.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigPatch {
    plan: Option<Plan>,
    rate: Option<Option<u64>>,
    window_secs: Option<f64>,
    competitor: Option<u64>,
    latency_ms: Option<Option<(u64, u64)>>,
    fail_rate: Option<f64>,
    drop_rate: Option<f64>,
    reset_rate: Option<f64>,
    fail_after_rate: Option<f64>,
    late_rate: Option<f64>,
    late_ms: Option<u64>,
    storm_secs: Option<f64>,
    seats: Option<u64>,
    custom_fields: Option<Vec<CustomField>>,
    search_lag_secs: Option<f64>,
    token_ttl_secs: Option<f64>,
    auth_header: Option<String>,
    max_body_bytes: Option<usize>,
    roles_unreadable: Option<bool>,
}

/// A duration from user-supplied seconds; negative, NaN or huge values are clamped, never panic.
pub(crate) fn secs(value: f64) -> Duration {
    if value.is_finite() && value > 0.0 {
        Duration::try_from_secs_f64(value.min(1.0e9)).unwrap_or_default()
    } else {
        Duration::ZERO
    }
}

fn probability(p: f64) -> f64 {
    if p.is_finite() { p.clamp(0.0, 1.0) } else { 0.0 }
}

impl ConfigPatch {
    pub(crate) fn apply(self, c: &mut SimConfig) {
        if let Some(v) = self.plan {
            c.plan = v;
        }
        if let Some(v) = self.rate {
            c.rate = v;
        }
        if let Some(v) = self.window_secs {
            c.window = secs(v).max(Duration::from_millis(10));
        }
        if let Some(v) = self.competitor {
            c.competitor = v;
        }
        if let Some(v) = self.latency_ms {
            c.latency_ms = v.map(|(a, b)| (a.min(b), a.max(b)));
        }
        if let Some(v) = self.fail_rate {
            c.fail_rate = probability(v);
        }
        if let Some(v) = self.drop_rate {
            c.drop_rate = probability(v);
        }
        if let Some(v) = self.reset_rate {
            c.reset_rate = probability(v);
        }
        if let Some(v) = self.fail_after_rate {
            c.fail_after_rate = probability(v);
        }
        if let Some(v) = self.late_rate {
            c.late_rate = probability(v);
        }
        if let Some(v) = self.late_ms {
            c.late_delay = Duration::from_millis(v);
        }
        if let Some(v) = self.storm_secs {
            c.storm_until = Instant::now().checked_add(secs(v));
        }
        if let Some(v) = self.seats {
            c.seats = v;
        }
        if let Some(v) = self.custom_fields {
            c.custom_fields = v;
        }
        if let Some(v) = self.search_lag_secs {
            c.search_lag = secs(v);
        }
        if let Some(v) = self.token_ttl_secs {
            c.token_ttl = secs(v);
        }
        if let Some(v) = self.auth_header {
            c.auth_header = v.to_ascii_lowercase();
        }
        if let Some(v) = self.max_body_bytes {
            c.max_body_bytes = v;
        }
        if let Some(v) = self.roles_unreadable {
            c.roles_unreadable = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_rate_scales_sub_limits_like_pro() {
        let l = Limits::resolve(Plan::Pro, Some(1000));
        assert_eq!((l.total, l.ticket_create, l.tickets_list), (1000, Some(400), Some(250)));
        assert_eq!(Limits::resolve(Plan::Trial, None).ticket_create, None);
        assert_eq!(Limits::resolve(Plan::Growth, None).tickets_list, Some(20));
    }

    #[test]
    fn patch_clamps_nonsense_values() {
        let mut c = SimConfig::default();
        let p: ConfigPatch = serde_json::from_str(r#"{"fail_rate": 7, "window_secs": -1}"#).unwrap();
        p.apply(&mut c);
        assert_eq!(c.fail_rate, 1.0);
        assert_eq!(c.window, Duration::from_millis(10));
        let p: ConfigPatch =
            serde_json::from_str(r#"{"late_rate": -2, "fail_after_rate": 0.25, "late_ms": 2500}"#).unwrap();
        p.apply(&mut c);
        assert_eq!((c.late_rate, c.fail_after_rate), (0.0, 0.25));
        assert_eq!(c.late_delay, Duration::from_millis(2500));
    }
}
