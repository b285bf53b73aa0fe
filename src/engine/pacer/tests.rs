use super::budget::*;
use super::*;
use crate::freshdesk::answer::RateHeaders;

fn cfg(total: u32, window: Duration, reserve: u8) -> PacerConfig {
    PacerConfig {
        requests_per_window: total,
        window,
        reserve_percent: reserve,
        max_concurrency: 8,
        class_caps: ClassCaps::default(),
    }
}

fn reply(answer: Answer, total: Option<u32>, remaining: Option<u32>, used: Option<u32>) -> Reply {
    Reply {
        answer,
        rate: RateHeaders { total, remaining, used },
        elapsed: Duration::from_millis(100),
        next_page: false,
    }
}

fn ok(total: Option<u32>, remaining: Option<u32>) -> Reply {
    reply(Answer::Ok { status: 200, value: () }, total, remaining, Some(1))
}

#[test]
fn budget_keeps_the_reserve_and_never_rounds_to_zero() {
    assert_eq!(budget_after_reserve(200, 10), 180);
    assert_eq!(budget_after_reserve(700, 10), 630);
    assert_eq!(budget_after_reserve(1, 50), 1);
    assert_eq!(budget_after_reserve(0, 10), 0);
    assert_eq!(budget_after_reserve(100, 100), 10, "the reserve is capped at 90 %");
}

#[test]
fn burst_is_about_one_and_a_half_percent_and_at_least_one() {
    assert_eq!(burst_for(180), 2);
    assert_eq!(burst_for(630), 9);
    assert_eq!(burst_for(10), 1);
    assert_eq!(period_for(Duration::from_secs(60), 180), Duration::from_secs(60) / 180);
}

#[test]
fn class_caps_follow_the_plan_table() {
    let none = ClassCaps::default();
    let caps = |t| {
        let c = class_caps_for(t, &none);
        (c.ticket_create, c.ticket_update, c.tickets_list, c.contacts_list)
    };
    assert_eq!(caps(200), (80, 80, 20, 20));
    assert_eq!(caps(400), (160, 160, 100, 100));
    assert_eq!(caps(700), (280, 280, 200, 200));
    assert_eq!(caps(50), (20, 20, 5, 5), "below Growth: Growth's ratio");
    assert_eq!(caps(1400), (560, 560, 400, 400), "above Enterprise: Enterprise's ratio");
    // Half-way between Growth (10 %) and Pro (25 %): 17.5 % of 300.
    assert_eq!(caps(300).2, 53);
}

#[test]
fn configured_class_caps_win_over_the_derived_ones() {
    let set = ClassCaps { ticket_create: 7, ticket_update: 0, tickets_list: 3, contacts_list: 0 };
    let c = class_caps_for(400, &set);
    assert_eq!((c.ticket_create, c.ticket_update, c.tickets_list, c.contacts_list), (7, 160, 3, 100));
}

// ---- the Remaining controller -----------------------------------------------------------

fn hdr(remaining: u32) -> RateHeaders {
    RateHeaders { total: Some(200), remaining: Some(remaining), used: Some(1) }
}

/// Feeds `n` of our answers, one per `step`, while others spend `others_per_answer` between
/// consecutive answers. Returns the time after the last one.
fn feed(
    c: &mut Controller,
    t: Instant,
    remaining: &mut u32,
    n: u32,
    step: Duration,
    others_per_answer: u32,
) -> Instant {
    let mut now = t;
    for _ in 0..n {
        now += step;
        *remaining = remaining.saturating_sub(1 + others_per_answer);
        c.observe(now, now, 1, hdr(*remaining), 0);
    }
    now
}

#[test]
fn controller_gives_the_full_budget_when_nobody_else_spends() {
    let mut c = Controller::new(Duration::from_secs(10), 10);
    let t0 = Instant::now();
    let mut r = 200;
    let now = feed(&mut c, t0, &mut r, 36, Duration::from_millis(55), 0);
    assert_eq!(c.others_rate(), 0.0);
    assert_eq!(c.advice(now, 180, 0), Advice { per_window: 180, hold_until: None });
}

