//! The promises of `docs/status-and-notifications.md` about notifications, each tested as
//! written: "`rate_limited_long`: Freshdesk has answered only 429 for over a minute",
//! "Redirects are not followed", "a slow receiver never holds up the rows", "A notification
//! whose target was removed from the config is dropped, not sent elsewhere", "`fdsync import`
//! sends no notifications".

use crate::daemon::{Daemon, WAIT, drop_file, in_state, inbox, inbox_toml};
use crate::helpers::*;
use crate::notify::{Log, count, outbox, receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn hook_toml(port: u16, path: &str, on: &str) -> String {
    format!("[[notify]]\non = [{on}]\nwebhook_url = \"http://127.0.0.1:{port}/{path}\"\n")
}

async fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = l.local_addr().expect("addr").port();
    (l, port)
}

/// A receiver that reads each request and answers it with `answer` after `delay`; counts the
/// connections it accepted and the answers it gave.
fn scripted(l: TcpListener, delay: Duration, answer: String) -> (Log<Instant>, Log<Instant>) {
    let (accepted, answered): (Log<Instant>, Log<Instant>) = (Arc::default(), Arc::default());
    let (acc, ans) = (accepted.clone(), answered.clone());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = l.accept().await {
            acc.lock().unwrap().push(Instant::now());
            let (ans, answer) = (ans.clone(), answer.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 << 10];
                let _ = stream.read(&mut buf).await;
                tokio::time::sleep(delay).await;
                let _ = stream.write_all(answer.as_bytes()).await;
                ans.lock().unwrap().push(Instant::now());
            });
        }
    });
    (accepted, answered)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_not_followed_and_is_final() {
    let app = spawn_app().await;
    let (elsewhere, other_port) = listener().await;
    let stolen = receiver(elsewhere, vec![]).await;
    let (l, port) = listener().await;
    let redirect = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:{other_port}/stolen\r\n\
         content-length: 0\r\nconnection: close\r\n\r\n"
    );
    let (accepted, _) = scripted(l, Duration::ZERO, redirect);
    let dir = inbox(&app, "tickets");
    app.write_config(&format!(
        "{}{}",
        inbox_toml(&dir, "create_ticket", 0.0),
        hook_toml(port, "hook", "\"failed\"")
    ));
    let d = Daemon::ready(&app).await;
    drop_file(&app, &dir, "broken.json", "{ not json");
    let ended = wait_until(WAIT, || outbox(&app).first().is_some_and(|(_, s, _)| s != "pending")).await;
    assert!(ended, "{:?}\n{}", outbox(&app), d.log());
    // Time for a follow-up or a retry, had there been one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(d.stop().await, 0);
    assert_eq!(count(&stolen), 0, "the body went to the redirect's target");
    assert_eq!(count(&accepted), 1, "a redirect is final: not retried");
    assert_eq!(outbox(&app), [("failed".to_string(), "given_up".to_string(), 1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_answers_holds_no_row_up() {
    let app = spawn_app().await;
    let (l, port) = listener().await;
    // Never answers within the test (the send's own deadline is 30 s).
    let (accepted, answered) = scripted(l, Duration::from_secs(600), String::new());
    let dir = inbox(&app, "tickets");
    app.write_config(&format!(
        "{}{}",
        inbox_toml(&dir, "create_ticket", 0.0),
        hook_toml(port, "hook", "\"failed\", \"done\"")
    ));
    let d = Daemon::ready(&app).await;
    drop_file(&app, &dir, "broken.json", "{ not json");
    assert!(wait_until(WAIT, || count(&accepted) == 1).await, "{}", d.log());
    let sending_since = Instant::now();
    for i in 0..3 {
        drop_file(&app, &dir, &format!("t{i}.csv"), &tickets_csv(20).replace("Disk", &format!("D{i}")));
    }
    let done = wait_until(WAIT, || in_state(&app, "done").len() == 3).await;
    assert!(done, "rows waited for the receiver: {:?}\n{}", in_state(&app, "processing"), d.log());
    assert_eq!(subject_counts(&app).len(), 60);
    assert_eq!(count(&answered), 0, "the first send is still in flight");
    assert!(sending_since.elapsed() < Duration::from_secs(30), "within the send's deadline");
    assert_eq!(d.stop().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_whose_target_was_removed_is_dropped_not_sent_to_the_new_one() {
    let app = spawn_app().await;
    let dir = inbox(&app, "tickets");
    // The old target: nobody listens, so its notification stays pending.
    let old_port = listener().await.1;
    app.write_config(&format!(
        "{}{}",
        inbox_toml(&dir, "create_ticket", 0.0),
        hook_toml(old_port, "old", "\"failed\"")
    ));
    let d = Daemon::ready(&app).await;
    drop_file(&app, &dir, "broken.json", "{ not json");
    let tried =
        wait_until(WAIT, || outbox(&app).first().is_some_and(|(_, s, a)| s == "pending" && *a >= 1)).await;
    assert!(tried, "{:?}\n{}", outbox(&app), d.log());
    assert_eq!(d.stop().await, 0);

    let (l, new_port) = listener().await;
    let hooks = receiver(l, vec![]).await;
    app.write_config(&format!(
        "{}{}",
        inbox_toml(&dir, "create_ticket", 0.0),
        hook_toml(new_port, "new", "\"failed\"")
    ));
    let d = Daemon::ready(&app).await;
    let dropped = wait_until(WAIT, || outbox(&app)[0].1 == "dropped").await;
    assert!(dropped, "{:?}\n{}", outbox(&app), d.log());
    // The new target works: a new event reaches it, and only that one.
    drop_file(&app, &dir, "broken2.json", "{ not json");
    assert!(wait_until(WAIT, || count(&hooks) >= 1).await, "{}", d.log());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(d.stop().await, 0);
    let got = hooks.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1["file"]["name"], "broken2.json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_records_and_sends_no_notification_even_when_a_daemon_runs_later() {
    let app = spawn_app().await;
    let (l, port) = listener().await;
    let hooks = receiver(l, vec![]).await;
    let dir = inbox(&app, "tickets");
    let all = "\"held\", \"failed\", \"rejected\", \"done\", \"credentials_refused\", \"rate_limited_long\"";
    app.write_config(&format!("{}{}", inbox_toml(&dir, "create_ticket", 0.0), hook_toml(port, "hook", all)));
    let clean = app.file("clean.csv", &tickets_csv(2));
    let mixed = app.file(
        "mixed.csv",
        "email,subject,description,priority,status\na@example.com,s,d,low,open\nnope,s,d,low,open\n",
    );
    let out = app.import(&clean, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = app.import(&mixed, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(outbox(&app).is_empty(), "{:?}", outbox(&app));
    // A daemon on the same state folder finds nothing to send for them.
    let d = Daemon::ready(&app).await;
    drop_file(&app, &dir, "broken.json", "{ not json");
    assert!(wait_until(WAIT, || count(&hooks) >= 1).await, "the target works: {}", d.log());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(d.stop().await, 0);
    let got = hooks.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "only the daemon's own event: {got:?}");
    assert_eq!(got[0].1["file"]["name"], "broken.json");
}

/// The threshold (429s for over a minute, `RATE_LIMITED_PROBLEM_AFTER` in `daemon.rs`) is set
/// to 8 s through `FDSYNC_RATE_LIMITED_PROBLEM_SECS`, so the test need not sit through a minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_long_is_sent_once_after_the_threshold_of_only_429s() {
    let app = spawn_app().await;
    let (l, port) = listener().await;
    let hooks = receiver(l, vec![]).await;
    let dir = inbox(&app, "tickets");
    app.write_config(&format!(
        "{}{}",
        inbox_toml(&dir, "create_ticket", 0.0),
        hook_toml(port, "hook", "\"rate_limited_long\"")
    ));
    let d = Daemon::start_with(&app, &[("FDSYNC_RATE_LIMITED_PROBLEM_SECS", "8")]).until_ready().await;
    let storm = Instant::now();
    app.sim.update(|c| c.storm_until = Some(storm + Duration::from_secs(90)));
    drop_file(&app, &dir, "t.csv", &tickets_csv(5));
    let sent = wait_until(Duration::from_secs(30), || count(&hooks) >= 1).await;
    assert!(sent, "{:?}\n{}", outbox(&app), d.log());
    let after = storm.elapsed();
    assert!(after > Duration::from_secs(8), "sent after {after:?}: before the threshold of 429s");
    tokio::time::sleep(Duration::from_secs(4)).await;
    // An op parked in the pacer gives up its wait on SIGTERM: the daemon exits at once.
    assert_eq!(d.stop().await, 0);
    let got = hooks.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "once per episode: {got:?}");
    assert_eq!(got[0].1["event"], "rate_limited_long");
    assert!(app.sim.state().tickets.is_empty(), "nothing got through the storm");
}
