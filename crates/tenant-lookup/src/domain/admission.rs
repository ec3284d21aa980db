//! The admission policy: may a new user join the tenant that resolution found?
//! Shared by pre sign-up, post confirmation and first-token provisioning.

use crate::domain::denial::{Denial, DenyCode};
use crate::domain::model::{Invitation, Tenant};
use crate::domain::resolve::{AdmissionCandidate, Source};

/// Which path asks, since the rules differ slightly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdmissionPath {
    /// `PreSignUp_SignUp`, and any unknown pre sign-up source (the strictest rules, no flags).
    SelfSignUp,
    /// `PreSignUp_ExternalProvider`: the only path that may auto-confirm and auto-verify.
    ExternalProvider,
    /// `PreSignUp_AdminCreateUser`: only validated (Cognito ignores the flags).
    AdminCreateUser,
    /// `PostConfirmation_ConfirmSignUp`: invitation and domain admissions need a verified email.
    Confirmation,
    /// Pre token generation for a user without a membership: needs a verified email.
    FirstToken,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admission {
    pub tenant: Tenant,
    pub source: Source,
    pub invitation: Option<Invitation>,
    /// The membership's roles: the invitation's, else the tenant's default role.
    pub roles: Vec<String>,
    pub auto_confirm_user: bool,
    pub auto_verify_email: bool,
    /// See [`AdmissionCandidate::found_by_email`].
    pub found_by_email: bool,
}

