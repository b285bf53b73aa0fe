//! fdsync moves bulk changes into Freshdesk safely.
//!
//! # Layout
//! - [`domain`]: the four operations, their fields and outcomes (pure).
//! - [`config`]: the config file and the validated settings.
//! - [`intake`]: reads CSV / JSON / NDJSON files into operations, row by row (pure parsing).
//! - [`journal`]: the SQLite journal; the only code that speaks SQL.
//! - [`freshdesk`]: the HTTP client; the only code that speaks to Freshdesk.
//! - [`engine`]: scheduler, pacer, workers, retries, reconciliation.
//! - [`report`]: the per-file report CSV.
//! - [`cli`]: the subcommands.
//! - [`text`]: showing outside strings safely (escaped, cut); [`private`]: state-folder modes.
#![forbid(unsafe_code)]

pub mod check;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod domain;
pub mod engine;
pub mod exit;
pub mod freshdesk;
pub mod intake;
pub mod journal;
pub mod metrics;
pub mod pipeline;
pub mod private;
pub mod report;
pub mod status_file;
pub mod telemetry;
pub mod text;
