//! Ticket fields (`GET api/v2/ticket_fields`): the account's custom fields with their kinds,
//! dropdown choices and required flags, decoded strictly, and [`TicketFields::check`], the pure
//! prediction of why a ticket create would be refused for its custom fields, by the rules
//! Freshdesk applies (freshdesk-api.md §4, §8, §9). [`convert`] turns the values a file gives
//! into the JSON type each field takes. Default fields (`requester`, `status`, …) are intake's to
//! validate, not this module's. Pure; the client sends.

pub mod convert;

use super::answer::Decode;
use crate::domain::{NewTicket, Status};
use crate::text::Shown;
use serde::Deserialize;
use serde_json::Value;
use std::num::NonZeroU64;

/// What a custom field's value must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    /// `custom_text`, `custom_paragraph`, `custom_phone_number`: a JSON string.
    Text,
    /// `custom_number`: an integer JSON number (a string such as `"5"` is refused).
    Number,
    /// `custom_decimal`: a number, or a string holding one.
    Decimal,
    /// `custom_checkbox`: `true` or `false`.
    Checkbox,
    /// `custom_dropdown`: one of these values, exactly (case matters).
    Dropdown(Vec<String>),
    /// `custom_date`: a `YYYY-MM-DD` string.
    Date,
    /// `nested_field` (a dependent field): category → sub-category → item. The top level's
    /// value is one of `choices`; `levels` are the API names of the lower levels, in order.
    Nested { choices: Vec<Choice>, levels: Vec<String> },
    /// A lower level of the nested field `parent` (level 2 or 3): one of the choices under
    /// the level above's value.
    Level { parent: String, level: u8 },
    /// A type whose values fdsync does not check (`custom_url`, newer types): only its
    /// presence is checked.
    Other(String),
}

/// One choice of a nested field, with the choices of the level below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub value: String,
    pub below: Vec<Choice>,
}

impl Choice {
    /// The choices of a nested field's `choices`: an object of objects, its last level a list.
    fn tree(v: &Value) -> Option<Vec<Choice>> {
        match v {
            Value::Object(map) => map
                .iter()
                .map(|(k, below)| Some(Choice { value: k.clone(), below: Choice::tree(below)? }))
                .collect(),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(|s| Choice { value: s.to_string(), below: vec![] }))
                .collect(),
            Value::Null => Some(vec![]),
            _ => None,
        }
    }
}

/// One custom ticket field of the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomField {
    /// The API name, the key in a ticket's `custom_fields` (`cf_…`).
    pub name: String,
    pub label: String,
    pub kind: FieldKind,
    /// Every create must carry a value.
    pub required_for_agents: bool,
    /// A create with status Resolved or Closed must carry a value.
    pub required_for_closure: bool,
}

impl CustomField {
    fn required_for(&self, status: Status) -> bool {
        self.required_for_agents
            || (self.required_for_closure && matches!(status, Status::Resolved | Status::Closed))
    }

    /// `cf_region ("Region")`, escaped.
    fn title(&self) -> String {
        format!("{} (\"{}\")", Shown(&self.name), Shown(&self.label))
    }

    /// What a value must be, for a message: "one of \"EMEA\", \"AMER\"", "a whole number", …
    fn wants(&self) -> String {
        match &self.kind {
            FieldKind::Text => "text".into(),
            FieldKind::Number => "a whole number (a JSON number, not text)".into(),
            FieldKind::Decimal => "a number".into(),
            FieldKind::Checkbox => "true or false".into(),
            FieldKind::Dropdown(choices) => {
                let list: Vec<String> = choices.iter().map(|c| format!("\"{}\"", Shown(c))).collect();
                format!("one of {}", Shown(&list.join(", ")))
            }
            FieldKind::Date => "a date, YYYY-MM-DD".into(),
            FieldKind::Nested { .. } | FieldKind::Level { .. } => "one of its dependent choices".into(),
            FieldKind::Other(kind) => format!("a value of type {}", Shown(kind)),
        }
    }

