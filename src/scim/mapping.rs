//! Freshdesk agent ⇄ SCIM User (RFC 7643 §4.1), and the fdsync extension schema. Pure.
//!
//! | SCIM                                   | Freshdesk                                  |
//! |----------------------------------------|--------------------------------------------|
//! | `id`                                   | agent id (stable across deprovision/restore) |
//! | `userName`, primary `emails` value     | the agent's e-mail (changeable: `PUT agents/{id}`) |
//! | `name.formatted` / `displayName`       | name (changeable: `PUT agents/{id}`)       |
//! | `title`                                | job title (changeable: `PUT agents/{id}`)  |
//! | `active`                               | an agent (true) or deprovisioned (false)   |
//! | `externalId`                           | kept in fdsync's journal only              |
//! | extension `ticketScope`                | ticket_scope (Global, Group, Restricted)   |
//! | extension `roleIds`, `groupIds`        | role_ids, group_ids                        |
//! | extension `occasional`                 | occasional                                 |

use super::error::ScimError;
use crate::domain::{AgentEdit, Email, NewAgent, TicketScope};
use serde_json::{Value, json};

pub(crate) const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub(crate) const EXT_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:fdsync:2.0:Agent";

/// What a User says of an agent, read from the agent's JSON record as Freshdesk sent it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Shown {
    pub(crate) id: u64,
    pub(crate) email: String,
    /// The provider's `userName` when it is not the e-mail (kept in the journal).
    pub(crate) user_name: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) title: Option<String>,
    pub(crate) active: bool,
    pub(crate) external_id: Option<String>,
    pub(crate) scope: Option<u64>,
    pub(crate) role_ids: Option<Vec<u64>>,
    pub(crate) group_ids: Option<Vec<u64>>,
    pub(crate) occasional: Option<bool>,
}

impl Shown {
    /// From an agent record (`GET agents/{id}`, a listing item, or a delete's before-image).
    pub(crate) fn from_record(record: &str, id: u64) -> Option<Self> {
        let v: Value = serde_json::from_str(record).ok()?;
        let contact = v.get("contact").unwrap_or(&Value::Null);
        let text = |x: &Value| x.as_str().map(str::to_string).filter(|s| !s.is_empty());
        let email = text(&contact["email"])?.to_ascii_lowercase();
        let ids = |x: &Value| x.as_array().map(|a| a.iter().filter_map(Value::as_u64).collect::<Vec<_>>());
        Some(Self {
            id,
            email,
            user_name: None,
            name: text(&contact["name"]),
            title: text(&contact["job_title"]),
            active: true,
            external_id: None,
            scope: v["ticket_scope"].as_u64(),
            role_ids: ids(&v["role_ids"]),
            group_ids: ids(&v["group_ids"]),
            occasional: v["occasional"].as_bool(),
        })
    }

    /// `userName`: the provider's, else the e-mail.
    pub(crate) fn user_name(&self) -> &str {
        self.user_name.as_deref().unwrap_or(&self.email)
    }

    /// The User resource, `meta.location` under `base` (`…/scim/v2`).
    pub(crate) fn to_json(&self, base: &str) -> Value {
        let mut user = json!({
            "schemas": [USER_SCHEMA, EXT_SCHEMA],
            "id": self.id.to_string(),
            "userName": self.user_name(),
            "active": self.active,
            "emails": [{"value": self.email, "type": "work", "primary": true}],
            "meta": {"resourceType": "User", "location": format!("{base}/Users/{}", self.id)},
        });
        if let Some(n) = &self.name {
            user["displayName"] = json!(n);
            user["name"] = json!({"formatted": n});
        }
        if let Some(t) = &self.title {
            user["title"] = json!(t);
        }
        if let Some(e) = &self.external_id {
            user["externalId"] = json!(e);
        }
        let mut ext = serde_json::Map::new();
        if let Some(s) = self.scope.and_then(|n| TicketScope::parse(&n.to_string()).ok()) {
            ext.insert("ticketScope".into(), json!(scope_name(s)));
        }
        if let Some(r) = &self.role_ids {
            ext.insert("roleIds".into(), json!(r));
        }
        if let Some(g) = &self.group_ids {
            ext.insert("groupIds".into(), json!(g));
        }
        if let Some(o) = self.occasional {
            ext.insert("occasional".into(), json!(o));
        }
        user[EXT_SCHEMA] = Value::Object(ext);
        user
    }
}

