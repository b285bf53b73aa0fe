//! The command line: argument definitions and dispatch to one module per subcommand. Commands
//! return an [`Exit`] ([`crate::exit`]); `main` turns it into the process exit code. Errors are
//! printed here, once, and mapped by [`Exit::for_error`]; nothing below calls `process::exit`.

mod approve_scim;
mod audit;
mod completions;
mod confirm;
mod connect;
mod demo;
mod import;
mod man;
mod operator;
mod ops;
mod plan;
mod progress;
mod prune;
mod signals;
mod status;
mod undo;

use crate::config::{self, Settings};
use crate::exit::Exit;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "fdsync", version, about = "Moves bulk changes into Freshdesk safely.")]
pub struct Cli {
    /// Config file (else $FDSYNC_CONFIG, ./fdsync.toml, /etc/fdsync/fdsync.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Watch the configured inboxes and import every file dropped there (the systemd service).
    Run,
    /// Import files once (resumable: run the same command again after any interruption).
    Import(import::ImportArgs),
    /// Preview files with read-only lookups: what each row would do, and whether the run would be held.
    Plan(plan::PlanArgs),
    /// Show files, rows and the quota as the journal knows them.
    Status(status::StatusArgs),
    /// Put failed rows (not validation failures) back in the queue; `fdsync import` or `run` sends them.
    Retry(ops::RetryArgs),
    /// Let a held file (too many deletes) run.
    Approve(ops::ApproveArgs),
    /// Print (or write again) a file's report.
    Report(ops::ReportArgs),
    /// Every change fdsync made or tried: when, from which file, who approved it, the agent before a delete.
    Audit(audit::AuditArgs),
    /// Drop the ops of finished files last updated before a date, keeping their audit rows.
    Prune(prune::PruneArgs),
    /// Reverse a finished file: restore the agents it deleted, delete the tickets it created (asks first).
    Undo(undo::UndoArgs),
    /// Run the Freshdesk simulator (tests, demos, rehearsals); prints its URL and API key.
    Sim(fdsync_sim::cli::SimArgs),
    /// Check the config, the credentials, the quota and the folders; one line per finding.
    Check(connect::CheckArgs),
    /// OAuth 2.0 (for gateways in front of Freshdesk).
    #[command(subcommand)]
    Auth(connect::AuthCommand),
    /// Run the whole job against a built-in simulator and example data; no account needed.
    Demo(demo::DemoArgs),
    /// Print the example configuration, every key documented.
    ExampleConfig,
    /// Print a shell completion script (bash, zsh or fish) to stdout.
    Completions(completions::CompletionsArgs),
    /// Write the man pages into a folder (used by packaging).
    #[command(hide = true)]
    Man(man::ManArgs),
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Exit {
    let result = match cli.command {
        Command::Run => match load_settings(cli.config.as_deref(), "info") {
            Ok(settings) => crate::daemon::run(settings, cli.config.clone()).await.map_err(daemon_error),
            Err(e) => Err(e),
        },
        Command::Import(args) => import::run(cli.config.as_deref(), args).await,
        Command::Plan(args) => plan::run(cli.config.as_deref(), args).await,
        Command::Status(args) => status::run(cli.config.as_deref(), args).await,
        Command::Retry(args) => ops::retry(cli.config.as_deref(), args).await,
        Command::Approve(args) => ops::approve(cli.config.as_deref(), args).await,
        Command::Report(args) => ops::report(cli.config.as_deref(), args).await,
        Command::Audit(args) => audit::run(cli.config.as_deref(), args).await,
        Command::Prune(args) => prune::run(cli.config.as_deref(), args).await,
        Command::Undo(args) => undo::run(cli.config.as_deref(), args).await,
        Command::Sim(args) => {
            crate::telemetry::init("info", false);
            match fdsync_sim::cli::run(args).await {
                Ok(()) => Ok(Exit::Success),
                Err(fdsync_sim::cli::RunError::Refused(why)) => {
                    eprintln!("error: {why}");
                    Ok(Exit::Usage)
                }
                Err(e) => Err(anyhow::anyhow!(e)),
            }
        }
        Command::Check(args) => connect::check(cli.config.as_deref(), args).await,
        Command::Auth(cmd) => connect::auth(cli.config.as_deref(), cmd).await,
        Command::Demo(args) => demo::run(args).await,
        Command::ExampleConfig => {
            print!("{}", config::EXAMPLE);
            Ok(Exit::Success)
        }
        Command::Completions(args) => {
            completions::run(&args);
            Ok(Exit::Success)
        }
        Command::Man(args) => man::run(&args).map(|()| Exit::Success),
    };
    match result {
        Ok(exit) => exit,
        Err(e) if broken_pipe(&e) && output_closed() => Exit::ClosedOutput,
        Err(e) => {
            eprintln!("error: {e:#}");
            Exit::for_error(e.chain())
        }
    }
}

/// The daemon's error as the one report: a journal or config error it only forwards is
/// reported, and mapped to its exit code ([`Exit::for_error`]), as itself.
fn daemon_error(e: crate::daemon::Error) -> anyhow::Error {
    match e {
        crate::daemon::Error::Journal(e) => e.into(),
        crate::daemon::Error::Config(e) => e.into(),
        e => e.into(),
    }
}

/// Whether an error comes from writing to a closed pipe.
fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<csv::Error>().is_some_and(
                |e| matches!(e.kind(), csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe),
            )
            || c.downcast_ref::<serde_json::Error>().and_then(|e| e.io_error_kind())
                == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// Whether stdout or stderr is a pipe nobody reads any more (`poll` says POLLERR): a closed
/// output ends a command quietly (exit 141; `main`'s panic hook covers `println!`).
pub fn output_closed() -> bool {
    fn closed(fd: &impl std::os::fd::AsFd) -> bool {
        use rustix::event::{PollFd, PollFlags, poll};
        let mut fds = [PollFd::new(fd, PollFlags::OUT)];
        let zero = rustix::event::Timespec { tv_sec: 0, tv_nsec: 0 };
        poll(&mut fds, Some(&zero)).is_ok() && fds[0].revents().contains(PollFlags::ERR)
    }
    closed(&std::io::stdout()) || closed(&std::io::stderr())
}

/// `--connection NAME`: which configured connection a command acts on.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionArg {
    /// The [[connection]] to use (default: `default`, the top-level [freshdesk]/[auth]/[limits]).
    #[arg(long, value_name = "NAME")]
    pub connection: Option<String>,
}

