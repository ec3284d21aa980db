//! `tenantctl tier ...`: set a tier's scopes, list the tiers.

use serde::Serialize;
use tenant_lookup::domain::model::Tier;
use tenant_lookup::store::dynamo::codec::{tier_from_item, tier_item};
use tenant_lookup::store::keys;

use crate::error::{list, sdk, AdminError};
use crate::import::as_read;
use crate::table::{condition_failed, Expr, ScanFilter, TenantTable};
use crate::tenants::RACE_ATTEMPTS;
use crate::validate;

/// A tier written: its scopes before (`None`: created) and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TierSet {
    pub id: String,
    pub created: bool,
    pub scopes_before: Option<Vec<String>>,
    pub scopes: Vec<String>,
}

impl TierSet {
    pub fn changed(&self) -> bool {
        self.scopes_before.as_ref() != Some(&self.scopes)
    }

    /// `tier premium: scopes [a] -> [a, b]`, `created tier basic (scopes none)`.
    pub fn describe(&self) -> String {
        match &self.scopes_before {
            None => format!("created tier {} (scopes {})", self.id, list(&self.scopes)),
            Some(b) if *b == self.scopes => {
                format!("tier {}: scopes {} (unchanged)", self.id, list(b))
            }
            Some(b) => format!(
                "tier {}: scopes {} -> {}",
                self.id,
                list(b),
                list(&self.scopes)
            ),
        }
    }
}

impl TenantTable {
    /// Creates the tier or replaces its scopes, on condition that it is still as read.
    pub async fn set_tier(&self, id: &str, scopes: &[String]) -> Result<TierSet, AdminError> {
        let mut problems: Vec<String> = validate::id("tier id", id).into_iter().collect();
        problems.extend(scopes.iter().filter_map(|s| validate::scope(s)));
        AdminError::check(problems)?;
        let tier = Tier {
            id: id.to_string(),
            scopes: scopes.to_vec(),
        };
        let item = tier_item(&tier);
        for _ in 0..RACE_ATTEMPTS {
            let read = self.get(keys::tier_pk(id), keys::TIER_SK).await?;
            let before = read.as_ref().map(tier_from_item).transpose()?;
            let set = TierSet {
                id: id.to_string(),
                created: before.is_none(),
                scopes_before: before.map(|t| t.scopes),
                scopes: scopes.to_vec(),
            };
            if !set.changed() {
                return Ok(set);
            }
            let mut e = Expr::default();
            let condition = as_read(&mut e, read.as_ref(), &item);
            let result = self
                .client()
                .put_item()
                .table_name(self.table())
                .set_item(Some(item.clone()))
                .condition_expression(condition)
                .set_expression_attribute_names(e.names())
                .set_expression_attribute_values(e.values())
                .send()
                .await;
            match result {
                Ok(_) => return Ok(set),
                Err(err) if condition_failed(&err) => continue,
                Err(err) => return Err(sdk("PutItem", self.table())(err)),
            }
        }
        Err(AdminError::Conflict(format!(
            "tier '{id}' kept changing while it was set; try again"
        )))
    }

    /// Every tier, sorted by id.
    pub async fn list_tiers(&self) -> Result<Vec<Tier>, AdminError> {
        let mut tiers = self
            .scan(ScanFilter::Prefixes(keys::TIER_PREFIX, keys::TIER_SK), &())
            .await?
            .iter()
            .map(tier_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        tiers.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(tiers)
    }
}
