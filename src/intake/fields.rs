//! The one alias table shared by CSV headers and JSON keys, and the borrowed view of one input
//! record ([`RowFields`]) that the row builder validates. No parsing of values happens here.

use serde_json::Value;

/// A known input field. Header names and JSON keys map onto these through [`Field::from_name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Action,
    Email,
    Subject,
    Description,
    Priority,
    Status,
    Name,
    Tags,
    Type,
    GroupId,
    ResponderId,
    /// A ticket's product (an id or a name).
    ProductId,
    Source,
    CcEmails,
    ExternalId,
    TicketScope,
    JobTitle,
    Occasional,
    RoleIds,
    GroupIds,
    Language,
    TimeZone,
    AgentId,
    /// A ticket requester's other identities (besides `email`).
    Phone,
    RequesterId,
    UniqueExternalId,
    TwitterId,
    FacebookId,
    /// Files to attach to a ticket (names in the inbox's `attachments_dir`).
    Attachments,
    /// Offboarding: who takes over the leaver's open tickets (an agent's e-mail or id).
    Successor,
    /// Offboarding: the group that takes them over (a name or an id).
    SuccessorGroup,
    /// A JSON `custom_fields` object (CSV uses `cf_*` columns instead).
    CustomFields,
}

/// How many [`Field`] variants exist (the size of [`RowFields`]' slot array).
pub(crate) const FIELD_COUNT: usize = Field::CustomFields as usize + 1;

/// Normalised name → field. Names are compared lower-cased with `_`, `-` and spaces removed, so
/// `ticket_scope`, `ticketScope` and `Ticket Scope` are one name.
const ALIASES: &[(&str, Field)] = &[
    ("action", Field::Action),
    ("email", Field::Email),
    ("requesteremail", Field::Email),
    ("subject", Field::Subject),
    ("description", Field::Description),
    ("priority", Field::Priority),
    ("status", Field::Status),
    ("name", Field::Name),
    ("tags", Field::Tags),
    ("type", Field::Type),
    ("groupid", Field::GroupId),
    ("responderid", Field::ResponderId),
    ("productid", Field::ProductId),
    ("source", Field::Source),
    ("ccemails", Field::CcEmails),
    ("externalid", Field::ExternalId),
    ("ticketscope", Field::TicketScope),
    ("jobtitle", Field::JobTitle),
    ("occasional", Field::Occasional),
    ("roleids", Field::RoleIds),
    ("groupids", Field::GroupIds),
    ("language", Field::Language),
    ("timezone", Field::TimeZone),
    ("agentid", Field::AgentId),
    ("id", Field::AgentId),
    ("phone", Field::Phone),
    ("requesterid", Field::RequesterId),
    ("uniqueexternalid", Field::UniqueExternalId),
    ("twitterid", Field::TwitterId),
    ("facebookid", Field::FacebookId),
    ("attachments", Field::Attachments),
    ("successor", Field::Successor),
    ("successorgroup", Field::SuccessorGroup),
    ("customfields", Field::CustomFields),
];

/// What a header name or JSON key means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Column {
    Known(Field),
    /// A `cf_*` custom field; holds its API name (trimmed, as written).
    Custom(String),
    /// A column fdsync writes itself (`fdsync_error` in a rejects file): read back, ignored.
    Ours,
    Unknown,
}

/// Columns fdsync adds to the rows it hands back (the rejects file); ignored on input.
pub(crate) const OUR_COLUMNS: [&str; 2] = ["fdsync_error", "fdsync_record"];

