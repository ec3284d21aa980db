//! The decisions, pure: which tenant, may this user join, what the tokens carry. No AWS SDK
//! and no Cognito JSON here; the directory is read through the [`crate::store::Directory`]
//! trait and time comes from the caller.
//!
//! One function per trigger question: [`sign_up::decide`], [`confirmation::decide`],
//! [`token::decide`].

pub mod admission;
pub mod claims;
pub mod confirmation;
pub mod denial;
pub mod model;
pub mod provisioning;
pub mod resolve;
pub mod sign_up;
pub mod subject;
pub mod token;

/// What decided a trigger's question, for the decision log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub tenant_id: Option<String>,
    /// What was done: `admit`, `provision`, `issue`, ...
    pub decision: &'static str,
    /// Which rule or source decided: `invitation`, `membership`, `client`, ...
    pub rule: &'static str,
}

impl Verdict {
    pub fn new(tenant_id: Option<String>, decision: &'static str, rule: &'static str) -> Self {
        Self {
            tenant_id,
            decision,
            rule,
        }
    }
}
