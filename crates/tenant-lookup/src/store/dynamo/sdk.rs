//! SDK configuration for the trigger functions: timeouts and retries sized to Cognito's
//! 5-second budget, the HTTPS client (rustls with ring), and the timer that reports each
//! DynamoDB request's latency (`crate::telemetry`).

use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

use crate::telemetry;

/// TCP/TLS connect timeout. Lambda and DynamoDB are in the same region: a connect takes a few
/// milliseconds, so 500 ms only fires on a broken path, and leaves time for a second attempt.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// One attempt of one request. DynamoDB answers single-item requests in ~5-10 ms (p99 well under
/// 100 ms); an attempt still open after 1 s is stuck, and a fresh attempt is the better bet.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
/// One request including its retries. Cognito waits 5 s for a trigger, then fails the sign-in
/// or retries the trigger (up to 3 invocations in all). 2.5 s caps a single stuck request at half
/// the budget, so the handler still answers (failing closed) before Cognito gives up on it, and a
/// warm invocation makes at most a couple of requests anyway.
pub const OPERATION_TIMEOUT: Duration = Duration::from_millis(2500);
/// Attempts per request (standard retry mode): one retry, since Cognito itself retries the whole
/// trigger and two attempts of [`ATTEMPT_TIMEOUT`] fit within [`OPERATION_TIMEOUT`].
pub const MAX_ATTEMPTS: u32 = 2;

/// The timeouts described by [`CONNECT_TIMEOUT`], [`ATTEMPT_TIMEOUT`] and [`OPERATION_TIMEOUT`].
pub fn lambda_timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The HTTP client of every SDK client here: rustls with the ring provider, HTTP and HTTPS.
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// SDK configuration for the trigger functions: the default provider chain (region and
/// credentials from the Lambda environment; `AWS_ENDPOINT_URL_DYNAMODB` is honoured by the SDK
/// itself) with timeouts and retries sized to Cognito's 5-second budget (see the constants).
/// Load it once, in init, outside the handler.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(lambda_timeout_config())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .load()
        .await
}

/// The DynamoDB client of the functions: `config` (see [`load_sdk_config`]) with the
/// [`RequestTimer`].
pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(config)
        .interceptor(RequestTimer)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// Reports how long each DynamoDB request took, all attempts included, to
/// [`telemetry::dynamodb_request`] (the `DynamoDbLatency` metric and a debug line). A request
/// cut short by the operation timeout or the handler budget is not reported: the invocation's
/// `DirectoryUnavailable` count and Lambda's `Duration` tell of those.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestTimer;

#[derive(Debug, Clone, Copy)]
struct Started(Instant);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

impl Intercept for RequestTimer {
    fn name(&self) -> &'static str {
        "RequestTimer"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Started(Instant::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Started(at)) = cfg.load::<Started>() {
            let operation = cfg.load::<Metadata>().map_or("unknown", |m| m.name());
            telemetry::dynamodb_request(operation, at.elapsed());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_fit_cognitos_budget_with_a_retry() {
        assert!(ATTEMPT_TIMEOUT * MAX_ATTEMPTS <= OPERATION_TIMEOUT);
        assert!(OPERATION_TIMEOUT * 2 <= Duration::from_secs(5));
        let c = lambda_timeout_config();
        assert_eq!(c.operation_timeout(), Some(OPERATION_TIMEOUT));
        assert_eq!(c.connect_timeout(), Some(CONNECT_TIMEOUT));
    }
}
