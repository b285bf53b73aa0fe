//! A ticket's group, agent and product by name or e-mail (issue 23, item 2), end to end against
//! the simulator (groups Tier 1, Tier 2, Billing; products Acme Cloud, Acme Mobile, AcmeMobile;
//! agents agent0001..3@example.com): names are sent as ids, read once per run; a name that
//! matches none or several, or an e-mail that is not an agent's, fails its row before any create;
//! a number is sent as an id with no lookup.

use crate::helpers::*;
use fdsync_sim::SimConfig;

const HEADER: &str = "email,subject,description,priority,status,group_id,responder_id,product_id\n";
const BILLING: u64 = 43_000_090_003;
const TIER_2: u64 = 43_000_090_002;
const ACME_CLOUD: u64 = 43_000_095_001;

fn account() -> SimConfig {
    SimConfig { agents: 3, ..fast_sim() }
}

/// (group_id, responder_id, product_id) of the ticket with this subject, as the simulator got it.
fn held_by(app: &TestApp, subject: &str) -> (Option<u64>, Option<u64>, Option<u64>) {
    let tickets = app.sim.state().tickets;
    let t = tickets.iter().find(|t| t.subject == subject).unwrap_or_else(|| panic!("no ticket {subject}"));
    (t.group_id, t.responder_id, t.product_id)
}

fn agent_id(app: &TestApp, email: &str) -> u64 {
    let agents = app.sim.state().agents;
    agents.iter().find(|a| a.email.as_deref() == Some(email)).expect("a seeded agent").id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_and_emails_are_sent_as_ids_each_list_read_once() {
    let app = spawn_app_with(account(), "").await;
    let file = app.file(
        "named.csv",
        &format!(
            "{HEADER}\
             x@example.com,One,d,1,2,billing,Agent0001@Example.com,acme cloud\n\
             y@example.com,Two,d,1,2, tier2 ,agent0001@example.com,AcmeMobile\n"
        ),
    );
    let out = app.import(&file, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let agent = agent_id(&app, "agent0001@example.com");
    assert_eq!(held_by(&app, "One"), (Some(BILLING), Some(agent), Some(ACME_CLOUD)));
    assert_eq!(
        held_by(&app, "Two"),
        (Some(TIER_2), Some(agent), Some(43_000_095_003)),
        "exact spelling wins"
    );
    let c = app.sim.counters();
    assert_eq!(c.route("GET /api/v2/groups"), 1, "the groups are read once per run");
    assert_eq!(c.route("GET /api/v2/products"), 1, "the products are read once per run");
    assert_eq!(c.route("GET /api/v2/agents"), 1, "each e-mail is looked up once per run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_or_ambiguous_names_and_a_non_agent_fail_their_rows_before_any_create() {
    let app = spawn_app_with(account(), "").await;
    let file = app.file(
        "bad.csv",
        &format!(
            "{HEADER}\
             a@example.com,Good,d,1,2,Billing,,\n\
             b@example.com,Group,d,1,2,Tier 3,,\n\
             c@example.com,Product,d,1,2,,,acme mobile\n\
             d@example.com,Agent,d,1,2,,nobody@example.com,\n\
             e@example.com,Syntax,d,1,2,,not an email,\n"
        ),
    );
    let out = app.import(&file, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let report = app.report("bad");
    let expect: [(&str, &[&str]); 3] = [
        ("2", &["group_id", "'Tier 3'", r#"one of "Tier 1", "Tier 2", "Billing""#]),
        ("3", &["product_id", "'acme mobile'", r#"it matches "Acme Mobile" and "AcmeMobile" alike"#]),
        ("4", &["responder_id", "'nobody@example.com'", "no agent has this e-mail"]),
    ];
    for (row, words) in expect {
        let r = report.iter().find(|r| r[0] == row).expect("row in the report");
        assert_eq!((r[3].as_str(), r[6].as_str()), ("failed", "bad_value"), "{r:?}");
        for w in words {
            assert!(r[7].contains(w), "row {row} should say {w}: {}", r[7]);
        }
        assert!(r[5].is_empty(), "no HTTP status: nothing was sent for row {row}");
    }
    let syntax = report.iter().find(|r| r[0] == "5").expect("row 5 in the report");
    assert!(syntax[7].contains("responder_id") && syntax[7].contains("not a valid email"), "{syntax:?}");
    assert_eq!(app.sim.counters().route("POST /api/v2/tickets"), 1, "only the good row was sent");
    assert_eq!(app.sim.state().tickets.iter().map(|t| t.subject.as_str()).collect::<Vec<_>>(), ["Good"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numeric_ids_are_sent_as_they_are_with_no_lookup() {
    let app = spawn_app_with(account(), "").await;
    let file = app.file("ids.csv", &format!("{HEADER}x@example.com,Ids,d,1,2,{TIER_2},42,{ACME_CLOUD}\n"));
    let out = app.import(&file, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(held_by(&app, "Ids"), (Some(TIER_2), Some(42), Some(ACME_CLOUD)));
    let c = app.sim.counters();
    let lookups = ["GET /api/v2/groups", "GET /api/v2/products", "GET /api/v2/agents"].map(|r| c.route(r));
    assert_eq!(lookups, [0, 0, 0], "no groups, products or agents call for ids");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_shows_the_id_each_name_resolves_to() {
    let app = spawn_app_with(account(), "").await;
    let file = app.file("plan.csv", &format!("{HEADER}x@example.com,Plan,d,1,2,billing,,Acme Cloud\n"));
    let out = app.fdsync(&["plan", file.to_str().unwrap(), "--action", "create_ticket"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let want = format!("group_id 'billing' = {BILLING}; product_id 'Acme Cloud' = {ACME_CLOUD}");
    assert!(stdout(&out).contains(&want), "{}", stdout(&out));
    assert_eq!(app.sim.counters().route("POST /api/v2/tickets"), 0);
}
