//! Integration tests of the simulator through a real HTTP client.

mod agents;
mod auth;
mod faults;
mod helpers;
mod middleware;
mod oauth;
mod quota;
mod robustness;
mod search;
mod ticket_fields;
mod tickets;
