//! Quota arithmetic for the pacer, all pure: the budget after the reserve, limiter sizing, the
//! per-class caps derived from the plan ratios, and the [`Controller`] that watches
//! `X-RateLimit-Remaining` to see what the customer's other integrations spend and slows us down
//! so the reserve survives to the end of every window. Time is injected (`now`); nothing here
//! waits or builds a limiter.

use super::ClassCaps;
use crate::freshdesk::answer::RateHeaders as Headers;
use std::time::{Duration, Instant};

/// Credits per window left to us after the reserve: `total × (1 − reserve/100)`, at least 1
/// when `total > 0`. The reserve is capped at 90 % so a typo cannot stop fdsync entirely.
pub fn budget_after_reserve(total: u32, reserve_percent: u8) -> u32 {
    if total == 0 {
        return 0;
    }
    let keep = 100 - u64::from(reserve_percent.min(90));
    ((u64::from(total) * keep / 100) as u32).max(1)
}

/// Burst of the GCRA limiter: about 1.5 % of the budget, at least 1. Small, because a fresh
/// limiter starts full and Freshdesk's fixed window punishes bursts.
pub fn burst_for(budget: u32) -> u32 {
    (budget / 64).max(1)
}

/// The GCRA emission interval: one cell every `window / budget`.
pub fn period_for(window: Duration, budget: u32) -> Duration {
    let period = window / budget.max(1);
    period.max(Duration::from_micros(1))
}

/// The plans' list caps (total, list cap): Growth, Pro, Enterprise (freshdesk-api.md §2).
const LIST_PLAN_POINTS: [(u32, u32); 3] = [(200, 20), (400, 100), (700, 200)];

/// The share of the total the list endpoints get: interpolated linearly between the plans,
/// the nearest plan's ratio outside them.
fn list_ratio(total: u32) -> f64 {
    let ratio = |(t, c): (u32, u32)| f64::from(c) / f64::from(t);
    let first = LIST_PLAN_POINTS[0];
    let last = LIST_PLAN_POINTS[LIST_PLAN_POINTS.len() - 1];
    if total <= first.0 {
        return ratio(first);
    }
    if total >= last.0 {
        return ratio(last);
    }
    for pair in LIST_PLAN_POINTS.windows(2) {
        let (lo, hi) = (pair[0], pair[1]);
        if total <= hi.0 {
            let x = f64::from(total - lo.0) / f64::from(hi.0 - lo.0);
            return ratio(lo) + x * (ratio(hi) - ratio(lo));
        }
    }
    ratio(last)
}

/// The server-side caps (before the reserve) of the four capped classes, per window: the
/// configured value, or derived from the total (create/update 40 %, lists by [`list_ratio`]).
pub fn class_caps_for(total: u32, configured: &ClassCaps) -> ClassCaps {
    let pick = |set: u32, share: f64| {
        if set > 0 { set } else { ((f64::from(total) * share).round() as u32).max(1) }
    };
    let lists = list_ratio(total);
    ClassCaps {
        ticket_create: pick(configured.ticket_create, 0.4),
        ticket_update: pick(configured.ticket_update, 0.4),
        tickets_list: pick(configured.tickets_list, lists),
        contacts_list: pick(configured.contacts_list, lists),
    }
}

/// What the controller asks of the pacer after an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advice {
    /// The rate to run the global limiter at, in credits per window.
    pub per_window: u32,
    /// Send nothing until then: the reserve would be eaten before the window ends.
    pub hold_until: Option<Instant>,
}

/// The window we are in, as far as the answers show it.
#[derive(Debug, Clone, Copy)]
struct Segment {
    /// When we first saw this window (an answer's arrival).
    start: Instant,
    /// True when the segment began with a jump of Remaining (a new window), so `start` is
    /// (nearly) the window's real start; false for the first window we saw.
    start_known: bool,
    /// Remaining and our cumulative credits at `start`.
    r0: u32,
    ours0: u64,
    /// The lowest Remaining seen in this window.
    r_min: u32,
}

/// Watches `X-RateLimit-Remaining` across answers. Remaining falling faster than our own credits
/// explain is spend by others; we leave them room so that `reserve × total` is still there at the
/// end of each window. A jump up of Remaining marks a new window.
#[derive(Debug, Clone)]
pub struct Controller {
    window: Duration,
    reserve_percent: u8,
    total: Option<u32>,
    seg: Option<Segment>,
    /// Credits per second spent by others (a lower bound), carried into the next window.
    others_rate: f64,
    /// 429 slow-down in [0.5, 1]: the server knows better than our estimate.
    penalty: f64,
    /// A 429 came in the current window (a window without one gives more of the penalty back).
    limited: bool,
    /// Our credits, counted from the answers.
    ours: u64,
}

