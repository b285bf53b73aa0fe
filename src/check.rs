//! `fdsync check`: one pass over what a run needs (base URL, credentials and whose they are,
//! agent-management rights, the plan's quota, inbox folders, the state directory) reported as
//! one line per finding, with the CLI's exit code. The config was already loaded and validated.

use crate::config::Settings;
use crate::config::auth::AuthMethod;
use crate::freshdesk::{Answer, Client, Me, Reply};
use std::fmt;
use std::path::Path;

/// Below this much free space in the state directory, `check` warns.
const LOW_SPACE_BYTES: u64 = 100 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    ConfigError,
    ConnectionError,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    pub line: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub findings: Vec<Finding>,
}

impl CheckReport {
    fn push(&mut self, level: Level, line: impl Into<String>) {
        self.findings.push(Finding { level, line: line.into() });
    }

    /// 0 all good (warnings allowed), 2 a config problem, 3 a connection or credential problem.
    pub fn exit_code(&self) -> u8 {
        let has = |l| self.findings.iter().any(|f| f.level == l);
        if has(Level::ConfigError) {
            2
        } else if has(Level::ConnectionError) {
            3
        } else {
            0
        }
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            let tag = match finding.level {
                Level::Ok => "ok   ",
                Level::Warn => "warn ",
                Level::ConfigError => "error",
                Level::ConnectionError => "error",
            };
            writeln!(f, "{tag} {}", finding.line)?;
        }
        Ok(())
    }
}

/// Runs every check; never panics, never prints a secret.
pub async fn check(settings: &Settings) -> CheckReport {
    let mut report = CheckReport::default();
    report.push(
        Level::Ok,
        format!("config valid; base URL {}; auth {}", settings.freshdesk.base_url, describe_auth(settings)),
    );
    match Client::new(settings) {
        Ok(client) => check_account(&client, &mut report).await,
        Err(e) => report.push(Level::ConfigError, format!("cannot set up the client: {e}")),
    }
    let daemon = DaemonAccount::of(&settings.state_dir);
    for inbox in &settings.inboxes {
        check_inbox(&inbox.dir, &mut report);
        check_inbox_files(&inbox.dir, &daemon, &mut report);
    }
    check_state_dir(&settings.state_dir, &mut report);
    report
}

fn describe_auth(settings: &Settings) -> String {
    let a = &settings.auth;
    let method = match &a.method {
        AuthMethod::ApiKey(_) => "api_key".to_string(),
        AuthMethod::Basic { username, .. } => format!("basic as {username}"),
        AuthMethod::OAuth2(o) => format!(
            "oauth2 ({} grant, {} token)",
            o.grant_type.as_str(),
            match o.token_type {
                crate::config::auth::TokenType::Account => "account",
                crate::config::auth::TokenType::Agent => "agent",
            }
        ),
    };
    format!("{method} in header {} with prefix {:?}", a.header, a.prefix)
}

async fn check_account(client: &Client, report: &mut CheckReport) {
    let me = client.me().await;
    if !check_me(&me, report) {
        report.push(Level::Warn, "agent management not checked (not authenticated)");
        return;
    }
    match me.rate.total {
        Some(total) => {
            let left = me.rate.remaining.map(|r| format!(", {r} left now")).unwrap_or_default();
            report.push(Level::Ok, format!("quota: {total} requests per window (X-RateLimit-Total){left}"));
        }
        None => report.push(Level::Warn, "no X-RateLimit-Total header; set limits.requests_per_minute"),
    }
    match client.list_agents(1, 1).await.answer {
        Answer::Ok { .. } => report.push(Level::Ok, "can manage agents (GET agents allowed)"),
        Answer::Forbidden { .. } => report.push(
            Level::Warn,
            "cannot manage agents (403 on GET agents): create_agent, get_agent and delete_agent rows will fail",
        ),
        other => report.push(Level::Warn, format!("agent management unknown: {}", summary(&other))),
    }
}

