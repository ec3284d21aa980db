//! Pre token generation: tenant, tier, roles and scopes from the directory into the tokens.

use serde_json::Value;

use crate::admission::{decide, AdmissionPath};
use crate::cache::CachedDirectory;
use crate::claims::TokenClaims;
use crate::config::{Config, NoTenantPolicy};
use crate::directory::Directory;
use crate::error::{DenyCode, TriggerError};
use crate::events::{respond, TriggerSource, UserPoolEvent};
use crate::model::RouteKind;
use crate::provision::{provision, Provisioned};
use crate::resolve::{MemberLookup, Subject, TenantResolver, Unresolved};
use crate::trigger::{
    email_proven, log_decision, read_event, subject_of, unresolved_to_error, Trigger,
};

pub struct PreTokenGeneration<D> {
    directory: CachedDirectory<D>,
    config: Config,
}

/// What was decided, for the log line.
struct Outcome {
    claims: TokenClaims,
    tenant_id: Option<String>,
    decision: &'static str,
    rule: &'static str,
}

impl<D: Directory> PreTokenGeneration<D> {
    pub fn new(directory: CachedDirectory<D>, config: Config) -> Self {
        Self { directory, config }
    }

    pub fn directory(&self) -> &CachedDirectory<D> {
        &self.directory
    }

    async fn decide(
        &self,
        event: &UserPoolEvent,
        subject: &Subject,
    ) -> Result<Outcome, Unresolved> {
        if event.trigger_source == TriggerSource::TokenGenerationClientCredentials {
            return self.decide_machine(subject).await;
        }
        let now = self.directory.clock().epoch_seconds();
        let resolver = TenantResolver::new(&self.directory, now);
        let (tenant, membership, decision, rule) = match resolver.resolve_member(subject).await? {
            MemberLookup::Member { tenant, membership } => {
                (tenant, membership, "issue", "membership")
            }
            MemberLookup::NotMember if event.email_verified() => {
                // An admin-created user (post confirmation never fires for them), or one whose
                // post confirmation failed: provisioned here by the same rules.
                let candidate = resolver.resolve_admission(subject).await?;
                let proven = email_proven(event, &candidate);
                let admission = decide(
                    candidate,
                    AdmissionPath::FirstToken,
                    subject.email.as_deref(),
                    proven,
                )
                .map_err(|r| match r.code {
                    // Without a proven email there is no provisioning: a user without a tenant.
                    DenyCode::EmailNotVerified => Unresolved::Denied {
                        code: DenyCode::NoTenant,
                        reason: r.reason,
                    },
                    code => Unresolved::Denied {
                        code,
                        reason: r.reason,
                    },
                })?;
                let sub = subject.sub.as_deref().unwrap_or_default();
                let provisioned =
                    provision(&self.directory, &subject.user_pool_id, sub, &admission, now).await?;
                match provisioned {
                    Provisioned::Created(m) => (
                        admission.tenant,
                        m,
                        "provision-and-issue",
                        admission.source.as_str(),
                    ),
                    Provisioned::AlreadyMember(m) if m.tenant_id == admission.tenant.id => {
                        (admission.tenant, m, "issue", "membership")
                    }
                    // A concurrent sign-in provisioned the user elsewhere first: the
                    // memberships decide, as for any member.
                    Provisioned::AlreadyMember(_) => {
                        match resolver.resolve_member(subject).await? {
                            MemberLookup::Member { tenant, membership } => {
                                (tenant, membership, "issue", "membership")
                            }
                            MemberLookup::NotMember => {
                                return Err(Unresolved::Denied {
                                    code: DenyCode::NoTenant,
                                    reason: "provisioned elsewhere, but no membership found".into(),
                                })
                            }
                        }
                    }
                }
            }
            MemberLookup::NotMember => {
                return Err(Unresolved::Denied {
                    code: DenyCode::NoTenant,
                    reason: "no membership, and the email is not verified for provisioning".into(),
                })
            }
        };
        if !tenant.is_active() {
            return Err(Unresolved::Denied {
                code: DenyCode::TenantSuspended,
                reason: format!("tenant {} is suspended", tenant.id),
            });
        }
        let tier = self.directory.tier(&tenant.tier).await?;
        let claims = TokenClaims::for_member(
            &tenant,
            tier.as_ref(),
            &membership,
            &event.request.group_configuration,
            event.request.scopes.as_deref(),
            self.config.groups_mode,
        );
        Ok(Outcome {
            claims,
            tenant_id: Some(tenant.id),
            decision,
            rule,
        })
    }

