//! Property tests: generated events of every trigger, version and trigger source (unknown
//! ones, explicit nulls, wrong JSON types, huge and Unicode values, deep nesting), in short
//! sequences, against generated directories and settings; every answer is checked against the
//! promises of `test_support::invariants` (whatever the rules decide) and every log line for
//! the event's personal data.
//!
//! `make test` runs a few thousand cases; `PROPTEST_SCALE=K` runs K times as many per
//! property, `PROPTEST_CASES=N` exactly N (`make fuzz` runs over a million in all). Each
//! property prints how many cases held and what the answers were, so a property that stopped
//! reaching its subject shows it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use serde_json::Value;
use tenant_lookup::{Config, Denial};
use test_support::gen::{self, Function, Sizes};
use test_support::invariants::{Handlers, COGNITO_RESERVED_CLAIMS};

/// Cases of a property: `PROPTEST_CASES` if set, else `default` times `PROPTEST_SCALE`
/// (1 unless set; `make fuzz` sets it).
fn cases(default: u32) -> u32 {
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u32>().ok());
    var("PROPTEST_CASES")
        .unwrap_or_else(|| default.saturating_mul(var("PROPTEST_SCALE").unwrap_or(1)))
}

/// What the answers of a property's cases were: `answered`, or the denial code (with the
/// reason, for unreadable events).
#[derive(Default)]
struct Tally(Mutex<BTreeMap<String, u64>>);

impl Tally {
    fn add(&self, result: &Result<Value, Denial>) {
        let key = match result {
            Ok(_) => "answered".to_string(),
            // Why an event was unreadable says what the generator produces.
            // Sizes in a reason ("email of 2300 bytes") are one kind of case: numbers read N.
            Err(d) if d.code == tenant_lookup::DenyCode::InvalidEvent => {
                let mut reason = String::with_capacity(d.reason.len());
                for c in d.reason.chars() {
                    if !c.is_ascii_digit() {
                        reason.push(c);
                    } else if !reason.ends_with('N') {
                        reason.push('N');
                    }
                }
                format!("INVALID_EVENT ({reason})")
            }
            Err(d) => d.code.as_str().to_string(),
        };
        *self.0.lock().unwrap().entry(key).or_default() += 1;
    }

    fn count(&self, key: &str) -> u64 {
        self.0.lock().unwrap().get(key).copied().unwrap_or(0)
    }

    fn total(&self) -> u64 {
        self.0.lock().unwrap().values().sum()
    }
}

