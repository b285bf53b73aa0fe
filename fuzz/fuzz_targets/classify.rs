//! `classify_at::<T>` for every type the client decodes, on an arbitrary status, headers, body,
//! clock and `max_retry_after` (input format: `http_common.rs`): never panics; only a 2xx is
//! `Ok`, and a decoded ticket / agent / me has an id > 0 (a list: every item); a 2xx that is not
//! `Ok` is unreadable (`Unverifiable`); a `RateLimited` wait is within 1 s ..= max(max, 1 s).
#![no_main]

#[path = "http_common.rs"]
mod http_common;

use fdsync::freshdesk::classify::classify_at;
use fdsync::freshdesk::{Agent, Answer, Decode, Me, Ticket};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

fn check<T: Decode + std::fmt::Debug>(input: &http_common::Answer, ids: impl Fn(&T) -> Vec<u64>) {
    let answer: Answer<T> = classify_at(input.status, &input.headers, input.body, input.now, input.max);
    let two_xx = (200..=299).contains(&input.status);
    match &answer {
        Answer::Ok { status, value } => {
            assert!(two_xx && *status == input.status, "Ok for HTTP {}: {answer:?}", input.status);
            for id in ids(value) {
                assert!(id > 0, "an Ok answer decoded an id of 0: {answer:?}");
            }
        }
        Answer::RateLimited { retry_after } => {
            assert_eq!(input.status, 429, "{answer:?}");
            let ceiling = input.max.max(Duration::from_secs(1));
            assert!(
                Duration::from_secs(1) <= *retry_after && *retry_after <= ceiling,
                "retry_after {retry_after:?} outside 1 s ..= {ceiling:?}"
            );
        }
        other => assert!(!two_xx || other.is_unreadable(), "a 2xx that is neither Ok nor unreadable: {other:?}"),
    }
    // Every answer can be described for the report.
    let _ = answer.describe();
    let _ = answer.http_status();
}

fuzz_target!(|data: &[u8]| {
    let input = http_common::parse(data);
    check::<()>(&input, |_| vec![]);
    check::<Ticket>(&input, |t| vec![t.id]);
    check::<Vec<Ticket>>(&input, |v| v.iter().map(|t| t.id).collect());
    check::<Agent>(&input, |a| vec![a.id]);
    check::<Vec<Agent>>(&input, |v| v.iter().map(|a| a.id).collect());
    check::<Option<Agent>>(&input, |o| o.iter().map(|a| a.id).collect());
    check::<Me>(&input, |m| vec![m.id]);
});
