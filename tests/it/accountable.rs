//! Who approved is an account, not an environment variable; each operator action reaches the
//! system log; a root CLI on a state folder owned by another account leaves no root-owned file
//! (issue 20, items 4 and 9).

use crate::helpers::*;
use fdsync_sim::SimConfig;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A file of 3 deletes held under `max_deletes_per_file = 2` (file 1).
async fn held_app() -> (TestApp, std::path::PathBuf) {
    let app =
        spawn_app_with(SimConfig { agents: 4, ..fast_sim() }, "[safety]\nmax_deletes_per_file = 2\n").await;
    let file = app.file(
        "offboarding.csv",
        "email\nagent0001@example.com\nagent0002@example.com\nagent0003@example.com\n",
    );
    let out = app.import(&file, &["--action", "delete_agent"]).await;
    assert_eq!(code(&out), 1, "held: {}", stdout(&out));
    (app, file)
}

fn approved_by(app: &TestApp) -> String {
    app.journal().query_row("SELECT approved_by FROM files WHERE id = 1", [], |r| r.get(0)).expect("approver")
}

fn is_root() -> bool {
    rustix::process::geteuid().as_raw() == 0
}

/// `chown -R uid:gid path`.
fn chown_all(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).expect("chown");
    if path.is_dir() {
        for e in std::fs::read_dir(path).expect("read dir") {
            chown_all(&e.expect("entry").path(), uid, gid);
        }
    }
}

/// Files under `path` owned by root.
fn root_owned(path: &Path) -> Vec<String> {
    let mut found = Vec::new();
    if std::fs::symlink_metadata(path).expect("stat").uid() == 0 {
        found.push(path.display().to_string());
    }
    if path.is_dir() {
        for e in std::fs::read_dir(path).expect("read dir") {
            found.extend(root_owned(&e.expect("entry").path()));
        }
    }
    found
}

