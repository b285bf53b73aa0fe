//! Pure parsing of the quota and paging headers of one answer: `X-RateLimit-*`, `Retry-After`
//! (seconds or HTTP-date) and `Link: <..>; rel="next"` (freshdesk-api.md §2, §6). No I/O.

use super::answer::RateHeaders;
use reqwest::header::{HeaderMap, LINK, RETRY_AFTER};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

/// The shortest wait a 429 imposes, whatever `Retry-After` says (freshdesk-api.md §2: the
/// server's own floor and fallback is 1 s).
pub const MIN_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Largest `X-RateLimit-Total` believed; Freshdesk's biggest plans are a few thousand a minute.
pub const MAX_BELIEVABLE_TOTAL: i64 = 100_000;

/// Reads `X-RateLimit-Total`, `-Remaining` and `-Used-CurrentRequest` as evidence, not orders:
/// a total that is not a number in 1 ..= [`MAX_BELIEVABLE_TOTAL`] is ignored, and so is a
/// `Remaining` that is negative or above the total (warned once per process). The configured
/// cap stays in force then.
pub fn rate_headers(headers: &HeaderMap) -> RateHeaders {
    let total = header_i64(headers, "x-ratelimit-total");
    let remaining = header_i64(headers, "x-ratelimit-remaining");
    let total = match total {
        Some(Ok(n)) if (1..=MAX_BELIEVABLE_TOTAL).contains(&n) => u32::try_from(n).ok(),
        None => None,
        Some(_) => {
            warn_once(&TOTAL_WARNED, "X-RateLimit-Total");
            None
        }
    };
    let remaining = match remaining {
        Some(Ok(n)) if n >= 0 && total.is_none_or(|t| n <= i64::from(t)) && n <= MAX_BELIEVABLE_TOTAL => {
            u32::try_from(n).ok()
        }
        None => None,
        Some(_) => {
            warn_once(&REMAINING_WARNED, "X-RateLimit-Remaining");
            None
        }
    };
    let used = match header_i64(headers, "x-ratelimit-used-currentrequest") {
        Some(Ok(n)) if (0..=1000).contains(&n) => u32::try_from(n).ok(),
        _ => None,
    };
    RateHeaders { total, remaining, used }
}

static TOTAL_WARNED: AtomicBool = AtomicBool::new(false);
static REMAINING_WARNED: AtomicBool = AtomicBool::new(false);

fn warn_once(flag: &AtomicBool, header: &'static str) {
    if !flag.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            header,
            "A rate-limit header is not believable; ignoring it (the configured limits stay in force)."
        );
    }
}

/// `Some(Ok(n))` for an integer, `Some(Err(()))` for anything else present.
fn header_i64(headers: &HeaderMap, name: &str) -> Option<Result<i64, ()>> {
    let value = headers.get(name)?;
    Some(value.to_str().ok().and_then(|t| t.trim().parse::<i64>().ok()).ok_or(()))
}

/// `Retry-After` as a wait from `now`: delta-seconds or an HTTP-date, clamped into
/// [`MIN_RETRY_AFTER`] ..= `max`. Saturating throughout: no value can overflow. A number too
/// large to read is `max`; anything else unreadable (or missing) is [`MIN_RETRY_AFTER`].
pub fn retry_after(headers: &HeaderMap, now: SystemTime, max: Duration) -> Duration {
    let max = max.max(MIN_RETRY_AFTER);
    let Some(text) = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::trim) else {
        return MIN_RETRY_AFTER;
    };
    let wait = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: seconds, or more seconds than a u64 holds.
        text.parse::<u64>().map(Duration::from_secs).unwrap_or(max)
    } else {
        match httpdate::parse_http_date(text) {
            Ok(at) => at.duration_since(now).unwrap_or(Duration::ZERO),
            Err(_) => MIN_RETRY_AFTER,
        }
    };
    wait.clamp(MIN_RETRY_AFTER, max)
}