fn scope_name(s: TicketScope) -> &'static str {
    match s.number() {
        1 => "Global",
        2 => "Group",
        _ => "Restricted",
    }
}

/// A boolean as identity providers send it: `false`, or Entra's `"False"`.
pub(crate) fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// What a POST or PUT body asks for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Wanted {
    /// As given (the agent's e-mail, or a login when the e-mail is in `emails`).
    pub(crate) user_name: String,
    pub(crate) agent: NewAgent,
    pub(crate) active: bool,
    pub(crate) external_id: Option<String>,
    /// Whether the body names the user (`displayName` or `name`): else the agent keeps its name.
    pub(crate) named: bool,
}

/// Reads a User body (case-insensitive attribute names, as RFC 7643 §2.1 asks).
pub(crate) fn wanted(body: &Value) -> Result<Wanted, ScimError> {
    let obj =
        body.as_object().ok_or_else(|| ScimError::bad("invalidSyntax", "the body is not a JSON object"))?;
    let get = |name: &str| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
    let primary = get("emails").and_then(Value::as_array).and_then(|a| {
        a.iter()
            .find(|e| e["primary"].as_bool() == Some(true))
            .or_else(|| a.iter().find(|e| e["type"] == "work"))
            .or(a.first())
            .and_then(|e| e["value"].as_str())
    });
    let user_name = get("userName")
        .and_then(Value::as_str)
        .or(primary)
        .ok_or_else(|| ScimError::bad("invalidValue", "userName is required (the agent's e-mail address)"))?;
    // The agent's e-mail: userName when it is one, else the primary (or work) e-mail.
    let email = match (Email::parse(user_name), primary.map(Email::parse)) {
        (Ok(e), _) | (Err(_), Some(Ok(e))) => e,
        (Err(e), _) => {
            return Err(ScimError::bad(
                "invalidValue",
                format!("userName or the primary e-mail must be the agent's e-mail address: {e}"),
            ));
        }
    };
    let name_obj = get("name");
    let named = get("displayName").is_some_and(Value::is_string) || name_obj.is_some_and(Value::is_object);
    let formatted = name_obj.and_then(|n| n["formatted"].as_str()).map(str::to_string).or_else(|| {
        let g = name_obj.and_then(|n| n["givenName"].as_str()).unwrap_or("");
        let f = name_obj.and_then(|n| n["familyName"].as_str()).unwrap_or("");
        let joined = format!("{g} {f}").trim().to_string();
        (!joined.is_empty()).then_some(joined)
    });
    let name = get("displayName")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or(formatted)
        .unwrap_or_else(|| email.as_str().to_string());
    let active = match get("active") {
        None | Some(Value::Null) => true,
        Some(v) => {
            boolean(v).ok_or_else(|| ScimError::bad("invalidValue", "active must be true or false"))?
        }
    };
    let ext = get(EXT_SCHEMA).cloned().unwrap_or(Value::Null);
    let scope = match &ext["ticketScope"] {
        Value::Null => TicketScope::parse("Global"),
        Value::String(s) => TicketScope::parse(s),
        other => TicketScope::parse(&other.to_string()),
    }
    .map_err(|e| ScimError::bad("invalidValue", format!("{EXT_SCHEMA}:ticketScope: {e}")))?;
    let ids = |key: &str| -> Result<Vec<u64>, ScimError> {
        match &ext[key] {
            Value::Null => Ok(vec![]),
            Value::Array(a) => a
                .iter()
                .map(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
                .collect::<Option<Vec<u64>>>()
                .ok_or_else(|| ScimError::bad("invalidValue", format!("{key} must be a list of ids"))),
            _ => Err(ScimError::bad("invalidValue", format!("{key} must be a list of ids"))),
        }
    };
    let agent = NewAgent {
        email,
        ticket_scope: scope,
        name,
        job_title: get("title").and_then(Value::as_str).map(str::to_string),
        occasional: ext.get("occasional").and_then(boolean),
        role_ids: ids("roleIds")?,
        group_ids: ids("groupIds")?,
        language: None,
        time_zone: None,
    };
    let external_id = get("externalId").and_then(Value::as_str).map(str::to_string);
    Ok(Wanted { user_name: user_name.to_string(), agent, active, external_id, named })
}

/// What a PUT changes of an existing agent (`PUT agents/{id}`: its e-mail, its name when the
/// body names it, its job title when the body has one), and the provider's new `userName`
/// (kept in the journal when it is not the e-mail). Pure.
pub(crate) fn edit(now: &Shown, want: &Wanted) -> (AgentEdit, Option<String>) {
    let user_name = (!want.user_name.eq_ignore_ascii_case(now.user_name())).then(|| want.user_name.clone());
    let agent = &want.agent;
    let set = AgentEdit {
        email: (agent.email.key() != now.email).then(|| agent.email.clone()),
        name: (want.named && now.name.as_deref() != Some(agent.name.as_str())).then(|| agent.name.clone()),
        job_title: agent.job_title.clone().filter(|t| now.title.as_deref() != Some(t.as_str())),
    };
    (set, user_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{"id":5,"ticket_scope":2,"occasional":false,"role_ids":[1],"group_ids":[4],
        "contact":{"name":"Ann Lee","email":"Ann@X.com","job_title":"Lead"}}"#;

    #[test]
    fn an_agent_record_becomes_a_user_with_its_extension() {
        let u = Shown::from_record(RECORD, 5).unwrap().to_json("https://h/scim/v2");
        assert_eq!(u["id"], "5");
        assert_eq!(u["userName"], "ann@x.com");
        assert_eq!(u["emails"][0]["primary"], true);
        assert_eq!(u["displayName"], "Ann Lee");
        assert_eq!(u["title"], "Lead");
        assert_eq!(u["meta"]["location"], "https://h/scim/v2/Users/5");
        assert_eq!(u[EXT_SCHEMA]["ticketScope"], "Group");
        assert_eq!(u[EXT_SCHEMA]["roleIds"], json!([1]));
    }

    #[test]
    fn a_put_changes_only_the_attributes_that_differ() {
        let now = Shown::from_record(RECORD, 5).unwrap();
        let same = json!({"userName":"ann@x.com","displayName":"Ann Lee","title":"Lead"});
        assert_eq!(edit(&now, &wanted(&same).unwrap()), (AgentEdit::default(), None));
        let nameless = json!({"userName":"ann@x.com"});
        assert_eq!(edit(&now, &wanted(&nameless).unwrap()), (AgentEdit::default(), None));
        let okta =
            json!({"userName":"Ann.Lee@X.com","name":{"givenName":"Ann","familyName":"Li"},"title":"Head"});
        let (set, user_name) = edit(&now, &wanted(&okta).unwrap());
        assert_eq!(
            (set.name.as_deref(), set.job_title.as_deref(), set.email.map(|e| e.key())),
            (Some("Ann Li"), Some("Head"), Some("ann.lee@x.com".into()))
        );
        assert_eq!(user_name.as_deref(), Some("Ann.Lee@X.com"));
    }

    #[test]
    fn a_body_is_read_with_entras_and_oktas_shapes() {
        let entra = json!({"schemas":[USER_SCHEMA],"userName":"Bo@X.com","active":"True",
            "displayName":"Bo","title":"Eng","externalId":"e-1","name":{"givenName":"B","familyName":"O"}});
        let w = wanted(&entra).unwrap();
        assert_eq!(
            (w.agent.email.as_str(), w.active, w.external_id.as_deref()),
            ("Bo@X.com", true, Some("e-1"))
        );
        assert_eq!(w.agent.name, "Bo");
        let okta = json!({"userName":"c@x.com","name":{"givenName":"C","familyName":"D"},
            "emails":[{"value":"c@x.com","primary":true}],"active":false,
            EXT_SCHEMA: {"ticketScope":"Restricted","roleIds":["3"],"occasional":"true"}});
        let w = wanted(&okta).unwrap();
        assert_eq!((w.agent.name.as_str(), w.active), ("C D", false));
        assert_eq!((w.agent.ticket_scope.number(), w.agent.role_ids.clone()), (3, vec![3]));
        assert_eq!(w.agent.occasional, Some(true));
        assert_eq!(wanted(&json!({"displayName":"x"})).unwrap_err().scim_type, Some("invalidValue"));
        assert!(!wanted(&json!({"userName":"c@x.com"})).unwrap().named, "no name: the agent keeps its own");
        assert_eq!(
            wanted(&json!({"userName":"x","active":"maybe"})).unwrap_err().scim_type,
            Some("invalidValue")
        );
    }
}
