//! Faults between the functions and DynamoDB, at the wire: each function runs with the
//! production SDK budget (`store/dynamo/sdk.rs`: timeouts, standard retries, 2 attempts) and
//! the production handler budget (`lambda::within_budget`, `HANDLER_BUDGET`) against moto
//! through `test_support::FaultProxy`, which adds latency, resets connections, does not answer,
//! throttles (`ProvisionedThroughputExceededException`, `ThrottlingException`), answers 500 and
//! 503, or cancels the provisioning transaction with `TransactionConflict`.
//!
//! What must hold: a fault the retry budget covers (one bad answer) is ridden out and the
//! answer is the event's expected one; a fault that persists fails closed with
//! `DIRECTORY_UNAVAILABLE` (and only its code and sentence); either way the answer comes
//! within the handler budget, before Cognito's 5 s; and post confirmation never leaves a
//! partial write (a membership without its seat or guard, a seat without a membership, an
//! invitation used without a membership).
//!
//! Then stale-if-error, both sides: cached answers ride out an outage for the bound and no
//! longer; a suspension or a removed membership takes effect as soon as DynamoDB answers.

// The nested futures of the SDK under three handlers under the budget.
#![recursion_limit = "256"]

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tenant_lookup::lambda::{within_budget, HANDLER_BUDGET};
use tenant_lookup::store::keys;
use tenant_lookup::{
    CachedDirectory, Clock, Config, Denial, DenyCode, Directory, DynamoDirectory, ManualClock,
    PostConfirmation, PreSignUp, PreTokenGeneration,
};
use test_support::events::{answer, event, expected, sub_of};
use test_support::logs::capture;
use test_support::seeds::NOW;
use test_support::{
    client, moto, production_client, seeded_table, Fault, FaultProxy, RequestCounter, Rule,
    TestTable,
};

const POOL: &str = "us-east-1_Shared0Pool";
const UNAVAILABLE_TEXT: &str =
    "DIRECTORY_UNAVAILABLE: sign-in is temporarily unavailable, try again";
/// What `within_budget` may take past its budget to answer (a timer firing late on a busy
/// 2-core machine); still well before Cognito's 5 s.
const SLACK: Duration = Duration::from_millis(400);

const SIGN_UP: &str = "pre-signup/signup-domain-route-self-signup.json";
const CONFIRM: &str = "post-confirmation/confirm-signup-invitation-verified-email.json";
const USER_TOKEN: &str = "pre-token-generation/v2-authentication-member.json";
const MACHINE_TOKEN: &str = "pre-token-generation/v3-client-credentials.json";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Path {
    SignUp,
    /// Confirmation number `n` of [`confirmations`]: its own user, invitation and tenant.
    Confirm(usize),
    UserToken,
    MachineToken,
}

impl Path {
    fn event(self) -> Value {
        match self {
            Path::SignUp => event(SIGN_UP),
            Path::Confirm(n) => confirmation(n),
            Path::UserToken => event(USER_TOKEN),
            Path::MachineToken => event(MACHINE_TOKEN),
        }
    }

    fn expected(self) -> Value {
        match self {
            Path::SignUp => expected(SIGN_UP),
            // A confirmation answers with the event itself (its response is `{}`).
            Path::Confirm(n) => confirmation(n),
            Path::UserToken => expected(USER_TOKEN),
            Path::MachineToken => expected(MACHINE_TOKEN),
        }
    }
}

/// The recorded invited confirmation, as user `n`: invited (email verified) into tenant
/// `conf-n` of [`confirmations`].
fn confirmation(n: usize) -> Value {
    let mut ev = event(CONFIRM);
    let sub = format!("c0f1c0f1-0000-4000-8000-{n:012}");
    ev["userName"] = sub.clone().into();
    ev["request"]["userAttributes"]["sub"] = sub.into();
    ev["request"]["userAttributes"]["email"] = format!("invited.{n}@conf.example").into();
    ev
}

