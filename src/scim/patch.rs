//! `PATCH /Users/{id}` (RFC 7644 §3.5.2): applies the operations to the User's current JSON and
//! says what changed, so one decision serves Entra's shapes (capitalised `op`, string booleans
//! such as `"False"`, a path per attribute) and Okta's (`replace` without a path and an object
//! value). Paths are parsed by the `scim_v2` crate. Pure.
//!
//! The agent's name follows `displayName` (else `name.formatted`, else `name.givenName` and
//! `name.familyName` joined), its e-mail `userName` when that is an e-mail (else the primary
//! e-mail), as [`super::mapping::wanted`] reads a body.

use super::error::ScimError;
use super::filter::val_filter;
use super::mapping::{EXT_SCHEMA, USER_SCHEMA, boolean, email_of, ext_fields, member, set_ext};
use crate::domain::{AgentEdit, Email};
use crate::engine::AccountNames;
use scim_v2::filter::{AttrPath, PatchPath};
use serde_json::{Map, Value};

const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// What a PATCH changes of what fdsync keeps.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Changed {
    pub(crate) active: Option<bool>,
    /// `Some(None)`: removed.
    pub(crate) external_id: Option<Option<String>>,
    /// The agent's fields that change (`PUT agents/{id}`).
    pub(crate) set: AgentEdit,
    /// The provider's new `userName`.
    pub(crate) user_name: Option<String>,
    /// Read-only attributes (`id`, `meta`) whose value would change, or a name removed.
    pub(crate) unchangeable: Vec<&'static str>,
    /// The User after the operations.
    pub(crate) user: Value,
}

/// Applies `body` (a PatchOp) to `user` and compares the result with it (roles and groups by
/// the account's `names`).
pub(crate) fn apply(user: &Value, body: &Value, names: &AccountNames) -> Result<Changed, ScimError> {
    let ops = member(body, "Operations").and_then(Value::as_array).ok_or_else(|| {
        ScimError::bad("invalidSyntax", format!("a PATCH body is a {PATCH_SCHEMA} with Operations"))
    })?;
    let mut after = user.clone();
    for op in ops {
        let verb = member(op, "op").and_then(Value::as_str).unwrap_or("").to_ascii_lowercase();
        let value = member(op, "value").cloned().unwrap_or(Value::Null);
        let path = match member(op, "path").and_then(Value::as_str) {
            Some(p) if !p.trim().is_empty() => Some(p.parse::<PatchPath>().map_err(|e| {
                ScimError::bad(
                    "invalidPath",
                    format!("the path '{}' cannot be read: {e}", crate::text::shown(p)),
                )
            })?),
            _ => None,
        };
        match (verb.as_str(), path) {
            ("add" | "replace", None) => {
                let obj = value.as_object().ok_or_else(|| {
                    ScimError::bad("invalidValue", "an operation without a path needs an object value")
                })?;
                for (k, v) in obj {
                    set(&mut after, &AttrPath::with_name(k.clone()), v.clone());
                }
            }
            ("add" | "replace", Some(PatchPath::Attr(p))) => set(&mut after, &p, value),
            ("remove", Some(PatchPath::Attr(p))) => remove(&mut after, &p),
            ("add" | "replace" | "remove", Some(PatchPath::Value(vp))) => {
                let list = member_mut(&mut after, &vp.attr.name).and_then(Value::as_array_mut);
                let Some(list) = list else {
                    if verb == "remove" {
                        return Err(ScimError::bad("noTarget", "the path names no value"));
                    }
                    continue;
                };
                let hits: Vec<usize> =
                    (0..list.len()).filter(|&i| val_filter(&vp.filter, &list[i])).collect();
                if hits.is_empty() && verb != "add" {
                    return Err(ScimError::bad("noTarget", "the filter in the path matches no value"));
                }
                for &i in hits.iter().rev() {
                    match (&vp.sub_attr, verb.as_str()) {
                        (None, "remove") => {
                            list.remove(i);
                        }
                        (None, _) => list[i] = value.clone(),
                        (Some(sub), "remove") => {
                            if let Some(o) = list[i].as_object_mut() {
                                o.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                            }
                        }
                        (Some(sub), _) => set(&mut list[i], &AttrPath::with_name(sub.clone()), value.clone()),
                    }
                }
            }
            ("remove", None) => return Err(ScimError::bad("noTarget", "remove needs a path")),
            (other, _) => {
                return Err(ScimError::bad(
                    "invalidSyntax",
                    format!("'{}' is not a PATCH op (add, replace, remove)", crate::text::shown(other)),
                ));
            }
        }
    }
    let mut changed = compare(user, &after, names)?;
    changed.user = after;
    Ok(changed)
}

