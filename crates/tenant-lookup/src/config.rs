//! Configuration from the environment, read and validated once at start.

use std::time::Duration;

pub use crate::domain::claims::{GroupsMode, NoTenantPolicy};

/// `STALE_IF_ERROR_SECONDS` when unset: five minutes. Long enough to ride out a regional
/// blip or a burst of throttling for the users active in that time, short enough that a
/// suspension made during an outage waits at most that long once the TTL has passed.
pub const DEFAULT_STALE_IF_ERROR: Duration = Duration::from_secs(300);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimNames {
    pub tenant_id: String,
    pub tenant_tier: String,
    /// The user attribute that the ID token's copy is overwritten (or suppressed) for.
    pub tenant_attribute: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub table_name: String,
    pub cache_ttl: Duration,
    /// How long past their TTL cached answers (and a user's last-known memberships) may be
    /// served while DynamoDB fails (`STALE_IF_ERROR_SECONDS`); zero disables it.
    pub stale_if_error: Duration,
    pub claims: ClaimNames,
    pub groups_mode: GroupsMode,
    pub no_tenant_policy: NoTenantPolicy,
    /// The CloudWatch namespace of the functions' metrics (`METRICS_NAMESPACE`).
    pub metrics_namespace: String,
}

/// `METRICS_NAMESPACE` when unset.
pub const DEFAULT_METRICS_NAMESPACE: &str = "CognitoTenantTriggers";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid configuration: {variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

fn err(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// The same as [`Config::from_env`] over any source of variables (tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let table_name = var("TENANT_TABLE").ok_or_else(|| err("TENANT_TABLE", "is required"))?;

        let cache_ttl = match var("CACHE_TTL_SECONDS") {
            None => Duration::from_secs(60),
            Some(v) => match v.parse::<u64>() {
                Ok(s) if s <= 3600 => Duration::from_secs(s),
                _ => {
                    return Err(err(
                        "CACHE_TTL_SECONDS",
                        "must be a whole number of seconds from 0 to 3600",
                    ))
                }
            },
        };

        let stale_if_error = match var("STALE_IF_ERROR_SECONDS") {
            None => DEFAULT_STALE_IF_ERROR,
            Some(v) => match v.parse::<u64>() {
                Ok(s) if s <= 3600 => Duration::from_secs(s),
                _ => {
                    return Err(err(
                        "STALE_IF_ERROR_SECONDS",
                        "must be a whole number of seconds from 0 to 3600",
                    ))
                }
            },
        };

        let groups_mode = match var("GROUPS_MODE").as_deref() {
            None | Some("replace") => GroupsMode::Replace,
            Some("merge") => GroupsMode::Merge,
            Some("off") => GroupsMode::Off,
            Some(_) => return Err(err("GROUPS_MODE", "must be replace, merge or off")),
        };

        let no_tenant_policy = match var("NO_TENANT_POLICY").as_deref() {
            None | Some("deny") => NoTenantPolicy::Deny,
            Some("issue-without-tenant-claims") => NoTenantPolicy::IssueWithoutTenantClaims,
            Some(_) => {
                return Err(err(
                    "NO_TENANT_POLICY",
                    "must be deny or issue-without-tenant-claims",
                ))
            }
        };

        let claim = |variable: &'static str, default: &str| -> Result<String, ConfigError> {
            let name = var(variable).unwrap_or_else(|| default.to_string());
            if is_reserved_claim(&name) || name.starts_with("custom:") {
                return Err(err(
                    variable,
                    format!("'{name}' is a claim Cognito reserves or a user attribute"),
                ));
            }
            if is_standard_claim(&name) {
                return Err(err(
                    variable,
                    format!("'{name}' is a standard OpenID Connect claim: it would overwrite the user's own"),
                ));
            }
            Ok(name)
        };
        let tenant_id = claim("TENANT_ID_CLAIM", "tenantId")?;
        let tenant_tier = claim("TENANT_TIER_CLAIM", "tenantTier")?;
        if tenant_id == tenant_tier {
            return Err(err("TENANT_TIER_CLAIM", "must differ from TENANT_ID_CLAIM"));
        }
        let tenant_attribute =
            var("TENANT_ATTRIBUTE").unwrap_or_else(|| "custom:tenantId".to_string());
        if !tenant_attribute.starts_with("custom:") || tenant_attribute.len() <= "custom:".len() {
            return Err(err(
                "TENANT_ATTRIBUTE",
                "must name a custom attribute (custom:...)",
            ));
        }

        let metrics_namespace =
            var("METRICS_NAMESPACE").unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_string());
        if metrics_namespace.len() > 255
            || metrics_namespace.starts_with("AWS/")
            || !metrics_namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c))
        {
            return Err(err(
                "METRICS_NAMESPACE",
                "must be a CloudWatch namespace: up to 255 of A-Z a-z 0-9 . - _ / # : and space, \
                 not starting with AWS/",
            ));
        }

        Ok(Config {
            table_name,
            cache_ttl,
            stale_if_error,
            claims: ClaimNames {
                tenant_id,
                tenant_tier,
                tenant_attribute,
            },
            groups_mode,
            no_tenant_policy,
            metrics_namespace,
        })
    }
}

