//! Every `tenantctl` command end to end against moto: the binary runs as an operator would run
//! it (finding moto through the SDK's own `AWS_ENDPOINT_URL_DYNAMODB`), and each test reads the
//! directory afterwards through the triggers' own reads, not only the exit code and output.
//! Exit codes: 0 success, 2 invalid input, 3 not found, 4 conflict, 5 unreachable.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use tenant_lookup::domain::model::{
    route_key, Invitation, Membership, MembershipStatus, RouteKind, Tenant, TenantStatus,
};
use tenant_lookup::store::dynamo::codec::invitation_item;
use tenant_lookup::{Directory, DirectoryContents, ProvisionOutcome, ProvisionRequest};
use test_support::seeds::README_EXAMPLE as SEED;
use test_support::{fresh_table, moto, TestTable};

const POOL: &str = "us-east-1_Example";
const ALICE: &str = "b71e0c55-0000-4000-8000-000000000001";

/// A fresh table on the shared moto, the runtime its client lives on, and the binary.
struct Cli {
    rt: tokio::runtime::Runtime,
    t: TestTable,
}

impl Cli {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let t = rt.block_on(fresh_table());
        Self { rt, t }
    }

    /// A fresh table holding the README's example directory.
    fn seeded() -> Self {
        let cli = Self::new();
        cli.ok(&["import", "-"], SEED);
        cli
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tenantctl"));
        command
            .args(args)
            .env_clear()
            .envs(moto().sdk_env())
            .env("TENANT_TABLE", self.t.name())
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    fn run_with(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
        let mut child = self.command(args, env).spawn().expect("tenantctl starts");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn run(&self, args: &[&str], stdin: &str) -> Output {
        self.run_with(args, stdin, &[])
    }

    /// Runs, asserts exit 0, returns standard output.
    fn ok(&self, args: &[&str], stdin: &str) -> String {
        let o = self.run(args, stdin);
        assert!(
            o.status.success(),
            "tenantctl {args:?} failed ({:?}): {}",
            o.status.code(),
            text(&o.stderr)
        );
        text(&o.stdout)
    }

    /// Runs with `--json`, asserts exit 0, parses standard output.
    fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        serde_json::from_str(&self.ok(&args, "")).expect("JSON output")
    }

    /// Runs, asserts the exit code, returns standard error.
    fn fails(&self, args: &[&str], code: i32) -> String {
        let o = self.run(args, "");
        assert_eq!(
            o.status.code(),
            Some(code),
            "tenantctl {args:?}: stdout {} stderr {}",
            text(&o.stdout),
            text(&o.stderr)
        );
        assert!(
            o.stdout.is_empty(),
            "nothing on stdout: {}",
            text(&o.stdout)
        );
        let err = text(&o.stderr);
        assert!(err.starts_with("tenantctl: "), "{err}");
        err
    }

    fn block<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    fn tenant(&self, id: &str) -> Option<Tenant> {
        self.block(self.t.directory.tenant(id)).unwrap()
    }

    fn memberships(&self, sub: &str) -> Vec<Membership> {
        self.block(self.t.directory.memberships(POOL, sub)).unwrap()
    }

    fn invitations(&self, email: &str) -> Vec<Invitation> {
        self.block(self.t.directory.invitations(POOL, email))
            .unwrap()
    }

    fn export(&self) -> DirectoryContents {
        self.block(self.t.admin.export()).unwrap()
    }

    fn has_guard(&self, sub: &str) -> bool {
        self.block(
            self.t
                .client()
                .get_item()
                .table_name(self.t.name())
                .key("PK", AttributeValue::S(format!("USER#{POOL}#{sub}")))
                .key("SK", AttributeValue::S("PROVISIONED".into()))
                .consistent_read(true)
                .send(),
        )
        .unwrap()
        .item
        .is_some()
    }

    fn provision(&self, sub: &str, tenant: &str, invited: Option<&str>) -> ProvisionOutcome {
        let request = ProvisionRequest {
            membership: Membership {
                user_pool_id: POOL.into(),
                sub: sub.into(),
                tenant_id: tenant.into(),
                roles: vec!["member".into()],
                status: MembershipStatus::Active,
                source: "domain".into(),
                created_at: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs() as i64,
            },
            invitation_tenant_id: invited.map(|_| tenant.to_string()),
            invitation_email: invited.map(str::to_string),
        };
        self.block(self.t.directory.provision(&request)).unwrap()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let path =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

// ----------------------------------------------------------------------------------------------
// create-table, import, export
// ----------------------------------------------------------------------------------------------

#[test]
fn create_table_import_and_export_end_to_end() {
    let cli = Cli::new();
    let table = cli.t.name().to_string();
    assert_eq!(
        cli.ok(&["create-table"], ""),
        format!("table {table} already exists\n")
    );
    assert_eq!(
        cli.json(&["create-table"]),
        serde_json::json!({"table": table, "created": false})
    );

    let file = temp_file("seed.json", SEED);
    let report = cli.ok(&["import", file.to_str().unwrap()], "");
    assert!(
        report.contains("tenants      1 created, 0 updated, 0 unchanged"),
        "{report}"
    );
    assert!(report.contains("routes       4 created"), "{report}");
    assert!(
        report.contains("seats        acme: 1 added, userCount 0 -> 1 of 50"),
        "{report}"
    );
    let acme = cli.tenant("acme").unwrap();
    assert_eq!((acme.max_users, acme.user_count), (Some(50), 1));
    assert_eq!(cli.memberships(ALICE)[0].roles, vec!["admin"]);

    let exported: Value = serde_json::from_str(&cli.ok(&["export"], "")).unwrap();
    assert_eq!(exported["tenants"][0]["id"], "acme");
    assert_eq!(exported["routes"].as_array().unwrap().len(), 4);
    assert_eq!(exported["invitations"][0]["email"], "new.hire@acme.example");
    assert!(exported["tenants"][0].get("userCount").is_none());

    // The same document again, from stdin, and the export: nothing changes.
    for doc in [SEED.to_string(), exported.to_string()] {
        let out = cli.ok(&["import", "-"], &doc);
        assert!(out.contains("nothing to change"), "{out}");
    }
    assert_eq!(
        serde_json::from_str::<Value>(&cli.ok(&["export"], "")).unwrap(),
        exported
    );

    let counted: Value = serde_json::from_str(&cli.ok(&["export", "--with-counts"], "")).unwrap();
    assert_eq!(counted["tenants"][0]["userCount"], 1);
    let out = cli.ok(&["import", "-"], &counted.to_string());
    assert!(out.contains("nothing to change"), "{out}");
    assert_eq!(cli.tenant("acme").unwrap().user_count, 1);
}

#[test]
fn a_dry_run_prints_field_level_changes_and_writes_nothing() {
    let cli = Cli::seeded();
    let before = cli.export();
    let changed = SEED.replace(r#""maxUsers": 50"#, r#""maxUsers": 40"#);
    let out = cli.ok(&["import", "--dry-run", "-"], &changed);
    assert!(out.starts_with("dry run: nothing was written"), "{out}");
    assert!(
        out.contains("update tenant 'acme'\n    acme: maxUsers 50 -> 40\n"),
        "{out}"
    );
    assert!(
        !out.contains("new.hire@acme.example"),
        "emails are not printed: {out}"
    );
    assert_eq!(cli.export(), before);

    let json: Value =
        serde_json::from_str(&cli.ok(&["import", "--dry-run", "--json", "-"], &changed)).unwrap();
    assert_eq!(
        (json["dryRun"].clone(), json["refused"].clone()),
        (Value::Bool(true), Value::Bool(false)),
        "{json}"
    );
    assert_eq!(
        json["report"]["changes"][0]["fields"][0]["field"], "maxUsers",
        "{json}"
    );
    assert_eq!(cli.export(), before);
}

#[test]
fn a_loosening_import_is_refused_with_its_list_until_allowed() {
    let cli = Cli::seeded();
    let before = cli.export();
    let partial = r#"{"tenants":[{"id":"acme","tier":"premium","status":"suspended"}]}"#;
    let o = cli.run(&["import", "-"], partial);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.contains("would loosen 2 settings"), "{err}");
    assert!(
        err.contains("acme: allowedEmailDomains [acme.example] -> none"),
        "{err}"
    );
    assert!(err.contains("acme: maxUsers 50 -> unlimited"), "{err}");
    assert!(err.contains("--allow-loosening"), "{err}");
    assert_eq!(cli.export(), before, "nothing written");

    let o = cli.run(&["import", "--dry-run", "-"], partial);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a dry run says the import would be refused"
    );
    let out = text(&o.stdout);
    assert!(
        out.contains("acme: maxUsers 50 -> unlimited  (loosening)"),
        "and shows the changes: {out}"
    );
    assert!(out.contains("acme: status active -> suspended\n"), "{out}");
    assert_eq!(cli.export(), before, "nothing written");
    cli.ok(&["import", "--allow-loosening", "-"], partial);
    let acme = cli.tenant("acme").unwrap();
    assert_eq!(
        (
            acme.status,
            acme.max_users,
            acme.allowed_email_domains.len()
        ),
        (TenantStatus::Suspended, None, 0)
    );
}

#[test]
fn an_invalid_document_is_refused_listing_every_problem() {
    let cli = Cli::new();
    let bad = r#"{"tenants":[{"id":"a","tier":"premum"},{"tier":"t"}],
        "routes":[{"kind":"planet","key":"k","tenantId":"a"}],
        "members":[{"userPoolId":"us-east-1_P","sub":"s","tenantId":"ghost"}]}"#;
    let o = cli.run(&["import", "-"], bad);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines[0], "tenantctl: 4 problems:", "{err}");
    for expected in [
        "tenants[0]: tier 'premum' does not exist",
        "tenants[1]: missing id",
        "routes[0]: unknown route kind 'planet'",
        "members[0]: unknown tenant 'ghost'",
    ] {
        assert!(
            lines.iter().any(|l| l.trim().starts_with(expected)),
            "{expected}: {err}"
        );
    }
    assert_eq!(cli.export(), DirectoryContents::default());
    let o = cli.run(&["import", "-"], "{\"tenants\": [");
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("not a directory document"));
    let o = cli.run(&["import", "/nonexistent/doc.json"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("cannot read /nonexistent/doc.json"));
}

