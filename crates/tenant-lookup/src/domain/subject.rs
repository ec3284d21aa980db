//! Who is asking: what an event says about the user and the caller.

use crate::domain::denial::{Denial, DenyCode};
use crate::domain::model::Route;

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

impl Subject {
    /// The user's `sub`; every question about a user needs it.
    pub fn required_sub(&self) -> Result<&str, Denial> {
        self.sub
            .as_deref()
            .ok_or_else(|| Denial::new(DenyCode::InvalidEvent, "event has no sub"))
    }

    /// Whether the email is proven. A federated user's `email_verified` is whatever the
    /// identity provider (through the pool's attribute mapping) says, so it counts only when
    /// the provider's `IDP` route trusts it (`trustEmail`).
    pub fn email_proven(&self, idp_route: Option<&Route>) -> bool {
        self.email_verified
            && match self.federated_provider {
                None => true,
                Some(_) => idp_route.is_some_and(|r| r.trust_email),
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::RouteKind;

    #[test]
    fn a_federated_email_is_proven_only_by_a_trusted_idp_route() {
        let route = |trust_email| Route {
            kind: RouteKind::Idp,
            key: "p#okta".into(),
            tenant_id: "acme".into(),
            trust_email,
        };
        let local = Subject {
            email_verified: true,
            ..Default::default()
        };
        assert!(local.email_proven(None));
        let federated = Subject {
            federated_provider: Some("Okta".into()),
            ..local.clone()
        };
        assert!(!federated.email_proven(None));
        assert!(!federated.email_proven(Some(&route(false))));
        assert!(federated.email_proven(Some(&route(true))));
        let unverified = Subject {
            email_verified: false,
            ..federated
        };
        assert!(!unverified.email_proven(Some(&route(true))));
    }
}
