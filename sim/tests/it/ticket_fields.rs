//! Ticket fields: `GET /api/v2/ticket_fields`, custom field validation on create (dropdown
//! choices, required fields, number fields) and `include=requester` on a ticket show.

use fdsync_sim::{CustomField, FieldKind, SimConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{spawn_default, spawn_sim, ticket};

fn with_custom(fields: Value) -> Value {
    let mut body = ticket("cf@example.com", "fds-cf");
    body["custom_fields"] = fields;
    body
}

#[tokio::test]
async fn ticket_fields_lists_default_and_custom_fields_in_freshdesk_shape() {
    let sim = spawn_default().await;
    let (status, _, body) = sim.send(sim.get("/api/v2/ticket_fields")).await;
    assert_eq!(status, StatusCode::OK);
    let fields = body.as_array().unwrap();
    let by_name = |n: &str| fields.iter().find(|f| f["name"] == n).cloned().unwrap();
    assert_eq!(by_name("requester")["type"], "default_requester");
    assert_eq!(by_name("priority")["choices"], json!({"Low": 1, "Medium": 2, "High": 3, "Urgent": 4}));
    let region = by_name("cf_region");
    assert_eq!(region["type"], "custom_dropdown");
    assert_eq!(region["choices"], json!(["EMEA", "AMER", "APAC"]));
    assert_eq!(
        (region["required_for_agents"].clone(), region["default"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(by_name("cf_host")["type"], "custom_text");
    assert!(fields.iter().all(|f| f["id"].as_u64().is_some_and(|id| id > u64::from(u32::MAX))));
    let (_, _, only) = sim.send(sim.get("/api/v2/ticket_fields?type=custom_dropdown")).await;
    assert_eq!(only.as_array().map(Vec::len), Some(1));
    let (status, _, bad) = sim.send(sim.get("/api/v2/ticket_fields?type=custom_nope")).await;
    assert_eq!((status, bad["errors"][0]["field"].clone()), (StatusCode::BAD_REQUEST, json!("type")));
    let (_, _, bad) = sim.send(sim.get("/api/v2/ticket_fields?per_page=5")).await;
    assert_eq!(bad["errors"][0]["code"], "invalid_field");
}

#[tokio::test]
async fn a_dropdown_value_outside_its_choices_is_invalid_value_with_the_list() {
    let sim = spawn_default().await;
    let (status, got) = sim.create_ticket(with_custom(json!({"cf_region": "Mars", "cf_host": "db"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        got["errors"],
        json!([{"field": "custom_fields", "nested_field": "custom_fields.cf_region",
                "message": "It should be one of these values: 'EMEA,AMER,APAC'", "code": "invalid_value"}])
    );
    let (status, got) = sim.create_ticket(with_custom(json!({"cf_region": "EMEA"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(got["custom_fields"], json!({"cf_region": "EMEA"}));
}

#[tokio::test]
async fn required_and_number_fields_are_checked_on_create() {
    let sim = spawn_sim(SimConfig {
        custom_fields: vec![
            CustomField::dropdown("cf_tier", &["Gold", "Silver"]).required(),
            CustomField::of_kind("cf_seats", FieldKind::Number),
            CustomField { required_for_closure: true, ..CustomField::text("cf_cause") },
        ],
        ..SimConfig::default()
    })
    .await;
    let (status, got) = sim.create_ticket(with_custom(json!({"cf_seats": "five"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let errors: Vec<(Value, Value, Value)> = got["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["nested_field"].clone(), e["code"].clone(), e["message"].clone()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (json!("custom_fields.cf_seats"), json!("datatype_mismatch"), json!("It should be a/an Integer")),
            (
                json!("custom_fields.cf_tier"),
                json!("missing_field"),
                json!("It should be one of these values: 'Gold,Silver'")
            ),
        ]
    );
    let (status, _) = sim.create_ticket(with_custom(json!({"cf_tier": "Gold", "cf_seats": 5}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let mut closed = with_custom(json!({"cf_tier": "Gold"}));
    closed["status"] = json!(5);
    let (status, got) = sim.create_ticket(closed).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "required for closure when created closed");
    assert_eq!(got["errors"][0]["nested_field"], "custom_fields.cf_cause");
}

#[tokio::test]
async fn custom_fields_can_be_set_live_by_name_or_description() {
    let sim = spawn_default().await;
    let patch = json!({"custom_fields": ["cf_host", {"name": "cf_os", "type": "custom_dropdown",
        "choices": ["Linux"], "required_for_agents": true}]});
    let resp = sim.client.patch(sim.url("/_sim/config")).json(&patch).send().await.unwrap();
    assert!(resp.status().is_success());
    let (status, got) = sim.create_ticket(ticket("live@example.com", "fds-live")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(got["errors"][0]["code"], "missing_field");
}

#[tokio::test]
async fn a_ticket_show_embeds_its_requester_when_asked_and_refuses_unknown_includes() {
    let sim = spawn_default().await;
    let mut body = ticket("Req.Person@example.com", "fds-req");
    body["name"] = json!("Req Person");
    sim.create_ticket(body).await;
    let (status, _, plain) = sim.send(sim.get("/api/v2/tickets/1")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(plain.get("requester").is_none());
    let (status, headers, t) = sim.send(sim.get("/api/v2/tickets/1?include=requester")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-ratelimit-used-currentrequest"], "2");
    let requester = &t["requester"];
    assert_eq!(requester["id"], t["requester_id"]);
    assert_eq!(
        (requester["name"].clone(), requester["email"].clone()),
        (json!("Req Person"), json!("Req.Person@example.com"))
    );
    let keys: Vec<&String> = requester.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 5, "id, name, email, mobile, phone: {keys:?}");
    for bad in ["include=requesters", "include=", "include=requester,bogus"] {
        let (status, _, got) = sim.send(sim.get(&format!("/api/v2/tickets/1?{bad}"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(got["errors"][0]["field"], "include");
        assert_eq!(got["errors"][0]["code"], "invalid_value");
    }
    let (_, _, got) = sim.send(sim.get("/api/v2/tickets/1?expand=requester")).await;
    assert_eq!(got["errors"][0]["code"], "invalid_field");
}
