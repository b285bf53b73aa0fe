//! The operator's commands on the journal: `retry`, `approve` (`--scim`: [`super::approve_scim`]),
//! `report`.

use crate::exit::Exit;
use crate::journal::{FileState, Journal};
use crate::pipeline;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct RetryArgs {
    /// Only this file's failed rows.
    #[arg(long)]
    pub file: Option<i64>,
    /// Only the failed rows of files on this connection (rows always go back on the
    /// connection their file was sent on).
    #[arg(long, value_name = "NAME")]
    pub connection: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    /// The held file's id (see `fdsync status`).
    #[arg(required_unless_present = "scim", conflicts_with = "scim")]
    pub id: Option<i64>,
    /// Every held SCIM change of the `[scim]` connection at once (one provisioning cycle),
    /// after listing whom each would delete or create.
    #[arg(long)]
    pub scim: bool,
    /// With `--scim`: the connection whose held SCIM changes to approve (default: `[scim]`'s).
    #[arg(long, value_name = "NAME", requires = "scim")]
    pub connection: Option<String>,
    /// Why it may run (recorded with who approved it and when).
    #[arg(long)]
    pub note: Option<String>,
    /// Approve without showing the preview and asking (for scripts).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The file's id (see `fdsync status`).
    pub id: i64,
}

pub(super) async fn retry(config: Option<&Path>, args: RetryArgs) -> anyhow::Result<Exit> {
    let settings = super::load_settings(config, "warn")?;
    if let Some(name) = &args.connection {
        settings.on_connection(name)?;
    }
    let actor = super::operator::begin(&settings)?;
    let journal = Journal::open(&settings.state_dir)?;
    let n = pipeline::retry(&journal, args.file, args.connection, actor.clone()).await?;
    if n > 0 {
        let head = journal.chain_head().await?;
        super::operator::announce(
            "retry",
            &actor,
            &format!("{n} failed rows queued again"),
            args.file,
            head.as_ref(),
        );
    }
    println!(
        "{n} failed rows queued again (validation failures excepted); `fdsync run` or `fdsync import` sends them"
    );
    Ok(Exit::Success)
}

pub(super) async fn approve(config: Option<&Path>, args: ApproveArgs) -> anyhow::Result<Exit> {
    let settings = super::load_settings(config, "warn")?;
    let actor = super::operator::begin(&settings)?;
    let journal = Journal::open(&settings.state_dir)?;
    let Some(id) = args.id else {
        return super::approve_scim::approve(
            &settings,
            &journal,
            &actor,
            args.connection.as_deref(),
            args.note.as_deref(),
            args.yes,
        )
        .await;
    };
    let Some(file) = journal.file(id).await? else {
        eprintln!("no file {id} in the journal");
        return Ok(Exit::Usage);
    };
    if file.state != FileState::Held {
        eprintln!("file {} ({}) is {}, not held", file.id, file.name, file.state.as_str());
        return Ok(Exit::Usage);
    }
    if !args.yes {
        if !super::confirm::can_ask() {
            eprintln!("approve shows a preview and asks first: run it from a terminal, or pass --yes");
            return Ok(Exit::Usage);
        }
        if file.undo_of.is_some() {
            super::undo::print_plan(&journal, &file).await?;
        } else if file.inbox.as_deref() == Some(crate::scim::change::SOURCE) {
            super::approve_scim::print_cycle(std::slice::from_ref(&file), &file.connection);
        } else {
            let action = file.default_action.as_deref().and_then(|a| a.parse().ok());
            // Previewed on the connection its rows will be sent on (none if it is not configured).
            let path = std::path::PathBuf::from(&file.path);
            let under = file
                .inbox
                .as_deref()
                .map_or(super::plan::Under::Operator, |d| super::plan::Under::Inbox(Path::new(d)));
            let preview = match settings.on_connection(&file.connection) {
                Ok(on) => super::plan::preview(&on, &[path], action, under).await,
                Err(e) => Err(e.into()),
            };
            match preview {
                Ok(plans) => plans.iter().for_each(super::plan::print_table),
                Err(e) => println!("(no preview: {e:#})"),
            }
        }
        let question = format!("approve file {} ({})?", file.id, crate::text::Shown(&file.name));
        if !super::confirm::ask(&question)? {
            println!("not approved");
            return Ok(Exit::RowsFailed);
        }
    }
    let Some(head) = pipeline::approve(&journal, file.id, actor.clone(), args.note.clone()).await? else {
        eprintln!("file {} is no longer held", file.id);
        return Ok(Exit::Usage);
    };
    let name = crate::text::Shown(&file.name);
    super::operator::announce(
        "approve",
        &actor,
        &format!("file {} ({name}) approved", file.id),
        Some(file.id),
        Some(&head),
    );
    println!("file {} ({name}) approved by {}: its rows will run", file.id, actor.label());
    if let Some(of) = file.undo_of {
        println!("run `fdsync undo {of}` to run it now (or let `fdsync run` do it)");
    }
    Ok(Exit::Success)
}

pub(super) async fn report(config: Option<&Path>, args: ReportArgs) -> anyhow::Result<Exit> {
    let settings = super::load_settings(config, "warn")?;
    // It may write the report (a done file without one): as the state folder's owner.
    super::operator::begin(&settings)?;
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
