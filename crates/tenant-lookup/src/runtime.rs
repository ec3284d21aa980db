//! The Lambda wiring every function binary shares: configuration, the SDK client and the
//! cached directory are built once in init; then the run loop.

use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

use crate::cache::CachedDirectory;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::directory::Directory;
use crate::dynamo::{load_sdk_config, DynamoDirectory};
use crate::error::{DenyCode, TriggerError};
use crate::logging;
use crate::trigger::Trigger;

/// Cognito waits 5 seconds for a trigger. An invocation that has not decided by this budget
/// answers `DIRECTORY_UNAVAILABLE` itself, so the user gets our message rather than a timeout,
/// and a slow store never leaves a write running into Cognito's retry.
pub const HANDLER_BUDGET: Duration = Duration::from_millis(4000);

/// Runs `trigger` under `budget`; past it, fails closed.
pub async fn within_budget<T: Trigger>(
    trigger: &T,
    event: Value,
    budget: Duration,
) -> Result<Value, TriggerError> {
    match tokio::time::timeout(budget, trigger.handle(event)).await {
        Ok(answer) => answer,
        Err(_) => {
            tracing::error!(
                decision = "deny",
                code = "DIRECTORY_UNAVAILABLE",
                reason = "handler budget exceeded",
                "decision"
            );
            Err(TriggerError::new(
                DenyCode::DirectoryUnavailable,
                "handler budget exceeded",
            ))
        }
    }
}

/// Builds the production directory and runs the function built by `make` until Lambda stops it.
pub async fn run<T: Trigger>(
    make: impl FnOnce(CachedDirectory<DynamoDirectory>, Config) -> T,
) -> Result<(), lambda_runtime::Error> {
    logging::init();
    let config = Config::from_env()?;
    let sdk = load_sdk_config().await;
    let directory = DynamoDirectory::from_config(&sdk, config.table_name.clone());
    // One cheap read now opens the TLS connection during init, off the first sign-in's clock.
    if let Err(e) = directory.tier("__warm_up__").await {
        tracing::warn!(reason = %e, "directory warm-up failed");
    }
    let cached = CachedDirectory::new(directory, config.cache_ttl, Arc::new(SystemClock));
    let trigger = make(cached, config);
    let trigger = &trigger;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        within_budget(trigger, event.payload, HANDLER_BUDGET).await
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Stuck;

    impl Trigger for Stuck {
        async fn handle(&self, _event: Value) -> Result<Value, TriggerError> {
            std::future::pending().await
        }
    }

    struct Quick;

    impl Trigger for Quick {
        async fn handle(&self, event: Value) -> Result<Value, TriggerError> {
            Ok(event)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_stuck_invocation_fails_closed_at_the_budget() {
        let err = within_budget(&Stuck, Value::Null, HANDLER_BUDGET)
            .await
            .unwrap_err();
        assert_eq!(err.code, DenyCode::DirectoryUnavailable);
        assert_eq!(
            within_budget(&Quick, Value::Bool(true), HANDLER_BUDGET)
                .await
                .unwrap(),
            Value::Bool(true)
        );
    }
}
