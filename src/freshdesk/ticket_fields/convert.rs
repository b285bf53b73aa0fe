//! Typing a row's custom field values by the account's fields: each value a file gives (a CSV
//! cell is always text; a JSON value keeps its type) becomes the JSON type its field takes, or
//! a reason naming the column, the value and what the field takes. The rules, by field type
//! (docs/inputs.md has the table):
//!
//! | type                                  | accepted                                          | sent          |
//! |---------------------------------------|---------------------------------------------------|---------------|
//! | `custom_number`                       | a whole number (`42`, `-3`, `+7`, `42.0`)         | JSON integer  |
//! | `custom_decimal`                      | a number (`3.5`, `-0.25`, `1e3`)                  | JSON number   |
//! | `custom_checkbox`                     | true/false, yes/no, 1/0, y/n, x/empty (any case)  | JSON boolean  |
//! | `custom_date`                         | `YYYY-MM-DD`, or the inbox's `date_format`        | `"YYYY-MM-DD"`|
//! | `custom_dropdown`                     | a choice, case and spaces ignored                 | the choice as spelled |
//! | `nested_field` and its levels         | as a dropdown, each level among its parent's      | the choice as spelled |
//! | `custom_text`, `custom_paragraph`, …  | anything                                          | JSON string   |
//!
//! A JSON value that already has the field's type is kept as it is. Pure: no I/O.

use super::{Choice, CustomField, FieldKind, TicketFields};
use crate::domain::{FieldError, NewTicket};
use crate::text::Shown;
use serde_json::{Number, Value};
use std::collections::BTreeMap;

/// How a file writes dates other than ISO `YYYY-MM-DD`: `[[inbox]] date_format`, a pattern of
/// `YYYY`, `MM` and `DD` with one separator between them (`DD/MM/YYYY`, `MM-DD-YYYY`, `DD.MM.YYYY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateFormat {
    /// Which part comes first, second, third.
    order: [Part; 3],
    sep: char,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Year,
    Month,
    Day,
}

impl DateFormat {
    /// Reads a pattern such as `DD/MM/YYYY` (case-insensitive).
    pub fn parse(spec: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "'{}' is not a date pattern: use YYYY, MM and DD with one separator, e.g. DD/MM/YYYY",
                Shown(spec)
            )
        };
        let upper = spec.trim().to_ascii_uppercase();
        let sep = upper.chars().find(|c| !c.is_ascii_alphabetic()).ok_or_else(bad)?;
        let parts: Vec<&str> = upper.split(sep).collect();
        let [a, b, c] = parts.as_slice() else { return Err(bad()) };
        let part = |p: &str| match p {
            "YYYY" => Ok(Part::Year),
            "MM" => Ok(Part::Month),
            "DD" => Ok(Part::Day),
            _ => Err(bad()),
        };
        let order = [part(a)?, part(b)?, part(c)?];
        let all = [Part::Year, Part::Month, Part::Day].iter().all(|p| order.contains(p));
        if !all || sep.is_whitespace() {
            return Err(bad());
        }
        Ok(Self { order, sep })
    }

    /// The pattern, as a message shows it.
    fn spelled(&self) -> String {
        let name = |p: &Part| match p {
            Part::Year => "YYYY",
            Part::Month => "MM",
            Part::Day => "DD",
        };
        let names: Vec<&str> = self.order.iter().map(name).collect();
        names.join(&self.sep.to_string())
    }

    /// The date `s` names in this pattern, as `YYYY-MM-DD` (months and days may have one digit).
    fn read(&self, s: &str) -> Option<String> {
        let mut y = None;
        let (mut m, mut d) = (None, None);
        let mut pieces = s.trim().split(self.sep);
        for part in self.order {
            let piece = pieces.next()?;
            if piece.is_empty() || !piece.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            match part {
                Part::Year if piece.len() == 4 => y = piece.parse::<i32>().ok(),
                Part::Month if piece.len() <= 2 => m = piece.parse::<u8>().ok(),
                Part::Day if piece.len() <= 2 => d = piece.parse::<u8>().ok(),
                _ => return None,
            }
        }
        if pieces.next().is_some() {
            return None;
        }
        calendar(y?, m?, d?)
    }
}

