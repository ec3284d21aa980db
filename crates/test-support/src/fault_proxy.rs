//! A fault-injecting HTTP proxy on loopback, between an SDK client and `moto_server`: what a
//! DynamoDB endpoint does on a bad day, at the wire, where the SDK's own timeouts, retries and
//! error classification meet it exactly as in production.
//!
//! Point the client at [`FaultProxy::endpoint`]; each request (one JSON 1.0 call, its operation
//! read from `X-Amz-Target`) goes through the first [`Rule`] that matches it and still has uses,
//! else straight to moto. Faults: added latency, a TCP reset (before or after moto applied the
//! request), no answer at all, throttling (`ProvisionedThroughputExceededException`,
//! `ThrottlingException`), 500 and 503 answers, and `TransactionCanceledException` with a
//! `TransactionConflict` reason for `TransactWriteItems`. Requests and injected faults are
//! counted per operation.
//!
//! One thread per connection, blocking I/O: requests are small and few. Dropping the proxy
//! closes every connection it holds (so a client waiting on [`Fault::NoAnswer`] sees it).

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What happens to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forwarded after this delay.
    Delay(Duration),
    /// The connection is reset (RST) before anything reaches moto.
    Reset,
    /// Forwarded and applied by moto, then the connection is reset instead of answering: the
    /// caller cannot tell whether its write happened.
    ResetAfterForward,
    /// Read and never answered; the connection stays open until the client gives up.
    NoAnswer,
    /// 400 `ProvisionedThroughputExceededException`.
    ProvisionedThroughputExceeded,
    /// 400 `ThrottlingException`.
    Throttling,
    /// 500 `InternalServerError`.
    InternalServerError,
    /// 503 `ServiceUnavailable`.
    ServiceUnavailable,
    /// 400 `TransactionCanceledException`, one `TransactionConflict` reason (other requests
    /// than `TransactWriteItems` pass).
    TransactionConflict,
}

impl Fault {
    /// A short name, for counts and test output.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Delay(_) => "delay",
            Fault::Reset => "reset",
            Fault::ResetAfterForward => "reset-after-forward",
            Fault::NoAnswer => "no-answer",
            Fault::ProvisionedThroughputExceeded => "ProvisionedThroughputExceeded",
            Fault::Throttling => "Throttling",
            Fault::InternalServerError => "500",
            Fault::ServiceUnavailable => "503",
            Fault::TransactionConflict => "TransactionConflict",
        }
    }
}

/// Which requests a fault applies to, and how many times.
#[derive(Clone, Debug)]
pub struct Rule {
    operation: Option<String>,
    fault: Fault,
    /// `None`: every matching request.
    remaining: Option<usize>,
}

impl Rule {
    /// Every request.
    pub fn always(fault: Fault) -> Self {
        Self {
            operation: None,
            fault,
            remaining: None,
        }
    }

    /// The next `n` requests.
    pub fn times(n: usize, fault: Fault) -> Self {
        Self {
            operation: None,
            fault,
            remaining: Some(n),
        }
    }

    /// Only requests of `operation` (`GetItem`, `Query`, `TransactWriteItems`, ...).
    pub fn on(mut self, operation: &str) -> Self {
        self.operation = Some(operation.to_string());
        self
    }
}

#[derive(Default)]
struct Counts {
    requests: BTreeMap<String, usize>,
    faults: BTreeMap<String, usize>,
}

struct Shared {
    upstream: SocketAddr,
    rules: Mutex<Vec<Rule>>,
    counts: Mutex<Counts>,
    stop: AtomicBool,
    /// The client connections, to close them when the proxy goes.
    connections: Mutex<Vec<TcpStream>>,
    next_request_id: AtomicUsize,
}

impl Shared {
    /// Counts the request and takes the fault of the first matching rule with uses left.
    fn fault_for(&self, operation: &str) -> Option<Fault> {
        let fault = {
            let mut rules = self.rules.lock().unwrap_or_else(|p| p.into_inner());
            rules
                .iter_mut()
                .find(|r| {
                    r.operation.as_deref().is_none_or(|o| o == operation)
                        && r.remaining != Some(0)
                        && !(r.fault == Fault::TransactionConflict
                            && operation != "TransactWriteItems")
                })
                .map(|r| {
                    if let Some(n) = &mut r.remaining {
                        *n -= 1;
                    }
                    r.fault.clone()
                })
        };
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts.requests.entry(operation.to_string()).or_default() += 1;
        if let Some(f) = &fault {
            *counts.faults.entry(f.name().to_string()).or_default() += 1;
        }
        fault
    }
}

