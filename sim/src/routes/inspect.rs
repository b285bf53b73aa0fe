//! `/_sim/*`: inspection and control for tests and demos. No auth, no quota, no faults.
//! State and counters snapshots, reset (data and counters, config kept), live config changes,
//! and revocation of OAuth tokens.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::{App, lock};
use crate::config::{ConfigPatch, ConfigView};

pub(crate) async fn state(State(app): State<Arc<App>>) -> Response {
    let snapshot = lock(&app.store).snapshot();
    Json(snapshot).into_response()
}

pub(crate) async fn counters(State(app): State<Arc<App>>) -> Response {
    let counters = app.counters_snapshot();
    Json(counters).into_response()
}

pub(crate) async fn reset(State(app): State<Arc<App>>) -> StatusCode {
    app.reset();
    StatusCode::NO_CONTENT
}

pub(crate) async fn config(State(app): State<Arc<App>>) -> Response {
    let view = ConfigView::of(&app.config());
    Json(view).into_response()
}

pub(crate) async fn patch_config(State(app): State<Arc<App>>, body: Body) -> Response {
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, Json(json!({"message": "body too large"}))).into_response();
    };
    match serde_json::from_slice::<ConfigPatch>(&bytes) {
        Ok(patch) => {
            app.update_config(|c| patch.apply(c));
            config(State(app)).await
        }
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"message": e.to_string()}))).into_response(),
    }
}

/// Revokes every refresh token; `?access=true` revokes access tokens too.
pub(crate) async fn revoke(State(app): State<Arc<App>>, RawQuery(raw): RawQuery) -> StatusCode {
    let access = raw.as_deref().is_some_and(|q| q.split('&').any(|p| p == "access=true"));
    let mut oauth = lock(&app.oauth);
    oauth.refresh.clear();
    if access {
        oauth.access.clear();
    }
    StatusCode::NO_CONTENT
}