#[test]
fn controller_leaves_room_for_what_others_spend() {
    let mut c = Controller::new(Duration::from_secs(10), 10);
    let t0 = Instant::now();
    let mut r = 200;
    // Ours: one credit per 200 ms; others: one more credit per 200 ms = 5/s = 50 per window.
    let now = feed(&mut c, t0, &mut r, 20, Duration::from_millis(200), 1);
    assert!((c.others_rate() - 5.0).abs() < 0.6, "others {}", c.others_rate());
    let advice = c.advice(now, 180, 0);
    assert!((125..=135).contains(&advice.per_window), "{advice:?}");
}

#[test]
fn controller_recovers_when_a_new_window_shows_others_stopped() {
    let mut c = Controller::new(Duration::from_secs(10), 10);
    let t0 = Instant::now();
    let mut r = 200;
    let now = feed(&mut c, t0, &mut r, 20, Duration::from_millis(200), 2);
    assert!(c.advice(now, 180, 0).per_window < 100);
    // A new window: Remaining jumps back up; others are quiet from now on.
    let mut r = 200;
    let now = feed(&mut c, now, &mut r, 15, Duration::from_millis(100), 0);
    assert_eq!(c.others_rate(), 0.0);
    assert_eq!(c.advice(now, 180, 0).per_window, 180);
}

#[test]
fn controller_holds_until_the_window_ends_when_only_the_reserve_is_left() {
    let w = Duration::from_secs(10);
    let mut c = Controller::new(w, 10);
    let t0 = Instant::now();
    c.observe(t0, t0, 1, hdr(150), 0);
    // A new window starts at t1 (Remaining jumps); others then burn it down to the reserve.
    let t1 = t0 + Duration::from_secs(3);
    c.observe(t1, t1, 1, hdr(199), 0);
    let t2 = t1 + Duration::from_secs(2);
    c.observe(t2, t2, 1, hdr(20), 0);
    let advice = c.advice(t2, 180, 0);
    let until = advice.hold_until.expect("hold");
    assert!(until >= t1 + w && until <= t1 + w + w / 10, "{:?}", until - t1);
}

#[test]
fn a_late_answer_from_the_previous_window_does_not_trigger_a_hold() {
    let w = Duration::from_secs(10);
    let mut c = Controller::new(w, 10);
    let t0 = Instant::now();
    c.observe(t0, t0, 1, hdr(40), 3);
    let t1 = t0 + Duration::from_secs(1);
    c.observe(t1, t1 - Duration::from_millis(100), 1, hdr(198), 3);
    // Sent before the new window showed, answered by the old one.
    c.observe(t1 + Duration::from_millis(20), t1 - Duration::from_millis(150), 1, hdr(25), 2);
    assert_eq!(c.remaining(), Some(198));
    let advice = c.advice(t1 + Duration::from_millis(20), 180, 2);
    assert!(advice.hold_until.is_none() && advice.per_window >= 175, "{advice:?}");
}

#[test]
fn controller_slows_down_after_a_429_and_recovers_over_windows() {
    let mut c = Controller::new(Duration::from_secs(10), 10);
    let t0 = Instant::now();
    c.observe(t0, t0, 1, hdr(150), 0);
    c.on_rate_limited();
    assert_eq!(c.advice(t0, 180, 0).per_window, 162);
    c.observe(t0 + Duration::from_secs(11), t0 + Duration::from_secs(11), 1, hdr(199), 0);
    assert_eq!(c.advice(t0 + Duration::from_secs(11), 180, 0).per_window, 165);
}

#[test]
fn a_plan_change_lifts_the_429_penalty_and_a_clean_window_gives_ten_percent_back() {
    let s = Duration::from_secs(1);
    let mut c = Controller::new(10 * s, 10);
    let t0 = Instant::now();
    c.observe(t0, t0, 1, hdr(150), 0);
    c.on_rate_limited();
    c.on_rate_limited();
    assert_eq!(c.advice(t0, 180, 0).per_window, 145, "two 429s: 0.81 of 180");
    // A new window after one with 429s gives 2 % back ...
    let t1 = t0 + 11 * s;
    c.observe(t1, t1, 1, hdr(199), 0);
    assert_eq!(c.advice(t1, 180, 0).per_window, 149, "0.83 of 180");
    c.observe(t1 + s, t1 + s, 49, hdr(150), 0);
    // ... and one after a clean window gives 10 % back.
    let t2 = t1 + 10 * s;
    c.observe(t2, t2, 1, hdr(199), 0);
    assert_eq!(c.advice(t2, 180, 0).per_window, 167, "0.93 of 180");
    // A plan change explains the 429s around it: the penalty is lifted at once.
    c.on_rate_limited();
    let bigger = RateHeaders { total: Some(300), remaining: Some(299), used: Some(1) };
    c.observe(t2 + s, t2 + s, 1, bigger, 0);
    assert_eq!(c.advice(t2 + s, 270, 0).per_window, 270, "the new budget, in full");
}

