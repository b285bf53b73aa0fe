//! `GET /Users?filter=`: the expression is parsed by the `scim_v2` crate (RFC 7644 §3.4.2.2,
//! with its nesting and size budget); this module only evaluates the parsed tree against a
//! User's JSON. Attribute names compare case-insensitively, string values case-insensitively
//! (`caseExact` is false for every attribute fdsync serves). Pure.

use super::error::ScimError;
use super::mapping::{USER_SCHEMA, member};
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use serde_json::Value;

/// Parses a filter, or the `invalidFilter` error.
pub(crate) fn parse(text: &str) -> Result<Filter, ScimError> {
    fold_sub_attr(text)
        .parse::<Filter>()
        .map_err(|e| ScimError::bad("invalidFilter", format!("the filter cannot be read: {e}")))
}

/// Identity providers send `emails[type eq "work"].value eq "x"`, which RFC 7644's filter
/// grammar does not have (a sub-attribute after `]` is a PATCH path form); it means
/// `emails[type eq "work" and value eq "x"]`, and is rewritten so before parsing.
fn fold_sub_attr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = unquoted_close(rest) {
        let (head, tail) = rest.split_at(at);
        let tail = &tail[2..];
        // sub-attribute, operator, value (a quoted string or a bare token)
        let sub_end =
            tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(tail.len());
        let (sub, after) = tail.split_at(sub_end);
        let after_trim = after.trim_start();
        let op_end = after_trim.find(' ').unwrap_or(after_trim.len());
        let (op, value_part) = after_trim.split_at(op_end);
        let value_part = value_part.trim_start();
        let value_len = if op.eq_ignore_ascii_case("pr") {
            0
        } else if let Some(q) = value_part.strip_prefix('"') {
            let mut escaped = false;
            let end = q.char_indices().find(|&(_, c)| {
                let stop = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                stop
            });
            match end {
                Some((i, _)) => i + 2,
                None => return text.to_string(),
            }
        } else {
            value_part.find([' ', ')']).unwrap_or(value_part.len())
        };
        if sub.is_empty() || op.is_empty() {
            return text.to_string();
        }
        let value = &value_part[..value_len];
        out.push_str(head);
        out.push_str(&format!(" and {sub} {op} {value}]"));
        rest = &value_part[value_len..];
    }
    out.push_str(rest);
    out
}

/// Whether `user` matches `f`.
pub(crate) fn matches(f: &Filter, user: &Value) -> bool {
    match f {
        Filter::Attr(exp) => attr(exp, user),
        Filter::ValuePath(vp) => values(user, &vp.attr).iter().any(|v| val_filter(&vp.filter, v)),
        Filter::Not(inner) => !matches(inner, user),
        Filter::And(ops) => ops.as_slice().iter().all(|x| matches(x, user)),
        Filter::Or(ops) => ops.as_slice().iter().any(|x| matches(x, user)),
    }
}

pub(crate) fn val_filter(f: &ValFilter, element: &Value) -> bool {
    match f {
        ValFilter::Attr(exp) => attr(exp, element),
        ValFilter::Not(inner) => !val_filter(inner, element),
        ValFilter::And(ops) => ops.as_slice().iter().all(|x| val_filter(x, element)),
        ValFilter::Or(ops) => ops.as_slice().iter().any(|x| val_filter(x, element)),
    }
}

/// The values a path names in `obj` (a multi-valued attribute gives each of its elements).
fn values<'a>(obj: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let root = match &path.uri {
        Some(uri) if !uri.eq_ignore_ascii_case(USER_SCHEMA) => member(obj, uri),
        _ => Some(obj),
    };
    let Some(top) = root.and_then(|r| member(r, &path.name)) else { return vec![] };
    let tops: Vec<&Value> = match top {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    match &path.sub_attr {
        None => tops,
        Some(sub) => tops.into_iter().filter_map(|t| member(t, sub)).collect(),
    }
}

fn attr(exp: &AttrExp, obj: &Value) -> bool {
    match exp {
        AttrExp::Present(p) => values(obj, p).iter().any(|v| !v.is_null()),
        AttrExp::Comparison(p, op, want) => values(obj, p).iter().any(|v| compare(v, op, want)),
    }
}