impl ConnectionArg {
    /// The settings on the chosen connection (`default` when none is given).
    pub(crate) fn select(&self, settings: &Settings) -> anyhow::Result<Settings> {
        Ok(settings.on_connection(self.connection.as_deref().unwrap_or(config::DEFAULT_CONNECTION))?)
    }
}

/// Loads the settings, initialising logging from them.
pub(crate) fn load_settings(path: Option<&std::path::Path>, default_level: &str) -> anyhow::Result<Settings> {
    let settings = Settings::load(path)?;
    crate::telemetry::init(default_level, settings.log_json);
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_state_folder_or_a_bad_connection_stops_the_daemon_with_a_usage_error_worded_as_itself() {
        let busy = crate::journal::Error::Busy { path: "/state".into() };
        let e = daemon_error(crate::daemon::Error::Journal(busy));
        assert_eq!(Exit::for_error(e.chain()), Exit::Usage);
        assert_eq!(
            format!("{e:#}"),
            "another fdsync (import or run) is sending from /state; wait for it to finish or stop it"
        );
        let e = daemon_error(crate::daemon::Error::Config(config::Error::invalid("connection", "none")));
        assert_eq!(Exit::for_error(e.chain()), Exit::Usage);
        assert_eq!(format!("{e:#}"), "config key `connection`: none");
    }

    #[test]
    fn a_daemon_error_names_the_step_and_keeps_its_cause() {
        let cause = crate::journal::Error::Data("disk on fire".into());
        let e = daemon_error(crate::daemon::Error::OpenJournal { read_only: true, source: cause });
        assert_eq!(format!("{e:#}"), "opening the journal to read: journal data error: disk on fire");
        assert_eq!(Exit::for_error(e.chain()), Exit::RowsFailed);
    }
}