impl Field {
    /// The canonical name, used in error messages when the field is missing altogether.
    pub(crate) fn canonical(self) -> &'static str {
        match self {
            Field::Action => "action",
            Field::Email => "email",
            Field::Subject => "subject",
            Field::Description => "description",
            Field::Priority => "priority",
            Field::Status => "status",
            Field::Name => "name",
            Field::Tags => "tags",
            Field::Type => "type",
            Field::GroupId => "group_id",
            Field::ResponderId => "responder_id",
            Field::ProductId => "product_id",
            Field::Source => "source",
            Field::CcEmails => "cc_emails",
            Field::ExternalId => "external_id",
            Field::TicketScope => "ticket_scope",
            Field::JobTitle => "job_title",
            Field::Occasional => "occasional",
            Field::RoleIds => "role_ids",
            Field::GroupIds => "group_ids",
            Field::Language => "language",
            Field::TimeZone => "time_zone",
            Field::AgentId => "agent_id",
            Field::Phone => "phone",
            Field::RequesterId => "requester_id",
            Field::UniqueExternalId => "unique_external_id",
            Field::TwitterId => "twitter_id",
            Field::FacebookId => "facebook_id",
            Field::Attachments => "attachments",
            Field::Successor => "successor",
            Field::SuccessorGroup => "successor_group",
            Field::CustomFields => "custom_fields",
        }
    }

    /// Classifies a header name or JSON key.
    pub(crate) fn from_name(raw: &str) -> Column {
        let trimmed = raw.trim().trim_start_matches('\u{feff}').trim();
        if OUR_COLUMNS.iter().any(|c| c.eq_ignore_ascii_case(trimmed)) {
            return Column::Ours;
        }
        if trimmed.len() > 3 && trimmed.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("cf_")) {
            return Column::Custom(trimmed.to_string());
        }
        let norm: String =
            trimmed.chars().filter(|c| !matches!(c, '_' | '-' | ' ')).flat_map(char::to_lowercase).collect();
        ALIASES.iter().find(|(name, _)| *name == norm).map_or(Column::Unknown, |(_, f)| Column::Known(*f))
    }
}

/// One cell's value: CSV text or a JSON value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cell<'a> {
    Text(&'a str),
    Json(&'a Value),
}

impl Cell<'_> {
    /// Blank text and JSON `null` count as absent.
    pub(crate) fn is_blank(&self) -> bool {
        match self {
            Cell::Text(s) => s.trim().is_empty(),
            Cell::Json(Value::Null) => true,
            Cell::Json(Value::String(s)) => s.trim().is_empty(),
            Cell::Json(_) => false,
        }
    }
}

/// A column as the user wrote it, with its value.
pub(crate) type Named<'a> = (&'a str, Cell<'a>);

/// One record, borrowed from the CSV record or the parsed JSON object. Blank cells are absent.
#[derive(Debug, Default)]
pub(crate) struct RowFields<'a> {
    slots: [Option<Named<'a>>; FIELD_COUNT],
    /// `cf_*` columns: (column as written, API name, value).
    pub(crate) custom: Vec<(&'a str, &'a str, Cell<'a>)>,
    /// Problems found while collecting (a field given twice under two aliases).
    pub(crate) conflicts: Vec<(String, String)>,
}

impl<'a> RowFields<'a> {
    /// Records a known field; blank values are dropped. A second non-blank value for the same
    /// field is a conflict (two aliases in one JSON object).
    pub(crate) fn set(&mut self, field: Field, column: &'a str, cell: Cell<'a>) {
        if cell.is_blank() {
            return;
        }
        let slot = &mut self.slots[field as usize];
        match slot {
            Some((first, _)) => {
                self.conflicts.push((column.to_string(), format!("is given twice (also as '{first}')")))
            }
            None => *slot = Some((column, cell)),
        }
    }

    pub(crate) fn get(&self, field: Field) -> Option<Named<'a>> {
        self.slots[field as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_case_insensitively_with_aliases() {
        assert_eq!(Field::from_name(" Email "), Column::Known(Field::Email));
        assert_eq!(Field::from_name("requester_email"), Column::Known(Field::Email));
        assert_eq!(Field::from_name("ticketScope"), Column::Known(Field::TicketScope));
        assert_eq!(Field::from_name("jobTitle"), Column::Known(Field::JobTitle));
        assert_eq!(Field::from_name("agentID"), Column::Known(Field::AgentId));
        assert_eq!(Field::from_name("\u{feff}action"), Column::Known(Field::Action));
        assert_eq!(Field::from_name("cf_host"), Column::Custom("cf_host".into()));
        assert_eq!(Field::from_name("cf_"), Column::Unknown);
        assert_eq!(Field::from_name("notes"), Column::Unknown);
        assert_eq!(Field::from_name(" FDSYNC_error "), Column::Ours);
    }

    #[test]
    fn blank_cells_are_absent_and_aliases_given_twice_conflict() {
        let mut f = RowFields::default();
        f.set(Field::Email, "email", Cell::Text("  "));
        assert!(f.get(Field::Email).is_none());
        f.set(Field::Email, "email", Cell::Text("a@b.co"));
        f.set(Field::Email, "requester_email", Cell::Text("c@d.co"));
        assert_eq!(f.get(Field::Email).map(|(c, _)| c), Some("email"));
        assert_eq!(f.conflicts.len(), 1);
    }
}
