//! `tenantctl reconcile`: the only recount of `userCount`. Each tenant's count is read, its
//! memberships are counted from the table itself (a consistent Scan: the index may lag), and a
//! drifted count is written on condition that it is still the value read. A trigger that
//! provisions meanwhile moves the count with its membership, so the condition fails and the
//! tenant is counted again: a concurrent provisioning is never lost.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tenant_lookup::store::dynamo::codec::{attr, n, s, Item, Reader};
use tenant_lookup::store::keys;

use crate::error::{sdk, AdminError};
use crate::table::{condition_failed, ScanFilter, TenantTable};

/// Rounds of reading, counting and writing before giving up on tenants whose count keeps
/// moving.
const ROUNDS: u32 = 5;

/// One tenant's count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recount {
    pub tenant_id: String,
    /// `userCount` as stored (`None`: missing).
    pub user_count: Option<u32>,
    /// Memberships in the table.
    pub memberships: u32,
    /// The count was written (not in a dry run).
    pub written: bool,
}

impl Recount {
    pub fn drifted(&self) -> bool {
        self.user_count != Some(self.memberships)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileReport {
    pub dry_run: bool,
    pub tenants: Vec<Recount>,
}

impl ReconcileReport {
    pub fn drifted(&self) -> impl Iterator<Item = &Recount> {
        self.tenants.iter().filter(|r| r.drifted())
    }
}

impl TenantTable {
    /// Recounts one tenant (a missing one: NotFound) or all of them.
    pub async fn reconcile(
        &self,
        tenant: Option<&str>,
        dry_run: bool,
    ) -> Result<ReconcileReport, AdminError> {
        let mut pending: BTreeSet<String> = match tenant {
            Some(id) => {
                if self.read_tenant(id).await?.is_none() {
                    return Err(AdminError::NotFound(format!(
                        "tenant '{id}' does not exist"
                    )));
                }
                [id.to_string()].into()
            }
            None => self.known_ids().await?.0,
        };
        let mut settled = BTreeMap::new();
        for _ in 0..ROUNDS {
            if pending.is_empty() {
                break;
            }
            let before = self.user_counts(&pending).await?;
            let counted = self.count_memberships(tenant).await?;
            let after = self.user_counts(&pending).await?;
            for id in pending.clone() {
                let (Some(read), Some(again)) = (before.get(&id), after.get(&id)) else {
                    // Deleted meanwhile.
                    pending.remove(&id);
                    continue;
                };
                if read != again {
                    // A provisioning or an administrator moved it while counting: again.
                    continue;
                }
                let memberships = counted.get(&id).copied().unwrap_or(0);
                let mut recount = Recount {
                    tenant_id: id.clone(),
                    user_count: *read,
                    memberships,
                    written: false,
                };
                if recount.drifted() && !dry_run {
                    if !self.write_count(&id, *read, memberships).await? {
                        continue;
                    }
                    recount.written = true;
                }
                pending.remove(&id);
                settled.insert(id, recount);
            }
        }
        if !pending.is_empty() {
            return Err(AdminError::Conflict(format!(
                "userCount of {} kept changing while it was counted; run reconcile again",
                pending
                    .iter()
                    .map(|t| format!("'{t}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(ReconcileReport {
            dry_run,
            tenants: settled.into_values().collect(),
        })
    }

    /// The stored `userCount` of each tenant (consistent reads); missing tenants are left out.
    async fn user_counts(
        &self,
        tenants: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, Option<u32>>, AdminError> {
        let wanted = tenants
            .iter()
            .map(|t| (keys::tenant_pk(t), keys::TENANT_SK.to_string()))
            .collect();
        let found = self.batch_get(wanted, &()).await?;
        let mut out = BTreeMap::new();
        for ((pk, _), item) in found {
            let Some(id) = pk.strip_prefix(keys::TENANT_PREFIX) else {
                continue;
            };
            let what = format!("tenant '{id}'");
            let count = Reader {
                item: &item,
                what: &what,
            }
            .opt_num::<u32>(attr::USER_COUNT)?;
            out.insert(id.to_string(), count);
        }
        Ok(out)
    }

    /// Memberships per tenant, counted from the table (a consistent Scan of membership keys).
    async fn count_memberships(
        &self,
        tenant: Option<&str>,
    ) -> Result<BTreeMap<String, u32>, AdminError> {
        let mut counts = BTreeMap::new();
        for item in self.scan(ScanFilter::Memberships(tenant), &()).await? {
            let sk = item.get(keys::SK).and_then(|v| v.as_s().ok());
            if let Some(id) = sk.and_then(|sk| sk.strip_prefix(keys::TENANT_PREFIX)) {
                *counts.entry(id.to_string()).or_insert(0) += 1;
            }
        }
        Ok(counts)
    }

    /// `userCount = count` if it is still `read`; `false` when it moved.
    async fn write_count(
        &self,
        tenant: &str,
        read: Option<u32>,
        count: u32,
    ) -> Result<bool, AdminError> {
        let request = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(keys::PK, s(keys::tenant_pk(tenant)))
            .key(keys::SK, s(keys::TENANT_SK))
            .update_expression("SET #count = :count")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#count", attr::USER_COUNT)
            .expression_attribute_values(":count", n(count));
        let request = match read {
            Some(r) => request
                .condition_expression("attribute_exists(#pk) AND #count = :read")
                .expression_attribute_values(":read", n(r)),
            None => request
                .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#count)"),
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(sdk("UpdateItem", self.table())(e)),
        }
    }
}

/// For tests: the keys of a tenant item.
#[doc(hidden)]
pub fn tenant_key(id: &str) -> Item {
    Item::from([
        (keys::PK.to_string(), s(keys::tenant_pk(id))),
        (keys::SK.to_string(), s(keys::TENANT_SK)),
    ])
}
