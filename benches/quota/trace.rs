//! What one measured run saw and how it is read: counter samples taken every 5 ms, the full
//! quota windows between boundaries, and the ratios the table prints. Pure arithmetic on a
//! trace (plus the sampling thread); it must not start a simulator or send a request.

use super::RESERVE;
use fdsync_sim::SimHandle;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// One sample of the simulator's counters.
#[derive(Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) at: Instant,
    pub(crate) used: u64,
    pub(crate) created: u64,
    pub(crate) api: u64,
    pub(crate) limited: u64,
    pub(crate) competitor: u64,
}

/// What one measured run saw.
pub(crate) struct Trace {
    pub(crate) samples: Vec<Sample>,
    pub(crate) change_at: Option<Instant>,
    pub(crate) end: Instant,
}

/// A full quota window of a trace: deltas between two boundary samples.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    pub(crate) start: Instant,
    pub(crate) created: u64,
    pub(crate) api: u64,
    pub(crate) competitor: u64,
}

/// Samples the counters every 5 ms on a plain thread until `stop` is set.
pub(crate) fn sampler(sim: Arc<SimHandle>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<Sample>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let c = sim.counters();
            out.push(Sample {
                at: Instant::now(),
                used: c.quota_used,
                created: c.tickets_created + c.agents_created,
                api: c.api_requests,
                limited: c.rate_limited,
                competitor: c.competitor_spent,
            });
            std::thread::sleep(Duration::from_millis(5));
        }
        out
    })
}

/// Full windows: between consecutive boundaries (the used count drops), ending before the load stopped.
pub(crate) fn windows(t: &Trace) -> Vec<Window> {
    let s = &t.samples;
    let mut bounds: Vec<usize> = Vec::new();
    for i in 1..s.len() {
        let first = bounds.is_empty() && s[i - 1].used == 0 && s[i].used > 0;
        if first || (!bounds.is_empty() && s[i].used < s[i - 1].used) {
            bounds.push(i);
        }
    }
    let window = |pair: &[usize]| {
        let (a, b) = (&s[pair[0]], &s[pair[1]]);
        Window {
            start: a.at,
            created: b.created - a.created,
            api: b.api - a.api,
            competitor: b.competitor - a.competitor,
        }
    };
    bounds.windows(2).filter(|p| s[p[1]].at <= t.end).map(window).collect()
}

pub(crate) fn last(t: &Trace) -> Sample {
    *t.samples.last().expect("samples")
}

pub(crate) fn budget(total: u64) -> f64 {
    (total * (100 - RESERVE)) as f64 / 100.0
}

/// Mean creates per steady window (full windows after the first) ÷ `allowed`.
pub(crate) fn steady_ratio(t: &Trace, allowed: f64) -> f64 {
    let w = windows(t);
    let steady: Vec<f64> = w.iter().skip(1).map(|w| w.created as f64).collect();
    steady.iter().sum::<f64>() / steady.len() as f64 / allowed
}

pub(crate) fn share_429(t: &Trace) -> f64 {
    let s = last(t);
    s.limited as f64 / s.api.max(1) as f64
}

/// Own use (credits) of full windows ÷ (total × (1 − reserve) − the competitor's spend in it):
/// the first window's, and the largest of the steady ones.
pub(crate) fn own_use(t: &Trace, total: u64) -> (f64, f64) {
    let f = |w: &Window| w.api as f64 / (budget(total) - w.competitor as f64);
    let w = windows(t);
    let first = w.first().map_or(f64::NAN, f);
    (first, w.iter().skip(1).map(f).fold(f64::NAN, f64::max))
}

/// Creates in the `n`th (from 0) full window that starts after the change ÷ the new budget.
pub(crate) fn after_change(t: &Trace, new_total: u64, n: usize) -> f64 {
    let Some(at) = t.change_at else { return f64::NAN };
    let w = windows(t).into_iter().filter(|w| w.start >= at).nth(n);
    w.map_or(f64::NAN, |w| w.created as f64 / budget(new_total))
}

/// Seconds from the change to the first full window whose creates keep to the new budget
/// (+5 %), and the 429s after the change.
pub(crate) fn follow(t: &Trace, new_total: u64) -> (f64, u64) {
    let Some(at) = t.change_at else { return (f64::NAN, 0) };
    let limit = budget(new_total) * 1.05;
    let secs = windows(t)
        .iter()
        .find(|w| w.start >= at && w.created as f64 <= limit)
        .map_or(f64::NAN, |w| (w.start - at).as_secs_f64());
    let before = t.samples.iter().take_while(|s| s.at < at).last().map_or(0, |s| s.limited);
    (secs, last(t).limited - before)
}
