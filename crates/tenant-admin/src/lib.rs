//! Administration of the tenant directory: the directory document, import and export, the
//! commands of `tenantctl` (tenants, tiers, routes, invitations, members, reconcile, explain)
//! and table creation. `tenantctl` is its front end; the trigger functions never link it.

// `explain` holds each handler's future (the functions' whole decision path) in one.
#![recursion_limit = "256"]

pub mod document;
pub mod error;
pub mod explain;
pub mod export;
pub mod import;
pub mod invitations;
pub mod members;
pub mod progress;
pub mod reconcile;
pub mod routes;
pub mod table;
pub mod tenants;
pub mod tiers;
pub mod validate;
pub mod views;

pub use document::{DirectoryDocument, DocumentError, Known};
pub use error::{AdminError, ErrorKind};
pub use import::{ImportOptions, ImportPlan, ImportReport};
pub use progress::Progress;
pub use table::TenantTable;
