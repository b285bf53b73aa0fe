//! Telling systemd the truth through `sd_notify`: READY once serving, STATUS lines, WATCHDOG
//! pings, RELOADING and STOPPING. Every call is a no-op when `NOTIFY_SOCKET` is unset (a shell,
//! a test), and a failed send is logged at debug level only: systemd's absence is not an error.

use sd_notify::NotifyState;
use std::time::Duration;

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "sd_notify failed.");
    }
}

/// Startup is finished: the journal is open, the engine and the watchers run.
pub(super) fn ready() {
    send(&[NotifyState::Ready]);
}

/// A one-line, human-readable summary shown by `systemctl status`.
pub(super) fn status(line: &str) {
    send(&[NotifyState::Status(line)]);
}

/// The main loop is alive.
pub(super) fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// A clean stop has begun.
pub(super) fn stopping() {
    send(&[NotifyState::Stopping]);
}

/// A reload (SIGHUP) has begun; [`reloaded`] ends it.
pub(super) fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// The reload is over (applied or refused): serving again.
pub(super) fn reloaded() {
    send(&[NotifyState::Ready]);
}

/// How often to ping the watchdog: half its timeout, when systemd enabled one for us.
pub(super) fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|d| (d / 2).max(Duration::from_millis(100)))
}
