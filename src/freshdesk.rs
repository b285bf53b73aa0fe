//! The Freshdesk client: the only code that speaks HTTP to Freshdesk. [`Client`] sends one
//! request per call and returns a classified, typed [`Reply`]; [`classify()`] and [`quota`] are pure;
//! [`tickets`], [`agents`], [`contacts`] and [`ticket_fields`] hold each resource's bodies and DTOs (and
//! `TicketFields::check`, the custom-field rules of a ticket create); [`multipart`] encodes a
//! create with attachments; [`oauth`] runs token
//! requests and `fdsync auth login`.

pub mod agents;
pub mod answer;
pub mod auth;
pub mod classify;
mod client;
pub mod contacts;
pub mod handover;
pub mod multipart;
pub mod oauth;
pub mod products;
pub mod quota;
pub mod roles;
pub mod ticket_fields;
pub mod tickets;

pub use agents::{Agent, Me};
pub use answer::{Answer, ApiFieldError, Decode, EndpointClass, Existing, RateHeaders, Reply, Verdict};
pub use classify::classify;
pub use client::Client;
pub use contacts::Contact;
pub use handover::{Group, HeldTicket, Holder};
pub use multipart::Upload;
pub use products::Product;
pub use roles::Role;
pub use ticket_fields::TicketFields;
pub use tickets::{SearchPage, Ticket, TicketState};

/// Why a client (or an OAuth login) could not be set up. Never contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(String),
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
    #[error("oauth: {0}")]
    OAuth(String),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}
