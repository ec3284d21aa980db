//! The built functions under `cargo lambda watch` (from `.venv`, `make venv`), against a
//! DynamoDB endpoint and table; invoked like `cargo lambda invoke`, or over the Invoke API.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::process::Service;
use crate::{workspace_root, REGION};

/// Starting the runtime server is quick; the first invocation of each function may compile it.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// An invocation over the Invoke API: the first of a function may build it.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(300);

/// `$CARGO_LAMBDA`, else `.venv/bin/cargo-lambda`.
pub fn cargo_lambda() -> PathBuf {
    match std::env::var_os("CARGO_LAMBDA") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root().join(".venv/bin/cargo-lambda"),
    }
}

/// A free loopback port (bound, then released for the process that will listen on it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The variables cargo sets for a running test or binary (not those that configure cargo).
fn is_cargo_test_variable(name: &str) -> bool {
    [
        "CARGO_MANIFEST_",
        "CARGO_PKG_",
        "CARGO_CRATE_",
        "CARGO_BIN_",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

/// `cargo lambda watch` serving the workspace's functions on a loopback port, stopped (with the
/// function processes it started) when dropped.
#[derive(Debug)]
pub struct LambdaWatch {
    service: Service,
    port: u16,
}

impl LambdaWatch {
    /// The functions with `TENANT_TABLE` on the DynamoDB at `dynamodb_endpoint`, dummy
    /// credentials, and `env` besides (e.g. `CACHE_TTL_SECONDS`).
    pub fn start(dynamodb_endpoint: &str, table: &str, env: &[(&str, &str)]) -> LambdaWatch {
        let port = free_port();
        let mut command = Command::new(cargo_lambda());
        command
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
            .env("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint)
            .env("AWS_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE");
        // What cargo sets for the test binary would reach the `cargo run` that watch starts
        // for each function: ring's build script reruns when CARGO_MANIFEST_DIR changes, which
        // rebuilt ring and everything above it (a minute) on every test run, and again on the
        // next `make build`.
        for (name, _) in std::env::vars_os() {
            if is_cargo_test_variable(&name.to_string_lossy()) {
                command.env_remove(name);
            }
        }
        for (k, v) in env {
            command.env(k, v);
        }
        let (service, _) = Service::start("cargo lambda watch", command, READY_TIMEOUT, |l| {
            l.contains("starting Runtime server").then(String::new)
        })
        .unwrap_or_else(|e| panic!("{e} (run `make venv`)"));
        LambdaWatch { service, port }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`: the Lambda Invoke API of the functions.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The output so far: cargo lambda's and the functions' logs.
    pub fn output(&self) -> String {
        self.service.output()
    }

    /// `cargo lambda invoke --data-file event`: the function's answer, or `Err(stderr)` for an
    /// error (a denial).
    pub fn invoke(&self, function: &str, event: &Path) -> Result<Value, String> {
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

    /// POST `event` to the Invoke API: the answer, or `Err(error document)`.
    pub fn invoke_value(&self, function: &str, event: &Value) -> Result<Value, Value> {
        invoke_api(&self.endpoint(), function, event)
    }
}

/// POST `event` to the Invoke API at `endpoint` (`cargo lambda watch`, or the local pool's
/// adapter, which answers a function error as Lambda does: HTTP 200 and
/// `X-Amz-Function-Error`): the answer, or `Err(error document)`.
pub fn invoke_api(endpoint: &str, function: &str, event: &Value) -> Result<Value, Value> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(INVOKE_TIMEOUT))
        .build()
        .into();
    let url = format!("{endpoint}/2015-03-31/functions/{function}/invocations");
    let mut response = agent
        .post(&url)
        .header("content-type", "application/json")
        .send(event.to_string())
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let function_error = response.headers().contains_key("x-amz-function-error");
    let status = response.status();
    let body = response.body_mut().read_to_string().unwrap();
    let value: Value = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("{function} answered non-JSON ({e}, HTTP {status}): {body}"));
    if status.is_success() && !function_error {
        Ok(value)
    } else {
        Err(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_cargo_sets_for_a_test_is_kept_from_the_functions_build() {
        for name in [
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_PKG_NAME",
            "CARGO_CRATE_NAME",
            "CARGO_BIN_EXE_tenantctl",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
        ] {
            assert!(is_cargo_test_variable(name), "{name}");
        }
        for name in [
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_TERM_COLOR",
            "CARGO_INCREMENTAL",
            "CARGO_LAMBDA",
            "CARGO",
        ] {
            assert!(!is_cargo_test_variable(name), "{name}");
        }
    }
}
