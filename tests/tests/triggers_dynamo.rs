//! The three trigger handlers over a real `DynamoDirectory` on moto: request counts of warm
//! invocations, failing closed within Cognito's budget when DynamoDB is unreachable, pre
//! sign-up writing nothing, and idempotent, seat-limited provisioning (post confirmation and
//! first-token provisioning), including under concurrency and injected transaction conflicts.
//!
//! Every test gets its own table with `events/seed.json` imported; the handlers see the replay's
//! time (`ManualClock` at [`REPLAY_EPOCH`]), so their answers are compared with the same
//! `<event>.expected.json` files the in-memory replay uses: the two stores must agree.
//!
//! The state of the table is read through a separate client ([`Fixture::inspect`]), so the
//! handler's request counter counts the handler's requests only.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use serde_json::{json, Value};
use tenant_admin::{DirectoryDocument, TenantTable};
use tenant_lookup::domain::model::{Invitation, Membership};
use tenant_lookup::lambda::{within_budget, HANDLER_BUDGET};
use tenant_lookup::store::dynamo::sdk::{https_client, lambda_timeout_config, MAX_ATTEMPTS};
use tenant_lookup::store::keys;
use tenant_lookup::{
    CachedDirectory, Clock, Config, DenyCode, Directory, DynamoDirectory, ManualClock,
    PostConfirmation, PreSignUp, PreTokenGeneration, SystemClock, Trigger,
};
use test_support::events::{answer, event, events_dir, events_of, expected, read_json, sub_of};
use test_support::moto::REGION;
use test_support::seeds::{events_seed_text, NOW as REPLAY_EPOCH};
use test_support::{client, fresh_table, moto, InjectedConflicts, RequestCounter, TestTable};

const POOL: &str = "us-east-1_Shared0Pool";
/// Operations that write, by name (`RequestCounter::writes` is broader).
const WRITE_OPERATIONS: [&str; 5] = [
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "TransactWriteItems",
    "BatchWriteItem",
];
/// What Cognito shows the user when the directory fails: nothing else may leak.
const UNAVAILABLE_TEXT: &str =
    "DIRECTORY_UNAVAILABLE: sign-in is temporarily unavailable, try again";

// ----------------------------------------------------------------------------------------------
// Events and answers
// ----------------------------------------------------------------------------------------------

// ----------------------------------------------------------------------------------------------
// Tables and handlers
// ----------------------------------------------------------------------------------------------

fn config(table: &str) -> Config {
    let table = table.to_string();
    Config::from_lookup(move |k| (k == "TENANT_TABLE").then(|| table.clone()))
        .expect("test configuration is valid")
}

/// A fresh table with the seed imported, and a second client to inspect it with.
struct Fixture {
    table: TestTable,
    /// The same table through another client: reads here are not counted as the handler's.
    inspect: DynamoDirectory,
}

impl Fixture {
    async fn seeded() -> Self {
        Self::with_documents(&[]).await
    }

    /// The seed, then `extra` documents, imported at [`REPLAY_EPOCH`].
    async fn with_documents(extra: &[&str]) -> Self {
        let table = fresh_table().await;
        let seed = events_seed_text();
        for json in std::iter::once(seed.as_str()).chain(extra.iter().copied()) {
            let doc = DirectoryDocument::from_json(json).expect("document parses");
            table
                .admin
                .import(&doc, REPLAY_EPOCH)
                .await
                .unwrap_or_else(|e| panic!("import into {}: {e}", table.name()));
        }
        table.requests.reset();
        let inspect = DynamoDirectory::new(
            client(moto().endpoint(), &RequestCounter::default()),
            table.name(),
        );
        Fixture { table, inspect }
    }

    /// The inspecting client, for administration (export).
    fn inspect_admin(&self) -> TenantTable {
        TenantTable::new(self.inspect.clone())
    }

    fn requests(&self) -> &RequestCounter {
        &self.table.requests
    }

    fn cached(&self) -> CachedDirectory<DynamoDirectory> {
        cached_over(self.table.directory.clone(), self.table.name())
    }

    fn config(&self) -> Config {
        config(self.table.name())
    }

    fn pre_token(&self) -> PreTokenGeneration<CachedDirectory<DynamoDirectory>> {
        PreTokenGeneration::new(self.cached(), replay_clock(), &self.config())
    }

