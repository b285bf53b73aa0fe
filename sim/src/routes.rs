//! Request handlers, one module per Freshdesk resource, plus the small input helpers they share:
//! bounded JSON bodies, strict query strings, paging with the `Link` header, value checks.

pub(crate) mod agents;
pub(crate) mod contacts;
pub(crate) mod groups;
pub(crate) mod inspect;
pub(crate) mod oauth;
pub(crate) mod products;
pub(crate) mod roles;
pub(crate) mod search;
pub(crate) mod ticket_fields;
pub(crate) mod tickets;

use axum::body::Body;
use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::app::App;
use crate::error::{ApiError, FieldError};

/// Reads a JSON object body of at most `max_body_bytes`; empty means `{}`.
pub(crate) async fn read_object(app: &App, body: Body) -> Result<Map<String, Value>, ApiError> {
    let limit = app.config().max_body_bytes;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| body_too_large(limit))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::invalid_json()),
    }
}

/// The 413 for a body over `limit` bytes.
pub(crate) fn body_too_large(limit: usize) -> ApiError {
    ApiError::Base {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: format!("Request body is too large: at most {limit} bytes are accepted"),
        allow: None,
    }
}

fn valid_percent_encoding(raw: &str) -> bool {
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 2;
        }
        i += 1;
    }
    true
}

/// Parses a query string into ordered pairs; bad percent-encoding is 400 `invalid_encoding`.
pub(crate) fn parse_query(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let raw = raw.unwrap_or("");
    if !valid_percent_encoding(raw) {
        return Err(ApiError::invalid_encoding(raw));
    }
    serde_urlencoded::from_str(raw).map_err(|_| ApiError::invalid_encoding(raw))
}

/// A list route's query: parsed, with unknown parameters refused (each as `invalid_field`).
pub(crate) fn list_query(raw: Option<&str>, allowed: &[&str]) -> Result<Vec<(String, String)>, ApiError> {
    let params = parse_query(raw)?;
    let unknown = unknown_keys(params.iter().map(|(k, _)| k), allowed);
    if unknown.is_empty() { Ok(params) } else { Err(ApiError::Validation(unknown)) }
}

/// The first value of a query parameter.
pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// One `invalid_field` item per unknown key (only these are reported when any exists).
pub(crate) fn unknown_keys<'a>(keys: impl Iterator<Item = &'a String>, allowed: &[&str]) -> Vec<FieldError> {
    let mut seen: Vec<&str> = Vec::new();
    let mut errors = Vec::new();
    for k in keys {
        if !allowed.contains(&k.as_str()) && !seen.contains(&k.as_str()) {
            seen.push(k);
            errors.push(FieldError::invalid_field(k));
        }
    }
    errors
}

/// Validated paging parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Paging {
    pub page: u64,
    pub per_page: u64,
}

fn positive(params: &[(String, String)], name: &str, max: u64, errors: &mut Vec<FieldError>) -> Option<u64> {
    let raw = param(params, name)?;
    let message = match max {
        u64::MAX => "It should be a Positive Integer".to_string(),
        _ => format!("It should be a Positive Integer less than or equal to {max}"),
    };
    match raw.trim().parse::<u64>() {
        Ok(n) if n >= 1 && n <= max => Some(n),
        Ok(_) => {
            errors.push(FieldError::new(name, "invalid_value", message));
            None
        }
        Err(_) => {
            errors.push(FieldError::new(name, "datatype_mismatch", message));
            None
        }
    }
}

/// `page` and `per_page` (default 30, max 100); `page_max` caps the page with its own message.
pub(crate) fn paging(
    params: &[(String, String)],
    page_max: Option<(u64, &str)>,
    errors: &mut Vec<FieldError>,
) -> Paging {
    let per_page = positive(params, "per_page", 100, errors).unwrap_or(30);
    let page = match (param(params, "page").map(|p| p.trim().parse::<u64>()), page_max) {
        (Some(Ok(n)), Some((max, message))) if n > max => {
            errors.push(FieldError::new("page", "invalid_value", message));
            1
        }
        _ => positive(params, "page", u64::MAX, errors).unwrap_or(1),
    };
    Paging { page, per_page }
}

