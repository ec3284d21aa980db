//! JSON logs for CloudWatch. Fields: trigger_source, user_pool_id, client_id, sub, tenant_id,
//! decision, rule, code, reason. Never the email, phone, names, userName or the raw event.

use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;

/// The filter from `RUST_LOG` (`info`, `warn`, `tenant_lookup=debug,info`, ...); `info` when
/// unset or unreadable. `Targets` rather than `EnvFilter`: no regex engine in the binary.
pub fn filter_from(value: Option<&str>) -> Targets {
    value
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(Level::INFO))
}

/// Installs the JSON subscriber once.
pub fn init() {
    let filter = filter_from(std::env::var("RUST_LOG").ok().as_deref());
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .finish()
        .with(filter);
    let _ = tracing::subscriber::set_global_default(subscriber);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::level_filters::LevelFilter;

    #[test]
    fn rust_log_sets_the_level_and_defaults_to_info() {
        assert_eq!(filter_from(None).default_level(), Some(LevelFilter::INFO));
        assert_eq!(
            filter_from(Some("warn")).default_level(),
            Some(LevelFilter::WARN)
        );
        assert_eq!(
            filter_from(Some("=!bad")).default_level(),
            Some(LevelFilter::INFO)
        );
    }
}
