//! Provisioning a user who has no membership yet: resolve the tenant they may join, admit them
//! by the rules of their path, then write the membership, the invitation marked used and the seat in
//! one transaction. The one sequence that post confirmation and first-token provisioning share.

use crate::domain::admission::{self, Admission, AdmissionPath};
use crate::domain::denial::{Denial, DenyCode};
use crate::domain::model::{Membership, MembershipStatus};
use crate::domain::resolve::TenantResolver;
use crate::domain::subject::Subject;
use crate::store::{Directory, ProvisionOutcome, ProvisionRequest};

/// Whether the membership was written now or found already there (a Cognito retry, or a
/// concurrent provisioning that won, possibly into another tenant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Provisioned {
    Created(Membership),
    AlreadyMember(Membership),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provisioning {
    pub admission: Admission,
    pub provisioned: Provisioned,
}

/// Resolves, admits and provisions `subject`, who has no membership in the pool.
pub async fn admit_and_provision<D: Directory>(
    directory: &D,
    subject: &Subject,
    path: AdmissionPath,
    now_epoch_seconds: i64,
) -> Result<Provisioning, Denial> {
    let sub = subject.required_sub()?;
    let candidate = TenantResolver::new(directory, now_epoch_seconds)
        .candidate(subject)
        .await?;
    let proven = subject.email_proven(candidate.idp_route.as_ref(), &candidate.tenant);
    let admission = admission::decide(candidate, path, subject.email.as_deref(), proven)?;
    let provisioned = provision(
        directory,
        &subject.user_pool_id,
        sub,
        &admission,
        now_epoch_seconds,
    )
    .await?;
    Ok(Provisioning {
        admission,
        provisioned,
    })
}

/// The transaction, and what its outcome means for the user.
async fn provision<D: Directory>(
    directory: &D,
    user_pool_id: &str,
    sub: &str,
    admission: &Admission,
    now_epoch_seconds: i64,
) -> Result<Provisioned, Denial> {
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
    let refuse =
        |code, reason: String| Denial::new(code, reason).about(tenant, admission.found_by_email);
    match directory.provision(&request).await? {
        ProvisionOutcome::Created => Ok(Provisioned::Created(membership)),
        ProvisionOutcome::AlreadyMember(existing) => Ok(Provisioned::AlreadyMember(existing)),
        ProvisionOutcome::SeatLimitReached => Err(refuse(
            DenyCode::SeatLimitReached,
            format!("tenant {tenant} is at maxUsers (transaction condition)"),
        )),
        ProvisionOutcome::TenantInactive => Err(refuse(
            DenyCode::TenantSuspended,
            format!("tenant {tenant} is not active (transaction condition)"),
        )),
        ProvisionOutcome::ProvisionedBefore => Err(refuse(
            DenyCode::SignupNotAllowed,
            "provisioned before, and that membership has been removed".into(),
        )),
        ProvisionOutcome::InvitationGone => Err(refuse(
            DenyCode::SignupNotAllowed,
            format!("the invitation to {tenant} was used, revoked or expired meanwhile"),
        )),
    }
}
