//! A user pool on the emulator, driven through the Cognito API (the AWS SDK), one method per
//! step of a user's life.

use std::collections::BTreeMap;
use std::path::Path;

use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cognitoidentityprovider::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, AttributeType, AuthFlowType, ExplicitAuthFlowsType, LambdaConfigType,
    PreTokenGenerationLambdaVersionType, PreTokenGenerationVersionConfigType, SchemaAttributeType,
    UsernameAttributeType, VerifiedAttributeType,
};
use aws_sdk_cognitoidentityprovider::Client;
use serde_json::Value;

use crate::emulator;
use crate::state::{PoolState, Session};
use crate::template::PoolTemplate;
use crate::PoolError;

/// The region the SDK signs for (the emulator accepts any).
pub const REGION: &str = "us-east-1";

/// The pool's triggers as Cognito would hold them: the ARNs of the three functions, pre token
/// generation at `V1_0`, the one event version cognito-local sends. (cognito-local stores
/// `LambdaConfig` and invokes the functions of its own config instead: [`emulator::config`].)
pub fn lambda_config() -> Result<LambdaConfigType, PoolError> {
    let arn = |f: &str| format!("arn:aws:lambda:{REGION}:000000000000:function:{f}");
    Ok(LambdaConfigType::builder()
        .pre_sign_up(arn("pre-signup"))
        .post_confirmation(arn("post-confirmation"))
        .pre_token_generation_config(
            PreTokenGenerationVersionConfigType::builder()
                .lambda_version(PreTokenGenerationLambdaVersionType::V10)
                .lambda_arn(arn("pre-token-generation"))
                .build()
                .map_err(|e| PoolError::Request(e.to_string()))?,
        )
        .build())
}

/// A Cognito API client for the emulator at `endpoint`: explicit region, dummy credentials,
/// nothing read from the environment or profile files; HTTP through rustls with ring, as the
/// functions' SDK clients.
pub fn client(endpoint: &str) -> Client {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_cognitoidentityprovider::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("local", "local", None, None, "localpool"))
        .endpoint_url(endpoint)
        .http_client(http)
        .build();
    Client::from_conf(config)
}

/// A service's answer to a failed call: its error code and message, as an SDK caller sees them
/// (`UserLambdaValidationException`, `PreSignUp failed with error SIGNUP_NOT_ALLOWED: ...`);
/// anything without a code (the emulator unreachable, say) is a transport failure.
fn failed<E, R>(
    operation: &'static str,
    e: aws_sdk_cognitoidentityprovider::error::SdkError<E, R>,
) -> PoolError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match e.code() {
        Some(code) => PoolError::Cognito {
            operation,
            code: code.to_string(),
            message: e.message().unwrap_or_default().to_string(),
        },
        None => PoolError::Transport {
            operation,
            detail: DisplayErrorContext(&e).to_string(),
        },
    }
}

fn attribute(name: &str, value: &str) -> Result<AttributeType, PoolError> {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .map_err(|e| PoolError::Request(e.to_string()))
}

/// What SignUp answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedUp {
    pub user_sub: String,
    pub confirmed: bool,
}

/// What [`LocalPool::create`] made.
#[derive(Clone, Debug, PartialEq)]
pub struct Created {
    pub state: PoolState,
    /// The template's directory for this pool, ready for `tenantctl import`.
    pub directory: Value,
}

/// The pool of a [`PoolState`], and an API client for it.
#[derive(Clone, Debug)]
pub struct LocalPool {
    pub state: PoolState,
    client: Client,
}

impl LocalPool {
    pub fn new(state: PoolState) -> Self {
        let client = client(&state.endpoint);
        Self { state, client }
    }

    /// Creates the template's pool (usernames are emails, email verified by a code, a mutable
    /// `custom:tenantId` that users may write, the triggers) and its app clients (password and
    /// refresh-token sign-in, no secret), and renders its directory.
    pub async fn create(
        endpoint: &str,
        template: &PoolTemplate,
        emulator_dir: &Path,
    ) -> Result<Created, PoolError> {
        let client = client(endpoint);
        let pool = client
            .create_user_pool()
            .pool_name(&template.pool_name)
            .username_attributes(UsernameAttributeType::Email)
            .auto_verified_attributes(VerifiedAttributeType::Email)
            .schema(
                SchemaAttributeType::builder()
                    .name("tenantId")
                    .attribute_data_type(AttributeDataType::String)
                    .mutable(true)
                    .build(),
            )
            .lambda_config(lambda_config()?)
            .send()
            .await
            .map_err(|e| failed("CreateUserPool", e))?;
        let user_pool_id = pool
            .user_pool()
            .and_then(|p| p.id())
            .ok_or_else(|| PoolError::Request("CreateUserPool answered no pool id".into()))?
            .to_string();
        let mut clients = BTreeMap::new();
        for name in &template.app_clients {
            let created = client
                .create_user_pool_client()
                .user_pool_id(&user_pool_id)
                .client_name(name)
                .generate_secret(false)
                .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
                .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
                // Users may write custom:tenantId: the triggers make that harmless.
                .write_attributes("email")
                .write_attributes("name")
                .write_attributes("custom:tenantId")
                .send()
                .await
                .map_err(|e| failed("CreateUserPoolClient", e))?;
            let id = created
                .user_pool_client()
                .and_then(|c| c.client_id())
                .ok_or_else(|| PoolError::Request("CreateUserPoolClient answered no id".into()))?;
            clients.insert(name.clone(), id.to_string());
        }
        let directory = template.render_directory(&user_pool_id, &clients)?;
        let state = PoolState {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            user_pool_id,
            clients,
            default_client: template.app_clients[0].clone(),
            emulator_dir: emulator_dir.to_path_buf(),
        };
        Ok(Created { state, directory })
    }

