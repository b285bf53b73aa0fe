//! The engine's decisions, as a table of tests: a scripted in-memory [`Api`] answers each call,
//! a real journal (in a temp folder) records, and each test reads the op's outcome back. Every
//! answer class for every action: applied, absent, unknown, unverifiable.

use super::*;
use crate::domain::{AgentRef, Email, NewAgent, NewTicket, Op, Outcome, TicketScope};
use crate::freshdesk::{Agent, Answer, Decode, Existing, Me, Reply, Role, SearchPage, Ticket, TicketState};
use crate::journal::{FileState, NewFile, NewOp, ReportLine};
use std::collections::VecDeque;
use std::sync::Mutex;
use time::OffsetDateTime;

/// Answers per method, in order; an exhausted script answers 503. Every call is recorded with
/// its arguments (`args`), so a test asserts which id was deleted, which tag and email searched.
#[derive(Default)]
struct Script {
    create_ticket: VecDeque<Answer<Ticket>>,
    create_agent: VecDeque<Answer<Agent>>,
    find_agent: VecDeque<Answer<Option<Agent>>>,
    get_agent: VecDeque<Answer<Agent>>,
    delete_agent: VecDeque<Answer<()>>,
    me: VecDeque<Answer<Me>>,
    list_tickets: VecDeque<Answer<Vec<Ticket>>>,
    roles: VecDeque<Answer<Vec<Role>>>,
    make_agent: VecDeque<Answer<Agent>>,
    update_agent: VecDeque<Answer<Agent>>,
    delete_ticket: VecDeque<Answer<()>>,
    get_ticket: VecDeque<Answer<TicketState>>,
    move_ticket: VecDeque<Answer<crate::freshdesk::HeldTicket>>,
    ticket_holder: VecDeque<Answer<crate::freshdesk::HeldTicket>>,
    search: VecDeque<Answer<SearchPage>>,
    groups: VecDeque<Answer<Vec<crate::freshdesk::Group>>>,
    products: VecDeque<Answer<Vec<crate::freshdesk::Product>>>,
    create_contact: VecDeque<Answer<crate::freshdesk::Contact>>,
    find_contact: VecDeque<Answer<Option<u64>>>,
}

