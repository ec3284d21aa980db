//! What `localpool create` made, for the other commands (`.pool/pool.json` under `make pool`),
//! and the tokens of each signed-in user (`.pool/sessions/`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::PoolError;

/// The pool on the emulator: where it is and the ids it was given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolState {
    /// The emulator's endpoint (`http://127.0.0.1:PORT`): its API and its JWKS.
    pub endpoint: String,
    pub user_pool_id: String,
    /// App client name -> id.
    pub clients: BTreeMap<String, String>,
    /// The client the commands use unless told otherwise.
    pub default_client: String,
    /// The emulator's working directory (its `.cognito/` holds the data and the codes it sends).
    pub emulator_dir: PathBuf,
}

impl PoolState {
    /// The `iss` of the emulator's tokens (its TokenConfig.IssuerDomain is its endpoint).
    pub fn issuer(&self) -> String {
        format!(
            "{}/{}",
            self.endpoint.trim_end_matches('/'),
            self.user_pool_id
        )
    }

    /// `{endpoint}/{pool}/.well-known/jwks.json`, where the emulator serves its signing key.
    pub fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.issuer())
    }

    /// The id of the app client `name`, or of the default client.
    pub fn client_id(&self, name: Option<&str>) -> Result<&str, PoolError> {
        let name = name.unwrap_or(&self.default_client);
        self.clients
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| PoolError::UnknownClient {
                name: name.to_string(),
                known: self.clients.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }

    pub fn load(path: &Path) -> Result<Self, PoolError> {
        let text = std::fs::read_to_string(path).map_err(|source| PoolError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| PoolError::State {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })
    }

    pub fn save(&self, path: &Path) -> Result<(), PoolError> {
        write_json(path, self)
    }
}

/// The tokens of one sign-in (or refresh), and the app client they were issued to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub client: String,
    pub id_token: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
}

/// Where a user's session is kept: `<dir>/<username, lower case, path-safe>.json`.
pub fn session_path(dir: &Path, username: &str) -> PathBuf {
    let safe: String = username
        .trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@._+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{safe}.json"))
}

impl Session {
    pub fn load(path: &Path) -> Result<Self, PoolError> {
        let text = std::fs::read_to_string(path).map_err(|source| PoolError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| PoolError::State {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })
    }

    pub fn save(&self, path: &Path) -> Result<(), PoolError> {
        write_json(path, self)
    }
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), PoolError> {
    let io = |source| PoolError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let text = serde_json::to_string_pretty(value).map_err(|e| PoolError::State {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    std::fs::write(path, text + "\n").map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> PoolState {
        PoolState {
            endpoint: "http://127.0.0.1:9229/".into(),
            user_pool_id: "local_Abc".into(),
            clients: BTreeMap::from([("web".into(), "c1".into()), ("b2b".into(), "c2".into())]),
            default_client: "web".into(),
            emulator_dir: "/tmp/e".into(),
        }
    }

    #[test]
    fn issuer_jwks_and_clients() {
        let s = state();
        assert_eq!(s.issuer(), "http://127.0.0.1:9229/local_Abc");
        assert_eq!(
            s.jwks_url(),
            "http://127.0.0.1:9229/local_Abc/.well-known/jwks.json"
        );
        assert_eq!(s.client_id(None).unwrap(), "c1");
        assert_eq!(s.client_id(Some("b2b")).unwrap(), "c2");
        let err = s.client_id(Some("nope")).unwrap_err().to_string();
        assert!(err.contains("nope") && err.contains("b2b, web"), "{err}");
    }

    #[test]
    fn session_files_are_named_safely() {
        assert_eq!(
            session_path(Path::new("/s"), " Jane.Doe+x@Acme.example "),
            Path::new("/s/jane.doe+x@acme.example.json")
        );
        assert_eq!(
            session_path(Path::new("/s"), "../../etc/passwd"),
            Path::new("/s/.._.._etc_passwd.json")
        );
    }
}
