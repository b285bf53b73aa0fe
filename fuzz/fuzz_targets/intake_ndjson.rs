//! The ndjson intake parser on arbitrary bytes: never panics; rows 1, 2, 3, ...; invalid rows list
//! a problem; file errors name the right record; chunked reading gives the same result.
#![no_main]

#[path = "intake_common.rs"]
mod intake_common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    intake_common::run(data, fdsync::intake::Format::Ndjson);
});