#[derive(Default, Clone)]
struct FakeApi {
    script: Arc<Mutex<Script>>,
    /// Every call in order: the method and its arguments, rendered.
    calls: Arc<Mutex<Vec<(&'static str, String)>>>,
}

fn next<T>(q: &mut VecDeque<Answer<T>>) -> Reply<T> {
    Reply::bare(
        q.pop_front().unwrap_or(Answer::Transient { status: Some(503), reason: "script exhausted".into() }),
    )
}

impl FakeApi {
    fn with(f: impl FnOnce(&mut Script)) -> Self {
        let api = FakeApi::default();
        f(&mut api.script.lock().unwrap());
        api
    }
    fn record(&self, name: &'static str, args: String) {
        self.calls.lock().unwrap().push((name, args));
    }
    fn count(&self, name: &'static str) {
        self.record(name, String::new());
    }
    fn calls(&self, name: &str) -> u32 {
        self.calls.lock().unwrap().iter().filter(|(n, _)| *n == name).count() as u32
    }
    /// The arguments of each call to `name`, in order.
    fn args(&self, name: &str) -> Vec<String> {
        self.calls.lock().unwrap().iter().filter(|(n, _)| *n == name).map(|(_, a)| a.clone()).collect()
    }
}

impl Api for FakeApi {
    async fn create_ticket(&self, t: &NewTicket, tag: &str, _: &[crate::freshdesk::Upload]) -> Reply<Ticket> {
        let who = t.email.as_ref().map_or("", |e| e.as_str());
        self.record("create_ticket", format!("{who} {tag}"));
        next(&mut self.script.lock().unwrap().create_ticket)
    }
    async fn create_agent(&self, a: &NewAgent) -> Reply<Agent> {
        self.record("create_agent", a.email.as_str().to_string());
        next(&mut self.script.lock().unwrap().create_agent)
    }
    async fn find_agent_by_email(&self, email: &str) -> Reply<Option<Agent>> {
        self.record("find_agent", email.to_string());
        next(&mut self.script.lock().unwrap().find_agent)
    }
    async fn get_agent(&self, id: u64) -> Reply<Agent> {
        self.record("get_agent", id.to_string());
        next(&mut self.script.lock().unwrap().get_agent)
    }
    async fn delete_agent(&self, id: u64) -> Reply<()> {
        self.record("delete_agent", id.to_string());
        next(&mut self.script.lock().unwrap().delete_agent)
    }
    async fn update_agent(&self, id: u64, set: &crate::domain::AgentEdit) -> Reply<Agent> {
        self.record("update_agent", format!("{id} {}", crate::freshdesk::agents::update_body(set)));
        next(&mut self.script.lock().unwrap().update_agent)
    }
    async fn make_agent(&self, id: u64, r: &crate::domain::Restore) -> Reply<Agent> {
        self.record("make_agent", format!("{id} roles {:?} groups {:?}", r.role_ids, r.group_ids));
        next(&mut self.script.lock().unwrap().make_agent)
    }
    async fn delete_ticket(&self, id: u64) -> Reply<()> {
        self.record("delete_ticket", id.to_string());
        next(&mut self.script.lock().unwrap().delete_ticket)
    }
    async fn get_ticket(&self, id: u64) -> Reply<TicketState> {
        self.record("get_ticket", id.to_string());
        next(&mut self.script.lock().unwrap().get_ticket)
    }
    async fn move_ticket(
        &self,
        id: u64,
        to: &crate::freshdesk::Holder,
    ) -> Reply<crate::freshdesk::HeldTicket> {
        self.record("move_ticket", format!("{id} {:?} {:?}", to.responder_id, to.group_id));
        next(&mut self.script.lock().unwrap().move_ticket)
    }
    async fn ticket_holder(&self, id: u64) -> Reply<crate::freshdesk::HeldTicket> {
        self.record("ticket_holder", id.to_string());
        next(&mut self.script.lock().unwrap().ticket_holder)
    }
    async fn list_groups(&self, page: u32) -> Reply<Vec<crate::freshdesk::Group>> {
        self.record("list_groups", page.to_string());
        next(&mut self.script.lock().unwrap().groups)
    }
    async fn list_products(&self, page: u32) -> Reply<Vec<crate::freshdesk::Product>> {
        self.record("list_products", page.to_string());
        next(&mut self.script.lock().unwrap().products)
    }
    async fn me(&self) -> Reply<Me> {
        self.count("me");
        next(&mut self.script.lock().unwrap().me)
    }
    async fn list_agents(&self, _: u32, _: u32) -> Reply<Vec<Agent>> {
        self.count("list_agents");
        // An account of 1,000 agents (none of the tests' own), so the volume guard lets 100 pass.
        let listed = (0..1000).map(|i| listed(10_000 + i, &format!("listed{i}@example.com"))).collect();
        Reply::bare(Answer::Ok { status: 200, value: listed })
    }
    async fn search_tickets(&self, query: &str, page: u32) -> Reply<SearchPage> {
        self.record("search_tickets", format!("{query} page {page}"));
        let scripted = self.script.lock().unwrap().search.pop_front();
        Reply::bare(scripted.unwrap_or(Answer::Ok { status: 200, value: SearchPage::default() }))
    }
    async fn list_roles(&self) -> Reply<Vec<Role>> {
        self.count("list_roles");
        next(&mut self.script.lock().unwrap().roles)
    }
    async fn list_tickets_by_email(&self, email: &str, _: OffsetDateTime, page: u32) -> Reply<Vec<Ticket>> {
        self.record("list_tickets", format!("{email} page {page}"));
        next(&mut self.script.lock().unwrap().list_tickets)
    }
    async fn ticket_fields(&self) -> Reply<crate::freshdesk::TicketFields> {
        self.count("ticket_fields");
        Reply::bare(Answer::Ok { status: 200, value: Default::default() })
    }
    async fn list_tickets_by_requester(&self, id: u64, _: OffsetDateTime, page: u32) -> Reply<Vec<Ticket>> {
        self.record("list_tickets", format!("requester {id} page {page}"));
        next(&mut self.script.lock().unwrap().list_tickets)
    }
    async fn find_contact_by_phone(&self, phone: &str) -> Reply<Option<u64>> {
        self.record("find_contact", phone.to_string());
        Reply::bare(Answer::Ok { status: 200, value: None })
    }
    async fn find_contact_by_email(&self, email: &str) -> Reply<Option<u64>> {
        self.record("find_contact_by_email", email.to_string());
        next(&mut self.script.lock().unwrap().find_contact)
    }
    async fn create_contact(&self, c: &crate::domain::NewContact) -> Reply<crate::freshdesk::Contact> {
        self.record("create_contact", c.email.as_str().to_string());
        next(&mut self.script.lock().unwrap().create_contact)
    }
}

const ME: u64 = 1;

fn me_ok() -> Answer<Me> {
    Answer::Ok { status: 200, value: Me { id: ME, email: "owner@example.com".into() } }
}

fn html<T>() -> Answer<T> {
    Answer::Unverifiable { status: 200, why: "content type text/html, not JSON".into() }
}

/// An agent as `GET agents/{id}` shows it: with its roles (here the "Agent" role, 4) and groups.
fn agent(id: u64, email: &str) -> Agent {
    let body = format!(
        r#"{{"id": {id}, "contact": {{"email": "{email}"}}, "role_ids": [4], "group_ids": [],
                       "ticket_scope": 1, "occasional": false}}"#
    );
    Agent::decode(body.as_bytes()).unwrap()
}

