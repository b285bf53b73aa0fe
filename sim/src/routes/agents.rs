//! `/api/v2/agents`: create (admin; 409 with `agent_id`/`user_id`, seat limit), list with
//! filters (admin), show, `me`, update (admin; `PUT`, the fields of freshconsult's
//! `AgentConstants::UPDATE_FIELDS`, 409 `duplicate_value` for an e-mail another user has), and
//! delete (admin; the agent becomes a contact) (facts file §5).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{is_email, link_next, list_query, page_of, paging, param, parse_id, read_object, unknown_keys};
use crate::app::{App, lock};
use crate::auth::{Admin, Caller};
use crate::error::{ApiError, FieldError};
use crate::state::{NewAgent, Store, User, agent_json, timestamp};

const CREATE_FIELDS: &[&str] = &[
    "email",
    "ticket_scope",
    "name",
    "phone",
    "mobile",
    "job_title",
    "signature",
    "occasional",
    "role_ids",
    "group_ids",
    "agent_type",
    "language",
    "time_zone",
    "skill_ids",
    "contribution_group_ids",
    "freshcaller_agent",
    "freshchat_agent",
    "agent_level_id",
];
const GATED_FIELDS: &[&str] = &[
    "language",
    "time_zone",
    "skill_ids",
    "contribution_group_ids",
    "freshcaller_agent",
    "freshchat_agent",
    "agent_level_id",
];

pub(crate) fn short_string(
    obj: &Map<String, Value>,
    key: &str,
    required: bool,
    e: &mut Vec<FieldError>,
) -> Option<String> {
    match obj.get(key) {
        None if required => {
            e.push(FieldError::new(key, "missing_field", "It should be a/an String"));
            None
        }
        None | Some(Value::Null) if !required => None,
        Some(Value::String(s)) if s.chars().count() <= 255 && !(required && s.trim().is_empty()) => {
            Some(s.clone())
        }
        Some(Value::String(s)) if s.chars().count() > 255 => {
            let msg = format!("Has {} characters, it can have maximum of 255 characters", s.chars().count());
            e.push(FieldError::new(key, "invalid_value", msg));
            None
        }
        _ => {
            e.push(FieldError::datatype(key, "String"));
            None
        }
    }
}

pub(crate) fn id_list(obj: &Map<String, Value>, key: &str, e: &mut Vec<FieldError>) -> Vec<u64> {
    let Some(v) = obj.get(key) else { return Vec::new() };
    let ids: Option<Vec<u64>> =
        v.as_array().and_then(|a| a.iter().map(|x| x.as_u64().filter(|n| *n > 0)).collect());
    ids.unwrap_or_else(|| {
        let msg = "It should contain elements of type Positive Integer only";
        e.push(FieldError::new(key, "datatype_mismatch", msg));
        Vec::new()
    })
}

pub(crate) fn small_choice(
    obj: &Map<String, Value>,
    key: &str,
    allowed: &[u64],
    e: &mut Vec<FieldError>,
) -> Option<u64> {
    let v = obj.get(key)?;
    let n = v.as_u64().filter(|n| allowed.contains(n));
    if n.is_none() {
        let list: Vec<String> = allowed.iter().map(u64::to_string).collect();
        e.push(FieldError::one_of(key, "invalid_value", &list.join(",")));
    }
    n
}

const EMAIL_FORMAT: &str = "It should be in the 'valid email address' format";

fn agent_email(obj: &Map<String, Value>, e: &mut Vec<FieldError>) -> Option<String> {
    match obj.get("email") {
        None => {
            e.push(FieldError::new("email", "missing_field", EMAIL_FORMAT));
            None
        }
        Some(Value::String(s)) if is_email(s.trim()) => Some(s.trim().to_string()),
        Some(_) => {
            e.push(FieldError::new("email", "invalid_value", EMAIL_FORMAT));
            None
        }
    }
}

