//! The directory table against moto: import/export (`tenant-admin`), the trigger reads and
//! provisioning (`DynamoDirectory`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use tenant_admin::{AdminError, DirectoryDocument, ErrorKind, ImportOptions};
use tenant_lookup::domain::model::{
    route_key, Invitation, Membership, MembershipStatus, RouteKind, Tenant, TenantStatus, Tier,
};
use tenant_lookup::{
    Directory, DirectoryContents, DirectoryError, DynamoDirectory, ProvisionOutcome,
    ProvisionRequest,
};
use test_support::seeds::EVERY_ITEM_KIND as SEED;
use test_support::{fresh_table, InjectedConflicts, RequestCounter, TestTable};

const POOL: &str = "us-east-1_Example";
const NOW: i64 = 1_750_000_000;

fn doc(json: &str) -> DirectoryDocument {
    DirectoryDocument::from_json(json).expect("test document parses")
}

async fn seeded() -> TestTable {
    let t = fresh_table().await;
    t.admin.import(&doc(SEED), NOW).await.expect("seed imports");
    t.requests.reset();
    t
}

fn membership(sub: &str, tenant: &str) -> Membership {
    Membership {
        user_pool_id: POOL.into(),
        sub: sub.into(),
        tenant_id: tenant.into(),
        roles: vec!["member".into()],
        status: MembershipStatus::Active,
        source: "domain".into(),
        created_at: NOW + 100,
    }
}

fn provision_request(sub: &str, tenant: &str) -> ProvisionRequest {
    ProvisionRequest {
        membership: membership(sub, tenant),
        invitation_tenant_id: None,
        invitation_email: None,
    }
}

fn invited(sub: &str, tenant: &str, email: &str) -> ProvisionRequest {
    ProvisionRequest {
        membership: Membership {
            source: "invitation".into(),
            ..membership(sub, tenant)
        },
        invitation_tenant_id: Some(tenant.into()),
        invitation_email: Some(email.into()),
    }
}

