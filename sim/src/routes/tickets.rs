//! `/api/v2/tickets`: create (with requester resolution and contact auto-creation), list with
//! filters and paging, show (with `include=requester|conversations`), update, soft delete and
//! restore (facts file §4). The list and its
//! query parsing are in `tickets/list.rs`; this file must not grow list filters.

mod form;
mod list;

pub(crate) use form::is_multipart;
pub(crate) use list::list;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;

use super::ticket_fields::{self, TicketInput};
use super::{list_query, param, parse_id, read_object};
use crate::app::{App, lock};
use crate::auth::Caller;
use crate::error::{ApiError, FieldError};
use crate::state::{Attachment, Store, Ticket, TicketView, requester_json, ticket_json, timestamp};

/// Finds or creates the requester; errors are validation items.
fn resolve_requester(store: &mut Store, input: &TicketInput) -> Result<(u64, bool), FieldError> {
    if let Some(id) = input.requester_id {
        return match store.users.contains_key(&id) {
            true => Ok((id, false)),
            false => Err(FieldError::new(
                "requester_id",
                "invalid_value",
                "There is no contact matching the given requester_id",
            )),
        };
    }
    if let Some(email) = &input.email {
        if let Some(user) = store.user_by_email(email) {
            return Ok((user.id, false));
        }
        return Ok((store.add_contact(input.name.as_deref(), Some(email), None), true));
    }
    if let Some(phone) = &input.phone {
        if let Some(user) = store.users.values().find(|u| u.phone.as_deref() == Some(phone.as_str())) {
            return Ok((user.id, false));
        }
        return Ok((store.add_contact(input.name.as_deref(), None, Some(phone)), true));
    }
    if let Some(external) = &input.unique_external_id {
        if let Some(id) = store.by_external_id.get(external).copied() {
            return Ok((id, false));
        }
        let id = store.add_contact(Some(input.name.as_deref().unwrap_or(external)), None, None);
        store.by_external_id.insert(external.clone(), id);
        return Ok((id, true));
    }
    // twitter_id / facebook_id only: a nameless contact.
    Ok((store.add_contact(input.name.as_deref(), None, None), true))
}

/// Most bytes of a multipart create read (files of 20 MB and the fields around them).
const MAX_FORM_BYTES: usize = 24 << 20;
/// Freshdesk's limit on a create's attachments together (facts file §4): 20 MB.
const MAX_ATTACHMENTS: u64 = 20 << 20;

/// A multipart create: its fields as a ticket object, and its files (at most 20 MB together).
async fn read_form(
    body: Body,
    boundary: &str,
    known: &[crate::fields::CustomField],
) -> Result<(serde_json::Map<String, serde_json::Value>, Vec<form::Upload>), ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| super::body_too_large(MAX_FORM_BYTES))?;
    let invalid = || ApiError::Request {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_multipart",
        message: "Multipart data is not properly formatted.".into(),
    };
    let (obj, files) = form::read(&bytes, boundary, known).ok_or_else(invalid)?;
    let total: u64 = files.iter().map(|f| f.bytes.len() as u64).sum();
    if total > MAX_ATTACHMENTS {
        // The code and wording are assumed (facts file §3 lists `invalid_size` among the rarer codes).
        let msg =
            format!("The cumulative size of all attachments can be at most {} MB", MAX_ATTACHMENTS >> 20);
        return Err(ApiError::one(FieldError::new("attachments", "invalid_size", &msg)));
    }
    Ok((obj, files))
}

