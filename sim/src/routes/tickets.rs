//! `/api/v2/tickets`: create (with requester resolution and contact auto-creation), list with
//! filters and paging, show, update, soft delete and restore (facts file §4).

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ticket_fields::{self, TicketInput};
use super::{link_next, list_query, page_of, paging, param, parse_id, read_object};
use crate::app::{App, lock};
use crate::auth::Caller;
use crate::error::{ApiError, FieldError};
use crate::state::{Store, Ticket, TicketView, ticket_json, timestamp};

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
    // twitter_id / facebook_id only: a nameless contact.
    Ok((store.add_contact(input.name.as_deref(), None, None), true))
}

pub(crate) async fn create(
    State(app): State<Arc<App>>,
    _caller: Caller,
    body: Body,
) -> Result<Response, ApiError> {
    let obj = read_object(&app, body).await?;
    let known = app.config().custom_fields.clone();
    let input = ticket_fields::parse(&obj, true, &known).map_err(ApiError::Validation)?;
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
            deleted: false,
            created_at: timestamp(now),
            updated_at: timestamp(now),
            created: now,
            updated: now,
            stored_at: Instant::now(),
        };
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

const LIST_PARAMS: &[&str] = &[
    "filter",
    "requester_id",
    "email",
    "company_id",
    "updated_since",
    "include",
    "order_by",
    "order_type",
    "per_page",
    "page",
];

/// The list query after validation.
struct ListQuery {
    filter: Option<String>,
    requester: Option<u64>,
    company_id: Option<u64>,
    updated_since: Option<OffsetDateTime>,
    description: bool,
    requester_object: bool,
    order_by: String,
    ascending: bool,
}

fn one_of(
    params: &[(String, String)],
    key: &str,
    allowed: &[&str],
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let v = param(params, key)?;
    if allowed.contains(&v) {
        Some(v.to_string())
    } else {
        errors.push(FieldError::one_of(key, "invalid_value", &allowed.join(",")));
        None
    }
}

