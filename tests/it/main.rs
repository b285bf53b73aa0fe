//! The integration tests: one binary; real `fdsync` processes (and, in `client`, the library
//! in-process), real HTTP against the simulator.

mod accountable;
mod audit;
mod client;
mod commands;
mod connections;
mod contract;
mod crash;
mod daemon;
mod deployed;
mod distrust;
mod docs;
mod faults;
mod guards;
mod helpers;
mod hostile;
mod import;
mod misbehave;
mod mutations;
mod notify;
mod notify_promises;
mod page;
mod page_door;
mod pipe;
mod plan;
mod powers;
mod promises;
mod quota;
mod rejects;
mod safety;
mod scim;
mod secrets;
mod tamper;
mod ticket_fields;
mod undo;
mod unit_path;
