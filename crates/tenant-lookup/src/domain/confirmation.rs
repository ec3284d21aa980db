//! Post confirmation: place the confirmed user in their tenant, idempotently.

use crate::domain::admission::AdmissionPath;
use crate::domain::denial::Denial;
use crate::domain::provisioning::{admit_and_provision, Provisioned};
use crate::domain::resolve::TenantResolver;
use crate::domain::subject::Subject;
use crate::domain::Verdict;
use crate::store::Directory;

/// Provisions a confirmed user, or finds them already placed. Refusals read as sign-up
/// refusals (see [`Denial::masked_for_sign_up`]).
pub async fn decide<D: Directory>(
    directory: &D,
    subject: &Subject,
    now_epoch_seconds: i64,
) -> Result<Verdict, Denial> {
    confirm(directory, subject, now_epoch_seconds)
        .await
        .map_err(Denial::masked_for_sign_up)
}

async fn confirm<D: Directory>(
    directory: &D,
    subject: &Subject,
    now_epoch_seconds: i64,
) -> Result<Verdict, Denial> {
    let sub = subject.required_sub()?;
    let resolver = TenantResolver::new(directory, now_epoch_seconds);
    if let Some(m) = resolver
        .existing_membership(&subject.user_pool_id, sub)
        .await?
    {
        return Ok(Verdict::new(
            Some(m.tenant_id),
            "already-member",
            "membership",
        ));
    }
    let p = admit_and_provision(
        directory,
        subject,
        AdmissionPath::Confirmation,
        now_epoch_seconds,
    )
    .await?;
    Ok(match p.provisioned {
        Provisioned::Created(m) => {
            Verdict::new(Some(m.tenant_id), "provision", p.admission.source.as_str())
        }
        // A retry, or a concurrent confirmation that won (possibly into another tenant).
        Provisioned::AlreadyMember(m) => {
            Verdict::new(Some(m.tenant_id), "already-member", "membership")
        }
    })
}
