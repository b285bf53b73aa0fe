//! Ticket create validation (the facts file samples field for field), contact auto-creation,
//! the list filters with `Link` paging, and soft delete.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{spawn_default, ticket};

#[tokio::test]
async fn a_bad_priority_and_an_over_long_tag_give_the_facts_file_sample() {
    let sim = spawn_default().await;
    let mut body = ticket("a@example.com", &"x".repeat(33));
    body["priority"] = json!(9);
    let (status, got) = sim.create_ticket(body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let expected = json!({"description": "Validation failed", "errors": [
        {"field": "priority", "message": "It should be one of these values: '1,2,3,4'", "code": "invalid_value"},
        {"field": "tags", "message": "It should only contain elements that have maximum of 32 characters", "code": "invalid_value"}
    ]});
    assert_eq!(got, expected);
}

#[tokio::test]
async fn an_unknown_key_is_reported_alone() {
    let sim = spawn_default().await;
    let (status, got) = sim.create_ticket(json!({"external_id": "x", "priority": 9})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let expected = json!({"description":"Validation failed","errors":[
        {"field":"external_id","message":"Unexpected/invalid field in request","code":"invalid_field"}]});
    assert_eq!(got, expected);
}

#[tokio::test]
async fn an_empty_body_reports_requester_subject_description_status_and_priority() {
    let sim = spawn_default().await;
    let (status, got) = sim.create_ticket(json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let errors = got["errors"].as_array().unwrap();
    let pairs: Vec<(&str, &str)> =
        errors.iter().map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap())).collect();
    assert_eq!(
        pairs,
        [
            ("requester_id", "missing_field"),
            ("subject", "datatype_mismatch"),
            ("description", "datatype_mismatch"),
            ("status", "missing_field"),
            ("priority", "missing_field"),
        ]
    );
    assert_eq!(
        errors[0]["message"],
        "Please fill at least 1 of requester_id, phone, email, twitter_id, facebook_id fields"
    );
    assert_eq!(errors[3]["message"], "It should be one of these values: '2,3,4,5'");
}

#[tokio::test]
async fn tags_with_commas_too_many_ccs_and_unknown_custom_fields_are_refused() {
    let sim = spawn_default().await;
    let mut body = ticket("a@example.com", "a,b");
    body["cc_emails"] = json!((0..50).map(|i| format!("cc{i}@example.com")).collect::<Vec<_>>());
    body["custom_fields"] = json!({"cf_nope": "x", "cf_host": "db-07"});
    let (status, got) = sim.create_ticket(body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let errors = got["errors"].as_array().unwrap();
    assert_eq!(errors[0]["message"], "It should not have strings containing the special characters: ','");
    assert_eq!(errors[1]["message"], "Has 50 values, it can have maximum of 49 values");
    assert_eq!(
        errors[2],
        json!({"field":"custom_fields","nested_field":"custom_fields.cf_nope",
        "message":"Unexpected/invalid field in request","code":"invalid_field"})
    );
}

#[tokio::test]
async fn an_unknown_requester_id_is_refused() {
    let sim = spawn_default().await;
    let body = json!({"requester_id": 5, "subject": "s", "description": "d", "status": 2, "priority": 1});
    let (status, got) = sim.create_ticket(body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(got["errors"][0]["message"], "There is no contact matching the given requester_id");
}

#[tokio::test]
async fn a_created_ticket_has_the_sample_shape_location_and_a_new_contact() {
    let sim = spawn_default().await;
    let mut body = ticket("New.Person@example.com", "fds-1");
    body["tags"] = json!(["monitoring", "Monitoring", " fds-1 ", ""]);
    body["custom_fields"] = json!({"cf_host": "db-07"});
    body["cc_emails"] = json!(["Ops <ops@example.com>"]);
    let resp = sim.post("/api/v2/tickets", &body).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let t: Value = resp.json().await.unwrap();
    assert_eq!(location, format!("{}/api/v2/tickets/1", sim.base));
    assert_eq!(t["id"], 1);
    assert_eq!(t["tags"], json!(["monitoring", "fds-1"]));
    assert_eq!(t["custom_fields"], json!({"cf_host": "db-07"}));
    assert_eq!(t["description_text"], "Disk usage 98% on /var");
    for key in [
        "cc_emails",
        "fwd_emails",
        "reply_cc_emails",
        "fr_escalated",
        "spam",
        "due_by",
        "fr_due_by",
        "is_escalated",
        "attachments",
        "source",
        "status",
        "priority",
        "created_at",
        "updated_at",
        "type",
    ] {
        assert!(t.get(key).is_some(), "missing {key}");
    }
    let requester = t["requester_id"].as_u64().unwrap();
    assert!(requester > u64::from(u32::MAX));
    let state = sim.handle.state();
    let contact = state.contacts.iter().find(|c| c.id == requester).unwrap();
    assert_eq!(contact.email.as_deref(), Some("New.Person@example.com"));
    let (_, again) = sim.create_ticket(ticket("new.person@EXAMPLE.com", "fds-2")).await;
    assert_eq!(again["requester_id"].as_u64(), Some(requester), "the contact is reused case-insensitively");
    assert_eq!(sim.handle.counters().contacts_created, 1);
}

#[tokio::test]
async fn the_list_filters_by_email_and_pages_with_a_next_link() {
    let sim = spawn_default().await;
    for i in 0..3 {
        sim.create_ticket(ticket("list@example.com", &format!("t{i}"))).await;
    }
    sim.create_ticket(ticket("other@example.com", "o")).await;
    let (status, headers, page1) =
        sim.send(sim.get("/api/v2/tickets?email=list%40example.com&per_page=2")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page1.as_array().unwrap().len(), 2);
    assert!(page1[0].get("description").is_none(), "list items omit the description");
    let link = headers["link"].to_str().unwrap();
    let expected =
        format!("<{}/api/v2/tickets?email=list%40example.com&per_page=2&page=2>; rel=\"next\"", sim.base);
    assert_eq!(link, expected);
    let (_, headers, page2) =
        sim.send(sim.get("/api/v2/tickets?email=list%40example.com&per_page=2&page=2")).await;
    assert_eq!(page2.as_array().unwrap().len(), 1);
    assert!(!headers.contains_key("link"), "no Link on the last page");
    let (_, _, all) = sim.send(sim.get("/api/v2/tickets?order_type=asc")).await;
    let ids: Vec<u64> = all.as_array().unwrap().iter().map(|t| t["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
}

#[tokio::test]
async fn the_list_refuses_unknown_emails_params_and_deep_pages() {
    let sim = spawn_default().await;
    let (status, _, body) = sim.send(sim.get("/api/v2/tickets?email=ghost%40example.com")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["message"], "There is no contact matching the given email");
    let (status, _, body) = sim.send(sim.get("/api/v2/tickets?tag=x&status=2")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let codes: Vec<&str> =
        body["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["invalid_field", "invalid_field"]);
    let (_, _, body) = sim.send(sim.get("/api/v2/tickets?per_page=101")).await;
    assert_eq!(body["errors"][0]["message"], "It should be a Positive Integer less than or equal to 100");
    let (_, _, body) = sim.send(sim.get("/api/v2/tickets?page=301")).await;
    assert_eq!(
        body["errors"][0]["message"],
        "You cannot access tickets beyond the 300th page. Please provide a smaller page number."
    );
}

#[tokio::test]
async fn a_deleted_ticket_is_hidden_and_a_second_delete_gets_405_allow_get() {
    let sim = spawn_default().await;
    sim.create_ticket(ticket("d@example.com", "d")).await;
    let (status, _, body) = sim.send(sim.delete("/api/v2/tickets/1")).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (status, headers, body) = sim.send(sim.delete("/api/v2/tickets/1")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers["allow"], "GET");
    assert_eq!(
        body,
        json!({"message": "DELETE method is not allowed. It should be one of these method(s): GET"})
    );
    let (_, _, shown) = sim.send(sim.get("/api/v2/tickets/1")).await;
    assert_eq!(shown["deleted"], true);
    let (_, _, listed) = sim.send(sim.get("/api/v2/tickets?email=d%40example.com")).await;
    assert_eq!(listed, json!([]));
    let (_, _, trash) = sim.send(sim.get("/api/v2/tickets?filter=deleted")).await;
    assert_eq!(trash.as_array().unwrap().len(), 1);
    assert_eq!(sim.send(sim.delete("/api/v2/tickets/77")).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_update_changes_fields_and_counts_as_a_ticket_update() {
    let sim = spawn_default().await;
    sim.create_ticket(ticket("u@example.com", "u")).await;
    let (status, _, body) = sim.send(sim.put("/api/v2/tickets/1", &json!({"status": 4}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], 4);
    assert_eq!(sim.handle.counters().route_status("PUT /api/v2/tickets/{id}", 200), 1);
}
