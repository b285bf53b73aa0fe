//! The engine: scheduler, pacer, workers, retries, reconciliation.

pub mod arc;
pub mod breaker;
pub mod pacer;
pub mod retry;
