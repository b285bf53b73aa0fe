//! Imports that real files survive (issue 23): CSV cells typed by the account's custom fields,
//! dependent fields, and bad values refused before any create call, end to end against the
//! simulator with `fdsync import` and `fdsync plan`.

use crate::helpers::*;
use fdsync_sim::{CustomField, FieldKind, SimConfig};
use serde_json::{Value, json};

/// An account with every custom field type and a three-level dependent field.
pub(crate) fn typed_account() -> SimConfig {
    SimConfig {
        custom_fields: vec![
            CustomField::of_kind("cf_count", FieldKind::Number),
            CustomField::of_kind("cf_ratio", FieldKind::Decimal),
            CustomField::of_kind("cf_urgent", FieldKind::Checkbox),
            CustomField::of_kind("cf_due", FieldKind::Date),
            CustomField::dropdown("cf_region", &["EMEA", "North America", "APAC"]),
            CustomField::text("cf_host"),
            CustomField::of_kind("cf_notes", FieldKind::Paragraph),
            CustomField::nested(
                "cf_category",
                json!({"Hardware": {"Laptop": ["Screen", "Battery"], "Printer": ["Toner"]}, "Software": {"Mail": []}}),
                &["cf_subcategory", "cf_item"],
            ),
        ],
        ..fast_sim()
    }
}

const HEADER: &str = "email,subject,description,priority,status,cf_count,cf_ratio,cf_urgent,cf_due,cf_region,cf_host,cf_notes,cf_category,cf_subcategory,cf_item\n";

fn custom_of(app: &TestApp, subject: &str) -> serde_json::Map<String, Value> {
    let tickets = app.sim.state().tickets;
    let t = tickets.iter().find(|t| t.subject == subject).unwrap_or_else(|| panic!("no ticket {subject}"));
    t.custom_fields.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spreadsheet_csv_is_sent_with_every_value_typed_by_its_field() {
    let app = spawn_app_with(typed_account(), "").await;
    let file = app.file(
        "typed.csv",
        &format!(
            "{HEADER}\
             x@example.com,Disk,full,1,2,42,0.5,true,2026-03-01,emea,db-07,two words,hardware,laptop,battery\n\
             y@example.com,CPU,hot,1,2,+7,2,N,,north america,042,true,Software,Mail,\n\
             z@example.com,Empty,none,1,2,42.0,,x,,,,,,,\n"
        ),
    );
    let out = app.import(&file, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let disk = custom_of(&app, "Disk");
    assert_eq!(disk["cf_count"], json!(42), "an integer, not \"42\"");
    assert_eq!(disk["cf_ratio"], json!(0.5));
    assert_eq!(disk["cf_urgent"], json!(true));
    assert_eq!(disk["cf_due"], json!("2026-03-01"));
    assert_eq!(disk["cf_region"], json!("EMEA"), "the choice as the account spells it");
    assert_eq!(disk["cf_host"], json!("db-07"));
    assert_eq!(disk["cf_notes"], json!("two words"));
    assert_eq!(
        [&disk["cf_category"], &disk["cf_subcategory"], &disk["cf_item"]],
        [&json!("Hardware"), &json!("Laptop"), &json!("Battery")]
    );
    let cpu = custom_of(&app, "CPU");
    assert_eq!(cpu["cf_count"], json!(7));
    assert_eq!(cpu["cf_ratio"], json!(2));
    assert_eq!(cpu["cf_urgent"], json!(false));
    assert_eq!(cpu["cf_region"], json!("North America"));
    assert_eq!(cpu["cf_host"], json!("042"), "text stays text, leading zero and all");
    assert_eq!(cpu["cf_notes"], json!("true"));
    assert_eq!(custom_of(&app, "Empty")["cf_urgent"], json!(true));
    assert_eq!(app.sim.counters().route_status("GET /api/v2/ticket_fields", 200), 1, "read once per run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_value_is_refused_before_any_create_naming_column_value_and_allowed_form() {
    let app = spawn_app_with(typed_account(), "").await;
    let file = app.file(
        "bad.csv",
        &format!(
            "{HEADER}\
             a@example.com,Good,ok,1,2,1,,,,,,,,,\n\
             b@example.com,Count,x,1,2,forty,,,,,,,,,\n\
             c@example.com,Ratio,x,1,2,,\"3,5\",,,,,,,,\n\
             d@example.com,Urgent,x,1,2,,,maybe,,,,,,,\n\
             e@example.com,Due,x,1,2,,,,31/02/2026,,,,,,\n\
             f@example.com,Region,x,1,2,,,,,Mars,,,,,\n\
             g@example.com,Item,x,1,2,,,,,,,,Hardware,Laptop,Toner\n\
             h@example.com,Orphan,x,1,2,,,,,,,,,Laptop,\n"
        ),
    );
    let out = app.import(&file, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let report = app.report("bad");
    let expect: [(&str, &[&str]); 7] = [
        ("2", &["cf_count", "'forty'", "a whole number"]),
        ("3", &["cf_ratio", "'3,5'", "a number such as 3.5"]),
        ("4", &["cf_urgent", "'maybe'", "true/false, yes/no, 1/0, y/n, or x/empty"]),
        ("5", &["cf_due", "'31/02/2026'", "YYYY-MM-DD"]),
        ("6", &["cf_region", "'Mars'", r#"one of "EMEA", "North America", "APAC""#]),
        ("7", &["cf_item", "'Toner'", r#"one of "Screen", "Battery""#]),
        ("8", &["cf_subcategory", "needs cf_category"]),
    ];
    for (row, words) in expect {
        let r = report.iter().find(|r| r[0] == row).expect("row in the report");
        assert_eq!((r[3].as_str(), r[6].as_str()), ("failed", "bad_value"), "{r:?}");
        for w in words {
            assert!(r[7].contains(w), "row {row} should say {w}: {}", r[7]);
        }
        assert!(r[5].is_empty(), "no HTTP status: nothing was sent for row {row}");
    }
    assert_eq!(app.sim.counters().route("POST /api/v2/tickets"), 1, "only the good row was sent");
    assert_eq!(app.sim.state().tickets.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbox_date_format_reads_other_date_orders() {
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "[[inbox]]\ndir = \"{}\"\naction = \"create_ticket\"\ndate_format = \"DD/MM/YYYY\"\n",
        dir.path().display()
    );
    let app = spawn_app_with(typed_account(), &extra).await;
    let file = dir.path().join("dates.csv");
    std::fs::write(&file, "email,subject,description,priority,status,cf_due\nx@example.com,D,d,1,2,5/3/2026\n").unwrap();
    let out = app.fdsync(&["plan", "--inbox", dir.path().to_str().unwrap(), file.to_str().unwrap()]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains(r#"custom_fields {"cf_due":"2026-03-05"}"#), "the plan shows the converted value: {}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_shows_each_converted_value_with_its_json_type() {
    let app = spawn_app_with(typed_account(), "").await;
    let file = app.file(
        "plan.csv",
        &format!("{HEADER}x@example.com,Disk,full,1,2,42,0.5,yes,2026-03-01,emea,db-07,,,,\n"),
    );
    let out = app.fdsync(&["plan", file.to_str().unwrap(), "--action", "create_ticket"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let want = r#"custom_fields {"cf_count":42,"cf_due":"2026-03-01","cf_host":"db-07","cf_ratio":0.5,"cf_region":"EMEA","cf_urgent":true}"#;
    assert!(stdout(&out).contains(want), "{}", stdout(&out));
    assert_eq!(app.sim.counters().route("POST /api/v2/tickets"), 0);
}
