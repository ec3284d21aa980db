//! What the handler tests of pre sign-up, post confirmation and first-token provisioning
//! share: a small directory written inline (the tests never read `events/`), a fixed clock,
//! event builders and a capture of the decision log line (which names the tenant and the
//! rule that decided, and so shows *which* tenant a user was admitted to).

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tenant_lookup::model::{Invitation, Membership, Tenant};
use tenant_lookup::{
    CachedDirectory, Config, DirectoryDocument, InMemoryDirectory, ManualClock, Trigger,
    TriggerError,
};

pub const POOL: &str = "us-east-1_Shared0Pool";
pub const SILO: &str = "us-east-1_Silo0Umbr";
pub const NOW: i64 = 1_800_000_000;
/// `sub` of alice, an admin of acme.
pub const ALICE: &str = "a1a1a1a1-0000-4000-8000-00000000a11c";

/// Every tenant id and name in [`SEED`] (denials must mention none of them).
pub const TENANT_WORDS: &[&str] = &[
    "acme", "Acme", "globex", "Globex", "initech", "Initech", "hooli", "Hooli", "umbrella",
    "Umbrella", "stark", "Stark", "wayne", "Wayne", "ghost",
];

/// The directory of the handler tests.
///
/// | tenant | status | selfSignUp | allowedEmailDomains | seats | routes |
/// |---|---|---|---|---|---|
/// | acme | active | no | acme.example | 1 of 10 | client acme-web, domain acme.example, idp AcmeSAML (trustEmail) |
/// | globex | active | yes | any | 0 | client globex-web, domain globex.example, idp GlobexOIDC |
/// | initech | suspended | yes | any | 0 | client initech-web, domain initech.example |
/// | hooli | active | yes | any | 1 of 1 | client hooli-web, domain hooli.example, idp HooliSAML (trustEmail) |
/// | umbrella | active | yes (defaultRole viewer) | any | 0 | pool us-east-1_Silo0Umbr, idp UmbrellaAD there (trustEmail) |
/// | stark | active | yes | stark.example | 0 | client stark-web |
/// | wayne | active | yes | any | 0 of 1 | client wayne-web |
///
/// Invitations (shared pool): new.hire@acme.example -> acme [editor]; contractor@acme.example
/// -> globex [contractor]; twice@partner.example -> acme and globex; late@acme.example -> acme,
/// expired at NOW - 1; vip@mail.example -> globex [admin].
pub const SEED: &str = r#"{
  "tiers": [{"id": "basic"}, {"id": "premium", "scopes": ["reports/export"]}],
  "tenants": [
    {"id": "acme", "name": "Acme Corp", "tier": "premium", "allowedEmailDomains": ["acme.example"], "maxUsers": 10},
    {"id": "globex", "name": "Globex", "tier": "basic", "selfSignUp": true},
    {"id": "initech", "name": "Initech", "tier": "basic", "status": "suspended", "selfSignUp": true},
    {"id": "hooli", "name": "Hooli", "tier": "basic", "selfSignUp": true, "maxUsers": 1},
    {"id": "umbrella", "name": "Umbrella", "tier": "basic", "selfSignUp": true, "defaultRole": "viewer"},
    {"id": "stark", "name": "Stark", "tier": "basic", "selfSignUp": true, "allowedEmailDomains": ["stark.example"]},
    {"id": "wayne", "name": "Wayne", "tier": "basic", "selfSignUp": true, "maxUsers": 1}
  ],
  "routes": [
    {"kind": "pool", "key": "us-east-1_Silo0Umbr", "tenantId": "umbrella"},
    {"kind": "client", "key": "acme-web", "tenantId": "acme"},
    {"kind": "client", "key": "globex-web", "tenantId": "globex"},
    {"kind": "client", "key": "initech-web", "tenantId": "initech"},
    {"kind": "client", "key": "hooli-web", "tenantId": "hooli"},
    {"kind": "client", "key": "stark-web", "tenantId": "stark"},
    {"kind": "client", "key": "wayne-web", "tenantId": "wayne"},
    {"kind": "domain", "key": "acme.example", "tenantId": "acme"},
    {"kind": "domain", "key": "globex.example", "tenantId": "globex"},
    {"kind": "domain", "key": "initech.example", "tenantId": "initech"},
    {"kind": "domain", "key": "hooli.example", "tenantId": "hooli"},
    {"kind": "idp", "userPoolId": "us-east-1_Shared0Pool", "key": "AcmeSAML", "tenantId": "acme", "trustEmail": true},
    {"kind": "idp", "userPoolId": "us-east-1_Shared0Pool", "key": "GlobexOIDC", "tenantId": "globex"},
    {"kind": "idp", "userPoolId": "us-east-1_Shared0Pool", "key": "HooliSAML", "tenantId": "hooli", "trustEmail": true},
    {"kind": "idp", "userPoolId": "us-east-1_Silo0Umbr", "key": "UmbrellaAD", "tenantId": "umbrella", "trustEmail": true}
  ],
  "members": [
    {"userPoolId": "us-east-1_Shared0Pool", "sub": "a1a1a1a1-0000-4000-8000-00000000a11c", "tenantId": "acme", "roles": ["admin"]},
    {"userPoolId": "us-east-1_Shared0Pool", "sub": "h0011001-0000-4000-8000-000000000001", "tenantId": "hooli"}
  ],
  "invitations": [
    {"userPoolId": "us-east-1_Shared0Pool", "email": "new.hire@acme.example", "tenantId": "acme", "roles": ["editor"]},
    {"userPoolId": "us-east-1_Shared0Pool", "email": "contractor@acme.example", "tenantId": "globex", "roles": ["contractor"]},
    {"userPoolId": "us-east-1_Shared0Pool", "email": "twice@partner.example", "tenantId": "acme"},
    {"userPoolId": "us-east-1_Shared0Pool", "email": "twice@partner.example", "tenantId": "globex"},
    {"userPoolId": "us-east-1_Shared0Pool", "email": "late@acme.example", "tenantId": "acme", "expiresAt": 1799999999},
    {"userPoolId": "us-east-1_Shared0Pool", "email": "vip@mail.example", "tenantId": "globex", "roles": ["admin"]}
  ]
}"#;