    /// Whether Freshdesk would take `value` (not null) for this field.
    fn accepts(&self, value: &Value) -> bool {
        match (&self.kind, value) {
            (FieldKind::Text, Value::String(_)) | (FieldKind::Checkbox, Value::Bool(_)) => true,
            (FieldKind::Number, Value::Number(n)) => n.is_i64() || n.is_u64(),
            (FieldKind::Decimal, Value::Number(_)) => true,
            (FieldKind::Decimal, Value::String(s)) => s.trim().parse::<f64>().is_ok_and(f64::is_finite),
            (FieldKind::Dropdown(choices), Value::String(s)) => choices.contains(s),
            (FieldKind::Date, Value::String(s)) => convert::iso_date(s).is_some(),
            (FieldKind::Nested { .. } | FieldKind::Level { .. }, Value::String(_)) => true,
            (FieldKind::Other(_), _) => true,
            _ => false,
        }
    }

    /// Why `value` would be refused, if it would.
    fn refusal(&self, value: &Value, status: Status) -> Option<String> {
        if value.is_null() {
            let required = self.required_for(status);
            return required
                .then(|| format!("{} is required and is empty: it must be {}", self.title(), self.wants()));
        }
        if self.accepts(value) {
            return None;
        }
        let shown = Shown(&value.to_string()).to_string();
        let hint = match (&self.kind, value) {
            (FieldKind::Dropdown(choices), Value::String(s))
                if choices.iter().any(|c| c.eq_ignore_ascii_case(s)) =>
            {
                " (choices are case-sensitive)"
            }
            _ => "",
        };
        Some(format!("{} is {shown}: it must be {}{hint}", self.title(), self.wants()))
    }
}

/// The account's custom ticket fields, in the answer's order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TicketFields {
    pub custom: Vec<CustomField>,
    /// The account's ticket types (the `default_ticket_type` field's choices); `None` when the
    /// answer lists none (a row's `type` is then left to Freshdesk).
    pub ticket_types: Option<Vec<String>>,
}

impl TicketFields {
    /// The field named `name`.
    pub fn get(&self, name: &str) -> Option<&CustomField> {
        self.custom.iter().find(|f| f.name == name)
    }

    /// Why a create of `t` would be refused for its custom fields (empty: it would not be):
    /// an unknown field, a value of the wrong type or outside a dropdown's choices, a required
    /// field missing. Outside strings are escaped.
    pub fn check(&self, t: &NewTicket) -> Vec<String> {
        let mut reasons = Vec::new();
        for (name, value) in &t.custom_fields {
            match self.get(name) {
                None => reasons.push(format!(
                    "custom field {} does not exist on this account (its custom fields: {})",
                    Shown(name),
                    Shown(&self.names())
                )),
                Some(field) => reasons.extend(field.refusal(value, t.status)),
            }
        }
        let missing =
            self.custom.iter().filter(|f| f.required_for(t.status) && !t.custom_fields.contains_key(&f.name));
        for field in missing {
            let when = if field.required_for_agents {
                "required"
            } else {
                "required to create a resolved or closed ticket"
            };
            reasons.push(format!("{} is {when} and missing: it must be {}", field.title(), field.wants()));
        }
        reasons
    }

    fn names(&self) -> String {
        let names: Vec<&str> = self.custom.iter().map(|f| f.name.as_str()).collect();
        if names.is_empty() { "none".into() } else { names.join(", ") }
    }
}

#[derive(Deserialize)]
struct FieldDto {
    #[allow(dead_code)]
    id: NonZeroU64,
    name: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    required_for_agents: Option<bool>,
    #[serde(default)]
    required_for_closure: Option<bool>,
    /// Strings for dropdowns; objects for `status`, `priority`, `source` (not read).
    #[serde(default)]
    choices: Option<Value>,
    #[serde(default)]
    nested_ticket_fields: Option<Vec<NestedDto>>,
}

