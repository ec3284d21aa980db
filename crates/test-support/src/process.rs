//! A background process a test starts and stops: in its own process group (so that whatever it
//! starts is stopped with it), ready when a line of its output says so (no sleeps), its output
//! kept for the failure message, and stopped when dropped.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// Lines of output kept per process (the newest).
const KEPT_LINES: usize = 400;
/// How long a process gets to stop on TERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

type Output = Arc<Mutex<VecDeque<String>>>;
/// Whether a line of output says the process is ready, and what it announced.
type Ready = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

pub struct Service {
    name: String,
    child: Child,
    output: Output,
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("name", &self.name)
            .field("pid", &self.child.id())
            .finish()
    }
}

/// `line` without ANSI colour sequences (`ESC [ ... letter`).
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn drain(
    stream: impl Read + Send + 'static,
    output: Output,
    ready: Ready,
    tx: mpsc::Sender<Option<String>>,
) {
    std::thread::spawn(move || {
        let mut announced = false;
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let line = strip_ansi(&line);
            if !announced {
                if let Some(answer) = ready(&line) {
                    announced = true;
                    let _ = tx.send(Some(answer));
                }
            }
            if let Ok(mut o) = output.lock() {
                if o.len() == KEPT_LINES {
                    o.pop_front();
                }
                o.push_back(line);
            }
        }
        // End of output: the process has exited (or closed its output).
        let _ = tx.send(None);
    });
}

impl Service {
    /// Starts `command` in a process group of its own, with its standard output and error
    /// read line by line; returns once `ready` answers `Some` for a line (that answer is
    /// returned too). Fails when the process ends first or `timeout` passes, with its output.
    pub fn start(
        name: &str,
        mut command: Command,
        timeout: Duration,
        ready: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> io::Result<(Service, String)> {
        let mut child = command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot start {name}: {e}")))?;
        let output = Output::default();
        let ready: Ready = Arc::new(ready);
        let (tx, rx) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            drain(out, output.clone(), ready.clone(), tx.clone());
        }
        if let Some(err) = child.stderr.take() {
            drain(err, output.clone(), ready, tx);
        }
        let service = Service {
            name: name.to_string(),
            child,
            output,
        };
        let deadline = Instant::now() + timeout;
        let mut closed = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Some(answer)) => return Ok((service, answer)),
                Ok(None) if closed == 0 => closed += 1,
                Ok(None) | Err(_) => {
                    let why = if closed > 0 {
                        "exited before it was ready"
                    } else {
                        "was not ready in time"
                    };
                    return Err(io::Error::other(format!(
                        "{name} {why} ({timeout:?}); its output:\n{}",
                        service.output()
                    )));
                }
            }
        }
    }

    /// The output so far (the newest lines), ANSI colours removed.
    pub fn output(&self) -> String {
        self.output
            .lock()
            .map(|o| o.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// TERM to the process group, then KILL if it has not ended within [`STOP_TIMEOUT`].
    fn stop(&mut self) {
        let group = format!("-{}", self.child.id());
        let signal = |s: &str| {
            let _ = Command::new("kill")
                .args(["-s", s, "--", &group])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        };
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            signal("KILL"); // whatever it started may still run
            return;
        }
        signal("TERM");
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                // The leader is gone; make sure nothing of its group is left behind.
                signal("KILL");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{} did not stop on TERM: killing it", self.name);
        signal("KILL");
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_removed() {
        assert_eq!(
            strip_ansi("\u{1b}[32mINFO\u{1b}[39m: \u{1b}[36mCognito Local running\u{1b}[39m"),
            "INFO: Cognito Local running"
        );
        assert_eq!(strip_ansi("plain"), "plain");
    }

    #[test]
    fn ready_on_a_line_and_stopped_on_drop() {
        let mut cmd = Command::new("/bin/sh");
        cmd.args([
            "-c",
            "echo starting; echo 'listening on 4242' >&2; exec sleep 600",
        ]);
        let (service, port) = Service::start("sh", cmd, Duration::from_secs(10), |l| {
            l.strip_prefix("listening on ").map(str::to_string)
        })
        .unwrap();
        assert_eq!(port, "4242");
        let pid = service.pid();
        assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
        drop(service);
        // Reaped by stop(): no such process any more.
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    }

    #[test]
    fn a_process_that_exits_before_it_is_ready_fails_with_its_output() {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "echo 'no such option' >&2; exit 3"]);
        let err = Service::start("sh", cmd, Duration::from_secs(10), |_| None::<String>)
            .unwrap_err()
            .to_string();
        assert!(err.contains("exited before it was ready"), "{err}");
        assert!(err.contains("no such option"), "{err}");
    }
}
