//! Handler tests of pre sign-up over the in-memory directory: one test per admission rule
//! (each fails if its rule is removed), the flags, robustness, and that the trigger writes
//! nothing and tells a denied user nothing about other tenants.

use serde_json::{json, Value};
use tenant_lookup::DenyCode;
use test_support::handlers::*;
use test_support::seeds::HANDLERS as SEED;

type Handler = PreSignUpHandler;

fn setup() -> Setup<Handler> {
    Setup::new(pre_signup)
}

const SIGN_UP: &str = "PreSignUp_SignUp";
const EXTERNAL: &str = "PreSignUp_ExternalProvider";
const ADMIN: &str = "PreSignUp_AdminCreateUser";
const NO_CLIENT: &str = "CLIENT_ID_NOT_APPLICABLE";

/// A pre sign-up event as Cognito sends it: no `sub`, `validationData` null, all flags false.
fn signup(source: &str, user_name: &str, client_id: &str, attributes: Value) -> Value {
    let mut e = event(source, user_name, client_id, attributes);
    e["request"]["validationData"] = Value::Null;
    e["response"] =
        json!({"autoConfirmUser": false, "autoVerifyEmail": false, "autoVerifyPhone": false});
    e
}

fn local(client_id: &str, email: &str) -> Value {
    signup(SIGN_UP, "someone", client_id, json!({"email": email}))
}

fn federated(user_name: &str, client_id: &str, attributes: Value) -> Value {
    signup(EXTERNAL, user_name, client_id, attributes)
}

fn admin(email: &str) -> Value {
    signup(
        ADMIN,
        "someone",
        NO_CLIENT,
        json!({"email": email, "email_verified": "true"}),
    )
}

/// `(autoConfirmUser, autoVerifyEmail)` of an admitted event; autoVerifyPhone is always false.
fn flags(answer: &Value) -> (bool, bool) {
    let r = &answer["response"];
    assert_eq!(
        r.as_object().unwrap().len(),
        3,
        "exactly the three flags: {r}"
    );
    assert_eq!(r["autoVerifyPhone"], json!(false), "never autoVerifyPhone");
    (
        r["autoConfirmUser"].as_bool().unwrap(),
        r["autoVerifyEmail"].as_bool().unwrap(),
    )
}

/// Admits and returns `(tenant, rule, flags)`.
async fn admitted(s: &Setup<Handler>, event: Value) -> (String, String, (bool, bool)) {
    let run = s.run(event).await;
    let f = flags(run.ok());
    let (tenant, rule) = run.decided();
    (tenant.to_string(), rule.to_string(), f)
}

async fn denied(s: &Setup<Handler>, event: Value) -> DenyCode {
    let run = s.run(event.clone()).await;
    let e = run.err();
    assert_discreet(e, &event);
    e.code
}

/// A conflict or an ambiguity is shown as `SIGNUP_NOT_ALLOWED` (it would reveal whether some
/// other tenant routes or invited the address); returns the real code, which leads the reason.
async fn refused_because(s: &Setup<Handler>, event: Value) -> String {
    let run = s.run(event.clone()).await;
    let e = run.err();
    assert_discreet(e, &event);
    assert_eq!(e.code, DenyCode::SignupNotAllowed);
    e.reason.split(':').next().unwrap_or_default().to_string()
}

const NO_FLAGS: (bool, bool) = (false, false);

// --- Sources --------------------------------------------------------------------------------

#[tokio::test]
async fn a_pool_route_admits_into_the_silo_tenant() {
    let s = setup();
    let e = in_pool(local("umbrella-web", "rita@mail.example"), SILO);
    assert_eq!(
        admitted(&s, e).await,
        ("umbrella".into(), "pool".into(), NO_FLAGS)
    );
}

#[tokio::test]
async fn a_client_route_admits_and_the_domain_route_is_only_a_default() {
    let s = setup();
    // The email's domain routes to acme (no self sign-up); the app client is globex's.
    assert_eq!(
        admitted(&s, local("globex-web", "sam@acme.example")).await,
        ("globex".into(), "client".into(), NO_FLAGS)
    );
    // Without an explicit source, the domain route answers.
    assert_eq!(
        admitted(&s, local("shared-web", "sam@globex.example")).await,
        ("globex".into(), "domain".into(), NO_FLAGS)
    );
}

