//! The exact `response` of each trigger and event version, as serde types.
//!
//! Pre sign-up and post confirmation use `aws_lambda_events`' types, which are exact. Pre token
//! generation has its own: the stock ones serialize `null`s and an empty `groupOverrideDetails`,
//! which Cognito reads as "remove every group" (pinned by the `stock_types_gap_*` test below).
//! Here every part is omitted when it has nothing to say.

pub use aws_lambda_events::event::cognito::{
    CognitoEventUserPoolsPostConfirmationResponse as PostConfirmationResponse,
    CognitoEventUserPoolsPreSignupResponse as PreSignUpResponse,
};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::config::ClaimNames;
use crate::domain::claims::{GroupOverride, TokenClaims};
use crate::domain::denial::{Denial, DenyCode};

/// Returns the event with `response` replaced: Cognito expects the whole event back, and keys
/// this product does not know travel back untouched.
pub fn respond(mut event: Value, response: &impl Serialize) -> Result<Value, Denial> {
    let response = serde_json::to_value(response)
        .map_err(|_| Denial::new(DenyCode::InvalidEvent, "the response could not be written"))?;
    if let Some(obj) = event.as_object_mut() {
        obj.insert("response".to_string(), response);
    }
    Ok(event)
}

/// The tenant claims of one token: id and tier, and in the ID token the tenant attribute
/// overwritten with the directory's value. Serialized as a JSON object of strings without an
/// intermediate map (this is on every sign-in's path).
#[derive(Debug, PartialEq, Eq)]
pub struct TenantClaims<'a> {
    names: &'a ClaimNames,
    /// `(tenant id, tier)`; `None` adds nothing.
    tenant: Option<(&'a str, &'a str)>,
    id_token: bool,
}

impl TenantClaims<'_> {
    fn is_empty(&self) -> bool {
        self.tenant.is_none()
    }
}

impl Serialize for TenantClaims<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Some((id, tier)) = self.tenant else {
            return serializer.serialize_map(Some(0))?.end();
        };
        let mut map = serializer.serialize_map(Some(2 + usize::from(self.id_token)))?;
        map.serialize_entry(&self.names.tenant_id, id)?;
        map.serialize_entry(&self.names.tenant_tier, tier)?;
        if self.id_token {
            map.serialize_entry(&self.names.tenant_attribute, id)?;
        }
        map.end()
    }
}

/// `groupOverrideDetails`: present only when the groups or roles really change.
#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupOverrideDetails<'a> {
    pub groups_to_override: &'a [String],
    pub iam_roles_to_override: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_role: Option<&'a str>,
}

impl<'a> From<&'a GroupOverride> for GroupOverrideDetails<'a> {
    fn from(g: &'a GroupOverride) -> Self {
        Self {
            groups_to_override: &g.groups,
            iam_roles_to_override: &g.iam_roles,
            preferred_role: g.preferred_role.as_deref(),
        }
    }
}

/// Version 1: `{"claimsOverrideDetails": {...}}`, claims as strings in the ID token.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreTokenResponseV1<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims_override_details: Option<ClaimsOverrideDetails<'a>>,
}

#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimsOverrideDetails<'a> {
    #[serde(skip_serializing_if = "TenantClaims::is_empty")]
    pub claims_to_add_or_override: TenantClaims<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub claims_to_suppress: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_override_details: Option<GroupOverrideDetails<'a>>,
}

/// Versions 2 and 3 (and any higher version: Cognito only sends the version a pool is
/// configured for): `{"claimsAndScopeOverrideDetails": {...}}`.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreTokenResponseV2<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims_and_scope_override_details: Option<ClaimsAndScopeOverrideDetails<'a>>,
}

#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimsAndScopeOverrideDetails<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_generation: Option<TokenGeneration<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token_generation: Option<TokenGeneration<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_override_details: Option<GroupOverrideDetails<'a>>,
}

#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenGeneration<'a> {
    #[serde(skip_serializing_if = "TenantClaims::is_empty")]
    pub claims_to_add_or_override: TenantClaims<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub claims_to_suppress: Vec<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub scopes_to_add: &'a [String],
}

impl TokenGeneration<'_> {
    fn is_empty(&self) -> bool {
        self.claims_to_add_or_override.is_empty()
            && self.claims_to_suppress.is_empty()
            && self.scopes_to_add.is_empty()
    }
}

fn tenant_claims<'a>(
    claims: &'a TokenClaims,
    names: &'a ClaimNames,
    id_token: bool,
) -> TenantClaims<'a> {
    TenantClaims {
        names,
        tenant: claims
            .tenant
            .as_ref()
            .map(|(id, tier)| (id.as_str(), tier.as_str())),
        id_token,
    }
}

fn suppressed<'a>(claims: &TokenClaims, names: &'a ClaimNames) -> Vec<&'a str> {
    if claims.suppress_tenant_attribute {
        vec![names.tenant_attribute.as_str()]
    } else {
        Vec::new()
    }
}

impl<'a> PreTokenResponseV1<'a> {
    pub fn new(claims: &'a TokenClaims, names: &'a ClaimNames) -> Self {
        let details = ClaimsOverrideDetails {
            claims_to_add_or_override: tenant_claims(claims, names, true),
            claims_to_suppress: suppressed(claims, names),
            group_override_details: claims.groups.as_ref().map(Into::into),
        };
        let empty = details.claims_to_add_or_override.is_empty()
            && details.claims_to_suppress.is_empty()
            && details.group_override_details.is_none();
        Self {
            claims_override_details: (!empty).then_some(details),
        }
    }
}

