//! The Freshdesk client, OAuth and `check` in-process against the real simulator on 127.0.0.1:0.

use crate::helpers::spawn_sim;
use fdsync::check::{Level, check};
use fdsync::config::{AuthSettings, Settings};
use fdsync::domain::{Email, NewAgent, NewTicket, Priority, Status, TicketScope, idempotency_tag};
use fdsync::freshdesk::{self, Answer, Client, Reply, oauth};
use fdsync_sim::{BasicUser, SimConfig, SimHandle};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

struct Env {
    sim: SimHandle,
    dir: tempfile::TempDir,
}

async fn start(config: SimConfig) -> Env {
    let sim = spawn_sim(config, std::future::pending()).await;
    Env { sim, dir: tempfile::tempdir().unwrap() }
}

impl Env {
    /// Settings pointing at the simulator; `auth` is the `[auth]` body.
    fn settings(&self, auth: &str) -> Settings {
        let mut settings = Settings::for_simulator(&self.sim.base_url(), &self.sim.api_key());
        settings.freshdesk.request_timeout = Duration::from_secs(5);
        settings.state_dir = self.state_dir();
        let table: toml::Table = format!("[auth]\n{auth}").parse().unwrap();
        settings.auth = AuthSettings::resolve(table["auth"].clone().try_into().unwrap(), None).unwrap();
        settings
    }

    fn state_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("state")
    }

    fn client(&self, auth: &str) -> Client {
        Client::new(&self.settings(auth)).unwrap()
    }

    fn admin(&self) -> Client {
        self.client(&format!("api_key = \"{}\"", self.sim.api_key()))
    }

    fn oauth(&self, grant: &str, extra: &str) -> String {
        let base = self.sim.base_url();
        format!(
            "method = \"oauth2\"\n[auth.oauth2]\nclient_id = \"sim-client\"\nclient_secret = \"sim-secret\"\n\
             token_url = \"{base}/oauth/token\"\nauthorize_url = \"{base}/oauth/authorize\"\n\
             grant_type = \"{grant}\"\n{extra}"
        )
    }

    fn token_grants(&self) -> Vec<String> {
        let c = self.sim.counters();
        c.token_requests.iter().map(|r| r.param("grant_type").unwrap_or("").to_string()).collect()
    }
}

fn ticket(email: &str) -> NewTicket {
    NewTicket {
        email: Some(Email::parse(email).unwrap()),
        phone: None,
        requester_id: None,
        unique_external_id: None,
        twitter_id: None,
        facebook_id: None,
        subject: "Disk full on db-07".into(),
        description: "<p>98%</p>".into(),
        priority: Priority::High,
        status: Status::Open,
        name: None,
        tags: vec!["monitoring".into()],
        ticket_type: None,
        group_id: None,
        responder_id: None,
        product_id: None,
        source: None,
        cc_emails: vec![],
        custom_fields: BTreeMap::from([("cf_host".to_string(), serde_json::json!("db-07"))]),
        external_id: Some("MON-1".into()),
        attachments: vec![],
        date_format: None,
    }
}

fn agent(email: &str) -> NewAgent {
    NewAgent {
        email: Email::parse(email).unwrap(),
        ticket_scope: TicketScope::Global,
        name: "Jo Doe".into(),
        job_title: None,
        occasional: Some(true),
        role_ids: vec![],
        group_ids: vec![],
        language: None,
        time_zone: None,
    }
}