/// A document adding, for each confirmation `0..n`, a tenant `conf-n` and the invitation of
/// its user, so that concurrent cases on one table never share a seat count.
fn confirmations(n: usize) -> String {
    let tenants: Vec<Value> = (0..n)
        .map(|i| serde_json::json!({"id": format!("conf-{i}"), "tier": "basic", "maxUsers": 5}))
        .collect();
    let invitations: Vec<Value> = (0..n)
        .map(|i| {
            serde_json::json!({"userPoolId": POOL, "email": format!("invited.{i}@conf.example"),
                               "tenantId": format!("conf-{i}")})
        })
        .collect();
    serde_json::json!({"tenants": tenants, "invitations": invitations}).to_string()
}

fn config(table: &str) -> Config {
    let table = table.to_string();
    Config::from_lookup(move |k| (k == "TENANT_TABLE").then(|| table.clone()))
        .expect("test configuration is valid")
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(NOW))
}

/// A directory over `endpoint` with the production SDK budget.
fn production_directory(endpoint: &str, table: &str) -> DynamoDirectory {
    DynamoDirectory::new(
        production_client(endpoint, &RequestCounter::default()),
        table,
    )
}

/// Runs `path`'s event through a fresh function (fresh cache) over `directory`, under the
/// handler budget; returns the answer and how long it took.
async fn invoke(
    path: Path,
    directory: DynamoDirectory,
    table: &str,
) -> (Result<Value, Denial>, Duration) {
    let clock: Arc<dyn Clock> = clock();
    let cached = CachedDirectory::new(directory, config(table).cache_ttl, clock.clone());
    let ev = path.event();
    let started = Instant::now();
    let result = match path {
        Path::SignUp => {
            let handler = PreSignUp::new(cached, clock);
            Box::pin(within_budget(&handler, ev, HANDLER_BUDGET)).await
        }
        Path::Confirm(_) => {
            let handler = PostConfirmation::new(cached, clock);
            Box::pin(within_budget(&handler, ev, HANDLER_BUDGET)).await
        }
        Path::UserToken | Path::MachineToken => {
            let handler = PreTokenGeneration::new(cached, clock, &config(table));
            Box::pin(within_budget(&handler, ev, HANDLER_BUDGET)).await
        }
    };
    (result, started.elapsed())
}

/// What confirmation `n` can have left in the table: the user's memberships, the invitation,
/// the tenant's seats, the user's provisioning guard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Provisioning {
    memberships: usize,
    invitations: usize,
    seats: u32,
    guard: bool,
}

