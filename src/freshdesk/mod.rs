//! The Freshdesk client: the only code that speaks HTTP to Freshdesk.

pub mod answer;

pub use answer::{Answer, ApiFieldError, EndpointClass, RateHeaders, Reply};
