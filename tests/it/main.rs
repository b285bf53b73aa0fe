//! The integration tests: one binary; real `fdsync` processes (and, in `client`, the library
//! in-process), real HTTP against the simulator.

mod audit;
mod client;
mod commands;
mod connections;
mod crash;
mod daemon;
mod deployed;
mod distrust;
mod faults;
mod guards;
mod helpers;
mod hostile;
mod import;
mod misbehave;
mod notify;
mod page;
mod plan;
mod quota;
mod rejects;
mod safety;
mod secrets;
mod ticket_fields;
mod undo;