#[test]
fn without_a_terminal_no_progress_is_drawn() {
    let cli = Cli::seeded();
    for args in [vec!["export"], vec!["import", "-"]] {
        let o = cli.run(&args, SEED);
        assert!(o.status.success());
        assert!(o.stderr.is_empty(), "{args:?}: {}", text(&o.stderr));
    }
}

// ----------------------------------------------------------------------------------------------
// tier, tenant
// ----------------------------------------------------------------------------------------------

#[test]
fn tiers_are_set_and_listed() {
    let cli = Cli::new();
    assert_eq!(
        cli.ok(&["tier", "set", "premium", "--scope", "reports/export"], ""),
        "created tier premium (scopes [reports/export])\n"
    );
    assert_eq!(
        cli.ok(
            &[
                "tier",
                "set",
                "premium",
                "--scope",
                "reports/export",
                "--scope",
                "a/b"
            ],
            ""
        ),
        "tier premium: scopes [reports/export] -> [reports/export, a/b]\n"
    );
    let tier = cli.block(cli.t.directory.tier("premium")).unwrap().unwrap();
    assert_eq!(tier.scopes, vec!["reports/export", "a/b"]);
    cli.ok(&["tier", "set", "basic"], "");
    let listed = cli.json(&["tier", "list"]);
    assert_eq!(listed[0]["id"], "basic");
    assert_eq!(listed[1]["scopes"][1], "a/b");
    assert!(cli
        .fails(&["tier", "set", "premium", "--scope", "a b"], 2)
        .contains("blank space"));
    assert_eq!(
        cli.block(cli.t.directory.tier("premium"))
            .unwrap()
            .unwrap()
            .scopes
            .len(),
        2
    );
}

