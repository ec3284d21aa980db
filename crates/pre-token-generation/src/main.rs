//! Cognito pre token generation trigger: tenant, tier, roles and scopes into the tokens.

use tenant_lookup::{lambda, PreTokenGeneration};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run(|init| PreTokenGeneration::new(init.directory, init.clock, &init.config)).await
}