// ---- the async pacer ----------------------------------------------------------------------

#[tokio::test]
async fn unknown_total_allows_one_request_until_the_first_answer_sizes_the_limiter() {
    let pacer = Pacer::new(cfg(0, Duration::from_secs(60), 10));
    let first = pacer.acquire(EndpointClass::Other).await;
    assert_eq!(pacer.snapshot().concurrency_limit, 1);
    let second = tokio::time::timeout(Duration::from_millis(30), pacer.acquire(EndpointClass::Other)).await;
    assert!(second.is_err(), "a second request must wait for the first answer");
    first.finish(&ok(Some(6000), Some(5999)));
    let snap = pacer.snapshot();
    assert_eq!(snap.server_total, Some(6000));
    assert_eq!(snap.budget_per_window, Some(5400));
    assert_eq!(snap.concurrency_limit, 2);
    let a = pacer.acquire(EndpointClass::Other).await;
    let b = pacer.acquire(EndpointClass::Other).await;
    assert_eq!(pacer.snapshot().in_flight, 2);
    drop((a, b));
    assert_eq!(pacer.snapshot().in_flight, 0);
}

#[tokio::test]
async fn a_plan_change_resizes_the_budget_and_a_configured_total_caps_it() {
    // One-second windows keep the limiter waits to a few milliseconds.
    let learned = Pacer::new(cfg(0, Duration::from_secs(1), 10));
    learned.acquire(EndpointClass::Other).await.finish(&ok(Some(200), Some(199)));
    assert_eq!(learned.snapshot().budget_per_window, Some(180));
    learned.acquire(EndpointClass::Other).await.finish(&ok(Some(400), Some(398)));
    let snap = learned.snapshot();
    assert_eq!(
        (snap.server_total, snap.budget_per_window, snap.pace_per_window),
        (Some(400), Some(360), Some(360))
    );

    let capped = Pacer::new(cfg(100, Duration::from_secs(1), 10));
    assert_eq!(capped.snapshot().budget_per_window, Some(90), "sized before any answer");
    capped.acquire(EndpointClass::Other).await.finish(&ok(Some(700), Some(699)));
    assert_eq!(capped.snapshot().budget_per_window, Some(90), "a larger server total is not used");
    capped.acquire(EndpointClass::Other).await.finish(&ok(Some(60), Some(59)));
    assert_eq!(capped.snapshot().budget_per_window, Some(54), "a smaller one is");
}

#[tokio::test(start_paused = true)]
async fn a_429_blocks_every_later_acquire_until_retry_after() {
    let pacer = Pacer::new(cfg(100_000, Duration::from_secs(1), 10));
    let permit = pacer.acquire(EndpointClass::TicketCreate).await;
    let t0 = tokio::time::Instant::now();
    permit.finish(&reply(Answer::RateLimited { retry_after: Duration::from_secs(7) }, None, None, None));
    assert!(pacer.snapshot().paused_for_ms > 6_900);
    let _next = pacer.acquire(EndpointClass::Other).await;
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_secs(7) && waited < Duration::from_millis(7_200), "{waited:?}");
    let snap = pacer.snapshot();
    assert_eq!(snap.rate_limited, 1);
    assert_eq!(snap.credits_used, 1, "the 429 counted against the quota");
}

#[tokio::test(start_paused = true)]
async fn pause_for_blocks_acquire_and_a_shorter_pause_does_not_shorten_it() {
    let pacer = Pacer::new(cfg(100_000, Duration::from_secs(1), 10));
    let t0 = tokio::time::Instant::now();
    pacer.pause_for(Duration::from_secs(5));
    pacer.pause_for(Duration::from_secs(1));
    let _p = pacer.acquire(EndpointClass::Other).await;
    assert!(t0.elapsed() >= Duration::from_secs(5));
}

