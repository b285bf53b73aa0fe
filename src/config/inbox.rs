//! `[[inbox]]` → [`Inbox`]: each watched folder with its parsed action and settle time. It only
//! resolves the table; it must not touch the folder (the daemon's `inbox` watches it).

use super::Error;
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

/// Every inbox, in file order; the first bad one is named by its index (`inbox[2].action`).
pub(super) fn resolve_all(raw: Vec<RawInbox>) -> Result<Vec<Inbox>, Error> {
    raw.into_iter().enumerate().map(|(i, ib)| resolve(i, ib)).collect()
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
