//! The promises every answer keeps, whatever the decision rules are: checked on generated
//! events (property tests), on fuzzer inputs (`fuzz/`) and on the recorded corpus (`make test`).
//!
//! For any event and any directory:
//! - the handler returns, never panics; non-objects and unreadable events are `INVALID_EVENT`;
//! - an answer is the whole event with only `response` changed, and that response holds no
//!   `null`, no empty object and no empty array except a deliberate `groupsToOverride: []`;
//! - a refusal shows its stable code and sentence only (`CODE: sentence`), never its reason;
//! - pre sign-up writes nothing; only `PreSignUp_ExternalProvider` may auto-confirm or
//!   auto-verify, `autoVerifyPhone` is never set, and `autoVerifyEmail` needs an email;
//! - post confirmation and first-token provisioning change the directory only by one complete
//!   provisioning of the event's own user, who had no membership in the pool: a membership,
//!   its seat in an active tenant with a free seat, at most the invitation of that tenant used;
//!   a refused confirmation changes nothing, a successful one leaves the user placed;
//! - no claim a deployment may not touch (Cognito's reserved claims, `cognito:*`, `dev:*`,
//!   the standard OIDC claims) is added, overridden or suppressed;
//! - a user's tenant claim names a tenant the user has an active membership in (in the
//!   directory after the invocation), active, whose tier is the tier claim; a machine token's
//!   tenant is the tenant of a `client` route of its app client; no tenant claim means the
//!   no-tenant policy issued the token, with the tenant attribute suppressed;
//! - `groupOverrideDetails` is present only when it changes something, never drops a group the
//!   user had unless the groups mode replaces them, and adds no empty or repeated group;
//!   scopes added are non-empty, without blanks, new;
//! - what the claims add to each token stays within [`TOKEN_BUDGET_BYTES`];
//! - no log line carries a value of the event's that identifies a person.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::{Map, Value};
use tenant_lookup::cognito::event::{TriggerSource, UserPoolEvent};
use tenant_lookup::config::{Config, GroupsMode, NoTenantPolicy};
use tenant_lookup::domain::claims::TOKEN_BUDGET_BYTES;
use tenant_lookup::domain::model::{route_key, MembershipStatus, RouteKind, Tenant};
use tenant_lookup::{
    CachedDirectory, Denial, DenyCode, DirectoryContents, InMemoryDirectory, ManualClock,
    PostConfirmation, PreSignUp, PreTokenGeneration, Trigger,
};

use crate::gen::{Function, PII_MARKER};
use crate::logs::capture_all;
use crate::seeds::{events_seed, NOW};

/// Claims Cognito does not let a trigger add, override or suppress (besides every `cognito:`
/// and `dev:` claim): its own, and `scope`. Listed here independently of the library's list.
pub const COGNITO_RESERVED_CLAIMS: [&str; 22] = [
    "sub",
    "aud",
    "iss",
    "exp",
    "iat",
    "nbf",
    "jti",
    "auth_time",
    "token_use",
    "username",
    "client_id",
    "event_id",
    "version",
    "device_key",
    "acr",
    "amr",
    "azp",
    "nonce",
    "origin_jti",
    "at_hash",
    "identities",
    "scope",
];

/// The standard claims of OpenID Connect Core 1.0, section 5.1: a relying party reads them as
/// the user's, so a tenant claim must never take one's name.
pub const OIDC_STANDARD_CLAIMS: [&str; 20] = [
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at",
    "sub",
];

/// A claim no answer may add, override or suppress.
pub fn is_forbidden_claim(name: &str) -> bool {
    COGNITO_RESERVED_CLAIMS.contains(&name)
        || OIDC_STANDARD_CLAIMS.contains(&name)
        || name.starts_with("cognito:")
        || name.starts_with("dev:")
}

// ------------------------------------------------------------------------------------------
// Running handlers
// ------------------------------------------------------------------------------------------

type Shared = Arc<CachedDirectory<Arc<InMemoryDirectory>>>;

/// The three handlers over one in-memory directory and one cache, at [`NOW`] on a manual clock.
pub struct Handlers {
    pub dir: Arc<InMemoryDirectory>,
    pub config: Config,
    pre_signup: PreSignUp<Shared>,
    post_confirmation: PostConfirmation<Shared>,
    pre_token: PreTokenGeneration<Shared>,
}

