//! The account's ticket fields: the default fields every account has, the custom fields of
//! [`SimConfig::custom_fields`](crate::SimConfig), their `GET /api/v2/ticket_fields` rendering,
//! and the check of one custom field value on a ticket body, with Freshdesk's codes and
//! messages (facts file §4 and §8). Pure: no store, no request.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The custom field types the simulator models (Freshdesk's `type` strings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldKind {
    /// Single-line text: a JSON string.
    #[serde(rename = "custom_text")]
    Text,
    /// Multi-line text: a JSON string.
    #[serde(rename = "custom_paragraph")]
    Paragraph,
    /// An integer (a JSON number; `"5"` is a string, refused as in Freshdesk's JSON API).
    #[serde(rename = "custom_number")]
    Number,
    /// A boolean.
    #[serde(rename = "custom_checkbox")]
    Checkbox,
    /// One of `choices`, exactly.
    #[serde(rename = "custom_dropdown")]
    Dropdown,
    /// A number with or without a fraction (a JSON number, or a string holding one).
    #[serde(rename = "custom_decimal")]
    Decimal,
    /// A date: a `yyyy-mm-dd` string.
    #[serde(rename = "custom_date")]
    Date,
    /// A dependent field: its value is a key of `tree`; its `levels` (API names) take the
    /// keys (or list items) under the level above's value.
    #[serde(rename = "nested_field")]
    Nested,
}

