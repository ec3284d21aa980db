//! Load (`make load`, not part of `make test`): for each function, 1,000 invocations at once
//! (`LOAD_INVOCATIONS`) through one handler over DynamoDB (moto on loopback), bounded in
//! count and in time. What must hold: no answer but the expected ones (the expected denials
//! included), no membership lost or duplicated, `userCount` equal to the memberships, the
//! invitations used exactly those of the members. Prints throughput and latency percentiles.
//!
//! moto answers one request at a time (`scripts/moto_server.py`), so the figures measure the
//! functions' concurrency against a serialized store, not DynamoDB's capacity. The client is
//! the harness's (30 s operation timeout): queueing at moto is not a DynamoDB failure.
//!
//! Users are placed by a `pool` route of a pool of their own (a silo): no invitation items,
//! since moto copies the whole table at every transaction, and the rules of every version
//! agree on it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::StalledStreamProtectionConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use tenant_admin::DirectoryDocument;
use tenant_lookup::store::keys;
use tenant_lookup::{
    CachedDirectory, Clock, Config, Denial, DenyCode, Directory, DynamoDirectory, ManualClock,
    PostConfirmation, PreSignUp, PreTokenGeneration, Trigger,
};
use test_support::events::{answer, event, expected};
use test_support::seeds::NOW;
use test_support::{client, moto, seeded_table, RequestCounter, TestTable};

const POOL: &str = "us-east-1_Load0Pool";
/// A pool the directory knows nothing of: sign-ups there are refused.
const UNKNOWN_POOL: &str = "us-east-1_Load0Unknown";
const TENANT: &str = "load";
/// How long one phase may take at most: the bound of the test, not a speed requirement.
const PHASE_LIMIT: Duration = Duration::from_secs(600);
const MACHINE_TOKEN: &str = "pre-token-generation/v3-client-credentials.json";

fn invocations() -> usize {
    std::env::var("LOAD_INVOCATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

fn sub(i: usize) -> String {
    format!("10ad10ad-0000-4000-8000-{i:012}")
}

fn email(i: usize) -> String {
    format!("user{i}@load.example")
}

/// Tenant `load`, `seats` seats, self sign-up, placed by [`POOL`]'s route.
fn document(seats: usize) -> String {
    json!({
        "tenants": [{"id": TENANT, "name": "Load", "tier": "premium", "selfSignUp": true,
                     "maxUsers": seats}],
        "routes": [{"kind": "pool", "key": POOL, "tenantId": TENANT}],
    })
    .to_string()
}

fn user_event(file: &str, i: usize) -> Value {
    let mut ev = event(file);
    ev["userPoolId"] = POOL.into();
    ev["userName"] = sub(i).into();
    ev["request"]["userAttributes"] = json!({
        "sub": sub(i), "email": email(i), "email_verified": "true",
        "cognito:user_status": "CONFIRMED",
    });
    ev
}

fn config(table: &str) -> Config {
    let table = table.to_string();
    Config::from_lookup(move |k| (k == "TENANT_TABLE").then(|| table.clone()))
        .expect("valid configuration")
}

/// The table through the harness's client, with room for a thousand connections queueing at
/// moto's listen backlog and a thousand requests at its one request at a time. One client
/// (one connection pool) for every phase: moto serves each open connection with a thread.
fn load_directory(table: &TestTable, requests: &RequestCounter) -> DynamoDirectory {
    let config = table
        .client()
        .config()
        .to_builder()
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(60))
                .operation_timeout(PHASE_LIMIT)
                .build(),
        )
        // A request queued behind a thousand others at moto reads nothing for seconds: that
        // is moto answering one request at a time, not a stalled DynamoDB stream.
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .interceptor(requests.clone())
        .build();
    DynamoDirectory::new(aws_sdk_dynamodb::Client::from_conf(config), table.name())
}

/// A function's cache, fresh (cold), over `directory`.
fn cached(directory: &DynamoDirectory) -> CachedDirectory<DynamoDirectory> {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(NOW));
    let c = config(directory.table());
    CachedDirectory::new(directory.clone(), c.cache_ttl, clock)
        .with_stale_if_error(c.stale_if_error)
}

