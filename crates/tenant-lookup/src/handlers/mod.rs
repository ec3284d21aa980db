//! The three triggers, each once through the same pipeline: read the event, refuse cheaply
//! what needs no directory, decide (in [`crate::domain`]), render the response, log one line.

use std::future::Future;

use serde_json::Value;

use crate::cognito::event::UserPoolEvent;
use crate::domain::denial::{Denial, DenyCode};
use crate::domain::subject::Subject;
use crate::domain::Verdict;

mod post_confirmation;
mod pre_signup;
mod pre_token;

pub use post_confirmation::PostConfirmation;
pub use pre_signup::PreSignUp;
pub use pre_token::PreTokenGeneration;

/// A Cognito trigger handler: the event in, the event with its response out, or a denial.
pub trait Trigger: Send + Sync {
    fn handle(&self, event: Value) -> impl Future<Output = Result<Value, Denial>> + Send;
}

/// A trigger's answer together with what decided it: the verdict of an answer, the denial's
/// code and reason otherwise. `tenantctl explain` runs the handlers through this, so that it
/// shows exactly what the function answers and why.
#[derive(Debug)]
pub struct Explained {
    pub result: Result<Value, Denial>,
    /// `None` for a denial.
    pub verdict: Option<Verdict>,
}

/// One trigger's steps, run by [`answer`].
trait Steps: Send + Sync {
    type Decision: Send;

    /// Refusals that need no directory read (an unknown event version, say).
    fn check(&self, _event: &UserPoolEvent) -> Result<(), Denial> {
        Ok(())
    }

    fn decide(
        &self,
        event: &UserPoolEvent,
        subject: &Subject,
    ) -> impl Future<Output = Result<Self::Decision, Denial>> + Send;

    /// The whole event with its `response` written from the decision.
    fn render(
        &self,
        raw: Value,
        event: &UserPoolEvent,
        decision: &Self::Decision,
    ) -> Result<Value, Denial>;

    fn verdict(decision: &Self::Decision) -> &Verdict;
}

/// Read → check → decide → render → log, for every trigger.
async fn answer<S: Steps>(steps: &S, raw: Value) -> Explained {
    let event = match UserPoolEvent::from_value(&raw) {
        Ok(event) => event,
        Err(denial) => {
            tracing::warn!(decision = "deny", code = denial.code.as_str(), reason = %denial.reason, "decision");
            return Explained {
                result: Err(denial),
                verdict: None,
            };
        }
    };
    let answered = async {
        steps.check(&event)?;
        let subject = event.subject();
        subject.check_sizes()?;
        let decision = steps.decide(&event, &subject).await?;
        let response = steps.render(raw, &event, &decision)?;
        Ok::<_, Denial>((response, decision))
    }
    .await;
    match answered {
        Ok((response, decision)) => {
            let verdict = S::verdict(&decision);
            log_decision(&event, Ok(verdict));
            Explained {
                result: Ok(response),
                verdict: Some(verdict.clone()),
            }
        }
        Err(denial) => {
            log_decision(&event, Err(&denial));
            Explained {
                result: Err(denial),
                verdict: None,
            }
        }
    }
}

/// One line per invocation. Carries ids and the decision; never the email, names or userName.
fn log_decision(event: &UserPoolEvent, outcome: Result<&Verdict, &Denial>) {
    let trigger_source = event.trigger_source.as_str();
    let user_pool_id = event.user_pool_id();
    let client_id = event.client_id().unwrap_or_default();
    let sub = event.sub().unwrap_or_default();
    let version = event.version.unwrap_or_default();
    match outcome {
        Ok(v) => tracing::info!(
            trigger_source,
            user_pool_id,
            client_id,
            sub,
            version,
            tenant_id = v.tenant_id.as_deref().unwrap_or_default(),
            decision = v.decision,
            rule = v.rule,
            "decision"
        ),
        Err(d) if d.code == DenyCode::DirectoryUnavailable => tracing::error!(
            trigger_source, user_pool_id, client_id, sub, version, tenant_id = "",
            decision = "deny", code = d.code.as_str(), reason = %d.reason, "decision"
        ),
        Err(d) => tracing::warn!(
            trigger_source, user_pool_id, client_id, sub, version, tenant_id = "",
            decision = "deny", code = d.code.as_str(), reason = %d.reason, "decision"
        ),
    }
}
