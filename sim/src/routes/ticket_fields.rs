//! `GET /api/v2/ticket_fields`, and ticket body validation (create and update), field by field
//! as the facts file §4 describes: unknown keys alone first, then each field's type, range and
//! list checks in a fixed order, then the account's custom fields (`crate::fields`: their kinds,
//! choices and required flags). Validation is pure: no store access (requester lookup happens
//! in `tickets`).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::{is_email, list_query, param, unknown_keys};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError};
use crate::fields::{self, CustomField, FIELD_TYPES};

/// `GET /api/v2/ticket_fields[?type=…]`: the default fields, then the configured custom ones.
pub(crate) async fn index(
    State(app): State<Arc<App>>,
    _caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = list_query(raw.as_deref(), &["type"])?;
    let kind = param(&params, "type");
    if kind.is_some_and(|k| !FIELD_TYPES.contains(&k)) {
        return Err(ApiError::one(FieldError::one_of("type", "invalid_value", &FIELD_TYPES.join(","))));
    }
    let custom = app.config().custom_fields.clone();
    Ok(axum::Json(fields::ticket_fields_json(&custom, TYPES, kind)).into_response())
}

/// Keys accepted on create (facts file §4, `CREATE_FIELDS`).
pub(crate) const CREATE_FIELDS: &[&str] = &[
    "name",
    "requester_id",
    "email",
    "phone",
    "twitter_id",
    "facebook_id",
    "unique_external_id",
    "subject",
    "type",
    "status",
    "priority",
    "description",
    "responder_id",
    "group_id",
    "product_id",
    "company_id",
    "email_config_id",
    "source",
    "due_by",
    "fr_due_by",
    "parent_id",
    "tags",
    "cc_emails",
    "bcc_emails",
    "custom_fields",
    "attachments",
    "related_ticket_ids",
];

/// Keys accepted on update (no requester creation, no cc_emails).
pub(crate) const UPDATE_FIELDS: &[&str] = &[
    "name",
    "requester_id",
    "email",
    "phone",
    "subject",
    "type",
    "status",
    "priority",
    "description",
    "responder_id",
    "group_id",
    "product_id",
    "company_id",
    "source",
    "due_by",
    "fr_due_by",
    "tags",
    "custom_fields",
];

pub(crate) const STATUSES: &[u64] = &[2, 3, 4, 5];
pub(crate) const PRIORITIES: &[u64] = &[1, 2, 3, 4];
/// Sources allowed on create: forum (4), outbound (10), bot (12) and WhatsApp (13) are refused.
pub(crate) const SOURCES: &[u64] = &[1, 2, 3, 5, 6, 7, 8, 9, 11];
pub(crate) const TYPES: &[&str] = &["Question", "Incident", "Problem", "Feature Request", "Lead"];

/// The validated fields of a ticket body; `None` = not sent.
#[derive(Default, Debug)]
pub(crate) struct TicketInput {
    pub name: Option<String>,
    pub requester_id: Option<u64>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub subject: Option<String>,
    pub description: Option<String>,
    pub status: Option<u64>,
    pub priority: Option<u64>,
    pub source: Option<u64>,
    pub kind: Option<String>,
    pub tags: Option<Vec<String>>,
    pub cc_emails: Option<Vec<String>>,
    pub custom_fields: Option<Map<String, Value>>,
    pub responder_id: Option<u64>,
    pub group_id: Option<u64>,
    pub product_id: Option<u64>,
    pub company_id: Option<u64>,
    pub email_config_id: Option<u64>,
    /// Only with the unique contact identifier feature.
    pub unique_external_id: Option<String>,
}

fn list(values: &[u64]) -> String {
    values.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

fn string(obj: &Map<String, Value>, key: &str, max: usize, errors: &mut Vec<FieldError>) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) if s.chars().count() > max => {
            let msg =
                format!("Has {} characters, it can have maximum of {max} characters", s.chars().count());
            errors.push(FieldError::new(key, "invalid_value", msg));
            None
        }
        Value::String(s) => Some(s.clone()),
        _ => {
            errors.push(FieldError::datatype(key, "String"));
            None
        }
    }
}

