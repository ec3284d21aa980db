//! `tenantctl tenant ...`: create, show, list, update (partial and conditional), suspend,
//! resume, delete.

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem, Update};
use serde::Serialize;
use tenant_lookup::domain::model::{Invitation, Route, Tenant, TenantStatus, DEFAULT_ROLE};
use tenant_lookup::store::dynamo::codec::{
    attr, invitation_from_item, membership_from_item, n, route_from_item, s, tenant_from_item, Item,
};
use tenant_lookup::store::keys;

use crate::error::{sdk, AdminError};
use crate::import::{tenant_changes, FieldChange};
use crate::table::{build, condition_failed, ScanFilter, Source, TenantTable, TRANSACTION_MAX};
use crate::validate::{self, normalize};
use crate::views::{InvitationView, Listing, RouteView, TenantView};

/// Attempts of a read-then-conditional-write that lost a race (re-read, recompute, retry).
pub(crate) const RACE_ATTEMPTS: u32 = 5;

/// A new tenant's settings (`tenantctl tenant create`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewTenant {
    pub id: String,
    pub name: String,
    pub tier: String,
    pub self_sign_up: bool,
    pub allowed_email_domains: Vec<String>,
    pub max_users: Option<u32>,
    pub default_role: Option<String>,
    pub iam_role_arn: Option<String>,
}

/// The fields to change (`tenantctl tenant update`); `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TenantUpdate {
    pub name: Option<String>,
    pub tier: Option<String>,
    pub status: Option<TenantStatus>,
    pub self_sign_up: Option<bool>,
    /// `Some(vec![])`: any domain.
    pub allowed_email_domains: Option<Vec<String>>,
    /// `Some(None)`: unlimited.
    pub max_users: Option<Option<u32>>,
    pub default_role: Option<String>,
    /// `Some(None)`: no role.
    pub iam_role_arn: Option<Option<String>>,
}

/// A tenant changed (or not: no fields).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Updated {
    pub tenant_id: String,
    pub changes: Vec<FieldChange>,
}

/// Everything about one tenant (`tenantctl tenant show`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantDetails {
    pub tenant: TenantView,
    pub routes: Vec<RouteView>,
    pub open_invitations: Vec<InvitationView>,
    /// Memberships in the index (which may lag a moment behind `userCount`).
    pub members: u64,
}

/// What `tenantctl tenant delete` removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deleted {
    pub tenant_id: String,
    pub members: usize,
    pub routes: usize,
    pub invitations: usize,
}

fn not_found(id: &str) -> AdminError {
    AdminError::NotFound(format!("tenant '{id}' does not exist"))
}

impl TenantTable {
    /// A tenant and its item as stored (consistent read).
    pub(crate) async fn read_tenant(&self, id: &str) -> Result<Option<(Tenant, Item)>, AdminError> {
        match self.get(keys::tenant_pk(id), keys::TENANT_SK).await? {
            Some(item) => Ok(Some((tenant_from_item(&item)?, item))),
            None => Ok(None),
        }
    }

    pub(crate) async fn require_tier(&self, tier: &str) -> Result<(), AdminError> {
        if self
            .get(keys::tier_pk(tier), keys::TIER_SK)
            .await?
            .is_none()
        {
            return Err(AdminError::NotFound(format!(
                "tier '{tier}' does not exist (tenantctl tier set {tier} creates it)"
            )));
        }
        Ok(())
    }

