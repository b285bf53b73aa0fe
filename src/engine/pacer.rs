//! Pacing: spends the account quota without exceeding it (stub).
