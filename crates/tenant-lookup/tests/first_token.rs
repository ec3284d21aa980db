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
        !s.invitations()
            .iter()
            .any(|i| i.email == "new.hire@acme.example"),
        "invitation consumed"
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
    // (client, email, code): no write in any of these.
    let cases = [
        ("shared-web", "bob@acme.example", DenyCode::SignupNotAllowed),
        (
            "stark-web",
            "tony@mail.example",
            DenyCode::EmailDomainNotAllowed,
        ),
        (
            "shared-web",
            "milton@initech.example",
            DenyCode::TenantSuspended,
        ),
        (
            "hooli-web",
            "gavin@mail.example",
            DenyCode::SeatLimitReached,
        ),
        (
            "acme-web",
            "contractor@acme.example",
            DenyCode::TenantConflict,
        ),
        (
            "shared-web",
            "twice@partner.example",
            DenyCode::TenantAmbiguous,
        ),
        ("shared-web", "drifter@mail.example", DenyCode::NoTenant),
    ];
    for (client, email, code) in cases {
        let s = setup();
        let e = token(client, email, "true");
        let run = s.run(e.clone()).await;
        assert_eq!(run.err().code, code, "{client} {email}");
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
    let s = setup();
    let mut e = token("shared-web", "jdoe@mail.example", "true");
    e["userName"] = json!("AcmeSAML_jdoe");
    e["triggerSource"] = json!("TokenGeneration_HostedAuth");
    e["request"]["userAttributes"]["cognito:user_status"] = json!("EXTERNAL_PROVIDER");
    e["request"]["userAttributes"]["identities"] = json!(identities("AcmeSAML", "jdoe"));
    let run = s.run(e).await;
    assert_eq!(id_claims(run.ok())["tenantId"], "acme");
    assert_eq!(run.decided(), ("acme", "idp"));
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
