//! Tenant directory, tenant resolution and the Cognito trigger handlers shared by the
//! `pre-signup`, `post-confirmation` and `pre-token-generation` functions.

pub mod admission;
pub mod cache;
pub mod claims;
pub mod clock;
pub mod config;
pub mod directory;
pub mod document;
pub mod dynamo;
pub mod error;
pub mod events;
pub mod logging;
pub mod memory;
pub mod model;
pub mod post_confirmation;
pub mod pre_signup;
pub mod pre_token;
pub mod provision;
pub mod resolve;
pub mod runtime;
pub mod trigger;

pub use cache::CachedDirectory;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::Config;
pub use directory::{Directory, DirectoryError, ProvisionOutcome, ProvisionRequest};
pub use document::{DirectoryContents, DirectoryDocument, DocumentError};
pub use error::{DenyCode, TriggerError};
pub use memory::InMemoryDirectory;
pub use post_confirmation::PostConfirmation;
pub use pre_signup::PreSignUp;
pub use pre_token::PreTokenGeneration;
pub use trigger::Trigger;
