//! Builders for the library's own unit tests (integration tests use the `test-support` crate).

use crate::domain::model::{
    route_key, Invitation, Membership, MembershipStatus, Route, RouteKind, Tenant, TenantStatus,
    Tier, DEFAULT_ROLE,
};

/// An active tenant with every default: no self sign-up, any domain, unlimited seats.
pub fn tenant(id: &str, tier: &str) -> Tenant {
    Tenant {
        id: id.into(),
        name: id.into(),
        tier: tier.into(),
        status: TenantStatus::Active,
        self_sign_up: false,
        allowed_email_domains: vec![],
        max_users: None,
        user_count: 0,
        default_role: DEFAULT_ROLE.into(),
        iam_role_arn: None,
    }
}

pub fn tier(id: &str, scopes: &[&str]) -> Tier {
    Tier {
        id: id.into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
    }
}

pub fn route(kind: RouteKind, user_pool_id: &str, key: &str, tenant_id: &str) -> Route {
    Route {
        kind,
        key: route_key(kind, user_pool_id, key),
        tenant_id: tenant_id.into(),
        trust_email: false,
        email_domains: vec![],
    }
}

pub fn member(pool: &str, sub: &str, tenant_id: &str) -> Membership {
    Membership {
        user_pool_id: pool.into(),
        sub: sub.into(),
        tenant_id: tenant_id.into(),
        roles: vec![DEFAULT_ROLE.into()],
        status: MembershipStatus::Active,
        source: "import".into(),
        created_at: 0,
    }
}

pub fn invitation(pool: &str, email: &str, tenant_id: &str) -> Invitation {
    Invitation {
        user_pool_id: pool.into(),
        email: email.into(),
        tenant_id: tenant_id.into(),
        roles: vec![DEFAULT_ROLE.into()],
        invited_by: None,
        expires_at: None,
        used_by: None,
        used_at: None,
    }
}