    /// Creates a tenant with `userCount` 0. Invalid settings: [`AdminError::Invalid`]; a
    /// missing tier: NotFound; an existing tenant: Conflict.
    pub async fn create_tenant(&self, new: &NewTenant) -> Result<TenantView, AdminError> {
        let tenant = Tenant {
            id: new.id.clone(),
            name: if new.name.is_empty() {
                new.id.clone()
            } else {
                new.name.clone()
            },
            tier: new.tier.clone(),
            status: TenantStatus::Active,
            self_sign_up: new.self_sign_up,
            allowed_email_domains: new
                .allowed_email_domains
                .iter()
                .map(|d| normalize(d))
                .collect(),
            max_users: new.max_users,
            user_count: 0,
            default_role: new
                .default_role
                .clone()
                .unwrap_or_else(|| DEFAULT_ROLE.to_string()),
            iam_role_arn: new.iam_role_arn.clone(),
        };
        AdminError::check(tenant_problems(&tenant))?;
        self.require_tier(&tenant.tier).await?;
        if !self.write_tenant(&tenant, None).await? {
            return Err(AdminError::Conflict(format!(
                "tenant '{}' already exists",
                tenant.id
            )));
        }
        Ok(TenantView::from(&tenant))
    }

    /// A tenant, its routes, open invitations and member count.
    pub async fn show_tenant(&self, id: &str, now_epoch: i64) -> Result<TenantDetails, AdminError> {
        let (tenant, _) = self.read_tenant(id).await?.ok_or_else(|| not_found(id))?;
        let routes = self
            .tenant_items(id, keys::ROUTE_PREFIX)
            .await?
            .iter()
            .map(route_from_item)
            .collect::<Result<Vec<Route>, _>>()?;
        let invitations = self
            .tenant_items(id, keys::INVITE_PREFIX)
            .await?
            .iter()
            .map(invitation_from_item)
            .collect::<Result<Vec<Invitation>, _>>()?;
        let members = self.tenant_count(id, keys::USER_PREFIX).await?;
        Ok(TenantDetails {
            tenant: TenantView::from(&tenant),
            routes: routes.iter().map(RouteView::from).collect(),
            open_invitations: invitations
                .iter()
                .filter(|i| i.is_open_at(now_epoch))
                .map(|i| InvitationView::new(i, now_epoch))
                .collect(),
            members,
        })
    }

