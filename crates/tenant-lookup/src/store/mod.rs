//! The tenant directory as the triggers see it: the [`Directory`] trait (every question a
//! trigger asks, and the one write it makes), and its implementations: DynamoDB
//! ([`dynamo::DynamoDirectory`]), in memory ([`memory::InMemoryDirectory`], for handler tests,
//! the replay and benchmarks) and the TTL cache in front of either ([`cache::CachedDirectory`]).

use std::future::Future;

use crate::domain::model::{Invitation, Membership, Route, RouteKind, Tenant, Tier};

pub mod cache;
pub mod dynamo;
pub mod keys;
pub mod memory;

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The store could not be reached or answered with an error. The text is for logs only.
    #[error("directory unavailable: {0}")]
    Unavailable(String),
    /// An item did not have the expected shape. The text is for logs only.
    #[error("directory item malformed: {0}")]
    Malformed(String),
}

/// One provisioning: put the membership (if absent), mark the invitation used, take a seat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvisionRequest {
    /// Its `createdAt` is the time of the provisioning (the invitation's `usedAt`).
    pub membership: Membership,
    /// The invitation that admitted the user, marked used (by the membership's `sub`) in the
    /// same transaction.
    pub invitation_tenant_id: Option<String>,
    /// The invitation's email (lower case), when one was used.
    pub invitation_email: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProvisionOutcome {
    /// The membership was written and a seat taken.
    Created,
    /// The user already has a membership: this one (a retry, or a concurrent confirmation), or,
    /// when a concurrent provisioning won with another tenant, that one.
    AlreadyMember(Membership),
    /// The tenant is at `maxUsers`.
    SeatLimitReached,
    /// The tenant is missing or not active.
    TenantInactive,
    /// The invitation was used, revoked or expired meanwhile.
    InvitationGone,
    /// A trigger provisioned this user before, and the membership it wrote has since been
    /// removed by an administrator: not provisioned again.
    ProvisionedBefore,
}

/// Read access to the tenant directory plus the one write the triggers make.
///
pub trait Directory: Send + Sync {
    fn tenant(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Tenant>, DirectoryError>> + Send;

    fn tier(&self, id: &str) -> impl Future<Output = Result<Option<Tier>, DirectoryError>> + Send;

    /// `key` is the stored key (see [`crate::domain::model::route_key`]).
    fn route(
        &self,
        kind: RouteKind,
        key: &str,
    ) -> impl Future<Output = Result<Option<Route>, DirectoryError>> + Send;

    /// All memberships of one user of one pool: one Query.
    fn memberships(
        &self,
        user_pool_id: &str,
        sub: &str,
    ) -> impl Future<Output = Result<Vec<Membership>, DirectoryError>> + Send;

    /// All invitations for one email (lower case) in one pool: one Query. Used and expired ones
    /// included.
    fn invitations(
        &self,
        user_pool_id: &str,
        email: &str,
    ) -> impl Future<Output = Result<Vec<Invitation>, DirectoryError>> + Send;

    /// Atomically: membership put (if absent), the invitation marked used (if still open),
    /// `userCount` increment (if the tenant is active and below `maxUsers`).
    fn provision(
        &self,
        request: &ProvisionRequest,
    ) -> impl Future<Output = Result<ProvisionOutcome, DirectoryError>> + Send;
}

impl<D: Directory> Directory for std::sync::Arc<D> {
    fn tenant(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Tenant>, DirectoryError>> + Send {
        (**self).tenant(id)
    }
    fn tier(&self, id: &str) -> impl Future<Output = Result<Option<Tier>, DirectoryError>> + Send {
        (**self).tier(id)
    }
    fn route(
        &self,
        kind: RouteKind,
        key: &str,
    ) -> impl Future<Output = Result<Option<Route>, DirectoryError>> + Send {
        (**self).route(kind, key)
    }
    fn memberships(
        &self,
        user_pool_id: &str,
        sub: &str,
    ) -> impl Future<Output = Result<Vec<Membership>, DirectoryError>> + Send {
        (**self).memberships(user_pool_id, sub)
    }
    fn invitations(
        &self,
        user_pool_id: &str,
        email: &str,
    ) -> impl Future<Output = Result<Vec<Invitation>, DirectoryError>> + Send {
        (**self).invitations(user_pool_id, email)
    }
    fn provision(
        &self,
        request: &ProvisionRequest,
    ) -> impl Future<Output = Result<ProvisionOutcome, DirectoryError>> + Send {
        (**self).provision(request)
    }
}

/// Everything in a directory, normalized: what the in-memory store holds, what an export reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectoryContents {
    pub tiers: Vec<Tier>,
    pub tenants: Vec<Tenant>,
    pub routes: Vec<Route>,
    pub members: Vec<Membership>,
    pub invitations: Vec<Invitation>,
}

impl DirectoryContents {
    /// Sets each tenant's `userCount` to its number of memberships.
    pub fn count_users(&mut self) {
        for t in &mut self.tenants {
            t.user_count = self.members.iter().filter(|m| m.tenant_id == t.id).count() as u32;
        }
    }
}
