//! Circuit breaker (stub).
