//! A local user pool on cognito-local, wired to the three triggers, and a user's life against
//! it: sign up, confirm, sign in, refresh, and the tokens checked against the pool's JWKS.
//!
//! Used by the `localpool` command (`make pool` and the README's walk-through) and by the
//! local pool's end-to-end test. Local development only: nothing here is linked into the
//! functions.

use std::path::PathBuf;

pub mod emulator;
pub mod pool;
pub mod state;
pub mod template;
pub mod tokens;

pub use pool::{Created, LocalPool, SignedUp};
pub use state::{session_path, PoolState, Session};
pub use template::PoolTemplate;
pub use tokens::{TokenUse, VerifiedToken, Verifier};

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The Cognito API refused: its error code and message, as any SDK caller sees them.
    #[error("{operation}: {code}: {message}")]
    Cognito {
        operation: &'static str,
        code: String,
        message: String,
    },
    #[error("{operation}: the emulator did not answer: {detail}")]
    Transport {
        operation: &'static str,
        detail: String,
    },
    #[error("{0}")]
    Request(String),
    #[error("pool template: {0}")]
    Template(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {detail}", path.display())]
    State { path: PathBuf, detail: String },
    #[error("no app client '{name}' in this pool (it has: {known})")]
    UnknownClient { name: String, known: String },
    #[error("no user '{0}' in the emulator's pool")]
    NoSuchUser(String),
    #[error("'{0}' has no confirmation code waiting: confirmed already?")]
    NothingToConfirm(String),
    #[error("cannot read the pool's JWKS at {url}: {detail}")]
    Jwks { url: String, detail: String },
    #[error("the {token_use} token does not verify: {detail}")]
    InvalidToken {
        token_use: &'static str,
        detail: String,
    },
}

impl PoolError {
    /// The Cognito error code (`UserLambdaValidationException`, ...), if the API refused.
    pub fn code(&self) -> Option<&str> {
        match self {
            PoolError::Cognito { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The Cognito error message (`PreSignUp failed with error ...`), if the API refused.
    pub fn message(&self) -> Option<&str> {
        match self {
            PoolError::Cognito { message, .. } => Some(message),
            _ => None,
        }
    }
}