/// An agent as a listing shows it: no `role_ids`.
fn listed(id: u64, email: &str) -> Agent {
    let body = format!(r#"{{"id": {id}, "contact": {{"email": "{email}"}}}}"#);
    Agent::decode(body.as_bytes()).unwrap()
}

fn roles_ok() -> Answer<Vec<Role>> {
    let roles = [(1, "Account Administrator"), (2, "Administrator"), (4, "Agent")];
    Answer::Ok { status: 200, value: roles.map(|(id, name)| Role { id, name: name.into() }).to_vec() }
}

/// An agent as `GET agents/{id}` shows it: a full record, a before-image an undo can restore.
fn full_agent(id: u64, email: &str) -> Agent {
    let body = format!(
        r#"{{"id": {id}, "occasional": false, "ticket_scope": 2, "role_ids": [11, 12], "group_ids": [21],
            "contact": {{"email": "{email}"}}}}"#
    );
    Agent::decode(body.as_bytes()).unwrap()
}

fn ticket_op() -> Op {
    Op::CreateTicket(NewTicket::example("jane@example.com"))
}

fn agent_op() -> Op {
    Op::CreateAgent(NewAgent {
        email: Email::parse("jo@example.com").unwrap(),
        ticket_scope: TicketScope::Global,
        name: "Jo".into(),
        job_title: None,
        occasional: None,
        role_ids: vec![],
        group_ids: vec![],
        language: None,
        time_zone: None,
    })
}

fn delete_op(email: &str) -> Op {
    Op::DeleteAgent { agent: AgentRef::Email(Email::parse(email).unwrap()), successor: None }
}

struct Run {
    line: ReportLine,
    file_state: FileState,
    file_error: Option<String>,
    snapshot: Option<String>,
}

async fn run_one(api: FakeApi, op: Op) -> Run {
    run_with(api, op, |_| {}).await
}

/// Runs one op through a fresh engine (request timeout 0, so lookups are due after the 1 s
/// margin; `tweak` adjusts the config) and reads back its report line.
async fn run_with(api: FakeApi, op: Op, tweak: impl FnOnce(&mut EngineConfig)) -> Run {
    run_sent(api, op, tweak, SendPolicy::default()).await
}

/// [`run_with`], on a send path with this policy (a tally, read-only).
async fn run_sent(api: FakeApi, op: Op, tweak: impl FnOnce(&mut EngineConfig), policy: SendPolicy) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    let file = NewFile {
        name: "t.csv".into(),
        path: "t.csv".into(),
        sha256: "ab".repeat(32),
        inbox: None,
        default_action: None,
    };
    let file_id = journal.insert_file(file, FileState::Processing, None).await.unwrap();
    journal.insert_ops(file_id, vec![NewOp::valid(1, &op, op.key(&"ab".repeat(32), 1))]).await.unwrap();
    let mut settings = crate::config::Settings::for_simulator("http://127.0.0.1:9", "k");
    settings.limits.requests_per_window = 60_000;
    let pacer = Pacer::new(pacer::PacerConfig::from_limits(&settings.limits));
    let mut cfg = EngineConfig {
        mode: Mode::OneShot,
        max_attempts: 2,
        request_timeout: Duration::ZERO,
        protected_emails: vec!["boss@example.com".into()],
        protected_roles: vec![],
        volume: guards::VolumeRules {
            max_deletes_per_file: 25,
            max_deletes_percent: 10.0,
            window: Duration::from_secs(86400),
        },
        account_connections: vec!["default".into()],
        max_tasks: 4,
        max_rate_limited: Duration::from_secs(60),
        successor_groups: vec![],
    };
    tweak(&mut cfg);
    let engine = Engine::build(journal.clone(), api, pacer, cfg, policy);
    let end = engine.run(RunUntil::Files(vec![file_id]), CancellationToken::new()).await.unwrap();
    assert_eq!(end, RunEnd::Finished);
    let line = journal.report_lines(file_id).await.unwrap().remove(0);
    let file = journal.file(file_id).await.unwrap().unwrap();
    let snapshot = journal.snapshot(file_id, 1).await.unwrap();
    Run { line, file_state: file.state, file_error: file.error, snapshot }
}

