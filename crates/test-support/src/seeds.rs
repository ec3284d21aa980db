//! The directories tests start from.
//!
//! - `events/seed.json`: the replay of `events/`, `make demo`, and the DynamoDB tests of the
//!   triggers and of `tenantctl` ([`events_seed`]);
//! - [`HANDLERS`]: the handler tests over the in-memory directory, which name its tenants in
//!   their assertions;
//! - [`EVERY_ITEM_KIND`]: the DynamoDB store's import and read tests;
//! - [`README_EXAMPLE`]: the document the README shows, imported by `tenantctl`'s tests.

use std::sync::Arc;

use tenant_admin::{DirectoryDocument, Known};
use tenant_lookup::{DirectoryContents, InMemoryDirectory};

use crate::workspace_root;

/// 2027-01-15T08:00:00Z: the time every replay and handler test sees (invitation expiry,
/// createdAt). The seed's one expired invitation (expiresAt 1_700_000_000) is expired.
pub const NOW: i64 = 1_800_000_000;

/// The text of `events/seed.json`.
pub fn events_seed_text() -> String {
    std::fs::read_to_string(workspace_root().join("events/seed.json")).expect("events/seed.json")
}

/// `events/seed.json`, parsed.
pub fn events_seed() -> DirectoryDocument {
    DirectoryDocument::from_json(&events_seed_text()).expect("events/seed.json is a document")
}

/// A document validated into contents, as an import into an empty table would see it;
/// `known_tenants` stand for tenants already in the directory. Tiers the tenants name count as
/// known whether or not the document defines them: a handler test may give a tenant a tier the
/// in-memory directory lacks (its tokens then get no scopes).
pub fn contents(json: &str, known_tenants: &[&str], created_at: i64) -> DirectoryContents {
    let document = DirectoryDocument::from_json(json)
        .unwrap_or_else(|e| panic!("test seed does not parse: {e}"));
    let known = Known {
        tenants: known_tenants.iter().map(|t| t.to_string()).collect(),
        tiers: document.tenants.iter().map(|t| t.tier.clone()).collect(),
    };
    document
        .validate(&known, created_at)
        .unwrap_or_else(|e| panic!("test seed is invalid: {e}"))
}

/// An in-memory directory holding `json` (each tenant's `userCount` is its members).
pub fn in_memory(json: &str, known_tenants: &[&str], created_at: i64) -> Arc<InMemoryDirectory> {
    Arc::new(InMemoryDirectory::from_contents(contents(
        json,
        known_tenants,
        created_at,
    )))
}

/// `events/seed.json` in memory, as the replay loads it.
pub fn events_in_memory() -> Arc<InMemoryDirectory> {
    in_memory(&events_seed_text(), &[], NOW)
}

