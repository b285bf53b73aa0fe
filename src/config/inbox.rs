//! `[[inbox]]` → [`Inbox`]: each watched folder with its parsed action, the actions its rows
//! may ask for (its powers), its size caps and settle time. It only resolves the table; it must
//! not touch the folder (the daemon's `inbox` watches it).
//!
//! Powers: `actions` lists what a row may ask for. Without it, an inbox with an `action` allows
//! that action only; an inbox with neither allows every action that deletes nothing
//! (`create_ticket`, `create_agent`, `get_agent`): a delete is never a default power.

use super::Error;
use super::connection::{self, Connection};
use super::raw::RawInbox;
use crate::domain::Action;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Inbox {
    pub dir: PathBuf,
    pub action: Option<Action>,
    pub settle: Duration,
    pub pattern: Option<String>,
    /// The actions its rows may ask for; any other row is refused (`action_not_allowed`).
    pub actions: Vec<Action>,
    pub caps: Caps,
    /// How its files write custom_date values other than `YYYY-MM-DD` (checked at load).
    pub date_format: Option<String>,
    /// Where the file names of an `attachments` column are found; without it the column is
    /// refused.
    pub attachments_dir: Option<PathBuf>,
    /// Offboarding: the group that takes over a leaver's open tickets when the row names no
    /// successor (`successor_group`).
    pub successor_group: Option<crate::domain::GroupRef>,
}

/// Above either, a file is held for approval before any call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub max_file_bytes: u64,
    pub max_rows: u64,
}

impl Inbox {
    /// An inbox on `dir` with the defaults of a table that names only `dir` and `action`.
    pub fn new(dir: PathBuf, action: Option<Action>) -> Self {
        let actions = action.map_or_else(|| NON_DELETING.to_vec(), |a| vec![a]);
        let caps = Caps { max_file_bytes: 1 << 30, max_rows: 1_000_000 };
        Self {
            dir,
            action,
            settle: Duration::from_secs(2),
            pattern: None,
            actions,
            caps,
            date_format: None,
            attachments_dir: None,
            successor_group: None,
        }
    }

    /// Whether its rows may ask for `action`.
    pub fn allows(&self, action: Action) -> bool {
        self.actions.contains(&action)
    }
}

/// What an inbox with neither `action` nor `actions` allows: nothing that deletes.
pub(super) const NON_DELETING: [Action; 3] = [Action::CreateTicket, Action::CreateAgent, Action::GetAgent];

/// Every inbox, in file order, and the connection of each (by folder); the first bad one is
/// named by its index (`inbox[2].action`, `inbox[2].connection`).
pub(super) type Resolved = (Vec<Inbox>, Vec<(PathBuf, String)>);

pub(super) fn resolve_all(raw: Vec<RawInbox>, connections: &[Connection]) -> Result<Resolved, Error> {
    let mut out = (Vec::with_capacity(raw.len()), Vec::with_capacity(raw.len()));
    for (i, mut ib) in raw.into_iter().enumerate() {
        let name = ib.connection.take().unwrap_or_else(|| connection::DEFAULT.into());
        if !connections.iter().any(|c| c.name == name) {
            return Err(connection::unknown(&format!("inbox[{i}].connection"), &name, connections));
        }
        let inbox = resolve(i, ib)?;
        out.1.push((inbox.dir.clone(), name));
        out.0.push(inbox);
    }
    Ok(out)
}

fn resolve(i: usize, ib: RawInbox) -> Result<Inbox, Error> {
    let action = match ib.action.as_deref() {
        Some(a) => Some(a.parse::<Action>().map_err(|m| Error::invalid(&format!("inbox[{i}].action"), m))?),
        None => None,
    };
    if !(0.0..=3600.0).contains(&ib.settle_secs) {
        return Err(Error::invalid(&format!("inbox[{i}].settle_secs"), "must be between 0 and 3600"));
    }
    let actions = resolve_actions(i, action, ib.actions.as_deref())?;
    let caps = Caps { max_file_bytes: ib.max_file_bytes, max_rows: ib.max_rows };
    let settle = Duration::from_secs_f64(ib.settle_secs);
    if let Some(spec) = &ib.date_format {
        crate::freshdesk::ticket_fields::convert::DateFormat::parse(spec)
            .map_err(|m| Error::invalid(&format!("inbox[{i}].date_format"), m))?;
    }
    if ib.attachments_dir.as_ref().is_some_and(|d| !d.is_absolute()) {
        return Err(Error::invalid(&format!("inbox[{i}].attachments_dir"), "must be an absolute path"));
    }
    let (date_format, attachments_dir) = (ib.date_format, ib.attachments_dir);
    let successor_group = match ib.successor_group.as_deref() {
        Some(g) => Some(
            crate::domain::GroupRef::parse(g)
                .map_err(|m| Error::invalid(&format!("inbox[{i}].successor_group"), m))?,
        ),
        None => None,
    };
    Ok(Inbox {
        dir: ib.dir,
        action,
        settle,
        pattern: ib.pattern,
        actions,
        caps,
        date_format,
        attachments_dir,
        successor_group,
    })
}

/// `actions` parsed (aliases accepted, duplicates dropped), else the default; the inbox's own
/// `action` must be one of them.
fn resolve_actions(i: usize, action: Option<Action>, raw: Option<&[String]>) -> Result<Vec<Action>, Error> {
    let key = format!("inbox[{i}].actions");
    let Some(raw) = raw else {
        return Ok(action.map_or_else(|| NON_DELETING.to_vec(), |a| vec![a]));
    };
    let mut out = Vec::with_capacity(raw.len());
    for name in raw {
        let a = name.parse::<Action>().map_err(|m| Error::invalid(&key, m))?;
        if !out.contains(&a) {
            out.push(a);
        }
    }
    if out.is_empty() {
        return Err(Error::invalid(&key, "must name at least one action"));
    }
    if let Some(a) = action.filter(|a| !out.contains(a)) {
        return Err(Error::invalid(
            &format!("inbox[{i}].action"),
            format!("{a} is not in inbox[{i}].actions"),
        ));
    }
    Ok(out)
}
