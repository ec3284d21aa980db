//! What every test of the workspace shares: the directory seeds, event loading, a moto server
//! standing in for DynamoDB, handler setups over the in-memory directory, log capture, and the
//! processes of the end-to-end tests (`cargo lambda watch`, the local pool's emulator and
//! Lambda adapter), each started in its own process group and stopped when dropped.

use std::path::{Path, PathBuf};

pub mod access;
pub mod cognito_local;
pub mod events;
pub mod fault_proxy;
pub mod gen;
pub mod handlers;
pub mod invariants;
pub mod lambda_watch;
pub mod logs;
pub mod moto;
pub mod process;
pub mod runtime;
pub mod seeds;

pub use fault_proxy::{Fault, FaultProxy, Rule};
pub use lambda_watch::LambdaWatch;
pub use moto::{
    client, fresh_table, moto, production_client, seeded_table, unique_table_name,
    InjectedConflicts, MotoServer, RequestCounter, TestTable, REGION,
};

/// The workspace root (this crate is `crates/test-support`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/test-support sits two levels below the workspace root")
        .to_path_buf()
}
