//! The preview's line for a leaver with a successor (`fdsync plan`): how many open tickets would
//! move and to whom, and which an agent's update would be refused for (a custom field required
//! for agents left empty). Reads only.

use super::super::Parts;
use super::super::ports::Api;
use super::{MAX_PAGES, NAMED, OPEN, PER_PAGE, Target};
use crate::freshdesk::EndpointClass;

/// The preview's line for a leaver: how many open tickets would move to whom (one search page:
/// its `total` is the leaver's count).
pub(crate) async fn preview_line<A: Api>(parts: &Parts<A>, leaver: u64, target: &Target) -> String {
    let query = format!("agent_id:{leaver} AND ({OPEN})");
    let first = match parts.sender.read(EndpointClass::Other, |api| api.search_tickets(&query, 1)).await {
        Ok((page, _)) => page,
        Err(why) => return format!("its open tickets would move to {} (not counted: {why})", target.label),
    };
    let line = format!("{} open tickets would move to {}", first.total, target.label);
    let required = required_fields(parts).await;
    if required.is_empty() || first.total == 0 {
        return line;
    }
    // Tickets an agent's update would be refused for: a custom field required for agents empty.
    let mut refused = Vec::new();
    let mut hits = first.hits;
    let pages = first.total.div_ceil(PER_PAGE).min(MAX_PAGES);
    for n in 2..=pages {
        match parts.sender.read(EndpointClass::Other, |api| api.search_tickets(&query, n as u32)).await {
            Ok((page, _)) => hits.extend(page.hits),
            Err(_) => break,
        }
    }
    for hit in &hits {
        let empty =
            |name: &String| hit.custom_fields.as_ref().and_then(|m| m.get(name)).is_none_or(|v| v.is_null());
        if let Some(name) = required.iter().find(|n| empty(n)) {
            refused.push(format!("ticket {} ({} empty)", hit.id, crate::text::shown(name)));
        }
    }
    if refused.is_empty() {
        return line;
    }
    let n = refused.len();
    refused.truncate(NAMED);
    format!(
        "{line}; {n} could not (a field required for agents is empty: {}), so the delete would wait",
        refused.join(", ")
    )
}

/// The custom fields required for agents (read once); none when they cannot be read.
async fn required_fields<A: Api>(parts: &Parts<A>) -> Vec<String> {
    let mut cached = parts.lookups.required.lock().await;
    if cached.is_none() {
        let read = parts.sender.read(EndpointClass::Other, |api| api.ticket_fields()).await;
        let names = read
            .map(|(f, _)| f.custom.into_iter().filter(|c| c.required_for_agents).map(|c| c.name).collect());
        *cached = Some(names.unwrap_or_default());
    }
    cached.clone().unwrap_or_default()
}