#[test]
fn a_tenant_is_created_shown_updated_partially_suspended_and_resumed() {
    let cli = Cli::new();
    cli.ok(&["tier", "set", "premium"], "");
    cli.ok(&["tier", "set", "basic"], "");
    let out = cli.ok(
        &[
            "tenant",
            "create",
            "acme",
            "--name",
            "Acme Corp",
            "--tier",
            "premium",
            "--allowed-email-domain",
            "Acme.Example",
            "--max-users",
            "50",
            "--iam-role-arn",
            "arn:aws:iam::123456789012:role/acme",
        ],
        "",
    );
    assert_eq!(
        out,
        "created tenant acme (Acme Corp), tier premium, seats 0 of 50\n"
    );
    let acme = cli.tenant("acme").unwrap();
    assert_eq!(
        acme,
        Tenant {
            id: "acme".into(),
            name: "Acme Corp".into(),
            tier: "premium".into(),
            status: TenantStatus::Active,
            self_sign_up: false,
            allowed_email_domains: vec!["acme.example".into()],
            max_users: Some(50),
            user_count: 0,
            default_role: "member".into(),
            iam_role_arn: Some("arn:aws:iam::123456789012:role/acme".into()),
        }
    );
    // Exists already; a missing tier; invalid input: nothing changes.
    assert!(cli
        .fails(
            &["tenant", "create", "acme", "--name", "Other", "--tier", "basic"],
            4
        )
        .contains("already exists"));
    assert!(cli
        .fails(
            &["tenant", "create", "globex", "--name", "G", "--tier", "gold"],
            3
        )
        .contains("tier 'gold' does not exist"));
    cli.fails(
        &["tenant", "create", "a#b", "--name", "G", "--tier", "basic"],
        2,
    );
    cli.fails(
        &[
            "tenant",
            "create",
            "globex",
            "--name",
            "G",
            "--tier",
            "basic",
            "--iam-role-arn",
            "globex",
        ],
        2,
    );
    assert_eq!(cli.tenant("acme").unwrap(), acme);
    assert_eq!(cli.tenant("globex"), None);

    let shown = cli.json(&["tenant", "show", "acme"]);
    assert_eq!(shown["tenant"]["maxUsers"], 50);
    assert_eq!(shown["members"], 0);
    let human = cli.ok(&["tenant", "show", "acme"], "");
    assert!(
        human.contains("seats                3 of 50") || human.contains("0 of 50"),
        "{human}"
    );
    cli.fails(&["tenant", "show", "ghost"], 3);

    // Partial: only the fields given change.
    assert_eq!(
        cli.ok(
            &[
                "tenant",
                "update",
                "acme",
                "--max-users",
                "40",
                "--tier",
                "basic"
            ],
            ""
        ),
        "acme: tier premium -> basic\nacme: maxUsers 50 -> 40\n"
    );
    let updated = cli.tenant("acme").unwrap();
    assert_eq!(
        updated,
        Tenant {
            tier: "basic".into(),
            max_users: Some(40),
            ..acme.clone()
        }
    );
    cli.ok(
        &[
            "tenant",
            "update",
            "acme",
            "--no-allowed-email-domains",
            "--unlimited",
            "--no-iam-role",
            "--self-sign-up",
            "true",
        ],
        "",
    );
    let loose = cli.tenant("acme").unwrap();
    assert_eq!(
        (
            loose.allowed_email_domains.len(),
            loose.max_users,
            loose.iam_role_arn.clone(),
            loose.self_sign_up,
            loose.name.as_str()
        ),
        (0, None, None, true, "Acme Corp")
    );
    assert_eq!(
        cli.ok(&["tenant", "update", "acme", "--self-sign-up", "true"], ""),
        "tenant acme: nothing to change\n"
    );
    cli.fails(&["tenant", "update", "acme"], 2);
    cli.fails(&["tenant", "update", "ghost", "--name", "G"], 3);
    cli.fails(&["tenant", "update", "acme", "--tier", "gold"], 3);
    assert_eq!(
        cli.run(
            &[
                "tenant",
                "update",
                "acme",
                "--max-users",
                "3",
                "--unlimited"
            ],
            ""
        )
        .status
        .code(),
        Some(2)
    );
    assert_eq!(cli.tenant("acme").unwrap().tier, "basic");

    assert_eq!(
        cli.ok(&["tenant", "suspend", "acme"], ""),
        "acme: status active -> suspended\n"
    );
    assert_eq!(cli.tenant("acme").unwrap().status, TenantStatus::Suspended);
    assert_eq!(
        cli.ok(&["tenant", "resume", "acme"], ""),
        "acme: status suspended -> active\n"
    );
    let resumed = cli.tenant("acme").unwrap();
    assert_eq!(
        resumed,
        Tenant {
            status: TenantStatus::Active,
            ..loose
        }
    );
    cli.fails(&["tenant", "suspend", "ghost"], 3);
}

