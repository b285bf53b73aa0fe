//! The integration tests: one binary; real `fdsync` processes (and, in `client`, the library
//! in-process), real HTTP against the simulator.

mod client;
mod commands;
mod connections;
mod crash;
mod daemon;
mod distrust;
mod faults;
mod helpers;
mod hostile;
mod import;
mod misbehave;
mod plan;
mod quota;
mod safety;
mod secrets;