/// `YYYY-MM-DD` when it is a real calendar date.
fn calendar(y: i32, m: u8, d: u8) -> Option<String> {
    let month = time::Month::try_from(m).ok()?;
    let date = time::Date::from_calendar_date(y, month, d).ok()?;
    Some(format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day()))
}

/// `s` when it is an ISO date `YYYY-MM-DD` (exactly; surrounding spaces ignored).
pub fn iso_date(s: &str) -> Option<String> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| s.get(r).filter(|p| p.bytes().all(|c| c.is_ascii_digit()));
    let y = digits(0..4)?.parse().ok()?;
    let m = digits(5..7)?.parse().ok()?;
    let d = digits(8..10)?.parse().ok()?;
    calendar(y, m, d)
}

/// How the value a file gave is shown in a message: text quoted, JSON as JSON.
fn shown_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{}'", Shown(s)),
        other => Shown(&other.to_string()).to_string(),
    }
}

/// Lower-cased with every space removed: how choices are compared.
fn loose(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

/// The choice `s` names: the exact spelling, else the one choice equal to it with case and
/// spaces ignored. Two such choices are ambiguous; none is unknown. `Err` lists the choices.
pub(crate) fn pick<'c>(s: &str, choices: impl Iterator<Item = &'c str> + Clone) -> Result<&'c str, String> {
    let s = s.trim();
    if let Some(exact) = choices.clone().find(|c| *c == s) {
        return Ok(exact);
    }
    let want = loose(s);
    let found: Vec<&str> = choices.clone().filter(|c| loose(c) == want).collect();
    let listed = || {
        let all: Vec<String> = choices.clone().map(|c| format!("\"{}\"", Shown(c))).collect();
        all.join(", ")
    };
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(format!("one of {}", listed())),
        many => {
            let names: Vec<String> = many.iter().map(|c| format!("\"{}\"", Shown(c))).collect();
            Err(format!("one of {} (it matches {} alike: write one exactly)", listed(), names.join(" and ")))
        }
    }
}

/// Text of a JSON scalar (a number or a boolean spelled out); lists and objects have none.
fn text(v: &Value) -> Option<std::borrow::Cow<'_, str>> {
    match v {
        Value::String(s) => Some(std::borrow::Cow::Borrowed(s)),
        Value::Number(_) | Value::Bool(_) => Some(std::borrow::Cow::Owned(v.to_string())),
        _ => None,
    }
}

fn number(v: &Value) -> Result<Value, &'static str> {
    const WANTS: &str = "a whole number such as 42";
    if let Value::Number(n) = v {
        if n.is_i64() || n.is_u64() {
            return Ok(v.clone());
        }
        return n.as_f64().and_then(whole).map(Value::from).ok_or(WANTS);
    }
    let s = text(v).ok_or(WANTS)?;
    let s = s.trim();
    let s = s.strip_prefix('+').unwrap_or(s);
    if let Ok(n) = s.parse::<i64>() {
        return Ok(Value::from(n));
    }
    // `42.0` (a spreadsheet's number format): whole, so taken.
    s.parse::<f64>().ok().filter(|_| s.contains('.')).and_then(whole).map(Value::from).ok_or(WANTS)
}

/// `f` as an integer when it is one exactly.
fn whole(f: f64) -> Option<i64> {
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

fn decimal(v: &Value) -> Result<Value, &'static str> {
    const WANTS: &str = "a number such as 3.5 (a point, no thousands separator)";
    if let Value::Number(_) = v {
        return Ok(v.clone());
    }
    let s = text(v).ok_or(WANTS)?;
    let s = s.trim();
    let s = s.strip_prefix('+').unwrap_or(s);
    let plain =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'e' | b'E'));
    if let (true, Ok(n)) = (plain, s.parse::<i64>()) {
        return Ok(Value::from(n));
    }
    let f = s.parse::<f64>().ok().filter(|f| plain && f.is_finite()).ok_or(WANTS)?;
    Number::from_f64(f).map(Value::Number).ok_or(WANTS)
}

