//! Adaptive concurrency (ARC): decides how many requests may be in flight at once, from the
//! round-trip times and back-pressure of the answers. A pure controller with an injected clock,
//! modelled on Vector's `adaptive_concurrency` controller: additive increase by one per RTT window
//! while the RTT stays near its moving mean and the slots (not the rate limiter) are the
//! bottleneck; multiplicative decrease on back-pressure (429, timeout, transient failure) or an
//! RTT spike. It never waits and never sends: the pacer asks it for `limit()`.

use std::time::{Duration, Instant};

/// Tuning of the controller. `new(max)` gives sensible defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArcSettings {
    /// The limit before any answer came back.
    pub initial: usize,
    /// Upper bound (`limits.concurrency`).
    pub max: usize,
    /// Factor applied to the limit on back-pressure or an RTT spike.
    pub decrease_ratio: f64,
    /// Weight of the newest window in the RTT moving mean.
    pub ewma_alpha: f64,
    /// An RTT window whose mean exceeds `mean + scale × stddev` counts as a spike.
    pub rtt_deviation_scale: f64,
}

impl ArcSettings {
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        Self { initial: 2.min(max), max, decrease_ratio: 0.9, ewma_alpha: 0.4, rtt_deviation_scale: 2.5 }
    }
}

/// What one answer says about the server's load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// An answer came back in time (success or a definite refusal).
    Ok,
    /// 429, timeout, uncertain or transient failure: the server (or the path) is overloaded.
    BackPressure,
}

/// Exponentially weighted moving mean and variance.
#[derive(Debug, Clone, Copy, Default)]
struct Ewma {
    mean: Option<f64>,
    var: f64,
}

impl Ewma {
    fn update(&mut self, x: f64, alpha: f64) {
        match self.mean {
            None => self.mean = Some(x),
            Some(mean) => {
                let diff = x - mean;
                let incr = alpha * diff;
                self.mean = Some(mean + incr);
                self.var = (1.0 - alpha) * (self.var + diff * incr);
            }
        }
    }

    fn stddev(&self) -> f64 {
        self.var.max(0.0).sqrt()
    }
}

/// The controller. Feed it `on_acquired` for each granted request and `on_response` for each
/// answer; read `limit()`.
#[derive(Debug, Clone)]
pub struct ArcController {
    settings: ArcSettings,
    limit: usize,
    /// Moving mean and deviation of the per-window mean RTT (seconds).
    past_rtt: Ewma,
    window_start: Instant,
    /// Length of the current RTT window: the moving mean RTT (100 ms before any sample).
    window_len: Duration,
    rtt_sum: f64,
    rtt_count: u32,
    back_pressure: bool,
    acquires: u32,
    /// Acquires that had to wait for a free slot: the limit was reached.
    slot_waits: u32,
    /// Acquires that waited on the rate limiter: more slots would not send more.
    rate_waits: u32,
}

impl ArcController {
    pub fn new(settings: ArcSettings, now: Instant) -> Self {
        let limit = settings.initial.clamp(1, settings.max.max(1));
        Self {
            settings,
            limit,
            past_rtt: Ewma::default(),
            window_start: now,
            window_len: Duration::from_millis(100),
            rtt_sum: 0.0,
            rtt_count: 0,
            back_pressure: false,
            acquires: 0,
            slot_waits: 0,
            rate_waits: 0,
        }
    }

    /// The number of requests that may be in flight now.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The moving mean RTT, once an answer came back.
    pub fn mean_rtt(&self) -> Option<Duration> {
        self.past_rtt.mean.map(Duration::from_secs_f64)
    }

    /// A request was granted. `waited_for_slot`: the limit was reached when it asked;
    /// `waited_for_rate`: it then waited on the rate limiter.
    pub fn on_acquired(&mut self, waited_for_slot: bool, waited_for_rate: bool) {
        self.acquires += 1;
        self.slot_waits += u32::from(waited_for_slot);
        self.rate_waits += u32::from(waited_for_rate);
    }

    /// An answer came back after `rtt`. Back-pressure answers do not feed the RTT statistics
    /// (a timeout's elapsed time says nothing about the server's normal latency).
    pub fn on_response(&mut self, now: Instant, rtt: Duration, signal: Signal) {
        match signal {
            Signal::Ok => {
                self.rtt_sum += rtt.as_secs_f64();
                self.rtt_count += 1;
            }
            Signal::BackPressure => self.back_pressure = true,
        }
        if now.saturating_duration_since(self.window_start) >= self.window_len {
            self.end_window(now);
        }
    }

