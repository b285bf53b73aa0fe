//! The pipeline's health gate: owns the circuit breaker and what this run has learnt about
//! Freshdesk. Every answer's class is recorded ([`Health::observe`]); every request asks
//! [`Health::allow`] first, which is the breaker's half-open gate (one probe after an open
//! period; its answer closes or re-opens the breaker). A one-shot import stops on refused
//! credentials, an unreachable Freshdesk, or only-429s for too long ([`Health::end`]); the daemon
//! waits and probes, and reads the same facts for its problems ([`Health::snapshot`]).

use super::RunEnd;
use super::breaker::{Breaker, BreakerConfig, BreakerState, Kind, Reason};
use crate::freshdesk::{Answer, Verdict};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How the engine runs: once for some files, or as the daemon until shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `fdsync import`: stop (exit 3) when Freshdesk refuses the credentials, cannot be reached,
    /// or answers only 429s for longer than `limits.max_rate_limited_secs`.
    OneShot,
    /// `fdsync run`: keep waiting, probe, and report problems.
    Daemon,
}

/// Transient trips without a success in between after which a one-shot import gives up.
const MAX_OPENS: u32 = 3;

/// Overrides the daemon's probe interval after refused credentials (seconds, default 60): for
/// tests, which need not sleep through a production minute. Not a config key: no operator needs
/// another interval.
const AUTH_PROBE_ENV: &str = "FDSYNC_AUTH_PROBE_SECS";

/// The daemon's breaker: the default, with the probe interval from `env` ([`AUTH_PROBE_ENV`])
/// when it holds a whole number of seconds above zero.
fn daemon_breaker(env: Option<&str>) -> BreakerConfig {
    let default = BreakerConfig::default();
    let probe = env.and_then(|s| s.trim().parse::<u64>().ok()).filter(|&s| s > 0).map(Duration::from_secs);
    BreakerConfig { auth_probe_interval: probe.or(default.auth_probe_interval), ..default }
}

pub(crate) struct Health {
    mode: Mode,
    max_rate_limited: Duration,
    state: Mutex<State>,
}

struct State {
    breaker: Breaker,
    /// Any HTTP answer at all in this run (else Freshdesk was never reached).
    answered: bool,
    /// Times the breaker opened on transient failures since the last success.
    opens: u32,
    /// The last refusal of the credentials, while it stands.
    auth_refusal: Option<String>,
    /// Since when every answer has been a 429 (none: the last answer was not a 429).
    rate_limited_since: Option<Instant>,
}

/// What the daemon shows of the pipeline's health.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthSnapshot {
    /// Why Freshdesk refuses the credentials, while it does.
    pub auth_refused: Option<String>,
    /// How long every answer has been a 429.
    pub rate_limited_for: Option<Duration>,
}

