//! Pre sign-up: may this new user join, and which tenant? Decided from the directory alone;
//! nothing is written.

use crate::domain::admission::{self, AdmissionPath};
use crate::domain::denial::{Denial, DenyCode};
use crate::domain::resolve::TenantResolver;
use crate::domain::subject::Subject;
use crate::domain::Verdict;
use crate::store::Directory;

/// An admitted sign-up: the pre sign-up response's flags, and what decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignUpDecision {
    pub auto_confirm_user: bool,
    pub auto_verify_email: bool,
    pub verdict: Verdict,
}

pub async fn decide<D: Directory>(
    directory: &D,
    subject: &Subject,
    path: AdmissionPath,
    now_epoch_seconds: i64,
) -> Result<SignUpDecision, Denial> {
    // Only Cognito's own ExternalProvider source marks a federated user here: in a SignUp the
    // attributes and the username are the user's to choose.
    let mut subject = subject.clone();
    if path != AdmissionPath::ExternalProvider {
        subject.federated_provider = None;
    }
    let candidate = match TenantResolver::new(directory, now_epoch_seconds)
        .candidate(&subject)
        .await
    {
        Ok(c) => c,
        // An administrator may create a user that no route or invitation places yet;
        // first-token provisioning or an import places them later.
        Err(d) if d.code == DenyCode::NoTenant && path == AdmissionPath::AdminCreateUser => {
            return Ok(SignUpDecision {
                auto_confirm_user: false,
                auto_verify_email: false,
                verdict: Verdict::new(None, "admit", "admin-without-tenant"),
            })
        }
        // Refusals must not reveal whether some tenant routes or invited this address.
        Err(d) => return Err(d.masked_for_sign_up()),
    };
    let a = admission::decide(candidate, path, subject.email.as_deref(), false)
        .map_err(Denial::masked_for_sign_up)?;
    let decision = if a.auto_confirm_user {
        "admit-auto-confirm"
    } else {
        "admit"
    };
    Ok(SignUpDecision {
        auto_confirm_user: a.auto_confirm_user,
        auto_verify_email: a.auto_verify_email,
        verdict: Verdict::new(Some(a.tenant.id), decision, a.source.as_str()),
    })
}
