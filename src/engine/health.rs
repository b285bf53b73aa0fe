//! The pipeline's health: every answer's class goes to the circuit breaker, which pauses the
//! whole pipeline on a run of transient failures or refused credentials instead of failing row
//! after row. A one-shot import stops (exit 3); the daemon waits and probes.

use super::breaker::{Breaker, BreakerConfig, BreakerState, Kind, Reason};
use super::ports::Api;
use super::{Inner, RunEnd};
use std::time::Duration;

/// What the pipeline has learnt about Freshdesk's health in this run.
pub(crate) struct Health {
    pub breaker: Breaker,
    /// Any HTTP answer at all in this run (else Freshdesk was never reached).
    pub answered: bool,
    /// Times the breaker opened on transient failures since the last success.
    pub opens: u32,
    /// The last refusal of the credentials, for the operator.
    pub auth_message: Option<String>,
}

impl Health {
    pub(super) fn new(stop_on_breaker: bool) -> Self {
        let cfg = if stop_on_breaker {
            // One-shot import: short pauses, and an auth failure ends the run (exit 3).
            BreakerConfig {
                base_backoff: Duration::from_secs(1),
                auth_probe_interval: None,
                ..BreakerConfig::default()
            }
        } else {
            BreakerConfig::default()
        };
        Self { breaker: Breaker::new(cfg), answered: false, opens: 0, auth_message: None }
    }
}

/// Transient trips without a success in between after which a one-shot import gives up.
const MAX_OPENS: u32 = 3;

impl<A: Api> Inner<A> {
    /// How many new tasks the breaker allows now: none while open, one probe when half-open.
    pub(super) fn breaker_room(&self) -> Option<usize> {
        let health = self.health.lock().expect("health lock");
        match health.breaker.state(std::time::Instant::now()) {
            BreakerState::Closed => None,
            BreakerState::HalfOpen => Some(1),
            BreakerState::Open { .. } => Some(0),
        }
    }

    /// For a one-shot run: the reason to stop, if the breaker says so.
    pub(super) fn breaker_end(&self) -> Option<RunEnd> {
        if !self.cfg.stop_on_breaker {
            return None;
        }
        let health = self.health.lock().expect("health lock");
        match health.breaker.state(std::time::Instant::now()) {
            BreakerState::Open { reason: Reason::Auth, .. } => Some(RunEnd::AuthFailed(
                health.auth_message.clone().unwrap_or_else(|| "Freshdesk refused the credentials".into()),
            )),
            BreakerState::Open { reason: Reason::Transient, .. }
                if !health.answered || health.opens >= MAX_OPENS =>
            {
                Some(RunEnd::Unreachable(if health.answered {
                    "Freshdesk keeps failing (5xx, timeouts or dropped connections); giving up for now".into()
                } else {
                    "Freshdesk could not be reached: every request failed without an answer".into()
                }))
            }
            _ => None,
        }
    }

    /// Feeds one answer's class to the breaker.
    pub(crate) fn observe(&self, answer: &crate::freshdesk::Answer) {
        use crate::freshdesk::Answer;
        let now = std::time::Instant::now();
        let mut h = self.health.lock().expect("health lock");
        let kind = match answer {
            Answer::Transient { status: None, .. } | Answer::Uncertain { .. } => Kind::Transient,
            Answer::Transient { status: Some(_), .. } => {
                h.answered = true;
                Kind::Transient
            }
            Answer::Auth { status, code, message } => {
                h.answered = true;
                h.auth_message =
                    Some(format!("Freshdesk refused the credentials: HTTP {status} {code}: {message}"));
                Kind::Auth
            }
            _ => {
                h.answered = true;
                Kind::Success
            }
        };
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
