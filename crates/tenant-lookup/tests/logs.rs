//! The decision log line. In a test binary of its own: tracing caches call-site interest
//! globally, and a test running in parallel without a subscriber could make this one miss lines.

use serde_json::{json, Value};
use tenant_lookup::Trigger;
use test_support::handlers::{pre_token, PreTokenHandler, Setup, ALICE, POOL};
use test_support::logs::capture;

fn handler() -> PreTokenHandler {
    Setup::new(pre_token).handler
}

fn levels(lines: &[Value]) -> Vec<&str> {
    lines
        .iter()
        .map(|l| l["level"].as_str().unwrap_or("?"))
        .collect()
}

fn event(sub: &str) -> Value {
    json!({
        "version": "2", "triggerSource": "TokenGeneration_Authentication", "region": "us-east-1",
        "userPoolId": POOL, "userName": "jane.doe@example.com",
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "shared-web"},
        "request": {
            "userAttributes": {"sub": sub, "email": "jane.doe@example.com", "name": "Jane Doe",
                               "phone_number": "+12065551212"},
            "groupConfiguration": {"groupsToOverride": [], "iamRolesToOverride": [], "preferredRole": null},
            "scopes": ["openid"]
        },
        "response": {}
    })
}

#[tokio::test]
async fn logs_carry_ids_and_the_decision_but_no_pii() {
    let handler = handler();
    let ((), captured) = capture(async {
        handler.handle(event(ALICE)).await.unwrap();
        handler.handle(event("nobody")).await.unwrap_err();
        handler.handle(json!("not an event")).await.unwrap_err();
    })
    .await;
    let text = captured.text();
    let lines: Vec<Value> = captured.lines();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0]["fields"]["tenant_id"], "acme");
    assert_eq!(lines[0]["fields"]["decision"], "issue");
    assert_eq!(
        lines[0]["fields"]["trigger_source"],
        "TokenGeneration_Authentication"
    );
    assert_eq!(lines[0]["fields"]["user_pool_id"], POOL);
    assert_eq!(lines[0]["fields"]["client_id"], "shared-web");
    assert_eq!(lines[0]["fields"]["sub"], ALICE);
    // A decision is INFO, a refusal WARN: only a directory failure is an ERROR (alarms read it).
    assert_eq!(levels(&lines), ["INFO", "WARN", "WARN"], "{text}");
    assert_eq!(lines[1]["fields"]["decision"], "deny");
    assert_eq!(lines[1]["fields"]["code"], "NO_TENANT");
    assert_eq!(
        lines[2]["fields"]["code"], "INVALID_EVENT",
        "unreadable events are logged too"
    );
    for pii in ["jane.doe", "Jane Doe", "+1206", "example.com"] {
        assert!(!text.contains(pii), "log contains {pii}: {text}");
    }
}

#[tokio::test]
async fn a_directory_failure_is_the_only_denial_logged_as_an_error() {
    let setup = Setup::new(pre_token);
    setup.dir.set_unavailable(true);
    let ((), captured) = capture(async {
        let denial = setup.handler.handle(event(ALICE)).await.unwrap_err();
        assert_eq!(denial.code.as_str(), "DIRECTORY_UNAVAILABLE");
    })
    .await;
    let lines = captured.lines();
    assert_eq!(levels(&lines), ["ERROR"], "{}", captured.text());
    assert_eq!(lines[0]["fields"]["code"], "DIRECTORY_UNAVAILABLE");
    assert_eq!(lines[0]["fields"]["decision"], "deny");
}