async fn provisioning(inspect: &DynamoDirectory, n: usize) -> Provisioning {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    let ev = confirmation(n);
    let sub = sub_of(&ev);
    let email = ev["request"]["userAttributes"]["email"]
        .as_str()
        .unwrap_or_default();
    let guard = inspect
        .client()
        .get_item()
        .table_name(inspect.table())
        .key(keys::PK, S(keys::user_pk(POOL, &sub)))
        .key(keys::SK, S(keys::PROVISIONED_SK.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("guard read")
        .item
        .is_some();
    Provisioning {
        memberships: inspect.memberships(POOL, &sub).await.expect("query").len(),
        // Provisioning marks the invitation used (it stays, with usedBy): count open ones.
        invitations: inspect
            .invitations(POOL, email)
            .await
            .expect("query")
            .iter()
            .filter(|i| !i.is_used())
            .count(),
        seats: inspect
            .tenant(&format!("conf-{n}"))
            .await
            .expect("tenant read")
            .expect("the tenant exists")
            .user_count,
        guard,
    }
}

/// One fault case, on `table` (shared by the cases of a test; each confirmation has its own
/// user and tenant), through a proxy of its own.
async fn case(table: String, path: Path, rule: Rule, must_succeed: bool) -> String {
    let inspect = DynamoDirectory::new(
        client(moto().endpoint(), &RequestCounter::default()),
        &table,
    );
    let n = match path {
        Path::Confirm(n) => Some(n),
        _ => None,
    };
    let before = match n {
        Some(n) => Some(provisioning(&inspect, n).await),
        None => None,
    };
    let proxy = FaultProxy::start(moto().endpoint()).expect("proxy starts");
    let what = format!("{path:?} under {rule:?}");
    proxy.set(vec![rule]);
    let directory = production_directory(proxy.endpoint(), &table);
    let (result, elapsed) = invoke(path, directory, &table).await;
    let requests = proxy.requests();
    let faults = proxy.faults();
    drop(proxy);

    assert!(
        !faults.is_empty(),
        "{what}: no fault was injected ({requests:?})"
    );
    assert!(
        elapsed <= HANDLER_BUDGET + SLACK && elapsed < Duration::from_secs(5),
        "{what}: answered after {elapsed:?}"
    );
    let got = answer(result.clone());
    match &result {
        Ok(_) => assert_eq!(got, path.expected(), "{what}"),
        Err(e) => {
            assert!(
                !must_succeed,
                "{what}: failed though one retry covers it: {e:?}"
            );
            assert_eq!(e.code, DenyCode::DirectoryUnavailable, "{what}: {e:?}");
            assert_eq!(got["errorMessage"], UNAVAILABLE_TEXT, "{what}");
        }
    }
    if let (Some(n), Some(before)) = (n, before) {
        let after = provisioning(&inspect, n).await;
        let complete = Provisioning {
            memberships: 1,
            invitations: 0,
            seats: 1,
            guard: true,
        };
        assert_eq!(
            before,
            Provisioning {
                memberships: 0,
                invitations: 1,
                seats: 0,
                guard: false
            },
            "{what}: the case starts from an invited user"
        );
        assert!(
            after == before || after == complete,
            "{what}: a partial write: before {before:?}, after {after:?}"
        );
        if result.is_ok() {
            assert_eq!(after, complete, "{what}: confirmed without provisioning");
        }
    }
    format!(
        "{what}: {} in {elapsed:.2?}; requests {requests:?}; faults {faults:?}",
        match &result {
            Ok(_) => "answered as expected".to_string(),
            Err(e) => e.code.as_str().to_string(),
        }
    )
}

/// One bad answer, then DynamoDB answers: the retry budget covers it.
fn transient() -> Vec<Rule> {
    vec![
        Rule::times(1, Fault::Reset),
        Rule::times(1, Fault::NoAnswer),
        Rule::times(1, Fault::ProvisionedThroughputExceeded),
        Rule::times(1, Fault::Throttling),
        Rule::times(1, Fault::InternalServerError),
        Rule::times(1, Fault::ServiceUnavailable),
        Rule::always(Fault::Delay(Duration::from_millis(150))),
    ]
}

/// DynamoDB keeps failing.
fn sustained() -> Vec<Rule> {
    vec![
        Rule::always(Fault::Reset),
        Rule::always(Fault::NoAnswer),
        Rule::always(Fault::ProvisionedThroughputExceeded),
        Rule::always(Fault::Throttling),
        Rule::always(Fault::InternalServerError),
        Rule::always(Fault::ServiceUnavailable),
        Rule::always(Fault::Delay(Duration::from_millis(2_600))),
    ]
}

/// Cases run this many at a time: moto answers one request at a time, and more would queue
/// requests past the SDK's 1 s attempt timeout, a fault of the harness and not of DynamoDB.
const CONCURRENT_CASES: usize = 3;

/// Every case, each through its own proxy and client, [`CONCURRENT_CASES`] at a time; `path`
/// gives each case its path from its index.
async fn cases(table: &TestTable, rules: Vec<(Rule, bool)>, path: impl Fn(usize) -> Path) {
    let all: Vec<_> = rules.into_iter().enumerate().collect();
    for group in all.chunks(CONCURRENT_CASES) {
        let tasks: Vec<_> = group
            .iter()
            .map(|(i, (rule, ok))| {
                tokio::spawn(case(table.name().to_string(), path(*i), rule.clone(), *ok))
            })
            .collect();
        for task in tasks {
            println!("{}", task.await.expect("case"));
        }
    }
}

fn standard() -> Vec<(Rule, bool)> {
    transient()
        .into_iter()
        .map(|r| (r, true))
        .chain(sustained().into_iter().map(|r| (r, false)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_signup_rides_out_a_bad_answer_and_fails_closed_in_time() {
    let table = seeded_table().await;
    let before = table.admin.export().await.expect("export");
    cases(&table, standard(), |_| Path::SignUp).await;
    assert_eq!(
        table.admin.export().await.expect("export"),
        before,
        "pre sign-up wrote"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_token_generation_rides_out_a_bad_answer_and_fails_closed_in_time() {
    let table = seeded_table().await;
    let before = table.admin.export().await.expect("export");
    cases(&table, standard(), |_| Path::UserToken).await;
    cases(&table, standard(), |_| Path::MachineToken).await;
    assert_eq!(
        table.admin.export().await.expect("export"),
        before,
        "a member's token wrote"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_confirmation_never_leaves_a_partial_write() {
    let transaction = |n: Option<usize>, fault: Fault| {
        match n {
            Some(n) => Rule::times(n, fault),
            None => Rule::always(fault),
        }
        .on("TransactWriteItems")
    };
    let mut rules = standard();
    rules.extend([
        // The provisioning transaction retries a conflict itself (3 attempts in all).
        (transaction(Some(2), Fault::TransactionConflict), true),
        (transaction(None, Fault::TransactionConflict), false),
        (
            transaction(Some(1), Fault::ProvisionedThroughputExceeded),
            true,
        ),
        (transaction(Some(1), Fault::InternalServerError), true),
        (transaction(None, Fault::ServiceUnavailable), false),
        (transaction(None, Fault::Reset), false),
        (transaction(None, Fault::NoAnswer), false),
        // Applied by DynamoDB, the answer lost: the retry finds its own membership...
        (transaction(Some(1), Fault::ResetAfterForward), false),
        // ...or fails too, and the write stands whole.
        (transaction(None, Fault::ResetAfterForward), false),
    ]);
    assert_eq!(
        event(CONFIRM),
        expected(CONFIRM),
        "a confirmation answers with its event"
    );
    let table = seeded_table().await;
    let document = tenant_admin::DirectoryDocument::from_json(&confirmations(rules.len()))
        .expect("document parses");
    table.admin.import(&document, NOW).await.expect("import");
    cases(&table, rules, Path::Confirm).await;
}

// ------------------------------------------------------------------------------------------
// Stale-if-error
// ------------------------------------------------------------------------------------------

/// A pre-token function over `table` through a proxy, with stale-if-error at `bound`, its cache
/// at hand, on a manual clock.
struct StaleRig {
    proxy: FaultProxy,
    clock: Arc<ManualClock>,
    cache: Arc<CachedDirectory<DynamoDirectory>>,
    handler: PreTokenGeneration<Arc<CachedDirectory<DynamoDirectory>>>,
    inspect: DynamoDirectory,
    _table: TestTable,
}

impl StaleRig {
    async fn new(bound: Duration) -> Self {
        let table = seeded_table().await;
        let proxy = FaultProxy::start(moto().endpoint()).expect("proxy starts");
        let clock = clock();
        let config = config(table.name());
        let cache = Arc::new(
            CachedDirectory::new(
                production_directory(proxy.endpoint(), table.name()),
                config.cache_ttl,
                clock.clone(),
            )
            .with_stale_if_error(bound),
        );
        let handler = PreTokenGeneration::new(cache.clone(), clock.clone(), &config);
        let inspect = DynamoDirectory::new(
            client(moto().endpoint(), &RequestCounter::default()),
            table.name(),
        );
        Self {
            proxy,
            clock,
            cache,
            handler,
            inspect,
            _table: table,
        }
    }

    /// `file` through the function under the budget: the answer, the logs, the time taken.
    async fn run(&self, file: &str) -> (Value, String, Duration) {
        let started = Instant::now();
        // Boxed: the future of the SDK under the handler is too big for a test thread's stack.
        let invocation = Box::pin(within_budget(&self.handler, event(file), HANDLER_BUDGET));
        let (result, logs) = capture(invocation).await;
        (answer(result), logs.text(), started.elapsed())
    }

    fn past(&self, seconds: u64) {
        self.clock.advance(Duration::from_secs(seconds));
    }
}

fn stale_lines(logs: &str) -> Vec<Value> {
    logs.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["fields"]["metric"] == "DirectoryStaleServed")
        .collect()
}

#[tokio::test]
async fn cached_answers_ride_out_an_outage_for_the_bound_and_no_longer() {
    let rig = StaleRig::new(Duration::from_secs(300)).await;
    for file in [USER_TOKEN, MACHINE_TOKEN] {
        let (warm, logs, _) = rig.run(file).await;
        assert_eq!(warm, expected(file), "{file} before the outage");
        assert!(stale_lines(&logs).is_empty());
    }
    rig.proxy.reset_counts();
    let (again, _, _) = rig.run(USER_TOKEN).await;
    assert_eq!(again, expected(USER_TOKEN));
    assert_eq!(
        rig.proxy.requests(),
        [("Query".to_string(), 1)].into(),
        "a warm user token is still the membership Query alone, stale-if-error on"
    );

    // Past the 60 s TTL, DynamoDB answers 503 to everything.
    rig.past(61);
    rig.proxy.set(vec![Rule::always(Fault::ServiceUnavailable)]);
    for file in [USER_TOKEN, MACHINE_TOKEN] {
        let (got, logs, took) = rig.run(file).await;
        assert_eq!(got, expected(file), "{file} during the outage: {logs}");
        let lines = stale_lines(&logs);
        assert!(!lines.is_empty(), "no stale line: {logs}");
        for line in &lines {
            assert_eq!(line["level"], "WARN", "{line}");
            assert!(line["fields"]["kind"].is_string(), "{line}");
            assert_eq!(line["fields"]["bound_seconds"], 300, "{line}");
        }
        let kinds: Vec<_> = lines
            .iter()
            .map(|l| format!("{} ({})", l["fields"]["kind"], l["fields"]["cause"]))
            .collect();
        println!("{file}: served stale in {took:.2?}: {kinds:?}");
    }
    assert!(rig.proxy.faults_injected() > 0);
    let served = rig.cache.stale_served();
    assert!(served >= 4, "{served}");

    // The memberships were read at 0 s; 300 s later they are past the bound.
    rig.past(240);
    let (got, _, _) = rig.run(USER_TOKEN).await;
    assert_eq!(got["errorType"], "DIRECTORY_UNAVAILABLE", "{got}");
    // The routes and the tenant were read at 0 s: fresh for 60 s, stale for 300 more.
    let (got, _, _) = rig.run(MACHINE_TOKEN).await;
    assert_eq!(got, expected(MACHINE_TOKEN), "still within 60 + 300 s");
    rig.past(60);
    let (got, _, _) = rig.run(MACHINE_TOKEN).await;
    assert_eq!(got["errorType"], "DIRECTORY_UNAVAILABLE", "{got}");
    assert_eq!(got["errorMessage"], UNAVAILABLE_TEXT);
}

#[tokio::test]
async fn a_silent_directory_is_ridden_out_within_the_budget() {
    let rig = StaleRig::new(Duration::from_secs(300)).await;
    let (warm, _, _) = rig.run(USER_TOKEN).await;
    assert_eq!(warm, expected(USER_TOKEN));
    rig.past(61);
    rig.proxy.set(vec![Rule::always(Fault::NoAnswer)]);
    for round in 0..2 {
        let (got, logs, took) = rig.run(USER_TOKEN).await;
        assert_eq!(got, expected(USER_TOKEN), "round {round}: {logs}");
        assert!(
            took <= HANDLER_BUDGET,
            "round {round}: {took:?}: stale answers must not each wait out the SDK timeouts"
        );
        let causes: Vec<_> = stale_lines(&logs)
            .iter()
            .map(|l| {
                l["fields"]["cause"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        assert!(
            causes.iter().any(|c| c == "failed-moments-ago"),
            "round {round}: {causes:?}"
        );
        println!(
            "silent directory, round {round}: answered from the cache in {took:.2?} ({causes:?})"
        );
    }
}

#[tokio::test]
async fn a_suspension_made_during_an_outage_takes_effect_as_soon_as_dynamodb_answers() {
    let rig = StaleRig::new(Duration::from_secs(300)).await;
    assert_eq!(rig.run(USER_TOKEN).await.0, expected(USER_TOKEN));
    rig.past(61);
    rig.proxy.set(vec![Rule::always(Fault::Reset)]);
    assert_eq!(rig.run(USER_TOKEN).await.0, expected(USER_TOKEN), "stale");
    rig.inspect
        .client()
        .update_item()
        .table_name(rig.inspect.table())
        .key(
            keys::PK,
            aws_sdk_dynamodb::types::AttributeValue::S(keys::tenant_pk("acme")),
        )
        .key(
            keys::SK,
            aws_sdk_dynamodb::types::AttributeValue::S(keys::TENANT_SK.into()),
        )
        .update_expression("SET #s = :s")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(
            ":s",
            aws_sdk_dynamodb::types::AttributeValue::S("suspended".into()),
        )
        .send()
        .await
        .expect("suspend acme");
    assert_eq!(
        rig.run(USER_TOKEN).await.0,
        expected(USER_TOKEN),
        "DynamoDB does not answer: the suspension cannot be known yet"
    );
    rig.proxy.heal();
    let (got, _, _) = rig.run(USER_TOKEN).await;
    assert_eq!(got["errorType"], "TENANT_SUSPENDED", "{got}");
}

#[tokio::test]
async fn a_removed_membership_takes_effect_at_once_and_is_not_served_stale() {
    let rig = StaleRig::new(Duration::from_secs(300)).await;
    assert_eq!(rig.run(USER_TOKEN).await.0, expected(USER_TOKEN));
    let sub = sub_of(&event(USER_TOKEN));
    let memberships = rig.inspect.memberships(POOL, &sub).await.expect("query");
    assert_eq!(memberships.len(), 1);
    rig.inspect
        .client()
        .delete_item()
        .table_name(rig.inspect.table())
        .key(
            keys::PK,
            aws_sdk_dynamodb::types::AttributeValue::S(keys::user_pk(POOL, &sub)),
        )
        .key(
            keys::SK,
            aws_sdk_dynamodb::types::AttributeValue::S(keys::tenant_sk(&memberships[0].tenant_id)),
        )
        .send()
        .await
        .expect("remove the membership");
    // Within the TTL, DynamoDB answering: memberships never come from the cache.
    let (got, _, _) = rig.run(USER_TOKEN).await;
    assert!(
        got.get("errorType").is_some(),
        "issued after removal: {got}"
    );
    assert_ne!(got["errorType"], "DIRECTORY_UNAVAILABLE", "{got}");
    // Then an outage: the removal was seen, there is nothing stale to serve.
    rig.proxy.set(vec![Rule::always(Fault::ServiceUnavailable)]);
    let (got, _, _) = rig.run(USER_TOKEN).await;
    assert_eq!(got["errorType"], "DIRECTORY_UNAVAILABLE", "{got}");
}

#[tokio::test]
async fn zero_turns_stale_if_error_off() {
    let rig = StaleRig::new(Duration::ZERO).await;
    assert_eq!(rig.run(MACHINE_TOKEN).await.0, expected(MACHINE_TOKEN));
    rig.past(61);
    rig.proxy.set(vec![Rule::always(Fault::ServiceUnavailable)]);
    let (got, logs, _) = rig.run(MACHINE_TOKEN).await;
    assert_eq!(got["errorType"], "DIRECTORY_UNAVAILABLE", "{got}");
    assert!(stale_lines(&logs).is_empty());
    assert_eq!(rig.cache.stale_served(), 0);
}