    /// At most `limit` tenants after the tenant `after` (in the table's order).
    pub async fn list_tenants(
        &self,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Listing<TenantView>, AdminError> {
        let source = Source::Scan(ScanFilter::Prefixes(keys::TENANT_PREFIX, keys::TENANT_SK));
        let start = after.map(|id| {
            Item::from([
                (keys::PK.to_string(), s(keys::tenant_pk(id))),
                (keys::SK.to_string(), s(keys::TENANT_SK)),
            ])
        });
        let (items, more) = self.list(&source, start, limit).await?;
        let tenants = items
            .iter()
            .map(tenant_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Listing {
            next: more.then(|| tenants.last().map(|t| t.id.clone())).flatten(),
            items: tenants.iter().map(TenantView::from).collect(),
        })
    }

    /// Changes only the fields given, on condition that each is still what was read (a lost
    /// race is read again and retried). A missing tenant or tier: NotFound.
    pub async fn update_tenant(
        &self,
        id: &str,
        update: &TenantUpdate,
    ) -> Result<Updated, AdminError> {
        for _ in 0..RACE_ATTEMPTS {
            let (before, item) = self.read_tenant(id).await?.ok_or_else(|| not_found(id))?;
            let after = updated(&before, update);
            AdminError::check(tenant_problems(&after))?;
            let changes = tenant_changes(&before, &after);
            if changes.is_empty() {
                return Ok(Updated {
                    tenant_id: id.to_string(),
                    changes,
                });
            }
            if after.tier != before.tier {
                self.require_tier(&after.tier).await?;
            }
            if self.write_tenant(&after, Some(&item)).await? {
                return Ok(Updated {
                    tenant_id: id.to_string(),
                    changes,
                });
            }
        }
        Err(AdminError::Conflict(format!(
            "tenant '{id}' kept changing while it was updated; try again"
        )))
    }

    /// Deletes a tenant. Refused (Conflict) while it has members, routes or invitations, unless
    /// `force`, which first suspends it (no provisioning into it meanwhile), then removes its
    /// memberships (with their seats), routes and invitations. The members' provisioning guards
    /// stay: they are not placed again through a domain route.
    pub async fn delete_tenant(&self, id: &str, force: bool) -> Result<Deleted, AdminError> {
        let (tenant, _) = self.read_tenant(id).await?.ok_or_else(|| not_found(id))?;
        let mut deleted = Deleted {
            tenant_id: id.to_string(),
            ..Default::default()
        };
        for _ in 0..RACE_ATTEMPTS {
            let routes = self.tenant_items(id, keys::ROUTE_PREFIX).await?;
            let invitations = self.tenant_items(id, keys::INVITE_PREFIX).await?;
            let members = self.tenant_items(id, keys::USER_PREFIX).await?;
            if !force
                && (!members.is_empty()
                    || !routes.is_empty()
                    || !invitations.is_empty()
                    || tenant.user_count > 0)
            {
                let used = invitations
                    .iter()
                    .filter_map(|i| invitation_from_item(i).ok())
                    .filter(Invitation::is_used)
                    .count();
                return Err(AdminError::Conflict(format!(
                    "tenant '{id}' still has {} members, {} routes and {} invitations ({used} \
                     used); tenantctl tenant delete {id} --force removes them too",
                    members.len().max(tenant.user_count as usize),
                    routes.len(),
                    invitations.len()
                )));
            }
            if force {
                self.update_tenant(
                    id,
                    &TenantUpdate {
                        status: Some(TenantStatus::Suspended),
                        ..Default::default()
                    },
                )
                .await?;
                for chunk in members.chunks(TRANSACTION_MAX - 1) {
                    deleted.members += self.remove_memberships(id, chunk).await?;
                }
                deleted.routes += routes.len();
                deleted.invitations += invitations.len();
                let keys_of = |items: &[Item]| {
                    items
                        .iter()
                        .filter_map(|i| {
                            Some((
                                i.get(keys::PK)?.as_s().ok()?.clone(),
                                i.get(keys::SK)?.as_s().ok()?.clone(),
                            ))
                        })
                        .collect::<Vec<_>>()
                };
                self.batch_delete(keys_of(&routes)).await?;
                self.batch_delete(keys_of(&invitations)).await?;
            }
            // Forced: the tenant is suspended, so no trigger provisions into it meanwhile.
            // Otherwise: no seat is taken (the count moves with every membership, and is read
            // consistently where the index may lag).
            let condition = if force {
                "attribute_exists(#pk) AND #status = :suspended"
            } else {
                "attribute_exists(#pk) AND (attribute_not_exists(#count) OR #count = :zero)"
            };
            let mut request = self
                .client()
                .delete_item()
                .table_name(self.table())
                .key(keys::PK, s(keys::tenant_pk(id)))
                .key(keys::SK, s(keys::TENANT_SK))
                .condition_expression(condition)
                .expression_attribute_names("#pk", keys::PK);
            request = if force {
                request
                    .expression_attribute_names("#status", attr::STATUS)
                    .expression_attribute_values(":suspended", s(TenantStatus::Suspended.as_str()))
            } else {
                request
                    .expression_attribute_names("#count", attr::USER_COUNT)
                    .expression_attribute_values(":zero", n(0))
            };
            match request.send().await {
                Ok(_) => return Ok(deleted),
                Err(e) if condition_failed(&e) => {
                    if self.read_tenant(id).await?.is_none() {
                        return Err(not_found(id));
                    }
                    if !force {
                        return Err(AdminError::Conflict(format!(
                            "tenant '{id}' gained a member meanwhile; tenantctl tenant delete \
                             {id} --force removes members too"
                        )));
                    }
                    // Resumed meanwhile, or members the index did not show yet: again.
                }
                Err(e) => return Err(sdk("DeleteItem", self.table())(e)),
            }
        }
        Err(AdminError::Conflict(format!(
            "tenant '{id}' kept changing while it was deleted; try again"
        )))
    }

    /// Deletes these memberships of `tenant` (items from the index) and frees their seats in one
    /// transaction; memberships already gone are skipped. If `userCount` is lower than the
    /// memberships (a drifted count), they are deleted without touching it. Returns how many
    /// were deleted.
    async fn remove_memberships(&self, tenant: &str, items: &[Item]) -> Result<usize, AdminError> {
        let mut members: Vec<(String, String)> = items
            .iter()
            .filter_map(|i| membership_from_item(i).ok())
            .map(|m| {
                (
                    keys::user_pk(&m.user_pool_id, &m.sub),
                    keys::tenant_sk(tenant),
                )
            })
            .collect();
        for attempt in 0..RACE_ATTEMPTS {
            if members.is_empty() {
                return Ok(0);
            }
            if attempt > 0 {
                self.directory().pause(attempt).await;
            }
            let k = members.len() as u32;
            let mut writes = Vec::with_capacity(members.len() + 1);
            for (pk, sk) in &members {
                let delete = Delete::builder()
                    .table_name(self.table())
                    .key(keys::PK, s(pk.as_str()))
                    .key(keys::SK, s(sk.as_str()))
                    .condition_expression("attribute_exists(#pk)")
                    .expression_attribute_names("#pk", keys::PK)
                    .build()
                    .map_err(build)?;
                writes.push(TransactWriteItem::builder().delete(delete).build());
            }
            let seats = Update::builder()
                .table_name(self.table())
                .key(keys::PK, s(keys::tenant_pk(tenant)))
                .key(keys::SK, s(keys::TENANT_SK))
                .update_expression("ADD #count :minus")
                .condition_expression("attribute_exists(#pk) AND #count >= :k")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#count", attr::USER_COUNT)
                .expression_attribute_values(":minus", n(-i64::from(k)))
                .expression_attribute_values(":k", n(k))
                .build()
                .map_err(build)?;
            writes.push(TransactWriteItem::builder().update(seats).build());
            let Some(reasons) = self.transact(writes).await? else {
                return Ok(members.len());
            };
            if reasons.iter().any(|r| r == "TransactionConflict") {
                continue;
            }
            let gone: Vec<usize> = (0..members.len())
                .filter(|&i| reasons[i] == "ConditionalCheckFailed")
                .collect();
            if !gone.is_empty() {
                members = members
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| !gone.contains(i))
                    .map(|(_, m)| m)
                    .collect();
                continue;
            }
            // userCount is below the memberships: delete them alone (reconcile recounts).
            let n = members.len();
            self.batch_delete(members).await?;
            return Ok(n);
        }
        Err(AdminError::Conflict(format!(
            "members of tenant '{tenant}' kept changing while they were removed; try again"
        )))
    }
}