    fn post_confirmation(&self) -> PostConfirmation<CachedDirectory<DynamoDirectory>> {
        PostConfirmation::new(self.cached(), replay_clock())
    }

    /// The table's client plus `conflicts` (and a counter of its own).
    fn contended(
        &self,
        conflicts: &InjectedConflicts,
        requests: &RequestCounter,
    ) -> DynamoDirectory {
        let config = self
            .table
            .client()
            .config()
            .to_builder()
            .interceptor(conflicts.clone())
            .interceptor(requests.clone())
            .build();
        DynamoDirectory::new(Client::from_conf(config), self.table.name())
    }

    async fn memberships(&self, sub: &str) -> Vec<Membership> {
        self.inspect
            .memberships(POOL, sub)
            .await
            .expect("memberships query")
    }

    async fn invitations(&self, email: &str) -> Vec<Invitation> {
        self.inspect
            .invitations(POOL, email)
            .await
            .expect("invitations query")
    }

    async fn user_count(&self, tenant: &str) -> u32 {
        self.inspect
            .tenant(tenant)
            .await
            .expect("tenant read")
            .unwrap_or_else(|| panic!("tenant {tenant} exists"))
            .user_count
    }

    /// Subs of the memberships of `tenant`, through GSI1 (a Query independent of the code
    /// under test's own membership reads).
    async fn member_subs(&self, tenant: &str) -> BTreeSet<String> {
        let mut subs = BTreeSet::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = self
                .inspect
                .client()
                .query()
                .table_name(self.inspect.table())
                .index_name(keys::GSI1)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :user)")
                .expression_attribute_names("#pk", keys::GSI1PK)
                .expression_attribute_names("#sk", keys::GSI1SK)
                .expression_attribute_values(":pk", AttributeValue::S(keys::tenant_sk(tenant)))
                .expression_attribute_values(":user", AttributeValue::S(keys::USER_PREFIX.into()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .expect("GSI1 query");
            for item in out.items() {
                let sub = item
                    .get("sub")
                    .and_then(|v| v.as_s().ok())
                    .expect("membership has a sub");
                assert!(subs.insert(sub.clone()), "membership of {sub} listed twice");
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return subs,
            }
        }
    }
}

fn replay_clock() -> Arc<dyn Clock> {
    Arc::new(ManualClock::new(REPLAY_EPOCH))
}

fn cached_over(directory: DynamoDirectory, table: &str) -> CachedDirectory<DynamoDirectory> {
    CachedDirectory::new(directory, config(table).cache_ttl, replay_clock())
}

fn write_count(requests: &RequestCounter) -> usize {
    WRITE_OPERATIONS.iter().map(|op| requests.get(op)).sum()
}

fn only(operation: &str, n: usize) -> BTreeMap<String, usize> {
    BTreeMap::from([(operation.to_string(), n)])
}

// ----------------------------------------------------------------------------------------------
// 1. Pre token generation: request counts, and the stores agree
// ----------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_warm_user_token_makes_one_query_and_a_warm_machine_token_none() {
    let f = Fixture::seeded().await;
    let handler = f.pre_token();

    let user = "pre-token-generation/v2-authentication-member.json";
    let cold = answer(handler.handle(event(user)).await);
    assert_eq!(cold, expected(user), "cold user answer");
    let cold_requests = f.requests().snapshot();
    println!("cold user invocation: {cold_requests:?}");
    assert_eq!(cold_requests.get("Query"), Some(&1), "{cold_requests:?}");
    assert_eq!(f.requests().writes(), 0, "{cold_requests:?}");

    f.requests().reset();
    let warm = answer(handler.handle(event(user)).await);
    assert_eq!(warm, expected(user), "warm user answer");
    assert_eq!(
        f.requests().snapshot(),
        only("Query", 1),
        "a warm user invocation is the membership Query alone"
    );

    let machine = "pre-token-generation/v3-client-credentials.json";
    f.requests().reset();
    let cold = answer(handler.handle(event(machine)).await);
    assert_eq!(cold, expected(machine), "cold machine answer");
    let cold_requests = f.requests().snapshot();
    println!("cold machine invocation (tenant already cached): {cold_requests:?}");
    assert_eq!(cold_requests.get("Query"), None, "{cold_requests:?}");
    assert!(
        f.requests().total() >= 1,
        "the client route was not cached yet"
    );

    f.requests().reset();
    let warm = answer(handler.handle(event(machine)).await);
    assert_eq!(warm, expected(machine), "warm machine answer");
    assert_eq!(
        f.requests().snapshot(),
        BTreeMap::new(),
        "a warm machine invocation makes no request"
    );
}

