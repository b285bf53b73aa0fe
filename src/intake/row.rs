//! Turns one record's fields ([`RowFields`]) into an [`Op`], or into an `Invalid` record listing
//! every problem with the column named as the user wrote it. Pure; knows nothing of CSV or JSON.

use super::Record;
use super::fields::{Cell, Field, Named, RowFields};
use crate::domain::{
    Action, AgentRef, Attachment, Email, FieldError, GroupRef, IdOrName, NewAgent, NewTicket, Op, Priority,
    Status, Successor, TicketScope,
};
use crate::text::shown;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Freshdesk's limit on subject, name and job title.
const MAX_TEXT: usize = 255;
/// Freshdesk's limit on one tag.
const MAX_TAG: usize = 32;
/// Freshdesk's limit on cc_emails (`MAX_EMAIL_COUNT 50 − 1`).
const MAX_CC: usize = 49;

/// Builds the record for row `row`. `extra` are errors the format reader already found (a CSV
/// row with the wrong number of fields); any error makes the row `Invalid`.
pub(crate) fn build(row: u64, f: &RowFields<'_>, default: Option<Action>, extra: Vec<FieldError>) -> Record {
    let mut record = check(row, f, default, extra);
    if let Record::Invalid { errors, .. } = &mut record {
        // Column names are as written: shown, like every other piece of input in a message.
        for e in errors {
            e.column = shown(&e.column);
        }
    }
    record
}

fn check(row: u64, f: &RowFields<'_>, default: Option<Action>, extra: Vec<FieldError>) -> Record {
    let mut c = Checker { f, errors: extra };
    for (column, reason) in &f.conflicts {
        c.errors.push(FieldError::new(column.clone(), reason.clone()));
    }
    let action = match f.get(Field::Action) {
        Some((col, cell)) => match text_of(cell).and_then(|s| s.parse::<Action>()) {
            Ok(a) => Some(a),
            Err(reason) => {
                c.errors.push(FieldError::new(col, reason));
                None
            }
        },
        None => default,
    };
    let Some(action) = action else {
        if f.get(Field::Action).is_none() {
            c.errors.push(FieldError::new("action", "no action: add an `action` column or pass --action"));
        }
        return Record::Invalid { row, action: None, key_hint: key_hint(f, None), errors: c.errors };
    };
    let op = match action {
        Action::CreateTicket => c.ticket().map(Op::CreateTicket),
        Action::CreateAgent => c.agent().map(Op::CreateAgent),
        Action::GetAgent => c.email().map(|email| Op::GetAgent { email }),
        Action::DeleteAgent => {
            let agent = c.agent_ref();
            let successor = c.successor();
            agent.map(|agent| Op::DeleteAgent { agent, successor })
        }
        // `Action::from_str` never yields these; a default action could only come from code.
        Action::RestoreAgent
        | Action::DeleteTicket
        | Action::UpdateAgent
        | Action::CreateContact
        | Action::ActivateContact => {
            c.errors
                .push(FieldError::new("action", format!("{action} is made only by `fdsync undo` or SCIM")));
            None
        }
    };
    match op {
        Some(op) if c.errors.is_empty() => Record::Op { row, op },
        _ => Record::Invalid {
            row,
            action: Some(action),
            key_hint: key_hint(f, Some(action)),
            errors: c.errors,
        },
    }
}

/// The raw key-ish value of an invalid row, so the report can name it.
fn key_hint(f: &RowFields<'_>, action: Option<Action>) -> Option<String> {
    let order: &[Field] = match action {
        Some(Action::CreateTicket) => &[
            Field::ExternalId,
            Field::Email,
            Field::Phone,
            Field::RequesterId,
            Field::UniqueExternalId,
            Field::TwitterId,
            Field::FacebookId,
        ],
        Some(Action::DeleteAgent) => &[Field::AgentId, Field::Email],
        _ => &[Field::Email, Field::AgentId, Field::ExternalId],
    };
    order.iter().find_map(|field| f.get(*field)).map(|(_, cell)| match cell {
        Cell::Text(s) => shown(s.trim()),
        Cell::Json(Value::String(s)) => shown(s.trim()),
        Cell::Json(v) => shown(&v.to_string()),
    })
}