impl Handlers {
    pub fn new(config: &Config, contents: DirectoryContents) -> Self {
        let dir = Arc::new(InMemoryDirectory::from_contents(contents));
        let clock = Arc::new(ManualClock::new(NOW));
        let cached: Shared = Arc::new(
            CachedDirectory::new(dir.clone(), Duration::from_secs(60), clock.clone())
                .with_stale_if_error(config.stale_if_error),
        );
        Self {
            pre_signup: PreSignUp::new(cached.clone(), clock.clone()),
            post_confirmation: PostConfirmation::new(cached.clone(), clock.clone()),
            pre_token: PreTokenGeneration::new(cached, clock, config),
            dir,
            config: config.clone(),
        }
    }

    pub async fn handle(&self, function: Function, event: Value) -> Result<Value, Denial> {
        match function {
            Function::PreSignUp => self.pre_signup.handle(event).await,
            Function::PostConfirmation => self.post_confirmation.handle(event).await,
            Function::PreTokenGeneration => self.pre_token.handle(event).await,
        }
    }

    /// Runs `event` through `function` and checks every promise, its logs (every level)
    /// included when `logs` (capturing costs time). `Err` describes what was broken.
    pub async fn run_checked(
        &self,
        function: Function,
        event: &Value,
        logs: bool,
    ) -> Result<Result<Value, Denial>, String> {
        self.run(function, event, logs)
            .await
            .map(|(result, _)| result)
    }

    /// [`Handlers::run_checked`] with the logs, which must not be empty.
    pub async fn run_logged(
        &self,
        function: Function,
        event: &Value,
    ) -> Result<(Result<Value, Denial>, String), String> {
        self.run(function, event, true).await
    }

    async fn run(
        &self,
        function: Function,
        event: &Value,
        logs: bool,
    ) -> Result<(Result<Value, Denial>, String), String> {
        let before = self.dir.contents();
        let (result, text) = if logs {
            let (result, captured) = capture_all(self.handle(function, event.clone())).await;
            let text = captured.text();
            if text.is_empty() {
                return Err("the invocation logged nothing".into());
            }
            (result, text)
        } else {
            (self.handle(function, event.clone()).await, String::new())
        };
        let after = self.dir.contents();
        let mut problems = Vec::new();
        if let Err(p) = check(function, &self.config, &before, &after, event, &result) {
            problems.push(p);
        }
        let leaks = leaked(&marked_strings(event), &text);
        if !leaks.is_empty() {
            problems.push(format!("log lines carry {leaks:?}: {text}"));
        }
        if problems.is_empty() {
            Ok((result, text))
        } else {
            Err(format!(
                "{} broke a promise: {}\n  event:  {}\n  answer: {}",
                function.name(),
                problems.join("; "),
                truncated(&event.to_string()),
                truncated(&format!("{result:?}")),
            ))
        }
    }
}

fn truncated(s: &str) -> String {
    if s.len() <= 4_000 {
        s.to_string()
    } else {
        let mut end = 4_000;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}... ({} bytes)", &s[..end], s.len())
    }
}

// ------------------------------------------------------------------------------------------
// PII in logs
// ------------------------------------------------------------------------------------------

/// Every string in `event` carrying [`PII_MARKER`] (generated events mark person values so).
pub fn marked_strings(event: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) if s.to_ascii_lowercase().contains(PII_MARKER) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(m) => m.iter().for_each(|(k, x)| {
                if k.to_ascii_lowercase().contains(PII_MARKER) {
                    out.push(k.clone());
                }
                walk(x, out)
            }),
            _ => {}
        }
    }
    walk(event, &mut out);
    out
}

/// The attributes that identify a person.
pub const PERSON_ATTRIBUTES: [&str; 10] = [
    "email",
    "phone_number",
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "address",
    "birthdate",
];

/// The values of a recorded event that identify a person: the person attributes, and the
/// username unless it is the sub (Cognito's usernames often are the sub, which the logs carry
/// by design). Values shorter than 3 characters are too common to search for.
pub fn person_values(event: &Value) -> Vec<String> {
    let attributes = &event["request"]["userAttributes"];
    let sub = attributes["sub"].as_str().unwrap_or_default();
    let mut out: Vec<String> = PERSON_ATTRIBUTES
        .iter()
        .filter_map(|a| attributes[*a].as_str())
        .map(str::to_string)
        .collect();
    if let Some(user) = event["userName"].as_str().filter(|u| *u != sub) {
        out.push(user.to_string());
    }
    out.retain(|v| v.trim().chars().count() >= 3);
    out
}

