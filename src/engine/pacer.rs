//! Pacing: spends the account's Freshdesk quota without exceeding it. Every request first takes
//! a [`Permit`] from the shared [`Pacer`], which waits, in order, for the global 429 pause gate,
//! a concurrency slot (the adaptive limit, [`super::arc`]), the endpoint class limiter and the
//! global GCRA limiter. The answer goes back through [`Permit::finish`], which feeds the rate
//! headers, RTT, 429s and timeouts back. The pacer never sends, retries or classifies anything.
//!
//! The quota arithmetic and the Remaining controller are pure and live in [`budget`]; one pacer
//! per Freshdesk account, shared by the connections to it, comes from [`Accounts`].

mod accounts;
pub mod budget;

pub use accounts::Accounts;

use super::arc::{ArcController, ArcSettings, Signal};
use crate::freshdesk::answer::{Answer, EndpointClass, Reply};
use budget::{Controller, budget_after_reserve, burst_for, class_caps_for, period_for};
use governor::{DefaultDirectRateLimiter, Quota};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How the pacer is sized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacerConfig {
    /// The account's total per window; 0 = learn it from `X-RateLimit-Total`. When set it is
    /// also a cap: a larger server total is not used.
    pub requests_per_window: u32,
    /// The quota window (60 s on real accounts; shorter in benchmarks).
    pub window: Duration,
    /// Share of the total left to the customer's other integrations.
    pub reserve_percent: u8,
    /// Upper bound of the adaptive concurrency limit.
    pub max_concurrency: usize,
    pub class_caps: ClassCaps,
}

/// Per-window server caps of the capped endpoint classes; 0 = derive from the total by the
/// plan ratios (create/update 40 %, lists 10 %–28 %).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassCaps {
    pub ticket_create: u32,
    pub ticket_update: u32,
    pub tickets_list: u32,
    pub contacts_list: u32,
}

impl PacerConfig {
    pub fn from_limits(l: &crate::config::Limits) -> Self {
        Self {
            requests_per_window: l.requests_per_window,
            window: l.window,
            reserve_percent: l.reserve_percent,
            max_concurrency: l.concurrency.max(1),
            class_caps: ClassCaps {
                ticket_create: l.ticket_create_per_window,
                ticket_update: l.ticket_update_per_window,
                tickets_list: l.tickets_list_per_window,
                contacts_list: l.contacts_list_per_window,
            },
        }
    }
}

/// What `fdsync status` and the logs show.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PacerSnapshot {
    pub server_total: Option<u32>,
    /// Credits per window we allow ourselves (after the reserve, before others' spend).
    pub budget_per_window: Option<u32>,
    /// The global limiter's current rate: the budget less others' spend and 429 slow-downs.
    pub pace_per_window: Option<u32>,
    pub window_secs: f64,
    /// The lowest `X-RateLimit-Remaining` seen in the current window.
    pub remaining: Option<u32>,
    pub in_flight: usize,
    pub concurrency_limit: usize,
    pub requests: u64,
    pub credits_used: u64,
    pub rate_limited: u64,
    pub paused_for_ms: u64,
}

type Limiter = DefaultDirectRateLimiter;

/// A pause longer than this is logged (once) and shown by progress, `status` and STATUS.
pub const LONG_WAIT: Duration = Duration::from_secs(60);

/// One generation of limiters, swapped whole when the total or the advised rate changes
/// (governor cannot resize a limiter in place).
struct Limiters {
    /// The total they were sized for.
    total: u32,
    /// The global limiter's rate, credits per window.
    per_window: u32,
    /// When the global limiter was built: rate changes are applied at most every `window / 20`.
    built: Instant,
    global: Arc<Limiter>,
    /// TicketCreate, TicketUpdate, TicketsList, ContactsList.
    classes: [Arc<Limiter>; 4],
}

impl Limiters {
    fn new(cfg: &PacerConfig, total: u32, per_window: u32) -> Self {
        let caps = class_caps_for(total, &cfg.class_caps);
        let class = |cap: u32| limiter(cfg.window, budget_after_reserve(cap, cfg.reserve_percent));
        Self {
            total,
            per_window,
            built: Instant::now(),
            global: limiter(cfg.window, per_window),
            classes: [
                class(caps.ticket_create),
                class(caps.ticket_update),
                class(caps.tickets_list),
                class(caps.contacts_list),
            ],
        }
    }

    /// The same class limiters (their state kept) with a new global rate.
    fn with_global(&self, window: Duration, per_window: u32) -> Self {
        Self {
            total: self.total,
            per_window,
            built: Instant::now(),
            global: limiter(window, per_window),
            classes: self.classes.clone(),
        }
    }