/// What differs between `before` and `after`.
fn compare(before: &Value, after: &Value, names: &AccountNames) -> Result<Changed, ScimError> {
    let mut out = Changed::default();
    let active = |v: &Value| member(v, "active").and_then(boolean);
    if member(after, "active").is_some_and(|v| !v.is_null()) && active(after).is_none() {
        return Err(ScimError::bad("invalidValue", "active must be true or false"));
    }
    match active(after) {
        // A user is an agent or deprovisioned: `active` cannot be unassigned.
        None if active(before).is_some() => out.unchangeable.push("active"),
        now if now != active(before) => out.active = now,
        _ => {}
    }
    let text = |v: &Value, k: &str| member(v, k).and_then(Value::as_str).map(str::to_string);
    if text(after, "externalId") != text(before, "externalId") {
        out.external_id = Some(text(after, "externalId"));
    }
    let lower = |v: Option<String>| v.map(|s| s.to_lowercase());
    if lower(text(after, "userName")) != lower(text(before, "userName")) {
        out.user_name = text(after, "userName");
    }
    for read_only in ["id", "meta"] {
        if member(after, read_only) != member(before, read_only) {
            out.unchangeable.push(read_only);
        }
    }
    // The agent has one name: the one of displayName and name that the PATCH changed.
    let display = |v: &Value| member(v, "displayName").cloned();
    let (name_now, name_then) = if display(after) != display(before) {
        (text(after, "displayName"), text(before, "displayName"))
    } else {
        (name_of(after), name_of(before))
    };
    for attr in ["displayName", "name"] {
        if member(after, attr).is_none_or(Value::is_null) && member(before, attr).is_some() {
            out.unchangeable.push(attr);
        }
    }
    match name_now {
        _ if name_now == name_then => {}
        Some(n) if !n.trim().is_empty() => out.set.name = Some(n),
        _ if out.unchangeable.contains(&"displayName") => {}
        _ => out.unchangeable.push("displayName"),
    }
    if text(after, "title") != text(before, "title") {
        out.set.job_title = Some(text(after, "title").unwrap_or_default());
    }
    let email = email_of(after);
    if email.as_ref().ok().map(Email::key) != email_of(before).ok().as_ref().map(Email::key) {
        out.set.email = Some(email?);
    }
    let (now, then) = (ext_fields(after, names)?, ext_fields(before, names)?);
    // Every agent has a ticket scope, a role and a full-time or occasional seat: not removable.
    for (gone, attr) in [
        (now.ticket_scope.is_none() && then.ticket_scope.is_some(), "ticketScope"),
        (now.occasional.is_none() && then.occasional.is_some(), "occasional"),
        (now.role_ids.as_ref().is_none_or(Vec::is_empty) && then.role_ids.is_some(), "roles"),
    ] {
        if gone {
            out.unchangeable.push(attr);
        }
    }
    set_ext(&mut out.set, &then, &now);
    if now.group_ids.is_none() && then.group_ids.is_some() {
        out.set.group_ids = Some(vec![]);
    }
    Ok(out)
}

/// The agent's name a User's `name` gives: `formatted`, else the given and family names
/// joined.
fn name_of(user: &Value) -> Option<String> {
    fn text(v: Option<&Value>) -> Option<&str> {
        v.and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
    }
    let name = member(user, "name");
    let part = |k: &str| text(name.and_then(|n| member(n, k)));
    let joined = [part("givenName"), part("familyName")].into_iter().flatten().collect::<Vec<_>>().join(" ");
    part("formatted").map(str::to_string).or((!joined.is_empty()).then_some(joined))
}

