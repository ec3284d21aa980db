//! The Lambda wiring every function binary shares: configuration, the SDK client, the cached
//! directory and the clock are built once in init; then the run loop.

use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::domain::denial::{Denial, DenyCode};
use crate::handlers::Trigger;
use crate::logging;
use crate::store::cache::CachedDirectory;
use crate::store::dynamo::{sdk, DynamoDirectory};
use crate::store::Directory;

/// Cognito waits 5 seconds for a trigger. An invocation that has not decided by this budget
/// answers `DIRECTORY_UNAVAILABLE` itself, so the user gets our message rather than a timeout,
/// and a slow store never leaves a write running into Cognito's retry.
pub const HANDLER_BUDGET: Duration = Duration::from_millis(4000);

/// What init builds for a function: its directory (DynamoDB behind the TTL cache), the clock
/// and the configuration.
pub struct Init {
    pub directory: CachedDirectory<DynamoDirectory>,
    pub clock: Arc<dyn Clock>,
    pub config: Config,
}

/// Cognito shows `errorMessage` to the user: the code and its sentence, never the reason.
impl From<Denial> for Diagnostic {
    fn from(d: Denial) -> Self {
        Diagnostic {
            error_type: d.code.as_str().to_string(),
            error_message: d.to_string(),
        }
    }
}

/// Runs `trigger` under `budget`; past it, fails closed.
pub async fn within_budget<T: Trigger>(
    trigger: &T,
    event: Value,
    budget: Duration,
) -> Result<Value, Denial> {
    match tokio::time::timeout(budget, trigger.handle(event)).await {
        Ok(answer) => answer,
        Err(_) => {
            tracing::error!(
                decision = "deny",
                code = "DIRECTORY_UNAVAILABLE",
                reason = "handler budget exceeded",
                "decision"
            );
            Err(Denial::new(
                DenyCode::DirectoryUnavailable,
                "handler budget exceeded",
            ))
        }
    }
}

/// Builds the production directory and runs the function built by `make` until Lambda stops it.
pub async fn run<T: Trigger>(make: impl FnOnce(Init) -> T) -> Result<(), lambda_runtime::Error> {
    logging::init();
    let config = Config::from_env()?;
    let sdk = sdk::load_sdk_config().await;
    let directory = DynamoDirectory::from_config(&sdk, config.table_name.clone());
    // One cheap read now opens the TLS connection during init, off the first sign-in's clock.
    if let Err(e) = directory.tier("__warm_up__").await {
        tracing::warn!(reason = %e, "directory warm-up failed");
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let directory = CachedDirectory::new(directory, config.cache_ttl, clock.clone())
        .with_stale_if_error(config.stale_if_error);
    let trigger = make(Init {
        directory,
        clock,
        config,
    });
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
        async fn handle(&self, _event: Value) -> Result<Value, Denial> {
            std::future::pending().await
        }
    }

    struct Quick;

    impl Trigger for Quick {
        async fn handle(&self, event: Value) -> Result<Value, Denial> {
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

    #[test]
    fn the_lambda_error_is_the_code_and_sentence_without_the_reason() {
        let d: Diagnostic = Denial::new(DenyCode::SeatLimitReached, "tenant acme at 10/10").into();
        assert_eq!(d.error_type, "SEAT_LIMIT_REACHED");
        assert_eq!(
            d.error_message,
            "SEAT_LIMIT_REACHED: your organization has no seats left"
        );
        assert!(!d.error_message.contains("acme"));
    }
}
