//! The integration tests: one binary, real processes, real HTTP against the simulator.

mod crash;
mod daemon;
mod helpers;
mod hostile;
mod import;
mod quota;
mod secrets;