/// Which of `values` appear in `logs`: as written, trimmed, in lower case, or JSON-escaped.
pub fn leaked(values: &[String], logs: &str) -> Vec<String> {
    if logs.is_empty() {
        return Vec::new();
    }
    let lower_logs = logs.to_lowercase();
    values
        .iter()
        .filter(|v| {
            let trimmed = v.trim();
            let escaped = serde_json::to_string(trimmed).unwrap_or_default();
            let escaped = escaped.trim_matches('"');
            [trimmed.to_string(), escaped.to_string()]
                .iter()
                .filter(|f| !f.is_empty())
                .any(|f| logs.contains(f.as_str()) || lower_logs.contains(&f.to_lowercase()))
        })
        .cloned()
        .collect()
}

// ------------------------------------------------------------------------------------------
// The checks
// ------------------------------------------------------------------------------------------

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// Checks one invocation: `before` and `after` are the directory around it.
pub fn check(
    function: Function,
    config: &Config,
    before: &DirectoryContents,
    after: &DirectoryContents,
    event: &Value,
    result: &Result<Value, Denial>,
) -> Result<(), String> {
    let read = UserPoolEvent::from_value(event);
    match result {
        Ok(answer) => {
            ensure!(read.is_ok(), "answered an event it cannot read");
            check_whole_event(event, answer)?;
        }
        Err(denial) => {
            check_clean_refusal(denial)?;
            if read.is_err() {
                ensure!(
                    denial.code == DenyCode::InvalidEvent,
                    "an unreadable event answered {}",
                    denial.code.as_str()
                );
            }
        }
    }
    let Ok(read) = read else {
        ensure!(after == before, "an unreadable event changed the directory");
        return Ok(());
    };
    match function {
        Function::PreSignUp => check_pre_signup(&read, before, after, result),
        Function::PostConfirmation => check_post_confirmation(&read, before, after, result),
        Function::PreTokenGeneration => check_pre_token(&read, config, before, after, result),
    }
}

fn check_whole_event(event: &Value, answer: &Value) -> Result<(), String> {
    let (Some(input), Some(output)) = (event.as_object(), answer.as_object()) else {
        return Err("the answer or the event is not an object".into());
    };
    for (k, v) in input {
        ensure!(
            k == "response" || output.get(k) == Some(v),
            "the answer changed or dropped '{k}'"
        );
    }
    for k in output.keys() {
        ensure!(
            k == "response" || input.contains_key(k),
            "the answer added '{k}'"
        );
    }
    let response = output.get("response");
    ensure!(
        response.is_some_and(Value::is_object),
        "the answer's response is not an object"
    );
    nothing_null_or_empty(response.unwrap_or(&Value::Null), "response")
}

fn nothing_null_or_empty(v: &Value, at: &str) -> Result<(), String> {
    match v {
        Value::Null => Err(format!("{at} is null")),
        Value::Object(m) => {
            ensure!(at == "response" || !m.is_empty(), "{at} is an empty object");
            m.iter()
                .try_for_each(|(k, x)| nothing_null_or_empty(x, &format!("{at}.{k}")))
        }
        Value::Array(a) => {
            let deliberate =
                at.ends_with(".groupsToOverride") || at.ends_with(".iamRolesToOverride");
            ensure!(deliberate || !a.is_empty(), "{at} is an empty array");
            a.iter()
                .try_for_each(|x| nothing_null_or_empty(x, &format!("{at}[]")))
        }
        _ => Ok(()),
    }
}

fn check_clean_refusal(d: &Denial) -> Result<(), String> {
    let shown = d.to_string();
    ensure!(
        shown == format!("{}: {}", d.code.as_str(), d.code.text()),
        "the refusal shows more than its code and sentence: {shown}"
    );
    let diagnostic: lambda_runtime::Diagnostic = d.clone().into();
    ensure!(
        diagnostic.error_type == d.code.as_str() && diagnostic.error_message == shown,
        "Lambda's error document differs from the code and sentence: {diagnostic:?}"
    );
    ensure!(
        d.reason.len() < 8 || !shown.contains(&d.reason),
        "the refusal shows its reason"
    );
    Ok(())
}

