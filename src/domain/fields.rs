//! Validated field newtypes: emails and the enums Freshdesk takes as integers. Each accepts a name
//! or a number, case-insensitively (`"high"`, `"High"`, `"3"` are all priority 3).

use crate::text::Shown;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A ticket's `group_id`, `responder_id` or `product_id` as a row gives it: an id, sent as it
/// is, or a name (a group's or product's name, an agent's e-mail) that the engine resolves to an
/// id before the create. Kept as written in the journal: a number is an id (journals written
/// before names were accepted read back unchanged), a string a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IdOrName {
    Id(u64),
    Name(String),
}

impl IdOrName {
    /// A cell of digits (signed or not) is an id: a positive integer, or refused as before names
    /// were accepted; anything else non-empty is a name of at most 255 characters.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return match s.parse::<u64>() {
                Ok(n) if n > 0 => Ok(IdOrName::Id(n)),
                _ => Err(format!("'{}' is not a positive integer id", Shown(s))),
            };
        }
        if s.is_empty() {
            return Err("is empty".into());
        }
        if s.chars().count() > 255 {
            return Err("is longer than 255 characters".into());
        }
        Ok(IdOrName::Name(s.to_string()))
    }

    /// The id, when it is one.
    pub fn id(&self) -> Option<u64> {
        match self {
            IdOrName::Id(id) => Some(*id),
            IdOrName::Name(_) => None,
        }
    }
}

/// Why one field of one row was refused. `column` names the input column as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub column: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(column: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { column: column.into(), reason: reason.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.column, self.reason)
    }
}

/// An email address as given (trimmed). Freshdesk matches emails case-insensitively, so the
/// idempotency key uses [`Email::key`], the lower-cased form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Accepts `local@domain.tld` with no spaces, at most 255 characters (Freshdesk's limit).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("is empty".into());
        }
        if s.len() > 255 {
            return Err("is longer than 255 characters".into());
        }
        let valid = match s.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !s.chars().any(|c| c.is_whitespace() || c == ',' || c == '<' || c == '>')
            }
            None => false,
        };
        if valid {
            Ok(Self(s.to_string()))
        } else {
            Err(format!("'{}' is not a valid email address", crate::text::Shown(s)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lower-cased email: the natural key of an agent.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses an enum given by name (case-insensitive) or by its number.
fn by_name_or_number(raw: &str, names: &[(&str, u8)]) -> Result<u8, String> {
    let s = raw.trim();
    if let Ok(n) = s.parse::<u8>()
        && names.iter().any(|(_, v)| *v == n)
    {
        return Ok(n);
    }
    names.iter().find(|(name, _)| name.eq_ignore_ascii_case(s)).map(|(_, v)| *v).ok_or_else(|| {
        let allowed: Vec<String> = names.iter().map(|(n, v)| format!("{n} ({v})")).collect();
        format!("'{}' is not one of {}", crate::text::Shown(s), allowed.join(", "))
    })
}

/// `raw` without the first of `suffixes` it ends with (ASCII case ignored), trimmed.
fn without_suffix<'a>(raw: &'a str, suffixes: &[&str]) -> &'a str {
    let raw = raw.trim();
    suffixes
        .iter()
        .find_map(|suffix| {
            let cut = raw.len().checked_sub(suffix.len())?;
            let (head, tail) = (raw.get(..cut)?, raw.get(cut..)?);
            tail.eq_ignore_ascii_case(suffix).then_some(head)
        })
        .unwrap_or(raw)
}

macro_rules! int_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $value:literal),+ $(,)? } $(suffixes [$($suffix:literal),*])?) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant = $value),+ }

        impl $name {
            const NAMES: &'static [(&'static str, u8)] = &[$((stringify!($variant), $value)),+];
            /// Spellings that may follow a name (`Group-Level`): dropped before matching.
            const SUFFIXES: &'static [&'static str] = &[$($($suffix),*)?];

            pub fn parse(raw: &str) -> Result<Self, String> {
                let n = by_name_or_number(without_suffix(raw, Self::SUFFIXES), Self::NAMES)?;
                Ok(match n { $($value => Self::$variant,)+ _ => unreachable!("checked against NAMES") })
            }

            /// The integer Freshdesk expects.
            pub fn number(self) -> u8 {
                self as u8
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u8(self.number())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let n = u8::deserialize(d)?;
                Self::parse(&n.to_string()).map_err(serde::de::Error::custom)
            }
        }
    };
}

