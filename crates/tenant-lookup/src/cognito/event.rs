//! Cognito user-pool trigger events, read leniently and answered exactly.
//!
//! The handler receives the raw JSON (`serde_json::Value`), so no input can fail
//! deserialization before our code runs (the runtime's serde error text would reach the user).
//! [`UserPoolEvent`] is a typed view over it that tolerates explicit nulls, missing keys,
//! unknown keys, unknown trigger sources, a numeric or string `version`, boolean attribute
//! values and the AWS doc's array-shaped `preferredRole`. The answer is the incoming event
//! with only `response` replaced, so unknown keys travel back untouched.
//!
//! Why not `aws_lambda_events` for the requests: see the `stock_types_gap_*` tests below.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::domain::claims::CurrentGroups;
use crate::domain::denial::{Denial, DenyCode};
use crate::domain::subject::Subject;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TriggerSource {
    PreSignUpSignUp,
    PreSignUpAdminCreateUser,
    PreSignUpExternalProvider,
    PostConfirmationConfirmSignUp,
    PostConfirmationConfirmForgotPassword,
    TokenGenerationHostedAuth,
    TokenGenerationAuthentication,
    TokenGenerationNewPasswordChallenge,
    TokenGenerationAuthenticateDevice,
    TokenGenerationRefreshTokens,
    TokenGenerationClientCredentials,
    /// Anything else (new Cognito features, other triggers); the raw string is kept for logs.
    Other(String),
}

impl TriggerSource {
    pub fn parse(s: &str) -> Self {
        use TriggerSource::*;
        match s {
            "PreSignUp_SignUp" => PreSignUpSignUp,
            "PreSignUp_AdminCreateUser" => PreSignUpAdminCreateUser,
            "PreSignUp_ExternalProvider" => PreSignUpExternalProvider,
            "PostConfirmation_ConfirmSignUp" => PostConfirmationConfirmSignUp,
            "PostConfirmation_ConfirmForgotPassword" => PostConfirmationConfirmForgotPassword,
            "TokenGeneration_HostedAuth" => TokenGenerationHostedAuth,
            "TokenGeneration_Authentication" => TokenGenerationAuthentication,
            "TokenGeneration_NewPasswordChallenge" => TokenGenerationNewPasswordChallenge,
            "TokenGeneration_AuthenticateDevice" => TokenGenerationAuthenticateDevice,
            "TokenGeneration_RefreshTokens" => TokenGenerationRefreshTokens,
            "TokenGeneration_ClientCredentials" => TokenGenerationClientCredentials,
            other => Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        use TriggerSource::*;
        match self {
            PreSignUpSignUp => "PreSignUp_SignUp",
            PreSignUpAdminCreateUser => "PreSignUp_AdminCreateUser",
            PreSignUpExternalProvider => "PreSignUp_ExternalProvider",
            PostConfirmationConfirmSignUp => "PostConfirmation_ConfirmSignUp",
            PostConfirmationConfirmForgotPassword => "PostConfirmation_ConfirmForgotPassword",
            TokenGenerationHostedAuth => "TokenGeneration_HostedAuth",
            TokenGenerationAuthentication => "TokenGeneration_Authentication",
            TokenGenerationNewPasswordChallenge => "TokenGeneration_NewPasswordChallenge",
            TokenGenerationAuthenticateDevice => "TokenGeneration_AuthenticateDevice",
            TokenGenerationRefreshTokens => "TokenGeneration_RefreshTokens",
            TokenGenerationClientCredentials => "TokenGeneration_ClientCredentials",
            Other(s) => s,
        }
    }
}

/// The request's `groupConfiguration`, read leniently into the domain's [`CurrentGroups`].
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupConfiguration {
    #[serde(default, deserialize_with = "lenient::strings")]
    groups_to_override: Vec<String>,
    #[serde(default, deserialize_with = "lenient::strings")]
    iam_roles_to_override: Vec<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    preferred_role: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallerContext {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub client_id: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    #[serde(default, deserialize_with = "lenient::string_map")]
    pub user_attributes: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "lenient::group_configuration")]
    pub group_configuration: CurrentGroups,
    /// `None` when absent or null (V1 events have none; V2 events may omit it).
    #[serde(default, deserialize_with = "lenient::opt_strings")]
    pub scopes: Option<Vec<String>>,
    // clientMetadata and validationData are deliberately not read: callers control them,
    // so they are never an authority for anything this product decides.
}

