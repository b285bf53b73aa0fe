//! Retry policy (stub).
