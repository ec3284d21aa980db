//! First-token provisioning: pre token generation for a user without a membership (an
//! admin-created user, for whom post confirmation never fires, or one whose post confirmation
//! failed) provisions them by the rules of post confirmation, only with a verified email,
//! and then issues the claims.

use serde_json::{json, Value};
use tenant_lookup::store::memory::RequestCounts;
use tenant_lookup::DenyCode;
use test_support::handlers::*;

type Handler = PreTokenHandler;

fn setup() -> Setup<Handler> {
    Setup::new(pre_token)
}

const NEW_SUB: &str = "0e0e0e0e-0000-4000-8000-000000abc001";

/// A V2 token event of an admin-created user setting their password.
fn token(client_id: &str, email: &str, verified: &str) -> Value {
    let mut e = event(
        "TokenGeneration_NewPasswordChallenge",
        NEW_SUB,
        client_id,
        json!({"sub": NEW_SUB, "cognito:user_status": "FORCE_CHANGE_PASSWORD", "email": email,
               "email_verified": verified, "custom:tenantId": "globex"}),
    );
    e["version"] = json!("2");
    e["request"]["groupConfiguration"] =
        json!({"groupsToOverride": [], "iamRolesToOverride": [], "preferredRole": null});
    e["request"]["scopes"] = json!(["aws.cognito.signin.user.admin"]);
    e["response"] = json!({"claimsAndScopeOverrideDetails": null});
    e
}

fn id_claims(out: &Value) -> &Value {
    &out["response"]["claimsAndScopeOverrideDetails"]["idTokenGeneration"]["claimsToAddOrOverride"]
}

#[tokio::test]
async fn a_user_with_a_verified_email_is_provisioned_and_gets_the_claims() {
    let s = setup();
    let run = s
        .run(token("shared-web", "new.hire@acme.example", "true"))
        .await;
    let out = run.ok();
    assert_eq!(id_claims(out)["tenantId"], "acme");
    assert_eq!(
        id_claims(out)["custom:tenantId"],
        "acme",
        "the spoofed attribute is overwritten"
    );
    assert_eq!(
        out["response"]["claimsAndScopeOverrideDetails"]["groupOverrideDetails"]
            ["groupsToOverride"],
        json!(["editor"])
    );
    assert_eq!(run.decided(), ("acme", "invitation"));
    assert_eq!(run.log["decision"], "provision-and-issue");

    let m = s.membership_of(POOL, NEW_SUB);
    assert_eq!(m.len(), 1);
    assert_eq!(
        (m[0].tenant_id.as_str(), m[0].roles.clone(), m[0].created_at),
        ("acme", vec!["editor".to_string()], NOW)
    );
    assert!(
        s.invitations()
            .iter()
            .any(|i| i.email == "new.hire@acme.example" && i.is_used()),
        "invitation used (and kept as used)"
    );
    assert_eq!(s.tenant("acme").user_count, 2);
    assert_eq!(s.dir.requests().writes, 1);
}

#[tokio::test]
async fn the_second_token_makes_one_read_and_no_write() {
    let s = setup();
    let first = s
        .run(token("shared-web", "new.hire@acme.example", "true"))
        .await
        .ok()
        .clone();
    s.dir.reset_requests();
    let second = s
        .run(token("shared-web", "new.hire@acme.example", "true"))
        .await;
    assert_eq!(
        s.dir.requests(),
        RequestCounts {
            reads: 1,
            writes: 0
        },
        "the membership query only"
    );
    assert_eq!(second.log["decision"], "issue");
    assert_eq!(
        second.ok()["response"],
        first["response"],
        "the same claims"
    );
}

#[tokio::test]
async fn an_unverified_email_gets_no_tenant_and_no_write() {
    for verified in ["false", ""] {
        let s = setup();
        let before = s.dir.contents();
        let e = token("shared-web", "new.hire@acme.example", verified);
        let run = s.run(e.clone()).await;
        assert_eq!(run.err().code, DenyCode::NoTenant);
        assert_discreet(run.err(), &e);
        assert_eq!(s.dir.requests().writes, 0);
        assert_eq!(s.dir.contents(), before);
    }
}

#[tokio::test]
async fn an_unverified_email_with_the_bare_token_policy_is_issued_without_tenant_and_not_provisioned(
) {
    let s = Setup::with(
        directory_from(test_support::seeds::HANDLERS, &[]),
        NOW,
        &[("NO_TENANT_POLICY", "issue-without-tenant-claims")],
        pre_token,
    );
    let out = s
        .run(token("shared-web", "new.hire@acme.example", "false"))
        .await
        .ok()
        .clone();
    assert_eq!(
        out["response"]["claimsAndScopeOverrideDetails"]["idTokenGeneration"],
        json!({"claimsToSuppress": ["custom:tenantId"]})
    );
    assert_eq!(s.dir.requests().writes, 0);
    assert!(s.membership_of(POOL, NEW_SUB).is_empty());
}

