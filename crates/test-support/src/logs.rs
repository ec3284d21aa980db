//! Capturing what a handler logs, as JSON lines.

use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// A writer that keeps everything written to it.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// Every line, parsed.
    pub fn lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f` with a JSON subscriber writing into the returned capture (`INFO` and above, the
/// functions' default `RUST_LOG`).
pub async fn capture<F: Future>(f: F) -> (F::Output, Captured) {
    capture_at(tracing::Level::INFO, f).await
}

/// Like [`capture`], every level down to `TRACE` (what `RUST_LOG=trace` would show).
pub async fn capture_all<F: Future>(f: F) -> (F::Output, Captured) {
    capture_at(tracing::Level::TRACE, f).await
}

async fn capture_at<F: Future>(level: tracing::Level, f: F) -> (F::Output, Captured) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_writer(move || writer.clone())
        .finish();
    let output = {
        let _guard = tracing::subscriber::set_default(subscriber);
        f.await
    };
    (output, captured)
}
