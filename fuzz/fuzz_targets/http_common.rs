//! A readable input format for the HTTP-answer targets, so seeds are real answers:
//!
//! ```text
//! <status> <max_retry_after> <now>      (decimal; seconds may have a fraction: 0.5)
//! Header-Name: value                    (any number of lines; raw bytes)
//!                                       (a blank line)
//! body bytes ...
//! ```
//!
//! Missing numbers default to 200, 3600 s and 1 700 000 000 s after the epoch. A number too large
//! for a u64 saturates (so huge `max` values are one digit away). Header lines that HTTP cannot
//! carry (an invalid name or value) are dropped: they never reach the parsers.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `headers` reads only the headers, clock and max.
#[allow(dead_code)]
pub struct Answer<'a> {
    pub status: u16,
    pub max: Duration,
    pub now: SystemTime,
    pub headers: HeaderMap,
    pub body: &'a [u8],
}

fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == b'\n') {
        Some(i) => (data[..i].strip_suffix(b"\r").unwrap_or(&data[..i]), &data[i + 1..]),
        None => (data, &[]),
    }
}

fn saturating_u64(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(u64::MAX))
}

fn duration(word: &str) -> Option<Duration> {
    let (secs, frac) = word.split_once('.').unwrap_or((word, ""));
    let secs = saturating_u64(secs)?;
    let nanos = if frac.is_empty() {
        0
    } else {
        let mut digits: String = frac.chars().take(9).collect();
        saturating_u64(&digits)?;
        while digits.len() < 9 {
            digits.push('0');
        }
        digits.parse().ok()?
    };
    Some(Duration::new(secs, nanos))
}

pub fn parse(data: &[u8]) -> Answer<'_> {
    let (first, mut rest) = split_line(data);
    let first = String::from_utf8_lossy(first);
    let mut words = first.split_ascii_whitespace();
    let status = words.next().and_then(|w| w.parse::<u16>().ok()).unwrap_or(200);
    let max = words.next().and_then(duration).unwrap_or(Duration::from_secs(3600));
    // Keep `now` within what SystemTime holds on every platform.
    let now = words.next().and_then(duration).unwrap_or(Duration::from_secs(1_700_000_000));
    let now = UNIX_EPOCH + now.min(Duration::from_secs(1 << 40));
    let mut headers = HeaderMap::new();
    while !rest.is_empty() {
        let (line, next) = split_line(rest);
        rest = next;
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|b| *b == b':') else { continue };
        let value = line[colon + 1..].strip_prefix(b" ").unwrap_or(&line[colon + 1..]);
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(&line[..colon]), HeaderValue::from_bytes(value)) {
            headers.append(n, v);
        }
    }
    Answer { status, max, now, headers, body: rest }
}