    fn class(&self, class: EndpointClass) -> Option<&Arc<Limiter>> {
        match class {
            EndpointClass::TicketCreate => Some(&self.classes[0]),
            EndpointClass::TicketUpdate => Some(&self.classes[1]),
            EndpointClass::TicketsList => Some(&self.classes[2]),
            EndpointClass::ContactsList => Some(&self.classes[3]),
            EndpointClass::Other => None,
        }
    }
}

/// A GCRA limiter of `per_window` cells per `window`, with a small burst that is spent at once:
/// a swapped-in limiter must not hand out a fresh burst on top of what the old one allowed.
fn limiter(window: Duration, per_window: u32) -> Arc<Limiter> {
    let per_window = per_window.max(1);
    let burst = NonZeroU32::new(burst_for(per_window)).unwrap_or(NonZeroU32::MIN);
    let quota = Quota::with_period(period_for(window, per_window))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst);
    let lim = Limiter::direct(quota);
    let _ = lim.check_n(burst);
    Arc::new(lim)
}

/// Mutable state behind one lock (never held across an await).
struct State {
    arc: ArcController,
    controller: Controller,
    server_total: Option<u32>,
    in_flight: usize,
    requests: u64,
    credits_used: u64,
    rate_limited: u64,
}

/// The shared pacer. Create once with [`Pacer::new`] and hand the `Arc` to every worker.
pub struct Pacer {
    cfg: PacerConfig,
    state: Mutex<State>,
    /// None until a total is known (configured or learned); then one request at a time.
    limiters: RwLock<Option<Arc<Limiters>>>,
    /// Nobody passes the gate before this instant (429s, holds, the circuit breaker).
    pause_until: Mutex<Option<tokio::time::Instant>>,
    slot_freed: Notify,
}

impl Pacer {
    pub fn new(cfg: PacerConfig) -> Arc<Pacer> {
        let now = Instant::now();
        let arc = ArcController::new(ArcSettings::new(cfg.max_concurrency), now);
        let controller = Controller::new(cfg.window, cfg.reserve_percent);
        let limiters = (cfg.requests_per_window > 0).then(|| {
            let total = cfg.requests_per_window;
            Arc::new(Limiters::new(&cfg, total, budget_after_reserve(total, cfg.reserve_percent)))
        });
        Arc::new(Pacer {
            state: Mutex::new(State {
                arc,
                controller,
                server_total: None,
                in_flight: 0,
                requests: 0,
                credits_used: 0,
                rate_limited: 0,
            }),
            limiters: RwLock::new(limiters),
            pause_until: Mutex::new(None),
            slot_freed: Notify::new(),
            cfg,
        })
    }

    /// Waits, in this order: the global 429 pause gate, a concurrency slot (the adaptive limit),
    /// the class limiter, the global limiter.
    pub async fn acquire(self: &Arc<Self>, class: EndpointClass) -> Permit {
        self.wait_gate().await;
        let waited_for_slot = self.take_slot().await;
        let mut permit = Permit { pacer: Arc::clone(self), sent: Instant::now() };
        let started = Instant::now();
        let limiters = self.current_limiters();
        if let Some(lims) = limiters {
            if let Some(lim) = lims.class(class) {
                lim.until_ready().await;
            }
            lims.global.until_ready().await;
        }
        let waited_for_rate = started.elapsed() > Duration::from_millis(2);
        // A 429 may have arrived while we waited on the limiters.
        self.wait_gate().await;
        let mut st = self.lock();
        st.arc.on_acquired(waited_for_slot, waited_for_rate);
        st.requests += 1;
        drop(st);
        permit.sent = Instant::now();
        permit
    }

    /// Pauses every worker for `d` (from now; an existing longer pause stays).
    pub fn pause_for(&self, d: Duration) {
        // A day is far beyond any clamped Retry-After; it keeps the addition overflow-free.
        let d = d.min(Duration::from_secs(86_400));
        let until = tokio::time::Instant::now() + d;
        let mut gate = self.pause_until.lock().unwrap_or_else(|e| e.into_inner());
        if gate.is_none_or(|cur| cur < until) {
            let was_long = gate.is_some_and(|cur| cur > tokio::time::Instant::now() + LONG_WAIT);
            *gate = Some(until);
            if d > LONG_WAIT && !was_long {
                let ends = time::OffsetDateTime::now_utc() + d;
                tracing::warn!(wait_secs = d.as_secs(), ends = %ends, "Freshdesk asked fdsync to wait a long time; every request waits until then.");
            }
        }
    }

