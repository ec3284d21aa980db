//! An in-memory directory for handler unit tests, event replay and benchmarks.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::domain::model::{Invitation, Membership, Route, RouteKind, Tenant, Tier};
use crate::store::{
    Directory, DirectoryContents, DirectoryError, ProvisionOutcome, ProvisionRequest,
};

#[derive(Default)]
struct State {
    tenants: BTreeMap<String, Tenant>,
    tiers: BTreeMap<String, Tier>,
    routes: BTreeMap<(RouteKind, String), Route>,
    /// Keyed by (pool, sub, tenant).
    members: BTreeMap<(String, String, String), Membership>,
    /// Keyed by (pool, email, tenant).
    invitations: BTreeMap<(String, String, String), Invitation>,
    /// Users a provisioning has placed, (pool, sub) -> tenant (the DynamoDB guard item).
    provisioned: BTreeMap<(String, String), String>,
}

/// Counts of the requests a handler made, by operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub reads: usize,
    pub writes: usize,
}

#[derive(Default)]
pub struct InMemoryDirectory {
    state: Mutex<State>,
    reads: AtomicUsize,
    writes: AtomicUsize,
    unavailable: AtomicBool,
}

impl InMemoryDirectory {
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads validated contents; each tenant's `userCount` becomes its number of members.
    pub fn from_contents(mut contents: DirectoryContents) -> Self {
        contents.count_users();
        let dir = Self::new();
        {
            let mut s = dir.state.lock().unwrap();
            for t in contents.tenants {
                s.tenants.insert(t.id.clone(), t);
            }
            for t in contents.tiers {
                s.tiers.insert(t.id.clone(), t);
            }
            for r in contents.routes {
                s.routes.insert((r.kind, r.key.clone()), r);
            }
            for m in contents.members {
                s.members.insert(
                    (m.user_pool_id.clone(), m.sub.clone(), m.tenant_id.clone()),
                    m,
                );
            }
            for i in contents.invitations {
                s.invitations.insert(
                    (i.user_pool_id.clone(), i.email.clone(), i.tenant_id.clone()),
                    i,
                );
            }
        }
        dir
    }

    /// Everything in the directory now (for assertions and for showing a before/after).
    pub fn contents(&self) -> DirectoryContents {
        let s = self.state.lock().unwrap();
        DirectoryContents {
            tiers: s.tiers.values().cloned().collect(),
            tenants: s.tenants.values().cloned().collect(),
            routes: s.routes.values().cloned().collect(),
            members: s.members.values().cloned().collect(),
            invitations: s.invitations.values().cloned().collect(),
        }
    }

    pub fn requests(&self) -> RequestCounts {
        RequestCounts {
            reads: self.reads.load(Ordering::SeqCst),
            writes: self.writes.load(Ordering::SeqCst),
        }
    }

    pub fn reset_requests(&self) {
        self.reads.store(0, Ordering::SeqCst);
        self.writes.store(0, Ordering::SeqCst);
    }

    /// Makes every following request fail, as an unreachable table would.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    pub fn update_tenant(&self, id: &str, f: impl FnOnce(&mut Tenant)) {
        if let Some(t) = self.state.lock().unwrap().tenants.get_mut(id) {
            f(t);
        }
    }

    /// Removes one membership, as an administrator would (the user's guard item stays).
    pub fn remove_member(&self, user_pool_id: &str, sub: &str, tenant_id: &str) {
        self.state.lock().unwrap().members.remove(&(
            user_pool_id.to_string(),
            sub.to_string(),
            tenant_id.to_string(),
        ));
    }

    fn read(&self) -> Result<std::sync::MutexGuard<'_, State>, DirectoryError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        Ok(self.state.lock().unwrap())
    }

    fn check(&self) -> Result<(), DirectoryError> {
        if self.unavailable.load(Ordering::SeqCst) {
            Err(DirectoryError::Unavailable(
                "in-memory directory set unavailable".into(),
            ))
        } else {
            Ok(())
        }
    }
}

impl Directory for InMemoryDirectory {
    async fn tenant(&self, id: &str) -> Result<Option<Tenant>, DirectoryError> {
        Ok(self.read()?.tenants.get(id).cloned())
    }

    async fn tier(&self, id: &str) -> Result<Option<Tier>, DirectoryError> {
        Ok(self.read()?.tiers.get(id).cloned())
    }

    async fn route(&self, kind: RouteKind, key: &str) -> Result<Option<Route>, DirectoryError> {
        Ok(self.read()?.routes.get(&(kind, key.to_string())).cloned())
    }

    async fn memberships(
        &self,
        user_pool_id: &str,
        sub: &str,
    ) -> Result<Vec<Membership>, DirectoryError> {
        Ok(self
            .read()?
            .members
            .values()
            .filter(|m| m.user_pool_id == user_pool_id && m.sub == sub)
            .cloned()
            .collect())
    }

