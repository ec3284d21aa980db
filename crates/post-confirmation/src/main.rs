//! Cognito post confirmation trigger: idempotent, seat-limited provisioning.

use tenant_lookup::{lambda, PostConfirmation};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run(|init| PostConfirmation::new(init.directory, init.clock)).await
}
