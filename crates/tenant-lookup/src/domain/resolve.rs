//! Tenant resolution: which tenant a user belongs to or may join. Every tenant lookup of the
//! three triggers goes through [`TenantResolver`].
//!
//! Authorities are the directory's routes, memberships and invitations. `custom:*`
//! attributes, clientMetadata, validationData and group names are never consulted: users
//! and callers control them.
//!
//! | question | method | sources |
//! |---|---|---|
//! | is this user already placed? (post confirmation) | [`TenantResolver::existing_membership`] | memberships of (pool, sub): any one |
//! | which tenant is this member's? (pre token generation) | [`TenantResolver::member`] | memberships of (pool, sub), `POOL` and `CLIENT` routes |
//! | which tenant may this new user join? (pre sign-up, provisioning) | [`TenantResolver::candidate`] | `POOL`, `CLIENT`, `IDP` (federated users) routes, open (unused, unexpired) invitations for the email, `DOMAIN` route |
//! | which tenant is this app client's? (client credentials) | [`TenantResolver::machine`] | the `CLIENT` route |
//!
//! Precedence: the explicit sources (`POOL`, `CLIENT`, `IDP` routes and memberships) must all
//! agree, otherwise `TENANT_CONFLICT`. An invitation must agree with them. A `DOMAIN` route is
//! only a default, consulted when no explicit source and no invitation answers. A route or
//! membership naming a tenant that does not exist is an inconsistent directory and fails closed.

use crate::domain::denial::{Denial, DenyCode};
use crate::domain::model::{
    email_domain, route_key, Invitation, Membership, MembershipStatus, Route, RouteKind, Tenant,
};
use crate::domain::subject::Subject;
use crate::store::{Directory, DirectoryError};

/// Which directory entry decided the tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Membership,
    PoolRoute,
    ClientRoute,
    IdpRoute,
    Invitation,
    DomainRoute,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Membership => "membership",
            Source::PoolRoute => "pool",
            Source::ClientRoute => "client",
            Source::IdpRoute => "idp",
            Source::Invitation => "invitation",
            Source::DomainRoute => "domain",
        }
    }
}

fn denied(code: DenyCode, reason: impl Into<String>) -> Denial {
    Denial::new(code, reason)
}

/// The outcome of looking up an existing member (pre token generation).
// Built once per invocation and consumed at once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberLookup {
    Member {
        tenant: Tenant,
        membership: Membership,
    },
    /// No membership at all in this pool: a candidate for first-token provisioning.
    NotMember,
}

/// A tenant a new user may be admitted to, and what admitted them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdmissionCandidate {
    pub tenant: Tenant,
    pub source: Source,
    pub invitation: Option<Invitation>,
    /// The `IDP` route, when the user is federated and the pool has one for the provider.
    pub idp_route: Option<Route>,
    /// The tenant was found from the user's email (an invitation or a `DOMAIN` route) rather
    /// than named by the pool, the app client or the IdP the user came through.
    pub found_by_email: bool,
}

pub struct TenantResolver<'a, D> {
    directory: &'a D,
    now_epoch_seconds: i64,
}

impl<'a, D: Directory> TenantResolver<'a, D> {
    pub fn new(directory: &'a D, now_epoch_seconds: i64) -> Self {
        Self {
            directory,
            now_epoch_seconds,
        }
    }

    /// The `POOL` and `CLIENT` routes (and the `IDP` route when `with_idp`), which must agree.
    async fn explicit_routes(
        &self,
        subject: &Subject,
        with_idp: bool,
    ) -> Result<(Option<(Source, Route)>, Option<Route>), Denial> {
        let pool = self.directory.route(RouteKind::Pool, &subject.user_pool_id);
        let client = async {
            match subject.client_id.as_deref() {
                Some(c) => {
                    let key = route_key(RouteKind::Client, &subject.user_pool_id, c);
                    self.directory.route(RouteKind::Client, &key).await
                }
                None => Ok(None),
            }
        };
        let idp = async {
            match subject.federated_provider.as_deref().filter(|_| with_idp) {
                Some(p) => {
                    let key = route_key(RouteKind::Idp, &subject.user_pool_id, p);
                    self.directory.route(RouteKind::Idp, &key).await
                }
                None => Ok(None),
            }
        };
        let (pool, client, idp) = tokio::join!(pool, client, idp);
        let found = [
            pool?.map(|r| (Source::PoolRoute, r)),
            client?.map(|r| (Source::ClientRoute, r)),
        ];
        let idp = idp?;
        let mut decided: Option<(Source, Route)> = None;
        for (source, route) in found
            .into_iter()
            .flatten()
            .chain(idp.clone().map(|r| (Source::IdpRoute, r)))
        {
            match &decided {
                Some((first, r)) if r.tenant_id != route.tenant_id => {
                    return Err(denied(
                        DenyCode::TenantConflict,
                        format!(
                            "{} route says {}, {} route says {}",
                            first.as_str(),
                            r.tenant_id,
                            source.as_str(),
                            route.tenant_id
                        ),
                    ))
                }
                Some(_) => {}
                None => decided = Some((source, route)),
            }
        }
        Ok((decided, idp))
    }

