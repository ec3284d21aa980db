//! The functions' IAM roles in `infra/template.yaml` grant exactly what the code asks of the
//! directory table, no more: every event of `events/<function>/` runs through the function's
//! handler against moto (plus the init warm-up read, and the retried provisioning that a lost
//! answer causes), and the IAM action, partition key prefix and attributes of every request are
//! recorded; the template's statements must list the same actions and prefixes, and for writes
//! the attributes, exactly. The invoke permissions must name pools, never every pool.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use tenant_lookup::domain::model::{Membership, MembershipStatus};
use tenant_lookup::lambda::warm_up;
use tenant_lookup::{
    CachedDirectory, Clock, Directory, DynamoDirectory, ManualClock, PostConfirmation, PreSignUp,
    PreTokenGeneration, ProvisionRequest, Trigger,
};
use test_support::access::{AccessLog, Grant};
use test_support::events::{events_of, read_json};
use test_support::handlers::config;
use test_support::seeds::{events_seed, NOW};
use test_support::{fresh_table, workspace_root};
use yaml_rust2::{Yaml, YamlLoader};

/// The key attributes DynamoDB requires in a `dynamodb:Attributes` list.
const KEY_ATTRIBUTES: [&str; 2] = ["PK", "SK"];

type Grants = BTreeMap<Grant, Option<BTreeSet<String>>>;

/// A freshly seeded table and a directory over it whose requests `log` records.
async fn seeded(log: &AccessLog) -> DynamoDirectory {
    let table = fresh_table().await;
    table.admin.import(&events_seed(), NOW).await.unwrap();
    let config = table
        .client()
        .config()
        .to_builder()
        .interceptor(log.clone())
        .build();
    DynamoDirectory::new(Client::from_conf(config), table.name())
}

/// What `function` asks of the table over all of its events.
async fn used_by(function: &str) -> BTreeMap<Grant, BTreeSet<String>> {
    let log = AccessLog::default();
    let mut directory = seeded(&log).await;
    warm_up(&directory).await;
    for event in events_of(function) {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(NOW));
        let cached = CachedDirectory::new(directory.clone(), config(&[]).cache_ttl, clock.clone());
        let event = read_json(&event);
        let wrote = match function {
            "pre-signup" => {
                let _ = PreSignUp::new(cached, clock).handle(event).await;
                false
            }
            "post-confirmation" => PostConfirmation::new(cached, clock)
                .handle(event)
                .await
                .is_ok(),
            _ => PreTokenGeneration::new(cached, clock, &config(&[]))
                .handle(event)
                .await
                .is_ok(),
        };
        if wrote {
            directory = seeded(&log).await;
        }
    }
    if function != "pre-signup" {
        // A provisioning whose answer was lost and that Cognito invokes again: its transaction
        // finds the membership and reads it back.
        let request = ProvisionRequest {
            membership: Membership {
                user_pool_id: "us-east-1_Shared0Pool".into(),
                sub: "least-privilege-retry".into(),
                tenant_id: "globex".into(),
                roles: vec!["member".into()],
                status: MembershipStatus::Active,
                source: "domain".into(),
                created_at: NOW,
            },
            invitation_tenant_id: None,
            invitation_email: None,
        };
        for _ in 0..2 {
            directory.provision(&request).await.unwrap();
        }
    }
    log.grants()
}

