//! The operator's commands on the journal: `retry`, `approve`, `report`.

use crate::exit::Exit;
use crate::journal::{FileState, Journal};
use crate::pipeline;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct RetryArgs {
    /// Only this file's failed rows.
    #[arg(long)]
    pub file: Option<i64>,
}

#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    /// The held file's id (see `fdsync status`).
    pub id: i64,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The file's id (see `fdsync status`).
    pub id: i64,
}

pub(super) async fn retry(config: Option<&Path>, args: RetryArgs) -> anyhow::Result<Exit> {
    let settings = super::load_settings(config, "warn")?;
    let journal = Journal::open(&settings.state_dir)?;
    let n = journal.requeue_failed(args.file).await?;
    println!(
        "{n} failed rows queued again (validation failures excepted); `fdsync run` or `fdsync import` sends them"
    );
    Ok(Exit::Success)
}

pub(super) async fn approve(config: Option<&Path>, args: ApproveArgs) -> anyhow::Result<Exit> {
    let settings = super::load_settings(config, "warn")?;
    let journal = Journal::open(&settings.state_dir)?;
    let Some(file) = journal.file(args.id).await? else {
        eprintln!("no file {} in the journal", args.id);
        return Ok(Exit::Usage);
    };
    if file.state != FileState::Held {
        eprintln!("file {} ({}) is {}, not held", file.id, file.name, file.state.as_str());
        return Ok(Exit::Usage);
    }
    journal.set_file_state(file.id, FileState::Processing, None).await?;
    println!("file {} ({}) approved: its rows will run", file.id, file.name);
    Ok(Exit::Success)
}

pub(super) async fn report(config: Option<&Path>, args: ReportArgs) -> anyhow::Result<Exit> {
    let settings = super::load_settings(config, "warn")?;
    let journal = Journal::open(&settings.state_dir)?;
    let Some(file) = journal.file(args.id).await? else {
        eprintln!("no file {} in the journal", args.id);
        return Ok(Exit::Usage);
    };
    let path = match (&file.report_path, file.state) {
        (Some(p), _) => std::path::PathBuf::from(p),
        (None, FileState::Done) => pipeline::finish(&journal, &settings.state_dir, file.id).await?.report,
        (None, state) => {
            eprintln!("file {} is {}: no report yet", file.id, state.as_str());
            return Ok(Exit::Usage);
        }
    };
    print!("{}", std::fs::read_to_string(&path)?);
    Ok(Exit::Success)
}
