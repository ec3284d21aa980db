//! `tenantctl route add|remove|list`.

use clap::{Subcommand, ValueEnum};
use tenant_admin::routes::NewRoute;
use tenant_lookup::domain::model::RouteKind;

use crate::output::{emit, Table};
use crate::tenant::route_details;
use crate::{CliError, Context};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// KEY is a user pool id: every user of that pool (silo).
    Pool,
    /// KEY is an app client id of --pool.
    Client,
    /// KEY is an email domain, in --pool (a default when nothing explicit answers).
    Domain,
    /// KEY is an identity provider name of --pool.
    Idp,
}

impl From<Kind> for RouteKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Pool => RouteKind::Pool,
            Kind::Client => RouteKind::Client,
            Kind::Domain => RouteKind::Domain,
            Kind::Idp => RouteKind::Idp,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum RouteCommand {
    /// Route KEY to TENANT. Every kind but pool needs --pool: a route places users of one
    /// user pool only.
    Add {
        kind: Kind,
        key: String,
        tenant: String,
        #[arg(long)]
        pool: Option<String>,
        /// idp routes: the provider's email addresses may be auto-verified (within
        /// --email-domain, or the tenant's allowed domains).
        #[arg(long)]
        trust_email: bool,
        /// idp routes: a domain the provider may vouch for (repeatable).
        #[arg(long = "email-domain")]
        email_domains: Vec<String>,
    },
    /// Remove a route.
    Remove {
        kind: Kind,
        key: String,
        #[arg(long)]
        pool: Option<String>,
    },
    /// The routes of a tenant, or of all.
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
}

pub async fn run(ctx: &mut Context<'_>, command: &RouteCommand) -> Result<(), CliError> {
    match command {
        RouteCommand::Add {
            kind,
            key,
            tenant,
            pool,
            trust_email,
            email_domains,
        } => {
            let route = ctx
                .table
                .add_route(&NewRoute {
                    kind: (*kind).into(),
                    key: key.clone(),
                    tenant_id: tenant.clone(),
                    pool: pool.clone(),
                    trust_email: *trust_email,
                    email_domains: email_domains.clone(),
                })
                .await?;
            emit(ctx, &route, |out| {
                writeln!(
                    out,
                    "added {} route {}{} -> tenant {}",
                    route.kind,
                    route.key,
                    route
                        .user_pool_id
                        .as_ref()
                        .map(|p| format!(" (pool {p})"))
                        .unwrap_or_default(),
                    route.tenant_id
                )
            })
        }
        RouteCommand::Remove { kind, key, pool } => {
            let route = ctx
                .table
                .remove_route((*kind).into(), key, pool.as_deref())
                .await?;
            emit(ctx, &route, |out| {
                writeln!(
                    out,
                    "removed {} route {}{} (tenant {})",
                    route.kind,
                    route.key,
                    route
                        .user_pool_id
                        .as_ref()
                        .map(|p| format!(" (pool {p})"))
                        .unwrap_or_default(),
                    route.tenant_id
                )
            })
        }
        RouteCommand::List { tenant } => {
            let routes = ctx.table.list_routes(tenant.as_deref()).await?;
            emit(ctx, &routes, |out| {
                let mut table = Table::new(&["TENANT", "KIND", "KEY", "POOL", "DETAILS"]);
                for r in &routes {
                    table.row(vec![
                        r.tenant_id.clone(),
                        r.kind.clone(),
                        r.key.clone(),
                        r.user_pool_id.clone().unwrap_or_else(|| "-".into()),
                        route_details(r),
                    ]);
                }
                table.write(out, "")
            })
        }
    }
}