/// Reports `GET agents/me`; true when the credential was accepted.
fn check_me(me: &Reply<Me>, report: &mut CheckReport) -> bool {
    match &me.answer {
        Answer::Ok { value, .. } => {
            report.push(Level::Ok, format!("authenticates as {} (agent {})", value.email, value.id));
            true
        }
        Answer::NotFound => {
            report.push(
                Level::ConfigError,
                "the base URL answered 404 for agents/me: not a Freshdesk API v2 address (custom domains are not)",
            );
            false
        }
        other => {
            report.push(Level::ConnectionError, format!("cannot authenticate: {}", summary(other)));
            false
        }
    }
}

fn summary<T>(answer: &Answer<T>) -> String {
    match answer {
        Answer::Auth { status, code, message } => {
            format!("credentials refused (HTTP {status} {code}): {message}")
        }
        Answer::Forbidden { code, message } => format!("forbidden ({code}): {message}"),
        other => other.describe().1,
    }
}

fn check_inbox(dir: &Path, report: &mut CheckReport) {
    let shown = dir.display();
    if !dir.is_dir() {
        report.push(Level::ConfigError, format!("inbox {shown} does not exist or is not a directory"));
        return;
    }
    if let Err(e) = std::fs::read_dir(dir) {
        report.push(Level::ConfigError, format!("inbox {shown} is not readable: {}", e.kind()));
        return;
    }
    match probe_write(dir) {
        Ok(()) => report.push(Level::Ok, format!("inbox {shown} is readable and writable")),
        Err(e) => report.push(
            Level::ConfigError,
            format!("inbox {shown} is not writable ({}); fdsync moves taken files out of it", e.kind()),
        ),
    }
}

/// Who the daemon runs as, for telling whether it can read a producer's file: the owner of the
/// state folder (the daemon made it), else whoever runs `check`. Its groups are known only
/// when `check` runs as that account; otherwise it is taken to be in each inbox folder's group,
/// as the packaged unit puts it (`SupplementaryGroups=`).
#[derive(Debug, Clone)]
struct DaemonAccount {
    uid: u32,
    /// `None`: not known (check runs as another account).
    groups: Option<Vec<u32>>,
}

impl DaemonAccount {
    fn of(state_dir: &Path) -> Self {
        use std::os::unix::fs::MetadataExt;
        let me = rustix::process::geteuid().as_raw();
        let uid = std::fs::metadata(state_dir).map_or(me, |m| m.uid());
        let groups = (uid == me).then(|| {
            let mut g: Vec<u32> = rustix::process::getgroups()
                .map(|v| v.into_iter().map(|g| g.as_raw()).collect())
                .unwrap_or_default();
            g.push(rustix::process::getegid().as_raw());
            g
        });
        DaemonAccount { uid, groups }
    }

    /// Whether this account may read a file of `meta` in a folder of group `dir_gid`.
    fn can_read(&self, meta: &std::fs::Metadata, dir_gid: u32) -> bool {
        use std::os::unix::fs::MetadataExt;
        let mode = meta.mode();
        if self.uid == 0 {
            return true;
        }
        if meta.uid() == self.uid {
            return mode & 0o400 != 0;
        }
        let in_group = match &self.groups {
            Some(groups) => groups.contains(&meta.gid()),
            None => meta.gid() == dir_gid,
        };
        if in_group { mode & 0o040 != 0 } else { mode & 0o004 != 0 }
    }
}

/// Warns about files waiting in an inbox that the daemon's account could not read (a
/// producer's umask too tight, or a group other than the inbox's).
fn check_inbox_files(dir: &Path, daemon: &DaemonAccount, report: &mut CheckReport) {
    use std::os::unix::fs::MetadataExt;
    let Ok(dir_meta) = std::fs::metadata(dir) else { return };
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut unreadable: Vec<(String, u32, u32)> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !crate::intake::settle::is_candidate_name(&name) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_file() && !daemon.can_read(&meta, dir_meta.gid()) {
            unreadable.push((name, meta.mode() & 0o7777, meta.uid()));
        }
    }
    unreadable.sort();
    if let Some((name, mode, owner)) = unreadable.first() {
        report.push(
            Level::Warn,
            format!(
                "inbox {}: {} file(s) the daemon (uid {}) cannot read, e.g. {} (mode {mode:04o}, owner uid {owner}): producers must write files readable by the inbox's group (umask 0027)",
                dir.display(),
                unreadable.len(),
                daemon.uid,
                crate::text::Shown(name),
            ),
        );
    }
}