fn member_mut<'a>(obj: &'a mut Value, name: &str) -> Option<&'a mut Value> {
    obj.as_object_mut()?.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// The object a path's attribute lives in (the user, or an extension's object).
fn container<'a>(user: &'a mut Value, path: &AttrPath) -> Option<&'a mut Map<String, Value>> {
    let obj = user.as_object_mut()?;
    match &path.uri {
        Some(uri) if !uri.eq_ignore_ascii_case(USER_SCHEMA) => {
            let key = obj.keys().find(|k| k.eq_ignore_ascii_case(uri)).cloned().unwrap_or(uri.clone());
            obj.entry(key).or_insert_with(|| Value::Object(Map::new())).as_object_mut()
        }
        _ => Some(obj),
    }
}

fn put(obj: &mut Map<String, Value>, name: &str, value: Value) {
    let key = obj.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned().unwrap_or(name.to_string());
    obj.insert(key, value);
}

/// `path` with a whole extension (`urn:…:Agent`, which parses as attribute `Agent` of
/// `urn:…`) named as the User's attribute it is.
fn whole(path: &AttrPath) -> std::borrow::Cow<'_, AttrPath> {
    match &path.uri {
        Some(uri)
            if path.sub_attr.is_none() && format!("{uri}:{}", path.name).eq_ignore_ascii_case(EXT_SCHEMA) =>
        {
            std::borrow::Cow::Owned(AttrPath::with_name(EXT_SCHEMA.to_string()))
        }
        _ => std::borrow::Cow::Borrowed(path),
    }
}

fn set(user: &mut Value, path: &AttrPath, value: Value) {
    let path = &*whole(path);
    let Some(obj) = container(user, path) else { return };
    match &path.sub_attr {
        None => put(obj, &path.name, value),
        Some(sub) => {
            let key = obj.keys().find(|k| k.eq_ignore_ascii_case(&path.name)).cloned();
            let parent =
                obj.entry(key.unwrap_or(path.name.clone())).or_insert_with(|| Value::Object(Map::new()));
            if let Some(p) = parent.as_object_mut() {
                put(p, sub, value);
            }
        }
    }
}

