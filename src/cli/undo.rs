//! `fdsync undo FILE_ID [--rows 3,5-9] [--yes]`: reverse what a finished file did. Each agent it
//! deleted is made an agent again from the record saved before the delete (same id, same roles,
//! groups, scope and occasional); each ticket it created is soft-deleted. The undo is a file of
//! its own in the journal (`files.undo_of`), run by the same engine as `import`: resumable after
//! any interruption (run the same command again), each change sent at most once, with its own
//! report. A row is undone once (`OpKey::undo`); only a `not_restorable` row may be tried again.
//!
//! Before anything is journaled it shows what it will undo and asks (`--yes` for scripts;
//! without a terminal and without `--yes`, exit 2). Ticket deletes count as deletes for the
//! guards: above `safety.max_deletes_per_file` the undo is held unless `--yes`.

use crate::config::Settings;
use crate::domain::Op;
use crate::exit::Exit;
use crate::journal::{FileRecord, FileState, Journal, RunLock};
use crate::pipeline;
use crate::text::Shown;
use std::ops::RangeInclusive;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct UndoArgs {
    /// The file to undo (see `fdsync status`).
    pub file_id: i64,
    /// Only these rows, e.g. `3,5-9`.
    #[arg(long, value_parser = parse_rows, value_name = "ROWS")]
    pub rows: Option<Rows>,
    /// Undo without showing what will be undone and asking; approves an undo the guards would hold.
    #[arg(long)]
    pub yes: bool,
}

/// Row numbers as `--rows` gives them: single rows and inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows(Vec<RangeInclusive<u64>>);

impl Rows {
    fn contains(&self, row: u64) -> bool {
        self.0.iter().any(|r| r.contains(&row))
    }
}

fn parse_rows(text: &str) -> Result<Rows, String> {
    let number = |s: &str| {
        s.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("'{}' is not a row number", Shown(s.trim())))
    };
    let mut ranges = Vec::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let range = match part.split_once('-') {
            Some((a, b)) => number(a)?..=number(b)?,
            None => number(part)?..=number(part)?,
        };
        if range.is_empty() {
            return Err(format!("'{}' is an empty range", Shown(part.trim())));
        }
        ranges.push(range);
    }
    if ranges.is_empty() {
        return Err("no rows given (e.g. 3,5-9)".into());
    }
    Ok(Rows(ranges))
}

/// Rows named in the what-will-be-undone list; the report has them all.
const SHOWN: usize = 10;

pub(super) async fn run(config: Option<&Path>, args: UndoArgs) -> anyhow::Result<Exit> {
    let settings = super::load_settings(config, "warn")?;
    let actor = super::operator::begin(&settings)?;
    let _lock = RunLock::acquire(&settings.state_dir)?;
    let journal = Journal::open(&settings.state_dir)?;
    let Some(file) = journal.file(args.file_id).await? else {
        eprintln!("no file {} in the journal", args.file_id);
        return Ok(Exit::Usage);
    };
    if let Some(why) = refusal(&file) {
        eprintln!("{why}");
        return Ok(Exit::Usage);
    }
    // An undo of this file left unfinished (interrupted, killed, held): carry it on first.
    let open = journal
        .undos_of(file.id)
        .await?
        .into_iter()
        .find(|u| matches!(u.state, FileState::Processing | FileState::Held | FileState::Queued));
    if let Some(undo) = open {
        println!("file {} ({}): carrying on with its undo, file {}", file.id, Shown(&file.name), undo.id);
        return start(&settings, &journal, undo.id, args.yes, &actor).await;
    }
    let plan = pipeline::plan_undo(&journal, &file, |row| args.rows.as_ref().is_none_or(|r| r.contains(row)))
        .await?;
    for line in plan.skipped.iter().take(SHOWN) {
        println!("  {line}");
    }
    if plan.skipped.len() > SHOWN {
        println!("  ... and {} more rows already undone", plan.skipped.len() - SHOWN);
    }
    if plan.ops.is_empty() {
        println!("file {} ({}): nothing to undo", file.id, Shown(&file.name));
        return Ok(Exit::Success);
    }
    let max = settings.safety.max_deletes_per_file;
    if !args.yes {
        if !super::confirm::can_ask() {
            eprintln!("undo shows what it will undo and asks first: run it from a terminal, or pass --yes");
            return Ok(Exit::Usage);
        }
        print_ops(&file, plan.ops.iter().map(|(_, op)| op));
        print_give_backs(&journal, &file, &plan.ops).await?;
        if let Some(why) = plan.over(max) {
            println!("{why}: the undo will be held until approved (`fdsync approve`), or run it with --yes");
        }
        if !super::confirm::ask(&format!("undo file {} ({})?", file.id, Shown(&file.name)))? {
            println!("nothing undone");
            return Ok(Exit::RowsFailed);
        }
    }
    let undo = pipeline::take_undo(&journal, &file, &plan, max, actor.clone()).await?;
    let head = journal.chain_head().await?;
    let what = format!("undo of file {} ({}) journaled as file {undo}", file.id, Shown(&file.name));
    super::operator::announce("undo", &actor, &what, Some(undo), head.as_ref());
    println!("file {} ({}): {} rows to undo in file {undo}", file.id, Shown(&file.name), plan.ops.len());
    start(&settings, &journal, undo, args.yes, &actor).await
}