fn parse_list(store: &Store, params: &[(String, String)], e: &mut Vec<FieldError>) -> ListQuery {
    let filter = one_of(params, "filter", &["new_and_my_open", "watching", "spam", "deleted"], e);
    let order_by = one_of(params, "order_by", &["created_at", "due_by", "updated_at", "status"], e);
    let order_type = one_of(params, "order_type", &["asc", "desc"], e);
    let (mut description, mut requester_object) = (false, false);
    for inc in param(params, "include").unwrap_or("").split(',').filter(|s| !s.is_empty()) {
        match inc {
            "requester" => requester_object = true,
            "stats" | "company" => {}
            "description" => description = true,
            _ => {
                e.push(FieldError::one_of("include", "invalid_value", "requester,stats,company,description"))
            }
        }
    }
    let mut id_param = |key: &str| {
        let raw = param(params, key)?;
        let n = raw.parse::<u64>().ok().filter(|n| *n > 0);
        if n.is_none() {
            e.push(FieldError::datatype(key, "Positive Integer"));
        }
        n
    };
    let mut requester = id_param("requester_id");
    let company_id = id_param("company_id");
    let no_match =
        |f: &str| FieldError::new(f, "invalid_value", format!("There is no contact matching the given {f}"));
    if requester.is_some_and(|id| !store.users.contains_key(&id)) {
        e.push(no_match("requester_id"));
    }
    if let Some(email) = param(params, "email") {
        match store.user_by_email(email) {
            Some(u) if requester.is_none_or(|r| r == u.id) => requester = Some(u.id),
            Some(_) => requester = Some(0),
            None => e.push(no_match("email")),
        }
    }
    let updated_since = param(params, "updated_since").and_then(|raw| {
        let parsed = OffsetDateTime::parse(raw, &Rfc3339).ok().or_else(|| {
            let date =
                time::Date::parse(raw, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
            Some(date.midnight().assume_utc())
        });
        if parsed.is_none() {
            let msg = "It should be in the 'combined date and time ISO8601' format";
            e.push(FieldError::new("updated_since", "invalid_value", msg));
        }
        parsed
    });
    ListQuery {
        filter,
        requester,
        company_id,
        updated_since,
        description,
        requester_object,
        order_by: order_by.unwrap_or_else(|| "created_at".into()),
        ascending: order_type.as_deref() == Some("asc"),
    }
}

fn matches(t: &Ticket, q: &ListQuery, window_start: Option<OffsetDateTime>) -> bool {
    let deleted_wanted = q.filter.as_deref() == Some("deleted");
    t.deleted == deleted_wanted
        && q.filter.as_deref() != Some("spam")
        && q.requester.is_none_or(|r| t.requester_id == r)
        && q.company_id.is_none_or(|c| t.company_id == Some(c))
        && q.updated_since.is_none_or(|s| t.updated >= s)
        && window_start.is_none_or(|s| t.created >= s)
}

fn sort_key(t: &Ticket, by: &str) -> (i128, u64) {
    let ts = match by {
        "updated_at" => t.updated.unix_timestamp_nanos(),
        "status" => i128::from(t.status),
        "due_by" => (t.created + time::Duration::days(3)).unix_timestamp_nanos(),
        _ => t.created.unix_timestamp_nanos(),
    };
    (ts, t.id)
}

pub(crate) async fn list(
    State(app): State<Arc<App>>,
    _caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = list_query(raw.as_deref(), LIST_PARAMS)?;
    let mut errors = Vec::new();
    let msg = "You cannot access tickets beyond the 300th page. Please provide a smaller page number.";
    let paging = paging(&params, Some((300, msg)), &mut errors);
    let store = lock(&app.store);
    let q = parse_list(&store, &params, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let filtered = ["email", "requester_id", "company_id", "updated_since", "filter"]
        .iter()
        .any(|k| param(&params, k).is_some());
    let window = (!filtered).then(|| {
        let month_ago = OffsetDateTime::now_utc() - time::Duration::days(30);
        month_ago.replace_time(time::Time::MIDNIGHT)
    });
    let mut items: Vec<&Ticket> = store.tickets.iter().filter(|t| matches(t, &q, window)).collect();
    items.sort_by_key(|t| sort_key(t, &q.order_by));
    if !q.ascending {
        items.reverse();
    }
    let (page, more) = page_of(items, paging);
    let view = TicketView::Item { description: q.description };
    let render = |t: &Ticket| {
        let mut item = ticket_json(t, view);
        let user = store.users.get(&t.requester_id).filter(|_| q.requester_object);
        if let (Some(u), Some(obj)) = (user, item.as_object_mut()) {
            let requester =
                json!({"id": u.id, "name": u.name, "email": u.email, "mobile": u.mobile, "phone": u.phone});
            obj.insert("requester".into(), requester);
        }
        item
    };
    let body: Vec<Value> = page.into_iter().map(render).collect();
    drop(store);
    let link = more.then(|| link_next(&app, "/api/v2/tickets", &params, paging.page + 1));
    Ok(super::json_page(json!(body), link))
}

pub(crate) async fn show(
    State(app): State<Arc<App>>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let store = lock(&app.store);
    let ticket = store.ticket(id).ok_or(ApiError::NotFound)?;
    Ok(axum::Json(ticket_json(ticket, TicketView::Full)).into_response())
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
    let known = app.config().custom_fields.clone();
    let input = ticket_fields::parse(&obj, false, &known).map_err(ApiError::Validation)?;
    let mut store = lock(&app.store);
    let ticket = store.ticket_mut(id).ok_or(ApiError::NotFound)?;
    if ticket.deleted {
        return Err(ApiError::method_not_allowed("PUT", &["GET"]));
    }
    apply_update(ticket, input);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket_created(days_ago: i64) -> Ticket {
        let created = OffsetDateTime::now_utc() - time::Duration::days(days_ago);
        Ticket {
            id: 1,
            subject: String::new(),
            description: String::new(),
            status: 2,
            priority: 1,
            source: 2,
            requester_id: 7,
            responder_id: None,
            group_id: None,
            company_id: None,
            product_id: None,
            email_config_id: None,
            kind: None,
            tags: Vec::new(),
            cc_emails: Vec::new(),
            custom_fields: serde_json::Map::new(),
            deleted: false,
            created_at: timestamp(created),
            updated_at: timestamp(created),
            created,
            updated: created,
            stored_at: Instant::now(),
        }
    }

    fn query(requester: Option<u64>) -> ListQuery {
        ListQuery {
            filter: None,
            requester,
            company_id: None,
            updated_since: None,
            description: false,
            requester_object: false,
            order_by: "created_at".into(),
            ascending: false,
        }
    }

    #[test]
    fn the_unfiltered_list_hides_tickets_older_than_a_month_but_a_filter_shows_them() {
        let window = Some(OffsetDateTime::now_utc() - time::Duration::days(31));
        let old = ticket_created(40);
        assert!(!matches(&old, &query(None), window));
        assert!(matches(&old, &query(Some(7)), None));
        assert!(matches(&ticket_created(2), &query(None), window));
    }
}
