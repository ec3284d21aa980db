//! What the functions write in CloudWatch, read from the real binaries: each function runs in
//! a fresh process under a stand-in for the Lambda Runtime API (`test_support::runtime`),
//! against moto with `events/seed.json` imported, and answers every event of `events/`.
//!
//! - one decision line per invocation, with the Lambda context (request id, cold start on the
//!   first only, function name and version, trace id), the decision and, for a denial, its
//!   code; no second line for a denial (lambda_runtime's ERROR copy is filtered);
//! - valid CloudWatch embedded metric format documents whose metric names and dimensions
//!   match the decision lines (`Decisions` by function, decision and code; `ColdStart`;
//!   `Provisioning` by outcome; `DynamoDbLatency`);
//! - no email, phone number, name or username in any line, at debug level too;
//! - a cold start against a DynamoDB that accepts connections and never answers still answers
//!   `DIRECTORY_UNAVAILABLE` within Cognito's 5 s, counted from the process start.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;
use test_support::events::{events_of, read_json, FUNCTIONS};
use test_support::runtime::{Answer, FunctionProcess, Invoke, SilentEndpoint};
use test_support::seeds::{events_seed, NOW};
use test_support::{fresh_table, moto};

/// The namespace the functions use when `METRICS_NAMESPACE` is unset.
const DEFAULT_NAMESPACE: &str = "CognitoTenantTriggers";

fn trace_header(i: usize) -> String {
    format!("Root=1-67891233-abcdef01234567890000{i:04};Parent=53995c3f42cd8ad8;Sampled=1")
}

fn trace_root(i: usize) -> String {
    format!("1-67891233-abcdef01234567890000{i:04}")
}

fn lines_as_json(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("every line is one JSON object ({e}): {l}"))
        })
        .collect()
}

fn is_emf(line: &Value) -> bool {
    line.get("_aws").is_some()
}

/// Checks `doc` against the embedded metric format specification and returns its metric
/// names with their dimension sets.
fn validate_emf(doc: &Value) -> Vec<(String, BTreeSet<String>)> {
    let aws = &doc["_aws"];
    assert!(aws["Timestamp"].is_u64(), "Timestamp in ms: {doc}");
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .unwrap_or_else(|| panic!("CloudWatchMetrics is an array: {doc}"));
    assert!(!directives.is_empty(), "{doc}");
    let mut metrics = Vec::new();
    for directive in directives {
        let namespace = directive["Namespace"].as_str().expect("a Namespace");
        assert!(!namespace.is_empty() && namespace.len() <= 255, "{doc}");
        let dimension_sets = directive["Dimensions"].as_array().expect("Dimensions");
        for set in dimension_sets {
            let set = set.as_array().expect("a dimension set is an array");
            assert!(set.len() <= 30, "at most 30 dimensions: {doc}");
            for name in set {
                let name = name.as_str().expect("dimension names are strings");
                assert!(
                    doc[name].is_string(),
                    "dimension {name} has a string value at the root: {doc}"
                );
            }
        }
        let defs = directive["Metrics"].as_array().expect("Metrics");
        assert!(defs.len() <= 100, "{doc}");
        for def in defs {
            let name = def["Name"].as_str().expect("a metric Name");
            if let Some(unit) = def.get("Unit") {
                assert!(
                    ["Count", "Milliseconds"].contains(&unit.as_str().unwrap_or_default()),
                    "a CloudWatch unit: {doc}"
                );
            }
            let value = &doc[name];
            let numbers = match value {
                Value::Number(_) => vec![value.clone()],
                Value::Array(values) => values.clone(),
                _ => panic!("metric {name} has a number or an array of numbers: {doc}"),
            };
            assert!(
                !numbers.is_empty() && numbers.len() <= 100,
                "1 to 100 values: {doc}"
            );
            assert!(
                numbers.iter().all(|n| n.as_f64().is_some_and(|n| n >= 0.0)),
                "{doc}"
            );
            for set in dimension_sets {
                let set: BTreeSet<String> = set
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_str().unwrap().to_string())
                    .collect();
                metrics.push((name.to_string(), set));
            }
        }
    }
    metrics
}