fn checkbox(v: &Value) -> Result<Value, &'static str> {
    const WANTS: &str = "true/false, yes/no, 1/0, y/n, or x/empty";
    if let Value::Bool(_) = v {
        return Ok(v.clone());
    }
    let s = text(v).ok_or(WANTS)?;
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "x" => Ok(Value::Bool(true)),
        "false" | "no" | "n" | "0" | "" => Ok(Value::Bool(false)),
        _ => Err(WANTS),
    }
}

fn date(v: &Value, format: Option<&DateFormat>) -> Result<Value, String> {
    let wants = || match format {
        Some(f) => format!("a date written {} (the inbox's date_format) or YYYY-MM-DD", f.spelled()),
        None => "a date written YYYY-MM-DD (another order needs the inbox's date_format)".into(),
    };
    let Value::String(s) = v else { return Err(wants()) };
    iso_date(s).or_else(|| format?.read(s)).map(Value::String).ok_or_else(wants)
}

impl CustomField {
    /// `v` as this field takes it, or what the field takes. `Nested` and `Level` values are
    /// matched against one list of choices here ([`TicketFields::convert`] gives the list).
    fn convert_one(&self, v: &Value, format: Option<&DateFormat>, among: &[Choice]) -> Result<Value, String> {
        if v.is_null() {
            return Ok(Value::Null);
        }
        match &self.kind {
            FieldKind::Text => text(v).map(|s| Value::String(s.into_owned())).ok_or_else(|| "text".into()),
            FieldKind::Number => number(v).map_err(String::from),
            FieldKind::Decimal => decimal(v).map_err(String::from),
            FieldKind::Checkbox => checkbox(v).map_err(String::from),
            FieldKind::Date => date(v, format),
            FieldKind::Dropdown(choices) => {
                let s = text(v).ok_or_else(|| "one of its choices".to_string())?;
                pick(&s, choices.iter().map(String::as_str)).map(|c| Value::String(c.to_string()))
            }
            FieldKind::Nested { .. } | FieldKind::Level { .. } => {
                let s = text(v).ok_or_else(|| "one of its choices".to_string())?;
                pick(&s, among.iter().map(|c| c.value.as_str())).map(|c| Value::String(c.to_string()))
            }
            FieldKind::Other(_) => Ok(v.clone()),
        }
    }

    /// `cf_region ("Region", custom_dropdown)`, escaped.
    fn named(&self) -> String {
        let kind = match &self.kind {
            FieldKind::Text => "text",
            FieldKind::Number => "custom_number",
            FieldKind::Decimal => "custom_decimal",
            FieldKind::Checkbox => "custom_checkbox",
            FieldKind::Date => "custom_date",
            FieldKind::Dropdown(_) => "custom_dropdown",
            FieldKind::Nested { .. } | FieldKind::Level { .. } => "nested_field",
            FieldKind::Other(k) => k,
        };
        format!("\"{}\", {}", Shown(&self.label), Shown(kind))
    }
}

impl TicketFields {
    /// `t` with its custom fields as the account's fields take them (dates read with the
    /// `date_format` it was taken with), or every value that cannot be converted.
    /// Its `type` is matched to the account's ticket types the same way as a dropdown.
    pub fn type_ticket(&self, t: &NewTicket) -> Result<NewTicket, Vec<FieldError>> {
        let format = match t.date_format.as_deref().map(DateFormat::parse).transpose() {
            Ok(f) => f,
            Err(why) => return Err(vec![FieldError::new("date_format", why)]),
        };
        let converted = self.convert(&t.custom_fields, format.as_ref());
        let ticket_type = self.ticket_type(t.ticket_type.as_deref());
        match (converted, ticket_type) {
            (Ok(custom_fields), Ok(ticket_type)) => Ok(NewTicket { custom_fields, ticket_type, ..t.clone() }),
            (converted, ticket_type) => {
                Err(converted.err().into_iter().flatten().chain(ticket_type.err()).collect())
            }
        }
    }

