//! Administration racing the triggers, against moto (which serves one request at a time, so
//! transactions are isolated as on DynamoDB; the concurrency is the clients'):
//!
//! - an import running in a loop while 50 confirmations go into a tenant with `maxUsers` 10:
//!   never more than 10 memberships, and `userCount` equal to the memberships (before this
//!   design, the import's recount lost concurrent provisionings and overshot the seats);
//! - `reconcile` racing provisionings: a provisioning that commits between reconcile's read and
//!   its write makes the write's condition fail, and the recount is redone, so it is never lost.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use serde_json::json;
use tenant_admin::{AdminError, DirectoryDocument, TenantTable};
use tenant_lookup::domain::model::{Membership, MembershipStatus};
use tenant_lookup::{
    Directory, DynamoDirectory, ManualClock, PostConfirmation, ProvisionOutcome, ProvisionRequest,
    Trigger,
};
use test_support::{client, fresh_table, moto, RequestCounter, TestTable};

const POOL: &str = "us-east-1_Crowd0Pool";
const NOW: i64 = 1_800_000_000;

/// `crowd`: maxUsers 10, self sign-up, its domain routed in the pool; `members` in the document.
fn crowd(members: &[&str]) -> DirectoryDocument {
    let members: Vec<_> = members
        .iter()
        .map(|sub| json!({"userPoolId": POOL, "sub": sub, "tenantId": "crowd"}))
        .collect();
    let doc = json!({
        "tiers": [{"id": "basic"}],
        "tenants": [{"id": "crowd", "name": "Crowd", "tier": "basic", "selfSignUp": true, "maxUsers": 10}],
        "routes": [{"kind": "domain", "userPoolId": POOL, "key": "crowd.example", "tenantId": "crowd"}],
        "members": members,
    });
    DirectoryDocument::from_json(&doc.to_string()).unwrap()
}

fn confirmation(i: usize) -> serde_json::Value {
    let sub = format!("c0000000-0000-4000-8000-{i:012}");
    json!({
        "version": "1", "triggerSource": "PostConfirmation_ConfirmSignUp", "region": "us-east-1",
        "userPoolId": POOL, "userName": sub,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "crowdwebclient"},
        "request": {"userAttributes": {"sub": sub, "email": format!("user{i}@crowd.example"), "email_verified": "true"}},
        "response": {}
    })
}

/// The memberships of `crowd` and its userCount, read consistently from the table.
async fn seats(t: &TestTable) -> (usize, u32) {
    let members = t
        .admin
        .export()
        .await
        .unwrap()
        .members
        .into_iter()
        .filter(|m| m.tenant_id == "crowd")
        .count();
    let count = t
        .directory
        .tenant("crowd")
        .await
        .unwrap()
        .unwrap()
        .user_count;
    (members, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_import_in_a_loop_never_lets_confirmations_overshoot_max_users() {
    let t = fresh_table().await;
    t.admin
        .import(&crowd(&["doc-1", "doc-2"]), NOW)
        .await
        .unwrap();
    assert_eq!(seats(&t).await, (2, 2));

    let handler = Arc::new(PostConfirmation::new(
        t.directory.clone(),
        Arc::new(ManualClock::new(NOW)),
    ));
    let confirmations: Vec<_> = (0..50)
        .map(|i| {
            let handler = handler.clone();
            tokio::spawn(async move { handler.handle(confirmation(i)).await })
        })
        .collect();

    // The import: the same document, plus a third member, again and again while the
    // confirmations run (its own client: the table's counter stays the handler's).
    let admin = TenantTable::new(DynamoDirectory::new(
        client(moto().endpoint(), &RequestCounter::default()),
        t.name(),
    ));
    let document = crowd(&["doc-1", "doc-2", "doc-3"]);
    let mut imports = 0;
    let mut refused = 0;
    while !confirmations.iter().all(|c| c.is_finished()) || imports < 2 {
        match admin.import(&document, NOW).await {
            Ok(_) => imports += 1,
            // doc-3 found no seat left: the import says so and writes nothing more.
            Err(AdminError::Conflict(why)) => {
                assert!(why.contains("seats"), "{why}");
                refused += 1;
            }
            Err(e) => panic!("import: {e}"),
        }
        // Not one snapshot while confirmations commit: each side alone stays within the seats.
        let (members, count) = seats(&t).await;
        assert!(members <= 10, "{members} memberships for 10 seats");
        assert!(count <= 10, "userCount {count} for 10 seats");
    }
    let mut admitted = 0;
    for c in confirmations {
        match c.await.unwrap() {
            Ok(_) => admitted += 1,
            Err(d) => assert_eq!(d.code.as_str(), "SIGNUP_NOT_ALLOWED", "{d:?}"),
        }
    }
    let (members, count) = seats(&t).await;
    println!("{imports} imports ({refused} refused for seats) while 50 confirmations ran: {admitted} admitted");
    assert_eq!((members, count), (10, 10), "every seat taken, none twice");
    let doc_members = t
        .admin
        .export()
        .await
        .unwrap()
        .members
        .iter()
        .filter(|m| m.sub.starts_with("doc-"))
        .count();
    assert_eq!(admitted + doc_members, 10);
    assert!(
        imports + refused >= 2,
        "the import ran while confirmations did"
    );
}

/// Runs `action` once, synchronously, just before the first request of `operation`.
#[derive(Clone)]
struct Before {
    operation: &'static str,
    fired: Arc<AtomicUsize>,
    action: Arc<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for Before {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Before")
    }
}

impl Intercept for Before {
    fn name(&self) -> &'static str {
        "Before"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let is = cfg
            .load::<Metadata>()
            .is_some_and(|m| m.name() == self.operation);
        if is && self.fired.fetch_add(1, Ordering::SeqCst) == 0 {
            (self.action)();
        }
        Ok(())
    }
}

/// A provisioning of `sub` into `crowd`, on a thread and client of its own (moto answers it
/// before the request the interceptor holds back).
fn provision_elsewhere(table: String, sub: &'static str) {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let d =
                DynamoDirectory::new(client(moto().endpoint(), &RequestCounter::default()), table);
            let outcome = d
                .provision(&ProvisionRequest {
                    membership: Membership {
                        user_pool_id: POOL.into(),
                        sub: sub.into(),
                        tenant_id: "crowd".into(),
                        roles: vec!["member".into()],
                        status: MembershipStatus::Active,
                        source: "domain".into(),
                        created_at: NOW,
                    },
                    invitation_tenant_id: None,
                    invitation_email: None,
                })
                .await
                .unwrap();
            assert_eq!(outcome, ProvisionOutcome::Created);
        })
    })
    .join()
    .unwrap();
}