fn outcome(run: &Run) -> (Option<Outcome>, Option<u64>, Option<&str>) {
    (run.line.outcome, run.line.freshdesk_id, run.line.error_code.as_deref())
}

#[tokio::test]
async fn a_created_ticket_is_created_with_its_id() {
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.create_ticket
            .push_back(Answer::Ok { status: 201, value: Ticket { id: 42, tags: vec![], created_at: None } });
    });
    let run = run_one(api.clone(), ticket_op()).await;
    assert_eq!(outcome(&run), (Some(Outcome::Created), Some(42), None));
    let tag = crate::domain::idempotency_tag(&ticket_op().key(&"ab".repeat(32), 1));
    assert_eq!(api.args("create_ticket"), [format!("jane@example.com {tag}")], "sent with the row's tag");
}

#[tokio::test]
async fn every_answer_the_send_path_gets_is_told_to_the_tally() {
    struct Seen(Mutex<Vec<Option<u16>>>);
    impl Tally for Seen {
        fn answer(&self, http_status: Option<u16>) {
            self.0.lock().unwrap().push(http_status);
        }
    }
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.create_ticket
            .push_back(Answer::Ok { status: 201, value: Ticket { id: 42, tags: vec![], created_at: None } });
    });
    let seen = Arc::new(Seen(Mutex::new(Vec::new())));
    let policy = SendPolicy { tally: Some(seen.clone()), read_only: false };
    let run = run_sent(api, ticket_op(), |_| {}, policy).await;
    assert_eq!(outcome(&run), (Some(Outcome::Created), Some(42), None));
    assert_eq!(*seen.0.lock().unwrap(), [Some(200), Some(201)], "`me`, then the create");
}

#[tokio::test]
async fn an_unreadable_answer_to_a_create_is_reconciled_and_found_applied_never_sent_twice() {
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.create_ticket.push_back(html());
        s.list_tickets.push_back(Answer::Ok {
            status: 200,
            value: vec![Ticket {
                id: 77,
                tags: vec![crate::domain::idempotency_tag(&ticket_op().key(&"ab".repeat(32), 1))],
                created_at: None,
            }],
        });
    });
    let run = run_one(api.clone(), ticket_op()).await;
    assert_eq!(outcome(&run), (Some(Outcome::Created), Some(77), None));
    assert_eq!(api.calls("create_ticket"), 1);
    assert_eq!(api.args("list_tickets"), ["jane@example.com page 1"], "looked up by the row's requester");
}

#[tokio::test]
async fn an_unreadable_reconciliation_lookup_is_unknown_never_absent_and_nothing_is_resent() {
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.create_ticket.push_back(Answer::Uncertain { reason: "timed out".into() });
        s.list_tickets.extend([html(), html(), html()]);
    });
    let run = run_one(api.clone(), ticket_op()).await;
    assert_eq!(outcome(&run), (Some(Outcome::Failed), None, Some("unverifiable_answer")));
    assert!(run.line.message.as_deref().unwrap().contains("nothing was re-sent"), "{:?}", run.line.message);
    assert_eq!(api.calls("create_ticket"), 1, "an unknown is never taken as absent");
    assert_eq!(api.calls("list_tickets"), 2, "max_attempts lookups");
}

#[tokio::test]
async fn a_lookup_that_proves_the_change_absent_sends_it_again() {
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.create_ticket.push_back(Answer::Uncertain { reason: "reset".into() });
        s.list_tickets.push_back(Answer::Ok { status: 200, value: vec![] });
        s.create_ticket
            .push_back(Answer::Ok { status: 201, value: Ticket { id: 9, tags: vec![], created_at: None } });
    });
    let run = run_one(api.clone(), ticket_op()).await;
    assert_eq!(outcome(&run), (Some(Outcome::Created), Some(9), None));
    assert_eq!(api.calls("create_ticket"), 2);
}