fn check_pre_signup(
    read: &UserPoolEvent,
    before: &DirectoryContents,
    after: &DirectoryContents,
    result: &Result<Value, Denial>,
) -> Result<(), String> {
    ensure!(after == before, "pre sign-up changed the directory");
    let Ok(answer) = result else { return Ok(()) };
    let response = &answer["response"];
    let flags = ["autoConfirmUser", "autoVerifyEmail", "autoVerifyPhone"];
    let Some(m) = response.as_object() else {
        return Err("no response object".into());
    };
    ensure!(
        m.len() == 3
            && flags
                .iter()
                .all(|f| m.get(*f).is_some_and(Value::is_boolean)),
        "the pre sign-up response is not exactly the three flags: {response}"
    );
    ensure!(
        response["autoVerifyPhone"] == false,
        "autoVerifyPhone was set"
    );
    let vouched = response["autoConfirmUser"] == true || response["autoVerifyEmail"] == true;
    ensure!(
        !vouched || read.trigger_source == TriggerSource::PreSignUpExternalProvider,
        "{} was auto-confirmed or auto-verified",
        read.trigger_source.as_str()
    );
    ensure!(
        response["autoVerifyEmail"] == false || read.email().is_some(),
        "autoVerifyEmail without an email"
    );
    Ok(())
}

fn check_post_confirmation(
    read: &UserPoolEvent,
    before: &DirectoryContents,
    after: &DirectoryContents,
    result: &Result<Value, Denial>,
) -> Result<(), String> {
    if let Ok(answer) = result {
        ensure!(
            answer["response"] == Value::Object(Map::new()),
            "the post confirmation response is not {{}}: {}",
            answer["response"]
        );
    }
    if read.trigger_source != TriggerSource::PostConfirmationConfirmSignUp || result.is_err() {
        ensure!(
            after == before,
            "{} ({}) changed the directory",
            read.trigger_source.as_str(),
            if result.is_err() { "refused" } else { "no-op" }
        );
        return Ok(());
    }
    check_provisioning(read, before, after)?;
    let placed = after
        .members
        .iter()
        .any(|m| m.user_pool_id == read.user_pool_id() && Some(m.sub.as_str()) == read.sub());
    ensure!(placed, "a confirmation succeeded without placing the user");
    Ok(())
}

/// The directory changed at most by one complete provisioning of the event's user.
fn check_provisioning(
    read: &UserPoolEvent,
    before: &DirectoryContents,
    after: &DirectoryContents,
) -> Result<(), String> {
    ensure!(
        after.tiers == before.tiers && after.routes == before.routes,
        "tiers or routes changed"
    );
    type Key = (String, String, String);
    let members = |c: &DirectoryContents| -> BTreeMap<Key, _> {
        c.members
            .iter()
            .map(|m| {
                (
                    (m.user_pool_id.clone(), m.sub.clone(), m.tenant_id.clone()),
                    m.clone(),
                )
            })
            .collect()
    };
    let (old, new) = (members(before), members(after));
    for (k, m) in &old {
        ensure!(
            new.get(k) == Some(m),
            "membership {k:?} changed or vanished"
        );
    }
    let added: Vec<_> = new.iter().filter(|(k, _)| !old.contains_key(*k)).collect();
    ensure!(added.len() <= 1, "{} memberships added", added.len());
    let tenants = |c: &DirectoryContents| -> BTreeMap<String, Tenant> {
        c.tenants
            .iter()
            .map(|t| (t.id.clone(), t.clone()))
            .collect()
    };
    let (old_t, new_t) = (tenants(before), tenants(after));
    ensure!(
        old_t.keys().eq(new_t.keys()),
        "tenants were added or removed"
    );
    let new_tenant = added.first().map(|(_, m)| m.tenant_id.clone());
    for (id, t) in &old_t {
        let n = &new_t[id];
        let seat = u32::from(new_tenant.as_deref() == Some(id.as_str()));
        ensure!(
            n.user_count == t.user_count + seat,
            "userCount of {id} went from {} to {} with {seat} membership added",
            t.user_count,
            n.user_count
        );
        ensure!(
            Tenant {
                user_count: t.user_count,
                ..n.clone()
            } == *t,
            "tenant {id} changed beyond its userCount"
        );
    }
    if let Some((_, m)) = added.first() {
        ensure!(
            m.user_pool_id == read.user_pool_id() && Some(m.sub.as_str()) == read.sub(),
            "a membership was added for another user than the event's"
        );
        ensure!(
            !old.keys()
                .any(|(p, s, _)| *p == m.user_pool_id && *s == m.sub),
            "a user who already had a membership in the pool was provisioned again"
        );
        ensure!(
            m.status == MembershipStatus::Active,
            "a suspended membership was provisioned"
        );
        let t = old_t.get(&m.tenant_id);
        ensure!(
            t.is_some_and(|t| t.is_active() && t.has_free_seat()),
            "provisioned into {}, which was missing, suspended or full",
            m.tenant_id
        );
    }
    let invitations = |c: &DirectoryContents| -> BTreeSet<_> {
        c.invitations
            .iter()
            .map(|i| format!("{:?}", (&i.user_pool_id, &i.email, &i.tenant_id, &i.roles)))
            .collect()
    };
    let (old_i, new_i) = (invitations(before), invitations(after));
    ensure!(new_i.is_subset(&old_i), "an invitation appeared or changed");
    let used: Vec<_> = before
        .invitations
        .iter()
        .filter(|i| {
            !after.invitations.iter().any(|x| {
                (&x.user_pool_id, &x.email, &x.tenant_id)
                    == (&i.user_pool_id, &i.email, &i.tenant_id)
            })
        })
        .collect();
    ensure!(used.len() <= 1, "{} invitations used", used.len());
    if let Some(i) = used.first() {
        ensure!(
            added.first().is_some_and(
                |(_, m)| m.tenant_id == i.tenant_id && m.user_pool_id == i.user_pool_id
            ),
            "an invitation to {} was used without a membership there",
            i.tenant_id
        );
    }
    Ok(())
}

