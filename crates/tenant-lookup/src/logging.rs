//! JSON logs for CloudWatch, one object per line with its fields at the top level (`level`,
//! `timestamp`, `message`, then the fields). The decision line of an invocation carries
//! request_id, cold_start, function_name, function_version, trace_id, trigger_source,
//! user_pool_id, client_id, sub, version, tenant_id, decision, rule, code, reason (see
//! `handlers::log_outcome`). Never the email, phone, names, userName or the raw event.
//!
//! The level: `AWS_LAMBDA_LOG_LEVEL` (set by Lambda's advanced logging controls: TRACE, DEBUG,
//! INFO, WARN, ERROR, FATAL) when present, else `RUST_LOG`, else `info`. A bare level more
//! verbose than `info` applies to this project's code (`tenant_lookup`) only, and the
//! dependencies stay at `info`: the SDK's own debug and trace output shows DynamoDB keys, which
//! hold email addresses. Name a dependency to see it (`RUST_LOG=info,aws_smithy_runtime=debug`).

use tracing::level_filters::LevelFilter;
use tracing::Level;
use tracing_subscriber::filter::{filter_fn, Targets};
use tracing_subscriber::layer::SubscriberExt;

/// This project's code: what a bare level more verbose than `info` applies to.
const OWN_TARGET: &str = "tenant_lookup";

/// Where lambda_runtime logs, at ERROR, every error a handler returns (`error!("{error:?}")`,
/// no other field) and every panic it catches (with an `error` field).
const RUNTIME_HANDLER_ERRORS: &str = "lambda_runtime::layers::panic";

/// A level as `AWS_LAMBDA_LOG_LEVEL` or a bare `RUST_LOG` spells it (any case; `FATAL` is
/// `error`, the most severe level `tracing` has).
fn level(value: &str) -> Option<LevelFilter> {
    match value.trim().to_ascii_lowercase().as_str() {
        "fatal" => Some(LevelFilter::ERROR),
        other => other.parse::<LevelFilter>().ok(),
    }
}

/// `level` for this project's code; dependencies at most as verbose as `info`.
fn for_own_code(level: LevelFilter) -> Targets {
    Targets::new()
        .with_target(OWN_TARGET, level)
        .with_default(level.min(LevelFilter::INFO))
}

/// The filter from `AWS_LAMBDA_LOG_LEVEL` (`lambda_level`) and `RUST_LOG` (`rust_log`): the
/// Lambda level when set and valid, else `RUST_LOG` (a level, or per-target directives as in
/// `tenant_lookup=debug,info`), else `info`. `Targets` rather than `EnvFilter`: no regex
/// engine in the binary.
pub fn filter_from(rust_log: Option<&str>, lambda_level: Option<&str>) -> Targets {
    if let Some(level) = lambda_level.and_then(level) {
        return for_own_code(level);
    }
    match rust_log.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) if !v.contains('=') && !v.contains(',') => {
            for_own_code(level(v).unwrap_or(LevelFilter::INFO))
        }
        Some(v) => v
            .parse::<Targets>()
            .unwrap_or_else(|_| for_own_code(LevelFilter::INFO)),
        None => for_own_code(LevelFilter::INFO),
    }
}

/// True for every event but lambda_runtime's copy of an error the handler returned: a handler
/// returns only denials, whose decision line is already written (WARN, or ERROR for an
/// unavailable directory). Panics caught by the runtime (which carry an `error` field) pass.
pub fn not_a_returned_error(metadata: &tracing::Metadata<'_>) -> bool {
    !(metadata.target() == RUNTIME_HANDLER_ERRORS && metadata.fields().field("error").is_none())
}

/// Installs the JSON subscriber once, and a panic hook that logs the panic as an ERROR line
/// before the default hook runs (the release profile aborts on a panic).
pub fn init() {
    let filter = filter_from(
        std::env::var("RUST_LOG").ok().as_deref(),
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
    );
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_max_level(Level::TRACE)
        .finish()
        .with(filter)
        .with(filter_fn(not_a_returned_error));
    if tracing::subscriber::set_global_default(subscriber).is_ok() {
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            tracing::error!(panic = %info, "panic");
            default_hook(info);
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(t: &Targets) -> Option<LevelFilter> {
        // The level an event of this crate is enabled at.
        [
            LevelFilter::TRACE,
            LevelFilter::DEBUG,
            LevelFilter::INFO,
            LevelFilter::WARN,
            LevelFilter::ERROR,
        ]
        .into_iter()
        .find(|l| {
            l.into_level()
                .is_some_and(|l| t.would_enable("tenant_lookup::handlers", &l))
        })
    }

    fn dependency(t: &Targets) -> bool {
        t.would_enable("aws_smithy_runtime::client", &Level::DEBUG)
    }

    #[test]
    fn rust_log_sets_the_level_and_defaults_to_info() {
        assert_eq!(own(&filter_from(None, None)), Some(LevelFilter::INFO));
        assert_eq!(
            own(&filter_from(Some("warn"), None)),
            Some(LevelFilter::WARN)
        );
        assert_eq!(
            own(&filter_from(Some("=!bad"), None)),
            Some(LevelFilter::INFO)
        );
        let debug = filter_from(Some("debug"), None);
        assert_eq!(own(&debug), Some(LevelFilter::DEBUG));
        assert!(
            !dependency(&debug),
            "a bare level does not open the SDK's debug output"
        );
        let named = filter_from(Some("info,aws_smithy_runtime=debug"), None);
        assert!(dependency(&named), "a named dependency is shown");
        assert_eq!(own(&named), Some(LevelFilter::INFO));
    }

    /// What reaches the output through the filter, as lambda_runtime would log it.
    #[test]
    fn the_runtimes_copy_of_a_returned_error_is_dropped_and_panics_pass() {
        use std::io::Write;
        use std::sync::{Arc, Mutex};

        #[derive(Clone, Default)]
        struct Lines(Arc<Mutex<Vec<u8>>>);
        impl Write for Lines {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .finish()
            .with(filter_fn(not_a_returned_error));
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(target: "lambda_runtime::layers::panic", "Denial {{ code: NoTenant }}");
            let error = "boom";
            tracing::error!(target: "lambda_runtime::layers::panic", ?error, "user handler panicked");
            tracing::error!(target: "lambda_runtime::layers::api_client", "Lambda Runtime API request failed");
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains("NoTenant"), "{text}");
        assert!(text.contains("user handler panicked"), "{text}");
        assert!(text.contains("Runtime API request failed"), "{text}");
    }

    #[test]
    fn lambdas_log_level_wins_over_rust_log() {
        for (value, want) in [
            ("DEBUG", LevelFilter::DEBUG),
            ("TRACE", LevelFilter::TRACE),
            ("WARN", LevelFilter::WARN),
            ("FATAL", LevelFilter::ERROR),
        ] {
            assert_eq!(
                own(&filter_from(Some("info"), Some(value))),
                Some(want),
                "{value}"
            );
        }
        assert_eq!(
            own(&filter_from(Some("debug"), Some("loud"))),
            Some(LevelFilter::DEBUG),
            "an unreadable Lambda level leaves RUST_LOG in charge"
        );
    }
}
