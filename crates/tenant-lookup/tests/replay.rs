//! Replays every event under `events/<function>/` through its handler, with `events/seed.json`
//! loaded into a fresh in-memory directory per event, and compares the answer with the
//! `<event>.expected.json` beside it: the whole event Cognito gets back, or for a denial the
//! `{"errorType", "errorMessage"}` it would show.
//!
//! Per function, more is checked:
//! - pre sign-up: the directory saw no write and is unchanged (the trigger writes nothing);
//! - post confirmation: `<event>.directory.expected.json` holds the seed entries the event's
//!   keys reach and the change the event made to the directory (see [`directory_effect`]);
//!   a source other than `PostConfirmation_ConfirmSignUp` makes no directory request at all.
//!
//! `UPDATE_GOLDEN=1 cargo test -p tenant-lookup --test replay` rewrites the expected files;
//! review the diff before committing it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use tenant_lookup::domain::model::{
    email_domain, route_key, Invitation, Membership, Route, RouteKind, Tenant,
};
use tenant_lookup::{CachedDirectory, DirectoryContents, InMemoryDirectory, ManualClock, Trigger};
use test_support::events::{answer, events_of};
use test_support::handlers::{config, post_confirmation, pre_signup, pre_token, Parts};
use test_support::seeds::{events_in_memory, NOW};

/// The handler built by `make` over `dir` behind the cache, at [`NOW`].
fn handler<T>(dir: Arc<InMemoryDirectory>, make: impl Fn(Parts) -> T) -> T {
    let clock = Arc::new(ManualClock::new(NOW));
    let config = config(&[]);
    make(Parts {
        directory: CachedDirectory::new(dir, config.cache_ttl, clock.clone()),
        clock,
        config,
    })
}

