//! One [`Pacer`] per Freshdesk account: the quota belongs to the account, not to a key, so
//! connections to the same account (host and port of the base URL) share one pacer and one
//! budget, and connections to different accounts never wait for each other. It only hands out
//! pacers; it must not pace (that is [`Pacer`]).

use super::{Pacer, PacerConfig};
use crate::config::{Settings, account_of};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The pacers of the accounts seen so far, by account.
#[derive(Default)]
pub struct Accounts {
    pacers: Mutex<HashMap<String, Arc<Pacer>>>,
}

impl Accounts {
    pub fn new() -> Self {
        Self::default()
    }

    /// The pacer of the account `settings` talk to, sized by the first connection to it (the
    /// config refuses connections to one account that disagree on its quota).
    pub fn pacer_for(&self, settings: &Settings) -> Arc<Pacer> {
        let account = account_of(&settings.freshdesk.base_url);
        let mut pacers = self.pacers.lock().unwrap_or_else(|e| e.into_inner());
        pacers
            .entry(account)
            .or_insert_with(|| Pacer::new(PacerConfig::from_limits(&settings.limits)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_to_one_account_share_a_pacer_and_other_accounts_get_their_own() {
        let a = Settings::for_simulator("http://127.0.0.1:8089", "k");
        let mut a2 = a.clone();
        a2.connection = "other-key".into();
        let b = Settings::for_simulator("http://127.0.0.1:8090", "k");
        let accounts = Accounts::new();
        let pa = accounts.pacer_for(&a);
        assert!(Arc::ptr_eq(&pa, &accounts.pacer_for(&a2)), "same host and port: one budget");
        assert!(!Arc::ptr_eq(&pa, &accounts.pacer_for(&b)), "another port is another account");
    }
}
