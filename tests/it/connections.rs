//! Named connections (issue 14): two simulators as two Freshdesk accounts, one daemon. Each file's
//! rows reach only its connection's account; a 429 storm or refused credentials on one account
//! leave the other alone; two connections to one account share its quota; rows of a connection
//! that is no longer configured wait and are never sent elsewhere.

use crate::daemon::{Daemon, WAIT, drop_file, in_state, inbox};
use crate::helpers::*;
use crate::quota::{SERIAL, with_windows};
use fdsync_sim::{SimConfig, SimHandle};
use std::path::Path;
use std::time::{Duration, Instant};

/// The default connection's app (config, state folder, simulator A) and a second app whose
/// simulator is account B.
pub(crate) async fn two_accounts(a: SimConfig, b: SimConfig) -> (TestApp, TestApp) {
    (spawn_app_with(a, "").await, spawn_app_with(b, "").await)
}

/// A `[[connection]]` on `sim`, with `limits` lines in its `[connection.limits]`.
pub(crate) fn connection_toml(name: &str, sim: &SimHandle, limits: &str) -> String {
    format!(
        "[[connection]]\nname = \"{name}\"\ndescription = \"account {name}\"\n\
         [connection.freshdesk]\nbase_url = \"{}\"\nrequest_timeout_secs = 2\nconnect_timeout_secs = 2\n\
         [connection.auth]\napi_key = \"{}\"\n[connection.limits]\n{limits}\n",
        sim.base_url(),
        sim.api_key()
    )
}

fn inbox_on(dir: &Path, action: &str, connection: &str) -> String {
    format!(
        "[[inbox]]\ndir = \"{}\"\naction = \"{action}\"\nsettle_secs = 0\nconnection = \"{connection}\"\n",
        dir.display()
    )
}

fn tickets_named(prefix: &str, n: usize) -> String {
    let mut s = String::from("email,subject,description,priority,status\n");
    for i in 1..=n {
        s.push_str(&format!("user{i}@example.com,{prefix}-{i},d,Low,Open\n"));
    }
    s
}

fn agents_named(prefix: &str, n: usize) -> String {
    let mut s = String::from("email,name,ticket_scope\n");
    for i in 1..=n {
        s.push_str(&format!("{prefix}{i:04}@example.com,Agent {i},Global\n"));
    }
    s
}

fn subjects(app: &TestApp) -> Vec<String> {
    let mut v: Vec<String> = app.sim.state().tickets.into_iter().map(|t| t.subject).collect();
    v.sort();
    v
}