/// Cuts one page out of `items`; also tells whether a next page exists.
pub(crate) fn page_of<T>(items: Vec<T>, paging: Paging) -> (Vec<T>, bool) {
    let skip = paging.page.saturating_sub(1).saturating_mul(paging.per_page);
    let skip = usize::try_from(skip).unwrap_or(usize::MAX);
    let per_page = usize::try_from(paging.per_page).unwrap_or(100);
    let mut rest = items.into_iter().skip(skip);
    let page: Vec<T> = rest.by_ref().take(per_page).collect();
    let more = rest.next().is_some();
    (page, more)
}

/// `<absolute url>; rel="next"`: original parameters in order, `page` replaced or appended.
pub(crate) fn link_next(app: &App, path: &str, params: &[(String, String)], next_page: u64) -> String {
    let mut pairs: Vec<(String, String)> = params.to_vec();
    match pairs.iter_mut().find(|(k, _)| k == "page") {
        Some(p) => p.1 = next_page.to_string(),
        None => pairs.push(("page".into(), next_page.to_string())),
    }
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!("<{}{}?{}>; rel=\"next\"", app.base_url, path, query)
}

/// A path id; anything that is not a number means "no such record" (404).
pub(crate) fn parse_id(raw: &str) -> Result<u64, ApiError> {
    raw.parse::<u64>().map_err(|_| ApiError::NotFound)
}

/// A plain e-mail check: one `@`, something before it, a dot after it, no spaces, ≤ 255.
pub(crate) fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && s.len() <= 255
        && !s.chars().any(|c| c.is_whitespace() || c == ',' || c == '<' || c == '>')
}

/// A fixed list (`GET /groups`, `GET /products`) answered as Freshdesk pages its lists: only
/// `page` and `per_page` (30 by default, at most 100), each item rendered by `render`, and a
/// `Link` header to `path`'s next page when there is one.
pub(crate) fn fixed_list<T: Clone>(
    app: &App,
    raw: Option<&str>,
    path: &str,
    items: &[T],
    render: impl Fn(T) -> Value,
) -> Result<axum::response::Response, ApiError> {
    let params = list_query(raw, &["page", "per_page"])?;
    let mut e = Vec::new();
    let paging = paging(&params, None, &mut e);
    if !e.is_empty() {
        return Err(ApiError::Validation(e));
    }
    let (page, more) = page_of(items.to_vec(), paging);
    let body: Vec<Value> = page.into_iter().map(render).collect();
    let link = more.then(|| link_next(app, path, &params, paging.page + 1));
    Ok(json_page(Value::Array(body), link))
}

/// Builds a JSON answer with optional `Link` header.
pub(crate) fn json_page(body: Value, link: Option<String>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut resp = axum::Json(body).into_response();
    if let Some(v) = link.and_then(|l| axum::http::HeaderValue::from_str(&l).ok()) {
        resp.headers_mut().insert(axum::http::header::LINK, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_percent_encoding_is_refused() {
        assert!(parse_query(Some("email=a%zz")).is_err());
        assert_eq!(
            parse_query(Some("a=1&b=%41")).unwrap(),
            vec![("a".into(), "1".into()), ("b".into(), "A".into())]
        );
    }

    #[test]
    fn page_of_reports_a_next_page_only_when_one_exists() {
        let p = Paging { page: 2, per_page: 2 };
        assert_eq!(page_of(vec![1, 2, 3, 4, 5], p), (vec![3, 4], true));
        assert_eq!(page_of(vec![1, 2, 3, 4], p), (vec![3, 4], false));
    }

    #[test]
    fn emails_are_checked_plainly() {
        assert!(is_email("a.b@example.com"));
        assert!(!is_email("not an email"));
        assert!(!is_email("a@b"));
    }
}