#[test]
fn tenant_list_pages_through_every_tenant() {
    let cli = Cli::new();
    cli.ok(&["tier", "set", "basic"], "");
    for id in ["t1", "t2", "t3", "t4", "t5"] {
        cli.ok(
            &["tenant", "create", id, "--name", id, "--tier", "basic"],
            "",
        );
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut args = vec!["tenant", "list", "--limit", "2"];
        if let Some(a) = &after {
            args.extend(["--after", a.as_str()]);
        }
        let page = cli.json(&args);
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|t| t["id"].as_str().unwrap().to_string()));
        pages += 1;
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ["t1", "t2", "t3", "t4", "t5"]);
    assert!(pages >= 3, "{pages} pages");
    let all = cli.ok(&["tenant", "list"], "");
    assert_eq!(all.lines().count(), 6, "{all}");
    assert!(all.lines().next().unwrap().starts_with("TENANT"), "{all}");
}

#[test]
fn a_tenant_is_deleted_only_when_empty_or_forced() {
    let cli = Cli::seeded();
    let err = cli.fails(&["tenant", "delete", "acme"], 4);
    assert!(
        err.contains("1 members, 4 routes and 1 invitations"),
        "{err}"
    );
    assert!(cli.tenant("acme").is_some());

    cli.ok(&["member", "add", POOL, "sub-bob", "acme"], "");
    cli.ok(&["member", "remove", POOL, "sub-bob", "acme"], "");
    let out = cli.ok(&["tenant", "delete", "acme", "--force"], "");
    assert_eq!(
        out,
        "deleted tenant acme (1 members, 4 routes, 1 invitations removed)\n"
    );
    assert_eq!(cli.tenant("acme"), None);
    let left = cli.export();
    assert!(
        left.members.is_empty() && left.routes.is_empty() && left.invitations.is_empty(),
        "{left:?}"
    );
    assert!(cli.has_guard("sub-bob"), "members who left stay out");
    cli.fails(&["tenant", "delete", "acme"], 3);

    // An empty tenant goes without --force.
    cli.ok(
        &[
            "tenant", "create", "empty", "--name", "E", "--tier", "premium",
        ],
        "",
    );
    cli.ok(&["tenant", "delete", "empty"], "");
    assert_eq!(cli.tenant("empty"), None);
}

