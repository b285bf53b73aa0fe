//! `[[inbox]]` → [`Inbox`]: each watched folder with its parsed action and settle time. It only
//! resolves the table; it must not touch the folder (the daemon's `inbox` watches it).

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
}

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
    Ok(Inbox { dir: ib.dir, action, settle: Duration::from_secs_f64(ib.settle_secs), pattern: ib.pattern })
}