#[tokio::test]
async fn provisioning_follows_the_admission_rules() {
    // (client, email, the rule that refused, the code shown): no write in any of these. A user
    // the rules do not place is a user without a tenant (NO_TENANT, so NO_TENANT_POLICY
    // applies); conflicts, ambiguity and suspension are denied as such.
    let cases = [
        (
            "shared-web",
            "bob@acme.example",
            "SIGNUP_NOT_ALLOWED",
            DenyCode::NoTenant,
        ),
        (
            "stark-web",
            "tony@mail.example",
            "EMAIL_DOMAIN_NOT_ALLOWED",
            DenyCode::NoTenant,
        ),
        (
            "shared-web",
            "milton@initech.example",
            "tenant initech is suspended",
            DenyCode::TenantSuspended,
        ),
        (
            "hooli-web",
            "gavin@mail.example",
            "SEAT_LIMIT_REACHED",
            DenyCode::NoTenant,
        ),
        (
            "acme-web",
            "contractor@acme.example",
            "client route says acme",
            DenyCode::TenantConflict,
        ),
        (
            "shared-web",
            "twice@partner.example",
            "2 invitations",
            DenyCode::TenantAmbiguous,
        ),
        (
            "shared-web",
            "drifter@mail.example",
            "no route",
            DenyCode::NoTenant,
        ),
    ];
    for (client, email, rule, code) in cases {
        let s = setup();
        let e = token(client, email, "true");
        let run = s.run(e.clone()).await;
        assert_eq!(run.err().code, code, "{client} {email}");
        assert!(
            run.err().reason.starts_with(rule),
            "{client} {email}: {}",
            run.err().reason
        );
        assert_discreet(run.err(), &e);
        assert_eq!(s.dir.requests().writes, 0, "{client} {email}");
    }
    // And admits like post confirmation: a domain route with self sign-up, the default role.
    let s = setup();
    let run = s
        .run(token("shared-web", "sam@globex.example", "true"))
        .await;
    assert_eq!(id_claims(run.ok())["tenantId"], "globex");
    assert_eq!(run.decided(), ("globex", "domain"));
    assert_eq!(s.membership_of(POOL, NEW_SUB)[0].roles, vec!["member"]);
}

#[tokio::test]
async fn a_federated_user_whose_post_confirmation_failed_is_provisioned_through_the_idp_route() {
    let federated = |email: &str| {
        let mut e = token("shared-web", email, "true");
        e["userName"] = json!("AcmeSAML_jdoe");
        e["triggerSource"] = json!("TokenGeneration_HostedAuth");
        e["request"]["userAttributes"]["cognito:user_status"] = json!("EXTERNAL_PROVIDER");
        e["request"]["userAttributes"]["identities"] = json!(identities("AcmeSAML", "jdoe"));
        e
    };
    let s = setup();
    let run = s.run(federated("jdoe@acme.example")).await;
    assert_eq!(id_claims(run.ok())["tenantId"], "acme");
    assert_eq!(run.decided(), ("acme", "idp"));
    // The trusted IdP vouches only within acme's domains: another address is not proven, so
    // the user is not placed (a user without a tenant).
    let s = setup();
    let run = s.run(federated("jdoe@mail.example")).await;
    assert_eq!(run.err().code, DenyCode::NoTenant);
    assert!(s.membership_of(POOL, NEW_SUB).is_empty());
}

/// First-token provisioning needs the email Cognito holds as verified: a trusted IdP that would
/// vouch for the address is not enough once Cognito has it unverified (the IdP changed it after
/// sign-up, say). No read of the admission rules, no write: a user without a tenant.
#[tokio::test]
async fn a_trusted_idp_does_not_stand_in_for_an_unverified_email_at_the_first_token() {
    let mut e = token("shared-web", "jdoe@acme.example", "false");
    e["userName"] = json!("AcmeSAML_jdoe");
    e["triggerSource"] = json!("TokenGeneration_HostedAuth");
    e["request"]["userAttributes"]["cognito:user_status"] = json!("EXTERNAL_PROVIDER");
    e["request"]["userAttributes"]["identities"] = json!(identities("AcmeSAML", "jdoe"));
    let s = setup();
    let run = s.run(e.clone()).await;
    assert_eq!(run.err().code, DenyCode::NoTenant);
    assert_discreet(run.err(), &e);
    // Refused before the admission rules are read (their refusal would name EMAIL_NOT_VERIFIED).
    assert_eq!(
        run.err().reason,
        "no membership, and the email is not verified for provisioning"
    );
    assert!(s.membership_of(POOL, NEW_SUB).is_empty());
    assert_eq!(s.dir.requests().writes, 0);
}

