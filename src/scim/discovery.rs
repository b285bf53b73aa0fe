//! `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas` (RFC 7643 §5–7): exactly what this
//! service supports: PATCH yes, bulk no, filter yes (up to [`MAX_RESULTS`]), password change
//! no, sort no, ETags no, bearer-token authentication.

use super::error::ScimError;
use super::mapping::{EXT_SCHEMA, USER_SCHEMA};
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

/// The most Users one page of `GET /Users` returns.
pub(crate) const MAX_RESULTS: usize = 200;

pub(crate) async fn service_provider_config(headers: HeaderMap) -> Response {
    let base = super::base(&headers);
    super::scim_json(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "The token in [scim] token_file, sent as Authorization: Bearer",
            "primary": true
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")}
    }))
}

fn user_type(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User", "name": "User", "endpoint": "/Users",
        "description": "A Freshdesk agent",
        "schema": USER_SCHEMA,
        "schemaExtensions": [{"schema": EXT_SCHEMA, "required": false}],
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")}
    })
}

pub(crate) async fn resource_types(headers: HeaderMap) -> Response {
    super::list_response(vec![user_type(&super::base(&headers))], 1, 1)
}

pub(crate) async fn resource_type(headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ScimError> {
    if id != "User" {
        return Err(ScimError::not_found("the only resource type is User"));
    }
    Ok(super::scim_json(user_type(&super::base(&headers))))
}

fn attr(name: &str, kind: &str, mutability: &str, extra: Value) -> Value {
    let mut a = json!({"name": name, "type": kind, "multiValued": false, "required": false,
        "caseExact": false, "mutability": mutability, "returned": "default", "uniqueness": "none"});
    if let (Some(a), Some(e)) = (a.as_object_mut(), extra.as_object()) {
        a.extend(e.clone());
    }
    a
}

fn schemas(base: &str) -> Vec<Value> {
    let sub = |n: &str, t: &str| attr(n, t, "readWrite", json!({}));
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_SCHEMA, "name": "User", "description": "A Freshdesk agent",
        "attributes": [
            attr("id", "string", "readOnly", json!({"returned": "always", "uniqueness": "server"})),
            attr("userName", "string", "readWrite", json!({"required": true, "uniqueness": "server"})),
            attr("externalId", "string", "readWrite", json!({})),
            attr("displayName", "string", "readWrite", json!({})),
            attr("title", "string", "readWrite", json!({})),
            attr("active", "boolean", "readWrite", json!({})),
            attr("name", "complex", "readWrite", json!({"subAttributes": [sub("formatted", "string"),
                sub("givenName", "string"), sub("familyName", "string")]})),
            attr("emails", "complex", "readWrite", json!({"multiValued": true, "subAttributes": [
                sub("value", "string"), sub("type", "string"), sub("primary", "boolean")]})),
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{USER_SCHEMA}")}
    });
    let ext = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": EXT_SCHEMA, "name": "FreshdeskAgent", "description": "fdsync's Freshdesk agent fields",
        "attributes": [
            attr("ticketScope", "string", "readWrite",
                json!({"canonicalValues": ["Global", "Group", "Restricted"]})),
            attr("roleIds", "integer", "readWrite", json!({"multiValued": true})),
            attr("groupIds", "integer", "readWrite", json!({"multiValued": true})),
            attr("occasional", "boolean", "readWrite", json!({})),
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{EXT_SCHEMA}")}
    });
    vec![user, ext]
}

pub(crate) async fn schema_list(headers: HeaderMap) -> Response {
    super::list_response(schemas(&super::base(&headers)), 2, 1)
}

pub(crate) async fn schema_one(headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ScimError> {
    schemas(&super::base(&headers))
        .into_iter()
        .find(|s| s["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(&id)))
        .map(super::scim_json)
        .ok_or_else(|| ScimError::not_found("no such schema"))
}
