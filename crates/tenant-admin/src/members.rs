//! `tenantctl member ...`: add (within `maxUsers` unless forced), remove (keeping the user's
//! provisioning guard unless rejoining is allowed), roles, list, show. `userCount` moves only
//! with a membership, in the same transaction.

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use serde::Serialize;
use tenant_lookup::domain::model::{Membership, MembershipStatus};
use tenant_lookup::store::dynamo::codec::{
    attr, membership_from_item, membership_item, n, s, string_list, Item, Reader,
};
use tenant_lookup::store::keys;

use crate::error::{list, or, sdk, AdminError};
use crate::import::{seat_update, FieldChange};
use crate::table::{build, condition_failed, Source, TenantTable};
use crate::tenants::RACE_ATTEMPTS;
use crate::validate;
use crate::views::{Listing, MemberView};

/// A member added: whether it took a seat beyond `maxUsers` (`--force`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Added {
    pub member: MemberView,
    pub user_count: u32,
    pub max_users: Option<u32>,
    pub over_limit: bool,
}

/// A member removed: what happened to the user's provisioning guard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Removed {
    pub member: MemberView,
    /// `kept`: the triggers will not place the user again; `removed`: they may (`--allow-rejoin`).
    pub guard: &'static str,
}

/// The per-user guard a provisioning writes (`USER#{pool}#{sub}` / `PROVISIONED`): while it
/// exists, the triggers do not provision the user again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Guard {
    /// The tenant of the first provisioning (or of the membership an administrator removed).
    pub tenant_id: String,
    pub created_at: i64,
}

/// One user of one pool: their memberships and guard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberDetails {
    pub user_pool_id: String,
    pub sub: String,
    pub memberships: Vec<MemberView>,
    pub guard: Option<Guard>,
}

fn check_user(pool: &str, sub: &str, tenant: Option<&str>) -> Result<(), AdminError> {
    AdminError::check(
        [
            validate::user_pool_id(pool),
            validate::sub(sub),
            tenant.and_then(|t| validate::id("tenant id", t)),
        ]
        .into_iter()
        .flatten()
        .collect(),
    )
}

fn no_member(pool: &str, sub: &str, tenant: &str) -> AdminError {
    AdminError::NotFound(format!(
        "user '{sub}' of pool {pool} is not a member of tenant '{tenant}'"
    ))
}

impl TenantTable {
    async fn read_membership(
        &self,
        pool: &str,
        sub: &str,
        tenant: &str,
    ) -> Result<Option<(Membership, Item)>, AdminError> {
        match self
            .get(keys::user_pk(pool, sub), &keys::tenant_sk(tenant))
            .await?
        {
            Some(item) => Ok(Some((membership_from_item(&item)?, item))),
            None => Ok(None),
        }
    }