#[tokio::test]
async fn an_idp_route_admits_a_federated_user_without_self_sign_up() {
    let s = setup();
    let e = federated(
        "AcmeSAML_jdoe_x@acme.example",
        "shared-web",
        json!({"email": "jdoe_x@acme.example"}),
    );
    assert_eq!(
        admitted(&s, e).await,
        ("acme".into(), "idp".into(), (true, true))
    );
}

#[tokio::test]
async fn the_provider_is_the_user_name_up_to_its_first_underscore_in_any_case() {
    let s = setup();
    for user in [
        "AcmeSAML_jdoe_x@acme.example",
        "acmesaml_jdoe_x@acme.example",
        "ACMESAML_HooliSAML_x",
        "AcmeSaml__",
    ] {
        let e = federated(user, "shared-web", json!({"email": "jdoe_x@acme.example"}));
        assert_eq!(admitted(&s, e).await.0, "acme", "{user}");
    }
    // No underscore, or nothing before or after it: no provider, so no IDP route. The acme
    // domain route then answers, and acme has no self sign-up.
    for user in ["AcmeSAML", "_AcmeSAML_x", "AcmeSAML_"] {
        let e = federated(user, "shared-web", json!({"email": "jdoe_x@acme.example"}));
        assert_eq!(denied(&s, e).await, DenyCode::SignupNotAllowed, "{user}");
    }
}

#[tokio::test]
async fn provider_names_are_matched_within_the_pool_only() {
    let s = setup();
    // UmbrellaAD is a provider of the silo pool, not of the shared pool.
    let e = federated(
        "UmbrellaAD_u1",
        "shared-web",
        json!({"email": "u1@mail.example"}),
    );
    assert_eq!(denied(&s, e).await, DenyCode::SignupNotAllowed);
    let e = in_pool(
        federated(
            "UmbrellaAD_u1",
            "umbrella-web",
            json!({"email": "u1@umbrella.example"}),
        ),
        SILO,
    );
    assert_eq!(
        admitted(&s, e).await,
        ("umbrella".into(), "idp".into(), (true, true))
    );
}

#[tokio::test]
async fn the_idp_route_is_never_consulted_for_a_local_user_that_looks_federated() {
    let s = setup();
    // Everything a local sign-up could use to pose as AcmeSAML's user.
    let attributes = json!({
        "email": "x@mail.example", "cognito:user_status": "EXTERNAL_PROVIDER",
        "identities": identities("AcmeSAML", "x")
    });
    let e = signup(SIGN_UP, "AcmeSAML_x", "shared-web", attributes.clone());
    assert_eq!(denied(&s, e).await, DenyCode::SignupNotAllowed);
    let e = signup(
        "PreSignUp_SomethingNew",
        "AcmeSAML_x",
        "shared-web",
        attributes.clone(),
    );
    assert_eq!(denied(&s, e).await, DenyCode::SignupNotAllowed);
    // AdminCreateUser: no tenant resolves (acme would, through the IDP route).
    let e = signup(ADMIN, "AcmeSAML_x", NO_CLIENT, attributes);
    assert_eq!(
        admitted(&s, e).await,
        ("".into(), "admin-without-tenant".into(), NO_FLAGS)
    );
}

#[tokio::test]
async fn an_unexpired_invitation_admits_without_self_sign_up() {
    let s = setup();
    assert_eq!(
        admitted(&s, local("shared-web", "new.hire@acme.example")).await,
        ("acme".into(), "invitation".into(), NO_FLAGS)
    );
    // Emails match case-insensitively.
    assert_eq!(
        admitted(&s, local("shared-web", " New.Hire@ACME.example "))
            .await
            .0,
        "acme"
    );
}

#[tokio::test]
async fn an_invitation_outranks_the_domain_route() {
    let s = setup();
    // contractor@acme.example is invited to globex; acme.example routes to acme.
    assert_eq!(
        admitted(&s, local("shared-web", "contractor@acme.example")).await,
        ("globex".into(), "invitation".into(), NO_FLAGS)
    );
    // vip@mail.example: an invitation with no domain route at all.
    assert_eq!(
        admitted(&s, local("shared-web", "vip@mail.example"))
            .await
            .0,
        "globex"
    );
}