fn check_state_dir(dir: &Path, report: &mut CheckReport) {
    let shown = dir.display();
    if let Err(e) = std::fs::create_dir_all(dir).and_then(|()| probe_write(dir)) {
        report.push(Level::ConfigError, format!("state dir {shown} is not writable: {}", e.kind()));
        return;
    }
    match rustix::fs::statvfs(dir) {
        Ok(st) => {
            let free = st.f_bavail.saturating_mul(st.f_frsize);
            let level = if free < LOW_SPACE_BYTES { Level::Warn } else { Level::Ok };
            report.push(level, format!("state dir {shown} is writable; {} MiB free", free / (1024 * 1024)));
        }
        Err(_) => report.push(Level::Ok, format!("state dir {shown} is writable; free space unknown")),
    }
}

/// Creates and removes a probe file.
fn probe_write(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".fdsync-check-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(levels: &[Level]) -> CheckReport {
        CheckReport {
            findings: levels.iter().map(|l| Finding { level: *l, line: format!("{l:?}") }).collect(),
        }
    }

    #[test]
    fn exit_codes_put_config_problems_before_connection_problems() {
        assert_eq!(report(&[Level::Ok, Level::Warn]).exit_code(), 0);
        assert_eq!(report(&[Level::Ok, Level::ConnectionError]).exit_code(), 3);
        assert_eq!(report(&[Level::ConnectionError, Level::ConfigError]).exit_code(), 2);
    }

    #[test]
    fn the_report_prints_one_line_per_finding() {
        let text = report(&[Level::Ok, Level::Warn, Level::ConfigError]).to_string();
        assert_eq!(text.lines().count(), 3);
        assert!(text.starts_with("ok "));
    }

    #[test]
    fn files_the_daemon_cannot_read_are_warned_about() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, mode: u32| {
            std::fs::write(dir.path().join(name), "x").unwrap();
            std::fs::set_permissions(dir.path().join(name), std::fs::Permissions::from_mode(mode)).unwrap();
        };
        file("ok.csv", 0o640);
        file("tight.csv", 0o600);
        file("upload.csv.part", 0o600);
        let gid = std::fs::metadata(dir.path()).unwrap().gid();
        // A daemon of another account, in the inbox's group (the packaged layout).
        let daemon = DaemonAccount { uid: 4242, groups: None };
        let mut r = CheckReport::default();
        check_inbox_files(dir.path(), &daemon, &mut r);
        assert_eq!(r.findings.len(), 1, "{r}");
        assert_eq!(r.findings[0].level, Level::Warn);
        assert!(r.findings[0].line.contains("1 file(s)") && r.findings[0].line.contains("tight.csv"), "{r}");
        // Outside the file's group, only "others" bits count.
        let outsider = DaemonAccount { uid: 4242, groups: Some(vec![gid.wrapping_add(1)]) };
        let mut r = CheckReport::default();
        check_inbox_files(dir.path(), &outsider, &mut r);
        assert!(r.findings[0].line.contains("2 file(s)"), "{r}");
        // The owner reads its own 0600 file; nothing to say.
        let owner = std::fs::metadata(dir.path().join("tight.csv")).unwrap().uid();
        let std_owner = DaemonAccount { uid: owner, groups: Some(vec![gid]) };
        let mut r = CheckReport::default();
        check_inbox_files(dir.path(), &std_owner, &mut r);
        assert!(r.findings.is_empty() || owner == 0, "{r}");
    }

    #[test]
    fn folders_are_reported_missing_writable_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = CheckReport::default();
        check_inbox(dir.path(), &mut r);
        check_inbox(&dir.path().join("missing"), &mut r);
        check_state_dir(&dir.path().join("state/deep"), &mut r);
        let levels: Vec<Level> = r.findings.iter().map(|f| f.level).collect();
        assert_eq!(levels[..2], [Level::Ok, Level::ConfigError]);
        assert!(r.findings[2].line.contains("MiB free"), "{}", r.findings[2].line);
        assert!(dir.path().join("state/deep").is_dir());
    }
}