fn compare(have: &Value, op: &CompareOp, want: &CompValue) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (have, want) {
        (Value::String(h), CompValue::Str(w)) => Some(h.to_lowercase().cmp(&w.to_lowercase())),
        (Value::Bool(h), CompValue::True) => Some(h.cmp(&true)),
        (Value::Bool(h), CompValue::False) => Some(h.cmp(&false)),
        (Value::Number(h), CompValue::Number(w)) => {
            h.as_f64().zip(w.as_f64()).and_then(|(a, b)| a.partial_cmp(&b))
        }
        (Value::Null, CompValue::Null) => Some(Ordering::Equal),
        _ => None,
    };
    let text = |v: &Value| v.as_str().map(str::to_lowercase);
    let want_text = match want {
        CompValue::Str(s) => Some(s.to_lowercase()),
        _ => None,
    };
    match op {
        CompareOp::Eq => ord == Some(Ordering::Equal),
        CompareOp::Ne => ord != Some(Ordering::Equal),
        CompareOp::Gt => ord == Some(Ordering::Greater),
        CompareOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
        CompareOp::Lt => ord == Some(Ordering::Less),
        CompareOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        CompareOp::Co => text(have).zip(want_text).is_some_and(|(h, w)| h.contains(&w)),
        CompareOp::Sw => text(have).zip(want_text).is_some_and(|(h, w)| h.starts_with(&w)),
        CompareOp::Ew => text(have).zip(want_text).is_some_and(|(h, w)| h.ends_with(&w)),
    }
}

/// Where the first `].` outside a quoted string is.
fn unquoted_close(text: &str) -> Option<usize> {
    let (mut quoted, mut escaped) = (false, false);
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\\' if quoted => escaped = !escaped,
            b'"' if !escaped => quoted = !quoted,
            b']' if !quoted && bytes.get(i + 1) == Some(&b'.') => return Some(i),
            _ => escaped = false,
        }
        if b != b'\\' {
            escaped = false;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({"userName":"Ann@X.com","externalId":"e-1","active":true,
               "emails":[{"value":"ann@x.com","type":"work","primary":true}],
               "urn:ietf:params:scim:schemas:extension:fdsync:2.0:Agent":{"ticketScope":"Global"}})
    }

    fn m(f: &str) -> bool {
        matches(&parse(f).unwrap(), &user())
    }

    #[test]
    fn the_filters_identity_providers_send_are_answered() {
        assert!(m(r#"userName eq "ann@x.com""#));
        assert!(m(r#"USERNAME Eq "ANN@X.COM""#));
        assert!(!m(r#"userName eq "bo@x.com""#));
        assert!(m(r#"externalId eq "e-1""#));
        assert!(m(r#"emails[type eq "work"].value eq "ann@x.com""#));
        assert!(m(r#"emails[type eq "work" and value eq "ann@x.com"]"#));
        assert!(!m(r#"emails[type eq "home"].value eq "ann@x.com""#));
        assert!(m(r#"userName eq "bo@x.com" or externalId eq "e-1""#));
        assert!(!m(r#"userName eq "ann@x.com" and externalId eq "e-2""#));
        assert!(m(r#"active eq true and userName sw "ann""#));
        assert!(!m("title pr") && m("userName pr"));
        assert!(m(r#"urn:ietf:params:scim:schemas:extension:fdsync:2.0:Agent:ticketScope eq "global""#));
    }

    #[test]
    fn a_sub_attribute_after_the_brackets_is_folded_into_them() {
        assert_eq!(
            fold_sub_attr(r#"emails[type eq "work"].value eq "a@x.com" and active eq true"#),
            r#"emails[type eq "work" and value eq "a@x.com"] and active eq true"#
        );
        assert_eq!(fold_sub_attr(r#"userName eq "a].b""#), r#"userName eq "a].b""#);
    }

    #[test]
    fn an_unreadable_filter_is_invalid_filter() {
        for bad in ["userName eq", "userName zz \"a\"", "((", ""] {
            assert_eq!(parse(bad).unwrap_err().scim_type, Some("invalidFilter"), "{bad}");
        }
    }
}
