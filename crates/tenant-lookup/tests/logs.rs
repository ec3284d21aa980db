//! The decision log line. In a test binary of its own: tracing caches call-site interest
//! globally, and a test running in parallel without a subscriber could make this one miss lines.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tenant_lookup::{
    CachedDirectory, Config, DirectoryDocument, InMemoryDirectory, ManualClock, PreTokenGeneration,
    Trigger,
};

const POOL: &str = "us-east-1_Shared0Pool";
const ALICE: &str = "a1a1a1a1-0000-4000-8000-00000000a11c";

fn handler() -> PreTokenGeneration<InMemoryDirectory> {
    let doc = DirectoryDocument::from_json(&format!(
        r#"{{"tenants":[{{"id":"acme","tier":"premium"}}],
            "members":[{{"userPoolId":"{POOL}","sub":"{ALICE}","tenantId":"acme","roles":["admin"]}}]}}"#
    ))
    .unwrap();
    let dir = InMemoryDirectory::from_contents(doc.validate(&BTreeSet::new(), 0).unwrap());
    let cached = CachedDirectory::new(dir, Duration::from_secs(60), Arc::new(ManualClock::new(0)));
    let config = Config::from_lookup(|k| (k == "TENANT_TABLE").then(|| "t".to_string())).unwrap();
    PreTokenGeneration::new(cached, config)
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

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn logs_carry_ids_and_the_decision_but_no_pii() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    let handler = handler();
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            handler.handle(event(ALICE)).await.unwrap();
            handler.handle(event("nobody")).await.unwrap_err();
            handler.handle(json!("not an event")).await.unwrap_err();
        });
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
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