pub fn directory_from(seed: &str, known_tenants: &[&str]) -> Arc<InMemoryDirectory> {
    let known: BTreeSet<String> = known_tenants.iter().map(|t| t.to_string()).collect();
    let doc = DirectoryDocument::from_json(seed).unwrap();
    Arc::new(InMemoryDirectory::from_contents(
        doc.validate(&known, NOW - 86_400).unwrap(),
    ))
}

pub fn config(extra: &[(&str, &str)]) -> Config {
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|k| {
        if k == "TENANT_TABLE" {
            return Some("t".into());
        }
        extra.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    })
    .unwrap()
}

/// A handler over [`SEED`] (or another directory), with the directory and clock at hand.
pub struct Setup<H> {
    pub dir: Arc<InMemoryDirectory>,
    pub clock: Arc<ManualClock>,
    pub handler: H,
}

impl<H: Trigger> Setup<H> {
    pub fn new(make: impl FnOnce(CachedDirectory<Arc<InMemoryDirectory>>, Config) -> H) -> Self {
        Self::with(directory_from(SEED, &[]), NOW, &[], make)
    }

    pub fn with(
        dir: Arc<InMemoryDirectory>,
        now: i64,
        extra: &[(&str, &str)],
        make: impl FnOnce(CachedDirectory<Arc<InMemoryDirectory>>, Config) -> H,
    ) -> Self {
        let clock = Arc::new(ManualClock::new(now));
        let cached = CachedDirectory::new(dir.clone(), Duration::from_secs(60), clock.clone());
        Self {
            dir,
            clock,
            handler: make(cached, config(extra)),
        }
    }

