//! The tenant directory's domain model: tenants, tiers, routes, memberships, invitations.

use serde::{Deserialize, Serialize};

pub const DEFAULT_ROLE: &str = "member";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TenantStatus {
    #[default]
    Active,
    Suspended,
}

impl TenantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Active => "active",
            TenantStatus::Suspended => "suspended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(TenantStatus::Active),
            "suspended" => Some(TenantStatus::Suspended),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub tier: String,
    pub status: TenantStatus,
    pub self_sign_up: bool,
    /// Lower case; empty means any domain.
    pub allowed_email_domains: Vec<String>,
    pub max_users: Option<u32>,
    pub user_count: u32,
    pub default_role: String,
    pub iam_role_arn: Option<String>,
}

impl Tenant {
    pub fn is_active(&self) -> bool {
        self.status == TenantStatus::Active
    }

    pub fn has_free_seat(&self) -> bool {
        self.max_users.is_none_or(|max| self.user_count < max)
    }

    /// True when the tenant restricts domains and `email`'s domain is not one of them.
    pub fn email_domain_allowed(&self, email: Option<&str>) -> bool {
        if self.allowed_email_domains.is_empty() {
            return true;
        }
        email
            .and_then(email_domain)
            .is_some_and(|d| self.allowed_email_domains.contains(&d))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tier {
    pub id: String,
    pub scopes: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteKind {
    Pool,
    Client,
    Domain,
    Idp,
}

impl RouteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Pool => "POOL",
            RouteKind::Client => "CLIENT",
            RouteKind::Domain => "DOMAIN",
            RouteKind::Idp => "IDP",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "POOL" => Some(RouteKind::Pool),
            "CLIENT" => Some(RouteKind::Client),
            "DOMAIN" => Some(RouteKind::Domain),
            "IDP" => Some(RouteKind::Idp),
            _ => None,
        }
    }
}

/// A route maps a key (pool id, app client id, email domain or `{pool}#{provider}`) to a tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub kind: RouteKind,
    /// The normalized key, as stored (see [`route_key`]).
    pub key: String,
    pub tenant_id: String,
    /// `IDP` routes only: the IdP's email addresses may be auto-verified.
    pub trust_email: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MembershipStatus {
    #[default]
    Active,
    Suspended,
}

impl MembershipStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipStatus::Active => "active",
            MembershipStatus::Suspended => "suspended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(MembershipStatus::Active),
            "suspended" => Some(MembershipStatus::Suspended),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub user_pool_id: String,
    pub sub: String,
    pub tenant_id: String,
    pub roles: Vec<String>,
    pub status: MembershipStatus,
    /// How the membership came to be: `import`, `invitation`, `domain`, `idp`, `route`, `self-sign-up`.
    pub source: String,
    /// Epoch seconds.
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    pub user_pool_id: String,
    /// Lower case.
    pub email: String,
    pub tenant_id: String,
    pub roles: Vec<String>,
    pub invited_by: Option<String>,
    /// Epoch seconds; `None` never expires.
    pub expires_at: Option<i64>,
}

impl Invitation {
    pub fn is_valid_at(&self, now_epoch_seconds: i64) -> bool {
        self.expires_at.is_none_or(|t| now_epoch_seconds < t)
    }
}

/// What follows the last `@`, lower case; `None` when there is no `@` or nothing after it.
pub fn email_domain(email: &str) -> Option<String> {
    let (_, domain) = email.rsplit_once('@')?;
    let domain = domain.trim();
    (!domain.is_empty()).then(|| domain.to_ascii_lowercase())
}

/// The stored key of a route: lower case for domains and provider names, verbatim for pool and client ids
/// (both are case-sensitive AWS identifiers). IDP keys are `{userPoolId}#{provider lower case}`.
pub fn route_key(kind: RouteKind, key: &str, user_pool_id: Option<&str>) -> String {
    match kind {
        RouteKind::Pool | RouteKind::Client => key.to_string(),
        RouteKind::Domain => key.trim().to_ascii_lowercase(),
        RouteKind::Idp => format!(
            "{}#{}",
            user_pool_id.unwrap_or_default(),
            key.to_ascii_lowercase()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_domain_is_what_follows_the_last_at_in_lower_case() {
        assert_eq!(
            email_domain("a@b@Acme.Example").as_deref(),
            Some("acme.example")
        );
        assert_eq!(email_domain("no-at-sign"), None);
        assert_eq!(email_domain("trailing@"), None);
    }

    #[test]
    fn idp_route_keys_are_scoped_to_the_pool_and_case_insensitive() {
        assert_eq!(
            route_key(RouteKind::Idp, "AcmeSAML", Some("us-east-1_X")),
            "us-east-1_X#acmesaml"
        );
        assert_eq!(
            route_key(RouteKind::Domain, " Acme.Example ", None),
            "acme.example"
        );
        assert_eq!(route_key(RouteKind::Client, "AbC", None), "AbC");
    }

    #[test]
    fn domain_restriction_matches_exactly_without_subdomains() {
        let t = Tenant {
            id: "acme".into(),
            name: "Acme".into(),
            tier: "basic".into(),
            status: TenantStatus::Active,
            self_sign_up: true,
            allowed_email_domains: vec!["acme.example".into()],
            max_users: Some(2),
            user_count: 1,
            default_role: DEFAULT_ROLE.into(),
            iam_role_arn: None,
        };
        assert!(t.email_domain_allowed(Some("x@ACME.example")));
        assert!(!t.email_domain_allowed(Some("x@eu.acme.example")));
        assert!(!t.email_domain_allowed(None));
        assert!(t.has_free_seat());
        let full = Tenant { user_count: 2, ..t };
        assert!(!full.has_free_seat());
    }

    #[test]
    fn invitations_expire_at_their_timestamp() {
        let inv = Invitation {
            user_pool_id: "p".into(),
            email: "e@x".into(),
            tenant_id: "t".into(),
            roles: vec![],
            invited_by: None,
            expires_at: Some(100),
        };
        assert!(inv.is_valid_at(99));
        assert!(!inv.is_valid_at(100));
    }
}
