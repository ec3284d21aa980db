//! The directory document: the format of `tenantctl import`/`export` and of seed files.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use tenant_lookup::domain::model::{
    route_key, Invitation, Membership, MembershipStatus, Route, RouteKind, Tenant, TenantStatus,
    Tier, DEFAULT_ROLE,
};
use tenant_lookup::DirectoryContents;

use crate::validate::{self, normalize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DirectoryDocument {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<TierDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<TenantDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invitations: Vec<InvitationDoc>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TierDoc {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantDoc {
    #[serde(default)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub tier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_sign_up: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_email_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_users: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_role_arn: Option<String>,
    /// Informational only (`tenantctl export --with-counts`): import ignores it (the count
    /// moves only with memberships; `tenantctl reconcile` recounts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_count: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteDoc {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub tenant_id: String,
    /// Required for every route but `pool` routes: a route places users of one pool only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_pool_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_email: Option<bool>,
    /// `idp` routes only: the domains the IdP may vouch for (else the tenant's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_domains: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MemberDoc {
    #[serde(default)]
    pub user_pool_id: String,
    #[serde(default)]
    pub sub: String,
    #[serde(default)]
    pub tenant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InvitationDoc {
    #[serde(default)]
    pub user_pool_id: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub tenant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Set once the invitation was used (export writes it): the `sub` of the user it placed.
    /// An import never clears it: a used invitation is not brought back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<i64>,
}

/// A document that failed validation. Messages name the entry (`tenants[2]`) and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.join("; "))]
pub struct DocumentError {
    pub problems: Vec<String>,
}

/// What the target directory already holds that a document may refer to.
#[derive(Clone, Debug, Default)]
pub struct Known {
    pub tenants: BTreeSet<String>,
    pub tiers: BTreeSet<String>,
}

impl DirectoryDocument {
    pub fn from_json(text: &str) -> Result<Self, DocumentError> {
        serde_json::from_str(text).map_err(|e| DocumentError {
            problems: vec![format!("not a directory document: {e}")],
        })
    }

    /// Checks the whole document and applies the defaults: the validated, normalized contents.
    /// Every entry declares its whole item: an optional field left out takes its default.
    /// `known` is what the target directory holds already (a tenant's tier, and the tenant of a
    /// route, member or invitation, must exist there or in the document). `created_at` stamps
    /// imported memberships. Every problem is listed, each naming its entry.
    pub fn validate(
        &self,
        known: &Known,
        created_at: i64,
    ) -> Result<DirectoryContents, DocumentError> {
        let mut problems = Vec::new();
        let mut out = DirectoryContents::default();

        let mut tier_ids = BTreeSet::new();
        for (i, t) in self.tiers.iter().enumerate() {
            let at = format!("tiers[{i}]");
            if t.id.trim().is_empty() {
                problems.push(format!("{at}: missing id"));
                continue;
            }
            if let Some(p) = validate::id("tier id", &t.id) {
                problems.push(format!("{at}: {p}"));
            }
            if !tier_ids.insert(t.id.clone()) {
                problems.push(format!("{at}: tier '{}' listed twice", t.id));
            }
            for s in &t.scopes {
                if let Some(p) = validate::scope(s) {
                    problems.push(format!("{at}: {p}"));
                }
            }
            out.tiers.push(Tier {
                id: t.id.clone(),
                scopes: t.scopes.clone(),
            });
        }
        let tier_exists = |id: &str| tier_ids.contains(id) || known.tiers.contains(id);

        let mut tenant_ids = BTreeSet::new();
        for (i, t) in self.tenants.iter().enumerate() {
            let at = format!("tenants[{i}]");
            if t.id.trim().is_empty() {
                problems.push(format!("{at}: missing id"));
                continue;
            }
            if let Some(p) = validate::id("tenant id", &t.id) {
                problems.push(format!("{at}: {p}"));
            }
            if !tenant_ids.insert(t.id.clone()) {
                problems.push(format!("{at}: tenant '{}' listed twice", t.id));
            }
            if t.tier.trim().is_empty() {
                problems.push(format!("{at}: missing tier"));
            } else if !tier_exists(&t.tier) {
                problems.push(format!(
                    "{at}: tier '{}' does not exist (add it to \"tiers\" or create it with \
                     tenantctl tier set {})",
                    t.tier, t.tier
                ));
            }
            let status = match t.status.as_deref() {
                None => TenantStatus::Active,
                Some(s) => TenantStatus::parse(s).unwrap_or_else(|| {
                    problems.push(format!("{at}: status '{s}' is not active or suspended"));
                    TenantStatus::Active
                }),
            };
            if let Some(p) = t.name.as_deref().and_then(validate::name) {
                problems.push(format!("{at}: {p}"));
            }
            let default_role = t
                .default_role
                .clone()
                .unwrap_or_else(|| DEFAULT_ROLE.to_string());
            if let Some(p) = validate::role(&default_role) {
                problems.push(format!("{at}: defaultRole: {p}"));
            }
            let allowed_email_domains: Vec<String> = t
                .allowed_email_domains
                .iter()
                .flatten()
                .map(|d| normalize(d))
                .collect();
            for d in &allowed_email_domains {
                if let Some(p) = validate::domain(d) {
                    problems.push(format!("{at}: allowedEmailDomains: {p}"));
                }
            }
            let iam_role_arn = t.iam_role_arn.clone().filter(|a| !a.is_empty());
            if let Some(p) = iam_role_arn.as_deref().and_then(validate::iam_role_arn) {
                problems.push(format!("{at}: {p}"));
            }
            out.tenants.push(Tenant {
                id: t.id.clone(),
                name: t.name.clone().unwrap_or_else(|| t.id.clone()),
                tier: t.tier.clone(),
                status,
                self_sign_up: t.self_sign_up.unwrap_or(false),
                allowed_email_domains,
                max_users: t.max_users,
                user_count: 0,
                default_role,
                iam_role_arn,
            });
        }
        let tenant_exists = |id: &str| tenant_ids.contains(id) || known.tenants.contains(id);

        let mut route_owner: BTreeMap<(RouteKind, String), String> = BTreeMap::new();
        for (i, r) in self.routes.iter().enumerate() {
            let at = format!("routes[{i}]");
            let Some(kind) = RouteKind::parse(&r.kind) else {
                problems.push(format!(
                    "{at}: unknown route kind '{}' (expected pool, client, domain or idp)",
                    r.kind
                ));
                continue;
            };
            let key = r.key.trim();
            if key.is_empty() {
                problems.push(format!("{at}: missing key"));
                continue;
            }
            if r.tenant_id.is_empty() {
                problems.push(format!("{at}: missing tenantId"));
                continue;
            }
            if !tenant_exists(&r.tenant_id) {
                problems.push(format!("{at}: unknown tenant '{}'", r.tenant_id));
            }
            let pool = r
                .user_pool_id
                .as_deref()
                .map(str::trim)
                .filter(|p| !p.is_empty());
            let pool = match (kind, pool) {
                (RouteKind::Pool, None) => key,
                (RouteKind::Pool, Some(_)) => {
                    problems.push(format!(
                        "{at}: a pool route's key is the user pool id: remove userPoolId"
                    ));
                    continue;
                }
                (_, Some(pool)) => pool,
                (_, None) => {
                    problems.push(format!(
                        "{at}: {} route '{key}' needs userPoolId: it places users of one user pool \
                         only (add \"userPoolId\": \"<the pool's id>\")",
                        r.kind
                    ));
                    continue;
                }
            };
            if let Some(p) = route_key_problem(kind, pool, key) {
                problems.push(format!("{at}: {p}"));
            }
            if r.trust_email.is_some() && kind != RouteKind::Idp {
                problems.push(format!("{at}: trustEmail only applies to idp routes"));
            }
            let email_domains: Vec<String> = r
                .email_domains
                .iter()
                .flatten()
                .map(|d| normalize(d))
                .collect();
            if !email_domains.is_empty() && kind != RouteKind::Idp {
                problems.push(format!("{at}: emailDomains only applies to idp routes"));
            }
            for d in &email_domains {
                if let Some(p) = validate::domain(d) {
                    problems.push(format!("{at}: emailDomains: {p}"));
                }
            }
            let stored = route_key(kind, pool, key);
            match route_owner.get(&(kind, stored.clone())) {
                Some(owner) if *owner != r.tenant_id => problems.push(format!(
                    "{at}: {} route '{}' is claimed by tenants '{owner}' and '{}'",
                    r.kind, r.key, r.tenant_id
                )),
                Some(_) => {
                    problems.push(format!("{at}: {} route '{}' listed twice", r.kind, r.key))
                }
                None => {
                    route_owner.insert((kind, stored.clone()), r.tenant_id.clone());
                }
            }
            out.routes.push(Route {
                kind,
                key: stored,
                tenant_id: r.tenant_id.clone(),
                trust_email: r.trust_email.unwrap_or(false),
                email_domains,
            });
        }

        let default_role_of = |tenant: &str| {
            out.tenants
                .iter()
                .find(|t| t.id == tenant)
                .map(|t| t.default_role.clone())
        };
        let mut member_keys = BTreeSet::new();
        let mut members = Vec::new();
        for (i, m) in self.members.iter().enumerate() {
            let at = format!("members[{i}]");
            if m.user_pool_id.is_empty() || m.sub.is_empty() || m.tenant_id.is_empty() {
                problems.push(format!("{at}: userPoolId, sub and tenantId are required"));
                continue;
            }
            if !tenant_exists(&m.tenant_id) {
                problems.push(format!("{at}: unknown tenant '{}'", m.tenant_id));
                continue;
            }
            for p in [
                validate::user_pool_id(&m.user_pool_id),
                validate::sub(&m.sub),
            ]
            .into_iter()
            .flatten()
            {
                problems.push(format!("{at}: {p}"));
            }
            if !member_keys.insert((m.user_pool_id.clone(), m.sub.clone(), m.tenant_id.clone())) {
                problems.push(format!("{at}: member listed twice"));
            }
            let status = match m.status.as_deref() {
                None => MembershipStatus::Active,
                Some(s) => MembershipStatus::parse(s).unwrap_or_else(|| {
                    problems.push(format!("{at}: status '{s}' is not active or suspended"));
                    MembershipStatus::Active
                }),
            };
            let roles = roles_or_default(
                m.roles.as_ref(),
                default_role_of(&m.tenant_id),
                &at,
                &mut problems,
            );
            members.push(Membership {
                user_pool_id: m.user_pool_id.clone(),
                sub: m.sub.clone(),
                tenant_id: m.tenant_id.clone(),
                roles,
                status,
                source: "import".to_string(),
                created_at,
            });
        }
        out.members = members;

        let mut invitation_keys = BTreeSet::new();
        for (i, inv) in self.invitations.iter().enumerate() {
            let at = format!("invitations[{i}]");
            if inv.user_pool_id.is_empty() || inv.email.is_empty() || inv.tenant_id.is_empty() {
                problems.push(format!("{at}: userPoolId, email and tenantId are required"));
                continue;
            }
            let email = normalize(&inv.email);
            if let Some(p) = validate::email(&email) {
                problems.push(format!("{at}: {p}"));
            }
            if let Some(p) = validate::user_pool_id(&inv.user_pool_id) {
                problems.push(format!("{at}: {p}"));
            }
            if !tenant_exists(&inv.tenant_id) {
                problems.push(format!("{at}: unknown tenant '{}'", inv.tenant_id));
                continue;
            }
            if inv.used_by.is_some() != inv.used_at.is_some() {
                problems.push(format!("{at}: usedBy and usedAt go together"));
            }
            if let Some(p) = inv.used_by.as_deref().and_then(validate::sub) {
                problems.push(format!("{at}: usedBy: {p}"));
            }
            if !invitation_keys.insert((
                inv.user_pool_id.clone(),
                email.clone(),
                inv.tenant_id.clone(),
            )) {
                problems.push(format!("{at}: invitation listed twice"));
            }
            let roles = roles_or_default(
                inv.roles.as_ref(),
                default_role_of(&inv.tenant_id),
                &at,
                &mut problems,
            );
            let used = inv.used_by.is_some();
            out.invitations.push(Invitation {
                user_pool_id: inv.user_pool_id.clone(),
                email,
                tenant_id: inv.tenant_id.clone(),
                roles,
                invited_by: inv.invited_by.clone(),
                // A used invitation keeps no expiry, as the provisioning leaves it.
                expires_at: inv.expires_at.filter(|_| !used),
                used_by: inv.used_by.clone(),
                used_at: inv.used_at,
            });
        }

        if problems.is_empty() {
            Ok(out)
        } else {
            Err(DocumentError { problems })
        }
    }

    /// The document form of directory contents (for `export`). Defaults are written out.
    pub fn from_contents(c: &DirectoryContents) -> Self {
        let mut doc = DirectoryDocument {
            tiers: c
                .tiers
                .iter()
                .map(|t| TierDoc {
                    id: t.id.clone(),
                    scopes: t.scopes.clone(),
                })
                .collect(),
            tenants: c
                .tenants
                .iter()
                .map(|t| TenantDoc {
                    id: t.id.clone(),
                    name: Some(t.name.clone()),
                    tier: t.tier.clone(),
                    status: Some(t.status.as_str().to_string()),
                    self_sign_up: Some(t.self_sign_up),
                    allowed_email_domains: (!t.allowed_email_domains.is_empty())
                        .then(|| t.allowed_email_domains.clone()),
                    max_users: t.max_users,
                    default_role: Some(t.default_role.clone()),
                    iam_role_arn: t.iam_role_arn.clone(),
                    user_count: None,
                })
                .collect(),
            routes: c
                .routes
                .iter()
                .map(|r| {
                    let (pool, key) = r.pool_and_key();
                    RouteDoc {
                        kind: r.kind.as_str().to_ascii_lowercase(),
                        key: key.to_string(),
                        tenant_id: r.tenant_id.clone(),
                        user_pool_id: pool.map(str::to_string),
                        trust_email: (r.kind == RouteKind::Idp).then_some(r.trust_email),
                        email_domains: (!r.email_domains.is_empty())
                            .then(|| r.email_domains.clone()),
                    }
                })
                .collect(),
            members: c
                .members
                .iter()
                .map(|m| MemberDoc {
                    user_pool_id: m.user_pool_id.clone(),
                    sub: m.sub.clone(),
                    tenant_id: m.tenant_id.clone(),
                    roles: Some(m.roles.clone()),
                    status: Some(m.status.as_str().to_string()),
                })
                .collect(),
            invitations: c
                .invitations
                .iter()
                .map(|i| InvitationDoc {
                    user_pool_id: i.user_pool_id.clone(),
                    email: i.email.clone(),
                    tenant_id: i.tenant_id.clone(),
                    roles: Some(i.roles.clone()),
                    invited_by: i.invited_by.clone(),
                    expires_at: i.expires_at,
                    used_by: i.used_by.clone(),
                    used_at: i.used_at,
                })
                .collect(),
        };
        doc.tiers.sort_by(|a, b| a.id.cmp(&b.id));
        doc.tenants.sort_by(|a, b| a.id.cmp(&b.id));
        doc.routes.sort_by(|a, b| {
            (&a.kind, &a.user_pool_id, &a.key).cmp(&(&b.kind, &b.user_pool_id, &b.key))
        });
        doc.members.sort_by(|a, b| {
            (&a.user_pool_id, &a.sub, &a.tenant_id).cmp(&(&b.user_pool_id, &b.sub, &b.tenant_id))
        });
        doc.invitations.sort_by(|a, b| {
            (&a.user_pool_id, &a.email, &a.tenant_id).cmp(&(
                &b.user_pool_id,
                &b.email,
                &b.tenant_id,
            ))
        });
        doc
    }
}

/// What is wrong with a route's key of `kind` in `pool`, if anything.
pub fn route_key_problem(kind: RouteKind, pool: &str, key: &str) -> Option<String> {
    if let Some(p) = validate::user_pool_id(pool) {
        return Some(p);
    }
    match kind {
        RouteKind::Pool => None,
        RouteKind::Client => validate::client_id(key),
        RouteKind::Domain if key.contains('@') => {
            Some("a domain route's key is a domain, not an email".into())
        }
        RouteKind::Domain => validate::domain(&normalize(key)),
        RouteKind::Idp => validate::provider_name(key),
    }
}

fn roles_or_default(
    roles: Option<&Vec<String>>,
    default_role: Option<String>,
    at: &str,
    problems: &mut Vec<String>,
) -> Vec<String> {
    match roles {
        Some(r) if !r.is_empty() => {
            for role in r {
                if let Some(p) = validate::role(role) {
                    problems.push(format!("{at}: {p}"));
                }
            }
            r.clone()
        }
        _ => vec![default_role.unwrap_or_else(|| DEFAULT_ROLE.to_string())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(json: &str) -> DirectoryDocument {
        DirectoryDocument::from_json(json).unwrap()
    }

    /// A directory that holds the tiers the tests' tenants name.
    fn known() -> Known {
        Known {
            tenants: BTreeSet::new(),
            tiers: ["x", "t", "basic"].iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn defaults_apply_to_optional_fields() {
        let d = doc(r#"{"tenants":[{"id":"acme","tier":"basic"}],
            "members":[{"userPoolId":"us-east-1_P","sub":"s","tenantId":"acme"}],
            "invitations":[{"userPoolId":"us-east-1_P","email":"New@Acme.Example","tenantId":"acme"}]}"#);
        let c = d.validate(&known(), 7).unwrap();
        let t = &c.tenants[0];
        assert_eq!(t.status, TenantStatus::Active);
        assert!(!t.self_sign_up);
        assert!(t.allowed_email_domains.is_empty());
        assert_eq!(t.max_users, None);
        assert_eq!(t.default_role, "member");
        assert_eq!(c.members[0].roles, vec!["member"]);
        assert_eq!(c.members[0].created_at, 7);
        assert_eq!(c.invitations[0].email, "new@acme.example");
        assert_eq!(c.invitations[0].expires_at, None);
    }

    #[test]
    fn malformed_documents_are_rejected_with_every_problem_named() {
        let d = doc(
            r#"{"tenants":[{"id":"","tier":"x"},{"id":"a","tier":"x"},{"id":"b","tier":"x"}],
            "routes":[{"kind":"planet","key":"k","tenantId":"a"},
                      {"kind":"client","userPoolId":"us-east-1_P","key":"c1","tenantId":"a"},
                      {"kind":"client","userPoolId":"us-east-1_P","key":"c1","tenantId":"b"}],
            "members":[{"userPoolId":"us-east-1_P","sub":"s","tenantId":"ghost"}]}"#,
        );
        let err = d.validate(&known(), 0).unwrap_err().to_string();
        assert!(err.contains("tenants[0]: missing id"), "{err}");
        assert!(err.contains("unknown route kind 'planet'"), "{err}");
        assert!(err.contains("claimed by tenants 'a' and 'b'"), "{err}");
        assert!(err.contains("members[0]: unknown tenant 'ghost'"), "{err}");
    }

    #[test]
    fn an_exported_user_count_is_accepted_and_ignored_on_import() {
        let d = doc(r#"{"tenants":[{"id":"a","tier":"x","userCount":7}]}"#);
        assert_eq!(d.validate(&known(), 0).unwrap().tenants[0].user_count, 0);
    }

    #[test]
    fn unknown_fields_are_rejected_rather_than_ignored() {
        let err =
            DirectoryDocument::from_json(r#"{"tenants":[{"id":"a","tier":"x","maxUser":3}]}"#)
                .unwrap_err();
        assert!(err.to_string().contains("maxUser"), "{err}");
    }

    #[test]
    fn every_route_but_a_pool_route_names_its_pool_and_scopes_have_no_blanks() {
        let d = doc(
            r#"{"tiers":[{"id":"t","scopes":["a b"]}],"tenants":[{"id":"a","tier":"t"}],
            "routes":[{"kind":"idp","key":"Okta","tenantId":"a"},
                      {"kind":"domain","key":"a.example","tenantId":"a"},
                      {"kind":"client","key":"web","tenantId":"a"},
                      {"kind":"pool","key":"us-east-1_A","userPoolId":"us-east-1_A","tenantId":"a"},
                      {"kind":"domain","userPoolId":"us-east-1_P","key":"b.example","tenantId":"a","emailDomains":["b.example"]}]}"#,
        );
        let err = d.validate(&known(), 0).unwrap_err().to_string();
        for (kind, key) in [("idp", "Okta"), ("domain", "a.example"), ("client", "web")] {
            assert!(
                err.contains(&format!(
                    "{kind} route '{key}' needs userPoolId: it places users of one user pool only \
                     (add \"userPoolId\": \"<the pool's id>\")"
                )),
                "{err}"
            );
        }
        assert!(
            err.contains("routes[3]: a pool route's key is the user pool id"),
            "{err}"
        );
        assert!(
            err.contains("routes[4]: emailDomains only applies to idp routes"),
            "{err}"
        );
        assert!(err.contains("blank space"), "{err}");
    }

    #[test]
    fn routes_are_stored_under_their_pool() {
        let d = doc(r#"{"tenants":[{"id":"a","tier":"t"}],
            "routes":[{"kind":"domain","userPoolId":"us-east-1_P","key":"A.Example","tenantId":"a"},
                      {"kind":"domain","userPoolId":"us-east-1_Q","key":"a.example","tenantId":"a"},
                      {"kind":"pool","key":"us-east-1_R","tenantId":"a"},
                      {"kind":"idp","userPoolId":"us-east-1_P","key":"Okta","tenantId":"a",
                       "trustEmail":true,"emailDomains":["A.example"]}]}"#);
        let c = d.validate(&known(), 0).unwrap();
        let keys: Vec<&str> = c.routes.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "us-east-1_P#a.example",
                "us-east-1_Q#a.example",
                "us-east-1_R",
                "us-east-1_P#okta"
            ]
        );
        assert_eq!(c.routes[3].email_domains, vec!["a.example"]);
    }

    #[test]
    fn references_names_emails_domains_and_role_arns_are_checked_before_anything_is_written() {
        let d = doc(
            r#"{"tenants":[{"id":"acme","tier":"premum","iamRoleArn":"acme-role",
                            "allowedEmailDomains":["acme"]},
                           {"id":"a#b","tier":"basic"}],
            "routes":[{"kind":"domain","userPoolId":"us-east-1_P","key":"not a domain","tenantId":"acme"},
                      {"kind":"idp","userPoolId":"us-east-1_P","key":"Acme_SAML","tenantId":"acme"},
                      {"kind":"client","userPoolId":"pool","key":"web","tenantId":"acme"}],
            "members":[{"userPoolId":"us-east-1_P","sub":"s","tenantId":"acme","roles":["a b"]}],
            "invitations":[{"userPoolId":"us-east-1_P","email":"x@localhost","tenantId":"acme"},
                           {"userPoolId":"us-east-1_P","email":"y@acme.example","tenantId":"ghost"},
                           {"userPoolId":"us-east-1_P","email":"z@acme.example","tenantId":"acme","usedBy":"s"}]}"#,
        );
        let err = d.validate(&known(), 0).unwrap_err();
        let expected = [
            "tenants[0]: tier 'premum' does not exist",
            "tenants[0]: iamRoleArn 'acme-role' is not an IAM role ARN",
            "tenants[0]: allowedEmailDomains: 'acme' is not a domain name",
            "tenants[1]: tenant id 'a#b' must be",
            "routes[0]: 'not a domain' is not a domain name",
            "routes[1]: identity provider name 'Acme_SAML'",
            "routes[2]: user pool id 'pool' is not a user pool id",
            "members[0]: role 'a b'",
            "invitations[0]: an email address has an invalid domain 'localhost'",
            "invitations[1]: unknown tenant 'ghost'",
            "invitations[2]: usedBy and usedAt go together",
        ];
        for e in expected {
            assert!(
                err.problems.iter().any(|p| p.starts_with(e)),
                "{e}: {err:#?}"
            );
        }
        assert_eq!(err.problems.len(), expected.len(), "{err:#?}");
        let known_tier = Known {
            tiers: ["premum".to_string()].into(),
            ..known()
        };
        let err = doc(r#"{"tenants":[{"id":"acme","tier":"premum"}]}"#).validate(&known_tier, 0);
        assert!(err.is_ok(), "a tier of the table counts: {err:?}");
    }

    #[test]
    fn a_used_invitation_keeps_who_used_it_and_no_expiry() {
        let d = doc(r#"{"tenants":[{"id":"acme","tier":"basic"}],
            "invitations":[{"userPoolId":"us-east-1_P","email":"z@acme.example","tenantId":"acme",
                            "usedBy":"s","usedAt":5,"expiresAt":9}]}"#);
        let c = d.validate(&known(), 0).unwrap();
        let i = &c.invitations[0];
        assert_eq!(
            (i.used_by.as_deref(), i.used_at, i.expires_at),
            (Some("s"), Some(5), None)
        );
        let back = DirectoryDocument::from_contents(&c);
        assert_eq!(back.invitations[0].used_by.as_deref(), Some("s"));
    }

    #[test]
    fn export_form_round_trips_through_validation() {
        let d = doc(r#"{"tiers":[{"id":"premium","scopes":["reports/export"]}],
            "tenants":[{"id":"acme","tier":"premium","maxUsers":5,"allowedEmailDomains":["Acme.example"]}],
            "routes":[{"kind":"idp","userPoolId":"us-east-1_P","key":"AcmeSAML","tenantId":"acme","trustEmail":true},
                      {"kind":"domain","userPoolId":"us-east-1_P","key":"acme.example","tenantId":"acme"}],
            "members":[{"userPoolId":"us-east-1_P","sub":"s","tenantId":"acme","roles":["admin"]}]}"#);
        let c = d.validate(&known(), 1).unwrap();
        let again = DirectoryDocument::from_contents(&c)
            .validate(&known(), 1)
            .unwrap();
        let mut a = c.clone();
        let mut b = again;
        for x in [&mut a, &mut b] {
            x.routes.sort_by(|p, q| p.key.cmp(&q.key));
        }
        assert_eq!(a, b);
    }
}
