//! The tokens checked the way an API would check Cognito's: the signing key from the pool's
//! JWKS (by `kid`), RS256 only, the issuer, the expiry, the audience (ID token) or `client_id`
//! (access token), and `token_use`. Only then are the claims read.

use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::PoolError;

/// Which token, and what its `token_use` must say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenUse {
    Id,
    Access,
}

impl TokenUse {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenUse::Id => "id",
            TokenUse::Access => "access",
        }
    }
}

/// The claims of a token whose signature and standard claims were checked, and the key that
/// signed it.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedToken {
    pub kid: String,
    pub claims: Value,
}

/// A pool's signing keys and the issuer its tokens must name.
#[derive(Clone, Debug)]
pub struct Verifier {
    jwks: JwkSet,
    issuer: String,
}

impl Verifier {
    pub fn new(jwks: JwkSet, issuer: impl Into<String>) -> Self {
        Self {
            jwks,
            issuer: issuer.into(),
        }
    }

    /// The keys served at `jwks_url` (a plain HTTP GET, 5 s at most).
    pub fn fetch(jwks_url: &str, issuer: impl Into<String>) -> Result<Self, PoolError> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        let failed = |detail: String| PoolError::Jwks {
            url: jwks_url.to_string(),
            detail,
        };
        let body = agent
            .get(jwks_url)
            .call()
            .and_then(|mut r| r.body_mut().read_to_string())
            .map_err(|e| failed(e.to_string()))?;
        let jwks: JwkSet = serde_json::from_str(&body).map_err(|e| failed(e.to_string()))?;
        if jwks.keys.is_empty() {
            return Err(failed("no keys".into()));
        }
        Ok(Self::new(jwks, issuer))
    }

    /// Checks `token` as a `token_use` token issued to `client_id`, and returns its claims.
    pub fn verify(
        &self,
        token: &str,
        token_use: TokenUse,
        client_id: &str,
    ) -> Result<VerifiedToken, PoolError> {
        let invalid = |detail: String| PoolError::InvalidToken {
            token_use: token_use.as_str(),
            detail,
        };
        let header = decode_header(token).map_err(|e| invalid(e.to_string()))?;
        let kid = header
            .kid
            .ok_or_else(|| invalid("no kid in the header".into()))?;
        let jwk = self
            .jwks
            .find(&kid)
            .ok_or_else(|| invalid(format!("kid {kid} is not in the pool's JWKS")))?;
        let key = DecodingKey::from_jwk(jwk).map_err(|e| invalid(e.to_string()))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        match token_use {
            // An ID token's audience is the app client.
            TokenUse::Id => validation.set_audience(&[client_id]),
            // An access token has no `aud`: its app client is `client_id`.
            TokenUse::Access => validation.validate_aud = false,
        }
        let claims = decode::<Value>(token, &key, &validation)
            .map_err(|e| invalid(e.to_string()))?
            .claims;
        if claims["token_use"] != token_use.as_str() {
            return Err(invalid(format!("token_use is {}", claims["token_use"])));
        }
        if token_use == TokenUse::Access && claims["client_id"] != client_id {
            return Err(invalid(format!(
                "client_id is {}, not {client_id}",
                claims["client_id"]
            )));
        }
        Ok(VerifiedToken { kid, claims })
    }
}