#[tokio::test]
async fn credits_used_counts_the_used_header_and_requests_count_permits() {
    let pacer = Pacer::new(cfg(100_000, Duration::from_secs(1), 10));
    let p = pacer.acquire(EndpointClass::TicketsList).await;
    let r = reply(Answer::Ok { status: 200, value: () }, Some(100_000), Some(99_990), Some(3));
    p.finish(&r);
    let snap = pacer.snapshot();
    assert_eq!((snap.requests, snap.credits_used, snap.remaining), (1, 3, Some(99_990)));
}

#[tokio::test]
async fn the_global_limiter_paces_requests_at_the_budget() {
    // 200 per 1 s with a 50 % reserve: 100/s, one every 10 ms; 30 requests take about 300 ms.
    let pacer = Pacer::new(cfg(200, Duration::from_secs(1), 50));
    let t0 = Instant::now();
    for _ in 0..30 {
        let p = pacer.acquire(EndpointClass::Other).await;
        drop(p);
    }
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(260) && took < Duration::from_millis(600), "{took:?}");
}

#[tokio::test]
async fn a_capped_class_is_paced_by_its_own_limiter() {
    // Total 200 per 1 s, no reserve: ticket list cap 20/s (one per 50 ms), global 200/s.
    let pacer = Pacer::new(cfg(200, Duration::from_secs(1), 0));
    let t0 = Instant::now();
    for _ in 0..6 {
        drop(pacer.acquire(EndpointClass::TicketsList).await);
    }
    let lists = t0.elapsed();
    let t1 = Instant::now();
    for _ in 0..6 {
        drop(pacer.acquire(EndpointClass::Other).await);
    }
    let others = t1.elapsed();
    assert!(lists >= Duration::from_millis(280), "{lists:?}");
    assert!(others < Duration::from_millis(100), "{others:?}");
}

// ---- closed-loop simulation of the controller against a fixed-window server ----------------

/// A Freshdesk-like fixed window: it starts with the first request after the last one expired.
struct Server {
    total: u32,
    window: Duration,
    start: Option<Instant>,
    count: u32,
    /// (our credits, others' credits, remaining) of each finished window.
    closed: Vec<(u32, u32, u32)>,
    ours: u32,
    others: u32,
}

impl Server {
    /// Counts one request at `t`; returns Remaining, or None for a 429.
    fn hit(&mut self, t: Instant, ours: bool) -> Option<u32> {
        if self.start.is_none_or(|s| t >= s + self.window) {
            if self.start.is_some() {
                self.closed.push((self.ours, self.others, self.total.saturating_sub(self.count)));
            }
            (self.start, self.count, self.ours, self.others) = (Some(t), 0, 0, 0);
        }
        self.count += 1;
        if ours {
            self.ours += 1
        } else {
            self.others += 1
        }
        (self.count <= self.total).then(|| self.total - self.count)
    }
}

/// Runs `secs` of traffic: we pace by the controller's advice (RTT 150 ms), others send at
/// `others_per_sec(t)`. Returns the server's closed windows and our 429 count.
fn run(secs: u64, others_per_sec: impl Fn(Duration) -> f64) -> (Vec<(u32, u32, u32)>, u32) {
    let (w, total, reserve) = (Duration::from_secs(10), 200, 10);
    let budget = budget_after_reserve(total, reserve);
    let rtt = Duration::from_millis(150);
    let t0 = Instant::now() + Duration::from_millis(3_700); // not aligned with anything
    let mut server = Server { total, window: w, start: None, count: 0, closed: vec![], ours: 0, others: 0 };
    let mut c = Controller::new(w, reserve);
    let (mut next_ours, mut next_others) = (t0, t0);
    let mut pending: Vec<(Instant, Instant, Option<u32>)> = vec![]; // (arrives, sent, remaining)
    let mut advice = Advice { per_window: budget, hold_until: None };
    let mut limited = 0;
    let end = t0 + Duration::from_secs(secs);
    loop {
        let first_answer = pending.iter().map(|p| p.0).min();
        let now = [Some(next_ours), Some(next_others), first_answer].into_iter().flatten().min().unwrap();
        if now >= end {
            return (server.closed, limited);
        }
        if first_answer == Some(now) {
            let i = pending.iter().position(|p| p.0 == now).unwrap();
            let (_, sent, remaining) = pending.swap_remove(i);
            let headers = RateHeaders { total: Some(total), remaining, used: remaining.map(|_| 1) };
            c.observe(now, sent, 1, headers, pending.len());
            if remaining.is_none() {
                limited += 1;
                c.on_rate_limited();
            }
            advice = c.advice(now, budget, pending.len());
        } else if next_ours == now {
            if advice.hold_until.is_some_and(|h| h > now) {
                next_ours = advice.hold_until.unwrap();
                continue;
            }
            let remaining = server.hit(now + rtt / 2, true);
            pending.push((now + rtt, now, remaining));
            next_ours = now + w / advice.per_window.max(1);
        } else {
            let rate = others_per_sec(now - t0);
            if rate > 0.0 {
                server.hit(now, false);
            }
            next_others = now + Duration::from_secs_f64(if rate > 0.0 { 1.0 / rate } else { 0.1 });
        }
    }
}

