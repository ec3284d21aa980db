//! Import and export of a large directory with the `tenantctl` binary against moto, timed.
//! Ignored by default (minutes); `make bench-directory` runs it and prints the figures:
//!
//! ```sh
//! make bench-directory                      # 1,000 tenants, 10,000 members
//! SCALE_TENANTS=100 make bench-directory    # 10 members per tenant either way
//! ```

use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{json, Value};
use test_support::{fresh_table, moto};

const POOL: &str = "us-east-1_Scale0Pool";

fn tenantctl(table: &str, args: &[&str]) -> (std::time::Duration, Vec<u8>) {
    let started = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_tenantctl"))
        .args(args)
        .env_clear()
        .envs(moto().sdk_env())
        .env("TENANT_TABLE", table)
        .stdin(Stdio::null())
        .output()
        .expect("tenantctl starts");
    let took = started.elapsed();
    assert!(
        o.status.success(),
        "tenantctl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    (took, o.stdout)
}

/// `tenants` tenants (each with a domain route, an invitation and 10 members) and 2 tiers.
fn document(tenants: usize) -> Value {
    let mut ts = Vec::new();
    let mut routes = Vec::new();
    let mut members = Vec::new();
    let mut invitations = Vec::new();
    for i in 0..tenants {
        let id = format!("tenant-{i:05}");
        ts.push(json!({"id": id, "name": format!("Tenant {i}"), "tier": if i % 2 == 0 {"basic"} else {"premium"},
                       "selfSignUp": i % 3 == 0, "allowedEmailDomains": [format!("t{i}.example")], "maxUsers": 50}));
        routes.push(json!({"kind": "domain", "userPoolId": POOL, "key": format!("t{i}.example"), "tenantId": id}));
        invitations.push(json!({"userPoolId": POOL, "email": format!("admin@t{i}.example"), "tenantId": id, "roles": ["admin"]}));
        for m in 0..10 {
            members.push(json!({"userPoolId": POOL, "sub": format!("{i:05}-{m:02}-0000-4000-8000-000000000000"), "tenantId": id}));
        }
    }
    json!({"tiers": [{"id": "basic"}, {"id": "premium", "scopes": ["reports/export"]}],
           "tenants": ts, "routes": routes, "members": members, "invitations": invitations})
}

#[test]
#[ignore = "minutes: run with `make bench-directory`"]
fn import_and_export_of_a_large_directory() {
    let tenants: usize = std::env::var("SCALE_TENANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = rt.block_on(fresh_table());
    let doc = document(tenants);
    let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("scale-{}.json", std::process::id()));
    std::fs::write(&path, doc.to_string()).unwrap();
    let file = path.to_str().unwrap();

    let (import, out) = tenantctl(t.name(), &["import", file]);
    let report = String::from_utf8_lossy(&out);
    assert!(
        report.contains(&format!("members      {} created", tenants * 10)),
        "{report}"
    );
    let (reimport, out) = tenantctl(t.name(), &["import", file]);
    assert!(String::from_utf8_lossy(&out).contains("nothing to change"));
    let (export, out) = tenantctl(t.name(), &["export", "--with-counts"]);
    let exported: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(exported["tenants"].as_array().unwrap().len(), tenants);
    assert_eq!(exported["members"].as_array().unwrap().len(), tenants * 10);
    assert!(exported["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["userCount"] == 10));
    let (list, out) = tenantctl(t.name(), &["member", "list", "tenant-00000", "--json"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&out).unwrap()["items"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    println!(
        "{tenants} tenants, {} members, {tenants} routes, {tenants} invitations against moto:",
        tenants * 10
    );
    println!(
        "  import (into an empty table)  {:>8.1} s",
        import.as_secs_f64()
    );
    println!(
        "  import again (no change)      {:>8.1} s",
        reimport.as_secs_f64()
    );
    println!(
        "  export --with-counts          {:>8.1} s",
        export.as_secs_f64()
    );
    println!(
        "  member list (one tenant)      {:>8.2} s",
        list.as_secs_f64()
    );
}