/// The typed view of any user-pool trigger event.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPoolEvent {
    #[serde(default, deserialize_with = "lenient::version")]
    pub version: Option<u32>,
    #[serde(default, deserialize_with = "lenient::trigger_source")]
    pub trigger_source: TriggerSource,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub user_pool_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub user_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::object_or_default")]
    pub caller_context: CallerContext,
    #[serde(default, deserialize_with = "lenient::object_or_default")]
    pub request: Request,
    /// `version` is `"0"` (in any spelling) or absent, and the event has the shape of a
    /// version 1 pre token generation event: read from the raw JSON by [`Self::from_value`].
    #[serde(skip)]
    unversioned_v1_token_shape: bool,
}

impl Default for TriggerSource {
    fn default() -> Self {
        TriggerSource::Other(String::new())
    }
}

impl UserPoolEvent {
    /// Reads the view; fails only when the payload is not a JSON object or has no user pool id.
    pub fn from_value(value: &Value) -> Result<Self, Denial> {
        if !value.is_object() {
            return Err(Denial::new(
                DenyCode::InvalidEvent,
                "event is not a JSON object",
            ));
        }
        let event = UserPoolEvent::deserialize(value)
            .map_err(|_| Denial::new(DenyCode::InvalidEvent, "event could not be read"))?;
        if event.user_pool_id.as_deref().is_none_or(str::is_empty) {
            return Err(Denial::new(
                DenyCode::InvalidEvent,
                "event has no userPoolId",
            ));
        }
        let version_unset =
            event.version == Some(0) || value.get("version").is_none_or(Value::is_null);
        Ok(UserPoolEvent {
            unversioned_v1_token_shape: version_unset && has_v1_token_shape(value),
            ..event
        })
    }

    /// The version a pre token generation event is answered in: `version` when it is 1 or
    /// higher; 1 when `version` is `"0"` or absent and the event has version 1's shape
    /// (cognito-local sends `"0"` to every trigger, with a version 1 shaped token event);
    /// `None` otherwise (an unreadable version, or `"0"` on another shape, stays unknown).
    pub fn token_version(&self) -> Option<u32> {
        match self.version {
            Some(v) if v >= 1 => Some(v),
            _ if self.unversioned_v1_token_shape => Some(1),
            _ => None,
        }
    }

    /// Who is asking, as the decisions see it.
    pub fn subject(&self) -> Subject {
        Subject {
            user_pool_id: self.user_pool_id().to_string(),
            client_id: self.client_id().map(str::to_string),
            sub: self.sub().map(str::to_string),
            email: self.email(),
            email_verified: self.email_verified(),
            federated_provider: self.federated_provider(),
        }
    }

    pub fn user_pool_id(&self) -> &str {
        self.user_pool_id.as_deref().unwrap_or_default()
    }

