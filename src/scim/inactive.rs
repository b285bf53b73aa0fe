//! A user provisioned inactive (`POST /Users` with `active: false`, as Entra sends a user
//! disabled in the directory): the person is created as a Freshdesk contact (`create_contact`,
//! no agent seat), whose id is the SCIM `id` from then on, and what it asked to become (roles,
//! groups, scope, occasional, name, title) is kept in the journal (`scim_contacts`). When the
//! provider activates it (`PATCH`/`PUT` `active: true`), `activate_contact` makes the contact an
//! agent with those values (`make_agent`: same id), held by the grants guard like a created agent
//! with a protected role, then gives the agent the name, e-mail and title the provider set while
//! the user was inactive (kept in the journal meanwhile). The changes go through
//! [`super::change`]: once, also after a kill -9.

use super::Scim;
use super::change;
use super::error::ScimError;
use super::mapping::{Shown, Wanted};
use super::store::{Edit, refused, same_ids};
use crate::domain::{AgentEdit, Email, NewAgent, NewContact, Op, Outcome, TicketScope};
use crate::engine::ports::Api;
use crate::journal::ScimUser;

impl<A: Api> Scim<A> {
    /// Creates the contact of a user provisioned inactive (`again`: how many users of this
    /// e-mail the provider removed before, so a new provisioning is a new change) and remembers
    /// what it becomes. Its id and the change's file.
    pub(super) async fn provision_contact(
        &self,
        want: &Wanted,
        again: usize,
    ) -> Result<(u64, i64), ScimError> {
        let agent = &want.agent;
        let email = agent.email.key();
        let op = Op::CreateContact(NewContact {
            email: agent.email.clone(),
            name: agent.name.clone(),
            job_title: agent.job_title.clone(),
        });
        let name = format!("scim-provision-{email}");
        let identity = format!("contact:{email}:{again}");
        let done = change::run(&self.journal, &self.submit, self.nudge(), name, &identity, &op).await?;
        let id = match (done.line.outcome, done.line.freshdesk_id, done.line.http_status) {
            (Some(Outcome::Created | Outcome::Exists), Some(id), _) => id,
            (_, _, Some(409)) => {
                return Err(ScimError::conflict(format!(
                    "an agent of Freshdesk has the e-mail {} (file {})",
                    crate::text::shown(&email),
                    done.file_id
                )));
            }
            _ => return Err(refused(&done.line, "provisioned")),
        };
        let wanted = serde_json::to_string(agent).map_err(|e| ScimError::internal(e.to_string()))?;
        self.journal.put_scim_contact(id, wanted).await?;
        Ok((id, done.file_id))
    }

    /// What a deprovisioned agent's before-image makes it, as the start of the changes kept for
    /// its re-provision (`None`: no before-image).
    async fn image_wanted(&self, r: &ScimUser) -> Result<Option<NewAgent>, ScimError> {
        let Some(file_id) = r.deleted_by else { return Ok(None) };
        let Some(image) = self.journal.snapshot(file_id, 1).await? else { return Ok(None) };
        let Some(s) = Shown::from_record(&image, r.agent_id) else { return Ok(None) };
        let Ok(email) = Email::parse(&s.email) else { return Ok(None) };
        Ok(Some(NewAgent {
            email,
            ticket_scope: s
                .scope
                .and_then(|n| TicketScope::parse(&n.to_string()).ok())
                .unwrap_or(TicketScope::Global),
            name: s.name.unwrap_or_default(),
            job_title: s.title,
            occasional: s.occasional,
            role_ids: s.role_ids.unwrap_or_default(),
            group_ids: s.group_ids.unwrap_or_default(),
            language: None,
            time_zone: None,
        }))
    }

