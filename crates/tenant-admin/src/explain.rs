//! `tenantctl explain`: why a trigger answers an event as it does. The function's own handler
//! runs (the same read, check, decision and rendering code) over a read-only directory that
//! records every source it consults and the answer, and whose provisioning computes its outcome
//! from reads instead of writing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::{json, Value};
use tenant_lookup::cognito::event::UserPoolEvent;
use tenant_lookup::domain::model::{Invitation, Membership, Route, RouteKind, Tenant, Tier};
use tenant_lookup::store::keys;
use tenant_lookup::{
    Config, Directory, DirectoryError, Explained, ManualClock, PostConfirmation, PreSignUp,
    PreTokenGeneration, ProvisionOutcome, ProvisionRequest,
};

use crate::error::{list, or, AdminError};
use crate::table::TenantTable;
use crate::views::invitation_state;

/// The three functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Function {
    PreSignup,
    PostConfirmation,
    PreTokenGeneration,
}

impl Function {
    pub fn name(self) -> &'static str {
        match self {
            Function::PreSignup => "pre-signup",
            Function::PostConfirmation => "post-confirmation",
            Function::PreTokenGeneration => "pre-token-generation",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "pre-signup" => Some(Function::PreSignup),
            "post-confirmation" => Some(Function::PostConfirmation),
            "pre-token-generation" => Some(Function::PreTokenGeneration),
            _ => None,
        }
    }

    /// The function an event is for, from its `triggerSource` (`PreSignUp_*`, ...).
    pub fn of_event(event: &Value) -> Option<Self> {
        let source = event.get("triggerSource")?.as_str()?;
        if source.starts_with("PreSignUp_") {
            Some(Function::PreSignup)
        } else if source.starts_with("PostConfirmation_") {
            Some(Function::PostConfirmation)
        } else if source.starts_with("TokenGeneration_") {
            Some(Function::PreTokenGeneration)
        } else {
            None
        }
    }
}

/// One question the function asked the directory, and the answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Consulted {
    /// `pool route`, `client route`, `idp route`, `domain route`, `memberships`,
    /// `invitations`, `tenant`, `tier`, `provisioning`.
    pub source: String,
    /// What was looked up (a route's key and pool, a user, an email, an id).
    pub key: String,
    /// `false` when nothing was found.
    pub found: bool,
    pub answer: String,
}

/// What the event says about who is asking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Asker {
    pub trigger_source: String,
    pub user_pool_id: String,
    pub client_id: Option<String>,
    pub sub: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub federated_provider: Option<String>,
}

/// What decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// `admit`, `provision`, `issue`, ... or `deny`.
    pub decision: String,
    pub tenant_id: Option<String>,
    /// The rule or source that decided (`invitation`, `membership`, `client`, ...); for a
    /// denial, the code the user sees.
    pub rule: String,
    /// For a denial: why (the real code leads when the user sees `SIGNUP_NOT_ALLOWED`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Why a function answers an event as it does.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    pub function: Function,
    pub asker: Option<Asker>,
    pub sources: Vec<Consulted>,
    pub decision: Decision,
    /// What Cognito gets back: the whole event with its response, or for a denial
    /// `{"errorType", "errorMessage"}` (what the user is shown).
    pub response: Value,
}

/// Runs `function` (or the one of the event's trigger source) on `event` at `now_epoch`, with
/// the function's `config`, against the directory, writing nothing. The directory being
/// unreachable is an error ([`AdminError::Unreachable`]), not an explanation.
pub async fn explain(
    table: &TenantTable,
    event: Value,
    function: Option<Function>,
    config: &Config,
    now_epoch: i64,
) -> Result<Explanation, AdminError> {
    let function = function
        .or_else(|| Function::of_event(&event))
        .ok_or_else(|| {
            AdminError::invalid(
                "the event's triggerSource names no function: pass --function pre-signup, \
             post-confirmation or pre-token-generation",
            )
        })?;
    let asker = UserPoolEvent::from_value(&event).ok().map(|e| {
        let s = e.subject();
        Asker {
            trigger_source: e.trigger_source.as_str().to_string(),
            user_pool_id: s.user_pool_id,
            client_id: s.client_id,
            sub: s.sub,
            email: s.email,
            email_verified: s.email_verified,
            federated_provider: s.federated_provider,
        }
    });
    let recorder = Arc::new(Recorder::new(table.clone(), now_epoch));
    let clock = Arc::new(ManualClock::new(now_epoch));
    let explained: Explained = match function {
        Function::PreSignup => PreSignUp::new(recorder.clone(), clock).explain(event).await,
        Function::PostConfirmation => {
            PostConfirmation::new(recorder.clone(), clock)
                .explain(event)
                .await
        }
        Function::PreTokenGeneration => {
            PreTokenGeneration::new(recorder.clone(), clock, config)
                .explain(event)
                .await
        }
    };
    if recorder.unreachable.load(Ordering::SeqCst) {
        return Err(AdminError::Unreachable(format!(
            "the directory is unreachable (table '{}')",
            table.table()
        )));
    }
    let sources = recorder.log.lock().map(|l| l.clone()).unwrap_or_default();
    let (decision, response) = match explained.result {
        Ok(answer) => {
            let v = explained
                .verdict
                .unwrap_or_else(|| tenant_lookup::domain::Verdict::new(None, "answer", "unknown"));
            (
                Decision {
                    decision: v.decision.to_string(),
                    tenant_id: v.tenant_id,
                    rule: v.rule.to_string(),
                    reason: None,
                },
                answer,
            )
        }
        Err(denial) => {
            // What the function's runtime sends Cognito (`lambda.rs`), the same conversion.
            let diagnostic: lambda_runtime::Diagnostic = denial.clone().into();
            (
                Decision {
                    decision: "deny".into(),
                    tenant_id: denial.tenant_id.clone(),
                    rule: denial.code.as_str().to_string(),
                    reason: Some(denial.reason.clone()),
                },
                json!({"errorType": diagnostic.error_type, "errorMessage": diagnostic.error_message}),
            )
        }
    };
    Ok(Explanation {
        function,
        asker,
        sources,
        decision,
        response,
    })
}