#[tokio::test]
async fn an_expired_invitation_is_ignored() {
    let s = setup();
    // Falls back to the acme domain route, and acme has no self sign-up.
    assert_eq!(
        denied(&s, local("shared-web", "late@acme.example")).await,
        DenyCode::SignupNotAllowed
    );
    let before_expiry = Setup::with(directory_from(SEED, &[]), NOW - 2, &[], pre_signup);
    assert_eq!(
        admitted(&before_expiry, local("shared-web", "late@acme.example"))
            .await
            .1,
        "invitation"
    );
}

#[tokio::test]
async fn several_invitations_are_ambiguous_unless_a_route_picks_one() {
    let s = setup();
    assert_eq!(
        refused_because(&s, local("shared-web", "twice@partner.example")).await,
        "TENANT_AMBIGUOUS"
    );
    assert_eq!(
        admitted(&s, local("globex-web", "twice@partner.example")).await,
        ("globex".into(), "invitation".into(), NO_FLAGS)
    );
}

#[tokio::test]
async fn explicit_sources_and_invitations_must_agree() {
    let s = setup();
    // POOL route (umbrella) and CLIENT route (globex).
    let e = in_pool(local("globex-silo-web", "rita@mail.example"), SILO);
    assert_eq!(refused_because(&s, e).await, "TENANT_CONFLICT");
    // IDP route (acme) and CLIENT route (hooli).
    let e = federated(
        "AcmeSAML_jdoe",
        "hooli-web",
        json!({"email": "jdoe@acme.example"}),
    );
    assert_eq!(refused_because(&s, e).await, "TENANT_CONFLICT");
    // CLIENT route (acme) and an invitation to globex.
    assert_eq!(
        refused_because(&s, local("acme-web", "contractor@acme.example")).await,
        "TENANT_CONFLICT"
    );
    // IDP route (acme) and an invitation to globex.
    let e = federated(
        "AcmeSAML_contractor",
        "shared-web",
        json!({"email": "contractor@acme.example"}),
    );
    assert_eq!(refused_because(&s, e).await, "TENANT_CONFLICT");
    // Agreeing sources are fine: CLIENT route (acme) and an invitation to acme.
    assert_eq!(
        admitted(&s, local("acme-web", "new.hire@acme.example"))
            .await
            .1,
        "invitation"
    );
}

// --- Rules ----------------------------------------------------------------------------------

#[tokio::test]
async fn the_tenant_must_be_active() {
    let s = setup();
    // Named by the app client: the code is shown.
    assert_eq!(
        denied(&s, local("initech-web", "milton@mail.example")).await,
        DenyCode::TenantSuspended
    );
    // Found from the email (a domain route): shown as SIGNUP_NOT_ALLOWED, logged as suspended,
    // so typing an address tells nobody in what state its tenant is.
    assert_eq!(
        refused_because(&s, local("shared-web", "milton@initech.example")).await,
        "TENANT_SUSPENDED"
    );
    assert_eq!(
        refused_because(&s, admin("milton@initech.example")).await,
        "TENANT_SUSPENDED"
    );
}

#[tokio::test]
async fn the_tenant_must_exist() {
    let seed = r#"{"tiers": [{"id": "basic"}], "routes": [{"kind": "client", "userPoolId": "us-east-1_Shared0Pool", "key": "ghost-web", "tenantId": "ghost"}]}"#;
    let s = Setup::with(directory_from(seed, &["ghost"]), NOW, &[], pre_signup);
    // A route to a tenant that does not exist is an inconsistent directory: fail closed.
    assert_eq!(
        denied(&s, local("ghost-web", "x@mail.example")).await,
        DenyCode::DirectoryUnavailable
    );
}

#[tokio::test]
async fn without_self_sign_up_only_an_invitation_admits() {
    let s = setup();
    assert_eq!(
        denied(&s, local("acme-web", "bob@acme.example")).await,
        DenyCode::SignupNotAllowed
    );
    assert_eq!(
        denied(&s, local("shared-web", "bob@acme.example")).await,
        DenyCode::SignupNotAllowed
    );
    assert_eq!(
        admitted(&s, local("acme-web", "new.hire@acme.example"))
            .await
            .0,
        "acme"
    );
}

