//! Asking before a command changes something, as `approve` and `undo` do: the command shows what
//! it will do, then asks `[y/N]` on the terminal. Without a terminal nothing is asked and the
//! command refuses (exit 2; scripts pass `--yes`). Also who is confirming, for the journal.

use std::io::{IsTerminal, Write};

/// Whether a question can be asked: stdin is a terminal.
pub(super) fn can_ask() -> bool {
    std::io::stdin().is_terminal()
}

/// Prints `question [y/N] ` and reads one line: `y` or `yes` (any case) is yes, anything else no.
pub(super) fn ask(question: &str) -> anyhow::Result<bool> {
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

/// Who is confirming: the user behind `sudo`, else the login name, else the uid.
pub(super) fn approver() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .map(|v| crate::text::shown(&v))
        .unwrap_or_else(|| {
            use std::os::unix::fs::MetadataExt;
            let uid = std::fs::metadata("/proc/self").map(|m| m.uid().to_string());
            format!("uid {}", uid.unwrap_or_else(|_| "unknown".into()))
        })
}