fn positive_int(obj: &Map<String, Value>, key: &str, errors: &mut Vec<FieldError>) -> Option<u64> {
    match obj.get(key)? {
        Value::Null => None,
        v => match v.as_u64().filter(|n| *n > 0) {
            Some(n) => Some(n),
            None => {
                errors.push(FieldError::datatype(key, "Positive Integer"));
                None
            }
        },
    }
}

fn choice(obj: &Map<String, Value>, key: &str, allowed: &[u64], errors: &mut Vec<FieldError>) -> Option<u64> {
    let v = obj.get(key)?;
    match v.as_u64() {
        Some(n) if allowed.contains(&n) => Some(n),
        Some(_) => {
            errors.push(FieldError::one_of(key, "invalid_value", &list(allowed)));
            None
        }
        None => {
            errors.push(FieldError::datatype(key, "Integer"));
            None
        }
    }
}

/// Tags: strip, drop blanks, 1–32 characters, no comma, de-duplicated case-insensitively.
pub(crate) fn tags(value: &Value) -> Result<Vec<String>, FieldError> {
    let Value::Array(items) = value else { return Err(FieldError::datatype("tags", "Array")) };
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let Value::String(s) = item else {
            return Err(FieldError::new(
                "tags",
                "datatype_mismatch",
                "It should contain elements of type String only",
            ));
        };
        let tag = s.trim();
        if tag.contains(',') {
            let msg = "It should not have strings containing the special characters: ','";
            return Err(FieldError::new("tags", "invalid_value", msg));
        }
        if tag.chars().count() > 32 {
            let msg = "It should only contain elements that have maximum of 32 characters";
            return Err(FieldError::new("tags", "invalid_value", msg));
        }
        if !tag.is_empty() && !out.iter().any(|t| t.to_lowercase() == tag.to_lowercase()) {
            out.push(tag.to_string());
        }
    }
    Ok(out)
}

