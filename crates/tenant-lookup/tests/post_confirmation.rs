//! Handler tests of post confirmation over the in-memory directory: which sources provision,
//! the verified-email rule, idempotency, the seat and suspension conditions (soft and in the
//! transaction), the no-op sources, and what a denial shows.

use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use test_support::handlers::*;

use tenant_lookup::domain::model::{
    Invitation, Membership, MembershipStatus, Route, RouteKind, Tenant, TenantStatus, Tier,
};
use tenant_lookup::{
    CachedDirectory, DenyCode, Directory, DirectoryError, InMemoryDirectory, ManualClock,
    PostConfirmation, ProvisionOutcome, ProvisionRequest, Trigger,
};

type Handler = PostConfirmationHandler;

fn setup() -> Setup<Handler> {
    Setup::new(post_confirmation)
}

const CONFIRM: &str = "PostConfirmation_ConfirmSignUp";
const FORGOT: &str = "PostConfirmation_ConfirmForgotPassword";
const NEW_SUB: &str = "5a5a5a5a-0000-4000-8000-00000000c0de";

/// A local user's confirmation: `email_verified` is a string as in real events (or absent).
fn confirm(client_id: &str, email: &str, verified: Option<&str>) -> Value {
    let mut attributes =
        json!({"sub": NEW_SUB, "cognito:user_status": "CONFIRMED", "email": email});
    if let Some(v) = verified {
        attributes["email_verified"] = json!(v);
    }
    event(CONFIRM, "someone", client_id, attributes)
}

/// A federated user's first sign-in, as post confirmation sees it.
fn federated(provider: &str, subject: &str, email: &str, verified: &str) -> Value {
    let user_name = format!("{provider}_{subject}");
    let attributes = json!({"sub": NEW_SUB, "cognito:user_status": "EXTERNAL_PROVIDER", "email": email,
                            "email_verified": verified, "identities": identities(provider, subject)});
    event(CONFIRM, &user_name, "shared-web", attributes)
}

/// The membership the event provisioned (the test fails if there is not exactly one).
fn provisioned(s: &Setup<Handler>) -> Membership {
    let m = s.membership_of(POOL, NEW_SUB);
    assert_eq!(m.len(), 1, "{m:?}");
    m[0].clone()
}

async fn ok(s: &Setup<Handler>, event: Value) -> (String, String) {
    let run = s.run(event.clone()).await;
    let out = run.ok();
    assert_eq!(out["response"], json!({}));
    let (mut rest, mut sent) = (out.clone(), event);
    rest.as_object_mut().unwrap().remove("response");
    sent.as_object_mut().unwrap().remove("response");
    assert_eq!(rest, sent, "only the response changes");
    let (tenant, rule) = run.decided();
    (tenant.to_string(), rule.to_string())
}

/// Denies, shows nothing but the code, and changes nothing.
async fn denied(s: &Setup<Handler>, event: Value) -> DenyCode {
    let before = s.dir.contents();
    let run = s.run(event.clone()).await;
    let e = run.err();
    assert_discreet(e, &event);
    assert_eq!(s.dir.contents(), before, "a denial changes nothing");
    e.code
}

/// A conflict, an ambiguity, or any refusal about a tenant found from the email (an invitation
/// or a domain route) is shown as `SIGNUP_NOT_ALLOWED`: it would reveal other tenants'
/// invitations or state. The real code leads the logged reason; nothing changes.
async fn denied_as_sign_up_refusal(s: &Setup<Handler>, event: Value, real: DenyCode) {
    let before = s.dir.contents();
    let run = s.run(event.clone()).await;
    let e = run.err();
    assert_discreet(e, &event);
    assert_eq!(e.code, DenyCode::SignupNotAllowed);
    assert!(e.reason.starts_with(real.as_str()), "{}", e.reason);
    assert_eq!(run.log["code"], "SIGNUP_NOT_ALLOWED");
    assert_eq!(s.dir.contents(), before, "a denial changes nothing");
}

// --- No-op sources --------------------------------------------------------------------------

#[tokio::test]
async fn forgot_password_and_unknown_sources_make_no_directory_request() {
    let s = setup();
    s.dir.set_unavailable(true); // any request would fail the invocation
    for source in [FORGOT, "PostConfirmation_SomethingNew", ""] {
        // An invited, verified, unprovisioned user: ConfirmSignUp would provision them.
        let mut e = confirm("shared-web", "new.hire@acme.example", Some("true"));
        e["triggerSource"] = json!(source);
        let run = s.run(e).await;
        assert_eq!(run.ok()["response"], json!({}), "{source:?}");
        assert_eq!(run.log["decision"], "no-op");
    }
    let mut e = confirm("shared-web", "new.hire@acme.example", Some("true"));
    e.as_object_mut().unwrap().remove("triggerSource");
    s.run(e).await.ok();
    assert_eq!(s.dir.requests().reads, 0);
    assert_eq!(s.dir.requests().writes, 0);
}

