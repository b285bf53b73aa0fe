//! `quota::retry_after`, `quota::rate_headers` and `quota::has_next_page` on arbitrary header
//! bytes, any `max` and any clock (input format: `http_common.rs`; the status is ignored):
//! never panic; `retry_after` is always within 1 s ..= max(max, 1 s); `rate_headers` never
//! yields a total of 0 or above 100 000, a remaining above the total (or above 100 000), or a
//! used above 1 000.
#![no_main]

#[path = "http_common.rs"]
mod http_common;

use fdsync::freshdesk::quota::{MAX_BELIEVABLE_TOTAL, MIN_RETRY_AFTER, has_next_page, rate_headers, retry_after};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = http_common::parse(data);
    let map = &input.headers;

    let wait = retry_after(map, input.now, input.max);
    let ceiling = input.max.max(MIN_RETRY_AFTER);
    assert!(MIN_RETRY_AFTER <= wait && wait <= ceiling, "retry_after {wait:?} outside 1 s ..= {ceiling:?}");

    let rate = rate_headers(map);
    if let Some(total) = rate.total {
        assert!(total >= 1 && i64::from(total) <= MAX_BELIEVABLE_TOTAL, "total {total}: {rate:?}");
        if let Some(remaining) = rate.remaining {
            assert!(remaining <= total, "remaining above the total: {rate:?}");
        }
    }
    if let Some(remaining) = rate.remaining {
        assert!(i64::from(remaining) <= MAX_BELIEVABLE_TOTAL, "remaining above the cap: {rate:?}");
    }
    if let Some(used) = rate.used {
        assert!(used <= 1000, "{rate:?}");
    }
    let _ = has_next_page(map);
});