/// Latencies and answers of one phase.
struct Phase {
    name: &'static str,
    wall: Duration,
    latencies: Vec<Duration>,
    answers: Vec<(usize, Result<Value, Denial>)>,
}

impl Phase {
    fn percentile(&self, p: f64) -> Duration {
        let mut l = self.latencies.clone();
        l.sort();
        let i = ((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1;
        l[i]
    }

    fn report(&self, requests: &RequestCounter) {
        let n = self.latencies.len();
        let mut codes: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, r) in &self.answers {
            *codes
                .entry(r.as_ref().map_or_else(|d| d.code.as_str(), |_| "answered"))
                .or_default() += 1;
        }
        println!(
            "load {:<20} {n} invocations in {:.2?}: {:.0}/s; p50 {:.1?} p99 {:.1?} max {:.1?}; \
             {codes:?}; DynamoDB requests {:?}",
            self.name,
            self.wall,
            n as f64 / self.wall.as_secs_f64(),
            self.percentile(0.50),
            self.percentile(0.99),
            self.percentile(1.0),
            requests.snapshot(),
        );
    }
}

/// All `events` through `handler` at once.
async fn phase<T: Trigger + 'static>(
    name: &'static str,
    handler: Arc<T>,
    events: Vec<(usize, Value)>,
) -> Phase {
    let started = Instant::now();
    let tasks: Vec<_> = events
        .into_iter()
        .map(|(i, ev)| {
            let handler = handler.clone();
            tokio::spawn(async move {
                let t = Instant::now();
                let result = handler.handle(ev).await;
                (i, t.elapsed(), result)
            })
        })
        .collect();
    let joined = tokio::time::timeout(PHASE_LIMIT, async {
        let mut out = Vec::with_capacity(tasks.len());
        for task in tasks {
            out.push(task.await.expect("invocation task"));
        }
        out
    })
    .await
    .unwrap_or_else(|_| panic!("{name}: not done within {PHASE_LIMIT:?}"));
    let wall = started.elapsed();
    Phase {
        name,
        wall,
        latencies: joined.iter().map(|(_, l, _)| *l).collect(),
        answers: joined.into_iter().map(|(i, _, r)| (i, r)).collect(),
    }
}

