//! The Lambda wiring every function binary shares: configuration, the SDK client, the cached
//! directory, the clock and the metrics collector are built once in init; then the run loop,
//! which gives each invocation its time budget, its log context and its metrics.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::domain::denial::{Denial, DenyCode};
use crate::domain::model::RouteKind;
use crate::handlers::{self, Trigger};
use crate::logging;
use crate::store::cache::CachedDirectory;
use crate::store::dynamo::{sdk, DynamoDirectory};
use crate::store::Directory;
use crate::telemetry::{self, Invocation};

/// Cognito waits 5 seconds for a trigger, counted from its call: on a cold start that includes
/// creating the sandbox and the function's init. The handler answers (failing closed with
/// `DIRECTORY_UNAVAILABLE` if it must) by this long after the process started, for the first
/// invocation, or after the event arrived, for the next ones. The second left over covers what
/// the process cannot see: the sandbox creation before it started, and the network.
pub const HANDLER_BUDGET: Duration = Duration::from_millis(4000);

/// Kept free before the invocation's Lambda deadline, to send the answer (or the error).
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(300);

/// The warm-up read in init gives up after this long: a directory that does not answer then
/// should not also eat the first invocation's budget.
pub const WARM_UP_BUDGET: Duration = Duration::from_millis(1000);

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

/// Runs `trigger` under `budget`; past it, fails closed (with its decision line).
pub async fn within_budget<T: Trigger>(
    trigger: &T,
    event: Value,
    budget: Duration,
) -> Result<Value, Denial> {
    match tokio::time::timeout(budget, trigger.handle(event)).await {
        Ok(answer) => answer,
        Err(_) => {
            let denial = Denial::new(
                DenyCode::DirectoryUnavailable,
                format!(
                    "no answer within the handler budget of {} ms",
                    budget.as_millis()
                ),
            );
            handlers::log_outcome(None, Err(&denial));
            Err(denial)
        }
    }
}

/// The time this invocation may take: [`HANDLER_BUDGET`] from `reference` (the process start
/// for the first invocation, the event's arrival otherwise), and no later than
/// [`DEADLINE_MARGIN`] before Lambda's `deadline_ms` (milliseconds since the epoch). Zero when
/// either is past: the invocation then fails closed at once.
///
/// A deadline that has already passed when the event arrives (or 0) is not Lambda's: Lambda
/// stops an invocation at its deadline and starts the clock after init. Local emulators start
/// it when they receive the call, before they have built and started the function
/// (`cargo lambda watch` compiles on the first call); only the Cognito budget applies then.
pub fn budget(
    reference: Instant,
    now: Instant,
    deadline_ms: u64,
    now_since_epoch: Duration,
) -> Duration {
    let cognito = HANDLER_BUDGET.saturating_sub(now.saturating_duration_since(reference));
    let Some(left) = Duration::from_millis(deadline_ms)
        .checked_sub(now_since_epoch)
        .filter(|left| !left.is_zero())
    else {
        return cognito;
    };
    cognito.min(left.saturating_sub(DEADLINE_MARGIN))
}

/// One cheap read in init opens the TLS connection off the first sign-in's clock. It reads a
/// route that cannot exist, since every function may read routes (and only what it needs).
pub async fn warm_up<D: Directory>(directory: &D) {
    match tokio::time::timeout(
        WARM_UP_BUDGET,
        directory.route(RouteKind::Pool, "__warm_up__"),
    )
    .await
    {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(reason = %e, "directory warm-up failed"),
        Err(_) => tracing::warn!(
            reason = format!("no answer within {} ms", WARM_UP_BUDGET.as_millis()),
            "directory warm-up failed"
        ),
    }
}

fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Builds the production directory and runs the function built by `make` until Lambda stops it.
pub async fn run<T: Trigger>(make: impl FnOnce(Init) -> T) -> Result<(), lambda_runtime::Error> {
    // Cognito's clock started before this process did: count init's time against the first
    // invocation's budget.
    let started = Instant::now();
    logging::init();
    let config = Config::from_env().inspect_err(|e| tracing::error!(reason = %e, "init failed"))?;
    let collector = match telemetry::install(&config.metrics_namespace, T::NAME) {
        Ok(collector) => Some(collector),
        Err(e) => {
            tracing::warn!(reason = %e, "metrics are off");
            None
        }
    };
    let sdk = sdk::load_sdk_config().await;
    let directory = DynamoDirectory::new(sdk::dynamodb_client(&sdk), config.table_name.clone());
    warm_up(&directory).await;
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
        let arrived = Instant::now();
        let cold_start = telemetry::take_cold_start();
        let reference = if cold_start { started } else { arrived };
        let budget = budget(reference, arrived, event.context.deadline, since_epoch());
        let invocation = Invocation {
            request_id: event.context.request_id.clone(),
            cold_start,
            function_name: event.context.env_config.function_name.clone(),
            function_version: event.context.env_config.version.clone(),
            trace_id: event
                .context
                .xray_trace_id
                .as_deref()
                .map(|t| telemetry::trace_root(t).to_string()),
        };
        if cold_start {
            telemetry::cold_start();
        }
        let answer = telemetry::within(
            invocation.clone(),
            within_budget(trigger, event.payload, budget),
        )
        .await;
        if let Some(collector) = collector {
            telemetry::flush(collector, &invocation, &mut std::io::stdout().lock());
        }
        // A denial becomes Lambda's error document (below); its decision line is written, and
        // `logging` keeps lambda_runtime from logging it a second time at ERROR.
        answer
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
    fn the_budget_counts_init_and_stops_before_the_lambda_deadline() {
        let start = Instant::now();
        let epoch = Duration::from_secs(1_700_000_000);
        let deadline = |after: Duration| (epoch + after).as_millis() as u64;
        // A warm invocation with a 5 s Lambda timeout: the Cognito budget decides.
        assert_eq!(
            budget(start, start, deadline(Duration::from_secs(5)), epoch),
            HANDLER_BUDGET
        );
        // A cold one whose init took 1.5 s: 2.5 s are left.
        let now = start + Duration::from_millis(1500);
        assert_eq!(
            budget(start, now, deadline(Duration::from_secs(5)), epoch),
            Duration::from_millis(2500)
        );
        // A 3 s Lambda timeout: its deadline, less the margin, decides.
        assert_eq!(
            budget(start, start, deadline(Duration::from_secs(3)), epoch),
            Duration::from_secs(3) - DEADLINE_MARGIN
        );
        // Past the Cognito budget, or within the margin of the deadline: nothing left.
        assert_eq!(
            budget(
                start,
                start + Duration::from_secs(5),
                deadline(Duration::from_secs(5)),
                epoch
            ),
            Duration::ZERO
        );
        assert_eq!(
            budget(start, start, deadline(Duration::from_millis(200)), epoch),
            Duration::ZERO
        );
        // A deadline already past on arrival (an emulator's), or none: the Cognito budget.
        assert_eq!(
            budget(start, start, deadline(Duration::ZERO), epoch),
            HANDLER_BUDGET
        );
        let stale = (epoch - Duration::from_secs(30)).as_millis() as u64;
        assert_eq!(budget(start, start, stale, epoch), HANDLER_BUDGET);
        assert_eq!(budget(start, start, 0, epoch), HANDLER_BUDGET);
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