    pub fn snapshot(&self) -> PacerSnapshot {
        let lims = self.current_limiters();
        let st = self.lock();
        let paused = self.paused_for();
        PacerSnapshot {
            server_total: st.server_total,
            budget_per_window: lims.as_ref().map(|l| budget_after_reserve(l.total, self.cfg.reserve_percent)),
            pace_per_window: lims.as_ref().map(|l| l.per_window),
            window_secs: self.cfg.window.as_secs_f64(),
            remaining: st.controller.remaining(),
            in_flight: st.in_flight,
            concurrency_limit: self.concurrency_limit(&st, lims.is_some()),
            requests: st.requests,
            credits_used: st.credits_used,
            rate_limited: st.rate_limited,
            paused_for_ms: u64::try_from(paused.as_millis()).unwrap_or(u64::MAX),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn current_limiters(&self) -> Option<Arc<Limiters>> {
        self.limiters.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn paused_for(&self) -> Duration {
        let gate = *self.pause_until.lock().unwrap_or_else(|e| e.into_inner());
        gate.map_or(Duration::ZERO, |u| u.saturating_duration_since(tokio::time::Instant::now()))
    }

    fn concurrency_limit(&self, st: &State, sized: bool) -> usize {
        if sized { st.arc.limit().min(self.cfg.max_concurrency).max(1) } else { 1 }
    }

    async fn wait_gate(&self) {
        loop {
            let gate = *self.pause_until.lock().unwrap_or_else(|e| e.into_inner());
            match gate {
                Some(until) if until > tokio::time::Instant::now() => tokio::time::sleep_until(until).await,
                _ => return,
            }
        }
    }

    /// Takes an in-flight slot; true when it had to wait for one.
    async fn take_slot(&self) -> bool {
        let mut waited = false;
        loop {
            let notified = self.slot_freed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let sized = self.current_limiters().is_some();
                let mut st = self.lock();
                if st.in_flight < self.concurrency_limit(&st, sized) {
                    st.in_flight += 1;
                    return waited;
                }
            }
            waited = true;
            notified.await;
        }
    }

    fn release(&self) {
        self.lock().in_flight -= 1;
        self.slot_freed.notify_waiters();
    }

    /// Feeds one answer back (called by [`Permit::finish`] while the slot is still held).
    fn observe<T>(&self, sent: Instant, reply: &Reply<T>) {
        let now = Instant::now();
        let mut guard = self.lock();
        let in_flight = guard.in_flight.saturating_sub(1);
        let reached = reply.answer.http_status().is_some();
        let credits = if reached { reply.rate.used.unwrap_or(1) } else { 0 };
        guard.credits_used += u64::from(credits);
        let st = &mut *guard;
        st.controller.observe(now, sent, credits, reply.rate, in_flight);
        if reply.rate.total.is_some() {
            st.server_total = reply.rate.total;
        }
        let signal = match &reply.answer {
            Answer::RateLimited { retry_after } => {
                st.rate_limited += 1;
                st.controller.on_rate_limited();
                self.pause_for(*retry_after);
                Signal::BackPressure
            }
            Answer::Transient { .. } | Answer::Uncertain { .. } => Signal::BackPressure,
            _ => Signal::Ok,
        };
        st.arc.on_response(now, reply.elapsed, signal);
        let total = match (self.cfg.requests_per_window, st.server_total) {
            (0, server) => server,
            (cfg, Some(server)) => Some(cfg.min(server)),
            (cfg, None) => Some(cfg),
        };
        let Some(total) = total else { return };
        let budget = budget_after_reserve(total, self.cfg.reserve_percent);
        let advice = st.controller.advice(now, budget, in_flight);
        drop(guard);
        if let Some(hold) = advice.hold_until {
            self.pause_for(hold.saturating_duration_since(now));
        }
        self.resize(total, advice.per_window);
    }

    /// Swaps in new limiters when the total changed, or a new global one when the advised rate
    /// moved by more than 5 % (at most every `window / 20`: each swap restarts the schedule).
    fn resize(&self, total: u32, per_window: u32) {
        let mut slot = self.limiters.write().unwrap_or_else(|e| e.into_inner());
        let next = match slot.as_ref() {
            Some(cur) if cur.total == total => {
                let diff = cur.per_window.abs_diff(per_window);
                let due = cur.built.elapsed() >= self.cfg.window / 20;
                (due && diff * 20 > cur.per_window).then(|| cur.with_global(self.cfg.window, per_window))
            }
            _ => Some(Limiters::new(&self.cfg, total, per_window)),
        };
        if let Some(next) = next {
            *slot = Some(Arc::new(next));
        }
    }
}

/// An in-flight slot. Dropping it without [`Permit::finish`] frees the slot and reports nothing.
pub struct Permit {
    pacer: Arc<Pacer>,
    /// When it was granted (the request leaves right after).
    sent: Instant,
}

impl Permit {
    /// Feeds the answer (headers, RTT, 429, timeout) to the pacer and frees the slot.
    pub fn finish<T>(self, reply: &Reply<T>) {
        self.pacer.observe(self.sent, reply);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.pacer.release();
    }
}

#[cfg(test)]
mod tests;