/// Claims a pre token generation trigger may not add, override or suppress (see
/// `docs/contract.md`): Cognito's own claims, every `cognito:` and `dev:` claim, `scope`
/// (changed through scopesToAdd only) and the verified flags.
pub fn is_reserved_claim(name: &str) -> bool {
    const RESERVED: &[&str] = &[
        "sub",
        "aud",
        "iss",
        "exp",
        "iat",
        "nbf",
        "jti",
        "auth_time",
        "token_use",
        "username",
        "client_id",
        "event_id",
        "version",
        "device_key",
        "acr",
        "amr",
        "azp",
        "nonce",
        "origin_jti",
        "at_hash",
        "identities",
        "scope",
        "email_verified",
        "phone_number_verified",
    ];
    name.is_empty()
        || RESERVED.contains(&name)
        || name.starts_with("cognito:")
        || name.starts_with("dev:")
}

/// The standard claims of OpenID Connect Core 1.0, section 5.1: clients read them as the
/// user's own, so a tenant claim may not take one of their names.
pub fn is_standard_claim(name: &str) -> bool {
    const STANDARD: &[&str] = &[
        "sub",
        "name",
        "given_name",
        "family_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "email",
        "email_verified",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "phone_number",
        "phone_number_verified",
        "address",
        "updated_at",
    ];
    STANDARD.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = from(&[("TENANT_TABLE", "t")]).unwrap();
        assert_eq!(c.cache_ttl, Duration::from_secs(60));
        assert_eq!(c.stale_if_error, Duration::from_secs(300));
        assert_eq!(c.groups_mode, GroupsMode::Replace);
        assert_eq!(c.no_tenant_policy, NoTenantPolicy::Deny);
        assert_eq!(c.claims.tenant_id, "tenantId");
        assert_eq!(c.claims.tenant_tier, "tenantTier");
        assert_eq!(c.claims.tenant_attribute, "custom:tenantId");
        assert_eq!(c.metrics_namespace, "CognitoTenantTriggers");
    }

    #[test]
    fn errors_name_the_variable() {
        assert_eq!(from(&[]).unwrap_err().variable, "TENANT_TABLE");
        for (k, v) in [
            ("CACHE_TTL_SECONDS", "ten"),
            ("STALE_IF_ERROR_SECONDS", "3601"),
            ("STALE_IF_ERROR_SECONDS", "-1"),
            ("GROUPS_MODE", "sometimes"),
            ("NO_TENANT_POLICY", "allow"),
            ("TENANT_ID_CLAIM", "sub"),
            ("TENANT_TIER_CLAIM", "cognito:groups"),
            ("TENANT_ATTRIBUTE", "tenant"),
            ("METRICS_NAMESPACE", "AWS/Lambda"),
            ("METRICS_NAMESPACE", "tenants{prod}"),
        ] {
            let e = from(&[("TENANT_TABLE", "t"), (k, v)]).unwrap_err();
            assert_eq!(e.variable, k);
            assert!(
                e.to_string()
                    .starts_with(&format!("invalid configuration: {k}")),
                "{e}"
            );
        }
    }

    #[test]
    fn claim_names_may_not_be_standard_claims() {
        for name in [
            "email",
            "phone_number",
            "name",
            "preferred_username",
            "address",
        ] {
            for variable in ["TENANT_ID_CLAIM", "TENANT_TIER_CLAIM"] {
                let e = from(&[("TENANT_TABLE", "t"), (variable, name)]).unwrap_err();
                assert_eq!(e.variable, variable);
                assert!(e.problem.contains("standard OpenID Connect claim"), "{e}");
            }
        }
        assert!(from(&[("TENANT_TABLE", "t"), ("TENANT_ID_CLAIM", "org")]).is_ok());
    }

    #[test]
    fn options_parse() {
        let c = from(&[
            ("TENANT_TABLE", "t"),
            ("CACHE_TTL_SECONDS", "5"),
            ("STALE_IF_ERROR_SECONDS", "0"),
            ("GROUPS_MODE", "merge"),
            ("NO_TENANT_POLICY", "issue-without-tenant-claims"),
            ("TENANT_ID_CLAIM", "tid"),
            ("METRICS_NAMESPACE", "CognitoTenantTriggers/prod-stack"),
        ])
        .unwrap();
        assert_eq!(c.metrics_namespace, "CognitoTenantTriggers/prod-stack");
        assert_eq!(c.cache_ttl, Duration::from_secs(5));
        assert_eq!(
            c.stale_if_error,
            Duration::ZERO,
            "0 disables stale-if-error"
        );
        assert_eq!(c.groups_mode, GroupsMode::Merge);
        assert_eq!(c.no_tenant_policy, NoTenantPolicy::IssueWithoutTenantClaims);
        assert_eq!(c.claims.tenant_id, "tid");
    }
}
