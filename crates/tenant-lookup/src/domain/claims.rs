//! What the tokens carry: tenant claims, groups and IAM roles, scopes. The decision only; the
//! Cognito response of each event version is written from it in [`crate::cognito::response`].

use crate::domain::model::{Membership, Tenant, Tier};

/// How membership roles reach `cognito:groups` (`GROUPS_MODE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupsMode {
    /// Membership roles replace the user's Cognito groups in the tokens.
    Replace,
    /// Membership roles are added to the user's Cognito groups.
    Merge,
    /// Groups are left as Cognito computed them.
    Off,
}

/// What a user without a tenant gets (`NO_TENANT_POLICY`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoTenantPolicy {
    /// No tokens.
    Deny,
    /// Tokens without tenant claims, and the tenant attribute suppressed.
    IssueWithoutTenantClaims,
}

/// The request's `groupConfiguration`: the user's Cognito groups and IAM roles as Cognito
/// computed them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CurrentGroups {
    pub groups_to_override: Vec<String>,
    pub iam_roles_to_override: Vec<String>,
    pub preferred_role: Option<String>,
}

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
    request: &CurrentGroups,
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
        request: &CurrentGroups,
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
        request: &CurrentGroups,
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(groups: &[&str]) -> CurrentGroups {
        CurrentGroups {
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

    #[test]
    fn only_well_formed_scopes_not_yet_requested_are_added() {
        let tenant = crate::fixtures::tenant("acme", "premium");
        let tier = Tier {
            id: "premium".into(),
            scopes: [
                "reports/export",
                "",
                "bad scope",
                "analytics/read",
                "reports/export",
            ]
            .map(String::from)
            .to_vec(),
        };
        let member = crate::fixtures::member("p", "s", "acme");
        let requested = vec!["openid".to_string(), "analytics/read".to_string()];
        let c = TokenClaims::for_member(
            &tenant,
            Some(&tier),
            &member,
            &request(&[]),
            Some(&requested),
            GroupsMode::Replace,
        );
        assert_eq!(c.scopes_to_add, vec!["reports/export"]);
        let none_requested = TokenClaims::for_member(
            &tenant,
            Some(&tier),
            &member,
            &request(&[]),
            None,
            GroupsMode::Replace,
        );
        assert_eq!(
            none_requested.scopes_to_add,
            vec!["reports/export", "analytics/read"]
        );
    }

    #[test]
    fn without_tenant_strips_groups_in_replace_mode_only() {
        let c = TokenClaims::without_tenant(&request(&["admin"]), GroupsMode::Replace, false);
        assert!(c.tenant.is_none() && c.suppress_tenant_attribute);
        assert_eq!(c.groups.unwrap().groups, Vec::<String>::new());
        let off = TokenClaims::without_tenant(&request(&["admin"]), GroupsMode::Off, false);
        assert_eq!(off.groups, None);
        let machine = TokenClaims::without_tenant(&request(&[]), GroupsMode::Replace, true);
        assert!(!machine.suppress_tenant_attribute && machine.groups.is_none());
    }
}
