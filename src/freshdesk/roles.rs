//! Roles: `GET api/v2/roles`, decoded strictly (every item a role with a positive integer `id`
//! and a name, else the answer proves nothing). Pure.

use super::answer::Decode;
use serde::Deserialize;
use std::num::NonZeroU64;

/// One of the account's roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: u64,
    pub name: String,
}

#[derive(Deserialize)]
struct RoleDto {
    id: NonZeroU64,
    name: String,
}

/// `GET roles`: the whole list (Freshdesk does not page it).
impl Decode for Vec<Role> {
    fn decode(body: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(body).map_err(|_| "not UTF-8".to_string())?;
        let roles: Vec<RoleDto> =
            serde_json::from_str(text).map_err(|e| format!("not a list of roles ({e})"))?;
        Ok(roles.into_iter().map(|r| Role { id: r.id.get(), name: r.name }).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_decode_with_ids_and_names() {
        let body = br#"[{"id": 43000078898, "name": "Account Administrator", "default": true},
                        {"id": 5, "name": "Agent", "description": null}]"#;
        let roles = Vec::<Role>::decode(body).unwrap();
        assert_eq!(roles[0], Role { id: 43000078898, name: "Account Administrator".into() });
        assert_eq!(roles.len(), 2);
    }

    #[test]
    fn anything_but_a_list_of_named_roles_proves_nothing() {
        for body in [
            &b"<html>Sign in</html>"[..],
            b"{\"roles\": []}",
            b"[{\"id\": 0, \"name\": \"x\"}]",
            b"[{\"id\": 3}]",
        ] {
            assert!(Vec::<Role>::decode(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }
}
