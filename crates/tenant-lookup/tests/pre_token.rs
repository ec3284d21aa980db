//! Handler tests of pre token generation over the in-memory directory: the security
//! invariants (tenant claims from the directory only, no reserved claim touched, fail closed),
//! request counts, configuration modes and robustness.

use std::time::Duration;

use serde_json::{json, Value};
use tenant_lookup::config::is_reserved_claim;
use tenant_lookup::{DenyCode, Trigger};
use test_support::handlers::{
    directory_from, pre_token, PreTokenHandler, Setup, ALICE, INITECH_MEMBER, NOW, POOL,
};
use test_support::seeds::{in_memory, HANDLERS};

fn setup(extra: &[(&str, &str)]) -> Setup<PreTokenHandler> {
    Setup::with(directory_from(HANDLERS, &[]), NOW, extra, pre_token)
}

fn event(version: &str, source: &str, sub: &str, client: &str) -> Value {
    json!({
        "version": version, "triggerSource": source, "region": "us-east-1", "userPoolId": POOL,
        "userName": "jane.doe@example.com",
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": client},
        "request": {
            "userAttributes": {"sub": sub, "email": "jane.doe@example.com", "email_verified": "false",
                               "name": "Jane Doe", "phone_number": "+12065551212", "custom:tenantId": "globex"},
            "groupConfiguration": {"groupsToOverride": ["g1"], "iamRolesToOverride": [], "preferredRole": null},
            "scopes": ["openid"],
            "clientMetadata": {"tenantId": "globex"}
        },
        "response": {}
    })
}

fn user_event(version: &str) -> Value {
    event(
        version,
        "TokenGeneration_Authentication",
        ALICE,
        "shared-web",
    )
}

fn m2m_event() -> Value {
    let mut e = event("3", "TokenGeneration_ClientCredentials", "", "acme-web");
    e["request"]["userAttributes"] = json!({});
    e
}

#[tokio::test]
async fn tenant_claims_come_only_from_the_directory() {
    let s = setup(&[]);
    let out = s.handler.handle(user_event("2")).await.unwrap();
    let d = &out["response"]["claimsAndScopeOverrideDetails"];
    assert_eq!(
        d["idTokenGeneration"]["claimsToAddOrOverride"]["tenantId"],
        "acme"
    );
    assert_eq!(
        d["idTokenGeneration"]["claimsToAddOrOverride"]["custom:tenantId"], "acme",
        "spoofed attribute overwritten"
    );
    assert_eq!(
        d["accessTokenGeneration"]["claimsToAddOrOverride"]["tenantId"],
        "acme"
    );
    assert_eq!(
        d["accessTokenGeneration"]["scopesToAdd"],
        json!(["reports/export"])
    );
    assert_eq!(
        d["groupOverrideDetails"]["groupsToOverride"],
        json!(["admin"])
    );
}

#[tokio::test]
async fn a_warm_user_invocation_makes_exactly_one_request_and_a_machine_one_none() {
    let s = setup(&[]);
    s.handler.handle(user_event("2")).await.unwrap();
    s.handler.handle(m2m_event()).await.unwrap();
    s.dir.reset_requests();
    s.handler.handle(user_event("2")).await.unwrap();
    assert_eq!(s.dir.requests().reads, 1, "only the membership query");
    s.dir.reset_requests();
    s.handler.handle(m2m_event()).await.unwrap();
    assert_eq!(s.dir.requests().reads, 0);
    assert_eq!(s.dir.requests().writes, 0);
}

#[tokio::test]
async fn a_directory_failure_never_yields_a_token() {
    let s = setup(&[("NO_TENANT_POLICY", "issue-without-tenant-claims")]);
    s.dir.set_unavailable(true);
    for e in [user_event("1"), user_event("2"), m2m_event()] {
        let err = s.handler.handle(e).await.unwrap_err();
        assert_eq!(err.code, DenyCode::DirectoryUnavailable);
        assert_eq!(
            err.to_string(),
            "DIRECTORY_UNAVAILABLE: sign-in is temporarily unavailable, try again"
        );
    }
}

