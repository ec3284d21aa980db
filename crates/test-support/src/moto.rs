//! A `moto_server` standing in for DynamoDB, SDK
//! clients pointed at it (explicit region, dummy credentials and endpoint: nothing is read from
//! the process environment, so no instance-metadata lookups), a per-operation request counter,
//! and a fresh table per test.
//!
//! One server per test binary ([`moto`]) is enough: every test gets its own table
//! ([`fresh_table`]). The server is started by [`moto_command`]: `scripts/moto_server.py` with
//! the workspace's `.venv` (`make venv`), which serves one request at a time.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::workspace_root;

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
    BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{
    AsyncSleep, BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
    Sleep,
};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::http::StatusCode;
use tenant_admin::DirectoryDocument;
use tenant_admin::TenantTable;
use tenant_lookup::store::dynamo::sdk::{https_client, lambda_timeout_config, MAX_ATTEMPTS};
use tenant_lookup::DynamoDirectory;

/// How long moto may take to announce its address (a cold Python start takes 1-3 s).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

pub const REGION: &str = "us-east-1";

/// Runs moto in the background and stops it when its standard input closes: when the
/// [`MotoServer`] is dropped, or when the test process exits in any way (a server kept in a
/// `static` is never dropped).
const WATCHDOG: &str = r#""$@" -H 127.0.0.1 -p 0 2>&1 &
pid=$!
cat >/dev/null
kill "$pid" 2>/dev/null
wait "$pid""#;

/// A running `moto_server` on 127.0.0.1 and a port the OS chose.
pub struct MotoServer {
    child: Child,
    stdin: Option<ChildStdin>,
    endpoint: String,
}

impl fmt::Debug for MotoServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MotoServer")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl MotoServer {
    /// Starts the server and returns once it has announced the address it listens on.
    pub fn start() -> io::Result<Self> {
        let command = moto_command();
        let program = command[0].clone();
        if !program.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{} not found: run `make venv` (python3 -m venv .venv && .venv/bin/pip install -r \
                     tools-requirements.txt) in the workspace root, or set MOTO_SERVER",
                    program.display()
                ),
            ));
        }
        let binary = command
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" ");
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("moto-watchdog")
            .args(&command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let mut server = MotoServer {
            child,
            stdin,
            endpoint: String::new(),
        };
        let Some(stdout) = stdout else {
            return Err(io::Error::other("moto_server's output was not captured"));
        };

        // Read moto's output on a thread: the first line announcing the address answers
        // `start`; the rest is drained (moto logs every request) so moto never blocks on it.
        let (tx, rx) = mpsc::channel::<Result<String, String>>();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            let mut seen = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(sender) = &tx {
                    match announced_endpoint(&line) {
                        Some(endpoint) => {
                            let _ = sender.send(Ok(endpoint));
                            tx = None;
                        }
                        None => seen.push(line),
                    }
                }
            }
            if let Some(sender) = tx {
                let _ = sender.send(Err(seen.join("\n")));
            }
        });
        match rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(Ok(endpoint)) => {
                server.endpoint = endpoint;
                Ok(server)
            }
            Ok(Err(output)) => Err(io::Error::other(format!(
                "{} exited before listening; its output:\n{output}",
                binary
            ))),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{} did not announce its address within {STARTUP_TIMEOUT:?}",
                    binary
                ),
            )),
        }
    }

    /// `http://127.0.0.1:{port}`
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Environment for a child process (e.g. `tenantctl`) that uses the SDK's default provider
    /// chain: this endpoint, a region, dummy credentials, no instance metadata, no profile files.
    pub fn sdk_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL_DYNAMODB", self.endpoint.clone()),
            ("AWS_REGION", REGION.into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", "/nonexistent/aws-config".into()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws-credentials".into(),
            ),
        ]
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // Closing the watchdog's stdin makes it stop moto; then reap the watchdog.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// The command that starts the server: `$MOTO_SERVER` if set (a moto_server executable),
/// else `.venv/bin/python scripts/moto_server.py` in the workspace root, which serves one
/// request at a time so that transactions are isolated as on DynamoDB (see that script).
pub fn moto_command() -> Vec<PathBuf> {
    match std::env::var_os("MOTO_SERVER") {
        Some(path) if !path.is_empty() => vec![PathBuf::from(path)],
        _ => {
            let root = workspace_root();
            vec![
                root.join(".venv/bin/python"),
                root.join("scripts/moto_server.py"),
            ]
        }
    }
}

