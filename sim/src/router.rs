//! The whole route table, and the /api/v2 pipeline every API request passes through in order:
//! record → 429 storm → quota (counted before processing) → latency → reset/5xx faults →
//! (late apply: hold) → Accept / Content-Type checks → handler → drop-after-commit /
//! 5xx-after-commit → rate-limit headers.
//! `/_sim` and `/oauth` skip the pipeline: no quota, no faults.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};

use crate::app::{App, RawRequest, lock};
use crate::error::ApiError;
use crate::faults::{self, Fault};
use crate::quota::{Class, Verdict};
use crate::routes::{
    agents, contacts, groups, inspect, oauth, products, roles, search, ticket_fields, tickets,
};
use crate::server::KillSwitch;

/// Builds the simulator's router.
pub(crate) fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route("/api/v2/tickets", get(tickets::list).post(tickets::create))
        .route("/api/v2/tickets/{id}", get(tickets::show).delete(tickets::delete).put(tickets::update))
        .route("/api/v2/tickets/{id}/restore", put(tickets::restore))
        .route("/api/v2/search/tickets", get(search::tickets))
        .route("/api/v2/ticket_fields", get(ticket_fields::index))
        .route("/api/v2/agents", get(agents::list).post(agents::create))
        .route("/api/v2/agents/me", get(agents::me))
        .route("/api/v2/agents/{id}", get(agents::show).put(agents::update).delete(agents::delete))
        .route("/api/v2/contacts", get(contacts::list).post(contacts::create))
        .route("/api/v2/contacts/{id}", get(contacts::show))
        .route("/api/v2/contacts/{id}/make_agent", put(contacts::make_agent))
        .route("/api/v2/roles", get(roles::list))
        .route("/api/v2/groups", get(groups::list))
        .route("/api/v2/products", get(products::list));
    let side = Router::new()
        .route("/oauth/authorize", get(oauth::authorize))
        .route("/oauth/token", post(oauth::token))
        .route("/_sim/state", get(inspect::state))
        .route("/_sim/counters", get(inspect::counters))
        .route("/_sim/reset", post(inspect::reset))
        .route("/_sim/config", get(inspect::config).patch(inspect::patch_config))
        .route("/_sim/revoke", post(inspect::revoke));
    api.merge(side)
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(from_fn_with_state(app.clone(), api_pipeline))
        .with_state(app)
}

/// The route template of a path (`/api/v2/agents/{id}`), for counters and quota classes.
pub(crate) fn template(path: &str) -> String {
    let parts: Vec<&str> = path
        .split('/')
        .map(|seg| if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) { "{id}" } else { seg })
        .collect();
    parts.join("/")
}

fn class_and_cost(method: &Method, route: &str, query: Option<&str>) -> (Class, u64) {
    let includes = || {
        let pairs: Vec<(String, String)> =
            query.and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
        let list = pairs.into_iter().find(|(k, _)| k == "include").map(|(_, v)| v).unwrap_or_default();
        list.split(',').filter(|s| !s.trim().is_empty()).count() as u64
    };
    match (method.as_str(), route) {
        ("POST", "/api/v2/tickets") => (Class::TicketCreate, 1),
        ("PUT", "/api/v2/tickets/{id}") => (Class::TicketUpdate, 1),
        ("GET", "/api/v2/tickets") => (Class::TicketsList, 1 + 2 * includes()),
        ("GET", "/api/v2/tickets/{id}") => (Class::Other, 1 + includes()),
        ("GET", "/api/v2/contacts") => (Class::ContactsList, 1),
        // A contact create has no sub-limit of its own (freshdesk-api.md §2: four buckets only).
        _ => (Class::Other, 1),
    }
}

fn record(app: &App, req: &Request) {
    let raw =
        RawRequest { method: req.method().clone(), uri: req.uri().clone(), headers: req.headers().clone() };
    *lock(&app.last_request) = Some(raw);
    app.log_request(req.method(), req.uri().path());
    app.counters().api_requests += 1;
}

