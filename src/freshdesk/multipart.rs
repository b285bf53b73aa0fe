//! `multipart/form-data` for a ticket create with attachments (freshdesk-api.md §9): every
//! field of the JSON body becomes its own form part as Rails reads them (`subject`, `tags[]`
//! once per tag, `custom_fields[cf_x]` once per custom field), then one `attachments[]` part per
//! file. The body is built whole (at most 20 MB of files), so a re-send after an OAuth refresh
//! sends the same bytes. Pure.

use serde_json::Value;

/// One file to send: its name as Freshdesk will show it, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// An encoded form: the `Content-Type` to send and the body.
#[derive(Debug, Clone)]
pub struct Form {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// The form parts of a JSON body: scalars as text, arrays as `key[]` parts, objects as
/// `key[sub]` parts (`null`s are left out: a form cannot say null).
pub fn parts_of(body: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Value::Object(map) = body else { return out };
    for (key, value) in map {
        match value {
            Value::Array(items) => {
                out.extend(items.iter().filter_map(text).map(|v| (format!("{key}[]"), v)));
            }
            Value::Object(inner) => {
                out.extend(inner.iter().filter_map(|(k, v)| Some((format!("{key}[{k}]"), text(v)?))));
            }
            other => out.extend(text(other).map(|v| (key.clone(), v))),
        }
    }
    out
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null | Value::Array(_) | Value::Object(_) => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Encodes `fields` and `files` (as `attachments[]`) with a random boundary that occurs in no
/// part.
pub fn encode(fields: &[(String, String)], files: &[Upload]) -> Form {
    let boundary = loop {
        let b = format!("fdsync-{:032x}", fastrand::u128(..));
        let clash = |bytes: &[u8]| bytes.windows(b.len()).any(|w| w == b.as_bytes());
        if !fields.iter().any(|(k, v)| clash(k.as_bytes()) || clash(v.as_bytes()))
            && !files.iter().any(|f| clash(&f.bytes))
        {
            break b;
        }
    };
    let size: usize = files.iter().map(|f| f.bytes.len() + 256).sum::<usize>()
        + fields.iter().map(|(k, v)| k.len() + v.len() + 128).sum::<usize>();
    let mut body = Vec::with_capacity(size);
    for (name, value) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let disposition = format!("Content-Disposition: form-data; name=\"{}\"\r\n\r\n", quoted(name));
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(value.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    for file in files {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let head = format!(
            "Content-Disposition: form-data; name=\"attachments[]\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
            quoted(&file.name),
            content_type(&file.name)
        );
        body.extend_from_slice(head.as_bytes());
        body.extend_from_slice(&file.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Form { content_type: format!("multipart/form-data; boundary={boundary}"), body }
}

/// A name inside a quoted header parameter: quotes and line breaks percent-encoded, as
/// browsers do (RFC 7578 §2).
fn quoted(s: &str) -> String {
    s.replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A")
}

/// The media type of a file, by extension; `application/octet-stream` when unknown.
fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_field_is_its_own_part_as_rails_reads_them() {
        let body = json!({"subject": "Disk", "priority": 3, "tags": ["a", "fds-1"],
                          "custom_fields": {"cf_count": 42, "cf_urgent": true, "cf_gone": null}, "name": null});
        let parts = parts_of(&body);
        let want: Vec<(String, String)> = [
            ("custom_fields[cf_count]", "42"),
            ("custom_fields[cf_urgent]", "true"),
            ("priority", "3"),
            ("subject", "Disk"),
            ("tags[]", "a"),
            ("tags[]", "fds-1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(parts, want);
    }

    #[test]
    fn the_body_holds_every_part_and_file_between_boundaries() {
        let files = [Upload { name: "a \"b\".log".into(), bytes: b"\x00\xffdata".to_vec() }];
        let form = encode(&[("subject".into(), "S".into())], &files);
        let boundary = form.content_type.strip_prefix("multipart/form-data; boundary=").unwrap();
        let text = String::from_utf8_lossy(&form.body);
        assert!(text.starts_with(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\nS\r\n"
        )));
        assert!(text.contains(
            "name=\"attachments[]\"; filename=\"a %22b%22.log\"\r\nContent-Type: text/plain\r\n\r\n"
        ));
        assert!(form.body.windows(6).any(|w| w == b"\x00\xffdata"));
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
    }
}
