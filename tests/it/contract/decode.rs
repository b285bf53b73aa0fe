//! The first judge: the client (`fdsync::freshdesk::Client`) reads each contract fixture, served
//! verbatim by a scripted loopback server, as what the engine expects, and sends its request to
//! the fixture's method and route.

use super::{Fixture, fixtures};
use crate::misbehave::{Misbehaving, Step};
use fdsync::config::Settings;
use fdsync::domain::{
    AgentEdit, Email, NewAgent, NewContact, NewTicket, Priority, Restore, Status, TicketScope,
};
use fdsync::freshdesk::agents::before_image;
use fdsync::freshdesk::ticket_fields::FieldKind;
use fdsync::freshdesk::{Answer, Client, Existing, Group, Holder, Product, RateHeaders, Reply};
use std::collections::BTreeMap;
use std::time::Duration;

/// The ids the fixtures use for their placeholders.
fn vars() -> BTreeMap<&'static str, u64> {
    BTreeMap::from([("agent", 43026449322), ("ticket", 1042), ("contact", 43026449350)])
}

fn ticket(extra: &[(&str, serde_json::Value)]) -> NewTicket {
    let mut t = NewTicket {
        email: Some(Email::parse("jane.doe@example.com").unwrap()),
        phone: None,
        requester_id: None,
        unique_external_id: None,
        twitter_id: None,
        facebook_id: None,
        subject: "Disk full on db-07".into(),
        description: "<div>Disk usage 98% on /var</div>".into(),
        priority: Priority::High,
        status: Status::Open,
        name: None,
        tags: vec!["monitoring".into()],
        ticket_type: Some("Incident".into()),
        group_id: None,
        responder_id: None,
        product_id: None,
        source: None,
        cc_emails: vec![],
        custom_fields: BTreeMap::new(),
        external_id: None,
        attachments: vec![],
        date_format: None,
    };
    t.custom_fields.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    t
}

fn agent() -> NewAgent {
    NewAgent {
        email: Email::parse("agent0001@example.com").unwrap(),
        ticket_scope: TicketScope::Group,
        name: "Jane Doe".into(),
        job_title: None,
        occasional: None,
        role_ids: vec![],
        group_ids: vec![],
        language: None,
        time_zone: None,
    }
}

fn ok<T: std::fmt::Debug>(name: &str, status: u16, reply: Reply<T>) -> T {
    match reply.answer {
        Answer::Ok { status: s, value } if s == status => value,
        other => panic!("{name}: not Ok {status}: {other:?}"),
    }
}

/// The rate headers every fixture let through carries (total 400, used 1 or more).
fn assert_rated<T>(name: &str, reply: &Reply<T>) {
    assert_eq!(reply.rate.total, Some(400), "{name}: {:?}", reply.rate);
    assert!(reply.rate.remaining.is_some() && reply.rate.used.is_some(), "{name}: {:?}", reply.rate);
}