/// What the pre token response says, in either shape.
#[derive(Default)]
struct Tokens<'a> {
    id_claims: Option<&'a Map<String, Value>>,
    id_suppress: Vec<&'a Value>,
    access_claims: Option<&'a Map<String, Value>>,
    access_suppress: Vec<&'a Value>,
    scopes_to_add: Vec<&'a Value>,
    groups: Option<&'a Value>,
    has_id_token_part: bool,
}

fn object_with<'a>(
    v: &'a Value,
    allowed: &[&str],
    at: &str,
) -> Result<&'a Map<String, Value>, String> {
    let m = v
        .as_object()
        .ok_or_else(|| format!("{at} is not an object"))?;
    for k in m.keys() {
        ensure!(
            allowed.contains(&k.as_str()),
            "{at} has an unknown key '{k}'"
        );
    }
    Ok(m)
}

fn array<'a>(v: Option<&'a Value>, at: &str) -> Result<Vec<&'a Value>, String> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => Ok(a.iter().collect()),
        Some(_) => Err(format!("{at} is not an array")),
    }
}

fn read_tokens(response: &Value, version: u32) -> Result<Tokens<'_>, String> {
    let mut t = Tokens::default();
    if version == 1 {
        let top = object_with(response, &["claimsOverrideDetails"], "response")?;
        let Some(details) = top.get("claimsOverrideDetails") else {
            return Ok(t);
        };
        let d = object_with(
            details,
            &[
                "claimsToAddOrOverride",
                "claimsToSuppress",
                "groupOverrideDetails",
            ],
            "claimsOverrideDetails",
        )?;
        t.has_id_token_part = true;
        t.id_claims = d.get("claimsToAddOrOverride").and_then(Value::as_object);
        t.id_suppress = array(d.get("claimsToSuppress"), "claimsToSuppress")?;
        t.groups = d.get("groupOverrideDetails");
        return Ok(t);
    }
    let top = object_with(response, &["claimsAndScopeOverrideDetails"], "response")?;
    let Some(details) = top.get("claimsAndScopeOverrideDetails") else {
        return Ok(t);
    };
    let d = object_with(
        details,
        &[
            "idTokenGeneration",
            "accessTokenGeneration",
            "groupOverrideDetails",
        ],
        "claimsAndScopeOverrideDetails",
    )?;
    if let Some(id) = d.get("idTokenGeneration") {
        let id = object_with(
            id,
            &["claimsToAddOrOverride", "claimsToSuppress"],
            "idTokenGeneration",
        )?;
        t.has_id_token_part = true;
        t.id_claims = id.get("claimsToAddOrOverride").and_then(Value::as_object);
        t.id_suppress = array(id.get("claimsToSuppress"), "claimsToSuppress")?;
    }
    if let Some(access) = d.get("accessTokenGeneration") {
        let a = object_with(
            access,
            &[
                "claimsToAddOrOverride",
                "claimsToSuppress",
                "scopesToAdd",
                "scopesToSuppress",
            ],
            "accessTokenGeneration",
        )?;
        ensure!(
            !a.contains_key("scopesToSuppress"),
            "scopes were suppressed"
        );
        t.access_claims = a.get("claimsToAddOrOverride").and_then(Value::as_object);
        t.access_suppress = array(a.get("claimsToSuppress"), "claimsToSuppress")?;
        t.scopes_to_add = array(a.get("scopesToAdd"), "scopesToAdd")?;
    }
    t.groups = d.get("groupOverrideDetails");
    Ok(t)
}

