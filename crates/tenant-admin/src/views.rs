//! What the commands show: directory entries in the document's vocabulary (camelCase fields,
//! as `tenantctl ... --json` prints them).

use serde::Serialize;
use tenant_lookup::domain::model::{Invitation, Membership, Route, RouteKind, Tenant};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    pub id: String,
    pub name: String,
    pub tier: String,
    pub status: String,
    pub self_sign_up: bool,
    pub allowed_email_domains: Vec<String>,
    /// `None`: unlimited.
    pub max_users: Option<u32>,
    pub user_count: u32,
    pub default_role: String,
    pub iam_role_arn: Option<String>,
}

impl From<&Tenant> for TenantView {
    fn from(t: &Tenant) -> Self {
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            tier: t.tier.clone(),
            status: t.status.as_str().into(),
            self_sign_up: t.self_sign_up,
            allowed_email_domains: t.allowed_email_domains.clone(),
            max_users: t.max_users,
            user_count: t.user_count,
            default_role: t.default_role.clone(),
            iam_role_arn: t.iam_role_arn.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteView {
    pub kind: String,
    pub key: String,
    /// Every route but a `pool` route belongs to one pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_pool_id: Option<String>,
    pub tenant_id: String,
    /// `idp` routes only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_email: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub email_domains: Vec<String>,
}

impl From<&Route> for RouteView {
    fn from(r: &Route) -> Self {
        let (pool, key) = r.pool_and_key();
        Self {
            kind: r.kind.as_str().to_ascii_lowercase(),
            key: key.to_string(),
            user_pool_id: pool.map(str::to_string),
            tenant_id: r.tenant_id.clone(),
            trust_email: (r.kind == RouteKind::Idp).then_some(r.trust_email),
            email_domains: r.email_domains.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    pub user_pool_id: String,
    pub sub: String,
    pub tenant_id: String,
    pub roles: Vec<String>,
    pub status: String,
    /// How the membership came to be: `import`, `admin`, `invitation`, `domain`, ...
    pub source: String,
    pub created_at: i64,
}

impl From<&Membership> for MemberView {
    fn from(m: &Membership) -> Self {
        Self {
            user_pool_id: m.user_pool_id.clone(),
            sub: m.sub.clone(),
            tenant_id: m.tenant_id.clone(),
            roles: m.roles.clone(),
            status: m.status.as_str().into(),
            source: m.source.clone(),
            created_at: m.created_at,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    pub user_pool_id: String,
    pub email: String,
    pub tenant_id: String,
    pub roles: Vec<String>,
    /// `open`, `used` or `expired`.
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invited_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_at: Option<i64>,
}

impl InvitationView {
    pub fn new(i: &Invitation, now_epoch: i64) -> Self {
        Self {
            user_pool_id: i.user_pool_id.clone(),
            email: i.email.clone(),
            tenant_id: i.tenant_id.clone(),
            roles: i.roles.clone(),
            state: invitation_state(i, now_epoch),
            invited_by: i.invited_by.clone(),
            expires_at: i.expires_at,
            used_by: i.used_by.clone(),
            used_at: i.used_at,
        }
    }
}

/// `used`, `expired` or `open`.
pub fn invitation_state(i: &Invitation, now_epoch: i64) -> &'static str {
    if i.is_used() {
        "used"
    } else if !i.is_valid_at(now_epoch) {
        "expired"
    } else {
        "open"
    }
}

/// One page of a listing, and where the next one starts (`--after`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listing<T> {
    pub items: Vec<T>,
    /// Pass as `--after` for the next page; `None` on the last page.
    pub next: Option<String>,
}
