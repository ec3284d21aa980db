//! `tenantctl explain` agrees with the functions on every event in `events/`: against one table
//! holding `events/seed.json` (explain writes nothing, so every event sees the seed), the
//! response it prints is the event's `.expected.json`, the function named is the folder's, and
//! the directory is unchanged afterwards.

use std::process::{Command, Output};

use serde_json::Value;
use test_support::events::{events_of, expected_of, FUNCTIONS};
use test_support::seeds::{events_seed, NOW};
use test_support::{fresh_table, moto};

fn explain(table: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tenantctl"))
        .arg("explain")
        .args(args)
        .env_clear()
        .envs(moto().sdk_env())
        .env("TENANT_TABLE", table)
        .output()
        .expect("tenantctl starts")
}

#[test]
fn explain_answers_every_event_as_its_function_does_and_writes_nothing() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = rt.block_on(fresh_table());
    rt.block_on(t.admin.import(&events_seed(), NOW)).unwrap();
    let before = rt.block_on(t.admin.export()).unwrap();
    t.requests.reset();

    let now = NOW.to_string();
    let mut failures = Vec::new();
    let mut explained = 0;
    for function in FUNCTIONS {
        for event in events_of(function) {
            let path = event.to_str().unwrap();
            // The function is found from the event's triggerSource; --function is not needed.
            let o = explain(t.name(), &[path, "--json", "--at", &now]);
            if !o.status.success() {
                failures.push(format!(
                    "{path}: exit {:?}: {}",
                    o.status.code(),
                    String::from_utf8_lossy(&o.stderr)
                ));
                continue;
            }
            let x: Value = serde_json::from_slice(&o.stdout).expect("JSON explanation");
            explained += 1;
            if x["function"] != function {
                failures.push(format!("{path}: explained as {}", x["function"]));
            }
            if x["response"] != expected_of(&event) {
                failures.push(format!(
                    "{path}:\n  expected {}\n  explain  {}",
                    expected_of(&event),
                    x["response"]
                ));
            }
            // Every explanation says what decided.
            let decision = &x["decision"];
            if decision["decision"].as_str().unwrap_or_default().is_empty()
                || decision["rule"].as_str().unwrap_or_default().is_empty()
            {
                failures.push(format!("{path}: no decision: {decision}"));
            }
            if x["response"].get("errorType").is_some()
                && decision["rule"] != x["response"]["errorType"]
            {
                failures.push(format!("{path}: the denial's code is not the rule: {x}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(explained >= 90, "{explained} events");
    assert_eq!(t.requests.writes(), 0);
    assert_eq!(
        rt.block_on(t.admin.export()).unwrap(),
        before,
        "explain wrote nothing"
    );
}

#[test]
fn explain_shows_each_source_consulted_and_the_rule_that_decided() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = rt.block_on(fresh_table());
    rt.block_on(t.admin.import(&events_seed(), NOW)).unwrap();
    let root = test_support::workspace_root();
    let now = NOW.to_string();

    let event = root.join("events/post-confirmation/confirm-signup-invitation-verified-email.json");
    let o = explain(t.name(), &[event.to_str().unwrap(), "--at", &now]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    for line in [
        "post-confirmation: PostConfirmation_ConfirmSignUp, pool us-east-1_Shared0Pool",
        "memberships",
        "invitations                 new.hire@acme.example (pool us-east-1_Shared0Pool)",
        "acme [member] open",
        "provisioning (not written)",
        "would create the membership in acme [member], take a seat, mark the invitation used",
        "decision: provision, tenant acme, by invitation",
        "answer: {}",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }

    // A used invitation is shown, and ignored.
    let event = root.join("events/pre-signup/signup-used-invitation-admits-nobody-again.json");
    let o = explain(t.name(), &[event.to_str().unwrap(), "--json", "--at", &now]);
    let x: Value = serde_json::from_slice(&o.stdout).unwrap();
    let invitations = x["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "invitations")
        .unwrap();
    assert_eq!(
        invitations["answer"],
        "acme [admin] used by 5a5a0099-0000-4000-8000-00000000c099 at 1790000000 (ignored)"
    );
    assert_eq!(x["decision"]["rule"], "SIGNUP_NOT_ALLOWED");
    assert!(
        x["decision"]["reason"]
            .as_str()
            .unwrap()
            .contains("no self sign-up and there is no invitation"),
        "{x}"
    );

    // A masked denial shows the real code in the reason, the masked one in the answer.
    let event = root.join("events/pre-signup/signup-suspended-tenant.json");
    let o = explain(t.name(), &[event.to_str().unwrap(), "--at", &now]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("decision: deny SIGNUP_NOT_ALLOWED, tenant initech: TENANT_SUSPENDED:"),
        "{text}"
    );
    assert!(
        text.contains("answer: error SIGNUP_NOT_ALLOWED: sign-up is not allowed for this account")
    );

    // The function's settings come from the environment, as the function reads them.
    let event = root.join("events/pre-token-generation/v2-no-tenant.json");
    let o = Command::new(env!("CARGO_BIN_EXE_tenantctl"))
        .args(["explain", event.to_str().unwrap(), "--json", "--at", &now])
        .env_clear()
        .envs(moto().sdk_env())
        .env("TENANT_TABLE", t.name())
        .env("NO_TENANT_POLICY", "issue-without-tenant-claims")
        .output()
        .unwrap();
    let x: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(x["decision"]["rule"], "no-tenant-policy", "{x}");
    let o = Command::new(env!("CARGO_BIN_EXE_tenantctl"))
        .args(["explain", event.to_str().unwrap()])
        .env_clear()
        .envs(moto().sdk_env())
        .env("TENANT_TABLE", t.name())
        .env("GROUPS_MODE", "sideways")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("GROUPS_MODE"));

    // Not an event: invalid input.
    let o = explain(t.name(), &["/nonexistent/event.json"]);
    assert_eq!(o.status.code(), Some(2));
    let o = explain(t.name(), &[root.join("events/seed.json").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "a document without triggerSource");
}