// --- Members --------------------------------------------------------------------------------

#[tokio::test]
async fn an_existing_member_succeeds_without_any_change() {
    let s = setup();
    let before = s.dir.contents();
    let mut e = confirm("shared-web", "alice@acme.example", Some("true"));
    e["request"]["userAttributes"]["sub"] = json!(ALICE);
    assert_eq!(ok(&s, e).await, ("acme".into(), "membership".into()));
    assert_eq!(s.dir.contents(), before);
    assert_eq!(
        s.dir.requests(),
        tenant_lookup::store::memory::RequestCounts {
            reads: 1,
            writes: 0
        },
        "the membership query only"
    );
}

#[tokio::test]
async fn an_existing_member_claiming_another_tenant_changes_nothing() {
    let s = setup();
    let before = s.dir.contents();
    // alice (acme) confirms through globex's app client, with an email, custom attribute and
    // client metadata that all point at globex, and globex would take her.
    let mut e = confirm("globex-web", "alice@globex.example", Some("true"));
    e["request"]["userAttributes"]["sub"] = json!(ALICE);
    e["request"]["userAttributes"]["custom:tenantId"] = json!("globex");
    e["request"]["clientMetadata"] = json!({"tenantId": "globex"});
    assert_eq!(ok(&s, e).await.0, "acme");
    assert_eq!(s.dir.contents(), before);
    assert_eq!(s.dir.requests().writes, 0);
}

#[tokio::test]
async fn the_same_confirmation_twice_provisions_once() {
    let s = setup();
    let e = confirm("shared-web", "sam@globex.example", Some("true"));
    assert_eq!(ok(&s, e.clone()).await, ("globex".into(), "domain".into()));
    assert_eq!(
        ok(&s, e.clone()).await,
        ("globex".into(), "membership".into())
    );
    assert_eq!(s.run(e).await.log["decision"], "already-member");
    provisioned(&s);
    assert_eq!(s.tenant("globex").user_count, 1, "userCount raised once");
    assert_eq!(s.dir.requests().writes, 1);
}

/// A directory whose membership query misses what is there: a concurrent confirmation of the
/// same user (a Cognito retry) that wrote between this one's read and its transaction.
struct RacingDirectory(Arc<InMemoryDirectory>);

impl Directory for RacingDirectory {
    async fn tenant(&self, id: &str) -> Result<Option<Tenant>, DirectoryError> {
        self.0.tenant(id).await
    }
    async fn tier(&self, id: &str) -> Result<Option<Tier>, DirectoryError> {
        self.0.tier(id).await
    }
    async fn route(&self, kind: RouteKind, key: &str) -> Result<Option<Route>, DirectoryError> {
        self.0.route(kind, key).await
    }
    async fn memberships(
        &self,
        _pool: &str,
        _sub: &str,
    ) -> Result<Vec<Membership>, DirectoryError> {
        Ok(Vec::new())
    }
    async fn invitations(
        &self,
        pool: &str,
        email: &str,
    ) -> Result<Vec<Invitation>, DirectoryError> {
        self.0.invitations(pool, email).await
    }
    async fn provision(
        &self,
        request: &ProvisionRequest,
    ) -> Result<ProvisionOutcome, DirectoryError> {
        self.0.provision(request).await
    }
}

#[tokio::test]
async fn a_retry_whose_membership_appears_meanwhile_succeeds_without_a_second_seat() {
    let s = setup();
    ok(
        &s,
        confirm("shared-web", "sam@globex.example", Some("true")),
    )
    .await;
    let clock = Arc::new(ManualClock::new(NOW));
    let racing = PostConfirmation::new(
        CachedDirectory::new(
            RacingDirectory(s.dir.clone()),
            Duration::from_secs(60),
            clock.clone(),
        ),
        clock,
    );
    let before = s.dir.contents();
    let out = racing
        .handle(confirm("shared-web", "sam@globex.example", Some("true")))
        .await
        .unwrap();
    assert_eq!(out["response"], json!({}));
    assert_eq!(s.dir.contents(), before);
    assert_eq!(s.tenant("globex").user_count, 1);
}

// --- What admits, and the verified-email rule -----------------------------------------------

