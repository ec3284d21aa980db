//! Handler tests over the in-memory directory: a handler built over a seed, a fixed clock,
//! event builders, and the decision log line of each run (which names the tenant and the rule
//! that decided, and so shows *which* tenant a user was admitted to).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tenant_lookup::domain::model::{Invitation, Membership, Tenant};
use tenant_lookup::{
    CachedDirectory, Clock, Config, Denial, InMemoryDirectory, ManualClock, PostConfirmation,
    PreSignUp, PreTokenGeneration, Trigger,
};

use crate::logs::capture;
pub use crate::seeds::NOW;
use crate::seeds::{in_memory, HANDLERS};

pub const POOL: &str = "us-east-1_Shared0Pool";
pub const SILO: &str = "us-east-1_Silo0Umbr";
/// `sub` of alice, an admin of acme.
pub const ALICE: &str = "a1a1a1a1-0000-4000-8000-00000000a11c";
/// `sub` of the member of initech (suspended).
pub const INITECH_MEMBER: &str = "c1c1c1c1-0000-4000-8000-00000000c0de";

/// Every tenant id and name in [`HANDLERS`] (denials must mention none of them).
pub const TENANT_WORDS: &[&str] = &[
    "acme", "Acme", "globex", "Globex", "initech", "Initech", "hooli", "Hooli", "umbrella",
    "Umbrella", "stark", "Stark", "wayne", "Wayne", "ghost",
];

/// The in-memory directory of `seed`, its memberships created a day before [`NOW`].
pub fn directory_from(seed: &str, known_tenants: &[&str]) -> Arc<InMemoryDirectory> {
    in_memory(seed, known_tenants, NOW - 86_400)
}

/// A configuration with `TENANT_TABLE` set and the `extra` variables.
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

/// What a handler is built from in these tests: the in-memory directory behind the cache,
/// the manual clock, the configuration.
pub struct Parts<D = Arc<InMemoryDirectory>> {
    pub directory: CachedDirectory<D>,
    pub clock: Arc<dyn Clock>,
    pub config: Config,
}

pub type PreSignUpHandler = PreSignUp<CachedDirectory<Arc<InMemoryDirectory>>>;
pub type PostConfirmationHandler = PostConfirmation<CachedDirectory<Arc<InMemoryDirectory>>>;
pub type PreTokenHandler = PreTokenGeneration<CachedDirectory<Arc<InMemoryDirectory>>>;

pub fn pre_signup(p: Parts) -> PreSignUpHandler {
    PreSignUp::new(p.directory, p.clock)
}

pub fn post_confirmation(p: Parts) -> PostConfirmationHandler {
    PostConfirmation::new(p.directory, p.clock)
}

pub fn pre_token(p: Parts) -> PreTokenHandler {
    PreTokenGeneration::new(p.directory, p.clock, &p.config)
}

/// A handler over [`HANDLERS`] (or another directory), with the directory and clock at hand.
pub struct Setup<H> {
    pub dir: Arc<InMemoryDirectory>,
    pub clock: Arc<ManualClock>,
    pub handler: H,
}

impl<H: Trigger> Setup<H> {
    pub fn new(make: impl FnOnce(Parts) -> H) -> Self {
        Self::with(directory_from(HANDLERS, &[]), NOW, &[], make)
    }

    pub fn with(
        dir: Arc<InMemoryDirectory>,
        now: i64,
        extra: &[(&str, &str)],
        make: impl FnOnce(Parts) -> H,
    ) -> Self {
        let clock = Arc::new(ManualClock::new(now));
        let directory = CachedDirectory::new(dir.clone(), Duration::from_secs(60), clock.clone());
        let handler = make(Parts {
            directory,
            clock: clock.clone(),
            config: config(extra),
        });
        Self {
            dir,
            clock,
            handler,
        }
    }

    /// Runs the handler and returns its answer with the decision log line's fields.
    pub async fn run(&self, event: Value) -> Run {
        let (result, captured) = capture(self.handler.handle(event)).await;
        let text = captured.text();
        let lines = captured.lines();
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
    pub result: Result<Value, Denial>,
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

    pub fn err(&self) -> &Denial {
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
pub fn assert_discreet(e: &Denial, event: &Value) {
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