#[tokio::test]
async fn a_gateway_error_after_a_create_is_uncertain_not_retried_blind() {
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.create_agent.push_back(Answer::Transient { status: Some(504), reason: "gateway".into() });
        s.find_agent.push_back(Answer::Ok { status: 200, value: Some(agent(5, "jo@example.com")) });
    });
    let run = run_one(api.clone(), agent_op()).await;
    assert_eq!(outcome(&run), (Some(Outcome::Created), Some(5), None));
    assert_eq!(api.args("create_agent"), ["jo@example.com"]);
    assert_eq!(api.args("find_agent"), ["jo@example.com"], "looked up by the row's email");
}

#[tokio::test]
async fn a_conflict_naming_an_agent_is_exists_and_one_naming_a_contact_fails() {
    let conflict = |existing| Answer::Conflict { existing: Some(existing), errors: vec![] };
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.create_agent.push_back(conflict(Existing::Agent(8)));
    });
    assert_eq!(outcome(&run_one(api, agent_op()).await), (Some(Outcome::Exists), Some(8), None));
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.create_agent.push_back(conflict(Existing::Contact(8)));
    });
    assert_eq!(run_one(api, agent_op()).await.line.outcome, Some(Outcome::Failed));
}

#[tokio::test]
async fn a_get_agent_reads_found_and_proven_absent_and_fails_after_unreadable_answers() {
    let email = Email::parse("jo@example.com").unwrap();
    let api = FakeApi::with(|s| {
        s.find_agent.push_back(Answer::Ok { status: 200, value: Some(agent(3, "jo@example.com")) })
    });
    assert_eq!(
        outcome(&run_one(api.clone(), Op::GetAgent { email: email.clone() }).await),
        (Some(Outcome::Found), Some(3), None)
    );
    assert_eq!(api.args("find_agent"), ["jo@example.com"]);
    let api = FakeApi::with(|s| s.find_agent.push_back(Answer::Ok { status: 200, value: None }));
    assert_eq!(
        run_one(api, Op::GetAgent { email: email.clone() }).await.line.outcome,
        Some(Outcome::NotFound)
    );
    let api = FakeApi::with(|s| s.find_agent.extend([html(), html()]));
    let run = run_one(api, Op::GetAgent { email }).await;
    assert_eq!(outcome(&run), (Some(Outcome::Failed), None, Some("unverifiable_answer")));
}

#[tokio::test]
async fn a_delete_waits_and_its_file_is_held_when_whose_key_this_is_cannot_be_read() {
    let api = FakeApi::with(|s| {
        s.me.extend([html(), html(), html(), html()]);
        s.find_agent.push_back(Answer::Ok { status: 200, value: Some(agent(ME, "owner@example.com")) });
        s.delete_agent.push_back(Answer::Ok { status: 204, value: () });
    });
    let run = run_one(api.clone(), delete_op("owner@example.com")).await;
    assert_eq!(run.file_state, FileState::Held);
    assert_eq!(run.line.outcome, None, "the row waits");
    assert_eq!(api.calls("delete_agent"), 0, "nothing is deleted while the key's owner is unknown");
    assert_eq!(
        api.calls("me"),
        3,
        "asked three times (retry::IDENTITY_READ), then left unknown for a minute"
    );
}

#[tokio::test]
async fn the_agent_who_owns_the_key_and_protected_emails_are_never_deleted() {
    for (row_email, found) in [
        ("owner@example.com", agent(ME, "owner@example.com")),
        ("x@example.com", agent(4, "boss@example.com")),
    ] {
        let api = FakeApi::with(|s| {
            s.me.push_back(me_ok());
            s.find_agent.push_back(Answer::Ok { status: 200, value: Some(found) });
        });
        let run = run_one(api.clone(), delete_op(row_email)).await;
        assert_eq!(outcome(&run), (Some(Outcome::Failed), None, Some("protected")), "{row_email}");
        assert_eq!(api.calls("delete_agent"), 0);
    }
}

