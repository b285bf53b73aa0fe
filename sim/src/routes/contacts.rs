//! `/api/v2/contacts`: create (name and one identifier required; 409 for an e-mail any user
//! has), list with filters (the "Contacts List" sub-limit), show, and
//! `PUT /contacts/{id}/make_agent` (a contact becomes an agent with the same id).
//!
//! Create follows the Freshdesk API v2 reference "Create a Contact" and freshconsult's
//! `api_contacts_controller` tests (`test_create_contact*`): `name` is mandatory (400
//! `missing_field`); at least one of `email`, `phone`, `mobile`, `twitter_id`,
//! `unique_external_id` (else 400 `missing_field` on `email`); unknown keys 400 `invalid_field`;
//! 201 with the contact (its e-mail lower-cased) and `Location`; an e-mail a contact or agent
//! has: 409 `duplicate_value` with `additional_info` `user_id` / `agent_id` (UNCONFIRMED for
//! this endpoint: as `POST agents` answers). It costs one credit of the account's budget and no sub-limit (only ticket
//! create/update, tickets list and contacts list have one; UNCONFIRMED for contact create).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::agents::{agent_flags, duplicate, id_list, seat_error, short_string, small_choice};
use super::{is_email, link_next, list_query, page_of, paging, param, parse_id, read_object, unknown_keys};
use crate::app::{App, lock};
use crate::auth::{Admin, Caller};
use crate::error::{ApiError, FieldError};
use crate::state::{AgentInfo, Store, User, contact_json, created_contact_json, made_agent_json, timestamp};

const LIST_PARAMS: &[&str] =
    &["email", "phone", "mobile", "state", "company_id", "updated_since", "per_page", "page"];

pub(crate) async fn list(
    State(app): State<Arc<App>>,
    _caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = list_query(raw.as_deref(), LIST_PARAMS)?;
    let mut e = Vec::new();
    let paging = paging(&params, None, &mut e);
    let email = param(&params, "email").map(str::to_lowercase);
    if email.as_deref().is_some_and(|m| !is_email(m)) {
        e.push(FieldError::new("email", "invalid_value", "It should be in the 'valid email address' format"));
    }
    if !e.is_empty() {
        return Err(ApiError::Validation(e));
    }
    let phone = param(&params, "phone");
    let mobile = param(&params, "mobile");
    let keep = |u: &&User| {
        u.agent.is_none()
            && email.as_deref().is_none_or(|m| u.email.as_deref().is_some_and(|x| x.to_lowercase() == m))
            && phone.is_none_or(|p| u.phone.as_deref() == Some(p))
            && mobile.is_none_or(|p| u.mobile.as_deref() == Some(p))
    };
    let (body, more) = {
        let store = lock(&app.store);
        let mut contacts: Vec<&User> = store.users.values().filter(keep).collect();
        contacts.sort_by_key(|u| (u.name.to_lowercase(), u.id));
        let (page, more) = page_of(contacts, paging);
        (page.into_iter().map(contact_json).collect::<Vec<Value>>(), more)
    };
    let link = more.then(|| link_next(&app, "/api/v2/contacts", &params, paging.page + 1));
    Ok(super::json_page(json!(body), link))
}

/// The keys `POST contacts` takes (freshconsult `ContactConstants::CONTACT_FIELDS`, less the
/// avatar and company details this model does not keep).
const CREATE_FIELDS: &[&str] = &[
    "name",
    "email",
    "phone",
    "mobile",
    "twitter_id",
    "unique_external_id",
    "job_title",
    "address",
    "description",
    "language",
    "time_zone",
    "tags",
    "other_emails",
    "company_id",
    "view_all_tickets",
    "custom_fields",
];

/// The identifiers of which a contact needs at least one.
const IDENTIFIERS: &[&str] = &["email", "phone", "mobile", "twitter_id", "unique_external_id"];

