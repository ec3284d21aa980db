//! Provisioning an admitted user: the membership, the invitation used and the seat, in one
//! transaction. Shared by post confirmation and first-token provisioning.

use crate::admission::Admission;
use crate::directory::{Directory, ProvisionOutcome, ProvisionRequest};
use crate::error::DenyCode;
use crate::model::{Membership, MembershipStatus};
use crate::resolve::Unresolved;

/// Whether the membership was written now or found already there (a Cognito retry, or a
/// concurrent provisioning that won, possibly into another tenant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Provisioned {
    Created(Membership),
    AlreadyMember(Membership),
}

pub async fn provision<D: Directory>(
    directory: &D,
    user_pool_id: &str,
    sub: &str,
    admission: &Admission,
    now_epoch_seconds: i64,
) -> Result<Provisioned, Unresolved> {
    let membership = Membership {
        user_pool_id: user_pool_id.to_string(),
        sub: sub.to_string(),
        tenant_id: admission.tenant.id.clone(),
        roles: admission.roles.clone(),
        status: MembershipStatus::Active,
        source: admission.source.as_str().to_string(),
        created_at: now_epoch_seconds,
    };
    let request = ProvisionRequest {
        membership: membership.clone(),
        invitation_tenant_id: admission.invitation.as_ref().map(|i| i.tenant_id.clone()),
        invitation_email: admission.invitation.as_ref().map(|i| i.email.clone()),
    };
    let tenant = &admission.tenant.id;
    match directory.provision(&request).await? {
        ProvisionOutcome::Created => Ok(Provisioned::Created(membership)),
        ProvisionOutcome::AlreadyMember(existing) => Ok(Provisioned::AlreadyMember(existing)),
        ProvisionOutcome::SeatLimitReached => Err(Unresolved::Denied {
            code: DenyCode::SeatLimitReached,
            reason: format!("tenant {tenant} is at maxUsers (transaction condition)"),
        }),
        ProvisionOutcome::TenantInactive => Err(Unresolved::Denied {
            code: DenyCode::TenantSuspended,
            reason: format!("tenant {tenant} is not active (transaction condition)"),
        }),
        ProvisionOutcome::ProvisionedBefore => Err(Unresolved::Denied {
            code: DenyCode::SignupNotAllowed,
            reason: "provisioned before, and that membership has been removed".into(),
        }),
        ProvisionOutcome::InvitationGone => Err(Unresolved::Denied {
            code: DenyCode::SignupNotAllowed,
            reason: format!("the invitation to {tenant} was consumed or withdrawn meanwhile"),
        }),
    }
}
