//! `fdsync status [--json]`: files, their rows by state, and totals, read from the journal.

use crate::exit::Exit;
use crate::journal::{FileRecord, Journal, RowCounts};
use serde::Serialize;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Only the newest N files.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

#[derive(Serialize)]
struct FileStatus {
    #[serde(flatten)]
    file: FileRecord,
    rows: RowCounts,
}

/// A configured connection, as `status --json` lists it.
#[derive(Serialize)]
struct ConnectionInfo {
    name: String,
    description: Option<String>,
    /// The Freshdesk account (`host:port`); connections to one account share its quota.
    account: String,
}

#[derive(Serialize)]
struct Status {
    files: Vec<FileStatus>,
    totals: RowCounts,
    inboxes: Vec<String>,
    connections: Vec<ConnectionInfo>,
    /// What a running `fdsync run` last reported (quota, files in progress, problems).
    daemon: Option<crate::status_file::DaemonStatus>,
}

pub(super) async fn run(config: Option<&Path>, args: StatusArgs) -> anyhow::Result<Exit> {
    let settings = super::load_settings(config, "warn")?;
    let journal = Journal::open(&settings.state_dir)?;
    let mut files = Vec::new();
    let mut totals = RowCounts::default();
    for file in journal.files(vec![]).await?.into_iter().take(args.limit) {
        let rows = journal.row_counts(file.id).await?;
        totals.total += rows.total;
        totals.pending += rows.pending;
        totals.sending += rows.sending;
        totals.done += rows.done;
        totals.failed += rows.failed;
        files.push(FileStatus { file, rows });
    }
    let inboxes = settings.inboxes.iter().map(|i| i.dir.display().to_string()).collect();
    let daemon = crate::status_file::read_status(&settings.state_dir);
    let connections = settings
        .connections
        .iter()
        .map(|c| ConnectionInfo {
            name: c.name.clone(),
            description: c.description.clone(),
            account: c.account(),
        })
        .collect();
    let status = Status { files, totals, inboxes, connections, daemon };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(Exit::Success);
    }
    // The connection column appears once more than the connection `default` is in play.
    let several = status.connections.len() > 1 || status.files.iter().any(|f| f.file.connection != "default");
    let conn = |c: &str| if several { format!("{:<12} ", crate::text::Shown(c)) } else { String::new() };
    println!(
        "{:>5}  {:<10} {}{:>7} {:>7} {:>7} {:>7}  {:<12}  name",
        "file",
        "state",
        conn("connection"),
        "rows",
        "done",
        "failed",
        "pending",
        "sha256"
    );
    for f in &status.files {
        println!(
            "{:>5}  {:<10} {}{:>7} {:>7} {:>7} {:>7}  {:<12}  {}",
            f.file.id,
            f.file.state.as_str(),
            conn(&f.file.connection),
            f.rows.total,
            f.rows.done,
            f.rows.failed,
            f.rows.pending + f.rows.sending,
            &f.file.sha256[..f.file.sha256.len().min(12)],
            f.file.name
        );
    }
    let t = &status.totals;
    println!(
        "total: {} rows, {} done, {} failed, {} pending",
        t.total,
        t.done,
        t.failed,
        t.pending + t.sending
    );
    for inbox in &status.inboxes {
        println!("inbox: {inbox}");
    }
    match &status.daemon {
        Some(d) => println!("{d}"),
        None => println!("daemon: not running"),
    }
    Ok(Exit::Success)
}