fn strings<'a>(values: &[&'a Value], at: &str) -> Result<Vec<&'a str>, String> {
    values
        .iter()
        .map(|v| v.as_str().ok_or_else(|| format!("{at} holds a non-string")))
        .collect()
}

fn check_pre_token(
    read: &UserPoolEvent,
    config: &Config,
    before: &DirectoryContents,
    after: &DirectoryContents,
    result: &Result<Value, Denial>,
) -> Result<(), String> {
    let machine = read.trigger_source == TriggerSource::TokenGenerationClientCredentials;
    if machine {
        ensure!(after == before, "a machine token changed the directory");
    } else {
        // First-token provisioning; a refusal after it (the token budget, say) keeps it.
        check_provisioning(read, before, after)?;
    }
    let Ok(answer) = result else { return Ok(()) };
    // Version "0" or none on a version 1 shaped event (cognito-local) is answered as version 1.
    let version = read.token_version().unwrap_or(0);
    ensure!(version >= 1, "answered an event of unknown version");
    let tokens = read_tokens(&answer["response"], version)?;

    // Claim names.
    let names = &config.claims;
    for claims in [tokens.id_claims, tokens.access_claims]
        .into_iter()
        .flatten()
    {
        for (k, v) in claims {
            ensure!(
                !is_forbidden_claim(k),
                "claim '{k}' was added or overridden"
            );
            ensure!(v.is_string(), "claim '{k}' is not a string");
        }
    }
    for s in strings(&tokens.id_suppress, "claimsToSuppress")?
        .into_iter()
        .chain(strings(&tokens.access_suppress, "claimsToSuppress")?)
    {
        ensure!(!is_forbidden_claim(s), "claim '{s}' was suppressed");
    }

    // The tenant claims.
    fn claim<'a>(claims: Option<&'a Map<String, Value>>, name: &str) -> Option<&'a str> {
        claims.and_then(|c| c.get(name)).and_then(Value::as_str)
    }
    let id_tenant = claim(tokens.id_claims, &names.tenant_id);
    let access_tenant = claim(tokens.access_claims, &names.tenant_id);
    let tier = claim(tokens.access_claims, &names.tenant_tier)
        .or(claim(tokens.id_claims, &names.tenant_tier));
    ensure!(
        id_tenant.is_none() || access_tenant.is_none() || id_tenant == access_tenant,
        "the ID and access tokens name different tenants"
    );
    let tenant = id_tenant.or(access_tenant);
    ensure!(
        tenant.is_some() == tier.is_some(),
        "a tenant claim without a tier claim, or the reverse"
    );
    let attribute = claim(tokens.id_claims, &names.tenant_attribute);
    ensure!(
        attribute.is_none() || attribute == tenant,
        "the tenant attribute was set to something else than the tenant"
    );
    let suppressed: Vec<&str> = tokens
        .id_suppress
        .iter()
        .filter_map(|v| v.as_str())
        .collect();

    let known = |id: &str| before.tenants.iter().find(|t| t.id == id);
    match (tenant, tier) {
        (Some(t), Some(tier)) => {
            let record = known(t).ok_or_else(|| format!("tenant claim '{t}' names no tenant"))?;
            ensure!(
                record.is_active(),
                "tenant claim '{t}' names a suspended tenant"
            );
            ensure!(record.tier == tier, "tier claim '{tier}' is not {t}'s tier");
            if machine {
                let client = read.client_id().unwrap_or_default();
                // Routes are scoped to their pool: only this pool's route of the client counts.
                let key = route_key(RouteKind::Client, read.user_pool_id(), client);
                ensure!(
                    before.routes.iter().any(|r| r.kind == RouteKind::Client
                        && r.key == key
                        && r.tenant_id == t),
                    "machine token of '{client}' names '{t}', which no client route of it in its pool names"
                );
            } else {
                let sub = read.sub().unwrap_or_default();
                ensure!(
                    after
                        .members
                        .iter()
                        .any(|m| m.user_pool_id == read.user_pool_id()
                            && m.sub == sub
                            && m.tenant_id == t
                            && m.status == MembershipStatus::Active),
                    "user token names '{t}', in which the user has no active membership"
                );
            }
        }
        _ => {
            ensure!(
                config.no_tenant_policy == NoTenantPolicy::IssueWithoutTenantClaims,
                "a token without tenant claims under NO_TENANT_POLICY=deny"
            );
            ensure!(
                machine || suppressed.contains(&names.tenant_attribute.as_str()),
                "a token without tenant claims keeps the tenant attribute"
            );
        }
    }
    if machine {
        ensure!(
            !tokens.has_id_token_part && tokens.groups.is_none() && tokens.scopes_to_add.is_empty(),
            "a machine token got ID token claims, groups or scopes"
        );
    }

    // Groups.
    let request = &read.request.group_configuration;
    let mut added_groups: Vec<&str> = Vec::new();
    let mut added_roles: Vec<&str> = Vec::new();
    let mut new_preferred: Option<&str> = None;
    if let Some(g) = tokens.groups {
        let g = object_with(
            g,
            &["groupsToOverride", "iamRolesToOverride", "preferredRole"],
            "groupOverrideDetails",
        )?;
        let groups = strings(
            &array(g.get("groupsToOverride"), "groupsToOverride")?,
            "groupsToOverride",
        )?;
        let roles = strings(
            &array(g.get("iamRolesToOverride"), "iamRolesToOverride")?,
            "iamRolesToOverride",
        )?;
        ensure!(
            g.get("groupsToOverride").is_some() && g.get("iamRolesToOverride").is_some(),
            "groupOverrideDetails without groupsToOverride or iamRolesToOverride"
        );
        let preferred = match g.get("preferredRole") {
            None => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(other) => return Err(format!("preferredRole is {other}")),
        };
        let unchanged = groups.iter().eq(request.groups_to_override.iter())
            && roles.iter().eq(request.iam_roles_to_override.iter())
            && preferred == request.preferred_role.as_deref();
        ensure!(!unchanged, "groupOverrideDetails that changes nothing");
        let mode = config.groups_mode;
        if mode != GroupsMode::Replace {
            for had in request.groups_to_override.iter().filter(|g| !g.is_empty()) {
                ensure!(
                    groups.contains(&had.as_str()),
                    "group '{had}' dropped in {mode:?} mode"
                );
            }
        }
        // (Cognito group names are never empty: dropping an empty one removes nothing.)
        let had_groups = request.groups_to_override.iter().any(|g| !g.is_empty());
        ensure!(
            !groups.is_empty() || !had_groups || mode == GroupsMode::Replace,
            "every group removed in {mode:?} mode"
        );
        for (i, group) in groups.iter().enumerate() {
            if request.groups_to_override.iter().any(|h| h == group) {
                continue;
            }
            ensure!(!group.is_empty(), "an empty group was added");
            ensure!(!groups[..i].contains(group), "group '{group}' added twice");
            added_groups.push(group);
        }
        added_roles = roles
            .iter()
            .copied()
            .filter(|r| !request.iam_roles_to_override.iter().any(|h| h == r))
            .collect();
        new_preferred = preferred.filter(|p| request.preferred_role.as_deref() != Some(*p));
    }

    // Scopes.
    let scopes = strings(&tokens.scopes_to_add, "scopesToAdd")?;
    let requested = read.request.scopes.clone().unwrap_or_default();
    for (i, scope) in scopes.iter().enumerate() {
        ensure!(
            !scope.is_empty() && !scope.chars().any(char::is_whitespace),
            "scope '{scope}' is empty or has blanks"
        );
        ensure!(!scopes[..i].contains(scope), "scope '{scope}' added twice");
        ensure!(
            !requested.iter().any(|r| r == scope),
            "scope '{scope}' was already requested"
        );
    }

    // The token budget, measured on the answer.
    let groups_claim = if added_groups.is_empty() {
        0
    } else {
        "\"cognito:groups\":".len() + json(&added_groups)
    };
    let roles_claim = if added_roles.is_empty() {
        0
    } else {
        "\"cognito:roles\":".len() + json(&added_roles)
    };
    let preferred_claim =
        new_preferred.map_or(0, |p| "\"cognito:preferred_role\":".len() + json(&p));
    let id_bytes = tokens.id_claims.map_or(0, json) + groups_claim + roles_claim + preferred_claim;
    let access_bytes = tokens.access_claims.map_or(0, json)
        + groups_claim
        + scopes.iter().map(|s| s.len() + 1).sum::<usize>();
    ensure!(
        id_bytes <= TOKEN_BUDGET_BYTES && access_bytes <= TOKEN_BUDGET_BYTES,
        "the claims add {id_bytes} bytes to the ID token and {access_bytes} to the access \
         token, over the budget of {TOKEN_BUDGET_BYTES}"
    );
    Ok(())
}