/// Calls the client method that makes the fixture's request and checks what it decoded.
async fn check(f: &Fixture, c: &Client) {
    let name = f.name.as_str();
    match name {
        "ticket_create_201" => {
            let reply = c.create_ticket(&ticket(&[]), "fds-7f3a9c21e4b0").await;
            assert_rated(name, &reply);
            let t = ok(name, 201, reply);
            assert_eq!(t.id, 1042);
            assert!(t.has_tag("FDS-7F3A9C21E4B0") && t.created_at.is_some(), "{t:?}");
        }
        "ticket_show_requester" => {
            let state = ok(name, 200, c.get_ticket(1042).await);
            assert_eq!((state.id, state.deleted), (1042, false));
        }
        "agent_show" => {
            let reply = c.get_agent(43026449322).await;
            assert_rated(name, &reply);
            let a = ok(name, 200, reply);
            assert_eq!((a.id, a.email.as_deref()), (43026449322, Some("jane.doe@example.com")));
            assert_eq!(
                (a.role_ids.clone(), a.group_ids.clone()),
                (Some(vec![43000078901]), Some(vec![43000561234]))
            );
            let image = before_image(&a.record).expect("a shown agent is a before-image");
            assert_eq!((image.ticket_scope, image.occasional), (TicketScope::Group, false));
        }
        "agents_me" => {
            let me = ok(name, 200, c.me().await);
            assert_eq!((me.id, me.email.as_str()), (43000000001, "admin@example.com"));
        }
        "agent_list_page" => {
            let reply = c.list_agents(1, 2).await;
            assert!(reply.next_page, "{name}: the Link header says a page follows");
            let agents = ok(name, 200, reply);
            assert_eq!(agents.iter().map(|a| a.id).collect::<Vec<_>>(), [43026449322, 43026449323]);
            assert!(agents.iter().all(|a| a.role_ids.is_none()), "list items carry no roles");
            assert!(before_image(&agents[0].record).is_err(), "a list item is no before-image");
        }
        "roles" => {
            let roles = ok(name, 200, c.list_roles().await);
            let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
            assert_eq!(names, ["Account Administrator", "Administrator", "Supervisor", "Agent"]);
            assert_eq!(roles[1].id, 43000078899);
        }
        "ticket_fields" => {
            let fields = ok(name, 200, c.ticket_fields().await);
            let names: Vec<&str> = fields.custom.iter().map(|f| f.name.as_str()).collect();
            assert_eq!(names, ["cf_host", "cf_region"], "only custom fields");
            assert_eq!(fields.custom[0].kind, FieldKind::Text);
            let region = &fields.custom[1];
            assert_eq!(region.kind, FieldKind::Dropdown(vec!["EMEA".into(), "AMER".into(), "APAC".into()]));
            assert!(region.required_for_agents && !region.required_for_closure);
            assert!(fields.check(&ticket(&[])).iter().any(|r| r.contains("cf_region")), "required");
        }
        "search_tickets" => {
            let page = ok(name, 200, c.search_tickets("tag:'fds-7f3a9c21e4b0'", 1).await);
            assert_eq!(page.total, 1);
            assert_eq!((page.hits[0].id.get(), page.hits[0].responder_id), (1042, Some(43026449400)));
        }
        "agent_create_409" => match c.create_agent(&agent()).await.answer {
            Answer::Conflict { existing: Some(Existing::Agent(43026449322)), errors } => {
                assert_eq!((errors[0].field.as_str(), errors[0].code.as_str()), ("email", "duplicate_value"));
            }
            other => panic!("{name}: {other:?}"),
        },
        "ticket_create_400" => match c.create_ticket(&ticket(&[]), "fds-7f3a9c21e4b0").await.answer {
            Answer::Invalid { status: 400, errors, .. } => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["priority", "tags"]);
                assert!(errors.iter().all(|e| e.code == "invalid_value"));
            }
            other => panic!("{name}: {other:?}"),
        },
        "ticket_create_400_invalid_field" => {
            match c.create_ticket(&ticket(&[]), "fds-7f3a9c21e4b0").await.answer {
                Answer::Invalid { status: 400, errors, .. } => {
                    assert_eq!(
                        (errors[0].field.as_str(), errors[0].code.as_str()),
                        ("external_id", "invalid_field")
                    );
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        "agent_show_404" => {
            let reply = c.get_agent(43099999999).await;
            assert_rated(name, &reply);
            assert_eq!(reply.answer, Answer::NotFound);
        }
        "agent_delete_204" => {
            let reply = c.delete_agent(43026449322).await;
            ok(name, 204, reply);
        }
        "rate_limited_429" => {
            let reply = c.me().await;
            assert_eq!(reply.answer, Answer::RateLimited { retry_after: Duration::from_secs(17) });
            assert_eq!(reply.rate, RateHeaders::default(), "a 429 carries no rate headers");
        }
        "make_agent_200" => {
            let image = Restore {
                occasional: false,
                group_ids: vec![],
                role_ids: vec![43000078901],
                ticket_scope: TicketScope::Group,
            };
            let agent = ok(name, 200, c.make_agent(43026449350, &image).await);
            assert_eq!((agent.id, agent.email.as_deref()), (43026449350, Some("pat.leaver@example.com")));
        }
        "ticket_update_200" => {
            let to = Holder { responder_id: None, group_id: Some(43000090001) };
            let reply = c.move_ticket(1042, &to).await;
            assert_rated(name, &reply);
            let t = ok(name, 200, reply);
            assert_eq!((t.id, t.holder, t.deleted), (1042, to, false));
        }
        "ticket_update_400" => {
            let to = Holder { responder_id: None, group_id: Some(43000090001) };
            match c.move_ticket(1042, &to).await.answer {
                Answer::Invalid { status: 400, errors, .. } => {
                    assert_eq!(errors[0].code, "missing_field", "{errors:?}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        "agent_update_200" => {
            let set = AgentEdit {
                name: Some("Jane Roe".into()),
                email: None,
                job_title: Some("Team Lead".into()),
                ..Default::default()
            };
            let reply = c.update_agent(43026449322, &set).await;
            assert_rated(name, &reply);
            let a = ok(name, 200, reply);
            assert_eq!((a.id, a.name.as_deref()), (43026449322, Some("Jane Roe")));
            assert_eq!(fdsync::freshdesk::agents::shows(&a.record, &set), Ok(true), "the read-back sees it");
        }
        "agent_update_409" => {
            let set = AgentEdit {
                email: Some(Email::parse("agent0002@example.com").unwrap()),
                ..Default::default()
            };
            match c.update_agent(43026449322, &set).await.answer {
                Answer::Conflict { existing: None, errors } => {
                    assert_eq!(
                        (errors[0].field.as_str(), errors[0].code.as_str()),
                        ("email", "duplicate_value")
                    );
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        "groups" => {
            let groups = ok(name, 200, c.list_groups(1).await);
            assert_eq!(groups, [Group { id: 43000090001, name: "Tier 1".into() }]);
        }
        "products" => {
            let products = ok(name, 200, c.list_products(1).await);
            assert_eq!(products, [Product { id: 43000095001, name: "Acme Cloud".into() }]);
        }
        "contact_create_201" => {
            let contact = NewContact {
                email: Email::parse("pat.leaver@example.com").unwrap(),
                name: "Pat Leaver".into(),
                job_title: Some("Support Engineer".into()),
            };
            let reply = c.create_contact(&contact).await;
            assert_rated(name, &reply);
            let made = ok(name, 201, reply);
            assert_eq!((made.id, made.email.as_deref()), (43026449350, Some("pat.leaver@example.com")));
        }
        other => panic!("fixture {other} has no client check: add one here"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_decodes_every_contract_fixture_into_what_the_engine_expects() {
    for f in fixtures() {
        let server = Misbehaving::start().await;
        let route: &'static str = Box::leak(f.route(&vars()).into_boxed_str());
        let method: &'static str = Box::leak(f.method.clone().into_boxed_str());
        let answer =
            Step::Answer { status: f.status, headers: f.headers.clone(), body: f.body.clone().into() };
        server.on(method, route, vec![answer]);
        let mut settings = Settings::for_simulator(&server.url, "contract-key");
        settings.freshdesk.request_timeout = Duration::from_secs(5);
        let client = Client::new(&settings).expect("client");
        check(&f, &client).await;
        assert_eq!(server.count(method, route), 1, "{}: the client sent {method} {route} once", f.name);
    }
}
