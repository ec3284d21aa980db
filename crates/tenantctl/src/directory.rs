//! `tenantctl create-table`, `import` and `export`.

use std::io::{self, Read};
use std::path::PathBuf;

use clap::Args;
use serde_json::json;
use tenant_admin::{DirectoryDocument, ImportOptions};

use crate::output::emit;
use crate::{CliError, Context};

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ImportArgs {
    /// The document (JSON), or `-` for standard input.
    pub file: PathBuf,
    /// Validate against the table and print the changes field by field, writing nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply changes that loosen a tenant (domains removed or widened, maxUsers removed or
    /// raised, resumed, self sign-up turned on, iamRoleArn removed); refused otherwise.
    #[arg(long)]
    pub allow_loosening: bool,
    /// Add members beyond a tenant's maxUsers (reported).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ExportArgs {
    /// Also show each tenant's userCount (informational: import ignores it).
    #[arg(long)]
    pub with_counts: bool,
}

pub async fn create_table(ctx: &mut Context<'_>) -> Result<(), CliError> {
    let created = ctx.table.create_table().await?;
    let table = ctx.table.table().to_string();
    emit(ctx, &json!({"table": table, "created": created}), |out| {
        if created {
            writeln!(out, "created table {table}")
        } else {
            writeln!(out, "table {table} already exists")
        }
    })
}

pub async fn import(ctx: &mut Context<'_>, a: &ImportArgs) -> Result<(), CliError> {
    let document = read_document(&a.file, ctx.stdin)?;
    let options = ImportOptions {
        allow_loosening: a.allow_loosening,
        force: a.force,
    };
    let plan = ctx
        .table
        .plan_import(&document, options, ctx.now, ctx.progress)
        .await;
    ctx.progress.finish();
    let plan = plan?;
    let table = ctx.table.table().to_string();
    if a.dry_run {
        let report = plan.report().clone();
        let refusal = plan.refusal();
        emit(
            ctx,
            &json!({"dryRun": true, "refused": refusal.is_some(), "report": report}),
            |out| {
                writeln!(
                    out,
                    "dry run: nothing was written to {table}; the import would do:"
                )?;
                write!(out, "{report}")
            },
        )?;
        // The real import would be refused: say so, with its exit status.
        return match refusal {
            Some(refused) => Err(refused.into()),
            None => Ok(()),
        };
    }
    let report = ctx.table.apply_import(plan, ctx.progress).await;
    ctx.progress.finish();
    let report = report?;
    emit(ctx, &json!({"dryRun": false, "report": report}), |out| {
        writeln!(out, "imported into {table}:")?;
        write!(out, "{report}")
    })
}

pub async fn export(ctx: &mut Context<'_>, a: &ExportArgs) -> Result<(), CliError> {
    let contents = ctx.table.export_with(ctx.progress).await;
    ctx.progress.finish();
    let contents = contents?;
    let mut document = DirectoryDocument::from_contents(&contents);
    if a.with_counts {
        for (doc, tenant) in document.tenants.iter_mut().zip(&contents.tenants) {
            doc.user_count = Some(tenant.user_count);
        }
    }
    serde_json::to_writer_pretty(&mut *ctx.out, &document).map_err(io::Error::from)?;
    writeln!(ctx.out)?;
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
    result.map_err(|e| CliError::Read {
        path,
        reason: e.kind().to_string(),
    })?;
    DirectoryDocument::from_json(&text)
        .map_err(|e| CliError::Admin(tenant_admin::AdminError::Invalid(e.problems)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit_code;

    #[test]
    fn documents_are_read_from_stdin_and_bad_json_is_invalid_input() {
        let doc =
            read_document(&"-".into(), &mut r#"{"tiers":[{"id":"basic"}]}"#.as_bytes()).unwrap();
        assert_eq!(doc.tiers[0].id, "basic");
        let err = read_document(&"-".into(), &mut "{not json".as_bytes()).unwrap_err();
        assert_eq!(exit_code(&err), 2);
        assert!(
            err.to_string().starts_with("not a directory document"),
            "{err}"
        );
        let err = read_document(&"/nonexistent/doc.json".into(), &mut io::empty()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot read /nonexistent/doc.json: entity not found"
        );
        assert_eq!(exit_code(&err), 2);
    }
}
