//! `tenantctl`: admin CLI over the tenant directory table.
//!
//! One module per command group (`tenant`, `tier`, `route`, `invite`, `member`, `reconcile`,
//! `explain`, and `directory` for create-table, import and export); each parses its arguments
//! with clap and runs against a [`TenantTable`] given by the caller, so the commands are
//! testable without a process. `main.rs` only builds the SDK configuration and maps errors to
//! exit codes ([`exit_code`]).

use std::io::{self, Read, Write};

use clap::{Parser, Subcommand};
use tenant_admin::{AdminError, ErrorKind, Progress, TenantTable};

pub mod directory;
pub mod explain;
pub mod invite;
pub mod member;
pub mod output;
pub mod pool;
pub mod progress;
pub mod reconcile;
pub mod route;
pub mod tenant;
pub mod tier;

/// Admin CLI for the tenant directory (a DynamoDB table). The endpoint, region and credentials
/// come from the AWS SDK's usual environment (e.g. `AWS_ENDPOINT_URL_DYNAMODB` for a local
/// stand-in).
///
/// Exit status: 0 success, 2 invalid input, 3 something named does not exist, 4 a conflict
/// (something already exists, or the directory changed under the command), 5 the directory is
/// unreachable, 1 anything else.
#[derive(Debug, Parser)]
#[command(name = "tenantctl", version)]
pub struct Cli {
    /// The directory table.
    #[arg(long, env = "TENANT_TABLE", global = true)]
    pub table: Option<String>,

    /// Print JSON instead of a table or a sentence.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Create, show, list, update, suspend, resume and delete tenants.
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
    /// Set and list tiers (the scopes their tenants' tokens carry).
    #[command(subcommand)]
    Tier(tier::TierCommand),
    /// Add, remove and list routes (pool, app client, email domain, identity provider).
    #[command(subcommand)]
    Route(route::RouteCommand),
    /// Create, list and revoke invitations (each admits once).
    #[command(subcommand)]
    Invite(invite::InviteCommand),
    /// Add, remove, list and show members, and set their roles.
    #[command(subcommand)]
    Member(member::MemberCommand),
    /// Recount userCount from the memberships and report (and correct) drift.
    Reconcile(reconcile::ReconcileArgs),
    /// Show why a function answers an event as it does, against the live directory, writing
    /// nothing.
    Explain(explain::ExplainArgs),
    /// Import a directory document: each entry declares its item; nothing is written when
    /// anything is wrong.
    Import(directory::ImportArgs),
    /// Print the whole directory as a document (JSON) on standard output.
    Export(directory::ExportArgs),
    /// Create the table (pay per request, GSI1, TTL on expiresAt). Does nothing if it exists.
    CreateTable,
    /// Attach the functions to an existing user pool, or check that they are attached
    /// (Cognito, not the table: see `pool.rs`).
    #[command(subcommand)]
    Pool(pool::PoolCommand),
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("no table given: pass --table or set TENANT_TABLE")]
    NoTable,
    /// An argument or input that is not acceptable (exit 2).
    #[error("{0}")]
    Usage(String),
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error("cannot write the output")]
    Output(#[from] io::Error),
}

/// The exit status of an error: 2 invalid input, 3 not found, 4 conflict, 5 unreachable,
/// 1 anything else.
pub fn exit_code(e: &CliError) -> u8 {
    match e {
        CliError::NoTable | CliError::Usage(_) | CliError::Read { .. } => 2,
        CliError::Admin(a) => match a.kind() {
            ErrorKind::Invalid => 2,
            ErrorKind::NotFound => 3,
            ErrorKind::Conflict => 4,
            ErrorKind::Unreachable => 5,
            ErrorKind::Malformed => 1,
        },
        CliError::Output(_) => 1,
    }
}

impl Cli {
    /// The table name, from `--table` or `TENANT_TABLE`.
    pub fn table(&self) -> Result<&str, CliError> {
        self.table
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .ok_or(CliError::NoTable)
    }
}

/// What a command runs with.
pub struct Context<'a> {
    pub table: &'a TenantTable,
    pub out: &'a mut dyn Write,
    pub stdin: &'a mut dyn Read,
    /// Print JSON.
    pub json: bool,
    /// Now, in epoch seconds (stamps, expiry).
    pub now: i64,
    pub progress: &'a dyn Progress,
    /// The process environment, for the function settings `explain` reads.
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// Runs one command.
pub async fn execute(ctx: &mut Context<'_>, command: &Command) -> Result<(), CliError> {
    match command {
        Command::Tenant(c) => tenant::run(ctx, c).await?,
        Command::Tier(c) => tier::run(ctx, c).await?,
        Command::Route(c) => route::run(ctx, c).await?,
        Command::Invite(c) => invite::run(ctx, c).await?,
        Command::Member(c) => member::run(ctx, c).await?,
        Command::Reconcile(a) => reconcile::run(ctx, a).await?,
        Command::Explain(a) => explain::run(ctx, a).await?,
        Command::Import(a) => directory::import(ctx, a).await?,
        Command::Export(a) => directory::export(ctx, a).await?,
        Command::CreateTable => directory::create_table(ctx).await?,
        Command::Pool(_) => {
            return Err(CliError::Usage(
                "pool commands talk to Cognito, not to the table: run them with pool::execute"
                    .into(),
            ))
        }
    }
    ctx.out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_may_follow_the_subcommand() {
        let cli = Cli::try_parse_from([
            "tenantctl",
            "import",
            "-",
            "--dry-run",
            "--table",
            "dir",
            "--json",
        ])
        .unwrap();
        assert_eq!(cli.table().unwrap(), "dir");
        assert!(cli.json);
        let Command::Import(a) = &cli.command else {
            panic!("{:?}", cli.command)
        };
        assert!(a.dry_run && !a.allow_loosening);
        assert!(
            Cli::try_parse_from(["tenantctl", "import"]).is_err(),
            "FILE is required"
        );
    }

    #[test]
    fn a_missing_table_is_a_clear_error() {
        let cli = Cli {
            table: Some(" ".into()),
            json: false,
            command: Command::CreateTable,
        };
        let e = cli.table().unwrap_err();
        assert_eq!(
            e.to_string(),
            "no table given: pass --table or set TENANT_TABLE"
        );
        assert_eq!(exit_code(&e), 2);
    }

    #[test]
    fn every_kind_of_failure_has_its_exit_code() {
        let code = |e: AdminError| exit_code(&CliError::Admin(e));
        assert_eq!(code(AdminError::invalid("x")), 2);
        assert_eq!(code(AdminError::NotFound("x".into())), 3);
        assert_eq!(code(AdminError::Conflict("x".into())), 4);
        assert_eq!(code(AdminError::Unreachable("x".into())), 5);
        assert_eq!(code(AdminError::Malformed("x".into())), 1);
    }
}