fn nobody() -> (u32, u32) {
    let a = fdsync::account::account(65534).expect("the nobody account");
    (a.uid, a.gid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_sudo_user_does_not_become_the_approver() {
    let (app, _) = held_app().await;
    let mut approve = if is_root() {
        // As a user who is not root: `nobody`, owning the state folder and the config.
        let (uid, gid) = nobody();
        let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        std::fs::set_permissions(app.dir.path(), mode).expect("chmod");
        chown_all(&app.state_dir(), uid, gid);
        chown_all(&app.config, uid, gid);
        let mut cmd = tokio::process::Command::new("setpriv");
        cmd.args(["--reuid", &uid.to_string(), "--regid", &gid.to_string(), "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_fdsync"))
            .arg("--config")
            .arg(&app.config)
            .args(["approve", "1", "--yes"]);
        cmd
    } else {
        app.command(&["approve", "1", "--yes"])
    };
    let out = approve
        .env("SUDO_USER", "hr-director")
        .env("USER", "hr-director")
        .env("LOGNAME", "hr-director")
        .env("FDSYNC_JOURNAL_SOCKET", "")
        .env("FDSYNC_SYSLOG_SOCKET", "")
        .output()
        .await
        .expect("approve");
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let uid = if is_root() { nobody().0 } else { rustix::process::getuid().as_raw() };
    let name = fdsync::account::account_name(uid).expect("an account name");
    let expected = format!("{name} (uid {uid})");
    assert_eq!(approved_by(&app), expected);
    assert!(stdout(&out).contains(&format!("approved by {expected}")), "{}", stdout(&out));
    assert!(!stdout(&out).contains("hr-director"), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_approving_through_sudo_is_recorded_as_root_via_sudo() {
    if !is_root() {
        eprintln!("skipped: needs root (SUDO_USER is only believed for uid 0)");
        return;
    }
    let (app, _) = held_app().await;
    let out =
        app.command(&["approve", "1", "--yes"]).env("SUDO_USER", "alice").output().await.expect("approve");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(approved_by(&app), "root (uid 0, via sudo by alice)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_operator_action_sends_one_event_to_the_system_journal_else_to_syslog() {
    let (app, file) = held_app().await;
    let sockets = tempfile::tempdir().expect("tempdir");
    let journal_path = sockets.path().join("journal.sock");
    let journald = std::os::unix::net::UnixDatagram::bind(&journal_path).expect("bind");
    journald.set_nonblocking(true).expect("nonblocking");
    let out = app
        .command(&["approve", "1", "--yes", "--note", "HR 42"])
        .env("FDSYNC_JOURNAL_SOCKET", &journal_path)
        .env("SUDO_USER", "alice")
        .output()
        .await
        .expect("approve");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut buf = vec![0u8; 65536];
    let n = journald.recv(&mut buf).expect("one datagram");
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(journald.recv(&mut buf).is_err(), "one event only");
    let fields: Vec<&str> = text.lines().collect();
    let uid = rustix::process::getuid().as_raw();
    for want in [
        "SYSLOG_IDENTIFIER=fdsync".to_string(),
        "FDSYNC_ACTION=approve".into(),
        "FDSYNC_FILE_ID=1".into(),
        format!("FDSYNC_UID={uid}"),
    ] {
        assert!(fields.contains(&want.as_str()), "{want} in {text}");
    }
    assert!(
        fields.iter().any(|f| f.starts_with("MESSAGE=fdsync approve: file 1 (offboarding.csv) approved by ")),
        "{text}"
    );
    let head: (i64, String) = app
        .journal()
        .query_row("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("chain head");
    assert!(fields.contains(&format!("FDSYNC_CHAIN_HASH={}", head.1).as_str()), "{text}");
    assert!(fields.contains(&format!("FDSYNC_CHAIN_SEQ={}", head.0).as_str()), "{text}");
    if uid == 0 {
        assert!(fields.contains(&"FDSYNC_SUDO_USER=alice"), "{text}");
    }

    // No journal: syslog (RFC 3164, authpriv.notice) gets the prune.
    assert_eq!(code(&app.import(&file, &["--action", "delete_agent"]).await), 0);
    let syslog_path = sockets.path().join("log.sock");
    let syslog = std::os::unix::net::UnixDatagram::bind(&syslog_path).expect("bind");
    let tomorrow = time::OffsetDateTime::now_utc().date().next_day().expect("a tomorrow");
    let out = app
        .command(&["prune", "--yes", "--before", &tomorrow.to_string()])
        .env("FDSYNC_JOURNAL_SOCKET", sockets.path().join("absent.sock"))
        .env("FDSYNC_SYSLOG_SOCKET", &syslog_path)
        .output()
        .await
        .expect("prune");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let n = syslog.recv(&mut buf).expect("one datagram");
    let line = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(line.starts_with("<85>") && line.contains(" fdsync["), "{line}");
    assert!(line.contains("]: fdsync prune: pruned 1 files") && line.contains(" action=prune "), "{line}");
    assert!(line.contains(&format!(" uid={uid} ")), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_root_cli_on_a_state_folder_owned_by_the_service_account_leaves_no_root_owned_file() {
    if !is_root() {
        eprintln!("skipped: needs root (a root CLI on another account's state folder)");
        return;
    }
    let (app, file) = held_app().await;
    let (uid, gid) = nobody();
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(app.dir.path(), mode).expect("chmod");
    chown_all(&app.state_dir(), uid, gid);
    let out =
        app.command(&["approve", "1", "--yes"]).env("SUDO_USER", "alice").output().await.expect("approve");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(approved_by(&app), "root (uid 0, via sudo by alice)", "the person, not the account it ran as");
    assert_eq!(root_owned(&app.state_dir()), Vec::<String>::new(), "after approve");
    // The input file is read as the state folder's owner: it must be readable by it.
    let out = app.import(&file, &["--action", "delete_agent"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(app.sim.counters().agents_deleted, 3);
    let out = app.fdsync(&["retry"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(root_owned(&app.state_dir()), Vec::<String>::new(), "after import and retry");
}
