//! Tenant directory, tenant resolution and the Cognito trigger handlers shared by the
//! `pre-signup`, `post-confirmation` and `pre-token-generation` functions.

pub mod directory;
pub mod document;
pub mod memory;
pub mod model;

pub use directory::{Directory, DirectoryError, ProvisionOutcome, ProvisionRequest};
pub use document::{DirectoryContents, DirectoryDocument, DocumentError};
pub use memory::InMemoryDirectory;