/// The address in werkzeug's ` * Running on http://127.0.0.1:PORT` line (ANSI colours ignored).
fn announced_endpoint(line: &str) -> Option<String> {
    let at = line.find("Running on http://")? + "Running on ".len();
    let url: String = line[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '\u{1b}')
        .collect();
    let port = url.rsplit_once(':')?.1;
    (!port.is_empty() && port.chars().all(|c| c.is_ascii_digit())).then_some(url)
}

/// The server shared by every test of this test binary, started on first use.
pub fn moto() -> &'static MotoServer {
    static SERVER: OnceLock<MotoServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        MotoServer::start().unwrap_or_else(|e| panic!("cannot start moto_server: {e}"))
    })
}

/// Counts the requests a client sends (every attempt), by operation name (`Query`, `GetItem`, ...).
#[derive(Clone, Debug, Default)]
pub struct RequestCounter {
    counts: Arc<Mutex<BTreeMap<String, usize>>>,
}

impl RequestCounter {
    pub fn get(&self, operation: &str) -> usize {
        self.snapshot().get(operation).copied().unwrap_or(0)
    }

    pub fn total(&self) -> usize {
        self.snapshot().values().sum()
    }

    /// Requests of operations that write: every operation whose name does not start with
    /// `Get`, `BatchGet`, `Query`, `Scan` or `Describe`.
    pub fn writes(&self) -> usize {
        self.snapshot()
            .iter()
            .filter(|(op, _)| {
                !["Get", "BatchGet", "Query", "Scan", "Describe"]
                    .iter()
                    .any(|p| op.starts_with(p))
            })
            .map(|(_, n)| n)
            .sum()
    }

    pub fn snapshot(&self) -> BTreeMap<String, usize> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub fn reset(&self) {
        if let Ok(mut c) = self.counts.lock() {
            c.clear();
        }
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_string())
            .unwrap_or_else(|| "?".into());
        if let Ok(mut c) = self.counts.lock() {
            *c.entry(operation).or_default() += 1;
        }
        Ok(())
    }
}

/// Makes the next `n` `TransactWriteItems` requests of a client fail the way DynamoDB answers
/// concurrent transactions on the same items (`TransactionCanceledException` with a
/// `TransactionConflict` reason), which moto never does. The faulted request is not applied:
/// it is redirected to a harmless read-only operation, whose answer is replaced.
#[derive(Clone, Debug, Default)]
pub struct InjectedConflicts {
    remaining: Arc<AtomicUsize>,
    /// The response body to give the attempt in flight, when it is faulted.
    faulting: Arc<Mutex<Option<String>>>,
}

impl InjectedConflicts {
    pub fn new(n: usize) -> Self {
        Self {
            remaining: Arc::new(AtomicUsize::new(n)),
            faulting: Arc::default(),
        }
    }

    /// Conflicts not yet injected.
    pub fn remaining(&self) -> usize {
        self.remaining.load(Ordering::SeqCst)
    }

    fn set_faulting(&self, value: Option<String>) {
        if let Ok(mut f) = self.faulting.lock() {
            *f = value;
        }
    }
}

/// DynamoDB's answer to a transaction of `items` items whose last item (the hot tenant item, in
/// provisioning) is being written by another transaction.
fn conflict_body(items: usize) -> String {
    let mut reasons = vec![serde_json::json!({"Code": "None"}); items.saturating_sub(1)];
    reasons.push(serde_json::json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}));
    let codes: Vec<&str> = reasons.iter().filter_map(|r| r["Code"].as_str()).collect();
    serde_json::json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]", codes.join(", ")),
        "CancellationReasons": reasons,
    })
    .to_string()
}

impl Intercept for InjectedConflicts {
    fn name(&self) -> &'static str {
        "InjectedConflicts"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let is_transaction = cfg
            .load::<Metadata>()
            .is_some_and(|m| m.name() == "TransactWriteItems");
        let inject = is_transaction
            && self
                .remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
        if !inject {
            self.set_faulting(None);
            return Ok(());
        }
        let items = context
            .request()
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
            .and_then(|v| v["TransactItems"].as_array().map(Vec::len))
            .unwrap_or(1);
        self.set_faulting(Some(conflict_body(items)));
        context
            .request_mut()
            .headers_mut()
            .insert("x-amz-target", "DynamoDB_20120810.DescribeLimits");
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let faulting = self.faulting.lock().ok().and_then(|mut f| f.take());
        if let Some(body) = faulting {
            let response = context.response_mut();
            *response.status_mut() = StatusCode::try_from(400u16)?;
            for header in ["content-length", "x-amz-crc32", "x-amzn-errortype"] {
                response.headers_mut().remove(header);
            }
            response
                .headers_mut()
                .insert("content-type", "application/x-amz-json-1.0");
            *response.body_mut() = body.into();
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug)]
struct TokioSleep;

