//! Pure parsing of the quota and paging headers of one answer: `X-RateLimit-*`, `Retry-After`
//! (seconds or HTTP-date) and `Link: <..>; rel="next"` (freshdesk-api.md §2, §6). No I/O.

use super::answer::RateHeaders;
use reqwest::header::{HeaderMap, LINK, RETRY_AFTER};
use std::time::{Duration, SystemTime};

/// `Retry-After` when the header is missing or unreadable (freshdesk-api.md §2: the server's own
/// fallback is 1 s).
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Reads `X-RateLimit-Total`, `-Remaining` and `-Used-CurrentRequest`. An unreadable value is
/// absent; a negative `Remaining` counts as 0.
pub fn rate_headers(headers: &HeaderMap) -> RateHeaders {
    RateHeaders {
        total: header_u32(headers, "x-ratelimit-total"),
        remaining: header_u32(headers, "x-ratelimit-remaining"),
        used: header_u32(headers, "x-ratelimit-used-currentrequest"),
    }
}

fn header_u32(headers: &HeaderMap, name: &str) -> Option<u32> {
    let text = headers.get(name)?.to_str().ok()?.trim();
    match text.parse::<i64>() {
        Ok(n) if n < 0 => Some(0),
        Ok(n) => u32::try_from(n).ok(),
        Err(_) => None,
    }
}

/// `Retry-After` as a wait from `now`: delta-seconds, or an HTTP-date (a date in the past gives
/// 0 s). Missing or unreadable: [`DEFAULT_RETRY_AFTER`].
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Duration {
    let Some(text) = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::trim) else {
        return DEFAULT_RETRY_AFTER;
    };
    if let Ok(secs) = text.parse::<u64>() {
        return Duration::from_secs(secs);
    }
    match httpdate::parse_http_date(text) {
        Ok(at) => at.duration_since(now).unwrap_or(Duration::ZERO),
        Err(_) => DEFAULT_RETRY_AFTER,
    }
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
    fn rate_headers_are_read_case_insensitively_and_clamped() {
        let h = headers(&[
            ("X-RateLimit-Total", "400"),
            ("x-ratelimit-remaining", "-3"),
            ("X-Ratelimit-Used-CurrentRequest", " 3 "),
        ]);
        assert_eq!(rate_headers(&h), RateHeaders { total: Some(400), remaining: Some(0), used: Some(3) });
    }

    #[test]
    fn missing_or_garbled_rate_headers_are_absent() {
        assert_eq!(rate_headers(&HeaderMap::new()), RateHeaders::default());
        let h = headers(&[("x-ratelimit-total", "lots"), ("x-ratelimit-remaining", "99999999999")]);
        assert_eq!(rate_headers(&h), RateHeaders::default());
    }

    #[test]
    fn retry_after_reads_seconds_dates_and_defaults_to_one_second() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let rows: &[(Option<&str>, u64)] = &[
            (Some("17"), 17),
            (Some(" 0 "), 0),
            (Some("Sun, 06 Nov 1994 08:50:07 GMT"), 30),
            (Some("Sun, 06 Nov 1994 08:40:00 GMT"), 0),
            (Some("soon"), 1),
            (Some("-5"), 1),
            (None, 1),
        ];
        for (value, want) in rows {
            let h = match value {
                Some(v) => headers(&[("retry-after", v)]),
                None => HeaderMap::new(),
            };
            assert_eq!(retry_after(&h, now), Duration::from_secs(*want), "{value:?}");
        }
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