#[tokio::test]
async fn allowed_email_domains_apply_to_self_sign_up_and_invitations() {
    let s = setup();
    assert_eq!(
        denied(&s, local("stark-web", "tony@mail.example")).await,
        DenyCode::EmailDomainNotAllowed
    );
    assert_eq!(
        denied(&s, local("stark-web", "tony@sub.stark.example")).await,
        DenyCode::EmailDomainNotAllowed
    );
    let no_email = signup(
        SIGN_UP,
        "tony",
        "stark-web",
        json!({"phone_number": "+12065550100"}),
    );
    assert_eq!(denied(&s, no_email).await, DenyCode::EmailDomainNotAllowed);
    assert_eq!(
        admitted(&s, local("stark-web", "pepper@Stark.Example"))
            .await
            .0,
        "stark"
    );
    // acme-web picks acme's invitation for twice@partner.example, outside acme's domains.
    assert_eq!(
        denied(&s, local("acme-web", "twice@partner.example")).await,
        DenyCode::EmailDomainNotAllowed
    );
}

#[tokio::test]
async fn a_federated_user_of_an_idp_route_needs_neither_self_sign_up_nor_an_allowed_domain() {
    let s = setup();
    // acme: no self sign-up, acme.example only.
    let e = federated(
        "AcmeSAML_jdoe",
        "shared-web",
        json!({"email": "jdoe.personal@mail.example"}),
    );
    assert_eq!(
        admitted(&s, e).await,
        ("acme".into(), "idp".into(), NO_FLAGS)
    );
    // A federated user of a provider without an IDP route is held to the local rules.
    let e = federated(
        "Google_1098",
        "shared-web",
        json!({"email": "bob@acme.example", "email_verified": "true"}),
    );
    assert_eq!(denied(&s, e).await, DenyCode::SignupNotAllowed);
    let e = federated(
        "Google_1098",
        "shared-web",
        json!({"email": "sam@globex.example", "email_verified": "true"}),
    );
    assert_eq!(
        admitted(&s, e).await,
        ("globex".into(), "domain".into(), NO_FLAGS)
    );
}

#[tokio::test]
async fn seats_are_checked_for_everyone() {
    let s = setup();
    assert_eq!(
        denied(&s, local("hooli-web", "gavin@mail.example")).await,
        DenyCode::SeatLimitReached
    );
    assert_eq!(
        refused_because(&s, local("shared-web", "gavin@hooli.example")).await,
        "SEAT_LIMIT_REACHED"
    );
    let e = federated(
        "HooliSAML_gavin",
        "shared-web",
        json!({"email": "gavin@hooli.example"}),
    );
    assert_eq!(denied(&s, e).await, DenyCode::SeatLimitReached);
    assert_eq!(
        refused_because(&s, admin("gavin@hooli.example")).await,
        "SEAT_LIMIT_REACHED"
    );

    let s = setup();
    s.dir.update_tenant("hooli", |t| t.max_users = Some(2));
    assert_eq!(
        admitted(&s, local("hooli-web", "gavin@mail.example"))
            .await
            .0,
        "hooli"
    );
}

// --- Flags ----------------------------------------------------------------------------------

