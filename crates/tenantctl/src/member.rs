//! `tenantctl member add|remove|roles|list|show`.

use clap::Subcommand;

use crate::output::{emit, list, time, Table};
use crate::{CliError, Context};

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum MemberCommand {
    /// Add user SUB of POOL to TENANT and take a seat (within maxUsers unless --force).
    Add {
        pool: String,
        sub: String,
        tenant: String,
        /// A role (repeatable; default: the tenant's default role).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Exceed maxUsers deliberately (reported).
        #[arg(long)]
        force: bool,
    },
    /// Remove a membership and free its seat. The user is not placed again by the triggers
    /// (their provisioning guard is kept) unless --allow-rejoin.
    Remove {
        pool: String,
        sub: String,
        tenant: String,
        /// Also remove the provisioning guard: the triggers may place the user again.
        #[arg(long)]
        allow_rejoin: bool,
    },
    /// Replace a member's roles.
    Roles {
        pool: String,
        sub: String,
        tenant: String,
        #[arg(required = true)]
        roles: Vec<String>,
    },
    /// The members of a tenant, a page at a time with --limit.
    List {
        tenant: String,
        #[arg(long)]
        limit: Option<usize>,
        /// Continue after this member (the `next` of the previous page).
        #[arg(long)]
        after: Option<String>,
    },
    /// A user's memberships and provisioning guard.
    Show { pool: String, sub: String },
}

pub async fn run(ctx: &mut Context<'_>, command: &MemberCommand) -> Result<(), CliError> {
    match command {
        MemberCommand::Add {
            pool,
            sub,
            tenant,
            roles,
            force,
        } => {
            let added = ctx
                .table
                .add_member(pool, sub, tenant, roles, *force, ctx.now)
                .await?;
            emit(ctx, &added, |out| {
                let max = added
                    .max_users
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| "unlimited".into());
                writeln!(
                    out,
                    "added {} (pool {}) to tenant {} as {}; seats {} of {}{}",
                    added.member.sub,
                    added.member.user_pool_id,
                    added.member.tenant_id,
                    list(&added.member.roles),
                    added.user_count,
                    max,
                    if added.over_limit {
                        " (over maxUsers: --force)"
                    } else {
                        ""
                    }
                )
            })
        }
        MemberCommand::Remove {
            pool,
            sub,
            tenant,
            allow_rejoin,
        } => {
            let removed = ctx
                .table
                .remove_member(pool, sub, tenant, *allow_rejoin, ctx.now)
                .await?;
            emit(ctx, &removed, |out| {
                writeln!(
                    out,
                    "removed {} (pool {}) from tenant {}; {}",
                    removed.member.sub,
                    removed.member.user_pool_id,
                    removed.member.tenant_id,
                    if removed.guard == "kept" {
                        "the triggers will not place this user again (guard kept; --allow-rejoin lifts it)"
                    } else {
                        "guard removed: the triggers may place this user again"
                    }
                )
            })
        }
        MemberCommand::Roles {
            pool,
            sub,
            tenant,
            roles,
        } => {
            let change = ctx.table.set_member_roles(pool, sub, tenant, roles).await?;
            emit(ctx, &change, |out| {
                if change.before == change.after {
                    writeln!(out, "{sub} in {tenant}: roles {} (unchanged)", change.after)
                } else {
                    writeln!(
                        out,
                        "{sub} in {tenant}: roles {} -> {}",
                        change.before, change.after
                    )
                }
            })
        }
        MemberCommand::List {
            tenant,
            limit,
            after,
        } => {
            let page = ctx
                .table
                .list_members(tenant, after.as_deref(), *limit)
                .await?;
            emit(ctx, &page, |out| {
                let mut table = Table::new(&["POOL", "SUB", "ROLES", "STATUS", "SOURCE", "SINCE"]);
                for m in &page.items {
                    table.row(vec![
                        m.user_pool_id.clone(),
                        m.sub.clone(),
                        list(&m.roles),
                        m.status.clone(),
                        m.source.clone(),
                        time(m.created_at),
                    ]);
                }
                table.write(out, "")?;
                if let Some(next) = &page.next {
                    writeln!(out, "more: tenantctl member list {tenant} --after {next}")?;
                }
                Ok(())
            })
        }
        MemberCommand::Show { pool, sub } => {
            let d = ctx.table.show_member(pool, sub).await?;
            emit(ctx, &d, |out| {
                writeln!(out, "user {} of pool {}", d.sub, d.user_pool_id)?;
                if d.memberships.is_empty() {
                    writeln!(out, "memberships: none")?;
                } else {
                    let mut table = Table::new(&["TENANT", "ROLES", "STATUS", "SOURCE", "SINCE"]);
                    for m in &d.memberships {
                        table.row(vec![
                            m.tenant_id.clone(),
                            list(&m.roles),
                            m.status.clone(),
                            m.source.clone(),
                            time(m.created_at),
                        ]);
                    }
                    table.write(out, "  ")?;
                }
                match &d.guard {
                    Some(g) => writeln!(
                        out,
                        "guard: placed into {} at {}: the triggers do not provision this user again",
                        g.tenant_id,
                        time(g.created_at)
                    ),
                    None => writeln!(
                        out,
                        "guard: none (the triggers may place this user when they have no membership)"
                    ),
                }
            })
        }
    }
}
