//! A ticket create sent as `multipart/form-data` (facts file §9): the parts are read as Rails
//! reads them (`tags[]` a list, `custom_fields[cf_x]` a key of `custom_fields`, files under
//! `attachments[]`), then cast the way Freshdesk's validations allow for multipart requests
//! (`allow_string_param`: an integer field takes `"3"`, a checkbox `"true"`/`"false"`), so the
//! same checks as for JSON follow. A body that is not well-formed multipart is
//! `invalid_multipart`. Pure.

use crate::fields::{CustomField, FieldKind};
use serde_json::{Map, Value};

/// One uploaded file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Upload {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Keys whose values Freshdesk casts from text in a multipart request.
const INTEGER_KEYS: &[&str] = &[
    "priority",
    "status",
    "source",
    "requester_id",
    "responder_id",
    "group_id",
    "product_id",
    "company_id",
    "email_config_id",
    "parent_id",
];

/// The boundary of a `multipart/form-data` content type.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("boundary").then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Whether a content type is multipart/form-data.
pub(crate) fn is_multipart(content_type: &str) -> bool {
    content_type.trim_start().to_ascii_lowercase().starts_with("multipart/form-data")
}

/// The body as a ticket object (values cast as Freshdesk casts them) and its files; `None`
/// when it is not well-formed multipart.
pub(crate) fn read(
    body: &[u8],
    boundary: &str,
    known: &[CustomField],
) -> Option<(Map<String, Value>, Vec<Upload>)> {
    let mut obj = Map::new();
    let mut files = Vec::new();
    for part in parts(body, boundary)? {
        let (headers, data) = split_once(part, b"\r\n\r\n")?;
        let headers = std::str::from_utf8(headers).ok()?;
        let disposition =
            headers.lines().find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
        let name = param(disposition, "name")?;
        if let Some(filename) = param(disposition, "filename") {
            let content_type = headers
                .lines()
                .find_map(|l| {
                    l.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case("content-type"))
                })
                .map_or("application/octet-stream".to_string(), |(_, v)| v.trim().to_string());
            if name != "attachments[]" {
                // A file under another name is a field of the wrong type.
                obj.insert(name, Value::Array(vec![]));
                continue;
            }
            files.push(Upload { name: filename, content_type, bytes: data.to_vec() });
            continue;
        }
        let value = String::from_utf8(data.to_vec()).ok()?;
        put(&mut obj, &name, value, known);
    }
    Some((obj, files))
}

/// The parts between boundaries (each without its trailing CRLF).
fn parts<'b>(body: &'b [u8], boundary: &str) -> Option<Vec<&'b [u8]>> {
    let delimiter = format!("--{boundary}");
    let mut rest = body.strip_prefix(delimiter.as_bytes())?;
    let mut out = Vec::new();
    let next = format!("\r\n--{boundary}");
    loop {
        if rest.starts_with(b"--") {
            return Some(out);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let (part, after) = split_once(rest, next.as_bytes())?;
        out.push(part);
        rest = after;
    }
}

fn split_once<'b>(s: &'b [u8], sep: &[u8]) -> Option<(&'b [u8], &'b [u8])> {
    let at = s.windows(sep.len()).position(|w| w == sep)?;
    Some((&s[..at], &s[at + sep.len()..]))
}

/// `name="…"` of a Content-Disposition line (percent-encoded quotes decoded).
fn param(line: &str, key: &str) -> Option<String> {
    let needle = format!("{key}=\"");
    let start = line.split(';').map(str::trim).find_map(|p| p.strip_prefix(&needle))?;
    let value = start.strip_suffix('"')?;
    Some(value.replace("%22", "\"").replace("%0D", "\r").replace("%0A", "\n"))
}

/// Puts one text part where Rails would, cast as Freshdesk casts multipart values.
fn put(obj: &mut Map<String, Value>, name: &str, value: String, known: &[CustomField]) {
    if let Some(list) = name.strip_suffix("[]") {
        let entry = obj.entry(list.to_string()).or_insert_with(|| Value::Array(vec![]));
        if let Value::Array(items) = entry {
            items.push(Value::String(value));
        }
        return;
    }
    if let Some(key) = name.strip_prefix("custom_fields[").and_then(|k| k.strip_suffix(']')) {
        let cast = match known.iter().find(|f| f.name == key).map(|f| f.kind) {
            Some(FieldKind::Number) => value.parse::<i64>().map(Value::from).unwrap_or(Value::String(value)),
            Some(FieldKind::Checkbox) => match value.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(value),
            },
            _ => Value::String(value),
        };
        let entry = obj.entry("custom_fields").or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = entry {
            map.insert(key.to_string(), cast);
        }
        return;
    }
    let cast = match INTEGER_KEYS.contains(&name) {
        true => value.parse::<u64>().map(Value::from).unwrap_or(Value::String(value)),
        false => Value::String(value),
    };
    obj.insert(name.to_string(), cast);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(b: &str) -> Vec<u8> {
        b.replace('\n', "\r\n").into_bytes()
    }

    #[test]
    fn parts_become_a_ticket_object_and_files() {
        let raw = body(
            "--XyZ\nContent-Disposition: form-data; name=\"subject\"\n\nDisk\n\
             --XyZ\nContent-Disposition: form-data; name=\"priority\"\n\n3\n\
             --XyZ\nContent-Disposition: form-data; name=\"tags[]\"\n\na\n\
             --XyZ\nContent-Disposition: form-data; name=\"tags[]\"\n\nb\n\
             --XyZ\nContent-Disposition: form-data; name=\"custom_fields[cf_count]\"\n\n42\n\
             --XyZ\nContent-Disposition: form-data; name=\"custom_fields[cf_urgent]\"\n\ntrue\n\
             --XyZ\nContent-Disposition: form-data; name=\"custom_fields[cf_host]\"\n\n42\n\
             --XyZ\nContent-Disposition: form-data; name=\"attachments[]\"; filename=\"a.log\"\nContent-Type: text/plain\n\nline1\nline2\n\
             --XyZ--\n",
        );
        let known = [
            CustomField::of_kind("cf_count", FieldKind::Number),
            CustomField::of_kind("cf_urgent", FieldKind::Checkbox),
            CustomField::text("cf_host"),
        ];
        let (obj, files) = read(&raw, "XyZ", &known).expect("well-formed");
        assert_eq!(
            Value::Object(obj),
            json!({"subject": "Disk", "priority": 3, "tags": ["a", "b"],
                   "custom_fields": {"cf_count": 42, "cf_urgent": true, "cf_host": "42"}})
        );
        assert_eq!(
            files,
            [Upload {
                name: "a.log".into(),
                content_type: "text/plain".into(),
                bytes: b"line1\r\nline2".to_vec()
            }]
        );
        assert_eq!(boundary("multipart/form-data; boundary=XyZ").as_deref(), Some("XyZ"));
        assert_eq!(boundary("application/json"), None);
    }

    #[test]
    fn a_body_that_is_not_well_formed_multipart_is_refused() {
        for bad in [
            "",
            "--XyZ\r\nno headers end",
            "--Other\r\n\r\n--Other--",
            "--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--",
        ] {
            assert!(read(bad.as_bytes(), "XyZ", &[]).is_none(), "{bad:?}");
        }
    }
}
