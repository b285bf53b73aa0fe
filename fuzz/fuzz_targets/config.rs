//! `Settings::from_toml` on arbitrary UTF-8: never panics, and no error message ever repeats the
//! marker `SECRET-MARKER` when the input carries it ("config syntax errors never echo a secret").
//! The marker may sit in any value (or anywhere else in the text): a message that quotes the
//! offending line of the file quotes whatever is on it.
//!
//! Environment lookups: `from_toml` resolves `[auth]` secrets through the process environment
//! (`FDSYNC_API_KEY`, ...). The target clears those variables once so runs are reproducible.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Once;

const MARKER: &str = "SECRET-MARKER";

static INIT: Once = Once::new();

fn init() {
    INIT.call_once(|| {
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().into_owned();
            if k.starts_with("FDSYNC_") || k == "CREDENTIALS_DIRECTORY" {
                // SAFETY: called once, before anything else in this process reads the environment.
                unsafe { std::env::remove_var(&k) };
            }
        }
    });
}

fuzz_target!(|text: &str| {
    init();
    match fdsync::config::Settings::from_toml(text) {
        Ok(settings) => {
            // A valid config prints (Debug) without the secret: secrecy redacts it.
            let shown = format!("{settings:?}");
            if text.contains(MARKER) {
                assert!(
                    !shown.contains(MARKER) || !secret_only(text),
                    "Settings' Debug output shows a secret value: {shown}"
                );
            }
        }
        Err(e) => {
            let message = e.to_string();
            if text.contains(MARKER) {
                assert!(!message.contains(MARKER), "a config error echoes the secret marker: {message}");
            }
            let _ = format!("{e:?}");
        }
    }
});

/// The marker appears only in secret-valued keys (`api_key`, `password`, `client_secret`), so a
/// Debug that shows it shows a secret. Elsewhere (a domain, a path) Debug may show it.
fn secret_only(text: &str) -> bool {
    text.lines().filter(|l| l.contains(MARKER)).all(|l| {
        let key = l.split('=').next().unwrap_or("").trim();
        matches!(key, "api_key" | "password" | "client_secret")
    })
}