/// `occasional` (`default` when absent: true on create, a day-pass agent) and `signature`.
pub(crate) fn agent_flags(
    obj: &Map<String, Value>,
    default: bool,
    e: &mut Vec<FieldError>,
) -> (bool, Option<String>) {
    let occasional = match obj.get("occasional") {
        None => default,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            e.push(FieldError::datatype("occasional", "Boolean"));
            default
        }
    };
    let signature = match obj.get("signature") {
        Some(Value::String(s)) => Some(s.clone()),
        None | Some(Value::Null) => None,
        Some(_) => {
            e.push(FieldError::datatype("signature", "String"));
            None
        }
    };
    (occasional, signature)
}

/// Validates a create body into a new agent (without uniqueness and seat checks).
fn parse_new_agent(obj: &Map<String, Value>) -> Result<NewAgent, Vec<FieldError>> {
    let unknown = unknown_keys(obj.keys(), CREATE_FIELDS);
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let mut e = Vec::new();
    let email = agent_email(obj, &mut e);
    let scope = match obj.get("ticket_scope") {
        None => {
            e.push(FieldError::one_of("ticket_scope", "missing_field", "1,2,3"));
            None
        }
        Some(_) => small_choice(obj, "ticket_scope", &[1, 2, 3], &mut e),
    };
    let name = short_string(obj, "name", true, &mut e);
    let phone = short_string(obj, "phone", false, &mut e);
    let mobile = short_string(obj, "mobile", false, &mut e);
    let job_title = short_string(obj, "job_title", false, &mut e);
    let (occasional, signature) = agent_flags(obj, true, &mut e);
    let group_ids = id_list(obj, "group_ids", &mut e);
    let role_ids = id_list(obj, "role_ids", &mut e);
    let agent_type = small_choice(obj, "agent_type", &[1, 2, 3], &mut e).unwrap_or(1);
    for key in GATED_FIELDS.iter().filter(|k| obj.contains_key(**k)) {
        let msg = format!("The feature needed for {key} is not enabled on this account");
        e.push(FieldError::new(key, "inaccessible_field", msg));
    }
    let (Some(email), Some(scope), Some(name), true) = (email, scope, name, e.is_empty()) else {
        return Err(e);
    };
    let mut info = Store::agent_info(occasional, scope);
    info.group_ids = group_ids;
    if !role_ids.is_empty() {
        info.role_ids = role_ids;
    }
    info.agent_type = agent_type;
    if let Some(s) = signature {
        info.signature = s;
    }
    Ok(NewAgent { name, email, phone, mobile, job_title, info })
}

/// 409 when the e-mail belongs to an agent (`agent_id`) or a contact (`user_id`).
pub(crate) fn duplicate(store: &Store, email: &str) -> Option<FieldError> {
    let user = store.user_by_email(email)?;
    let key = if user.agent.is_some() { "agent_id" } else { "user_id" };
    Some(FieldError {
        additional_info: Some(json!({ key: user.id })),
        ..FieldError::new("email", "duplicate_value", "It should be a unique value")
    })
}

/// 400 on `occasional` when a full-time agent would exceed the seats.
pub(crate) fn seat_error(store: &Store, seats: u64, occasional: bool) -> Option<FieldError> {
    if occasional || store.full_time_agents() < seats {
        return None;
    }
    let msg = format!(
        "You have reached the maximum number of agents {seats} your subscription allows. You need to delete an \
         existing agent or contact your account administrator to purchase additional agents."
    );
    Some(FieldError::new("occasional", "incompatible_value", msg))
}