#[tokio::test]
async fn only_a_trusted_idp_vouching_for_an_email_within_the_tenant_s_domains_auto_confirms() {
    let s = setup();
    let cases = [
        // (userName, attributes, flags)
        (
            "AcmeSAML_jdoe",
            json!({"email": "jdoe@acme.example"}),
            (true, true),
        ),
        (
            "AcmeSAML_jdoe",
            json!({"email": "JDoe@ACME.example", "phone_number": "+12065550100"}),
            (true, true),
        ),
        (
            "AcmeSAML_jdoe",
            json!({"email": "jdoe@mail.example"}),
            NO_FLAGS,
        ),
        (
            "AcmeSAML_jdoe",
            json!({"email": "jdoe@eu.acme.example"}),
            NO_FLAGS,
        ),
        (
            "AcmeSAML_jdoe",
            json!({"phone_number": "+12065550100"}),
            NO_FLAGS,
        ),
        (
            "AcmeSAML_jdoe",
            json!({"email": "", "phone_number": "+12065550100"}),
            NO_FLAGS,
        ),
        ("AcmeSAML_jdoe", json!({"email": "   "}), NO_FLAGS),
        // GlobexOIDC is not trusted for email, even when the IdP says it verified it.
        (
            "GlobexOIDC_abc",
            json!({"email": "hank@globex.example", "email_verified": "true"}),
            NO_FLAGS,
        ),
        // A trusted IdP of a tenant without allowedEmailDomains, whose route names no
        // emailDomains, vouches for nobody: it could claim any company's address.
        ("HooliSAML_x", json!({"email": "x@mail.example"}), NO_FLAGS),
        ("HooliSAML_h", json!({"email": "h@hooli.example"}), NO_FLAGS),
        // There must be an email: autoVerifyEmail without one fails the sign-up.
        (
            "HooliSAML_y",
            json!({"phone_number": "+12065550100"}),
            NO_FLAGS,
        ),
        ("HooliSAML_z", json!({"email": ""}), NO_FLAGS),
    ];
    s.dir.update_tenant("hooli", |t| t.max_users = None);
    for (user, attributes, want) in cases {
        let e = federated(user, "shared-web", attributes.clone());
        assert_eq!(admitted(&s, e).await.2, want, "{user} {attributes}");
    }
    // The route's own emailDomains: within them, vouched; outside, not.
    let silo = |email: &str| {
        in_pool(
            federated("UmbrellaAD_u", "umbrella-web", json!({"email": email})),
            SILO,
        )
    };
    assert_eq!(
        admitted(&s, silo("u@umbrella.example")).await.2,
        (true, true)
    );
    assert_eq!(admitted(&s, silo("u@acme.example")).await.2, NO_FLAGS);
}

#[tokio::test]
async fn no_other_path_sets_a_flag() {
    let s = setup();
    let attributes = json!({"email": "jdoe@acme.example", "email_verified": "true", "phone_number": "+12065550100",
                            "phone_number_verified": "true", "identities": identities("AcmeSAML", "jdoe")});
    let trusted_user = "AcmeSAML_jdoe";
    // The same user, through every other source: an invitation admits them in each case.
    for source in [SIGN_UP, ADMIN, "PreSignUp_SomethingNew", ""] {
        let mut attributes = attributes.clone();
        attributes["email"] = json!("new.hire@acme.example");
        let e = signup(source, trusted_user, "acme-web", attributes);
        assert_eq!(admitted(&s, e).await.2, NO_FLAGS, "{source:?}");
    }
    let mut e = signup(SIGN_UP, trusted_user, "acme-web", attributes);
    e.as_object_mut().unwrap().remove("triggerSource");
    e["request"]["userAttributes"]["email"] = json!("new.hire@acme.example");
    assert_eq!(admitted(&s, e).await.2, NO_FLAGS, "no triggerSource");
}

#[tokio::test]
async fn admin_create_user_only_validates_and_sets_no_flags() {
    let s = setup();
    // No tenant resolves: admitted, to be placed later (import or first-token provisioning).
    assert_eq!(
        admitted(&s, admin("walk.in@mail.example")).await,
        ("".into(), "admin-without-tenant".into(), NO_FLAGS)
    );
    // acme has no self sign-up: an administrator needs none.
    assert_eq!(
        admitted(&s, admin("bob@acme.example")).await,
        ("acme".into(), "domain".into(), NO_FLAGS)
    );
    // stark allows stark.example only: an administrator is not held to it.
    let mut e = admin("tony@mail.example");
    e["callerContext"]["clientId"] = json!("stark-web");
    assert_eq!(admitted(&s, e).await.0, "stark");
    // Flags sent in are answered false.
    let mut e = admin("new.hire@acme.example");
    e["response"] =
        json!({"autoConfirmUser": true, "autoVerifyEmail": true, "autoVerifyPhone": true});
    assert_eq!(
        admitted(&s, e).await,
        ("acme".into(), "invitation".into(), NO_FLAGS)
    );
}