/// Every event of `function` through a handler over DynamoDB (a fresh cache per event), compared
/// with its expected file. The table is re-seeded after an event that wrote, so every event sees
/// the seed, as in the in-memory replay. Returns the number of events.
async fn replay_over_dynamo<T: Trigger>(function: &str, make: impl Fn(&Fixture) -> T) -> usize {
    let events = events_of(function);
    assert!(!events.is_empty(), "no events for {function}");
    let mut f = Fixture::seeded().await;
    let mut failures = Vec::new();
    for path in &events {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        f.requests().reset();
        let got = answer(make(&f).handle(read_json(path)).await);
        let want = read_json(&path.with_extension("expected.json"));
        if got != want {
            failures.push(format!("{name}:\n  expected {want}\n  got      {got}"));
        }
        if f.requests().get("Scan") != 0 {
            failures.push(format!("{name}: scanned: {:?}", f.requests().snapshot()));
        }
        if f.requests().writes() != 0 {
            f = Fixture::seeded().await;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {function} events answer differently over DynamoDB:\n{}",
        failures.len(),
        events.len(),
        failures.join("\n")
    );
    events.len()
}

#[tokio::test]
async fn every_pre_token_event_answers_over_dynamodb_as_in_the_replay() {
    let n = replay_over_dynamo("pre-token-generation", Fixture::pre_token).await;
    println!("{n} pre token generation events agree");
}

#[tokio::test]
async fn every_post_confirmation_event_answers_over_dynamodb_as_in_the_replay() {
    let n = replay_over_dynamo("post-confirmation", Fixture::post_confirmation).await;
    println!("{n} post confirmation events agree");
}

// ----------------------------------------------------------------------------------------------
// 2. Fail closed, time-bounded
// ----------------------------------------------------------------------------------------------

/// A client with the production budget (timeouts, retries, HTTP client), configured explicitly.
fn production_client(endpoint: &str, requests: &RequestCounter) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "fail-closed"))
        .endpoint_url(endpoint)
        .http_client(https_client())
        .timeout_config(lambda_timeout_config())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .interceptor(requests.clone())
        .build();
    Client::from_conf(config)
}

/// A loopback port nothing listens on: bound, noted, released.
fn refusing_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// Accepts connections and never answers; the accepted sockets stay open until dropped.
struct SilentServer {
    endpoint: String,
    port: u16,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SilentServer {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let accepted = accepted.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut held: Vec<TcpStream> = Vec::new();
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        accepted.fetch_add(1, Ordering::SeqCst);
                        held.push(stream);
                    }
                }
            })
        };
        SilentServer {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            accepted,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        // Wake the accept loop with one last connection; it sees the flag and ends.
        self.stop.store(true, Ordering::SeqCst);
        let woken = TcpStream::connect(("127.0.0.1", self.port)).is_ok();
        if let Some(thread) = self.thread.take().filter(|_| woken) {
            let _ = thread.join();
        }
    }
}

/// Runs `event_file` through a pre-token handler over `endpoint` with the production budget and
/// checks that it fails closed, generically and in time. Returns the elapsed time.
async fn assert_fails_closed(what: &str, endpoint: &str, event_file: &str) -> Duration {
    let requests = RequestCounter::default();
    let table = "unreachable-directory";
    let directory = DynamoDirectory::new(production_client(endpoint, &requests), table);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let handler = PreTokenGeneration::new(
        CachedDirectory::new(directory, config(table).cache_ttl, clock.clone()),
        clock,
        &config(table),
    );

    let started = Instant::now();
    let result = within_budget(&handler, event(event_file), HANDLER_BUDGET).await;
    let elapsed = started.elapsed();
    println!(
        "{what}: {event_file}: failed closed after {elapsed:?}; attempts {:?}; reason (log only): {}",
        requests.snapshot(),
        result.as_ref().err().map(|e| e.reason.as_str()).unwrap_or("-")
    );

    let err = result.expect_err("no token without the directory");
    assert_eq!(err.code, DenyCode::DirectoryUnavailable, "{what}: {err:?}");
    let shown: lambda_runtime::Diagnostic = err.clone().into();
    assert_eq!(err.to_string(), UNAVAILABLE_TEXT, "{what}");
    assert_eq!(shown.error_type, "DIRECTORY_UNAVAILABLE", "{what}");
    assert_eq!(shown.error_message, UNAVAILABLE_TEXT, "{what}");
    let port = endpoint.rsplit(':').next().unwrap_or_default();
    for internal in [
        "127.0.0.1",
        port,
        table,
        "Query",
        "GetItem",
        "dispatch",
        "timeout",
        "budget",
    ] {
        assert!(
            !shown.error_message.contains(internal),
            "{what}: the user-visible text shows '{internal}': {}",
            shown.error_message
        );
    }
    assert!(
        requests.total() >= 1,
        "{what}: the handler did try the store"
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "{what}: {event_file} took {elapsed:?}, past Cognito's 5 s"
    );
    elapsed
}