/// 406 / 415 from the request interceptor (facts file §7).
fn check_headers(req: &Request) -> Result<(), ApiError> {
    if let Some(accept) = req.headers().get(header::ACCEPT) {
        let text = String::from_utf8_lossy(accept.as_bytes()).to_ascii_lowercase();
        if !(text.contains("application/json") || text.contains("*/*")) {
            return Err(ApiError::Request {
                status: StatusCode::NOT_ACCEPTABLE,
                code: "invalid_accept_header",
                message: format!("Accept header is set to {text}. It should have application/json or */*"),
            });
        }
    }
    let writes = matches!(*req.method(), Method::POST | Method::PUT);
    let headers = req.headers();
    let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
    let has_body = headers.contains_key(header::TRANSFER_ENCODING) || length.is_some_and(|l| l.trim() != "0");
    if writes && has_body {
        let ct =
            headers.get(header::CONTENT_TYPE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let ct = ct.unwrap_or_default();
        // A ticket create may carry attachments as multipart/form-data (facts file §9).
        let form_ok = *req.method() == Method::POST && req.uri().path() == "/api/v2/tickets";
        let multipart = form_ok && crate::routes::tickets::is_multipart(&ct);
        if !multipart && !ct.to_ascii_lowercase().trim_start().starts_with("application/json") {
            return Err(ApiError::Request {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code: "invalid_content_type",
                message: format!("Content-Type header is set to {ct}. It should be set to application/json"),
            });
        }
    }
    Ok(())
}

/// The methods of each API route, for the `Allow` header of a 405.
fn allowed_methods(route: &str) -> &'static [&'static str] {
    match route {
        "/api/v2/tickets" | "/api/v2/agents" | "/api/v2/contacts" => &["GET", "POST"],
        "/api/v2/tickets/{id}" => &["GET", "PUT", "DELETE"],
        "/api/v2/agents/{id}" => &["GET", "PUT", "DELETE"],
        "/api/v2/tickets/{id}/restore" | "/api/v2/contacts/{id}/make_agent" => &["PUT"],
        _ => &["GET"],
    }
}

/// axum answers a wrong method with an empty 405; give it Freshdesk's base body and `Allow`.
fn shape_405(method: &Method, route: &str, resp: Response) -> Response {
    if resp.status() != StatusCode::METHOD_NOT_ALLOWED || resp.headers().contains_key(header::CONTENT_TYPE) {
        return resp;
    }
    ApiError::method_not_allowed(method.as_str(), allowed_methods(route)).into_response()
}

/// Closes the connection without an answer; the returned future never completes.
async fn kill(switch: Option<KillSwitch>, fallback: Response) -> Response {
    match switch {
        Some(s) => {
            s.trigger();
            std::future::pending().await
        }
        None => fallback,
    }
}

fn count(app: &App, method: &Method, route: &str, status: StatusCode) {
    let key = format!("{method} {route} {}", status.as_u16());
    let mut counters = app.counters();
    *counters.requests.entry(key).or_default() += 1;
    if status == StatusCode::TOO_MANY_REQUESTS {
        counters.rate_limited += 1;
    }
}

/// Header checks, then the handler.
async fn handle(req: Request, next: Next, method: &Method, route: &str) -> Response {
    match check_headers(&req) {
        Err(e) => e.into_response(),
        Ok(()) => shape_405(method, route, next.run(req).await),
    }
}

