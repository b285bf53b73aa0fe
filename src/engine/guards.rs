//! The volume guards, which catch the wrong file and not only the big one: before a file's
//! first delete, its deletes are counted against `safety.max_deletes_per_file` and against
//! `safety.max_deletes_percent` of the account's current agents (from the agent directory). A
//! file that trips a rule is held with a reason naming every rule it tripped; a file whose
//! share cannot be told (the listing is unreadable) is held too. An approved file passes.

use super::directory::AgentDirectory;
use super::ports::Api;
use super::send::Sender;
use crate::domain::Action;
use crate::journal::{self, Journal};
use std::collections::HashSet;

/// The volume rules, from `[safety]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VolumeRules {
    pub max_deletes_per_file: u32,
    /// 0 = no such rule.
    pub max_deletes_percent: f64,
}

/// Files that passed (approved, or within the rules) during this run.
#[derive(Default)]
pub(crate) struct FileGate {
    passed: tokio::sync::Mutex<HashSet<i64>>,
}

impl FileGate {
    /// `Ok(())` when the file's deletes may run, else the hold reason.
    pub(crate) async fn check<A: Api>(
        &self,
        file_id: i64,
        rules: VolumeRules,
        journal: &Journal,
        sender: &Sender<A>,
        directory: &AgentDirectory,
    ) -> journal::Result<Result<(), String>> {
        let mut passed = self.passed.lock().await;
        if passed.contains(&file_id) {
            return Ok(Ok(()));
        }
        if journal.file(file_id).await?.is_some_and(|f| f.approved_at.is_some()) {
            passed.insert(file_id);
            return Ok(Ok(()));
        }
        let deletes = journal.count_action(file_id, Action::DeleteAgent.as_str()).await?;
        let agents = if rules.max_deletes_percent > 0.0 { Some(directory.count(sender).await) } else { None };
        let reasons = reasons(deletes, rules, agents);
        if reasons.is_empty() {
            passed.insert(file_id);
            return Ok(Ok(()));
        }
        Ok(Err(format!("{}; check it, then `fdsync approve {file_id}`", reasons.join("; "))))
    }
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

    const RULES: VolumeRules = VolumeRules { max_deletes_per_file: 25, max_deletes_percent: 10.0 };

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
    fn an_unknown_agent_count_holds_deletes_but_not_a_file_without_any() {
        let r = reasons(1, RULES, Some(Err("HTTP 200 with an unreadable answer".into())));
        assert!(r[0].contains("cannot count") && r[0].contains("deletes wait"), "{r:?}");
        assert!(reasons(0, RULES, Some(Err("x".into()))).is_empty());
    }
}
