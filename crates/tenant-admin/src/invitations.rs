//! `tenantctl invite ...`: create, list, revoke. An invitation admits once: a used one stays as
//! the record that the address joined, and is never replaced or revoked.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use tenant_lookup::domain::model::Invitation;
use tenant_lookup::store::dynamo::codec::{
    attr, invitation_from_item, invitation_item, n, s, Item,
};
use tenant_lookup::store::keys;

use crate::error::{sdk, AdminError};
use crate::table::{build, condition_failed, ScanFilter, TenantTable};
use crate::validate::{self, normalize};
use crate::views::InvitationView;

/// An invitation to create (`tenantctl invite create`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewInvitation {
    pub email: String,
    pub tenant_id: String,
    pub pool: String,
    /// Empty: the tenant's default role.
    pub roles: Vec<String>,
    /// Seconds from now until it expires.
    pub expires_in: i64,
    pub invited_by: Option<String>,
}

fn not_found(id: &str) -> AdminError {
    AdminError::NotFound(format!("tenant '{id}' does not exist"))
}

impl TenantTable {
    async fn read_invitation(
        &self,
        pool: &str,
        email: &str,
        tenant: &str,
    ) -> Result<Option<Invitation>, AdminError> {
        Ok(self
            .get(keys::invite_pk(pool, email), &keys::tenant_sk(tenant))
            .await?
            .map(|i| invitation_from_item(&i))
            .transpose()?)
    }

    /// Invites `email` into a tenant. An open invitation for the address, or one it already
    /// used: Conflict (an expired unused one is replaced); a missing tenant: NotFound.
    pub async fn create_invitation(
        &self,
        new: &NewInvitation,
        now_epoch: i64,
    ) -> Result<InvitationView, AdminError> {
        let email = normalize(&new.email);
        let mut problems: Vec<String> = [
            validate::email(&email),
            validate::user_pool_id(&new.pool),
            validate::id("tenant id", &new.tenant_id),
            new.invited_by.as_deref().and_then(validate::sub),
        ]
        .into_iter()
        .flatten()
        .collect();
        problems.extend(new.roles.iter().filter_map(|r| validate::role(r)));
        if new.expires_in <= 0 {
            problems.push("the invitation must expire in the future".into());
        }
        AdminError::check(problems)?;
        let (tenant, _) = self
            .read_tenant(&new.tenant_id)
            .await?
            .ok_or_else(|| not_found(&new.tenant_id))?;
        let invitation = Invitation {
            user_pool_id: new.pool.clone(),
            email: email.clone(),
            tenant_id: tenant.id.clone(),
            roles: if new.roles.is_empty() {
                vec![tenant.default_role.clone()]
            } else {
                new.roles.clone()
            },
            invited_by: new.invited_by.clone(),
            expires_at: Some(now_epoch.saturating_add(new.expires_in)),
            used_by: None,
            used_at: None,
        };
        // New, or replacing an expired invitation nobody used.
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(invitation_item(&invitation)))
            .condition_expression(
                "attribute_not_exists(#pk) OR (attribute_not_exists(#usedBy) AND #expires <= :now)",
            )
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#usedBy", attr::USED_BY)
            .expression_attribute_names("#expires", attr::EXPIRES_AT)
            .expression_attribute_values(":now", n(now_epoch))
            .build()
            .map_err(build)?;
        let exists = self.tenant_exists(&tenant.id)?;
        let reasons = self
            .transact(vec![
                TransactWriteItem::builder().put(put).build(),
                TransactWriteItem::builder().condition_check(exists).build(),
            ])
            .await?;
        let Some(reasons) = reasons else {
            return Ok(InvitationView::new(&invitation, now_epoch));
        };
        if reasons
            .get(1)
            .is_some_and(|c| c == "ConditionalCheckFailed")
        {
            return Err(not_found(&tenant.id));
        }
        let existing = self.read_invitation(&new.pool, &email, &tenant.id).await?;
        Err(match existing {
            Some(i) if i.is_used() => AdminError::Conflict(format!(
                "this address already used an invitation of tenant '{}' (by {} at {}): an \
                 invitation is used once",
                tenant.id,
                i.used_by.unwrap_or_default(),
                i.used_at.unwrap_or_default()
            )),
            Some(i) => AdminError::Conflict(format!(
                "this address already has an open invitation to tenant '{}'{} (tenantctl \
                 invite revoke, then create it again)",
                tenant.id,
                i.expires_at
                    .map(|t| format!(" expiring at {t}"))
                    .unwrap_or_default()
            )),
            None => AdminError::Conflict(format!(
                "the invitation changed meanwhile ({}); try again",
                reasons.join(", ")
            )),
        })
    }

    /// Revokes (deletes) an unused invitation. Missing: NotFound; used: Conflict (a used
    /// invitation is kept as the record that the address joined).
    pub async fn revoke_invitation(
        &self,
        email: &str,
        tenant: &str,
        pool: &str,
        now_epoch: i64,
    ) -> Result<InvitationView, AdminError> {
        let email = normalize(email);
        AdminError::check(
            [validate::email(&email), validate::user_pool_id(pool)]
                .into_iter()
                .flatten()
                .collect(),
        )?;
        let result = self
            .client()
            .delete_item()
            .table_name(self.table())
            .key(keys::PK, s(keys::invite_pk(pool, &email)))
            .key(keys::SK, s(keys::tenant_sk(tenant)))
            .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#usedBy)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#usedBy", attr::USED_BY)
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => {
                let item: Item = out.attributes.unwrap_or_default();
                let invitation = invitation_from_item(&item)?;
                Ok(InvitationView::new(&invitation, now_epoch))
            }
            Err(e) if condition_failed(&e) => {
                match self.read_invitation(pool, &email, tenant).await? {
                    Some(i) if i.is_used() => Err(AdminError::Conflict(format!(
                        "the invitation to tenant '{tenant}' was used (by {} at {}); a used \
                         invitation is kept as the record that the address joined",
                        i.used_by.unwrap_or_default(),
                        i.used_at.unwrap_or_default()
                    ))),
                    _ => Err(AdminError::NotFound(format!(
                        "no invitation of this address to tenant '{tenant}' in pool {pool}"
                    ))),
                }
            }
            Err(e) => Err(sdk("DeleteItem", self.table())(e)),
        }
    }

    /// The open invitations (with `all`: used and expired ones too) of a tenant (a missing
    /// tenant: NotFound) or of every tenant; sorted by tenant, pool and email.
    pub async fn list_invitations(
        &self,
        tenant: Option<&str>,
        all: bool,
        now_epoch: i64,
    ) -> Result<Vec<InvitationView>, AdminError> {
        let items = match tenant {
            Some(id) => {
                if self.read_tenant(id).await?.is_none() {
                    return Err(not_found(id));
                }
                self.tenant_items(id, keys::INVITE_PREFIX).await?
            }
            None => {
                self.scan(
                    ScanFilter::Prefixes(keys::INVITE_PREFIX, keys::TENANT_PREFIX),
                    &(),
                )
                .await?
            }
        };
        let mut invitations = items
            .iter()
            .map(invitation_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        invitations.retain(|i| all || i.is_open_at(now_epoch));
        invitations.sort_by(|a, b| {
            (&a.tenant_id, &a.user_pool_id, &a.email).cmp(&(
                &b.tenant_id,
                &b.user_pool_id,
                &b.email,
            ))
        });
        Ok(invitations
            .iter()
            .map(|i| InvitationView::new(i, now_epoch))
            .collect())
    }
}
