//! The process exit codes (DESIGN.md, "Command line") and the one mapping from an error to a
//! code. Sits below [`crate::cli`] and [`crate::daemon`] so both return an [`Exit`] without either
//! importing the other; it must not print or exit: `main` turns the value into the process's
//! [`ExitCode`].

use std::error::Error as StdError;
use std::process::ExitCode;

/// Exit codes (DESIGN.md, "Command line").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every row reached a successful outcome.
    Success = 0,
    /// Some rows failed, a file was rejected, or a file is held.
    RowsFailed = 1,
    /// Usage or config error.
    Usage = 2,
    /// Freshdesk refused the credentials or could not be reached; run again to resume.
    Unavailable = 3,
    /// Interrupted (SIGINT/SIGTERM) during a one-shot import; run again to resume.
    Interrupted = 130,
    /// Its output was closed (`fdsync audit | head -1`): 128 + SIGPIPE, as the shell reports a
    /// command a closed pipe ended; nothing is printed.
    ClosedOutput = 141,
}

impl Exit {
    /// The code for a command that failed with an error whose chain of causes is `causes`
    /// (outermost first): config and usage problems (and a state folder another fdsync is
    /// sending from) are [`Exit::Usage`]; anything else unexpected is [`Exit::RowsFailed`].
    pub fn for_error<'a>(mut causes: impl Iterator<Item = &'a (dyn StdError + 'static)>) -> Exit {
        let usage = causes.any(|c| {
            c.is::<crate::config::Error>()
                || matches!(
                    c.downcast_ref::<crate::journal::Error>(),
                    Some(crate::journal::Error::Busy { .. })
                )
        });
        if usage { Exit::Usage } else { Exit::RowsFailed }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_journal_anywhere_in_the_chain_is_a_usage_error() {
        let busy = crate::journal::Error::Busy { path: "/state".into() };
        assert_eq!(Exit::for_error(std::iter::once(&busy as &(dyn StdError + 'static))), Exit::Usage);
    }

    #[test]
    fn any_other_error_means_rows_failed() {
        let io = std::io::Error::other("disk on fire");
        assert_eq!(Exit::for_error(std::iter::once(&io as &(dyn StdError + 'static))), Exit::RowsFailed);
        assert_eq!(Exit::for_error(std::iter::empty()), Exit::RowsFailed);
    }
}