    /// Client credentials: the app client's `CLIENT` route is the only source.
    async fn decide_machine(&self, subject: &Subject) -> Result<Outcome, Unresolved> {
        let Some(client_id) = subject.client_id.as_deref() else {
            return Err(Unresolved::Denied {
                code: DenyCode::InvalidEvent,
                reason: "no clientId".into(),
            });
        };
        let Some(route) = self.directory.route(RouteKind::Client, client_id).await? else {
            return Err(Unresolved::Denied {
                code: DenyCode::NoTenant,
                reason: "no client route".into(),
            });
        };
        let tenant = self
            .directory
            .tenant(&route.tenant_id)
            .await?
            .ok_or_else(|| {
                Unresolved::Directory(crate::directory::DirectoryError::Malformed(format!(
                    "client route names missing tenant {}",
                    route.tenant_id
                )))
            })?;
        if !tenant.is_active() {
            return Err(Unresolved::Denied {
                code: DenyCode::TenantSuspended,
                reason: format!("tenant {} is suspended", tenant.id),
            });
        }
        Ok(Outcome {
            claims: TokenClaims::for_machine(&tenant),
            tenant_id: Some(tenant.id),
            decision: "issue",
            rule: "client",
        })
    }
}

impl<D: Directory> Trigger for PreTokenGeneration<D> {
    async fn handle(&self, event: Value) -> Result<Value, TriggerError> {
        let view = read_event(&event)?;
        let subject = subject_of(&view);
        let version = match view.version {
            Some(v) if v >= 1 => v,
            _ => {
                let e =
                    TriggerError::new(DenyCode::InvalidEvent, "missing or unknown event version");
                log_decision(&view, None, Err(&e));
                return Err(e);
            }
        };
        let machine = view.trigger_source == TriggerSource::TokenGenerationClientCredentials;
        let outcome = match self.decide(&view, &subject).await {
            Ok(o) => Ok(o),
            Err(Unresolved::Denied {
                code: DenyCode::NoTenant,
                ..
            }) if self.config.no_tenant_policy == NoTenantPolicy::IssueWithoutTenantClaims => {
                Ok(Outcome {
                    claims: TokenClaims::without_tenant(
                        &view.request.group_configuration,
                        self.config.groups_mode,
                        machine,
                    ),
                    tenant_id: None,
                    decision: "issue-without-tenant",
                    rule: "no-tenant-policy",
                })
            }
            Err(u) => Err(unresolved_to_error(u)),
        };
        match outcome {
            Ok(o) => {
                if machine && version < 2 {
                    // Version 1 cannot change access tokens; a machine token without its tenant
                    // claims must not be issued.
                    let e = TriggerError::new(
                        DenyCode::InvalidEvent,
                        "client credentials event of version 1",
                    );
                    log_decision(&view, o.tenant_id.as_deref(), Err(&e));
                    return Err(e);
                }
                let response = if version == 1 {
                    o.claims.render_v1(&self.config.claims)
                } else {
                    o.claims.render_v2(&self.config.claims)
                };
                log_decision(&view, o.tenant_id.as_deref(), Ok((o.decision, o.rule)));
                Ok(respond(event, response))
            }
            Err(e) => {
                log_decision(&view, None, Err(&e));
                Err(e)
            }
        }
    }
}
