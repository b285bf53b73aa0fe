//! Notifications end to end: `fdsync run` with `[[notify]]` sections, a webhook receiver and an
//! SMTP sink in the test (plain TCP on 127.0.0.1, bound before the daemon starts). They receive
//! exactly the expected messages; a 500 is retried; a daemon killed before delivering delivers
//! after its restart; the secrets never reach the daemon's log.

use crate::daemon::{Daemon, WAIT, drop_file, in_state, inbox, inbox_toml};
use crate::helpers::*;
use fdsync_sim::SimConfig;
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

pub(crate) type Log<T> = Arc<Mutex<Vec<T>>>;

pub(crate) fn count<T>(log: &Log<T>) -> usize {
    log.lock().unwrap().len()
}

/// A webhook receiver: answers the scripted statuses in turn (then 200) and records each
/// request's (path, JSON body).
pub(crate) async fn receiver(listener: TcpListener, script: Vec<u16>) -> Log<(String, Value)> {
    let got: Log<(String, Value)> = Arc::default();
    let (log, script) = (got.clone(), Arc::new(Mutex::new(script.into_iter())));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (log, script) = (log.clone(), script.clone());
            tokio::spawn(async move {
                let mut r = BufReader::new(stream);
                let (mut line, mut head) = (String::new(), Vec::new());
                while r.read_line(&mut line).await.unwrap_or(0) > 2 {
                    head.push(std::mem::take(&mut line));
                }
                let len = head.iter().find_map(|h| {
                    h.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                });
                let mut body = vec![0; len.unwrap_or(0)];
                r.read_exact(&mut body).await.expect("body");
                let path = head.first().and_then(|l| l.split(' ').nth(1)).unwrap_or_default().to_string();
                let status = script.lock().unwrap().next().unwrap_or(200);
                log.lock().unwrap().push((path, serde_json::from_slice(&body).expect("JSON body")));
                let answer =
                    format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nno");
                let _ = r.get_mut().write_all(answer.as_bytes()).await;
            });
        }
    });
    got
}

/// One e-mail as the sink saw it.
#[derive(Debug, Clone, Default)]
struct Mail {
    auth: String,
    rcpt: Vec<String>,
    data: String,
}

/// An SMTP sink speaking just enough SMTP for lettre (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT).
async fn smtp_sink(listener: TcpListener) -> Log<Mail> {
    let got: Log<Mail> = Arc::default();
    let log = got.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut r = BufReader::new(stream);
                let (mut mail, mut line) = (Mail::default(), String::new());
                r.get_mut().write_all(b"220 sink ESMTP\r\n").await.expect("greet");
                while r.read_line(&mut line).await.unwrap_or(0) > 0 {
                    let cmd = std::mem::take(&mut line);
                    let verb = cmd.get(..4).unwrap_or_default().to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250-sink\r\n250 AUTH PLAIN\r\n",
                        "AUTH" => {
                            mail.auth = cmd.trim().to_string();
                            b"235 ok\r\n"
                        }
                        "RCPT" => {
                            mail.rcpt.push(cmd.trim().to_string());
                            b"250 ok\r\n"
                        }
                        "DATA" => {
                            r.get_mut().write_all(b"354 go\r\n").await.expect("354");
                            while r.read_line(&mut line).await.unwrap_or(0) > 0 && line != ".\r\n" {
                                mail.data.push_str(&std::mem::take(&mut line));
                            }
                            line.clear();
                            log.lock().unwrap().push(std::mem::take(&mut mail));
                            b"250 queued\r\n"
                        }
                        "QUIT" => {
                            let _ = r.get_mut().write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    r.get_mut().write_all(reply).await.expect("reply");
                }
            });
        }
    });
    got
}