fn value<T: std::fmt::Debug>(reply: Reply<T>) -> T {
    match reply.answer {
        Answer::Ok { value, .. } => value,
        other => panic!("not a success: {other:?}"),
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn a_ticket_is_created_with_its_tag_custom_fields_and_rate_headers() {
    let env = start(SimConfig::default()).await;
    let tag = idempotency_tag("ext:MON-1");
    let reply = env.admin().create_ticket(&ticket("jane@example.com"), &tag).await;
    assert_eq!(reply.answer.http_status(), Some(201), "{:?}", reply.answer);
    assert_eq!(reply.rate.total, Some(400));
    assert!(reply.rate.remaining.is_some());
    let t = value(reply);
    assert!(t.has_tag(&tag) && t.has_tag("monitoring"));
    let req = env.sim.counters().last_request.unwrap();
    assert_eq!(req.header("accept"), Some("application/json"));
    let version = format!("fdsync/{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(req.header("user-agent"), Some(version.as_str()), "the User-Agent the server saw");
    assert!(req.header("content-type").unwrap().starts_with("application/json"));
}

#[tokio::test]
async fn tickets_are_listed_by_requester_email() {
    let env = start(SimConfig::default()).await;
    let client = env.admin();
    for tag in ["fds-a", "fds-b"] {
        client.create_ticket(&ticket("list@example.com"), tag).await;
    }
    let since = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let reply = client.list_tickets_by_email("list@example.com", since, 1).await;
    assert!(!reply.next_page);
    let found = value(reply);
    assert_eq!(found.len(), 2);
    assert!(found.iter().any(|t| t.has_tag("FDS-A")));
    let query = env.sim.counters().last_request.unwrap().query.unwrap();
    assert!(query.contains("per_page=100") && query.contains("order_by=created_at"), "{query}");
}

#[tokio::test]
async fn agents_are_created_found_fetched_deleted_and_then_not_found() {
    let env = start(SimConfig::default()).await;
    let client = env.admin();
    assert_eq!(value(client.find_agent_by_email("jo@example.com").await), None);

    let created = client.create_agent(&agent("jo@example.com")).await;
    assert_eq!(created.answer.http_status(), Some(201), "{:?}", created.answer);
    let id = value(created).id;

    match client.create_agent(&agent("JO@example.com")).await.answer {
        Answer::Conflict { existing, .. } => assert_eq!(existing, Some(freshdesk::Existing::Agent(id))),
        other => panic!("{other:?}"),
    }
    let found = value(client.find_agent_by_email("jo@example.com").await).expect("found");
    assert_eq!(found.email.as_deref(), Some("jo@example.com"));
    assert_eq!(value(client.get_agent(id).await).id, id);

    let deleted = client.delete_agent(id).await;
    assert_eq!(deleted.answer, Answer::Ok { status: 204, value: () });
    assert_eq!(client.delete_agent(id).await.answer, Answer::NotFound);
    assert_eq!(client.get_agent(id).await.answer, Answer::NotFound);
}

#[tokio::test]
async fn me_names_the_key_owner_and_agent_pages_say_when_more_follow() {
    let env = start(SimConfig { agents: 3, ..SimConfig::default() }).await;
    let client = env.admin();
    let me = value(client.me().await);
    assert_eq!(me.email, "admin@example.com");
    let first = client.list_agents(1, 2).await;
    assert!(first.next_page);
    assert_eq!(value(first).len(), 2);
    let last = client.list_agents(3, 2).await;
    assert!(!last.next_page);
}

#[tokio::test]
async fn a_wrong_key_is_an_auth_answer_and_an_agent_key_is_forbidden_on_admin_routes() {
    let env = start(SimConfig::default()).await;
    match env.client("api_key = \"wrong-key\"").me().await.answer {
        Answer::Auth { status: 401, code, .. } => assert_eq!(code, "invalid_credentials"),
        other => panic!("{other:?}"),
    }
    let agent_client = env.client("api_key = \"sim-agent-key\"");
    assert!(agent_client.me().await.answer.is_ok());
    assert!(matches!(agent_client.list_agents(1, 1).await.answer, Answer::Forbidden { .. }));
}

#[tokio::test]
async fn an_exhausted_quota_gives_rate_limited_with_retry_after() {
    let env = start(SimConfig { rate: Some(3), ..SimConfig::default() }).await;
    let client = env.admin();
    for _ in 0..3 {
        assert!(client.me().await.answer.is_ok());
    }
    match client.me().await.answer {
        Answer::RateLimited { retry_after } => assert!(retry_after >= Duration::from_secs(1)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn server_faults_are_transient_and_dropped_answers_are_uncertain_but_applied() {
    let env = start(SimConfig { fail_rate: 1.0, ..SimConfig::default() }).await;
    let reply = env.admin().create_agent(&agent("f@example.com")).await;
    assert!(matches!(reply.answer, Answer::Transient { status: Some(502 | 503), .. }), "{:?}", reply.answer);
    assert!(env.sim.state().agents.iter().all(|a| a.email.as_deref() != Some("f@example.com")));

    env.sim.update(|c| {
        c.fail_rate = 0.0;
        c.drop_rate = 1.0;
    });
    let reply = env.admin().create_agent(&agent("d@example.com")).await;
    assert!(matches!(reply.answer, Answer::Uncertain { .. }), "{:?}", reply.answer);
    assert!(env.sim.state().agents.iter().any(|a| a.email.as_deref() == Some("d@example.com")));
}

#[tokio::test]
async fn a_connection_reset_after_sending_is_uncertain_because_the_client_cannot_tell() {
    let env = start(SimConfig { reset_rate: 1.0, ..SimConfig::default() }).await;
    let reply = env.admin().create_agent(&agent("r@example.com")).await;
    assert!(matches!(reply.answer, Answer::Uncertain { .. }), "{:?}", reply.answer);
}

#[tokio::test]
async fn a_refused_oauth_client_is_an_auth_answer_without_the_secret() {
    let env = start(SimConfig::default()).await;
    let auth = env.oauth("client_credentials", "").replace("sim-secret", "wrong-secret-value");
    match env.client(&auth).me().await.answer {
        Answer::Auth { code, message, .. } => {
            assert_eq!(code, "invalid_client");
            assert!(!message.contains("wrong-secret-value"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // The failed token request is not repeated for the same call.
    assert_eq!(env.token_grants().len(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_transient_and_no_error_shows_the_key() {
    let env = start(SimConfig::default()).await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut settings = Settings::for_simulator(&format!("http://127.0.0.1:{port}"), "supersecretkey");
    settings.state_dir = env.state_dir();
    let client = Client::new(&settings).unwrap();
    let reply = client.find_agent_by_email("private@example.com").await;
    match &reply.answer {
        Answer::Transient { status: None, reason } => {
            assert!(
                !reason.contains("supersecretkey") && !reason.contains("private@example.com"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{client:?} {reply:?}").contains("supersecretkey"));
}

#[tokio::test]
async fn a_timeout_after_sending_is_uncertain() {
    let env = start(SimConfig { latency_ms: Some((3000, 3000)), ..SimConfig::default() }).await;
    let mut settings = Settings::for_simulator(&env.sim.base_url(), "sim-api-key");
    settings.freshdesk.request_timeout = Duration::from_secs(1);
    let client = Client::new(&settings).unwrap();
    let reply = client.create_agent(&agent("slow@example.com")).await;
    match reply.answer {
        Answer::Uncertain { reason } => assert!(reason.contains("timed out"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_custom_header_and_prefix_reach_the_server_as_configured() {
    let env = start(SimConfig { auth_header: "x-api-key".into(), ..SimConfig::default() }).await;
    for (prefix, sent) in [("None", "sim-api-key"), ("Token", "Token sim-api-key")] {
        let client =
            env.client(&format!("api_key = \"sim-api-key\"\nheader = \"X-Api-Key\"\nprefix = \"{prefix}\""));
        assert!(client.me().await.answer.is_ok(), "{prefix}");
        let req = env.sim.counters().last_request.unwrap();
        assert_eq!(req.header("x-api-key"), Some(sent));
        assert_eq!(req.header("authorization"), None);
    }
}

#[tokio::test]
async fn basic_auth_with_a_password_is_accepted_where_the_server_allows_it() {
    let users = vec![BasicUser { email: "ops@example.com".into(), password: "pw".into() }];
    let env = start(SimConfig { basic_users: users, ..SimConfig::default() }).await;
    let ok = env.client("method = \"basic\"\nusername = \"ops@example.com\"\npassword = \"pw\"");
    assert!(ok.me().await.answer.is_ok());
    let bad = env.client("method = \"basic\"\nusername = \"ops@example.com\"\npassword = \"nope\"");
    assert!(matches!(bad.me().await.answer, Answer::Auth { status: 401, .. }));
}

#[tokio::test]
async fn client_credentials_tokens_are_cached_on_disk_with_mode_0600_and_reused_after_restart() {
    let env = start(SimConfig::default()).await;
    let auth = env.oauth(
        "client_credentials",
        "scope = \"tickets\"\noptions = { audience = \"fd\" }\ntoken_headers = { X-Tenant = \"acme\" }",
    );
    let client = env.client(&auth);
    assert!(client.me().await.answer.is_ok());
    assert!(client.me().await.answer.is_ok());
    let token_req = env.sim.counters().token_requests[0].clone();
    assert_eq!(token_req.header("x-tenant"), Some("acme"));
    assert_eq!(token_req.param("audience"), Some("fd"));
    assert_eq!(token_req.param("scope"), Some("tickets"));
    assert_eq!(token_req.param("client_secret"), Some("sim-secret"));
    let file = env.state_dir().join(oauth::TOKEN_FILE);
    assert_eq!(mode(&file), 0o600);
    // A new client (a restart) uses the stored token.
    assert!(env.client(&auth).me().await.answer.is_ok());
    assert_eq!(env.token_grants(), vec!["client_credentials"]);
    let last = env.sim.counters().last_request.unwrap();
    assert!(last.header("authorization").unwrap().starts_with("Bearer at-"));
}

#[tokio::test]
async fn password_grant_tokens_are_refreshed_when_they_expire() {
    let users = vec![BasicUser { email: "svc@example.com".into(), password: "pw".into() }];
    // The sim says `expires_in: 0` but honours the token for 999 ms: each call must refresh first.
    let ttl = Duration::from_millis(999);
    let env = start(SimConfig { basic_users: users, token_ttl: ttl, ..SimConfig::default() }).await;
    let client = env.client(&env.oauth("password", "username = \"svc@example.com\"\npassword = \"pw\""));
    assert!(client.me().await.answer.is_ok());
    assert!(client.me().await.answer.is_ok());
    assert_eq!(env.token_grants(), vec!["password", "refresh_token"]);
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_retries_the_request() {
    let users = vec![BasicUser { email: "svc@example.com".into(), password: "pw".into() }];
    let env = start(SimConfig { basic_users: users, ..SimConfig::default() }).await;
    let auth = env.oauth("password", "username = \"svc@example.com\"\npassword = \"pw\"");
    assert!(env.client(&auth).me().await.answer.is_ok());
    // The server forgets the access token but the refresh token stays valid.
    let file = env.state_dir().join(oauth::TOKEN_FILE);
    let mut stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    stored["access_token"] = "at-revoked".into();
    std::fs::write(&file, stored.to_string()).unwrap();
    // Two requests see the 401 at once; the token is refreshed once.
    let client = env.client(&auth);
    let (a, b) = tokio::join!(client.me(), client.me());
    assert!(a.answer.is_ok() && b.answer.is_ok(), "{a:?} {b:?}");
    assert_eq!(env.token_grants(), vec!["password", "refresh_token"]);
    assert_eq!(env.sim.counters().route_status("GET /api/v2/agents/me", 401), 2);
}

/// Runs `login` while a "browser" follows the printed URL.
async fn login(env: &Env, settings: &Settings) -> (Result<(), freshdesk::Error>, String) {
    struct Pipe(tokio::sync::mpsc::UnboundedSender<String>);
    impl std::io::Write for Pipe {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.send(String::from_utf8_lossy(buf).into_owned());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let _ = env;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut pipe = Pipe(tx);
    let browser = async {
        let mut printed = String::new();
        let url = loop {
            printed += &rx.recv().await.unwrap();
            if let Some(line) = printed.lines().find(|l| l.starts_with("http") && printed.contains("Waiting"))
            {
                break line.to_string();
            }
        };
        let page = reqwest::get(&url).await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("authorised"));
        printed
    };
    let (result, mut printed) =
        tokio::join!(oauth::login_within(settings, &mut pipe, Duration::from_secs(20)), browser);
    drop(pipe);
    while let Ok(more) = rx.try_recv() {
        printed += &more;
    }
    (result, printed)
}

#[tokio::test]
async fn login_runs_the_authorization_code_step_with_pkce_and_stores_the_refresh_token() {
    let env = start(SimConfig::default()).await;
    let settings = env.settings(&env.oauth("authorization_code", ""));
    let (result, printed) = login(&env, &settings).await;
    result.unwrap();
    assert!(printed.contains("code_challenge_method=S256") && printed.contains("state="), "{printed}");
    assert!(printed.contains("Authorised") && printed.contains("refresh token"), "{printed}");
    assert!(!printed.contains("sim-secret"));
    let exchange = env.sim.counters().token_requests[0].clone();
    assert_eq!(exchange.param("grant_type"), Some("authorization_code"));
    assert!(exchange.param("code_verifier").is_some_and(|v| v.len() >= 43));
    let file = env.state_dir().join(oauth::TOKEN_FILE);
    assert_eq!(mode(&file), 0o600);
    assert!(std::fs::read_to_string(&file).unwrap().contains("\"refresh_token\": \"rt-"));
    // The daemon then works without another authorisation.
    assert!(Client::new(&settings).unwrap().me().await.answer.is_ok());
    assert_eq!(env.token_grants(), vec!["authorization_code"]);
}

#[tokio::test]
async fn a_revoked_refresh_token_asks_for_auth_login() {
    let env = start(SimConfig::default()).await;
    let settings = env.settings(&env.oauth("authorization_code", ""));
    let client = Client::new(&settings).unwrap();
    match client.me().await.answer {
        Answer::Auth { message, .. } => assert!(message.contains("fdsync auth login"), "{message}"),
        other => panic!("{other:?}"),
    }
    login(&env, &settings).await.0.unwrap();
    env.sim.reset(); // forgets every access and refresh token
    match Client::new(&settings).unwrap().me().await.answer {
        Answer::Auth { code, message, .. } => {
            assert_eq!(code, "invalid_grant");
            assert!(message.contains("fdsync auth login"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn check_is_green_against_a_healthy_account() {
    let env = start(SimConfig::default()).await;
    let inbox = env.dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let mut settings = env.settings(&format!("api_key = \"{}\"", env.sim.api_key()));
    settings.inboxes.push(fdsync::config::Inbox::new(inbox, None));
    let report = check(&settings).await;
    let text = report.to_string();
    assert_eq!(report.exit_code(), 0, "{text}");
    for part in ["config valid", "admin@example.com", "quota: 400", "can manage agents", "inbox", "MiB free"]
    {
        assert!(text.contains(part), "{part} missing:\n{text}");
    }
    assert!(!text.contains("sim-api-key"));
}

#[tokio::test]
async fn check_is_red_for_bad_credentials_and_warns_about_missing_agent_rights() {
    let env = start(SimConfig::default()).await;
    let report = check(&env.settings("api_key = \"wrong\"")).await;
    assert_eq!(report.exit_code(), 3, "{report}");
    assert!(report.findings.iter().any(|f| f.level == Level::ConnectionError && f.line.contains("401")));

    let report = check(&env.settings("api_key = \"sim-agent-key\"")).await;
    assert_eq!(report.exit_code(), 0, "{report}");
    assert!(
        report.findings.iter().any(|f| f.level == Level::Warn && f.line.contains("cannot manage agents"))
    );

    let mut settings = env.settings("api_key = \"sim-api-key\"");
    settings.inboxes.push(fdsync::config::Inbox::new(env.dir.path().join("missing"), None));
    assert_eq!(check(&settings).await.exit_code(), 2);

    // A base URL that is not an API v2 root answers 404: a config problem.
    let mut settings = env.settings("api_key = \"sim-api-key\"");
    settings.freshdesk.base_url = settings.freshdesk.base_url.join("support/").unwrap();
    let report = check(&settings).await;
    assert_eq!(report.exit_code(), 2, "{report}");
    assert!(report.to_string().contains("404"));
}

/// A log sink shared with the test.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn debug_logs_name_method_path_and_status_but_never_a_key_token_or_email() {
    let users = vec![BasicUser { email: "svc@example.com".into(), password: "hunter2pw".into() }];
    let env = start(SimConfig { basic_users: users, ..SimConfig::default() }).await;
    let sink = Captured::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Another test's thread may have cached "no one listens" for a callsite while this
    // subscriber was being registered; ask every callsite again now that it is.
    tracing::callsite::rebuild_interest_cache();
    env.admin().find_agent_by_email("private@example.com").await;
    env.client("api_key = \"wrong\"").me().await;
    let oauth = env.oauth("password", "username = \"svc@example.com\"\npassword = \"hunter2pw\"");
    env.client(&oauth).me().await;
    let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("freshdesk request") && text.contains("path=\"api/v2/agents\""), "{text}");
    assert!(text.contains("status=401") && text.contains("elapsed_ms="), "{text}");
    for secret in ["sim-api-key", "private@example.com", "hunter2pw", "sim-secret", "Bearer", "at-"] {
        assert!(!text.contains(secret), "{secret} logged:\n{text}");
    }
}
