//! Telemetry of one invocation: the Lambda context that the decision line carries (request id,
//! cold start, function name and version, trace id), and the metrics, written after each
//! invocation as CloudWatch embedded metric format (EMF) documents on standard output, where
//! CloudWatch Logs turns them into metrics (no API call, no extra permission).
//!
//! The metrics go through the `metrics` facade into `metrics_cloudwatch_embedded`'s collector
//! (installed by [`install`] in `lambda::run` only: in tests and in `tenantctl` every call here
//! is a no-op). Every metric carries the dimension `function` (the trigger: `pre-signup`,
//! `post-confirmation`, `pre-token-generation`); in the namespace `METRICS_NAMESPACE`:
//!
//! | metric | unit | more dimensions | one per |
//! |---|---|---|---|
//! | `Decisions` | Count | `decision` (admit, provision, already-member, issue, ..., deny), `code` (the denial code, `OK` otherwise) | invocation |
//! | `Denials` | Count | – | invocation answered with a denial (Lambda counts it in `Errors`) |
//! | `DirectoryUnavailable` | Count | – | invocation that failed closed on the directory |
//! | `Provisioning` | Count | `outcome` (see [`provisioning_outcome`]) | provisioning transaction |
//! | `ColdStart` | Count | – | first invocation of an instance |
//! | `DynamoDbLatency` | Milliseconds | – | DynamoDB request (several values per document) |
//! | `DirectoryStaleServed` | Count | `kind` (tenant, tier, route, memberships) | cached answer served past its TTL while DynamoDB failed (`STALE_IF_ERROR_SECONDS`) |
//!
//! Nothing here carries a user's attribute: dimension values are fixed words and codes.

use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use metrics::Unit;
use metrics_cloudwatch_embedded::{Builder, Collector};

use crate::domain::denial::DenyCode;
use crate::store::ProvisionOutcome;

/// The `code` dimension of a decision that is not a denial.
pub const CODE_OK: &str = "OK";

/// The Lambda context of the invocation in progress, for its log lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Invocation {
    pub request_id: String,
    pub cold_start: bool,
    pub function_name: String,
    pub function_version: String,
    /// The X-Ray trace id (`Root=...` of the trace header), when Lambda passed one.
    pub trace_id: Option<String>,
}

tokio::task_local! {
    static CURRENT: Invocation;
}

/// Runs `f` as the invocation `invocation`: its log lines carry the invocation's fields.
pub async fn within<F: Future>(invocation: Invocation, f: F) -> F::Output {
    CURRENT.scope(invocation, f).await
}

/// The invocation in progress, if any (none in unit tests that call a handler directly).
pub fn current() -> Option<Invocation> {
    CURRENT.try_with(Clone::clone).ok()
}

/// The trace id of Lambda's `X-Amzn-Trace-Id` value: its `Root=` part, or the value itself.
pub fn trace_root(header: &str) -> &str {
    header
        .split(';')
        .find_map(|part| part.trim().strip_prefix("Root="))
        .unwrap_or(header)
}

static COLD: AtomicBool = AtomicBool::new(true);

/// True for the first invocation of this process only.
pub fn take_cold_start() -> bool {
    COLD.swap(false, Ordering::Relaxed)
}

/// Installs the EMF collector as the process's metrics recorder, every metric dimensioned by
/// `function`. Fails if a recorder is already installed.
pub fn install(
    namespace: &str,
    function: &'static str,
) -> Result<&'static Collector, Box<dyn std::error::Error + Send + Sync>> {
    let collector = Builder::new()
        .cloudwatch_namespace(namespace.to_string())
        .with_dimension("function", function)
        .init()?;
    metrics::describe_counter!("Decisions", Unit::Count, "decisions, by decision and code");
    metrics::describe_counter!("Denials", Unit::Count, "invocations answered with a denial");
    metrics::describe_counter!(
        "DirectoryUnavailable",
        Unit::Count,
        "invocations that failed closed on the directory"
    );
    metrics::describe_counter!("Provisioning", Unit::Count, "provisioning outcomes");
    metrics::describe_counter!("ColdStart", Unit::Count, "first invocations of an instance");
    metrics::describe_counter!(
        "DirectoryStaleServed",
        Unit::Count,
        "cached answers served past their TTL while DynamoDB failed"
    );
    metrics::describe_histogram!(
        "DynamoDbLatency",
        Unit::Milliseconds,
        "each DynamoDB request"
    );
    Ok(collector)
}

/// Writes the invocation's metrics (one EMF document per set of dimensions that has values)
/// with its request id and trace id as properties, and resets them for the next invocation.
pub fn flush(collector: &Collector, invocation: &Invocation, out: &mut impl Write) {
    collector.set_property("requestId", invocation.request_id.as_str());
    match &invocation.trace_id {
        Some(trace) => collector.set_property("traceId", trace.as_str()),
        None => collector.remove_property("traceId"),
    };
    if let Err(e) = collector.flush(&mut *out).and_then(|()| out.flush()) {
        tracing::warn!(reason = %e, "metrics could not be written");
    }
}

