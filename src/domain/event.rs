//! The events a notification can be about: stored in the journal's outbox, chosen in
//! `[[notify]] on`.

/// What can be notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NotifyEvent {
    /// A file waits for `fdsync approve`.
    Held,
    /// A file could not be read as a whole; nothing from it was sent.
    Failed,
    /// A file finished with failed or invalid rows.
    Rejected,
    /// A file finished with every row successful.
    Done,
    /// Freshdesk refused the credentials (once per episode).
    CredentialsRefused,
    /// Freshdesk answered only 429 for over a minute (once per episode).
    RateLimitedLong,
}

impl NotifyEvent {
    pub const ALL: [NotifyEvent; 6] = [
        NotifyEvent::Held,
        NotifyEvent::Failed,
        NotifyEvent::Rejected,
        NotifyEvent::Done,
        NotifyEvent::CredentialsRefused,
        NotifyEvent::RateLimitedLong,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotifyEvent::Held => "held",
            NotifyEvent::Failed => "failed",
            NotifyEvent::Rejected => "rejected",
            NotifyEvent::Done => "done",
            NotifyEvent::CredentialsRefused => "credentials_refused",
            NotifyEvent::RateLimitedLong => "rate_limited_long",
        }
    }
}

impl std::str::FromStr for NotifyEvent {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let names: Vec<&str> = Self::ALL.iter().map(|e| e.as_str()).collect();
        Self::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("'{s}' is not one of {}", names.join(", ")))
    }
}