/// `POST /api/v2/contacts`: a contact (no agent), 201 with its body and `Location`.
pub(crate) async fn create(
    State(app): State<Arc<App>>,
    _caller: Caller,
    body: Body,
) -> Result<Response, ApiError> {
    let obj = read_object(&app, body).await?;
    let unknown = unknown_keys(obj.keys(), CREATE_FIELDS);
    if !unknown.is_empty() {
        return Err(ApiError::Validation(unknown));
    }
    let mut e = Vec::new();
    let name = short_string(&obj, "name", true, &mut e);
    let [email, phone, mobile, twitter, external] =
        ["email", "phone", "mobile", "twitter_id", "unique_external_id"]
            .map(|k| short_string(&obj, k, false, &mut e));
    let job_title = short_string(&obj, "job_title", false, &mut e);
    if email.as_deref().is_some_and(|m| !is_email(m.trim())) {
        e.push(FieldError::new("email", "invalid_value", "It should be in the 'valid email address' format"));
    }
    let given = [&email, &phone, &mobile, &twitter, &external];
    if e.is_empty() && given.iter().all(|v| v.as_deref().is_none_or(|s| s.trim().is_empty())) {
        let msg = format!("Please fill at least 1 of {} fields", IDENTIFIERS.join(", "));
        e.push(FieldError::new("email", "missing_field", msg));
    }
    let (Some(name), true) = (name, e.is_empty()) else { return Err(ApiError::Validation(e)) };
    // Saved lower-cased (freshconsult `api_contacts_controller#sanitize_params`).
    let email = email.map(|m| m.trim().to_lowercase()).filter(|m| !m.is_empty());
    let (id, body) = {
        let mut store = lock(&app.store);
        if let Some(err) = email.as_deref().and_then(|m| duplicate(&store, m)) {
            return Err(ApiError::one(err));
        }
        let id = store.add_contact(Some(&name), email.as_deref(), phone.as_deref());
        let user = store.users.get_mut(&id).ok_or(ApiError::NotFound)?;
        (user.mobile, user.job_title) = (mobile, job_title);
        (id, created_contact_json(user))
    };
    app.counters().contacts_created += 1;
    let mut resp = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{}/api/v2/contacts/{id}", app.base_url)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

pub(crate) async fn show(
    State(app): State<Arc<App>>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let store = lock(&app.store);
    let user = store.users.get(&id).ok_or(ApiError::NotFound)?;
    Ok(axum::Json(contact_json(user)).into_response())
}

/// What make_agent sets on the agent (facts file §8): `occasional` (default false),
/// `ticket_scope` (1..3, default 1), `role_ids` and `group_ids` (positive integers; defaults:
/// the Agent role, no group), `signature`, `type` (1..3). An undo sends its before-image here.
fn make_agent_info(obj: &Map<String, Value>) -> Result<AgentInfo, Vec<FieldError>> {
    let allowed = ["occasional", "ticket_scope", "role_ids", "group_ids", "signature", "type"];
    let unknown = unknown_keys(obj.keys(), &allowed);
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let mut e = Vec::new();
    let (occasional, signature) = agent_flags(obj, false, &mut e);
    let scope = small_choice(obj, "ticket_scope", &[1, 2, 3], &mut e).unwrap_or(1);
    let agent_type = small_choice(obj, "type", &[1, 2, 3], &mut e).unwrap_or(1);
    let group_ids = id_list(obj, "group_ids", &mut e);
    let role_ids = id_list(obj, "role_ids", &mut e);
    if !e.is_empty() {
        return Err(e);
    }
    let mut info = Store::agent_info(occasional, scope);
    info.group_ids = group_ids;
    if !role_ids.is_empty() {
        info.role_ids = role_ids;
    }
    info.agent_type = agent_type;
    if let Some(s) = signature {
        info.signature = s;
    }
    Ok(info)
}

/// 409 (validation shape, `duplicate_value`, naming the agent) when the contact is an agent.
fn already_an_agent(id: u64) -> ApiError {
    ApiError::one(FieldError {
        additional_info: Some(json!({ "agent_id": id })),
        ..FieldError::new("id", "duplicate_value", "The contact is already an agent")
    })
}

/// `PUT /contacts/{id}/make_agent`: 404 for an unknown contact, 409 for an agent, 400 for the
/// seat limit (a full-time agent when every seat is taken); else the agent, same id.
pub(crate) async fn make_agent(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let obj = read_object(&app, body).await?;
    let info = make_agent_info(&obj).map_err(ApiError::Validation)?;
    let seats = app.config().seats;
    let mut store = lock(&app.store);
    let user = store.users.get(&id).ok_or(ApiError::NotFound)?;
    if user.agent.is_some() {
        return Err(already_an_agent(id));
    }
    if user.email.is_none() {
        let msg = "The contact needs an email address to become an agent";
        return Err(ApiError::one(FieldError::new("email", "missing_field", msg)));
    }
    if let Some(err) = seat_error(&store, seats, info.occasional) {
        return Err(ApiError::one(err));
    }
    let user = store.users.get_mut(&id).ok_or(ApiError::NotFound)?;
    user.agent = Some(info);
    user.updated_at = timestamp(time::OffsetDateTime::now_utc());
    let body = made_agent_json(user);
    drop(store);
    app.counters().agents_created += 1;
    Ok(axum::Json(body).into_response())
}