#[tokio::test]
async fn a_delete_saves_the_full_record_first_and_a_404_is_already_deleted() {
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.find_agent.push_back(Answer::Ok { status: 200, value: Some(listed(6, "leaver@example.com")) });
        s.get_agent.push_back(Answer::Ok { status: 200, value: full_agent(6, "leaver@example.com") });
        s.delete_agent.push_back(Answer::Ok { status: 204, value: () });
    });
    let run = run_one(api.clone(), delete_op("leaver@example.com")).await;
    assert_eq!(outcome(&run), (Some(Outcome::Deleted), Some(6), None));
    assert_eq!(api.args("find_agent"), ["leaver@example.com"]);
    assert_eq!((api.args("get_agent"), api.args("delete_agent")), (vec!["6".into()], vec!["6".into()]));
    let snapshot = run.snapshot.as_deref().unwrap_or_default();
    assert!(snapshot.contains("leaver@example.com") && snapshot.contains("role_ids"), "{snapshot}");
    assert_eq!(api.calls("get_agent"), 1, "a listed agent is read in full before the delete");
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.find_agent.push_back(Answer::Ok { status: 200, value: Some(full_agent(6, "leaver@example.com")) });
        s.delete_agent.push_back(Answer::NotFound);
    });
    assert_eq!(
        run_one(api, delete_op("leaver@example.com")).await.line.outcome,
        Some(Outcome::AlreadyDeleted)
    );
}

#[tokio::test]
async fn an_unreadable_answer_to_a_delete_is_checked_by_id_before_anything_else() {
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.find_agent.push_back(Answer::Ok { status: 200, value: Some(full_agent(6, "leaver@example.com")) });
        s.delete_agent.push_back(Answer::TooLarge { status: 200, limit: 1024 });
        s.get_agent.push_back(Answer::NotFound);
    });
    let run = run_one(api.clone(), delete_op("leaver@example.com")).await;
    assert_eq!(outcome(&run), (Some(Outcome::Deleted), Some(6), None));
    assert_eq!(api.args("delete_agent"), ["6"]);
    assert_eq!(api.args("get_agent"), ["6"], "the deleted id is the one checked");
}

#[tokio::test]
async fn a_429_does_not_spend_an_attempt() {
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.create_ticket.extend([
            Answer::RateLimited { retry_after: Duration::from_millis(10) },
            Answer::RateLimited { retry_after: Duration::from_millis(10) },
            Answer::Ok { status: 201, value: Ticket { id: 1, tags: vec![], created_at: None } },
        ]);
    });
    let run = run_one(api.clone(), ticket_op()).await;
    assert_eq!(outcome(&run), (Some(Outcome::Created), Some(1), None), "max_attempts is 2, yet three tries");
}

#[tokio::test]
async fn a_lost_agent_create_found_by_email_is_created_or_exists_by_its_creation_time() {
    let old = r#"{"id": 12, "contact": {"email": "jo@example.com"}, "created_at": "2020-01-01T00:00:00Z"}"#;
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.create_agent.push_back(Answer::Uncertain { reason: "reset".into() });
        s.find_agent
            .push_back(Answer::Ok { status: 200, value: Some(Agent::decode(old.as_bytes()).unwrap()) });
    });
    let run = run_one(api.clone(), agent_op()).await;
    assert_eq!(outcome(&run), (Some(Outcome::Exists), Some(12), None), "created long before the send");
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.create_agent.push_back(Answer::Uncertain { reason: "reset".into() });
        s.find_agent.push_back(Answer::Ok { status: 200, value: Some(agent(13, "jo@example.com")) });
    });
    assert_eq!(outcome(&run_one(api, agent_op()).await), (Some(Outcome::Created), Some(13), None));
}

#[tokio::test]
async fn a_delete_by_id_of_an_unknown_agent_is_already_deleted_and_a_refusal_fails_the_row() {
    let by_id = Op::DeleteAgent { agent: AgentRef::Id(99), successor: None };
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.get_agent.push_back(Answer::NotFound);
    });
    let run = run_one(api.clone(), by_id.clone()).await;
    assert_eq!(run.line.outcome, Some(Outcome::AlreadyDeleted));
    assert_eq!(api.args("get_agent"), ["99"]);
    assert_eq!(api.calls("delete_agent"), 0);
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.get_agent.push_back(Answer::Ok { status: 200, value: full_agent(99, "x@example.com") });
        s.delete_agent.push_back(Answer::Forbidden { code: "access_denied".into(), message: "no".into() });
    });
    let run = run_one(api.clone(), by_id).await;
    assert_eq!(api.args("delete_agent"), ["99"], "the row's id, not another");
    assert_eq!(
        outcome(&run),
        (Some(Outcome::Failed), Some(99), Some("access_denied")),
        "the id the delete was for"
    );
}