// ----------------------------------------------------------------------------------------------
// route
// ----------------------------------------------------------------------------------------------

#[test]
fn routes_are_added_removed_and_listed_within_their_pool() {
    let cli = Cli::seeded();
    // Which kinds need --pool (the trust-boundaries issue).
    assert!(cli
        .fails(&["route", "add", "domain", "acme.test", "acme"], 2)
        .contains("add --pool POOL"));
    assert!(cli
        .fails(
            &[
                "route",
                "add",
                "pool",
                "us-east-1_Other",
                "acme",
                "--pool",
                POOL
            ],
            2
        )
        .contains("leave out --pool"));
    cli.fails(
        &[
            "route",
            "add",
            "domain",
            "a@acme.test",
            "acme",
            "--pool",
            POOL,
        ],
        2,
    );
    cli.fails(
        &[
            "route",
            "add",
            "client",
            "web",
            "acme",
            "--trust-email",
            "--pool",
            POOL,
        ],
        2,
    );

    assert_eq!(
        cli.ok(
            &[
                "route",
                "add",
                "domain",
                "Acme.Test",
                "acme",
                "--pool",
                POOL
            ],
            ""
        ),
        format!("added domain route acme.test (pool {POOL}) -> tenant acme\n")
    );
    let stored = cli
        .block(cli.t.directory.route(
            RouteKind::Domain,
            &route_key(RouteKind::Domain, POOL, "acme.test"),
        ))
        .unwrap()
        .unwrap();
    assert_eq!(stored.tenant_id, "acme");
    assert!(cli
        .fails(
            &[
                "route",
                "add",
                "domain",
                "acme.test",
                "acme",
                "--pool",
                POOL
            ],
            4
        )
        .contains("already exists (tenant 'acme')"));
    cli.fails(
        &[
            "route",
            "add",
            "domain",
            "ghost.test",
            "ghost",
            "--pool",
            POOL,
        ],
        3,
    );
    assert_eq!(
        cli.block(cli.t.directory.route(
            RouteKind::Domain,
            &route_key(RouteKind::Domain, POOL, "ghost.test")
        ))
        .unwrap(),
        None
    );

    cli.ok(
        &[
            "route",
            "add",
            "idp",
            "AcmeOkta",
            "acme",
            "--pool",
            POOL,
            "--trust-email",
            "--email-domain",
            "acme.test",
        ],
        "",
    );
    let idp = cli
        .block(
            cli.t
                .directory
                .route(RouteKind::Idp, &route_key(RouteKind::Idp, POOL, "acmeokta")),
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        (idp.trust_email, idp.email_domains.clone()),
        (true, vec!["acme.test".to_string()])
    );
    cli.ok(
        &["route", "add", "pool", "us-east-1_Silo0acme2", "acme"],
        "",
    );

    let listed = cli.json(&["route", "list", "--tenant", "acme"]);
    let keys: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 7, "{listed}");
    assert!(
        keys.contains(&"acmeokta") && keys.contains(&"us-east-1_Silo0acme2"),
        "{keys:?}"
    );
    assert_eq!(cli.json(&["route", "list"]).as_array().unwrap().len(), 7);
    cli.fails(&["route", "list", "--tenant", "ghost"], 3);

    assert_eq!(
        cli.ok(
            &["route", "remove", "domain", "acme.test", "--pool", POOL],
            ""
        ),
        format!("removed domain route acme.test (pool {POOL}) (tenant acme)\n")
    );
    assert_eq!(
        cli.block(cli.t.directory.route(
            RouteKind::Domain,
            &route_key(RouteKind::Domain, POOL, "acme.test")
        ))
        .unwrap(),
        None
    );
    cli.fails(
        &["route", "remove", "domain", "acme.test", "--pool", POOL],
        3,
    );
}