#[test]
fn simulated_run_uses_the_budget_and_keeps_the_reserve_when_alone() {
    let (windows, limited) = run(120, |_| 0.0);
    assert_eq!(limited, 0);
    for &(ours, _, left) in &windows[1..] {
        assert!((172..=182).contains(&ours), "{windows:?}");
        assert!(left >= 18, "{windows:?}");
    }
}

#[test]
fn simulated_run_yields_to_others_and_recovers_when_they_stop() {
    // Others spend 5/s (50 per window) for the first 60 s, then stop.
    let (windows, limited) = run(150, |t| if t < Duration::from_secs(60) { 5.0 } else { 0.0 });
    assert_eq!(limited, 0, "{windows:?}");
    for &(ours, others, left) in &windows[1..] {
        assert!(left >= 17, "the reserve survives: {windows:?}");
        assert!(ours + others >= 170, "the budget is used: {windows:?}");
    }
    let late = &windows[windows.len() - 4..];
    assert!(late.iter().all(|&(ours, _, _)| ours >= 172), "recovered: {windows:?}");
}

#[test]
fn simulated_run_survives_a_burst_by_others() {
    // Others burn 120 credits at 60/s in the middle of the run: far beyond the reserve, so the
    // window runs dry, but we back off at once and come back when it is over.
    let burst = |t: Duration| if (40..42).contains(&t.as_secs()) { 60.0 } else { 0.0 };
    let (windows, limited) = run(120, burst);
    assert_eq!(limited, 0, "{windows:?}");
    let hit: Vec<usize> = (0..windows.len()).filter(|&i| windows[i].1 > 0).collect();
    assert!(!hit.is_empty() && hit.iter().all(|&i| windows[i].0 < 170), "{windows:?}");
    let after = hit.last().unwrap() + 1;
    assert!(windows[after..].iter().all(|w| w.0 >= 172 && w.2 >= 18), "{windows:?}");
}

// ---- end to end: concurrent workers against an in-process fixed-window server ---------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_workers_learn_the_total_and_stay_inside_the_quota() {
    // 60 per 250 ms with a 10 % reserve: 54 per window, 216/s. The run lasts 0.8 s.
    let window = Duration::from_millis(250);
    let pacer = Pacer::new(PacerConfig { max_concurrency: 8, ..cfg(0, window, 10) });
    let server = Arc::new(Mutex::new(Server {
        total: 60,
        window,
        start: None,
        count: 0,
        closed: vec![],
        ours: 0,
        others: 0,
    }));
    let end = Instant::now() + Duration::from_millis(800);
    let mut workers = vec![];
    for i in 0..8u64 {
        let (pacer, server) = (Arc::clone(&pacer), Arc::clone(&server));
        workers.push(tokio::spawn(async move {
            while Instant::now() < end {
                let permit = pacer.acquire(EndpointClass::Other).await;
                tokio::time::sleep(Duration::from_millis(5 + i * 2)).await;
                let remaining = server.lock().unwrap().hit(Instant::now(), true);
                let answer = match remaining {
                    Some(_) => Answer::Ok { status: 200, value: () },
                    None => Answer::RateLimited { retry_after: Duration::from_millis(100) },
                };
                permit.finish(&reply(answer, remaining.map(|_| 60), remaining, remaining.map(|_| 1)));
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let snap = pacer.snapshot();
    let windows = server.lock().unwrap().closed.clone();
    assert_eq!(snap.rate_limited, 0, "{windows:?}");
    assert_eq!(snap.server_total, Some(60));
    assert!(windows.iter().all(|w| w.0 <= 56), "{windows:?}");
    // Loose: timing on a loaded machine. The pure simulations above pin the figures.
    assert!(windows[1..].iter().all(|w| w.0 >= 30), "{windows:?} {snap:?}");
}