    pub fn client_id(&self) -> Option<&str> {
        self.caller_context
            .client_id
            .as_deref()
            .filter(|c| !c.is_empty())
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.request
            .user_attributes
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn sub(&self) -> Option<&str> {
        self.attribute("sub")
    }

    /// The email attribute, trimmed and lower case.
    pub fn email(&self) -> Option<String> {
        self.attribute("email")
            .map(|e| e.trim().to_ascii_lowercase())
            .filter(|e| !e.is_empty())
    }

    /// `email_verified` is the string "true" in real events; a JSON boolean true is read the same.
    pub fn email_verified(&self) -> bool {
        self.attribute("email_verified")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The identity provider of a federated user: trigger source `PreSignUp_ExternalProvider`,
    /// or `cognito:user_status` `EXTERNAL_PROVIDER`; the provider is `userName` up to its first
    /// `_`. A local user whose username merely looks like `Provider_subject` is not federated.
    pub fn federated_provider(&self) -> Option<String> {
        // Only what Cognito itself sets counts: the trigger source, or the user status.
        // An `identities` attribute alone does not: see docs/decisions.md.
        let federated = self.trigger_source == TriggerSource::PreSignUpExternalProvider
            || self.attribute("cognito:user_status") == Some("EXTERNAL_PROVIDER");
        if !federated {
            return None;
        }
        let (provider, subject) = self.user_name.as_deref()?.split_once('_')?;
        (!provider.is_empty() && !subject.is_empty()).then(|| provider.to_string())
    }
}

/// A version 1 pre token generation event: `response.claimsOverrideDetails` (an object, or
/// null), and nothing of versions 2 and 3 (`response.claimsAndScopeOverrideDetails`,
/// `request.scopes`).
fn has_v1_token_shape(event: &Value) -> bool {
    let response = event.get("response").and_then(Value::as_object);
    let request = event.get("request").and_then(Value::as_object);
    response.is_some_and(|r| {
        r.get("claimsOverrideDetails")
            .is_some_and(|d| d.is_object() || d.is_null())
            && !r.contains_key("claimsAndScopeOverrideDetails")
    }) && !request.is_some_and(|r| r.contains_key("scopes"))
}

/// Deserializers that never fail: anything of the wrong shape reads as absent.
mod lenient {
    use super::*;

    fn scalar_to_string(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    pub fn string_map<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Object(m) => m
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), scalar_to_string(v)?)))
                .collect(),
            _ => BTreeMap::new(),
        })
    }

    pub fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Value::String(s) => vec![s],
            _ => Vec::new(),
        })
    }

    pub fn opt_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Array(a) => Some(
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
            ),
            _ => None,
        })
    }

    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Array(a) => a.first().and_then(scalar_to_string),
            v => scalar_to_string(&v),
        })
    }

    /// An object of type `T`; anything else (null, another JSON type, a field of the wrong
    /// shape) reads as absent.
    pub fn object<'de, D: Deserializer<'de>, T: for<'a> Deserialize<'a>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        let v = Value::deserialize(d)?;
        Ok(match v {
            Value::Object(_) => T::deserialize(&v).ok(),
            _ => None,
        })
    }

    /// Like [`object`], with `T::default()` for absent.
    pub fn object_or_default<'de, D: Deserializer<'de>, T: Default + for<'a> Deserialize<'a>>(
        d: D,
    ) -> Result<T, D::Error> {
        Ok(object(d)?.unwrap_or_default())
    }

    /// "1", "2", "3", 1, 2.0, "1.0" and higher versions; anything else reads as unknown.
    pub fn version<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Number(n) => n.as_u64().or_else(|| {
                n.as_f64()
                    .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                    .map(|f| f as u64)
            }),
            Value::String(s) => {
                let s = s.trim();
                let major = s.split('.').next().unwrap_or_default();
                major
                    .parse::<u64>()
                    .ok()
                    .filter(|_| s.split('.').skip(1).all(|p| p.chars().all(|c| c == '0')))
            }
            _ => None,
        }
        .and_then(|v| u32::try_from(v).ok()))
    }

    pub fn group_configuration<'de, D: Deserializer<'de>>(d: D) -> Result<CurrentGroups, D::Error> {
        let g: Option<GroupConfiguration> = object(d)?;
        Ok(g.map(|g| CurrentGroups {
            groups_to_override: g.groups_to_override,
            iam_roles_to_override: g.iam_roles_to_override,
            preferred_role: g.preferred_role,
        })
        .unwrap_or_default())
    }

    pub fn trigger_source<'de, D: Deserializer<'de>>(d: D) -> Result<TriggerSource, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) => TriggerSource::parse(&s),
            _ => TriggerSource::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "version": "2", "triggerSource": "TokenGeneration_Authentication", "region": "us-east-1",
            "userPoolId": "us-east-1_Example", "userName": "u",
            "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "client1"},
            "request": {"userAttributes": {"sub": "s-1", "email": "A@Acme.Example", "email_verified": "true"},
                        "groupConfiguration": {"groupsToOverride": ["g"], "iamRolesToOverride": [], "preferredRole": null},
                        "scopes": ["openid"]},
            "response": {"claimsAndScopeOverrideDetails": null}
        })
    }

    #[test]
    fn reads_a_normal_event() {
        let e = UserPoolEvent::from_value(&base()).unwrap();
        assert_eq!(e.version, Some(2));
        assert_eq!(
            e.trigger_source,
            TriggerSource::TokenGenerationAuthentication
        );
        assert_eq!(e.client_id(), Some("client1"));
        assert_eq!(e.sub(), Some("s-1"));
        assert_eq!(e.email().as_deref(), Some("a@acme.example"));
        assert!(e.email_verified());
        assert_eq!(e.request.group_configuration.groups_to_override, vec!["g"]);
        assert_eq!(e.request.scopes, Some(vec!["openid".to_string()]));
    }

    #[test]
    fn tolerates_nulls_missing_keys_and_odd_shapes() {
        let mut v = base();
        v["version"] = json!(3);
        v["callerContext"] = Value::Null;
        v["request"]["groupConfiguration"] = Value::Null;
        v["request"].as_object_mut().unwrap().remove("scopes");
        v["request"]["userAttributes"]["email_verified"] = json!(true);
        v["request"]["clientMetadata"] = Value::Null;
        v["extraTopLevelKey"] = json!({"x": 1});
        let e = UserPoolEvent::from_value(&v).unwrap();
        assert_eq!(e.version, Some(3));
        assert_eq!(e.client_id(), None);
        assert_eq!(e.request.group_configuration, CurrentGroups::default());
        assert_eq!(e.request.scopes, None);
        assert!(e.email_verified());
    }

    #[test]
    fn preferred_role_as_array_as_in_the_aws_doc_example() {
        let mut v = base();
        v["request"]["groupConfiguration"]["preferredRole"] = json!(["arn:aws:iam::1:role/r"]);
        let e = UserPoolEvent::from_value(&v).unwrap();
        assert_eq!(
            e.request.group_configuration.preferred_role.as_deref(),
            Some("arn:aws:iam::1:role/r")
        );
    }

    #[test]
    fn versions_in_every_spelling() {
        for (raw, want) in [
            (json!("1"), Some(1)),
            (json!(1), Some(1)),
            (json!("3"), Some(3)),
            (json!(2.0), Some(2)),
            (json!("4"), Some(4)),
            (json!("1.0"), Some(1)),
            (json!("x"), None),
            (json!("1.5"), None),
            (Value::Null, None),
            (json!(-1), None),
        ] {
            let mut v = base();
            v["version"] = raw.clone();
            assert_eq!(
                UserPoolEvent::from_value(&v).unwrap().version,
                want,
                "{raw}"
            );
        }
    }

    /// A pre token generation event as cognito-local 5.3.0 builds it (version 1's shape).
    fn emulator_token_event() -> Value {
        json!({
            "version": "0", "triggerSource": "TokenGeneration_Authentication", "region": "local",
            "userPoolId": "local_5aB8fK2q", "userName": "s-1",
            "callerContext": {"awsSdkVersion": "2.1693.0", "clientId": "client1"},
            "request": {"userAttributes": {"sub": "s-1"}, "groupConfiguration": {}},
            "response": {"claimsOverrideDetails": {}}
        })
    }

    #[test]
    fn version_zero_or_none_on_a_version_1_shape_is_answered_as_version_1() {
        let mut v = emulator_token_event();
        for version in [json!("0"), json!(0), json!("0.0"), Value::Null] {
            v["version"] = version.clone();
            let e = UserPoolEvent::from_value(&v).unwrap();
            assert_eq!(e.token_version(), Some(1), "{version}");
        }
        v.as_object_mut().unwrap().remove("version");
        assert_eq!(
            UserPoolEvent::from_value(&v).unwrap().token_version(),
            Some(1)
        );
        v["response"]["claimsOverrideDetails"] = Value::Null;
        assert_eq!(
            UserPoolEvent::from_value(&v).unwrap().token_version(),
            Some(1)
        );
    }

    #[test]
    fn nothing_else_about_the_version_loosens() {
        // An unreadable version stays unknown, whatever the shape.
        for version in [json!("x"), json!("1.5"), json!(-1), json!([1]), json!({})] {
            let mut v = emulator_token_event();
            v["version"] = version.clone();
            assert_eq!(
                UserPoolEvent::from_value(&v).unwrap().token_version(),
                None,
                "{version}"
            );
        }
        // "0" on anything but version 1's shape stays unknown.
        let shapes: [fn(&mut Value); 5] = [
            |v| v["response"] = json!({"claimsAndScopeOverrideDetails": null}),
            |v| v["response"]["claimsAndScopeOverrideDetails"] = json!({}),
            |v| v["request"]["scopes"] = json!(["openid"]),
            |v| v["response"] = json!({}),
            |v| v["response"]["claimsOverrideDetails"] = json!([]),
        ];
        for (i, reshape) in shapes.iter().enumerate() {
            for version in [json!("0"), Value::Null] {
                let mut v = emulator_token_event();
                v["version"] = version.clone();
                reshape(&mut v);
                assert_eq!(
                    UserPoolEvent::from_value(&v).unwrap().token_version(),
                    None,
                    "shape {i}, version {version}"
                );
            }
        }
        // Versions sent are kept as they are.
        for (version, want) in [("1", 1), ("2", 2), ("3", 3), ("4", 4)] {
            let mut v = base();
            v["version"] = json!(version);
            assert_eq!(
                UserPoolEvent::from_value(&v).unwrap().token_version(),
                Some(want)
            );
        }
        assert_eq!(UserPoolEvent::from_value(&base()).unwrap().version, Some(2));
    }

    #[test]
    fn unknown_trigger_sources_are_kept_not_rejected() {
        let mut v = base();
        v["triggerSource"] = json!("TokenGeneration_SomethingNew");
        let e = UserPoolEvent::from_value(&v).unwrap();
        assert_eq!(
            e.trigger_source,
            TriggerSource::Other("TokenGeneration_SomethingNew".into())
        );
        v["triggerSource"] = json!(5);
        assert_eq!(
            UserPoolEvent::from_value(&v)
                .unwrap()
                .trigger_source
                .as_str(),
            ""
        );
    }

    #[test]
    fn non_objects_and_events_without_a_pool_are_invalid_with_a_generic_reason() {
        for v in [
            json!(null),
            json!([1, 2]),
            json!("x"),
            json!(7),
            json!({}),
            json!({"userPoolId": ""}),
        ] {
            let err = UserPoolEvent::from_value(&v).unwrap_err();
            assert_eq!(err.code, DenyCode::InvalidEvent);
        }
    }

    #[test]
    fn federation_requires_a_federation_signal_not_just_an_underscore() {
        let mut v = base();
        v["userName"] = json!("AcmeSAML_jdoe_x@acme.example");
        assert_eq!(
            UserPoolEvent::from_value(&v).unwrap().federated_provider(),
            None
        );
        // An identities attribute is not something Cognito alone controls everywhere.
        v["request"]["userAttributes"]["identities"] = json!("[{\"providerName\":\"AcmeSAML\"}]");
        assert_eq!(
            UserPoolEvent::from_value(&v).unwrap().federated_provider(),
            None
        );
        v["request"]["userAttributes"]["cognito:user_status"] = json!("EXTERNAL_PROVIDER");
        assert_eq!(
            UserPoolEvent::from_value(&v)
                .unwrap()
                .federated_provider()
                .as_deref(),
            Some("AcmeSAML")
        );
        let mut v = base();
        v["triggerSource"] = json!("PreSignUp_ExternalProvider");
        v["userName"] = json!("Google_1234");
        assert_eq!(
            UserPoolEvent::from_value(&v)
                .unwrap()
                .federated_provider()
                .as_deref(),
            Some("Google")
        );
    }

    // --- Gaps in aws_lambda_events that make this module necessary (each pinned). ---
    // If one of these starts failing, the stock crate has closed the gap: consider using it.

    use aws_lambda_events::event::cognito as stock;

    #[test]
    fn stock_types_gap_no_client_credentials_trigger_source() {
        let mut v = base();
        v["triggerSource"] = json!("TokenGeneration_ClientCredentials");
        assert!(serde_json::from_value::<stock::CognitoEventUserPoolsPreTokenGenV2>(v).is_err());
    }

    #[test]
    fn stock_types_gap_scopes_required_in_v2_requests() {
        let mut v = base();
        v["request"].as_object_mut().unwrap().remove("scopes");
        assert!(serde_json::from_value::<stock::CognitoEventUserPoolsPreTokenGenV2>(v).is_err());
    }

    #[test]
    fn stock_types_gap_boolean_email_verified_fails_post_confirmation() {
        let v = json!({"version": "1", "triggerSource": "PostConfirmation_ConfirmSignUp", "userPoolId": "p",
            "callerContext": {"clientId": "c"}, "request": {"userAttributes": {"sub": "s", "email_verified": true}},
            "response": {}});
        assert!(serde_json::from_value::<stock::CognitoEventUserPoolsPostConfirmation>(v).is_err());
    }

    #[test]
    fn stock_types_gap_preferred_role_array_fails() {
        let mut v = base();
        v["request"]["groupConfiguration"]["preferredRole"] = json!(["r"]);
        assert!(serde_json::from_value::<stock::CognitoEventUserPoolsPreTokenGenV2>(v).is_err());
    }

    #[test]
    fn stock_types_gap_empty_pre_signup_response_fails() {
        let v = json!({"version": "1", "triggerSource": "PreSignUp_SignUp", "userPoolId": "p",
            "callerContext": {"clientId": "c"}, "request": {"userAttributes": {}}, "response": {}});
        assert!(serde_json::from_value::<stock::CognitoEventUserPoolsPreSignup>(v).is_err());
    }
}
