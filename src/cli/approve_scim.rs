//! `fdsync approve --scim`: one decision for a held provisioning cycle. Every SCIM change of
//! the connection that the guards hold (deprovisions over the delete rules, creations with a
//! protected role) is listed with whom it would delete or create and why it is held, then, once
//! confirmed, approved at once: each file with its own approval record naming the approver, as
//! `fdsync approve ID` records it. Only the changes shown are approved: a change held after
//! the list was read (the same cycle going on) stays held and needs a new approval.

use crate::account::Actor;
use crate::config::Settings;
use crate::exit::Exit;
use crate::journal::{FileRecord, FileState, Journal};
use crate::pipeline;
use crate::text::shown;

/// Approves the held SCIM changes of connection `on` (none: the `[scim]` one), after showing them
/// and asking unless `yes`; `note` is recorded with each approval.
pub(super) async fn approve(
    settings: &Settings,
    journal: &Journal,
    actor: &Actor,
    on: Option<&str>,
    note: Option<&str>,
    yes: bool,
) -> anyhow::Result<Exit> {
    let connection = match on {
        Some(name) => settings.on_connection(name).map(|s| s.connection)?,
        None => settings.scim.as_ref().map_or(settings.connection.clone(), |s| s.connection.clone()),
    };
    let held = held_changes(journal, &connection).await?;
    if held.is_empty() {
        eprintln!("no SCIM change is held on connection {}", shown(&connection));
        return Ok(Exit::Usage);
    }
    print_cycle(&held, &connection);
    if !yes {
        if !super::confirm::can_ask() {
            eprintln!("approve shows the held changes and asks first: run it from a terminal, or pass --yes");
            return Ok(Exit::Usage);
        }
        if !super::confirm::ask(&match held.len() {
            1 => "approve this held SCIM change?".to_string(),
            n => format!("approve these {n} held SCIM changes?"),
        })? {
            println!("not approved");
            return Ok(Exit::RowsFailed);
        }
    }
    let ids: Vec<i64> = held.iter().map(|f| f.id).collect();
    let approved = pipeline::approve_held(journal, &ids, actor, note).await?;
    for (id, head) in &approved {
        let what = format!("file {id} (SCIM change) approved");
        super::operator::announce("approve", actor, &what, Some(*id), Some(head));
    }
    println!(
        "{} held SCIM changes approved by {}: the identity provider's next retries go through, once each",
        approved.len(),
        actor.label()
    );
    if approved.len() < held.len() {
        println!("{} were no longer held (approved meanwhile)", held.len() - approved.len());
    }
    println!("a change held after this list was read needs a new approval");
    Ok(Exit::Success)
}

/// The held SCIM changes of `connection`, oldest first.
async fn held_changes(journal: &Journal, connection: &str) -> anyhow::Result<Vec<FileRecord>> {
    let mut held: Vec<FileRecord> = journal
        .files(vec![FileState::Held])
        .await?
        .into_iter()
        .filter(|f| f.inbox.as_deref() == Some(crate::scim::change::SOURCE) && f.connection == connection)
        .collect();
    held.sort_by_key(|f| f.id);
    Ok(held)
}

/// The list an operator approves: each change's file, what it does, to whom; why they are held.
pub(super) fn print_cycle(held: &[FileRecord], connection: &str) {
    let verbs: Vec<crate::scim::change::Described> =
        held.iter().map(|f| crate::scim::change::describe(&f.name)).collect();
    let count = |v: &str| verbs.iter().filter(|d| d.change == v).count();
    let tally: Vec<String> = ["delete", "create", "restore", "update"]
        .iter()
        .filter(|v| count(v) > 0)
        .map(|v| format!("{} {v}", count(v)))
        .collect();
    let (changes, _) = crate::scim::change::counted(held.len());
    println!("{changes} held on connection {} ({}):", shown(connection), tally.join(", "));
    println!("  {:>6}  {:<8}  whom", "file", "change");
    for (f, d) in held.iter().zip(&verbs) {
        println!("  {:>6}  {:<8}  {}", f.id, d.change, d.whom(shown));
    }
    if let Some(last) = held.last() {
        let why = last.error.as_deref().map_or_else(|| "held by the guards".to_string(), shown);
        println!("held because (file {}, the newest): {why}", last.id);
    }
}