impl Health {
    pub(crate) fn new(mode: Mode, max_rate_limited: Duration) -> Self {
        let cfg = match mode {
            // Short pauses, and an auth failure ends the run (exit 3).
            Mode::OneShot => BreakerConfig {
                base_backoff: Duration::from_secs(1),
                auth_probe_interval: None,
                ..BreakerConfig::default()
            },
            Mode::Daemon => daemon_breaker(std::env::var(AUTH_PROBE_ENV).ok().as_deref()),
        };
        let state = State {
            breaker: Breaker::new(cfg),
            answered: false,
            opens: 0,
            auth_refusal: None,
            rate_limited_since: None,
        };
        Self { mode, max_rate_limited, state: Mutex::new(state) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many tasks may run now: unbounded while closed, none while open, one probe after.
    pub(crate) fn room(&self) -> Option<usize> {
        match self.lock().breaker.state(Instant::now()) {
            BreakerState::Closed => None,
            BreakerState::HalfOpen => Some(1),
            BreakerState::Open { .. } => Some(0),
        }
    }

    /// May a request leave now? The breaker's gate: after an open period exactly one probe.
    pub(crate) fn allow(&self) -> bool {
        self.lock().breaker.allow(Instant::now())
    }

    /// For a one-shot run: the reason to stop, if there is one.
    pub(crate) fn end(&self) -> Option<RunEnd> {
        if self.mode != Mode::OneShot {
            return None;
        }
        let now = Instant::now();
        let h = self.lock();
        if let Some(since) = h.rate_limited_since
            && now.saturating_duration_since(since) > self.max_rate_limited
        {
            return Some(RunEnd::RateLimited(format!(
                "Freshdesk has answered only 429 (rate limited) for more than {} s (limits.max_rate_limited_secs)",
                self.max_rate_limited.as_secs()
            )));
        }
        match h.breaker.state(now) {
            BreakerState::Open { reason: Reason::Auth, .. } => Some(RunEnd::AuthFailed(
                h.auth_refusal.clone().unwrap_or_else(|| "Freshdesk refused the credentials".into()),
            )),
            BreakerState::Open { reason: Reason::Transient, .. } if !h.answered || h.opens >= MAX_OPENS => {
                Some(RunEnd::Unreachable(if h.answered {
                    "Freshdesk keeps failing (5xx, timeouts, dropped connections or unreadable answers)"
                        .into()
                } else {
                    "Freshdesk could not be reached: every request failed without an answer".into()
                }))
            }
            _ => None,
        }
    }

    pub(crate) fn snapshot(&self) -> HealthSnapshot {
        let h = self.lock();
        HealthSnapshot {
            auth_refused: h.auth_refusal.clone(),
            rate_limited_for: h.rate_limited_since.map(|s| s.elapsed()),
        }
    }

    /// Records one answer's class.
    pub(crate) fn observe<T>(&self, answer: &Answer<T>) {
        let now = Instant::now();
        let mut h = self.lock();
        if answer.http_status().is_some() {
            h.answered = true;
        }
        match answer.verdict() {
            Verdict::RateLimited(_) => {
                h.rate_limited_since.get_or_insert(now);
            }
            _ if answer.http_status().is_some() => h.rate_limited_since = None,
            _ => {}
        }
        let Some(kind) = Kind::of(answer) else { return };
        match (kind, answer) {
            (Kind::Auth, Answer::Auth { status, code, message }) => {
                h.auth_refusal =
                    Some(format!("Freshdesk refused the credentials: HTTP {status} {code}: {message}"));
            }
            (Kind::Success, _) => h.auth_refusal = None,
            _ => {}
        }
        let was_open = matches!(h.breaker.state(now), BreakerState::Open { .. });
        h.breaker.record(kind, now);
        match h.breaker.state(now) {
            BreakerState::Open { reason, until } if !was_open => {
                if reason == Reason::Transient {
                    h.opens += 1;
                }
                let secs = until.map(|u| u.saturating_duration_since(now).as_secs());
                tracing::warn!(reason = ?reason, pause_secs = ?secs, "Freshdesk keeps failing; pausing the pipeline.");
            }
            BreakerState::Closed if kind == Kind::Success => h.opens = 0,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transient() -> Answer {
        Answer::Transient { status: Some(503), reason: "x".into() }
    }

    fn ok() -> Answer {
        Answer::Ok { status: 200, value: () }
    }

    #[test]
    fn the_daemon_probes_once_a_minute_unless_the_environment_says_otherwise() {
        let minute = Some(Duration::from_secs(60));
        assert_eq!(daemon_breaker(None).auth_probe_interval, minute);
        assert_eq!(daemon_breaker(Some(" 3 ")).auth_probe_interval, Some(Duration::from_secs(3)));
        for junk in ["", "0", "-1", "1.5", "soon"] {
            assert_eq!(daemon_breaker(Some(junk)).auth_probe_interval, minute, "{junk:?}");
        }
        assert_eq!(daemon_breaker(None), BreakerConfig::default(), "production keeps the default");
    }

    #[test]
    fn a_probe_that_succeeds_after_refused_credentials_restores_full_pace() {
        let h = Health::new(Mode::Daemon, Duration::from_secs(1800));
        h.observe(&Answer::<()>::Auth {
            status: 401,
            code: "invalid_credentials".into(),
            message: "m".into(),
        });
        assert_eq!(h.room(), Some(0));
        assert!(!h.allow());
        // Move the open period into the past, as a minute passing would.
        h.lock().breaker = {
            let mut b = Breaker::new(BreakerConfig {
                auth_probe_interval: Some(Duration::ZERO),
                ..Default::default()
            });
            b.record(Kind::Auth, Instant::now());
            b
        };
        assert_eq!(h.room(), Some(1));
        assert!(h.allow(), "one probe goes");
        assert!(!h.allow(), "only one");
        h.observe(&ok());
        assert_eq!(h.room(), None, "the probe's success closes the breaker: full pace again");
        assert_eq!(h.snapshot().auth_refused, None);
    }

    #[test]
    fn failed_probes_count_as_openings_and_end_a_one_shot_run() {
        let h = Health::new(Mode::OneShot, Duration::from_secs(1800));
        h.observe(&ok());
        let short = BreakerConfig {
            base_backoff: Duration::from_millis(1),
            auth_probe_interval: None,
            ..Default::default()
        };
        h.lock().breaker = Breaker::new(short);
        for _ in 0..5 {
            h.observe(&transient());
        }
        assert_eq!(h.end(), None, "one opening is not the end");
        for _ in 0..2 {
            std::thread::sleep(Duration::from_millis(20));
            assert!(h.allow(), "the probe goes");
            h.observe(&transient());
        }
        assert!(matches!(h.end(), Some(RunEnd::Unreachable(_))), "{:?}", h.end());
    }

    #[test]
    fn only_429s_for_too_long_end_a_one_shot_run_but_not_the_daemon() {
        for (mode, stops) in [(Mode::OneShot, true), (Mode::Daemon, false)] {
            let h = Health::new(mode, Duration::ZERO);
            h.observe(&Answer::<()>::RateLimited { retry_after: Duration::from_secs(1) });
            std::thread::sleep(Duration::from_millis(5));
            assert_eq!(matches!(h.end(), Some(RunEnd::RateLimited(_))), stops, "{mode:?}");
            assert!(h.snapshot().rate_limited_for.is_some());
            h.observe(&ok());
            assert_eq!(h.end(), None);
            assert_eq!(h.snapshot().rate_limited_for, None, "any other answer clears it");
        }
    }
}