#[tokio::test]
async fn an_invitation_admits_a_verified_email_and_is_consumed() {
    let s = setup();
    assert_eq!(
        ok(
            &s,
            confirm("shared-web", "new.hire@acme.example", Some("true"))
        )
        .await,
        ("acme".into(), "invitation".into())
    );
    let m = provisioned(&s);
    assert_eq!(
        (m.tenant_id.as_str(), m.roles.clone(), m.source.as_str()),
        ("acme", vec!["editor".to_string()], "invitation")
    );
    assert_eq!((m.status, m.created_at), (MembershipStatus::Active, NOW));
    assert!(
        s.invitations()
            .iter()
            .any(|i| i.email == "new.hire@acme.example" && i.is_used()),
        "invitation used (and kept as used)"
    );
    assert_eq!(s.tenant("acme").user_count, 2);
}

#[tokio::test]
async fn an_invitation_needs_a_verified_email() {
    let s = setup();
    // Found from the email alone: the refusal shows as SIGNUP_NOT_ALLOWED.
    for verified in [Some("false"), None, Some(""), Some("yes")] {
        let e = confirm("shared-web", "new.hire@acme.example", verified);
        denied_as_sign_up_refusal(&s, e, DenyCode::EmailNotVerified).await;
    }
    // Also when an explicit route agrees with the invitation; the route named the tenant, so
    // the code is shown.
    assert_eq!(
        denied(
            &s,
            confirm("acme-web", "new.hire@acme.example", Some("false"))
        )
        .await,
        DenyCode::EmailNotVerified
    );
    assert_eq!(s.dir.requests().writes, 0);
    assert!(
        s.invitations()
            .iter()
            .any(|i| i.email == "new.hire@acme.example" && !i.is_used()),
        "invitation kept open"
    );
}

#[tokio::test]
async fn a_domain_route_needs_a_verified_email() {
    let s = setup();
    denied_as_sign_up_refusal(
        &s,
        confirm("shared-web", "sam@globex.example", Some("false")),
        DenyCode::EmailNotVerified,
    )
    .await;
    assert_eq!(s.dir.requests().writes, 0);
    // A boolean true, as some sample events carry it, is as good as "true".
    let mut e = confirm("shared-web", "sam@globex.example", None);
    e["request"]["userAttributes"]["email_verified"] = json!(true);
    assert_eq!(ok(&s, e).await, ("globex".into(), "domain".into()));
}

#[tokio::test]
async fn pool_and_client_routes_need_no_verified_email() {
    let s = setup();
    assert_eq!(
        ok(&s, confirm("globex-web", "sam@mail.example", Some("false"))).await,
        ("globex".into(), "client".into())
    );
    let s = setup();
    let mut e = in_pool(confirm("umbrella-web", "x", None), SILO);
    e["request"]["userAttributes"] =
        json!({"sub": NEW_SUB, "phone_number": "+12065550100", "phone_number_verified": "true"});
    assert_eq!(ok(&s, e).await, ("umbrella".into(), "pool".into()));
    let m = s.membership_of(SILO, NEW_SUB);
    assert_eq!(m[0].roles, vec!["viewer"], "the tenant's default role");
}

#[tokio::test]
async fn a_federated_user_of_an_idp_route_needs_no_verified_email_nor_self_sign_up() {
    let s = setup();
    // GlobexOIDC is not trusted for email: the address stays unverified.
    assert_eq!(
        ok(
            &s,
            federated("GlobexOIDC", "8f3c", "hank@globex.example", "false")
        )
        .await,
        ("globex".into(), "idp".into())
    );
    assert_eq!(provisioned(&s).source, "idp");
    // acme has no self sign-up; jdoe's address is outside acme's domains.
    let s = setup();
    assert_eq!(
        ok(
            &s,
            federated(
                "AcmeSAML",
                "jdoe_x@acme.example",
                "jdoe@mail.example",
                "false"
            )
        )
        .await
        .0,
        "acme"
    );
    assert_eq!(provisioned(&s).roles, vec!["member"]);
}