// ----------------------------------------------------------------------------------------------
// invite
// ----------------------------------------------------------------------------------------------

#[test]
fn invitations_are_created_listed_revoked_and_used_once() {
    let cli = Cli::seeded();
    let email = "second.hire@acme.example";
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let created = cli.json(&[
        "invite",
        "create",
        "Second.Hire@Acme.Example",
        "acme",
        "--pool",
        POOL,
        "--role",
        "editor",
    ]);
    assert_eq!(created["state"], "open");
    let stored = cli.invitations(email);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].roles, vec!["editor"]);
    let expires = stored[0].expires_at.unwrap();
    assert!(
        (started + 7 * 86_400..=started + 7 * 86_400 + 60).contains(&expires),
        "7 days by default: {expires}"
    );

    assert!(cli
        .fails(&["invite", "create", email, "acme", "--pool", POOL], 4)
        .contains("already has an open invitation"));
    cli.fails(&["invite", "create", email, "ghost", "--pool", POOL], 3);
    cli.fails(
        &["invite", "create", "not-an-address", "acme", "--pool", POOL],
        2,
    );
    cli.fails(
        &[
            "invite",
            "create",
            email,
            "acme",
            "--pool",
            POOL,
            "--expires-in",
            "soon",
        ],
        2,
    );

    let listed = cli.json(&["invite", "list", "--tenant", "acme"]);
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");

    assert_eq!(
        cli.ok(&["invite", "revoke", email, "acme", "--pool", POOL], ""),
        format!("revoked the invitation of {email} to tenant acme (pool {POOL})\n")
    );
    assert!(cli.invitations(email).is_empty());
    cli.fails(&["invite", "revoke", email, "acme", "--pool", POOL], 3);

    // Used once: a provisioning marks it used; it cannot be created again nor revoked.
    cli.ok(
        &[
            "invite",
            "create",
            email,
            "acme",
            "--pool",
            POOL,
            "--expires-in",
            "2w",
        ],
        "",
    );
    assert_eq!(
        cli.provision("sub-second", "acme", Some(email)),
        ProvisionOutcome::Created
    );
    let used = cli.invitations(email);
    assert_eq!(used[0].used_by.as_deref(), Some("sub-second"));
    let err = cli.fails(&["invite", "create", email, "acme", "--pool", POOL], 4);
    assert!(
        err.contains("already used an invitation of tenant 'acme' (by sub-second"),
        "{err}"
    );
    assert!(cli
        .fails(&["invite", "revoke", email, "acme", "--pool", POOL], 4)
        .contains("was used"));
    assert_eq!(
        cli.invitations(email),
        used,
        "the used invitation is unchanged"
    );

    // Listing: open ones by default, used and expired with --all.
    let expired = Invitation {
        user_pool_id: POOL.into(),
        email: "late@acme.example".into(),
        tenant_id: "acme".into(),
        roles: vec!["member".into()],
        invited_by: None,
        expires_at: Some(1000),
        used_by: None,
        used_at: None,
    };
    cli.block(
        cli.t
            .client()
            .put_item()
            .table_name(cli.t.name())
            .set_item(Some(invitation_item(&expired)))
            .send(),
    )
    .unwrap();
    let open = cli.json(&["invite", "list"]);
    let states: Vec<&str> = open
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["open"], "{open}");
    let all = cli.json(&["invite", "list", "--all", "--tenant", "acme"]);
    let mut states: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["state"].as_str().unwrap())
        .collect();
    states.sort();
    assert_eq!(states, ["expired", "open", "used"], "{all}");
    // An expired invitation nobody used may be renewed.
    cli.ok(
        &[
            "invite",
            "create",
            "late@acme.example",
            "acme",
            "--pool",
            POOL,
        ],
        "",
    );
    assert!(cli.invitations("late@acme.example")[0].expires_at.unwrap() > started);
}

#[test]
fn a_used_invitation_is_not_revived_by_a_re_import() {
    let cli = Cli::seeded();
    let email = "new.hire@acme.example";
    assert_eq!(
        cli.provision("sub-newhire", "acme", Some(email)),
        ProvisionOutcome::Created
    );
    let used = cli.invitations(email);
    let out = cli.ok(&["import", "-"], SEED);
    assert!(out.contains("already used, not brought back"), "{out}");
    assert_eq!(cli.invitations(email), used);
    assert_eq!(
        cli.provision("sub-another-account", "acme", Some(email)),
        ProvisionOutcome::InvitationGone,
        "a second account with the invited address does not join"
    );
    assert_eq!(cli.tenant("acme").unwrap().user_count, 2);
}

