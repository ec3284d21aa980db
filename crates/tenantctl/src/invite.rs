//! `tenantctl invite create|list|revoke`.

use clap::Subcommand;
use tenant_admin::invitations::NewInvitation;
use tenant_admin::views::InvitationView;

use crate::output::{emit, list, parse_duration, time, Table};
use crate::{CliError, Context};

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum InviteCommand {
    /// Invite EMAIL into TENANT (users of --pool only). Refused for an address that already
    /// used an invitation of the tenant, or has an open one.
    Create {
        email: String,
        tenant: String,
        #[arg(long)]
        pool: String,
        /// The member's role (repeatable; default: the tenant's default role).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// How long the invitation stays open: 30m, 12h, 7d, 2w.
        #[arg(long, default_value = "7d")]
        expires_in: String,
        /// Who invited (a sub), kept with the invitation.
        #[arg(long)]
        invited_by: Option<String>,
    },
    /// Open invitations (of a tenant, or all); --all adds used and expired ones.
    List {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// Revoke an open invitation (a used one is kept as the record that the address joined).
    Revoke {
        email: String,
        tenant: String,
        #[arg(long)]
        pool: String,
    },
}

fn state(i: &InvitationView) -> String {
    match i.state {
        "used" => format!(
            "used by {} at {}",
            i.used_by.as_deref().unwrap_or_default(),
            i.used_at.map(time).unwrap_or_default()
        ),
        "expired" => format!("expired at {}", i.expires_at.map(time).unwrap_or_default()),
        _ => match i.expires_at {
            Some(t) => format!("open until {}", time(t)),
            None => "open".into(),
        },
    }
}

pub async fn run(ctx: &mut Context<'_>, command: &InviteCommand) -> Result<(), CliError> {
    match command {
        InviteCommand::Create {
            email,
            tenant,
            pool,
            roles,
            expires_in,
            invited_by,
        } => {
            let expires_in = parse_duration(expires_in).map_err(CliError::Usage)?;
            let invitation = ctx
                .table
                .create_invitation(
                    &NewInvitation {
                        email: email.clone(),
                        tenant_id: tenant.clone(),
                        pool: pool.clone(),
                        roles: roles.clone(),
                        expires_in,
                        invited_by: invited_by.clone(),
                    },
                    ctx.now,
                )
                .await?;
            emit(ctx, &invitation, |out| {
                writeln!(
                    out,
                    "invited {} to tenant {} (pool {}) as {}, {}",
                    invitation.email,
                    invitation.tenant_id,
                    invitation.user_pool_id,
                    list(&invitation.roles),
                    state(&invitation)
                )
            })
        }
        InviteCommand::List { tenant, all } => {
            let invitations = ctx
                .table
                .list_invitations(tenant.as_deref(), *all, ctx.now)
                .await?;
            emit(ctx, &invitations, |out| {
                let mut table = Table::new(&["TENANT", "EMAIL", "POOL", "ROLES", "STATE"]);
                for i in &invitations {
                    table.row(vec![
                        i.tenant_id.clone(),
                        i.email.clone(),
                        i.user_pool_id.clone(),
                        list(&i.roles),
                        state(i),
                    ]);
                }
                table.write(out, "")
            })
        }
        InviteCommand::Revoke {
            email,
            tenant,
            pool,
        } => {
            let revoked = ctx
                .table
                .revoke_invitation(email, tenant, pool, ctx.now)
                .await?;
            emit(ctx, &revoked, |out| {
                writeln!(
                    out,
                    "revoked the invitation of {} to tenant {} (pool {})",
                    revoked.email, revoked.tenant_id, revoked.user_pool_id
                )
            })
        }
    }
}