#[tokio::test]
async fn the_incoming_response_is_replaced_whatever_its_shape() {
    let s = setup();
    let shapes = [
        json!({"autoConfirmUser": false, "autoVerifyEmail": false, "autoVerifyPhone": false}),
        json!({}),
        Value::Null,
        json!({"autoConfirmUser": true, "autoVerifyEmail": true, "autoVerifyPhone": true, "extra": 1}),
        json!([]),
    ];
    for shape in shapes {
        let mut e = local("shared-web", "sam@globex.example");
        e["response"] = shape.clone();
        let out = s.run(e.clone()).await.ok().clone();
        assert_eq!(
            out["response"],
            json!({"autoConfirmUser": false, "autoVerifyEmail": false, "autoVerifyPhone": false})
        );
        let (mut rest, mut sent) = (out, e);
        rest.as_object_mut().unwrap().remove("response");
        sent.as_object_mut().unwrap().remove("response");
        assert_eq!(rest, sent, "only the response changes ({shape})");
    }
    let mut e = local("shared-web", "sam@globex.example");
    e.as_object_mut().unwrap().remove("response");
    assert_eq!(
        s.run(e).await.ok()["response"]["autoConfirmUser"],
        json!(false)
    );
}

// --- What is never an authority -------------------------------------------------------------

#[tokio::test]
async fn custom_attributes_validation_data_and_client_metadata_are_never_an_authority() {
    let s = setup();
    let spoof = |mut e: Value| {
        e["request"]["userAttributes"]["custom:tenantId"] = json!("globex");
        e["request"]["userAttributes"]["custom:role"] = json!("admin");
        e["request"]["validationData"] = json!({"tenantId": "globex", "autoConfirmUser": "true"});
        e["request"]["clientMetadata"] = json!({"tenantId": "globex", "autoVerifyEmail": "true"});
        e
    };
    // globex admits anyone who gets there: a user who only names it is not admitted.
    assert_eq!(
        denied(&s, spoof(local("shared-web", "mallory@mail.example"))).await,
        DenyCode::SignupNotAllowed
    );
    // Nor placed there when something else decides, nor given flags.
    assert_eq!(
        admitted(&s, spoof(local("acme-web", "new.hire@acme.example"))).await,
        ("acme".into(), "invitation".into(), NO_FLAGS)
    );
    let e = spoof(federated(
        "GlobexOIDC_m",
        "shared-web",
        json!({"email": "m@globex.example"}),
    ));
    assert_eq!(
        admitted(&s, e).await,
        ("globex".into(), "idp".into(), NO_FLAGS)
    );
}

#[tokio::test]
async fn a_user_without_an_email_is_placed_by_routes_only() {
    let s = setup();
    let phone_only = json!({"phone_number": "+12065550100", "phone_number_verified": "true"});
    let e = signup(SIGN_UP, "p", "shared-web", phone_only.clone());
    assert_eq!(denied(&s, e).await, DenyCode::SignupNotAllowed);
    let e = in_pool(signup(SIGN_UP, "p", "umbrella-web", phone_only), SILO);
    assert_eq!(
        admitted(&s, e).await,
        ("umbrella".into(), "pool".into(), NO_FLAGS)
    );
}

// --- Writes, failures, disclosure -----------------------------------------------------------

fn assorted_events() -> Vec<Value> {
    vec![
        local("shared-web", "sam@globex.example"),
        local("shared-web", "new.hire@acme.example"),
        local("shared-web", "contractor@acme.example"),
        local("shared-web", "twice@partner.example"),
        local("acme-web", "contractor@acme.example"),
        local("acme-web", "bob@acme.example"),
        local("stark-web", "tony@mail.example"),
        local("hooli-web", "gavin@mail.example"),
        local("shared-web", "milton@initech.example"),
        local("initech-web", "milton@mail.example"),
        local("shared-web", "drifter@mail.example"),
        local("shared-web", "late@acme.example"),
        federated(
            "AcmeSAML_jdoe",
            "shared-web",
            json!({"email": "jdoe@acme.example"}),
        ),
        federated(
            "AcmeSAML_jdoe",
            "hooli-web",
            json!({"email": "jdoe@acme.example"}),
        ),
        federated(
            "GlobexOIDC_h",
            "shared-web",
            json!({"email": "h@globex.example"}),
        ),
        admin("walk.in@mail.example"),
        admin("new.hire@acme.example"),
        admin("gavin@hooli.example"),
        admin("twice@partner.example"),
        in_pool(local("umbrella-web", "rita@mail.example"), SILO),
    ]
}

