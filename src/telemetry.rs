//! Logging, initialised once: plain text on stderr (no colours or timestamps under systemd, where
//! `JOURNAL_STREAM` is set and journald stamps lines itself), or JSON when configured. `RUST_LOG`
//! overrides the level.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; a second call does nothing.
pub fn init(default_level: &str, json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let under_systemd = std::env::var_os("JOURNAL_STREAM").is_some();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = if json {
        builder.json().try_init()
    } else if under_systemd {
        builder.with_ansi(false).without_time().with_target(false).try_init()
    } else {
        builder.with_target(false).try_init()
    };
    // Already initialised (tests, or a command that re-initialises after reading its config).
    drop(result);
}