#[tokio::test]
async fn a_refusing_endpoint_fails_closed_within_the_budget() {
    let endpoint = refusing_endpoint();
    for event_file in [
        "pre-token-generation/v2-authentication-member.json",
        "pre-token-generation/v3-client-credentials.json",
    ] {
        assert_fails_closed("refusing endpoint", &endpoint, event_file).await;
    }
}

#[tokio::test]
async fn a_silent_endpoint_fails_closed_within_the_budget() {
    let server = SilentServer::start();
    for event_file in [
        "pre-token-generation/v2-authentication-member.json",
        "pre-token-generation/v3-client-credentials.json",
    ] {
        let before = server.accepted.load(Ordering::SeqCst);
        assert_fails_closed("silent endpoint", &server.endpoint, event_file).await;
        assert!(
            server.accepted.load(Ordering::SeqCst) > before,
            "the SDK connected to the silent server, so the timeouts (not a refusal) decided"
        );
    }
}

// ----------------------------------------------------------------------------------------------
// 3. Pre sign-up writes nothing
// ----------------------------------------------------------------------------------------------

#[tokio::test]
async fn pre_signup_events_write_nothing_and_answer_as_expected() {
    let events = events_of("pre-signup");
    assert!(
        !events.is_empty(),
        "no events in {}",
        events_dir().join("pre-signup").display()
    );
    let f = Fixture::seeded().await;
    let before = f.inspect_admin().export().await.expect("export");
    let mut failures = Vec::new();
    for path in &events {
        // A fresh cache per event, as a fresh Lambda instance would have.
        let handler = PreSignUp::new(f.cached(), replay_clock());
        f.requests().reset();
        let got = answer(handler.handle(read_json(path)).await);
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        if write_count(f.requests()) != 0 || f.requests().writes() != 0 {
            failures.push(format!("{name}: wrote: {:?}", f.requests().snapshot()));
        }
        let expected_path = path.with_extension("expected.json");
        match std::fs::read_to_string(&expected_path) {
            Err(_) => failures.push(format!("{name}: {} missing", expected_path.display())),
            Ok(text) => {
                let want: Value = serde_json::from_str(&text).expect("expected file parses");
                if got != want {
                    failures.push(format!("{name}:\n  expected {want}\n  got      {got}"));
                }
            }
        }
    }
    assert_eq!(
        f.inspect_admin().export().await.expect("export"),
        before,
        "pre sign-up changed the directory"
    );
    assert!(
        failures.is_empty(),
        "{} problems in {} pre sign-up events:\n{}",
        failures.len(),
        events.len(),
        failures.join("\n")
    );
    println!(
        "{} pre sign-up events: no writes, answers as expected",
        events.len()
    );
}

// ----------------------------------------------------------------------------------------------
// 4. Post confirmation: idempotent, seat-limited provisioning
// ----------------------------------------------------------------------------------------------

