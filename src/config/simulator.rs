//! The one scaffold for pointing fdsync at a loopback stand-in for Freshdesk (the `fdsync-sim`
//! simulator, or a test's misbehaving server): [`Settings::for_simulator`] for in-process use and
//! [`simulator_toml`] for a config *file* the binary reads. Tests, benches and `fdsync demo` use
//! it. It only writes the base URL, API key and state folder (and the caller's extra TOML); it
//! must not add defaults of its own, so what a caller does not set is what a real config gets.

use super::Settings;
use std::path::Path;
use toml::{Table, Value};

impl Settings {
    /// Settings for a simulator at `base_url` (plain http on loopback is allowed) with API-key
    /// auth and every other key at its default (state folder `/var/lib/fdsync`: set
    /// `state_dir` if the caller writes a journal). Callers adjust the public fields.
    ///
    /// # Panics
    /// If `base_url` is not a URL fdsync accepts (e.g. plain http off loopback), or no key results
    /// (an empty `api_key` falls back to `FDSYNC_API_KEY`, as in a file): a scaffold for tests,
    /// benches and the demo, not for operator input.
    pub fn for_simulator(base_url: &str, api_key: &str) -> Settings {
        let text = toml::to_string(&base(base_url, api_key)).expect("a table serialises");
        Settings::from_toml(&text).unwrap_or_else(|e| panic!("settings for the simulator at {base_url}: {e}"))
    }
}

/// The text of a config file for a simulator at `base_url`: `[freshdesk] base_url`, `[auth]
/// api_key`, `[state] dir`, and `extra` merged over them. A table in `extra` adds to (or
/// overrides keys of) the table of the same name, so `"[freshdesk]\nrequest_timeout_secs = 2"`
/// sets a timeout beside the base URL; any other top-level key (`[[inbox]]`) is taken as is.
///
/// # Panics
/// If `extra` is not TOML (it is written by tests, benches and the demo, not by operators).
pub fn simulator_toml(base_url: &str, api_key: &str, state_dir: &Path, extra: &str) -> String {
    let mut config = base(base_url, api_key);
    // Lossy, as `Path::display` was in the hand-written configs this replaces.
    let dir = Value::from(state_dir.to_string_lossy().as_ref());
    config.insert("state".into(), Value::Table(Table::from_iter([("dir".into(), dir)])));
    let extra: Table = extra.parse().unwrap_or_else(|e| panic!("extra config is not TOML: {e}"));
    merge(&mut config, extra);
    toml::to_string(&config).expect("a table serialises")
}

/// `[freshdesk] base_url` and `[auth] api_key`.
fn base(base_url: &str, api_key: &str) -> Table {
    let table =
        |key: &str, value: &str| Value::Table(Table::from_iter([(key.to_string(), Value::from(value))]));
    Table::from_iter([
        ("freshdesk".to_string(), table("base_url", base_url)),
        ("auth".to_string(), table("api_key", api_key)),
    ])
}

/// Merges `extra` into `into`, one level deep: tables extend tables, anything else replaces.
fn merge(into: &mut Table, extra: Table) {
    for (key, value) in extra {
        match (into.get_mut(&key), value) {
            (Some(Value::Table(have)), Value::Table(add)) => have.extend(add),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn simulator_settings_point_at_the_url_with_the_key_and_defaults_elsewhere() {
        let s = Settings::for_simulator("http://127.0.0.1:8089", "sim-key");
        assert_eq!(s.freshdesk.base_url.as_str(), "http://127.0.0.1:8089/");
        assert_eq!(s.limits.concurrency, 8);
        assert_eq!(s.freshdesk.request_timeout, Duration::from_secs(60));
    }

    #[test]
    fn extra_tables_extend_the_simulator_config_instead_of_repeating_it() {
        let extra = "[freshdesk]\nrequest_timeout_secs = 2\n[limits]\nconcurrency = 3\n\
                     [[inbox]]\ndir = \"/tmp/in\"\naction = \"create_ticket\"\n";
        let text = simulator_toml("http://127.0.0.1:8089", "sim-key", Path::new("/tmp/st \"x\""), extra);
        let s = Settings::from_toml(&text).unwrap();
        assert_eq!(s.freshdesk.base_url.as_str(), "http://127.0.0.1:8089/");
        assert_eq!(s.freshdesk.request_timeout, Duration::from_secs(2));
        assert_eq!(s.limits.concurrency, 3);
        assert_eq!(s.state_dir, Path::new("/tmp/st \"x\""));
        assert_eq!(s.inboxes.len(), 1);
    }
}