pub(crate) async fn create(
    State(app): State<Arc<App>>,
    _admin: Admin,
    body: Body,
) -> Result<Response, ApiError> {
    let obj = read_object(&app, body).await?;
    let new = parse_new_agent(&obj).map_err(ApiError::Validation)?;
    let seats = app.config().seats;
    let (id, body) = {
        let mut store = lock(&app.store);
        if let Some(err) =
            duplicate(&store, &new.email).or_else(|| seat_error(&store, seats, new.info.occasional))
        {
            return Err(ApiError::one(err));
        }
        let id = store.add_agent(new);
        let body = store.users.get(&id).map(|u| agent_json(u, false)).unwrap_or_default();
        (id, body)
    };
    app.counters().agents_created += 1;
    let mut resp = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{}/api/v2/agents/{id}", app.base_url)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// freshconsult `AgentConstants::UPDATE_FIELDS` (`shortcuts_enabled`, `ticket_assignment` are
/// dropped there before validation: accepted and ignored here).
const UPDATE_FIELDS: &[&str] = &[
    "name",
    "email",
    "phone",
    "mobile",
    "time_zone",
    "job_title",
    "language",
    "signature",
    "ticket_scope",
    "occasional",
    "shortcuts_enabled",
    "group_ids",
    "role_ids",
    "ticket_assignment",
];

/// `PUT /api/v2/agents/{id}`: changes the fields given; 200 with the agent as show renders it.
pub(crate) async fn update(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let obj = read_object(&app, body).await?;
    let unknown = unknown_keys(obj.keys(), UPDATE_FIELDS);
    if !unknown.is_empty() {
        return Err(ApiError::Validation(unknown));
    }
    let mut e = Vec::new();
    let name = obj.contains_key("name").then(|| short_string(&obj, "name", true, &mut e)).flatten();
    let email = obj.contains_key("email").then(|| agent_email(&obj, &mut e)).flatten();
    let phone = short_string(&obj, "phone", false, &mut e);
    let mobile = short_string(&obj, "mobile", false, &mut e);
    let job_title = short_string(&obj, "job_title", false, &mut e);
    let scope = small_choice(&obj, "ticket_scope", &[1, 2, 3], &mut e);
    let group_ids = obj.contains_key("group_ids").then(|| id_list(&obj, "group_ids", &mut e));
    let role_ids = obj.contains_key("role_ids").then(|| id_list(&obj, "role_ids", &mut e));
    for key in ["language", "time_zone"].iter().filter(|k| obj.contains_key(**k)) {
        let msg = format!("The feature needed for {key} is not enabled on this account");
        e.push(FieldError::new(key, "inaccessible_field", msg));
    }
    let mut store = lock(&app.store);
    let user = store.users.get(&id).filter(|u| u.agent.is_some()).ok_or(ApiError::NotFound)?;
    let (occasional, signature) =
        agent_flags(&obj, user.agent.as_ref().is_some_and(|a| a.occasional), &mut e);
    if !e.is_empty() {
        return Err(ApiError::Validation(e));
    }
    if let Some(new) = &email
        && store.user_by_email(new).is_some_and(|u| u.id != id)
    {
        return Err(ApiError::one(FieldError::new(
            "email",
            "duplicate_value",
            "It should be a unique value",
        )));
    }
    if let Some(new) = &email {
        store.set_email(id, new);
    }
    let now = timestamp(time::OffsetDateTime::now_utc());
    let Some(user) = store.users.get_mut(&id) else { return Err(ApiError::NotFound) };
    for (field, value) in
        [(&mut user.phone, phone), (&mut user.mobile, mobile), (&mut user.job_title, job_title)]
    {
        if value.is_some() {
            *field = value;
        }
    }
    if obj.get("job_title").is_some_and(Value::is_null) {
        user.job_title = None;
    }
    if let Some(n) = name {
        user.name = n;
    }
    user.updated_at = now.clone();
    if let Some(a) = user.agent.as_mut() {
        a.occasional = occasional;
        a.ticket_scope = scope.unwrap_or(a.ticket_scope);
        a.group_ids = group_ids.unwrap_or_else(|| a.group_ids.clone());
        a.role_ids = role_ids.filter(|r| !r.is_empty()).unwrap_or_else(|| a.role_ids.clone());
        if let Some(s) = signature {
            a.signature = s;
        }
        a.updated_at = now;
    }
    let body = agent_json(user, false);
    drop(store);
    Ok(axum::Json(body).into_response())
}

const LIST_PARAMS: &[&str] =
    &["email", "phone", "mobile", "state", "group_id", "type", "order_by", "order_type", "per_page", "page"];

fn list_filter(params: &[(String, String)], e: &mut Vec<FieldError>) -> impl Fn(&User) -> bool + use<> {
    let email = param(params, "email").map(str::to_lowercase);
    if email.as_deref().is_some_and(|m| !is_email(m)) {
        e.push(FieldError::new("email", "invalid_value", "It should be in the 'valid email address' format"));
    }
    let state = param(params, "state").map(str::to_string);
    if state.as_deref().is_some_and(|s| s != "fulltime" && s != "occasional") {
        e.push(FieldError::one_of("state", "invalid_value", "fulltime,occasional"));
    }
    let phone = param(params, "phone").map(str::to_string);
    let mobile = param(params, "mobile").map(str::to_string);
    let group = param(params, "group_id").map(|g| g.parse::<u64>().unwrap_or(0));
    let kind = param(params, "type").map(str::to_string);
    move |u: &User| {
        let Some(a) = &u.agent else { return false };
        let type_name = match a.agent_type {
            2 => "field_agent",
            3 => "collaborator",
            _ => "support_agent",
        };
        email.as_deref().is_none_or(|m| u.email.as_deref().is_some_and(|x| x.to_lowercase() == m))
            && state.as_deref().is_none_or(|s| (s == "occasional") == a.occasional)
            && phone.as_deref().is_none_or(|p| u.phone.as_deref() == Some(p))
            && mobile.as_deref().is_none_or(|p| u.mobile.as_deref() == Some(p))
            && group.is_none_or(|g| a.group_ids.contains(&g))
            && kind.as_deref().is_none_or(|k| k == type_name)
    }
}

pub(crate) async fn list(
    State(app): State<Arc<App>>,
    _admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = list_query(raw.as_deref(), LIST_PARAMS)?;
    let mut e = Vec::new();
    let paging = paging(&params, None, &mut e);
    let keep = list_filter(&params, &mut e);
    let order_by = param(&params, "order_by").unwrap_or("name");
    if !["name", "last_active_at", "created_at"].contains(&order_by) {
        e.push(FieldError::one_of("order_by", "invalid_value", "name,last_active_at,created_at"));
    }
    let order_type = param(&params, "order_type").unwrap_or("asc");
    if order_type != "asc" && order_type != "desc" {
        e.push(FieldError::one_of("order_type", "invalid_value", "asc,desc"));
    }
    if !e.is_empty() {
        return Err(ApiError::Validation(e));
    }
    let (body, more) = {
        let store = lock(&app.store);
        // An e-mail filter is answered from the e-mail index (the hot path of fdsync's lookups).
        let candidates: Vec<&User> = match param(&params, "email") {
            Some(m) => store.user_by_email(m).into_iter().collect(),
            None => store.users.values().collect(),
        };
        let mut agents: Vec<&User> = candidates.into_iter().filter(|u| keep(u)).collect();
        match order_by {
            "name" => agents.sort_by_key(|u| (u.name.to_lowercase(), u.id)),
            _ => agents.sort_by_key(|u| u.id),
        }
        if order_type == "desc" {
            agents.reverse();
        }
        let (page, more) = page_of(agents, paging);
        (page.into_iter().map(|u| agent_json(u, true)).collect::<Vec<Value>>(), more)
    };
    let link = more.then(|| link_next(&app, "/api/v2/agents", &params, paging.page + 1));
    Ok(super::json_page(json!(body), link))
}

pub(crate) async fn show(
    State(app): State<Arc<App>>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let store = lock(&app.store);
    let user = store.users.get(&id).filter(|u| u.agent.is_some()).ok_or(ApiError::NotFound)?;
    Ok(axum::Json(agent_json(user, false)).into_response())
}

pub(crate) async fn me(State(app): State<Arc<App>>, caller: Caller) -> Result<Response, ApiError> {
    let store = lock(&app.store);
    let user = store.users.get(&caller.user_id).ok_or_else(ApiError::invalid_credentials)?;
    Ok(axum::Json(agent_json(user, false)).into_response())
}

pub(crate) async fn delete(
    State(app): State<Arc<App>>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let mut store = lock(&app.store);
    let user = store.users.get_mut(&id).filter(|u| u.agent.is_some()).ok_or(ApiError::NotFound)?;
    if id == caller.user_id {
        return Err(ApiError::access_denied());
    }
    user.agent = None;
    user.updated_at = timestamp(time::OffsetDateTime::now_utc());
    drop(store);
    app.counters().agents_deleted += 1;
    Ok(StatusCode::NO_CONTENT)
}
