//! The conversions of `convert.rs`, field type by field type, on a decoded answer.

use super::*;
use crate::freshdesk::Decode;
use proptest::prelude::*;
use serde_json::json;

/// Every custom type, and a nested field of three levels.
const ANSWER: &[u8] = br#"[
  {"id": 1, "name": "cf_count", "label": "Count", "type": "custom_number", "required_for_agents": false, "required_for_closure": false},
  {"id": 2, "name": "cf_ratio", "label": "Ratio", "type": "custom_decimal", "required_for_agents": false, "required_for_closure": false},
  {"id": 3, "name": "cf_urgent", "label": "Urgent", "type": "custom_checkbox", "required_for_agents": false, "required_for_closure": false},
  {"id": 4, "name": "cf_due", "label": "Due", "type": "custom_date", "required_for_agents": false, "required_for_closure": false},
  {"id": 5, "name": "cf_region", "label": "Region", "type": "custom_dropdown", "required_for_agents": false, "required_for_closure": false,
   "choices": ["EMEA", "North America", "APAC", "apac "]},
  {"id": 6, "name": "cf_host", "label": "Host", "type": "custom_text", "required_for_agents": false, "required_for_closure": false},
  {"id": 7, "name": "cf_notes", "label": "Notes", "type": "custom_paragraph", "required_for_agents": false, "required_for_closure": false},
  {"id": 8, "name": "cf_category", "label": "Category", "type": "nested_field", "required_for_agents": false, "required_for_closure": false,
   "choices": {"Hardware": {"Laptop": ["Screen", "Battery"], "Printer": ["Toner"]}, "Software": {"Mail": []}},
   "nested_ticket_fields": [{"id": 81, "name": "cf_item", "label": "Item", "level": 3},
                            {"id": 80, "name": "cf_subcategory", "label": "Sub-category", "level": 2}]}
]"#;

fn fields() -> TicketFields {
    TicketFields::decode(ANSWER).expect("the sample decodes")
}

fn convert(v: Value) -> Result<BTreeMap<String, Value>, Vec<FieldError>> {
    fields().convert(&serde_json::from_value(v).unwrap(), None)
}

fn one(name: &str, cell: &str) -> Result<Value, String> {
    let given = BTreeMap::from([(name.to_string(), json!(cell))]);
    match fields().convert(&given, None) {
        Ok(mut out) => Ok(out.remove(name).unwrap()),
        Err(mut e) => Err(e.remove(0).reason),
    }
}

#[test]
fn numbers_become_json_integers() {
    assert_eq!(one("cf_count", "42"), Ok(json!(42)));
    assert_eq!(one("cf_count", " -3 "), Ok(json!(-3)));
    assert_eq!(one("cf_count", "+7"), Ok(json!(7)));
    assert_eq!(one("cf_count", "42.0"), Ok(json!(42)));
    for bad in ["4.5", "forty", "", "1,000", "0x10", "1e3"] {
        let err = one("cf_count", bad).unwrap_err();
        assert!(err.contains("takes a whole number such as 42"), "{bad}: {err}");
    }
    let err = one("cf_count", "forty").unwrap_err();
    assert_eq!(
        err,
        r#"'forty' cannot be sent: cf_count ("Count", custom_number) takes a whole number such as 42"#
    );
}

#[test]
fn decimals_become_json_numbers() {
    assert_eq!(one("cf_ratio", "3.5"), Ok(json!(3.5)));
    assert_eq!(one("cf_ratio", "-0.25"), Ok(json!(-0.25)));
    assert_eq!(one("cf_ratio", "2"), Ok(json!(2)));
    for bad in ["3,5", "1 000", "NaN", "inf", "abc"] {
        assert!(one("cf_ratio", bad).is_err(), "{bad}");
    }
}

