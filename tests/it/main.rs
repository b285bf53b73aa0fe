//! The integration tests: one binary, real processes, real HTTP against the simulator.

mod helpers;
mod import;
mod crash;
mod quota;
