//! Pre sign-up: may this new user join, and which tenant? Decided from the directory alone;
//! this trigger writes nothing.

use aws_lambda_events::event::cognito::CognitoEventUserPoolsPreSignupResponse;
use serde_json::Value;

use crate::admission::{decide, Admission, AdmissionPath};
use crate::cache::CachedDirectory;
use crate::directory::Directory;
use crate::error::{DenyCode, TriggerError};
use crate::events::{respond, TriggerSource, UserPoolEvent};
use crate::resolve::{TenantResolver, Unresolved};
use crate::trigger::{
    as_sign_up_refusal, log_decision, read_event, subject_of, unresolved_to_error, Trigger,
};

pub struct PreSignUp<D> {
    directory: CachedDirectory<D>,
}

impl<D: Directory> PreSignUp<D> {
    pub fn new(directory: CachedDirectory<D>, _config: crate::config::Config) -> Self {
        Self { directory }
    }

    pub fn directory(&self) -> &CachedDirectory<D> {
        &self.directory
    }

    async fn decide(
        &self,
        event: &UserPoolEvent,
        path: AdmissionPath,
    ) -> Result<Option<Admission>, TriggerError> {
        let mut subject = subject_of(event);
        // Only Cognito's own ExternalProvider source marks a federated user here: in a
        // SignUp the attributes and the username are the user's to choose.
        if path != AdmissionPath::ExternalProvider {
            subject.federated_provider = None;
        }
        let resolver = TenantResolver::new(&self.directory, self.directory.clock().epoch_seconds());
        let candidate = match resolver.resolve_admission(&subject).await {
            Ok(c) => c,
            // An administrator may create a user that no route or invitation places yet;
            // first-token provisioning or an import places them later.
            Err(Unresolved::Denied {
                code: DenyCode::NoTenant,
                ..
            }) if path == AdmissionPath::AdminCreateUser => return Ok(None),
            Err(u) => return Err(unresolved_to_error(u)),
        };
        decide(candidate, path, subject.email.as_deref(), false)
            .map(Some)
            .map_err(|r| TriggerError::new(r.code, r.reason))
    }
}

impl<D: Directory> Trigger for PreSignUp<D> {
    async fn handle(&self, event: Value) -> Result<Value, TriggerError> {
        let view = read_event(&event)?;
        let path = match view.trigger_source {
            TriggerSource::PreSignUpExternalProvider => AdmissionPath::ExternalProvider,
            TriggerSource::PreSignUpAdminCreateUser => AdmissionPath::AdminCreateUser,
            _ => AdmissionPath::SelfSignUp,
        };
        match self.decide(&view, path).await {
            Ok(admission) => {
                let mut response = CognitoEventUserPoolsPreSignupResponse::default();
                if let Some(a) = &admission {
                    response.auto_confirm_user = a.auto_confirm_user;
                    response.auto_verify_email = a.auto_verify_email;
                }
                let (tenant_id, rule) = match &admission {
                    Some(a) => (Some(a.tenant.id.as_str()), a.source.as_str()),
                    None => (None, "admin-without-tenant"),
                };
                let decision = if response.auto_confirm_user {
                    "admit-auto-confirm"
                } else {
                    "admit"
                };
                log_decision(&view, tenant_id, Ok((decision, rule)));
                let response = serde_json::to_value(response).unwrap_or_default();
                Ok(respond(event, response))
            }
            Err(e) => {
                // No tenant, a conflict or an ambiguity all read "sign-up is not allowed": the
                // answer must not reveal whether some tenant routes or invited this address.
                let e = as_sign_up_refusal(e);
                log_decision(&view, None, Err(&e));
                Err(e)
            }
        }
    }
}
