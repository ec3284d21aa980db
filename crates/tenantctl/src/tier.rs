//! `tenantctl tier set|list`.

use clap::Subcommand;
use serde_json::json;

use crate::output::{emit, list, Table};
use crate::{CliError, Context};

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum TierCommand {
    /// Create a tier, or replace its scopes (none without --scope).
    Set {
        id: String,
        /// A scope the tier's tenants' access tokens get (repeatable).
        #[arg(long = "scope")]
        scopes: Vec<String>,
    },
    /// List the tiers.
    List,
}

pub async fn run(ctx: &mut Context<'_>, command: &TierCommand) -> Result<(), CliError> {
    match command {
        TierCommand::Set { id, scopes } => {
            let set = ctx.table.set_tier(id, scopes).await?;
            emit(ctx, &set, |out| writeln!(out, "{}", set.describe()))
        }
        TierCommand::List => {
            let tiers = ctx.table.list_tiers().await?;
            let value: Vec<_> = tiers
                .iter()
                .map(|t| json!({"id": t.id, "scopes": t.scopes}))
                .collect();
            emit(ctx, &value, |out| {
                let mut table = Table::new(&["TIER", "SCOPES"]);
                for t in &tiers {
                    table.row(vec![t.id.clone(), list(&t.scopes)]);
                }
                table.write(out, "")
            })
        }
    }
}