impl Controller {
    pub fn new(window: Duration, reserve_percent: u8) -> Self {
        Self {
            window,
            reserve_percent,
            total: None,
            seg: None,
            others_rate: 0.0,
            penalty: 1.0,
            limited: false,
            ours: 0,
        }
    }

    /// The spend of others in credits per second, as last estimated.
    pub fn others_rate(&self) -> f64 {
        self.others_rate
    }

    /// The lowest Remaining seen in the current window.
    pub fn remaining(&self) -> Option<u32> {
        self.seg.map(|s| s.r_min)
    }

    /// A 429: shave 10 % off the rate (down to half). Each new window gives 2 % back, or 10 %
    /// after a window with no 429; a new `X-RateLimit-Total` (a plan change, which explains the
    /// 429s around it) lifts the penalty.
    pub fn on_rate_limited(&mut self) {
        self.penalty = (self.penalty * 0.9).max(0.5);
        self.limited = true;
    }

    /// One answer to a request sent at `sent`: the credits it cost us (0 when it never reached
    /// the server), its `Remaining`/`Total` headers, and how many of our requests are still in
    /// flight. The Remaining of a request sent before the current window was seen is ignored:
    /// a late answer from the previous window would look like a sudden loss of quota.
    pub fn observe(&mut self, now: Instant, sent: Instant, credits: u32, rate: Headers, in_flight: usize) {
        self.ours += u64::from(credits);
        if rate.total.is_some() && rate.total != self.total {
            if self.total.is_some() {
                self.penalty = 1.0;
            }
            self.total = rate.total;
            self.seg = None;
        }
        let Some(r) = rate.remaining else { return };
        if self.seg.is_some_and(|seg| sent < seg.start) {
            return;
        }
        let jump = (in_flight as u32).saturating_add(2);
        match self.seg.as_mut() {
            None => self.seg = Some(self.segment(now, r, false)),
            Some(seg) if r > seg.r_min.saturating_add(jump) => {
                let back = if self.limited { 0.02 } else { 0.1 };
                self.penalty = (self.penalty + back).min(1.0);
                self.limited = false;
                // Others' rate carries over, halved, until this window has shown its own.
                self.others_rate /= 2.0;
                self.seg = Some(self.segment(now, r, true));
            }
            Some(seg) => {
                seg.r_min = seg.r_min.min(r);
                let seg = *seg;
                self.estimate_others(now, seg, in_flight);
            }
        }
    }

    fn segment(&self, now: Instant, r: u32, start_known: bool) -> Segment {
        Segment { start: now, start_known, r0: r, ours0: self.ours, r_min: r }
    }

    /// Others' spend since the segment began, a lower bound: the drop of Remaining minus our
    /// answered credits minus what we may have in flight. Needs a tenth of a window of history.
    fn estimate_others(&mut self, now: Instant, seg: Segment, in_flight: usize) {
        let span = now.saturating_duration_since(seg.start);
        if span < self.window / 10 || span.is_zero() {
            return;
        }
        let dropped = i64::from(seg.r0) - i64::from(seg.r_min);
        let ours = (self.ours - seg.ours0) as i64;
        let others = (dropped - ours - in_flight as i64).max(0);
        self.others_rate = others as f64 / span.as_secs_f64();
    }

    /// The rate and hold the pacer should apply now, for a budget (after reserve) of `budget`.
    pub fn advice(&self, now: Instant, budget: u32, in_flight: usize) -> Advice {
        let w = self.window.as_secs_f64();
        let floor = (budget / 20).max(1);
        let mut rate = f64::from(budget) * self.penalty - self.others_rate * w;
        let mut hold_until = None;
        if let (Some(seg), Some(total)) = (self.seg, self.total) {
            let reserve = f64::from(total) * f64::from(self.reserve_percent.min(90)) / 100.0;
            // Requests sent after the answer that showed r_min: about half of those in flight.
            let r_now = f64::from(seg.r_min) - in_flight as f64 / 2.0;
            let end = seg.start + self.window;
            if r_now < reserve + 1.0 {
                // Only the reserve is left: wait for the next window (where it ends is unknown
                // before we saw one start: probe again after a tenth of a window).
                let until = if seg.start_known && end > now {
                    end + self.window / 50
                } else {
                    now + self.window / 10
                };
                hold_until = Some(until);
            } else if seg.start_known && end > now {
                // Spread what is left above the reserve, minus others' projected spend, over
                // the rest of the window.
                let left = (end - now).as_secs_f64();
                let avail = r_now - reserve - self.others_rate * left;
                rate = rate.min(avail / left * w);
            }
        }
        let per_window = (rate.floor() as i64).clamp(i64::from(floor), i64::from(budget.max(1))) as u32;
        Advice { per_window, hold_until }
    }
}
