//! The names a ticket row may give instead of ids: `group_id` a group's name, `product_id` a
//! product's name (each matched case- and space-insensitively to exactly one of the account's,
//! `GET groups` / `GET products` read once and trusted for [`TTL`]), `responder_id` an agent's
//! e-mail (the agent directory, else `GET agents?email=`, each e-mail asked once per [`TTL`]).
//! [`NameBook::resolve`] turns a ticket's names into ids just before its create, so only ids
//! are sent; the journal and the report keep the values as written. A ticket that gives only
//! ids needs no read. A name that matches none or several, or an e-mail that is not an
//! agent's, is the row's fault (`bad_value`); a list that cannot be read makes the row wait.

use super::Parts;
use super::cached::Cached;
use super::fieldbook::Typed;
use super::ports::Api;
use super::send::Sender;
use crate::domain::{Email, IdOrName, NewTicket};
use crate::freshdesk::EndpointClass;
use crate::freshdesk::ticket_fields::convert::pick;
use crate::text::Shown;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long what was read of the account is trusted (a daemon sees a group added within it).
const TTL: Duration = Duration::from_secs(600);
/// How soon an unreadable list is asked again.
const RETRY: Duration = Duration::from_secs(30);
/// Most pages of 100 read of one list.
const MAX_PAGES: u32 = 100;

/// Which of the account's lists a name is looked up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Group,
    Product,
    /// `GET roles` (one page: Freshdesk does not page it).
    Role,
}

impl Kind {
    fn column(self) -> &'static str {
        match self {
            Kind::Group => "group_id",
            Kind::Product => "product_id",
            Kind::Role => "role_ids",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Group => "group",
            Kind::Product => "product",
            Kind::Role => "role",
        }
    }
}

/// One of the account's lists of named things (id, name), read when first needed.
struct Listing {
    kind: Kind,
    cache: Cached<Arc<Vec<(u64, String)>>>,
}

impl Listing {
    fn new(kind: Kind) -> Self {
        Self { kind, cache: Cached::new(TTL, RETRY) }
    }

    /// The list, read when not known or older than [`TTL`]; `Err` says why it cannot be read.
    async fn items<A: Api>(&self, sender: &Sender<A>) -> Result<Arc<Vec<(u64, String)>>, String> {
        let read = || async {
            read_all(sender, self.kind).await.map(Arc::new).inspect_err(|why| {
                tracing::warn!(list = self.kind.noun(), reason = %why, "Cannot read the account's list; tickets naming one wait.");
            })
        };
        self.cache
            .get(read)
            .await
            .map_err(|why| format!("cannot read the account's {}s ({why})", self.kind.noun()))
    }

    /// The id `name` stands for, or why the row is refused; `Err` when the list is unreadable.
    async fn id_of<A: Api>(&self, sender: &Sender<A>, name: &str) -> Result<Result<u64, String>, String> {
        let items = self.items(sender).await?;
        Ok(match_name(self.kind, &items, name))
    }
}

/// Every page of the account's groups or products.
async fn read_all<A: Api>(sender: &Sender<A>, kind: Kind) -> Result<Vec<(u64, String)>, String> {
    let mut all = Vec::new();
    for page in 1..=MAX_PAGES {
        let (items, more) = match kind {
            Kind::Group => {
                let (v, more) = sender.read(EndpointClass::Other, |api| api.list_groups(page)).await?;
                (v.into_iter().map(|g| (g.id, g.name)).collect::<Vec<_>>(), more)
            }
            Kind::Product => {
                let (v, more) = sender.read(EndpointClass::Other, |api| api.list_products(page)).await?;
                (v.into_iter().map(|p| (p.id, p.name)).collect(), more)
            }
            Kind::Role => {
                let (v, _) = sender.read(EndpointClass::Other, |api| api.list_roles()).await?;
                return Ok(v.into_iter().map(|r| (r.id, r.name)).collect());
            }
        };
        let n = items.len();
        all.extend(items);
        if !more || n == 0 {
            return Ok(all);
        }
    }
    Err(format!("the account lists more than {MAX_PAGES} pages of {}s", kind.noun()))
}

/// The one item `name` matches: its exact spelling, else the one equal to it with case and
/// spaces ignored. None, two alike, or two items of that very name: why not, naming the names.
fn match_name(kind: Kind, items: &[(u64, String)], name: &str) -> Result<u64, String> {
    match_field(kind, kind.column(), items, name)
}