    /// A row's `type` as the account spells it (case and spaces ignored), when the account's
    /// types are known; one it does not have is refused naming its types.
    fn ticket_type(&self, given: Option<&str>) -> Result<Option<String>, FieldError> {
        let (Some(given), Some(types)) = (given, &self.ticket_types) else {
            return Ok(given.map(String::from));
        };
        pick(given, types.iter().map(String::as_str)).map(|t| Some(t.to_string())).map_err(|wants| {
            let reason =
                format!("'{}' is not a ticket type of this account: type takes {wants}", Shown(given));
            FieldError::new("type", reason)
        })
    }

    /// Every value of `given` (API name → value as the file gave it) as its field takes it.
    /// `Err` lists one [`FieldError`] per value that cannot be converted, its column the API
    /// name: an unknown field, a value the field does not take, a dependent level whose parent
    /// is missing or whose value is not among the parent's choices.
    pub fn convert(
        &self,
        given: &BTreeMap<String, Value>,
        format: Option<&DateFormat>,
    ) -> Result<BTreeMap<String, Value>, Vec<FieldError>> {
        let mut out = BTreeMap::new();
        let mut errors = Vec::new();
        for (name, value) in given {
            let Some(field) = self.get(name) else {
                let reason = format!(
                    "{} is not a custom field of this account (its custom fields: {})",
                    Shown(name),
                    Shown(&self.names())
                );
                errors.push(FieldError::new(name.clone(), reason));
                continue;
            };
            let among = match self.choices_for(field, given) {
                Ok(among) => among,
                Err(reason) => {
                    errors.push(FieldError::new(name.clone(), reason));
                    continue;
                }
            };
            match field.convert_one(value, format, among) {
                Ok(v) => {
                    out.insert(name.clone(), v);
                }
                Err(wants) => errors.push(FieldError::new(
                    name.clone(),
                    format!(
                        "{} cannot be sent: {} ({}) takes {wants}",
                        shown_value(value),
                        Shown(name),
                        field.named()
                    ),
                )),
            }
        }
        if errors.is_empty() { Ok(out) } else { Err(errors) }
    }

    /// The choices a nested field's level may take given the row's other values: the top
    /// level's own; a lower level's, those under its parent's value. Other kinds: none needed.
    fn choices_for<'f>(
        &'f self,
        field: &'f CustomField,
        given: &BTreeMap<String, Value>,
    ) -> Result<&'f [Choice], String> {
        let (top, level) = match &field.kind {
            FieldKind::Nested { .. } => (field, 1),
            FieldKind::Level { parent, level } => match self.get(parent) {
                Some(top) => (top, *level),
                None => return Ok(&[]),
            },
            _ => return Ok(&[]),
        };
        let FieldKind::Nested { choices, levels } = &top.kind else { return Ok(&[]) };
        let mut among: &[Choice] = choices;
        // Walk down from the top, one level at a time, by the values the row gives.
        let path = std::iter::once(top.name.as_str()).chain(levels.iter().map(String::as_str));
        for above in path.take(usize::from(level.saturating_sub(1))) {
            let value = given.get(above).and_then(text).filter(|s| !s.trim().is_empty());
            let Some(value) = value else {
                return Err(format!(
                    "{} needs {} (the level above it) in the same row",
                    Shown(&field.name),
                    Shown(above)
                ));
            };
            let Ok(chosen) = pick(&value, among.iter().map(|c| c.value.as_str())) else {
                // The level above is refused on its own; this one cannot be checked.
                return Err(format!(
                    "{} cannot be checked: {} is not one of its choices",
                    Shown(&field.name),
                    Shown(above)
                ));
            };
            among = among.iter().find(|c| c.value == chosen).map_or(&[], |c| c.below.as_slice());
        }
        Ok(among)
    }
}

#[cfg(test)]
mod tests;
