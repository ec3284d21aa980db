//! `tenantctl pool attach` and `tenantctl pool check`: wiring the three functions into an
//! existing user pool without resetting anything else, and checking that it stuck.
//!
//! `UpdateUserPool` resets every setting it is not given to its default (MFA, the email and
//! SMS configuration, messages, the other triggers, ...). `attach` therefore reads the pool with
//! `DescribeUserPool` and sends every setting back as it was, changing only the three triggers.

use std::fmt;
use std::io::{self, Write};

use aws_sdk_cognitoidentityprovider::error::{DisplayErrorContext, SdkError};
use aws_sdk_cognitoidentityprovider::types::{
    LambdaConfigType, PreTokenGenerationLambdaVersionType, PreTokenGenerationVersionConfigType,
    UserPoolType,
};
use aws_sdk_cognitoidentityprovider::Client;
use clap::{Args, Subcommand, ValueEnum};

/// `tenantctl pool ...`
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum PoolCommand {
    /// Point the pool's pre sign-up, post confirmation and pre token generation triggers at
    /// the functions, keeping every other setting of the pool (DescribeUserPool, then
    /// UpdateUserPool with all of it). Prints what changes.
    Attach {
        /// The user pool id (e.g. eu-west-1_AbC123).
        pool: String,
        #[command(flatten)]
        triggers: Triggers,
        /// The pre token generation event version (V2_0 and V3_0 need the Essentials or Plus
        /// feature plan; V3_0 adds machine-to-machine tokens).
        #[arg(long, value_enum, default_value_t = EventVersion::V2_0)]
        version: EventVersion,
        /// Print what would change without changing the pool.
        #[arg(long)]
        dry_run: bool,
    },
    /// Read the pool back: fails unless the three triggers are set (to the given ARNs, if any)
    /// and pre token generation uses event version V2_0 or V3_0.
    Check {
        /// The user pool id.
        pool: String,
        #[command(flatten)]
        expected: ExpectedTriggers,
    },
}

/// The three functions' ARNs (the stack outputs `PreSignUpFunctionArn`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct Triggers {
    #[arg(long = "pre-signup", value_name = "ARN")]
    pub pre_signup: String,
    #[arg(long = "post-confirmation", value_name = "ARN")]
    pub post_confirmation: String,
    #[arg(long = "pre-token-generation", value_name = "ARN")]
    pub pre_token_generation: String,
}

/// What `check` compares with, when given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct ExpectedTriggers {
    #[arg(long = "pre-signup", value_name = "ARN")]
    pub pre_signup: Option<String>,
    #[arg(long = "post-confirmation", value_name = "ARN")]
    pub post_confirmation: Option<String>,
    #[arg(long = "pre-token-generation", value_name = "ARN")]
    pub pre_token_generation: Option<String>,
}

/// Pre token generation event versions this product answers in full (V1_0 cannot change
/// access tokens, so `attach` does not offer it and `check` refuses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[allow(non_camel_case_types)]
pub enum EventVersion {
    #[value(name = "V2_0")]
    V2_0,
    #[value(name = "V3_0")]
    V3_0,
}

