//! Circuit breaker: stops the whole pipeline when Freshdesk refuses our credentials or keeps
//! failing, instead of failing every op one by one. A pure state machine with an injected clock;
//! the engine records each answer's kind, asks `allow` before sending, and pauses the pacer while
//! the breaker is open. It never sleeps and never retries anything itself.

use crate::freshdesk::answer::{Answer, Verdict};
use std::time::{Duration, Instant};

/// Tuning of the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive transient failures that open the breaker.
    pub transient_threshold: u32,
    /// First open period after transient failures; doubled on each failed probe.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// After an auth failure: probe again after this long (daemon), or `None` to stay open
    /// until a human acts (one-shot import: the engine exits 3).
    pub auth_probe_interval: Option<Duration>,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            transient_threshold: 5,
            base_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(300),
            auth_probe_interval: Some(Duration::from_secs(60)),
        }
    }
}

/// What an answer means to the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any answer showing the account works (2xx, and definite refusals of one row).
    Success,
    /// 5xx, timeouts, connection failures.
    Transient,
    /// Credentials refused or the account unusable.
    Auth,
}

impl Kind {
    /// What an answer means to the breaker; `None` for a 429 (the pacer handles those). An
    /// unreadable answer counts as a failure: a proxy page in front of Freshdesk is not health.
    pub fn of<T>(answer: &Answer<T>) -> Option<Kind> {
        match answer.verdict() {
            Verdict::RateLimited(_) => None,
            Verdict::ProvesNothing { .. } => Some(Kind::Transient),
            Verdict::Refused => Some(Kind::Auth),
            Verdict::Ok | Verdict::Final => Some(Kind::Success),
        }
    }
}

/// Why the breaker opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Auth,
    Transient,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    /// Nothing may be sent; `until: None` means until a human fixes it.
    Open {
        until: Option<Instant>,
        reason: Reason,
    },
    /// One probe may go through; its outcome closes or re-opens the breaker.
    HalfOpen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inner {
    Closed { consecutive: u32 },
    Open { until: Option<Instant>, reason: Reason },
    HalfOpen { reason: Reason, probe_sent: bool },
}

#[derive(Debug, Clone)]
pub struct Breaker {
    cfg: BreakerConfig,
    inner: Inner,
    /// Transient trips since the last success: sets the doubling backoff.
    trips: u32,
}

impl Breaker {
    pub fn new(cfg: BreakerConfig) -> Self {
        Self { cfg, inner: Inner::Closed { consecutive: 0 }, trips: 0 }
    }