pub(crate) async fn create(
    State(app): State<Arc<App>>,
    _caller: Caller,
    headers: axum::http::HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let known = app.config().custom_fields.clone();
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let (obj, files) = match form::boundary(content_type) {
        Some(boundary) => read_form(body, &boundary, &known).await?,
        None if form::is_multipart(content_type) => {
            return Err(ApiError::Request {
                status: StatusCode::BAD_REQUEST,
                code: "invalid_multipart",
                message: "Multipart data is not properly formatted.".into(),
            });
        }
        None => (read_object(&app, body).await?, Vec::new()),
    };
    let unique_ids = app.config().unique_contact_identifier;
    let input = ticket_fields::parse_with(&obj, true, &known, unique_ids).map_err(ApiError::Validation)?;
    let (body, id) = {
        let mut store = lock(&app.store);
        let (requester_id, new_contact) = resolve_requester(&mut store, &input).map_err(ApiError::one)?;
        let now = OffsetDateTime::now_utc();
        let ticket = Ticket {
            id: store.next_ticket_id(),
            subject: input.subject.unwrap_or_default(),
            description: input.description.unwrap_or_default(),
            status: input.status.unwrap_or(2),
            priority: input.priority.unwrap_or(1),
            source: input.source.unwrap_or(2),
            requester_id,
            responder_id: input.responder_id,
            group_id: input.group_id,
            company_id: input.company_id,
            product_id: input.product_id,
            email_config_id: input.email_config_id,
            kind: input.kind,
            tags: input.tags.unwrap_or_default(),
            cc_emails: input.cc_emails.unwrap_or_default(),
            custom_fields: input.custom_fields.unwrap_or_default(),
            attachments: Vec::new(),
            deleted: false,
            created_at: timestamp(now),
            updated_at: timestamp(now),
            created: now,
            updated: now,
            stored_at: Instant::now(),
        };
        let mut ticket = ticket;
        let first = store.next_attachment_id();
        for (i, f) in files.into_iter().enumerate() {
            let id = first + i as u64;
            let size = f.bytes.len() as u64;
            ticket.attachments.push(Attachment {
                id,
                name: f.name,
                content_type: f.content_type,
                size,
                bytes: f.bytes,
            });
        }
        let body = ticket_json(&ticket, TicketView::Full);
        let id = ticket.id;
        store.tickets.push(ticket);
        let mut counters = app.counters();
        counters.tickets_created += 1;
        counters.contacts_created += u64::from(new_contact);
        (body, id)
    };
    let location = format!("{}/api/v2/tickets/{id}", app.base_url);
    let mut resp = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// What `include` asks a ticket show to embed (each costs a credit, charged by the router).
#[derive(Default)]
struct ShowIncludes {
    requester: bool,
    conversations: bool,
}

/// `include` on a show: a comma list of `conversations`, `requester`, `company`, `stats`
/// (the last two accepted and ignored); anything else, or an empty list, is `invalid_value`.
fn show_includes(raw: Option<&str>) -> Result<ShowIncludes, ApiError> {
    let mut inc = ShowIncludes::default();
    let Some(raw) = raw else { return Ok(inc) };
    let refused = || {
        let list = "conversations, requester, company, stats";
        ApiError::one(FieldError::one_of("include", "invalid_value", list))
    };
    if raw.trim().is_empty() {
        return Err(refused());
    }
    for item in raw.split(',').map(str::trim) {
        match item {
            "requester" => inc.requester = true,
            "conversations" => inc.conversations = true,
            "company" | "stats" => {}
            _ => return Err(refused()),
        }
    }
    Ok(inc)
}

pub(crate) async fn show(
    State(app): State<Arc<App>>,
    _caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let params = list_query(raw.as_deref(), &["include"])?;
    let include = show_includes(param(&params, "include"))?;
    let store = lock(&app.store);
    let ticket = store.ticket(id).ok_or(ApiError::NotFound)?;
    let mut body = ticket_json(ticket, TicketView::Full);
    if let Some(obj) = body.as_object_mut() {
        if let Some(u) = store.users.get(&ticket.requester_id).filter(|_| include.requester) {
            obj.insert("requester".into(), requester_json(u));
        }
        if include.conversations {
            obj.insert("conversations".into(), serde_json::json!([]));
        }
    }
    Ok(axum::Json(body).into_response())
}

pub(crate) async fn delete(
    State(app): State<Arc<App>>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let mut store = lock(&app.store);
    let ticket = store.ticket_mut(id).ok_or(ApiError::NotFound)?;
    if ticket.deleted {
        return Err(ApiError::method_not_allowed("DELETE", &["GET"]));
    }
    ticket.deleted = true;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn restore(
    State(app): State<Arc<App>>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let mut store = lock(&app.store);
    let ticket = store.ticket_mut(id).ok_or(ApiError::NotFound)?;
    ticket.deleted = false;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn update(
    State(app): State<Arc<App>>,
    _caller: Caller,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let obj = read_object(&app, body).await?;
    if obj.is_empty() {
        return Err(ApiError::Request {
            status: StatusCode::BAD_REQUEST,
            code: "missing_params",
            message: "No parameters were sent with the request".into(),
        });
    }
    let (known, custom_statuses) = {
        let c = app.config();
        (c.custom_fields.clone(), c.custom_statuses.clone())
    };
    // A status the account added is the account's own: checked here, the rest as always.
    let mut obj = obj;
    let custom_status =
        obj.get("status").and_then(serde_json::Value::as_u64).filter(|s| custom_statuses.contains(s));
    if custom_status.is_some() {
        obj.remove("status");
    }
    let mut input = ticket_fields::parse(&obj, false, &known).map_err(ApiError::Validation)?;
    input.status = custom_status.or(input.status);
    let mut store = lock(&app.store);
    let ticket = store.ticket_mut(id).ok_or(ApiError::NotFound)?;
    if ticket.deleted {
        return Err(ApiError::method_not_allowed("PUT", &["GET"]));
    }
    let status = input.status.unwrap_or(ticket.status);
    let sent = input.custom_fields.as_ref();
    let missing = ticket_fields::required_on_update(&ticket.custom_fields, sent, &known, status);
    if !missing.is_empty() {
        return Err(ApiError::Validation(missing));
    }
    // `"responder_id": null` unassigns the ticket (and `group_id` likewise).
    let unassign = |key: &str| obj.get(key).is_some_and(serde_json::Value::is_null);
    if unassign("responder_id") {
        ticket.responder_id = None;
    }
    if unassign("group_id") {
        ticket.group_id = None;
    }
    apply_update(ticket, input);
    *app.counters().ticket_updates.entry(id).or_default() += 1;
    Ok(axum::Json(ticket_json(ticket, TicketView::Full)).into_response())
}

fn apply_update(t: &mut Ticket, i: TicketInput) {
    macro_rules! set {
        ($($field:ident),*) => { $(if let Some(v) = i.$field { t.$field = v; })* };
    }
    set!(subject, description, status, priority, source, tags);
    if let Some(v) = i.kind {
        t.kind = Some(v);
    }
    if let Some(v) = i.custom_fields {
        t.custom_fields.extend(v);
    }
    t.responder_id = i.responder_id.or(t.responder_id);
    t.group_id = i.group_id.or(t.group_id);
    let now = OffsetDateTime::now_utc();
    t.updated = now;
    t.updated_at = timestamp(now);
}
