//! What fdsync achieved for one row, as the report names it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The ticket or agent was created by this run (including one recovered by reconciliation).
    Created,
    /// The agent already existed (409 duplicate, or found when reconciling a create we never sent).
    Exists,
    /// `get_agent` found the agent.
    Found,
    /// `get_agent` found no agent with that email.
    NotFound,
    Deleted,
    /// The agent was already gone (404 on delete, or no agent with that email).
    AlreadyDeleted,
    Failed,
    /// Not run: a duplicate row, or a row the safety rules kept back.
    Skipped,
    WouldCreate,
    WouldDelete,
    /// Preview: the row would fail (validation, an unknown agent, a lookup that could not tell).
    WouldFail,
    /// Preview: a delete of a protected agent, which fdsync refuses.
    Protected,
    /// Preview: a delete of the agent who owns the API key, which fdsync refuses.
    #[serde(rename = "self")]
    OwnKey,
    /// Undo: the deleted agent is an agent again, from its before-image.
    Restored,
    /// Undo: the change cannot be reversed (the reason is in the row's error code and message:
    /// the contact is gone, is an agent already, no seat, no before-image, the ticket is gone).
    NotRestorable,
    /// An existing agent's fields were changed (`update_agent`).
    Updated,
}

impl Outcome {
    pub const ALL: [Outcome; 16] = [
        Outcome::Created,
        Outcome::Exists,
        Outcome::Found,
        Outcome::NotFound,
        Outcome::Deleted,
        Outcome::AlreadyDeleted,
        Outcome::Failed,
        Outcome::Skipped,
        Outcome::WouldCreate,
        Outcome::WouldDelete,
        Outcome::WouldFail,
        Outcome::Protected,
        Outcome::OwnKey,
        Outcome::Restored,
        Outcome::NotRestorable,
        Outcome::Updated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Exists => "exists",
            Outcome::Found => "found",
            Outcome::NotFound => "not_found",
            Outcome::Deleted => "deleted",
            Outcome::AlreadyDeleted => "already_deleted",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::WouldCreate => "would_create",
            Outcome::WouldDelete => "would_delete",
            Outcome::WouldFail => "would_fail",
            Outcome::Protected => "protected",
            Outcome::OwnKey => "self",
            Outcome::Restored => "restored",
            Outcome::NotRestorable => "not_restorable",
            Outcome::Updated => "updated",
        }
    }

    /// Whether the row counts as a success for the exit code (everything but `failed`, an undo's
    /// `not_restorable` and, in a preview, `would_fail`).
    pub fn is_success(self) -> bool {
        !matches!(self, Outcome::Failed | Outcome::WouldFail | Outcome::NotRestorable)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Outcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s).ok_or_else(|| format!("unknown outcome '{s}'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip_through_their_report_names() {
        for o in Outcome::ALL {
            assert_eq!(o.as_str().parse::<Outcome>(), Ok(o));
        }
        assert!("deleted!".parse::<Outcome>().is_err());
    }
}
