//! Row-by-row table of freshdesk-api.md §2, §3, §5, §7.

use super::*;
use reqwest::header::HeaderValue;
use std::time::Duration;

fn at() -> SystemTime {
    httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap()
}

const MAX_WAIT: Duration = Duration::from_secs(3600);

/// Classifies with a JSON content type unless the headers name one; the body decodes as "any
/// well-formed JSON or blank" (a change with no result).
fn run(status: u16, headers: &[(&'static str, &str)], body: &str) -> Answer {
    let mut map = HeaderMap::new();
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        map.append("content-type", HeaderValue::from_static("application/json; charset=utf-8"));
    }
    for (k, v) in headers {
        map.append(*k, HeaderValue::from_str(v).unwrap());
    }
    classify_at(status, &map, body.as_bytes(), at(), MAX_WAIT)
}

fn ticket(status: u16, content_type: &str, body: &str) -> Answer<crate::freshdesk::Ticket> {
    let mut map = HeaderMap::new();
    map.append("content-type", HeaderValue::from_str(content_type).unwrap());
    classify_at(status, &map, body.as_bytes(), at(), MAX_WAIT)
}

const DUP: &str = r#"{"description":"Validation failed","errors":[{"field":"email","additional_info":{"agent_id":43026449322},"message":"It should be a unique value","code":"duplicate_value"}]}"#;

#[test]
fn successes_carry_the_decoded_value() {
    match ticket(201, "application/json", r#"{"id":1042,"tags":["x"]}"#) {
        Answer::Ok { status: 201, value } => assert_eq!(value.id, 1042),
        other => panic!("{other:?}"),
    }
    assert_eq!(run(204, &[], ""), Answer::Ok { status: 204, value: () });
    assert_eq!(run(200, &[], "[]"), Answer::Ok { status: 200, value: () });
}

#[test]
fn a_success_proves_only_what_it_parses_as() {
    let rows: &[(&str, &str, &str)] = &[
        ("text/html", "<html><body>Please log in</body></html>", "content type text/html"),
        ("application/json", r#"{"id": 1042"#, "not a ticket"),
        ("application/json", r#"{"subject": "no id"}"#, "not a ticket"),
        ("application/json", r#"{"id": "1042"}"#, "not a ticket"),
        ("application/json", r#"{"id": -3}"#, "not a ticket"),
        ("application/json", r#"{"id": 0}"#, "not a ticket"),
        ("application/json", "", "not a ticket"),
        ("", r#"{"id": 1042}"#, "content type none"),
    ];
    for (content_type, body, why) in rows {
        let mut map = HeaderMap::new();
        if !content_type.is_empty() {
            map.append("content-type", HeaderValue::from_str(content_type).unwrap());
        }
        match classify_at::<crate::freshdesk::Ticket>(200, &map, body.as_bytes(), at(), MAX_WAIT) {
            Answer::Unverifiable { status: 200, why: w } => assert!(w.contains(why), "{body}: {w}"),
            other => panic!("{body}: {other:?}"),
        }
    }
    assert!(matches!(ticket(200, "application/vnd.api+json", r#"{"id":1}"#), Answer::Ok { .. }));
}

#[test]
fn a_404_with_a_page_that_is_not_freshdesks_proves_nothing() {
    let page = "<html><body><h1>Not Found</h1></body></html>";
    assert!(matches!(
        run(404, &[("content-type", "text/html")], page),
        Answer::Unverifiable { status: 404, .. }
    ));
}

#[test]
fn rate_limits_wait_for_retry_after_in_seconds_or_as_a_date_default_one_second() {
    let per_minute = r#"{"message":"You have exceeded the limit of requests per minute"}"#;
    let rows: &[(&[(&'static str, &str)], u64)] = &[
        (&[("retry-after", "17")], 17),
        (&[("retry-after", "Sun, 06 Nov 1994 08:50:37 GMT")], 60),
        (&[], 1),
        (&[("retry-after", "later")], 1),
        (&[("retry-after", "18446744073709551615")], 3600),
        (&[("retry-after", "1000000000")], 3600),
    ];
    for (headers, secs) in rows {
        assert_eq!(
            run(429, headers, per_minute),
            Answer::RateLimited { retry_after: Duration::from_secs(*secs) },
            "{headers:?}"
        );
    }
}

#[test]
fn non_rate_429s_are_invalid_and_never_retried() {
    for code in ["outbound_limit_exceeded", "recipient_limit_exceeded"] {
        let body = format!(r#"{{"code":"{code}","message":"You cannot email more than five people"}}"#);
        match run(429, &[("retry-after", "5")], &body) {
            Answer::Invalid { status: 429, code: Some(c), message, .. } => {
                assert_eq!(c, code);
                assert!(message.contains("five people"));
            }
            other => panic!("{code}: {other:?}"),
        }
    }
}

#[test]
fn server_errors_are_transient_including_html_pages() {
    let html = "<html><body><h1>502 Bad Gateway</h1></body></html>";
    assert_eq!(
        run(502, &[], html),
        Answer::Transient { status: Some(502), reason: "HTTP 502 Bad Gateway".into() }
    );
    let json = r#"{"message":"We're sorry, but something went wrong."}"#;
    assert_eq!(
        run(500, &[], json),
        Answer::Transient { status: Some(500), reason: "We're sorry, but something went wrong.".into() }
    );
    assert!(matches!(run(503, &[], ""), Answer::Transient { status: Some(503), .. }));
    assert!(matches!(run(504, &[], r#"{"code":"internal_error","message":"x"}"#), Answer::Transient { .. }));
}

#[test]
fn an_empty_or_blank_404_is_not_found_but_a_datacenter_move_is_transient() {
    assert_eq!(run(404, &[], ""), Answer::NotFound);
    assert_eq!(run(404, &[], " "), Answer::NotFound);
    let moving = r#"{"message":"Your data is getting moved to a new datacenter."}"#;
    assert!(matches!(run(404, &[], moving), Answer::Transient { status: Some(404), .. }));
    let coded = r#"{"code":"domain_not_ready","message":"later"}"#;
    assert!(matches!(run(404, &[], coded), Answer::Transient { status: Some(404), .. }));
}

#[test]
fn a_401_is_an_auth_failure_with_its_code() {
    let body =
        r#"{"code":"invalid_credentials","message":"You have to be logged in to perform this action."}"#;
    assert_eq!(
        run(401, &[], body),
        Answer::Auth {
            status: 401,
            code: "invalid_credentials".into(),
            message: "You have to be logged in to perform this action.".into()
        }
    );
    assert!(
        matches!(run(401, &[], ""), Answer::Auth { status: 401, code, .. } if code == "invalid_credentials")
    );
}

#[test]
fn account_level_403s_are_auth_and_permission_403s_are_forbidden() {
    for code in ["account_suspended", "ssl_required", "password_expired", "password_lockout"] {
        let body = format!(r#"{{"code":"{code}","message":"m"}}"#);
        assert!(
            matches!(run(403, &[], &body), Answer::Auth { status: 403, code: ref c, .. } if c == code),
            "{code}"
        );
    }
    for code in ["access_denied", "require_feature"] {
        let body = format!(r#"{{"code":"{code}","message":"You are not authorized"}}"#);
        assert_eq!(
            run(403, &[], &body),
            Answer::Forbidden { code: code.into(), message: "You are not authorized".into() }
        );
    }
}

#[test]
fn a_409_is_a_conflict_with_the_existing_id_in_the_field_errors() {
    match run(409, &[], DUP) {
        Answer::Conflict { existing, errors } => {
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].code, "duplicate_value");
            assert_eq!(existing, Some(crate::freshdesk::Existing::Agent(43026449322)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn client_errors_are_invalid_with_field_errors_code_and_message() {
    let validation = r#"{"description":"Validation failed","errors":[{"field":"priority","message":"It should be one of these values: '1,2,3,4'","code":"invalid_value"}]}"#;
    match run(400, &[], validation) {
        Answer::Invalid { status: 400, code, message, errors } => {
            assert_eq!(code.as_deref(), Some("invalid_value"));
            assert_eq!(message, "Validation failed");
            assert_eq!(errors[0].field, "priority");
        }
        other => panic!("{other:?}"),
    }
    let rows: &[(u16, &str, Option<&str>)] = &[
        (
            400,
            r#"{"code":"invalid_json","message":"Request body has invalid json format"}"#,
            Some("invalid_json"),
        ),
        (
            405,
            r#"{"message":"DELETE method is not allowed. It should be one of these method(s): GET"}"#,
            None,
        ),
        (
            406,
            r#"{"code":"invalid_accept_header","message":"Accept header is set to x"}"#,
            Some("invalid_accept_header"),
        ),
        (413, "", None),
        (
            415,
            r#"{"code":"invalid_content_type","message":"Content-Type header is set to x"}"#,
            Some("invalid_content_type"),
        ),
    ];
    for (status, body, want) in rows {
        match run(*status, &[], body) {
            Answer::Invalid { status: s, code, message, errors } => {
                assert_eq!(s, *status);
                assert_eq!(code.as_deref(), *want, "{status}");
                assert!(!message.is_empty());
                assert!(errors.is_empty());
            }
            other => panic!("{status}: {other:?}"),
        }
    }
}

#[test]
fn long_messages_are_clipped() {
    let body = format!(r#"{{"message":"{}"}}"#, "x".repeat(2000));
    match run(400, &[], &body) {
        Answer::Invalid { message, .. } => assert!(message.chars().count() <= MAX_MESSAGE + 1),
        other => panic!("{other:?}"),
    }
}