/// One per invocation, from the decision line ([`crate::handlers`]): the two cannot disagree.
pub fn decision(decision: &'static str, code: Option<DenyCode>) {
    let code = code.map_or(CODE_OK, DenyCode::as_str);
    metrics::counter!("Decisions", "decision" => decision, "code" => code).increment(1);
    if code != CODE_OK {
        // Lambda's `Errors` counts denials too: `Errors - Denials` are the unexpected failures.
        metrics::counter!("Denials").increment(1);
    }
    if code == DenyCode::DirectoryUnavailable.as_str() {
        metrics::counter!("DirectoryUnavailable").increment(1);
    }
}

/// The first invocation of an instance.
pub fn cold_start() {
    metrics::counter!("ColdStart").increment(1);
}

/// The `outcome` dimension of a provisioning transaction's result.
pub fn provisioning_outcome(outcome: &ProvisionOutcome) -> &'static str {
    match outcome {
        ProvisionOutcome::Created => "provisioned",
        ProvisionOutcome::AlreadyMember(_) => "already-member",
        ProvisionOutcome::SeatLimitReached => "seat-limit",
        ProvisionOutcome::TenantInactive => "tenant-inactive",
        ProvisionOutcome::InvitationGone => "invitation-gone",
        ProvisionOutcome::ProvisionedBefore => "provisioned-before",
    }
}

/// A provisioning transaction settled with `outcome`.
pub fn provisioned(outcome: &ProvisionOutcome) {
    let outcome = provisioning_outcome(outcome);
    metrics::counter!("Provisioning", "outcome" => outcome).increment(1);
}

/// A provisioning transaction was cancelled by a `TransactionConflict` and is tried again.
pub fn provisioning_conflict_retried() {
    metrics::counter!("Provisioning", "outcome" => "conflict-retried").increment(1);
}

/// A cached answer of `kind` was served past its TTL because DynamoDB failed.
pub fn stale_served(kind: &'static str) {
    metrics::counter!("DirectoryStaleServed", "kind" => kind).increment(1);
}

/// One DynamoDB request (all of its attempts) took `elapsed`.
pub fn dynamodb_request(operation: &str, elapsed: Duration) {
    let ms = elapsed.as_secs_f64() * 1000.0;
    tracing::debug!(operation, elapsed_ms = ms, "dynamodb request");
    metrics::histogram!("DynamoDbLatency").record(ms);
}

/// A recorder for tests: the counters incremented while it is the local recorder, as
/// `name{label=value,...}` with their totals.
#[cfg(test)]
pub(crate) mod test_recorder {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use metrics::{
        Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
    };

    #[derive(Clone, Default)]
    pub struct Counts(Arc<Mutex<BTreeMap<String, u64>>>);

    impl Counts {
        pub fn get(&self, name: &str) -> u64 {
            self.0.lock().unwrap().get(name).copied().unwrap_or(0)
        }
    }

    struct One(Counts, String);

    impl CounterFn for One {
        fn increment(&self, value: u64) {
            *self.0 .0.lock().unwrap().entry(self.1.clone()).or_default() += value;
        }
        fn absolute(&self, value: u64) {
            self.0 .0.lock().unwrap().insert(self.1.clone(), value);
        }
    }

    impl Recorder for Counts {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            let labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            let name = format!("{}{{{}}}", key.name(), labels.join(","));
            Counter::from_arc(Arc::new(One(self.clone(), name)))
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }
        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::noop()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_denial_counts_once_as_a_decision_and_once_as_a_denial() {
        let counts = test_recorder::Counts::default();
        metrics::with_local_recorder(&counts, || {
            decision("issue", None);
            decision("deny", Some(DenyCode::NoTenant));
            decision("deny", Some(DenyCode::DirectoryUnavailable));
        });
        assert_eq!(counts.get("Decisions{decision=issue,code=OK}"), 1);
        assert_eq!(counts.get("Decisions{decision=deny,code=NO_TENANT}"), 1);
        assert_eq!(counts.get("Denials{}"), 2);
        assert_eq!(counts.get("DirectoryUnavailable{}"), 1);
    }

    #[test]
    fn the_trace_id_is_the_root_of_the_header() {
        assert_eq!(
            trace_root(
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
            ),
            "1-5759e988-bd862e3fe1be46a994272793"
        );
        assert_eq!(trace_root("1-abc"), "1-abc");
    }

    #[tokio::test]
    async fn the_invocation_is_known_only_within_its_scope() {
        assert_eq!(current(), None);
        let invocation = Invocation {
            request_id: "r-1".into(),
            cold_start: true,
            ..Invocation::default()
        };
        let seen = within(invocation.clone(), async { current() }).await;
        assert_eq!(seen, Some(invocation));
        assert_eq!(current(), None);
    }

    #[test]
    fn every_provisioning_outcome_has_a_fixed_name() {
        assert_eq!(
            provisioning_outcome(&ProvisionOutcome::Created),
            "provisioned"
        );
        assert_eq!(
            provisioning_outcome(&ProvisionOutcome::SeatLimitReached),
            "seat-limit"
        );
    }
}
