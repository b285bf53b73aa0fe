//! Contacts: the create body of `POST api/v2/contacts` (a SCIM user provisioned inactive), and
//! the contact it answers, decoded strictly (a positive integer `id`, else the answer is
//! unverifiable). Pure.
//!
//! Facts relied on (freshdesk-api.md has no section on creating a contact; these are from the
//! Freshdesk API v2 reference "Create a Contact" and freshconsult's `api_contacts_controller`
//! tests, `test_create_contact*`):
//! - `name` is mandatory (400 `missing_field`), and at least one of `email`, `phone`, `mobile`,
//!   `twitter_id` (and `unique_external_id` with that feature) (400 `missing_field` on `email`,
//!   "Please fill at least 1 of email, mobile, phone, twitter_id … fields");
//! - the answer is 201 with the contact (`id`, `email`, `name`, `job_title`, `active`, …);
//! - an e-mail any user (contact or agent) has is 409 `duplicate_value` on `email`. Its
//!   `additional_info` (`user_id`, as `POST agents` answers for a contact) is UNCONFIRMED for this
//!   endpoint, so fdsync does not read it: a 409 is settled by `GET contacts?email=`.
//! - Creating a contact costs one credit of the account's per-minute budget and none of the four
//!   sub-limits (ticket create/update, tickets list, contacts list): UNCONFIRMED, assumed from
//!   freshdesk-api.md §2 (only those four paths have buckets).

use super::answer::Decode;
use crate::domain::NewContact;
use serde::Deserialize;
use serde_json::{Value, json};
use std::num::NonZeroU64;

/// A contact as `POST contacts` answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: u64,
    /// Lower-cased.
    pub email: Option<String>,
    /// The contact's JSON as Freshdesk sent it.
    pub record: String,
}

#[derive(Deserialize)]
struct ContactDto {
    id: NonZeroU64,
    #[serde(default)]
    email: Option<String>,
}

impl Decode for Contact {
    fn decode(body: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(body).map_err(|_| "not UTF-8".to_string())?;
        let dto: ContactDto = serde_json::from_str(text).map_err(|e| format!("not a contact ({e})"))?;
        Ok(Contact {
            id: dto.id.get(),
            email: dto.email.map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty()),
            record: text.trim().to_string(),
        })
    }
}

/// The JSON sent to `POST api/v2/contacts`: name, e-mail, and the job title when given.
pub fn create_body(c: &NewContact) -> Value {
    let mut body = json!({"name": c.name, "email": c.email.as_str()});
    if let Some(t) = &c.job_title {
        body["job_title"] = json!(t);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Email;

    #[test]
    fn a_contact_decodes_with_a_positive_id_and_its_email_lower_cased() {
        let c = Contact::decode(br#"{"id": 43026449350, "email": "Pat@X.io", "active": false}"#).unwrap();
        assert_eq!((c.id, c.email.as_deref()), (43026449350, Some("pat@x.io")));
        assert!(Contact::decode(br#"{"id": 0, "email": "p@x.io"}"#).is_err());
        assert!(Contact::decode(b"<html>").is_err());
    }

    #[test]
    fn the_create_body_names_the_contact_and_its_email() {
        let c = NewContact { email: Email::parse("Pat@X.io").unwrap(), name: "Pat".into(), job_title: None };
        assert_eq!(create_body(&c), json!({"name": "Pat", "email": "Pat@X.io"}));
        let c = NewContact { job_title: Some("Eng".into()), ..c };
        assert_eq!(create_body(&c)["job_title"], "Eng");
    }
}
