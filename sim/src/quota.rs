//! The account's rate limiter: one fixed window that starts with the first request, an account
//! total and four per-operation sub-limits (facts file §2). Pure arithmetic on an injected
//! `Instant`; the router decides the class and cost of each request and sets the headers.

use std::time::{Duration, Instant};

use crate::config::Limits;

/// Which sub-limit a request falls under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    TicketCreate,
    TicketUpdate,
    TicketsList,
    ContactsList,
    Other,
}

/// The limiter's decision for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Let through; values for the `X-RateLimit-*` headers.
    Allowed { total: u64, remaining: u64, used_now: u64 },
    /// Refused with 429; whole seconds until the window ends (≥ 1).
    Limited { retry_after: u64 },
}

/// Counters of the current window.
#[derive(Default, Debug)]
pub(crate) struct Quota {
    start: Option<Instant>,
    used: u64,
    sub: [u64; 4],
}

fn sub_index(class: Class) -> Option<usize> {
    match class {
        Class::TicketCreate => Some(0),
        Class::TicketUpdate => Some(1),
        Class::TicketsList => Some(2),
        Class::ContactsList => Some(3),
        Class::Other => None,
    }
}

fn sub_limit(limits: &Limits, index: usize) -> Option<u64> {
    [limits.ticket_create, limits.ticket_update, limits.tickets_list, limits.contacts_list]
        .get(index)
        .copied()
        .flatten()
}

impl Quota {
    /// Starts a new window if none is running or the current one has ended.
    fn roll(&mut self, window: Duration, now: Instant) -> Instant {
        match self.start {
            Some(start) if now.saturating_duration_since(start) < window => start,
            _ => {
                *self = Quota { start: Some(now), ..Quota::default() };
                now
            }
        }
    }

    /// Whole seconds left in the window, rounded up, at least 1.
    pub fn seconds_left(&self, window: Duration, now: Instant) -> u64 {
        let Some(start) = self.start else { return 1 };
        let left = (start + window).saturating_duration_since(now);
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        secs.max(1)
    }

    /// Counts a request (before it is processed, whatever its outcome) and decides on it.
    pub fn spend(
        &mut self,
        class: Class,
        cost: u64,
        limits: &Limits,
        window: Duration,
        now: Instant,
    ) -> Verdict {
        self.roll(window, now);
        self.used = self.used.saturating_add(cost);
        let mut over = self.used > limits.total;
        if let Some(i) = sub_index(class) {
            self.sub[i] = self.sub[i].saturating_add(cost);
            over |= sub_limit(limits, i).is_some_and(|l| self.sub[i] > l);
        }
        if over {
            return Verdict::Limited { retry_after: self.seconds_left(window, now) };
        }
        Verdict::Allowed { total: limits.total, remaining: limits.total - self.used, used_now: cost }
    }

    /// Spends credits for another integration on the same account (the competitor).
    pub fn spend_background(&mut self, cost: u64, window: Duration, now: Instant) {
        self.roll(window, now);
        self.used = self.used.saturating_add(cost);
    }

    /// Credits used in the current window (0 if it has ended).
    pub fn used(&self, window: Duration, now: Instant) -> u64 {
        match self.start {
            Some(start) if now.saturating_duration_since(start) < window => self.used,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Plan;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn headers_count_down_then_429_until_the_window_ends() {
        let limits = Limits::resolve(Plan::Trial, None);
        let mut q = Quota::default();
        let t0 = Instant::now();
        let first = q.spend(Class::Other, 1, &limits, MIN, t0);
        assert_eq!(first, Verdict::Allowed { total: 50, remaining: 49, used_now: 1 });
        for _ in 1..50 {
            q.spend(Class::Other, 1, &limits, MIN, t0);
        }
        let t1 = t0 + Duration::from_millis(50_500);
        assert_eq!(q.spend(Class::Other, 1, &limits, MIN, t1), Verdict::Limited { retry_after: 10 });
        let next = q.spend(Class::Other, 1, &limits, MIN, t0 + MIN);
        assert_eq!(next, Verdict::Allowed { total: 50, remaining: 49, used_now: 1 });
    }

    #[test]
    fn a_sub_limit_refuses_its_class_but_not_others() {
        let limits = Limits::resolve(Plan::Growth, None);
        let mut q = Quota::default();
        let t0 = Instant::now();
        for _ in 0..20 {
            assert!(matches!(q.spend(Class::TicketsList, 1, &limits, MIN, t0), Verdict::Allowed { .. }));
        }
        assert!(matches!(q.spend(Class::TicketsList, 1, &limits, MIN, t0), Verdict::Limited { .. }));
        assert!(matches!(q.spend(Class::TicketCreate, 1, &limits, MIN, t0), Verdict::Allowed { .. }));
    }

    #[test]
    fn retry_after_is_at_least_one_second() {
        let limits = Limits::resolve(Plan::Trial, None);
        let mut q = Quota::default();
        let t0 = Instant::now();
        q.spend(Class::Other, 60, &limits, MIN, t0);
        let late = t0 + MIN - Duration::from_millis(1);
        assert_eq!(q.spend(Class::Other, 1, &limits, MIN, late), Verdict::Limited { retry_after: 1 });
    }
}