#[tokio::test]
async fn confirming_the_same_user_twice_provisions_once() {
    let f = Fixture::seeded().await;
    let handler = f.post_confirmation();
    let file = "post-confirmation/confirm-signup-invitation-verified-email.json";
    let sub = sub_of(&event(file));
    let email = "new.hire@acme.example";
    let seats = f.user_count("acme").await;
    assert_eq!(
        f.invitations(email).await.len(),
        1,
        "the seed invites {email}"
    );

    let first = answer(handler.handle(event(file)).await);
    assert_eq!(first, expected(file));
    assert_eq!(
        f.requests().get("TransactWriteItems"),
        1,
        "{:?}",
        f.requests().snapshot()
    );

    f.requests().reset();
    let second = answer(handler.handle(event(file)).await);
    assert_eq!(second, first, "a repeated confirmation answers the same");
    assert_eq!(
        f.requests().snapshot(),
        only("Query", 1),
        "a repeated confirmation finds the membership and writes nothing"
    );

    let members = f.memberships(&sub).await;
    assert_eq!(members.len(), 1, "{members:?}");
    assert_eq!(
        (
            members[0].tenant_id.as_str(),
            members[0].source.as_str(),
            members[0].roles.clone()
        ),
        ("acme", "invitation", vec!["member".to_string()])
    );
    assert_eq!(members[0].created_at, REPLAY_EPOCH);
    assert!(
        f.invitations(email)
            .await
            .iter()
            .all(|i| i.used_by.as_deref() == Some(sub.as_str())),
        "the invitation was used, by this user"
    );
    assert_eq!(
        f.user_count("acme").await,
        seats + 1,
        "userCount raised exactly once"
    );
    assert!(f.member_subs("acme").await.contains(&sub));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_confirmation_racing_itself_provisions_once() {
    let f = Fixture::seeded().await;
    let handler = Arc::new(f.post_confirmation());
    let file = "post-confirmation/confirm-signup-domain-route-verified-email.json";
    let sub = sub_of(&event(file));
    let seats = f.user_count("globex").await;

    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let handler = handler.clone();
            let ev = event(file);
            tokio::spawn(async move { answer(handler.handle(ev).await) })
        })
        .collect();
    for task in tasks {
        assert_eq!(
            task.await.expect("task"),
            expected(file),
            "every copy succeeds"
        );
    }
    assert_eq!(f.memberships(&sub).await.len(), 1);
    assert_eq!(
        f.user_count("globex").await,
        seats + 1,
        "one seat for one user"
    );
}

const CROWD: &str = r#"{
  "tenants": [{"id": "crowd", "name": "Crowd", "tier": "basic", "selfSignUp": true, "maxUsers": 10}],
  "routes": [{"kind": "domain", "userPoolId": "us-east-1_Shared0Pool", "key": "crowd.example", "tenantId": "crowd"}]
}"#;
const CROWD_SIZE: usize = 50;
const CROWD_SEATS: usize = 10;

/// A confirmation of user `i` of round `round` on the crowd's domain, email verified.
fn crowd_event(round: usize, i: usize) -> Value {
    let mut ev = event("post-confirmation/confirm-signup-domain-route-verified-email.json");
    let sub = format!("c0c0c0c0-{round:04}-4000-8000-{i:012}");
    ev["userName"] = json!(sub);
    ev["request"]["userAttributes"] = json!({
        "sub": sub,
        "cognito:user_status": "CONFIRMED",
        "email": format!("user{i}@crowd.example"),
        "email_verified": "true",
    });
    ev
}

