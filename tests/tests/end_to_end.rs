//! End to end: the built functions under `cargo lambda watch`, invoked with
//! `cargo lambda invoke --data-file events/...`, against moto_server with events/seed.json
//! imported. What a user does locally, checked against the expected answers.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use test_support::events::{events_dir, expected_of as expected, sub_of};
use test_support::seeds::{events_seed, NOW};
use test_support::{fresh_table, moto, workspace_root};

/// Starting the runtime server is quick; the first invocation of each function may compile it.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

fn cargo_lambda() -> PathBuf {
    match std::env::var_os("CARGO_LAMBDA") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root().join(".venv/bin/cargo-lambda"),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `cargo lambda watch` in its own process group, stopped with everything it started on drop.
struct Watch {
    child: Child,
    port: u16,
}

impl Watch {
    fn start(endpoint: &str, table: &str) -> Watch {
        use std::os::unix::process::CommandExt;
        let port = free_port();
        let mut child = Command::new(cargo_lambda())
            .args([
                "lambda",
                "watch",
                "--ignore-changes",
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
            ])
            .arg(port.to_string())
            .current_dir(workspace_root())
            .env("TENANT_TABLE", table)
            .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e} (run `make venv`)",
                    cargo_lambda().display()
                )
            });
        // The readiness line and the functions' logs come on stdout; the reader drains it all.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("starting Runtime server") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(());
                    }
                }
            }
        });
        let watch = Watch { child, port };
        rx.recv_timeout(READY_TIMEOUT)
            .expect("cargo lambda watch did not start its runtime server");
        watch
    }

    /// The function's answer, or `Err(stderr)` for an error (a denial).
    fn invoke(&self, function: &str, event: &Path) -> Result<Value, String> {
        let out = Command::new(cargo_lambda())
            .args([
                "lambda",
                "invoke",
                function,
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
            ])
            .arg(self.port.to_string())
            .arg("--data-file")
            .arg(event)
            .args(["--output-format", "json"])
            .current_dir(workspace_root())
            .output()
            .unwrap();
        if out.status.success() {
            Ok(serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                panic!(
                    "{function} answered non-JSON ({e}): {}",
                    String::from_utf8_lossy(&out.stdout)
                )
            }))
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("--")
            .arg(format!("-{}", self.child.id()))
            .status();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_under_cargo_lambda_watch_answer_as_expected() {
    let table = fresh_table().await;
    let doc = events_seed();
    table.admin.import(&doc, NOW).await.unwrap();
    assert!(doc.validate(&Default::default(), 0).is_ok());

    let watch = Watch::start(moto().endpoint(), table.name());
    let events = events_dir();
    let cases = [
        ("pre-token-generation", "v2-authentication-member"),
        (
            "pre-token-generation",
            "v1-authentication-member-tenant-iam-role",
        ),
        ("pre-token-generation", "v3-client-credentials"),
        (
            "pre-token-generation",
            "v2-spoof-custom-tenant-and-client-metadata",
        ),
        ("pre-token-generation", "v2-suspended-tenant"),
        ("pre-token-generation", "v2-no-tenant"),
        ("pre-signup", "external-saml-trusted-idp-auto-confirms"),
        (
            "pre-signup",
            "signup-invitation-outside-domain-route-tenant",
        ),
        ("pre-signup", "signup-several-invitations-ambiguous"),
        (
            "post-confirmation",
            "confirm-signup-invitation-verified-email",
        ),
        ("post-confirmation", "confirm-forgot-password"),
    ];
    for (function, name) in cases {
        let event = events.join(function).join(format!("{name}.json"));
        let want = expected(&event);
        match (
            watch.invoke(function, &event),
            want.get("errorType").and_then(Value::as_str),
        ) {
            (Ok(got), None) => assert_eq!(got, want, "{function}/{name}"),
            (Err(stderr), Some(_)) => {
                let message = want["errorMessage"].as_str().unwrap();
                assert!(
                    stderr.contains(message),
                    "{function}/{name}: expected `{message}` in\n{stderr}"
                );
            }
            (got, _) => panic!("{function}/{name}: expected {want}, got {got:?}"),
        }
    }

    // The provisioning above really went to the table: the invited user is now a member.
    let members = table.admin.export().await.unwrap().members;
    let sub = sub_of(&test_support::events::event(
        "post-confirmation/confirm-signup-invitation-verified-email.json",
    ));
    assert!(
        members.iter().any(|m| m.sub == sub),
        "no membership for the confirmed user"
    );
}