#[tokio::test]
async fn a_federated_user_claims_an_invitation_only_with_a_verified_email() {
    // vip@mail.example is invited to globex as admin. An IdP that globex federates but does not
    // trust for email asserts that address: the user joins through the IDP route, as a member.
    let s = setup();
    assert_eq!(
        ok(
            &s,
            federated("GlobexOIDC", "m", "vip@mail.example", "false")
        )
        .await,
        ("globex".into(), "idp".into())
    );
    assert_eq!(provisioned(&s).roles, vec!["member"]);
    assert!(
        s.invitations()
            .iter()
            .any(|i| i.email == "vip@mail.example" && !i.is_used()),
        "invitation not used"
    );
    // Nor when the IdP says the address is verified: an IdP the tenant does not trust for email
    // sets email_verified itself, so it proves nothing.
    let s = setup();
    assert_eq!(
        ok(&s, federated("GlobexOIDC", "m", "vip@mail.example", "true"))
            .await
            .1,
        "idp"
    );
    assert!(s
        .invitations()
        .iter()
        .any(|i| i.email == "vip@mail.example" && !i.is_used()));
    assert_eq!(provisioned(&s).roles, vec!["member"]);
}

#[tokio::test]
async fn a_local_user_whose_username_looks_federated_is_not_federated() {
    let s = setup();
    let mut e = confirm("shared-web", "x@mail.example", Some("true"));
    e["userName"] = json!("AcmeSAML_x");
    assert_eq!(denied(&s, e).await, DenyCode::SignupNotAllowed);
}

#[tokio::test]
async fn custom_attributes_and_client_metadata_are_never_an_authority() {
    let s = setup();
    let mut e = confirm("shared-web", "sam@globex.example", Some("true"));
    e["request"]["userAttributes"]["custom:tenantId"] = json!("acme");
    e["request"]["userAttributes"]["custom:role"] = json!("admin");
    e["request"]["clientMetadata"] = json!({"tenantId": "acme", "roles": "admin"});
    assert_eq!(ok(&s, e).await.0, "globex");
    let m = provisioned(&s);
    assert_eq!(
        (m.tenant_id.as_str(), m.roles.clone()),
        ("globex", vec!["member".to_string()])
    );
    // Naming a tenant gets a user without one nowhere.
    let s = setup();
    let mut e = confirm("shared-web", "mallory@mail.example", Some("true"));
    e["request"]["userAttributes"]["custom:tenantId"] = json!("globex");
    e["request"]["clientMetadata"] = json!({"tenantId": "globex"});
    assert_eq!(denied(&s, e).await, DenyCode::SignupNotAllowed);
}

#[tokio::test]
async fn null_or_missing_client_metadata_is_fine() {
    for metadata in [Some(Value::Null), None, Some(json!("x"))] {
        let s = setup();
        let mut e = confirm("shared-web", "contractor@acme.example", Some("true"));
        match &metadata {
            Some(m) => e["request"]["clientMetadata"] = m.clone(),
            None => {
                e["request"]
                    .as_object_mut()
                    .unwrap()
                    .remove("clientMetadata");
            }
        }
        assert_eq!(
            ok(&s, e).await,
            ("globex".into(), "invitation".into()),
            "{metadata:?}"
        );
    }
}

// --- The rules of pre sign-up apply again ---------------------------------------------------

#[tokio::test]
async fn self_sign_up_domains_conflicts_and_ambiguity_are_checked_again() {
    let s = setup();
    assert_eq!(
        denied(
            &s,
            confirm("shared-web", "drifter@mail.example", Some("true"))
        )
        .await,
        DenyCode::SignupNotAllowed
    );
    assert_eq!(
        denied(&s, confirm("acme-web", "bob@acme.example", Some("true"))).await,
        DenyCode::SignupNotAllowed
    );
    assert_eq!(
        denied(&s, confirm("stark-web", "tony@mail.example", Some("true"))).await,
        DenyCode::EmailDomainNotAllowed
    );
    denied_as_sign_up_refusal(
        &s,
        confirm("acme-web", "contractor@acme.example", Some("true")),
        DenyCode::TenantConflict,
    )
    .await;
    denied_as_sign_up_refusal(
        &s,
        confirm("shared-web", "twice@partner.example", Some("true")),
        DenyCode::TenantAmbiguous,
    )
    .await;
    assert_eq!(
        denied(&s, confirm("shared-web", "late@acme.example", Some("true"))).await,
        DenyCode::SignupNotAllowed
    );
    assert_eq!(s.dir.requests().writes, 0);
}

// --- Seats and suspension -------------------------------------------------------------------

#[tokio::test]
async fn a_full_tenant_takes_nobody() {
    let s = setup();
    assert_eq!(
        denied(&s, confirm("hooli-web", "gavin@mail.example", Some("true"))).await,
        DenyCode::SeatLimitReached
    );
    assert_eq!(
        denied(
            &s,
            federated("HooliSAML", "gavin", "gavin@hooli.example", "true")
        )
        .await,
        DenyCode::SeatLimitReached
    );
    assert_eq!(s.dir.requests().writes, 0, "refused before the transaction");
    assert_eq!(s.tenant("hooli").user_count, 1);
}

