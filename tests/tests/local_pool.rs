//! End to end through a Cognito emulator: cognito-local (pinned in `local-pool/package.json`)
//! calls the three functions under `cargo lambda watch` through `local-pool/lambda-adapter.js`,
//! against moto; the test drives the emulator with the AWS SDK (`localpool`), as an app would,
//! through the pool and directory of `local-pool/pool.template.json` (what `make pool` sets up).
//!
//! Skipped, saying so, only when Node.js is absent.

use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use localpool::{emulator, LocalPool, PoolError, PoolTemplate, Session, TokenUse, Verifier};
use serde_json::{json, Value};
use tenant_admin::tenants::TenantUpdate;
use tenant_admin::DirectoryDocument;
use tenant_lookup::domain::model::TenantStatus;
use test_support::cognito_local::{node, read_journal, CognitoLocal, LambdaAdapter};
use test_support::lambda_watch::{free_port, invoke_api};
use test_support::{fresh_table, moto, workspace_root, LambdaWatch, TestTable};

const PASSWORD: &str = "Passw0rd!";
/// No cache: a suspension reaches the very next refresh, with nothing to wait for.
const CACHE_TTL_SECONDS: &str = "0";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The SDK caller's view of a denial: `UserLambdaValidationException` and the message Cognito
/// shows, `<Trigger> failed with error <CODE>: <sentence>.`
#[track_caller]
fn assert_refused<T: std::fmt::Debug>(result: Result<T, PoolError>, trigger: &str, code: &str) {
    let err = result.expect_err("refused");
    assert_eq!(err.code(), Some("UserLambdaValidationException"), "{err}");
    let message = err.message().unwrap_or_default();
    let want = format!("{trigger} failed with error {code}: ");
    assert!(
        message.starts_with(&want) && message.ends_with('.'),
        "expected `{want}...`, got `{message}`"
    );
}

/// The function's own answers (before the adapter's changes) to the events about `sub`.
fn answers(journal: &Path, function: &str, sub: &str) -> Vec<Value> {
    read_journal(journal)
        .into_iter()
        .filter(|e| e["function"] == function && e["sub"] == sub)
        .collect()
}

async fn import(table: &TestTable, document: &Value) {
    let doc = DirectoryDocument::from_json(&document.to_string()).expect("a directory document");
    table.admin.import(&doc, now()).await.expect("import");
}

