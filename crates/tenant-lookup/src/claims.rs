//! What the tokens carry (the decision), and how it is written into the Cognito response
//! of each event version (the rendering).

use serde_json::{json, Map, Value};

use crate::config::{ClaimNames, GroupsMode};
use crate::events::GroupConfiguration;
use crate::model::{Membership, Tenant, Tier};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupOverride {
    pub groups: Vec<String>,
    pub iam_roles: Vec<String>,
    pub preferred_role: Option<String>,
}

/// The claims decision for one token request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenClaims {
    /// `(tenant id, tier)`, or `None` for "issue without tenant claims".
    pub tenant: Option<(String, String)>,
    /// Suppress the tenant attribute in the ID token (it must not stand in for a tenant).
    pub suppress_tenant_attribute: bool,
    /// `None`: groups stay as Cognito computed them (`groupOverrideDetails` omitted).
    pub groups: Option<GroupOverride>,
    pub scopes_to_add: Vec<String>,
    /// Client credentials: there is no ID token and no user; only access token claims.
    pub access_token_only: bool,
}

fn dedup(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !i.is_empty() && !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// The group override for `roles` under `mode`, or `None` when nothing would change.
pub fn group_override(
    mode: GroupsMode,
    roles: &[String],
    request: &GroupConfiguration,
    iam_role_arn: Option<&str>,
) -> Option<GroupOverride> {
    let groups = match mode {
        GroupsMode::Replace => dedup(roles.iter().cloned()),
        GroupsMode::Merge => dedup(request.groups_to_override.iter().chain(roles).cloned()),
        GroupsMode::Off => request.groups_to_override.clone(),
    };
    let (iam_roles, preferred_role) = match iam_role_arn {
        Some(arn) => (vec![arn.to_string()], Some(arn.to_string())),
        None => (
            request.iam_roles_to_override.clone(),
            request.preferred_role.clone(),
        ),
    };
    let unchanged = groups == request.groups_to_override
        && iam_roles == request.iam_roles_to_override
        && preferred_role == request.preferred_role;
    (!unchanged).then_some(GroupOverride {
        groups,
        iam_roles,
        preferred_role,
    })
}

impl TokenClaims {
    pub fn for_member(
        tenant: &Tenant,
        tier: Option<&Tier>,
        membership: &Membership,
        request: &GroupConfiguration,
        request_scopes: Option<&[String]>,
        mode: GroupsMode,
    ) -> Self {
        let requested = request_scopes.unwrap_or_default();
        let scopes_to_add = dedup(
            tier.map(|t| t.scopes.as_slice())
                .unwrap_or_default()
                .iter()
                .filter(|s| {
                    !s.is_empty() && !s.chars().any(char::is_whitespace) && !requested.contains(s)
                })
                .cloned(),
        );
        TokenClaims {
            tenant: Some((tenant.id.clone(), tenant.tier.clone())),
            suppress_tenant_attribute: false,
            groups: group_override(
                mode,
                &membership.roles,
                request,
                tenant.iam_role_arn.as_deref(),
            ),
            scopes_to_add,
            access_token_only: false,
        }
    }

    /// A machine (client credentials) token: tenant claims in the access token, nothing else.
    pub fn for_machine(tenant: &Tenant) -> Self {
        TokenClaims {
            tenant: Some((tenant.id.clone(), tenant.tier.clone())),
            access_token_only: true,
            ..Default::default()
        }
    }

    /// "Issue without tenant claims": no tenant claims, the tenant attribute suppressed, and
    /// in `replace` mode no groups (there are no roles).
    pub fn without_tenant(
        request: &GroupConfiguration,
        mode: GroupsMode,
        access_token_only: bool,
    ) -> Self {
        TokenClaims {
            tenant: None,
            suppress_tenant_attribute: !access_token_only,
            groups: if access_token_only {
                None
            } else {
                group_override(mode, &[], request, None)
            },
            scopes_to_add: Vec::new(),
            access_token_only,
        }
    }

    fn tenant_claims(&self, names: &ClaimNames, id_token: bool) -> Map<String, Value> {
        let mut m = Map::new();
        if let Some((id, tier)) = &self.tenant {
            m.insert(names.tenant_id.clone(), Value::String(id.clone()));
            m.insert(names.tenant_tier.clone(), Value::String(tier.clone()));
            if id_token {
                m.insert(names.tenant_attribute.clone(), Value::String(id.clone()));
            }
        }
        m
    }

    fn suppressed(&self, names: &ClaimNames) -> Vec<Value> {
        if self.suppress_tenant_attribute {
            vec![Value::String(names.tenant_attribute.clone())]
        } else {
            Vec::new()
        }
    }

    fn group_details(&self) -> Option<Value> {
        let g = self.groups.as_ref()?;
        let mut m = Map::new();
        m.insert("groupsToOverride".into(), json!(g.groups));
        m.insert("iamRolesToOverride".into(), json!(g.iam_roles));
        if let Some(role) = &g.preferred_role {
            m.insert("preferredRole".into(), json!(role));
        }
        Some(Value::Object(m))
    }

    /// The `response` of a version 1 event: string claims in the ID token, and the groups.
    pub fn render_v1(&self, names: &ClaimNames) -> Value {
        let mut details = Map::new();
        let claims = self.tenant_claims(names, true);
        if !claims.is_empty() {
            details.insert("claimsToAddOrOverride".into(), Value::Object(claims));
        }
        let suppressed = self.suppressed(names);
        if !suppressed.is_empty() {
            details.insert("claimsToSuppress".into(), Value::Array(suppressed));
        }
        if let Some(g) = self.group_details() {
            details.insert("groupOverrideDetails".into(), g);
        }
        let mut response = Map::new();
        if !details.is_empty() {
            response.insert("claimsOverrideDetails".into(), Value::Object(details));
        }
        Value::Object(response)
    }

    /// The `response` of a version 2 or 3 event (and of any higher version).
    pub fn render_v2(&self, names: &ClaimNames) -> Value {
        let mut details = Map::new();
        if !self.access_token_only {
            let mut id = Map::new();
            let claims = self.tenant_claims(names, true);
            if !claims.is_empty() {
                id.insert("claimsToAddOrOverride".into(), Value::Object(claims));
            }
            let suppressed = self.suppressed(names);
            if !suppressed.is_empty() {
                id.insert("claimsToSuppress".into(), Value::Array(suppressed));
            }
            if !id.is_empty() {
                details.insert("idTokenGeneration".into(), Value::Object(id));
            }
        }
        let mut access = Map::new();
        let claims = self.tenant_claims(names, false);
        if !claims.is_empty() {
            access.insert("claimsToAddOrOverride".into(), Value::Object(claims));
        }
        if !self.scopes_to_add.is_empty() {
            access.insert("scopesToAdd".into(), json!(self.scopes_to_add));
        }
        if !access.is_empty() {
            details.insert("accessTokenGeneration".into(), Value::Object(access));
        }
        if let Some(g) = self.group_details() {
            details.insert("groupOverrideDetails".into(), g);
        }
        let mut response = Map::new();
        if !details.is_empty() {
            response.insert(
                "claimsAndScopeOverrideDetails".into(),
                Value::Object(details),
            );
        }
        Value::Object(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(groups: &[&str]) -> GroupConfiguration {
        GroupConfiguration {
            groups_to_override: groups.iter().map(|g| g.to_string()).collect(),
            iam_roles_to_override: vec!["arn:aws:iam::1:role/g".into()],
            preferred_role: Some("arn:aws:iam::1:role/g".into()),
        }
    }

    fn roles(r: &[&str]) -> Vec<String> {
        r.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn replace_merge_and_off() {
        let req = request(&["us-east-1_X_Google", "admin"]);
        let g =
            group_override(GroupsMode::Replace, &roles(&["admin", "admin"]), &req, None).unwrap();
        assert_eq!(g.groups, vec!["admin"]);
        assert_eq!(
            g.iam_roles, req.iam_roles_to_override,
            "IAM roles from the request are kept"
        );
        assert_eq!(g.preferred_role, req.preferred_role);
        let g =
            group_override(GroupsMode::Merge, &roles(&["admin", "billing"]), &req, None).unwrap();
        assert_eq!(g.groups, vec!["us-east-1_X_Google", "admin", "billing"]);
        assert_eq!(
            group_override(GroupsMode::Off, &roles(&["admin"]), &req, None),
            None
        );
    }

    #[test]
    fn no_override_when_groups_would_not_change() {
        let req = request(&["admin"]);
        assert_eq!(
            group_override(GroupsMode::Replace, &roles(&["admin"]), &req, None),
            None
        );
        assert_eq!(
            group_override(GroupsMode::Merge, &roles(&["admin"]), &req, None),
            None
        );
    }

    #[test]
    fn a_tenant_iam_role_replaces_the_request_roles() {
        let req = request(&["admin"]);
        let g = group_override(
            GroupsMode::Off,
            &roles(&["admin"]),
            &req,
            Some("arn:aws:iam::1:role/t"),
        )
        .unwrap();
        assert_eq!(g.groups, vec!["admin"]);
        assert_eq!(g.iam_roles, vec!["arn:aws:iam::1:role/t"]);
        assert_eq!(g.preferred_role.as_deref(), Some("arn:aws:iam::1:role/t"));
    }

    fn names() -> ClaimNames {
        ClaimNames {
            tenant_id: "tenantId".into(),
            tenant_tier: "tenantTier".into(),
            tenant_attribute: "custom:tenantId".into(),
        }
    }

    #[test]
    fn renders_v1_as_strings_in_the_id_token() {
        let c = TokenClaims {
            tenant: Some(("acme".into(), "premium".into())),
            groups: Some(GroupOverride {
                groups: vec!["admin".into()],
                iam_roles: vec![],
                preferred_role: None,
            }),
            scopes_to_add: vec!["reports/export".into()],
            ..Default::default()
        };
        assert_eq!(
            c.render_v1(&names()),
            json!({"claimsOverrideDetails": {
                "claimsToAddOrOverride": {"tenantId": "acme", "tenantTier": "premium", "custom:tenantId": "acme"},
                "groupOverrideDetails": {"groupsToOverride": ["admin"], "iamRolesToOverride": []}}})
        );
    }

    #[test]
    fn renders_v2_without_nulls_or_empty_parts() {
        let c = TokenClaims {
            tenant: Some(("acme".into(), "basic".into())),
            ..Default::default()
        };
        assert_eq!(
            c.render_v2(&names()),
            json!({"claimsAndScopeOverrideDetails": {
                "idTokenGeneration": {"claimsToAddOrOverride": {"tenantId": "acme", "tenantTier": "basic", "custom:tenantId": "acme"}},
                "accessTokenGeneration": {"claimsToAddOrOverride": {"tenantId": "acme", "tenantTier": "basic"}}}})
        );
        let machine = TokenClaims {
            access_token_only: true,
            ..c
        };
        assert_eq!(
            machine.render_v2(&names()),
            json!({"claimsAndScopeOverrideDetails": {
                "accessTokenGeneration": {"claimsToAddOrOverride": {"tenantId": "acme", "tenantTier": "basic"}}}})
        );
    }

    #[test]
    fn without_tenant_suppresses_the_attribute_and_strips_groups_in_replace_mode() {
        let c = TokenClaims::without_tenant(&request(&["admin"]), GroupsMode::Replace, false);
        let v = c.render_v2(&names());
        assert_eq!(
            v["claimsAndScopeOverrideDetails"]["idTokenGeneration"],
            json!({"claimsToSuppress": ["custom:tenantId"]})
        );
        assert_eq!(
            v["claimsAndScopeOverrideDetails"]["groupOverrideDetails"]["groupsToOverride"],
            json!([])
        );
        assert!(v["claimsAndScopeOverrideDetails"]
            .get("accessTokenGeneration")
            .is_none());
        let off = TokenClaims::without_tenant(&request(&["admin"]), GroupsMode::Off, false);
        assert!(off.render_v1(&names())["claimsOverrideDetails"]
            .get("groupOverrideDetails")
            .is_none());
    }
}