    /// Adds a member and takes a seat in one transaction, within `maxUsers` unless `force`.
    /// A missing tenant: NotFound; an existing membership or a full tenant: Conflict.
    pub async fn add_member(
        &self,
        pool: &str,
        sub: &str,
        tenant_id: &str,
        roles: &[String],
        force: bool,
        now_epoch: i64,
    ) -> Result<Added, AdminError> {
        check_user(pool, sub, Some(tenant_id))?;
        AdminError::check(roles.iter().filter_map(|r| validate::role(r)).collect())?;
        let already = || {
            AdminError::Conflict(format!(
                "user '{sub}' of pool {pool} is already a member of tenant '{tenant_id}'"
            ))
        };
        for _ in 0..RACE_ATTEMPTS {
            if self.read_membership(pool, sub, tenant_id).await?.is_some() {
                return Err(already());
            }
            let (tenant, _) = self.read_tenant(tenant_id).await?.ok_or_else(|| {
                AdminError::NotFound(format!("tenant '{tenant_id}' does not exist"))
            })?;
            let over = !tenant.has_free_seat();
            if over && !force {
                return Err(AdminError::Conflict(format!(
                    "tenant '{tenant_id}' is full ({} of {} seats taken): raise maxUsers, or \
                     --force to exceed it",
                    tenant.user_count,
                    or(tenant.max_users, "unlimited")
                )));
            }
            let membership = Membership {
                user_pool_id: pool.to_string(),
                sub: sub.to_string(),
                tenant_id: tenant_id.to_string(),
                roles: if roles.is_empty() {
                    vec![tenant.default_role.clone()]
                } else {
                    roles.to_vec()
                },
                status: MembershipStatus::Active,
                source: "admin".into(),
                created_at: now_epoch,
            };
            let put = Put::builder()
                .table_name(self.table())
                .set_item(Some(membership_item(&membership)))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK)
                .build()
                .map_err(build)?;
            let seat = seat_update(self.table(), tenant_id, 1, tenant.max_users, force)?;
            let reasons = self
                .transact(vec![
                    TransactWriteItem::builder().put(put).build(),
                    TransactWriteItem::builder().update(seat).build(),
                ])
                .await?;
            match reasons {
                None => {
                    return Ok(Added {
                        member: MemberView::from(&membership),
                        user_count: tenant.user_count + 1,
                        max_users: tenant.max_users,
                        over_limit: over,
                    })
                }
                Some(r) if r[0] == "ConditionalCheckFailed" => return Err(already()),
                // The tenant changed (a seat taken, maxUsers changed, deleted): read it again.
                Some(_) => continue,
            }
        }
        Err(AdminError::Conflict(format!(
            "tenant '{tenant_id}' kept changing while the member was added; try again"
        )))
    }

    /// Removes a membership and frees its seat in one transaction. The user's provisioning
    /// guard is kept (written if the user had none), so the triggers do not place the user again
    /// at the next sign-in; `allow_rejoin` removes it instead.
    pub async fn remove_member(
        &self,
        pool: &str,
        sub: &str,
        tenant_id: &str,
        allow_rejoin: bool,
        now_epoch: i64,
    ) -> Result<Removed, AdminError> {
        check_user(pool, sub, Some(tenant_id))?;
        for attempt in 0..RACE_ATTEMPTS {
            if attempt > 0 {
                self.directory().pause(attempt).await;
            }
            let (membership, _) = self
                .read_membership(pool, sub, tenant_id)
                .await?
                .ok_or_else(|| no_member(pool, sub, tenant_id))?;
            let tenant_exists = self.read_tenant(tenant_id).await?.is_some();
            let delete = Delete::builder()
                .table_name(self.table())
                .key(keys::PK, s(keys::user_pk(pool, sub)))
                .key(keys::SK, s(keys::tenant_sk(tenant_id)))
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK)
                .build()
                .map_err(build)?;
            let mut writes = vec![TransactWriteItem::builder().delete(delete).build()];
            if tenant_exists {
                let seat = Update::builder()
                    .table_name(self.table())
                    .key(keys::PK, s(keys::tenant_pk(tenant_id)))
                    .key(keys::SK, s(keys::TENANT_SK))
                    .update_expression("ADD #count :minus")
                    .condition_expression("attribute_exists(#pk) AND #count >= :one")
                    .expression_attribute_names("#pk", keys::PK)
                    .expression_attribute_names("#count", attr::USER_COUNT)
                    .expression_attribute_values(":minus", n(-1))
                    .expression_attribute_values(":one", n(1))
                    .build()
                    .map_err(build)?;
                writes.push(TransactWriteItem::builder().update(seat).build());
            }
            let guard_key = (keys::user_pk(pool, sub), keys::PROVISIONED_SK);
            if allow_rejoin {
                let delete = Delete::builder()
                    .table_name(self.table())
                    .key(keys::PK, s(guard_key.0.as_str()))
                    .key(keys::SK, s(guard_key.1))
                    .build()
                    .map_err(build)?;
                writes.push(TransactWriteItem::builder().delete(delete).build());
            } else {
                let keep = Update::builder()
                    .table_name(self.table())
                    .key(keys::PK, s(guard_key.0.as_str()))
                    .key(keys::SK, s(guard_key.1))
                    .update_expression(
                        "SET #tenant = if_not_exists(#tenant, :tenant), \
                         #created = if_not_exists(#created, :now)",
                    )
                    .expression_attribute_names("#tenant", attr::TENANT_ID)
                    .expression_attribute_names("#created", attr::CREATED_AT)
                    .expression_attribute_values(":tenant", s(tenant_id))
                    .expression_attribute_values(":now", n(now_epoch))
                    .build()
                    .map_err(build)?;
                writes.push(TransactWriteItem::builder().update(keep).build());
            }
            let Some(reasons) = self.transact(writes).await? else {
                return Ok(Removed {
                    member: MemberView::from(&membership),
                    guard: if allow_rejoin { "removed" } else { "kept" },
                });
            };
            if reasons.iter().any(|r| r == "TransactionConflict") {
                continue;
            }
            if reasons[0] == "ConditionalCheckFailed" {
                return Err(no_member(pool, sub, tenant_id));
            }
            if tenant_exists && reasons[1] == "ConditionalCheckFailed" {
                match self.read_tenant(tenant_id).await? {
                    // Deleted meanwhile: the membership goes without a seat to free.
                    None => continue,
                    Some((t, _)) => {
                        return Err(AdminError::Conflict(format!(
                            "tenant '{tenant_id}' has userCount {} while this membership exists: \
                             run tenantctl reconcile --tenant {tenant_id} first",
                            t.user_count
                        )))
                    }
                }
            }
            return Err(AdminError::Unreachable(format!(
                "the directory cancelled a transaction: {}",
                reasons.join(", ")
            )));
        }
        Err(AdminError::Conflict(
            "the membership kept changing while it was removed; try again".to_string(),
        ))
    }

    /// Replaces a member's roles, on condition that they are still the ones read.
    pub async fn set_member_roles(
        &self,
        pool: &str,
        sub: &str,
        tenant_id: &str,
        roles: &[String],
    ) -> Result<FieldChange, AdminError> {
        check_user(pool, sub, Some(tenant_id))?;
        let mut problems: Vec<String> = roles.iter().filter_map(|r| validate::role(r)).collect();
        if roles.is_empty() {
            problems.push("name at least one role".into());
        }
        AdminError::check(problems)?;
        for _ in 0..RACE_ATTEMPTS {
            let (membership, item) = self
                .read_membership(pool, sub, tenant_id)
                .await?
                .ok_or_else(|| no_member(pool, sub, tenant_id))?;
            let change = FieldChange {
                field: "roles".into(),
                before: list(&membership.roles),
                after: list(roles),
                loosening: false,
            };
            if membership.roles == roles {
                return Ok(change);
            }
            let read = item.get(attr::ROLES).cloned();
            let mut request = self
                .client()
                .update_item()
                .table_name(self.table())
                .key(keys::PK, s(keys::user_pk(pool, sub)))
                .key(keys::SK, s(keys::tenant_sk(tenant_id)))
                .update_expression("SET #roles = :roles")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#roles", attr::ROLES)
                .expression_attribute_values(":roles", string_list(roles));
            request = match read {
                Some(old) => request
                    .condition_expression("attribute_exists(#pk) AND #roles = :old")
                    .expression_attribute_values(":old", old),
                None => request
                    .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#roles)"),
            };
            match request.send().await {
                Ok(_) => return Ok(change),
                Err(e) if condition_failed(&e) => continue,
                Err(e) => return Err(sdk("UpdateItem", self.table())(e)),
            }
        }
        Err(AdminError::Conflict(
            "the membership kept changing while its roles were set; try again".into(),
        ))
    }

    /// At most `limit` members of a tenant after `after` (`{pool}#{sub}`), in key order.
    pub async fn list_members(
        &self,
        tenant_id: &str,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Listing<MemberView>, AdminError> {
        if self.read_tenant(tenant_id).await?.is_none() {
            return Err(AdminError::NotFound(format!(
                "tenant '{tenant_id}' does not exist"
            )));
        }
        let source = Source::Tenant(tenant_id, keys::USER_PREFIX);
        let start = after.map(|user| {
            let pk = format!("{}{user}", keys::USER_PREFIX);
            Item::from([
                (keys::PK.to_string(), s(pk.as_str())),
                (keys::SK.to_string(), s(keys::tenant_sk(tenant_id))),
                (keys::GSI1PK.to_string(), s(keys::tenant_pk(tenant_id))),
                (keys::GSI1SK.to_string(), s(pk)),
            ])
        });
        let (items, more) = self.list(&source, start, limit).await?;
        let members = items
            .iter()
            .map(membership_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Listing {
            next: more
                .then(|| {
                    members
                        .last()
                        .map(|m| format!("{}#{}", m.user_pool_id, m.sub))
                })
                .flatten(),
            items: members.iter().map(MemberView::from).collect(),
        })
    }

    /// A user's memberships in a pool and provisioning guard; NotFound when neither exists.
    pub async fn show_member(&self, pool: &str, sub: &str) -> Result<MemberDetails, AdminError> {
        check_user(pool, sub, None)?;
        let memberships = self.directory_memberships(pool, sub).await?;
        let guard = match self
            .get(keys::user_pk(pool, sub), keys::PROVISIONED_SK)
            .await?
        {
            Some(item) => {
                let r = Reader {
                    item: &item,
                    what: "provisioning guard",
                };
                Some(Guard {
                    tenant_id: r.req_s(attr::TENANT_ID)?.to_string(),
                    created_at: r.opt_num(attr::CREATED_AT)?.unwrap_or(0),
                })
            }
            None => None,
        };
        if memberships.is_empty() && guard.is_none() {
            return Err(AdminError::NotFound(format!(
                "user '{sub}' of pool {pool} has no membership and no provisioning guard"
            )));
        }
        Ok(MemberDetails {
            user_pool_id: pool.to_string(),
            sub: sub.to_string(),
            memberships: memberships.iter().map(MemberView::from).collect(),
            guard,
        })
    }

    async fn directory_memberships(
        &self,
        pool: &str,
        sub: &str,
    ) -> Result<Vec<Membership>, AdminError> {
        use tenant_lookup::Directory;
        Ok(self.directory().memberships(pool, sub).await?)
    }
}
