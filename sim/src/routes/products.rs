//! `GET /api/v2/products`: the account's products ([`BUILT_IN_PRODUCTS`]), 30 a page by default,
//! at most 100 (`per_page`), with a `Link` header to the next page. Each is `{id, name,
//! description, created_at, updated_at}`, as Freshdesk's `api_products/index.json.jbuilder`
//! renders it. A ticket row's `product_id` by name is resolved against it.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::json;

use crate::app::App;
use crate::auth::Admin;
use crate::error::ApiError;
use crate::state::BUILT_IN_PRODUCTS;

pub(crate) async fn list(
    State(app): State<Arc<App>>,
    _admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    super::fixed_list(
        &app,
        raw.as_deref(),
        "/api/v2/products",
        &BUILT_IN_PRODUCTS,
        |(id, name, description)| {
            json!({
                    "id": id, "name": name, "description": description,
                    "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z",
            })
        },
    )
}
