//! The project's recorded events (`events/<function>/<name>.json`) and the answers expected
//! beside them (`<name>.expected.json`).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tenant_lookup::Denial;

use crate::workspace_root;

/// The three functions, in a user's lifecycle order (the folders of `events/`).
pub const FUNCTIONS: [&str; 3] = ["pre-signup", "post-confirmation", "pre-token-generation"];

pub fn events_dir() -> PathBuf {
    workspace_root().join("events")
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `events/<relative>`.
pub fn event(relative: &str) -> Value {
    read_json(&events_dir().join(relative))
}

/// The expected answer beside an event file: `<event>.expected.json`.
pub fn expected_of(event: &Path) -> Value {
    read_json(&event.with_extension("expected.json"))
}

/// `events/<relative without .json>.expected.json`.
pub fn expected(relative: &str) -> Value {
    expected_of(&events_dir().join(relative))
}

/// The events of one function, without their expected files, sorted.
pub fn events_of(function: &str) -> Vec<PathBuf> {
    let dir = events_dir().join(function);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.ends_with(".json") && !name.ends_with(".expected.json")
        })
        .collect();
    files.sort();
    files
}

/// What Cognito gets back: the event with its response, or `{"errorType", "errorMessage"}`
/// (the shape the expected files use for denials).
pub fn answer(result: Result<Value, Denial>) -> Value {
    match result {
        Ok(v) => v,
        Err(e) => {
            let d: lambda_runtime::Diagnostic = e.into();
            json!({"errorType": d.error_type, "errorMessage": d.error_message})
        }
    }
}

/// `request.userAttributes.sub` of an event.
pub fn sub_of(event: &Value) -> String {
    event["request"]["userAttributes"]["sub"]
        .as_str()
        .expect("event has a sub")
        .to_string()
}