/// The serialized length of `v`.
fn json<T: serde::Serialize + ?Sized>(v: &T) -> usize {
    serde_json::to_string(v).map_or(0, |s| s.len())
}

// ------------------------------------------------------------------------------------------
// Raw bytes: the fuzz targets and the corpus replay
// ------------------------------------------------------------------------------------------

/// The configurations every raw input runs under: the defaults, and the other groups modes
/// and no-tenant policy with other claim names.
pub fn raw_input_configs() -> &'static [Config; 2] {
    static CONFIGS: OnceLock<[Config; 2]> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let config = |vars: &'static [(&'static str, &'static str)]| {
            Config::from_lookup(|k| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            })
            .expect("valid configuration")
        };
        [
            config(&[("TENANT_TABLE", "fuzz")]),
            config(&[
                ("TENANT_TABLE", "fuzz"),
                ("GROUPS_MODE", "merge"),
                ("NO_TENANT_POLICY", "issue-without-tenant-claims"),
                ("TENANT_ID_CLAIM", "org_id"),
                ("TENANT_ATTRIBUTE", "custom:org"),
            ]),
        ]
    })
}

/// `events/seed.json`, validated once.
fn seed_contents() -> &'static DirectoryContents {
    static SEED: OnceLock<DirectoryContents> = OnceLock::new();
    SEED.get_or_init(|| {
        events_seed()
            .validate(&tenant_admin::document::Known::default(), NOW - 86_400)
            .expect("events/seed.json is valid")
    })
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime");
}

