//! Who takes over a leaver's open tickets (issue 24): a row's `successor` (an agent's e-mail or
//! id) and/or `successor_group` (a group's name or id), or the inbox's default group. Pure:
//! parsing only; the engine resolves names to ids.

use super::fields::{AgentRef, Email};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A group named by its id or its name (names match case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupRef {
    Id(u64),
    Name(String),
}

impl GroupRef {
    /// A positive integer is an id; anything else non-empty is a name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("is empty".into());
        }
        if s.chars().count() > 255 {
            return Err("is longer than 255 characters".into());
        }
        Ok(match s.parse::<u64>() {
            Ok(n) if n > 0 => GroupRef::Id(n),
            _ => GroupRef::Name(s.to_string()),
        })
    }
}

impl fmt::Display for GroupRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupRef::Id(id) => write!(f, "group {id}"),
            GroupRef::Name(name) => write!(f, "group '{}'", crate::text::Shown(name)),
        }
    }
}

/// Who a leaver's open tickets go to: an agent, a group, or an agent within a group. At least
/// one of the two is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Successor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupRef>,
}

impl Successor {
    /// An agent by e-mail, or by id when the text is a positive integer.
    pub fn parse_agent(raw: &str) -> Result<AgentRef, String> {
        let s = raw.trim();
        match s.parse::<u64>() {
            Ok(n) if n > 0 => Ok(AgentRef::Id(n)),
            _ => Email::parse(s).map(AgentRef::Email),
        }
    }
}

impl fmt::Display for Successor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let agent = |a: &AgentRef| match a {
            AgentRef::Id(id) => format!("agent {id}"),
            AgentRef::Email(e) => e.as_str().to_string(),
        };
        match (&self.agent, &self.group) {
            (Some(a), Some(g)) => write!(f, "{} in {g}", agent(a)),
            (Some(a), None) => f.write_str(&agent(a)),
            (None, Some(g)) => write!(f, "{g}"),
            (None, None) => f.write_str("nobody"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_ids_and_the_rest_names_or_emails() {
        assert_eq!(GroupRef::parse(" 42 "), Ok(GroupRef::Id(42)));
        assert_eq!(GroupRef::parse("Tier 1"), Ok(GroupRef::Name("Tier 1".into())));
        assert!(GroupRef::parse("  ").is_err());
        assert_eq!(Successor::parse_agent("7"), Ok(AgentRef::Id(7)));
        assert!(matches!(Successor::parse_agent("Boss@Acme.com"), Ok(AgentRef::Email(_))));
        assert!(Successor::parse_agent("not an email").is_err());
        let s = Successor { agent: None, group: Some(GroupRef::Name("Tier 1".into())) };
        assert_eq!(s.to_string(), "group 'Tier 1'");
    }
}
