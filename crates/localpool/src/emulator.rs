//! What this project relies on of cognito-local 5.3.0 (facts read from its source):
//!
//! - It reads `.cognito/config.json` from its working directory at start. `TriggerFunctions`
//!   maps a trigger to the function name it invokes, for every pool alike (a pool's
//!   `LambdaConfig` is stored but not used); `LambdaClient` configures its Lambda client
//!   (aws-sdk v2), whose `endpoint` is the Invoke API it calls; `TokenConfig.IssuerDomain` is
//!   the `iss` prefix of its tokens.
//! - A denial reaches the caller as `UserLambdaValidationException`,
//!   `<function name> failed with error <errorMessage>.`, only when the Invoke API answers
//!   HTTP 200 with `X-Amz-Function-Error: Unhandled`: hence the trigger names as function
//!   names (Cognito names the trigger) and `local-pool/lambda-adapter.js` in front of
//!   `cargo lambda watch`.
//! - The codes it "sends" are printed in its log and kept in its data file,
//!   `.cognito/db/<userPoolId>.json`: `Users.<username>.ConfirmationCode`.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::PoolError;

/// The trigger names, each the function name cognito-local is given for it (the adapter maps
/// them to the binaries `pre-signup`, `post-confirmation`, `pre-token-generation`).
pub const TRIGGERS: [&str; 3] = ["PreSignUp", "PostConfirmation", "PreTokenGeneration"];

/// The emulator's `.cognito/config.json`: triggers invoked through `lambda_endpoint` (the
/// adapter), tokens issued by `issuer_domain` (the emulator's own endpoint).
pub fn config(lambda_endpoint: &str, issuer_domain: &str) -> Value {
    let functions: serde_json::Map<String, Value> =
        TRIGGERS.iter().map(|t| (t.to_string(), json!(t))).collect();
    json!({
        "LambdaClient": {
            "endpoint": lambda_endpoint,
            "region": "us-east-1",
            "credentials": {"accessKeyId": "local", "secretAccessKey": "local"},
            // One attempt: a function's answer is final (Cognito retries only timeouts and
            // throttling, which a local function does not produce).
            "maxRetries": 0
        },
        "TriggerFunctions": functions,
        "TokenConfig": {"IssuerDomain": issuer_domain.trim_end_matches('/')},
    })
}

/// Writes [`config`] to `<dir>/.cognito/config.json`.
pub fn write_config(
    dir: &Path,
    lambda_endpoint: &str,
    issuer_domain: &str,
) -> Result<PathBuf, PoolError> {
    let path = dir.join(".cognito/config.json");
    let io = |source| PoolError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir.join(".cognito/db")).map_err(io)?;
    let text = serde_json::to_string_pretty(&config(lambda_endpoint, issuer_domain))
        .map_err(|e| PoolError::Template(e.to_string()))?;
    std::fs::write(&path, text + "\n").map_err(io)?;
    Ok(path)
}

/// The confirmation code the emulator sent to `username` (the username, email or sub of a
/// user of `user_pool_id`), read from its data file; `None` if it has none (confirmed already).
pub fn confirmation_code(
    emulator_dir: &Path,
    user_pool_id: &str,
    username: &str,
) -> Result<Option<String>, PoolError> {
    let path = emulator_dir
        .join(".cognito/db")
        .join(format!("{user_pool_id}.json"));
    let text = std::fs::read_to_string(&path).map_err(|source| PoolError::Io {
        path: path.clone(),
        source,
    })?;
    let db: Value = serde_json::from_str(&text).map_err(|e| PoolError::State {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    let user = find_user(&db, username).ok_or_else(|| PoolError::NoSuchUser(username.into()))?;
    Ok(user["ConfirmationCode"].as_str().map(str::to_string))
}

/// As the emulator finds a user: by username, else by `sub` or `email` attribute.
fn find_user<'a>(db: &'a Value, username: &str) -> Option<&'a Value> {
    let users = db["Users"].as_object()?;
    users.get(username).or_else(|| {
        users.values().find(|u| {
            u["Attributes"].as_array().is_some_and(|attrs| {
                attrs.iter().any(|a| {
                    matches!(a["Name"].as_str(), Some("sub" | "email"))
                        && a["Value"].as_str() == Some(username)
                })
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_names_the_triggers_the_adapter_and_the_issuer() {
        let c = config("http://127.0.0.1:1", "http://127.0.0.1:2/");
        assert_eq!(c["LambdaClient"]["endpoint"], "http://127.0.0.1:1");
        assert_eq!(
            c["TriggerFunctions"],
            json!({"PreSignUp": "PreSignUp", "PostConfirmation": "PostConfirmation",
                   "PreTokenGeneration": "PreTokenGeneration"})
        );
        assert_eq!(c["TokenConfig"]["IssuerDomain"], "http://127.0.0.1:2");
    }

    #[test]
    fn the_code_is_found_by_username_sub_or_email() {
        let dir = std::env::temp_dir().join(format!("localpool-emulator-{}", std::process::id()));
        std::fs::create_dir_all(dir.join(".cognito/db")).unwrap();
        let db = json!({"Users": {
            "u-1": {"Username": "u-1", "ConfirmationCode": "123456",
                    "Attributes": [{"Name": "sub", "Value": "u-1"}, {"Name": "email", "Value": "jane@acme.example"}]},
            "u-2": {"Username": "u-2", "Attributes": [{"Name": "email", "Value": "done@acme.example"}]}
        }});
        std::fs::write(dir.join(".cognito/db/local_P.json"), db.to_string()).unwrap();
        for who in ["u-1", "jane@acme.example"] {
            assert_eq!(
                confirmation_code(&dir, "local_P", who).unwrap().as_deref(),
                Some("123456")
            );
        }
        assert_eq!(
            confirmation_code(&dir, "local_P", "done@acme.example").unwrap(),
            None
        );
        assert!(matches!(
            confirmation_code(&dir, "local_P", "nobody@acme.example"),
            Err(PoolError::NoSuchUser(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
