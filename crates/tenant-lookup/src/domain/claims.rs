//! What the tokens carry: tenant claims, groups and IAM roles, scopes. The decision only; the
//! Cognito response of each event version is written from it in [`crate::cognito::response`].

use crate::domain::denial::{Denial, DenyCode};
use crate::domain::model::{Membership, Tenant, Tier};

/// The most the claims, groups, IAM roles and scopes these functions add may grow one token
/// by, in bytes of JSON. An ID token must still fit a 4 KB cookie once Cognito's own claims
/// (about 1.4 KB encoded, more with an `identities` claim) are in it, and base64url grows the
/// added bytes by a third: 1,536 bytes become 2,048 characters. Why this number, in full:
/// `docs/reliability.md`. The directory has no size limits of its own, so this is checked on
/// every token: past it, no token (`DIRECTORY_UNAVAILABLE`: an entry is too large).
pub const TOKEN_BUDGET_BYTES: usize = 1536;

/// What the claims add to each token, in bytes of JSON (see [`TokenClaims::added_bytes`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddedBytes {
    pub id_token: usize,
    pub access_token: usize,
}

/// The length of `s` as a JSON string, quotes included.
fn json_len(s: &str) -> usize {
    2 + s
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\u{08}' | '\u{0C}' | '\n' | '\r' | '\t' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
}

/// `"key":"value",`
fn claim_len(key: &str, value: &str) -> usize {
    json_len(key) + json_len(value) + 2
}

