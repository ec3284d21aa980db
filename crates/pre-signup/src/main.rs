//! Cognito pre sign-up trigger: tenant admission from the directory alone.

use tenant_lookup::{runtime, PreSignUp};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    runtime::run(PreSignUp::new).await
}