    /// What the contact of row `r` asked to become, if fdsync created it inactive (or what a
    /// deprovisioned agent was changed to since).
    pub(super) async fn contact_wanted(&self, r: &ScimUser) -> Result<Option<NewAgent>, ScimError> {
        let Some(text) = self.journal.scim_contact(r.agent_id).await? else { return Ok(None) };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| ScimError::internal(format!("the journal's record of user {}: {e}", r.agent_id)))
    }

    /// The user of a contact fdsync created inactive (never an agent since): what it was
    /// provisioned with, `active: false`.
    pub(super) async fn contact_user(&self, r: &ScimUser) -> Result<Option<Shown>, ScimError> {
        if r.deleted_by.is_some() {
            return Ok(None);
        }
        Ok(self.contact_wanted(r).await?.map(|a| Shown {
            id: r.agent_id,
            email: a.email.key(),
            user_name: None,
            name: Some(a.name.clone()),
            title: a.job_title.clone(),
            active: false,
            external_id: None,
            scope: Some(u64::from(a.ticket_scope.number())),
            role_ids: Some(a.role_ids.clone()),
            group_ids: Some(a.group_ids.clone()),
            occasional: a.occasional,
            emails: None,
        }))
    }

    /// Makes the contact an agent with what it was provisioned with (`occasional` unsaid: as
    /// `POST agents` would make it, a day-pass agent).
    pub(super) async fn activate(
        &self,
        now: &Shown,
        row: ScimUser,
        wanted: NewAgent,
    ) -> Result<(), ScimError> {
        let op = Op::ActivateContact {
            contact_id: now.id,
            email: wanted.email.clone(),
            ticket_scope: wanted.ticket_scope,
            occasional: wanted.occasional.unwrap_or(true),
            role_ids: wanted.role_ids.clone(),
            group_ids: wanted.group_ids.clone(),
        };
        let name = format!("scim-activate-{}-{}", now.id, now.email);
        let identity = format!("activate:{}:{}", now.id, row.version);
        let done = change::run(&self.journal, &self.submit, self.nudge(), name, &identity, &op).await?;
        if done.line.outcome != Some(Outcome::Created) {
            return Err(refused(&done.line, "activated"));
        }
        let mut user = row;
        user.active = true;
        self.journal.put_scim_user(user, Some(done.file_id)).await?;
        let Ok(Some(agent)) = self.engine.read_agent(now.id).await else { return Ok(()) };
        self.directory.put(agent.clone()).await;
        // What the provider changed while the user was inactive: one `update_agent`.
        self.give_pending(now.id, &agent.record, &wanted).await
    }

    /// After an activation or a re-provision: the changes the provider made meanwhile (`wanted`,
    /// kept in the journal), given to the agent `record` now is: one `update_agent` with what
    /// differs (nothing: no call). Then `wanted` is forgotten.
    pub(super) async fn give_pending(
        &self,
        id: u64,
        record: &str,
        wanted: &NewAgent,
    ) -> Result<(), ScimError> {
        let Some(made) = Shown::from_record(record, id) else { return Ok(()) };
        let set = AgentEdit {
            email: (wanted.email.key() != made.email).then(|| wanted.email.clone()),
            name: (made.name.as_deref() != Some(wanted.name.as_str())).then(|| wanted.name.clone()),
            job_title: wanted.job_title.clone().filter(|t| made.title.as_deref() != Some(t.as_str())),
            ticket_scope: (made.scope != Some(u64::from(wanted.ticket_scope.number())))
                .then_some(wanted.ticket_scope),
            occasional: wanted.occasional.filter(|o| made.occasional != Some(*o)),
            // No roles wanted: Freshdesk's default, as the agent has it.
            role_ids: (!wanted.role_ids.is_empty()
                && !made.role_ids.as_deref().is_some_and(|r| same_ids(r, &wanted.role_ids)))
            .then(|| wanted.role_ids.clone()),
            group_ids: (!same_ids(made.group_ids.as_deref().unwrap_or_default(), &wanted.group_ids))
                .then(|| wanted.group_ids.clone()),
        };
        self.update(&made, Edit { set, user_name: None }).await?;
        self.journal.forget_scim_contact(id).await?;
        Ok(())
    }

    /// What a deprovisioned agent comes back as: its before-image with the provider's changes
    /// since (kept for its re-provision), if any.
    pub(super) async fn with_pending(&self, mut shown: Shown, r: &ScimUser) -> Result<Shown, ScimError> {
        if let Some(w) = self.contact_wanted(r).await? {
            shown.email = w.email.key();
            shown.name = Some(w.name);
            shown.title = w.job_title;
            shown.scope = Some(u64::from(w.ticket_scope.number()));
            shown.occasional = w.occasional.or(shown.occasional);
            shown.role_ids = Some(w.role_ids).filter(|r| !r.is_empty()).or(shown.role_ids);
            shown.group_ids = Some(w.group_ids);
        }
        Ok(shown)
    }

    /// A change of a user that is not an agent now, kept in the journal for when it is: a
    /// contact fdsync created inactive (its activation gives it), or a deprovisioned agent (its
    /// re-provision restores the before-image, then gives the changes: one `update_agent`). The
    /// contact in Freshdesk keeps its own values meanwhile.
    pub(super) async fn edit_inactive(&self, row: Option<ScimUser>, edit: Edit) -> Result<(), ScimError> {
        let Edit { set, user_name } = edit;
        let Some(mut row) = row.filter(|_| !set.is_empty()) else { return Ok(()) };
        let wanted = match self.contact_wanted(&row).await? {
            Some(w) => Some(w),
            None => self.image_wanted(&row).await?,
        };
        let Some(mut wanted) = wanted else { return Ok(()) };
        self.email_free(row.agent_id, set.email.as_ref()).await?;
        if let Some(email) = set.email {
            row.user_name = user_name.unwrap_or_else(|| email.key());
            self.journal.put_scim_user(row.clone(), None).await?;
            wanted.email = email;
        }
        if let Some(name) = set.name {
            wanted.name = name;
        }
        if let Some(title) = set.job_title {
            wanted.job_title = Some(title).filter(|t| !t.is_empty());
        }
        // Scope, seat, roles and groups: given at the activation itself (`make_agent`).
        if let Some(scope) = set.ticket_scope {
            wanted.ticket_scope = scope;
        }
        if let Some(occasional) = set.occasional {
            wanted.occasional = Some(occasional);
        }
        if let Some(roles) = set.role_ids {
            wanted.role_ids = roles;
        }
        if let Some(groups) = set.group_ids {
            wanted.group_ids = groups;
        }
        let wanted = serde_json::to_string(&wanted).map_err(|e| ScimError::internal(e.to_string()))?;
        self.journal.put_scim_contact(row.agent_id, wanted).await?;
        Ok(())
    }
}