#[test]
fn checkboxes_take_the_listed_spellings_in_any_case() {
    for yes in ["true", "TRUE", "yes", "Y", "1", "x", "X"] {
        assert_eq!(one("cf_urgent", yes), Ok(json!(true)), "{yes}");
    }
    for no in ["false", "No", "n", "0", ""] {
        assert_eq!(one("cf_urgent", no), Ok(json!(false)), "{no}");
    }
    let err = one("cf_urgent", "maybe").unwrap_err();
    assert!(err.contains("'maybe'") && err.contains("true/false, yes/no, 1/0, y/n, or x/empty"), "{err}");
}

#[test]
fn dates_are_iso_unless_the_inbox_names_a_format() {
    assert_eq!(one("cf_due", "2026-02-28"), Ok(json!("2026-02-28")));
    for bad in ["2026-02-30", "28/02/2026", "2026-2-28", "2026-02-28T10:00:00Z", "tomorrow"] {
        let err = one("cf_due", bad).unwrap_err();
        assert!(err.contains("YYYY-MM-DD"), "{bad}: {err}");
    }
    let dmy = DateFormat::parse("DD/MM/YYYY").unwrap();
    let given = BTreeMap::from([("cf_due".to_string(), json!("5/3/2026"))]);
    assert_eq!(fields().convert(&given, Some(&dmy)).unwrap()["cf_due"], json!("2026-03-05"));
    let given = BTreeMap::from([("cf_due".to_string(), json!("31/02/2026"))]);
    let err = fields().convert(&given, Some(&dmy)).unwrap_err();
    assert!(err[0].reason.contains("DD/MM/YYYY (the inbox's date_format)"), "{err:?}");
    assert_eq!(DateFormat::parse("mm-dd-yyyy").unwrap().read("12-31-2025").as_deref(), Some("2025-12-31"));
    for bad in ["DD/MM", "YYYY/MM/MM", "DD MM YYYY", "", "D/M/Y"] {
        assert!(DateFormat::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn dropdowns_match_case_and_spaces_to_the_exact_choice() {
    assert_eq!(one("cf_region", "emea"), Ok(json!("EMEA")));
    assert_eq!(one("cf_region", " northamerica "), Ok(json!("North America")));
    assert_eq!(one("cf_region", "NORTH  AMERICA"), Ok(json!("North America")));
    // An exact spelling wins over a loose match.
    assert_eq!(one("cf_region", "APAC"), Ok(json!("APAC")));
    let err = one("cf_region", "Apac").unwrap_err();
    assert!(err.contains(r#"it matches "APAC" and "apac " alike"#), "{err}");
    let err = one("cf_region", "Mars").unwrap_err();
    assert!(err.contains(r#"one of "EMEA", "North America", "APAC", "apac ""#), "{err}");
}

#[test]
fn text_is_sent_as_given_and_json_scalars_as_their_text() {
    assert_eq!(one("cf_host", " db-07 "), Ok(json!(" db-07 ")));
    assert_eq!(one("cf_notes", "true"), Ok(json!("true")));
    let out = convert(json!({"cf_host": 7, "cf_notes": false})).unwrap();
    assert_eq!(out["cf_host"], json!("7"));
    assert_eq!(out["cf_notes"], json!("false"));
    assert!(convert(json!({"cf_host": [1]})).is_err());
}

#[test]
fn json_values_of_the_right_type_are_kept_and_others_converted() {
    let out =
        convert(json!({"cf_count": 42, "cf_ratio": 0.5, "cf_urgent": true, "cf_due": "2026-01-02"})).unwrap();
    assert_eq!(out["cf_count"], json!(42));
    assert_eq!(out["cf_ratio"], json!(0.5));
    assert_eq!(out["cf_urgent"], json!(true));
    let out =
        convert(json!({"cf_count": "42", "cf_urgent": 1, "cf_ratio": "0.5", "cf_region": null})).unwrap();
    assert_eq!(out["cf_count"], json!(42));
    assert_eq!(out["cf_urgent"], json!(true));
    assert_eq!(out["cf_ratio"], json!(0.5));
    assert_eq!(out["cf_region"], Value::Null);
    assert!(convert(json!({"cf_count": 4.5})).is_err());
    assert!(convert(json!({"cf_urgent": "perhaps"})).is_err());
}

#[test]
fn dependent_fields_are_checked_level_by_level() {
    let out = convert(json!({"cf_category": "hardware", "cf_subcategory": "LAPTOP", "cf_item": "battery"}))
        .unwrap();
    assert_eq!(out["cf_category"], json!("Hardware"));
    assert_eq!(out["cf_subcategory"], json!("Laptop"));
    assert_eq!(out["cf_item"], json!("Battery"));
    // An item under another sub-category.
    let err = convert(json!({"cf_category": "Hardware", "cf_subcategory": "Laptop", "cf_item": "Toner"}))
        .unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].column, "cf_item");
    assert!(err[0].reason.contains(r#"one of "Screen", "Battery""#), "{err:?}");
    // A sub-category without its category.
    let err = convert(json!({"cf_subcategory": "Laptop"})).unwrap_err();
    assert!(err[0].reason.contains("needs cf_category"), "{err:?}");
    // A wrong category: refused itself, and its levels cannot be checked.
    let err = convert(json!({"cf_category": "Food", "cf_subcategory": "Laptop"})).unwrap_err();
    assert_eq!(err.len(), 2, "{err:?}");
}

#[test]
fn a_ticket_type_is_matched_to_the_accounts_types() {
    let answer = br#"[{"id": 9, "name": "ticket_type", "label": "Type", "type": "default_ticket_type",
        "required_for_agents": false, "required_for_closure": false, "choices": ["Question", "Feature Request"]}]"#;
    let f = TicketFields::decode(answer).unwrap();
    let mut t = NewTicket::example("a@example.com");
    t.ticket_type = Some("feature request".into());
    assert_eq!(f.type_ticket(&t).unwrap().ticket_type.as_deref(), Some("Feature Request"));
    t.ticket_type = Some("Bug".into());
    let err = f.type_ticket(&t).unwrap_err();
    assert_eq!(err[0].column, "type");
    assert!(
        err[0].reason.contains(
            r#"'Bug' is not a ticket type of this account: type takes one of "Question", "Feature Request""#
        ),
        "{err:?}"
    );
    // Without the account's types, the type goes as given.
    t.ticket_type = Some("Bug".into());
    assert_eq!(fields().type_ticket(&t).unwrap().ticket_type.as_deref(), Some("Bug"));
}

#[test]
fn an_unknown_field_is_refused_naming_the_accounts_fields() {
    let err = convert(json!({"cf_nope": "x"})).unwrap_err();
    assert_eq!(err[0].column, "cf_nope");
    assert!(err[0].reason.contains("not a custom field of this account"), "{err:?}");
    assert!(err[0].reason.contains("cf_count"), "{err:?}");
}

#[test]
fn every_bad_value_of_a_row_is_listed_and_escaped() {
    let err =
        convert(json!({"cf_count": "x\u{1b}[31m", "cf_urgent": "?", "cf_region": "\u{202e}"})).unwrap_err();
    assert_eq!(err.len(), 3);
    for e in &err {
        assert!(!e.reason.chars().any(|c| c.is_control() || c == '\u{202e}'), "{e:?}");
    }
}

proptest! {
    #[test]
    fn every_integer_converts_to_itself(n in any::<i64>()) {
        prop_assert_eq!(one("cf_count", &n.to_string()), Ok(json!(n)));
    }

    #[test]
    fn every_real_date_round_trips_in_both_orders(y in 1900i32..2200, m in 1u8..=12, d in 1u8..=28) {
        let iso = format!("{y:04}-{m:02}-{d:02}");
        prop_assert_eq!(iso_date(&iso), Some(iso.clone()));
        let dmy = DateFormat::parse("DD.MM.YYYY").unwrap();
        prop_assert_eq!(dmy.read(&format!("{d}.{m}.{y}")), Some(iso));
    }

    #[test]
    fn no_text_makes_the_conversion_panic(s in ".{0,40}") {
        for name in ["cf_count", "cf_ratio", "cf_urgent", "cf_due", "cf_region", "cf_category"] {
            let _ = one(name, &s);
        }
    }
}