/// The subs of `tenant`'s memberships (GSI1), each listed once.
async fn member_subs(inspect: &DynamoDirectory, tenant: &str) -> Vec<String> {
    let mut subs = Vec::new();
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    loop {
        let out = inspect
            .client()
            .query()
            .table_name(inspect.table())
            .index_name(keys::GSI1)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", keys::GSI1PK)
            .expression_attribute_values(":pk", AttributeValue::S(keys::tenant_sk(tenant)))
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .expect("GSI1 query");
        subs.extend(
            out.items()
                .iter()
                .filter_map(|i| i.get("sub").and_then(|v| v.as_s().ok()).cloned()),
        );
        match out.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return subs,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by make load"]
async fn a_thousand_invocations_at_once_per_function() {
    let n = invocations();
    // Sign-ups: every 10th comes from a pool the directory does not know. Confirmations: a
    // tenth are Cognito retries racing their first invocation; there are fewer seats than
    // users.
    let users = n - n / 10;
    let seats = n * 6 / 10;
    let table = seeded_table().await;
    let doc = DirectoryDocument::from_json(&document(seats)).expect("document");
    table.admin.import(&doc, NOW).await.expect("import");
    let inspect = DynamoDirectory::new(
        client(moto().endpoint(), &RequestCounter::default()),
        table.name(),
    );
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(NOW));

    // 1. Pre sign-up: reads only.
    let before = table.admin.export().await.expect("export");
    let requests = RequestCounter::default();
    let directory = load_directory(&table, &requests);
    let handler = Arc::new(PreSignUp::new(cached(&directory), clock.clone()));
    let events = (0..n)
        .map(|i| {
            let mut ev = user_event("pre-signup/signup-domain-route-self-signup.json", i);
            ev["request"]["userAttributes"] = json!({"email": email(i)});
            if i % 10 == 9 {
                ev["userPoolId"] = UNKNOWN_POOL.into();
            }
            (i, ev)
        })
        .collect();
    let signups = phase("pre-signup", handler, events).await;
    signups.report(&requests);
    for (i, result) in &signups.answers {
        match result {
            Ok(v) => {
                assert!(i % 10 != 9, "user {i} of an unknown pool was admitted");
                assert_eq!(
                    v["response"],
                    json!({"autoConfirmUser": false, "autoVerifyEmail": false, "autoVerifyPhone": false})
                );
            }
            Err(d) => {
                assert!(i % 10 == 9, "user {i} refused: {d:?}");
                assert_eq!(d.code, DenyCode::SignupNotAllowed, "user {i}: {d:?}");
            }
        }
    }
    assert_eq!(
        table.admin.export().await.expect("export"),
        before,
        "pre sign-up wrote"
    );

    // 2. Post confirmation: users 0..users, and a retry of each of the first n/10.
    requests.reset();
    let handler = Arc::new(PostConfirmation::new(cached(&directory), clock.clone()));
    let confirming: Vec<usize> = (0..users).chain(0..n / 10).collect();
    let events = confirming
        .iter()
        .map(|&i| {
            (
                i,
                user_event(
                    "post-confirmation/confirm-signup-invitation-verified-email.json",
                    i,
                ),
            )
        })
        .collect();
    let confirmations = phase("post-confirmation", handler, events).await;
    confirmations.report(&requests);
    let mut admitted = BTreeSet::new();
    let mut refused = BTreeSet::new();
    for (i, result) in &confirmations.answers {
        match result {
            Ok(v) => {
                assert_eq!(
                    v,
                    &user_event(
                        "post-confirmation/confirm-signup-invitation-verified-email.json",
                        *i
                    )
                );
                admitted.insert(sub(*i));
            }
            // Refused for want of a seat (shown as SIGNUP_NOT_ALLOWED where the rules mask it).
            Err(d)
                if matches!(
                    d.code,
                    DenyCode::SeatLimitReached | DenyCode::SignupNotAllowed
                ) =>
            {
                refused.insert(sub(*i));
            }
            Err(d) => panic!("user {i}: unexpected {d:?}"),
        }
    }
    assert!(
        admitted.is_disjoint(&refused),
        "a user both admitted and refused: {:?}",
        admitted.intersection(&refused).collect::<Vec<_>>()
    );
    let members = member_subs(&inspect, TENANT).await;
    let unique: BTreeSet<String> = members.iter().cloned().collect();
    assert_eq!(unique.len(), members.len(), "a duplicated membership");
    assert_eq!(
        unique, admitted,
        "memberships are exactly the admitted users"
    );
    assert_eq!(admitted.len(), seats, "every seat taken, none more");
    let count = inspect
        .tenant(TENANT)
        .await
        .expect("read")
        .expect("tenant")
        .user_count;
    assert_eq!(
        count as usize,
        members.len(),
        "userCount equals the memberships"
    );
    println!(
        "load post-confirmation: {} members = userCount {count} = seats; {} refused",
        members.len(),
        refused.len()
    );

    // 3. Pre token generation: every member's token, and machine tokens.
    requests.reset();
    let handler = Arc::new(PreTokenGeneration::new(
        cached(&directory),
        clock,
        &config(table.name()),
    ));
    let member_list: Vec<usize> = (0..users).filter(|i| admitted.contains(&sub(*i))).collect();
    let events = (0..n)
        .map(|k| {
            if k % 10 == 9 {
                (usize::MAX, event(MACHINE_TOKEN))
            } else {
                let i = member_list[k % member_list.len()];
                (
                    i,
                    user_event("pre-token-generation/v2-authentication-member.json", i),
                )
            }
        })
        .collect();
    let tokens = phase("pre-token-generation", handler, events).await;
    tokens.report(&requests);
    for (i, result) in &tokens.answers {
        if let Err(d) = result {
            panic!("token {i}: {d:?}");
        }
        let got = answer(result.clone());
        if *i == usize::MAX {
            assert_eq!(got, expected(MACHINE_TOKEN));
        } else {
            let claims = &got["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"]
                ["claimsToAddOrOverride"];
            assert_eq!(claims["tenantId"], TENANT, "user {i}: {got}");
        }
    }
    assert_eq!(
        member_subs(&inspect, TENANT).await.len(),
        seats,
        "tokens changed the memberships"
    );
}