    async fn invitations(
        &self,
        user_pool_id: &str,
        email: &str,
    ) -> Result<Vec<Invitation>, DirectoryError> {
        Ok(self
            .read()?
            .invitations
            .values()
            .filter(|i| i.user_pool_id == user_pool_id && i.email == email)
            .cloned()
            .collect())
    }

    async fn provision(
        &self,
        request: &ProvisionRequest,
    ) -> Result<ProvisionOutcome, DirectoryError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        let mut s = self.state.lock().unwrap();
        let m = &request.membership;
        let member_key = (m.user_pool_id.clone(), m.sub.clone(), m.tenant_id.clone());
        if let Some(existing) = s.members.get(&member_key) {
            return Ok(ProvisionOutcome::AlreadyMember(existing.clone()));
        }
        let user_key = (m.user_pool_id.clone(), m.sub.clone());
        if s.provisioned.contains_key(&user_key) {
            let other = s
                .members
                .values()
                .find(|x| x.user_pool_id == m.user_pool_id && x.sub == m.sub);
            return Ok(match other {
                Some(other) => ProvisionOutcome::AlreadyMember(other.clone()),
                None => ProvisionOutcome::ProvisionedBefore,
            });
        }
        let invitation_key = match (&request.invitation_email, &request.invitation_tenant_id) {
            (Some(email), Some(tenant)) => {
                let key = (m.user_pool_id.clone(), email.clone(), tenant.clone());
                if !s
                    .invitations
                    .get(&key)
                    .is_some_and(|i| i.is_open_at(m.created_at))
                {
                    return Ok(ProvisionOutcome::InvitationGone);
                }
                Some(key)
            }
            _ => None,
        };
        let Some(tenant) = s.tenants.get_mut(&m.tenant_id) else {
            return Ok(ProvisionOutcome::TenantInactive);
        };
        if !tenant.is_active() {
            return Ok(ProvisionOutcome::TenantInactive);
        }
        if !tenant.has_free_seat() {
            return Ok(ProvisionOutcome::SeatLimitReached);
        }
        tenant.user_count += 1;
        if let Some(invitation) = invitation_key.and_then(|key| s.invitations.get_mut(&key)) {
            invitation.used_by = Some(m.sub.clone());
            invitation.used_at = Some(m.created_at);
            invitation.expires_at = None;
        }
        s.members.insert(member_key, m.clone());
        s.provisioned.insert(user_key, m.tenant_id.clone());
        Ok(ProvisionOutcome::Created)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::MembershipStatus;
    use crate::fixtures::tenant;

    fn request(sub: &str, tenant: &str) -> ProvisionRequest {
        ProvisionRequest {
            membership: Membership {
                user_pool_id: "p".into(),
                sub: sub.into(),
                tenant_id: tenant.into(),
                roles: vec!["member".into()],
                status: MembershipStatus::Active,
                source: "domain".into(),
                created_at: 0,
            },
            invitation_tenant_id: None,
            invitation_email: None,
        }
    }

    #[tokio::test]
    async fn an_invitation_admits_once_and_is_kept_as_used_as_on_dynamodb() {
        let dir = InMemoryDirectory::from_contents(DirectoryContents {
            tenants: vec![tenant("a", "t")],
            invitations: vec![Invitation {
                expires_at: Some(100),
                ..crate::fixtures::invitation("p", "x@a.example", "a")
            }],
            ..Default::default()
        });
        let invited = |sub: &str| ProvisionRequest {
            invitation_tenant_id: Some("a".into()),
            invitation_email: Some("x@a.example".into()),
            ..request(sub, "a")
        };
        assert_eq!(
            dir.provision(&invited("u1")).await.unwrap(),
            ProvisionOutcome::Created
        );
        let used = &dir.contents().invitations[0];
        assert_eq!(
            (used.used_by.as_deref(), used.used_at, used.expires_at),
            (Some("u1"), Some(0), None)
        );
        assert_eq!(
            dir.provision(&invited("u2")).await.unwrap(),
            ProvisionOutcome::InvitationGone,
            "a second account with the invited address is not admitted by it"
        );
        assert_eq!(dir.contents().members.len(), 1);
    }

    #[tokio::test]
    async fn a_user_is_provisioned_into_one_tenant_only_as_on_dynamodb() {
        let dir = InMemoryDirectory::from_contents(DirectoryContents {
            tenants: vec![tenant("a", "t"), tenant("b", "t")],
            ..Default::default()
        });
        assert_eq!(
            dir.provision(&request("u", "a")).await.unwrap(),
            ProvisionOutcome::Created
        );
        match dir.provision(&request("u", "b")).await.unwrap() {
            ProvisionOutcome::AlreadyMember(m) => assert_eq!(m.tenant_id, "a"),
            other => panic!("{other:?}"),
        }
        let contents = dir.contents();
        assert_eq!(contents.members.len(), 1);
        assert_eq!(
            contents
                .tenants
                .iter()
                .map(|t| t.user_count)
                .collect::<Vec<_>>(),
            [1, 0]
        );
    }
}