/// `"key":["a","b"],` for the `values` not already in `present` (0 when none are new).
fn array_claim_len<'a>(
    key: &str,
    values: impl IntoIterator<Item = &'a String>,
    present: &[String],
) -> usize {
    let (count, bytes) = values
        .into_iter()
        .filter(|v| !present.contains(v))
        .fold((0, 0), |(n, b), v| (n + 1, b + json_len(v)));
    if count == 0 {
        return 0;
    }
    // `:`, `[`, `]` and the trailing `,`; a comma between each two values.
    json_len(key) + 4 + bytes + (count - 1)
}

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
    /// What these claims add to the ID and the access token, in bytes of JSON, counted from
    /// above: the tenant claims under `claim_names` (tenant id, tier, tenant attribute), the
    /// groups not already in `request` (`cognito:groups`, both tokens), IAM roles and the
    /// preferred role when they change (ID token), the scopes added (access token).
    pub fn added_bytes(&self, claim_names: [&str; 3], request: &CurrentGroups) -> AddedBytes {
        let [id_claim, tier_claim, attribute] = claim_names;
        let mut added = AddedBytes::default();
        if let Some((id, tier)) = &self.tenant {
            let both = claim_len(id_claim, id) + claim_len(tier_claim, tier) + 2;
            added.access_token += both;
            added.id_token += both + claim_len(attribute, id);
        }
        if let Some(g) = &self.groups {
            let groups = array_claim_len("cognito:groups", &g.groups, &request.groups_to_override);
            added.id_token += groups;
            added.access_token += groups;
            added.id_token += array_claim_len(
                "cognito:roles",
                &g.iam_roles,
                &request.iam_roles_to_override,
            );
            if let Some(role) = g
                .preferred_role
                .as_ref()
                .filter(|r| request.preferred_role.as_ref() != Some(*r))
            {
                added.id_token += claim_len("cognito:preferred_role", role);
            }
        }
        // Each scope joins the access token's space-separated `scope` string: its escaped
        // text (its JSON length less the quotes) and one space.
        added.access_token += self
            .scopes_to_add
            .iter()
            .map(|s| json_len(s) - 1)
            .sum::<usize>();
        if self.access_token_only {
            added.id_token = 0;
        }
        added
    }

    /// Refuses claims that would grow a token past [`TOKEN_BUDGET_BYTES`]: a directory entry
    /// (tenant id, tier, roles, scopes, IAM role) too large for a token. Fails closed.
    pub fn check_budget(
        &self,
        claim_names: [&str; 3],
        request: &CurrentGroups,
    ) -> Result<(), Denial> {
        let added = self.added_bytes(claim_names, request);
        let largest = added.id_token.max(added.access_token);
        if largest > TOKEN_BUDGET_BYTES {
            return Err(Denial::new(
                DenyCode::DirectoryUnavailable,
                format!(
                    "the claims would add {largest} bytes to a token, over the budget of \
                     {TOKEN_BUDGET_BYTES}: a tenant id, tier, role, scope or IAM role in the \
                     directory is too large"
                ),
            ));
        }
        Ok(())
    }

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

    const NAMES: [&str; 3] = ["tenantId", "tenantTier", "custom:tenantId"];

    #[test]
    fn added_bytes_count_what_the_tokens_gain_and_nothing_they_had() {
        let c = TokenClaims {
            tenant: Some(("acme".into(), "premium".into())),
            groups: Some(GroupOverride {
                groups: vec!["g".into(), "admin".into()],
                iam_roles: vec!["arn:aws:iam::1:role/g".into()],
                preferred_role: Some("arn:aws:iam::1:role/g".into()),
            }),
            scopes_to_add: vec!["reports/export".into()],
            ..Default::default()
        };
        let added = c.added_bytes(NAMES, &request(&["g"]));
        // {"tenantId":"acme","tenantTier":"premium"} is 42 bytes; counted from above.
        let tenant = r#"{"tenantId":"acme","tenantTier":"premium"}"#.len();
        let groups = r#""cognito:groups":["admin"],"#.len();
        let scopes = " reports/export".len();
        assert!(added.access_token >= tenant + groups + scopes);
        assert!(
            added.access_token <= tenant + groups + scopes + 8,
            "{added:?}"
        );
        let attribute = r#""custom:tenantId":"acme","#.len();
        assert!(added.id_token >= tenant + groups + attribute);
        assert!(
            added.id_token <= tenant + groups + attribute + 8,
            "the unchanged IAM role adds nothing: {added:?}"
        );
        let machine = TokenClaims {
            access_token_only: true,
            ..TokenClaims::for_machine(&crate::fixtures::tenant("acme", "premium"))
        };
        assert_eq!(machine.added_bytes(NAMES, &request(&[])).id_token, 0);
        assert_eq!(json_len("a\"\n\u{1}é"), 2 + 1 + 2 + 2 + 6 + 2);
    }

    #[test]
    fn sizes_are_those_of_the_json_written() {
        for s in [
            "",
            "a b",
            "é€😀",
            "a\"\\b",
            "\u{8}\u{c}\n\r\t",
            "\u{1}\u{1f} \u{7f}",
        ] {
            assert_eq!(
                json_len(s),
                serde_json::to_string(s).unwrap().len(),
                "{s:?}"
            );
        }
        let written = |key: &str, values: &[&str]| {
            format!(
                "{}:{},",
                serde_json::to_string(key).unwrap(),
                serde_json::to_string(values).unwrap()
            )
            .len()
        };
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let values = owned(&["admin", "a b", "é"]);
        assert_eq!(
            array_claim_len("cognito:groups", &values, &[]),
            written("cognito:groups", &["admin", "a b", "é"])
        );
        assert_eq!(
            array_claim_len("cognito:groups", &values, &owned(&["admin", "é"])),
            written("cognito:groups", &["a b"])
        );
        assert_eq!(array_claim_len("cognito:groups", &values, &values), 0);
        assert_eq!(claim_len("tenantId", "acme"), r#""tenantId":"acme","#.len());
    }

    #[test]
    fn added_scopes_count_their_text_and_a_space_each() {
        let c = TokenClaims {
            scopes_to_add: vec!["reports/export".into(), "a".into()],
            access_token_only: true,
            ..Default::default()
        };
        let added = c.added_bytes(NAMES, &request(&[]));
        assert_eq!(added.access_token, " reports/export a".len());
    }

    #[test]
    fn a_changed_iam_role_counts_in_the_id_token_only() {
        let role = "arn:aws:iam::1:role/new";
        let c = TokenClaims {
            groups: Some(GroupOverride {
                groups: vec![],
                iam_roles: vec![role.into()],
                preferred_role: Some(role.into()),
            }),
            ..Default::default()
        };
        let added = c.added_bytes(NAMES, &request(&[]));
        let roles = format!(r#""cognito:roles":["{role}"],"#).len();
        let preferred = format!(r#""cognito:preferred_role":"{role}","#).len();
        assert_eq!(added.id_token, roles + preferred);
        assert_eq!(added.access_token, 0);
    }

    #[test]
    fn the_budget_admits_exactly_its_bytes() {
        let machine = |id_len: usize| {
            let mut t = crate::fixtures::tenant("", "basic");
            t.id = "a".repeat(id_len);
            TokenClaims::for_machine(&t)
        };
        let base = machine(0).added_bytes(NAMES, &request(&[])).access_token;
        let at_budget = machine(TOKEN_BUDGET_BYTES - base);
        assert_eq!(
            at_budget.added_bytes(NAMES, &request(&[])).access_token,
            TOKEN_BUDGET_BYTES
        );
        assert!(at_budget.check_budget(NAMES, &request(&[])).is_ok());
        let over = machine(TOKEN_BUDGET_BYTES - base + 1);
        assert_eq!(
            over.check_budget(NAMES, &request(&[])).unwrap_err().code,
            DenyCode::DirectoryUnavailable
        );
    }

    #[test]
    fn claims_past_the_budget_fail_closed() {
        let mut t = crate::fixtures::tenant("acme", "basic");
        t.id = "a".repeat(TOKEN_BUDGET_BYTES);
        let c = TokenClaims::for_machine(&t);
        let err = c.check_budget(NAMES, &request(&[])).unwrap_err();
        assert_eq!(err.code, DenyCode::DirectoryUnavailable);
        t.id = "a".repeat(64);
        assert!(TokenClaims::for_machine(&t)
            .check_budget(NAMES, &request(&[]))
            .is_ok());
    }
}
