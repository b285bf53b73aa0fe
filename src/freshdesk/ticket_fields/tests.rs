//! Decoding the ticket-fields answer from byte literals, and `check` on tickets built in place.

use super::*;
use crate::domain::NewTicket;
use serde_json::json;

/// An answer in Freshdesk's shape: two default fields, then text, dropdown (required), number,
/// checkbox, a field required for closure, and a nested field with one lower level.
const ANSWER: &[u8] = br#"[
  {"id": 43000500001, "name": "requester", "label": "Search a requester", "type": "default_requester",
   "required_for_agents": true, "required_for_closure": false, "default": true, "portal_cc": false},
  {"id": 43000500005, "name": "status", "label": "Status", "type": "default_status",
   "required_for_agents": true, "required_for_closure": false,
   "choices": {"2": ["Open", "Being Processed"], "3": ["Pending", "Awaiting your Reply"]}},
  {"id": 43000500011, "name": "cf_host", "label": "Host", "type": "custom_text",
   "required_for_agents": false, "required_for_closure": false, "default": false},
  {"id": 43000500012, "name": "cf_region", "label": "Region", "type": "custom_dropdown",
   "required_for_agents": true, "required_for_closure": false, "choices": ["EMEA", "AMER", "APAC"],
   "nested_ticket_fields": []},
  {"id": 43000500013, "name": "cf_seats", "label": "Seats", "type": "custom_number",
   "required_for_agents": false, "required_for_closure": false},
  {"id": 43000500014, "name": "cf_vip", "label": "VIP", "type": "custom_checkbox",
   "required_for_agents": false, "required_for_closure": false, "choices": []},
  {"id": 43000500015, "name": "cf_cause", "label": "Cause", "type": "custom_paragraph",
   "required_for_agents": false, "required_for_closure": true},
  {"id": 43000500016, "name": "cf_product", "label": "Product", "type": "nested_field",
   "required_for_agents": false, "required_for_closure": false, "choices": {"Phone": {"X": ["1"]}},
   "nested_ticket_fields": [{"id": 1, "name": "cf_model", "label": "Model", "level": 2}]}
]"#;

fn fields() -> TicketFields {
    TicketFields::decode(ANSWER).expect("the sample decodes")
}

fn ticket(custom: serde_json::Value) -> NewTicket {
    let mut t = NewTicket::example("jo@example.com");
    t.custom_fields = serde_json::from_value(custom).unwrap();
    t
}

#[test]
fn the_answer_decodes_to_its_custom_fields_only() {
    let f = fields();
    let names: Vec<&str> = f.custom.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["cf_host", "cf_region", "cf_seats", "cf_vip", "cf_cause", "cf_product", "cf_model"]);
    let region = f.get("cf_region").unwrap();
    assert_eq!(region.kind, FieldKind::Dropdown(vec!["EMEA".into(), "AMER".into(), "APAC".into()]));
    assert!(region.required_for_agents && !region.required_for_closure);
    assert_eq!(f.get("cf_cause").unwrap().kind, FieldKind::Text);
    let phone = Choice {
        value: "Phone".into(),
        below: vec![Choice { value: "X".into(), below: vec![Choice { value: "1".into(), below: vec![] }] }],
    };
    assert_eq!(
        f.get("cf_product").unwrap().kind,
        FieldKind::Nested { choices: vec![phone], levels: vec!["cf_model".into()] }
    );
    assert_eq!(f.get("cf_model").unwrap().kind, FieldKind::Level { parent: "cf_product".into(), level: 2 });
    assert_eq!(TicketFields::decode(b"[]").unwrap(), TicketFields::default());
}

