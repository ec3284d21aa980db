//! `tenantctl`: admin CLI over the tenant directory table.
//!
//! The commands run against a [`TenantTable`] given by the caller, so they are testable
//! without a process; `main.rs` only builds the SDK configuration and the table.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use tenant_admin::{DirectoryDocument, ImportError, TenantTable};
use tenant_lookup::DirectoryError;

/// Admin CLI for the tenant directory (a DynamoDB table). The endpoint, region and credentials
/// come from the AWS SDK's usual environment (e.g. `AWS_ENDPOINT_URL_DYNAMODB` for a local
/// stand-in).
#[derive(Debug, Parser)]
#[command(name = "tenantctl", version)]
pub struct Cli {
    /// The directory table.
    #[arg(long, env = "TENANT_TABLE", global = true)]
    pub table: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

pub mod pool;

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Create the table (pay per request, GSI1, TTL on expiresAt). Does nothing if it exists.
    CreateTable,
    /// Import a directory document: an upsert, items the document does not mention are left
    /// alone. Nothing is written when the document has a problem.
    Import {
        /// The document (JSON), or `-` for standard input.
        file: PathBuf,
        /// Validate against the table and print the plan without writing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the whole directory as a document (pretty JSON) on standard output.
    Export {
        /// Also show each tenant's userCount (informational: import ignores it and recounts).
        #[arg(long)]
        with_counts: bool,
    },
    /// Attach the functions to an existing user pool, or check that they are attached
    /// (Cognito, not the table: see `pool.rs`).
    #[command(subcommand)]
    Pool(pool::PoolCommand),
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("no table given: pass --table or set TENANT_TABLE")]
    NoTable,
    #[error("cannot read {path}")]
    Read { path: String, source: io::Error },
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error("cannot write the output")]
    Output(#[from] io::Error),
    #[error("`pool` commands talk to Cognito, not to the table: run them through `pool::execute`")]
    NotATableCommand,
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

/// Runs one command. `stdin` is read for `import -`; `now_epoch` stamps imported memberships.
pub async fn execute(
    directory: &TenantTable,
    command: &Command,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    now_epoch: i64,
) -> Result<(), CliError> {
    match command {
        Command::CreateTable => {
            if directory.create_table().await? {
                writeln!(out, "created table {}", directory.table())?;
            } else {
                writeln!(out, "table {} already exists", directory.table())?;
            }
        }
        Command::Import { file, dry_run } => {
            let document = read_document(file, stdin)?;
            let plan = directory.plan_import(&document, now_epoch).await?;
            if *dry_run {
                writeln!(
                    out,
                    "dry run: nothing was written to {}; the import would do:",
                    directory.table()
                )?;
                write!(out, "{}", plan.report())?;
            } else {
                let report = directory.apply_import(plan).await?;
                writeln!(out, "imported into {}:", directory.table())?;
                write!(out, "{report}")?;
            }
        }
        Command::Export { with_counts } => {
            let contents = directory.export().await?;
            let mut document = DirectoryDocument::from_contents(&contents);
            if *with_counts {
                for (doc, tenant) in document.tenants.iter_mut().zip(&contents.tenants) {
                    doc.user_count = Some(tenant.user_count);
                }
            }
            serde_json::to_writer_pretty(&mut *out, &document).map_err(io::Error::from)?;
            writeln!(out)?;
        }
        Command::Pool(_) => return Err(CliError::NotATableCommand),
    }
    out.flush()?;
    Ok(())
}

/// Reads and parses a document from `file`, or from `stdin` when `file` is `-`.
pub fn read_document(file: &PathBuf, stdin: &mut dyn Read) -> Result<DirectoryDocument, CliError> {
    let mut text = String::new();
    let (path, result) = if file.as_os_str() == "-" {
        (
            "standard input".to_string(),
            stdin.read_to_string(&mut text).map(drop),
        )
    } else {
        (
            file.display().to_string(),
            std::fs::read_to_string(file).map(|t| text = t),
        )
    };
    result.map_err(|source| CliError::Read { path, source })?;
    DirectoryDocument::from_json(&text).map_err(|e| ImportError::Invalid(e).into())
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
    fn the_table_may_follow_the_subcommand() {
        let cli = Cli::try_parse_from(["tenantctl", "import", "-", "--dry-run", "--table", "dir"])
            .unwrap();
        assert_eq!(cli.table().unwrap(), "dir");
        assert_eq!(
            cli.command,
            Command::Import {
                file: "-".into(),
                dry_run: true
            }
        );
        let cli = Cli::try_parse_from(["tenantctl", "--table", "dir", "export"]).unwrap();
        assert_eq!(cli.command, Command::Export { with_counts: false });
        let cli = Cli::try_parse_from(["tenantctl", "--table", "dir", "export", "--with-counts"])
            .unwrap();
        assert_eq!(cli.command, Command::Export { with_counts: true });
        assert!(
            Cli::try_parse_from(["tenantctl", "import"]).is_err(),
            "FILE is required"
        );
    }

    #[test]
    fn a_missing_table_is_a_clear_error() {
        let cli = Cli {
            table: Some(" ".into()),
            command: Command::Export { with_counts: false },
        };
        assert_eq!(
            cli.table().unwrap_err().to_string(),
            "no table given: pass --table or set TENANT_TABLE"
        );
    }

    #[test]
    fn documents_are_read_from_stdin_and_bad_json_is_an_invalid_document() {
        let doc =
            read_document(&"-".into(), &mut r#"{"tiers":[{"id":"basic"}]}"#.as_bytes()).unwrap();
        assert_eq!(doc.tiers[0].id, "basic");
        let err = read_document(&"-".into(), &mut "{not json".as_bytes()).unwrap_err();
        assert!(
            matches!(err, CliError::Import(ImportError::Invalid(_))),
            "{err}"
        );
        assert!(
            err.to_string()
                .starts_with("the directory document has 1 problem:"),
            "{err}"
        );
        let err = read_document(&"/nonexistent/doc.json".into(), &mut io::empty()).unwrap_err();
        assert_eq!(err.to_string(), "cannot read /nonexistent/doc.json");
        let source = std::error::Error::source(&err)
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(source.contains("No such file"), "{source}");
    }
}
