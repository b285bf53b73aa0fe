//! `/api/v2/contacts`: list with filters (the "Contacts List" sub-limit), show, and
//! `PUT /contacts/{id}/make_agent` (a contact becomes an agent with the same id).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::agents::seat_error;
use super::{is_email, link_next, list_query, page_of, paging, param, parse_id, read_object, unknown_keys};
use crate::app::{App, lock};
use crate::auth::{Admin, Caller};
use crate::error::{ApiError, FieldError};
use crate::state::{Store, User, agent_json, contact_json};

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

/// Options of make_agent: `occasional` (default false), `ticket_scope` (default 1).
fn make_agent_options(obj: &serde_json::Map<String, Value>) -> Result<(bool, u64), Vec<FieldError>> {
    let allowed = ["occasional", "ticket_scope", "role_ids", "group_ids", "signature", "type"];
    let unknown = unknown_keys(obj.keys(), &allowed);
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let mut e = Vec::new();
    let occasional = match obj.get("occasional") {
        None => false,
        Some(v) => v.as_bool().unwrap_or_else(|| {
            e.push(FieldError::datatype("occasional", "Boolean"));
            false
        }),
    };
    let scope = match obj.get("ticket_scope") {
        None => 1,
        Some(v) => v.as_u64().filter(|n| (1..=3).contains(n)).unwrap_or_else(|| {
            e.push(FieldError::one_of("ticket_scope", "invalid_value", "1,2,3"));
            1
        }),
    };
    if e.is_empty() { Ok((occasional, scope)) } else { Err(e) }
}

pub(crate) async fn make_agent(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let obj = read_object(&app, body).await?;
    let (occasional, scope) = make_agent_options(&obj).map_err(ApiError::Validation)?;
    let seats = app.config().seats;
    let mut store = lock(&app.store);
    let user = store.users.get(&id).filter(|u| u.agent.is_none()).ok_or(ApiError::NotFound)?;
    if user.email.is_none() {
        let msg = "The contact needs an email address to become an agent";
        return Err(ApiError::one(FieldError::new("email", "missing_field", msg)));
    }
    if let Some(err) = seat_error(&store, seats, occasional) {
        return Err(ApiError::one(err));
    }
    let user = store.users.get_mut(&id).ok_or(ApiError::NotFound)?;
    user.agent = Some(Store::agent_info(occasional, scope));
    let body = agent_json(user, false);
    drop(store);
    app.counters().agents_created += 1;
    Ok(axum::Json(body).into_response())
}