/// A read-only directory over the table that records each question and its answer.
struct Recorder {
    table: TenantTable,
    /// The time of the explanation, for showing invitations as open or expired.
    now_epoch: i64,
    log: Mutex<Vec<Consulted>>,
    unreachable: AtomicBool,
}

impl Recorder {
    fn new(table: TenantTable, now_epoch: i64) -> Self {
        Self {
            table,
            now_epoch,
            log: Mutex::new(Vec::new()),
            unreachable: AtomicBool::new(false),
        }
    }

    /// Reserves the next line (questions asked concurrently keep the order they were asked in).
    fn ask(&self, source: &str, key: String) -> usize {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        log.push(Consulted {
            source: source.to_string(),
            key,
            found: false,
            answer: String::new(),
        });
        log.len() - 1
    }

    fn answer<T>(
        &self,
        line: usize,
        result: &Result<T, DirectoryError>,
        describe: impl FnOnce(&T) -> Option<String>,
    ) {
        let (found, answer) = match result {
            Ok(v) => match describe(v) {
                Some(text) => (true, text),
                None => (false, "none".to_string()),
            },
            Err(DirectoryError::Unavailable(_)) => {
                self.unreachable.store(true, Ordering::SeqCst);
                (false, "error: the directory is unreachable".to_string())
            }
            Err(DirectoryError::Malformed(what)) => (false, format!("error: {what}")),
        };
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = log.get_mut(line) {
            entry.found = found;
            entry.answer = answer;
        }
    }

    /// The outcome the provisioning transaction would have, from consistent reads.
    async fn outcome(&self, r: &ProvisionRequest) -> Result<ProvisionOutcome, DirectoryError> {
        let m = &r.membership;
        let memberships = self
            .table
            .directory()
            .memberships(&m.user_pool_id, &m.sub)
            .await?;
        if let Some(same) = memberships.iter().find(|x| x.tenant_id == m.tenant_id) {
            return Ok(ProvisionOutcome::AlreadyMember(same.clone()));
        }
        let guard = self
            .table
            .get(keys::user_pk(&m.user_pool_id, &m.sub), keys::PROVISIONED_SK)
            .await
            .map_err(|e| DirectoryError::Unavailable(e.to_string()))?;
        if guard.is_some() {
            return Ok(match memberships.into_iter().next() {
                Some(other) => ProvisionOutcome::AlreadyMember(other),
                None => ProvisionOutcome::ProvisionedBefore,
            });
        }
        if let (Some(tenant), Some(email)) = (&r.invitation_tenant_id, &r.invitation_email) {
            let open = self
                .table
                .directory()
                .invitations(&m.user_pool_id, email)
                .await?
                .iter()
                .any(|i| &i.tenant_id == tenant && i.is_open_at(m.created_at));
            if !open {
                return Ok(ProvisionOutcome::InvitationGone);
            }
        }
        let tenant = self
            .table
            .get(keys::tenant_pk(&m.tenant_id), keys::TENANT_SK)
            .await
            .map_err(|e| DirectoryError::Unavailable(e.to_string()))?
            .map(|i| tenant_lookup::store::dynamo::codec::tenant_from_item(&i))
            .transpose()?;
        Ok(match tenant {
            Some(t) if !t.is_active() => ProvisionOutcome::TenantInactive,
            None => ProvisionOutcome::TenantInactive,
            Some(t) if !t.has_free_seat() => ProvisionOutcome::SeatLimitReached,
            Some(_) => ProvisionOutcome::Created,
        })
    }
}

fn describe_tenant(t: &Tenant) -> String {
    let mut parts = vec![
        t.status.as_str().to_string(),
        format!("tier {}", t.tier),
        format!("seats {} of {}", t.user_count, or(t.max_users, "unlimited")),
        format!("selfSignUp {}", t.self_sign_up),
    ];
    if !t.allowed_email_domains.is_empty() {
        parts.push(format!(
            "allowedEmailDomains {}",
            list(&t.allowed_email_domains)
        ));
    }
    if let Some(arn) = &t.iam_role_arn {
        parts.push(format!("iamRoleArn {arn}"));
    }
    parts.join(", ")
}