#[tokio::test]
async fn a_listed_agent_is_read_by_id_first_and_an_administrator_is_never_deleted() {
    let protect = |cfg: &mut EngineConfig| cfg.protected_roles = vec!["administrator".into()];
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.find_agent.push_back(Answer::Ok { status: 200, value: Some(listed(6, "admin2@example.com")) });
        let full = r#"{"id": 6, "contact": {"email": "admin2@example.com"}, "role_ids": [4, 2]}"#;
        s.get_agent.push_back(Answer::Ok { status: 200, value: Agent::decode(full.as_bytes()).unwrap() });
        s.roles.push_back(roles_ok());
    });
    let run = run_with(api.clone(), delete_op("admin2@example.com"), protect).await;
    assert_eq!(outcome(&run), (Some(Outcome::Failed), None, Some("protected")));
    assert!(
        run.line.message.as_deref().is_some_and(|m| m.contains("'Administrator'")),
        "{:?}",
        run.line.message
    );
    assert_eq!((api.calls("get_agent"), api.calls("delete_agent")), (1, 0));
    // An agent without a protected role is deleted, and its full record is the snapshot.
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.find_agent.push_back(Answer::Ok { status: 200, value: Some(listed(7, "leaver@example.com")) });
        s.get_agent.push_back(Answer::Ok { status: 200, value: agent(7, "leaver@example.com") });
        s.roles.push_back(roles_ok());
        s.delete_agent.push_back(Answer::Ok { status: 204, value: () });
    });
    let run = run_with(api.clone(), delete_op("leaver@example.com"), protect).await;
    assert_eq!(outcome(&run), (Some(Outcome::Deleted), Some(7), None));
    assert_eq!((api.args("get_agent"), api.args("delete_agent")), (vec!["7".into()], vec!["7".into()]));
    assert!(run.snapshot.is_some_and(|s| s.contains("role_ids")), "the before-image has the roles");
}

#[tokio::test]
async fn an_unreadable_role_list_or_a_record_without_roles_holds_the_delete() {
    let protect = |cfg: &mut EngineConfig| cfg.protected_roles = vec!["Administrator".into()];
    let unreadable = Answer::Unverifiable { status: 200, why: "content type text/html, not JSON".into() };
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.find_agent.push_back(Answer::Ok { status: 200, value: Some(agent(6, "leaver@example.com")) });
        s.roles.push_back(unreadable);
        s.delete_agent.push_back(Answer::Ok { status: 204, value: () });
    });
    let run = run_with(api.clone(), delete_op("leaver@example.com"), protect).await;
    assert_eq!((run.file_state, run.line.outcome), (FileState::Held, None));
    assert!(run.file_error.as_deref().is_some_and(|e| e.contains("cannot read the account's roles")));
    assert_eq!(api.calls("delete_agent"), 0);
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.get_agent.push_back(Answer::Ok { status: 200, value: listed(8, "x@example.com") });
        s.roles.push_back(roles_ok());
    });
    let run =
        run_with(api.clone(), Op::DeleteAgent { agent: AgentRef::Id(8), successor: None }, protect).await;
    assert_eq!(run.file_state, FileState::Held, "a record that does not list roles proves nothing");
    assert_eq!(api.calls("delete_agent"), 0);
}

#[tokio::test]
async fn a_file_deleting_more_than_its_share_of_the_account_is_held_before_any_lookup() {
    // 1 delete of an account of 1,000 agents is 0.1%: over a 0.05% rule, held.
    let tiny = |cfg: &mut EngineConfig| cfg.volume.max_deletes_percent = 0.05;
    let api = FakeApi::with(|s| {
        s.me.push_back(me_ok());
        s.find_agent.push_back(Answer::Ok { status: 200, value: Some(agent(6, "leaver@example.com")) });
        s.delete_agent.push_back(Answer::Ok { status: 204, value: () });
    });
    let run = run_with(api.clone(), delete_op("leaver@example.com"), tiny).await;
    assert_eq!(run.file_state, FileState::Held);
    let why = run.file_error.unwrap_or_default();
    assert!(why.contains("of the account's 1000 agents") && why.contains("fdsync approve"), "{why}");
    assert_eq!((api.calls("find_agent"), api.calls("delete_agent")), (0, 0));
}
mod contact;
mod handover;
mod names;
mod undo;
mod update;