async fn user_count(t: &TestTable, tenant: &str) -> u32 {
    t.directory
        .tenant(tenant)
        .await
        .unwrap()
        .expect("tenant exists")
        .user_count
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

async fn put_raw(t: &TestTable, item: HashMap<String, AttributeValue>) {
    t.client()
        .put_item()
        .table_name(t.name())
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

// ----------------------------------------------------------------------------------------------
// Table
// ----------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_table_is_idempotent_and_enables_ttl_on_expires_at() {
    let t = fresh_table().await;
    assert!(
        !t.admin.create_table().await.unwrap(),
        "second create reports an existing table"
    );
    assert_eq!(t.requests.get("CreateTable"), 0);
    let ttl = t
        .client()
        .describe_time_to_live()
        .table_name(t.name())
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description.unwrap();
    assert_eq!(ttl.attribute_name(), Some("expiresAt"));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    let table = t
        .client()
        .describe_table()
        .table_name(t.name())
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(
        table.global_secondary_indexes()[0].index_name(),
        Some("GSI1")
    );
}

// ----------------------------------------------------------------------------------------------
// Import -> reads
// ----------------------------------------------------------------------------------------------

#[tokio::test]
async fn import_round_trips_every_item_kind_through_the_directory_reads() {
    let t = fresh_table().await;
    let report = t.admin.import(&doc(SEED), NOW).await.unwrap();
    assert_eq!(
        (
            report.tiers.created,
            report.tenants.created,
            report.routes.created
        ),
        (2, 2, 5)
    );
    assert_eq!((report.members.created, report.invitations.created), (3, 2));
    let d = &t.directory;

    assert_eq!(
        d.tenant("acme").await.unwrap(),
        Some(Tenant {
            id: "acme".into(),
            name: "Acme Corp".into(),
            tier: "premium".into(),
            status: TenantStatus::Active,
            self_sign_up: false,
            allowed_email_domains: vec!["acme.example".into()],
            max_users: Some(50),
            user_count: 2,
            default_role: "member".into(),
            iam_role_arn: Some("arn:aws:iam::123456789012:role/acme".into()),
        })
    );
    assert_eq!(
        d.tenant("globex").await.unwrap(),
        Some(Tenant {
            id: "globex".into(),
            name: "globex".into(),
            tier: "basic".into(),
            status: TenantStatus::Suspended,
            self_sign_up: true,
            allowed_email_domains: vec![],
            max_users: None,
            user_count: 1,
            default_role: "viewer".into(),
            iam_role_arn: None,
        })
    );
    assert_eq!(d.tenant("initech").await.unwrap(), None);

    assert_eq!(
        d.tier("premium").await.unwrap(),
        Some(Tier {
            id: "premium".into(),
            scopes: vec!["reports/export".into(), "admin/read".into()]
        })
    );
    assert_eq!(
        d.tier("basic").await.unwrap().unwrap().scopes,
        Vec::<String>::new()
    );
    assert_eq!(d.tier("gold").await.unwrap(), None);

    let pool = d
        .route(RouteKind::Pool, "us-east-1_Silo0acme")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((pool.tenant_id.as_str(), pool.trust_email), ("acme", false));
    let client = d
        .route(
            RouteKind::Client,
            &route_key(RouteKind::Client, POOL, "7q2example0webclient0abcd12"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(client.tenant_id, "acme");
    let domain = d
        .route(
            RouteKind::Domain,
            &route_key(RouteKind::Domain, POOL, "acme.example"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(domain.tenant_id, "acme");
    let idp = d
        .route(RouteKind::Idp, &route_key(RouteKind::Idp, POOL, "acmesaml"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((idp.tenant_id.as_str(), idp.trust_email), ("acme", true));
    assert_eq!(
        d.route(
            RouteKind::Client,
            &route_key(RouteKind::Client, POOL, "7Q2EXAMPLE0WEBCLIENT0ABCD12")
        )
        .await
        .unwrap(),
        None,
        "client ids are case-sensitive"
    );
    assert_eq!(
        d.route(RouteKind::Pool, "7q2example0webclient0abcd12")
            .await
            .unwrap(),
        None,
        "kinds are separate"
    );

    let alice = d.memberships(POOL, "sub-alice").await.unwrap();
    assert_eq!(
        alice,
        vec![Membership {
            user_pool_id: POOL.into(),
            sub: "sub-alice".into(),
            tenant_id: "acme".into(),
            roles: vec!["admin".into(), "member".into()],
            status: MembershipStatus::Active,
            source: "import".into(),
            created_at: NOW,
        }]
    );
    let mut bob = d.memberships(POOL, "sub-bob").await.unwrap();
    bob.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
    assert_eq!(bob.len(), 2);
    assert_eq!(
        (bob[0].tenant_id.as_str(), bob[0].roles.clone()),
        ("acme", vec!["member".to_string()])
    );
    assert_eq!(
        (bob[1].tenant_id.as_str(), bob[1].status),
        ("globex", MembershipStatus::Suspended)
    );
    assert_eq!(
        bob[1].roles,
        vec!["viewer"],
        "roles default to the tenant's defaultRole"
    );
    assert!(d
        .memberships("us-east-1_Other", "sub-alice")
        .await
        .unwrap()
        .is_empty());

    let invitations = d.invitations(POOL, "new.hire@acme.example").await.unwrap();
    assert_eq!(
        invitations,
        vec![Invitation {
            user_pool_id: POOL.into(),
            email: "new.hire@acme.example".into(),
            tenant_id: "acme".into(),
            roles: vec!["member".into()],
            invited_by: Some("sub-alice".into()),
            expires_at: Some(1_900_000_000),
            used_by: None,
            used_at: None,
        }]
    );
    assert!(d
        .invitations("us-east-1_Other", "new.hire@acme.example")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn each_trigger_read_is_a_single_request_and_nothing_scans() {
    let t = seeded().await;
    let d = &t.directory;
    d.memberships(POOL, "sub-bob").await.unwrap();
    assert_eq!(t.requests.snapshot(), [("Query".to_string(), 1)].into());
    t.requests.reset();
    d.invitations(POOL, "new.hire@acme.example").await.unwrap();
    assert_eq!(t.requests.snapshot(), [("Query".to_string(), 1)].into());
    t.requests.reset();
    d.tenant("acme").await.unwrap();
    d.tier("premium").await.unwrap();
    d.route(
        RouteKind::Domain,
        &route_key(RouteKind::Domain, POOL, "acme.example"),
    )
    .await
    .unwrap();
    d.route(
        RouteKind::Domain,
        &route_key(RouteKind::Domain, POOL, "absent.example"),
    )
    .await
    .unwrap();
    assert_eq!(t.requests.snapshot(), [("GetItem".to_string(), 4)].into());
    t.requests.reset();
    d.provision(&provision_request("sub-new", "acme"))
        .await
        .unwrap();
    assert_eq!(
        t.requests.snapshot(),
        [("TransactWriteItems".to_string(), 1)].into()
    );
}

#[tokio::test]
async fn invitations_are_found_by_any_case_of_the_email_and_expired_ones_are_returned() {
    let t = seeded().await;
    let found = t
        .directory
        .invitations(POOL, "LATE@Acme.Example")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].expires_at, Some(1000));
    assert!(
        !found[0].is_valid_at(NOW),
        "the caller sees it is expired and filters it"
    );
}

// ----------------------------------------------------------------------------------------------
// Import rules
// ----------------------------------------------------------------------------------------------

#[tokio::test]
async fn importing_the_same_document_twice_changes_nothing_the_second_time() {
    let t = seeded().await;
    let before = t.admin.export().await.unwrap();
    t.requests.reset();

    let report = t.admin.import(&doc(SEED), NOW + 3600).await.unwrap();
    assert!(report.is_unchanged(), "{report}");
    assert_eq!(
        (
            report.tiers.unchanged,
            report.tenants.unchanged,
            report.routes.unchanged
        ),
        (2, 2, 5)
    );
    assert_eq!(
        (report.members.unchanged, report.invitations.unchanged),
        (3, 2)
    );
    assert!(report.changes.is_empty(), "{:?}", report.changes);
    assert!(report.seats.is_empty(), "{:?}", report.seats);
    assert!(report.to_string().contains("nothing to change"), "{report}");
    assert_eq!(t.requests.writes(), 0, "{:?}", t.requests.snapshot());

    let after = t.admin.export().await.unwrap();
    assert_eq!(
        after, before,
        "createdAt and source of existing members are kept"
    );
}

#[tokio::test]
async fn a_changed_document_updates_only_what_changed_field_by_field_and_keeps_member_history() {
    let t = seeded().await;
    let changed = SEED
        .replace(r#""maxUsers": 50,"#, r#""maxUsers": 40,"#)
        .replace(r#""roles": ["admin", "member"]"#, r#""roles": ["admin"]"#);
    let report = t.admin.import(&doc(&changed), NOW + 3600).await.unwrap();
    assert_eq!((report.tenants.updated, report.tenants.unchanged), (1, 1));
    assert_eq!((report.members.updated, report.members.unchanged), (1, 2));
    assert_eq!(
        report.routes.written() + report.tiers.written() + report.invitations.written(),
        0
    );
    let text = report.to_string();
    assert!(
        text.contains("update tenant 'acme'\n    acme: maxUsers 50 -> 40\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "update member 'sub-alice' of tenant 'acme' (pool us-east-1_Example)\n    \
             member 'sub-alice' of tenant 'acme' (pool us-east-1_Example): roles [admin, member] -> [admin]"
        ),
        "{text}"
    );
    assert!(report.loosening().is_empty(), "tightening is no loosening");

    assert_eq!(
        t.directory.tenant("acme").await.unwrap().unwrap().max_users,
        Some(40)
    );
    let alice = &t.directory.memberships(POOL, "sub-alice").await.unwrap()[0];
    assert_eq!(alice.roles, vec!["admin"]);
    assert_eq!((alice.created_at, alice.source.as_str()), (NOW, "import"));
}

#[tokio::test]
async fn a_loosening_import_is_refused_with_its_list_unless_allowed() {
    let t = seeded().await;
    let before = t.admin.export().await.unwrap();
    // The partial entry of the issue: suspend acme by importing only its id, tier and status.
    let partial = r#"{"tenants":[{"id":"acme","tier":"premium","status":"suspended"}]}"#;
    let err = t.admin.import(&doc(partial), NOW).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    let text = err.to_string();
    for line in [
        "the import would loosen 3 settings (import with --allow-loosening to apply):",
        "acme: allowedEmailDomains [acme.example] -> none",
        "acme: maxUsers 50 -> unlimited",
        "acme: iamRoleArn arn:aws:iam::123456789012:role/acme -> none",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(
        !text.contains("status"),
        "suspending is no loosening: {text}"
    );
    assert_eq!(t.requests.writes(), 0, "{:?}", t.requests.snapshot());
    assert_eq!(t.admin.export().await.unwrap(), before);

    // Resuming and self sign-up loosen too.
    let resume = SEED.replace(
        r#""status": "suspended", "selfSignUp": true"#,
        r#""status": "active", "selfSignUp": true"#,
    );
    let err = t.admin.import(&doc(&resume), NOW).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("globex: status suspended -> active"),
        "{err}"
    );

    let report = t
        .admin
        .import_with(
            &doc(partial),
            ImportOptions {
                allow_loosening: true,
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(report.loosening().len(), 3);
    let acme = t.directory.tenant("acme").await.unwrap().unwrap();
    assert_eq!(
        (
            acme.status,
            acme.max_users,
            acme.allowed_email_domains.len(),
            acme.iam_role_arn,
            acme.name.as_str()
        ),
        (TenantStatus::Suspended, None, 0, None, "acme")
    );
    assert_eq!(acme.user_count, 2, "userCount survives the update");
}

#[tokio::test]
async fn malformed_documents_write_nothing() {
    let t = fresh_table().await;
    let cases = [
        (
            r#"{"tenants":[{"id":"a","tier":"t"}],"routes":[{"kind":"planet","key":"k","tenantId":"a"}]}"#,
            "unknown route kind 'planet'",
        ),
        (
            r#"{"tiers":[{"id":"t"}],"tenants":[{"id":"a","tier":"t"}],"members":[{"userPoolId":"us-east-1_P","sub":"s","tenantId":"ghost"}]}"#,
            "members[0]: unknown tenant 'ghost'",
        ),
        (
            r#"{"tenants":[{"id":"a","tier":"t"},{"id":"b","tier":"t"}],
                "routes":[{"kind":"client","userPoolId":"us-east-1_P","key":"c1","tenantId":"a"},{"kind":"client","userPoolId":"us-east-1_P","key":"c1","tenantId":"b"}]}"#,
            "claimed by tenants 'a' and 'b'",
        ),
        (
            r#"{"tiers":[{"scopes":[]}],"tenants":[{"id":"a","tier":"t"}]}"#,
            "tiers[0]: missing id",
        ),
        (
            r#"{"tenants":[{"id":"a","tier":"t"},{"tier":"t"}]}"#,
            "tenants[1]: missing id",
        ),
        (
            r#"{"tenants":[{"id":"a","tier":"t"}],"members":[{"userPoolId":"p","tenantId":"a"}]}"#,
            "members[0]: userPoolId, sub and tenantId are required",
        ),
        (
            r#"{"tenants":[{"id":"a","tier":"premum"}]}"#,
            "tenants[0]: tier 'premum' does not exist",
        ),
        (
            r#"{"tiers":[{"id":"t"}],"tenants":[{"id":"a","tier":"t","iamRoleArn":"admin"}]}"#,
            "tenants[0]: iamRoleArn 'admin' is not an IAM role ARN",
        ),
        (
            r#"{"tiers":[{"id":"t"}],"tenants":[{"id":"a","tier":"t"}],
                "invitations":[{"userPoolId":"us-east-1_P","email":"a@b","tenantId":"a"}]}"#,
            "invitations[0]: an email address has an invalid domain 'b'",
        ),
    ];
    for (json, expected) in cases {
        let err = t.admin.import(&doc(json), NOW).await.unwrap_err();
        let AdminError::Invalid(problems) = &err else {
            panic!("expected an invalid document, got {err}");
        };
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{expected}: {problems:?}"
        );
        assert!(err.to_string().contains(expected), "{err}");
    }
    assert_eq!(t.requests.writes(), 0, "{:?}", t.requests.snapshot());
    assert_eq!(
        t.admin.export().await.unwrap(),
        DirectoryContents::default()
    );
}

#[tokio::test]
async fn every_problem_of_a_document_is_listed() {
    let t = fresh_table().await;
    let json = r#"{"tiers":[{"id":"t"}],"tenants":[{"id":"a","tier":"t"},{"tier":"t"}],
        "routes":[{"kind":"planet","key":"k","tenantId":"a"}],
        "members":[{"userPoolId":"us-east-1_P","sub":"s","tenantId":"ghost"}]}"#;
    let err = t.admin.import(&doc(json), NOW).await.unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("3 problems:"), "{text}");
    assert_eq!(text.lines().count(), 4, "one problem per line: {text}");
}

#[tokio::test]
async fn a_route_key_owned_by_another_tenant_in_the_table_is_rejected() {
    let t = seeded().await;
    let json = r#"{"tenants":[{"id":"initech","tier":"basic"}],
        "routes":[{"kind":"domain","userPoolId":"us-east-1_Example","key":"initech.example","tenantId":"initech"},
                  {"kind":"client","userPoolId":"us-east-1_Example","key":"7q2example0webclient0abcd12","tenantId":"initech"},
                  {"kind":"idp","userPoolId":"us-east-1_Example","key":"ACMESAML","tenantId":"initech"}]}"#;
    let err = t.admin.import(&doc(json), NOW).await.unwrap_err();
    let AdminError::Invalid(problems) = &err else {
        panic!("{err}")
    };
    assert_eq!(
        problems,
        &vec![
            "routes[1]: client route '7q2example0webclient0abcd12' (pool us-east-1_Example) already belongs to tenant 'acme'".to_string(),
            "routes[2]: idp route 'acmesaml' (pool us-east-1_Example) already belongs to tenant 'acme'".to_string(),
        ]
    );
    assert_eq!(t.requests.writes(), 0);
    assert_eq!(t.directory.tenant("initech").await.unwrap(), None);
    assert_eq!(
        t.directory
            .route(
                RouteKind::Domain,
                &route_key(RouteKind::Domain, POOL, "initech.example")
            )
            .await
            .unwrap(),
        None
    );
    let client = t
        .directory
        .route(
            RouteKind::Client,
            &route_key(RouteKind::Client, POOL, "7q2example0webclient0abcd12"),
        )
        .await
        .unwrap();
    assert_eq!(client.unwrap().tenant_id, "acme");
}

#[tokio::test]
async fn members_of_tenants_already_in_the_table_take_a_seat_each() {
    let t = seeded().await;
    let json = r#"{"members":[{"userPoolId":"us-east-1_Example","sub":"sub-carol","tenantId":"acme"}],
        "routes":[{"kind":"client","userPoolId":"us-east-1_Example","key":"acmemobileclient","tenantId":"acme"}]}"#;
    let report = t.admin.import(&doc(json), NOW).await.unwrap();
    assert_eq!(report.members.created, 1);
    assert_eq!(
        (
            report.seats[0].tenant_id.as_str(),
            report.seats[0].added,
            report.seats[0].user_count
        ),
        ("acme", 1, Some(2))
    );
    assert_eq!(user_count(&t, "acme").await, 3);
    assert_eq!(
        t.directory.memberships(POOL, "sub-carol").await.unwrap()[0].roles,
        vec!["member"]
    );
    assert_eq!(
        t.requests.get("TransactWriteItems"),
        1,
        "the membership and its seat in one transaction: {:?}",
        t.requests.snapshot()
    );
}

#[tokio::test]
async fn import_never_writes_a_count_it_computed() {
    let t = seeded().await;
    assert_eq!(
        (user_count(&t, "acme").await, user_count(&t, "globex").await),
        (2, 1)
    );
    // A member provisioned by a trigger is not in the document: its seat stays taken.
    assert_eq!(
        t.directory
            .provision(&provision_request("sub-dave", "acme"))
            .await
            .unwrap(),
        ProvisionOutcome::Created
    );
    assert_eq!(user_count(&t, "acme").await, 3);
    let report = t.admin.import(&doc(SEED), NOW).await.unwrap();
    assert!(report.is_unchanged(), "{report}");
    assert_eq!(user_count(&t, "acme").await, 3);

    // A wrong stored count is not "corrected" by an import (it cannot count consistently
    // while triggers provision); reconcile is the one recount.
    t.client()
        .update_item()
        .table_name(t.name())
        .key("PK", s("TENANT#acme"))
        .key("SK", s("TENANT"))
        .update_expression("SET userCount = :n")
        .expression_attribute_values(":n", AttributeValue::N("99".into()))
        .send()
        .await
        .unwrap();
    t.requests.reset();
    let report = t.admin.import(&doc(SEED), NOW).await.unwrap();
    assert!(report.is_unchanged(), "{report}");
    assert_eq!(t.requests.writes(), 0, "{:?}", t.requests.snapshot());
    assert_eq!(user_count(&t, "acme").await, 99);
    let recount = t.admin.reconcile(Some("acme"), false).await.unwrap();
    assert_eq!(
        (
            recount.tenants[0].user_count,
            recount.tenants[0].memberships,
            recount.tenants[0].written
        ),
        (Some(99), 3, true)
    );
    assert_eq!(user_count(&t, "acme").await, 3);
}

#[tokio::test]
async fn a_dry_run_plan_reports_the_changes_and_writes_nothing() {
    let t = seeded().await;
    let json = r#"{"tenants":[{"id":"initech","tier":"basic"}],
        "members":[{"userPoolId":"us-east-1_P","sub":"s1","tenantId":"initech"},{"userPoolId":"us-east-1_P","sub":"s2","tenantId":"acme"}]}"#;
    let plan = t
        .admin
        .plan_import(&doc(json), ImportOptions::default(), NOW, &())
        .await
        .unwrap();
    let report = plan.report();
    assert_eq!((report.tenants.created, report.members.created), (1, 2));
    let seats: Vec<_> = report
        .seats
        .iter()
        .map(|u| (u.tenant_id.as_str(), u.user_count, u.added))
        .collect();
    assert_eq!(seats, vec![("acme", Some(2), 1), ("initech", None, 1)]);
    assert_eq!(t.requests.writes(), 0, "{:?}", t.requests.snapshot());
    assert_eq!(t.directory.tenant("initech").await.unwrap(), None);

    t.admin.apply_import(plan, &()).await.unwrap();
    assert_eq!(user_count(&t, "initech").await, 1);
    assert_eq!(user_count(&t, "acme").await, 3);
}

#[tokio::test]
async fn a_used_invitation_is_not_revived_by_a_re_import() {
    let t = seeded().await;
    let email = "new.hire@acme.example";
    assert_eq!(
        t.directory
            .provision(&invited("sub-newhire", "acme", email))
            .await
            .unwrap(),
        ProvisionOutcome::Created
    );
    let used = t.directory.invitations(POOL, email).await.unwrap();
    assert_eq!(
        (used.len(), used[0].used_by.as_deref(), used[0].used_at),
        (1, Some("sub-newhire"), Some(NOW + 100))
    );
    assert_eq!(used[0].expires_at, None, "no TTL deletes the record of use");

    let report = t.admin.import(&doc(SEED), NOW + 200).await.unwrap();
    assert!(report.is_unchanged(), "{report}");
    assert!(
        report.to_string().contains(
            "keep invitation (invitations[0]) to tenant 'acme' (pool us-east-1_Example): already used, not brought back"
        ),
        "{report}"
    );
    let after = t.directory.invitations(POOL, email).await.unwrap();
    assert_eq!(after, used, "still used, by the same user");
    // A second account with the invited address is not admitted by it.
    assert_eq!(
        t.directory
            .provision(&invited("sub-second", "acme", email))
            .await
            .unwrap(),
        ProvisionOutcome::InvitationGone
    );
    assert_eq!(user_count(&t, "acme").await, 3);
}

#[tokio::test]
async fn export_then_import_reproduces_the_directory() {
    let a = seeded().await;
    let exported = DirectoryDocument::from_contents(&a.admin.export().await.unwrap());
    let json = serde_json::to_string_pretty(&exported).unwrap();

    let b = fresh_table().await;
    let report = b.admin.import(&doc(&json), NOW).await.unwrap();
    assert_eq!(report.tenants.created, 2);
    let again = DirectoryDocument::from_contents(&b.admin.export().await.unwrap());
    assert_eq!(again, exported);
    assert_eq!(
        a.admin.export().await.unwrap(),
        b.admin.export().await.unwrap()
    );
}

#[tokio::test]
async fn stored_items_of_the_wrong_shape_are_malformed_errors() {
    let t = fresh_table().await;
    put_raw(
        &t,
        HashMap::from([
            ("PK".into(), s("TENANT#bad")),
            ("SK".into(), s("TENANT")),
            ("tier".into(), s("basic")),
            ("maxUsers".into(), s("fifty")),
        ]),
    )
    .await;
    put_raw(
        &t,
        HashMap::from([("PK".into(), s("USER#p#s")), ("SK".into(), s("TENANT#bad"))]),
    )
    .await;
    put_raw(
        &t,
        HashMap::from([("PK".into(), s("ROUTE#POOL#p")), ("SK".into(), s("ROUTE"))]),
    )
    .await;

    let err = t.directory.tenant("bad").await.unwrap_err();
    assert!(
        matches!(&err, DirectoryError::Malformed(m) if m.contains("maxUsers")),
        "{err}"
    );
    let err = t.directory.memberships("p", "s").await.unwrap_err();
    assert!(
        matches!(&err, DirectoryError::Malformed(m) if m.contains("'sub' is missing")),
        "{err}"
    );
    let err = t.directory.route(RouteKind::Pool, "p").await.unwrap_err();
    assert!(
        matches!(&err, DirectoryError::Malformed(m) if m.contains("tenantId")),
        "{err}"
    );
}

// ----------------------------------------------------------------------------------------------
// Provisioning
// ----------------------------------------------------------------------------------------------

#[tokio::test]
async fn provision_creates_the_membership_and_takes_a_seat() {
    let t = seeded().await;
    let outcome = t
        .directory
        .provision(&provision_request("sub-new", "acme"))
        .await
        .unwrap();
    assert_eq!(outcome, ProvisionOutcome::Created);
    assert_eq!(
        t.directory.memberships(POOL, "sub-new").await.unwrap(),
        vec![membership("sub-new", "acme")]
    );
    assert_eq!(user_count(&t, "acme").await, 3);
}

#[tokio::test]
async fn a_retried_provision_finds_its_membership_and_counts_once() {
    let t = seeded().await;
    let first = provision_request("sub-new", "acme");
    assert_eq!(
        t.directory.provision(&first).await.unwrap(),
        ProvisionOutcome::Created
    );
    let mut retry = first.clone();
    retry.membership.created_at += 5;
    retry.membership.roles = vec!["admin".into()];
    assert_eq!(
        t.directory.provision(&retry).await.unwrap(),
        ProvisionOutcome::AlreadyMember(first.membership.clone()),
        "the stored membership is returned, not the request's"
    );
    assert_eq!(user_count(&t, "acme").await, 3, "the seat is taken once");
    assert_eq!(
        t.directory
            .memberships(POOL, "sub-new")
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_suspended_or_missing_tenant_is_inactive_and_nothing_is_written() {
    let t = seeded().await;
    let outcome = t
        .directory
        .provision(&provision_request("sub-new", "globex"))
        .await
        .unwrap();
    assert_eq!(outcome, ProvisionOutcome::TenantInactive);
    assert_eq!(user_count(&t, "globex").await, 1);
    assert!(t
        .directory
        .memberships(POOL, "sub-new")
        .await
        .unwrap()
        .is_empty());

    let outcome = t
        .directory
        .provision(&provision_request("sub-new", "initech"))
        .await
        .unwrap();
    assert_eq!(outcome, ProvisionOutcome::TenantInactive);
    assert_eq!(
        t.directory.tenant("initech").await.unwrap(),
        None,
        "the counter update creates no tenant"
    );
    assert!(t
        .directory
        .memberships(POOL, "sub-new")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_full_tenant_reports_the_seat_limit() {
    let t = fresh_table().await;
    let json = r#"{"tiers":[{"id":"basic"}],"tenants":[{"id":"tiny","tier":"basic","maxUsers":1}],
        "members":[{"userPoolId":"us-east-1_Example","sub":"sub-first","tenantId":"tiny"}]}"#;
    t.admin.import(&doc(json), NOW).await.unwrap();
    let outcome = t
        .directory
        .provision(&provision_request("sub-second", "tiny"))
        .await
        .unwrap();
    assert_eq!(outcome, ProvisionOutcome::SeatLimitReached);
    assert_eq!(user_count(&t, "tiny").await, 1);
    assert!(t
        .directory
        .memberships(POOL, "sub-second")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_tenant_item_without_user_count_starts_at_zero() {
    let t = fresh_table().await;
    put_raw(
        &t,
        HashMap::from([
            ("PK".into(), s("TENANT#legacy")),
            ("SK".into(), s("TENANT")),
            ("tier".into(), s("basic")),
            ("status".into(), s("active")),
            ("maxUsers".into(), AttributeValue::N("1".into())),
        ]),
    )
    .await;
    assert_eq!(
        t.directory
            .provision(&provision_request("a", "legacy"))
            .await
            .unwrap(),
        ProvisionOutcome::Created
    );
    assert_eq!(user_count(&t, "legacy").await, 1);
    assert_eq!(
        t.directory
            .provision(&provision_request("b", "legacy"))
            .await
            .unwrap(),
        ProvisionOutcome::SeatLimitReached
    );
}

/// A missing status reads as active when read, so the transaction must agree (it did not:
/// `#status = :active` is false on a missing attribute, and provisioning failed forever).
#[tokio::test]
async fn a_tenant_item_without_status_is_active_for_provisioning() {
    let t = fresh_table().await;
    put_raw(
        &t,
        HashMap::from([
            ("PK".into(), s("TENANT#nostatus")),
            ("SK".into(), s("TENANT")),
            ("tier".into(), s("basic")),
        ]),
    )
    .await;
    assert_eq!(
        t.directory
            .provision(&provision_request("a", "nostatus"))
            .await
            .unwrap(),
        ProvisionOutcome::Created
    );
    assert_eq!(user_count(&t, "nostatus").await, 1);
}

/// An Update creates a missing item; the condition must stop provisioning into no tenant.
#[tokio::test]
async fn provisioning_into_a_missing_tenant_creates_nothing() {
    let t = fresh_table().await;
    assert_eq!(
        t.directory
            .provision(&provision_request("a", "ghost"))
            .await
            .unwrap(),
        ProvisionOutcome::TenantInactive
    );
    assert!(t.directory.tenant("ghost").await.unwrap().is_none());
    assert!(t.directory.memberships(POOL, "a").await.unwrap().is_empty());
}

#[tokio::test]
async fn an_invitation_is_used_once_by_the_provisioning_it_admits() {
    let t = seeded().await;
    let outcome = t
        .directory
        .provision(&invited("sub-hire", "acme", "new.hire@acme.example"))
        .await
        .unwrap();
    assert_eq!(outcome, ProvisionOutcome::Created);
    let kept = t
        .directory
        .invitations(POOL, "new.hire@acme.example")
        .await
        .unwrap();
    assert_eq!(kept.len(), 1, "kept as the record of its use");
    assert_eq!(
        (
            kept[0].used_by.as_deref(),
            kept[0].used_at,
            kept[0].expires_at
        ),
        (Some("sub-hire"), Some(NOW + 100), None)
    );
    assert!(!kept[0].is_open_at(NOW + 100));
    assert_eq!(user_count(&t, "acme").await, 3);

    // Someone else using the same (now used) invitation.
    let outcome = t
        .directory
        .provision(&invited("sub-other", "acme", "new.hire@acme.example"))
        .await
        .unwrap();
    assert_eq!(outcome, ProvisionOutcome::InvitationGone);
    assert!(t
        .directory
        .memberships(POOL, "sub-other")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(user_count(&t, "acme").await, 3);

    // The invited user's own retry is recognised as already provisioned.
    let outcome = t
        .directory
        .provision(&invited("sub-hire", "acme", "new.hire@acme.example"))
        .await
        .unwrap();
    assert!(
        matches!(outcome, ProvisionOutcome::AlreadyMember(ref m) if m.source == "invitation"),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_provisioning_never_exceeds_max_users() {
    let t = fresh_table().await;
    t.admin
        .import(
            &doc(r#"{"tiers":[{"id":"basic"}],"tenants":[{"id":"crowd","tier":"basic","maxUsers":5}]}"#),
            NOW,
        )
        .await
        .unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let directory = t.directory.clone();
            tokio::spawn(async move {
                directory
                    .provision(&provision_request(&format!("sub-{i}"), "crowd"))
                    .await
            })
        })
        .collect();
    let mut created = 0;
    let mut full = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            ProvisionOutcome::Created => created += 1,
            ProvisionOutcome::SeatLimitReached => full += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((created, full), (5, 15));
    assert_eq!(user_count(&t, "crowd").await, 5);
    let members = t.admin.export().await.unwrap().members;
    assert_eq!(members.iter().filter(|m| m.tenant_id == "crowd").count(), 5);
}

#[tokio::test]
async fn transaction_conflicts_are_retried_a_bounded_number_of_times() {
    let t = seeded().await;
    let conflicts = InjectedConflicts::new(2);
    let requests = RequestCounter::default();
    let config = t
        .client()
        .config()
        .to_builder()
        .interceptor(conflicts.clone())
        .interceptor(requests.clone())
        .build();
    let contended = DynamoDirectory::new(aws_sdk_dynamodb::Client::from_conf(config), t.name());

    let started = Instant::now();
    let outcome = contended
        .provision(&provision_request("sub-new", "acme"))
        .await
        .unwrap();
    assert_eq!(outcome, ProvisionOutcome::Created);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        (conflicts.remaining(), requests.get("TransactWriteItems")),
        (0, 3)
    );
    assert_eq!(user_count(&t, "acme").await, 3);

    let conflicts = InjectedConflicts::new(3);
    let config = t
        .client()
        .config()
        .to_builder()
        .interceptor(conflicts.clone())
        .build();
    let contended = DynamoDirectory::new(aws_sdk_dynamodb::Client::from_conf(config), t.name());
    let started = Instant::now();
    let err = contended
        .provision(&provision_request("sub-newer", "acme"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DirectoryError::Unavailable(m) if m.contains("TransactionConflict")),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(conflicts.remaining(), 0);
    assert!(t
        .directory
        .memberships(POOL, "sub-newer")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(user_count(&t, "acme").await, 3);
}

/// A user is provisioned once, into one tenant: a retry that resolved to another tenant (its
/// invitation consumed by the first attempt) finds the first membership instead of adding one.
#[tokio::test]
async fn a_user_is_provisioned_into_one_tenant_only() {
    let t = seeded().await;
    let (acme, globex) = (user_count(&t, "acme").await, user_count(&t, "globex").await);
    assert_eq!(
        t.directory
            .provision(&provision_request("sub-once", "acme"))
            .await
            .unwrap(),
        ProvisionOutcome::Created
    );
    match t
        .directory
        .provision(&provision_request("sub-once", "globex"))
        .await
        .unwrap()
    {
        ProvisionOutcome::AlreadyMember(m) => assert_eq!(m.tenant_id, "acme"),
        other => panic!("expected the acme membership, got {other:?}"),
    }
    let memberships = t.directory.memberships(POOL, "sub-once").await.unwrap();
    assert_eq!(memberships.len(), 1);
    assert_eq!(user_count(&t, "acme").await, acme + 1);
    assert_eq!(
        user_count(&t, "globex").await,
        globex,
        "no seat taken in globex"
    );
    // The guard item is not a membership, and export leaves it out.
    let exported = t.admin.export().await.unwrap();
    assert_eq!(
        exported
            .members
            .iter()
            .filter(|m| m.sub == "sub-once")
            .count(),
        1
    );

    // An administrator removed the membership: the user is not provisioned again by a trigger.
    t.client()
        .delete_item()
        .table_name(t.name())
        .key("PK", s(&format!("USER#{POOL}#sub-once")))
        .key("SK", s("TENANT#acme"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        t.directory
            .provision(&provision_request("sub-once", "globex"))
            .await
            .unwrap(),
        ProvisionOutcome::ProvisionedBefore
    );
    assert!(t
        .directory
        .memberships(POOL, "sub-once")
        .await
        .unwrap()
        .is_empty());
}