/// Needs a store whose transactions are isolated, as DynamoDB's are. Plain moto_server 5.2.5 is
/// not under concurrent requests (a cancelled TransactWriteItems restores a copy of the whole
/// table taken when it started, undoing transactions that committed meanwhile), so the harness
/// runs it through scripts/moto_server.py, one request at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_confirmations_never_exceed_max_users() {
    for round in 1..=5 {
        let f = Fixture::with_documents(&[CROWD]).await;
        let handler = Arc::new(f.post_confirmation());
        let started = Instant::now();
        let tasks: Vec<_> = (0..CROWD_SIZE)
            .map(|i| {
                let handler = handler.clone();
                let ev = crowd_event(round, i);
                tokio::spawn(async move {
                    let sub = sub_of(&ev);
                    let result = handler.handle(ev.clone()).await;
                    (sub, ev, result)
                })
            })
            .collect();
        let mut admitted = BTreeSet::new();
        let mut refused = 0;
        let mut other = Vec::new();
        for task in tasks {
            let (sub, ev, result) = task.await.expect("task");
            match result {
                Ok(answer) => {
                    assert_eq!(answer, ev, "a confirmation answers with the event itself");
                    admitted.insert(sub);
                }
                // The crowd joins through a domain route: the seat limit shows as
                // SIGNUP_NOT_ALLOWED, and leads the logged reason.
                Err(e)
                    if e.code == DenyCode::SignupNotAllowed
                        && e.reason.starts_with("SEAT_LIMIT_REACHED") =>
                {
                    refused += 1
                }
                Err(e) => other.push(format!("{sub}: {} ({})", e.code.as_str(), e.reason)),
            }
        }
        let elapsed = started.elapsed();
        assert!(
            other.is_empty(),
            "round {round}: unexpected answers: {other:#?}"
        );
        assert_eq!(
            (admitted.len(), refused),
            (CROWD_SEATS, CROWD_SIZE - CROWD_SEATS),
            "round {round}"
        );
        let members = f.member_subs("crowd").await;
        let seats = f.user_count("crowd").await as usize;
        assert_eq!(
            (&members, seats),
            (&admitted, CROWD_SEATS),
            "round {round}: exactly the admitted users are members, userCount = maxUsers; \
             members not admitted: {:?}",
            members.difference(&admitted).collect::<Vec<_>>()
        );
        println!(
            "round {round}: {} admitted, {refused} refused at the seat limit in {elapsed:?} ({:?})",
            admitted.len(),
            f.requests().snapshot()
        );
    }
}

#[tokio::test]
async fn no_op_post_confirmation_sources_make_no_request() {
    let f = Fixture::seeded().await;
    let handler = f.post_confirmation();
    let mut sources = Vec::new();
    for path in events_of("post-confirmation") {
        let ev = read_json(&path);
        if ev["triggerSource"] == "PostConfirmation_ConfirmSignUp" {
            continue;
        }
        sources.push(ev["triggerSource"].as_str().unwrap_or_default().to_string());
        f.requests().reset();
        let got = answer(handler.handle(ev).await);
        assert_eq!(
            got,
            read_json(&path.with_extension("expected.json")),
            "{}",
            path.display()
        );
        assert_eq!(
            f.requests().total(),
            0,
            "{}: {:?}",
            path.display(),
            f.requests().snapshot()
        );
    }
    assert!(
        sources
            .iter()
            .any(|s| s == "PostConfirmation_ConfirmForgotPassword"),
        "{sources:?}"
    );
}

// ----------------------------------------------------------------------------------------------
// First-token provisioning through pre token generation
// ----------------------------------------------------------------------------------------------

const FIRST_TOKEN_SUB: &str = "0e0e0e0e-0000-4000-8000-000000abc001";
const INVITED_EMAIL: &str = "new.hire@acme.example";

#[tokio::test]
async fn an_invited_admin_created_user_is_provisioned_at_the_first_token() {
    let f = Fixture::seeded().await;
    let handler = f.pre_token();
    let file = "pre-token-generation/v2-first-token-provisions-invited-user.json";
    assert_eq!(sub_of(&event(file)), FIRST_TOKEN_SUB);
    assert!(f.memberships(FIRST_TOKEN_SUB).await.is_empty());
    let seats = f.user_count("acme").await;

    let got = answer(handler.handle(event(file)).await);
    assert_eq!(got, expected(file));
    let claims = &got["response"]["claimsAndScopeOverrideDetails"];
    assert_eq!(
        claims["idTokenGeneration"]["claimsToAddOrOverride"]["tenantId"],
        "acme"
    );
    assert_eq!(
        claims["accessTokenGeneration"]["claimsToAddOrOverride"]["tenantId"],
        "acme"
    );
    assert_eq!(
        f.requests().get("TransactWriteItems"),
        1,
        "{:?}",
        f.requests().snapshot()
    );

    let members = f.memberships(FIRST_TOKEN_SUB).await;
    assert_eq!(members.len(), 1, "{members:?}");
    assert_eq!(
        (
            members[0].tenant_id.as_str(),
            members[0].source.as_str(),
            members[0].roles.clone()
        ),
        ("acme", "invitation", vec!["member".to_string()])
    );
    assert!(
        f.invitations(INVITED_EMAIL)
            .await
            .iter()
            .all(|i| i.used_by.as_deref() == Some(FIRST_TOKEN_SUB)),
        "the invitation was used, by this user"
    );
    assert_eq!(f.user_count("acme").await, seats + 1);

    f.requests().reset();
    let next = answer(handler.handle(event(file)).await);
    assert_eq!(
        next,
        expected(file),
        "the next token carries the same claims"
    );
    assert_eq!(
        f.requests().snapshot(),
        only("Query", 1),
        "the next token is the membership Query alone"
    );
    assert_eq!(f.user_count("acme").await, seats + 1);
}

