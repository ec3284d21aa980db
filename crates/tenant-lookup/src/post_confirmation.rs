//! Post confirmation: provision the confirmed user into their tenant, idempotently.

use aws_lambda_events::event::cognito::CognitoEventUserPoolsPostConfirmationResponse;
use serde_json::Value;

use crate::admission::{decide, AdmissionPath};
use crate::cache::CachedDirectory;
use crate::directory::Directory;
use crate::error::{DenyCode, TriggerError};
use crate::events::{respond, TriggerSource, UserPoolEvent};
use crate::provision::{provision, Provisioned};
use crate::resolve::{TenantResolver, Unresolved};
use crate::trigger::{
    as_sign_up_refusal, email_proven, log_decision, read_event, subject_of, unresolved_to_error,
    Trigger,
};

pub struct PostConfirmation<D> {
    directory: CachedDirectory<D>,
}

impl<D: Directory> PostConfirmation<D> {
    pub fn new(directory: CachedDirectory<D>, _config: crate::config::Config) -> Self {
        Self { directory }
    }

    pub fn directory(&self) -> &CachedDirectory<D> {
        &self.directory
    }

    /// `(tenant, decision, rule)` of a successful confirmation.
    async fn confirm(
        &self,
        event: &UserPoolEvent,
    ) -> Result<(String, &'static str, &'static str), Unresolved> {
        let subject = subject_of(event);
        let sub = subject.sub.as_deref().ok_or_else(|| Unresolved::Denied {
            code: DenyCode::InvalidEvent,
            reason: "event has no sub".into(),
        })?;
        // A user who is already a member is done: a Cognito retry, a repeated confirmation,
        // or a confirmation that claims another tenant (which it cannot change).
        let existing = self
            .directory
            .memberships(&subject.user_pool_id, sub)
            .await?;
        if let Some(m) = existing.first() {
            return Ok((m.tenant_id.clone(), "already-member", "membership"));
        }
        let now = self.directory.clock().epoch_seconds();
        let candidate = TenantResolver::new(&self.directory, now)
            .resolve_admission(&subject)
            .await?;
        let proven = email_proven(event, &candidate);
        let admission = decide(
            candidate,
            AdmissionPath::Confirmation,
            subject.email.as_deref(),
            proven,
        )
        .map_err(|r| Unresolved::Denied {
            code: r.code,
            reason: r.reason,
        })?;
        Ok(
            match provision(&self.directory, &subject.user_pool_id, sub, &admission, now).await? {
                Provisioned::Created(m) => (m.tenant_id, "provision", admission.source.as_str()),
                // A retry, or a concurrent confirmation that won (possibly into another tenant).
                Provisioned::AlreadyMember(m) => (m.tenant_id, "already-member", "membership"),
            },
        )
    }
}

impl<D: Directory> Trigger for PostConfirmation<D> {
    async fn handle(&self, event: Value) -> Result<Value, TriggerError> {
        let view = read_event(&event)?;
        let empty = || {
            serde_json::to_value(CognitoEventUserPoolsPostConfirmationResponse::default())
                .unwrap_or_default()
        };
        if view.trigger_source != TriggerSource::PostConfirmationConfirmSignUp {
            // Password resets and unknown sources: nothing to provision, no directory request.
            log_decision(&view, None, Ok(("no-op", "trigger-source")));
            return Ok(respond(event, empty()));
        }
        match self.confirm(&view).await {
            Ok((tenant_id, decision, rule)) => {
                log_decision(&view, Some(&tenant_id), Ok((decision, rule)));
                Ok(respond(event, empty()))
            }
            Err(u) => {
                let e = as_sign_up_refusal(unresolved_to_error(u));
                log_decision(&view, None, Err(&e));
                Err(e)
            }
        }
    }
}