#[derive(Deserialize)]
struct NestedDto {
    name: String,
    #[serde(default)]
    label: Option<String>,
    /// 2 or 3.
    #[serde(default)]
    level: Option<u8>,
}

fn kind_of(dto: &FieldDto) -> Result<FieldKind, String> {
    Ok(match dto.kind.as_str() {
        "custom_text" | "custom_paragraph" | "custom_phone_number" => FieldKind::Text,
        "custom_number" => FieldKind::Number,
        "custom_decimal" => FieldKind::Decimal,
        "custom_checkbox" => FieldKind::Checkbox,
        "custom_date" => FieldKind::Date,
        "nested_field" => {
            let choices = dto.choices.as_ref().and_then(Choice::tree);
            let Some(choices) = choices.filter(|c| !c.is_empty()) else {
                return Err(format!("nested field {} has no tree of choices", Shown(&dto.name)));
            };
            let mut levels: Vec<&NestedDto> = dto.nested_ticket_fields.iter().flatten().collect();
            levels.sort_by_key(|l| l.level.unwrap_or(u8::MAX));
            FieldKind::Nested { choices, levels: levels.iter().map(|l| l.name.clone()).collect() }
        }
        "custom_dropdown" => {
            let choices = dto.choices.clone().map(serde_json::from_value::<Vec<String>>);
            match choices {
                Some(Ok(list)) if !list.is_empty() => FieldKind::Dropdown(list),
                _ => return Err(format!("dropdown {} has no list of choices", Shown(&dto.name))),
            }
        }
        other => FieldKind::Other(other.to_string()),
    })
}

/// A custom field: its flags must be there (a missing flag is not "not required").
fn custom_field(dto: &FieldDto) -> Result<CustomField, String> {
    let flag =
        |v: Option<bool>, what: &str| v.ok_or_else(|| format!("field {} has no {what}", Shown(&dto.name)));
    Ok(CustomField {
        name: dto.name.clone(),
        label: dto.label.clone().unwrap_or_else(|| dto.name.clone()),
        kind: kind_of(dto)?,
        required_for_agents: flag(dto.required_for_agents, "required_for_agents")?,
        required_for_closure: flag(dto.required_for_closure, "required_for_closure")?,
    })
}

/// `GET ticket_fields`: a list of fields, each with an id, a name and a type; the custom ones
/// (`custom_*`, `nested_field`) with their flags and, for dropdowns, their choices. Anything
/// else proves nothing.
impl Decode for TicketFields {
    fn decode(body: &[u8]) -> Result<Self, String> {
        let items: Vec<FieldDto> =
            serde_json::from_slice(body).map_err(|e| format!("not a list of ticket fields ({e})"))?;
        let mut custom = Vec::new();
        for dto in items.iter().filter(|d| d.kind.starts_with("custom_") || d.kind == "nested_field") {
            custom.push(custom_field(dto)?);
            // A nested field's lower levels are custom fields of their own (`cf_…` keys).
            for (i, level) in dto.nested_ticket_fields.iter().flatten().enumerate() {
                let n = level.level.unwrap_or(u8::try_from(i + 2).unwrap_or(u8::MAX));
                custom.push(CustomField {
                    name: level.name.clone(),
                    label: level.label.clone().unwrap_or_else(|| level.name.clone()),
                    kind: FieldKind::Level { parent: dto.name.clone(), level: n },
                    required_for_agents: false,
                    required_for_closure: false,
                });
            }
        }
        let ticket_types = items
            .iter()
            .find(|d| d.kind == "default_ticket_type")
            .and_then(|d| d.choices.clone())
            .and_then(|c| serde_json::from_value::<Vec<String>>(c).ok());
        Ok(TicketFields { custom, ticket_types })
    }
}

#[cfg(test)]
mod tests;
