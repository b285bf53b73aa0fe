//! `GET /api/v2/search/tickets?query="…"`: a small freshquery (clauses on tag, status, priority,
//! type, group_id, agent_id, dates and custom fields, joined by AND/OR with parentheses), 30
//! results per page, page ≤ 10, and the indexing lag (`SimConfig::search_lag`).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{list_query, param};
use crate::app::{App, lock};
use crate::auth::Caller;
use crate::error::{ApiError, FieldError};
use crate::state::{Ticket, TicketView, ticket_json};

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Clause { field: String, op: char, value: String },
}

#[derive(Debug)]
enum Expr {
    Clause { field: String, op: char, value: String },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

fn tokenize(text: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' || c == ')' {
            out.push(if c == '(' { Token::Open } else { Token::Close });
            i += 1;
        } else {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if chars.get(i) != Some(&':') {
                out.push(match word.as_str() {
                    "AND" => Token::And,
                    "OR" => Token::Or,
                    _ => return None,
                });
                continue;
            }
            i += 1;
            let op = match chars.get(i) {
                Some(&o) if o == '>' || o == '<' => {
                    i += 1;
                    o
                }
                _ => ':',
            };
            let value = if chars.get(i) == Some(&'\'') {
                let end = chars[i + 1..].iter().position(|&c| c == '\'')? + i + 1;
                let v: String = chars[i + 1..end].iter().collect();
                i = end + 1;
                v
            } else {
                let s = i;
                while i < chars.len() && !chars[i].is_whitespace() && chars[i] != ')' {
                    i += 1;
                }
                chars[s..i].iter().collect()
            };
            if word.is_empty() || value.is_empty() {
                return None;
            }
            out.push(Token::Clause { field: word.to_lowercase(), op, value });
        }
    }
    Some(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }
    fn expr(&mut self) -> Option<Expr> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Some(left)
    }
    fn and(&mut self) -> Option<Expr> {
        let mut left = self.primary()?;
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.primary()?));
        }
        Some(left)
    }
    fn primary(&mut self) -> Option<Expr> {
        match self.next()? {
            Token::Open if self.depth < 32 => {
                self.depth += 1;
                let e = self.expr()?;
                self.depth -= 1;
                (self.next()? == Token::Close).then_some(e)
            }
            Token::Clause { field, op, value } => Some(Expr::Clause { field, op, value }),
            _ => None,
        }
    }
}

const FIELDS: &[&str] =
    &["tag", "status", "priority", "type", "group_id", "agent_id", "created_at", "updated_at", "due_by"];

fn parse(text: &str, custom: &[String]) -> Option<Expr> {
    let mut p = Parser { tokens: tokenize(text)?, pos: 0, depth: 0 };
    let e = p.expr()?;
    if p.pos != p.tokens.len() {
        return None;
    }
    fn fields_ok(e: &Expr, custom: &[String]) -> bool {
        match e {
            Expr::Clause { field, .. } => {
                FIELDS.contains(&field.as_str())
                    || custom.iter().any(|c| c == field || c.strip_prefix("cf_") == Some(field.as_str()))
            }
            Expr::And(a, b) | Expr::Or(a, b) => fields_ok(a, custom) && fields_ok(b, custom),
        }
    }
    fields_ok(&e, custom).then_some(e)
}

fn compare(actual: Option<String>, op: char, wanted: &str) -> bool {
    let Some(actual) = actual else { return wanted == "null" };
    match (op, actual.parse::<i128>(), wanted.parse::<i128>()) {
        (':', Ok(a), Ok(b)) => a == b,
        ('>', Ok(a), Ok(b)) => a >= b,
        ('<', Ok(a), Ok(b)) => a <= b,
        (':', _, _) => actual.eq_ignore_ascii_case(wanted),
        ('>', _, _) => actual.as_str() >= wanted,
        _ => actual.get(..wanted.len()).unwrap_or(&actual) <= wanted,
    }
}