/// Both tokens of a session, checked against the pool's JWKS, as an API would.
fn claims(verifier: &Verifier, pool: &LocalPool, session: &Session) -> (Value, Value) {
    let client_id = pool.state.client_id(Some(&session.client)).unwrap();
    let id = verifier
        .verify(&session.id_token, TokenUse::Id, client_id)
        .expect("the ID token verifies");
    let access = verifier
        .verify(&session.access_token, TokenUse::Access, client_id)
        .expect("the access token verifies");
    assert_eq!(id.kid, "CognitoLocal");
    (id.claims, access.claims)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_pool_on_cognito_local_signs_up_confirms_signs_in_and_refreshes_through_the_triggers(
) {
    let Some(node) = node() else {
        eprintln!(
            "SKIPPED local_pool: Node.js is not installed (no `node` on PATH, NODE unset); \
             the local pool's end-to-end test needs it for cognito-local"
        );
        return;
    };
    let started = Instant::now();

    // DynamoDB (moto), the functions, the adapter, the emulator.
    let table = fresh_table().await;
    let watch = LambdaWatch::start(
        moto().endpoint(),
        table.name(),
        &[("CACHE_TTL_SECONDS", CACHE_TTL_SECONDS)],
    );
    // Each function started (built, if need be) before the emulator's first call waits on it.
    for function in ["pre-signup", "post-confirmation", "pre-token-generation"] {
        let refused = watch
            .invoke_value(function, &json!({}))
            .expect_err("{} is no event");
        assert_eq!(
            refused["errorType"], "INVALID_EVENT",
            "{function}: {refused}"
        );
    }
    let work = tempfile::tempdir().unwrap();
    let journal = work.path().join("journal.jsonl");
    let adapter = LambdaAdapter::start(&node, &watch.endpoint(), &journal);
    let emulator_dir = work.path().join("emulator");
    let port = free_port();
    emulator::write_config(
        &emulator_dir,
        adapter.endpoint(),
        &format!("http://127.0.0.1:{port}"),
    )
    .unwrap();
    let cognito = CognitoLocal::start(&node, &emulator_dir, port);
    eprintln!("processes ready after {:?}", started.elapsed());

    // The pool, its app clients and its directory, as `make pool` creates them.
    let template = PoolTemplate::from_json(
        &std::fs::read_to_string(workspace_root().join("local-pool/pool.template.json")).unwrap(),
    )
    .unwrap();
    let created = LocalPool::create(cognito.endpoint(), &template, &emulator_dir)
        .await
        .expect("pool and app clients created");
    import(&table, &created.directory).await;
    let pool = LocalPool::new(created.state.clone());
    let pool_id = pool.state.user_pool_id.clone();
    let verifier = Verifier::fetch(&pool.state.jwks_url(), pool.state.issuer()).unwrap();
    let membership = |sub: String| {
        let admin = &table.admin;
        let pool_id = pool_id.clone();
        async move {
            admin
                .export()
                .await
                .unwrap()
                .members
                .into_iter()
                .find(|m| m.user_pool_id == pool_id && m.sub == sub)
        }
    };

    // --- A sign-up no tenant takes: refused as Cognito shows it.
    assert_refused(
        pool.sign_up(None, "nobody@unknown.example", PASSWORD, &[])
            .await,
        "PreSignUp",
        "SIGNUP_NOT_ALLOWED",
    );

    // --- Self sign-up through the `domain` route, confirmed with the emailed code.
    let jane = pool
        .sign_up(
            None,
            "jane@acme.example",
            PASSWORD,
            &[("name".into(), "Jane".into())],
        )
        .await
        .expect("jane signs up");
    assert!(!jane.confirmed, "self sign-up is never auto-confirmed");
    assert!(pool
        .confirmation_code("jane@acme.example")
        .unwrap()
        .is_some());
    pool.confirm(None, "jane@acme.example").await.unwrap();
    let m = membership(jane.user_sub.clone())
        .await
        .expect("jane provisioned");
    assert_eq!(
        (m.tenant_id.as_str(), m.roles.clone()),
        ("acme", vec!["member".to_string()])
    );
    let confirmation = answers(&journal, "post-confirmation", &jane.user_sub);
    assert_eq!(confirmation.len(), 1);
    assert_eq!(
        confirmation[0]["functionError"],
        Value::Null,
        "{confirmation:?}"
    );
    assert_eq!(confirmation[0]["version"], "0", "what cognito-local sends");

    let session = pool
        .sign_in(None, "jane@acme.example", PASSWORD)
        .await
        .expect("jane signs in");
    let (id, access) = claims(&verifier, &pool, &session);
    assert_eq!(id["tenantId"], "acme");
    assert_eq!(id["tenantTier"], "premium");
    assert_eq!(id["custom:tenantId"], "acme");
    assert_eq!(id["cognito:groups"], json!(["member"]));
    assert_eq!(id["sub"], jane.user_sub.as_str());
    assert_eq!(access["sub"], jane.user_sub.as_str());
    // Version 1 (the only one cognito-local sends) changes the ID token only; what the same
    // function gives the access token of this user in a version 2 pool: the tenant claims and
    // the tier's scopes.
    let v2 = json!({
        "version": "2", "triggerSource": "TokenGeneration_Authentication", "region": "us-east-1",
        "userPoolId": pool_id, "userName": jane.user_sub,
        "callerContext": {"awsSdkVersion": "localpool", "clientId": pool.state.client_id(None).unwrap()},
        "request": {"userAttributes": {"sub": jane.user_sub, "email": "jane@acme.example", "email_verified": "true"},
                    "groupConfiguration": {"groupsToOverride": [], "iamRolesToOverride": []},
                    "scopes": ["aws.cognito.signin.user.admin"]},
        "response": {"claimsAndScopeOverrideDetails": null}
    });
    let v2 = invoke_api(adapter.endpoint(), "PreTokenGeneration", &v2).expect("a v2 answer");
    let access_v2 = &v2["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"];
    assert_eq!(
        access_v2["claimsToAddOrOverride"],
        json!({"tenantId": "acme", "tenantTier": "premium"})
    );
    assert_eq!(
        access_v2["scopesToAdd"],
        json!(["reports/export", "analytics/read"])
    );

    // The signatures are really checked: another client's audience, a changed payload.
    let web = pool.state.client_id(None).unwrap();
    let other = pool.state.client_id(Some("hooli-web")).unwrap();
    assert_ne!(web, other);
    assert!(verifier
        .verify(&session.id_token, TokenUse::Id, other)
        .is_err());
    // The ID token's header and signature around the access token's claims.
    let mut forged: Vec<&str> = session.id_token.split('.').collect();
    forged[1] = session.access_token.split('.').nth(1).unwrap();
    assert!(verifier
        .verify(&forged.join("."), TokenUse::Id, web)
        .is_err());

    // --- An invited admin: the invitation's role as cognito:groups, the invitation used.
    let boss = pool
        .sign_up(None, "boss@acme.example", PASSWORD, &[])
        .await
        .unwrap();
    pool.confirm(None, "boss@acme.example").await.unwrap();
    let m = membership(boss.user_sub.clone())
        .await
        .expect("boss provisioned");
    assert_eq!(m.roles, vec!["admin".to_string()]);
    assert_eq!(m.source, "invitation");
    let invitations = table.admin.export().await.unwrap().invitations;
    assert_eq!(invitations.len(), 1);
    assert_eq!(
        invitations[0].used_by.as_deref(),
        Some(boss.user_sub.as_str()),
        "the invitation was used, by boss"
    );
    let (id, _) = claims(
        &verifier,
        &pool,
        &pool
            .sign_in(None, "boss@acme.example", PASSWORD)
            .await
            .unwrap(),
    );
    assert_eq!(id["cognito:groups"], json!(["admin"]));
    assert_eq!(id["tenantId"], "acme");
    let token = answers(&journal, "pre-token-generation", &boss.user_sub);
    assert_eq!(
        token.last().unwrap()["answer"]["claimsOverrideDetails"]["groupOverrideDetails"]
            ["groupsToOverride"],
        json!(["admin"]),
        "the groups are the function's answer"
    );

    // --- custom:tenantId written at sign-up is ignored: overwritten in the ID token.
    let eve = pool
        .sign_up(
            None,
            "eve@acme.example",
            PASSWORD,
            &[("custom:tenantId".into(), "initech".into())],
        )
        .await
        .unwrap();
    pool.confirm(None, "eve@acme.example").await.unwrap();
    assert_eq!(
        membership(eve.user_sub.clone()).await.unwrap().tenant_id,
        "acme"
    );
    let (id, _) = claims(
        &verifier,
        &pool,
        &pool
            .sign_in(None, "eve@acme.example", PASSWORD)
            .await
            .unwrap(),
    );
    assert_eq!(
        id["custom:tenantId"], "acme",
        "the spoofed value is overwritten"
    );
    assert_eq!(id["tenantId"], "acme");

    // --- A suspended tenant (its app client's `client` route): refused with its code.
    assert_refused(
        pool.sign_up(Some("initech-web"), "pat@example.net", PASSWORD, &[])
            .await,
        "PreSignUp",
        "TENANT_SUSPENDED",
    );

    // --- A full tenant (hooli: 1 seat, taken): refused.
    assert_refused(
        pool.sign_up(Some("hooli-web"), "ann@example.org", PASSWORD, &[])
            .await,
        "PreSignUp",
        "SEAT_LIMIT_REACHED",
    );

    // --- Confirmed by an administrator, email unverified: post confirmation refuses to admit
    // through the domain (cognito-local confirms anyway: it ignores post confirmation's
    // errors), and no token is issued.
    let dan = pool
        .sign_up(None, "dan@acme.example", PASSWORD, &[])
        .await
        .unwrap();
    pool.admin_confirm("dan@acme.example", false).await.unwrap();
    let confirmation = answers(&journal, "post-confirmation", &dan.user_sub);
    assert_eq!(confirmation.len(), 1);
    assert_eq!(
        confirmation[0]["functionError"], "Unhandled",
        "post confirmation refused: {confirmation:?}"
    );
    assert!(membership(dan.user_sub.clone()).await.is_none());
    let err = pool
        .sign_in(None, "dan@acme.example", PASSWORD)
        .await
        .expect_err("no token without a tenant");
    assert_eq!(err.code(), Some("UserLambdaValidationException"), "{err}");
    assert!(
        err.message()
            .unwrap_or_default()
            .starts_with("PreTokenGeneration failed with error "),
        "{err}"
    );

    // --- Refresh, then the tenant is suspended: refresh and sign-in are refused.
    let refreshed = pool.refresh(&session).await.expect("refresh");
    let (id, _) = claims(&verifier, &pool, &refreshed);
    assert_eq!(id["tenantId"], "acme");
    // What `tenantctl tenant suspend acme` does.
    let suspend = TenantUpdate {
        status: Some(TenantStatus::Suspended),
        ..TenantUpdate::default()
    };
    table.admin.update_tenant("acme", &suspend).await.unwrap();
    // The functions cache nothing (CACHE_TTL_SECONDS=0): the very next refresh is refused.
    let refused = pool
        .refresh(&session)
        .await
        .expect_err("no refresh once the tenant is suspended");
    assert_refused(
        Err::<(), _>(refused),
        "PreTokenGeneration",
        "TENANT_SUSPENDED",
    );
    assert_refused(
        pool.sign_in(None, "jane@acme.example", PASSWORD).await,
        "PreTokenGeneration",
        "TENANT_SUSPENDED",
    );

    // Every trigger reached a function, and every event was version "0" (none refused as
    // INVALID_EVENT).
    let all = read_journal(&journal);
    for function in ["pre-signup", "post-confirmation", "pre-token-generation"] {
        assert!(all.iter().any(|e| e["function"] == function), "{function}");
    }
    assert!(
        all.iter()
            .all(|e| e["answer"]["errorType"] != "INVALID_EVENT"),
        "{all:#?}"
    );
    // The functions' logs carry no email.
    assert!(!watch.output().contains("@acme.example"));

    eprintln!("local pool end to end: {:?} in all", started.elapsed());
    drop(cognito);
    drop(adapter);
    drop(watch);
}