/// `a@b.c` or `Name <a@b.c>`.
fn cc_address(s: &str) -> bool {
    let addr = match (s.find('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => &s[a + 1..b],
        _ => s,
    };
    is_email(addr.trim())
}

fn cc_emails(value: &Value) -> Result<Vec<String>, FieldError> {
    let Value::Array(items) = value else { return Err(FieldError::datatype("cc_emails", "Array")) };
    if items.len() > 49 {
        let msg = format!("Has {} values, it can have maximum of 49 values", items.len());
        return Err(FieldError::new("cc_emails", "invalid_value", msg));
    }
    let mut out = Vec::new();
    for item in items {
        match item {
            Value::String(s) if cc_address(s) => out.push(s.clone()),
            _ => {
                let msg = "It should contain elements that are in the 'valid email address' format";
                return Err(FieldError::new("cc_emails", "invalid_value", msg));
            }
        }
    }
    Ok(out)
}

fn nested(key: &str, code: &'static str, message: &str) -> FieldError {
    FieldError {
        nested_field: Some(format!("custom_fields.{key}")),
        ..FieldError::new("custom_fields", code, message)
    }
}

/// Each sent custom field: unknown → `invalid_field`; a value of the wrong type or outside a
/// dropdown's choices → that field's own code and message.
fn custom_fields(
    value: &Value,
    known: &[CustomField],
    status: u64,
    errors: &mut Vec<FieldError>,
) -> Option<Map<String, Value>> {
    let Value::Object(map) = value else {
        errors.push(FieldError::datatype("custom_fields", "key/value pair"));
        return None;
    };
    let before = errors.len();
    for (k, v) in map {
        match known.iter().find(|f| f.name == *k) {
            None => match level_of(k, map, known) {
                None => errors.push(nested(k, "invalid_field", "Unexpected/invalid field in request")),
                Some(Ok(())) => {}
                Some(Err(message)) => errors.push(nested(k, "invalid_value", &message)),
            },
            Some(f) => {
                if let Some(code) = f.refuse(v, f.required_on_create(status)) {
                    errors.push(nested(k, code, &f.expectation()));
                }
            }
        }
    }
    (errors.len() == before).then(|| map.clone())
}

/// `Some` when `k` is a lower level of a nested field: `Ok` when its value (or `null`) is one
/// of the choices under the levels above it, as the row gives them.
fn level_of(k: &str, map: &Map<String, Value>, known: &[CustomField]) -> Option<Result<(), String>> {
    let (top, i) = known.iter().find_map(|f| f.levels.iter().position(|l| l == k).map(|i| (f, i)))?;
    let value = map.get(k)?;
    if value.is_null() {
        return Some(Ok(()));
    }
    let above: Vec<Option<&Value>> =
        std::iter::once(&top.name).chain(top.levels.iter()).take(i + 1).map(|name| map.get(name)).collect();
    let choices = top.level_choices(&above).unwrap_or_default();
    let ok = value.as_str().is_some_and(|s| choices.iter().any(|c| c == s));
    Some(if ok { Ok(()) } else { Err(format!("It should be one of these values: '{}'", choices.join(","))) })
}

/// On create: each custom field required for this status and not sent is `missing_field`.
fn required_custom_fields(obj: &Map<String, Value>, known: &[CustomField], status: u64) -> Vec<FieldError> {
    let sent = obj.get("custom_fields").and_then(Value::as_object);
    known
        .iter()
        .filter(|f| f.required_on_create(status) && sent.is_none_or(|m| !m.contains_key(&f.name)))
        .map(|f| nested(&f.name, "missing_field", &f.expectation()))
        .collect()
}

/// On update (an agent's change, facts file §9): each custom field required for agents, or for
/// closure when the ticket ends resolved or closed, that the ticket would still lack after the
/// change (never set, or `null`) is `missing_field`, as on create. A ticket created before the
/// field became required cannot be updated until someone fills it.
pub(crate) fn required_on_update(
    had: &Map<String, Value>,
    sent: Option<&Map<String, Value>>,
    known: &[CustomField],
    status: u64,
) -> Vec<FieldError> {
    let filled = |name: &str| {
        let v = sent.and_then(|m| m.get(name)).or_else(|| had.get(name));
        v.is_some_and(|v| !v.is_null())
    };
    known
        .iter()
        .filter(|f| f.required_on_create(status) && !filled(&f.name))
        .map(|f| nested(&f.name, "missing_field", &f.expectation()))
        .collect()
}

/// The requester fields, and the "at least one requester" rule on create.
fn requester(obj: &Map<String, Value>, create: bool, e: &mut Vec<FieldError>) -> TicketInput {
    let t = TicketInput {
        requester_id: positive_int(obj, "requester_id", e),
        email: string(obj, "email", 255, e),
        phone: string(obj, "phone", 255, e),
        name: string(obj, "name", 255, e),
        ..TicketInput::default()
    };
    if t.email.as_deref().is_some_and(|m| !is_email(m)) {
        e.push(FieldError::new("email", "invalid_value", "It should be in the 'valid email address' format"));
    }
    let requester_sent =
        ["requester_id", "email", "phone", "twitter_id", "facebook_id", "unique_external_id"]
            .iter()
            .any(|k| obj.contains_key(*k));
    if create && !requester_sent {
        let msg = "Please fill at least 1 of requester_id, phone, email, twitter_id, facebook_id fields";
        e.push(FieldError::new("requester_id", "missing_field", msg));
    }
    if create && t.phone.is_some() && t.email.is_none() && t.requester_id.is_none() && t.name.is_none() {
        e.push(FieldError::new("name", "missing_field", "It should be a/an String"));
    }
    t
}

/// Parses and checks a ticket body. `create` makes the four main fields and a requester required.
pub(crate) fn parse(
    obj: &Map<String, Value>,
    create: bool,
    known_custom: &[CustomField],
) -> Result<TicketInput, Vec<FieldError>> {
    parse_with(obj, create, known_custom, false)
}

/// [`parse`] on an account where `unique_external_id` may name the requester (`unique_ids`).
pub(crate) fn parse_with(
    obj: &Map<String, Value>,
    create: bool,
    known_custom: &[CustomField],
    unique_ids: bool,
) -> Result<TicketInput, Vec<FieldError>> {
    let unknown = unknown_keys(obj.keys(), if create { CREATE_FIELDS } else { UPDATE_FIELDS });
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let mut e = Vec::new();
    let mut t = requester(obj, create, &mut e);
    t.subject = string(obj, "subject", 255, &mut e);
    t.description = string(obj, "description", usize::MAX, &mut e);
    for key in ["subject", "description"] {
        if create && !obj.contains_key(key) {
            e.push(FieldError::datatype(key, "String"));
        }
    }
    t.status = choice(obj, "status", STATUSES, &mut e);
    t.priority = choice(obj, "priority", PRIORITIES, &mut e);
    for (key, values) in [("status", STATUSES), ("priority", PRIORITIES)] {
        if create && !obj.contains_key(key) {
            e.push(FieldError::one_of(key, "missing_field", &list(values)));
        }
    }
    t.source = choice(obj, "source", SOURCES, &mut e);
    t.kind = string(obj, "type", 255, &mut e);
    if t.kind.as_deref().is_some_and(|k| !TYPES.contains(&k)) {
        e.push(FieldError::one_of("type", "invalid_value", &TYPES.join(",")));
    }
    t.tags = obj.get("tags").and_then(|v| tags(v).map_err(|err| e.push(err)).ok());
    t.cc_emails = obj.get("cc_emails").and_then(|v| cc_emails(v).map_err(|err| e.push(err)).ok());
    let status = if create { t.status.unwrap_or(2) } else { 0 };
    t.custom_fields = obj.get("custom_fields").and_then(|v| custom_fields(v, known_custom, status, &mut e));
    if create {
        e.extend(required_custom_fields(obj, known_custom, status));
    }
    t.responder_id = positive_int(obj, "responder_id", &mut e);
    t.group_id = positive_int(obj, "group_id", &mut e);
    t.product_id = positive_int(obj, "product_id", &mut e);
    t.company_id = positive_int(obj, "company_id", &mut e);
    t.email_config_id = positive_int(obj, "email_config_id", &mut e);
    if obj.get("attachments").is_some_and(|a| a.as_array().is_none_or(|v| !v.is_empty())) {
        let msg = "Attachments are accepted only as multipart/form-data";
        e.push(FieldError::new("attachments", "datatype_mismatch", msg));
    }
    if unique_ids {
        t.unique_external_id = string(obj, "unique_external_id", 255, &mut e);
    } else if obj.contains_key("unique_external_id") {
        let msg = "The Unique Contact Identifier feature is required to support unique_external_id attribute in the request";
        e.push(FieldError::new("unique_external_id", "inaccessible_field", msg));
    }
    if e.is_empty() { Ok(t) } else { Err(e) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn tags_are_deduplicated_case_insensitively_and_blanks_dropped() {
        assert_eq!(tags(&json!(["A", " a ", "", "b"])).unwrap(), vec!["A", "b"]);
        assert_eq!(tags(&json!(["x".repeat(33)])).unwrap_err().code, "invalid_value");
    }

    #[test]
    fn unknown_keys_are_reported_alone() {
        let errs = parse(&obj(json!({"external_id": 1, "priority": 9})), true, &[]).unwrap_err();
        assert_eq!(errs, vec![FieldError::invalid_field("external_id")]);
    }

    #[test]
    fn an_empty_create_body_lists_every_missing_field() {
        let errs = parse(&Map::new(), true, &[]).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["requester_id", "subject", "description", "status", "priority"]);
    }
}
