//! What the identity provider sees of the account's agents (the [`super::directory`] listing,
//! with the journal's `scim_users`: externalId, provider userName, deprovisioned, removed; and
//! `scim_emails`: the provider's `emails` list), and
//! the changes fdsync makes for it, each through [`super::change`]: deprovision
//! (`delete_agent`, before-image saved), re-provision (`make_agent` from that image: same id,
//! roles, groups), attribute changes (`update_agent`: name, e-mail, job title, ticket scope,
//! seat, roles, groups, one `PUT agents/{id}`), and the journal-only `externalId`, provider
//! `userName` and `emails` list.

use super::Scim;
use super::change;
use super::error::ScimError;
use super::mapping::Shown;
use crate::domain::{AgentEdit, AgentRef, Email, Op, Outcome, UndoOf};
use crate::engine::AccountNames;
use crate::engine::ports::Api;
use crate::journal::ScimUser;

impl<A: Api> Scim<A> {
    /// Every user the provider can see: the listed agents, and the deprovisioned ones (from
    /// their before-images), with the journal's `externalId`s.
    pub(super) async fn all_users(&self) -> Result<Vec<Shown>, ScimError> {
        let agents = self.directory.all(&self.engine).await?;
        let rows = self.journal.scim_users().await?;
        let emails = self.journal.scim_emails().await?;
        let mut out = Vec::with_capacity(agents.len());
        for a in agents.values() {
            let row = rows.iter().find(|r| r.agent_id == a.id);
            if row.is_some_and(|r| r.removed) {
                continue;
            }
            if let Some(mut s) = Shown::from_record(&a.record, a.id) {
                remembered(&mut s, row, &emails);
                out.push(s);
            }
        }
        for r in rows.iter().filter(|r| !r.active && !r.removed && !agents.contains_key(&r.agent_id)) {
            out.push(self.deprovisioned(r, &emails).await?);
        }
        Ok(out)
    }

    /// A deprovisioned user, from the record saved before its delete (or one provisioned
    /// inactive, from what it asked to become: [`super::inactive`]).
    pub(super) async fn deprovisioned(&self, r: &ScimUser, emails: &Emails) -> Result<Shown, ScimError> {
        let snapshot = match r.deleted_by {
            Some(f) => self.journal.snapshot(f, 1).await?,
            None => None,
        };
        let found = match snapshot.and_then(|rec| Shown::from_record(&rec, r.agent_id)) {
            Some(s) => Some(self.with_pending(s, r).await?),
            None => self.contact_user(r).await?,
        };
        let mut s = found.unwrap_or(Shown {
            id: r.agent_id,
            email: r.user_name.clone(),
            user_name: None,
            name: None,
            title: None,
            active: false,
            external_id: None,
            scope: None,
            role_ids: None,
            group_ids: None,
            occasional: None,
            emails: None,
        });
        s.active = false;
        remembered(&mut s, Some(r), emails);
        Ok(s)
    }

    /// One user, or 404.
    pub(super) async fn one(&self, id: u64) -> Result<(Shown, Option<ScimUser>), ScimError> {
        let row = self.journal.scim_user(id).await?;
        let emails = self.journal.scim_emails().await?;
        match &row {
            Some(r) if r.removed => return Err(ScimError::not_found("no such user")),
            Some(r) if !r.active => return Ok((self.deprovisioned(r, &emails).await?, row)),
            _ => {}
        }
        let listed = self.directory.all(&self.engine).await?.remove(&id);
        let agent = match listed {
            Some(a) => Some(a),
            None => self
                .engine
                .read_agent(id)
                .await
                .map_err(|why| ScimError::later(30, format!("the agent cannot be read now: {why}")))?,
        };
        let Some(agent) = agent else {
            // Remembered as active but no agent: a deprovision interrupted before its result was
            // applied here. Shown as active, so the provider's retry finds that change again.
            return match row {
                Some(r) => {
                    let mut s = self.deprovisioned(&r, &emails).await?;
                    s.active = true;
                    Ok((s, Some(r)))
                }
                None => Err(ScimError::not_found("no such user")),
            };
        };
        let mut s =
            Shown::from_record(&agent.record, id).ok_or_else(|| ScimError::not_found("no such user"))?;
        remembered(&mut s, row.as_ref(), &emails);
        Ok((s, row))
    }

