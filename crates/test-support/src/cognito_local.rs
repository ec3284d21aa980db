//! The local pool's Node.js parts: cognito-local (the Cognito emulator, pinned in
//! `local-pool/package.json`, installed with `npm ci` by `make test`/`make pool`) and
//! `local-pool/lambda-adapter.js` (Lambda's Invoke API in front of `cargo lambda watch`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::process::Service;
use crate::workspace_root;

const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// `$NODE`, else `node` on `PATH`; `None` when Node.js is not installed.
pub fn node() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NODE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("node"))
        .find(|p| p.is_file())
}

/// `local-pool/`: the emulator's package and the adapter.
pub fn local_pool_dir() -> PathBuf {
    workspace_root().join("local-pool")
}

/// cognito-local's entry point, installed by `npm ci` in `local-pool/`.
pub fn cognito_local_script() -> PathBuf {
    local_pool_dir().join("node_modules/cognito-local/lib/bin/start.js")
}

/// `local-pool/lambda-adapter.js` on a free loopback port, forwarding to `upstream`,
/// journaling each invocation to `journal` (JSON lines).
#[derive(Debug)]
pub struct LambdaAdapter {
    service: Service,
    endpoint: String,
}

impl LambdaAdapter {
    pub fn start(node: &Path, upstream: &str, journal: &Path) -> LambdaAdapter {
        let mut command = Command::new(node);
        command
            .arg(local_pool_dir().join("lambda-adapter.js"))
            .args([
                "--upstream",
                upstream,
                "--listen",
                "127.0.0.1:0",
                "--journal",
            ])
            .arg(journal);
        let (service, endpoint) =
            Service::start("lambda-adapter", command, READY_TIMEOUT, |line| {
                line.strip_prefix("lambda-adapter listening on ")
                    .map(|u| u.trim().to_string())
            })
            .unwrap_or_else(|e| panic!("{e}"));
        LambdaAdapter { service, endpoint }
    }

    /// The Invoke API the emulator calls.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// One line per invocation.
    pub fn output(&self) -> String {
        self.service.output()
    }
}

/// The journal a [`LambdaAdapter`] writes: one JSON object per invocation.
pub fn read_journal(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("journal line {l}: {e}")))
        .collect()
}

/// cognito-local listening on `127.0.0.1:port`, working in `dir` (whose `.cognito/config.json`
/// is written beforehand: see `localpool::emulator::write_config`).
#[derive(Debug)]
pub struct CognitoLocal {
    service: Service,
    endpoint: String,
}

impl CognitoLocal {
    pub fn start(node: &Path, dir: &Path, port: u16) -> CognitoLocal {
        let script = cognito_local_script();
        assert!(
            script.is_file(),
            "{} is missing: run `make test` or `make pool` (they run `npm ci` in local-pool/)",
            script.display()
        );
        let mut command = Command::new(node);
        command
            .arg(&script)
            .current_dir(dir)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE", "1");
        let (service, endpoint) = Service::start("cognito-local", command, READY_TIMEOUT, |line| {
            let at = line.find("Cognito Local running on ")? + "Cognito Local running on ".len();
            Some(line[at..].trim().to_string())
        })
        .unwrap_or_else(|e| panic!("{e}"));
        CognitoLocal { service, endpoint }
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Its log: requests, the codes it "sends", the trigger errors it saw.
    pub fn output(&self) -> String {
        self.service.output()
    }
}
