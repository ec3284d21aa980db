//! The `tenantctl` binary end to end against moto: create-table, import (file, stdin, dry run,
//! malformed document), export. The binary finds moto through the SDK's own environment
//! (`AWS_ENDPOINT_URL_DYNAMODB`).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use test_support::seeds::README_EXAMPLE as SEED;
use test_support::{moto, unique_table_name};

/// Runs tenantctl with `args` against `table` on the shared moto, feeding `stdin`.
fn tenantctl(table: Option<&str>, args: &[&str], stdin: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenantctl"));
    command
        .args(args)
        .env_clear()
        .envs(moto().sdk_env())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(table) = table {
        command.env("TENANT_TABLE", table);
    }
    let mut child = command.spawn().expect("tenantctl starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let path =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn export(table: &str) -> Value {
    let o = tenantctl(Some(table), &["export"], "");
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("export prints JSON")
}

#[test]
fn create_import_and_export_end_to_end() {
    let table = unique_table_name("cli");

    let o = tenantctl(Some(&table), &["create-table"], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("created table {table}\n"));
    let o = tenantctl(None, &["create-table", "--table", &table], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("table {table} already exists\n"));

    let file = temp_file("seed.json", SEED);
    let o = tenantctl(Some(&table), &["import", file.to_str().unwrap()], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let report = stdout(&o);
    assert!(
        report.contains("tenants      1 created, 0 updated, 0 unchanged"),
        "{report}"
    );
    assert!(report.contains("routes       4 created"), "{report}");
    assert!(report.contains("userCount    acme: 1"), "{report}");

    let exported = export(&table);
    assert_eq!(exported["tenants"][0]["id"], "acme");
    assert_eq!(exported["tenants"][0]["maxUsers"], 50);
    assert_eq!(exported["routes"].as_array().unwrap().len(), 4);
    assert_eq!(
        exported["members"][0]["roles"],
        serde_json::json!(["admin"])
    );
    assert_eq!(exported["invitations"][0]["email"], "new.hire@acme.example");

    // The same document again, from stdin: nothing changes.
    let o = tenantctl(Some(&table), &["import", "-"], SEED);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("nothing to change"), "{}", stdout(&o));
    assert_eq!(export(&table), exported);

    // The exported document imports unchanged too.
    let o = tenantctl(Some(&table), &["import", "-"], &exported.to_string());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("nothing to change"), "{}", stdout(&o));
    assert!(exported["tenants"][0].get("userCount").is_none());

    // With counts: each tenant's userCount, which an import accepts and ignores.
    let o = tenantctl(Some(&table), &["export", "--with-counts"], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let counted: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(counted["tenants"][0]["userCount"], 1);
    let o = tenantctl(Some(&table), &["import", "-"], &counted.to_string());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("nothing to change"), "{}", stdout(&o));
}

#[test]
fn a_dry_run_prints_the_plan_and_writes_nothing() {
    let table = unique_table_name("cli");
    assert!(tenantctl(Some(&table), &["create-table"], "")
        .status
        .success());
    let o = tenantctl(Some(&table), &["import", "--dry-run", "-"], SEED);
    assert!(o.status.success(), "{}", stderr(&o));
    let plan = stdout(&o);
    assert!(plan.starts_with("dry run: nothing was written"), "{plan}");
    assert!(plan.contains("create tenant 'acme'"), "{plan}");
    assert!(
        plan.contains(
            "create domain route 'acme.example' (pool us-east-1_Example) -> tenant 'acme'"
        ),
        "{plan}"
    );
    assert!(
        !plan.contains("new.hire@acme.example"),
        "emails are not printed: {plan}"
    );
    assert_eq!(export(&table), serde_json::json!({}));
}

#[test]
fn a_malformed_document_fails_listing_every_problem_and_writes_nothing() {
    let table = unique_table_name("cli");
    assert!(tenantctl(Some(&table), &["create-table"], "")
        .status
        .success());
    let bad = r#"{"tenants":[{"id":"a","tier":"t"},{"tier":"t"}],
        "routes":[{"kind":"planet","key":"k","tenantId":"a"}],
        "members":[{"userPoolId":"p","sub":"s","tenantId":"ghost"}]}"#;
    let o = tenantctl(Some(&table), &["import", "-"], bad);
    assert!(!o.status.success());
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    assert!(
        lines[0].contains("the directory document has 3 problems"),
        "{err}"
    );
    assert!(
        lines[1..]
            .iter()
            .any(|l| l.trim() == "tenants[1]: missing id"),
        "{err}"
    );
    assert!(
        lines[1..]
            .iter()
            .any(|l| l.contains("unknown route kind 'planet'")),
        "{err}"
    );
    assert!(
        lines[1..]
            .iter()
            .any(|l| l.trim() == "members[0]: unknown tenant 'ghost'"),
        "{err}"
    );
    assert_eq!(export(&table), serde_json::json!({}));

    let o = tenantctl(Some(&table), &["import", "-"], "{\"tenants\": [");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not a directory document"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn without_a_table_the_error_names_the_variable() {
    let o = tenantctl(None, &["export"], "");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("TENANT_TABLE"), "{}", stderr(&o));
}