/// The proxy; see the module documentation.
pub struct FaultProxy {
    endpoint: String,
    port: u16,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Listens on a loopback port and forwards to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> io::Result<Self> {
        let address = upstream.trim_start_matches("http://").trim_end_matches('/');
        let upstream: SocketAddr = address
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{upstream}: {e}")))?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            upstream,
            rules: Mutex::new(Vec::new()),
            counts: Mutex::new(Counts::default()),
            stop: AtomicBool::new(false),
            connections: Mutex::new(Vec::new()),
            next_request_id: AtomicUsize::new(1),
        });
        let accept = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if shared.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    if let Ok(clone) = stream.try_clone() {
                        shared
                            .connections
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(clone);
                    }
                    let shared = shared.clone();
                    std::thread::spawn(move || serve(&shared, stream));
                }
            })
        };
        Ok(Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            shared,
            accept: Some(accept),
        })
    }

    /// `http://127.0.0.1:{port}`
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Replaces the rules (an empty list passes everything).
    pub fn set(&self, rules: Vec<Rule>) {
        *self.shared.rules.lock().unwrap_or_else(|p| p.into_inner()) = rules;
    }

    /// Passes everything from now on.
    pub fn heal(&self) {
        self.set(Vec::new());
    }

    /// Requests seen, per operation.
    pub fn requests(&self) -> BTreeMap<String, usize> {
        self.lock_counts().requests.clone()
    }

    /// Faults injected, per fault name.
    pub fn faults(&self) -> BTreeMap<String, usize> {
        self.lock_counts().faults.clone()
    }

    pub fn faults_injected(&self) -> usize {
        self.lock_counts().faults.values().sum()
    }

    /// Forgets the counts.
    pub fn reset_counts(&self) {
        *self.lock_counts() = Counts::default();
    }

    fn lock_counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.shared.counts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for c in self
            .shared
            .connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            let _ = c.shutdown(Shutdown::Both);
        }
        // Wake the accept loop with one last connection; it sees the flag and ends.
        if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            if let Some(accept) = self.accept.take() {
                let _ = accept.join();
            }
        }
    }
}

/// One HTTP/1.1 request as read from the client.
struct Request {
    /// Request line and headers, without the blank line.
    head: Vec<String>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.iter().skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// `GetItem` for `X-Amz-Target: DynamoDB_20120810.GetItem`.
    fn operation(&self) -> String {
        self.header("x-amz-target")
            .and_then(|t| t.rsplit_once('.'))
            .map_or_else(|| "?".to_string(), |(_, op)| op.to_string())
    }

    /// The request as sent upstream, asking it to close the connection after answering.
    fn bytes_for_upstream(&self) -> Vec<u8> {
        let mut out = String::new();
        for line in &self.head {
            if line
                .split_once(':')
                .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("connection"))
            {
                continue;
            }
            out.push_str(line);
            out.push_str("\r\n");
        }
        out.push_str("connection: close\r\n\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// The next request on a connection; `None` when the client closed it.
fn read_request(reader: &mut BufReader<TcpStream>) -> io::Result<Option<Request>> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            if head.is_empty() {
                continue;
            }
            break;
        }
        head.push(line);
    }
    let mut request = Request {
        head,
        body: Vec::new(),
    };
    let length: usize = request
        .header("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    request.body = vec![0; length];
    reader.read_exact(&mut request.body)?;
    Ok(Some(request))
}

fn serve(shared: &Shared, client: TcpStream) {
    let Ok(reader) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(reader);
    let mut client = client;
    while let Ok(Some(request)) = read_request(&mut reader) {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let operation = request.operation();
        let answered = match shared.fault_for(&operation) {
            None => forward(shared, &request).and_then(|r| client.write_all(&r)),
            Some(Fault::Delay(d)) => {
                std::thread::sleep(d);
                forward(shared, &request).and_then(|r| client.write_all(&r))
            }
            Some(Fault::Reset) => {
                reset(client);
                return;
            }
            Some(Fault::ResetAfterForward) => {
                let _ = forward(shared, &request);
                reset(client);
                return;
            }
            Some(Fault::NoAnswer) => {
                // Hold the connection until the client (or the proxy) closes it.
                let mut sink = [0u8; 1024];
                while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
                return;
            }
            Some(fault) => {
                let id = shared.next_request_id.fetch_add(1, Ordering::Relaxed);
                client.write_all(&error_response(&fault, &request, id))
            }
        };
        if answered.is_err() {
            return;
        }
    }
}

