//! Tenant resolution, shared by the three triggers.
//!
//! Authorities are the directory's routes, memberships and invitations. `custom:*`
//! attributes, clientMetadata, validationData and group names are never consulted: users
//! and callers control them.
//!
//! Precedence: the explicit sources (`POOL`, `CLIENT`, `IDP` routes and memberships) must all
//! agree, otherwise `TENANT_CONFLICT`. An invitation must agree with them. A `DOMAIN` route is
//! only a default, consulted when no explicit source and no invitation answers.

use crate::directory::{Directory, DirectoryError};
use crate::error::DenyCode;
use crate::model::{
    email_domain, route_key, Invitation, Membership, MembershipStatus, Route, RouteKind, Tenant,
};

/// What an event says about who is asking. None of it is trusted on its own: it only
/// chooses which directory entries to look up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subject {
    pub user_pool_id: String,
    pub client_id: Option<String>,
    pub sub: Option<String>,
    /// Lower case.
    pub email: Option<String>,
    /// Set only for federated users (see `UserPoolEvent::federated_provider`).
    pub federated_provider: Option<String>,
}

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

/// Why no tenant was found. `reason` is for logs.
#[derive(Debug)]
pub enum Unresolved {
    Denied { code: DenyCode, reason: String },
    Directory(DirectoryError),
}

impl From<DirectoryError> for Unresolved {
    fn from(e: DirectoryError) -> Self {
        Unresolved::Directory(e)
    }
}

fn denied(code: DenyCode, reason: impl Into<String>) -> Unresolved {
    Unresolved::Denied {
        code,
        reason: reason.into(),
    }
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
    ) -> Result<(Option<(Source, Route)>, Option<Route>), Unresolved> {
        let pool = self.directory.route(RouteKind::Pool, &subject.user_pool_id);
        let client = async {
            match subject.client_id.as_deref() {
                Some(c) => self.directory.route(RouteKind::Client, c).await,
                None => Ok(None),
            }
        };
        let idp = async {
            match subject.federated_provider.as_deref().filter(|_| with_idp) {
                Some(p) => {
                    let key = route_key(RouteKind::Idp, p, Some(&subject.user_pool_id));
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

    async fn tenant(&self, id: &str) -> Result<Tenant, Unresolved> {
        // A route or membership naming a tenant that does not exist is an inconsistent
        // directory, not "no tenant": fail closed, whatever the no-tenant policy says.
        self.directory.tenant(id).await?.ok_or_else(|| {
            Unresolved::Directory(DirectoryError::Malformed(format!(
                "tenant {id} is referenced but does not exist"
            )))
        })
    }

    /// Pre token generation: memberships of (pool, sub), `POOL` and `CLIENT` routes.
    /// A route picks one of several memberships; a route that disagrees with the user's
    /// memberships is a conflict.
    pub async fn resolve_member(&self, subject: &Subject) -> Result<MemberLookup, Unresolved> {
        let sub = subject
            .sub
            .as_deref()
            .ok_or_else(|| denied(DenyCode::InvalidEvent, "event has no sub"))?;
        let (memberships, routes) = tokio::join!(
            self.directory.memberships(&subject.user_pool_id, sub),
            self.explicit_routes(subject, false)
        );
        let memberships = memberships?;
        let (route, _) = routes?;
        if memberships.is_empty() {
            return Ok(MemberLookup::NotMember);
        }
        let active: Vec<&Membership> = memberships
            .iter()
            .filter(|m| m.status == MembershipStatus::Active)
            .collect();
        let chosen = match &route {
            Some((source, r)) => match memberships.iter().find(|m| m.tenant_id == r.tenant_id) {
                Some(m) if m.status == MembershipStatus::Active => m,
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
            },
            None => match active.as_slice() {
                [one] => *one,
                [] => {
                    return Err(denied(
                        DenyCode::MembershipSuspended,
                        "every membership is suspended",
                    ))
                }
                many => {
                    return Err(denied(
                        DenyCode::TenantAmbiguous,
                        format!("{} memberships and no route picks one", many.len()),
                    ))
                }
            },
        };
        let tenant = self.tenant(&chosen.tenant_id).await?;
        Ok(MemberLookup::Member {
            tenant,
            membership: chosen.clone(),
        })
    }

    /// Sign-up and provisioning: `POOL`, `CLIENT` and (federated users) `IDP` routes, then an
    /// unexpired invitation for the email, then the `DOMAIN` route as a default.
    pub async fn resolve_admission(
        &self,
        subject: &Subject,
    ) -> Result<AdmissionCandidate, Unresolved> {
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
            .filter(|i| i.is_valid_at(self.now_epoch_seconds))
            .collect();

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
                        Some(d) => self.directory.route(RouteKind::Domain, &d).await?,
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
        let tenant = self.tenant(&tenant_id).await?;
        let idp_route = idp_route.filter(|r| r.tenant_id == tenant.id);
        Ok(AdmissionCandidate {
            tenant,
            source,
            invitation,
            idp_route,
        })
    }
}