fn dims(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// Values of the event that must never reach a log line.
fn personal_values(event: &Value) -> Vec<String> {
    let attributes = &event["request"]["userAttributes"];
    let sub = attributes["sub"].as_str().unwrap_or_default();
    let mut values: Vec<String> = ["email", "phone_number", "name", "given_name", "family_name"]
        .iter()
        .filter_map(|k| attributes[*k].as_str())
        .map(str::to_string)
        .collect();
    // Cognito's userName may be the sub itself, which the lines carry on purpose.
    if let Some(user) = event["userName"].as_str().filter(|u| *u != sub) {
        values.push(user.to_string());
    }
    values.retain(|v| !v.is_empty());
    values
}

/// Whether a log line carries `value`: anywhere in its text for a distinctive value (an
/// address, a phone number, a full name, a long username), as a whole field value for a short
/// one (a username such as `late` may be a word of a reason).
fn carries(line: &Value, value: &str) -> bool {
    let distinctive = value.len() >= 8 || value.contains(['@', '+', ' ', '_']);
    if distinctive {
        return line.to_string().contains(value);
    }
    line.as_object()
        .is_some_and(|o| o.values().any(|v| v.as_str() == Some(value)))
}

struct Run {
    function: &'static str,
    /// Per event: its request id, the event and the answer.
    invocations: Vec<(String, Value, Answer)>,
    lines: Vec<Value>,
}

async fn run_every_event(function: &'static str, env: &[(&str, String)]) -> Run {
    let table = fresh_table().await;
    table.admin.import(&events_seed(), NOW).await.unwrap();
    let mut env_all = vec![
        ("TENANT_TABLE", table.name().to_string()),
        ("AWS_ENDPOINT_URL_DYNAMODB", moto().endpoint().to_string()),
    ];
    env_all.extend(env.iter().cloned());
    let process = FunctionProcess::start(function, &env_all, None);
    let mut invocations = Vec::new();
    for (i, path) in events_of(function).iter().enumerate() {
        let event = read_json(path);
        let request_id = format!("{function}-{i:03}");
        let answer = process.invoke(Invoke {
            request_id: request_id.clone(),
            trace_header: Some(trace_header(i)),
            payload: event.clone(),
        });
        invocations.push((request_id, event, answer));
    }
    let lines = process.stop();
    Run {
        function,
        invocations,
        lines: lines_as_json(&lines),
    }
}

fn check_run(run: &Run) {
    let function = run.function;
    let decisions: Vec<&Value> = run
        .lines
        .iter()
        .filter(|l| l["message"] == "decision")
        .collect();
    assert_eq!(
        decisions.len(),
        run.invocations.len(),
        "{function}: one decision line per invocation"
    );
    let mut emf_by_request: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for doc in run.lines.iter().filter(|l| is_emf(l)) {
        validate_emf(doc);
        let id = doc["requestId"].as_str().expect("requestId property");
        emf_by_request.entry(id.to_string()).or_default().push(doc);
        assert_eq!(doc["function"], function, "{doc}");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            DEFAULT_NAMESPACE
        );
    }
    // Nothing but decision lines at WARN or ERROR: no second line for a denial.
    for line in &run.lines {
        let level = line["level"].as_str().unwrap_or_default();
        if level == "WARN" || level == "ERROR" {
            assert_eq!(
                line["message"], "decision",
                "{function}: only decision lines warn: {line}"
            );
        }
    }
    let mut provisioned = 0;
    for (i, (request_id, event, answer)) in run.invocations.iter().enumerate() {
        let line = decisions
            .iter()
            .find(|l| l["request_id"] == request_id.as_str())
            .unwrap_or_else(|| panic!("{function}: no decision line for {request_id}"));
        assert_eq!(line["cold_start"], i == 0, "{line}");
        assert_eq!(line["function_name"], format!("stack-{function}"), "{line}");
        assert_eq!(line["function_version"], "$LATEST", "{line}");
        assert_eq!(line["trace_id"], trace_root(i).as_str(), "{line}");
        let decision = line["decision"].as_str().expect("a decision");
        let code = line["code"].as_str().expect("a code");
        match answer {
            Answer::Error(e) => {
                assert_eq!(decision, "deny", "{line}");
                assert_eq!(e["errorType"], code, "{line}");
                let level = if code == "DIRECTORY_UNAVAILABLE" {
                    "ERROR"
                } else {
                    "WARN"
                };
                assert_eq!(line["level"], level, "{line}");
                assert!(line["reason"].is_string(), "a plain-text reason: {line}");
                let about_a_tenant = [
                    "TENANT_SUSPENDED",
                    "SEAT_LIMIT_REACHED",
                    "EMAIL_DOMAIN_NOT_ALLOWED",
                    "MEMBERSHIP_SUSPENDED",
                ];
                if about_a_tenant.contains(&code) {
                    assert!(
                        line["tenant_id"].as_str().is_some_and(|t| !t.is_empty()),
                        "the tenant a denial is about is logged: {line}"
                    );
                }
            }
            Answer::Response(response) => {
                assert_ne!(decision, "deny", "{line}");
                assert_eq!(code, "OK", "{line}");
                assert_eq!(line["level"], "INFO", "{line}");
                let claims = &response["response"]["claimsAndScopeOverrideDetails"]
                    ["accessTokenGeneration"]["claimsToAddOrOverride"];
                if let Some(tenant) = claims["tenantId"].as_str() {
                    assert_eq!(line["tenant_id"], tenant, "{line}");
                }
            }
        }
        let docs = emf_by_request
            .get(request_id)
            .unwrap_or_else(|| panic!("{function}: no metrics for {request_id}"));
        let metrics: Vec<(String, BTreeSet<String>)> =
            docs.iter().flat_map(|d| validate_emf(d)).collect();
        let counted: Vec<&&Value> = docs
            .iter()
            .filter(|d| d.get("Decisions").is_some())
            .collect();
        assert_eq!(counted.len(), 1, "{function}/{request_id}: {docs:?}");
        assert_eq!(counted[0]["Decisions"], 1);
        assert_eq!(counted[0]["decision"], decision);
        assert_eq!(counted[0]["code"], code);
        assert!(metrics.contains(&("Decisions".into(), dims(&["function", "decision", "code"]))));
        assert_eq!(
            metrics.iter().any(|(m, _)| m == "ColdStart"),
            i == 0,
            "{function}/{request_id}: ColdStart on the first invocation only"
        );
        assert!(!metrics.iter().any(|(m, _)| m == "DirectoryUnavailable"));
        assert_eq!(
            docs.iter().any(|d| d["Denials"] == 1),
            decision == "deny",
            "{function}/{request_id}: Denials counts denials only: {docs:?}"
        );
        if decision == "provision" {
            provisioned += 1;
            let doc = docs
                .iter()
                .find(|d| d.get("Provisioning").is_some())
                .unwrap_or_else(|| panic!("{function}/{request_id}: no Provisioning: {docs:?}"));
            assert_eq!(doc["outcome"], "provisioned");
            assert!(metrics.contains(&("Provisioning".into(), dims(&["function", "outcome"]))));
        }
        for (metric, set) in &metrics {
            assert!(
                [
                    "Decisions",
                    "ColdStart",
                    "Provisioning",
                    "DynamoDbLatency",
                    "DirectoryUnavailable",
                    "Denials"
                ]
                .contains(&metric.as_str()),
                "{metric}"
            );
            assert!(set.contains("function"), "{metric}: {set:?}");
        }
        // No personal value of the event in any line.
        for value in personal_values(event) {
            for l in &run.lines {
                assert!(
                    !carries(l, &value),
                    "{function}/{request_id}: a line carries '{value}': {l}"
                );
            }
        }
    }
    if function == "post-confirmation" {
        assert!(provisioned > 0, "some confirmation provisioned");
    }
    // The first invocation made DynamoDB requests (nothing was cached yet).
    let first = &emf_by_request[&run.invocations[0].0];
    assert!(
        first.iter().any(|d| d.get("DynamoDbLatency").is_some()),
        "{function}: DynamoDbLatency on the first invocation: {first:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_invocation_writes_one_decision_line_and_matching_metrics() {
    for function in FUNCTIONS {
        let run = run_every_event(function, &[]).await;
        check_run(&run);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambdas_debug_level_shows_more_and_still_no_personal_data() {
    let quiet = run_every_event("pre-signup", &[]).await;
    let debug = run_every_event(
        "pre-signup",
        &[("AWS_LAMBDA_LOG_LEVEL", "DEBUG".to_string())],
    )
    .await;
    check_run(&debug);
    let level = |run: &Run, level: &str| run.lines.iter().filter(|l| l["level"] == level).count();
    assert_eq!(level(&quiet, "DEBUG"), 0);
    assert!(
        debug
            .lines
            .iter()
            .any(|l| l["level"] == "DEBUG" && l["message"] == "dynamodb request"),
        "AWS_LAMBDA_LOG_LEVEL=DEBUG shows each DynamoDB request"
    );
    let rust_log = run_every_event("pre-signup", &[("RUST_LOG", "debug".to_string())]).await;
    assert!(level(&rust_log, "DEBUG") > 0, "RUST_LOG=debug too");
}

#[test]
fn a_cold_start_against_a_silent_directory_answers_within_cognitos_5_seconds() {
    let silent = SilentEndpoint::start();
    let event = read_json(
        &test_support::events::events_dir()
            .join("pre-token-generation/v2-authentication-member.json"),
    );
    let process = FunctionProcess::start(
        "pre-token-generation",
        &[
            ("TENANT_TABLE", "tenants".to_string()),
            ("AWS_ENDPOINT_URL_DYNAMODB", silent.endpoint.clone()),
        ],
        Some(Invoke {
            request_id: "cold-silent".into(),
            trace_header: None,
            payload: event,
        }),
    );
    let (id, answer, at) = process.answer();
    let took = at.duration_since(process.started);
    let lines = lines_as_json(&process.stop());
    eprintln!(
        "cold start against a silent DynamoDB: answered {:?} after {took:?}",
        answer.error_type()
    );
    assert_eq!(id, "cold-silent");
    assert_eq!(answer.error_type(), Some("DIRECTORY_UNAVAILABLE"));
    assert!(
        took < Duration::from_secs(5),
        "answered {took:?} after the process started (Cognito waits 5 s)"
    );
    let decision: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "decision")
        .collect();
    assert_eq!(decision.len(), 1, "{lines:?}");
    assert_eq!(decision[0]["level"], "ERROR");
    assert_eq!(decision[0]["cold_start"], true);
    assert!(
        decision[0].get("trace_id").is_none(),
        "no trace header, no trace_id"
    );
    assert_eq!(
        lines.iter().filter(|l| l["level"] == "ERROR").count(),
        1,
        "the denial is logged once: {lines:?}"
    );
    let emf: Vec<&Value> = lines.iter().filter(|l| is_emf(l)).collect();
    assert!(
        emf.iter().any(|d| d["DirectoryUnavailable"] == 1),
        "{emf:?}"
    );
    assert!(emf.iter().any(|d| d["ColdStart"] == 1), "{emf:?}");
    assert!(emf
        .iter()
        .any(|d| d["code"] == "DIRECTORY_UNAVAILABLE" && d["decision"] == "deny"));
}