    /// SignUp through app client `client` (or the default one), with `attributes`.
    pub async fn sign_up(
        &self,
        client: Option<&str>,
        email: &str,
        password: &str,
        attributes: &[(String, String)],
    ) -> Result<SignedUp, PoolError> {
        let mut request = self
            .client
            .sign_up()
            .client_id(self.state.client_id(client)?)
            .username(email)
            .password(password);
        for (name, value) in attributes {
            request = request.user_attributes(attribute(name, value)?);
        }
        let out = request.send().await.map_err(|e| failed("SignUp", e))?;
        Ok(SignedUp {
            user_sub: out.user_sub().to_string(),
            confirmed: out.user_confirmed(),
        })
    }

    /// The code the emulator "emailed" to the user at sign-up (`None` once confirmed).
    pub fn confirmation_code(&self, email: &str) -> Result<Option<String>, PoolError> {
        emulator::confirmation_code(&self.state.emulator_dir, &self.state.user_pool_id, email)
    }

    /// ConfirmSignUp with the code the emulator sent, as the user would type it from the email.
    /// Cognito marks the email verified when a code sent to it confirms the sign-up, before
    /// post confirmation runs; cognito-local does not, so the email is marked verified first
    /// (AdminUpdateUserAttributes), as Cognito would have.
    pub async fn confirm(&self, client: Option<&str>, email: &str) -> Result<(), PoolError> {
        let code = self
            .confirmation_code(email)?
            .ok_or_else(|| PoolError::NothingToConfirm(email.to_string()))?;
        self.mark_email_verified(email).await?;
        self.client
            .confirm_sign_up()
            .client_id(self.state.client_id(client)?)
            .username(email)
            .confirmation_code(code)
            .send()
            .await
            .map_err(|e| failed("ConfirmSignUp", e))?;
        Ok(())
    }

    /// AdminConfirmSignUp: confirmed by an administrator, the email left as it is (unverified,
    /// unless `verify_email`), as Cognito does.
    pub async fn admin_confirm(&self, email: &str, verify_email: bool) -> Result<(), PoolError> {
        if verify_email {
            self.mark_email_verified(email).await?;
        }
        self.client
            .admin_confirm_sign_up()
            .user_pool_id(&self.state.user_pool_id)
            .username(email)
            .send()
            .await
            .map_err(|e| failed("AdminConfirmSignUp", e))?;
        Ok(())
    }

    /// `email_verified = true` (the emulator requires the email alongside).
    pub async fn mark_email_verified(&self, email: &str) -> Result<(), PoolError> {
        self.client
            .admin_update_user_attributes()
            .user_pool_id(&self.state.user_pool_id)
            .username(email)
            .user_attributes(attribute("email", email)?)
            .user_attributes(attribute("email_verified", "true")?)
            .send()
            .await
            .map_err(|e| failed("AdminUpdateUserAttributes", e))?;
        Ok(())
    }

    /// InitiateAuth USER_PASSWORD_AUTH.
    pub async fn sign_in(
        &self,
        client: Option<&str>,
        email: &str,
        password: &str,
    ) -> Result<Session, PoolError> {
        let name = client.unwrap_or(&self.state.default_client);
        let out = self
            .client
            .initiate_auth()
            .client_id(self.state.client_id(Some(name))?)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", email)
            .auth_parameters("PASSWORD", password)
            .send()
            .await
            .map_err(|e| failed("InitiateAuth", e))?;
        session(name, out.authentication_result(), None)
    }

    /// InitiateAuth REFRESH_TOKEN_AUTH with the session's refresh token; the new session keeps it.
    pub async fn refresh(&self, previous: &Session) -> Result<Session, PoolError> {
        let refresh_token = previous
            .refresh_token
            .as_deref()
            .ok_or_else(|| PoolError::Request("the session has no refresh token".into()))?;
        let out = self
            .client
            .initiate_auth()
            .client_id(self.state.client_id(Some(&previous.client))?)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", refresh_token)
            .send()
            .await
            .map_err(|e| failed("InitiateAuth", e))?;
        session(
            &previous.client,
            out.authentication_result(),
            Some(refresh_token),
        )
    }
}

fn session(
    client: &str,
    result: Option<&aws_sdk_cognitoidentityprovider::types::AuthenticationResultType>,
    previous_refresh_token: Option<&str>,
) -> Result<Session, PoolError> {
    let result = result.ok_or_else(|| {
        PoolError::Request("InitiateAuth answered a challenge, not tokens".into())
    })?;
    let (Some(id_token), Some(access_token)) = (result.id_token(), result.access_token()) else {
        return Err(PoolError::Request("InitiateAuth answered no tokens".into()));
    };
    Ok(Session {
        client: client.to_string(),
        id_token: id_token.to_string(),
        access_token: access_token.to_string(),
        refresh_token: result
            .refresh_token()
            .or(previous_refresh_token)
            .map(str::to_string),
    })
}