/// One custom ticket field. In a config it is either its API name alone (`"cf_host"`: a text
/// field) or an object with `name`, `type` and optionally `label`, `required_for_agents`,
/// `required_for_closure` and `choices`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "FieldSpec")]
pub struct CustomField {
    /// The API name, `cf_…`.
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: FieldKind,
    /// A create without this field is refused (`missing_field`).
    pub required_for_agents: bool,
    /// A create with status 4 (Resolved) or 5 (Closed) without this field is refused.
    pub required_for_closure: bool,
    /// The allowed values of a dropdown (empty for other kinds).
    pub choices: Vec<String>,
    /// A nested field's choices: `{"Category": {"Sub": ["Item", …]}}` (`null` for other kinds).
    pub tree: Value,
    /// A nested field's lower levels (API names, level 2 then 3).
    pub levels: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum FieldSpec {
    Name(String),
    Full(FullSpec),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullSpec {
    name: String,
    #[serde(rename = "type")]
    kind: FieldKind,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    required_for_agents: bool,
    #[serde(default)]
    required_for_closure: bool,
    #[serde(default)]
    choices: Vec<String>,
    #[serde(default)]
    tree: Value,
    #[serde(default)]
    levels: Vec<String>,
}

impl TryFrom<FieldSpec> for CustomField {
    type Error = String;
    fn try_from(spec: FieldSpec) -> Result<Self, String> {
        let s = match spec {
            FieldSpec::Name(name) => return Ok(CustomField::text(&name)),
            FieldSpec::Full(s) => s,
        };
        if !s.name.starts_with("cf_") {
            return Err(format!("custom field {:?}: the name must start with cf_", s.name));
        }
        if (s.kind == FieldKind::Dropdown) == s.choices.is_empty() {
            return Err(format!("custom field {:?}: choices are for (and required by) dropdowns", s.name));
        }
        if (s.kind == FieldKind::Nested) != s.tree.is_object()
            || (s.kind != FieldKind::Nested && !s.levels.is_empty())
        {
            return Err(format!(
                "custom field {:?}: tree and levels are for (and tree required by) nested fields",
                s.name
            ));
        }
        Ok(CustomField {
            label: s.label.unwrap_or_else(|| label_of(&s.name)),
            name: s.name,
            kind: s.kind,
            required_for_agents: s.required_for_agents,
            required_for_closure: s.required_for_closure,
            choices: s.choices,
            tree: s.tree,
            levels: s.levels,
        })
    }
}

impl From<&str> for CustomField {
    fn from(name: &str) -> Self {
        CustomField::text(name)
    }
}

/// `cf_asset_tag` → `Asset tag`: Freshdesk derives the API name from the label the other way.
fn label_of(name: &str) -> String {
    let words = name.strip_prefix("cf_").unwrap_or(name).replace('_', " ");
    let mut chars = words.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

impl CustomField {
    /// An optional text field.
    pub fn text(name: &str) -> CustomField {
        CustomField {
            name: name.to_string(),
            label: label_of(name),
            kind: FieldKind::Text,
            required_for_agents: false,
            required_for_closure: false,
            choices: Vec::new(),
            tree: Value::Null,
            levels: Vec::new(),
        }
    }

    /// An optional field of `kind` (use [`CustomField::dropdown`] for dropdowns).
    pub fn of_kind(name: &str, kind: FieldKind) -> CustomField {
        CustomField { kind, ..CustomField::text(name) }
    }

    /// An optional dropdown with these choices.
    pub fn dropdown(name: &str, choices: &[&str]) -> CustomField {
        CustomField {
            kind: FieldKind::Dropdown,
            choices: choices.iter().map(|c| c.to_string()).collect(),
            ..CustomField::text(name)
        }
    }

    /// An optional nested field: `tree` its choices (`{"A": {"B": ["C"]}}`), `levels` the API
    /// names of its lower levels.
    pub fn nested(name: &str, tree: Value, levels: &[&str]) -> CustomField {
        CustomField {
            kind: FieldKind::Nested,
            tree,
            levels: levels.iter().map(|l| l.to_string()).collect(),
            ..CustomField::text(name)
        }
    }

    /// The same field, required for agents (every create must carry it).
    pub fn required(self) -> CustomField {
        CustomField { required_for_agents: true, ..self }
    }

    /// Whether a create with `status` must carry this field.
    pub(crate) fn required_on_create(&self, status: u64) -> bool {
        self.required_for_agents || (self.required_for_closure && matches!(status, 4 | 5))
    }

    /// The message Freshdesk gives for a wrong value of this field, and for a missing one.
    pub(crate) fn expectation(&self) -> String {
        match self.kind {
            FieldKind::Text | FieldKind::Paragraph => "It should be a/an String".into(),
            FieldKind::Number => "It should be a/an Integer".into(),
            FieldKind::Checkbox => "It should be a/an Boolean".into(),
            FieldKind::Decimal => "It should be a/an Number".into(),
            FieldKind::Date => "It should be in the 'yyyy-mm-dd' format".into(),
            FieldKind::Dropdown => format!("It should be one of these values: '{}'", self.choices.join(",")),
            FieldKind::Nested => {
                format!("It should be one of these values: '{}'", keys(&self.tree).join(","))
            }
        }
    }

    /// `None` when `value` is acceptable, else the error code (the message is
    /// [`CustomField::expectation`]). `null` is accepted for a field that is not required.
    pub(crate) fn refuse(&self, value: &Value, required: bool) -> Option<&'static str> {
        let ok = match (self.kind, value) {
            (_, Value::Null) => !required,
            (FieldKind::Text | FieldKind::Paragraph, Value::String(_)) => true,
            (FieldKind::Number, Value::Number(n)) => n.is_i64() || n.is_u64(),
            (FieldKind::Checkbox, Value::Bool(_)) => true,
            (FieldKind::Dropdown, Value::String(s)) => self.choices.contains(s),
            (FieldKind::Decimal, Value::Number(_)) => true,
            (FieldKind::Decimal, Value::String(s)) => s.trim().parse::<f64>().is_ok_and(f64::is_finite),
            (FieldKind::Date, Value::String(s)) => is_date(s),
            (FieldKind::Nested, Value::String(s)) => keys(&self.tree).contains(&s.as_str()),
            _ => false,
        };
        match (ok, self.kind) {
            (true, _) => None,
            (false, FieldKind::Dropdown | FieldKind::Nested | FieldKind::Date) => Some("invalid_value"),
            (false, _) => Some("datatype_mismatch"),
        }
    }

    /// The choices of lower level `level` (1 = the first level below the top) under the
    /// values `above` the row gives for the levels above it; `None` when one of those is not
    /// a choice (or not given).
    pub(crate) fn level_choices(&self, above: &[Option<&Value>]) -> Option<Vec<String>> {
        let mut node = &self.tree;
        for v in above {
            let key = v.and_then(Value::as_str)?;
            node = node.as_object()?.get(key)?;
        }
        Some(keys(node).into_iter().map(String::from).collect())
    }
}

/// The choices at one node of a nested tree: an object's keys or a list's strings.
fn keys(node: &Value) -> Vec<&str> {
    match node {
        Value::Object(map) => map.keys().map(String::as_str).collect(),
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// A real calendar date written `yyyy-mm-dd`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| {
        s.get(r).filter(|p| p.bytes().all(|c| c.is_ascii_digit()))?.parse::<u32>().ok()
    };
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else { return false };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// The default custom fields: `cf_host` (text) and `cf_region` (dropdown EMEA, AMER, APAC),
/// both optional.
pub(crate) fn default_custom_fields() -> Vec<CustomField> {
    vec![CustomField::text("cf_host"), CustomField::dropdown("cf_region", &["EMEA", "AMER", "APAC"])]
}

const FIELDS_CREATED: &str = "2025-01-01T00:00:00Z";
const FIRST_FIELD_ID: u64 = 43_000_500_001;

/// One item of the ticket-fields answer, in Freshdesk's key order; `choices` only when present.
fn item(id: u64, name: &str, label: &str, kind: &str, required: bool, choices: Option<Value>) -> Value {
    let default = !kind.starts_with("custom_");
    let mut v = json!({
        "id": id, "name": name, "label": label, "description": label, "position": id - FIRST_FIELD_ID + 1,
        "required_for_closure": false, "required_for_agents": required, "type": kind, "default": default,
        "customers_can_edit": true, "label_for_customers": label, "required_for_customers": false,
        "displayed_to_customers": true, "created_at": FIELDS_CREATED, "updated_at": FIELDS_CREATED,
    });
    if let (Some(c), Some(obj)) = (choices, v.as_object_mut()) {
        obj.insert("choices".into(), c);
    }
    v
}

/// The account's default fields: (name, label, type, required_for_agents, choices).
fn default_fields(types: &[&str]) -> Vec<(&'static str, &'static str, &'static str, bool, Option<Value>)> {
    let statuses = json!({
        "2": ["Open", "Being Processed"], "3": ["Pending", "Awaiting your Reply"],
        "4": ["Resolved", "This ticket has been Resolved"], "5": ["Closed", "This ticket has been Closed"],
    });
    let sources =
        json!({"Email": 1, "Portal": 2, "Phone": 3, "Chat": 7, "Feedback Widget": 9, "Outbound Email": 10});
    vec![
        ("requester", "Search a requester", "default_requester", true, None),
        ("subject", "Subject", "default_subject", true, None),
        ("ticket_type", "Type", "default_ticket_type", false, Some(json!(types))),
        ("source", "Source", "default_source", false, Some(sources)),
        ("status", "Status", "default_status", true, Some(statuses)),
        (
            "priority",
            "Priority",
            "default_priority",
            true,
            Some(json!({"Low": 1, "Medium": 2, "High": 3, "Urgent": 4})),
        ),
        ("group", "Group", "default_group", false, None),
        ("agent", "Agent", "default_agent", false, None),
        ("description", "Description", "default_description", true, None),
        ("company", "Company", "default_company", false, None),
    ]
}

/// Every field of the account (defaults first, then `custom`), optionally only those of `kind`.
pub(crate) fn ticket_fields_json(custom: &[CustomField], types: &[&str], kind: Option<&str>) -> Value {
    let mut out = Vec::new();
    let mut id = FIRST_FIELD_ID;
    for (name, label, ty, required, choices) in default_fields(types) {
        out.push(item(id, name, label, ty, required, choices));
        id += 1;
    }
    for f in custom {
        let ty = serde_json::to_value(f.kind).unwrap_or(Value::Null);
        let choices = match f.kind {
            FieldKind::Nested => Some(f.tree.clone()),
            _ => (!f.choices.is_empty()).then(|| json!(f.choices)),
        };
        let mut v = item(id, &f.name, &f.label, ty.as_str().unwrap_or(""), f.required_for_agents, choices);
        v["required_for_closure"] = json!(f.required_for_closure);
        if f.kind == FieldKind::Nested {
            // Its lower levels, as Freshdesk lists them under the field.
            let levels: Vec<Value> = f
                .levels
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    json!({"id": id * 10 + i as u64, "name": name, "label": label_of(name),
                           "label_in_portal": label_of(name), "level": i + 2, "ticket_field_id": id,
                           "created_at": FIELDS_CREATED, "updated_at": FIELDS_CREATED})
                })
                .collect();
            v["nested_ticket_fields"] = Value::Array(levels);
        }
        out.push(v);
        id += 1;
    }
    out.retain(|v| kind.is_none_or(|k| v["type"] == k));
    Value::Array(out)
}

/// The `type` values the ticket-fields filter accepts.
pub(crate) const FIELD_TYPES: &[&str] = &[
    "default_requester",
    "default_subject",
    "default_ticket_type",
    "default_source",
    "default_status",
    "default_priority",
    "default_group",
    "default_agent",
    "default_description",
    "default_company",
    "custom_text",
    "custom_paragraph",
    "custom_number",
    "custom_checkbox",
    "custom_dropdown",
    "custom_decimal",
    "custom_date",
    "nested_field",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_names_a_field_or_describes_it() {
        let fields: Vec<CustomField> = serde_json::from_str(
            r#"["cf_host", {"name": "cf_tier", "type": "custom_dropdown", "choices": ["Gold"], "required_for_agents": true}]"#,
        )
        .unwrap();
        assert_eq!(fields[0], CustomField::text("cf_host"));
        assert_eq!(fields[1], CustomField::dropdown("cf_tier", &["Gold"]).required());
        assert_eq!(fields[1].label, "Tier");
        for bad in [
            r#"[{"name": "tier", "type": "custom_text"}]"#,
            r#"[{"name": "cf_x", "type": "custom_dropdown"}]"#,
            r#"[{"name": "cf_x", "type": "custom_text", "choices": ["a"]}]"#,
            r#"[{"name": "cf_x", "type": "nested_field"}]"#,
            r#"[{"name": "cf_x", "type": "custom_text", "levels": ["cf_y"]}]"#,
        ] {
            assert!(serde_json::from_str::<Vec<CustomField>>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_are_checked_by_kind_with_freshdesk_codes() {
        let region = CustomField::dropdown("cf_region", &["EMEA", "AMER"]);
        assert_eq!(region.refuse(&json!("EMEA"), false), None);
        assert_eq!(region.refuse(&json!("emea"), false), Some("invalid_value"));
        assert_eq!(region.expectation(), "It should be one of these values: 'EMEA,AMER'");
        let count = CustomField::of_kind("cf_count", FieldKind::Number);
        assert_eq!(count.refuse(&json!(5), false), None);
        assert_eq!(count.refuse(&json!("5"), false), Some("datatype_mismatch"));
        assert_eq!(count.refuse(&json!(5.5), false), Some("datatype_mismatch"));
        assert_eq!(count.refuse(&Value::Null, false), None);
        assert_eq!(count.refuse(&Value::Null, true), Some("datatype_mismatch"));
        let host = CustomField::text("cf_host");
        assert_eq!(host.refuse(&json!(7), false), Some("datatype_mismatch"));
    }

    #[test]
    fn decimals_dates_and_nested_fields_are_checked_like_freshdesk() {
        let ratio = CustomField::of_kind("cf_ratio", FieldKind::Decimal);
        assert_eq!(ratio.refuse(&json!(0.5), false), None);
        assert_eq!(ratio.refuse(&json!(true), false), Some("datatype_mismatch"));
        let due = CustomField::of_kind("cf_due", FieldKind::Date);
        assert_eq!(due.refuse(&json!("2024-02-29"), false), None);
        for bad in [json!("2023-02-29"), json!("29/02/2024"), json!("2024-2-29"), json!(20240229)] {
            assert!(due.refuse(&bad, false).is_some(), "{bad}");
        }
        let cat = CustomField::nested(
            "cf_cat",
            json!({"HW": {"Laptop": ["Screen"]}, "SW": {}}),
            &["cf_sub", "cf_item"],
        );
        assert_eq!(cat.refuse(&json!("HW"), false), None);
        assert_eq!(cat.refuse(&json!("hw"), false), Some("invalid_value"));
        assert_eq!(cat.level_choices(&[Some(&json!("HW"))]), Some(vec!["Laptop".to_string()]));
        let (hw, laptop) = (json!("HW"), json!("Laptop"));
        assert_eq!(cat.level_choices(&[Some(&hw), Some(&laptop)]), Some(vec!["Screen".to_string()]));
        assert_eq!(cat.level_choices(&[None]), None, "a level without its parent has no choices");
        let listed = ticket_fields_json(&[cat], &[], Some("nested_field"));
        assert_eq!(listed[0]["choices"], json!({"HW": {"Laptop": ["Screen"]}, "SW": {}}));
        assert_eq!(listed[0]["nested_ticket_fields"][1]["name"], "cf_item");
        assert_eq!(listed[0]["nested_ticket_fields"][1]["level"], 3);
    }

    #[test]
    fn the_answer_lists_default_fields_then_custom_ones_and_filters_by_type() {
        let all = ticket_fields_json(&default_custom_fields(), &["Question"], None);
        let names: Vec<&str> = all.as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
        assert_eq!(names.first(), Some(&"requester"));
        assert_eq!(&names[names.len() - 2..], ["cf_host", "cf_region"]);
        let region = &all[names.len() - 1];
        assert_eq!(region["type"], "custom_dropdown");
        assert_eq!(region["choices"], json!(["EMEA", "AMER", "APAC"]));
        assert!(all[names.len() - 2].get("choices").is_none(), "no choices key on a text field");
        let only = ticket_fields_json(&default_custom_fields(), &[], Some("custom_text"));
        assert_eq!(only.as_array().unwrap().len(), 1);
    }
}