    /// The tenant a source named. The one suspension check: a suspended tenant answers no
    /// question (no sign-up, no provisioning, no tokens, refresh included).
    async fn tenant(&self, id: &str, found_by_email: bool) -> Result<Tenant, Denial> {
        // A route or membership naming a tenant that does not exist is an inconsistent
        // directory, not "no tenant": fail closed, whatever the no-tenant policy says.
        let tenant = self.directory.tenant(id).await?.ok_or_else(|| {
            DirectoryError::Malformed(format!("tenant {id} is referenced but does not exist"))
        })?;
        if !tenant.is_active() {
            return Err(denied(
                DenyCode::TenantSuspended,
                format!("tenant {id} is suspended"),
            )
            .about(id, found_by_email));
        }
        Ok(tenant)
    }

    /// Post confirmation: a user who has any membership in the pool is already placed (a
    /// Cognito retry, a repeated confirmation, or one claiming another tenant, which it cannot
    /// change). Pre sign-up's rules decide only for users who have none.
    pub async fn existing_membership(
        &self,
        user_pool_id: &str,
        sub: &str,
    ) -> Result<Option<Membership>, Denial> {
        Ok(self
            .directory
            .memberships(user_pool_id, sub)
            .await?
            .into_iter()
            .next())
    }

    /// Client credentials: the app client's `CLIENT` route in the pool is the only source.
    pub async fn machine(&self, user_pool_id: &str, client_id: &str) -> Result<Tenant, Denial> {
        let key = route_key(RouteKind::Client, user_pool_id, client_id);
        let Some(route) = self.directory.route(RouteKind::Client, &key).await? else {
            return Err(denied(DenyCode::NoTenant, "no client route"));
        };
        self.tenant(&route.tenant_id, false).await
    }

    /// Pre token generation: memberships of (pool, sub), `POOL` and `CLIENT` routes.
    /// A route picks one of several memberships; a route that disagrees with the user's
    /// memberships is a conflict.
    pub async fn member(&self, subject: &Subject) -> Result<MemberLookup, Denial> {
        let sub = subject.required_sub()?;
        let (memberships, routes) = tokio::join!(
            self.directory.memberships(&subject.user_pool_id, sub),
            self.explicit_routes(subject, false)
        );
        let mut memberships = memberships?;
        let (route, _) = routes?;
        if memberships.is_empty() {
            return Ok(MemberLookup::NotMember);
        }
        let is_active = |m: &Membership| m.status == MembershipStatus::Active;
        let chosen = match &route {
            Some((source, r)) => {
                match memberships.iter().position(|m| m.tenant_id == r.tenant_id) {
                    Some(i) if is_active(&memberships[i]) => i,
                    Some(_) => {
                        return Err(denied(
                            DenyCode::MembershipSuspended,
                            format!("membership in {} is suspended", r.tenant_id),
                        ))
                    }
                    None => {
                        return Err(denied(
                            DenyCode::TenantConflict,
                            format!(
                                "{} route says {}, user is a member elsewhere",
                                source.as_str(),
                                r.tenant_id
                            ),
                        ))
                    }
                }
            }
            None => {
                let mut active = (0..memberships.len()).filter(|&i| is_active(&memberships[i]));
                match (active.next(), active.count()) {
                    (Some(i), 0) => i,
                    (None, _) => {
                        return Err(denied(
                            DenyCode::MembershipSuspended,
                            "every membership is suspended",
                        ))
                    }
                    (Some(_), others) => {
                        return Err(denied(
                            DenyCode::TenantAmbiguous,
                            format!("{} memberships and no route picks one", others + 1),
                        ))
                    }
                }
            }
        };
        let membership = memberships.swap_remove(chosen);
        let tenant = self.tenant(&membership.tenant_id, false).await?;
        Ok(MemberLookup::Member { tenant, membership })
    }

