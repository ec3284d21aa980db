//! The library of the `pre-signup`, `post-confirmation` and `pre-token-generation` functions.
//!
//! Layers, innermost first (see `docs/architecture.md`):
//! - [`domain`]: the decisions (resolution, admission, provisioning, claims), pure;
//! - [`store`]: the tenant directory behind the [`store::Directory`] trait (DynamoDB, in memory,
//!   cached), the key scheme and the item codec;
//! - [`cognito`]: the trigger events read leniently and the responses written exactly;
//! - [`handlers`]: each trigger once, parse → decide → render → log;
//! - [`lambda`]: the wiring every function binary shares; [`telemetry`]: its log context and
//!   metrics.

pub mod clock;
pub mod cognito;
pub mod config;
pub mod domain;
pub mod handlers;
pub mod lambda;
pub mod logging;
pub mod store;
pub mod telemetry;

#[cfg(test)]
mod fixtures;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::Config;
pub use domain::denial::{Denial, DenyCode};
pub use handlers::{Explained, PostConfirmation, PreSignUp, PreTokenGeneration, Trigger};
pub use store::cache::CachedDirectory;
pub use store::dynamo::DynamoDirectory;
pub use store::memory::InMemoryDirectory;
pub use store::{Directory, DirectoryContents, DirectoryError, ProvisionOutcome, ProvisionRequest};
