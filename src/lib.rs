//! fdsync moves bulk changes into Freshdesk safely.
//!
//! # Layout
//! Listed from the bottom up: a module uses only those above it (and `text`, `private`,
//! `telemetry`, which anyone may use); nothing imports `cli`.
//! - [`text`]: showing outside strings safely (escaped, cut).
//! - [`private`]: the state folder's modes (0700 folders, 0600 files).
//! - [`account`]: who runs a command (real uid, account name) and becoming another account;
//!   the crate's only `unsafe` (libc), hence `deny` rather than `forbid` below.
//! - [`system_log`]: one event per operator action to the system journal, else syslog.
//! - [`telemetry`]: logging, initialised once.
//! - [`domain`]: the four operations, their fields, keys ([`domain::OpKey`]) and outcomes (pure).
//! - [`config`]: the config file and the validated settings.
//! - [`intake`]: reads CSV / JSON / NDJSON files into operations, row by row (pure parsing).
//! - [`journal`]: the SQLite journal; the only code that speaks SQL.
//! - [`report`]: the per-file report CSV (pure, plus its atomic write) and the rejects file.
//! - [`freshdesk`]: the HTTP client; the only code that speaks to Freshdesk.
//! - [`engine`]: scheduler, pacer, workers, retries, reconciliation.
//! - [`pipeline`]: a file's way into the journal (take) and out as a report (finish, dry run).
//! - [`status_file`]: the `status.json` schema the daemon writes and `fdsync status` reads.
//! - [`notify`]: `[[notify]]` webhooks and e-mails, delivered from the journal's outbox.
//! - [`metrics`]: the daemon's Prometheus counters and gauges.
//! - [`http`]: the daemon's HTTP listener: the read-only status page, `/api/status`, `/metrics`.
//! - [`scim`]: the SCIM 2.0 service provider (`[scim]`): identity providers' changes as journal files.
//! - [`exit`]: the process exit codes and the mapping from an error to one.
//! - [`check`]: `fdsync check`, one line per finding.
//! - [`daemon`]: `fdsync run`, the folder-watching service.
//! - [`cli`]: the subcommands; `main` calls [`cli::run`].
#![deny(unsafe_code)]
#![warn(unreachable_pub)]

pub mod account;
pub mod check;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod domain;
pub mod engine;
pub mod exit;
pub mod freshdesk;
pub mod http;
pub mod intake;
pub mod journal;
pub mod metrics;
pub mod notify;
pub mod pipeline;
pub mod private;
pub mod report;
pub mod scim;
pub mod status_file;
pub mod system_log;
pub mod telemetry;
pub mod text;