/// What a function's check makes of one replayed event, beyond its answer.
#[derive(Default)]
struct Extra {
    /// More golden files: `(suffix, value)` is compared with `<event>.<suffix>.expected.json`.
    goldens: Vec<(&'static str, Value)>,
    /// Invariants that did not hold.
    problems: Vec<String>,
}

/// Checks a handler's answer (and whatever `extra` derives) against the expected files.
async fn replay<T: Trigger>(
    function: &str,
    make: impl Fn(Parts) -> T,
    extra: impl Fn(&Value, &DirectoryContents, &InMemoryDirectory) -> Extra,
) {
    let bless = std::env::var_os("UPDATE_GOLDEN").is_some();
    let events = events_of(function);
    assert!(!events.is_empty(), "no events for {function}");
    let mut failures = Vec::new();
    for path in &events {
        let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let dir = events_in_memory();
        let before = dir.contents();
        let handler = handler(dir.clone(), &make);
        let got = answer(handler.handle(event.clone()).await);
        let Extra { goldens, problems } = extra(&event, &before, &dir);
        failures.extend(
            problems
                .into_iter()
                .map(|p| format!("{}: {p}", path.display())),
        );
        let mut compared = vec![(path.with_extension("expected.json"), got)];
        compared.extend(
            goldens
                .into_iter()
                .map(|(suffix, v)| (path.with_extension(format!("{suffix}.expected.json")), v)),
        );
        for (expected_path, got) in compared {
            if bless {
                std::fs::write(&expected_path, render(&expected_path, &got)).unwrap();
                continue;
            }
            let expected: Value = match std::fs::read_to_string(&expected_path) {
                Ok(t) => serde_json::from_str(&t).unwrap(),
                Err(_) => {
                    failures.push(format!("{}: missing", expected_path.display()));
                    continue;
                }
            };
            if got != expected {
                failures.push(format!(
                    "{}:\n  expected {}\n  got      {}",
                    expected_path.display(),
                    serde_json::to_string(&expected).unwrap(),
                    serde_json::to_string(&got).unwrap()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems in {} events:\n{}",
        failures.len(),
        events.len(),
        failures.join("\n")
    );
}

/// The text of an expected file: pretty JSON, and for the directory sidecars one line per
/// entry (a membership, an invitation, a route, a tenant).
fn render(path: &Path, value: &Value) -> String {
    let text = if path.to_string_lossy().ends_with(".directory.expected.json") {
        readable(value, 0)
    } else {
        serde_json::to_string_pretty(value).unwrap()
    };
    text + "\n"
}

/// Pretty JSON that writes an object or array on one line when it holds no object.
fn readable(value: &Value, indent: usize) -> String {
    fn no_object(v: &Value) -> bool {
        match v {
            Value::Object(_) => false,
            Value::Array(a) => a.iter().all(no_object),
            _ => true,
        }
    }
    fn inline(v: &Value) -> String {
        match v {
            Value::Array(a) => format!("[{}]", a.iter().map(inline).collect::<Vec<_>>().join(", ")),
            Value::Object(m) => {
                let fields: Vec<String> = m
                    .iter()
                    .map(|(k, x)| format!("{}: {}", json!(k), inline(x)))
                    .collect();
                format!("{{{}}}", fields.join(", "))
            }
            v => v.to_string(),
        }
    }
    let items: Vec<String> = match value {
        Value::Object(m) if !m.values().all(no_object) => m
            .iter()
            .map(|(k, x)| format!("{}: {}", json!(k), readable(x, indent + 1)))
            .collect(),
        Value::Array(a) if !a.iter().all(no_object) => {
            a.iter().map(|x| readable(x, indent + 1)).collect()
        }
        v => return inline(v),
    };
    let (open, close) = if value.is_object() {
        ("{", "}")
    } else {
        ("[", "]")
    };
    let pad = "  ".repeat(indent + 1);
    format!(
        "{open}\n{pad}{}\n{}{close}",
        items.join(&format!(",\n{pad}")),
        "  ".repeat(indent)
    )
}

fn nothing_more(_: &Value, _: &DirectoryContents, _: &InMemoryDirectory) -> Extra {
    Extra::default()
}

#[tokio::test]
async fn pre_token_generation_events_match_their_expected_responses() {
    replay("pre-token-generation", pre_token, nothing_more).await;
}

#[tokio::test]
async fn pre_signup_events_match_their_expected_responses_and_write_nothing() {
    replay("pre-signup", pre_signup, |_event, before, dir| {
        let mut extra = Extra::default();
        if dir.requests().writes != 0 {
            extra
                .problems
                .push(format!("pre sign-up made {} writes", dir.requests().writes));
        }
        if dir.contents() != *before {
            extra
                .problems
                .push("pre sign-up changed the directory".into());
        }
        extra
    })
    .await;
}

#[tokio::test]
async fn post_confirmation_events_match_their_expected_responses_and_directory_effects() {
    replay(
        "post-confirmation",
        post_confirmation,
        |event, before, dir| {
            let mut extra = Extra::default();
            let requests = dir.requests();
            if event["triggerSource"] != "PostConfirmation_ConfirmSignUp"
                && (requests.reads, requests.writes) != (0, 0)
            {
                extra
                    .problems
                    .push(format!("a no-op source made {requests:?}"));
            }
            extra.goldens.push((
                "directory",
                directory_effect(event, before, &dir.contents()),
            ));
            extra
        },
    )
    .await;
}

// --- The directory sidecar of post-confirmation events -------------------------------------

/// `{"seed": ..., "changes": ...}`.
///
/// `seed`: the seed entries this event's keys can reach, whether or not the rules consult them:
/// the user's memberships in the pool, the invitations for the email, the `POOL`, `CLIENT`,
/// `DOMAIN` and `IDP` routes keyed by the pool, the client, the email's domain and the
/// `userName` up to its first `_`, and the tenants these name.
///
/// `changes`: what the event did to the directory: memberships added or removed, invitations
/// added, removed or used (`invitationsUsed`: marked used by the provisioning, shown as they
/// are after it), and tenants changed (`userCount` as `"before -> after"`). `{}` when nothing
/// changed.
fn directory_effect(event: &Value, before: &DirectoryContents, after: &DirectoryContents) -> Value {
    json!({"seed": reachable_seed(event, before), "changes": changes(before, after)})
}

fn reachable_seed(event: &Value, seed: &DirectoryContents) -> Value {
    let pool = event["userPoolId"].as_str().unwrap_or_default();
    let attrs = &event["request"]["userAttributes"];
    let sub = attrs["sub"].as_str();
    let email = attrs["email"]
        .as_str()
        .map(|e| e.trim().to_ascii_lowercase());
    let client = event["callerContext"]["clientId"].as_str();
    let provider = event["userName"]
        .as_str()
        .and_then(|u| u.split_once('_'))
        .map(|(p, _)| p);

    let mut keys = vec![(RouteKind::Pool, pool.to_string())];
    keys.extend(client.map(|c| (RouteKind::Client, route_key(RouteKind::Client, pool, c))));
    keys.extend(
        email
            .as_deref()
            .and_then(email_domain)
            .map(|d| (RouteKind::Domain, route_key(RouteKind::Domain, pool, &d))),
    );
    keys.extend(provider.map(|p| (RouteKind::Idp, route_key(RouteKind::Idp, pool, p))));
    let routes: Vec<&Route> = seed
        .routes
        .iter()
        .filter(|r| keys.contains(&(r.kind, r.key.clone())))
        .collect();
    let members: Vec<&Membership> = seed
        .members
        .iter()
        .filter(|m| m.user_pool_id == pool && Some(m.sub.as_str()) == sub)
        .collect();
    let invitations: Vec<&Invitation> = seed
        .invitations
        .iter()
        .filter(|i| i.user_pool_id == pool && Some(&i.email) == email.as_ref())
        .collect();

    let named: BTreeSet<&str> = routes
        .iter()
        .map(|r| r.tenant_id.as_str())
        .chain(members.iter().map(|m| m.tenant_id.as_str()))
        .chain(invitations.iter().map(|i| i.tenant_id.as_str()))
        .collect();
    let tenants: Map<String, Value> = seed
        .tenants
        .iter()
        .filter(|t| named.contains(t.id.as_str()))
        .map(|t| (t.id.clone(), tenant_json(t)))
        .collect();

    let mut out = Map::new();
    out.insert(
        "routes".into(),
        routes.iter().map(|r| route_json(r)).collect(),
    );
    out.insert(
        "memberships".into(),
        members.iter().map(|m| membership_json(m)).collect(),
    );
    out.insert(
        "invitations".into(),
        invitations.iter().map(|i| invitation_json(i)).collect(),
    );
    out.insert("tenants".into(), Value::Object(tenants));
    Value::Object(out)
}

fn changes(before: &DirectoryContents, after: &DirectoryContents) -> Value {
    let mut out = Map::new();
    let member_key = |m: &Membership| (m.user_pool_id.clone(), m.sub.clone(), m.tenant_id.clone());
    let invitation_key =
        |i: &Invitation| (i.user_pool_id.clone(), i.email.clone(), i.tenant_id.clone());
    diff(
        &mut out,
        "memberships",
        &before.members,
        &after.members,
        member_key,
        membership_json,
    );
    // An invitation marked used is an invitation used, not one removed and another added.
    let used_now = |i: &Invitation| {
        i.is_used()
            && before
                .invitations
                .iter()
                .any(|b| invitation_key(b) == invitation_key(i) && !b.is_used())
    };
    let used: Vec<Value> = after
        .invitations
        .iter()
        .filter(|i| used_now(i))
        .map(invitation_json)
        .collect();
    let after_unused: Vec<Invitation> = after
        .invitations
        .iter()
        .filter(|i| !used_now(i))
        .cloned()
        .collect();
    let before_unused: Vec<Invitation> = before
        .invitations
        .iter()
        .filter(|b| {
            !after
                .invitations
                .iter()
                .any(|i| invitation_key(i) == invitation_key(b) && used_now(i))
        })
        .cloned()
        .collect();
    diff(
        &mut out,
        "invitations",
        &before_unused,
        &after_unused,
        invitation_key,
        invitation_json,
    );
    if !used.is_empty() {
        out.insert("invitationsUsed".into(), Value::Array(used));
    }
    diff(
        &mut out,
        "routes",
        &before.routes,
        &after.routes,
        |r| (r.kind, r.key.clone()),
        route_json,
    );

    let old: BTreeMap<&str, &Tenant> = before.tenants.iter().map(|t| (t.id.as_str(), t)).collect();
    let mut tenants = Map::new();
    for t in &after.tenants {
        match old.get(t.id.as_str()) {
            Some(o) if *o == t => {}
            Some(o)
                if Tenant {
                    user_count: t.user_count,
                    ..(*o).clone()
                } == *t =>
            {
                tenants.insert(
                    t.id.clone(),
                    json!({"userCount": format!("{} -> {}", o.user_count, t.user_count)}),
                );
            }
            Some(o) => {
                tenants.insert(
                    t.id.clone(),
                    json!({"before": tenant_json(o), "after": tenant_json(t)}),
                );
            }
            None => {
                tenants.insert(t.id.clone(), json!({"added": tenant_json(t)}));
            }
        }
    }
    for t in before
        .tenants
        .iter()
        .filter(|t| !after.tenants.iter().any(|a| a.id == t.id))
    {
        tenants.insert(t.id.clone(), json!({"removed": tenant_json(t)}));
    }
    if !tenants.is_empty() {
        out.insert("tenants".into(), Value::Object(tenants));
    }
    if before.tiers != after.tiers {
        out.insert("tiers".into(), json!("changed"));
    }
    Value::Object(out)
}

/// Adds `<name>Added` / `<name>Removed` to `out` when non-empty (a changed entry is both).
fn diff<T: PartialEq, K: Ord>(
    out: &mut Map<String, Value>,
    name: &str,
    before: &[T],
    after: &[T],
    key: impl Fn(&T) -> K,
    show: impl Fn(&T) -> Value,
) {
    let old: BTreeMap<K, &T> = before.iter().map(|x| (key(x), x)).collect();
    let new: BTreeMap<K, &T> = after.iter().map(|x| (key(x), x)).collect();
    let added: Vec<Value> = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(_, v)| show(v))
        .collect();
    let removed: Vec<Value> = old
        .iter()
        .filter(|(k, v)| new.get(*k) != Some(*v))
        .map(|(_, v)| show(v))
        .collect();
    if !added.is_empty() {
        out.insert(format!("{name}Added"), Value::Array(added));
    }
    if !removed.is_empty() {
        out.insert(format!("{name}Removed"), Value::Array(removed));
    }
}

fn tenant_json(t: &Tenant) -> Value {
    let mut v = json!({"status": t.status.as_str(), "selfSignUp": t.self_sign_up, "userCount": t.user_count});
    if let Some(max) = t.max_users {
        v["maxUsers"] = json!(max);
    }
    if !t.allowed_email_domains.is_empty() {
        v["allowedEmailDomains"] = json!(t.allowed_email_domains);
    }
    v
}

fn route_json(r: &Route) -> Value {
    let (pool, key) = r.pool_and_key();
    let mut v =
        json!({"kind": r.kind.as_str().to_ascii_lowercase(), "key": key, "tenantId": r.tenant_id});
    if let Some(pool) = pool {
        v["userPoolId"] = json!(pool);
    }
    if r.kind == RouteKind::Idp {
        v["trustEmail"] = json!(r.trust_email);
    }
    if !r.email_domains.is_empty() {
        v["emailDomains"] = json!(r.email_domains);
    }
    v
}

fn membership_json(m: &Membership) -> Value {
    json!({"sub": m.sub, "tenantId": m.tenant_id, "roles": m.roles, "status": m.status.as_str(),
           "source": m.source, "createdAt": m.created_at})
}

fn invitation_json(i: &Invitation) -> Value {
    let mut v = json!({"email": i.email, "tenantId": i.tenant_id, "roles": i.roles});
    if let Some(at) = i.expires_at {
        v["expiresAt"] = json!(at);
    }
    if let Some(by) = &i.used_by {
        v["usedBy"] = json!(by);
    }
    if let Some(at) = i.used_at {
        v["usedAt"] = json!(at);
    }
    v
}