/// [`match_name`], the refusal naming `field` (a file's column, a SCIM attribute).
fn match_field(kind: Kind, field: &str, items: &[(u64, String)], name: &str) -> Result<u64, String> {
    let refuse = |wants: String| {
        format!("'{}' cannot be sent: {field} takes a {}'s id or {wants}", Shown(name), kind.noun())
    };
    if items.is_empty() {
        return Err(refuse(format!("name (the account has no {}s)", kind.noun())));
    }
    let chosen = pick(name, items.iter().map(|(_, n)| n.as_str())).map_err(refuse)?;
    let ids: Vec<u64> = items.iter().filter(|(_, n)| n == chosen).map(|(id, _)| *id).collect();
    match ids.as_slice() {
        [id] => Ok(*id),
        _ => Err(format!(
            "'{}' cannot be sent: {} {}s are named \"{}\" (ids {}): give the id",
            Shown(name),
            ids.len(),
            kind.noun(),
            Shown(chosen),
            ids.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// The account's groups, products and agents' e-mails as the rows name them; each part read
/// once per [`TTL`].
pub(crate) struct NameBook {
    groups: Listing,
    products: Listing,
    /// Read only for the SCIM service's `roles` ([`NameBook::account`]).
    roles: Listing,
    /// Lower-cased e-mail → the agent's id (`None`: not an agent) and when that was learnt.
    agents: tokio::sync::Mutex<HashMap<String, (Option<u64>, Instant)>>,
}

impl NameBook {
    pub(crate) fn new() -> Self {
        Self {
            groups: Listing::new(Kind::Group),
            products: Listing::new(Kind::Product),
            roles: Listing::new(Kind::Role),
            agents: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// `t` with every name replaced by its id; unchanged (and no read) when it gives only ids.
    /// Every name the row gives wrong is named in `Bad`.
    pub(crate) async fn resolve<'t, A: Api>(&self, parts: &Parts<A>, t: Cow<'t, NewTicket>) -> Typed<'t> {
        let named = |r: &Option<IdOrName>| matches!(r, Some(IdOrName::Name(_)));
        if !named(&t.group_id) && !named(&t.responder_id) && !named(&t.product_id) {
            return Typed::Ready(t);
        }
        let mut out = t.into_owned();
        let mut bad = Vec::new();
        for (listing, slot) in [(&self.groups, &mut out.group_id), (&self.products, &mut out.product_id)] {
            let Some(IdOrName::Name(name)) = slot.clone() else { continue };
            match listing.id_of(&parts.sender, &name).await {
                Ok(Ok(id)) => *slot = Some(IdOrName::Id(id)),
                Ok(Err(why)) => bad.push(why),
                Err(why) => return Typed::Unknown(why),
            }
        }
        if let Some(IdOrName::Name(email)) = out.responder_id.clone() {
            match self.agent_id(parts, &email).await {
                Ok(Some(id)) => out.responder_id = Some(IdOrName::Id(id)),
                Ok(None) => bad.push(format!(
                    "'{}' cannot be sent: responder_id takes an agent's id or e-mail, and no agent has this e-mail",
                    Shown(&email)
                )),
                Err(why) => return Typed::Unknown(format!("cannot look up the agent {} ({why})", Shown(&email))),
            }
        }
        if bad.is_empty() { Typed::Ready(Cow::Owned(out)) } else { Typed::Bad(bad.join("; ")) }
    }

    /// The account's roles and groups, each read once per [`TTL`]; `Err` says which cannot be
    /// read.
    pub(crate) async fn account<A: Api>(&self, parts: &Parts<A>) -> Result<AccountNames, String> {
        let roles = self.roles.items(&parts.sender).await?;
        let groups = self.groups.items(&parts.sender).await?;
        Ok(AccountNames { roles, groups })
    }

    /// The id of the agent with this e-mail (`None`: no agent has it), from the agent
    /// directory when it lists it, else by one lookup; remembered for [`TTL`].
    async fn agent_id<A: Api>(&self, parts: &Parts<A>, email: &str) -> Result<Option<u64>, String> {
        let key = Email::parse(email).map(|e| e.key()).unwrap_or_else(|_| email.to_lowercase());
        let mut agents = self.agents.lock().await;
        if let Some((id, at)) = agents.get(&key)
            && at.elapsed() < TTL
        {
            return Ok(*id);
        }
        let id = match parts.directory.lookup(&parts.journal, &parts.sender, &key).await {
            Some(agent) => Some(agent.id),
            None => {
                let read = parts.sender.read(EndpointClass::Other, |api| api.find_agent_by_email(email));
                read.await?.0.map(|agent| agent.id)
            }
        };
        agents.insert(key, (id, Instant::now()));
        Ok(id)
    }
}

/// The account's roles and groups by name, as read by [`NameBook::account`]: the SCIM
/// service's `roles` and `groups` (names in, names out; ids to Freshdesk). Pure.
#[derive(Debug, Clone, Default)]
pub(crate) struct AccountNames {
    roles: Arc<Vec<(u64, String)>>,
    groups: Arc<Vec<(u64, String)>>,
}

impl AccountNames {
    #[cfg(test)]
    pub(crate) fn new(roles: Vec<(u64, String)>, groups: Vec<(u64, String)>) -> Self {
        Self { roles: Arc::new(roles), groups: Arc::new(groups) }
    }

    fn items(&self, kind: Kind) -> &[(u64, String)] {
        match kind {
            Kind::Role => &self.roles,
            _ => &self.groups,
        }
    }

    /// Every name of `kind` (roles or groups), in the account's order.
    pub(crate) fn all(&self, kind: Kind) -> Vec<&str> {
        self.items(kind).iter().map(|(_, n)| n.as_str()).collect()
    }

    /// The ids `values` stand for, each a name as [`match_name`] matches it or one of the
    /// account's ids (as a file's cell may give). `Err` names every value that is neither.
    pub(crate) fn ids(&self, kind: Kind, field: &str, values: &[String]) -> Result<Vec<u64>, String> {
        let items = self.items(kind);
        let (mut ids, mut bad) = (Vec::new(), Vec::new());
        for v in values {
            let id = match IdOrName::parse(v) {
                Ok(IdOrName::Id(id)) if items.iter().any(|(i, _)| *i == id) => Ok(id),
                _ => match_field(kind, field, items, v),
            };
            match id {
                Ok(id) if !ids.contains(&id) => ids.push(id),
                Ok(_) => {}
                Err(why) => bad.push(why),
            }
        }
        if bad.is_empty() { Ok(ids) } else { Err(bad.join("; ")) }
    }

    /// The names of `ids`; an id the account does not list (yet) is shown as the id.
    pub(crate) fn names_of(&self, kind: Kind, ids: &[u64]) -> Vec<String> {
        let items = self.items(kind);
        let name = |id: &u64| items.iter().find(|(i, _)| i == id).map_or(id.to_string(), |(_, n)| n.clone());
        ids.iter().map(name).collect()
    }
}

/// `; group_id 'Billing' = 43000090003, …`: each name of `written` and the id it resolved to in
/// `sent` (the preview shows them), escaped; empty when the row gave only ids.
pub(crate) fn resolved_note(written: &NewTicket, sent: &NewTicket) -> String {
    let pairs = [
        ("group_id", &written.group_id, &sent.group_id),
        ("responder_id", &written.responder_id, &sent.responder_id),
        ("product_id", &written.product_id, &sent.product_id),
    ];
    let mut out = String::new();
    for (column, before, after) in pairs {
        if let (Some(IdOrName::Name(name)), Some(IdOrName::Id(id))) = (before, after) {
            out.push_str(&format!("; {column} '{}' = {id}", Shown(name)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<(u64, String)> {
        vec![(1, "Tier 1".into()), (2, "Acme Mobile".into()), (3, "AcmeMobile".into()), (4, "Billing".into())]
    }

    #[test]
    fn a_name_matches_one_item_case_and_spaces_ignored() {
        assert_eq!(match_name(Kind::Group, &items(), "tier1"), Ok(1));
        assert_eq!(match_name(Kind::Group, &items(), " BILLING "), Ok(4));
        // An exact spelling wins over a loose match of another.
        assert_eq!(match_name(Kind::Product, &items(), "AcmeMobile"), Ok(3));
    }

    #[test]
    fn unknown_and_ambiguous_names_are_refused_naming_the_names() {
        let unknown = match_name(Kind::Group, &items(), "Tier 3").unwrap_err();
        assert!(
            unknown.starts_with("'Tier 3' cannot be sent: group_id takes a group's id or one of \"Tier 1\""),
            "{unknown}"
        );
        let alike = match_name(Kind::Product, &items(), "acme mobile").unwrap_err();
        assert!(alike.contains("it matches \"Acme Mobile\" and \"AcmeMobile\" alike"), "{alike}");
        let twins = vec![(7, "Ops".to_string()), (8, "Ops".to_string())];
        let twice = match_name(Kind::Group, &twins, "Ops").unwrap_err();
        assert!(twice.contains("2 groups are named \"Ops\" (ids 7, 8)"), "{twice}");
        assert!(match_name(Kind::Product, &[], "x").unwrap_err().contains("the account has no products"));
    }

    #[test]
    fn the_note_shows_only_names_and_their_ids() {
        let mut written = NewTicket::example("a@b.co");
        written.group_id = Some(IdOrName::Name("billing".into()));
        written.product_id = Some(IdOrName::Id(9));
        let mut sent = written.clone();
        sent.group_id = Some(IdOrName::Id(4));
        assert_eq!(resolved_note(&written, &sent), "; group_id 'billing' = 4");
    }
}
