//! Agents: create with 409 `agent_id` / `user_id`, seats, list by e-mail with Link, show,
//! delete → contact → 404, own-agent 403, contacts, and make_agent (restores the body's roles,
//! groups, scope and occasional; 409 for an agent, 404 for an unknown id, the seat limit).

use fdsync_sim::SimConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{spawn_default, spawn_sim, ticket};

fn agent(email: &str) -> Value {
    json!({"email": email, "ticket_scope": 1, "name": "Jane Doe"})
}

#[tokio::test]
async fn a_created_agent_is_occasional_by_default_with_location() {
    let sim = spawn_default().await;
    let resp = sim.post("/api/v2/agents", &agent("jane@example.com")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let body: Value = resp.json().await.unwrap();
    let id = body["id"].as_u64().unwrap();
    assert_eq!(location, format!("{}/api/v2/agents/{id}", sim.base));
    assert_eq!(body["occasional"], true);
    assert_eq!(body["type"], "support_agent");
    assert_eq!(body["contact"]["email"], "jane@example.com");
    assert!(body.get("role_ids").is_some());
}

#[tokio::test]
async fn missing_fields_and_unknown_keys_are_validation_errors() {
    let sim = spawn_default().await;
    let (status, _, body) = sim.send(sim.post("/api/v2/agents", &json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let fields: Vec<&str> =
        body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["email", "ticket_scope", "name"]);
    let (_, _, body) = sim.send(sim.post("/api/v2/agents", &json!({"email": "a@b.co", "nick": 1}))).await;
    assert_eq!(
        body["errors"],
        json!([{"field":"nick","message":"Unexpected/invalid field in request","code":"invalid_field"}])
    );
}

#[tokio::test]
async fn a_duplicate_email_gets_409_with_agent_id_or_user_id() {
    let sim = spawn_default().await;
    let (_, _, first) = sim.send(sim.post("/api/v2/agents", &agent("dup@example.com"))).await;
    let (status, _, body) = sim.send(sim.post("/api/v2/agents", &agent("DUP@example.com"))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let expected = json!({"description":"Validation failed","errors":[{"field":"email",
        "additional_info":{"agent_id": first["id"]},"message":"It should be a unique value","code":"duplicate_value"}]});
    assert_eq!(body, expected);
    let (_, t) = sim.create_ticket(ticket("customer@example.com", "c")).await;
    let (status, _, body) = sim.send(sim.post("/api/v2/agents", &agent("customer@example.com"))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["errors"][0]["additional_info"], json!({"user_id": t["requester_id"]}));
}

#[tokio::test]
async fn full_time_agents_beyond_the_seats_are_refused() {
    let sim = spawn_sim(SimConfig { seats: 2, ..SimConfig::default() }).await; // admin + agent use both
    let mut body = agent("ft@example.com");
    body["occasional"] = json!(false);
    let (status, _, got) = sim.send(sim.post("/api/v2/agents", &body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(got["errors"][0]["field"], "occasional");
    assert_eq!(got["errors"][0]["code"], "incompatible_value");
    assert_eq!(sim.send(sim.post("/api/v2/agents", &agent("occ@example.com"))).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn the_list_finds_an_agent_by_email_case_insensitively_and_pages() {
    let sim = spawn_sim(SimConfig { agents: 5, ..SimConfig::default() }).await;
    let (status, _, body) = sim.send(sim.get("/api/v2/agents?email=AGENT0003%40example.com")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_array().unwrap().len(), 1);
    assert_eq!(body[0]["contact"]["email"], "agent0003@example.com");
    assert!(body[0].get("role_ids").is_none(), "list items omit role_ids");
    let (_, _, none) = sim.send(sim.get("/api/v2/agents?email=nobody%40example.com")).await;
    assert_eq!(none, json!([]));
    let (_, headers, page) = sim.send(sim.get("/api/v2/agents?per_page=3")).await;
    assert_eq!(page.as_array().unwrap().len(), 3);
    assert!(headers["link"].to_str().unwrap().ends_with("/api/v2/agents?per_page=3&page=2>; rel=\"next\""));
    let (status, _, _) = sim.send(sim.get("/api/v2/agents?email=not-an-email")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_deleted_agent_becomes_a_contact_and_then_404s() {
    let sim = spawn_default().await;
    let (_, _, created) = sim.send(sim.post("/api/v2/agents", &agent("gone@example.com"))).await;
    let path = format!("/api/v2/agents/{}", created["id"]);
    assert_eq!(sim.send(sim.get(&path)).await.0, StatusCode::OK);
    let (status, _, body) = sim.send(sim.delete(&path)).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let state = sim.handle.state();
    assert!(state.contacts.iter().any(|c| c.email.as_deref() == Some("gone@example.com")));
    let (status, _, body) = sim.send(sim.delete(&path)).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, Value::Null));
    assert_eq!(sim.send(sim.get(&path)).await.0, StatusCode::NOT_FOUND);
    let (_, _, contacts) = sim.send(sim.get("/api/v2/contacts?email=gone%40example.com")).await;
    assert_eq!(contacts[0]["id"], created["id"]);
}

#[tokio::test]
async fn deleting_your_own_agent_is_forbidden() {
    let sim = spawn_default().await;
    let (_, _, me) = sim.send(sim.get("/api/v2/agents/me")).await;
    let (status, _, body) = sim.send(sim.delete(&format!("/api/v2/agents/{}", me["id"]))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "access_denied");
}

#[tokio::test]
async fn make_agent_turns_a_contact_into_an_agent_with_the_same_id() {
    let sim = spawn_default().await;
    let (_, t) = sim.create_ticket(ticket("promote@example.com", "p")).await;
    let id = t["requester_id"].as_u64().unwrap();
    let (status, _, body) = sim.send(sim.put(&format!("/api/v2/contacts/{id}/make_agent"), &json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    // Freshdesk answers with the contact and the agent nested (tests/contract/make_agent_200.http).
    assert_eq!((body["agent"]["id"].clone(), body.get("id")), (json!(id), None), "{body}");
    assert_eq!(body["email"], "promote@example.com");
    assert_eq!(sim.send(sim.get(&format!("/api/v2/agents/{id}"))).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_contact_is_created_with_a_name_and_an_identifier_and_an_email_taken_is_409() {
    let sim = spawn_default().await;
    let pat = json!({"name": "Pat", "email": "Pat@example.com", "job_title": "Eng"});
    let resp = sim.post("/api/v2/contacts", &pat).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let body: Value = resp.json().await.unwrap();
    let id = body["id"].as_u64().unwrap();
    assert_eq!(location, format!("{}/api/v2/contacts/{id}", sim.base));
    assert_eq!((body["email"].as_str(), body["job_title"].as_str()), (Some("pat@example.com"), Some("Eng")));
    assert_eq!(sim.send(sim.get(&format!("/api/v2/agents/{id}"))).await.0, StatusCode::NOT_FOUND, "no seat");
    let (_, _, found) = sim.send(sim.get("/api/v2/contacts?email=pat%40example.com")).await;
    assert_eq!(found[0]["id"], json!(id));
    // The same e-mail again (any case): 409 naming the contact; an agent's e-mail: naming the agent.
    let (status, _, dup) =
        sim.send(sim.post("/api/v2/contacts", &json!({"name": "P", "email": "PAT@example.com"}))).await;
    assert_eq!(
        (status, dup["errors"][0]["additional_info"]["user_id"].clone()),
        (StatusCode::CONFLICT, json!(id))
    );
    let agent_email = json!({"name": "A", "email": "agent@example.com"});
    let (status, _, dup) = sim.send(sim.post("/api/v2/contacts", &agent_email)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(dup["errors"][0]["additional_info"]["agent_id"].is_u64(), "{dup}");
    // No name; no identifier; an unknown key: 400.
    let (status, _, err) = sim.send(sim.post("/api/v2/contacts", &json!({"email": "q@example.com"}))).await;
    assert_eq!((status, err["errors"][0]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("name")));
    let (status, _, err) = sim.send(sim.post("/api/v2/contacts", &json!({"name": "Q"}))).await;
    assert_eq!((status, err["errors"][0]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("missing_field")));
    let (status, _, err) =
        sim.send(sim.post("/api/v2/contacts", &json!({"name": "Q", "phone": "1", "x": 1}))).await;
    assert_eq!((status, err["errors"][0]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_field")));
    assert_eq!(sim.handle.counters().contacts_created, 1);
}

#[tokio::test]
async fn the_contacts_list_filters_by_email_and_has_its_own_sub_limit() {
    let sim = spawn_sim(SimConfig { plan: fdsync_sim::Plan::Growth, ..SimConfig::default() }).await;
    sim.create_ticket(ticket("c1@example.com", "c")).await;
    let (status, _, body) = sim.send(sim.get("/api/v2/contacts?email=C1%40example.com")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_array().unwrap().len(), 1);
    assert_eq!(body[0]["email"], "c1@example.com");
    for _ in 1..20 {
        assert_eq!(sim.send(sim.get("/api/v2/contacts")).await.0, StatusCode::OK);
    }
    assert_eq!(sim.send(sim.get("/api/v2/contacts")).await.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(sim.send(sim.get("/api/v2/agents/me")).await.0, StatusCode::OK);
}

/// Creates an agent with these settings, deletes it (it becomes a contact); returns its id.
async fn deleted_agent(sim: &crate::helpers::TestSim, email: &str, settings: Value) -> u64 {
    let mut body = agent(email);
    body.as_object_mut().unwrap().extend(settings.as_object().unwrap().clone());
    let (status, _, created) = sim.send(sim.post("/api/v2/agents", &body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_u64().unwrap();
    assert_eq!(sim.send(sim.delete(&format!("/api/v2/agents/{id}"))).await.0, StatusCode::NO_CONTENT);
    id
}

#[tokio::test]
async fn make_agent_restores_roles_groups_scope_and_occasional_from_the_body() {
    let sim = spawn_default().await;
    let image = json!({"occasional": false, "ticket_scope": 3, "role_ids": [7, 9], "group_ids": [11, 12]});
    let id = deleted_agent(&sim, "back@example.com", image.clone()).await;
    let (status, _, body) = sim.send(sim.put(&format!("/api/v2/contacts/{id}/make_agent"), &image)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["agent"]["id"], id);
    for key in ["occasional", "ticket_scope"] {
        assert_eq!(body["agent"][key], image[key], "{key}");
    }
    let (_, _, shown) = sim.send(sim.get(&format!("/api/v2/agents/{id}"))).await;
    for key in ["occasional", "ticket_scope", "role_ids", "group_ids"] {
        assert_eq!(shown[key], image[key], "{key}");
    }
    let state = sim.handle.state();
    let restored = state.agents.iter().find(|a| a.id == id).expect("an agent again");
    let info = restored.agent.as_ref().unwrap();
    assert_eq!((info.occasional, info.ticket_scope), (false, 3), "/_sim/state shows them");
    assert_eq!((info.role_ids.clone(), info.group_ids.clone()), (vec![7, 9], vec![11, 12]));
}

#[tokio::test]
async fn make_agent_on_an_agent_is_409_and_on_an_unknown_id_404() {
    let sim = spawn_default().await;
    let (_, _, me) = sim.send(sim.get("/api/v2/agents/me")).await;
    let (status, _, body) =
        sim.send(sim.put(&format!("/api/v2/contacts/{}/make_agent", me["id"]), &json!({}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["description"], "Validation failed");
    assert_eq!(body["errors"][0]["code"], "duplicate_value");
    assert_eq!(body["errors"][0]["additional_info"]["agent_id"], me["id"]);
    let (status, _, body) = sim.send(sim.put("/api/v2/contacts/999/make_agent", &json!({}))).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, Value::Null));
}

#[tokio::test]
async fn make_agent_validates_its_body_and_keeps_the_seat_limit() {
    let sim = spawn_sim(SimConfig { seats: 3, ..SimConfig::default() }).await; // admin + agent + one
    let id = deleted_agent(&sim, "seat@example.com", json!({"occasional": false})).await;
    let path = format!("/api/v2/contacts/{id}/make_agent");
    for (bad, field) in [
        (json!({"ticket_scope": 4}), "ticket_scope"),
        (json!({"role_ids": [0]}), "role_ids"),
        (json!({"group_ids": "1"}), "group_ids"),
        (json!({"occasional": "no"}), "occasional"),
    ] {
        let (status, _, body) = sim.send(sim.put(&path, &bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(body["errors"][0]["field"], field, "{body}");
    }
    let (status, _, _) = sim
        .send(sim.post(
            "/api/v2/agents",
            &json!({"email": "ft@example.com",
        "ticket_scope": 1, "name": "Full Time", "occasional": false}),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "the freed seat is taken");
    let (status, _, body) = sim.send(sim.put(&path, &json!({"occasional": false}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["code"], "incompatible_value");
    let (status, _, _) = sim.send(sim.put(&path, &json!({"occasional": true}))).await;
    assert_eq!(status, StatusCode::OK, "an occasional agent needs no seat");
}

#[tokio::test]
async fn an_agent_update_changes_the_fields_given_and_refuses_a_taken_email_with_409() {
    let sim = spawn_default().await;
    let (_, _, created) = sim.send(sim.post("/api/v2/agents", &agent("ann@example.com"))).await;
    let path = format!("/api/v2/agents/{}", created["id"]);
    let rename = json!({"name": "Ann Lee", "job_title": "Lead", "email": "Ann.Lee@example.com"});
    let (status, _, body) = sim.send(sim.put(&path, &rename)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["contact"]["name"], "Ann Lee");
    assert_eq!(
        (body["contact"]["job_title"].as_str(), body["id"].clone()),
        (Some("Lead"), created["id"].clone())
    );
    let (_, _, found) = sim.send(sim.get("/api/v2/agents?email=ann.lee%40example.com")).await;
    assert_eq!(found[0]["id"], created["id"], "the e-mail index follows the new e-mail");
    let (_, _, old) = sim.send(sim.get("/api/v2/agents?email=ann%40example.com")).await;
    assert_eq!(old, json!([]));
    // Another user's e-mail: 409 duplicate_value, nothing changed; its own e-mail again is fine.
    sim.send(sim.post("/api/v2/agents", &agent("bo@example.com"))).await;
    let (status, _, body) = sim.send(sim.put(&path, &json!({"email": "BO@example.com"}))).await;
    let expected = json!({"description":"Validation failed","errors":[{"field":"email",
        "message":"It should be a unique value","code":"duplicate_value"}]});
    assert_eq!((status, body), (StatusCode::CONFLICT, expected));
    let same = json!({"email": "ann.lee@example.com"});
    assert_eq!(sim.send(sim.put(&path, &same)).await.0, StatusCode::OK);
    let (status, _, body) = sim.send(sim.put(&path, &json!({"nick": "x"}))).await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_field"))
    );
    assert_eq!(sim.send(sim.put("/api/v2/agents/999999", &rename)).await.0, StatusCode::NOT_FOUND);
}
