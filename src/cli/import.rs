//! `fdsync import FILE... [--action A] [--dry-run]`: take files into the journal, run their ops to
//! completion, write one report per file (`--dry-run` is `fdsync plan`). Resumable: after a crash, a kill or Ctrl-C, the same
//! command carries on where the journal says it stopped, and never sends a row twice.
//! Each input is opened once (a symlink, FIFO or folder is refused) and hashed and parsed from
//! that handle; names in messages are escaped and cut ([`crate::text`]).

use crate::config::Settings;
use crate::domain::Action;
use crate::engine::pacer::{Pacer, PacerConfig};
use crate::engine::{Engine, EngineConfig, Mode, RunEnd, RunUntil};
use crate::exit::Exit;
use crate::freshdesk::Client;
use crate::intake::Limits;
use crate::journal::{FileState, Journal};
use crate::pipeline::{self, Progress, TakeOptions, Taken};
use crate::text::{Shown, shown_path};
use anyhow::Context;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// CSV (with a header row), JSON (an array of objects) or NDJSON files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Action for rows without an `action` column: create_ticket, create_agent, get_agent, delete_agent.
    #[arg(long, value_parser = parse_action)]
    pub action: Option<Action>,
    /// Preview instead: the same as `fdsync plan` (read-only lookups, no change sent).
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub connection: super::ConnectionArg,
}

fn parse_action(s: &str) -> Result<Action, String> {
    s.parse()
}

pub(super) async fn run(config: Option<&Path>, args: ImportArgs) -> anyhow::Result<Exit> {
    let settings = args.connection.select(&super::load_settings(config, "warn")?)?;
    if args.dry_run {
        return super::plan::show(&settings, &args.files, args.action, super::plan::Under::Operator, false)
            .await;
    }
    super::operator::begin(&settings)?;
    import_paths(&settings, &args.files, args.action, super::signals::shutdown_token()).await
}

/// Takes `paths` in and runs them to completion; prints one line per file. Shared with `demo`.
pub(crate) async fn import_paths(
    settings: &Settings,
    paths: &[PathBuf],
    action: Option<Action>,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<Exit> {
    let _lock = crate::journal::RunLock::acquire(&settings.state_dir)?;
    let journal = Journal::open(&settings.state_dir)?.on_connection(&settings.connection);
    let mut exit = Exit::Success;
    let mut targets = Vec::new();
    let limits = Limits::with_max_request(settings.limits.max_request_bytes);
    for path in paths {
        let name = pipeline::display_name(path);
        // The operator has every power; the folder's inbox gives its date_format and attachments_dir.
        let formats = path.parent().and_then(|p| super::plan::inbox_of(settings, p));
        let opts = TakeOptions { limits, formats, ..Default::default() };
        let taken = match pipeline::take_with(&journal, path, &name, action, &opts).await {
            Ok(t) => t,
            Err(pipeline::Error::Input { source, .. }) => {
                println!("{}: refused, nothing sent: {source}", Shown(&name));
                exit = Exit::RowsFailed;
                continue;
            }
            Err(e) => return Err(e).with_context(|| format!("taking {}", shown_path(path))),
        };
        let name = Shown(&name);
        match taken {
            Taken::Resume { file_id, state: FileState::Held } => {
                let why = journal.file(file_id).await?.and_then(|f| f.error).unwrap_or_default();
                println!(
                    "{name} (file {file_id}): held: {}; check it, then run `fdsync approve {file_id}` \
                     and import again",
                    Shown(&why)
                );
                exit = Exit::RowsFailed;
            }
            Taken::New { file_id, .. } | Taken::Resume { file_id, .. } => targets.push(file_id),
            Taken::Duplicate { of, .. } => {
                let report = journal.file(of).await?.and_then(|f| f.report_path).unwrap_or_default();
                println!("{name}: identical to file {of}, already imported; nothing sent (report: {report})");
            }
            Taken::Rejected { file_id, error } => {
                println!("{name} (file {file_id}): rejected, nothing sent: {error}");
                exit = Exit::RowsFailed;
            }
        }
    }
    if targets.is_empty() {
        return Ok(exit);
    }
    run_files(settings, &journal, targets, shutdown, exit).await
}

/// Runs the ops of `targets` (journaled, not held) to completion through the engine, then writes
/// each file's report and prints its summary. `exit` is the exit so far. Shared with `undo`; the
/// caller holds the [`crate::journal::RunLock`].
pub(crate) async fn run_files(
    settings: &Settings,
    journal: &Journal,
    targets: Vec<i64>,
    shutdown: tokio_util::sync::CancellationToken,
    mut exit: Exit,
) -> anyhow::Result<Exit> {
    let client = Client::new(settings).context("setting up the Freshdesk client")?;
    let pacer = Pacer::new(PacerConfig::from_limits(&settings.limits));
    let engine =
        Engine::new(journal.clone(), client, pacer, EngineConfig::from_settings(settings, Mode::OneShot));
    let progress = super::progress::spawn(journal.clone(), targets.clone(), engine.pacer().clone());
    let end = engine.run(RunUntil::Files(targets.clone()), shutdown).await?;
    progress.finish().await;
    match end {
        RunEnd::Finished => {
            for id in targets {
                if let Progress::Held(why) = pipeline::progress(journal, id).await? {
                    let name = journal.file(id).await?.map(|f| f.name).unwrap_or_default();
                    let why = why.unwrap_or_default();
                    println!(
                        "{} (file {id}): held: {why}; rows not yet run wait for the next run",
                        Shown(&name)
                    );
                    exit = Exit::RowsFailed;
                    continue;
                }
                let summary = pipeline::finish(journal, &settings.state_dir, id).await?;
                println!("{summary}");
                if summary.failed > 0 {
                    exit = Exit::RowsFailed;
                }
            }
            Ok(exit)
        }
        RunEnd::Interrupted => {
            eprintln!("interrupted: rows not yet sent stay queued; run the same command again to resume");
            Ok(Exit::Interrupted)
        }
        RunEnd::AuthFailed(why) | RunEnd::Unreachable(why) | RunEnd::RateLimited(why) => {
            eprintln!("{why}\nnothing is lost: fix the problem and run the same command again to resume");
            Ok(Exit::Unavailable)
        }
    }
}
