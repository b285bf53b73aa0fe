//! `fdsync run` as it is deployed: the daemon as an account of its own (`nobody` here), files
//! dropped by another account (the test, root), and its CPU measured at rest from
//! `/proc/PID/stat`. Switching accounts needs root, which CI has; elsewhere these tests say so
//! and pass without running.

use crate::daemon::{Daemon, WAIT, in_state, inbox, inbox_toml, names};
use crate::helpers::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

/// The daemon's account.
const DAEMON_UID: u32 = 65534;
const DAEMON_GID: u32 = 65534;
/// The most CPU an idle daemon may use, in percent of one core.
const AT_REST_PERCENT: f64 = 2.0;

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// An app whose state folder and config belong to the daemon's account, with one tickets
/// inbox (owned by the daemon's account, mode 0755: the producer here is root) and `settle`.
fn deployed_app_config(app: &TestApp, settle: f64) -> std::path::PathBuf {
    chmod(app.dir.path(), 0o755);
    let dir = inbox(app, "tickets");
    for d in [app.dir.path().join("inbox"), dir.clone()] {
        chown(&d, DAEMON_UID, DAEMON_GID);
        chmod(&d, 0o755);
    }
    std::fs::create_dir_all(app.state_dir()).expect("state");
    chown(&app.state_dir(), DAEMON_UID, DAEMON_GID);
    app.write_config(&inbox_toml(&dir, "create_ticket", settle));
    chown(&app.config, DAEMON_UID, DAEMON_GID);
    dir
}

/// `fdsync run` as the daemon's account (`setpriv`, as the unit's `User=` would).
async fn run_as_daemon_user(app: &TestApp) -> Daemon {
    let mut cmd = tokio::process::Command::new("setpriv");
    cmd.args([
        &format!("--reuid={DAEMON_UID}"),
        &format!("--regid={DAEMON_GID}"),
        "--clear-groups",
        "--",
        env!("CARGO_BIN_EXE_fdsync"),
        "--config",
    ])
    .arg(&app.config)
    .arg("run")
    .env_remove("FDSYNC_API_KEY")
    .env_remove("FDSYNC_CONFIG")
    .kill_on_drop(true);
    Daemon::spawn(app, cmd).until_ready().await
}

/// CPU time (user + system) of `pid` in clock ticks, from `/proc/PID/stat`.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // The command name may hold spaces: count fields after its closing parenthesis.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

/// The percent of one core `pid` used over `secs` seconds.
async fn cpu_percent_over(pid: u32, secs: u64) -> f64 {
    let hz = rustix::param::clock_ticks_per_second() as f64;
    let before = cpu_ticks(pid);
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let used = cpu_ticks(pid) - before;
    used as f64 * 100.0 / (secs as f64 * hz)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producers_0644_file_is_imported_by_a_daemon_running_as_its_own_account() {
    if !is_root() {
        eprintln!("skipped: switching to the daemon's account needs root (CI runs as root)");
        return;
    }
    let app = spawn_app().await;
    let dir = deployed_app_config(&app, 30.0);
    let d = run_as_daemon_user(&app).await;
    // The producer (root, umask 022) writes beside the inbox and renames the file in: it stays
    // the producer's, mode 0644, and only its owner could chmod it.
    let staged = app.dir.path().join("alerts.csv");
    std::fs::write(&staged, tickets_csv(4)).expect("write");
    chmod(&staged, 0o644);
    std::fs::rename(&staged, dir.join("alerts.csv")).expect("rename in");
    let done = wait_until(WAIT, || in_state(&app, "done").len() == 1).await;
    assert!(done, "not done: failed {:?}\n{}", in_state(&app, "failed"), d.log());
    assert_eq!(app.sim.state().tickets.len(), 4, "{}", d.log());
    assert!(names(&dir).is_empty(), "the producer's file left the inbox");
    // What the daemon keeps is its own private copy.
    let kept = app.state_dir().join("done").join(&in_state(&app, "done")[0]);
    let meta = std::fs::metadata(&kept).expect("kept copy");
    assert_eq!((meta.uid(), meta.mode() & 0o777), (DAEMON_UID, 0o600), "{}", kept.display());
    let log = d.log();
    assert!(!log.contains("Operation not permitted"), "{log}");
    assert_eq!(d.stop().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_the_daemon_cannot_move_is_reported_once_and_costs_no_cpu() {
    if !is_root() {
        eprintln!("skipped: switching to the daemon's account needs root (CI runs as root)");
        return;
    }
    let app = spawn_app().await;
    let dir = deployed_app_config(&app, 0.0);
    // root's folder, 0755: the daemon may not rename it (it cannot write its `..`).
    std::fs::create_dir(dir.join("x.csv")).expect("mkdir");
    let d = run_as_daemon_user(&app).await;
    let reported = wait_until(WAIT, || d.log().contains("cannot be moved to failed")).await;
    assert!(reported, "not reported:\n{}", d.log());
    let cpu = cpu_percent_over(d.pid(), 5).await;
    let log = d.log();
    assert!(cpu <= AT_REST_PERCENT, "the daemon used {cpu:.1} % of a core at rest\n{log}");
    assert_eq!(log.matches("cannot be moved to failed").count(), 1, "reported more than once:\n{log}");
    assert!(dir.join("x.csv").is_dir(), "the folder stays where it is");
    // A file dropped beside it is still taken.
    std::fs::write(app.dir.path().join("next.csv"), tickets_csv(2)).expect("write");
    std::fs::rename(app.dir.path().join("next.csv"), dir.join("next.csv")).expect("rename in");
    let done = wait_until(WAIT, || in_state(&app, "done").len() == 1).await;
    assert!(done, "next.csv not done\n{}", d.log());
    assert_eq!(d.stop().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_daemon_rests_beside_temp_names_a_fifo_and_an_unreadable_file() {
    if !is_root() {
        eprintln!("skipped: switching to the daemon's account needs root (CI runs as root)");
        return;
    }
    let app = spawn_app().await;
    let dir = deployed_app_config(&app, 0.0);
    for name in ["upload.csv.part", ".hidden.csv", "next.csv.tmp"] {
        std::fs::write(dir.join(name), tickets_csv(1)).expect("write");
    }
    rustix::fs::mknodat(rustix::fs::CWD, dir.join("pipe.csv"), rustix::fs::FileType::Fifo, 0o644.into(), 0)
        .expect("mkfifo");
    std::fs::write(dir.join("secret.csv"), tickets_csv(1)).expect("write");
    chmod(&dir.join("secret.csv"), 0o600);
    let d = run_as_daemon_user(&app).await;
    let reported = wait_until(WAIT, || {
        d.log().contains("cannot be moved into processing") && in_state(&app, "failed").len() == 2
    })
    .await;
    assert!(reported, "failed {:?}\n{}", in_state(&app, "failed"), d.log());
    let cpu = cpu_percent_over(d.pid(), 5).await;
    let log = d.log();
    assert!(cpu <= AT_REST_PERCENT, "the daemon used {cpu:.1} % of a core at rest\n{log}");
    assert_eq!(log.matches("cannot be moved into processing").count(), 1, "{log}");
    let mut left = names(&dir);
    left.sort();
    assert_eq!(left, [".hidden.csv", "next.csv.tmp", "secret.csv", "upload.csv.part"]);
    assert!(
        in_state(&app, "failed").iter().any(|n| n.ends_with("pipe.csv")),
        "the FIFO went to failed unopened"
    );
    assert_eq!(app.sim.state().tickets.len(), 0);
    assert_eq!(d.stop().await, 0);
}
