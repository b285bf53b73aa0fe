//! The account's roles (`GET roles`), for `safety.protected_roles` and the preview's role names.
//! Fails closed: while the list cannot be read, or a protected role name is not on it, every
//! delete waits (its file is held with the reason); it is asked again at most once a minute.

use crate::engine::cached::Cached;
use crate::engine::ports::Api;
use crate::engine::send::Sender;
use crate::freshdesk::EndpointClass;
use crate::text::Shown;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How long a read list is trusted.
const TTL: Duration = Duration::from_secs(600);
/// How soon an unreadable list is asked again.
const RETRY: Duration = Duration::from_secs(60);

/// Role id → name.
pub(crate) type RoleNames = Arc<HashMap<u64, String>>;

pub(crate) struct RoleBook {
    cache: Cached<RoleNames>,
}

impl RoleBook {
    pub(crate) fn new() -> Self {
        Self { cache: Cached::new(TTL, RETRY) }
    }

    /// Every role of the account by id, or why that is not known.
    pub(crate) async fn names<A: Api>(&self, sender: &Sender<A>) -> Result<RoleNames, String> {
        let read = || async {
            match sender.read(EndpointClass::Other, |api| api.list_roles()).await {
                Ok((roles, _)) => Ok(Arc::new(roles.into_iter().map(|r| (r.id, r.name)).collect())),
                Err(why) => {
                    tracing::warn!(reason = %why, "Cannot read the account's roles; deletes wait until it can.");
                    Err(why)
                }
            }
        };
        self.cache
            .get(read)
            .await
            .map_err(|why| format!("cannot read the account's roles ({why}); deletes wait"))
    }

    /// The ids of the roles named in `protected` (case-insensitive). `Err` when the roles
    /// cannot be read or a name is not one of the account's roles: deletes wait either way.
    pub(crate) async fn protected<A: Api>(
        &self,
        sender: &Sender<A>,
        protected: &[String],
    ) -> Result<HashMap<u64, String>, String> {
        let names = self.names(sender).await?;
        resolve(&names, protected)
    }
}

/// Resolves protected role names against the account's roles. Pure.
pub(crate) fn resolve(
    names: &HashMap<u64, String>,
    protected: &[String],
) -> Result<HashMap<u64, String>, String> {
    let mut ids = HashMap::new();
    for wanted in protected {
        let found: Vec<_> = names.iter().filter(|(_, n)| n.trim().eq_ignore_ascii_case(wanted)).collect();
        if found.is_empty() {
            let mut known: Vec<&str> = names.values().map(String::as_str).collect();
            known.sort_unstable();
            return Err(format!(
                "safety.protected_roles names '{}', which is not one of the account's roles ({}); deletes wait",
                Shown(wanted),
                Shown(&known.join(", "))
            ));
        }
        ids.extend(found.into_iter().map(|(id, n)| (*id, n.clone())));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> HashMap<u64, String> {
        HashMap::from([(1, "Account Administrator".into()), (2, "Administrator".into()), (4, "Agent".into())])
    }

    #[test]
    fn protected_names_resolve_case_insensitively() {
        let ids = resolve(&names(), &["administrator".into(), "Account Administrator".into()]).unwrap();
        assert_eq!(ids.len(), 2);
        assert!(ids.contains_key(&1) && ids.contains_key(&2));
    }

    #[test]
    fn a_name_the_account_does_not_have_makes_deletes_wait() {
        let err = resolve(&names(), &["Administrators".into()]).unwrap_err();
        assert!(
            err.contains("'Administrators'") && err.contains("Agent") && err.contains("deletes wait"),
            "{err}"
        );
    }
}