/// The late-apply fault: the body is read now, then a detached task holds it for `late_delay`
/// and runs the handler, so the change lands even after the client gave up and its connection
/// (and this future) are gone. The answer goes back to whoever is still waiting.
async fn apply_late(app: &Arc<App>, req: Request, next: Next, method: Method, route: String) -> Response {
    let (delay, limit) = {
        let c = app.config();
        (c.late_delay, c.max_body_bytes)
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return crate::routes::body_too_large(limit).into_response();
    };
    let req = Request::from_parts(parts, axum::body::Body::from(bytes));
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.counters().late_holds += 1;
    let app = app.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let resp = handle(req, next, &method, &route).await;
        app.counters().late_applies += 1;
        let _ = tx.send(resp);
    });
    rx.await.unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn api_pipeline(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !(path == "/api/v2" || path.starts_with("/api/v2/")) {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let route = template(path);
    let (class, cost) = class_and_cost(&method, &route, req.uri().query());
    record(&app, &req);
    let now = Instant::now();
    let change = matches!(method, Method::POST | Method::PUT | Method::DELETE | Method::PATCH);
    let (storm, latency, fault, verdict) = {
        let config = app.config();
        let storm = faults::storm_left(&config, now);
        let (latency, fault) = faults::roll(&mut lock(&app.rng), &config, change);
        let verdict = lock(&app.quota).spend(class, cost, &config.limits(), config.window, now);
        (storm, latency, fault, verdict)
    };
    let switch = req.extensions().get::<KillSwitch>().cloned();
    let (total, remaining, used_now) = match (storm, verdict) {
        (Some(retry_after), _) | (None, Verdict::Limited { retry_after }) => {
            count(&app, &method, &route, StatusCode::TOO_MANY_REQUESTS);
            return ApiError::RateLimited { retry_after }.into_response();
        }
        (None, Verdict::Allowed { total, remaining, used_now }) => (total, remaining, used_now),
    };
    if let Some(delay) = latency {
        tokio::time::sleep(delay).await;
    }
    match fault {
        Fault::Reset => {
            app.counters().resets += 1;
            return kill(switch, StatusCode::BAD_GATEWAY.into_response()).await;
        }
        Fault::Fail(status) => {
            app.counters().faults_5xx += 1;
            let resp = faults::html_error(status);
            count(&app, &method, &route, resp.status());
            return resp;
        }
        Fault::Drop | Fault::FailAfter(_) | Fault::Late | Fault::None => {}
    }
    let mut resp = if fault == Fault::Late {
        apply_late(&app, req, next, method.clone(), route.clone()).await
    } else {
        handle(req, next, &method, &route).await
    };
    match fault {
        Fault::Drop => {
            app.counters().drops += 1;
            return kill(switch, resp).await;
        }
        Fault::FailAfter(status) => {
            // The gateway's own page: no rate-limit headers from the application behind it.
            app.counters().faults_5xx_after += 1;
            let resp = faults::html_error(status);
            count(&app, &method, &route, resp.status());
            return resp;
        }
        _ => {}
    }
    let headers = resp.headers_mut();
    headers.insert("x-ratelimit-total", HeaderValue::from(total));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("x-ratelimit-used-currentrequest", HeaderValue::from(used_now));
    if resp.status() != StatusCode::NOT_FOUND {
        resp.headers_mut()
            .insert("x-freshdesk-api-version", HeaderValue::from_static("latest=v2; requested=v2"));
    }
    count(&app, &method, &route, resp.status());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_replace_numeric_segments() {
        assert_eq!(template("/api/v2/agents/43000000001"), "/api/v2/agents/{id}");
        assert_eq!(template("/api/v2/agents/me"), "/api/v2/agents/me");
    }

    #[test]
    fn list_includes_cost_two_credits_each() {
        let q = Some("email=a%40b.c&include=requester,stats");
        assert_eq!(class_and_cost(&Method::GET, "/api/v2/tickets", q), (Class::TicketsList, 5));
        assert_eq!(class_and_cost(&Method::GET, "/api/v2/tickets/{id}", Some("include=stats")).1, 2);
    }

    #[test]
    fn a_contact_create_spends_the_account_budget_and_no_sub_limit() {
        assert_eq!(class_and_cost(&Method::POST, "/api/v2/contacts", None), (Class::Other, 1));
        assert_eq!(class_and_cost(&Method::GET, "/api/v2/contacts", None), (Class::ContactsList, 1));
    }
}