/// The directory of the handler tests.
///
/// | tenant | status | selfSignUp | allowedEmailDomains | seats | routes |
/// |---|---|---|---|---|---|
/// | acme | active | no | acme.example | 1 of 10 | client acme-web, domain acme.example, idp AcmeSAML (trustEmail) |
/// | globex | active | yes | any | 0 | client globex-web (and globex-silo-web in the silo pool), domain globex.example, idp GlobexOIDC |
/// | initech | suspended | yes | any | 0 | client initech-web, domain initech.example |
/// | hooli | active | yes | any | 1 of 1 | client hooli-web, domain hooli.example, idp HooliSAML (trustEmail, no domains: vouches for nobody) |
/// | umbrella | active | yes (defaultRole viewer) | any | 0 | pool us-east-1_Silo0Umbr, idp UmbrellaAD there (trustEmail within umbrella.example) |
/// | stark | active | yes | stark.example | 0 | client stark-web |
/// | wayne | active | yes | any | 0 of 1 | client wayne-web |
///
/// Members (shared pool): alice, admin of acme; one member of hooli; one of initech.
///
/// Invitations (shared pool): new.hire@acme.example -> acme [editor]; contractor@acme.example
/// -> globex [contractor]; twice@partner.example -> acme and globex; late@acme.example -> acme,
/// expired at NOW - 1; vip@mail.example -> globex [admin].
pub const HANDLERS: &str = r#"{
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
    {"kind": "client", "userPoolId": "us-east-1_Shared0Pool", "key": "acme-web", "tenantId": "acme"},
    {"kind": "client", "userPoolId": "us-east-1_Shared0Pool", "key": "globex-web", "tenantId": "globex"},
    {"kind": "client", "userPoolId": "us-east-1_Shared0Pool", "key": "initech-web", "tenantId": "initech"},
    {"kind": "client", "userPoolId": "us-east-1_Shared0Pool", "key": "hooli-web", "tenantId": "hooli"},
    {"kind": "client", "userPoolId": "us-east-1_Shared0Pool", "key": "stark-web", "tenantId": "stark"},
    {"kind": "client", "userPoolId": "us-east-1_Shared0Pool", "key": "wayne-web", "tenantId": "wayne"},
    {"kind": "client", "userPoolId": "us-east-1_Silo0Umbr", "key": "globex-silo-web", "tenantId": "globex"},
    {"kind": "domain", "userPoolId": "us-east-1_Shared0Pool", "key": "acme.example", "tenantId": "acme"},
    {"kind": "domain", "userPoolId": "us-east-1_Shared0Pool", "key": "globex.example", "tenantId": "globex"},
    {"kind": "domain", "userPoolId": "us-east-1_Shared0Pool", "key": "initech.example", "tenantId": "initech"},
    {"kind": "domain", "userPoolId": "us-east-1_Shared0Pool", "key": "hooli.example", "tenantId": "hooli"},
    {"kind": "idp", "userPoolId": "us-east-1_Shared0Pool", "key": "AcmeSAML", "tenantId": "acme", "trustEmail": true},
    {"kind": "idp", "userPoolId": "us-east-1_Shared0Pool", "key": "GlobexOIDC", "tenantId": "globex"},
    {"kind": "idp", "userPoolId": "us-east-1_Shared0Pool", "key": "HooliSAML", "tenantId": "hooli", "trustEmail": true},
    {"kind": "idp", "userPoolId": "us-east-1_Silo0Umbr", "key": "UmbrellaAD", "tenantId": "umbrella", "trustEmail": true, "emailDomains": ["umbrella.example"]}
  ],
  "members": [
    {"userPoolId": "us-east-1_Shared0Pool", "sub": "a1a1a1a1-0000-4000-8000-00000000a11c", "tenantId": "acme", "roles": ["admin"]},
    {"userPoolId": "us-east-1_Shared0Pool", "sub": "h0011001-0000-4000-8000-000000000001", "tenantId": "hooli"},
    {"userPoolId": "us-east-1_Shared0Pool", "sub": "c1c1c1c1-0000-4000-8000-00000000c0de", "tenantId": "initech"}
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

/// Every item kind, optional fields both set and defaulted.
pub const EVERY_ITEM_KIND: &str = r#"{
  "tiers": [{"id": "premium", "scopes": ["reports/export", "admin/read"]},
            {"id": "basic"}],
  "tenants": [
    {"id": "acme", "name": "Acme Corp", "tier": "premium", "status": "active", "selfSignUp": false,
     "allowedEmailDomains": ["Acme.Example"], "maxUsers": 50,
     "iamRoleArn": "arn:aws:iam::123456789012:role/acme"},
    {"id": "globex", "tier": "basic", "status": "suspended", "selfSignUp": true, "defaultRole": "viewer"}
  ],
  "routes": [
    {"kind": "pool", "key": "us-east-1_Silo0acme", "tenantId": "acme"},
    {"kind": "client", "userPoolId": "us-east-1_Example", "key": "7q2example0webclient0abcd12", "tenantId": "acme"},
    {"kind": "domain", "userPoolId": "us-east-1_Example", "key": "Acme.Example", "tenantId": "acme"},
    {"kind": "idp", "userPoolId": "us-east-1_Example", "key": "AcmeSAML", "tenantId": "acme", "trustEmail": true},
    {"kind": "domain", "userPoolId": "us-east-1_Example", "key": "globex.example", "tenantId": "globex"}
  ],
  "members": [
    {"userPoolId": "us-east-1_Example", "sub": "sub-alice", "tenantId": "acme", "roles": ["admin", "member"]},
    {"userPoolId": "us-east-1_Example", "sub": "sub-bob", "tenantId": "acme"},
    {"userPoolId": "us-east-1_Example", "sub": "sub-bob", "tenantId": "globex", "status": "suspended"}
  ],
  "invitations": [
    {"userPoolId": "us-east-1_Example", "email": "New.Hire@Acme.Example", "tenantId": "acme",
     "roles": ["member"], "invitedBy": "sub-alice", "expiresAt": 1900000000},
    {"userPoolId": "us-east-1_Example", "email": "late@acme.example", "tenantId": "acme", "expiresAt": 1000}
  ]
}"#;

/// The directory document of the README.
pub const README_EXAMPLE: &str = r#"{
  "tiers": [{"id": "premium", "scopes": ["reports/export"]}],
  "tenants": [{"id": "acme", "name": "Acme Corp", "tier": "premium", "status": "active",
               "selfSignUp": false, "allowedEmailDomains": ["acme.example"], "maxUsers": 50}],
  "routes": [{"kind": "pool", "key": "us-east-1_Silo0acme", "tenantId": "acme"},
             {"kind": "client", "userPoolId": "us-east-1_Example", "key": "7q2example0webclient0abcd12", "tenantId": "acme"},
             {"kind": "domain", "userPoolId": "us-east-1_Example", "key": "acme.example", "tenantId": "acme"},
             {"kind": "idp", "userPoolId": "us-east-1_Example", "key": "AcmeSAML", "tenantId": "acme", "trustEmail": true}],
  "members": [{"userPoolId": "us-east-1_Example", "sub": "b71e0c55-0000-4000-8000-000000000001", "tenantId": "acme", "roles": ["admin"]}],
  "invitations": [{"userPoolId": "us-east-1_Example", "email": "new.hire@acme.example", "tenantId": "acme", "roles": ["member"]}]
}"#;