    /// The account's role and group names (cached by the engine's name book), or 503.
    pub(super) async fn names(&self) -> Result<AccountNames, ScimError> {
        self.engine.account_names().await.map_err(|why| {
            ScimError::later(30, format!("the account's roles and groups cannot be read now: {why}"))
        })
    }

    /// [`Scim::names`] when showing `users` needs them, else none read (a listing's records
    /// show no role or group ids, so a filter cycle costs no read of them).
    pub(super) async fn names_for(&self, users: &[Shown]) -> Result<AccountNames, ScimError> {
        if users.iter().any(Shown::names_ids) { self.names().await } else { Ok(AccountNames::default()) }
    }

    /// Remembers the `emails` list `user` gives (a body, a PATCH's result), when it has one
    /// that differs from `before`'s; the list, when `user` has one.
    pub(super) async fn keep_emails(
        &self,
        id: u64,
        user: &serde_json::Value,
        before: Option<&serde_json::Value>,
    ) -> Result<Option<serde_json::Value>, ScimError> {
        let list =
            |v: &serde_json::Value| super::mapping::member(v, "emails").filter(|e| e.is_array()).cloned();
        let Some(emails) = list(user) else { return Ok(None) };
        if before.and_then(list).as_ref() != Some(&emails) {
            self.journal.put_scim_emails(id, emails.to_string()).await?;
        }
        Ok(Some(emails))
    }

