//! Post confirmation: provision the confirmed user into their tenant, idempotently.

use std::sync::Arc;

use serde_json::Value;

use super::{answer, Explained, Steps, Trigger};
use crate::clock::Clock;
use crate::cognito::event::{TriggerSource, UserPoolEvent};
use crate::cognito::response::{respond, PostConfirmationResponse};
use crate::domain::confirmation;
use crate::domain::denial::Denial;
use crate::domain::subject::Subject;
use crate::domain::Verdict;
use crate::store::Directory;

pub struct PostConfirmation<D> {
    directory: D,
    clock: Arc<dyn Clock>,
}

impl<D: Directory> PostConfirmation<D> {
    pub fn new(directory: D, clock: Arc<dyn Clock>) -> Self {
        Self { directory, clock }
    }
}

impl<D: Directory> Steps for PostConfirmation<D> {
    type Decision = Verdict;

    async fn decide(&self, event: &UserPoolEvent, subject: &Subject) -> Result<Verdict, Denial> {
        if event.trigger_source != TriggerSource::PostConfirmationConfirmSignUp {
            // Password resets and unknown sources: nothing to provision, no directory request.
            return Ok(Verdict::new(None, "no-op", "trigger-source"));
        }
        confirmation::decide(&self.directory, subject, self.clock.epoch_seconds()).await
    }

    fn render(&self, raw: Value, _: &UserPoolEvent, _: &Verdict) -> Result<Value, Denial> {
        respond(raw, &PostConfirmationResponse::default())
    }

    fn verdict(d: &Verdict) -> &Verdict {
        d
    }
}

impl<D: Directory> PostConfirmation<D> {
    /// The answer with what decided it (see [`Explained`]).
    pub async fn explain(&self, event: Value) -> Explained {
        answer(self, event).await
    }
}

impl<D: Directory> Trigger for PostConfirmation<D> {
    const NAME: &'static str = "post-confirmation";

    async fn handle(&self, event: Value) -> Result<Value, Denial> {
        answer(self, event).await.result
    }
}
