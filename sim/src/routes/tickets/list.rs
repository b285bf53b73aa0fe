//! `GET /api/v2/tickets`: the list with its filters (`filter`, `requester_id`, `email`,
//! `company_id`, `updated_since`), includes, order and paging, and the unfiltered list's
//! 30-day window (facts file §4). It only reads the store; it must not create or change a ticket
//! (that is `tickets.rs`).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::super::{link_next, list_query, page_of, paging, param};
use crate::app::{App, lock};
use crate::auth::Caller;
use crate::error::{ApiError, FieldError};
use crate::state::{Store, Ticket, TicketView, requester_json, ticket_json};

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
    let (description, requester_object) = parse_include(params, e);
    let (requester, company_id) = parse_requester_and_company(store, params, e);
    let updated_since = parse_updated_since(params, e);
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

/// `include`: (description, requester object); `stats` and `company` are accepted and ignored.
fn parse_include(params: &[(String, String)], e: &mut Vec<FieldError>) -> (bool, bool) {
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
    (description, requester_object)
}

/// `requester_id`, `company_id` and `email`: the requester to filter on (0 when `email` names a
/// different contact than `requester_id`, so nothing matches) and the company.
fn parse_requester_and_company(
    store: &Store,
    params: &[(String, String)],
    e: &mut Vec<FieldError>,
) -> (Option<u64>, Option<u64>) {
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
    (requester, company_id)
}

/// `updated_since`: RFC 3339 or a plain date (midnight UTC).
fn parse_updated_since(params: &[(String, String)], e: &mut Vec<FieldError>) -> Option<OffsetDateTime> {
    param(params, "updated_since").and_then(|raw| {
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
    })
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
            obj.insert("requester".into(), requester_json(u));
        }
        item
    };
    let body: Vec<Value> = page.into_iter().map(render).collect();
    drop(store);
    let link = more.then(|| link_next(&app, "/api/v2/tickets", &params, paging.page + 1));
    Ok(super::super::json_page(json!(body), link))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::timestamp;
    use std::time::Instant;

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
            attachments: vec![],
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