    pub(super) fn nudge(&self) -> impl Fn() + '_ {
        || self.engine.nudge()
    }

    /// Deprovisions: `delete_agent` by id, its before-image saved by the engine.
    pub(super) async fn deprovision(&self, now: &Shown, row: Option<ScimUser>) -> Result<(), ScimError> {
        // Remembered before the delete: a retry after a crash still knows the user.
        let row = match row {
            Some(r) => r,
            None => {
                self.journal.put_scim_user(new_row(now), None).await?;
                new_row(now)
            }
        };
        let version = row.version;
        let op = Op::DeleteAgent { agent: AgentRef::Id(now.id), successor: None };
        let name = format!("scim-deprovision-{}-{}", now.id, now.email);
        let done = change::run(
            &self.journal,
            &self.submit,
            self.nudge(),
            name,
            &format!("delete:{}:{version}", now.id),
            &op,
        )
        .await?;
        match done.line.outcome {
            Some(Outcome::Deleted | Outcome::AlreadyDeleted) => {}
            _ => return Err(refused(&done.line, "deprovisioned")),
        }
        let mut user = row;
        (user.active, user.deleted_by) = (false, Some(done.file_id));
        self.journal.put_scim_user(user, Some(done.file_id)).await?;
        self.directory.forget(now.id).await;
        // Changes kept for an earlier activation are not this deprovision's.
        self.journal.forget_scim_contact(now.id).await?;
        Ok(())
    }

    /// Re-provisions: `make_agent` from the before-image of the delete that deprovisioned it.
    pub(super) async fn reprovision(&self, now: &Shown, row: ScimUser) -> Result<(), ScimError> {
        // A contact fdsync created inactive becomes an agent for the first time.
        if row.deleted_by.is_none()
            && let Some(wanted) = self.contact_wanted(&row).await?
        {
            return self.activate(now, row, wanted).await;
        }
        let Some(file_id) = row.deleted_by else {
            return Err(ScimError::bad("mutability", "fdsync has no record of this user's deprovisioning"));
        };
        let image = self.journal.snapshot(file_id, 1).await?;
        let op = Op::RestoreAgent {
            agent_id: now.id,
            of: UndoOf { file_id, row: 1 },
            image: image.as_deref().and_then(|s| crate::freshdesk::agents::before_image(s).ok()),
            email: Some(now.email.clone()),
        };
        let name = format!("scim-reprovision-{}-{}", now.id, now.email);
        let done = change::run(
            &self.journal,
            &self.submit,
            self.nudge(),
            name,
            &format!("restore:{}:{file_id}", now.id),
            &op,
        )
        .await?;
        if done.line.outcome != Some(Outcome::Restored) {
            return Err(refused(&done.line, "re-provisioned"));
        }
        let pending = self.contact_wanted(&row).await?;
        let mut user = row;
        (user.active, user.deleted_by) = (true, None);
        self.journal.put_scim_user(user, Some(done.file_id)).await?;
        let Ok(Some(agent)) = self.engine.read_agent(now.id).await else { return Ok(()) };
        self.directory.put(agent.clone()).await;
        // What the provider changed while it was deprovisioned: one `update_agent`.
        match pending {
            Some(wanted) => self.give_pending(now.id, &agent.record, &wanted).await,
            None => Ok(()),
        }
    }

    /// Applies `active`, `externalId` and attribute changes to an existing user. The attributes
    /// of a user that is not an agent afterwards are kept in the journal and given to the agent
    /// when it is one (its activation or re-provision).
    pub(super) async fn apply(
        &self,
        now: &Shown,
        row: Option<ScimUser>,
        active: Option<bool>,
        ext: Option<Option<String>>,
        edit: Edit,
    ) -> Result<(), ScimError> {
        // Journal-only: the externalId, and a userName that does not change the e-mail.
        let name_only = edit.set.email.is_none().then_some(edit.user_name.clone()).flatten();
        if ext.is_some() || name_only.is_some() {
            let mut user = row.clone().unwrap_or_else(|| new_row(now));
            if let Some(ext) = ext {
                user.external_id = ext;
            }
            if let Some(n) = name_only {
                user.user_name = n;
            }
            self.journal.put_scim_user(user, None).await?;
        }
        let row = self.journal.scim_user(now.id).await?;
        match active {
            Some(false) if now.active => {
                // Changes in the same request are kept for its re-provision.
                self.deprovision(now, row).await?;
                let row = self.journal.scim_user(now.id).await?;
                return self.edit_inactive(row, edit).await;
            }
            Some(true) if !now.active => match row {
                Some(r) => self.reprovision(now, r).await?,
                None => {
                    return Err(ScimError::bad(
                        "mutability",
                        "fdsync has no record of this user's deprovisioning",
                    ));
                }
            },
            // Kept for its activation when it is a contact fdsync created inactive.
            _ if !now.active => return self.edit_inactive(row, edit).await,
            _ => {}
        }
        self.update(now, edit).await
    }

    /// Roles or groups set on a user shown without them (the listing does not say them): the
    /// agent is read in full first (one `GET agents/{id}`, kept in the directory, so the user is
    /// shown with them from then on), and what it already has is not changed again. An identity
    /// provider that maps roles sends them every cycle until it sees them.
    async fn known_roles_and_groups(&self, id: u64, set: &mut AgentEdit) -> Result<(), ScimError> {
        let agent = match self.engine.read_agent(id).await {
            Ok(Some(agent)) => agent,
            Ok(None) => return Ok(()),
            Err(why) => return Err(ScimError::later(30, format!("the agent cannot be read now: {why}"))),
        };
        let same = |has: &Option<Vec<u64>>, wants: &Option<Vec<u64>>| match (has, wants) {
            (Some(h), Some(w)) => same_ids(h, w),
            _ => false,
        };
        if same(&agent.role_ids, &set.role_ids) {
            set.role_ids = None;
        }
        if same(&agent.group_ids, &set.group_ids) {
            set.group_ids = None;
        }
        self.directory.put(agent).await;
        Ok(())
    }

    /// `409 uniqueness` when another user has `email`.
    pub(super) async fn email_free(&self, id: u64, email: Option<&Email>) -> Result<(), ScimError> {
        if let Some(email) = email
            && self.all_users().await?.iter().any(|u| u.id != id && u.email == email.key())
        {
            return Err(ScimError::conflict(format!(
                "a user with e-mail {} exists",
                crate::text::shown(email.as_str())
            )));
        }
        Ok(())
    }

    /// Changes the agent's name, e-mail, job title, scope, seat, roles or groups: one
    /// `update_agent` (`PUT agents/{id}`); nothing when nothing differs.
    pub(super) async fn update(&self, now: &Shown, edit: Edit) -> Result<(), ScimError> {
        let Edit { mut set, user_name } = edit;
        if set.role_ids.is_some() && now.role_ids.is_none()
            || set.group_ids.is_some() && now.group_ids.is_none()
        {
            self.known_roles_and_groups(now.id, &mut set).await?;
        }
        if set.is_empty() {
            return Ok(());
        }
        self.email_free(now.id, set.email.as_ref()).await?;
        let row = self.journal.scim_user(now.id).await?.unwrap_or_else(|| new_row(now));
        let op = Op::UpdateAgent { agent_id: now.id, set: set.clone(), of: None };
        let name = format!("scim-update-{}-{}", now.id, now.email);
        let identity = format!("update:{}:{}", now.id, row.version);
        let done = change::run(&self.journal, &self.submit, self.nudge(), name, &identity, &op).await?;
        match (done.line.outcome, done.line.http_status) {
            (Some(Outcome::Updated), _) => {}
            (_, Some(409)) => {
                return Err(ScimError::conflict(format!(
                    "Freshdesk refused the e-mail: another agent or contact has it (file {})",
                    done.file_id
                )));
            }
            _ => return Err(refused(&done.line, "updated")),
        }
        let mut user = row;
        if set.email.is_some() {
            user.user_name = user_name.unwrap_or_else(|| user.user_name.clone());
        }
        self.journal.put_scim_user(user, Some(done.file_id)).await?;
        if let Ok(Some(agent)) = self.engine.read_agent(now.id).await {
            self.directory.put(agent).await;
        }
        Ok(())
    }
}

