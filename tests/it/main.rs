//! The integration tests: one binary, real processes, real HTTP against the simulator.

mod crash;
mod daemon;
mod distrust;
mod helpers;
mod import;
mod misbehave;
mod quota;
mod secrets;
