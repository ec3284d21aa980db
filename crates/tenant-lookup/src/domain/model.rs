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

/// A route maps a key to a tenant. A `POOL` route's key is the user pool id; every other route
/// belongs to one user pool and matches only events from it, so its stored key is
/// `{userPoolId}#{key}` (see [`route_key`]): a pool the directory does not know places nobody.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub kind: RouteKind,
    /// The normalized key, as stored (see [`route_key`]).
    pub key: String,
    pub tenant_id: String,
    /// `IDP` routes only: the IdP's email addresses may be auto-verified, within
    /// [`Route::email_domains`] (or the tenant's `allowedEmailDomains` when the route lists none).
    pub trust_email: bool,
    /// `IDP` routes only, lower case: the domains the IdP may vouch for.
    pub email_domains: Vec<String>,
}

impl Route {
    /// The route's user pool and its key within the pool, as written in a directory document;
    /// `None` for a `POOL` route (its key is the pool).
    pub fn pool_and_key(&self) -> (Option<&str>, &str) {
        // A pool id (`region_id`) holds no '#', so a `POOL` route's key never splits.
        match self.key.split_once('#') {
            Some((pool, key)) => (Some(pool), key),
            None => (None, &self.key),
        }
    }

    /// Whether this (`IDP`) route vouches for `email`: it trusts the IdP for email, and the
    /// address lies within the route's `emailDomains`, or within `tenant`'s
    /// `allowedEmailDomains` when the route lists none. With neither, it vouches for nobody.
    pub fn vouches_for(&self, email: Option<&str>, tenant: &Tenant) -> bool {
        let domains = if self.email_domains.is_empty() {
            &tenant.allowed_email_domains
        } else {
            &self.email_domains
        };
        self.trust_email
            && !domains.is_empty()
            && email
                .and_then(email_domain)
                .is_some_and(|d| domains.contains(&d))
    }
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

/// An invitation of one email address (in one pool) into one tenant. It admits once: the
/// provisioning it admits marks it used (who, when) in the same transaction, and a used
/// invitation stays in the directory as the record that the address joined, so that neither an
/// import nor `tenantctl invite create` brings it back.
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
    /// The `sub` of the user whose provisioning used the invitation; `None` while unused.
    pub used_by: Option<String>,
    /// When it was used (epoch seconds).
    pub used_at: Option<i64>,
}

impl Invitation {
    /// Not expired at `now_epoch_seconds` (used or not).
    pub fn is_valid_at(&self, now_epoch_seconds: i64) -> bool {
        self.expires_at.is_none_or(|t| now_epoch_seconds < t)
    }

    pub fn is_used(&self) -> bool {
        self.used_by.is_some()
    }

    /// Unused and unexpired: the only invitations the triggers consider.
    pub fn is_open_at(&self, now_epoch_seconds: i64) -> bool {
        !self.is_used() && self.is_valid_at(now_epoch_seconds)
    }
}

/// What follows the last `@`, lower case; `None` when there is no `@` or nothing after it.
pub fn email_domain(email: &str) -> Option<String> {
    let (_, domain) = email.rsplit_once('@')?;
    let domain = domain.trim();
    (!domain.is_empty()).then(|| domain.to_ascii_lowercase())
}

/// The stored key of a route. A `POOL` route's key is the pool id itself (`key` is ignored);
/// every other route is scoped to its pool: `{userPoolId}#{key}`, with domains and provider
/// names in lower case and app client ids verbatim (a case-sensitive AWS identifier).
pub fn route_key(kind: RouteKind, user_pool_id: &str, key: &str) -> String {
    match kind {
        RouteKind::Pool => user_pool_id.to_string(),
        RouteKind::Client => format!("{user_pool_id}#{key}"),
        RouteKind::Domain => format!("{user_pool_id}#{}", key.trim().to_ascii_lowercase()),
        RouteKind::Idp => format!("{user_pool_id}#{}", key.to_ascii_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_statuses_read_back_as_written() {
        for status in [MembershipStatus::Active, MembershipStatus::Suspended] {
            assert_eq!(MembershipStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(MembershipStatus::parse("Active"), None);
    }

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
    fn routes_other_than_pool_routes_are_scoped_to_their_pool() {
        assert_eq!(
            route_key(RouteKind::Idp, "us-east-1_X", "AcmeSAML"),
            "us-east-1_X#acmesaml"
        );
        assert_eq!(
            route_key(RouteKind::Domain, "us-east-1_X", " Acme.Example "),
            "us-east-1_X#acme.example"
        );
        assert_eq!(
            route_key(RouteKind::Client, "us-east-1_X", "AbC"),
            "us-east-1_X#AbC"
        );
        assert_eq!(route_key(RouteKind::Pool, "us-east-1_X", ""), "us-east-1_X");
        let r = Route {
            kind: RouteKind::Domain,
            key: route_key(RouteKind::Domain, "us-east-1_X", "acme.example"),
            tenant_id: "acme".into(),
            trust_email: false,
            email_domains: vec![],
        };
        assert_eq!(r.pool_and_key(), (Some("us-east-1_X"), "acme.example"));
        let pool = Route {
            kind: RouteKind::Pool,
            key: route_key(RouteKind::Pool, "us-east-1_X", ""),
            ..r
        };
        assert_eq!(pool.pool_and_key(), (None, "us-east-1_X"));
    }

    #[test]
    fn a_trusted_idp_vouches_only_within_named_domains() {
        let mut t = Tenant {
            id: "tenx".into(),
            name: "Tenx".into(),
            tier: "basic".into(),
            status: TenantStatus::Active,
            self_sign_up: false,
            allowed_email_domains: vec![],
            max_users: None,
            user_count: 0,
            default_role: DEFAULT_ROLE.into(),
            iam_role_arn: None,
        };
        let mut idp = Route {
            kind: RouteKind::Idp,
            key: "p#okta".into(),
            tenant_id: "tenx".into(),
            trust_email: true,
            email_domains: vec![],
        };
        let acme = Some("alice@acme.example");
        assert!(!idp.vouches_for(acme, &t), "no domains anywhere: nobody");
        t.allowed_email_domains = vec!["tenx.example".into()];
        assert!(!idp.vouches_for(acme, &t));
        assert!(idp.vouches_for(Some("bob@TENX.example"), &t));
        idp.email_domains = vec!["acme.example".into()];
        assert!(idp.vouches_for(acme, &t), "the route's domains come first");
        assert!(!idp.vouches_for(Some("bob@tenx.example"), &t));
        assert!(!idp.vouches_for(None, &t));
        idp.trust_email = false;
        assert!(!idp.vouches_for(acme, &t));
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
    fn invitations_expire_at_their_timestamp_and_admit_once() {
        let inv = Invitation {
            user_pool_id: "p".into(),
            email: "e@x".into(),
            tenant_id: "t".into(),
            roles: vec![],
            invited_by: None,
            expires_at: Some(100),
            used_by: None,
            used_at: None,
        };
        assert!(inv.is_valid_at(99));
        assert!(!inv.is_valid_at(100));
        assert!(inv.is_open_at(99));
        let used = Invitation {
            used_by: Some("sub".into()),
            used_at: Some(50),
            ..inv
        };
        assert!(used.is_valid_at(99) && !used.is_open_at(99), "used once");
    }
}