fn remove(user: &mut Value, path: &AttrPath) {
    let path = &*whole(path);
    let Some(obj) = container(user, path) else { return };
    match &path.sub_attr {
        None => obj.retain(|k, _| !k.eq_ignore_ascii_case(&path.name)),
        Some(sub) => {
            if let Some(p) = obj.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(&path.name)).map(|(_, v)| v)
                && let Some(p) = p.as_object_mut()
            {
                p.retain(|k, _| !k.eq_ignore_ascii_case(sub));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({"userName":"ann@x.com","displayName":"Ann","name":{"formatted":"Ann"},"active":true,
               "externalId":"e-1","emails":[{"value":"ann@x.com","type":"work","primary":true}]})
    }

    fn patch(ops: Value) -> Result<Changed, ScimError> {
        let mut c =
            apply(&user(), &json!({"schemas":[PATCH_SCHEMA],"Operations":ops}), &AccountNames::default())?;
        c.user = Value::Null;
        Ok(c)
    }

    #[test]
    fn entras_capitalised_replace_of_active_with_a_string_boolean_deprovisions() {
        let c = patch(json!([{"op":"Replace","path":"active","value":"False"}])).unwrap();
        assert_eq!(c, Changed { active: Some(false), ..Changed::default() });
        let c = patch(json!([{"op":"Replace","path":"active","value":"True"}])).unwrap();
        assert_eq!(c, Changed::default(), "already active: nothing changes");
    }

    #[test]
    fn oktas_replace_without_a_path_and_the_same_attributes_change_only_what_differs() {
        let c = patch(json!([{"op":"replace","value":{"active":false,"displayName":"Ann"}}])).unwrap();
        assert_eq!(c, Changed { active: Some(false), ..Changed::default() });
        let c = patch(json!([{"op":"Add","path":"externalId","value":"e-2"}])).unwrap();
        assert_eq!(c.external_id, Some(Some("e-2".into())));
        let c = patch(json!([{"op":"remove","path":"externalId"}])).unwrap();
        assert_eq!(c.external_id, Some(None));
        let c = patch(json!([{"op":"replace","path":"emails[type eq \"work\"].value","value":"ann@x.com"},
                             {"op":"replace","path":"name.givenName","value":"A"}]))
        .unwrap();
        assert_eq!(c, Changed::default(), "the name follows displayName and name.formatted");
        let c = patch(json!([{"op":"replace","path":"name","value":{"formatted":"Ann Lee"}}])).unwrap();
        assert_eq!(c.set.name.as_deref(), Some("Ann Lee"), "a PATCH of name alone renames");
        let c =
            patch(json!([{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:fdsync:2.0:Agent",
            "value":{"ticketScope":"Restricted","occasional":true}}]))
            .unwrap();
        assert_eq!((c.set.ticket_scope.map(|s| s.number()), c.set.occasional), (Some(3), Some(true)));
    }

    #[test]
    fn a_replace_of_name_title_or_user_name_is_an_agent_edit_with_or_without_a_path() {
        let c = patch(json!([{"op":"Replace","path":"displayName","value":"Ann B"},
                             {"op":"Add","path":"title","value":"Lead"}]))
        .unwrap();
        assert_eq!(
            c.set,
            AgentEdit { name: Some("Ann B".into()), job_title: Some("Lead".into()), ..AgentEdit::default() }
        );
        assert!(c.unchangeable.is_empty() && c.user_name.is_none());
        let c = patch(json!([{"op":"replace","value":{"displayName":"Ann C","title":"Eng"}}])).unwrap();
        assert_eq!((c.set.name.as_deref(), c.set.job_title.as_deref()), (Some("Ann C"), Some("Eng")));
        let c = patch(json!([{"op":"replace","path":"userName","value":"Ann.B@X.com"}])).unwrap();
        assert_eq!(c.set.email.map(|e| e.key()), Some("ann.b@x.com".to_string()));
        assert_eq!(c.user_name.as_deref(), Some("Ann.B@X.com"));
        let c = patch(json!([{"op":"remove","path":"title"}])).unwrap();
        let with_title = json!({"userName":"ann@x.com","displayName":"Ann","title":"Lead"});
        let c2 = apply(
            &with_title,
            &json!({"Operations":[{"op":"remove","path":"title"}]}),
            &AccountNames::default(),
        )
        .unwrap();
        assert_eq!((c.set.job_title, c2.set.job_title.as_deref()), (None, Some("")), "removed: cleared");
        let c = patch(json!([{"op":"replace","path":"userName","value":"ann.login"}])).unwrap();
        assert_eq!(
            (c.set.email, c.user_name.as_deref()),
            (None, Some("ann.login")),
            "a login name: journal only"
        );
    }

    #[test]
    fn a_change_fdsync_cannot_make_or_a_bad_op_is_said_with_its_scim_type() {
        let c = patch(json!([{"op":"replace","path":"id","value":"9"}])).unwrap();
        assert_eq!(c.unchangeable, ["id"]);
        let c = patch(json!([{"op":"remove","path":"active"}])).unwrap();
        assert_eq!(c.unchangeable, ["active"], "a user is active or not");
        let c = patch(json!([{"op":"remove","path":"displayName"}])).unwrap();
        assert_eq!(c.unchangeable, ["displayName"], "an agent keeps a name");
        assert_eq!(
            patch(json!([{"op":"replace","path":"active","value":"maybe"}])).unwrap_err().scim_type,
            Some("invalidValue")
        );
        assert_eq!(
            patch(json!([{"op":"remove","path":"emails[type eq \"home\"]"}])).unwrap_err().scim_type,
            Some("noTarget")
        );
        assert_eq!(
            patch(json!([{"op":"move","path":"active"}])).unwrap_err().scim_type,
            Some("invalidSyntax")
        );
        assert_eq!(
            patch(json!([{"op":"add","path":"a[[","value":1}])).unwrap_err().scim_type,
            Some("invalidPath")
        );
        assert!(apply(&user(), &json!({}), &AccountNames::default()).is_err());
    }
}
