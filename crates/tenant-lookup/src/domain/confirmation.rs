//! Post confirmation: place the confirmed user in their tenant, idempotently.

use crate::domain::admission::AdmissionPath;
use crate::domain::denial::{Denial, DenyCode};
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
    match confirm(directory, subject, now_epoch_seconds).await {
        Ok(verdict) => Ok(verdict),
        Err(denial) => match placed_meanwhile(directory, subject, &denial).await {
            Some(verdict) => Ok(verdict),
            None => Err(denial.masked_for_sign_up()),
        },
    }
}

/// A confirmation racing another of the same user (Cognito retrying while the first
/// invocation still runs) can be refused because the other one won: it consumed the
/// invitation, or took the last seat. The user is placed all the same, so the answer is the
/// one a later retry gets. Asked only after a refusal the directory decided.
async fn placed_meanwhile<D: Directory>(
    directory: &D,
    subject: &Subject,
    denial: &Denial,
) -> Option<Verdict> {
    if matches!(
        denial.code,
        DenyCode::DirectoryUnavailable | DenyCode::InvalidEvent
    ) {
        return None;
    }
    let sub = subject.sub.as_deref()?;
    let membership = TenantResolver::new(directory, 0)
        .existing_membership(&subject.user_pool_id, sub)
        .await
        .ok()??;
    Some(Verdict::new(
        Some(membership.tenant_id),
        "already-member",
        "membership",
    ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{Invitation, Membership, Route, RouteKind, Tenant, Tier};
    use crate::fixtures::{invitation, member, tenant};
    use crate::store::memory::InMemoryDirectory;
    use crate::store::{DirectoryContents, DirectoryError, ProvisionOutcome, ProvisionRequest};
    use std::sync::atomic::{AtomicBool, Ordering};

    /// The directory as the losing confirmation of a race sees it: its first membership Query
    /// comes before the winner's transaction, everything after it.
    struct Raced {
        inner: InMemoryDirectory,
        queried: AtomicBool,
    }

    impl Directory for Raced {
        async fn tenant(&self, id: &str) -> Result<Option<Tenant>, DirectoryError> {
            self.inner.tenant(id).await
        }
        async fn tier(&self, id: &str) -> Result<Option<Tier>, DirectoryError> {
            self.inner.tier(id).await
        }
        async fn route(&self, k: RouteKind, key: &str) -> Result<Option<Route>, DirectoryError> {
            self.inner.route(k, key).await
        }
        async fn memberships(&self, p: &str, s: &str) -> Result<Vec<Membership>, DirectoryError> {
            if self.queried.swap(true, Ordering::SeqCst) {
                self.inner.memberships(p, s).await
            } else {
                Ok(Vec::new())
            }
        }
        async fn invitations(&self, p: &str, e: &str) -> Result<Vec<Invitation>, DirectoryError> {
            self.inner.invitations(p, e).await
        }
        async fn provision(
            &self,
            r: &ProvisionRequest,
        ) -> Result<ProvisionOutcome, DirectoryError> {
            self.inner.provision(r).await
        }
    }

    fn subject() -> Subject {
        Subject {
            user_pool_id: "p".into(),
            client_id: None,
            sub: Some("s".into()),
            email: Some("new@acme.example".into()),
            email_verified: true,
            federated_provider: None,
        }
    }

    #[tokio::test]
    async fn a_confirmation_that_lost_a_race_with_its_twin_answers_as_its_retry_would() {
        // The twin consumed the invitation and took the seat: the loser finds no invitation.
        let dir = Raced {
            inner: InMemoryDirectory::from_contents(DirectoryContents {
                tenants: vec![tenant("acme", "basic")],
                members: vec![member("p", "s", "acme")],
                ..Default::default()
            }),
            queried: AtomicBool::new(false),
        };
        let verdict = decide(&dir, &subject(), 0).await.unwrap();
        assert_eq!(verdict.tenant_id.as_deref(), Some("acme"));
        assert_eq!(verdict.decision, "already-member");
    }

    #[tokio::test]
    async fn a_refused_user_who_is_placed_nowhere_stays_refused() {
        let dir = Raced {
            inner: InMemoryDirectory::from_contents(DirectoryContents {
                tenants: vec![tenant("acme", "basic")],
                invitations: vec![invitation("p", "other@acme.example", "acme")],
                ..Default::default()
            }),
            queried: AtomicBool::new(false),
        };
        let err = decide(&dir, &subject(), 0).await.unwrap_err();
        assert_eq!(err.code, DenyCode::SignupNotAllowed);
    }
}
