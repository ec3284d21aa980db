//! A progress bar on standard error, drawn only when it is a terminal.

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use tenant_admin::Progress;

/// Draws the library's progress reports with `indicatif`, or nothing when standard error is
/// not a terminal (a pipe, a file, CI).
pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    enabled: bool,
}

impl Bar {
    pub fn on_terminal() -> Self {
        Self {
            bar: Mutex::new(None),
            enabled: std::io::stderr().is_terminal(),
        }
    }
}

impl Progress for Bar {
    fn stage(&self, label: &str, total: Option<u64>) {
        if !self.enabled {
            return;
        }
        let mut bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = bar.take() {
            old.finish_and_clear();
        }
        let new = match total {
            Some(n) => ProgressBar::new(n).with_style(
                ProgressStyle::with_template("{msg:<24} [{bar:30}] {pos}/{len} ({eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{msg:<24} {spinner} {pos}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        new.set_message(label.to_string());
        *bar = Some(new);
    }

    fn advance(&self, n: u64) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            bar.finish_and_clear();
        }
    }
}