    fn end_window(&mut self, now: Instant) {
        let current = (self.rtt_count > 0).then(|| self.rtt_sum / f64::from(self.rtt_count));
        let mean = self.past_rtt.mean;
        let sd = self.past_rtt.stddev();
        let spike = match (current, mean) {
            // A 10 % floor keeps the first windows (deviation still ~0) from reading noise as spikes.
            (Some(c), Some(m)) => c > m + (self.settings.rtt_deviation_scale * sd).max(0.1 * m),
            _ => false,
        };
        let rtt_near_mean = match (current, mean) {
            (Some(c), Some(m)) => c <= m + sd,
            _ => false,
        };
        // More slots help only if the limit was reached and the rate limiter is not what holds
        // requests back: a window where 90 % of the grants waited on it is rate-bound.
        let slot_bound = self.slot_waits > 0 && self.rate_waits * 10 < self.acquires * 9;
        if self.back_pressure || spike {
            let decreased = (self.limit as f64 * self.settings.decrease_ratio).floor() as usize;
            self.limit = decreased.max(1);
        } else if rtt_near_mean && slot_bound && self.limit < self.settings.max {
            self.limit += 1;
        }
        if let Some(c) = current {
            self.past_rtt.update(c, self.settings.ewma_alpha);
        }
        let len = self.past_rtt.mean.unwrap_or(0.1).clamp(0.01, 5.0);
        self.window_len = Duration::from_secs_f64(len);
        self.window_start = now;
        self.rtt_sum = 0.0;
        self.rtt_count = 0;
        self.back_pressure = false;
        self.acquires = 0;
        self.slot_waits = 0;
        self.rate_waits = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Closed-loop simulation: workers always have work; each request holds a slot while it waits
    /// for the rate limiter (one grant every `1/rate` s) and then for its RTT. Returns the range
    /// of the limit and the achieved throughput (requests per second) over the last half.
    fn simulate_seeded(
        seed: u64,
        rate: f64,
        rtt: impl Fn(&mut fastrand::Rng) -> Duration,
        secs: u64,
        max: usize,
    ) -> (usize, usize, f64) {
        let mut rng = fastrand::Rng::with_seed(seed);
        let t0 = Instant::now();
        let mut arc = ArcController::new(ArcSettings::new(max), t0);
        let spacing = Duration::from_secs_f64(1.0 / rate);
        let mut now = t0;
        let mut next_grant = t0;
        let mut in_flight: Vec<(Instant, Duration)> = Vec::new();
        let mut done_late = 0u32;
        let (mut lo, mut hi) = (usize::MAX, 0);
        let end = t0 + Duration::from_secs(secs);
        while now < end {
            while in_flight.len() < arc.limit() {
                let grant = next_grant.max(now);
                next_grant = grant + spacing;
                // Every acquire after the first fill found the limit reached (infinite demand).
                arc.on_acquired(true, grant > now + 2 * MS);
                let rtt = rtt(&mut rng);
                in_flight.push((grant + rtt, rtt));
            }
            in_flight.sort_by_key(|(t, _)| *t);
            let (done_at, rtt) = in_flight.remove(0);
            now = done_at;
            arc.on_response(now, rtt, Signal::Ok);
            if now >= t0 + Duration::from_secs(secs / 2) {
                done_late += 1;
                lo = lo.min(arc.limit());
                hi = hi.max(arc.limit());
            }
        }
        (lo, hi, f64::from(done_late) / (secs / 2) as f64)
    }

    fn simulate(rate: f64, rtt: impl Fn(&mut fastrand::Rng) -> Duration, secs: u64, max: usize) -> usize {
        simulate_seeded(7, rate, rtt, secs, max).1
    }

    #[test]
    fn limit_starts_at_two_and_never_exceeds_max() {
        let now = Instant::now();
        assert_eq!(ArcController::new(ArcSettings::new(8), now).limit(), 2);
        assert_eq!(ArcController::new(ArcSettings::new(1), now).limit(), 1);
        let limit = simulate(1000.0, |_| 100 * MS, 30, 5);
        assert_eq!(limit, 5, "rate never binds, so it grows to the max and stops there");
    }

    #[test]
    fn converges_to_six_to_nine_in_flight_at_30_per_second_with_50_to_300_ms_latency() {
        for seed in 0..8 {
            let latency = |rng: &mut fastrand::Rng| Duration::from_millis(rng.u64(50..=300));
            let (lo, hi, throughput) = simulate_seeded(seed, 30.0, latency, 120, 32);
            assert!(lo >= 5 && hi <= 9, "seed {seed}: limit ranged {lo}..={hi}");
            assert!(throughput > 29.4, "seed {seed}: {throughput} req/s of 30");
        }
    }

    #[test]
    fn does_not_grow_while_the_rate_limiter_is_the_bottleneck() {
        let limit = simulate(5.0, |_| 100 * MS, 60, 32);
        assert!(limit <= 3, "limit {limit}");
    }

    #[test]
    fn back_pressure_cuts_the_limit_multiplicatively() {
        let mut now = Instant::now();
        let mut arc = ArcController::new(ArcSettings { initial: 20, ..ArcSettings::new(32) }, now);
        for _ in 0..3 {
            now += Duration::from_millis(150);
            arc.on_response(now, 100 * MS, Signal::BackPressure);
        }
        // 20 → 18 → 16 → 14: one cut per RTT window, not one per answer.
        assert_eq!(arc.limit(), 14);
        for _ in 0..40 {
            now += Duration::from_millis(150);
            arc.on_response(now, 100 * MS, Signal::BackPressure);
        }
        assert_eq!(arc.limit(), 1, "never below one");
    }

    #[test]
    fn an_rtt_spike_cuts_the_limit_and_a_steady_rtt_does_not() {
        let mut now = Instant::now();
        let mut arc = ArcController::new(ArcSettings { initial: 10, ..ArcSettings::new(32) }, now);
        for i in 0..50 {
            now += 120 * MS;
            arc.on_response(now, Duration::from_millis(100 + (i % 3) * 5), Signal::Ok);
        }
        assert_eq!(arc.limit(), 10, "no slot waits: no increase; steady RTT: no decrease");
        now += 120 * MS;
        arc.on_response(now, Duration::from_millis(900), Signal::Ok);
        assert_eq!(arc.limit(), 9);
    }

    #[test]
    fn additive_increase_is_one_per_rtt_window() {
        let mut now = Instant::now();
        let mut arc = ArcController::new(ArcSettings::new(32), now);
        for _ in 0..10 {
            arc.on_acquired(true, false);
            arc.on_acquired(true, false);
            now += 110 * MS;
            arc.on_response(now, 100 * MS, Signal::Ok);
            arc.on_response(now, 100 * MS, Signal::Ok);
        }
        // The first window only sets the mean: nine increases.
        assert_eq!(arc.limit(), 11);
    }
}