impl AsyncSleep for TokioSleep {
    fn sleep(&self, duration: Duration) -> Sleep {
        Sleep::new(tokio::time::sleep(duration))
    }
}

/// A DynamoDB client for `endpoint`, configured explicitly (region, dummy static credentials,
/// endpoint, tokio sleep), counting its requests in `counter`.
pub fn client(endpoint: &str, counter: &RequestCounter) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "integration-tests",
        ))
        .endpoint_url(endpoint)
        .http_client(https_client())
        .sleep_impl(TokioSleep)
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(30))
                .build(),
        )
        .interceptor(counter.clone())
        .build();
    Client::from_conf(config)
}

/// A client for `endpoint` with the functions' production budget (`store/dynamo/sdk.rs`:
/// timeouts, standard retries with their attempts, the HTTPS client), configured explicitly
/// (region, dummy credentials), counting its requests in `counter`.
pub fn production_client(endpoint: &str, counter: &RequestCounter) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "production-budget",
        ))
        .endpoint_url(endpoint)
        .http_client(https_client())
        .sleep_impl(TokioSleep)
        .timeout_config(lambda_timeout_config())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .interceptor(counter.clone())
        .build();
    Client::from_conf(config)
}

/// A table name no other test of any test binary uses.
pub fn unique_table_name(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A new, empty directory table on the shared server, and the counter of its client's requests
/// (reset after the table was created).
pub struct TestTable {
    pub directory: DynamoDirectory,
    /// The same table, for administration (import, export).
    pub admin: TenantTable,
    pub requests: RequestCounter,
}

impl TestTable {
    pub fn client(&self) -> &Client {
        self.directory.client()
    }

    pub fn name(&self) -> &str {
        self.directory.table()
    }
}

/// Creates a uniquely named table on the shared server (create it inside the test's runtime:
/// an SDK client must not outlive the runtime it was first used on).
pub async fn fresh_table() -> TestTable {
    let requests = RequestCounter::default();
    let directory = DynamoDirectory::new(
        client(moto().endpoint(), &requests),
        unique_table_name("directory"),
    );
    let admin = TenantTable::new(directory.clone());
    match admin.create_table().await {
        Ok(true) => {}
        Ok(false) => panic!("table {} already existed", directory.table()),
        Err(e) => panic!("cannot create table {}: {e}", directory.table()),
    }
    requests.reset();
    TestTable {
        directory,
        admin,
        requests,
    }
}

/// A fresh table with `events/seed.json` imported at [`crate::seeds::NOW`] (request counter
/// reset afterwards).
pub async fn seeded_table() -> TestTable {
    let table = fresh_table().await;
    let seed = DirectoryDocument::from_json(&crate::seeds::events_seed_text())
        .expect("events/seed.json parses");
    table
        .admin
        .import(&seed, crate::seeds::NOW)
        .await
        .unwrap_or_else(|e| panic!("import into {}: {e}", table.name()));
    table.requests.reset();
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listening_line_gives_the_endpoint() {
        assert_eq!(
            announced_endpoint(" * Running on http://127.0.0.1:42211").as_deref(),
            Some("http://127.0.0.1:42211")
        );
        assert_eq!(
            announced_endpoint("\u{1b}[33m * Running on http://127.0.0.1:5000\u{1b}[0m").as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(
            announced_endpoint("WARNING: This is a development server."),
            None
        );
        assert_eq!(announced_endpoint(" * Running on http://127.0.0.1:"), None);
    }

    #[test]
    fn the_counter_separates_reads_from_writes() {
        let c = RequestCounter::default();
        for op in [
            "Query",
            "GetItem",
            "TransactWriteItems",
            "BatchWriteItem",
            "Query",
        ] {
            *c.counts.lock().unwrap().entry(op.to_string()).or_default() += 1;
        }
        assert_eq!(c.get("Query"), 2);
        assert_eq!(c.total(), 5);
        assert_eq!(c.writes(), 2);
        c.reset();
        assert_eq!(c.total(), 0);
    }

    #[test]
    fn the_workspace_root_holds_the_workspace_manifest() {
        let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains("[workspace]"),
            "{}",
            workspace_root().display()
        );
    }
}