// ----------------------------------------------------------------------------------------------
// member
// ----------------------------------------------------------------------------------------------

#[test]
fn members_take_seats_within_max_users_unless_forced() {
    let cli = Cli::seeded();
    cli.ok(&["tenant", "update", "acme", "--max-users", "2"], "");
    assert_eq!(
        cli.ok(
            &["member", "add", POOL, "sub-bob", "acme", "--role", "editor"],
            ""
        ),
        format!("added sub-bob (pool {POOL}) to tenant acme as [editor]; seats 2 of 2\n")
    );
    let bob = cli.memberships("sub-bob");
    assert_eq!(
        (bob[0].roles.clone(), bob[0].source.as_str()),
        (vec!["editor".to_string()], "admin")
    );
    assert_eq!(cli.tenant("acme").unwrap().user_count, 2);

    assert!(cli
        .fails(&["member", "add", POOL, "sub-bob", "acme"], 4)
        .contains("already a member"));
    assert!(cli
        .fails(&["member", "add", POOL, "sub-carol", "acme"], 4)
        .contains("is full (2 of 2 seats taken)"));
    assert!(cli.memberships("sub-carol").is_empty());
    assert_eq!(cli.tenant("acme").unwrap().user_count, 2);
    cli.fails(&["member", "add", POOL, "sub-carol", "ghost"], 3);
    cli.fails(&["member", "add", "not-a-pool", "sub-carol", "acme"], 2);

    let forced = cli.ok(&["member", "add", POOL, "sub-carol", "acme", "--force"], "");
    assert!(
        forced.contains("seats 3 of 2 (over maxUsers: --force)"),
        "{forced}"
    );
    assert_eq!(cli.tenant("acme").unwrap().user_count, 3);
    assert_eq!(cli.memberships("sub-carol").len(), 1);

    assert_eq!(
        cli.ok(
            &["member", "roles", POOL, "sub-bob", "acme", "admin", "billing"],
            ""
        ),
        "sub-bob in acme: roles [editor] -> [admin, billing]\n"
    );
    assert_eq!(
        cli.memberships("sub-bob")[0].roles,
        vec!["admin", "billing"]
    );
    cli.fails(&["member", "roles", POOL, "sub-nobody", "acme", "admin"], 3);
}

#[test]
fn members_who_left_stay_out_unless_allowed_to_rejoin() {
    let cli = Cli::seeded();
    cli.ok(&["member", "add", POOL, "sub-bob", "acme"], "");
    let out = cli.ok(&["member", "remove", POOL, "sub-bob", "acme"], "");
    assert!(out.contains("will not place this user again"), "{out}");
    assert!(cli.memberships("sub-bob").is_empty());
    assert_eq!(cli.tenant("acme").unwrap().user_count, 1);
    assert!(cli.has_guard("sub-bob"));
    let shown = cli.json(&["member", "show", POOL, "sub-bob"]);
    assert_eq!(shown["memberships"], serde_json::json!([]));
    assert_eq!(shown["guard"]["tenantId"], "acme");
    assert!(cli
        .ok(&["member", "show", POOL, "sub-bob"], "")
        .contains("guard: placed into acme"));
    // The next sign-in through a domain route does not place the user again.
    assert_eq!(
        cli.provision("sub-bob", "acme", None),
        ProvisionOutcome::ProvisionedBefore
    );
    assert_eq!(cli.tenant("acme").unwrap().user_count, 1);
    cli.fails(&["member", "remove", POOL, "sub-bob", "acme"], 3);

    // A member the triggers placed: removed with --allow-rejoin, the guard goes too.
    assert_eq!(
        cli.provision("sub-dave", "acme", None),
        ProvisionOutcome::Created
    );
    assert!(cli.has_guard("sub-dave"));
    let out = cli.ok(
        &[
            "member",
            "remove",
            POOL,
            "sub-dave",
            "acme",
            "--allow-rejoin",
        ],
        "",
    );
    assert!(out.contains("guard removed"), "{out}");
    assert!(!cli.has_guard("sub-dave"));
    assert_eq!(
        cli.provision("sub-dave", "acme", None),
        ProvisionOutcome::Created
    );
    assert_eq!(cli.tenant("acme").unwrap().user_count, 2);

    cli.fails(&["member", "show", POOL, "sub-nobody"], 3);
}