#[tokio::test]
async fn a_suspension_stops_tokens_including_refresh_within_the_cache_ttl() {
    let s = setup(&[]);
    s.handler
        .handle(event("2", "TokenGeneration_RefreshTokens", ALICE, "x"))
        .await
        .unwrap();
    s.dir.update_tenant("acme", |t| {
        t.status = tenant_lookup::domain::model::TenantStatus::Suspended
    });
    s.clock.advance(Duration::from_secs(60));
    for source in [
        "TokenGeneration_RefreshTokens",
        "TokenGeneration_Authentication",
    ] {
        let err = s
            .handler
            .handle(event("2", source, ALICE, "x"))
            .await
            .unwrap_err();
        assert_eq!(err.code, DenyCode::TenantSuspended);
    }
    assert_eq!(
        s.handler.handle(m2m_event()).await.unwrap_err().code,
        DenyCode::TenantSuspended
    );
    let err = s
        .handler
        .handle(event(
            "2",
            "TokenGeneration_RefreshTokens",
            INITECH_MEMBER,
            "x",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code, DenyCode::TenantSuspended);
}

#[tokio::test]
async fn no_tenant_is_denied_by_default_and_issued_bare_when_configured() {
    let stranger = || event("2", "TokenGeneration_Authentication", "nobody", "x");
    let s = setup(&[]);
    assert_eq!(
        s.handler.handle(stranger()).await.unwrap_err().code,
        DenyCode::NoTenant
    );

    let s = setup(&[("NO_TENANT_POLICY", "issue-without-tenant-claims")]);
    let out = s.handler.handle(stranger()).await.unwrap();
    let d = &out["response"]["claimsAndScopeOverrideDetails"];
    assert_eq!(
        d["idTokenGeneration"],
        json!({"claimsToSuppress": ["custom:tenantId"]})
    );
    assert_eq!(
        d["groupOverrideDetails"]["groupsToOverride"],
        json!([]),
        "replace mode: no roles, no groups"
    );
    assert!(d.get("accessTokenGeneration").is_none());
    let v1 = s
        .handler
        .handle(event("1", "TokenGeneration_Authentication", "nobody", "x"))
        .await
        .unwrap();
    assert_eq!(
        v1["response"]["claimsOverrideDetails"]["claimsToSuppress"],
        json!(["custom:tenantId"])
    );
    // A suspended tenant is never "no tenant".
    let err = s
        .handler
        .handle(event(
            "2",
            "TokenGeneration_Authentication",
            INITECH_MEMBER,
            "x",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code, DenyCode::TenantSuspended);
    // Nor is a conflict.
    let err = s
        .handler
        .handle(event(
            "2",
            "TokenGeneration_Authentication",
            ALICE,
            "globex-web",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code, DenyCode::TenantConflict);
}

#[tokio::test]
async fn groups_modes_and_claim_names_are_configurable() {
    let s = setup(&[
        ("GROUPS_MODE", "merge"),
        ("TENANT_ID_CLAIM", "tid"),
        ("TENANT_TIER_CLAIM", "plan"),
    ]);
    let out = s.handler.handle(user_event("2")).await.unwrap();
    let d = &out["response"]["claimsAndScopeOverrideDetails"];
    assert_eq!(
        d["groupOverrideDetails"]["groupsToOverride"],
        json!(["g1", "admin"])
    );
    assert_eq!(
        d["accessTokenGeneration"]["claimsToAddOrOverride"],
        json!({"tid": "acme", "plan": "premium"})
    );

    let s = setup(&[("GROUPS_MODE", "off")]);
    let out = s.handler.handle(user_event("2")).await.unwrap();
    assert!(out["response"]["claimsAndScopeOverrideDetails"]
        .get("groupOverrideDetails")
        .is_none());
}

fn claim_names_in(response: &Value, out: &mut Vec<String>) {
    match response {
        Value::Object(m) => {
            for (k, v) in m {
                if k == "claimsToAddOrOverride" {
                    out.extend(v.as_object().unwrap().keys().cloned());
                } else if k == "claimsToSuppress" {
                    out.extend(
                        v.as_array()
                            .unwrap()
                            .iter()
                            .map(|x| x.as_str().unwrap().to_string()),
                    );
                } else {
                    claim_names_in(v, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| claim_names_in(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn no_reserved_claim_is_ever_added_overridden_or_suppressed() {
    for policy in ["deny", "issue-without-tenant-claims"] {
        for mode in ["replace", "merge", "off"] {
            let s = setup(&[("NO_TENANT_POLICY", policy), ("GROUPS_MODE", mode)]);
            for e in [
                user_event("1"),
                user_event("2"),
                user_event("3"),
                m2m_event(),
                event("2", "TokenGeneration_Authentication", "nobody", "x"),
                event("1", "TokenGeneration_Authentication", "nobody", "x"),
            ] {
                if let Ok(out) = s.handler.handle(e).await {
                    let mut names = Vec::new();
                    claim_names_in(&out["response"], &mut names);
                    for n in names {
                        assert!(!is_reserved_claim(&n), "{n} emitted ({policy}, {mode})");
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn the_whole_event_comes_back_with_only_the_response_changed() {
    let s = setup(&[]);
    let mut e = user_event("2");
    e["someFutureField"] = json!({"nested": [1, 2, 3]});
    let out = s.handler.handle(e.clone()).await.unwrap();
    let mut without_response = out.clone();
    without_response["response"] = json!({});
    assert_eq!(without_response, e);
}

#[tokio::test]
async fn version_1_client_credentials_is_refused_rather_than_issued_without_tenant() {
    let s = setup(&[]);
    let mut e = m2m_event();
    e["version"] = json!("1");
    assert_eq!(
        s.handler.handle(e.clone()).await.unwrap_err().code,
        DenyCode::InvalidEvent
    );
    // Cognito sends client credentials as version 3 only; version 2's answer can change the
    // access token too, so one arriving as version 2 gets its tenant claims, not a refusal.
    e["version"] = json!("2");
    let out = s.handler.handle(e).await.unwrap();
    assert_eq!(
        out["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"]
            ["claimsToAddOrOverride"]["tenantId"],
        "acme"
    );
}

/// A user event in version 1's shape, as cognito-local 5.3.0 sends every token event:
/// `version` as given (`None`: absent), no scopes, `response.claimsOverrideDetails`.
fn v1_shaped(version: Option<&str>) -> Value {
    let mut e = user_event("1");
    match version {
        Some(v) => e["version"] = json!(v),
        None => {
            e.as_object_mut().unwrap().remove("version");
        }
    }
    e["request"].as_object_mut().unwrap().remove("scopes");
    e["request"]["groupConfiguration"] = json!({});
    e["response"] = json!({"claimsOverrideDetails": {}});
    e
}

#[tokio::test]
async fn version_0_or_none_of_a_version_1_shaped_event_is_answered_as_version_1() {
    let s = setup(&[]);
    let want = s.handler.handle(v1_shaped(Some("1"))).await.unwrap()["response"].clone();
    assert_eq!(
        want["claimsOverrideDetails"]["claimsToAddOrOverride"],
        json!({"tenantId": "acme", "tenantTier": "premium", "custom:tenantId": "acme"})
    );
    assert_eq!(
        want["claimsOverrideDetails"]["groupOverrideDetails"]["groupsToOverride"],
        json!(["admin"])
    );
    for version in [Some("0"), None] {
        let event = v1_shaped(version);
        let out = s.handler.handle(event.clone()).await.unwrap();
        assert_eq!(out["response"], want, "version {version:?}");
        assert!(out["response"]
            .get("claimsAndScopeOverrideDetails")
            .is_none());
        // Everything but the response comes back as sent, the version included.
        let (mut sent, mut got) = (event, out);
        sent.as_object_mut().unwrap().remove("response");
        got.as_object_mut().unwrap().remove("response");
        assert_eq!(got, sent);
    }
}

#[tokio::test]
async fn version_0_loosens_nothing_else() {
    let s = setup(&[]);
    let invalid = |e: Value| async { s.handler.handle(e).await.unwrap_err().code };
    // An unreadable version on version 1's shape.
    assert_eq!(invalid(v1_shaped(Some("x"))).await, DenyCode::InvalidEvent);
    // "0" or none on version 2's shape (scopes, claimsAndScopeOverrideDetails).
    for version in ["0", ""] {
        let mut e = user_event(version);
        if version.is_empty() {
            e.as_object_mut().unwrap().remove("version");
        }
        assert_eq!(invalid(e).await, DenyCode::InvalidEvent, "{version:?}");
    }
    // A machine event answered as version 1 is refused, as version 1's is.
    let mut m2m = m2m_event();
    m2m["version"] = json!("0");
    m2m["response"] = json!({"claimsOverrideDetails": {}});
    m2m["request"].as_object_mut().unwrap().remove("scopes");
    assert_eq!(invalid(m2m).await, DenyCode::InvalidEvent);
}

/// Every value of every field replaced by every JSON kind: the handler answers, never panics.
#[tokio::test]
async fn never_panics_on_any_json_shape() {
    fn paths(v: &Value, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        if let Value::Object(m) = v {
            for (k, child) in m {
                let mut p = prefix.clone();
                p.push(k.clone());
                out.push(p.clone());
                paths(child, p, out);
            }
        }
    }
    let s = setup(&[]);
    let base = user_event("2");
    let mut all = Vec::new();
    paths(&base, Vec::new(), &mut all);
    let kinds = [
        json!(null),
        json!(true),
        json!(-1),
        json!(1e300),
        json!("x"),
        json!([]),
        json!([null, 1]),
        json!({}),
    ];
    let mut answered = 0;
    for p in &all {
        for k in &kinds {
            let mut e = base.clone();
            let mut cur = &mut e;
            for seg in &p[..p.len() - 1] {
                cur = cur.get_mut(seg).unwrap();
            }
            cur[p.last().unwrap()] = k.clone();
            let _ = s.handler.handle(e).await;
            answered += 1;
        }
    }
    for e in [
        json!(null),
        json!([]),
        json!("event"),
        json!(42),
        json!({"userPoolId": {"a": 1}}),
    ] {
        assert_eq!(
            s.handler.handle(e).await.unwrap_err().code,
            DenyCode::InvalidEvent
        );
    }
    assert_eq!(answered, all.len() * kinds.len());
}

/// Only "no tenant at all" is covered by the no-tenant policy: a membership in a tenant that
/// does not exist fails closed, and a suspended membership is denied with its own code.
#[tokio::test]
async fn the_no_tenant_policy_never_covers_a_broken_or_suspended_membership() {
    let dir = in_memory(
        r#"{"tenants":[{"id":"acme","tier":"premium"}],
            "members":[{"userPoolId":"us-east-1_Shared0Pool","sub":"ghost-member","tenantId":"gone"},
                       {"userPoolId":"us-east-1_Shared0Pool","sub":"benched","tenantId":"acme","status":"suspended"}]}"#,
        &["gone"],
        0,
    );
    let handler = Setup::with(
        dir,
        0,
        &[("NO_TENANT_POLICY", "issue-without-tenant-claims")],
        pre_token,
    )
    .handler;
    let broken = event("2", "TokenGeneration_Authentication", "ghost-member", "x");
    assert_eq!(
        handler.handle(broken).await.unwrap_err().code,
        DenyCode::DirectoryUnavailable
    );
    let benched = event("2", "TokenGeneration_RefreshTokens", "benched", "x");
    let err = handler.handle(benched).await.unwrap_err();
    assert_eq!(err.code, DenyCode::MembershipSuspended);
    assert_eq!(
        err.to_string(),
        "MEMBERSHIP_SUSPENDED: your access to this organization is suspended"
    );
}