impl<'a> PreTokenResponseV2<'a> {
    pub fn new(claims: &'a TokenClaims, names: &'a ClaimNames) -> Self {
        // Client credentials: there is no ID token.
        let id = (!claims.access_token_only).then(|| TokenGeneration {
            claims_to_add_or_override: tenant_claims(claims, names, true),
            claims_to_suppress: suppressed(claims, names),
            scopes_to_add: &[],
        });
        let access = TokenGeneration {
            claims_to_add_or_override: tenant_claims(claims, names, false),
            claims_to_suppress: Vec::new(),
            scopes_to_add: &claims.scopes_to_add,
        };
        let details = ClaimsAndScopeOverrideDetails {
            id_token_generation: id.filter(|t| !t.is_empty()),
            access_token_generation: (!access.is_empty()).then_some(access),
            group_override_details: claims.groups.as_ref().map(Into::into),
        };
        let empty = details.id_token_generation.is_none()
            && details.access_token_generation.is_none()
            && details.group_override_details.is_none();
        Self {
            claims_and_scope_override_details: (!empty).then_some(details),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::claims::{CurrentGroups, GroupsMode};
    use serde_json::json;

    fn names() -> ClaimNames {
        ClaimNames {
            tenant_id: "tenantId".into(),
            tenant_tier: "tenantTier".into(),
            tenant_attribute: "custom:tenantId".into(),
        }
    }

    fn v1(c: &TokenClaims) -> Value {
        serde_json::to_value(PreTokenResponseV1::new(c, &names())).unwrap()
    }

    fn v2(c: &TokenClaims) -> Value {
        serde_json::to_value(PreTokenResponseV2::new(c, &names())).unwrap()
    }

    fn request(groups: &[&str]) -> CurrentGroups {
        CurrentGroups {
            groups_to_override: groups.iter().map(|g| g.to_string()).collect(),
            iam_roles_to_override: vec!["arn:aws:iam::1:role/g".into()],
            preferred_role: Some("arn:aws:iam::1:role/g".into()),
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
            v1(&c),
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
            v2(&c),
            json!({"claimsAndScopeOverrideDetails": {
                "idTokenGeneration": {"claimsToAddOrOverride": {"tenantId": "acme", "tenantTier": "basic", "custom:tenantId": "acme"}},
                "accessTokenGeneration": {"claimsToAddOrOverride": {"tenantId": "acme", "tenantTier": "basic"}}}})
        );
        let machine = TokenClaims {
            access_token_only: true,
            ..c
        };
        assert_eq!(
            v2(&machine),
            json!({"claimsAndScopeOverrideDetails": {
                "accessTokenGeneration": {"claimsToAddOrOverride": {"tenantId": "acme", "tenantTier": "basic"}}}})
        );
        assert_eq!(v2(&TokenClaims::default()), json!({}));
        assert_eq!(v1(&TokenClaims::default()), json!({}));
    }

    #[test]
    fn without_tenant_suppresses_the_attribute_and_strips_groups_in_replace_mode() {
        let c = TokenClaims::without_tenant(&request(&["admin"]), GroupsMode::Replace, false);
        let v = v2(&c);
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
        assert!(v1(&off)["claimsOverrideDetails"]
            .get("groupOverrideDetails")
            .is_none());
    }

    #[test]
    fn respond_replaces_only_the_response() {
        let v = json!({"version": "2", "extra": {"kept": [1, null]}, "response": {"old": 1}});
        let out = respond(v.clone(), &json!({"x": 1})).unwrap();
        let mut expected = v;
        expected["response"] = json!({"x": 1});
        assert_eq!(out, expected);
    }

    #[test]
    fn the_stock_pre_sign_up_and_post_confirmation_responses_are_exact() {
        let mut r = PreSignUpResponse::default();
        r.auto_confirm_user = true;
        assert_eq!(
            serde_json::to_value(r).unwrap(),
            json!({"autoConfirmUser": true, "autoVerifyEmail": false, "autoVerifyPhone": false})
        );
        assert_eq!(
            serde_json::to_value(PostConfirmationResponse::default()).unwrap(),
            json!({})
        );
    }

    // If this starts failing, the stock crate has closed the gap: consider using its types.
    #[test]
    fn stock_types_gap_responses_serialize_nulls_and_an_empty_group_override() {
        use aws_lambda_events::event::cognito as stock;
        let v1 = serde_json::to_value(stock::ClaimsOverrideDetails::default()).unwrap();
        assert_eq!(
            v1["groupOverrideDetails"]["groupsToOverride"],
            json!([]),
            "would strip every group"
        );
        assert_eq!(v1["groupOverrideDetails"]["preferredRole"], Value::Null);
        let v2 = serde_json::to_value(stock::ClaimsAndScopeOverrideDetailsV2::default()).unwrap();
        assert_eq!(v2["idTokenGeneration"], Value::Null);
        assert_eq!(v2["groupOverrideDetails"]["groupsToOverride"], json!([]));
    }
}
