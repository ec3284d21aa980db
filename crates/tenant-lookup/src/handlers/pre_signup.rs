//! Pre sign-up: admission from the directory alone; writes nothing.

use std::sync::Arc;

use serde_json::Value;

use super::{answer, Explained, Steps, Trigger};
use crate::clock::Clock;
use crate::cognito::event::{TriggerSource, UserPoolEvent};
use crate::cognito::response::{respond, PreSignUpResponse};
use crate::domain::admission::AdmissionPath;
use crate::domain::denial::Denial;
use crate::domain::sign_up::{self, SignUpDecision};
use crate::domain::subject::Subject;
use crate::domain::Verdict;
use crate::store::Directory;

pub struct PreSignUp<D> {
    directory: D,
    clock: Arc<dyn Clock>,
}

impl<D: Directory> PreSignUp<D> {
    pub fn new(directory: D, clock: Arc<dyn Clock>) -> Self {
        Self { directory, clock }
    }
}

impl<D: Directory> Steps for PreSignUp<D> {
    type Decision = SignUpDecision;

    async fn decide(
        &self,
        event: &UserPoolEvent,
        subject: &Subject,
    ) -> Result<SignUpDecision, Denial> {
        let path = match event.trigger_source {
            TriggerSource::PreSignUpExternalProvider => AdmissionPath::ExternalProvider,
            TriggerSource::PreSignUpAdminCreateUser => AdmissionPath::AdminCreateUser,
            // SignUp, and any unknown source: the strictest rules, no flags.
            _ => AdmissionPath::SelfSignUp,
        };
        sign_up::decide(&self.directory, subject, path, self.clock.epoch_seconds()).await
    }

    fn render(&self, raw: Value, _: &UserPoolEvent, d: &SignUpDecision) -> Result<Value, Denial> {
        let mut response = PreSignUpResponse::default();
        response.auto_confirm_user = d.auto_confirm_user;
        response.auto_verify_email = d.auto_verify_email;
        respond(raw, &response)
    }

    fn verdict(d: &SignUpDecision) -> &Verdict {
        &d.verdict
    }
}

impl<D: Directory> PreSignUp<D> {
    /// The answer with what decided it (see [`Explained`]).
    pub async fn explain(&self, event: Value) -> Explained {
        answer(self, event).await
    }
}

impl<D: Directory> Trigger for PreSignUp<D> {
    const NAME: &'static str = "pre-signup";

    async fn handle(&self, event: Value) -> Result<Value, Denial> {
        answer(self, event).await.result
    }
}
