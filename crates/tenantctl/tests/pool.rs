//! `tenantctl pool attach` and `pool check` against moto's Cognito (moto_server serves
//! cognito-idp beside DynamoDB). moto, like Cognito, resets on `UpdateUserPool` every setting
//! the call does not carry: a pool with MFA, an email configuration, a custom message trigger,
//! messages, a password policy and tags must come out of `attach` with all of them.

use std::process::{Command, Output};

use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cognitoidentityprovider::types::{
    EmailConfigurationType, EmailSendingAccountType, LambdaConfigType, PasswordPolicyType,
    SoftwareTokenMfaConfigType, UserPoolMfaType, UserPoolPolicyType, UserPoolType,
    VerificationMessageTemplateType,
};
use aws_sdk_cognitoidentityprovider::Client;
use tenantctl::pool::{self, EventVersion, ExpectedTriggers, PoolCommand, PoolError, Triggers};
use test_support::moto;

const ACCOUNT: &str = "123456789012";

fn arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}")
}

fn triggers() -> Triggers {
    Triggers {
        pre_signup: arn("stack-pre-signup"),
        post_confirmation: arn("stack-post-confirmation"),
        pre_token_generation: arn("stack-pre-token-generation"),
    }
}

fn client() -> Client {
    let config = aws_sdk_cognitoidentityprovider::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(test_support::moto::REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .endpoint_url(moto().endpoint())
        .http_client(tenant_lookup::store::dynamo::sdk::https_client())
        .build();
    Client::from_conf(config)
}

fn email_configuration() -> EmailConfigurationType {
    EmailConfigurationType::builder()
        .email_sending_account(EmailSendingAccountType::Developer)
        .source_arn(format!(
            "arn:aws:ses:us-east-1:{ACCOUNT}:identity/example.com"
        ))
        .from("Example <no-reply@example.com>")
        .reply_to_email_address("support@example.com")
        .build()
}

/// A pool set up the way a production pool might be: MFA optional with TOTP, SES email, a
/// custom message trigger, an old pre sign-up trigger, its own messages, policy and tags.
async fn production_like_pool(client: &Client, name: &str) -> String {
    let pool = client
        .create_user_pool()
        .pool_name(name)
        .mfa_configuration(UserPoolMfaType::Optional)
        .email_configuration(email_configuration())
        .lambda_config(
            LambdaConfigType::builder()
                .custom_message(arn("custom-message"))
                .pre_sign_up(arn("old-pre-signup"))
                .build(),
        )
        .verification_message_template(
            VerificationMessageTemplateType::builder()
                .email_subject("Your Example code")
                .email_message("Your code is {####}")
                .build(),
        )
        .policies(
            UserPoolPolicyType::builder()
                .password_policy(
                    PasswordPolicyType::builder()
                        .minimum_length(14)
                        .require_symbols(true)
                        .build(),
                )
                .build(),
        )
        .user_pool_tags("team", "identity")
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    client
        .set_user_pool_mfa_config()
        .user_pool_id(&pool)
        .mfa_configuration(UserPoolMfaType::Optional)
        .software_token_mfa_configuration(
            SoftwareTokenMfaConfigType::builder().enabled(true).build(),
        )
        .send()
        .await
        .unwrap();
    pool
}

async fn describe(client: &Client, pool: &str) -> UserPoolType {
    client
        .describe_user_pool()
        .user_pool_id(pool)
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
}

/// The settings that `attach` must not change.
fn kept(p: &UserPoolType) -> String {
    let lambda = p.lambda_config.as_ref();
    format!(
        "mfa={:?} email={:?} custom_message={:?} template={:?} policy={:?} tags={:?} name={:?}",
        p.mfa_configuration,
        p.email_configuration,
        lambda.and_then(|l| l.custom_message.clone()),
        p.verification_message_template,
        p.policies,
        p.user_pool_tags,
        p.name,
    )
}

async fn run(client: &Client, command: PoolCommand) -> (Result<(), PoolError>, String) {
    let mut out = Vec::new();
    let result = pool::execute(client, &command, &mut out).await;
    (result, String::from_utf8(out).unwrap())
}

fn attach(pool: &str, version: EventVersion, dry_run: bool) -> PoolCommand {
    PoolCommand::Attach {
        pool: pool.to_string(),
        triggers: triggers(),
        version,
        dry_run,
    }
}

fn check(pool: &str, expected: ExpectedTriggers) -> PoolCommand {
    PoolCommand::Check {
        pool: pool.to_string(),
        expected,
    }
}

fn expected() -> ExpectedTriggers {
    let t = triggers();
    ExpectedTriggers {
        pre_signup: Some(t.pre_signup),
        post_confirmation: Some(t.post_confirmation),
        pre_token_generation: Some(t.pre_token_generation),
    }
}

#[tokio::test]
async fn attach_changes_the_three_triggers_and_keeps_everything_else() {
    let client = client();
    let pool = production_like_pool(&client, "attach-keeps").await;
    let before = describe(&client, &pool).await;
    assert!(before.email_configuration.is_some(), "the setup took");

    // Not attached yet: check fails and says why.
    let (result, _) = run(&client, check(&pool, expected())).await;
    let err = result.unwrap_err().to_string();
    assert!(err.contains("PostConfirmation is not set"), "{err}");
    assert!(
        err.contains("PreSignUp is arn:aws:lambda:us-east-1:123456789012:function:old-pre-signup"),
        "{err}"
    );

    // A dry run prints the change and changes nothing.
    let (result, printed) = run(&client, attach(&pool, EventVersion::V2_0, true)).await;
    result.unwrap();
    assert!(printed.starts_with("dry run:"), "{printed}");
    assert!(
        printed.contains(&format!(
            "PreSignUp: {} -> {}",
            arn("old-pre-signup"),
            arn("stack-pre-signup")
        )),
        "{printed}"
    );
    assert!(
        printed.contains(&format!(
            "PreTokenGeneration: (none) -> {} (V2_0)",
            arn("stack-pre-token-generation")
        )),
        "{printed}"
    );
    assert!(printed.contains("MFA OPTIONAL"), "{printed}");
    assert!(printed.contains("CustomMessage trigger"), "{printed}");
    assert!(printed.contains("email configuration"), "{printed}");
    let unchanged = describe(&client, &pool).await;
    assert_eq!(unchanged.lambda_config, before.lambda_config);

    // The attach itself.
    let (result, printed) = run(&client, attach(&pool, EventVersion::V3_0, false)).await;
    result.unwrap();
    assert!(
        printed.contains("updated; pre token generation is now"),
        "{printed}"
    );
    let after = describe(&client, &pool).await;
    assert_eq!(
        kept(&after),
        kept(&before),
        "attach kept every other setting"
    );
    let lambda = after.lambda_config.as_ref().unwrap();
    assert_eq!(
        lambda.pre_sign_up.as_deref(),
        Some(triggers().pre_signup.as_str())
    );
    assert_eq!(
        lambda.custom_message.as_deref(),
        Some(arn("custom-message").as_str())
    );
    let version = &lambda
        .pre_token_generation_config
        .as_ref()
        .unwrap()
        .lambda_version;
    assert_eq!(version.as_str(), "V3_0");
    let mfa = client
        .get_user_pool_mfa_config()
        .user_pool_id(&pool)
        .send()
        .await
        .unwrap();
    assert_eq!(mfa.mfa_configuration, Some(UserPoolMfaType::Optional));
    assert_eq!(
        mfa.software_token_mfa_configuration.map(|c| c.enabled),
        Some(true)
    );

    // Now check passes, with and without the expected ARNs; again, attach has nothing to do.
    let (result, printed) = run(&client, check(&pool, expected())).await;
    result.unwrap();
    assert!(printed.ends_with("ok\n"), "{printed}");
    run(&client, check(&pool, ExpectedTriggers::default()))
        .await
        .0
        .unwrap();
    let (result, printed) = run(&client, attach(&pool, EventVersion::V3_0, false)).await;
    result.unwrap();
    assert!(printed.contains("nothing to change"), "{printed}");
}

#[tokio::test]
async fn a_bare_update_would_have_reset_them_and_check_catches_version_1() {
    let client = client();
    let pool = production_like_pool(&client, "bare-update").await;
    // What the hand-run `aws cognito-idp update-user-pool --lambda-config ...` does.
    client
        .update_user_pool()
        .user_pool_id(&pool)
        .lambda_config(
            LambdaConfigType::builder()
                .pre_sign_up(triggers().pre_signup)
                .post_confirmation(triggers().post_confirmation)
                .pre_token_generation(triggers().pre_token_generation)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let after = describe(&client, &pool).await;
    assert_ne!(
        after.email_configuration,
        Some(email_configuration()),
        "moto resets what is not sent, to Cognito's default email"
    );
    assert_eq!(
        after
            .lambda_config
            .as_ref()
            .and_then(|l| l.custom_message.clone()),
        None
    );
    // The legacy field alone is event version 1: check refuses it.
    let (result, printed) = run(&client, check(&pool, expected())).await;
    let err = result.unwrap_err().to_string();
    assert!(err.contains("V1_0"), "{err}");
    assert!(printed.contains("(V1_0)"), "{printed}");
}

fn tenantctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tenantctl"))
        .args(args)
        .env_clear()
        .envs(moto().sdk_env())
        .env(
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
            moto().endpoint(),
        )
        .output()
        .expect("tenantctl runs")
}

#[tokio::test]
async fn the_binary_attaches_and_checks_without_a_table() {
    let client = client();
    let pool = production_like_pool(&client, "binary").await;
    let t = triggers();
    let wiring = [
        "--pre-signup",
        t.pre_signup.as_str(),
        "--post-confirmation",
        t.post_confirmation.as_str(),
        "--pre-token-generation",
        t.pre_token_generation.as_str(),
    ];
    let checked = tenantctl(&[&["pool", "check", &pool][..], &wiring].concat());
    assert_eq!(
        checked.status.code(),
        Some(4),
        "an unwired pool fails the check (4: a condition failed)"
    );
    let stderr = String::from_utf8_lossy(&checked.stderr);
    assert!(stderr.contains("PostConfirmation is not set"), "{stderr}");

    let attached = tenantctl(
        &[
            &["pool", "attach", &pool][..],
            &wiring,
            &["--version", "V2_0"],
        ]
        .concat(),
    );
    assert!(
        attached.status.success(),
        "{}",
        String::from_utf8_lossy(&attached.stderr)
    );
    let printed = String::from_utf8_lossy(&attached.stdout);
    assert!(
        printed.contains("PostConfirmation: (none) -> "),
        "{printed}"
    );

    let checked = tenantctl(&[&["pool", "check", &pool][..], &wiring].concat());
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let refused = tenantctl(
        &[
            &["pool", "attach", &pool][..],
            &wiring,
            &["--version", "V1_0"],
        ]
        .concat(),
    );
    assert!(!refused.status.success(), "V1_0 is not offered");
}