#[test]
fn member_list_pages_through_a_tenant() {
    let cli = Cli::seeded();
    for i in 0..4 {
        cli.ok(&["member", "add", POOL, &format!("sub-{i}"), "acme"], "");
    }
    let first = cli.json(&["member", "list", "acme", "--limit", "3"]);
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let next = first["next"].as_str().unwrap().to_string();
    let second = cli.json(&["member", "list", "acme", "--limit", "3", "--after", &next]);
    assert_eq!(second["items"].as_array().unwrap().len(), 2);
    assert_eq!(second["next"], Value::Null);
    let mut subs: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|m| m["sub"].as_str().unwrap().to_string())
        .collect();
    subs.sort();
    assert_eq!(subs, [ALICE, "sub-0", "sub-1", "sub-2", "sub-3"]);
    let human = cli.ok(&["member", "list", "acme"], "");
    assert_eq!(human.lines().count(), 6, "{human}");
    cli.fails(&["member", "list", "ghost"], 3);
}

// ----------------------------------------------------------------------------------------------
// reconcile
// ----------------------------------------------------------------------------------------------

#[test]
fn reconcile_reports_and_corrects_drift() {
    let cli = Cli::seeded();
    cli.ok(&["tier", "set", "basic"], "");
    cli.ok(
        &[
            "tenant", "create", "globex", "--name", "G", "--tier", "basic",
        ],
        "",
    );
    cli.block(
        cli.t
            .client()
            .update_item()
            .table_name(cli.t.name())
            .key("PK", AttributeValue::S("TENANT#acme".into()))
            .key("SK", AttributeValue::S("TENANT".into()))
            .update_expression("SET userCount = :n")
            .expression_attribute_values(":n", AttributeValue::N("7".into()))
            .send(),
    )
    .unwrap();
    let dry = cli.ok(&["reconcile", "--dry-run"], "");
    assert!(
        dry.contains("acme    7          1            7 should be 1"),
        "{dry}"
    );
    assert!(
        dry.contains("2 tenants counted, 1 drifted (dry run: nothing written)"),
        "{dry}"
    );
    assert_eq!(cli.tenant("acme").unwrap().user_count, 7);

    let report = cli.json(&["reconcile", "--tenant", "acme"]);
    assert_eq!(report["tenants"][0]["written"], true, "{report}");
    assert_eq!(cli.tenant("acme").unwrap().user_count, 1);
    let again = cli.ok(&["reconcile"], "");
    assert!(again.contains("2 tenants counted, 0 drifted"), "{again}");
    cli.fails(&["reconcile", "--tenant", "ghost"], 3);
}

// ----------------------------------------------------------------------------------------------
// Exit codes 5 (unreachable), 3 (no table), 2 (no table given)
// ----------------------------------------------------------------------------------------------

#[test]
fn an_unreachable_directory_exits_5_with_a_short_message() {
    let cli = Cli::new();
    // A loopback port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let endpoint = format!("http://127.0.0.1:{port}");
    let env = [
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.as_str()),
        ("AWS_MAX_ATTEMPTS", "1"),
    ];
    for args in [
        vec!["tenant", "list"],
        vec!["tenant", "show", "acme"],
        vec!["member", "add", POOL, "s", "acme"],
        vec!["export"],
        vec!["reconcile"],
        vec!["create-table"],
    ] {
        let o = cli.run_with(&args, "", &env);
        assert_eq!(o.status.code(), Some(5), "{args:?}: {}", text(&o.stderr));
        let err = text(&o.stderr);
        assert!(
            err.starts_with("tenantctl: the directory is unreachable"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        for internal in ["dispatch", "hyper", "Error {", "source:"] {
            assert!(!err.contains(internal), "{internal}: {err}");
        }
    }
    let event = test_support::workspace_root()
        .join("events/pre-token-generation/v2-authentication-member.json");
    let o = cli.run_with(&["explain", event.to_str().unwrap()], "", &env);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o.stderr));
}

#[test]
fn a_missing_table_exits_3_and_no_table_exits_2() {
    let cli = Cli::new();
    let o = cli.run(&["tenant", "list", "--table", "no-such-table"], "");
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("table 'no-such-table' does not exist"));
    let mut command = cli.command(&["export"], &[]);
    command.env_remove("TENANT_TABLE");
    let o = command.output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("TENANT_TABLE"));
    let o = cli.run(&["tenant", "frobnicate"], "");
    assert_eq!(o.status.code(), Some(2), "usage errors are invalid input");
}
