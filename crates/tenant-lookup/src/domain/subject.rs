//! Who is asking: what an event says about the user and the caller.

use crate::domain::denial::{Denial, DenyCode};
use crate::domain::model::{Route, Tenant};

/// What an event says about who is asking. None of it is trusted on its own: it only
/// chooses which directory entries to look up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subject {
    pub user_pool_id: String,
    pub client_id: Option<String>,
    pub sub: Option<String>,
    /// Trimmed, lower case.
    pub email: Option<String>,
    /// The `email_verified` attribute is `"true"`.
    pub email_verified: bool,
    /// Set only for federated users, from what Cognito itself sets (the trigger source or the
    /// user status), never from attributes or a username the user chose.
    pub federated_provider: Option<String>,
}

/// The longest values that can be real, and that keep every key this subject builds well
/// inside DynamoDB's limits (2,048 bytes for a partition key, 1,024 for a sort key): a pool id
/// is at most 55 characters, an app client id 128, a provider name 32 (Cognito's quotas), an
/// email address 254 (RFC 5321's path limit), a `sub` a UUID.
pub const MAX_USER_POOL_ID: usize = 55;
pub const MAX_CLIENT_ID: usize = 128;
pub const MAX_SUB: usize = 128;
pub const MAX_EMAIL: usize = 254;
pub const MAX_PROVIDER: usize = 128;

impl Subject {
    /// Refuses values no real event carries, before any directory request: they could only
    /// come from a forged or broken caller, and DynamoDB would reject the keys built from them.
    pub fn check_sizes(&self) -> Result<(), Denial> {
        let fields = [
            (
                "userPoolId",
                Some(self.user_pool_id.as_str()),
                MAX_USER_POOL_ID,
            ),
            ("clientId", self.client_id.as_deref(), MAX_CLIENT_ID),
            ("sub", self.sub.as_deref(), MAX_SUB),
            ("email", self.email.as_deref(), MAX_EMAIL),
            ("provider", self.federated_provider.as_deref(), MAX_PROVIDER),
        ];
        for (name, value, max) in fields {
            if let Some(len) = value.map(str::len).filter(|&len| len > max) {
                return Err(Denial::new(
                    DenyCode::InvalidEvent,
                    format!("{name} of {len} bytes is longer than {max}"),
                ));
            }
        }
        Ok(())
    }

    /// The user's `sub`; every question about a user needs it.
    pub fn required_sub(&self) -> Result<&str, Denial> {
        self.sub
            .as_deref()
            .ok_or_else(|| Denial::new(DenyCode::InvalidEvent, "event has no sub"))
    }

    /// Whether the email is proven, for admission into `tenant`. A federated user's
    /// `email_verified` is whatever the identity provider (through the pool's attribute
    /// mapping) says, so it counts only when the provider's `IDP` route vouches for the
    /// address ([`Route::vouches_for`]).
    pub fn email_proven(&self, idp_route: Option<&Route>, tenant: &Tenant) -> bool {
        self.email_verified
            && match self.federated_provider {
                None => true,
                Some(_) => idp_route.is_some_and(|r| r.vouches_for(self.email.as_deref(), tenant)),
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::RouteKind;

    #[test]
    fn values_no_real_event_carries_are_refused() {
        let ok = Subject {
            user_pool_id: "us-east-1_X".into(),
            email: Some(format!("{}@example.com", "a".repeat(MAX_EMAIL - 12))),
            ..Default::default()
        };
        assert!(ok.check_sizes().is_ok());
        let long_email = Subject {
            email: Some(format!("{}@example.com", "a".repeat(5000))),
            ..ok.clone()
        };
        let e = long_email.check_sizes().unwrap_err();
        assert_eq!(e.code, DenyCode::InvalidEvent);
        assert_eq!(e.reason, "email of 5012 bytes is longer than 254");
        for long in [
            Subject {
                user_pool_id: "p".repeat(56),
                ..ok.clone()
            },
            Subject {
                client_id: Some("c".repeat(129)),
                ..ok.clone()
            },
            Subject {
                sub: Some("s".repeat(129)),
                ..ok.clone()
            },
            Subject {
                federated_provider: Some("P".repeat(129)),
                ..ok.clone()
            },
        ] {
            assert_eq!(long.check_sizes().unwrap_err().code, DenyCode::InvalidEvent);
        }
    }

    #[test]
    fn a_federated_email_is_proven_only_by_an_idp_route_that_vouches_for_it() {
        let route = |trust_email| Route {
            kind: RouteKind::Idp,
            key: "p#okta".into(),
            tenant_id: "acme".into(),
            trust_email,
            email_domains: vec![],
        };
        let acme = Tenant {
            allowed_email_domains: vec!["acme.example".into()],
            ..crate::fixtures::tenant("acme", "basic")
        };
        let local = Subject {
            email: Some("a@acme.example".into()),
            email_verified: true,
            ..Default::default()
        };
        assert!(local.email_proven(None, &acme));
        let federated = Subject {
            federated_provider: Some("Okta".into()),
            ..local.clone()
        };
        assert!(!federated.email_proven(None, &acme));
        assert!(!federated.email_proven(Some(&route(false)), &acme));
        assert!(federated.email_proven(Some(&route(true)), &acme));
        let elsewhere = Subject {
            email: Some("a@other.example".into()),
            ..federated.clone()
        };
        assert!(!elsewhere.email_proven(Some(&route(true)), &acme));
        let unverified = Subject {
            email_verified: false,
            ..federated
        };
        assert!(!unverified.email_proven(Some(&route(true)), &acme));
    }
}
