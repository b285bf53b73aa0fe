//! The quota chart: a bounded ring of per-window counts of requests and 429s, fed from the
//! pacer's running totals at every status tick, and drawn as inline SVG (bars, no script, no
//! style attributes, so the page's `Content-Security-Policy` holds). Pure: no I/O, no clock.

use maud::{Markup, html};
use std::collections::VecDeque;

/// Windows kept: an hour of Freshdesk's one-minute windows.
pub(crate) const WINDOWS: usize = 60;

/// Requests and 429s in one quota window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Sample {
    /// The window's number (its start in ms divided by its length).
    pub(crate) window: i64,
    pub(crate) requests: u64,
    pub(crate) rate_limited: u64,
}

/// The last [`WINDOWS`] windows, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Ring {
    samples: VecDeque<Sample>,
    /// The pacer's totals at the previous tick.
    last_totals: Option<(u64, u64)>,
}

impl Ring {
    /// Adds what happened since the last tick to the window `now_ms` falls in; windows with no
    /// tick are kept as empty ones so the chart's time axis stays even.
    pub(crate) fn record(&mut self, now_ms: i64, window_secs: f64, requests: u64, rate_limited: u64) {
        let window_ms = ((window_secs * 1000.0) as i64).max(1);
        let window = now_ms.div_euclid(window_ms);
        let (dr, dl) = match self.last_totals {
            Some((r, l)) => (requests.saturating_sub(r), rate_limited.saturating_sub(l)),
            None => (requests, rate_limited),
        };
        self.last_totals = Some((requests, rate_limited));
        let last = self.samples.back().map(|s| s.window);
        match last {
            Some(w) if w >= window => {}
            Some(w) => {
                let gap = (window - w).min(WINDOWS as i64);
                for k in (1..=gap).rev() {
                    self.push(Sample { window: window - k + 1, ..Sample::default() });
                }
            }
            None => self.push(Sample { window, ..Sample::default() }),
        }
        if let Some(s) = self.samples.back_mut() {
            s.requests += dr;
            s.rate_limited += dl;
        }
    }

    fn push(&mut self, s: Sample) {
        if self.samples.len() == WINDOWS {
            self.samples.pop_front();
        }
        self.samples.push_back(s);
    }

    pub(crate) fn samples(&self) -> Vec<Sample> {
        self.samples.iter().copied().collect()
    }
}

const W: u64 = 600;
const H: u64 = 150;
const TOP: u64 = 14;

/// Bars of requests (and 429s in front of them) per window, scaled to the busiest window; the
/// budget as a dashed line when it is on that scale (else named above the chart).
pub(crate) fn svg(samples: &[Sample], budget: Option<u32>, window_secs: f64) -> Markup {
    let peak = samples.iter().map(|s| s.requests).max().unwrap_or(0);
    let max = (peak + peak / 4).max(10);
    let (budget, off_scale) = match budget.map(u64::from) {
        Some(b) if b <= max => (Some(b), None),
        other => (None, other),
    };
    let slot = W / WINDOWS as u64;
    let height = |v: u64| v.min(max) * (H - TOP) / max;
    let offset = (WINDOWS - samples.len().min(WINDOWS)) as u64;
    let label = format!(
        "Requests and 429 answers per {window_secs:.0}-second window over the last {} windows; peak {peak}",
        samples.len()
    );
    html! {
        svg class="chart" viewBox=(format!("0 0 {W} {}", H + 16)) role="img" aria-label=(label)
            xmlns="http://www.w3.org/2000/svg" {
            title { (label) }
            rect x="0" y="0" width=(W) height=(H) class="chart-bg" {}
            @for (i, s) in samples.iter().enumerate() {
                @let x = (offset + i as u64) * slot;
                rect class="bar-req" x=(x) y=(H - height(s.requests)) width=(slot - 1)
                    height=(height(s.requests)) {}
                @if s.rate_limited > 0 {
                    rect class="bar-429" x=(x) y=(H - height(s.rate_limited)) width=(slot - 1)
                        height=(height(s.rate_limited).max(2)) {}
                }
            }
            @if let Some(b) = budget {
                line class="budget" x1="0" x2=(W) y1=(H - height(b)) y2=(H - height(b)) {}
                text x="4" y=((H - height(b)).max(TOP) - 3) class="chart-label" { "budget " (b) }
            }
            @if let Some(b) = off_scale {
                text x="4" y="11" class="chart-label" { "budget " (b) " per window, above this scale" }
            }
            text x=(W - 4) y="11" text-anchor="end" class="chart-label" { "max " (max) }
            text x="0" y=(H + 13) class="chart-label" { "older" }
            text x=(W) y=(H + 13) text-anchor="end" class="chart-label" { "now" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_add_up_per_window_gaps_stay_empty_and_the_ring_is_bounded() {
        let mut r = Ring::default();
        r.record(0, 60.0, 10, 0);
        r.record(2_000, 60.0, 15, 1);
        r.record(61_000, 60.0, 20, 1);
        r.record(240_000, 60.0, 26, 3);
        let got: Vec<(i64, u64, u64)> =
            r.samples().iter().map(|s| (s.window, s.requests, s.rate_limited)).collect();
        assert_eq!(got, [(0, 15, 1), (1, 5, 0), (2, 0, 0), (3, 0, 0), (4, 6, 2)]);
        for k in 5..200 {
            r.record(k * 60_000, 60.0, 26 + k as u64, 3);
        }
        let s = r.samples();
        assert_eq!(s.len(), WINDOWS);
        assert_eq!(s.last().map(|s| (s.window, s.requests)), Some((199, 1)));
    }

    #[test]
    fn the_chart_draws_a_bar_per_window_and_marks_429s_and_the_budget() {
        let samples = [
            Sample { window: 1, requests: 100, rate_limited: 0 },
            Sample { window: 2, requests: 50, rate_limited: 5 },
        ];
        let svg = svg(&samples, Some(120), 60.0).into_string();
        assert_eq!(svg.matches("class=\"bar-req\"").count(), 2, "{svg}");
        assert_eq!(svg.matches("class=\"bar-429\"").count(), 1, "{svg}");
        assert!(svg.contains("class=\"budget\"") && svg.contains("budget 120"), "{svg}");
        assert!(svg.contains("max 125"), "scaled to the busiest window: {svg}");
        assert!(!svg.contains("style="), "no inline style: the CSP forbids it");
        let far = super::svg(&samples, Some(10_800), 60.0).into_string();
        assert!(!far.contains("class=\"budget\""), "{far}");
        assert!(far.contains("budget 10800 per window, above this scale"), "{far}");
    }
}
