//! Freshdesk-shaped error answers: the validation, request and base body shapes, the empty 404,
//! 405 with `Allow`, and 429. Every error the simulator sends is built here (facts file §3).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

/// One item of a validation error (`errors[]`), serialised in Freshdesk's key order.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FieldError {
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nested_field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_info: Option<Value>,
    pub message: String,
    pub code: &'static str,
}

impl FieldError {
    pub fn new(field: &str, code: &'static str, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            nested_field: None,
            additional_info: None,
            message: message.into(),
            code,
        }
    }

    pub fn invalid_field(field: &str) -> FieldError {
        FieldError::new(field, "invalid_field", "Unexpected/invalid field in request")
    }

    pub fn one_of(field: &str, code: &'static str, values: &str) -> FieldError {
        FieldError::new(field, code, format!("It should be one of these values: '{values}'"))
    }

    pub fn datatype(field: &str, kind: &str) -> FieldError {
        FieldError::new(field, "datatype_mismatch", format!("It should be a/an {kind}"))
    }

    fn http_status(&self) -> u16 {
        match self.code {
            "duplicate_value" => 409,
            "access_denied" => 403,
            _ => 400,
        }
    }
}

/// An error answer of the simulator.
#[derive(Debug)]
pub enum ApiError {
    /// `{"description":"Validation failed","errors":[..]}`; status = most frequent item status.
    Validation(Vec<FieldError>),
    /// `{"code","message"}`.
    Request { status: StatusCode, code: &'static str, message: String },
    /// `{"message"}`, with an optional `Allow` header (405).
    Base { status: StatusCode, message: String, allow: Option<String> },
    /// 404 with an empty body.
    NotFound,
    /// 429 rate limited, `Retry-After` in whole seconds.
    RateLimited { retry_after: u64 },
}

impl ApiError {
    pub fn invalid_credentials() -> ApiError {
        ApiError::Request {
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_credentials",
            message: "You have to be logged in to perform this action.".into(),
        }
    }

    pub fn access_denied() -> ApiError {
        ApiError::Request {
            status: StatusCode::FORBIDDEN,
            code: "access_denied",
            message: "You are not authorized to perform this action.".into(),
        }
    }

    pub fn invalid_json() -> ApiError {
        ApiError::Request {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_json",
            message: "Request body has invalid json format".into(),
        }
    }

    pub fn invalid_encoding(query: &str) -> ApiError {
        ApiError::Request {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_encoding",
            message: format!("Url query string received is {query}. It should be properly encoded."),
        }
    }

    pub fn method_not_allowed(method: &str, allowed: &[&str]) -> ApiError {
        let list = allowed.join(", ");
        ApiError::Base {
            status: StatusCode::METHOD_NOT_ALLOWED,
            message: format!("{method} method is not allowed. It should be one of these method(s): {list}"),
            allow: Some(list),
        }
    }

    pub fn one(error: FieldError) -> ApiError {
        ApiError::Validation(vec![error])
    }

    /// The HTTP status Freshdesk picks for a list of items: the most frequent item status.
    fn validation_status(errors: &[FieldError]) -> StatusCode {
        let mut counts: Vec<(u16, usize)> = Vec::new();
        for e in errors {
            match counts.iter_mut().find(|(s, _)| *s == e.http_status()) {
                Some(entry) => entry.1 += 1,
                None => counts.push((e.http_status(), 1)),
            }
        }
        // max_by_key keeps the last maximum; reverse so the earliest status wins ties.
        let best = counts.iter().rev().max_by_key(|(_, n)| *n).map(|(s, _)| *s).unwrap_or(400);
        StatusCode::from_u16(best).unwrap_or(StatusCode::BAD_REQUEST)
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body.to_string()).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Validation(errors) => {
                let status = ApiError::validation_status(&errors);
                json_response(status, &json!({"description": "Validation failed", "errors": errors}))
            }
            ApiError::Request { status, code, message } => {
                json_response(status, &json!({"code": code, "message": message}))
            }
            ApiError::Base { status, message, allow } => {
                let mut resp = json_response(status, &json!({ "message": message }));
                if let Some(v) = allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
                    resp.headers_mut().insert(header::ALLOW, v);
                }
                resp
            }
            ApiError::NotFound => StatusCode::NOT_FOUND.into_response(),
            ApiError::RateLimited { retry_after } => {
                let mut resp = json_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    &json!({"message": "You have exceeded the limit of requests per minute"}),
                );
                resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
                resp
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_duplicate_is_409_and_a_majority_decides() {
        let dup = FieldError::new("email", "duplicate_value", "It should be a unique value");
        let bad = FieldError::new("name", "invalid_value", "x");
        assert_eq!(ApiError::validation_status(std::slice::from_ref(&dup)), StatusCode::CONFLICT);
        let two_bad = [bad.clone(), dup.clone(), bad];
        assert_eq!(ApiError::validation_status(&two_bad), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn field_error_serialises_in_freshdesk_order_without_empty_keys() {
        let e = FieldError::invalid_field("external_id");
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(
            text,
            r#"{"field":"external_id","message":"Unexpected/invalid field in request","code":"invalid_field"}"#
        );
    }
}
