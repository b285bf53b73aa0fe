//! The packaged unit's path, where it differs from a developer's: the inbox on another
//! filesystem than the state folder (so a claim is copy + fsync + rename, `daemon/inbox.rs`),
//! and systemd's notify protocol (READY, STATUS, WATCHDOG, STOPPING) through a fake
//! `NOTIFY_SOCKET`.

use crate::daemon::{Daemon, WAIT, in_state, inbox_toml, names};
use crate::helpers::*;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A folder on `/dev/shm` (a tmpfs), which is not the filesystem of the test's temp folder.
fn other_filesystem() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("fdsync-inbox").tempdir_in("/dev/shm").expect("a folder in /dev/shm")
}

fn device(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).dev()
}

/// `n` ticket rows, each with a ~900 KB description (under the 1 MiB record cap): a file large
/// enough that copying and fsyncing it takes a while.
fn large_tickets_csv(n: usize) -> String {
    let filler = "x".repeat(900_000);
    let mut s = String::from("email,subject,description,priority,status\n");
    for i in 1..=n {
        s.push_str(&format!("user{i}@example.com,Large {i:03},{filler},Low,Open\n"));
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_across_filesystems_killed_between_copy_and_rename_runs_the_file_once() {
    let app = spawn_app().await;
    let shm = other_filesystem();
    let inbox = shm.path().join("tickets");
    let staging = shm.path().join("staging");
    std::fs::create_dir(&inbox).expect("inbox");
    std::fs::create_dir(&staging).expect("staging");
    app.write_config(&inbox_toml(&inbox, "create_ticket", 0.2));
    let mut d = Daemon::ready(&app).await;
    let processing = app.state_dir().join("processing");
    assert_ne!(device(&inbox), device(&processing), "the inbox must be on another filesystem than the state");

    // The file is renamed in on its own filesystem; the daemon then has to copy it across.
    let rows = 40;
    let text = large_tickets_csv(rows);
    let size = text.len() as u64;
    std::fs::write(staging.join("big.csv"), text).expect("write");
    std::fs::rename(staging.join("big.csv"), inbox.join("big.csv")).expect("rename in");
    // Spin until the hidden copy is whole, then kill -9 at once: the fsync of 36 MB that
    // follows takes far longer than the kill needs to land, and the rename comes after it.
    let deadline = Instant::now() + WAIT;
    let hidden = loop {
        let found = names(&processing).into_iter().find(|n| n.starts_with(".claim-"));
        let whole = |n: &String| std::fs::metadata(processing.join(n)).is_ok_and(|m| m.len() == size);
        if let Some(name) = found.filter(whole) {
            d.kill_now();
            break name;
        }
        assert!(Instant::now() < deadline, "no whole .claim- copy seen:\n{}", d.log());
        std::thread::yield_now();
    };
    d.kill9().await;
    assert_eq!(names(&processing), [hidden], "killed before the rename: only the hidden copy");
    assert_eq!(names(&inbox), ["big.csv"], "the original is still in the inbox");
    assert!(app.sim.state().tickets.is_empty(), "nothing was sent");

    let d = Daemon::ready(&app).await;
    let done = wait_until(Duration::from_secs(120), || in_state(&app, "done").len() == 1).await;
    assert!(done, "not done: {:?}\n{}", names(&processing), d.log());
    assert!(names(&processing).is_empty(), "the interrupted copy was removed");
    assert!(names(&inbox).is_empty());
    let counts = subject_counts(&app);
    assert_eq!(counts.len(), rows, "every row created");
    assert!(counts.values().all(|n| *n == 1), "each ticket once: {counts:?}");
    assert_eq!(d.stop().await, 0);
}

/// What arrived on the fake notify socket, and when.
type Notes = Arc<Mutex<Vec<(Instant, String)>>>;

/// Binds the fake notify socket; `on_ready` runs on its reader thread the moment `READY=1`
/// arrives (no polling delay between READY and what the test does next).
fn notify_socket(path: &Path, on_ready: impl FnOnce() + Send + 'static) -> Notes {
    let sock = UnixDatagram::bind(path).expect("bind the notify socket");
    let notes: Notes = Arc::default();
    let sink = notes.clone();
    std::thread::spawn(move || {
        let mut on_ready = Some(on_ready);
        let mut buf = vec![0u8; 4096];
        while let Ok(n) = sock.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let at = Instant::now();
            if text.lines().any(|l| l == "READY=1")
                && let Some(f) = on_ready.take()
            {
                f();
            }
            let mut v = sink.lock().expect("lock");
            v.extend(text.lines().map(|l| (at, l.to_string())));
        }
    });
    notes
}

fn seen(notes: &Notes, prefix: &str) -> Vec<(Instant, String)> {
    notes.lock().expect("lock").iter().filter(|(_, l)| l.starts_with(prefix)).cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systemd_hears_ready_once_watching_status_lines_watchdog_at_half_its_timeout_and_stopping() {
    let app = spawn_app().await;
    // A 30 s settle: only a watched rename makes the file ready within the deadline.
    let inbox = crate::daemon::inbox(&app, "tickets");
    app.write_config(&inbox_toml(&inbox, "create_ticket", 30.0));
    let staging = app.dir.path().join("staging");
    std::fs::create_dir_all(&staging).expect("staging");
    std::fs::write(staging.join("alerts.csv"), tickets_csv(3)).expect("write");
    let (from, to) = (staging.join("alerts.csv"), inbox.join("alerts.csv"));
    let socket = app.dir.path().join("notify.sock");
    let notes = notify_socket(&socket, move || std::fs::rename(from, to).expect("rename in"));
    let d = Daemon::start_with(
        &app,
        &[("NOTIFY_SOCKET", socket.to_str().expect("utf-8")), ("WATCHDOG_USEC", "2000000")],
    );
    assert!(
        wait_until(WAIT, || !seen(&notes, "READY=1").is_empty()).await,
        "no READY=1: {:?}\n{}",
        notes.lock().expect("lock"),
        d.log()
    );
    let done = wait_until(WAIT, || in_state(&app, "done").len() == 1).await;
    assert!(done, "a file renamed in right after READY=1 was not seen at once:\n{}", d.log());

    assert!(wait_until(WAIT, || seen(&notes, "WATCHDOG=1").len() >= 5).await, "{}", d.log());
    let pings: Vec<Instant> = seen(&notes, "WATCHDOG=1").into_iter().map(|(t, _)| t).collect();
    let gaps: Vec<Duration> = pings.windows(2).skip(1).map(|w| w[1] - w[0]).collect();
    for gap in &gaps {
        assert!(
            (Duration::from_millis(700)..Duration::from_millis(1500)).contains(gap),
            "WATCHDOG=1 every half of WATCHDOG_USEC (1 s): gaps {gaps:?}"
        );
    }
    let status = seen(&notes, "STATUS=");
    assert!(!status.is_empty(), "no STATUS= line");
    assert!(status.iter().all(|(_, l)| l.len() > "STATUS=".len() && !l.contains('\n')), "{status:?}");
    assert!(seen(&notes, "STOPPING=1").is_empty(), "STOPPING=1 before SIGTERM");

    assert_eq!(d.stop().await, 0);
    let stopping = seen(&notes, "STOPPING=1");
    assert_eq!(stopping.len(), 1, "{:?}", notes.lock().expect("lock"));
    let ready_at = seen(&notes, "READY=1")[0].0;
    assert!(stopping[0].0 > ready_at);
}