fn strings(y: &Yaml) -> Vec<String> {
    match y {
        Yaml::String(s) => vec![s.clone()],
        Yaml::Array(a) => a.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// The grants of a function's role: per statement, each action on each leading key prefix
/// (`*` without a `dynamodb:LeadingKeys` condition), with its `dynamodb:Attributes`, if any.
fn granted(template: &Yaml, function: &str) -> Grants {
    let mut out = Grants::new();
    let policies = &template["Resources"][function]["Properties"]["Policies"];
    for statement in policies
        .as_vec()
        .into_iter()
        .flatten()
        .flat_map(|p| p["Statement"].as_vec().cloned().unwrap_or_default())
    {
        assert_eq!(statement["Effect"].as_str(), Some("Allow"), "{function}");
        assert_eq!(
            strings(&statement["Resource"]),
            ["TenantTable.Arn"],
            "{function}: the table only, never an index"
        );
        let condition = &statement["Condition"];
        let prefixes: Vec<String> =
            strings(&condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"])
                .into_iter()
                .map(|p| p.trim_end_matches('*').to_string())
                .collect();
        let prefixes = if prefixes.is_empty() {
            vec!["*".to_string()]
        } else {
            prefixes
        };
        let attributes = condition["ForAllValues:StringEquals"]["dynamodb:Attributes"]
            .as_vec()
            .map(|_| {
                strings(&condition["ForAllValues:StringEquals"]["dynamodb:Attributes"])
                    .into_iter()
                    .collect::<BTreeSet<_>>()
            });
        for action in strings(&statement["Action"]) {
            for prefix in &prefixes {
                let grant = Grant {
                    action: action.clone(),
                    prefix: prefix.clone(),
                };
                assert!(
                    out.insert(grant.clone(), attributes.clone()).is_none(),
                    "{function}: {grant:?} granted twice"
                );
            }
        }
    }
    out
}

fn template() -> Yaml {
    let text = std::fs::read_to_string(workspace_root().join("infra/template.yaml")).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_function_role_grants_exactly_what_the_function_asks_of_the_table() {
    let template = template();
    let mut problems = Vec::new();
    for (function, resource) in [
        ("pre-signup", "PreSignUpFunction"),
        ("post-confirmation", "PostConfirmationFunction"),
        ("pre-token-generation", "PreTokenGenerationFunction"),
    ] {
        let used = used_by(function).await;
        let granted = granted(&template, resource);
        println!("{function} uses:");
        for (grant, attributes) in &used {
            println!("  {} {}  {attributes:?}", grant.action, grant.prefix);
        }
        for grant in used.keys().filter(|g| !granted.contains_key(*g)) {
            problems.push(format!(
                "{resource} lacks {} on {}",
                grant.action, grant.prefix
            ));
        }
        for grant in granted.keys().filter(|g| !used.contains_key(*g)) {
            problems.push(format!(
                "{resource} grants {} on {}, which the code never uses",
                grant.action, grant.prefix
            ));
        }
        for (grant, allowed) in &granted {
            let is_write = ["PutItem", "UpdateItem"]
                .iter()
                .any(|w| grant.action.ends_with(w));
            let Some(touched) = used.get(grant) else {
                continue;
            };
            match allowed {
                None if is_write => problems.push(format!(
                    "{resource}: {} on {} is not limited with dynamodb:Attributes",
                    grant.action, grant.prefix
                )),
                None => {}
                Some(allowed) => {
                    let missing: Vec<_> = touched.difference(allowed).collect();
                    let needless: Vec<_> = allowed
                        .iter()
                        .filter(|a| !touched.contains(*a) && !KEY_ATTRIBUTES.contains(&a.as_str()))
                        .collect();
                    if !missing.is_empty() || !needless.is_empty() {
                        problems.push(format!(
                            "{resource}: {} on {}: attributes missing {missing:?}, not used {needless:?}",
                            grant.action, grant.prefix
                        ));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn cognito_may_invoke_the_functions_only_from_named_pools() {
    let template = template();
    let resources = template["Resources"].as_hash().unwrap();
    let mut permissions = 0;
    for (name, resource) in resources {
        let text = format!("{resource:?}");
        if !text.contains("cognito-idp.amazonaws.com") {
            continue;
        }
        permissions += 1;
        assert!(
            !text.contains("userpool/*"),
            "{name:?} lets every pool of the account invoke a function"
        );
    }
    assert!(permissions >= 3, "the invoke permissions were not found");
}

/// Any custom attribute an app client can write reaches the ID token as the user typed it: the
/// example pool's client may write none.
#[test]
fn the_example_app_client_writes_no_custom_attribute() {
    let template = template();
    let client = &template["Resources"]["ExampleUserPoolClient"]["Properties"];
    let writes = strings(&client["WriteAttributes"]);
    assert!(!writes.is_empty(), "WriteAttributes must be explicit");
    assert!(
        writes.iter().all(|a| !a.starts_with("custom:")),
        "{writes:?}"
    );
}