/// Logs go through the JSON formatter into nothing, so their fields are formatted too.
fn format_logs_into_nothing() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(std::io::sink)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

/// One raw input (what Lambda hands over: bytes that parse as JSON, at most 128 levels deep)
/// through `function` over `events/seed.json`, under each of [`raw_input_configs`]; panics
/// with the broken promise. The fuzz targets and the corpus replay call this.
pub fn check_raw_input(function: Function, data: &[u8]) {
    let Ok(event) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    format_logs_into_nothing();
    for config in raw_input_configs() {
        let handlers = Handlers::new(config, seed_contents().clone());
        let checked = RUNTIME.with(|rt| rt.block_on(handlers.run_checked(function, &event, false)));
        if let Err(broken) = checked {
            panic!("{broken}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn forbidden_claims_include_the_standard_ones_and_prefixes() {
        for c in [
            "sub",
            "email",
            "phone_number",
            "cognito:groups",
            "dev:x",
            "scope",
        ] {
            assert!(is_forbidden_claim(c), "{c}");
        }
        for c in ["tenantId", "custom:tenantId", "tier"] {
            assert!(!is_forbidden_claim(c), "{c}");
        }
    }

    #[test]
    fn leaks_are_found_in_any_case_and_escaped() {
        let logs = r#"{"fields":{"reason":"Jane \"Q\" Doe <jane@x.example>"}}"#;
        let found = leaked(
            &[
                "JANE@X.EXAMPLE".into(),
                "Jane \"Q\" Doe".into(),
                "bob".into(),
            ],
            logs,
        );
        assert_eq!(found, vec!["JANE@X.EXAMPLE", "Jane \"Q\" Doe"]);
    }

    #[test]
    fn person_values_skip_a_username_that_is_the_sub() {
        let e = json!({"userName": "s-1", "request": {"userAttributes": {
            "sub": "s-1", "email": "a@b.example", "name": "Al", "phone_number": "+15550100"}}});
        assert_eq!(person_values(&e), vec!["a@b.example", "+15550100"]);
    }

    #[test]
    fn a_broken_promise_is_reported() {
        let before = DirectoryContents::default();
        let event = json!({"version": "1", "triggerSource": "PreSignUp_SignUp",
                           "userPoolId": "p", "request": {}, "response": {}});
        let mut answer = event.clone();
        answer["extra"] = json!(1);
        let config = &raw_input_configs()[0];
        let err = check(
            Function::PreSignUp,
            config,
            &before,
            &before,
            &event,
            &Ok(answer),
        )
        .unwrap_err();
        assert!(err.contains("added 'extra'"), "{err}");
        let refusal = Denial::new(DenyCode::NoTenant, "reason");
        assert!(check(
            Function::PreSignUp,
            config,
            &before,
            &before,
            &event,
            &Err(refusal)
        )
        .is_ok());
    }
}
