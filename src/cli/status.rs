//! `fdsync status [--json]`: files, their rows by state, and totals, read from the journal, and
//! the configured connections. An undone file names the undo files that reversed it
//! (`undone_by`); an undo file names the file it reverses (`undo_of`).

use crate::exit::Exit;
use crate::journal::Journal;
use crate::status_file::{ConnectionInfo, StatusReport};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Only the newest N files.
    #[arg(long, default_value_t = crate::status_file::STATUS_FILES)]
    pub limit: usize,
}

pub(super) async fn run(config: Option<&Path>, args: StatusArgs) -> anyhow::Result<Exit> {
    let settings = super::load_settings(config, "warn")?;
    let journal = Journal::open(&settings.state_dir)?;
    let inboxes = settings.inboxes.iter().map(|i| i.dir.display().to_string()).collect();
    let connections = ConnectionInfo::of(&settings);
    let status = StatusReport::build(&journal, &settings.state_dir, inboxes, connections, args.limit).await?;
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
            crate::text::Shown(&f.label())
        );
    }
    let scim_held = status
        .files
        .iter()
        .filter(|f| {
            f.file.state == crate::journal::FileState::Held
                && f.file.inbox.as_deref() == Some(crate::scim::change::SOURCE)
        })
        .count();
    if scim_held > 0 {
        println!(
            "held SCIM changes: {scim_held}; `fdsync approve --scim` lists them and approves them at once"
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