#[tokio::test]
async fn pre_sign_up_never_writes() {
    let s = setup();
    let before = s.dir.contents();
    let mut admitted = 0;
    for e in assorted_events() {
        admitted += usize::from(s.run(e).await.result.is_ok());
    }
    assert!(
        admitted >= 5 && admitted < assorted_events().len(),
        "both outcomes exercised"
    );
    assert_eq!(s.dir.requests().writes, 0);
    assert_eq!(s.dir.contents(), before);
}

#[tokio::test]
async fn denials_show_a_stable_code_and_nothing_about_tenants() {
    let s = setup();
    let mut codes = std::collections::BTreeSet::new();
    for e in assorted_events() {
        if let Err(err) = &s.run(e.clone()).await.result {
            assert_discreet(err, &e);
            codes.insert(err.code.as_str());
        }
    }
    assert_eq!(
        codes.into_iter().collect::<Vec<_>>(),
        [
            "EMAIL_DOMAIN_NOT_ALLOWED",
            "SEAT_LIMIT_REACHED",
            "SIGNUP_NOT_ALLOWED",
            "TENANT_SUSPENDED"
        ]
    );
    // "No tenant takes you" reads the same as "this tenant does not take you".
    let nobody = s.run(local("shared-web", "drifter@mail.example")).await;
    let not_acme = s.run(local("acme-web", "bob@acme.example")).await;
    assert_eq!(nobody.err().to_string(), not_acme.err().to_string());
}

#[tokio::test]
async fn a_directory_failure_admits_nobody() {
    let s = setup();
    s.dir.set_unavailable(true);
    for e in [
        local("shared-web", "sam@globex.example"),
        federated(
            "AcmeSAML_jdoe",
            "shared-web",
            json!({"email": "jdoe@acme.example"}),
        ),
        // An administrator's user without a tenant is admitted, but not when the directory
        // could not say whether a tenant exists.
        admin("walk.in@mail.example"),
    ] {
        let run = s.run(e.clone()).await;
        assert_eq!(run.err().code, DenyCode::DirectoryUnavailable);
        assert_discreet(run.err(), &e);
    }
}

#[tokio::test]
async fn malformed_events_are_refused_not_admitted() {
    let s = setup();
    for e in [
        json!(null),
        json!("x"),
        json!({"triggerSource": SIGN_UP}),
        json!({"userPoolId": ""}),
    ] {
        assert_eq!(s.run(e).await.err().code, DenyCode::InvalidEvent);
    }
    // Attributes of odd shapes read as absent, never as a reason to admit.
    let mut e = local("shared-web", "x");
    e["request"]["userAttributes"] =
        json!({"email": ["sam@globex.example"], "custom:tenantId": {"id": "globex"}});
    assert_eq!(s.run(e).await.err().code, DenyCode::SignupNotAllowed);
}

#[tokio::test]
async fn logs_carry_the_decision_but_no_pii() {
    let s = setup();
    let e = federated(
        "AcmeSAML_jane.doe_x@acme.example",
        "shared-web",
        json!({"email": "jane.doe_x@acme.example", "name": "Jane Doe", "phone_number": "+12065550100"}),
    );
    let run = s.run(e).await;
    assert_eq!(run.log["decision"], "admit-auto-confirm");
    assert_eq!(run.log["trigger_source"], EXTERNAL);
    let run2 = s.run(local("shared-web", "jane.doe@mail.example")).await;
    assert_eq!(run2.log["decision"], "deny");
    assert_eq!(run2.log["code"], "SIGNUP_NOT_ALLOWED");
    for text in [&run.log_text, &run2.log_text] {
        for pii in [
            "jane.doe",
            "Jane Doe",
            "+1206",
            "mail.example",
            "acme.example",
        ] {
            assert!(!text.contains(pii), "log contains {pii}: {text}");
        }
    }
}