pub(crate) fn private_file(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

/// (event, state, attempts) of each outbox row, in order.
pub(crate) fn outbox(app: &TestApp) -> Vec<(String, String, i64)> {
    let db = app.journal();
    let mut stmt = db.prepare("SELECT event, state, attempts FROM outbox ORDER BY id").expect("outbox");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .map(Result::unwrap)
        .collect()
}

const HOOK_TOKEN: &str = "T000/B000/s3cr3t-hook-token";
const SMTP_PASSWORD: &str = "smtp-s3cr3t-password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_and_an_smtp_sink_receive_exactly_their_events_and_no_secret_is_logged() {
    let app = spawn_app_with(SimConfig { agents: 4, ..fast_sim() }, "").await;
    let hook_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let smtp_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let (hook_port, smtp_port) =
        (hook_listener.local_addr().unwrap().port(), smtp_listener.local_addr().unwrap().port());
    let (hooks, mails) = (receiver(hook_listener, vec![]).await, smtp_sink(smtp_listener).await);
    let (tickets, off) = (inbox(&app, "tickets"), inbox(&app, "offboarding"));
    let (url_file, pw_file) = (app.dir.path().join("hook_url"), app.dir.path().join("smtp_password"));
    private_file(&url_file, &format!("http://127.0.0.1:{hook_port}/services/{HOOK_TOKEN}\n"));
    private_file(&pw_file, SMTP_PASSWORD);
    app.write_config(&format!(
        "[safety]\nmax_deletes_per_file = 1\n{}{}\
         [[notify]]\nname = \"chat\"\nwebhook_url_file = \"{}\"\n\
         [[notify]]\nname = \"hr-mail\"\non = [\"done\", \"rejected\"]\n\
         email = {{ smtp_url = \"smtp://fdsync@127.0.0.1:{smtp_port}\", from = \"fdsync@example.com\", \
                    to = [\"hr@example.com\"], smtp_password_file = \"{}\" }}\n",
        inbox_toml(&tickets, "create_ticket", 0.0),
        inbox_toml(&off, "delete_agent", 0.0),
        url_file.display(),
        pw_file.display(),
    ));
    let d = Daemon::ready(&app).await;
    drop_file(&app, &tickets, "clean.csv", &tickets_csv(2));
    drop_file(
        &app,
        &tickets,
        "mixed.csv",
        "email,subject,description,priority,status\na@example.com,s,d,low,open\nnope,s,d,low,open\n",
    );
    drop_file(&app, &tickets, "broken.json", "{ not json");
    drop_file(&app, &off, "leavers.csv", "email\nagent0001@example.com\nagent0002@example.com\n");
    let arrived = wait_until(WAIT, || count(&hooks) >= 3 && count(&mails) >= 2).await;
    assert!(arrived, "hooks {:?}\nmails {:?}\n{}", hooks.lock().unwrap(), mails.lock().unwrap(), d.log());
    let log_path = d.log.clone();
    assert_eq!(d.stop().await, 0);
    let log = std::fs::read_to_string(log_path).expect("daemon log");

    let rows = outbox(&app);
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert!(rows.iter().all(|(_, state, attempts)| state == "sent" && *attempts == 1), "{rows:?}");
    let hooks = hooks.lock().unwrap().clone();
    assert_eq!(hooks.len(), 3, "{hooks:?}");
    assert!(hooks.iter().all(|(path, _)| path == &format!("/services/{HOOK_TOKEN}")));
    let event = |e: &str| {
        hooks.iter().map(|(_, b)| b).find(|b| b["event"] == e).unwrap_or_else(|| panic!("no {e}: {hooks:?}"))
    };
    assert_eq!(event("held")["file"]["name"], "leavers.csv");
    assert_eq!(event("failed")["file"]["name"], "broken.json");
    let rejected = event("rejected");
    assert_eq!(rejected["file"]["name"], "mixed.csv");
    assert_eq!(
        (rejected["counts"]["created"].as_u64(), rejected["counts"]["failed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(rejected["first_failures"][0]["row"], 2);
    assert!(rejected["report"].as_str().unwrap().ends_with("-mixed.report.csv"), "{rejected}");
    assert!(rejected["rejects"].as_str().unwrap().ends_with("-mixed.rejects.csv"), "{rejected}");
    assert!(rejected["text"].as_str().unwrap().contains("mixed.csv"), "{rejected}");

    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 2, "{mails:?}");
    let plain = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        mails[0].auth.trim_start_matches("AUTH PLAIN "),
    )
    .expect("b64");
    assert_eq!(plain, format!("\0fdsync\0{SMTP_PASSWORD}").as_bytes(), "the password went to AUTH");
    assert!(mails.iter().all(|m| m.rcpt == ["RCPT TO:<hr@example.com>"]), "{mails:?}");
    let done = mails.iter().find(|m| m.data.contains("clean.csv")).expect("done mail");
    assert!(done.data.contains("Subject: fdsync: file") && done.data.contains("attachment"), "{}", done.data);
    let bad = mails.iter().find(|m| m.data.contains("mixed.csv")).expect("rejected mail");
    assert!(bad.data.contains("row 2:"), "{}", bad.data);

    assert!(!log.contains("s3cr3t"), "a secret reached the log:\n{log}");
    assert!(log.contains("webhook http://127.0.0.1/…") && log.contains("smtp 127.0.0.1"), "{log}");
}

/// Starts a daemon with one inbox and a webhook on `port`, and drops a file that cannot be read
/// (event `failed`).
async fn drop_unreadable_file_notifying(app: &TestApp, port: u16) -> Daemon {
    let dir = inbox(app, "tickets");
    app.write_config(&format!(
        "{}[[notify]]\nwebhook_url = \"http://127.0.0.1:{port}/hook\"\n",
        inbox_toml(&dir, "create_ticket", 0.0)
    ));
    let d = Daemon::ready(app).await;
    drop_file(app, &dir, "broken.json", "{ not json");
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_answers_500_gets_the_notification_once_after_a_retry() {
    let app = spawn_app().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().unwrap().port();
    let hooks = receiver(listener, vec![500]).await;
    let d = drop_unreadable_file_notifying(&app, port).await;
    assert!(wait_until(WAIT, || count(&hooks) >= 2).await, "{}", d.log());
    let log_path = d.log.clone();
    assert_eq!(d.stop().await, 0);
    let hooks = hooks.lock().unwrap().clone();
    assert_eq!(hooks.len(), 2, "one failed attempt, one delivery: {hooks:?}");
    assert_eq!(hooks[0].1, hooks[1].1, "the same message again");
    assert_eq!(hooks[1].1["event"], "failed");
    assert_eq!(outbox(&app), [("failed".to_string(), "sent".to_string(), 2)]);
    let log = std::fs::read_to_string(log_path).expect("daemon log");
    assert!(log.contains("will retry"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_killed_before_it_could_deliver_delivers_after_its_restart() {
    let app = spawn_app().await;
    // A port with nobody listening: the receiver is down until after the kill.
    let port = TcpListener::bind("127.0.0.1:0").await.expect("bind").local_addr().unwrap().port();
    let d = drop_unreadable_file_notifying(&app, port).await;
    let tried =
        wait_until(WAIT, || outbox(&app).first().is_some_and(|(_, s, a)| s == "pending" && *a >= 1)).await;
    assert!(tried, "{:?}\n{}", outbox(&app), d.log());
    d.kill9().await;
    let hooks = receiver(TcpListener::bind(("127.0.0.1", port)).await.expect("rebind"), vec![]).await;
    let d = Daemon::ready(&app).await;
    assert!(wait_until(WAIT, || count(&hooks) == 1).await, "{}", d.log());
    assert_eq!(d.stop().await, 0);
    assert_eq!(count(&hooks), 1);
    assert_eq!(hooks.lock().unwrap()[0].1["file"]["name"], "broken.json");
    assert_eq!(outbox(&app)[0].1, "sent");
    assert_eq!(in_state(&app, "failed").len(), 2, "the file and its note");
}
