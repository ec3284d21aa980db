//! End to end: the built functions under `cargo lambda watch`, invoked with
//! `cargo lambda invoke --data-file events/...`, against moto_server with events/seed.json
//! imported. What a user does locally, checked against the expected answers.

use serde_json::Value;
use test_support::events::{events_dir, expected_of as expected, sub_of};
use test_support::seeds::{events_seed, NOW};
use test_support::{fresh_table, moto, LambdaWatch};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_under_cargo_lambda_watch_answer_as_expected() {
    let table = fresh_table().await;
    let doc = events_seed();
    table.admin.import(&doc, NOW).await.unwrap();
    assert!(doc.validate(&Default::default(), 0).is_ok());

    let watch = LambdaWatch::start(moto().endpoint(), table.name(), &[]);
    let events = events_dir();
    let cases = [
        ("pre-token-generation", "v2-authentication-member"),
        (
            "pre-token-generation",
            "v1-authentication-member-tenant-iam-role",
        ),
        ("pre-token-generation", "v3-client-credentials"),
        (
            "pre-token-generation",
            "v2-spoof-custom-tenant-and-client-metadata",
        ),
        ("pre-token-generation", "v2-suspended-tenant"),
        ("pre-token-generation", "v2-no-tenant"),
        ("pre-signup", "external-saml-trusted-idp-auto-confirms"),
        (
            "pre-signup",
            "signup-invitation-outside-domain-route-tenant",
        ),
        ("pre-signup", "signup-several-invitations-ambiguous"),
        (
            "post-confirmation",
            "confirm-signup-invitation-verified-email",
        ),
        ("post-confirmation", "confirm-forgot-password"),
    ];
    for (function, name) in cases {
        let event = events.join(function).join(format!("{name}.json"));
        let want = expected(&event);
        match (
            watch.invoke(function, &event),
            want.get("errorType").and_then(Value::as_str),
        ) {
            (Ok(got), None) => assert_eq!(got, want, "{function}/{name}"),
            (Err(stderr), Some(_)) => {
                let message = want["errorMessage"].as_str().unwrap();
                assert!(
                    stderr.contains(message),
                    "{function}/{name}: expected `{message}` in\n{stderr}"
                );
            }
            (got, _) => panic!("{function}/{name}: expected {want}, got {got:?}"),
        }
    }

    // The provisioning above really went to the table: the invited user is now a member.
    let members = table.admin.export().await.unwrap().members;
    let sub = sub_of(&test_support::events::event(
        "post-confirmation/confirm-signup-invitation-verified-email.json",
    ));
    assert!(
        members.iter().any(|m| m.sub == sub),
        "no membership for the confirmed user"
    );
}
