//! `tenantctl tenant create|show|list|update|suspend|resume|delete`.

use clap::Subcommand;
use tenant_admin::import::FieldChange;
use tenant_admin::tenants::{NewTenant, TenantUpdate, Updated};
use tenant_admin::views::TenantView;
use tenant_lookup::domain::model::TenantStatus;

use crate::output::{emit, list, time, Table};
use crate::{CliError, Context};

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant (active, no seat taken).
    Create {
        id: String,
        #[arg(long)]
        name: String,
        /// An existing tier (tenantctl tier set creates one).
        #[arg(long)]
        tier: String,
        /// Anyone routed to the tenant may sign up (else only invited users).
        #[arg(long)]
        self_sign_up: bool,
        /// Only addresses of these domains may join (repeatable; none: any domain).
        #[arg(long = "allowed-email-domain")]
        allowed_email_domains: Vec<String>,
        /// At most this many members (unlimited without it).
        #[arg(long)]
        max_users: Option<u32>,
        /// The role of members who were not given one (default: member).
        #[arg(long)]
        default_role: Option<String>,
        /// The IAM role the tenant's ID tokens carry (the only and preferred role).
        #[arg(long)]
        iam_role_arn: Option<String>,
    },
    /// A tenant's settings, seats, routes, open invitations and member count.
    Show { id: String },
    /// The tenants, a page at a time with --limit.
    List {
        /// At most this many tenants.
        #[arg(long)]
        limit: Option<usize>,
        /// Continue after this tenant (the `next` of the previous page).
        #[arg(long)]
        after: Option<String>,
    },
    /// Change only the settings given (each on condition that it is still what was read).
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        tier: Option<String>,
        #[arg(long, value_name = "true|false")]
        self_sign_up: Option<bool>,
        /// The domains allowed, comma separated (replaces the list).
        #[arg(
            long,
            value_delimiter = ',',
            conflicts_with = "no_allowed_email_domains"
        )]
        allowed_email_domains: Option<Vec<String>>,
        /// Allow any domain.
        #[arg(long)]
        no_allowed_email_domains: bool,
        #[arg(long, conflicts_with = "unlimited")]
        max_users: Option<u32>,
        /// No seat limit.
        #[arg(long)]
        unlimited: bool,
        #[arg(long)]
        default_role: Option<String>,
        #[arg(long, conflicts_with = "no_iam_role")]
        iam_role_arn: Option<String>,
        /// Remove the tenant's IAM role.
        #[arg(long)]
        no_iam_role: bool,
    },
    /// Suspend a tenant: no sign-up, no provisioning, no token (refresh included).
    Suspend { id: String },
    /// Resume a suspended tenant.
    Resume { id: String },
    /// Delete a tenant; refused while it has members, routes or invitations, unless --force
    /// removes them too (members' provisioning guards stay).
    Delete {
        id: String,
        #[arg(long)]
        force: bool,
    },
}

