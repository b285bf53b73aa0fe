//! Asking before a command changes something, as `approve` and `undo` do: the command shows what
//! it will do, then asks `[y/N]` on the terminal. Without a terminal nothing is asked and the
//! command refuses (exit 2; scripts pass `--yes`). Who is confirming is `crate::account::Actor`.

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
