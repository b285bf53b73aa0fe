//! `/Users`: list (filter, paging, attribute selection), read, create, replace, patch, delete:
//! the HTTP side. What a user is, and deprovision / re-provision / attribute changes, are
//! [`super::store`]'s; create is a `create_agent` through [`super::change`] (inactive: a
//! contact, [`super::inactive`]).

use super::change;
use super::error::ScimError;
use super::mapping::{self, Shown};
use super::store::{Edit, new_row, refused};
use super::{Scim, base, scim_json};
use crate::domain::{Op, Outcome};
use crate::engine::ports::Api;
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

/// A request body that must be JSON (`invalidSyntax` otherwise).
fn json_body(body: &[u8]) -> Result<Value, ScimError> {
    serde_json::from_slice(body)
        .map_err(|e| ScimError::bad("invalidSyntax", format!("the body is not JSON: {e}")))
}

fn unchangeable(names: &[&str]) -> ScimError {
    ScimError::bad("mutability", format!("{} cannot be changed (or removed)", names.join(", ")))
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
    let all = s.all_users().await?;
    let names = s.names_for(&all).await?;
    let mut users: Vec<Value> = all.iter().map(|u| u.to_json(&base, &names)).collect();
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
    let body = json_body(&body)?;
    let list = |k: &str| {
        super::mapping::member(&body, k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","))
    };
    let q = ListQuery {
        filter: super::mapping::member(&body, "filter").and_then(Value::as_str).map(str::to_string),
        start_index: super::mapping::member(&body, "startIndex").and_then(Value::as_i64),
        count: super::mapping::member(&body, "count").and_then(Value::as_i64),
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
    let names = s.names_for(std::slice::from_ref(&user)).await?;
    let json = super::select(
        user.to_json(&base(&headers), &names),
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
    let body = json_body(&body)?;
    let names = s.names().await?;
    let want = mapping::wanted(&body, &names)?;
    let email = want.agent.email.key();
    if s.all_users().await?.iter().any(|u| u.email == email) {
        return Err(ScimError::conflict(format!(
            "a user with userName {} exists",
            crate::text::shown(&email)
        )));
    }
    let again = s.journal.scim_users().await?.iter().filter(|r| r.user_name == email && r.removed).count();
    // Inactive: a contact, no agent seat (super::inactive); active: an agent.
    let (id, file_id) = if want.active {
        let op = Op::CreateAgent(want.agent.clone());
        let name = format!("scim-provision-{email}");
        let done =
            change::run(&s.journal, &s.submit, s.nudge(), name, &format!("create:{email}:{again}"), &op)
                .await?;
        match (done.line.outcome, done.line.freshdesk_id) {
            (Some(Outcome::Created | Outcome::Exists), Some(id)) => (id, done.file_id),
            _ => return Err(refused(&done.line, "provisioned")),
        }
    } else {
        s.provision_contact(&want, again).await?
    };
    let user_name = (!want.user_name.eq_ignore_ascii_case(&email)).then(|| want.user_name.clone());
    let mut shown = Shown {
        id,
        email: email.clone(),
        user_name: user_name.clone(),
        name: Some(want.agent.name.clone()),
        title: want.agent.job_title.clone(),
        active: want.active,
        external_id: want.external_id.clone(),
        scope: Some(u64::from(want.agent.ticket_scope.number())),
        role_ids: want.ext.role_ids.clone(),
        group_ids: Some(want.agent.group_ids.clone()),
        occasional: want.agent.occasional,
        emails: None,
    };
    s.journal.put_scim_user(new_row(&shown), Some(file_id)).await?;
    shown.show_emails(s.keep_emails(id, &body, None).await?);
    // The agent as Freshdesk made it (its default role, its seat), when it can be read.
    if want.active
        && let Ok(Some(agent)) = s.engine.read_agent(id).await
    {
        if let Some(made) = Shown::from_record(&agent.record, id) {
            shown = Shown { user_name, external_id: want.external_id.clone(), emails: shown.emails, ..made };
        }
        s.directory.put(agent).await;
    }
    let json = shown.to_json(&base(&headers), &names);
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
    let body = json_body(&body)?;
    let names = s.names().await?;
    let want = mapping::wanted(&body, &names)?;
    if super::mapping::member(&body, "id").and_then(Value::as_str).is_some_and(|b| b != id.to_string()) {
        return Err(unchangeable(&["id"]));
    }
    let (now, row) = s.one(id).await?;
    let (set, user_name) = mapping::edit(&now, &want);
    let ext = (want.external_id != now.external_id).then_some(want.external_id.clone());
    let active = (want.active != now.active).then_some(want.active);
    s.apply(&now, row, active, ext, Edit { set, user_name }).await?;
    s.keep_emails(id, &body, None).await?;
    let (after, _) = s.one(id).await?;
    Ok(scim_json(after.to_json(&base(&headers), &names)))
}

pub(crate) async fn patch<A: Api>(
    State(s): S<A>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ScimError> {
    let id = parse_id(&id)?;
    let body = json_body(&body)?;
    let (now, row) = s.one(id).await?;
    let names = s.names().await?;
    let before = now.to_json(&base(&headers), &names);
    let changed = super::patch::apply(&before, &body, &names)?;
    if !changed.unchangeable.is_empty() {
        return Err(unchangeable(&changed.unchangeable));
    }
    let edit = Edit { set: changed.set, user_name: changed.user_name };
    s.apply(&now, row, changed.active, changed.external_id, edit).await?;
    s.keep_emails(id, &changed.user, Some(&before)).await?;
    let (after, _) = s.one(id).await?;
    Ok(scim_json(after.to_json(&base(&headers), &names)))
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
