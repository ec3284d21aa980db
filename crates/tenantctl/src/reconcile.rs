//! `tenantctl reconcile [--tenant ID] [--dry-run]`.

use clap::Args;

use crate::output::{emit, Table};
use crate::{CliError, Context};

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ReconcileArgs {
    /// Only this tenant.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Report drift without correcting it.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(ctx: &mut Context<'_>, a: &ReconcileArgs) -> Result<(), CliError> {
    let report = ctx.table.reconcile(a.tenant.as_deref(), a.dry_run).await?;
    emit(ctx, &report, |out| {
        let mut table = Table::new(&["TENANT", "USERCOUNT", "MEMBERSHIPS", "DRIFT"]);
        for r in &report.tenants {
            let stored = r
                .user_count
                .map(|c| c.to_string())
                .unwrap_or_else(|| "missing".into());
            let drift = match (r.drifted(), r.written) {
                (false, _) => "none".to_string(),
                (true, true) => format!("corrected {stored} -> {}", r.memberships),
                (true, false) => format!("{stored} should be {}", r.memberships),
            };
            table.row(vec![
                r.tenant_id.clone(),
                stored,
                r.memberships.to_string(),
                drift,
            ]);
        }
        table.write(out, "")?;
        let drifted = report.drifted().count();
        writeln!(
            out,
            "{} tenants counted, {drifted} drifted{}",
            report.tenants.len(),
            if a.dry_run && drifted > 0 {
                " (dry run: nothing written)"
            } else {
                ""
            }
        )
    })
}
