//! Cognito post confirmation trigger: idempotent, seat-limited provisioning.

use tenant_lookup::{runtime, PostConfirmation};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    runtime::run(PostConfirmation::new).await
}
