//! What the three handlers share: the `Trigger` trait, the subject of an event, error
//! mapping and the decision log line.

use std::future::Future;

use serde_json::Value;

use crate::error::{DenyCode, TriggerError};
use crate::events::UserPoolEvent;
use crate::resolve::{AdmissionCandidate, Subject, Unresolved};

/// A Cognito trigger handler: the event in, the event with its response out, or a denial.
pub trait Trigger: Send + Sync {
    fn handle(&self, event: Value) -> impl Future<Output = Result<Value, TriggerError>> + Send;
}

/// Reads the event's typed view; an unreadable event gets its own log line.
pub fn read_event(event: &Value) -> Result<UserPoolEvent, TriggerError> {
    UserPoolEvent::from_value(event).inspect_err(|e| {
        tracing::warn!(decision = "deny", code = e.code.as_str(), reason = %e.reason, "decision");
    })
}

/// Whether the event's email is proven. A federated user's `email_verified` is whatever the
/// identity provider (through the pool's attribute mapping) says, so it counts only when the
/// provider's `IDP` route trusts it (`trustEmail`).
pub fn email_proven(event: &UserPoolEvent, candidate: &AdmissionCandidate) -> bool {
    event.email_verified()
        && match event.federated_provider() {
            None => true,
            Some(_) => candidate.idp_route.as_ref().is_some_and(|r| r.trust_email),
        }
}

pub fn subject_of(event: &UserPoolEvent) -> Subject {
    Subject {
        user_pool_id: event.user_pool_id().to_string(),
        client_id: event.client_id().map(str::to_string),
        sub: event.sub().map(str::to_string),
        email: event.email(),
        federated_provider: event.federated_provider(),
    }
}

/// For sign-up and confirmation: a conflict or an ambiguity would tell whoever types an
/// address that some other tenant invited it (or routes it). The user sees
/// `SIGNUP_NOT_ALLOWED`; the log keeps the real code in the reason.
pub fn as_sign_up_refusal(e: TriggerError) -> TriggerError {
    match e.code {
        DenyCode::TenantConflict | DenyCode::TenantAmbiguous | DenyCode::NoTenant => {
            TriggerError::new(
                DenyCode::SignupNotAllowed,
                format!("{}: {}", e.code.as_str(), e.reason),
            )
        }
        _ => e,
    }
}

pub fn unresolved_to_error(u: Unresolved) -> TriggerError {
    match u {
        Unresolved::Denied { code, reason } => TriggerError::new(code, reason),
        Unresolved::Directory(e) => {
            TriggerError::new(DenyCode::DirectoryUnavailable, e.to_string())
        }
    }
}

/// One line per invocation. Carries ids and the decision; never the email, names or userName.
/// `outcome` is `(decision, rule)` or the denial; `rule` names what decided (e.g. `invitation`).
pub fn log_decision(
    event: &UserPoolEvent,
    tenant_id: Option<&str>,
    outcome: Result<(&str, &str), &TriggerError>,
) {
    let trigger_source = event.trigger_source.as_str();
    let user_pool_id = event.user_pool_id();
    let client_id = event.client_id().unwrap_or_default();
    let sub = event.sub().unwrap_or_default();
    let version = event.version.unwrap_or_default();
    let tenant_id = tenant_id.unwrap_or_default();
    match outcome {
        Ok((decision, rule)) => tracing::info!(
            trigger_source,
            user_pool_id,
            client_id,
            sub,
            version,
            tenant_id,
            decision,
            rule,
            "decision"
        ),
        Err(e) if e.code == DenyCode::DirectoryUnavailable => tracing::error!(
            trigger_source, user_pool_id, client_id, sub, version, tenant_id,
            decision = "deny", code = e.code.as_str(), reason = %e.reason, "decision"
        ),
        Err(e) => tracing::warn!(
            trigger_source, user_pool_id, client_id, sub, version, tenant_id,
            decision = "deny", code = e.code.as_str(), reason = %e.reason, "decision"
        ),
    }
}