    /// Sign-up and provisioning: `POOL`, `CLIENT` and (federated users) `IDP` routes, then an
    /// open invitation for the email (used and expired ones are ignored), then the `DOMAIN`
    /// route as a default.
    pub async fn candidate(&self, subject: &Subject) -> Result<AdmissionCandidate, Denial> {
        let invitations = async {
            match subject.email.as_deref() {
                Some(email) => {
                    self.directory
                        .invitations(&subject.user_pool_id, email)
                        .await
                }
                None => Ok(Vec::new()),
            }
        };
        let (routes, invitations) = tokio::join!(self.explicit_routes(subject, true), invitations);
        let (route, idp_route) = routes?;
        let invitations: Vec<Invitation> = invitations?
            .into_iter()
            .filter(|i| i.is_open_at(self.now_epoch_seconds))
            .collect();

        let found_by_email = route.is_none();
        let (tenant_id, source, invitation) = match route {
            Some((source, r)) => match invitations.iter().find(|i| i.tenant_id == r.tenant_id) {
                Some(inv) => (r.tenant_id.clone(), Source::Invitation, Some(inv.clone())),
                None if !invitations.is_empty() => {
                    return Err(denied(
                        DenyCode::TenantConflict,
                        format!(
                            "{} route says {}, the invitation names another tenant",
                            source.as_str(),
                            r.tenant_id
                        ),
                    ))
                }
                None => (r.tenant_id.clone(), source, None),
            },
            None => match invitations.as_slice() {
                [one] => (one.tenant_id.clone(), Source::Invitation, Some(one.clone())),
                [_, _, ..] => {
                    return Err(denied(
                        DenyCode::TenantAmbiguous,
                        format!("{} invitations and nothing picks one", invitations.len()),
                    ))
                }
                [] => {
                    let domain = subject.email.as_deref().and_then(email_domain);
                    let route = match domain {
                        Some(d) => {
                            let key = route_key(RouteKind::Domain, &subject.user_pool_id, &d);
                            self.directory.route(RouteKind::Domain, &key).await?
                        }
                        None => None,
                    };
                    match route {
                        Some(r) => (r.tenant_id, Source::DomainRoute, None),
                        None => {
                            return Err(denied(
                                DenyCode::NoTenant,
                                "no route, invitation or domain route",
                            ))
                        }
                    }
                }
            },
        };
        let tenant = self.tenant(&tenant_id, found_by_email).await?;
        let idp_route = idp_route.filter(|r| r.tenant_id == tenant.id);
        Ok(AdmissionCandidate {
            tenant,
            source,
            invitation,
            idp_route,
            found_by_email,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::TenantStatus;
    use crate::fixtures::{invitation, member, route, tenant};
    use crate::store::memory::InMemoryDirectory;
    use crate::store::DirectoryContents;

    const POOL: &str = "us-east-1_P";

    fn directory() -> InMemoryDirectory {
        let suspended = Tenant {
            status: TenantStatus::Suspended,
            self_sign_up: true,
            ..tenant("initech", "basic")
        };
        InMemoryDirectory::from_contents(DirectoryContents {
            tenants: vec![suspended, tenant("acme", "basic")],
            routes: vec![
                route(RouteKind::Client, POOL, "initech-web", "initech"),
                route(RouteKind::Client, POOL, "ghost-web", "ghost"),
            ],
            members: vec![member(POOL, "s-initech", "initech")],
            invitations: vec![invitation(POOL, "a@initech.example", "initech")],
            ..Default::default()
        })
    }

    fn subject(client: &str, sub: &str, email: &str) -> Subject {
        Subject {
            user_pool_id: POOL.into(),
            client_id: Some(client.into()),
            sub: Some(sub.into()),
            email: Some(email.into()),
            email_verified: true,
            federated_provider: None,
        }
    }

    #[tokio::test]
    async fn a_suspended_tenant_answers_no_question() {
        let dir = directory();
        let r = TenantResolver::new(&dir, 0);
        let by_route = r
            .candidate(&subject("initech-web", "new", "x@y.example"))
            .await;
        let by_invitation = r
            .candidate(&subject("other", "new", "a@initech.example"))
            .await;
        let member = r
            .member(&subject("other", "s-initech", "x@y.example"))
            .await;
        let machine = r.machine(POOL, "initech-web").await;
        assert_eq!(by_route.unwrap_err().code, DenyCode::TenantSuspended);
        assert_eq!(by_invitation.unwrap_err().code, DenyCode::TenantSuspended);
        assert_eq!(member.unwrap_err().code, DenyCode::TenantSuspended);
        assert_eq!(machine.unwrap_err().code, DenyCode::TenantSuspended);
    }

    #[tokio::test]
    async fn a_route_to_a_missing_tenant_fails_closed() {
        let dir = directory();
        let r = TenantResolver::new(&dir, 0);
        assert_eq!(
            r.machine(POOL, "ghost-web").await.unwrap_err().code,
            DenyCode::DirectoryUnavailable
        );
        assert_eq!(
            r.machine(POOL, "nobody-web").await.unwrap_err().code,
            DenyCode::NoTenant
        );
    }
}
