//! The integration tests: one binary, real processes, real HTTP against the simulator.

mod crash;
mod helpers;
mod import;
mod secrets;
