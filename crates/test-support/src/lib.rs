//! What every test of the workspace shares: the directory seeds, event loading, a moto server
//! standing in for DynamoDB, handler setups over the in-memory directory, and log capture.

use std::path::{Path, PathBuf};

pub mod events;
pub mod fault_proxy;
pub mod gen;
pub mod handlers;
pub mod invariants;
pub mod logs;
pub mod moto;
pub mod seeds;

pub use fault_proxy::{Fault, FaultProxy, Rule};
pub use moto::{
    client, fresh_table, moto, production_client, seeded_table, unique_table_name,
    InjectedConflicts, MotoServer, RequestCounter, TestTable,
};

/// The workspace root (this crate is `crates/test-support`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/test-support sits two levels below the workspace root")
        .to_path_buf()
}