#[tokio::test]
async fn a_directory_failure_while_provisioning_yields_no_token() {
    let s = setup();
    s.dir.set_unavailable(true);
    let e = token("shared-web", "new.hire@acme.example", "true");
    let run = s.run(e.clone()).await;
    assert_eq!(run.err().code, DenyCode::DirectoryUnavailable);
    assert_discreet(run.err(), &e);
}

/// An IdP the tenant does not trust for email sets email_verified itself: that proves nothing,
/// so there is no provisioning at the first token.
#[tokio::test]
async fn an_untrusted_idp_cannot_prove_the_email_for_first_token_provisioning() {
    let s = setup();
    // contractor@acme.example is invited to globex, the tenant of the GlobexOIDC route.
    let mut e = token("shared-web", "contractor@acme.example", "true");
    e["userName"] = json!("GlobexOIDC_nh");
    e["triggerSource"] = json!("TokenGeneration_HostedAuth");
    e["request"]["userAttributes"]["cognito:user_status"] = json!("EXTERNAL_PROVIDER");
    let run = s.run(e.clone()).await;
    assert_eq!(run.err().code, DenyCode::NoTenant);
    assert_discreet(run.err(), &e);
    assert_eq!(s.dir.requests().writes, 0);
}

/// A directory in which a trigger provisioned every user before and an administrator has since
/// removed their membership (the guard item stays, so the user is not provisioned again).
struct RemovedMembers(std::sync::Arc<tenant_lookup::InMemoryDirectory>);

impl tenant_lookup::Directory for RemovedMembers {
    async fn tenant(
        &self,
        id: &str,
    ) -> Result<Option<tenant_lookup::domain::model::Tenant>, tenant_lookup::DirectoryError> {
        self.0.tenant(id).await
    }
    async fn tier(
        &self,
        id: &str,
    ) -> Result<Option<tenant_lookup::domain::model::Tier>, tenant_lookup::DirectoryError> {
        self.0.tier(id).await
    }
    async fn route(
        &self,
        kind: tenant_lookup::domain::model::RouteKind,
        key: &str,
    ) -> Result<Option<tenant_lookup::domain::model::Route>, tenant_lookup::DirectoryError> {
        self.0.route(kind, key).await
    }
    async fn memberships(
        &self,
        pool: &str,
        sub: &str,
    ) -> Result<Vec<tenant_lookup::domain::model::Membership>, tenant_lookup::DirectoryError> {
        self.0.memberships(pool, sub).await
    }
    async fn invitations(
        &self,
        pool: &str,
        email: &str,
    ) -> Result<Vec<tenant_lookup::domain::model::Invitation>, tenant_lookup::DirectoryError> {
        self.0.invitations(pool, email).await
    }
    async fn provision(
        &self,
        _request: &tenant_lookup::ProvisionRequest,
    ) -> Result<tenant_lookup::ProvisionOutcome, tenant_lookup::DirectoryError> {
        Ok(tenant_lookup::ProvisionOutcome::ProvisionedBefore)
    }
}

/// A removed member has no tenant: NO_TENANT, so NO_TENANT_POLICY decides (it used to read
/// SIGNUP_NOT_ALLOWED, which no policy covered).
#[tokio::test]
async fn a_removed_member_is_a_user_without_a_tenant() {
    use std::sync::Arc;
    use tenant_lookup::{CachedDirectory, ManualClock, PreTokenGeneration, Trigger};
    let e = token("shared-web", "sam@globex.example", "true");
    for (policy, shown) in [
        ("deny", Some(DenyCode::NoTenant)),
        ("issue-without-tenant-claims", None),
    ] {
        let clock = Arc::new(ManualClock::new(NOW));
        let directory = CachedDirectory::new(
            RemovedMembers(directory_from(test_support::seeds::HANDLERS, &[])),
            std::time::Duration::from_secs(60),
            clock.clone(),
        );
        let handler =
            PreTokenGeneration::new(directory, clock, &config(&[("NO_TENANT_POLICY", policy)]));
        // Under a subscriber, like every handler run here: tracing caches each call site's
        // interest process-wide, and a run without one would hide other tests' log lines.
        let (answer, _) = test_support::logs::capture(handler.handle(e.clone())).await;
        match shown {
            Some(code) => {
                let err = answer.unwrap_err();
                assert_eq!(err.code, code, "{policy}");
                assert!(
                    err.reason
                        .starts_with("SIGNUP_NOT_ALLOWED: provisioned before"),
                    "{}",
                    err.reason
                );
            }
            None => {
                let out = answer.unwrap();
                assert_eq!(
                    out["response"]["claimsAndScopeOverrideDetails"]["idTokenGeneration"],
                    json!({"claimsToSuppress": ["custom:tenantId"]}),
                    "{policy}"
                );
            }
        }
    }
}