int_enum!(
    /// Ticket priority: Low 1, Medium 2, High 3, Urgent 4.
    Priority { Low = 1, Medium = 2, High = 3, Urgent = 4 }
);
int_enum!(
    /// Ticket status: Open 2, Pending 3, Resolved 4, Closed 5.
    Status { Open = 2, Pending = 3, Resolved = 4, Closed = 5 }
);
int_enum!(
    /// Agent ticket scope: Global 1, Group 2, Restricted 3; also as the connector spells them
    /// (`Group-Level`), and `Group level`, `group_level`.
    TicketScope { Global = 1, Group = 2, Restricted = 3 } suffixes ["-level", " level", "_level"]
);

/// Which agent a delete names: its id (`agent_id` column) or its email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentRef {
    Id(u64),
    Email(Email),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_is_an_id_and_other_text_a_name() {
        assert_eq!(IdOrName::parse(" 42 "), Ok(IdOrName::Id(42)));
        assert_eq!(IdOrName::parse("Tier 1"), Ok(IdOrName::Name("Tier 1".into())));
        assert!(IdOrName::parse("-4").unwrap_err().contains("not a positive integer id"));
        assert!(IdOrName::parse("0").is_err());
        // The journal keeps what was written: a number reads back as an id, text as a name.
        let back: Vec<IdOrName> = serde_json::from_str(r#"[5, "Billing"]"#).unwrap();
        assert_eq!(back, [IdOrName::Id(5), IdOrName::Name("Billing".into())]);
    }

    #[test]
    fn enums_accept_names_and_numbers_case_insensitively() {
        assert_eq!(Priority::parse("high"), Ok(Priority::High));
        assert_eq!(Priority::parse(" URGENT "), Ok(Priority::Urgent));
        assert_eq!(Priority::parse("1"), Ok(Priority::Low));
        assert_eq!(Status::parse("closed").map(Status::number), Ok(5));
        assert_eq!(TicketScope::parse("3"), Ok(TicketScope::Restricted));
    }

    #[test]
    fn ticket_scopes_accept_the_connectors_level_spellings() {
        for (raw, want) in [
            ("Group-Level", 2),
            ("Group level", 2),
            ("group_level", 2),
            (" GROUP-LEVEL ", 2),
            ("Global-Level", 1),
            ("Restricted Level", 3),
            ("restricted_level", 3),
        ] {
            assert_eq!(TicketScope::parse(raw).map(TicketScope::number), Ok(want), "{raw}");
        }
        for bad in ["Group-", "Level", "-Level", "Group--Level", "Groups level"] {
            assert!(TicketScope::parse(bad).is_err(), "{bad} accepted");
        }
        // Only ticket scopes have the suffix.
        assert!(Priority::parse("High-Level").is_err());
    }

    #[test]
    fn enums_reject_unknown_values_with_the_allowed_list() {
        let err = Priority::parse("5").unwrap_err();
        assert!(err.contains("Low (1)") && err.contains("Urgent (4)"), "{err}");
        assert!(Status::parse("1").is_err());
        assert!(TicketScope::parse("everyone").is_err());
    }

    #[test]
    fn emails_are_checked_and_keyed_lower_case() {
        let e = Email::parse(" Jane.Doe@Example.com ").unwrap();
        assert_eq!(e.as_str(), "Jane.Doe@Example.com");
        assert_eq!(e.key(), "jane.doe@example.com");
        for bad in ["", "jane", "jane@", "@example.com", "a b@example.com", "a@b", "a@@b.com"] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
