//! A config syntax error, told without the config's text: `toml`'s own message quotes the
//! offending line, which may hold a secret (`api_kye = "..."` misspelled is still a key). This
//! builds "line L, column C, key `section.key`: message" from the error's span and message
//! alone, with any quoted value in the message replaced.

use crate::text::Shown;

/// The safe message for a `toml` error in `text`.
pub(crate) fn describe(text: &str, err: &toml::de::Error) -> String {
    let message = redact(err.message());
    let Some(span) = err.span() else { return message };
    let at = span.start.min(text.len());
    let before = text.get(..at).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    match key_path(text, line_start) {
        Some(key) => format!("line {line}, column {column}, key `{}`: {message}", Shown(&key)),
        None => format!("line {line}, column {column}: {message}"),
    }
}

/// `section.key` for the line starting at `line_start`: the last `[section]` header above it and
/// the bare key before the line's `=`, if it has the shape of a key.
fn key_path(text: &str, line_start: usize) -> Option<String> {
    let rest = text.get(line_start..)?;
    let line = rest.lines().next().unwrap_or("");
    let key = line.split_once('=').map(|(k, _)| k.trim())?;
    let is_key = |s: &str| {
        !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    if !is_key(key) {
        return None;
    }
    let section = text.get(..line_start)?.lines().rev().find_map(|l| {
        let l = l.trim();
        let inner = l.strip_prefix("[[").and_then(|l| l.strip_suffix("]]"));
        let inner = inner.or_else(|| l.strip_prefix('[').and_then(|l| l.strip_suffix(']')))?;
        is_key(inner.trim()).then(|| inner.trim().to_string())
    });
    Some(match section {
        Some(s) => format!("{s}.{key}"),
        None => key.to_string(),
    })
}

/// The message with every double-quoted part (a value serde may quote back) replaced by `"…"`.
fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut parts = message.split('"');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (i, part) in parts.enumerate() {
        if i % 2 == 0 {
            out.push_str("\"…\"");
        } else {
            out.push_str(part);
        }
    }
    Shown(out.trim()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_of(text: &str) -> String {
        let e = toml::from_str::<crate::config::RawConfig>(text).unwrap_err();
        describe(text, &e)
    }

    #[test]
    fn a_misspelled_secret_key_is_named_but_its_value_is_not_shown() {
        let text = "[freshdesk]\ndomain = \"acme\"\n\n[auth]\napi_kye = \"hunter2-SECRET\"\n";
        let msg = err_of(text);
        assert!(!msg.contains("hunter2"), "{msg}");
        assert!(msg.contains("line 5, column 1, key `auth.api_kye`"), "{msg}");
        assert!(msg.contains("api_kye"), "{msg}");
    }

    #[test]
    fn a_broken_line_or_a_wrong_value_type_does_not_echo_the_text() {
        let msg = err_of("[freshdesk]\ndomain = \"acme\"\n[auth]\napi_key = \"SECRET-1\n");
        assert!(!msg.contains("SECRET"), "{msg}");
        assert!(msg.starts_with("line 4"), "{msg}");
        let msg = err_of("[freshdesk]\ndomain = \"acme\"\n[limits]\nconcurrency = \"SECRET-2\"\n");
        assert!(!msg.contains("SECRET") && msg.contains("limits.concurrency"), "{msg}");
    }

    /// The fuzzer's reproducers (`fuzz/artifacts/config/`): no config error may carry the text
    /// of a value, whatever shape the mistake has.
    #[test]
    fn the_fuzzers_secret_leaks_stay_fixed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/artifacts/config");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("the reproducers are committed") {
            let text = std::fs::read_to_string(entry.expect("entry").path()).expect("utf-8");
            let msg = match crate::config::Settings::from_toml(&text) {
                Ok(_) => continue,
                Err(e) => e.to_string(),
            };
            assert!(!msg.contains("SECRET-MARKER"), "{text:?} -> {msg}");
            seen += 1;
        }
        assert!(seen >= 4, "{seen} reproducers read");
    }
}
