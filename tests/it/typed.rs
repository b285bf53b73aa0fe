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
    std::fs::write(
        &file,
        "email,subject,description,priority,status,cf_due\nx@example.com,D,d,1,2,5/3/2026\n",
    )
    .unwrap();
    let out = app.fdsync(&["plan", "--inbox", dir.path().to_str().unwrap(), file.to_str().unwrap()]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains(r#"custom_fields {"cf_due":"2026-03-05"}"#),
        "the plan shows the converted value: {}",
        stdout(&out)
    );
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

/// An app whose `[[inbox]]` on `<tmp>/in` takes attachments from `<tmp>/files`; the CSV goes in
/// `in/` so `fdsync import` uses that inbox's attachments_dir.
async fn attaching_app(sim: SimConfig, extra: &str) -> (TestApp, std::path::PathBuf, std::path::PathBuf) {
    let root = tempfile::tempdir().unwrap().keep();
    let (inbox, files) = (root.join("in"), root.join("files"));
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::create_dir_all(&files).unwrap();
    let cfg = format!(
        "[[inbox]]\ndir = \"{}\"\naction = \"create_ticket\"\nattachments_dir = \"{}\"\n{extra}",
        inbox.display(),
        files.display()
    );
    (spawn_app_with(sim, &cfg).await, inbox, files)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_are_sent_as_multipart_with_typed_custom_fields_and_their_bytes_arrive() {
    let (app, inbox, files) = attaching_app(typed_account(), "").await;
    let log: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    std::fs::write(files.join("disk.log"), &log).unwrap();
    std::fs::create_dir(files.join("shots")).unwrap();
    std::fs::write(files.join("shots/screen 1.png"), b"\x89PNG\r\n\x1a\nfake").unwrap();
    let csv = inbox.join("nightly.csv");
    std::fs::write(
        &csv,
        "email,subject,description,priority,status,cf_count,cf_urgent,tags,attachments\n\
         x@example.com,Disk,full,1,2,42,yes,ops,disk.log; shots/screen 1.png\n\
         y@example.com,Plain,none,1,2,7,no,,\n",
    )
    .unwrap();
    let plan = app.fdsync(&["plan", csv.to_str().unwrap()]).await;
    let plan_out = stdout(&plan);
    assert!(
        plan_out.contains("attachments disk.log (800000 bytes), shots/screen 1.png (12 bytes)"),
        "{plan_out}"
    );
    let out = app.import(&csv, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let tickets = app.sim.state().tickets;
    let disk = tickets.iter().find(|t| t.subject == "Disk").expect("created");
    assert_eq!(disk.custom_fields["cf_count"], json!(42), "a typed value survives the form");
    assert_eq!(disk.custom_fields["cf_urgent"], json!(true));
    assert!(
        disk.tags.iter().any(|t| t == "ops") && disk.tags.iter().any(|t| t.starts_with("fds-")),
        "{:?}",
        disk.tags
    );
    let names: Vec<&str> = disk.attachments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["disk.log", "screen 1.png"]);
    assert_eq!(disk.attachments[0].bytes, log, "the bytes arrive intact");
    assert_eq!(disk.attachments[1].bytes, b"\x89PNG\r\n\x1a\nfake");
    assert!(tickets.iter().find(|t| t.subject == "Plain").unwrap().attachments.is_empty());
    // The journal holds each file's hash, taken when the row was journaled.
    let payload: String = app
        .journal()
        .query_row("SELECT payload FROM ops WHERE row = 1", [], |r| r.get(0))
        .expect("row 1 journaled");
    let sha = "sha256";
    assert!(payload.contains(sha) && payload.contains("disk.log"), "{payload}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_outside_the_folder_too_large_or_changed_are_refused_before_any_create() {
    let (app, inbox, files) = attaching_app(fast_sim(), "").await;
    std::fs::write(inbox.parent().unwrap().join("secret.txt"), b"x").unwrap();
    std::os::unix::fs::symlink(inbox.parent().unwrap().join("secret.txt"), files.join("link.txt")).unwrap();
    std::fs::write(files.join("big.bin"), vec![7u8; 21 * 1024 * 1024]).unwrap();
    std::fs::write(files.join("ok.txt"), b"fine").unwrap();
    let csv = inbox.join("bad.csv");
    std::fs::write(
        &csv,
        "email,subject,description,priority,status,attachments\n\
         a@example.com,Up,x,1,2,../etc/passwd\n\
         b@example.com,Abs,x,1,2,/etc/passwd\n\
         c@example.com,Link,x,1,2,link.txt\n\
         d@example.com,Big,x,1,2,big.bin\n\
         e@example.com,Gone,x,1,2,missing.txt\n\
         f@example.com,Good,x,1,2,ok.txt\n",
    )
    .unwrap();
    let out = app.import(&csv, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let report = app.report("bad");
    let says = |row: &str, words: &[&str]| {
        let r = report.iter().find(|r| r[0] == row).expect("row");
        assert_eq!(r[3], "failed", "{r:?}");
        for w in words {
            assert!(r[7].contains(w), "row {row} should say {w}: {r:?}");
        }
    };
    says("1", &["attachments", "'../etc/passwd'", "no '..'"]);
    says("2", &["attachments", "'/etc/passwd'", "no absolute path"]);
    says("3", &["attachments", "'link.txt'", "outside attachments_dir"]);
    says("4", &["attachments", "'big.bin'", "20 MB"]);
    says("5", &["attachments", "'missing.txt'", "not a file in attachments_dir"]);
    assert_eq!(app.sim.counters().route("POST /api/v2/tickets"), 1, "only the good row was sent");
    let good = app.sim.state().tickets;
    assert_eq!(good[0].attachments[0].bytes, b"fine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_changed_between_journaling_and_sending_fails_its_row() {
    // The first run is killed while row 1's create is in flight (row 2 is journaled, not sent);
    // row 2's file is then changed, and the rerun must not send it.
    let sim = SimConfig { latency_ms: Some((1500, 1500)), ..typed_account() };
    let (app, inbox, files) = attaching_app(sim, "[limits]\nconcurrency = 1\n").await;
    std::fs::write(files.join("a.txt"), b"first").unwrap();
    std::fs::write(files.join("b.txt"), b"second").unwrap();
    let csv = inbox.join("t.csv");
    std::fs::write(
        &csv,
        "email,subject,description,priority,status,attachments\na@example.com,A,x,1,2,a.txt\nb@example.com,B,x,1,2,b.txt\n",
    )
    .unwrap();
    let mut child =
        app.command(&["import", csv.to_str().unwrap(), "--action", "create_ticket"]).spawn().unwrap();
    let posted = wait_until(std::time::Duration::from_secs(20), || {
        app.sim.request_log().iter().any(|r| r == "POST /api/v2/tickets")
    })
    .await;
    assert!(posted, "the first create was sent");
    child.start_kill().expect("kill -9");
    child.wait().await.unwrap();
    std::fs::write(files.join("b.txt"), b"tampered").unwrap();
    let out = app.import(&csv, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let report = app.report("t");
    let b = report.iter().find(|r| r[0] == "2").unwrap();
    assert_eq!((b[3].as_str(), b[6].as_str()), ("failed", "attachment_changed"), "{b:?}");
    assert!(b[7].contains("'b.txt' changed"), "{b:?}");
    assert!(app.sim.state().tickets.iter().all(|t| t.subject != "B"), "the changed file was not sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_multipart_create_then_a_rerun_leaves_one_ticket_with_its_files() {
    let sim = SimConfig { latency_ms: Some((1200, 1200)), ..fast_sim() };
    let (app, inbox, files) = attaching_app(sim, "[limits]\nconcurrency = 1\n").await;
    std::fs::write(files.join("trace.log"), vec![b'z'; 300_000]).unwrap();
    let csv = inbox.join("night.csv");
    std::fs::write(
        &csv,
        "email,subject,description,priority,status,attachments\nk@example.com,Killed,x,1,2,trace.log\n",
    )
    .unwrap();
    let spawned = now_ms();
    let mut child =
        app.command(&["import", csv.to_str().unwrap(), "--action", "create_ticket"]).spawn().unwrap();
    let posted = wait_until(std::time::Duration::from_secs(20), || {
        app.sim.request_log().iter().any(|r| r == "POST /api/v2/tickets")
    })
    .await;
    assert!(posted, "the create was sent");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(app.sending_since(spawned) > 0, "the kill lands while the create is `sending`");
    child.start_kill().expect("kill -9");
    child.wait().await.unwrap();
    // The simulator finishes the create the killed process never heard about.
    let landed = wait_until(std::time::Duration::from_secs(5), || !app.sim.state().tickets.is_empty()).await;
    let out = app.import(&csv, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let tickets = app.sim.state().tickets;
    assert_eq!(
        tickets.len(),
        1,
        "one ticket (the lost answer {} landed)",
        if landed { "had" } else { "had not" }
    );
    assert_eq!(tickets[0].attachments.len(), 1);
    assert_eq!(tickets[0].attachments[0].bytes.len(), 300_000);
    assert_eq!(app.report("night")[0][3], "created");
}

/// Rows naming their requester every way Freshdesk accepts: e-mail, phone with a name, a
/// contact id, a unique external id, a Twitter and a Facebook id.
fn identities_csv(requester_id: u64) -> String {
    format!(
        "subject,description,priority,status,email,phone,name,requester_id,unique_external_id,twitter_id,facebook_id\n\
         By email,d,1,2,mail@example.com,,,,,,\n\
         By phone,d,1,2,,+4930123456,Pat Phone,,,,\n\
         By id,d,1,2,,,,{requester_id},,,\n\
         By external id,d,1,2,,,Ext Person,,EMP-0042,,\n\
         By twitter,d,1,2,,,,,,@someone,\n\
         By facebook,d,1,2,,,,,,,fb.someone\n"
    )
}

async fn known_contact(app: &TestApp) -> u64 {
    app.create_ticket_directly("known@example.com", "earlier").await;
    let contacts = app.sim.state().contacts;
    contacts.iter().find(|c| c.email.as_deref() == Some("known@example.com")).expect("contact").id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_requester_identity_creates_its_ticket_and_a_phone_without_a_name_is_refused() {
    let sim = SimConfig { unique_contact_identifier: true, ..fast_sim() };
    let app = spawn_app_with(sim, "").await;
    let id = known_contact(&app).await;
    let mut csv = identities_csv(id);
    csv.push_str("No name,d,1,2,,+4930999,,,,,\nNobody,d,1,2,,,,,,,\n");
    let file = app.file("who.csv", &csv);
    let out = app.import(&file, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let report = app.report("who");
    let created: Vec<&str> = report.iter().filter(|r| r[3] == "created").map(|r| r[0].as_str()).collect();
    assert_eq!(created, ["1", "2", "3", "4", "5", "6"], "{report:?}");
    assert!(report[6][7].contains("name: is required with phone"), "{:?}", report[6]);
    assert!(report[7][7].contains("give one of email, phone (with name), requester_id"), "{:?}", report[7]);
    let state = app.sim.state();
    let ticket = |s: &str| state.tickets.iter().find(|t| t.subject == s).expect(s).requester_id;
    assert_eq!(ticket("By id"), id);
    let phone =
        state.contacts.iter().find(|c| c.phone.as_deref() == Some("+4930123456")).expect("phone contact");
    assert_eq!((ticket("By phone"), phone.name.as_str()), (phone.id, "Pat Phone"));
    assert_ne!(ticket("By external id"), ticket("By email"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_found_again_whichever_identity_the_row_used() {
    // Every create is applied, then its answer is lost (a 502/504 from a gateway): each row is
    // found by its tag through its own identity, never sent twice.
    let sim = SimConfig { unique_contact_identifier: true, ..fast_sim() };
    let app = spawn_app_with(sim, "").await;
    let id = known_contact(&app).await;
    app.sim.update(|c| c.fail_after_rate = 1.0);
    let file = app.file("lost.csv", &identities_csv(id));
    let out = app.import(&file, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let report = app.report("lost");
    assert!(report.iter().all(|r| r[3] == "created" && r[7].contains("recovered")), "{report:?}");
    let counts = subject_counts(&app);
    for s in ["By email", "By phone", "By id", "By external id", "By twitter", "By facebook"] {
        assert_eq!(counts.get(s), Some(&1), "{s}: {counts:?}");
    }
    assert!(
        app.sim.counters().route("GET /api/v2/contacts") >= 1,
        "the phone row was looked up by its contact"
    );
    assert!(
        app.sim.counters().route("GET /api/v2/search/tickets") >= 2,
        "twitter and facebook rows by tag search"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_type_is_checked_against_the_accounts_types_and_tags_split_on_commas_or_semicolons() {
    let app = spawn_app().await;
    let file = app.file(
        "types.csv",
        "email,subject,description,priority,status,type,tags,cc_emails\n\
         a@example.com,Typed,x,1,2,feature  request,\"a,b;c\",\"x@example.com;y@example.com\"\n\
         b@example.com,Bug,x,1,2,Bug,,\n",
    );
    let out = app.import(&file, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let report = app.report("types");
    assert_eq!((report[1][3].as_str(), report[1][6].as_str()), ("failed", "bad_value"), "{report:?}");
    assert!(
        report[1][7].contains(r#"'Bug' is not a ticket type of this account: type takes one of "Question""#),
        "{report:?}"
    );
    let tickets = app.sim.state().tickets;
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].kind.as_deref(), Some("Feature Request"));
    assert!(["a", "b", "c"].iter().all(|t| tickets[0].tags.iter().any(|x| x == t)), "{:?}", tickets[0].tags);
    assert_eq!(tickets[0].cc_emails, ["x@example.com", "y@example.com"]);
}
