//! `GET /api/v2/groups`: the account's groups ([`BUILT_IN_GROUPS`]), 30 a page by default, at
//! most 100 (`per_page`), with a `Link` header to the next page (facts file §9: `{id, name,
//! description, agent_ids, …}`). Offboarding resolves a `successor_group` name against it.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::json;

use crate::app::App;
use crate::auth::Admin;
use crate::error::ApiError;
use crate::state::BUILT_IN_GROUPS;

pub(crate) async fn list(
    State(app): State<Arc<App>>,
    _admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    super::fixed_list(&app, raw.as_deref(), "/api/v2/groups", &BUILT_IN_GROUPS, |(id, name, description)| {
        json!({
                "id": id, "name": name, "description": description, "escalate_to": null,
                "unassigned_for": null, "business_hour_id": null, "group_type": "support_agent_group",
                "agent_ids": [], "auto_ticket_assign": false,
                "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z",
        })
    })
}