fn eval(e: &Expr, t: &Ticket) -> bool {
    match e {
        Expr::And(a, b) => eval(a, t) && eval(b, t),
        Expr::Or(a, b) => eval(a, t) || eval(b, t),
        Expr::Clause { field, op, value } => {
            let num = |n: Option<u64>| n.map(|n| n.to_string());
            let actual = match field.as_str() {
                "tag" => return t.tags.iter().any(|tag| tag.eq_ignore_ascii_case(value)),
                "status" => Some(t.status.to_string()),
                "priority" => Some(t.priority.to_string()),
                "type" => t.kind.clone(),
                "group_id" => num(t.group_id),
                "agent_id" => num(t.responder_id),
                "created_at" => Some(t.created_at.chars().take(10).collect()),
                "updated_at" => Some(t.updated_at.chars().take(10).collect()),
                "due_by" => None,
                other => {
                    let key =
                        if other.starts_with("cf_") { other.to_string() } else { format!("cf_{other}") };
                    t.custom_fields
                        .get(&key)
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                }
            };
            compare(actual, *op, value)
        }
    }
}

fn query_error(message: &str) -> ApiError {
    ApiError::one(FieldError::new("query", "invalid_value", message))
}

pub(crate) async fn tickets(
    State(app): State<Arc<App>>,
    _caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = list_query(raw.as_deref(), &["query", "page"])?;
    let page = match param(&params, "page").map(|p| p.parse::<u64>()) {
        None => 1,
        Some(Ok(n)) if (1..=10).contains(&n) => n,
        Some(_) => {
            let msg = "It should be a Positive Integer less than or equal to 10";
            return Err(ApiError::one(FieldError::new("page", "invalid_value", msg)));
        }
    };
    let Some(query) = param(&params, "query") else {
        return Err(ApiError::one(FieldError::new("query", "missing_field", "Mandatory attribute missing")));
    };
    let inner = match query.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
        Some(inner) if query.len() >= 2 => inner,
        _ => {
            return Err(query_error("It should be enclosed in double quotes, e.g. \"tag:'x' AND status:2\""));
        }
    };
    if inner.chars().count() > 512 {
        let msg = format!("Has {} characters, it can have maximum of 512 characters", inner.chars().count());
        return Err(query_error(&msg));
    }
    let (custom, lag) = {
        let c = app.config();
        (c.custom_fields.iter().map(|f| f.name.clone()).collect::<Vec<_>>(), c.search_lag)
    };
    let expr = parse(inner, &custom).ok_or_else(|| {
        query_error(
            "Invalid query: use field:value clauses (strings in single quotes) joined by ' AND ' / ' OR '",
        )
    })?;
    let store = lock(&app.store);
    let mut hits: Vec<&Ticket> = store
        .tickets
        .iter()
        .filter(|t| !t.deleted && t.stored_at.elapsed() >= lag && eval(&expr, t))
        .collect();
    hits.sort_by_key(|t| std::cmp::Reverse((t.created, t.id)));
    let total = hits.len();
    let skip = usize::try_from((page - 1) * 30).unwrap_or(usize::MAX);
    // Freshdesk's search items carry the description and `association_type` (freshconsult
    // `api_search/tickets/index.json.api`; `tests/contract/search_tickets.http`).
    let view = TicketView::Item { description: true };
    let item = |t: &Ticket| {
        let mut v = ticket_json(t, view);
        v["association_type"] = Value::Null;
        v
    };
    let results: Vec<Value> = hits.into_iter().skip(skip).take(30).map(item).collect();
    Ok(axum::Json(json!({ "results": results, "total": total })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn and_binds_tighter_than_or_and_bad_queries_fail() {
        let e = parse("tag:'a b' AND status:2 OR priority:4", &[]).unwrap();
        assert!(matches!(e, Expr::Or(..)));
        assert!(parse("tag:'x' AND", &[]).is_none());
        assert!(parse("nonsense", &[]).is_none());
        assert!(parse("(status:2", &[]).is_none());
        assert!(parse("requester_id:5", &[]).is_none());
        assert!(parse("host:'db-07'", &["cf_host".into()]).is_some());
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let q = format!("{}status:2{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&q, &[]).is_none());
    }
}