/// Closes with a TCP reset (SO_LINGER 0) rather than an orderly FIN.
fn reset(stream: TcpStream) {
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

/// Sends the request to moto and returns its answer, framed for a keep-alive client.
fn forward(shared: &Shared, request: &Request) -> io::Result<Vec<u8>> {
    let mut upstream = TcpStream::connect_timeout(&shared.upstream, Duration::from_secs(5))?;
    upstream.set_read_timeout(Some(Duration::from_secs(60)))?;
    upstream.write_all(&request.bytes_for_upstream())?;
    let mut raw = Vec::new();
    upstream.read_to_end(&mut raw)?;
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Err(io::Error::other("upstream answer without a header end"));
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let body = &raw[split + 4..];
    let mut out = String::new();
    let mut framed = false;
    for line in head.split("\r\n") {
        let name = line
            .split_once(':')
            .map(|(k, _)| k.trim().to_ascii_lowercase());
        match name.as_deref() {
            Some("connection") | Some("keep-alive") => continue,
            Some("content-length") | Some("transfer-encoding") => framed = true,
            _ => {}
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    if !framed {
        out.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    Ok(bytes)
}

/// DynamoDB's answer for `fault`, as JSON 1.0.
fn error_response(fault: &Fault, request: &Request, id: usize) -> Vec<u8> {
    let (status, reason, body) = match fault {
        Fault::ProvisionedThroughputExceeded => (
            400,
            "Bad Request",
            serde_json::json!({
                "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
            }),
        ),
        Fault::Throttling => (
            400,
            "Bad Request",
            serde_json::json!({
                "__type": "com.amazon.coral.availability#ThrottlingException",
                "message": "Rate of requests exceeds the allowed throughput.",
            }),
        ),
        Fault::InternalServerError => (
            500,
            "Internal Server Error",
            serde_json::json!({
                "__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
                "message": "Internal server error",
            }),
        ),
        Fault::ServiceUnavailable => (
            503,
            "Service Unavailable",
            serde_json::json!({
                "__type": "com.amazon.coral.availability#ServiceUnavailableException",
                "message": "Service unavailable",
            }),
        ),
        _ => {
            let items = serde_json::from_slice::<serde_json::Value>(&request.body)
                .ok()
                .and_then(|v| v["TransactItems"].as_array().map(Vec::len))
                .unwrap_or(1);
            (400, "Bad Request", transaction_conflict(items))
        }
    };
    let body = body.to_string();
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/x-amz-json-1.0\r\n\
         x-amzn-requestid: FAULTPROXY{id:020}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A transaction of `items` items cancelled because its last item (the hot tenant item, in
/// provisioning) is being written by another transaction.
fn transaction_conflict(items: usize) -> serde_json::Value {
    let mut reasons = vec![serde_json::json!({"Code": "None"}); items.saturating_sub(1)];
    reasons.push(serde_json::json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}));
    let codes: Vec<&str> = reasons.iter().filter_map(|r| r["Code"].as_str()).collect();
    serde_json::json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]", codes.join(", ")),
        "CancellationReasons": reasons,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_by_operation_and_run_out() {
        let proxy = FaultProxy::start("http://127.0.0.1:9").unwrap();
        proxy.set(vec![
            Rule::times(1, Fault::Throttling).on("Query"),
            Rule::always(Fault::TransactionConflict),
            Rule::times(2, Fault::Reset),
        ]);
        let s = &proxy.shared;
        assert_eq!(s.fault_for("Query"), Some(Fault::Throttling));
        assert_eq!(
            s.fault_for("Query"),
            Some(Fault::Reset),
            "the Query rule ran out"
        );
        assert_eq!(
            s.fault_for("TransactWriteItems"),
            Some(Fault::TransactionConflict)
        );
        assert_eq!(s.fault_for("GetItem"), Some(Fault::Reset));
        assert_eq!(s.fault_for("GetItem"), None);
        assert_eq!(proxy.requests()["GetItem"], 2);
        assert_eq!(proxy.faults_injected(), 4);
    }

    #[test]
    fn error_answers_are_dynamodb_json_with_their_status() {
        let request = Request {
            head: vec!["POST / HTTP/1.1".into()],
            body: br#"{"TransactItems": [{}, {}, {}]}"#.to_vec(),
        };
        let text =
            String::from_utf8(error_response(&Fault::TransactionConflict, &request, 1)).unwrap();
        assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
        let body: serde_json::Value =
            serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["CancellationReasons"].as_array().unwrap().len(), 3);
        assert_eq!(
            body["CancellationReasons"][2]["Code"],
            "TransactionConflict"
        );
        let text =
            String::from_utf8(error_response(&Fault::ServiceUnavailable, &request, 2)).unwrap();
        assert!(text.starts_with("HTTP/1.1 503 "), "{text}");
    }
}