async fn set_count(t: &TestTable, n: u32) {
    t.client()
        .update_item()
        .table_name(t.name())
        .key("PK", AttributeValue::S("TENANT#crowd".into()))
        .key("SK", AttributeValue::S("TENANT".into()))
        .update_expression("SET userCount = :n")
        .expression_attribute_values(":n", AttributeValue::N(n.to_string()))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provisioning_between_reconciles_read_and_write_is_not_lost() {
    let t = fresh_table().await;
    t.admin
        .import(&crowd(&["doc-1", "doc-2"]), NOW)
        .await
        .unwrap();
    set_count(&t, 5).await;

    // Just before reconcile writes its recount (2, on condition that the count is still 5),
    // a trigger provisions a third member: the count becomes 6.
    let fired = Arc::new(AtomicUsize::new(0));
    let table = t.name().to_string();
    let before = Before {
        operation: "UpdateItem",
        fired: fired.clone(),
        action: Arc::new(move || provision_elsewhere(table.clone(), "late-arrival")),
    };
    let requests = RequestCounter::default();
    let config = t
        .client()
        .config()
        .to_builder()
        .interceptor(before)
        .interceptor(requests.clone())
        .build();
    let admin = TenantTable::new(DynamoDirectory::new(Client::from_conf(config), t.name()));

    let report = admin.reconcile(Some("crowd"), false).await.unwrap();
    assert_eq!(
        fired.load(Ordering::SeqCst),
        2,
        "the provisioning ran before the first write"
    );
    assert_eq!(
        requests.get("UpdateItem"),
        2,
        "the first write lost its condition and was redone"
    );
    let recount = &report.tenants[0];
    assert_eq!(
        (recount.user_count, recount.memberships, recount.written),
        (Some(6), 3, true),
        "counted again after the trigger moved the count"
    );
    assert_eq!(
        seats(&t).await,
        (3, 3),
        "the late arrival's seat is counted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reconcile_in_a_loop_while_provisionings_commit_ends_exact() {
    let t = fresh_table().await;
    t.admin.import(&crowd(&[]), NOW).await.unwrap();
    // No limit to reach here: every provisioning succeeds.
    t.client()
        .update_item()
        .table_name(t.name())
        .key("PK", AttributeValue::S("TENANT#crowd".into()))
        .key("SK", AttributeValue::S("TENANT".into()))
        .update_expression("REMOVE maxUsers")
        .send()
        .await
        .unwrap();
    set_count(&t, 3).await;

    let handler = Arc::new(PostConfirmation::new(
        t.directory.clone(),
        Arc::new(ManualClock::new(NOW)),
    ));
    let confirmations: Vec<_> = (0..20)
        .map(|i| {
            let handler = handler.clone();
            tokio::spawn(async move { handler.handle(confirmation(i)).await })
        })
        .collect();
    let admin = TenantTable::new(DynamoDirectory::new(
        client(moto().endpoint(), &RequestCounter::default()),
        t.name(),
    ));
    let mut rounds = 0;
    while !confirmations.iter().all(|c| c.is_finished()) || rounds < 2 {
        match admin.reconcile(Some("crowd"), false).await {
            Ok(_) | Err(AdminError::Conflict(_)) => rounds += 1,
            Err(e) => panic!("reconcile: {e}"),
        }
    }
    for c in confirmations {
        c.await.unwrap().expect("admitted");
    }
    admin.reconcile(Some("crowd"), false).await.unwrap();
    assert_eq!(seats(&t).await, (20, 20), "after {rounds} reconciles");
}
