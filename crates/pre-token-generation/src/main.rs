//! Cognito pre token generation trigger: tenant, tier, roles and scopes into the tokens.

use tenant_lookup::{runtime, PreTokenGeneration};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    runtime::run(PreTokenGeneration::new).await
}