/// Why file `f` cannot be undone, if it cannot.
fn refusal(f: &FileRecord) -> Option<String> {
    let name = Shown(&f.name);
    if let Some(of) = f.undo_of {
        return Some(format!(
            "file {} ({name}) is an undo of file {of}: undoing an undo is not supported \
             (restore its tickets in Freshdesk, or delete the agents again with a file)",
            f.id
        ));
    }
    match f.state {
        FileState::Duplicate => Some(format!(
            "file {} ({name}) is a duplicate of file {}: nothing was sent from it; undo that file",
            f.id,
            f.duplicate_of.unwrap_or_default()
        )),
        FileState::Queued | FileState::Processing | FileState::Held => Some(format!(
            "file {} ({name}) is {}: let it finish first (its rows not yet run could run after the undo)",
            f.id,
            f.state.as_str()
        )),
        FileState::Done | FileState::Failed => None,
    }
}

/// Runs undo file `undo` (approving it first when it is held and `yes`) and prints its summary.
async fn start(
    settings: &Settings,
    journal: &Journal,
    undo: i64,
    yes: bool,
    actor: &crate::account::Actor,
) -> anyhow::Result<Exit> {
    let Some(f) = journal.file(undo).await? else { return Ok(Exit::Usage) };
    if f.state == FileState::Held {
        if !yes {
            let why = f.error.unwrap_or_default();
            println!(
                "file {undo} ({}): held: {why}; check it, then `fdsync approve {undo}` and run the same undo \
                 again, or run it with --yes",
                Shown(&f.name)
            );
            return Ok(Exit::RowsFailed);
        }
        let note = Some("approved by `fdsync undo --yes`".to_string());
        if let Some(head) = pipeline::approve(journal, undo, actor.clone(), note).await? {
            let what = format!("undo file {undo} approved");
            super::operator::announce("approve", actor, &what, Some(undo), Some(&head));
        }
    }
    // Sent on the connection the undone file was sent on; if that connection is no longer
    // configured, the undo waits (never sent to another account).
    let on = settings.on_connection(&f.connection)?;
    let journal = journal.on_connection(&f.connection);
    let shutdown = super::signals::shutdown_token();
    super::import::run_files(&on, &journal, vec![undo], shutdown, Exit::Success).await
}

/// Prints what undo file `file` will do (for `approve`).
pub(super) async fn print_plan(journal: &Journal, file: &FileRecord) -> anyhow::Result<()> {
    let ops = journal.undo_ops(file.id).await?;
    print_ops(file, ops.iter().map(|o| &o.op));
    Ok(())
}

/// The tickets the restored leavers' deletes handed over, given back where the successor still
/// holds them (issue 24).
async fn print_give_backs(
    journal: &Journal,
    file: &FileRecord,
    ops: &[(crate::domain::OpKey, Op)],
) -> anyhow::Result<()> {
    let mut moved = 0;
    for (_, op) in ops {
        if let Op::RestoreAgent { of, .. } = op {
            let moves = journal.moves_of_row(file.id, of.row).await?;
            moved += moves.iter().filter(|m| m.state == crate::journal::MoveState::Done).count();
        }
    }
    if moved > 0 {
        println!(
            "  then gives back {moved} tickets their deletes handed over, each only if the successor still holds it"
        );
    }
    Ok(())
}

/// Counts, then the first rows, of what an undo does.
fn print_ops<'a>(file: &FileRecord, ops: impl Iterator<Item = &'a Op> + Clone) {
    let restores = ops.clone().filter(|op| matches!(op, Op::RestoreAgent { .. })).count();
    let blind = ops.clone().filter(|op| matches!(op, Op::RestoreAgent { image: None, .. })).count();
    let deletes = ops.clone().filter(|op| matches!(op, Op::DeleteTicket { .. })).count();
    println!(
        "undo of file {} ({}): {restores} agents to restore ({blind} without a before-image: not restorable), \
         {deletes} tickets to delete",
        file.id,
        Shown(&file.name)
    );
    for op in ops.clone().take(SHOWN) {
        println!("  {}", describe(op));
    }
    let total = ops.count();
    if total > SHOWN {
        println!("  ... and {} more rows", total - SHOWN);
    }
}

fn describe(op: &Op) -> String {
    let ids = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(" ");
    match op {
        Op::RestoreAgent { agent_id, of, image, email } => {
            let who = email.as_deref().map(|e| format!(" <{}>", Shown(e))).unwrap_or_default();
            match image {
                Some(i) => format!(
                    "row {}: restore agent {agent_id}{who}: roles [{}], groups [{}], ticket_scope {}, occasional {}",
                    of.row,
                    ids(&i.role_ids),
                    ids(&i.group_ids),
                    i.ticket_scope.number(),
                    i.occasional
                ),
                None => format!("row {}: agent {agent_id}{who}: not restorable, no before-image", of.row),
            }
        }
        Op::DeleteTicket { ticket_id, of } => format!("row {}: delete ticket {ticket_id}", of.row),
        Op::UpdateAgent { agent_id, set, of: Some(of) } if set.is_empty() => {
            format!("row {}: agent {agent_id}: not restorable, no before-image", of.row)
        }
        Op::UpdateAgent { agent_id, set, of: Some(of) } => {
            format!(
                "row {}: put back agent {agent_id}'s {}",
                of.row,
                Shown(&crate::freshdesk::agents::update_body(set).to_string())
            )
        }
        other => format!("{}", other.action()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_single_numbers_and_inclusive_ranges() {
        let rows = parse_rows("3,5-9").unwrap();
        assert!(rows.contains(3) && rows.contains(5) && rows.contains(9));
        assert!(!rows.contains(4) && !rows.contains(10));
        assert_eq!(parse_rows(" 7 ").unwrap(), Rows(vec![7..=7]));
        for bad in ["", "a", "0", "9-5", "3,-2", "1-x"] {
            assert!(parse_rows(bad).is_err(), "{bad}");
        }
    }
}