/// A cell as text: strings as they are, numbers and booleans spelled out; lists and objects refused.
/// Borrows when it can: this runs for every cell of every row.
fn text_of(cell: Cell<'_>) -> Result<Cow<'_, str>, String> {
    match cell {
        Cell::Text(s) => Ok(Cow::Borrowed(s)),
        Cell::Json(Value::String(s)) => Ok(Cow::Borrowed(s)),
        Cell::Json(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Cow::Owned(v.to_string())),
        Cell::Json(_) => Err("must be text, not a list or an object".into()),
    }
}

/// Text, trimmed, owned.
fn trimmed(cell: Cell<'_>) -> Result<String, String> {
    text_of(cell).map(|s| s.trim().to_string())
}

/// A cell as a list of strings: text split on `;`, `|` and `,`, or a JSON array.
fn list_of(cell: Cell<'_>) -> Result<Vec<String>, String> {
    let split = |s: &str| -> Vec<String> {
        s.split([';', '|', ',']).map(str::trim).filter(|t| !t.is_empty()).map(String::from).collect()
    };
    match cell {
        Cell::Json(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::Null => {}
                    Value::String(s) if s.trim().is_empty() => {}
                    Value::String(s) => out.push(s.trim().to_string()),
                    Value::Number(n) => out.push(n.to_string()),
                    _ => return Err("must be a list of strings".into()),
                }
            }
            Ok(out)
        }
        other => text_of(other).map(|s| split(&s)),
    }
}

/// A positive integer id (Freshdesk ids exceed 2³²).
fn id_of(raw: &str) -> Result<u64, String> {
    match raw.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("'{}' is not a positive integer id", shown(raw.trim()))),
    }
}

/// A ticket's agent: an id, or an agent's e-mail (resolved before the create).
fn responder_of(cell: Cell<'_>) -> Result<IdOrName, String> {
    match IdOrName::parse(&text_of(cell)?)? {
        IdOrName::Name(s) => Email::parse(&s)
            .map(|e| IdOrName::Name(e.as_str().to_string()))
            .map_err(|why| format!("{why}: responder_id takes an agent's id or e-mail")),
        id => Ok(id),
    }
}

/// A ticket requester's identities, as the row gives them.
struct Ids {
    email: Option<Email>,
    phone: Option<String>,
    requester_id: Option<u64>,
    unique_external_id: Option<String>,
    twitter_id: Option<String>,
    facebook_id: Option<String>,
}

/// Accumulates every field error of one row while building its operation.
struct Checker<'r, 'a> {
    f: &'r RowFields<'a>,
    errors: Vec<FieldError>,
}

impl Checker<'_, '_> {
    fn fail(&mut self, column: &str, reason: impl Into<String>) {
        self.errors.push(FieldError::new(column, reason));
    }