/// A directory read just before a concurrent sign-in of the same user provisioned them into
/// `tenant`: the first membership Query misses that membership, every later one sees it.
struct RacedSignIn {
    inner: std::sync::Arc<tenant_lookup::InMemoryDirectory>,
    queries: std::sync::atomic::AtomicUsize,
}

impl RacedSignIn {
    /// The winner's provisioning ran to the end: membership, seat and guard.
    async fn new(tenant: &str) -> Self {
        use tenant_lookup::domain::model::{Membership, MembershipStatus};
        use tenant_lookup::Directory;
        let inner = directory_from(test_support::seeds::HANDLERS, &[]);
        let won = inner
            .provision(&tenant_lookup::ProvisionRequest {
                membership: Membership {
                    user_pool_id: POOL.into(),
                    sub: NEW_SUB.into(),
                    tenant_id: tenant.into(),
                    roles: vec!["member".into()],
                    status: MembershipStatus::Active,
                    source: "domain".into(),
                    created_at: NOW,
                },
                invitation_tenant_id: None,
                invitation_email: None,
            })
            .await
            .unwrap();
        assert_eq!(won, tenant_lookup::ProvisionOutcome::Created);
        Self {
            inner,
            queries: Default::default(),
        }
    }
}

impl tenant_lookup::Directory for RacedSignIn {
    async fn tenant(
        &self,
        id: &str,
    ) -> Result<Option<tenant_lookup::domain::model::Tenant>, tenant_lookup::DirectoryError> {
        self.inner.tenant(id).await
    }
    async fn tier(
        &self,
        id: &str,
    ) -> Result<Option<tenant_lookup::domain::model::Tier>, tenant_lookup::DirectoryError> {
        self.inner.tier(id).await
    }
    async fn route(
        &self,
        kind: tenant_lookup::domain::model::RouteKind,
        key: &str,
    ) -> Result<Option<tenant_lookup::domain::model::Route>, tenant_lookup::DirectoryError> {
        self.inner.route(kind, key).await
    }
    async fn memberships(
        &self,
        pool: &str,
        sub: &str,
    ) -> Result<Vec<tenant_lookup::domain::model::Membership>, tenant_lookup::DirectoryError> {
        let n = self
            .queries
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n == 0 {
            return Ok(Vec::new());
        }
        self.inner.memberships(pool, sub).await
    }
    async fn invitations(
        &self,
        pool: &str,
        email: &str,
    ) -> Result<Vec<tenant_lookup::domain::model::Invitation>, tenant_lookup::DirectoryError> {
        self.inner.invitations(pool, email).await
    }
    async fn provision(
        &self,
        request: &tenant_lookup::ProvisionRequest,
    ) -> Result<tenant_lookup::ProvisionOutcome, tenant_lookup::DirectoryError> {
        self.inner.provision(request).await
    }
}

/// The first token of a user whose concurrent sign-in provisioned them a moment before: the
/// membership that sign-in wrote decides the claims, whichever tenant this one would have picked.
#[tokio::test]
async fn a_first_token_that_lost_a_race_gets_the_tenant_the_winner_provisioned() {
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use tenant_lookup::{CachedDirectory, ManualClock, PreTokenGeneration, Trigger};
    // sam@globex.example would be placed in globex by its domain route.
    let e = token("shared-web", "sam@globex.example", "true");
    for (winner, queries) in [
        // Same tenant: the provisioning's answer is the membership; no second Query.
        ("globex", 1),
        // Another tenant (an invitation the winner saw, say): the memberships are read again.
        ("acme", 2),
    ] {
        let clock = Arc::new(ManualClock::new(NOW));
        let raced = Arc::new(RacedSignIn::new(winner).await);
        let handler = PreTokenGeneration::new(
            CachedDirectory::new(
                raced.clone(),
                std::time::Duration::from_secs(60),
                clock.clone(),
            ),
            clock,
            &config(&[]),
        );
        // Under a subscriber, as every handler run here (see a_removed_member_is_...).
        let (answer, _) = test_support::logs::capture(handler.handle(e.clone())).await;
        let out = answer.expect("a token");
        assert_eq!(id_claims(&out)["tenantId"], winner, "{winner}");
        assert_eq!(raced.queries.load(Ordering::SeqCst), queries, "{winner}");
        assert_eq!(
            raced.inner.contents().members.len(),
            directory_from(test_support::seeds::HANDLERS, &[])
                .contents()
                .members
                .len()
                + 1,
            "nothing written twice"
        );
    }
}