pub async fn run(ctx: &mut Context<'_>, command: &TenantCommand) -> Result<(), CliError> {
    match command {
        TenantCommand::Create {
            id,
            name,
            tier,
            self_sign_up,
            allowed_email_domains,
            max_users,
            default_role,
            iam_role_arn,
        } => {
            let created = ctx
                .table
                .create_tenant(&NewTenant {
                    id: id.clone(),
                    name: name.clone(),
                    tier: tier.clone(),
                    self_sign_up: *self_sign_up,
                    allowed_email_domains: allowed_email_domains.clone(),
                    max_users: *max_users,
                    default_role: default_role.clone(),
                    iam_role_arn: iam_role_arn.clone(),
                })
                .await?;
            emit(ctx, &created, |out| {
                writeln!(
                    out,
                    "created tenant {} ({}), tier {}, seats 0 of {}",
                    created.id,
                    created.name,
                    created.tier,
                    seats_max(&created)
                )
            })
        }
        TenantCommand::Show { id } => {
            let d = ctx.table.show_tenant(id, ctx.now).await?;
            emit(ctx, &d, |out| {
                let t = &d.tenant;
                let mut table = Table::new(&["tenant", &format!("{} ({})", t.id, t.name)]);
                for (k, v) in [
                    ("status", t.status.clone()),
                    ("tier", t.tier.clone()),
                    (
                        "seats",
                        format!("{} of {} (userCount)", t.user_count, seats_max(t)),
                    ),
                    ("members", format!("{} (index)", d.members)),
                    ("selfSignUp", t.self_sign_up.to_string()),
                    ("allowedEmailDomains", list(&t.allowed_email_domains)),
                    ("defaultRole", t.default_role.clone()),
                    (
                        "iamRoleArn",
                        t.iam_role_arn.clone().unwrap_or_else(|| "none".into()),
                    ),
                ] {
                    table.row(vec![k.to_string(), v]);
                }
                table.write(out, "")?;
                writeln!(out)?;
                if d.routes.is_empty() {
                    writeln!(out, "routes: none")?;
                } else {
                    writeln!(out, "routes:")?;
                    let mut routes = Table::new(&["KIND", "KEY", "POOL", "DETAILS"]);
                    for r in &d.routes {
                        routes.row(vec![
                            r.kind.clone(),
                            r.key.clone(),
                            r.user_pool_id.clone().unwrap_or_else(|| "-".into()),
                            route_details(r),
                        ]);
                    }
                    routes.write(out, "  ")?;
                }
                if d.open_invitations.is_empty() {
                    writeln!(out, "open invitations: none")
                } else {
                    writeln!(out, "open invitations:")?;
                    let mut invitations = Table::new(&["EMAIL", "POOL", "ROLES", "EXPIRES"]);
                    for i in &d.open_invitations {
                        invitations.row(vec![
                            i.email.clone(),
                            i.user_pool_id.clone(),
                            list(&i.roles),
                            i.expires_at.map(time).unwrap_or_else(|| "never".into()),
                        ]);
                    }
                    invitations.write(out, "  ")
                }
            })
        }
        TenantCommand::List { limit, after } => {
            let page = ctx.table.list_tenants(after.as_deref(), *limit).await?;
            emit(ctx, &page, |out| {
                let mut table =
                    Table::new(&["TENANT", "NAME", "TIER", "STATUS", "SEATS", "SELF-SIGN-UP"]);
                for t in &page.items {
                    table.row(vec![
                        t.id.clone(),
                        t.name.clone(),
                        t.tier.clone(),
                        t.status.clone(),
                        format!("{}/{}", t.user_count, seats_max(t)),
                        t.self_sign_up.to_string(),
                    ]);
                }
                table.write(out, "")?;
                if let Some(next) = &page.next {
                    writeln!(out, "more: tenantctl tenant list --after {next}")?;
                }
                Ok(())
            })
        }
        TenantCommand::Update {
            id,
            name,
            tier,
            self_sign_up,
            allowed_email_domains,
            no_allowed_email_domains,
            max_users,
            unlimited,
            default_role,
            iam_role_arn,
            no_iam_role,
        } => {
            let update = TenantUpdate {
                name: name.clone(),
                tier: tier.clone(),
                status: None,
                self_sign_up: *self_sign_up,
                allowed_email_domains: if *no_allowed_email_domains {
                    Some(vec![])
                } else {
                    allowed_email_domains.clone()
                },
                max_users: if *unlimited {
                    Some(None)
                } else {
                    max_users.map(Some)
                },
                default_role: default_role.clone(),
                iam_role_arn: if *no_iam_role {
                    Some(None)
                } else {
                    iam_role_arn.clone().map(Some)
                },
            };
            if update == TenantUpdate::default() {
                return Err(CliError::Usage(
                    "nothing to update: give at least one setting (see tenantctl tenant update --help)"
                        .into(),
                ));
            }
            let updated = ctx.table.update_tenant(id, &update).await?;
            print_updated(ctx, &updated)
        }
        TenantCommand::Suspend { id } | TenantCommand::Resume { id } => {
            let status = if matches!(command, TenantCommand::Suspend { .. }) {
                TenantStatus::Suspended
            } else {
                TenantStatus::Active
            };
            let updated = ctx
                .table
                .update_tenant(
                    id,
                    &TenantUpdate {
                        status: Some(status),
                        ..Default::default()
                    },
                )
                .await?;
            print_updated(ctx, &updated)
        }
        TenantCommand::Delete { id, force } => {
            let deleted = ctx.table.delete_tenant(id, *force).await?;
            emit(ctx, &deleted, |out| {
                writeln!(
                    out,
                    "deleted tenant {} ({} members, {} routes, {} invitations removed)",
                    deleted.tenant_id, deleted.members, deleted.routes, deleted.invitations
                )
            })
        }
    }
}

fn seats_max(t: &TenantView) -> String {
    t.max_users
        .map(|m| m.to_string())
        .unwrap_or_else(|| "unlimited".into())
}

pub(crate) fn route_details(r: &tenant_admin::views::RouteView) -> String {
    match r.trust_email {
        Some(true) => format!("trustEmail, emailDomains {}", list(&r.email_domains)),
        Some(false) => "trustEmail false".into(),
        None => String::new(),
    }
}

fn print_updated(ctx: &mut Context<'_>, updated: &Updated) -> Result<(), CliError> {
    emit(ctx, updated, |out| {
        if updated.changes.is_empty() {
            return writeln!(out, "tenant {}: nothing to change", updated.tenant_id);
        }
        for FieldChange {
            field,
            before,
            after,
            ..
        } in &updated.changes
        {
            writeln!(out, "{}: {field} {before} -> {after}", updated.tenant_id)?;
        }
        Ok(())
    })
}