    /// Runs `parse` on a present field, recording its error under the column as written.
    fn opt<T>(&mut self, field: Field, parse: impl FnOnce(Cell<'_>) -> Result<T, String>) -> Option<T> {
        let (col, cell): Named<'_> = self.f.get(field)?;
        parse(cell).map_err(|reason| self.fail(col, reason)).ok()
    }

    /// Like [`Checker::opt`], but a missing field is itself an error.
    fn req<T>(&mut self, field: Field, parse: impl FnOnce(Cell<'_>) -> Result<T, String>) -> Option<T> {
        if self.f.get(field).is_none() {
            self.fail(field.canonical(), "is required");
            return None;
        }
        self.opt(field, parse)
    }

    fn email(&mut self) -> Option<Email> {
        self.req(Field::Email, |c| text_of(c).and_then(|s| Email::parse(&s)))
    }

    /// A ticket's requester: at least one identity; `phone` alone needs `name` (Freshdesk
    /// names the new contact from it). `None` when none is usable (the error is recorded).
    fn requester(&mut self) -> Option<Ids> {
        const IDS: [Field; 6] = [
            Field::Email,
            Field::Phone,
            Field::RequesterId,
            Field::UniqueExternalId,
            Field::TwitterId,
            Field::FacebookId,
        ];
        if IDS.iter().all(|f| self.f.get(*f).is_none()) {
            let why = "is required: give one of email, phone (with name), requester_id, unique_external_id, twitter_id, facebook_id";
            self.fail("email", why);
            return None;
        }
        let before = self.errors.len();
        let ids = Ids {
            email: self.opt(Field::Email, |c| text_of(c).and_then(|s| Email::parse(&s))),
            phone: self.opt(Field::Phone, bounded_text),
            requester_id: self.opt(Field::RequesterId, |c| text_of(c).and_then(|s| id_of(&s))),
            unique_external_id: self.opt(Field::UniqueExternalId, bounded_text),
            twitter_id: self.opt(Field::TwitterId, bounded_text),
            facebook_id: self.opt(Field::FacebookId, bounded_text),
        };
        let phone_only = ids.phone.is_some()
            && ids.email.is_none()
            && ids.requester_id.is_none()
            && self.f.get(Field::Name).is_none();
        if phone_only {
            self.fail("name", "is required with phone when no email or requester_id is given");
        }
        (self.errors.len() == before).then_some(ids)
    }

    fn ticket(&mut self) -> Option<NewTicket> {
        let ids = self.requester();
        let subject = self.req(Field::Subject, bounded_text);
        let description = self.req(Field::Description, |c| text_of(c).map(Cow::into_owned));
        let priority = self.req(Field::Priority, |c| text_of(c).and_then(|s| Priority::parse(&s)));
        let status = self.req(Field::Status, |c| text_of(c).and_then(|s| Status::parse(&s)));
        // Optional fields are checked even when a required one failed: every problem is reported.
        let name = self.opt(Field::Name, bounded_text);
        let tags = self.opt(Field::Tags, tags_of).unwrap_or_default();
        let ticket_type = self.opt(Field::Type, trimmed);
        // An id, or a name the engine resolves before the create (an agent by e-mail).
        let group_id = self.opt(Field::GroupId, |c| text_of(c).and_then(|s| IdOrName::parse(&s)));
        let responder_id = self.opt(Field::ResponderId, responder_of);
        let product_id = self.opt(Field::ProductId, |c| text_of(c).and_then(|s| IdOrName::parse(&s)));
        let source = self.opt(Field::Source, |c| text_of(c).and_then(|s| source_of(&s)));
        let cc_emails = self.opt(Field::CcEmails, cc_of).unwrap_or_default();
        let custom_fields = self.custom_fields();
        let external_id = self.opt(Field::ExternalId, trimmed);
        let attachments = self.opt(Field::Attachments, attachments_of).unwrap_or_default();
        let ids = ids?;
        let ticket = NewTicket {
            email: ids.email,
            phone: ids.phone,
            requester_id: ids.requester_id,
            unique_external_id: ids.unique_external_id,
            twitter_id: ids.twitter_id,
            facebook_id: ids.facebook_id,
            subject: subject?,
            description: description?,
            priority: priority?,
            status: status?,
            name,
            tags,
            ticket_type,
            group_id,
            responder_id,
            product_id,
            source,
            cc_emails,
            custom_fields,
            external_id,
            attachments,
            date_format: None,
        };
        Some(ticket)
    }

    fn custom_fields(&mut self) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        if let Some((col, cell)) = self.f.get(Field::CustomFields) {
            match cell {
                Cell::Json(Value::Object(map)) => {
                    out.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                _ => self.fail(col, "must be an object of custom field values"),
            }
        }
        for (col, name, cell) in &self.f.custom {
            let value = match cell {
                Cell::Text(s) => Value::String(s.to_string()),
                Cell::Json(v) => (*v).clone(),
            };
            if out.insert(name.to_string(), value).is_some() {
                self.fail(col, "is given twice");
            }
        }
        out
    }

    fn agent(&mut self) -> Option<NewAgent> {
        let email = self.email();
        let scope = self.req(Field::TicketScope, |c| text_of(c).and_then(|s| TicketScope::parse(&s)));
        let name = self.req(Field::Name, bounded_text);
        Some(NewAgent {
            job_title: self.opt(Field::JobTitle, bounded_text),
            occasional: self.opt(Field::Occasional, bool_of),
            role_ids: self.opt(Field::RoleIds, ids_of).unwrap_or_default(),
            group_ids: self.opt(Field::GroupIds, ids_of).unwrap_or_default(),
            language: self.opt(Field::Language, trimmed),
            time_zone: self.opt(Field::TimeZone, trimmed),
            email: email?,
            ticket_scope: scope?,
            name: name?,
        })
    }

    /// A delete's `successor` and `successor_group` columns; `None` when both are absent.
    fn successor(&mut self) -> Option<Successor> {
        let agent = self.opt(Field::Successor, |c| text_of(c).and_then(|s| Successor::parse_agent(&s)));
        let group = self.opt(Field::SuccessorGroup, |c| text_of(c).and_then(|s| GroupRef::parse(&s)));
        (agent.is_some() || group.is_some()).then_some(Successor { agent, group })
    }

    fn agent_ref(&mut self) -> Option<AgentRef> {
        if self.f.get(Field::AgentId).is_some() {
            return self.opt(Field::AgentId, |c| text_of(c).and_then(|s| id_of(&s))).map(AgentRef::Id);
        }
        if self.f.get(Field::Email).is_none() {
            self.fail("agent_id", "is required (or give email)");
            return None;
        }
        self.email().map(AgentRef::Email)
    }
}

/// Text of at most 255 characters, trimmed.
fn bounded_text(cell: Cell<'_>) -> Result<String, String> {
    let s = text_of(cell)?;
    let s = s.trim();
    if s.chars().count() > MAX_TEXT {
        return Err(format!("is longer than {MAX_TEXT} characters"));
    }
    Ok(s.to_string())
}

fn tags_of(cell: Cell<'_>) -> Result<Vec<String>, String> {
    let tags = list_of(cell)?;
    for tag in &tags {
        if tag.chars().count() > MAX_TAG {
            return Err(format!("tag '{}' is longer than {MAX_TAG} characters", shown(tag)));
        }
        if tag.contains(',') {
            return Err(format!("tag '{}' contains a comma", shown(tag)));
        }
    }
    Ok(tags)
}

/// File names: a JSON list, or text split on `;` only (a file name may hold a comma).
fn attachments_of(cell: Cell<'_>) -> Result<Vec<Attachment>, String> {
    let names = match cell {
        Cell::Json(Value::Array(_)) => list_of(cell)?,
        other => {
            text_of(other)?.split(';').map(str::trim).filter(|t| !t.is_empty()).map(String::from).collect()
        }
    };
    Ok(names.iter().map(|n| Attachment::named(n)).collect())
}

fn cc_of(cell: Cell<'_>) -> Result<Vec<String>, String> {
    let list = list_of(cell)?;
    if list.len() > MAX_CC {
        return Err(format!("has {} addresses, at most {MAX_CC} are allowed", list.len()));
    }
    list.iter().map(|e| cc_address(e)).collect()
}

/// One cc address: `a@b.co`, or `Name <a@b.co>` (Freshdesk accepts both; the inner address is checked).
fn cc_address(raw: &str) -> Result<String, String> {
    let inner = match (raw.find('<'), raw.strip_suffix('>')) {
        (Some(open), Some(body)) => body.get(open + 1..).unwrap_or(""),
        _ => raw,
    };
    Email::parse(inner).map(|_| raw.trim().to_string())
}

fn ids_of(cell: Cell<'_>) -> Result<Vec<u64>, String> {
    list_of(cell)?.iter().map(|s| id_of(s)).collect()
}

fn bool_of(cell: Cell<'_>) -> Result<bool, String> {
    let s = text_of(cell)?;
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Ok(true),
        "false" | "no" | "n" | "0" => Ok(false),
        other => Err(format!("'{}' is not true/false/yes/no/1/0", shown(other))),
    }
}

/// Ticket source by number or documented name (Email 1, Portal 2, Phone 3, Chat 7, Feedback
/// widget 9, Outbound email 10); other numbers up to 255 pass through for Freshdesk to judge.
fn source_of(raw: &str) -> Result<u8, String> {
    const NAMES: &[(&str, u8)] = &[
        ("email", 1),
        ("portal", 2),
        ("phone", 3),
        ("chat", 7),
        ("feedbackwidget", 9),
        ("outboundemail", 10),
    ];
    let s = raw.trim();
    if let Ok(n) = s.parse::<u8>() {
        return if n > 0 { Ok(n) } else { Err("'0' is not a ticket source".into()) };
    }
    let norm: String =
        s.chars().filter(|c| !matches!(c, '_' | '-' | ' ')).flat_map(char::to_lowercase).collect();
    NAMES.iter().find(|(n, _)| *n == norm).map(|(_, v)| *v).ok_or_else(|| {
        format!("'{}' is not a ticket source (email, portal, phone, chat, or a number)", shown(s))
    })
}