/// Whether any `Link` header carries a `rel="next"` target (Freshdesk sends it only when a
/// next page exists).
pub fn has_next_page(headers: &HeaderMap) -> bool {
    headers.get_all(LINK).iter().filter_map(|v| v.to_str().ok()).any(|v| {
        v.split(',').any(|part| {
            part.split(';').skip(1).any(|param| {
                let param = param.trim().to_ascii_lowercase();
                param == "rel=\"next\"" || param == "rel=next"
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn rate_headers_are_read_case_insensitively() {
        let h = headers(&[
            ("X-RateLimit-Total", "400"),
            ("x-ratelimit-remaining", "3"),
            ("X-Ratelimit-Used-CurrentRequest", " 3 "),
        ]);
        assert_eq!(rate_headers(&h), RateHeaders { total: Some(400), remaining: Some(3), used: Some(3) });
    }

    #[test]
    fn unbelievable_rate_headers_are_ignored_not_obeyed() {
        assert_eq!(rate_headers(&HeaderMap::new()), RateHeaders::default());
        let rows: &[(&str, &str, RateHeaders)] = &[
            ("0", "0", RateHeaders { total: None, remaining: Some(0), used: None }),
            ("-5", "1", RateHeaders { total: None, remaining: Some(1), used: None }),
            ("lots", "1", RateHeaders { total: None, remaining: Some(1), used: None }),
            ("100001", "1", RateHeaders { total: None, remaining: Some(1), used: None }),
            ("99999999999999999999", "2", RateHeaders { total: None, remaining: Some(2), used: None }),
            ("400", "-3", RateHeaders { total: Some(400), remaining: None, used: None }),
            ("400", "401", RateHeaders { total: Some(400), remaining: None, used: None }),
            ("100000", "100000", RateHeaders { total: Some(100_000), remaining: Some(100_000), used: None }),
        ];
        for (total, remaining, want) in rows {
            let h = headers(&[("x-ratelimit-total", total), ("x-ratelimit-remaining", remaining)]);
            assert_eq!(rate_headers(&h), *want, "total {total}, remaining {remaining}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates_clamped_into_one_second_to_the_max() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let max = Duration::from_secs(3600);
        let rows: &[(Option<&str>, u64)] = &[
            (Some("17"), 17),
            (Some(" 0 "), 1),
            (Some("Sun, 06 Nov 1994 08:50:07 GMT"), 30),
            (Some("Sun, 06 Nov 1994 08:40:00 GMT"), 1),
            (Some("Fri, 31 Dec 9999 23:59:59 GMT"), 3600),
            (Some("soon"), 1),
            (Some("-5"), 1),
            (Some("1.5"), 1),
            (Some("1000000000"), 3600),
            (Some("18446744073709551615"), 3600),
            (Some("99999999999999999999999999"), 3600),
            (None, 1),
        ];
        for (value, want) in rows {
            let h = match value {
                Some(v) => headers(&[("retry-after", v)]),
                None => HeaderMap::new(),
            };
            assert_eq!(retry_after(&h, now, max), Duration::from_secs(*want), "{value:?}");
        }
        let h = headers(&[("retry-after", "18446744073709551615")]);
        assert_eq!(retry_after(&h, now, Duration::ZERO), MIN_RETRY_AFTER, "a zero max still waits 1 s");
    }

    #[test]
    fn a_next_link_is_detected_only_with_rel_next() {
        let next = r#"<https://acme.freshdesk.com/api/v2/agents?per_page=1&page=2>; rel="next""#;
        assert!(has_next_page(&headers(&[("link", next)])));
        assert!(has_next_page(&headers(&[("link", r#"<a>; rel="prev", <b>; rel="next""#)])));
        assert!(!has_next_page(&headers(&[("link", r#"<a>; rel="prev""#)])));
        assert!(!has_next_page(&HeaderMap::new()));
    }
}
