//! Freshdesk agent ⇄ SCIM User (RFC 7643 §4.1), and the fdsync extension schema. Pure.
//!
//! | SCIM                                   | Freshdesk                                  |
//! |----------------------------------------|--------------------------------------------|
//! | `id`                                   | agent id (stable across deprovision/restore) |
//! | `userName` (an e-mail), else the primary, `work` or first `emails` value | the agent's e-mail (changeable: `PUT agents/{id}`) |
//! | `name.formatted` / `displayName`       | name (changeable: `PUT agents/{id}`)       |
//! | `title`                                | job title (changeable: `PUT agents/{id}`)  |
//! | `active`                               | an agent (true) or deprovisioned (false)   |
//! | `externalId`                           | kept in fdsync's journal only              |
//! | extension `ticketScope`                | ticket_scope (Global, Group, Restricted)   |
//! | extension `roles`, `groups`            | role_ids, group_ids, by the account's names ([`AccountNames`]) |
//! | extension `occasional`                 | occasional                                 |
//!
//! Everything but `id`, `externalId` and `userName`-as-a-login changes with one
//! `PUT agents/{id}`. The retired `roleIds`/`groupIds` are still read (as ids) on input.

use super::error::ScimError;
use crate::domain::{AgentEdit, Email, NewAgent, TicketScope};
use crate::engine::{AccountNames, NameKind};
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
    /// The `emails` list the provider gave (its types, its primary), while it lists the
    /// agent's e-mail; else the e-mail is shown as the one `work` address.
    pub(crate) emails: Option<Value>,
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
            emails: None,
        })
    }

    /// `userName`: the provider's, else the e-mail.
    pub(crate) fn user_name(&self) -> &str {
        self.user_name.as_deref().unwrap_or(&self.email)
    }

    /// The extension's fields as the agent has them.
    pub(crate) fn ext(&self) -> AgentEdit {
        AgentEdit {
            ticket_scope: self.scope.and_then(|n| TicketScope::parse(&n.to_string()).ok()),
            occasional: self.occasional,
            role_ids: self.role_ids.clone(),
            group_ids: self.group_ids.clone(),
            ..AgentEdit::default()
        }
    }

    /// Shows the provider's `emails` list when it lists the agent's e-mail.
    pub(crate) fn show_emails(&mut self, list: Option<Value>) {
        let lists = |l: &Value| {
            let value = |e: &Value| member(e, "value").and_then(Value::as_str).map(str::to_string);
            l.as_array().is_some_and(|l| {
                l.iter().any(|e| value(e).is_some_and(|v| v.eq_ignore_ascii_case(&self.email)))
            })
        };
        self.emails = list.filter(lists);
    }

    /// Whether showing this user needs the account's role and group names.
    pub(crate) fn names_ids(&self) -> bool {
        self.role_ids.is_some() || self.group_ids.is_some()
    }

    /// The User resource, `meta.location` under `base` (`…/scim/v2`), roles and groups by name.
    pub(crate) fn to_json(&self, base: &str, names: &AccountNames) -> Value {
        let mut user = json!({
            "schemas": [USER_SCHEMA, EXT_SCHEMA],
            "id": self.id.to_string(),
            "userName": self.user_name(),
            "active": self.active,
            "emails": self.emails.clone().unwrap_or_else(|| json!([{"value": self.email, "type": "work", "primary": true}])),
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
            ext.insert("roles".into(), json!(names.names_of(NameKind::Role, r)));
        }
        if let Some(g) = &self.group_ids {
            ext.insert("groups".into(), json!(names.names_of(NameKind::Group, g)));
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
    /// The extension's fields the body gives (scope, occasional, roles, groups); the others
    /// are `None` (a PUT leaves them as they are).
    pub(crate) ext: AgentEdit,
}

/// The agent's e-mail a User gives (RFC 7643 §4.1.1–4.1.2): `userName` when it is an e-mail,
/// else the primary `emails` value, else the `work` one, else the first; the first of these
/// that is an e-mail address. `Err`: none is.
pub(crate) fn email_of(user: &Value) -> Result<Email, ScimError> {
    let emails = member(user, "emails").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    fn value(e: &Value) -> Option<&str> {
        member(e, "value").and_then(Value::as_str)
    }
    let kind = |e: &Value, k: &str| {
        member(e, "type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(k))
    };
    let candidates = [
        member(user, "userName").and_then(Value::as_str),
        emails.iter().find(|e| member(e, "primary").and_then(boolean) == Some(true)).and_then(value),
        emails.iter().find(|e| kind(e, "work")).and_then(value),
        emails.first().and_then(value),
    ];
    let mut why = None;
    for c in candidates.into_iter().flatten() {
        match Email::parse(c) {
            Ok(e) => return Ok(e),
            Err(e) => why = why.or(Some(e)),
        }
    }
    Err(ScimError::bad(
        "invalidValue",
        format!(
            "userName or an emails value must be the agent's e-mail address{}",
            why.map(|w| format!(": {w}")).unwrap_or_default()
        ),
    ))
}

/// The extension's fields a User gives (an absent one `None`), `roles` and `groups` resolved
/// by the account's names (a retired `roleIds`/`groupIds` entry is read as an id). An unknown
/// name is `invalidValue`, naming it.
pub(crate) fn ext_fields(user: &Value, names: &AccountNames) -> Result<AgentEdit, ScimError> {
    let ext = member(user, EXT_SCHEMA).cloned().unwrap_or(Value::Null);
    let scope = match member(&ext, "ticketScope") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(TicketScope::parse(s)),
        Some(other) => Some(TicketScope::parse(&other.to_string())),
    }
    .transpose()
    .map_err(|e| ScimError::bad("invalidValue", format!("{EXT_SCHEMA}:ticketScope: {e}")))?;
    let occasional = match member(&ext, "occasional") {
        None | Some(Value::Null) => None,
        Some(v) => Some(boolean(v).ok_or_else(|| {
            ScimError::bad("invalidValue", format!("{EXT_SCHEMA}:occasional must be true or false"))
        })?),
    };
    let ids = |kind: NameKind, attr: &str, retired: &str| -> Result<Option<Vec<u64>>, ScimError> {
        let mut given: Option<Vec<String>> = None;
        for key in [attr, retired] {
            let items = match member(&ext, key) {
                None | Some(Value::Null) => continue,
                Some(Value::Array(a)) => a.clone(),
                Some(one) => vec![one.clone()],
            };
            let list = given.get_or_insert_with(Vec::new);
            for v in &items {
                let text = match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    Value::Object(_) => member(v, "value").and_then(Value::as_str).map(str::to_string),
                    _ => None,
                };
                list.push(text.ok_or_else(|| {
                    ScimError::bad("invalidValue", format!("{EXT_SCHEMA}:{attr} is a list of names"))
                })?);
            }
        }
        given
            .map(|g| names.ids(kind, attr, &g))
            .transpose()
            .map_err(|why| ScimError::bad("invalidValue", format!("{EXT_SCHEMA}:{attr}: {why}")))
    };
    Ok(AgentEdit {
        ticket_scope: scope,
        occasional,
        role_ids: ids(NameKind::Role, "roles", "roleIds")?,
        group_ids: ids(NameKind::Group, "groups", "groupIds")?,
        ..AgentEdit::default()
    })
}

/// Reads a User body (case-insensitive attribute names, as RFC 7643 §2.1 asks).
pub(crate) fn wanted(body: &Value, names: &AccountNames) -> Result<Wanted, ScimError> {
    let obj =
        body.as_object().ok_or_else(|| ScimError::bad("invalidSyntax", "the body is not a JSON object"))?;
    let get = |name: &str| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
    let email = email_of(body)?;
    let user_name = get("userName").and_then(Value::as_str).unwrap_or(email.as_str());
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
    let ext = ext_fields(body, names)?;
    let agent = NewAgent {
        email: email.clone(),
        ticket_scope: ext.ticket_scope.unwrap_or(TicketScope::Global),
        name,
        job_title: get("title").and_then(Value::as_str).map(str::to_string),
        occasional: ext.occasional,
        role_ids: ext.role_ids.clone().unwrap_or_default(),
        group_ids: ext.group_ids.clone().unwrap_or_default(),
        language: None,
        time_zone: None,
    };
    let external_id = get("externalId").and_then(Value::as_str).map(str::to_string);
    Ok(Wanted { user_name: user_name.to_string(), agent, active, external_id, named, ext })
}

/// What a PUT changes of an existing agent (`PUT agents/{id}`: its e-mail, its name when the
/// body names it, its job title when the body has one), and the provider's new `userName`
/// (kept in the journal when it is not the e-mail). Pure.
pub(crate) fn edit(now: &Shown, want: &Wanted) -> (AgentEdit, Option<String>) {
    let user_name = (!want.user_name.eq_ignore_ascii_case(now.user_name())).then(|| want.user_name.clone());
    let agent = &want.agent;
    let mut set = AgentEdit {
        email: (agent.email.key() != now.email).then(|| agent.email.clone()),
        name: (want.named && now.name.as_deref() != Some(agent.name.as_str())).then(|| agent.name.clone()),
        job_title: agent.job_title.clone().filter(|t| now.title.as_deref() != Some(t.as_str())),
        ..AgentEdit::default()
    };
    set_ext(&mut set, &now.ext(), &want.ext);
    (set, user_name)
}

/// Puts into `set` the extension fields of `want` that differ from `then` (roles and groups
/// compared as sets; a record that does not show them changes them).
pub(crate) fn set_ext(set: &mut AgentEdit, then: &AgentEdit, want: &AgentEdit) {
    let differ = |have: &Option<Vec<u64>>, want: &Vec<u64>| {
        have.as_ref().is_none_or(|h| h.len() != want.len() || want.iter().any(|id| !h.contains(id)))
    };
    set.ticket_scope = want.ticket_scope.filter(|s| then.ticket_scope != Some(*s));
    set.occasional = want.occasional.filter(|o| then.occasional != Some(*o));
    set.role_ids = want.role_ids.clone().filter(|r| differ(&then.role_ids, r));
    set.group_ids = want.group_ids.clone().filter(|g| differ(&then.group_ids, g));
}

/// The member of `obj` named `name`, case-insensitively.
pub(crate) fn member<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    obj.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{"id":5,"ticket_scope":2,"occasional":false,"role_ids":[1],"group_ids":[4],
        "contact":{"name":"Ann Lee","email":"Ann@X.com","job_title":"Lead"}}"#;

    fn names() -> AccountNames {
        AccountNames::new(vec![(1, "Agent".into()), (3, "Supervisor".into())], vec![(4, "Tier 1".into())])
    }

    #[test]
    fn an_agent_record_becomes_a_user_with_its_extension() {
        let u = Shown::from_record(RECORD, 5).unwrap().to_json("https://h/scim/v2", &names());
        assert_eq!(u["id"], "5");
        assert_eq!(u["userName"], "ann@x.com");
        assert_eq!(u["emails"][0]["primary"], true);
        assert_eq!(u["displayName"], "Ann Lee");
        assert_eq!(u["title"], "Lead");
        assert_eq!(u["meta"]["location"], "https://h/scim/v2/Users/5");
        assert_eq!(u[EXT_SCHEMA]["ticketScope"], "Group");
        assert_eq!(u[EXT_SCHEMA]["roles"], json!(["Agent"]));
        assert_eq!(u[EXT_SCHEMA]["groups"], json!(["Tier 1"]));
    }

    #[test]
    fn a_put_changes_only_the_attributes_that_differ() {
        let now = Shown::from_record(RECORD, 5).unwrap();
        let same = json!({"userName":"ann@x.com","displayName":"Ann Lee","title":"Lead"});
        assert_eq!(edit(&now, &wanted(&same, &names()).unwrap()), (AgentEdit::default(), None));
        let nameless = json!({"userName":"ann@x.com"});
        assert_eq!(edit(&now, &wanted(&nameless, &names()).unwrap()), (AgentEdit::default(), None));
        let okta =
            json!({"userName":"Ann.Lee@X.com","name":{"givenName":"Ann","familyName":"Li"},"title":"Head"});
        let (set, user_name) = edit(&now, &wanted(&okta, &names()).unwrap());
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
        let w = wanted(&entra, &names()).unwrap();
        assert_eq!(
            (w.agent.email.as_str(), w.active, w.external_id.as_deref()),
            ("Bo@X.com", true, Some("e-1"))
        );
        assert_eq!(w.agent.name, "Bo");
        let okta = json!({"userName":"c@x.com","name":{"givenName":"C","familyName":"D"},
            "emails":[{"value":"c@x.com","primary":true}],"active":false,
            EXT_SCHEMA: {"ticketScope":"Restricted","roleIds":["3"],"occasional":"true"}});
        let w = wanted(&okta, &names()).unwrap();
        assert_eq!((w.agent.name.as_str(), w.active), ("C D", false));
        assert_eq!((w.agent.ticket_scope.number(), w.agent.role_ids.clone()), (3, vec![3]));
        assert_eq!(w.agent.occasional, Some(true));
        assert_eq!(
            wanted(&json!({"displayName":"x"}), &names()).unwrap_err().scim_type,
            Some("invalidValue")
        );
        assert!(
            !wanted(&json!({"userName":"c@x.com"}), &names()).unwrap().named,
            "no name: the agent keeps its own"
        );
        assert_eq!(
            wanted(&json!({"userName":"x","active":"maybe"}), &names()).unwrap_err().scim_type,
            Some("invalidValue")
        );
    }
}