    pub fn state(&self, now: Instant) -> BreakerState {
        match self.inner {
            Inner::Closed { .. } => BreakerState::Closed,
            Inner::Open { until: Some(until), .. } if now >= until => BreakerState::HalfOpen,
            Inner::Open { until, reason } => BreakerState::Open { until, reason },
            Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// May a request go now? When the open period is over, lets exactly one probe through.
    pub fn allow(&mut self, now: Instant) -> bool {
        match self.inner {
            Inner::Closed { .. } => true,
            Inner::Open { until: Some(until), reason } if now >= until => {
                self.inner = Inner::HalfOpen { reason, probe_sent: true };
                true
            }
            Inner::Open { .. } => false,
            Inner::HalfOpen { reason, probe_sent: false } => {
                self.inner = Inner::HalfOpen { reason, probe_sent: true };
                true
            }
            Inner::HalfOpen { probe_sent: true, .. } => false,
        }
    }

    pub fn record(&mut self, kind: Kind, now: Instant) {
        match (kind, self.inner) {
            (Kind::Auth, _) => {
                let until = self.cfg.auth_probe_interval.map(|d| now + d);
                self.inner = Inner::Open { until, reason: Reason::Auth };
            }
            // A late success from before an auth failure proves nothing about the credentials.
            (Kind::Success, Inner::Open { reason: Reason::Auth, .. }) => {}
            (Kind::Success, _) => {
                self.inner = Inner::Closed { consecutive: 0 };
                self.trips = 0;
            }
            (Kind::Transient, Inner::Closed { consecutive }) => {
                let consecutive = consecutive + 1;
                if consecutive >= self.cfg.transient_threshold.max(1) {
                    self.trip(now);
                } else {
                    self.inner = Inner::Closed { consecutive };
                }
            }
            (Kind::Transient, Inner::HalfOpen { .. }) => self.trip(now),
            // Answers to requests sent before the breaker opened.
            (Kind::Transient, Inner::Open { .. }) => {}
        }
    }

    fn trip(&mut self, now: Instant) {
        let doubling = super::retry::Doubling { first: self.cfg.base_backoff, max: self.cfg.max_backoff };
        let backoff = doubling.after(self.trips);
        self.trips += 1;
        self.inner = Inner::Open { until: Some(now + backoff), reason: Reason::Transient };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn open_until(b: &Breaker, now: Instant) -> Option<Instant> {
        match b.state(now) {
            BreakerState::Open { until, .. } => until,
            other => panic!("expected open, got {other:?}"),
        }
    }

    #[test]
    fn five_consecutive_transient_failures_open_it_and_a_success_in_between_resets_the_count() {
        let t = Instant::now();
        let mut b = Breaker::new(BreakerConfig::default());
        for _ in 0..4 {
            b.record(Kind::Transient, t);
        }
        b.record(Kind::Success, t);
        for _ in 0..4 {
            b.record(Kind::Transient, t);
        }
        assert_eq!(b.state(t), BreakerState::Closed);
        b.record(Kind::Transient, t);
        assert_eq!(b.state(t), BreakerState::Open { until: Some(t + 5 * S), reason: Reason::Transient });
        assert!(!b.allow(t + 4 * S));
    }

    #[test]
    fn half_open_lets_one_probe_through_and_its_success_closes() {
        let t = Instant::now();
        let mut b = Breaker::new(BreakerConfig { transient_threshold: 1, ..Default::default() });
        b.record(Kind::Transient, t);
        assert_eq!(b.state(t + 5 * S), BreakerState::HalfOpen);
        assert!(b.allow(t + 5 * S));
        assert!(!b.allow(t + 5 * S), "only one probe");
        b.record(Kind::Success, t + 6 * S);
        assert_eq!(b.state(t + 6 * S), BreakerState::Closed);
        assert!(b.allow(t + 6 * S));
    }

    #[test]
    fn a_failed_probe_reopens_with_a_doubled_backoff_capped_at_five_minutes() {
        let t = Instant::now();
        let mut b = Breaker::new(BreakerConfig { transient_threshold: 1, ..Default::default() });
        let mut now = t;
        let mut periods = vec![];
        b.record(Kind::Transient, now);
        for _ in 0..8 {
            let until = open_until(&b, now).expect("timed");
            periods.push((until - now).as_secs());
            now = until;
            assert!(b.allow(now));
            b.record(Kind::Transient, now);
        }
        assert_eq!(periods, [5, 10, 20, 40, 80, 160, 300, 300]);
        b.record(Kind::Success, now);
        b.record(Kind::Transient, now);
        assert_eq!(open_until(&b, now), Some(now + 5 * S), "a success resets the backoff");
    }

    #[test]
    fn auth_failure_opens_until_a_human_acts_when_there_is_no_probe_interval() {
        let t = Instant::now();
        let mut b = Breaker::new(BreakerConfig { auth_probe_interval: None, ..Default::default() });
        b.record(Kind::Auth, t);
        let far = t + Duration::from_secs(86_400);
        assert_eq!(b.state(far), BreakerState::Open { until: None, reason: Reason::Auth });
        assert!(!b.allow(far));
        b.record(Kind::Success, far);
        assert!(!b.allow(far), "a late success does not close an auth-open breaker");
    }

    #[test]
    fn auth_failure_in_the_daemon_probes_again_after_the_interval() {
        let t = Instant::now();
        let mut b = Breaker::new(BreakerConfig::default());
        b.record(Kind::Auth, t);
        assert!(!b.allow(t + 59 * S));
        assert!(b.allow(t + 60 * S));
        b.record(Kind::Auth, t + 61 * S);
        assert_eq!(
            b.state(t + 61 * S),
            BreakerState::Open { until: Some(t + 121 * S), reason: Reason::Auth }
        );
        assert!(b.allow(t + 121 * S));
        b.record(Kind::Success, t + 122 * S);
        assert_eq!(b.state(t + 122 * S), BreakerState::Closed);
    }

    #[test]
    fn answers_map_to_kinds_and_a_429_is_left_to_the_pacer() {
        let transient: Answer = Answer::Transient { status: Some(503), reason: "x".into() };
        let auth: Answer =
            Answer::Auth { status: 401, code: "invalid_credentials".into(), message: String::new() };
        let html: Answer = Answer::Unverifiable { status: 200, why: "content type text/html".into() };
        assert_eq!(Kind::of(&transient), Some(Kind::Transient));
        assert_eq!(Kind::of(&Answer::<()>::Uncertain { reason: "timeout".into() }), Some(Kind::Transient));
        assert_eq!(Kind::of(&html), Some(Kind::Transient));
        assert_eq!(Kind::of(&auth), Some(Kind::Auth));
        assert_eq!(Kind::of(&Answer::<()>::NotFound), Some(Kind::Success));
        assert_eq!(Kind::of(&Answer::Ok { status: 200, value: () }), Some(Kind::Success));
        assert_eq!(Kind::of(&Answer::<()>::RateLimited { retry_after: S }), None);
    }

    #[test]
    fn transient_answers_arriving_while_open_do_not_extend_it() {
        let t = Instant::now();
        let mut b = Breaker::new(BreakerConfig { transient_threshold: 1, ..Default::default() });
        b.record(Kind::Transient, t);
        b.record(Kind::Transient, t + S);
        assert_eq!(open_until(&b, t + S), Some(t + 5 * S));
    }
}
