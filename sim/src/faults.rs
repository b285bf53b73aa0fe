//! Fault injection for /api/v2: a seeded die picks, per request, an added latency and at most
//! one fault. Pure decisions plus the 5xx HTML body; the router applies them (the connection
//! kill switch lives in `server`).

use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::config::SimConfig;

/// The fault chosen for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    None,
    /// 502 or 503 with an HTML body; nothing applied.
    Fail(u16),
    /// Apply the change, then close the connection without answering.
    Drop,
    /// Close the connection before anything is applied.
    Reset,
    /// Apply the change, then answer 502 or 504 with an HTML body (a gateway lost the answer).
    FailAfter(u16),
    /// Hold the request for `late_delay`, then apply the change and answer.
    Late,
}

/// Rolls latency and fault for one request. The rates are independent slices of one draw, in a
/// fixed order (reset, 5xx, drop, 5xx after apply, late), so adding a rate never changes which
/// requests the earlier ones hit. The two apply-then-fault kinds only hit requests that
/// `change` something; a read that draws one of them gets no fault.
pub(crate) fn roll(rng: &mut fastrand::Rng, config: &SimConfig, change: bool) -> (Option<Duration>, Fault) {
    let latency = config.latency_ms.map(|(a, b)| Duration::from_millis(rng.u64(a.min(b)..=a.max(b))));
    let draw = rng.f64();
    let (reset, fail, drop) = (config.reset_rate, config.fail_rate, config.drop_rate);
    let (fail_after, late) = (config.fail_after_rate, config.late_rate);
    let applied_from = reset + fail + drop;
    let fault = if draw < reset {
        Fault::Reset
    } else if draw < reset + fail {
        Fault::Fail(if rng.bool() { 502 } else { 503 })
    } else if draw < reset + fail + drop {
        Fault::Drop
    } else if draw < applied_from + fail_after {
        // The status comes from the same draw: no extra roll, so later requests keep their dice.
        let status = if draw < applied_from + fail_after / 2.0 { 502 } else { 504 };
        if change { Fault::FailAfter(status) } else { Fault::None }
    } else if draw < applied_from + fail_after + late {
        if change { Fault::Late } else { Fault::None }
    } else {
        Fault::None
    };
    (latency, fault)
}

/// Whole seconds left in a 429 storm, or `None` when no storm is running.
pub(crate) fn storm_left(config: &SimConfig, now: Instant) -> Option<u64> {
    let until = config.storm_until?;
    let left = until.checked_duration_since(now).filter(|d| !d.is_zero())?;
    Some((left.as_secs() + u64::from(left.subsec_nanos() > 0)).max(1))
}

/// An edge-style 5xx: HTML, like a load balancer's error page.
pub(crate) fn html_error(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let reason = status.canonical_reason().unwrap_or("Error");
    let body = format!(
        "<html><head><title>{0} {1}</title></head><body><center><h1>{0} {1}</h1></center></body></html>\n",
        status.as_u16(),
        reason
    );
    (status, [(header::CONTENT_TYPE, "text/html")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_faults() {
        let cfg = SimConfig { fail_rate: 0.3, drop_rate: 0.3, reset_rate: 0.1, ..SimConfig::default() };
        let a: Vec<_> = {
            let mut rng = fastrand::Rng::with_seed(7);
            (0..50).map(|_| roll(&mut rng, &cfg, true).1).collect()
        };
        let mut rng = fastrand::Rng::with_seed(7);
        let b: Vec<_> = (0..50).map(|_| roll(&mut rng, &cfg, true).1).collect();
        assert_eq!(a, b);
        assert!(a.contains(&Fault::Drop) && a.contains(&Fault::Reset) && a.contains(&Fault::None));
    }

    #[test]
    fn zero_rates_never_fault() {
        let mut rng = fastrand::Rng::with_seed(1);
        let cfg = SimConfig::default();
        assert!((0..1000).all(|_| roll(&mut rng, &cfg, true) == (None, Fault::None)));
    }

    #[test]
    fn apply_then_fault_kinds_hit_changes_only_and_keep_the_older_kinds_in_place() {
        let old = SimConfig { fail_rate: 0.2, drop_rate: 0.2, ..SimConfig::default() };
        let new = SimConfig { fail_after_rate: 0.2, late_rate: 0.2, ..old.clone() };
        let rolls = |cfg: &SimConfig, change: bool| -> Vec<Fault> {
            let mut rng = fastrand::Rng::with_seed(5);
            (0..200).map(|_| roll(&mut rng, cfg, change).1).collect()
        };
        let (before, after) = (rolls(&old, true), rolls(&new, true));
        for (b, a) in before.iter().zip(&after) {
            if *b != Fault::None {
                assert_eq!(a, b, "an older kind moved");
            }
        }
        assert!(after.contains(&Fault::Late));
        assert!(after.contains(&Fault::FailAfter(502)) && after.contains(&Fault::FailAfter(504)));
        let reads = rolls(&new, false);
        assert!(reads.iter().all(|f| !matches!(f, Fault::Late | Fault::FailAfter(_))));
        assert!(reads.contains(&Fault::Drop), "reads still get the older kinds");
    }
}
