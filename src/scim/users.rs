//! `/Users`: list (filter, paging, attribute selection), read, create, replace, patch, delete.
//! Reads come from the [`super::directory`] and the journal's `scim_users`; every change to
//! Freshdesk goes through [`super::change`] (create = `create_agent`; deprovision = a
//! `delete_agent` with its before-image saved; re-provision = `make_agent` from that image,
//! same id, roles and groups). `externalId` lives in the journal only.

use super::change;
use super::error::ScimError;
use super::mapping::{self, Shown};
use super::{Scim, base, scim_json};
use crate::domain::{AgentRef, Op, Outcome, UndoOf};
use crate::engine::ports::Api;
use crate::journal::ScimUser;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

type S<A> = State<Arc<Scim<A>>>;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListQuery {
    filter: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

fn parse_id(id: &str) -> Result<u64, ScimError> {
    id.parse().map_err(|_| ScimError::not_found("no such user"))
}

impl<A: Api> Scim<A> {
    /// Every user the provider can see: the listed agents, and the deprovisioned ones (from
    /// their before-images), with the journal's `externalId`s.
    async fn all_users(&self) -> Result<Vec<Shown>, ScimError> {
        let agents = self.directory.all(&self.engine).await?;
        let rows = self.journal.scim_users().await?;
        let mut out = Vec::with_capacity(agents.len());
        for a in agents.values() {
            let row = rows.iter().find(|r| r.agent_id == a.id);
            if row.is_some_and(|r| r.removed) {
                continue;
            }
            if let Some(mut s) = Shown::from_record(&a.record, a.id) {
                s.external_id = row.and_then(|r| r.external_id.clone());
                s.user_name = row.and_then(|r| provider_name(&s, r));
                out.push(s);
            }
        }
        for r in rows.iter().filter(|r| !r.active && !r.removed && !agents.contains_key(&r.agent_id)) {
            out.push(self.deprovisioned(r).await?);
        }
        Ok(out)
    }

    /// A deprovisioned user, from the record saved before its delete.
    async fn deprovisioned(&self, r: &ScimUser) -> Result<Shown, ScimError> {
        let snapshot = match r.deleted_by {
            Some(f) => self.journal.snapshot(f, 1).await?,
            None => None,
        };
        let mut s = snapshot.and_then(|rec| Shown::from_record(&rec, r.agent_id)).unwrap_or(Shown {
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
        });
        s.active = false;
        s.external_id = r.external_id.clone();
        s.user_name = provider_name(&s, r);
        Ok(s)
    }

    /// One user, or 404.
    async fn one(&self, id: u64) -> Result<(Shown, Option<ScimUser>), ScimError> {
        let row = self.journal.scim_user(id).await?;
        match &row {
            Some(r) if r.removed => return Err(ScimError::not_found("no such user")),
            Some(r) if !r.active => return Ok((self.deprovisioned(r).await?, row)),
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
                    let mut s = self.deprovisioned(&r).await?;
                    s.active = true;
                    Ok((s, Some(r)))
                }
                None => Err(ScimError::not_found("no such user")),
            };
        };
        let mut s =
            Shown::from_record(&agent.record, id).ok_or_else(|| ScimError::not_found("no such user"))?;
        s.external_id = row.as_ref().and_then(|r| r.external_id.clone());
        Ok((s, row))
    }

    fn nudge(&self) -> impl Fn() + '_ {
        || self.engine.nudge()
    }

    /// Deprovisions: `delete_agent` by id, its before-image saved by the engine.
    async fn deprovision(&self, now: &Shown, row: Option<ScimUser>) -> Result<(), ScimError> {
        // Remembered before the delete: a retry after a crash still knows the user.
        let row = match row {
            Some(r) => r,
            None => {
                self.journal.put_scim_user(new_row(now), None).await?;
                new_row(now)
            }
        };
        let version = row.version;
        let op = Op::DeleteAgent { agent: AgentRef::Id(now.id) };
        let name = format!("scim-deprovision-{}-{}", now.id, now.email);
        let done =
            change::run(&self.journal, self.nudge(), name, &format!("delete:{}:{version}", now.id), &op)
                .await?;
        match done.line.outcome {
            Some(Outcome::Deleted | Outcome::AlreadyDeleted) => {}
            _ => return Err(refused(&done.line, "deprovisioned")),
        }
        let mut user = row;
        (user.active, user.deleted_by) = (false, Some(done.file_id));
        self.journal.put_scim_user(user, Some(done.file_id)).await?;
        self.directory.forget(now.id).await;
        Ok(())
    }

    /// Re-provisions: `make_agent` from the before-image of the delete that deprovisioned it.
    async fn reprovision(&self, now: &Shown, row: ScimUser) -> Result<(), ScimError> {
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
        let done =
            change::run(&self.journal, self.nudge(), name, &format!("restore:{}:{file_id}", now.id), &op)
                .await?;
        if done.line.outcome != Some(Outcome::Restored) {
            return Err(refused(&done.line, "re-provisioned"));
        }
        let mut user = row;
        (user.active, user.deleted_by) = (true, None);
        self.journal.put_scim_user(user, Some(done.file_id)).await?;
        if let Ok(Some(agent)) = self.engine.read_agent(now.id).await {
            self.directory.put(agent).await;
        }
        Ok(())
    }

    /// Applies `active` and `externalId` changes to an existing user.
    async fn apply(
        &self,
        now: &Shown,
        row: Option<ScimUser>,
        active: Option<bool>,
        ext: Option<Option<String>>,
    ) -> Result<(), ScimError> {
        if let Some(ext) = ext {
            let mut user = row.clone().unwrap_or_else(|| new_row(now));
            user.external_id = ext;
            self.journal.put_scim_user(user, None).await?;
        }
        let row = self.journal.scim_user(now.id).await?;
        match active {
            Some(false) if now.active => self.deprovision(now, row).await,
            Some(true) if !now.active => match row {
                Some(r) => self.reprovision(now, r).await,
                None => {
                    Err(ScimError::bad("mutability", "fdsync has no record of this user's deprovisioning"))
                }
            },
            _ => Ok(()),
        }
    }
}

