//! `fdsync import FILE... [--action A] [--dry-run]`: take files into the journal, run their ops to
//! completion, write one report per file. Resumable: after a crash, a kill or Ctrl-C, the same
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
use crate::pipeline::{self, TakeOptions, Taken};
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
    /// Check every row and write a report of what would happen; send nothing.
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
        return dry_run(&settings, &args);
    }
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
    let opts = TakeOptions {
        limits: Limits::with_max_request(settings.limits.max_request_bytes),
        ..Default::default()
    };
    for path in paths {
        let name = display_name(path);
        let taken = match pipeline::take_with(&journal, path, &name, action, &settings.safety, &opts).await {
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
            Taken::New { file_id, state: FileState::Held, .. }
            | Taken::Resume { file_id, state: FileState::Held } => {
                let n = "its deletes";
                println!(
                    "{name} (file {file_id}): held: {n} exceed safety.max_deletes_per_file = {}; \
                     check it, then run `fdsync approve {file_id}` and import again",
                    settings.safety.max_deletes_per_file
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
                if let Some(f) = journal.file(id).await?.filter(|f| f.state == FileState::Held) {
                    let why = f.error.unwrap_or_default();
                    println!(
                        "{} (file {id}): held: {why}; rows not yet run wait for the next run",
                        Shown(&f.name)
                    );
                    exit = Exit::RowsFailed;
                    continue;
                }
                let summary = pipeline::finish(&journal, &settings.state_dir, id).await?;
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

/// A file's name as given, for messages and the journal (lossy if not UTF-8).
fn display_name(path: &Path) -> String {
    path.file_name().map_or("file".into(), |n| n.to_string_lossy().into_owned())
}

fn dry_run(settings: &Settings, args: &ImportArgs) -> anyhow::Result<Exit> {
    let mut exit = Exit::Success;
    let dir = settings.state_dir.join("reports");
    crate::private::create_dir(&settings.state_dir)
        .and_then(|()| crate::private::create_dir(&dir))
        .with_context(|| format!("creating {}", dir.display()))?;
    let limits = Limits::with_max_request(settings.limits.max_request_bytes);
    for path in &args.files {
        let raw = display_name(path);
        let name = Shown(&raw);
        match pipeline::dry_run(path, args.action, &limits) {
            Ok(rows) => {
                let failed = rows.iter().filter(|r| !r.outcome.is_success()).count();
                let report = dir.join(format!("dry-run-{}", pipeline::report_name(0, &raw)));
                let total = rows.len();
                crate::report::write_report_file(&report, rows)
                    .with_context(|| format!("writing {}", report.display()))?;
                println!("{name}: dry run: {total} rows, {failed} invalid; report: {}", report.display());
                if failed > 0 {
                    exit = Exit::RowsFailed;
                }
            }
            Err(e) => {
                println!("{name}: would be rejected: {e}");
                exit = Exit::RowsFailed;
            }
        }
    }
    Ok(exit)
}
