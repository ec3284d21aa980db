//! Cognito pre sign-up trigger: tenant admission from the directory alone.

use tenant_lookup::{lambda, PreSignUp};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run(|init| PreSignUp::new(init.directory, init.clock)).await
}