/// Whether two lists of role or group ids name the same ones, in any order.
pub(super) fn same_ids(a: &[u64], b: &[u64]) -> bool {
    let sorted = |v: &[u64]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        v
    };
    sorted(a) == sorted(b)
}

/// What a PUT or PATCH changes of an existing agent, and the provider's new `userName`.
#[derive(Debug, Default)]
pub(super) struct Edit {
    pub(super) set: AgentEdit,
    pub(super) user_name: Option<String>,
}

/// The `emails` lists the provider gave, by agent id ([`Journal::scim_emails`](crate::journal::Journal::scim_emails)).
pub(super) type Emails = std::collections::HashMap<u64, String>;

/// What the journal remembers of `s` beside Freshdesk: its `externalId`, the provider's
/// `userName`, and the `emails` list the provider gave while it still lists the agent's e-mail.
fn remembered(s: &mut Shown, row: Option<&ScimUser>, emails: &Emails) {
    s.external_id = row.and_then(|r| r.external_id.clone());
    s.user_name = row.and_then(|r| provider_name(s, r));
    s.show_emails(emails.get(&s.id).and_then(|e| serde_json::from_str(e).ok()));
}

/// The provider's `userName` remembered for `s`, when it is not the agent's e-mail.
fn provider_name(s: &Shown, r: &ScimUser) -> Option<String> {
    (!r.user_name.eq_ignore_ascii_case(&s.email)).then(|| r.user_name.clone())
}

pub(super) fn new_row(s: &Shown) -> ScimUser {
    ScimUser {
        agent_id: s.id,
        user_name: s.user_name().to_string(),
        external_id: s.external_id.clone(),
        active: s.active,
        deleted_by: None,
        removed: false,
        last_file: None,
        version: 0,
    }
}

/// A change the engine did not make: the row's reason (protected agent, the key's owner, …).
pub(super) fn refused(line: &crate::journal::ReportLine, what: &str) -> ScimError {
    let code = line.error_code.clone().unwrap_or_default();
    let msg = line.message.clone().unwrap_or_default();
    let detail = format!("the user cannot be {what}: {code}: {msg}");
    match line.http_status {
        Some(429) => ScimError::quota(60, detail),
        _ => ScimError::bad("mutability", detail),
    }
}
