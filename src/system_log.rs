//! One event per operator action (`approve`, `undo`, `prune`, `retry`) in the system log, outside
//! the journal its actor may be able to write: to the systemd journal when its socket is there
//! (native protocol, one datagram of `KEY=value` lines; journald adds the sender's `_UID`,
//! `_PID` and `_COMM` itself, which no sender can forge), else to syslog (`/dev/log`, an RFC 3164
//! datagram, facility authpriv). Nowhere to send it is not an error: the chain in the journal
//! still has the action (`fdsync audit --verify`).
//!
//! `FDSYNC_JOURNAL_SOCKET` and `FDSYNC_SYSLOG_SOCKET` replace the two socket paths; they exist
//! for the tests (an empty value means "no such socket"). Whoever can set them for an `fdsync`
//! that writes the journal can also write the journal itself: the anchor against that is the
//! daemon's own log of the chain head after each file.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";
const SYSLOG_SOCKET: &str = "/dev/log";
/// syslog facility authpriv (10), severity notice (5).
const FACILITY: u8 = 10;
const SEVERITY: u8 = 5;

/// What an action writes: a one-line message and its fields (names in upper case, `FDSYNC_`
/// prefixed in the journal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub message: String,
    pub fields: Vec<(&'static str, String)>,
}

/// Where an event went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    Journal,
    Syslog,
    Nowhere,
}

fn socket(var: &str, default: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(v) if v.is_empty() => None,
        Some(v) => Some(PathBuf::from(v)),
        None => Some(PathBuf::from(default)),
    }
}

/// Sends `event` to the journal, else to syslog; never fails (a failure is logged).
pub fn send(event: &Event) -> Sent {
    let send_to = |path: Option<PathBuf>, bytes: &[u8]| -> bool {
        let Some(path) = path else { return false };
        UnixDatagram::unbound().and_then(|s| s.send_to(bytes, &path)).is_ok()
    };
    if send_to(socket("FDSYNC_JOURNAL_SOCKET", JOURNAL_SOCKET), &journal_datagram(event)) {
        return Sent::Journal;
    }
    if send_to(socket("FDSYNC_SYSLOG_SOCKET", SYSLOG_SOCKET), syslog_datagram(event).as_bytes()) {
        return Sent::Syslog;
    }
    tracing::warn!("Neither the system journal nor syslog took the event; the audit chain has it.");
    Sent::Nowhere
}

/// One line, no control characters (a value from outside cannot start a field of its own).
fn line(v: &str) -> String {
    crate::text::Escaped(v).to_string()
}

/// The journal's native protocol: `KEY=value\n` per field (values are single lines).
pub fn journal_datagram(event: &Event) -> Vec<u8> {
    let mut out = format!(
        "MESSAGE={}\nPRIORITY={SEVERITY}\nSYSLOG_FACILITY={FACILITY}\nSYSLOG_IDENTIFIER=fdsync\n",
        line(&event.message)
    );
    for (k, v) in &event.fields {
        out.push_str(&format!("FDSYNC_{}={}\n", k.to_ascii_uppercase(), line(v)));
    }
    out.into_bytes()
}

/// RFC 3164: `<PRI>Mmm dd hh:mm:ss fdsync[PID]: message key=value ...` (UTC).
pub fn syslog_datagram(event: &Event) -> String {
    let now = time::OffsetDateTime::now_utc();
    let stamp = now
        .format(time::macros::format_description!(
            "[month repr:short] [day padding:space] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default();
    let fields: Vec<String> = event
        .fields
        .iter()
        .map(|(k, v)| format!("{}={}", k.to_ascii_lowercase(), line(v).replace(' ', "_")))
        .collect();
    format!(
        "<{}>{stamp} fdsync[{}]: {} {}",
        u16::from(FACILITY) * 8 + u16::from(SEVERITY),
        std::process::id(),
        line(&event.message),
        fields.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event {
            message: "file 3 approved by alice (uid 1000)\nFAKE=1".into(),
            fields: vec![("action", "approve".into()), ("uid", "1000".into()), ("note", "a\nUID=0".into())],
        }
    }

    #[test]
    fn a_journal_datagram_is_one_line_per_field_and_no_value_starts_a_field() {
        let text = String::from_utf8(journal_datagram(&event())).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "MESSAGE=file 3 approved by alice (uid 1000)\\nFAKE=1");
        assert!(
            lines.contains(&"FDSYNC_ACTION=approve") && lines.contains(&"FDSYNC_NOTE=a\\nUID=0"),
            "{text}"
        );
        assert!(lines.contains(&"SYSLOG_IDENTIFIER=fdsync") && lines.contains(&"PRIORITY=5"), "{text}");
        assert!(!text.lines().any(|l| l.starts_with("UID=") || l.starts_with("FAKE=")), "{text}");
    }

    #[test]
    fn a_syslog_datagram_is_rfc_3164_authpriv_notice() {
        let text = syslog_datagram(&event());
        assert!(text.starts_with("<85>"), "{text}");
        assert!(text.contains(&format!(" fdsync[{}]: file 3 approved", std::process::id())), "{text}");
        assert!(text.contains(" action=approve uid=1000 ") && !text.contains('\n'), "{text}");
    }
}
