//! `fdsync prune --before DATE [--yes]`: drops the op rows (and their payloads) of finished
//! files (done, failed, duplicate) last updated before DATE, keeping each change as an audit row
//! (`fdsync audit` answers the same afterwards) and each file's row (so a re-dropped file is
//! still a duplicate). Never a file in progress, held or queued. Just deletes: no VACUUM.
//! Without `--yes` it shows what it would remove and asks at a terminal; elsewhere it stops there.

use crate::exit::Exit;
use crate::journal::{Journal, PrunedFile};
use crate::text::Shown;
use std::io::IsTerminal;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    /// Prune finished files last updated before DATE (YYYY-MM-DD, UTC midnight, or RFC 3339).
    #[arg(long, value_name = "DATE", value_parser = super::audit::parse_date)]
    pub before: i64,
    /// Remove without asking (scripts); without it and without a terminal, only show what would go.
    #[arg(long)]
    pub yes: bool,
}

/// Most files listed before asking.
const LISTED: usize = 10_000;

pub(super) async fn run(config: Option<&Path>, args: PruneArgs) -> anyhow::Result<Exit> {
    let settings = super::load_settings(config, "warn")?;
    let actor = super::operator::begin(&settings)?;
    let journal = Journal::open(&settings.state_dir)?;
    let plan = journal.prune_plan(args.before, LISTED).await?;
    if plan.is_empty() {
        println!("nothing to prune: no finished file last updated before that date has ops left");
        return Ok(Exit::Success);
    }
    print_files("would prune", &plan);
    let more = if plan.len() == LISTED { " (at least)" } else { "" };
    println!("{}{more}", totals(&plan));
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            println!("nothing removed: pass --yes to prune");
            return Ok(Exit::Success);
        }
        if !super::confirm::ask("prune these files' ops?")? {
            println!("nothing removed");
            return Ok(Exit::RowsFailed);
        }
    }
    let pruned = journal.prune(args.before, actor.clone()).await?;
    let head = journal.chain_head().await?;
    super::operator::announce("prune", &actor, &format!("pruned {}", totals(&pruned)), None, head.as_ref());
    print_files("pruned", &pruned);
    println!("removed: {}", totals(&pruned));
    Ok(Exit::Success)
}

fn print_files(verb: &str, files: &[PrunedFile]) {
    for f in files {
        println!(
            "{verb} file {} ({}, {}): {} ops, {} kept as audit rows",
            f.id,
            Shown(&f.name),
            f.state,
            f.ops,
            f.kept
        );
    }
}

fn totals(files: &[PrunedFile]) -> String {
    let ops: u64 = files.iter().map(|f| f.ops).sum();
    let kept: u64 = files.iter().map(|f| f.kept).sum();
    format!("{} files, {ops} ops ({kept} changes kept for `fdsync audit`)", files.len())
}