fn daemon_status(app: &TestApp) -> Option<fdsync::status_file::DaemonStatus> {
    fdsync::status_file::read_status(&app.state_dir())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_files_rows_reach_only_the_account_of_its_inboxs_connection() {
    let (a, b) = two_accounts(fast_sim(), fast_sim()).await;
    let (ia, ib) = (inbox(&a, "a"), inbox(&a, "b"));
    let b_conn = connection_toml("b", &b.sim, "");
    a.write_config(&format!(
        "{}{}{b_conn}",
        inbox_on(&ia, "create_ticket", "default"),
        inbox_on(&ib, "create_ticket", "b")
    ));
    let d = Daemon::ready(&a).await;
    drop_file(&a, &ia, "a.csv", &tickets_named("A", 4));
    drop_file(&a, &ib, "b.csv", &tickets_named("B", 3));
    // The same content on account B too: another job there, not a duplicate of A's file.
    drop_file(&a, &ib, "a-again.csv", &tickets_named("A", 4));
    assert!(wait_until(WAIT, || in_state(&a, "done").len() == 3).await, "{}", d.log());
    assert_eq!(subjects(&a), ["A-1", "A-2", "A-3", "A-4"]);
    assert_eq!(subjects(&b), ["A-1", "A-2", "A-3", "A-4", "B-1", "B-2", "B-3"]);
    assert!(
        wait_until(WAIT, || daemon_status(&a)
            .is_some_and(|s| s.line().contains("connections: default 0 pending")))
        .await,
        "status.json lists both connections, nothing pending"
    );
    let st = daemon_status(&a).expect("status");
    let names: Vec<&str> = st.connections.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["default", "b"]);
    assert!(st.line().contains(", b 0 pending"), "{}", st.line());
    assert_eq!(d.stop().await, 0);
    let out = a.fdsync(&["status", "--json"]).await;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut on: Vec<(String, String)> = json["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| (f["name"].as_str().unwrap().to_string(), f["connection"].as_str().unwrap().to_string()))
        .collect();
    on.sort();
    assert_eq!(
        on,
        [
            ("a-again.csv".into(), "b".into()),
            ("a.csv".into(), "default".into()),
            ("b.csv".into(), "b".into())
        ]
    );
    assert_eq!(json["connections"][1]["description"], "account b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_on_one_account_leaves_the_other_at_full_pace() {
    let _serial = SERIAL.lock().await;
    let sim = || SimConfig {
        rate: Some(60),
        window: Duration::from_secs(2),
        latency_ms: Some((5, 20)),
        ..SimConfig::default()
    };
    let (a, b) = two_accounts(sim(), sim()).await;
    let (ia, ib) = (inbox(&a, "a"), inbox(&a, "b"));
    // Room for 16 requests in flight: B's pace is its budget's, not the (loaded) machine's.
    let limits = "window_secs = 2\nreserve_percent = 10\nrequests_per_minute = 0\nconcurrency = 16\n";
    let b_conn = connection_toml("b", &b.sim, limits);
    let (on_a, on_b) = (inbox_on(&ia, "create_agent", "default"), inbox_on(&ib, "create_agent", "b"));
    a.write_config(&format!("[limits]\n{limits}{on_a}{on_b}{b_conn}"));
    let d = Daemon::ready(&a).await;
    // Budget 54 per 2 s window on each account (low enough that the machine is never what
    // limits the pace); more rows than either sends in the test.
    drop_file(&a, &ia, "a.csv", &agents_named("a", 600));
    drop_file(&a, &ib, "b.csv", &agents_named("b", 600));
    let window = Duration::from_secs(2);
    // Four windows of B first, then A answers only 429s for four windows and a bit, then two
    // more windows of B.
    let run = async {
        assert!(wait_until(WAIT, || b.sim.counters().agents_created >= 200).await, "{}", d.log());
        let (from, to) = (Instant::now(), Instant::now() + window * 4 + Duration::from_millis(500));
        a.sim.update(|c| c.storm_until = Some(to));
        // The daemon's own view: A's pacer counts the storm's 429s, B's (another pacer) does not.
        let hit = |s: &fdsync::status_file::DaemonStatus| s.connections[0].quota.rate_limited > 0;
        assert!(wait_until(WAIT, || daemon_status(&a).is_some_and(|s| hit(&s))).await, "{}", d.log());
        let st = daemon_status(&a).expect("status");
        let (qa, qb) = (&st.connections[0].quota, &st.connections[1].quota);
        assert!(qb.rate_limited < qa.rate_limited, "B's pacer saw A's storm: {:?}", st.connections);
        tokio::time::sleep_until((to + window * 2 + Duration::from_millis(200)).into()).await;
        (from, to)
    };
    let ((from, to), windows) = with_windows(&b, run).await;
    assert!(a.sim.counters().rate_limited >= 1, "the storm hit account A");
    assert!(b.sim.counters().rate_limited <= 2, "account B kept to its own quota: {:?}", b.sim.counters());
    let median = |mut v: Vec<u64>| {
        v.sort_unstable();
        v.get(v.len() / 2).copied().unwrap_or_default()
    };
    // Whole windows outside the storm (after the first two, where the total is learnt and the
    // concurrency grows) and inside it.
    let outside = |w: &&crate::quota::Window| w.start + window <= from || w.start >= to;
    let inside = |w: &&crate::quota::Window| w.start >= from && w.start + window <= to;
    let before = median(windows.iter().skip(2).filter(outside).map(|w| w.peak).collect());
    let during = median(windows.iter().filter(inside).map(|w| w.peak).collect());
    eprintln!(
        "account B, credits per window: {before} outside A's storm, {during} during it ({:?})",
        windows.iter().map(|w| (w.peak, inside(&w))).collect::<Vec<_>>()
    );
    // B runs at its own account's budget (54), not at a share of one pacer for both (~27) …
    assert!(before >= 49, "account B was not at full pace outside the storm: {before} ({windows:?})");
    // … and A's storm does not move it.
    assert!(
        during.abs_diff(before) * 20 <= before,
        "account B's pace moved by more than 5 % during A's storm: {before} -> {during} per window ({windows:?})"
    );
    assert_eq!(d.stop().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_connections_to_one_account_never_exceed_its_quota_together() {
    let _serial = SERIAL.lock().await;
    let sim = SimConfig {
        rate: Some(40),
        window: Duration::from_secs(2),
        latency_ms: Some((5, 20)),
        ..SimConfig::default()
    };
    let a = spawn_app_with(sim, "").await;
    let (i1, i2) = (inbox(&a, "one"), inbox(&a, "two"));
    let limits = "window_secs = 2\nreserve_percent = 25\nrequests_per_minute = 0\n";
    let same = connection_toml("same-account", &a.sim, limits);
    let (on1, on2) =
        (inbox_on(&i1, "create_agent", "default"), inbox_on(&i2, "create_agent", "same-account"));
    a.write_config(&format!("[limits]\n{limits}{on1}{on2}{same}"));
    let d = Daemon::ready(&a).await;
    drop_file(&a, &i1, "one.csv", &agents_named("one", 45));
    drop_file(&a, &i2, "two.csv", &agents_named("two", 45));
    let done = wait_until(Duration::from_secs(40), || a.sim.counters().agents_created == 90);
    let (done, windows) = with_windows(&a, done).await;
    assert!(done, "{}", d.log());
    let peaks: Vec<u64> = windows.iter().map(|w| w.peak).collect();
    // One budget for the account: 40 × 0.75 = 30 per window (+1), not 30 per connection.
    assert!(peaks.len() >= 3, "the files span several windows: {peaks:?}");
    assert!(peaks.iter().all(|&p| p <= 31), "the two connections together went over the budget: {peaks:?}");
    let c = a.sim.counters();
    assert!(c.rate_limited * 50 <= c.api_requests, "429 share above 2 %: {c:?}");
    assert_eq!(d.stop().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_on_one_connection_are_reported_while_the_other_goes_on() {
    let (a, b) = two_accounts(fast_sim(), fast_sim()).await;
    let (ia, ib) = (inbox(&a, "a"), inbox(&a, "b"));
    let b_conn = connection_toml("b", &b.sim, "");
    a.write_config(&format!(
        "{}{}{b_conn}",
        inbox_on(&ia, "create_ticket", "default"),
        inbox_on(&ib, "create_ticket", "b")
    ));
    b.sim.update(|c| c.api_key = "rotated-away".into());
    let d = Daemon::ready(&a).await;
    drop_file(&a, &ib, "b.csv", &tickets_named("B", 3));
    drop_file(&a, &ia, "a.csv", &tickets_named("A", 5));
    let reported = wait_until(WAIT, || {
        in_state(&a, "done").len() == 1
            && daemon_status(&a).is_some_and(|s| {
                s.problems
                    .iter()
                    .any(|p| p.starts_with("connection b: ") && p.contains("refused the credentials"))
                    && s.connections.get(1).is_some_and(|c| c.rows_pending == 3)
            })
    })
    .await;
    assert!(reported, "{}", d.log());
    assert_eq!(subjects(&a).len(), 5, "account A's file finished");
    assert!(b.sim.state().tickets.is_empty());
    assert_eq!(in_state(&a, "processing").len(), 1, "B's file waits");
    let st = daemon_status(&a).expect("status");
    assert!(
        st.connections[1].credentials_refused.is_some() && st.connections[0].credentials_refused.is_none()
    );
    assert!(st.line().contains("b 3 pending, credentials refused"), "{}", st.line());
    assert!(!st.problems.iter().any(|p| p.starts_with("connection default")), "{:?}", st.problems);
    assert_eq!(d.stop().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_on_a_named_connection_sends_there_and_group_level_is_ticket_scope_2() {
    let (a, b) = two_accounts(fast_sim(), fast_sim()).await;
    a.write_config(&connection_toml("b", &b.sim, ""));
    let file = a.file("hire.csv", "email,name,ticketScope\nnew.hire@example.com,New Hire,Group-Level\n");
    let out = a.import(&file, &["--action", "create_agent", "--connection", "b"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("connection b"), "{}", stdout(&out));
    assert_eq!(a.sim.counters().agents_created, 0, "nothing on account A");
    let hire = b.sim.state().agents.into_iter().find(|u| u.email.as_deref() == Some("new.hire@example.com"));
    assert_eq!(hire.and_then(|u| u.agent).map(|i| i.ticket_scope), Some(2));
    let out = a.import(&file, &["--action", "create_agent", "--connection", "nope"]).await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("configured: default, b"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_of_a_connection_no_longer_configured_wait_and_are_never_sent_elsewhere() {
    let (a, b) = two_accounts(fast_sim(), fast_sim()).await;
    let ia = inbox(&a, "a");
    a.write_config(&connection_toml("b", &b.sim, ""));
    b.sim.update(|c| c.api_key = "rotated-away".into());
    let file = a.file("b.csv", &tickets_named("B", 3));
    let out = a.import(&file, &["--action", "create_ticket", "--connection", "b"]).await;
    assert_eq!(code(&out), 3, "refused: the rows stay queued on b\n{}{}", stdout(&out), stderr(&out));
    // The connection is removed from the config; the daemon runs with the default one only.
    a.write_config(&inbox_on(&ia, "create_ticket", "default"));
    let d = Daemon::ready(&a).await;
    let waiting = wait_until(WAIT, || {
        daemon_status(&a).is_some_and(|s| {
            s.problems.iter().any(|p| p.contains("connection b is not configured; 3 ops wait"))
        })
    })
    .await;
    assert!(waiting, "{}", d.log());
    drop_file(&a, &ia, "a.csv", &tickets_named("A", 2));
    assert!(wait_until(WAIT, || in_state(&a, "done").len() == 1).await, "{}", d.log());
    assert_eq!(subjects(&a), ["A-1", "A-2"], "b's rows were not sent on the default connection");
    assert!(b.sim.state().tickets.is_empty());
    assert_eq!(d.stop().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_checks_every_connection_or_the_one_named() {
    let (a, b) = two_accounts(fast_sim(), fast_sim()).await;
    a.write_config(&connection_toml("b", &b.sim, ""));
    b.sim.update(|c| c.api_key = "rotated-away".into());
    let out = a.fdsync(&["check"]).await;
    assert_eq!(code(&out), 3, "B refuses the key\n{}", stdout(&out));
    let text = stdout(&out);
    let (default_at, b_at) = (text.find("connection default:"), text.find("connection b:"));
    assert!(default_at.is_some() && b_at > default_at, "{text}");
    let out = a.fdsync(&["check", "--connection", "default"]).await;
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(!stdout(&out).contains("connection b"), "{}", stdout(&out));
}