#[tokio::test]
async fn the_transaction_holds_max_users_even_when_the_cached_tenant_shows_a_free_seat() {
    let s = setup();
    // wayne: one seat. The first confirmation caches wayne with userCount 0.
    ok(&s, confirm("wayne-web", "a@mail.example", Some("true"))).await;
    let mut second = confirm("wayne-web", "b@mail.example", Some("true"));
    second["request"]["userAttributes"]["sub"] = json!("5a5a5a5a-0000-4000-8000-0000000000b2");
    let before = s.dir.contents();
    let run = s.run(second.clone()).await;
    assert_eq!(run.err().code, DenyCode::SeatLimitReached);
    assert_discreet(run.err(), &second);
    assert_eq!(s.dir.contents(), before);
    assert_eq!(s.tenant("wayne").user_count, 1);
    assert_eq!(
        s.dir.requests().writes,
        2,
        "the second was refused by the transaction's condition"
    );
}

#[tokio::test]
async fn a_suspended_tenant_takes_nobody() {
    let s = setup();
    // Found through the domain route: shown as SIGNUP_NOT_ALLOWED, logged as suspended.
    denied_as_sign_up_refusal(
        &s,
        confirm("shared-web", "milton@initech.example", Some("true")),
        DenyCode::TenantSuspended,
    )
    .await;
    // Named by the app client: the code is shown.
    assert_eq!(
        denied(
            &s,
            confirm("initech-web", "milton@mail.example", Some("true"))
        )
        .await,
        DenyCode::TenantSuspended
    );
    assert_eq!(s.dir.requests().writes, 0);
}

#[tokio::test]
async fn a_suspension_within_the_cache_ttl_is_held_by_the_transaction() {
    let s = setup();
    ok(
        &s,
        confirm("shared-web", "sam@globex.example", Some("true")),
    )
    .await; // caches globex as active
    s.dir
        .update_tenant("globex", |t| t.status = TenantStatus::Suspended);
    let mut e = confirm("shared-web", "kim@globex.example", Some("true"));
    e["request"]["userAttributes"]["sub"] = json!("5a5a5a5a-0000-4000-8000-0000000000b3");
    denied_as_sign_up_refusal(&s, e, DenyCode::TenantSuspended).await;
}

// --- Failures -------------------------------------------------------------------------------

#[tokio::test]
async fn a_directory_failure_is_reported_and_changes_nothing() {
    let s = setup();
    s.dir.set_unavailable(true);
    let e = confirm("shared-web", "sam@globex.example", Some("true"));
    let run = s.run(e.clone()).await;
    assert_eq!(run.err().code, DenyCode::DirectoryUnavailable);
    assert_discreet(run.err(), &e);
    s.dir.set_unavailable(false);
    assert!(s.membership_of(POOL, NEW_SUB).is_empty());
}

#[tokio::test]
async fn a_confirmation_without_a_sub_is_refused_without_a_request() {
    let s = setup();
    let mut e = confirm("shared-web", "sam@globex.example", Some("true"));
    e["request"]["userAttributes"]
        .as_object_mut()
        .unwrap()
        .remove("sub");
    assert_eq!(denied(&s, e).await, DenyCode::InvalidEvent);
    assert_eq!(s.dir.requests().reads, 0);
}

#[tokio::test]
async fn logs_carry_the_decision_but_no_pii() {
    let s = setup();
    let mut e = federated(
        "AcmeSAML",
        "jane.doe@acme.example",
        "jane.doe@acme.example",
        "true",
    );
    e["request"]["userAttributes"]["name"] = json!("Jane Doe");
    let run = s.run(e).await;
    assert_eq!(
        (run.log["decision"].as_str(), run.log["tenant_id"].as_str()),
        (Some("provision"), Some("acme"))
    );
    assert_eq!(run.log["sub"], NEW_SUB);
    let mut e = confirm("shared-web", "jane.doe@mail.example", Some("false"));
    e["request"]["userAttributes"]["sub"] = json!("5a5a5a5a-0000-4000-8000-0000000000b4");
    let denied = s.run(e).await;
    assert_eq!(denied.log["code"], "SIGNUP_NOT_ALLOWED");
    for text in [&run.log_text, &denied.log_text] {
        for pii in ["jane.doe", "Jane Doe", "acme.example", "mail.example"] {
            assert!(!text.contains(pii), "log contains {pii}: {text}");
        }
    }
}
