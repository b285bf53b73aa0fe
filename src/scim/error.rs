//! SCIM errors (RFC 7644 §3.12): a status, an optional `scimType` and a detail, answered as
//! `application/scim+json` with the error schema. Held changes are 503 with `Retry-After`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub(crate) const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub(crate) const SCIM_JSON: &str = "application/scim+json";

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScimError {
    pub(crate) status: StatusCode,
    pub(crate) scim_type: Option<&'static str>,
    pub(crate) detail: String,
    /// Seconds, for 429 and 503.
    pub(crate) retry_after: Option<u64>,
}

impl ScimError {
    pub(crate) fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        Self { status, scim_type, detail: detail.into(), retry_after: None }
    }
    pub(crate) fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }
    pub(crate) fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }
    pub(crate) fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
    }
    /// 503 with `Retry-After`: held, or not final yet; identity providers retry.
    pub(crate) fn later(secs: u64, detail: impl Into<String>) -> Self {
        Self { retry_after: Some(secs), ..Self::new(StatusCode::SERVICE_UNAVAILABLE, None, detail) }
    }
    /// 429 with `Retry-After`: Freshdesk's quota is spent.
    pub(crate) fn quota(secs: u64, detail: impl Into<String>) -> Self {
        Self { retry_after: Some(secs), ..Self::new(StatusCode::TOO_MANY_REQUESTS, None, detail) }
    }
    pub(crate) fn internal(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, None, detail)
    }
}

impl From<crate::journal::Error> for ScimError {
    fn from(e: crate::journal::Error) -> Self {
        tracing::warn!(error = %e, "The SCIM service cannot use the journal.");
        Self::later(5, "the journal cannot be used right now; try again")
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        let mut resp = (self.status, body.to_string()).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}
