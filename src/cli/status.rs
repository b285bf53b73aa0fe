//! `fdsync status [--json]`: files, their rows by state, and totals, read from the journal. An
//! undone file names the undo files that reversed it (`undone_by`); an undo file names the file
//! it reverses (`undo_of`).

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
    /// The undo files (`fdsync undo`) of this file, oldest first.
    undone_by: Vec<i64>,
}

impl FileStatus {
    /// The name, with what undid it or what it undoes.
    fn label(&self) -> String {
        let mut label = self.file.name.clone();
        if let Some(of) = self.file.undo_of {
            label.push_str(&format!(" (undo of file {of})"));
        }
        if !self.undone_by.is_empty() {
            let by: Vec<String> = self.undone_by.iter().map(i64::to_string).collect();
            label.push_str(&format!(" (undone by file {})", by.join(", ")));
        }
        label
    }
}

#[derive(Serialize)]
struct Status {
    files: Vec<FileStatus>,
    totals: RowCounts,
    inboxes: Vec<String>,
    /// What a running `fdsync run` last reported (quota, files in progress, problems).
    daemon: Option<crate::status_file::DaemonStatus>,
}

pub(super) async fn run(config: Option<&Path>, args: StatusArgs) -> anyhow::Result<Exit> {
    let settings = super::load_settings(config, "warn")?;
    let journal = Journal::open(&settings.state_dir)?;
    let mut files = Vec::new();
    let mut totals = RowCounts::default();
    let all = journal.files(vec![]).await?;
    for file in all.iter().take(args.limit).cloned() {
        let rows = journal.row_counts(file.id).await?;
        let mut undone_by: Vec<i64> =
            all.iter().filter(|u| u.undo_of == Some(file.id)).map(|u| u.id).collect();
        undone_by.sort_unstable();
        totals.total += rows.total;
        totals.pending += rows.pending;
        totals.sending += rows.sending;
        totals.done += rows.done;
        totals.failed += rows.failed;
        files.push(FileStatus { file, rows, undone_by });
    }
    let inboxes = settings.inboxes.iter().map(|i| i.dir.display().to_string()).collect();
    let daemon = crate::status_file::read_status(&settings.state_dir);
    let status = Status { files, totals, inboxes, daemon };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(Exit::Success);
    }
    println!(
        "{:>5}  {:<10} {:>7} {:>7} {:>7} {:>7}  {:<12}  name",
        "file", "state", "rows", "done", "failed", "pending", "sha256"
    );
    for f in &status.files {
        println!(
            "{:>5}  {:<10} {:>7} {:>7} {:>7} {:>7}  {:<12}  {}",
            f.file.id,
            f.file.state.as_str(),
            f.rows.total,
            f.rows.done,
            f.rows.failed,
            f.rows.pending + f.rows.sending,
            &f.file.sha256[..f.file.sha256.len().min(12)],
            crate::text::Shown(&f.label())
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