/// Runs `body` on `n` cases of `strategy`; panics with the smallest failing case found.
fn property<S: Strategy>(
    name: &str,
    n: u32,
    strategy: S,
    tally: &Tally,
    body: impl Fn(S::Value) -> Result<(), String>,
) where
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(ProptestConfig {
        cases: n,
        failure_persistence: None,
        max_shrink_iters: 4_096,
        ..ProptestConfig::default()
    });
    if let Err(e) = runner.run(&strategy, |v| body(v).map_err(TestCaseError::fail)) {
        panic!("property {name} failed: {e}");
    }
    println!(
        "property {name}: {n} cases held ({} invocations: {:?})",
        tally.total(),
        tally.0.lock().unwrap()
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// Events of `functions`, one after another against one directory and one cache.
fn sequence(
    runtime: &tokio::runtime::Runtime,
    tally: &Tally,
    config: &Config,
    contents: tenant_lookup::DirectoryContents,
    events: Vec<(Function, Value)>,
) -> Result<(), String> {
    let handlers = Handlers::new(config, contents);
    runtime.block_on(async {
        for (function, event) in &events {
            let result = handlers.run_checked(*function, event, true).await?;
            tally.add(&result);
        }
        Ok(())
    })
}

fn one_function(function: Function, n: u32) {
    let rt = runtime();
    let tally = Tally::default();
    let strategy = (
        gen::config(),
        gen::directory(Sizes::Everyday),
        vec(gen::event(function), 1..4),
    );
    property(
        function.name(),
        n,
        strategy,
        &tally,
        |(config, contents, events)| {
            let events = events.into_iter().map(|e| (function, e)).collect();
            sequence(&rt, &tally, &config, contents, events)
        },
    );
    assert!(
        tally.count("answered") * 10 > tally.total(),
        "under a tenth of the generated {} events was answered: the generator misses the directory",
        function.name()
    );
}

#[test]
fn pre_signup_keeps_its_promises() {
    one_function(Function::PreSignUp, cases(500));
}

#[test]
fn post_confirmation_keeps_its_promises() {
    one_function(Function::PostConfirmation, cases(500));
}

#[test]
fn pre_token_generation_keeps_its_promises() {
    one_function(Function::PreTokenGeneration, cases(500));
}

/// Sign-up, confirmation and tokens of the same users in any order, against one directory.
#[test]
fn the_three_functions_in_any_order_keep_their_promises() {
    let rt = runtime();
    let tally = Tally::default();
    let strategy = (
        gen::config(),
        gen::directory(Sizes::Everyday),
        vec(gen::any_event(), 2..6),
    );
    property(
        "lifecycle",
        cases(400),
        strategy,
        &tally,
        |(config, contents, events)| sequence(&rt, &tally, &config, contents, events),
    );
}

/// Whatever the directory holds (ids, tiers, roles, scopes and IAM roles of kilobytes, hundreds
/// of roles and scopes), what a token gains stays within the budget: the check in
/// `test_support::invariants` measures every answer.
#[test]
fn the_claims_stay_within_the_token_budget_for_any_directory() {
    let rt = runtime();
    let tally = Tally::default();
    let strategy = (
        gen::config(),
        gen::directory(Sizes::Unbounded),
        vec(gen::event(Function::PreTokenGeneration), 1..4),
    );
    property(
        "token budget, any directory",
        cases(200),
        strategy,
        &tally,
        |(config, contents, events)| {
            let events = events
                .into_iter()
                .map(|e| (Function::PreTokenGeneration, e))
                .collect();
            sequence(&rt, &tally, &config, contents, events)
        },
    );
    assert!(tally.count("answered") > 0, "no token was issued");
    assert!(
        tally.count("DIRECTORY_UNAVAILABLE") > 0,
        "no directory was too large for a token: the budget was never reached"
    );
}

/// Within the sizes `docs/reliability.md` documents (ids and tiers of 64 bytes, 10 roles of
/// 32, 10 scopes of 64, an IAM role ARN of 128), the budget never refuses a token.
#[test]
fn documented_sizes_never_reach_the_token_budget() {
    let rt = runtime();
    let tally = Tally::default();
    let strategy = (
        gen::config(),
        gen::directory(Sizes::Documented),
        vec(gen::event(Function::PreTokenGeneration), 1..4),
    );
    property(
        "token budget, documented sizes",
        cases(300),
        strategy,
        &tally,
        |(config, contents, events)| {
            let handlers = Handlers::new(&config, contents);
            rt.block_on(async {
                for event in &events {
                    let result = handlers
                        .run_checked(Function::PreTokenGeneration, event, false)
                        .await?;
                    if let Err(d) = &result {
                        if d.reason.contains("budget") {
                            return Err(format!("refused within documented sizes: {}", d.reason));
                        }
                    }
                    tally.add(&result);
                }
                Ok(())
            })
        },
    );
    assert!(tally.count("answered") > 0, "no token was issued");
}

/// A deployment cannot name the tenant claims after a claim Cognito reserves.
#[test]
fn reserved_claim_names_are_refused_at_start() {
    let tally = Tally::default();
    let names = prop_oneof![
        proptest::sample::select(COGNITO_RESERVED_CLAIMS.to_vec()).prop_map(str::to_string),
        "(cognito|dev):[a-z_]{0,12}",
        "[a-zA-Z_:]{0,16}",
        Just(String::new()),
    ];
    let variables = proptest::sample::select(vec!["TENANT_ID_CLAIM", "TENANT_TIER_CLAIM"]);
    property(
        "reserved claim names",
        cases(500),
        (variables, names),
        &tally,
        |(variable, name)| {
            let accepted = Config::from_lookup(|k| match k {
                "TENANT_TABLE" => Some("t".into()),
                k if k == variable => Some(name.clone()),
                _ => None,
            });
            let claims = accepted.map(|c| c.claims);
            let reserved = COGNITO_RESERVED_CLAIMS.contains(&name.trim())
                || name.starts_with("cognito:")
                || name.starts_with("dev:");
            match claims {
                Ok(c) if reserved => Err(format!("{variable}={name:?} accepted: {c:?}")),
                _ => Ok(()),
            }
        },
    );
}
