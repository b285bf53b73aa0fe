//! The status page is not a door (issue 20, item 6), end to end with the real daemon: a remote
//! page without a token is refused at start; with one, a wrong token is 401 and the right one
//! 200; a forged `Host` (DNS rebinding) is 421; and 1,100 connections that send half a header,
//! under the usual limit of 1,024 open files, neither stop the intake nor stay open.

use crate::daemon::{Daemon, WAIT, drop_file, in_state, inbox, inbox_toml};
use crate::helpers::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

#[tokio::test]
async fn a_page_served_to_other_machines_without_a_token_is_refused_at_start() {
    let app = spawn_app().await;
    app.write_config(&format!("[http]\nlisten = \"0.0.0.0:{}\"\nallow_remote = true\n", free_port()));
    let out = tokio::time::timeout(WAIT, app.fdsync(&["run"])).await.expect("exits at once");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("http.token_file"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_401_the_right_one_200_and_a_forged_host_421() {
    let app = spawn_app().await;
    let token = "page-token-0123456789";
    let token_file = app.dir.path().join("http_token");
    std::fs::write(&token_file, format!("{token}\n")).expect("token");
    set_private(&token_file);
    let port = free_port();
    app.write_config(&format!(
        "[http]\nlisten = \"0.0.0.0:{port}\"\nallow_remote = true\nhosts = [\"status.example.org\"]\n\
         token_file = \"{}\"\n",
        token_file.display()
    ));
    let daemon = Daemon::ready(&app).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let get = |path: &str, host: Option<&str>, auth: Option<&str>| {
        let mut req = client.get(format!("{base}{path}"));
        if let Some(h) = host {
            req = req.header("host", h);
        }
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        async move { req.send().await.expect("answer") }
    };
    let right = format!("Bearer {token}");
    for path in ["/", "/api/status", "/metrics", "/files/1", "/style.css"] {
        assert_eq!(get(path, None, None).await.status(), 401, "{path} without a token");
        let wrong = get(path, None, Some("Bearer page-token-0123456788")).await;
        assert_eq!(wrong.status(), 401, "{path} with a wrong token");
        assert_eq!(wrong.headers()["www-authenticate"], "Bearer realm=\"fdsync\"");
        assert_eq!(get(path, None, Some(&format!("Basic {token}"))).await.status(), 401, "{path}");
        let ok = get(path, None, Some(&right)).await.status();
        assert!(ok == 200 || (path == "/files/1" && ok == 404), "{path} with the token: {ok}");
    }
    assert_eq!(get("/healthz", None, None).await.status(), 200, "healthz needs no token");
    let forged = get("/api/status", Some(&format!("attacker.example:{port}")), Some(&right)).await;
    assert_eq!(forged.status(), 421, "DNS rebinding: a foreign Host is refused even with the token");
    assert_eq!(forged.headers()["x-content-type-options"], "nosniff");
    assert_eq!(get("/healthz", Some("attacker.example"), None).await.status(), 421);
    let named = get("/api/status", Some("status.example.org"), Some(&right)).await;
    assert_eq!(named.status(), 200, "a configured host name is answered");
    let local = get("/", Some(&format!("localhost:{port}")), Some(&right)).await;
    assert_eq!(local.status(), 200);
    assert!(!daemon.log().contains(token), "the token is never logged");
    assert_eq!(daemon.stop().await, 0);
}

/// 1,100 connections each send half a request head; the daemon runs with at most 1,024 open
/// files (the usual default, applied with `prlimit`). A file dropped meanwhile is taken within
/// 5 s, and every connection is closed by the daemon within 15 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_neither_stop_the_intake_nor_stay_open() {
    const CONNECTIONS: usize = 1_100;
    let app = spawn_app_with(fast_sim(), "").await;
    let tickets = inbox(&app, "tickets");
    let port = free_port();
    app.write_config(&format!(
        "{}[http]\nlisten = \"127.0.0.1:{port}\"\n",
        inbox_toml(&tickets, "create_ticket", 0.0)
    ));
    let daemon = Daemon::ready(&app).await;
    let pid = daemon.pid();
    let limited = std::process::Command::new("prlimit")
        .args(["--pid", &pid.to_string(), "--nofile=1024:1024"])
        .status()
        .expect("prlimit (util-linux) is needed to give the daemon the usual open-file limit");
    assert!(limited.success());
    let opened = Instant::now();
    let mut conns = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
        // A write to a connection the daemon already closed may fail: that is the point.
        let _ = s.write_all(format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Half:").as_bytes()).await;
        conns.push(s);
    }
    let fds_at_peak = open_files(pid);
    drop_file(&app, &tickets, "during-flood.csv", &tickets_csv(2));
    let dropped = Instant::now();
    // Taken and read (which needs open files), not only renamed out of the inbox: done.
    let done = || in_state(&app, "done").iter().any(|n| n.ends_with("during-flood.csv"));
    let taken = wait_until(Duration::from_secs(5), done).await;
    let taken_in = dropped.elapsed();
    assert!(taken, "the file was not taken within 5 s of the flood:\n{}", daemon.log());
    let deadline = opened + Duration::from_secs(15);
    let mut closed = 0;
    for mut s in conns {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut buf = [0u8; 512];
        let shut = async {
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        };
        if tokio::time::timeout(left, shut).await.is_ok() {
            closed += 1;
        }
    }
    let shed_in = opened.elapsed();
    eprintln!(
        "flood: {CONNECTIONS} half-open connections, daemon open files at peak {fds_at_peak:?}, \
         file taken in {taken_in:?}, all closed after {shed_in:?}"
    );
    assert_eq!(closed, CONNECTIONS, "connections still open after 15 s");
    assert!(fds_at_peak.is_none_or(|n| n < 400), "open files at peak: {fds_at_peak:?}");
    assert!(!daemon.log().contains("Too many open files"), "{}", daemon.log());
    assert_eq!(daemon.stop().await, 0);
}

fn open_files(pid: u32) -> Option<usize> {
    std::fs::read_dir(format!("/proc/{pid}/fd")).ok().map(|d| d.count())
}