/// The provider's `userName` remembered for `s`, when it is not the agent's e-mail.
fn provider_name(s: &Shown, r: &ScimUser) -> Option<String> {
    (!r.user_name.eq_ignore_ascii_case(&s.email)).then(|| r.user_name.clone())
}

fn new_row(s: &Shown) -> ScimUser {
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
fn refused(line: &crate::journal::ReportLine, what: &str) -> ScimError {
    let code = line.error_code.clone().unwrap_or_default();
    let msg = line.message.clone().unwrap_or_default();
    let detail = format!("the user cannot be {what}: {code}: {msg}");
    match line.http_status {
        Some(429) => ScimError::quota(60, detail),
        _ => ScimError::bad("mutability", detail),
    }
}

fn unchangeable(names: &[&str]) -> ScimError {
    ScimError::bad(
        "mutability",
        format!(
            "fdsync changes only active and externalId of an existing agent; {} would change",
            names.join(", ")
        ),
    )
}

pub(crate) async fn list<A: Api>(
    state: S<A>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, ScimError> {
    list_users(state, headers, q).await
}

async fn list_users<A: Api>(State(s): S<A>, headers: HeaderMap, q: ListQuery) -> Result<Response, ScimError> {
    let filter =
        q.filter.as_deref().filter(|f| !f.trim().is_empty()).map(super::filter::parse).transpose()?;
    let base = base(&headers);
    let mut users: Vec<Value> = s.all_users().await?.iter().map(|u| u.to_json(&base)).collect();
    if let Some(f) = &filter {
        users.retain(|u| super::filter::matches(f, u));
    }
    let total = users.len();
    let start = q.start_index.unwrap_or(1).max(1) as usize;
    let count = q
        .count
        .unwrap_or(super::discovery::MAX_RESULTS as i64)
        .clamp(0, super::discovery::MAX_RESULTS as i64) as usize;
    let page: Vec<Value> = users
        .into_iter()
        .skip(start - 1)
        .take(count)
        .map(|u| super::select(u, q.attributes.as_deref(), q.excluded_attributes.as_deref()))
        .collect();
    Ok(super::list_response(page, total, start))
}

/// `POST /Users/.search` (RFC 7644 §3.4.3): the query in the body.
pub(crate) async fn search<A: Api>(
    state: S<A>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ScimError> {
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| ScimError::bad("invalidSyntax", format!("the body is not JSON: {e}")))?;
    let list = |k: &str| {
        super::filter::member(&body, k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","))
    };
    let q = ListQuery {
        filter: super::filter::member(&body, "filter").and_then(Value::as_str).map(str::to_string),
        start_index: super::filter::member(&body, "startIndex").and_then(Value::as_i64),
        count: super::filter::member(&body, "count").and_then(Value::as_i64),
        attributes: list("attributes"),
        excluded_attributes: list("excludedAttributes"),
    };
    list_users(state, headers, q).await
}

pub(crate) async fn get<A: Api>(
    State(s): S<A>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ScimError> {
    let (user, _) = s.one(parse_id(&id)?).await?;
    let json = super::select(
        user.to_json(&base(&headers)),
        q.attributes.as_deref(),
        q.excluded_attributes.as_deref(),
    );
    Ok(scim_json(json))
}

pub(crate) async fn create<A: Api>(
    State(s): S<A>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ScimError> {
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| ScimError::bad("invalidSyntax", format!("the body is not JSON: {e}")))?;
    let want = mapping::wanted(&body)?;
    if !want.active {
        return Err(ScimError::bad("invalidValue", "fdsync creates active agents only (active: true)"));
    }
    let email = want.agent.email.key();
    if s.all_users().await?.iter().any(|u| u.email == email) {
        return Err(ScimError::conflict(format!(
            "a user with userName {} exists",
            crate::text::shown(&email)
        )));
    }
    let again = s.journal.scim_users().await?.iter().filter(|r| r.user_name == email && r.removed).count();
    let op = Op::CreateAgent(want.agent.clone());
    let name = format!("scim-provision-{email}");
    let done = change::run(&s.journal, s.nudge(), name, &format!("create:{email}:{again}"), &op).await?;
    let id = match (done.line.outcome, done.line.freshdesk_id) {
        (Some(Outcome::Created | Outcome::Exists), Some(id)) => id,
        _ => return Err(refused(&done.line, "provisioned")),
    };
    let shown = Shown {
        id,
        email: email.clone(),
        user_name: (!want.user_name.eq_ignore_ascii_case(&email)).then(|| want.user_name.clone()),
        name: Some(want.agent.name.clone()),
        title: want.agent.job_title.clone(),
        active: true,
        external_id: want.external_id.clone(),
        scope: Some(u64::from(want.agent.ticket_scope.number())),
        role_ids: Some(want.agent.role_ids.clone()),
        group_ids: Some(want.agent.group_ids.clone()),
        occasional: want.agent.occasional,
    };
    s.journal.put_scim_user(new_row(&shown), Some(done.file_id)).await?;
    if let Ok(Some(agent)) = s.engine.read_agent(id).await {
        s.directory.put(agent).await;
    }
    let json = shown.to_json(&base(&headers));
    let mut resp = (StatusCode::CREATED, scim_json(json.clone())).into_response();
    if let Some(loc) = json["meta"]["location"].as_str().and_then(|l| HeaderValue::from_str(l).ok()) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

pub(crate) async fn replace<A: Api>(
    State(s): S<A>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ScimError> {
    let id = parse_id(&id)?;
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| ScimError::bad("invalidSyntax", format!("the body is not JSON: {e}")))?;
    let want = mapping::wanted(&body)?;
    let (now, row) = s.one(id).await?;
    let bad = mapping::unchangeable(&now, &want);
    if !bad.is_empty() {
        return Err(unchangeable(&bad));
    }
    let ext = (want.external_id != now.external_id).then_some(want.external_id.clone());
    let active = (want.active != now.active).then_some(want.active);
    s.apply(&now, row, active, ext).await?;
    let (after, _) = s.one(id).await?;
    Ok(scim_json(after.to_json(&base(&headers))))
}

pub(crate) async fn patch<A: Api>(
    State(s): S<A>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ScimError> {
    let id = parse_id(&id)?;
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| ScimError::bad("invalidSyntax", format!("the body is not JSON: {e}")))?;
    let (now, row) = s.one(id).await?;
    let changed = super::patch::apply(&now.to_json(&base(&headers)), &body)?;
    if !changed.unchangeable.is_empty() {
        return Err(unchangeable(&changed.unchangeable));
    }
    s.apply(&now, row, changed.active, changed.external_id).await?;
    let (after, _) = s.one(id).await?;
    Ok(scim_json(after.to_json(&base(&headers))))
}

pub(crate) async fn delete<A: Api>(State(s): S<A>, Path(id): Path<String>) -> Result<Response, ScimError> {
    let (now, row) = s.one(parse_id(&id)?).await?;
    if now.active {
        s.deprovision(&now, row).await?;
    }
    let mut user = s.journal.scim_user(now.id).await?.unwrap_or_else(|| new_row(&now));
    user.removed = true;
    s.journal.put_scim_user(user, None).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
