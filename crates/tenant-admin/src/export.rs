//! Reading the whole directory back (`tenantctl export`).

use tenant_lookup::store::dynamo::codec::{
    invitation_from_item, membership_from_item, route_from_item, tenant_from_item, tier_from_item,
};
use tenant_lookup::store::keys::{self, ItemKind};
use tenant_lookup::DirectoryContents;

use crate::error::AdminError;
use crate::progress::Progress;
use crate::table::{ScanFilter, TenantTable};

impl TenantTable {
    /// [`export_with`](Self::export_with) no progress reports.
    pub async fn export(&self) -> Result<DirectoryContents, AdminError> {
        self.export_with(&()).await
    }

    /// Everything in the table that is a directory item, sorted. Items of unknown kinds and
    /// the provisioning guards are skipped. Scans the whole table (consistently): admin only.
    pub async fn export_with(
        &self,
        progress: &dyn Progress,
    ) -> Result<DirectoryContents, AdminError> {
        progress.stage("reading the directory", None);
        let items = self.scan(ScanFilter::All, progress).await?;
        let mut contents = DirectoryContents::default();
        for item in items {
            let pk = item
                .get(keys::PK)
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                .unwrap_or("");
            let sk = item
                .get(keys::SK)
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                .unwrap_or("");
            match keys::item_kind(pk, sk) {
                Some(ItemKind::Tenant) => contents.tenants.push(tenant_from_item(&item)?),
                Some(ItemKind::Tier) => contents.tiers.push(tier_from_item(&item)?),
                Some(ItemKind::Route) => contents.routes.push(route_from_item(&item)?),
                Some(ItemKind::Membership) => contents.members.push(membership_from_item(&item)?),
                Some(ItemKind::Invitation) => {
                    contents.invitations.push(invitation_from_item(&item)?)
                }
                Some(ItemKind::ProvisioningGuard) | None => {}
            }
        }
        contents.tiers.sort_by(|a, b| a.id.cmp(&b.id));
        contents.tenants.sort_by(|a, b| a.id.cmp(&b.id));
        contents
            .routes
            .sort_by(|a, b| (a.kind, &a.key).cmp(&(b.kind, &b.key)));
        contents.members.sort_by(|a, b| {
            (&a.user_pool_id, &a.sub, &a.tenant_id).cmp(&(&b.user_pool_id, &b.sub, &b.tenant_id))
        });
        contents.invitations.sort_by(|a, b| {
            (&a.user_pool_id, &a.email, &a.tenant_id).cmp(&(
                &b.user_pool_id,
                &b.email,
                &b.tenant_id,
            ))
        });
        progress.finish();
        Ok(contents)
    }
}
