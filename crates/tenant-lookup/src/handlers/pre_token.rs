//! Pre token generation: tenant, tier, roles and scopes from the directory into the tokens.

use std::sync::Arc;

use serde_json::Value;

use super::{answer, Explained, Steps, Trigger};
use crate::clock::Clock;
use crate::cognito::event::{TriggerSource, UserPoolEvent};
use crate::cognito::response::{respond, PreTokenResponseV1, PreTokenResponseV2};
use crate::config::{ClaimNames, Config};
use crate::domain::denial::{Denial, DenyCode};
use crate::domain::subject::Subject;
use crate::domain::token::{self, TokenDecision, TokenPolicy, TokenRequest};
use crate::domain::Verdict;
use crate::store::Directory;

pub struct PreTokenGeneration<D> {
    directory: D,
    clock: Arc<dyn Clock>,
    policy: TokenPolicy,
    claim_names: ClaimNames,
}

impl<D: Directory> PreTokenGeneration<D> {
    pub fn new(directory: D, clock: Arc<dyn Clock>, config: &Config) -> Self {
        Self {
            directory,
            clock,
            policy: TokenPolicy {
                groups_mode: config.groups_mode,
                no_tenant: config.no_tenant_policy,
            },
            claim_names: config.claims.clone(),
        }
    }
}

fn is_machine(event: &UserPoolEvent) -> bool {
    event.trigger_source == TriggerSource::TokenGenerationClientCredentials
}

impl<D: Directory> Steps for PreTokenGeneration<D> {
    type Decision = TokenDecision;

    fn check(&self, event: &UserPoolEvent) -> Result<(), Denial> {
        // `"0"` or no version on a version 1 shaped event is answered as version 1 (what
        // cognito-local sends); any other unknown version is refused.
        let Some(version) = event.token_version() else {
            return Err(Denial::new(
                DenyCode::InvalidEvent,
                "missing or unknown event version",
            ));
        };
        if is_machine(event) && version < 2 {
            // Version 1 cannot change access tokens; a machine token without its tenant claims
            // must not be issued.
            return Err(Denial::new(
                DenyCode::InvalidEvent,
                "client credentials event of version 1",
            ));
        }
        Ok(())
    }

    async fn decide(
        &self,
        event: &UserPoolEvent,
        subject: &Subject,
    ) -> Result<TokenDecision, Denial> {
        let request = TokenRequest {
            machine: is_machine(event),
            groups: &event.request.group_configuration,
            scopes: event.request.scopes.as_deref(),
        };
        let decision = token::decide(
            &self.directory,
            subject,
            request,
            self.policy,
            self.clock.epoch_seconds(),
        )
        .await?;
        let names = &self.claim_names;
        decision.claims.check_budget(
            [
                &names.tenant_id,
                &names.tenant_tier,
                &names.tenant_attribute,
            ],
            request.groups,
        )?;
        Ok(decision)
    }

    fn render(
        &self,
        raw: Value,
        event: &UserPoolEvent,
        d: &TokenDecision,
    ) -> Result<Value, Denial> {
        if event.token_version() == Some(1) {
            respond(raw, &PreTokenResponseV1::new(&d.claims, &self.claim_names))
        } else {
            respond(raw, &PreTokenResponseV2::new(&d.claims, &self.claim_names))
        }
    }

    fn verdict(d: &TokenDecision) -> &Verdict {
        &d.verdict
    }
}

impl<D: Directory> PreTokenGeneration<D> {
    /// The answer with what decided it (see [`Explained`]).
    pub async fn explain(&self, event: Value) -> Explained {
        answer(self, event).await
    }
}

impl<D: Directory> Trigger for PreTokenGeneration<D> {
    const NAME: &'static str = "pre-token-generation";

    async fn handle(&self, event: Value) -> Result<Value, Denial> {
        answer(self, event).await.result
    }
}
