//! `Client::ticket_fields` against the simulator, and `TicketFields::check` agreeing with the
//! simulator's own create validation: what the check predicts for a row is what a POST answers.

use crate::helpers::spawn_sim;
use fdsync::config::Settings;
use fdsync::domain::NewTicket;
use fdsync::freshdesk::ticket_fields::FieldKind;
use fdsync::freshdesk::{Answer, Client, TicketFields};
use fdsync_sim::{CustomField, FieldKind as SimKind, SimConfig};
use serde_json::json;

fn account() -> SimConfig {
    SimConfig {
        custom_fields: vec![
            CustomField::text("cf_host"),
            CustomField::dropdown("cf_region", &["EMEA", "AMER", "APAC"]).required(),
            CustomField::of_kind("cf_seats", SimKind::Number),
        ],
        ..SimConfig::default()
    }
}

fn row(n: usize, custom: serde_json::Value) -> NewTicket {
    let mut t: NewTicket = serde_json::from_value(json!({
        "email": format!("row{n}@example.com"), "subject": "s", "description": "d", "priority": 1, "status": 2
    }))
    .expect("a ticket");
    t.custom_fields = serde_json::from_value(custom).expect("custom fields");
    t
}

async fn fields_of(client: &Client) -> TicketFields {
    match client.ticket_fields().await.answer {
        Answer::Ok { value, .. } => value,
        other => panic!("ticket fields not read: {other:?}"),
    }
}

#[tokio::test]
async fn the_client_reads_the_simulators_ticket_fields() {
    let sim = spawn_sim(account(), std::future::pending()).await;
    let client = Client::new(&Settings::for_simulator(&sim.base_url(), &sim.api_key())).unwrap();
    let fields = fields_of(&client).await;
    let names: Vec<&str> = fields.custom.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["cf_host", "cf_region", "cf_seats"]);
    let region = fields.get("cf_region").unwrap();
    assert!(region.required_for_agents);
    assert_eq!(region.kind, FieldKind::Dropdown(vec!["EMEA".into(), "AMER".into(), "APAC".into()]));
    assert_eq!(fields.get("cf_seats").unwrap().kind, FieldKind::Number);
    assert_eq!(sim.counters().route_status("GET /api/v2/ticket_fields", 200), 1);
}

#[tokio::test]
async fn what_the_check_predicts_is_what_the_simulator_answers_on_create() {
    let sim = spawn_sim(account(), std::future::pending()).await;
    let client = Client::new(&Settings::for_simulator(&sim.base_url(), &sim.api_key())).unwrap();
    let fields = fields_of(&client).await;
    let rows = [
        json!({"cf_region": "EMEA", "cf_host": "db-07", "cf_seats": 5}),
        json!({"cf_region": "Mars"}),
        json!({"cf_host": "db-07"}),
        json!({"cf_region": "APAC", "cf_seats": "5"}),
        json!({"cf_region": "AMER", "cf_nope": 1}),
    ];
    for (n, custom) in rows.into_iter().enumerate() {
        let t = row(n, custom.clone());
        let predicted = fields.check(&t);
        let answer = client.create_ticket(&t, &format!("fds-row{n}")).await.answer;
        match answer {
            Answer::Ok { .. } => {
                assert!(predicted.is_empty(), "row {n} {custom}: created, predicted {predicted:?}")
            }
            Answer::Invalid { status: 400, errors, .. } => {
                assert_eq!(predicted.len(), errors.len(), "row {n} {custom}: {predicted:?} vs {errors:?}");
                for e in &errors {
                    let field =
                        e.nested_field.as_deref().and_then(|f| f.strip_prefix("custom_fields.")).unwrap();
                    assert!(
                        predicted.iter().any(|p| p.contains(field)),
                        "row {n}: {field} not predicted: {predicted:?}"
                    );
                }
            }
            other => panic!("row {n}: unexpected answer {other:?}"),
        }
    }
    assert_eq!(sim.state().tickets.len(), 1, "only the good row was created");
}
