//! The three triggers, each once through the same pipeline: read the event, refuse cheaply
//! what needs no directory, decide (in [`crate::domain`]), render the response, log one line.

use std::future::Future;

use serde_json::Value;

use crate::cognito::event::UserPoolEvent;
use crate::domain::denial::{Denial, DenyCode};
use crate::domain::subject::Subject;
use crate::domain::Verdict;
use crate::telemetry;

mod post_confirmation;
mod pre_signup;
mod pre_token;

pub use post_confirmation::PostConfirmation;
pub use pre_signup::PreSignUp;
pub use pre_token::PreTokenGeneration;

/// A Cognito trigger handler: the event in, the event with its response out, or a denial.
pub trait Trigger: Send + Sync {
    /// The function's name in metrics (the `function` dimension) and logs.
    const NAME: &'static str = "trigger";

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
            log_outcome(None, Err(&denial));
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
            log_outcome(Some(&event), Ok(verdict));
            Explained {
                result: Ok(response),
                verdict: Some(verdict.clone()),
            }
        }
        Err(denial) => {
            log_outcome(Some(&event), Err(&denial));
            Explained {
                result: Err(denial),
                verdict: None,
            }
        }
    }
}

/// The one line of an invocation, and its `Decisions` count (`crate::telemetry`), so the two
/// cannot disagree. Carries the Lambda context of the invocation (request id, cold start,
/// function name and version, trace id), the event's ids (when it could be read) and the
/// decision: tenant, rule, and for a denial its code and reason. Never the email, phone,
/// names or userName. A denial for an unavailable directory is an ERROR, any other a WARN.
pub fn log_outcome(event: Option<&UserPoolEvent>, outcome: Result<&Verdict, &Denial>) {
    let invocation = telemetry::current();
    let invocation = invocation.as_ref();
    let request_id = invocation.map(|i| i.request_id.as_str());
    let cold_start = invocation.map(|i| i.cold_start);
    let function_name = invocation.map(|i| i.function_name.as_str());
    let function_version = invocation.map(|i| i.function_version.as_str());
    let trace_id = invocation.and_then(|i| i.trace_id.as_deref());
    let trigger_source = event.map(|e| e.trigger_source.as_str());
    let user_pool_id = event.map(|e| e.user_pool_id());
    let client_id = event.and_then(|e| e.client_id());
    let sub = event.and_then(|e| e.sub());
    let version = event.and_then(|e| e.version);
    match outcome {
        Ok(v) => {
            telemetry::decision(v.decision, None);
            tracing::info!(
                request_id,
                cold_start,
                function_name,
                function_version,
                trace_id,
                trigger_source,
                user_pool_id,
                client_id,
                sub,
                version,
                tenant_id = v.tenant_id.as_deref(),
                decision = v.decision,
                rule = v.rule,
                code = telemetry::CODE_OK,
                "decision"
            )
        }
        Err(d) => {
            telemetry::decision("deny", Some(d.code));
            let tenant_id = d.tenant_id.as_deref();
            let code = d.code.as_str();
            let reason = d.reason.as_str();
            if d.code == DenyCode::DirectoryUnavailable {
                tracing::error!(
                    request_id,
                    cold_start,
                    function_name,
                    function_version,
                    trace_id,
                    trigger_source,
                    user_pool_id,
                    client_id,
                    sub,
                    version,
                    tenant_id,
                    decision = "deny",
                    code,
                    reason,
                    "decision"
                )
            } else {
                tracing::warn!(
                    request_id,
                    cold_start,
                    function_name,
                    function_version,
                    trace_id,
                    trigger_source,
                    user_pool_id,
                    client_id,
                    sub,
                    version,
                    tenant_id,
                    decision = "deny",
                    code,
                    reason,
                    "decision"
                )
            }
        }
    }
}
