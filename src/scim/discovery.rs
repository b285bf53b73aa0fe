//! `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas` (RFC 7643 §5–7): exactly what this
//! service supports: PATCH yes, bulk no, filter yes (up to [`MAX_RESULTS`]), password change
//! no, sort no, ETags no, bearer-token authentication.

use super::Scim;
use super::error::ScimError;
use super::mapping::{EXT_SCHEMA, USER_SCHEMA};
use crate::engine::ports::Api;
use crate::engine::{AccountNames, NameKind};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;

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
        "schemaExtensions": [{"schema": EXT_SCHEMA, "required": true}],
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

/// The User schema and fdsync's extension, `roles` and `groups` offering the account's names
/// as `canonicalValues` (none while they cannot be read).
fn schemas(base: &str, names: &AccountNames) -> Vec<Value> {
    let sub = |n: &str, t: &str| attr(n, t, "readWrite", json!({}));
    let required = json!({"required": true});
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_SCHEMA, "name": "User", "description": "A Freshdesk agent",
        "attributes": [
            attr("id", "string", "readOnly", json!({"returned": "always", "uniqueness": "server"})),
            attr("userName", "string", "readWrite", json!({"required": true, "uniqueness": "server"})),
            attr("externalId", "string", "readWrite", json!({})),
            // The agent's name (every agent has one): displayName, and name.formatted beside it.
            attr("displayName", "string", "readWrite", required.clone()),
            attr("title", "string", "readWrite", json!({})),
            attr("active", "boolean", "readWrite", json!({"required": true})),
            // The agent has one name: givenName and familyName are read (joined) but not kept.
            attr("name", "complex", "readWrite", json!({"required": true,
                "subAttributes": [sub("formatted", "string")]})),
            // Freshdesk needs an e-mail for every agent.
            attr("emails", "complex", "readWrite", json!({"multiValued": true, "required": true,
                "subAttributes": [attr("value", "string", "readWrite", required.clone()),
                    attr("type", "string", "readWrite", json!({"canonicalValues": ["work", "home", "other"]})),
                    sub("primary", "boolean")]})),
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{USER_SCHEMA}")}
    });
    let names_of = |kind| json!({"multiValued": true, "canonicalValues": names.all(kind)});
    let mut roles = names_of(NameKind::Role);
    roles["required"] = json!(true);
    let ext = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": EXT_SCHEMA, "name": "FreshdeskAgent", "description": "fdsync's Freshdesk agent fields",
        "attributes": [
            attr("ticketScope", "string", "readWrite",
                json!({"required": true, "canonicalValues": ["Global", "Group", "Restricted"]})),
            attr("roles", "string", "readWrite", roles),
            attr("groups", "string", "readWrite", names_of(NameKind::Group)),
            attr("occasional", "boolean", "readWrite", required),
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{EXT_SCHEMA}")}
    });
    vec![user, ext]
}

/// The account's names for `canonicalValues`; none (and a warning) while they cannot be read:
/// discovery answers regardless.
async fn canonical<A: Api>(s: &Scim<A>) -> AccountNames {
    s.engine.account_names().await.unwrap_or_else(|why| {
        tracing::warn!(reason = %why, "The SCIM schema offers no role or group names: the account's cannot be read.");
        AccountNames::default()
    })
}

pub(crate) async fn schema_list<A: Api>(State(s): State<Arc<Scim<A>>>, headers: HeaderMap) -> Response {
    super::list_response(schemas(&super::base(&headers), &canonical(&s).await), 2, 1)
}

pub(crate) async fn schema_one<A: Api>(
    State(s): State<Arc<Scim<A>>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    schemas(&super::base(&headers), &canonical(&s).await)
        .into_iter()
        .find(|s| s["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(&id)))
        .map(super::scim_json)
        .ok_or_else(|| ScimError::not_found("no such schema"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_offers_the_accounts_role_and_group_names_and_asks_for_an_email() {
        let names = AccountNames::new(
            vec![(1, "Agent".into()), (2, "Supervisor".into())],
            vec![(7, "Tier 1".into()), (8, "Billing".into())],
        );
        let [user, ext] = &schemas("https://h/scim/v2", &names)[..] else { panic!("two schemas") };
        let attr = |schema: &Value, name: &str| -> Value {
            schema["attributes"].as_array().unwrap().iter().find(|a| a["name"] == name).cloned().unwrap()
        };
        assert_eq!(attr(ext, "roles")["canonicalValues"], json!(["Agent", "Supervisor"]));
        assert_eq!(attr(ext, "groups")["canonicalValues"], json!(["Tier 1", "Billing"]));
        let roles = attr(ext, "roles");
        assert_eq!((&roles["multiValued"], &roles["required"]), (&json!(true), &json!(true)));
        let emails = attr(user, "emails");
        assert_eq!(
            (&emails["required"], &emails["subAttributes"][0]["required"]),
            (&json!(true), &json!(true))
        );
        assert_eq!(emails["subAttributes"][1]["canonicalValues"], json!(["work", "home", "other"]));
        let unread = schemas("https://h/scim/v2", &AccountNames::default());
        assert_eq!(attr(&unread[1], "groups")["canonicalValues"], json!([]));
    }
}
