//! The file guards, which catch the wrong file and not only the big one. Both hold a file until
//! `fdsync approve`; an approved file passes.
//!
//! - Volume, over a window: before a file's first delete, its deletes plus the other deletes of
//!   the same Freshdesk account (every connection to it) sent within `safety.window_hours`, plus
//!   those waiting in files that run now and are earlier or approved, are counted against
//!   `safety.max_deletes_per_file` and `safety.max_deletes_percent` of the account's current
//!   agents (from the agent directory). Splitting a file does not dodge them, and a restart does
//!   not reset them (they are read from the journal). The reason names every rule tripped and
//!   the earlier files counted. A file whose share cannot be told is held too. Earlier files win:
//!   a later file's waiting deletes never count against an earlier one.
//! - Grants: before a file's first `create_agent` (or SCIM `activate_contact`), a row granting a role named in
//!   `safety.protected_roles` (resolved through the account's roles) holds the file, naming the
//!   row and the role; while the roles cannot be read, a file with rows naming roles waits.

use super::directory::AgentDirectory;
use super::roles::RoleBook;
use crate::domain::Action;
use crate::engine::ports::Api;
use crate::engine::send::Sender;
use crate::journal::{self, Grant, Journal, OtherDeletes, now_ms};
use crate::text::shown;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// The volume rules, from `[safety]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VolumeRules {
    pub max_deletes_per_file: u32,
    /// 0 = no such rule.
    pub max_deletes_percent: f64,
    /// Deletes sent this long ago or less count (`safety.window_hours`).
    pub window: Duration,
}

/// Which guard a file passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Guard {
    Volume,
    Grants,
}

/// Files that passed a guard (approved, or within the rules) during this run.
#[derive(Default)]
pub(crate) struct FileGate {
    passed: tokio::sync::Mutex<HashSet<(i64, Guard)>>,
}

/// Where a file's deletes go: the connections to its Freshdesk account.
pub(crate) struct Account<'a> {
    pub(crate) connections: &'a [String],
}

impl FileGate {
    /// `Ok(())` when the file's deletes may run, else the hold reason.
    pub(crate) async fn check<A: Api>(
        &self,
        file_id: i64,
        rules: VolumeRules,
        account: Account<'_>,
        journal: &Journal,
        sender: &Sender<A>,
        directory: &AgentDirectory,
    ) -> journal::Result<Result<(), String>> {
        let mut passed = self.passed.lock().await;
        if passed.contains(&(file_id, Guard::Volume)) {
            return Ok(Ok(()));
        }
        if journal.file(file_id).await?.is_some_and(|f| f.approved_at.is_some()) {
            passed.insert((file_id, Guard::Volume));
            return Ok(Ok(()));
        }
        let own = journal.count_action(file_id, Action::DeleteAgent.as_str()).await?;
        let window_ms = i64::try_from(rules.window.as_millis()).unwrap_or(i64::MAX / 2);
        let since = now_ms().saturating_sub(window_ms);
        let others = journal.other_deletes(file_id, account.connections.to_vec(), since).await?;
        let total = own + others.total();
        let agents = if rules.max_deletes_percent > 0.0 { Some(directory.count(sender).await) } else { None };
        let mut reasons = reasons(total, rules, agents);
        if reasons.is_empty() {
            passed.insert((file_id, Guard::Volume));
            return Ok(Ok(()));
        }
        if others.total() > 0 {
            reasons.push(window_note(own, &others, rules.window));
        }
        Ok(Err(format!("{}; check it, then `fdsync approve {file_id}`", reasons.join("; "))))
    }

    /// `Ok(())` when the file's `create_agent` rows may run, else the hold reason.
    pub(crate) async fn check_grants<A: Api>(
        &self,
        file_id: i64,
        protected: &[String],
        journal: &Journal,
        sender: &Sender<A>,
        roles: &RoleBook,
    ) -> journal::Result<Result<(), String>> {
        let mut passed = self.passed.lock().await;
        if protected.is_empty() || passed.contains(&(file_id, Guard::Grants)) {
            return Ok(Ok(()));
        }
        if journal.file(file_id).await?.is_some_and(|f| f.approved_at.is_some()) {
            passed.insert((file_id, Guard::Grants));
            return Ok(Ok(()));
        }
        let grants = journal.agent_grants(file_id).await?;
        if grants.is_empty() {
            passed.insert((file_id, Guard::Grants));
            return Ok(Ok(()));
        }
        let found = match roles.protected(sender, protected).await {
            Ok(ids) => grant_reasons(&grants, &ids),
            Err(why) => vec![format!(
                "row {} grants roles, and whether they are protected cannot be told: {}",
                grants[0].0,
                why.trim_end_matches("; deletes wait")
            )],
        };
        if found.is_empty() {
            passed.insert((file_id, Guard::Grants));
            return Ok(Ok(()));
        }
        Ok(Err(format!(
            "{} (safety.protected_roles); check it, then `fdsync approve {file_id}`",
            found.join("; ")
        )))
    }
}

/// Rows named at most in a grants reason.
const NAMED_ROWS: usize = 5;