    /// Runs the handler and returns its answer with the decision log line's fields.
    pub async fn run(&self, event: Value) -> Run {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .finish();
        let result = {
            let _guard = tracing::subscriber::set_default(subscriber);
            self.handler.handle(event).await
        };
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        // One decision line per invocation (none for an event that cannot be read at all).
        assert!(lines.len() <= 1, "{text}");
        let log = lines
            .first()
            .map(|l| l["fields"].clone())
            .unwrap_or_default();
        Run {
            result,
            log,
            log_text: text,
        }
    }

    pub fn members(&self) -> Vec<Membership> {
        self.dir.contents().members
    }

    pub fn membership_of(&self, pool: &str, sub: &str) -> Vec<Membership> {
        self.members()
            .into_iter()
            .filter(|m| m.user_pool_id == pool && m.sub == sub)
            .collect()
    }

    pub fn invitations(&self) -> Vec<Invitation> {
        self.dir.contents().invitations
    }

    pub fn tenant(&self, id: &str) -> Tenant {
        self.dir
            .contents()
            .tenants
            .into_iter()
            .find(|t| t.id == id)
            .unwrap()
    }
}

pub struct Run {
    pub result: Result<Value, TriggerError>,
    /// The decision line's fields: tenant_id, decision, rule or code, ...
    pub log: Value,
    pub log_text: String,
}

impl Run {
    /// The answer of an admitted event; panics with the denial otherwise.
    pub fn ok(&self) -> &Value {
        match &self.result {
            Ok(v) => v,
            Err(e) => panic!(
                "denied {} ({}); log {}",
                e.code.as_str(),
                e.reason,
                self.log
            ),
        }
    }

    pub fn err(&self) -> &TriggerError {
        match &self.result {
            Ok(v) => panic!("admitted: {v}; log {}", self.log),
            Err(e) => e,
        }
    }

    /// `(tenant_id, rule)` of the decision log line ("" for none).
    pub fn decided(&self) -> (&str, &str) {
        (
            self.log["tenant_id"].as_str().unwrap_or_default(),
            self.log["rule"].as_str().unwrap_or_default(),
        )
    }
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

/// A user-pool trigger event of version "1" in the shared pool.
pub fn event(trigger_source: &str, user_name: &str, client_id: &str, attributes: Value) -> Value {
    json!({
        "version": "1", "triggerSource": trigger_source, "region": "us-east-1", "userPoolId": POOL,
        "userName": user_name,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": client_id},
        "request": {"userAttributes": attributes, "clientMetadata": {}},
        "response": {}
    })
}

pub fn in_pool(mut event: Value, pool: &str) -> Value {
    event["userPoolId"] = json!(pool);
    event
}

/// The `identities` attribute Cognito sets on a federated user (a JSON-encoded string).
pub fn identities(provider: &str, user_id: &str) -> String {
    json!([{"userId": user_id, "providerName": provider, "providerType": "SAML", "issuer": null,
            "primary": "true", "dateCreated": "1799999990000"}])
    .to_string()
}

/// Checks that a denial shows the user its code and sentence only: no tenant ids or names,
/// no email, domain, route, key or other internals.
pub fn assert_discreet(e: &TriggerError, event: &Value) {
    let shown = e.to_string();
    let diagnostic: lambda_runtime::Diagnostic = e.clone().into();
    assert_eq!(shown, format!("{}: {}", e.code.as_str(), e.code.text()));
    assert_eq!(diagnostic.error_message, shown);
    assert_eq!(diagnostic.error_type, e.code.as_str());
    let lower = shown.to_ascii_lowercase();
    for word in TENANT_WORDS {
        assert!(
            !lower.contains(&word.to_ascii_lowercase()),
            "{shown:?} names {word}"
        );
    }
    for internal in [
        "route",
        "invitation",
        "#",
        "@",
        ".example",
        "pool",
        "client",
        "idp",
        "saml",
        "dynamo",
        "table",
    ] {
        assert!(!lower.contains(internal), "{shown:?} mentions {internal}");
    }
    if let Some(user) = event["userName"].as_str().filter(|u| u.len() > 5) {
        assert!(!shown.contains(user), "{shown:?} contains the userName");
    }
}
