//! `GET /api/v2/roles`: the account's roles (the built-in ones), in Freshdesk's shape. With
//! `roles_unreadable` set, the answer is a 200 HTML page instead (a login or proxy page), so
//! tests can check that fdsync never takes an unreadable role list as "no protected roles".

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::App;
use crate::auth::Admin;
use crate::state::BUILT_IN_ROLES;

pub(crate) async fn list(State(app): State<Arc<App>>, _admin: Admin) -> Response {
    if app.config().roles_unreadable {
        let page = "<!DOCTYPE html><html><body><h1>Sign in</h1></body></html>";
        return ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response();
    }
    let roles: Vec<_> = BUILT_IN_ROLES
        .iter()
        .map(|(id, name, description)| {
            json!({
                "id": id, "name": name, "description": description, "default": true,
                "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z",
            })
        })
        .collect();
    axum::Json(roles).into_response()
}
