//! Administration of the tenant directory: the directory document, import, export and table
//! creation. `tenantctl` is its front end; the trigger functions never link it.

pub mod document;
pub mod export;
pub mod import;
pub mod table;

pub use document::{DirectoryDocument, DocumentError};
pub use import::{ImportError, ImportPlan, ImportReport};
pub use table::TenantTable;