impl EventVersion {
    fn sdk(self) -> PreTokenGenerationLambdaVersionType {
        match self {
            EventVersion::V2_0 => PreTokenGenerationLambdaVersionType::V20,
            EventVersion::V3_0 => PreTokenGenerationLambdaVersionType::V30,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("{operation} on user pool {pool}: {message}")]
    Cognito {
        operation: &'static str,
        pool: String,
        message: String,
    },
    #[error("user pool {0} has no description (DescribeUserPool returned no UserPool)")]
    NoDescription(String),
    #[error("user pool {pool} is not wired as expected:\n{problems}")]
    Check { pool: String, problems: String },
    #[error("cannot write the output")]
    Output(#[from] io::Error),
}

fn cognito<'a, E, R>(
    operation: &'static str,
    pool: &'a str,
) -> impl FnOnce(SdkError<E, R>) -> PoolError + 'a
where
    E: std::error::Error + 'static,
    R: fmt::Debug,
{
    move |e| PoolError::Cognito {
        operation,
        pool: pool.to_string(),
        message: DisplayErrorContext(&e).to_string(),
    }
}

/// Runs one `pool` command against `client`, writing its report to `out`.
pub async fn execute(
    client: &Client,
    command: &PoolCommand,
    out: &mut dyn Write,
) -> Result<(), PoolError> {
    match command {
        PoolCommand::Attach {
            pool,
            triggers,
            version,
            dry_run,
        } => attach(client, pool, triggers, *version, *dry_run, out).await,
        PoolCommand::Check { pool, expected } => check(client, pool, expected, out).await,
    }
}

async fn describe(client: &Client, pool: &str) -> Result<UserPoolType, PoolError> {
    client
        .describe_user_pool()
        .user_pool_id(pool)
        .send()
        .await
        .map_err(cognito("DescribeUserPool", pool))?
        .user_pool
        .ok_or_else(|| PoolError::NoDescription(pool.to_string()))
}

fn shown(value: Option<&str>) -> &str {
    value.filter(|v| !v.is_empty()).unwrap_or("(none)")
}

fn pre_token_shown(lambda: Option<&LambdaConfigType>) -> String {
    let config = lambda.and_then(|l| l.pre_token_generation_config.as_ref());
    match config {
        Some(c) => format!("{} ({})", c.lambda_arn, c.lambda_version.as_str()),
        // The legacy field alone means event version 1.
        None => match lambda.and_then(|l| l.pre_token_generation.as_deref()) {
            Some(arn) => format!("{arn} (V1_0)"),
            None => "(none)".to_string(),
        },
    }
}

/// The pool's lambda configuration with only the three triggers changed (the other triggers,
/// the custom senders and their KMS key kept).
pub fn wired(
    current: Option<&LambdaConfigType>,
    triggers: &Triggers,
    version: EventVersion,
) -> LambdaConfigType {
    let mut config = current
        .cloned()
        .unwrap_or_else(|| LambdaConfigType::builder().build());
    config.pre_sign_up = Some(triggers.pre_signup.clone());
    config.post_confirmation = Some(triggers.post_confirmation.clone());
    // Cognito keeps the legacy field equal to the config's ARN; a different one is refused.
    config.pre_token_generation = Some(triggers.pre_token_generation.clone());
    config.pre_token_generation_config = PreTokenGenerationVersionConfigType::builder()
        .lambda_arn(&triggers.pre_token_generation)
        .lambda_version(version.sdk())
        .build()
        .ok();
    config
}

async fn attach(
    client: &Client,
    pool: &str,
    triggers: &Triggers,
    version: EventVersion,
    dry_run: bool,
    out: &mut dyn Write,
) -> Result<(), PoolError> {
    let current = describe(client, pool).await?;
    let before = current.lambda_config.as_ref();
    let after = wired(before, triggers, version);
    let changes = [
        (
            "PreSignUp",
            shown(before.and_then(|l| l.pre_sign_up.as_deref())).to_string(),
            triggers.pre_signup.clone(),
        ),
        (
            "PostConfirmation",
            shown(before.and_then(|l| l.post_confirmation.as_deref())).to_string(),
            triggers.post_confirmation.clone(),
        ),
        (
            "PreTokenGeneration",
            pre_token_shown(before),
            pre_token_shown(Some(&after)),
        ),
    ];
    let name = current.name.as_deref().unwrap_or_default();
    if dry_run {
        writeln!(
            out,
            "dry run: user pool {pool} ({name}) is not changed; attach would set:"
        )?;
    } else {
        writeln!(out, "user pool {pool} ({name}):")?;
    }
    let mut changed = false;
    for (trigger, from, to) in &changes {
        if from == to {
            writeln!(out, "  {trigger}: {to} (unchanged)")?;
        } else {
            changed = true;
            writeln!(out, "  {trigger}: {from} -> {to}")?;
        }
    }
    writeln!(
        out,
        "  kept as they are: every other setting ({})",
        kept_settings(&current).join(", ")
    )?;
    if dry_run {
        return Ok(());
    }
    if !changed {
        writeln!(out, "nothing to change")?;
        return Ok(());
    }
    update(client, pool, &current, after).await?;
    let now = describe(client, pool).await?;
    writeln!(
        out,
        "updated; pre token generation is now {}",
        pre_token_shown(now.lambda_config.as_ref())
    )?;
    Ok(())
}

/// The settings of `pool` that `attach` sends back unchanged, named for the report.
fn kept_settings(pool: &UserPoolType) -> Vec<String> {
    let mut kept = vec![format!(
        "MFA {}",
        pool.mfa_configuration
            .as_ref()
            .map_or("OFF", |m| m.as_str())
    )];
    if let Some(l) = &pool.lambda_config {
        let others = [
            ("CustomMessage", &l.custom_message),
            ("PreAuthentication", &l.pre_authentication),
            ("PostAuthentication", &l.post_authentication),
            ("DefineAuthChallenge", &l.define_auth_challenge),
            ("CreateAuthChallenge", &l.create_auth_challenge),
            (
                "VerifyAuthChallengeResponse",
                &l.verify_auth_challenge_response,
            ),
            ("UserMigration", &l.user_migration),
        ];
        kept.extend(
            others
                .into_iter()
                .filter(|(_, v)| v.is_some())
                .map(|(name, _)| format!("{name} trigger")),
        );
        if l.custom_email_sender.is_some() {
            kept.push("CustomEmailSender".into());
        }
        if l.custom_sms_sender.is_some() {
            kept.push("CustomSMSSender".into());
        }
    }
    for (present, name) in [
        (pool.email_configuration.is_some(), "email configuration"),
        (pool.sms_configuration.is_some(), "SMS configuration"),
        (
            pool.verification_message_template.is_some(),
            "verification messages",
        ),
        (pool.policies.is_some(), "password policy"),
        (
            pool.admin_create_user_config.is_some(),
            "admin create-user settings",
        ),
        (pool.account_recovery_setting.is_some(), "account recovery"),
        (pool.user_pool_add_ons.is_some(), "add-ons"),
        (pool.device_configuration.is_some(), "device tracking"),
        (pool.user_pool_tags.is_some(), "tags"),
    ] {
        if present {
            kept.push(name.to_string());
        }
    }
    kept
}

/// `UpdateUserPool` with every setting `DescribeUserPool` returned for `current`, and
/// `lambda_config`.
async fn update(
    client: &Client,
    pool: &str,
    current: &UserPoolType,
    lambda_config: LambdaConfigType,
) -> Result<(), PoolError> {
    client
        .update_user_pool()
        .user_pool_id(pool)
        .set_pool_name(current.name.clone())
        .set_policies(current.policies.clone())
        .set_deletion_protection(current.deletion_protection.clone())
        .lambda_config(lambda_config)
        .set_auto_verified_attributes(current.auto_verified_attributes.clone())
        .set_sms_verification_message(current.sms_verification_message.clone())
        .set_email_verification_message(current.email_verification_message.clone())
        .set_email_verification_subject(current.email_verification_subject.clone())
        .set_verification_message_template(current.verification_message_template.clone())
        .set_sms_authentication_message(current.sms_authentication_message.clone())
        .set_user_attribute_update_settings(current.user_attribute_update_settings.clone())
        .set_mfa_configuration(current.mfa_configuration.clone())
        .set_device_configuration(current.device_configuration.clone())
        .set_email_configuration(current.email_configuration.clone())
        .set_sms_configuration(current.sms_configuration.clone())
        .set_user_pool_tags(current.user_pool_tags.clone())
        .set_admin_create_user_config(current.admin_create_user_config.clone())
        .set_user_pool_add_ons(current.user_pool_add_ons.clone())
        .set_account_recovery_setting(current.account_recovery_setting.clone())
        .set_user_pool_tier(current.user_pool_tier.clone())
        .send()
        .await
        .map_err(cognito("UpdateUserPool", pool))?;
    Ok(())
}

/// What is wrong with `pool`'s wiring; empty when it is as expected.
pub fn problems(pool: &UserPoolType, expected: &ExpectedTriggers) -> Vec<String> {
    let lambda = pool.lambda_config.as_ref();
    let mut problems = Vec::new();
    let mut compare = |trigger: &str, actual: Option<&str>, want: Option<&String>| match (
        actual.filter(|a| !a.is_empty()),
        want,
    ) {
        (None, _) => problems.push(format!("{trigger} is not set")),
        (Some(a), Some(w)) if a != w => problems.push(format!("{trigger} is {a}, expected {w}")),
        _ => {}
    };
    compare(
        "PreSignUp",
        lambda.and_then(|l| l.pre_sign_up.as_deref()),
        expected.pre_signup.as_ref(),
    );
    compare(
        "PostConfirmation",
        lambda.and_then(|l| l.post_confirmation.as_deref()),
        expected.post_confirmation.as_ref(),
    );
    let config = lambda.and_then(|l| l.pre_token_generation_config.as_ref());
    compare(
        "PreTokenGenerationConfig.LambdaArn",
        config.map(|c| c.lambda_arn.as_str()),
        expected.pre_token_generation.as_ref(),
    );
    match config.map(|c| &c.lambda_version) {
        Some(
            PreTokenGenerationLambdaVersionType::V20 | PreTokenGenerationLambdaVersionType::V30,
        ) => {}
        Some(other) => problems.push(format!(
            "PreTokenGenerationConfig.LambdaVersion is {}: V2_0 or V3_0 is needed (V1_0 cannot \
             change access tokens)",
            other.as_str()
        )),
        None if lambda
            .and_then(|l| l.pre_token_generation.as_ref())
            .is_some() =>
        {
            problems.push(
                "pre token generation is set without PreTokenGenerationConfig: event version V1_0 \
             (V2_0 or V3_0 is needed)"
                    .to_string(),
            )
        }
        None => {}
    }
    problems
}

async fn check(
    client: &Client,
    pool: &str,
    expected: &ExpectedTriggers,
    out: &mut dyn Write,
) -> Result<(), PoolError> {
    let current = describe(client, pool).await?;
    let lambda = current.lambda_config.as_ref();
    writeln!(out, "user pool {pool}:")?;
    writeln!(
        out,
        "  PreSignUp: {}",
        shown(lambda.and_then(|l| l.pre_sign_up.as_deref()))
    )?;
    writeln!(
        out,
        "  PostConfirmation: {}",
        shown(lambda.and_then(|l| l.post_confirmation.as_deref()))
    )?;
    writeln!(out, "  PreTokenGeneration: {}", pre_token_shown(lambda))?;
    let problems = problems(&current, expected);
    if problems.is_empty() {
        writeln!(out, "ok")?;
        return Ok(());
    }
    Err(PoolError::Check {
        pool: pool.to_string(),
        problems: problems
            .iter()
            .map(|p| format!("  - {p}"))
            .collect::<Vec<_>>()
            .join("\n"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cognitoidentityprovider::types::UserPoolMfaType;

    fn triggers() -> Triggers {
        Triggers {
            pre_signup: "arn:aws:lambda:us-east-1:123456789012:function:psu".into(),
            post_confirmation: "arn:aws:lambda:us-east-1:123456789012:function:pc".into(),
            pre_token_generation: "arn:aws:lambda:us-east-1:123456789012:function:ptg".into(),
        }
    }

    #[test]
    fn wiring_keeps_the_other_triggers() {
        let current = LambdaConfigType::builder()
            .custom_message("arn:aws:lambda:us-east-1:123456789012:function:msg")
            .pre_sign_up("arn:aws:lambda:us-east-1:123456789012:function:old")
            .build();
        let after = wired(Some(&current), &triggers(), EventVersion::V3_0);
        assert_eq!(after.custom_message, current.custom_message);
        assert_eq!(
            after.pre_sign_up.as_deref(),
            Some(triggers().pre_signup.as_str())
        );
        let config = after.pre_token_generation_config.as_ref().unwrap();
        assert_eq!(
            config.lambda_version,
            PreTokenGenerationLambdaVersionType::V30
        );
        assert_eq!(
            after.pre_token_generation.as_deref(),
            Some(config.lambda_arn.as_str())
        );
    }

    #[test]
    fn check_wants_all_three_and_a_version_above_1() {
        let t = triggers();
        let expected = ExpectedTriggers {
            pre_signup: Some(t.pre_signup.clone()),
            post_confirmation: Some(t.post_confirmation.clone()),
            pre_token_generation: Some(t.pre_token_generation.clone()),
        };
        let pool = |lambda: LambdaConfigType| {
            UserPoolType::builder()
                .lambda_config(lambda)
                .mfa_configuration(UserPoolMfaType::Off)
                .build()
        };
        let good = pool(wired(None, &t, EventVersion::V2_0));
        assert!(problems(&good, &expected).is_empty());
        assert!(problems(&good, &ExpectedTriggers::default()).is_empty());

        let mut v1 = wired(None, &t, EventVersion::V2_0);
        v1.pre_token_generation_config = None;
        let found = problems(&pool(v1), &expected);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().any(|p| p.contains("V1_0")), "{found:?}");

        let mut elsewhere = wired(None, &t, EventVersion::V2_0);
        elsewhere.post_confirmation = Some("arn:aws:lambda:us-east-1:1:function:other".into());
        elsewhere.pre_sign_up = None;
        let found = problems(&pool(elsewhere), &expected);
        assert_eq!(
            found,
            [
                "PreSignUp is not set".to_string(),
                format!(
                    "PostConfirmation is arn:aws:lambda:us-east-1:1:function:other, expected {}",
                    t.post_confirmation
                )
            ]
        );
    }
}