/// `before` with `update`'s fields applied.
fn updated(before: &Tenant, u: &TenantUpdate) -> Tenant {
    let mut t = before.clone();
    if let Some(v) = &u.name {
        t.name = v.clone();
    }
    if let Some(v) = &u.tier {
        t.tier = v.clone();
    }
    if let Some(v) = u.status {
        t.status = v;
    }
    if let Some(v) = u.self_sign_up {
        t.self_sign_up = v;
    }
    if let Some(v) = &u.allowed_email_domains {
        t.allowed_email_domains = v.iter().map(|d| normalize(d)).collect();
    }
    if let Some(v) = u.max_users {
        t.max_users = v;
    }
    if let Some(v) = &u.default_role {
        t.default_role = v.clone();
    }
    if let Some(v) = &u.iam_role_arn {
        t.iam_role_arn = v.clone();
    }
    t
}

/// What is wrong with a tenant's settings.
pub(crate) fn tenant_problems(t: &Tenant) -> Vec<String> {
    let mut problems: Vec<String> = [
        validate::id("tenant id", &t.id),
        validate::id("tier", &t.tier),
        validate::name(&t.name),
        validate::role(&t.default_role).map(|p| format!("default role: {p}")),
        t.iam_role_arn.as_deref().and_then(validate::iam_role_arn),
    ]
    .into_iter()
    .flatten()
    .collect();
    problems.extend(
        t.allowed_email_domains
            .iter()
            .filter_map(|d| validate::domain(d))
            .map(|p| format!("allowed email domain: {p}")),
    );
    problems
}