/// Decides admission. `email` is lower case; `email_proven` says whether it is verified by
/// someone the tenant trusts (see [`crate::domain::subject::Subject::email_proven`]). The
/// tenant is active: resolution checked that.
pub fn decide(
    candidate: AdmissionCandidate,
    path: AdmissionPath,
    email: Option<&str>,
    email_proven: bool,
) -> Result<Admission, Denial> {
    let AdmissionCandidate {
        tenant,
        source,
        mut invitation,
        idp_route,
        found_by_email,
    } = candidate;
    let tenant_id = tenant.id.clone();
    let refuse = |code, reason: String| Denial::new(code, reason).about(&tenant_id, found_by_email);
    let federated = idp_route.is_some();
    // A federated user of an IDP route is admitted by the route. An invitation that merely
    // matches the email the IdP sent is only used (its roles granted, the invitation marked used)
    // when that email is verified: otherwise any IdP the tenant federates, trusted for email
    // or not, could claim any of the tenant's invitations by asserting its address.
    if federated
        && matches!(
            path,
            AdmissionPath::Confirmation | AdmissionPath::FirstToken
        )
        && !email_proven
    {
        invitation = None;
    }

    if path != AdmissionPath::AdminCreateUser && !federated {
        if invitation.is_none() && !tenant.self_sign_up {
            return Err(refuse(
                DenyCode::SignupNotAllowed,
                format!(
                    "tenant {} has no self sign-up and there is no invitation ({})",
                    tenant.id,
                    source.as_str()
                ),
            ));
        }
        if !tenant.email_domain_allowed(email) {
            return Err(refuse(
                DenyCode::EmailDomainNotAllowed,
                format!("email domain not in tenant {}'s allowed domains", tenant.id),
            ));
        }
    }

    let needs_verified_email = match path {
        AdmissionPath::FirstToken => true,
        // Whenever the email decided something (an invitation, a domain route, a domain
        // restriction), it must be proven: a pool that confirms by phone has not proven it.
        AdmissionPath::Confirmation => {
            !federated
                && (matches!(source, Source::Invitation | Source::DomainRoute)
                    || !tenant.allowed_email_domains.is_empty())
        }
        _ => false,
    };
    if needs_verified_email && !email_proven {
        return Err(refuse(
            DenyCode::EmailNotVerified,
            format!(
                "admission to {} through {} needs a verified email",
                tenant.id,
                source.as_str()
            ),
        ));
    }

    if !tenant.has_free_seat() {
        return Err(refuse(
            DenyCode::SeatLimitReached,
            format!(
                "tenant {} has {} of {} seats taken",
                tenant.id,
                tenant.user_count,
                tenant.max_users.unwrap_or_default()
            ),
        ));
    }

    // Auto-verifying moves an email alias away from an existing user, so only an IdP that the
    // tenant trusts may vouch, and only for addresses within the domains it names.
    let vouched = path == AdmissionPath::ExternalProvider
        && idp_route
            .as_ref()
            .is_some_and(|r| r.vouches_for(email, &tenant));

    let roles = invitation
        .as_ref()
        .map(|i| i.roles.clone())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| vec![tenant.default_role.clone()]);
    let source = if federated && invitation.is_none() {
        Source::IdpRoute
    } else {
        source
    };
    Ok(Admission {
        tenant,
        source,
        invitation,
        roles,
        auto_confirm_user: vouched,
        auto_verify_email: vouched,
        found_by_email,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{Route, RouteKind, TenantStatus};

    fn tenant() -> Tenant {
        Tenant {
            id: "acme".into(),
            name: "Acme".into(),
            tier: "basic".into(),
            status: TenantStatus::Active,
            self_sign_up: false,
            allowed_email_domains: vec!["acme.example".into()],
            max_users: Some(10),
            user_count: 3,
            default_role: "member".into(),
            iam_role_arn: None,
        }
    }

    fn idp(trust_email: bool) -> Option<Route> {
        Some(Route {
            kind: RouteKind::Idp,
            key: "p#acmesaml".into(),
            tenant_id: "acme".into(),
            trust_email,
            email_domains: vec![],
        })
    }

    fn invitation(roles: &[&str]) -> Option<Invitation> {
        Some(Invitation {
            user_pool_id: "p".into(),
            email: "a@acme.example".into(),
            tenant_id: "acme".into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            invited_by: None,
            expires_at: None,
            used_by: None,
            used_at: None,
        })
    }

    fn cand(
        tenant: Tenant,
        source: Source,
        invitation: Option<Invitation>,
        idp_route: Option<Route>,
    ) -> AdmissionCandidate {
        AdmissionCandidate {
            tenant,
            source,
            invitation,
            idp_route,
            found_by_email: false,
        }
    }

    const EMAIL: Option<&str> = Some("a@acme.example");

    #[test]
    fn without_self_sign_up_only_an_invitation_admits() {
        let r = decide(
            cand(tenant(), Source::ClientRoute, None, None),
            AdmissionPath::SelfSignUp,
            EMAIL,
            false,
        );
        assert_eq!(r.unwrap_err().code, DenyCode::SignupNotAllowed);
        let a = decide(
            cand(tenant(), Source::Invitation, invitation(&["admin"]), None),
            AdmissionPath::SelfSignUp,
            EMAIL,
            false,
        )
        .unwrap();
        assert_eq!(a.roles, vec!["admin"]);
        assert!(!a.auto_confirm_user && !a.auto_verify_email);
        let open = Tenant {
            self_sign_up: true,
            ..tenant()
        };
        let a = decide(
            cand(open, Source::DomainRoute, None, None),
            AdmissionPath::SelfSignUp,
            EMAIL,
            false,
        )
        .unwrap();
        assert_eq!(a.roles, vec!["member"]);
    }

    #[test]
    fn allowed_domains_apply_to_invitations_and_self_sign_up() {
        let r = decide(
            cand(tenant(), Source::Invitation, invitation(&[]), None),
            AdmissionPath::SelfSignUp,
            Some("x@other.example"),
            true,
        );
        assert_eq!(r.unwrap_err().code, DenyCode::EmailDomainNotAllowed);
        let r = decide(
            cand(tenant(), Source::Invitation, invitation(&[]), None),
            AdmissionPath::SelfSignUp,
            None,
            true,
        );
        assert_eq!(r.unwrap_err().code, DenyCode::EmailDomainNotAllowed);
    }

    #[test]
    fn seats_are_checked() {
        let full = Tenant {
            user_count: 10,
            ..tenant()
        };
        for path in [
            AdmissionPath::SelfSignUp,
            AdmissionPath::AdminCreateUser,
            AdmissionPath::ExternalProvider,
        ] {
            let r = decide(
                cand(
                    full.clone(),
                    Source::Invitation,
                    invitation(&[]),
                    idp(false),
                ),
                path,
                EMAIL,
                true,
            );
            assert_eq!(r.unwrap_err().code, DenyCode::SeatLimitReached, "{path:?}");
        }
    }

    #[test]
    fn federated_users_of_an_idp_route_are_admitted_and_vouched_only_within_domains() {
        let a = decide(
            cand(tenant(), Source::IdpRoute, None, idp(true)),
            AdmissionPath::ExternalProvider,
            EMAIL,
            false,
        )
        .unwrap();
        assert!(a.auto_confirm_user && a.auto_verify_email);
        assert_eq!(a.source, Source::IdpRoute);
        let a = decide(
            cand(tenant(), Source::IdpRoute, None, idp(true)),
            AdmissionPath::ExternalProvider,
            Some("x@gmail.example"),
            false,
        )
        .unwrap();
        assert!(
            !a.auto_confirm_user && !a.auto_verify_email,
            "outside the tenant's domains: admitted, not vouched"
        );
        let a = decide(
            cand(tenant(), Source::IdpRoute, None, idp(false)),
            AdmissionPath::ExternalProvider,
            EMAIL,
            false,
        )
        .unwrap();
        assert!(!a.auto_verify_email, "IdP not trusted for email");
        let a = decide(
            cand(tenant(), Source::IdpRoute, None, idp(true)),
            AdmissionPath::ExternalProvider,
            None,
            false,
        )
        .unwrap();
        assert!(!a.auto_verify_email, "no email, nothing to verify");
    }

    #[test]
    fn only_the_external_provider_path_sets_flags() {
        for path in [
            AdmissionPath::SelfSignUp,
            AdmissionPath::AdminCreateUser,
            AdmissionPath::Confirmation,
        ] {
            let a = decide(
                cand(tenant(), Source::IdpRoute, None, idp(true)),
                path,
                EMAIL,
                true,
            )
            .unwrap();
            assert!(!a.auto_confirm_user && !a.auto_verify_email, "{path:?}");
        }
    }

    #[test]
    fn admin_create_user_only_validates() {
        let a = decide(
            cand(tenant(), Source::ClientRoute, None, None),
            AdmissionPath::AdminCreateUser,
            Some("x@other.example"),
            false,
        );
        assert!(a.is_ok());
    }

    #[test]
    fn a_federated_user_with_an_unverified_email_is_admitted_by_the_idp_route_not_the_invitation() {
        let open = Tenant {
            self_sign_up: true,
            ..tenant()
        };
        let c = || {
            cand(
                open.clone(),
                Source::Invitation,
                invitation(&["admin"]),
                idp(false),
            )
        };
        let a = decide(c(), AdmissionPath::Confirmation, EMAIL, false).unwrap();
        assert_eq!(
            (a.source, a.invitation.as_ref(), a.roles.clone()),
            (Source::IdpRoute, None, vec!["member".to_string()])
        );
        let a = decide(c(), AdmissionPath::Confirmation, EMAIL, true).unwrap();
        assert_eq!(
            (a.source, a.roles),
            (Source::Invitation, vec!["admin".to_string()])
        );
    }

    #[test]
    fn confirmation_through_invitation_or_domain_needs_a_verified_email() {
        let open = Tenant {
            self_sign_up: true,
            ..tenant()
        };
        for (source, inv) in [
            (Source::Invitation, invitation(&[])),
            (Source::DomainRoute, None),
        ] {
            let r = decide(
                cand(open.clone(), source, inv.clone(), None),
                AdmissionPath::Confirmation,
                EMAIL,
                false,
            );
            assert_eq!(r.unwrap_err().code, DenyCode::EmailNotVerified);
            assert!(decide(
                cand(open.clone(), source, inv, None),
                AdmissionPath::Confirmation,
                EMAIL,
                true
            )
            .is_ok());
        }
        // A route admission needs the email proven only when the tenant restricts domains.
        let r = decide(
            cand(open.clone(), Source::PoolRoute, None, None),
            AdmissionPath::Confirmation,
            EMAIL,
            false,
        );
        assert_eq!(r.unwrap_err().code, DenyCode::EmailNotVerified);
        let any_domain = Tenant {
            allowed_email_domains: vec![],
            ..open.clone()
        };
        assert!(decide(
            cand(any_domain, Source::PoolRoute, None, None),
            AdmissionPath::Confirmation,
            EMAIL,
            false
        )
        .is_ok());
        assert!(decide(
            cand(open.clone(), Source::IdpRoute, None, idp(false)),
            AdmissionPath::Confirmation,
            EMAIL,
            false
        )
        .is_ok());
        let r = decide(
            cand(open, Source::PoolRoute, None, None),
            AdmissionPath::FirstToken,
            EMAIL,
            false,
        );
        assert_eq!(r.unwrap_err().code, DenyCode::EmailNotVerified);
    }
}
