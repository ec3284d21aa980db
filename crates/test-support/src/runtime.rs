//! A function binary in a fresh process, served by a stand-in for the Lambda Runtime API on
//! loopback, as Lambda would run it: `GET .../invocation/next` hands it an event with a request
//! id, a deadline and a trace header; `POST .../invocation/{id}/response` or `.../error` brings
//! its answer back. Everything the process writes on standard output (its log lines and its
//! metric documents) is kept, line by line, for the test to read once the process has stopped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tiny_http::{Header, Method, Response, Server};

use crate::workspace_root;

/// How long a test waits for one answer before it gives up (a hung function, not a slow one:
/// the functions answer within their 4 s budget).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// The function's Lambda timeout, as in `infra/template.yaml`: the deadline each event carries.
pub const LAMBDA_TIMEOUT: Duration = Duration::from_secs(5);

/// The debug build of a function binary (`make test` builds them first).
pub fn function_binary(function: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let path = target.join("debug").join(function);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace --bins` (make test does)",
        path.display()
    );
    path
}

/// One event for the function.
pub struct Invoke {
    pub request_id: String,
    pub trace_header: Option<String>,
    pub payload: Value,
}

/// The function's answer: the response, or the error document (`errorType`, `errorMessage`).
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Response(Value),
    Error(Value),
}

impl Answer {
    pub fn error_type(&self) -> Option<&str> {
        match self {
            Answer::Error(e) => e["errorType"].as_str(),
            Answer::Response(_) => None,
        }
    }
}

/// A function process and its Runtime API.
pub struct FunctionProcess {
    child: Child,
    events: Option<Sender<Invoke>>,
    answers: Receiver<(String, Answer, Instant)>,
    server: Arc<Server>,
    api: Option<JoinHandle<()>>,
    stdout: Option<JoinHandle<Vec<String>>>,
    /// When the process was started.
    pub started: Instant,
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Serves the Runtime API until `events` closes: one event per `next`, answers passed on.
fn serve(
    server: Arc<Server>,
    function: String,
    events: Receiver<Invoke>,
    answers: Sender<(String, Answer, Instant)>,
) {
    for mut request in server.incoming_requests() {
        let url = request.url().to_string();
        let method = request.method().clone();
        if method == Method::Get && url.ends_with("/runtime/invocation/next") {
            // The function waits here until the test has an event for it, as on Lambda.
            let Ok(invoke) = events.recv() else { return };
            let deadline = epoch_ms() + LAMBDA_TIMEOUT.as_millis() as u64;
            let arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{function}");
            let mut response = Response::from_string(invoke.payload.to_string())
                .with_header(header("Content-Type", "application/json"))
                .with_header(header("Lambda-Runtime-Aws-Request-Id", &invoke.request_id))
                .with_header(header("Lambda-Runtime-Deadline-Ms", &deadline.to_string()))
                .with_header(header("Lambda-Runtime-Invoked-Function-Arn", &arn));
            if let Some(trace) = &invoke.trace_header {
                response = response.with_header(header("Lambda-Runtime-Trace-Id", trace));
            }
            let _ = request.respond(response);
            continue;
        }
        let mut body = String::new();
        let _ = request.as_reader().read_to_string(&mut body);
        let at = Instant::now();
        let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
        let answer = match url.rsplit('/').next() {
            Some("response") => Some(Answer::Response(parsed)),
            Some("error") => Some(Answer::Error(parsed)),
            _ => None,
        };
        let id = url
            .split("/invocation/")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or("init")
            .to_string();
        let _ = request.respond(Response::from_string("{}").with_status_code(202));
        match answer {
            Some(answer) => {
                let _ = answers.send((id, answer, at));
            }
            // An init error: the process is about to exit.
            None => {
                let _ = answers.send(("init".into(), Answer::Error(Value::Null), at));
            }
        }
    }
}

impl FunctionProcess {
    /// Starts `function`'s binary with `env` (besides Lambda's own variables), and `first`
    /// already queued: the time to its answer is then the cold start's, from the process start.
    pub fn start(function: &str, env: &[(&str, String)], first: Option<Invoke>) -> Self {
        let server = Arc::new(Server::http("127.0.0.1:0").expect("a loopback port"));
        let port = server.server_addr().to_ip().expect("an IP address").port();
        let (events, events_rx) = mpsc::channel();
        let (answers_tx, answers) = mpsc::channel();
        if let Some(first) = first {
            events.send(first).unwrap();
        }
        let api = {
            let server = server.clone();
            let function = function.to_string();
            std::thread::spawn(move || serve(server, function, events_rx, answers_tx))
        };
        let mut command = Command::new(function_binary(function));
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
            .env("AWS_LAMBDA_FUNCTION_NAME", format!("stack-{function}"))
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function}"),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]test")
            .env("AWS_REGION", crate::moto::REGION)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for (k, v) in env {
            command.env(k, v);
        }
        let started = Instant::now();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {function}: {e}"));
        let out = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            BufReader::new(out)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        });
        FunctionProcess {
            child,
            events: Some(events),
            answers,
            server,
            api: Some(api),
            stdout: Some(stdout),
            started,
        }
    }

    /// Queues an event.
    pub fn send(&self, invoke: Invoke) {
        self.events
            .as_ref()
            .expect("running")
            .send(invoke)
            .expect("the Runtime API is serving");
    }

    /// The next answer, with the instant it arrived.
    pub fn answer(&self) -> (String, Answer, Instant) {
        self.answers
            .recv_timeout(ANSWER_TIMEOUT)
            .expect("the function answered")
    }

    /// Sends `invoke` and waits for its answer.
    pub fn invoke(&self, invoke: Invoke) -> Answer {
        let id = invoke.request_id.clone();
        self.send(invoke);
        let (answered, answer, _) = self.answer();
        assert_eq!(answered, id, "answers come in order");
        answer
    }

    /// Stops the process and returns every line it wrote on standard output.
    pub fn stop(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.events.take();
        self.server.unblock();
        if let Some(api) = self.api.take() {
            let _ = api.join();
        }
        self.stdout
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.events.take();
        self.server.unblock();
    }
}

/// A TCP endpoint that accepts connections and never answers: a DynamoDB that went silent.
pub struct SilentEndpoint {
    pub endpoint: String,
}

impl SilentEndpoint {
    pub fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            // Keep every connection open, unread, until the test process ends.
            let mut open = Vec::new();
            for stream in listener.incoming().map_while(Result::ok) {
                open.push(stream);
            }
        });
        SilentEndpoint { endpoint }
    }
}