#[test]
fn an_answer_that_is_not_a_field_list_proves_nothing() {
    for body in [
        &b"<html>login</html>"[..],
        b"",
        br#"{"fields": []}"#,
        br#"[{"name": "cf_x", "type": "custom_text", "required_for_agents": false, "required_for_closure": false}]"#,
        br#"[{"id": 1, "type": "custom_text"}]"#,
        br#"[{"id": 1, "name": "cf_x", "type": "custom_text", "required_for_closure": false}]"#,
        br#"[{"id": 1, "name": "cf_x", "type": "custom_dropdown", "required_for_agents": false, "required_for_closure": false}]"#,
        br#"[{"id": 1, "name": "cf_x", "type": "custom_dropdown", "required_for_agents": false, "required_for_closure": false, "choices": [1, 2]}]"#,
        br#"[{"id": 1, "name": "cf_x", "type": "custom_text", "required_for_agents": "no", "required_for_closure": false}]"#,
    ] {
        assert!(TicketFields::decode(body).is_err(), "{}", String::from_utf8_lossy(body));
    }
}

#[test]
fn a_good_row_passes_the_check() {
    let t = ticket(json!({"cf_region": "EMEA", "cf_host": "db-07", "cf_seats": 5, "cf_vip": true,
        "cf_product": "Phone", "cf_model": "X", "cf_cause": null}));
    assert_eq!(fields().check(&t), Vec::<String>::new());
}

#[test]
fn a_dropdown_value_outside_its_choices_names_the_field_and_the_choices() {
    let reasons = fields().check(&ticket(json!({"cf_region": "Mars"})));
    assert_eq!(reasons, [r#"cf_region ("Region") is "Mars": it must be one of "EMEA", "AMER", "APAC""#]);
    let reasons = fields().check(&ticket(json!({"cf_region": "emea"})));
    assert!(reasons[0].ends_with("(choices are case-sensitive)"), "{reasons:?}");
}

#[test]
fn required_fields_missing_or_empty_are_reasons() {
    let reasons = fields().check(&ticket(json!({})));
    assert_eq!(
        reasons,
        [r#"cf_region ("Region") is required and missing: it must be one of "EMEA", "AMER", "APAC""#]
    );
    let reasons = fields().check(&ticket(json!({"cf_region": null})));
    assert!(reasons[0].contains("is required and is empty"), "{reasons:?}");
    let mut closed = ticket(json!({"cf_region": "AMER"}));
    closed.status = Status::Closed;
    let reasons = fields().check(&closed);
    assert_eq!(reasons.len(), 1);
    assert!(
        reasons[0].starts_with(r#"cf_cause ("Cause") is required to create a resolved or closed ticket"#)
    );
}

#[test]
fn unknown_fields_and_wrong_types_are_reasons() {
    let t =
        ticket(json!({"cf_region": "APAC", "cf_nope": "x", "cf_seats": "5", "cf_vip": "yes", "cf_host": 7}));
    let reasons = fields().check(&t);
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(reasons.iter().any(|r| r.starts_with(r#"cf_host ("Host") is 7: it must be text"#)));
    assert!(reasons.iter().any(|r| r.starts_with("custom field cf_nope does not exist on this account")));
    assert!(reasons.iter().any(|r| r.starts_with(r#"cf_seats ("Seats") is "5": it must be a whole number"#)));
    assert!(reasons.iter().any(|r| r.starts_with(r#"cf_vip ("VIP") is "yes": it must be true or false"#)));
    assert!(fields().check(&ticket(json!({"cf_region": "APAC", "cf_seats": 5.5}))).len() == 1);
}

#[test]
fn outside_strings_are_escaped_in_the_reasons() {
    let body = br#"[{"id": 1, "name": "cf_x", "label": "X\u001b[31m", "type": "custom_dropdown",
        "required_for_agents": false, "required_for_closure": false, "choices": ["a\nb"]}]"#;
    let f = TicketFields::decode(body).unwrap();
    let reasons = f.check(&ticket(json!({"cf_x": "c\u{202e}", "cf_\u{1b}y": 1})));
    assert_eq!(reasons.len(), 2);
    for r in &reasons {
        assert!(!r.chars().any(|c| c.is_control() || c == '\u{202e}'), "{r:?}");
    }
}
