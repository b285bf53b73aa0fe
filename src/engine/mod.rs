//! The engine: scheduler, pacer, workers, retries, reconciliation.

pub mod breaker;
pub mod pacer;