/// The rows that grant a protected role (`protected`: id → name), each with the role. Pure.
pub(crate) fn grant_reasons(grants: &[Grant], protected: &HashMap<u64, String>) -> Vec<String> {
    let hits: Vec<String> = grants
        .iter()
        .filter_map(|(row, email, ids)| {
            let name = ids.iter().find_map(|id| protected.get(id))?;
            Some(format!("row {row} creates {} with the role '{}'", shown(email), shown(name)))
        })
        .collect();
    let more = hits.len().saturating_sub(NAMED_ROWS);
    let mut out: Vec<String> = hits.into_iter().take(NAMED_ROWS).collect();
    if more > 0 {
        out.push(format!("and {more} more such rows"));
    }
    out
}

/// How a window's count was made, for a hold reason. Pure.
fn window_note(own: u64, others: &OtherDeletes, window: Duration) -> String {
    let list =
        |v: &[(i64, u64)]| v.iter().map(|(f, n)| format!("file {f}: {n}")).collect::<Vec<_>>().join(", ");
    let mut parts = vec![format!("{own} in this file")];
    if !others.sent.is_empty() {
        parts.push(format!("sent on this account in the window ({})", list(&others.sent)));
    }
    if !others.waiting.is_empty() {
        parts.push(format!("waiting in earlier or approved files ({})", list(&others.waiting)));
    }
    let hours = window.as_secs_f64() / 3600.0;
    format!("counted over safety.window_hours = {hours}: {}", parts.join(", "))
}

/// Every volume rule `deletes` trips, given the account's agent count (or why it is unknown;
/// `None` when the percentage rule is off). Pure.
pub(crate) fn reasons(
    deletes: u64,
    rules: VolumeRules,
    agents: Option<Result<usize, String>>,
) -> Vec<String> {
    let mut out = Vec::new();
    if deletes > u64::from(rules.max_deletes_per_file) {
        out.push(format!(
            "{deletes} deletes exceed safety.max_deletes_per_file = {}",
            rules.max_deletes_per_file
        ));
    }
    match agents {
        None => {}
        Some(Err(why)) if deletes > 0 => out.push(format!(
            "cannot count the account's agents for safety.max_deletes_percent ({why}); deletes wait"
        )),
        Some(Err(_)) => {}
        Some(Ok(agents)) => {
            let allowed = agents as f64 * rules.max_deletes_percent / 100.0;
            if deletes as f64 > allowed {
                let share = if agents == 0 { 100.0 } else { deletes as f64 * 100.0 / agents as f64 };
                out.push(format!(
                    "{deletes} deletes are {share:.0}% of the account's {agents} agents, over \
                     safety.max_deletes_percent = {}",
                    rules.max_deletes_percent
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: VolumeRules = VolumeRules {
        max_deletes_per_file: 25,
        max_deletes_percent: 10.0,
        window: Duration::from_secs(86400),
    };

    #[test]
    fn a_full_export_trips_both_rules_and_names_both() {
        let r = reasons(60, RULES, Some(Ok(60)));
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(
            r[0].contains("max_deletes_per_file = 25") && r[1].contains("100% of the account's 60 agents")
        );
    }

    #[test]
    fn the_share_is_of_current_agents_and_its_boundary_runs() {
        assert!(reasons(10, RULES, Some(Ok(100))).is_empty(), "exactly 10% runs");
        assert_eq!(reasons(11, RULES, Some(Ok(100))).len(), 1, "one more is held");
        assert!(reasons(3, VolumeRules { max_deletes_percent: 0.0, ..RULES }, None).is_empty(), "0 = off");
    }

    #[test]
    fn exactly_max_deletes_per_file_runs_and_one_more_is_held() {
        let per_file_only = VolumeRules { max_deletes_percent: 0.0, ..RULES };
        assert!(reasons(25, per_file_only, None).is_empty(), "exactly the maximum runs");
        assert_eq!(reasons(26, per_file_only, None).len(), 1, "one more is held");
    }

    #[test]
    fn the_window_note_names_the_earlier_files() {
        let others = OtherDeletes { sent: vec![(1, 3)], waiting: vec![(4, 2)] };
        let note = window_note(3, &others, Duration::from_secs(86400));
        assert_eq!(
            note,
            "counted over safety.window_hours = 24: 3 in this file, sent on this account in the window \
             (file 1: 3), waiting in earlier or approved files (file 4: 2)"
        );
    }

    #[test]
    fn a_row_granting_a_protected_role_is_named_with_the_role() {
        let grants = vec![(1, "a@x.com".to_string(), vec![4]), (2, "b@x.com".to_string(), vec![4, 1])];
        let protected = HashMap::from([(1, "Account Administrator".to_string())]);
        assert_eq!(
            grant_reasons(&grants, &protected),
            ["row 2 creates b@x.com with the role 'Account Administrator'"]
        );
        assert!(grant_reasons(&grants[..1], &protected).is_empty());
    }

    #[test]
    fn an_unknown_agent_count_holds_deletes_but_not_a_file_without_any() {
        let r = reasons(1, RULES, Some(Err("HTTP 200 with an unreadable answer".into())));
        assert!(r[0].contains("cannot count") && r[0].contains("deletes wait"), "{r:?}");
        assert!(reasons(0, RULES, Some(Err("x".into()))).is_empty());
    }
}