fn describe_membership(m: &Membership) -> String {
    format!(
        "{} {} {} (since {}, {})",
        m.tenant_id,
        list(&m.roles),
        m.status.as_str(),
        m.created_at,
        m.source
    )
}

fn describe_invitation(i: &Invitation, now: i64) -> String {
    let state = match invitation_state(i, now) {
        "used" => format!(
            "used by {} at {} (ignored)",
            i.used_by.as_deref().unwrap_or_default(),
            i.used_at.unwrap_or_default()
        ),
        "expired" => format!("expired at {} (ignored)", i.expires_at.unwrap_or_default()),
        _ => match i.expires_at {
            Some(t) => format!("open until {t}"),
            None => "open".to_string(),
        },
    };
    format!("{} {} {state}", i.tenant_id, list(&i.roles))
}

fn route_source(kind: RouteKind) -> String {
    format!("{} route", kind.as_str().to_ascii_lowercase())
}

fn route_label(kind: RouteKind, key: &str) -> String {
    let route = Route {
        kind,
        key: key.to_string(),
        tenant_id: String::new(),
        trust_email: false,
        email_domains: vec![],
    };
    match route.pool_and_key() {
        (Some(pool), key) => format!("{key} (pool {pool})"),
        (None, key) => key.to_string(),
    }
}

impl Directory for Recorder {
    async fn tenant(&self, id: &str) -> Result<Option<Tenant>, DirectoryError> {
        let line = self.ask("tenant", id.to_string());
        let result = self.table.directory().tenant(id).await;
        self.answer(line, &result, |t| t.as_ref().map(describe_tenant));
        result
    }

    async fn tier(&self, id: &str) -> Result<Option<Tier>, DirectoryError> {
        let line = self.ask("tier", id.to_string());
        let result = self.table.directory().tier(id).await;
        self.answer(line, &result, |t| {
            t.as_ref().map(|t| format!("scopes {}", list(&t.scopes)))
        });
        result
    }

    async fn route(&self, kind: RouteKind, key: &str) -> Result<Option<Route>, DirectoryError> {
        let line = self.ask(&route_source(kind), route_label(kind, key));
        let result = self.table.directory().route(kind, key).await;
        self.answer(line, &result, |r| {
            r.as_ref().map(|r| {
                let mut text = format!("tenant {}", r.tenant_id);
                if r.kind == RouteKind::Idp {
                    text.push_str(&format!(
                        ", trustEmail {}, emailDomains {}",
                        r.trust_email,
                        list(&r.email_domains)
                    ));
                }
                text
            })
        });
        result
    }

    async fn memberships(
        &self,
        user_pool_id: &str,
        sub: &str,
    ) -> Result<Vec<Membership>, DirectoryError> {
        let line = self.ask("memberships", format!("{sub} (pool {user_pool_id})"));
        let result = self.table.directory().memberships(user_pool_id, sub).await;
        self.answer(line, &result, |ms| {
            (!ms.is_empty()).then(|| {
                ms.iter()
                    .map(describe_membership)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        });
        result
    }

    async fn invitations(
        &self,
        user_pool_id: &str,
        email: &str,
    ) -> Result<Vec<Invitation>, DirectoryError> {
        let line = self.ask("invitations", format!("{email} (pool {user_pool_id})"));
        let result = self
            .table
            .directory()
            .invitations(user_pool_id, email)
            .await;
        let now = self.now_epoch;
        self.answer(line, &result, |is| {
            (!is.is_empty()).then(|| {
                is.iter()
                    .map(|i| describe_invitation(i, now))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        });
        result
    }

    async fn provision(
        &self,
        request: &ProvisionRequest,
    ) -> Result<ProvisionOutcome, DirectoryError> {
        let m = &request.membership;
        let line = self.ask(
            "provisioning (not written)",
            format!("{} (pool {}) into {}", m.sub, m.user_pool_id, m.tenant_id),
        );
        let result = self.outcome(request).await;
        self.answer(line, &result, |o| {
            Some(match o {
                ProvisionOutcome::Created => {
                    let mut text = format!(
                        "would create the membership in {} {}, take a seat",
                        m.tenant_id,
                        list(&m.roles)
                    );
                    if request.invitation_tenant_id.is_some() {
                        text.push_str(", mark the invitation used");
                    }
                    text
                }
                ProvisionOutcome::AlreadyMember(x) => {
                    format!("already a member: {}", describe_membership(x))
                }
                ProvisionOutcome::SeatLimitReached => "the tenant is at maxUsers".into(),
                ProvisionOutcome::TenantInactive => "the tenant is missing or suspended".into(),
                ProvisionOutcome::InvitationGone => {
                    "the invitation was used, revoked or expired".into()
                }
                ProvisionOutcome::ProvisionedBefore => {
                    "provisioned before (guard item), and that membership was removed".into()
                }
            })
        });
        result
    }
}