#[tokio::test]
async fn an_unverified_email_is_not_provisioned_at_the_first_token() {
    let f = Fixture::seeded().await;
    let handler = f.pre_token();
    let file = "pre-token-generation/v2-first-token-unverified-email-denied.json";
    assert_eq!(sub_of(&event(file)), FIRST_TOKEN_SUB);
    let seats = f.user_count("acme").await;

    let got = answer(handler.handle(event(file)).await);
    assert_eq!(got, expected(file));
    assert_eq!(got["errorType"], "NO_TENANT");
    assert_eq!(
        (write_count(f.requests()), f.requests().writes()),
        (0, 0),
        "{:?}",
        f.requests().snapshot()
    );
    assert!(f.memberships(FIRST_TOKEN_SUB).await.is_empty());
    assert!(
        f.invitations(INVITED_EMAIL)
            .await
            .iter()
            .all(|i| !i.is_used()),
        "the invitation is untouched"
    );
    assert_eq!(f.user_count("acme").await, seats);
}

// ----------------------------------------------------------------------------------------------
// Transaction conflicts
// ----------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_transaction_conflict_is_retried_and_the_confirmation_succeeds() {
    let f = Fixture::seeded().await;
    let conflicts = InjectedConflicts::new(2);
    let requests = RequestCounter::default();
    let directory = f.contended(&conflicts, &requests);
    let handler = PostConfirmation::new(cached_over(directory, f.table.name()), replay_clock());
    let file = "post-confirmation/confirm-signup-invitation-verified-email.json";
    let sub = sub_of(&event(file));
    let seats = f.user_count("acme").await;

    let started = Instant::now();
    let got = answer(within_budget(&handler, event(file), HANDLER_BUDGET).await);
    let elapsed = started.elapsed();
    println!(
        "2 conflicts, then success, in {elapsed:?}: {:?}",
        requests.snapshot()
    );
    assert_eq!(got, expected(file));
    assert_eq!(conflicts.remaining(), 0, "both conflicts were met");
    assert_eq!(
        requests.get("TransactWriteItems"),
        3,
        "two conflicts and the attempt that went through"
    );
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");

    assert_eq!(f.memberships(&sub).await.len(), 1);
    assert!(f
        .invitations(INVITED_EMAIL)
        .await
        .iter()
        .all(|i| i.is_used()));
    assert_eq!(f.user_count("acme").await, seats + 1);
}

#[tokio::test]
async fn conflicts_that_never_settle_fail_closed_without_a_partial_write() {
    let f = Fixture::seeded().await;
    let injected = 1000;
    let conflicts = InjectedConflicts::new(injected);
    let requests = RequestCounter::default();
    let directory = f.contended(&conflicts, &requests);
    let handler = PostConfirmation::new(cached_over(directory, f.table.name()), replay_clock());
    let file = "post-confirmation/confirm-signup-invitation-verified-email.json";
    let sub = sub_of(&event(file));
    let seats = f.user_count("acme").await;

    let started = Instant::now();
    let result = within_budget(&handler, event(file), HANDLER_BUDGET).await;
    let elapsed = started.elapsed();
    let attempts = injected - conflicts.remaining();
    println!(
        "conflicts on every attempt: {attempts} attempts in {elapsed:?}: {:?}",
        requests.snapshot()
    );

    let err = result.expect_err("an unsettled provisioning is no success");
    assert_eq!(err.code, DenyCode::DirectoryUnavailable, "{err:?}");
    assert_eq!(err.to_string(), UNAVAILABLE_TEXT);
    assert!(
        (2..=5).contains(&attempts),
        "retried a bounded number of times: {attempts}"
    );
    assert_eq!(requests.get("TransactWriteItems"), attempts);
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");

    assert!(f.memberships(&sub).await.is_empty(), "no membership");
    assert!(
        f.invitations(INVITED_EMAIL)
            .await
            .iter()
            .all(|i| !i.is_used()),
        "the invitation is still open"
    );
    assert_eq!(f.user_count("acme").await, seats, "userCount unchanged");
}
