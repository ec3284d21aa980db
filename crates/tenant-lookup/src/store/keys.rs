//! The single-table key scheme, spelled once: every partition and sort key of the directory
//! table is built and recognised here.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | tenant | `TENANT#{id}` | `TENANT` |
//! | tier | `TIER#{id}` | `TIER` |
//! | route | `ROUTE#{KIND}#{stored key}` | `ROUTE` (GSI1: `TENANT#{id}` / `ROUTE#{KIND}#{stored key}`) |
//! | membership | `USER#{pool}#{sub}` | `TENANT#{id}` (GSI1: `TENANT#{id}` / `USER#{pool}#{sub}`) |
//! | provisioning guard | `USER#{pool}#{sub}` | `PROVISIONED` |
//! | invitation | `INVITE#{pool}#{email}` | `TENANT#{id}` (GSI1: `TENANT#{id}` / `INVITE#{pool}#{email}`) |
//!
//! GSI1 gathers what belongs to a tenant under `TENANT#{id}`: its memberships, routes and
//! invitations, told apart by the prefix of GSI1SK (the item's own partition key). Only
//! `tenantctl` queries it; the triggers never do.

use crate::domain::model::RouteKind;

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";

pub const TENANT_PREFIX: &str = "TENANT#";
pub const TIER_PREFIX: &str = "TIER#";
pub const ROUTE_PREFIX: &str = "ROUTE#";
pub const USER_PREFIX: &str = "USER#";
pub const INVITE_PREFIX: &str = "INVITE#";

pub const TENANT_SK: &str = "TENANT";
pub const TIER_SK: &str = "TIER";
pub const ROUTE_SK: &str = "ROUTE";
/// Sort key of the per-user guard item that a trigger's provisioning writes beside the
/// membership: its `attribute_not_exists` condition makes a user provisioned once, into one
/// tenant, whatever retries or concurrent sign-ins happen.
pub const PROVISIONED_SK: &str = "PROVISIONED";

pub fn tenant_pk(id: &str) -> String {
    format!("{TENANT_PREFIX}{id}")
}

pub fn tier_pk(id: &str) -> String {
    format!("{TIER_PREFIX}{id}")
}

pub fn route_pk(kind: RouteKind, stored_key: &str) -> String {
    format!("{ROUTE_PREFIX}{}#{stored_key}", kind.as_str())
}

pub fn user_pk(user_pool_id: &str, sub: &str) -> String {
    format!("{USER_PREFIX}{user_pool_id}#{sub}")
}

pub fn invite_pk(user_pool_id: &str, email_lower: &str) -> String {
    format!("{INVITE_PREFIX}{user_pool_id}#{email_lower}")
}

/// Sort key of memberships and invitations, and GSI1PK of memberships.
pub fn tenant_sk(id: &str) -> String {
    tenant_pk(id)
}

/// What kind of directory item a key pair names, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemKind {
    Tenant,
    Tier,
    Route,
    Membership,
    ProvisioningGuard,
    Invitation,
}

pub fn item_kind(pk: &str, sk: &str) -> Option<ItemKind> {
    if pk.starts_with(TENANT_PREFIX) && sk == TENANT_SK {
        Some(ItemKind::Tenant)
    } else if pk.starts_with(TIER_PREFIX) && sk == TIER_SK {
        Some(ItemKind::Tier)
    } else if pk.starts_with(ROUTE_PREFIX) && sk == ROUTE_SK {
        Some(ItemKind::Route)
    } else if pk.starts_with(USER_PREFIX) && sk.starts_with(TENANT_PREFIX) {
        Some(ItemKind::Membership)
    } else if pk.starts_with(USER_PREFIX) && sk == PROVISIONED_SK {
        Some(ItemKind::ProvisioningGuard)
    } else if pk.starts_with(INVITE_PREFIX) && sk.starts_with(TENANT_PREFIX) {
        Some(ItemKind::Invitation)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_built_here_is_recognised_here() {
        assert_eq!(
            item_kind(&tenant_pk("acme"), TENANT_SK),
            Some(ItemKind::Tenant)
        );
        assert_eq!(item_kind(&tier_pk("basic"), TIER_SK), Some(ItemKind::Tier));
        assert_eq!(
            item_kind(&route_pk(RouteKind::Domain, "acme.example"), ROUTE_SK),
            Some(ItemKind::Route)
        );
        assert_eq!(
            item_kind(&user_pk("p", "s"), &tenant_sk("acme")),
            Some(ItemKind::Membership)
        );
        assert_eq!(
            item_kind(&user_pk("p", "s"), PROVISIONED_SK),
            Some(ItemKind::ProvisioningGuard)
        );
        assert_eq!(
            item_kind(&invite_pk("p", "a@b"), &tenant_sk("acme")),
            Some(ItemKind::Invitation)
        );
        assert_eq!(item_kind("OTHER#x", "y"), None);
        assert_eq!(route_pk(RouteKind::Idp, "p#okta"), "ROUTE#IDP#p#okta");
    }
}
