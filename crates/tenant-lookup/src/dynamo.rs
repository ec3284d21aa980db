//! The tenant directory in DynamoDB: the production [`Directory`] and the admin operations that
//! `tenantctl` uses (create the table, import and export the directory document).
//!
//! One table, string keys `PK`/`SK` (see [`crate::model::keys`]):
//!
//! | item | PK | SK | attributes |
//! |---|---|---|---|
//! | tenant | `TENANT#{id}` | `TENANT` | name, tier, status, selfSignUp (BOOL), allowedEmailDomains (L, omitted when empty), maxUsers (N, omitted when unlimited), userCount (N), defaultRole, iamRoleArn (omitted when none) |
//! | tier | `TIER#{id}` | `TIER` | scopes (L) |
//! | route | `ROUTE#{KIND}#{stored key}` | `ROUTE` | kind, key, tenantId, trustEmail (BOOL) |
//! | membership | `USER#{pool}#{sub}` | `TENANT#{id}` | userPoolId, sub, tenantId, roles (L), status, source, createdAt (N), GSI1PK=`TENANT#{id}`, GSI1SK=`USER#{pool}#{sub}` |
//! | invitation | `INVITE#{pool}#{email}` | `TENANT#{id}` | userPoolId, email, tenantId, roles (L), invitedBy, expiresAt (N, epoch seconds, the TTL attribute) |
//!
//! Reading is lenient about optional attributes (missing means the documented default; a missing
//! `roles` is an empty list, left to the caller's default role) and strict about required ones
//! (tenant `tier`; route `tenantId`; membership `userPoolId`, `sub`, `tenantId`; invitation
//! `userPoolId`, `email`, `tenantId`) and about types: an attribute of the wrong type is
//! [`DirectoryError::Malformed`] rather than a silent default (a `maxUsers` stored as a string must
//! not become "unlimited"). The error texts written here never contain an email address.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::str::FromStr;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::config::AsyncSleep;
use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext};
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, CancellationReason, Delete,
    GlobalSecondaryIndex, KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType,
    Put, PutRequest, ReturnValuesOnConditionCheckFailure, ScalarAttributeType, Select,
    TableDescription, TimeToLiveSpecification, TimeToLiveStatus, TransactWriteItem, Update,
    WriteRequest,
};
use aws_sdk_dynamodb::Client;

use crate::directory::{Directory, DirectoryError, ProvisionOutcome, ProvisionRequest};
use crate::document::{DirectoryContents, DirectoryDocument, DocumentError};
use crate::model::{
    keys, Invitation, Membership, MembershipStatus, Route, RouteKind, Tenant, TenantStatus, Tier,
    DEFAULT_ROLE,
};

type Item = HashMap<String, AttributeValue>;

// ---------------------------------------------------------------------------------------------
// SDK configuration
// ---------------------------------------------------------------------------------------------

/// TCP/TLS connect timeout. Lambda and DynamoDB are in the same region: a connect takes a few
/// milliseconds, so 500 ms only fires on a broken path, and leaves time for a second attempt.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// One attempt of one request. DynamoDB answers single-item requests in ~5-10 ms (p99 well under
/// 100 ms); an attempt still open after 1 s is stuck, and a fresh attempt is the better bet.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
/// One request including its retries. Cognito waits 5 s for a trigger, then fails the sign-in
/// or retries the trigger (up to 3 invocations in all). 2.5 s caps a single stuck request at half
/// the budget, so the handler still answers (failing closed) before Cognito gives up on it, and a
/// warm invocation makes at most a couple of requests anyway.
pub const OPERATION_TIMEOUT: Duration = Duration::from_millis(2500);
/// Attempts per request (standard retry mode): one retry, since Cognito itself retries the whole
/// trigger and two attempts of [`ATTEMPT_TIMEOUT`] fit within [`OPERATION_TIMEOUT`].
pub const MAX_ATTEMPTS: u32 = 2;

/// The timeouts described by [`CONNECT_TIMEOUT`], [`ATTEMPT_TIMEOUT`] and [`OPERATION_TIMEOUT`].
pub fn lambda_timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The HTTP client of every SDK client here: rustls with the ring provider, HTTP and HTTPS.
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// SDK configuration for the trigger functions: the default provider chain (region and
/// credentials from the Lambda environment; `AWS_ENDPOINT_URL_DYNAMODB` is honoured by the SDK
/// itself) with timeouts and retries sized to Cognito's 5-second budget (see the constants).
/// Load it once, in init, outside the handler.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(lambda_timeout_config())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .load()
        .await
}

// ---------------------------------------------------------------------------------------------
// The directory
// ---------------------------------------------------------------------------------------------

/// Attempts of the provisioning transaction when DynamoDB cancels it for a `TransactionConflict`
/// (concurrent transactions on the same items). The jittered pauses between them add up to at
/// most ~250 ms.
const PROVISION_ATTEMPTS: u32 = 3;
/// Rounds of `UnprocessedItems`/`UnprocessedKeys` re-submission before giving up (admin only).
const UNPROCESSED_ROUNDS: u32 = 8;
const BATCH_WRITE_MAX: usize = 25;
const BATCH_GET_MAX: usize = 100;
/// The TTL attribute of invitations.
pub const TTL_ATTRIBUTE: &str = "expiresAt";

const TENANT_PREFIX: &str = "TENANT#";
const TIER_PREFIX: &str = "TIER#";
const ROUTE_PREFIX: &str = "ROUTE#";
const USER_PREFIX: &str = "USER#";
const INVITE_PREFIX: &str = "INVITE#";

mod attr {
    pub const NAME: &str = "name";
    pub const TIER: &str = "tier";
    pub const STATUS: &str = "status";
    pub const SELF_SIGN_UP: &str = "selfSignUp";
    pub const ALLOWED_EMAIL_DOMAINS: &str = "allowedEmailDomains";
    pub const MAX_USERS: &str = "maxUsers";
    pub const USER_COUNT: &str = "userCount";
    pub const DEFAULT_ROLE: &str = "defaultRole";
    pub const IAM_ROLE_ARN: &str = "iamRoleArn";
    pub const SCOPES: &str = "scopes";
    pub const KIND: &str = "kind";
    pub const KEY: &str = "key";
    pub const TENANT_ID: &str = "tenantId";
    pub const TRUST_EMAIL: &str = "trustEmail";
    pub const USER_POOL_ID: &str = "userPoolId";
    pub const SUB: &str = "sub";
    pub const ROLES: &str = "roles";
    pub const SOURCE: &str = "source";
    pub const CREATED_AT: &str = "createdAt";
    pub const EMAIL: &str = "email";
    pub const INVITED_BY: &str = "invitedBy";
    pub const EXPIRES_AT: &str = super::TTL_ATTRIBUTE;
}

/// The tenant directory table.
#[derive(Clone, Debug)]
pub struct DynamoDirectory {
    client: Client,
    table: String,
}

impl DynamoDirectory {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// A directory over a client built from `config` (see [`load_sdk_config`]).
    pub fn from_config(config: &SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(config), table)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn get_item(
        &self,
        pk: String,
        sk: &str,
        consistent: bool,
    ) -> Result<Option<Item>, DirectoryError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(unavailable("GetItem"))?;
        Ok(out.item)
    }

    /// Every item of one partition (all pages; one request in practice). Strongly consistent:
    /// memberships and invitations change through provisioning, and a trigger that follows one
    /// (post confirmation, then pre token generation) must see it. Tenants, tiers and routes are
    /// read eventually consistent: they change rarely and are cached with a TTL anyway.
    async fn query_partition(
        &self,
        pk: String,
        sk_prefix: &str,
    ) -> Result<Vec<Item>, DirectoryError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :sk)")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#sk", keys::SK)
                .expression_attribute_values(":pk", s(pk.as_str()))
                .expression_attribute_values(":sk", s(sk_prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable("Query"))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// A pause before retry number `attempt` (1-based): 10 ms << attempt, plus up to three times
    /// that in jitter. Uses the client's sleep implementation; without one, no pause.
    async fn pause(&self, attempt: u32) {
        let base = 10u64 << attempt.min(6);
        let jitter = RandomState::new().hash_one(attempt) % (3 * base);
        if let Some(sleep) = self.client.config().sleep_impl() {
            sleep.sleep(Duration::from_millis(base + jitter)).await;
        }
    }
}

impl Directory for DynamoDirectory {
    async fn tenant(&self, id: &str) -> Result<Option<Tenant>, DirectoryError> {
        self.get_item(keys::tenant_pk(id), keys::TENANT_SK, false)
            .await?
            .map(|item| tenant_from_item(&item))
            .transpose()
    }

    async fn tier(&self, id: &str) -> Result<Option<Tier>, DirectoryError> {
        self.get_item(keys::tier_pk(id), keys::TIER_SK, false)
            .await?
            .map(|item| tier_from_item(&item))
            .transpose()
    }

    async fn route(&self, kind: RouteKind, key: &str) -> Result<Option<Route>, DirectoryError> {
        self.get_item(keys::route_pk(kind, key), keys::ROUTE_SK, false)
            .await?
            .map(|item| route_from_item(&item))
            .transpose()
    }

    async fn memberships(
        &self,
        user_pool_id: &str,
        sub: &str,
    ) -> Result<Vec<Membership>, DirectoryError> {
        self.query_partition(keys::user_pk(user_pool_id, sub), TENANT_PREFIX)
            .await?
            .iter()
            .map(membership_from_item)
            .collect()
    }

    async fn invitations(
        &self,
        user_pool_id: &str,
        email: &str,
    ) -> Result<Vec<Invitation>, DirectoryError> {
        let email = email.trim().to_ascii_lowercase();
        self.query_partition(keys::invite_pk(user_pool_id, &email), TENANT_PREFIX)
            .await?
            .iter()
            .map(invitation_from_item)
            .collect()
    }

    async fn provision(
        &self,
        request: &ProvisionRequest,
    ) -> Result<ProvisionOutcome, DirectoryError> {
        let items = provision_items(&self.table, request)?;
        let mut last = String::new();
        for attempt in 0..PROVISION_ATTEMPTS {
            if attempt > 0 {
                self.pause(attempt).await;
            }
            match self.try_provision(request, items.clone()).await? {
                Attempt::Done(outcome) => return Ok(outcome),
                Attempt::Retry(why) => last = why,
            }
        }
        Err(DirectoryError::Unavailable(format!(
            "provisioning of sub '{}' in tenant '{}' did not settle after {PROVISION_ATTEMPTS} attempts: {last}",
            request.membership.sub, request.membership.tenant_id
        )))
    }
}

// ---------------------------------------------------------------------------------------------
// Provisioning
// ---------------------------------------------------------------------------------------------

/// The role of each item of the provisioning transaction, in order: cancellation reasons come
/// back in the same order as the items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Membership,
    Guard,
    Invitation,
    Tenant,
}

#[derive(Debug, PartialEq)]
enum Attempt {
    Done(ProvisionOutcome),
    Retry(String),
}

fn provision_items(
    table: &str,
    request: &ProvisionRequest,
) -> Result<Vec<(Slot, TransactWriteItem)>, DirectoryError> {
    let m = &request.membership;
    let mut items = Vec::with_capacity(3);

    let put = Put::builder()
        .table_name(table)
        .set_item(Some(membership_item(m)))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", keys::PK)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .map_err(build_error)?;
    items.push((
        Slot::Membership,
        TransactWriteItem::builder().put(put).build(),
    ));

    // One provisioning per user, whatever the tenant: a retry that resolved differently (the
    // invitation it used is gone by then) or a concurrent first sign-in cannot add a second one.
    let guard = Put::builder()
        .table_name(table)
        .set_item(Some(with_keys(
            keys::user_pk(&m.user_pool_id, &m.sub),
            keys::PROVISIONED_SK.to_string(),
            [
                (attr::TENANT_ID, s(m.tenant_id.as_str())),
                (attr::CREATED_AT, n(m.created_at)),
            ],
        )))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", keys::PK)
        .build()
        .map_err(build_error)?;
    items.push((Slot::Guard, TransactWriteItem::builder().put(guard).build()));

    if let (Some(tenant), Some(email)) = (&request.invitation_tenant_id, &request.invitation_email)
    {
        let email = email.trim().to_ascii_lowercase();
        let delete = Delete::builder()
            .table_name(table)
            .key(keys::PK, s(keys::invite_pk(&m.user_pool_id, &email)))
            .key(keys::SK, s(keys::tenant_sk(tenant)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .build()
            .map_err(build_error)?;
        items.push((
            Slot::Invitation,
            TransactWriteItem::builder().delete(delete).build(),
        ));
    }

    // `ADD` treats a missing userCount as 0; the condition does the same (a comparison with a
    // missing attribute is false, hence the explicit `attribute_not_exists(userCount)` branch).
    let update = Update::builder()
        .table_name(table)
        .key(keys::PK, s(keys::tenant_pk(&m.tenant_id)))
        .key(keys::SK, s(keys::TENANT_SK))
        .update_expression("ADD #count :one")
        .condition_expression(
            // The tenant must exist (an Update would otherwise create it) and be active; a
            // missing status reads as active, as everywhere else.
            "attribute_exists(#pk) AND (attribute_not_exists(#status) OR #status = :active) \
             AND (attribute_not_exists(#max) OR #count < #max \
             OR (attribute_not_exists(#count) AND #max > :zero))",
        )
        .expression_attribute_names("#pk", keys::PK)
        .expression_attribute_names("#status", attr::STATUS)
        .expression_attribute_names("#count", attr::USER_COUNT)
        .expression_attribute_names("#max", attr::MAX_USERS)
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":active", s(TenantStatus::Active.as_str()))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .map_err(build_error)?;
    items.push((
        Slot::Tenant,
        TransactWriteItem::builder().update(update).build(),
    ));
    Ok(items)
}

impl DynamoDirectory {
    async fn try_provision(
        &self,
        request: &ProvisionRequest,
        items: Vec<(Slot, TransactWriteItem)>,
    ) -> Result<Attempt, DirectoryError> {
        let (slots, items): (Vec<Slot>, Vec<TransactWriteItem>) = items.into_iter().unzip();
        let err = match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => return Ok(Attempt::Done(ProvisionOutcome::Created)),
            Err(err) => err,
        };
        let reasons = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
                e.cancellation_reasons()
            }
            _ => return Err(unavailable("TransactWriteItems")(err)),
        };
        let m = &request.membership;
        match classify_cancellation(&slots, reasons) {
            Cancellation::AlreadyMember(returned) => {
                let stored = match returned {
                    Some(item) => Some(item.clone()),
                    None => {
                        self.get_item(
                            keys::user_pk(&m.user_pool_id, &m.sub),
                            &keys::tenant_sk(&m.tenant_id),
                            true,
                        )
                        .await?
                    }
                };
                Ok(match stored {
                    Some(item) => Attempt::Done(ProvisionOutcome::AlreadyMember(
                        membership_from_item(&item)?,
                    )),
                    None => Attempt::Retry(
                        "membership condition failed but no membership is stored".into(),
                    ),
                })
            }
            Cancellation::ProvisionedElsewhere => {
                let existing = self.memberships(&m.user_pool_id, &m.sub).await?;
                Ok(Attempt::Done(match existing.into_iter().next() {
                    Some(other) => ProvisionOutcome::AlreadyMember(other),
                    None => ProvisionOutcome::ProvisionedBefore,
                }))
            }
            Cancellation::Conflict => Ok(Attempt::Retry(format!(
                "transaction conflict ({})",
                reason_codes(reasons)
            ))),
            Cancellation::InvitationGone => Ok(Attempt::Done(ProvisionOutcome::InvitationGone)),
            Cancellation::TenantRefused(returned) => {
                let stored = match returned {
                    Some(item) => Some(item.clone()),
                    None => {
                        self.get_item(keys::tenant_pk(&m.tenant_id), keys::TENANT_SK, true)
                            .await?
                    }
                };
                let tenant = stored.map(|item| tenant_from_item(&item)).transpose()?;
                Ok(tenant_refusal(tenant.as_ref()))
            }
            Cancellation::Other => Err(DirectoryError::Unavailable(format!(
                "TransactWriteItems cancelled: {}",
                reason_codes(reasons)
            ))),
        }
    }
}

/// What a cancelled provisioning transaction means, from its reasons (matched to the items by
/// index). The returned items are those of `ReturnValuesOnConditionCheckFailure=ALL_OLD`, when
/// the store sent them.
#[derive(Debug, PartialEq)]
enum Cancellation<'a> {
    /// The membership exists: a retry of this provisioning or a concurrent one. Nothing else
    /// matters then (the invitation may be gone and the tenant full because of it).
    AlreadyMember(Option<&'a Item>),
    /// The user's guard item exists: another provisioning (into another tenant) won.
    ProvisionedElsewhere,
    /// `TransactionConflict`: another transaction touched the same items; try again.
    Conflict,
    InvitationGone,
    /// The tenant is missing, suspended or full.
    TenantRefused(Option<&'a Item>),
    /// Anything else (throttling, validation, an unexpected shape).
    Other,
}

fn classify_cancellation<'a>(
    slots: &[Slot],
    reasons: &'a [CancellationReason],
) -> Cancellation<'a> {
    if reasons.len() != slots.len() {
        return Cancellation::Other;
    }
    let reason_of = |slot: Slot| slots.iter().position(|s| *s == slot).map(|i| &reasons[i]);
    let failed =
        |slot: Slot| reason_of(slot).is_some_and(|r| r.code() == Some("ConditionalCheckFailed"));
    let returned = |slot: Slot| {
        reason_of(slot)
            .and_then(CancellationReason::item)
            .filter(|i| !i.is_empty())
    };
    if failed(Slot::Membership) {
        Cancellation::AlreadyMember(returned(Slot::Membership))
    } else if failed(Slot::Guard) {
        Cancellation::ProvisionedElsewhere
    } else if reasons
        .iter()
        .any(|r| r.code() == Some("TransactionConflict"))
    {
        Cancellation::Conflict
    } else if failed(Slot::Invitation) {
        Cancellation::InvitationGone
    } else if failed(Slot::Tenant) {
        Cancellation::TenantRefused(returned(Slot::Tenant))
    } else {
        Cancellation::Other
    }
}

/// The outcome when the tenant's condition failed, given the tenant as stored.
fn tenant_refusal(tenant: Option<&Tenant>) -> Attempt {
    match tenant {
        None => Attempt::Done(ProvisionOutcome::TenantInactive),
        Some(t) if !t.is_active() => Attempt::Done(ProvisionOutcome::TenantInactive),
        Some(t) if !t.has_free_seat() => Attempt::Done(ProvisionOutcome::SeatLimitReached),
        // Changed between the transaction and the read: a seat was freed meanwhile.
        Some(_) => {
            Attempt::Retry("tenant condition failed but the tenant has a free seat now".into())
        }
    }
}

fn reason_codes(reasons: &[CancellationReason]) -> String {
    reasons
        .iter()
        .map(|r| r.code().unwrap_or("?"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------------
// Admin: table, import, export
// ---------------------------------------------------------------------------------------------

/// What an import does (or did) to one kind of item.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChangeCounts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

impl ChangeCounts {
    /// Items created or updated.
    pub fn written(&self) -> usize {
        self.created + self.updated
    }

    fn record(&mut self, change: Change) {
        match change {
            Change::Create => self.created += 1,
            Change::Update => self.updated += 1,
            Change::Unchanged => self.unchanged += 1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    Create,
    Update,
    Unchanged,
}

impl Change {
    fn of(existing: Option<&Item>, desired: &Item) -> Self {
        match existing {
            None => Change::Create,
            Some(e) if e == desired => Change::Unchanged,
            Some(_) => Change::Update,
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Change::Create => "create",
            Change::Update => "update",
            Change::Unchanged => "keep",
        }
    }
}

/// A tenant's `userCount` before the import and after it (its number of memberships).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserCount {
    pub tenant_id: String,
    /// The stored value; `None` for a new tenant or a missing attribute.
    pub before: Option<u32>,
    pub after: u32,
}

impl UserCount {
    pub fn changed(&self) -> bool {
        self.before != Some(self.after)
    }
}

/// The outcome of an import, or of its plan (`--dry-run`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub tiers: ChangeCounts,
    pub tenants: ChangeCounts,
    pub routes: ChangeCounts,
    pub members: ChangeCounts,
    pub invitations: ChangeCounts,
    /// One line per created or updated item, e.g. `create tenant 'acme'`. Emails are not shown.
    pub changes: Vec<String>,
    /// Every tenant of the document, and every tenant that members were imported into.
    pub user_counts: Vec<UserCount>,
    pub warnings: Vec<String>,
}

impl ImportReport {
    /// True when the import wrote (or would write) nothing.
    pub fn is_unchanged(&self) -> bool {
        [
            self.tiers,
            self.tenants,
            self.routes,
            self.members,
            self.invitations,
        ]
        .iter()
        .all(|c| c.written() == 0)
            && self.user_counts.iter().all(|u| !u.changed())
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.changes {
            writeln!(f, "  {line}")?;
        }
        for (kind, c) in [
            ("tiers", self.tiers),
            ("tenants", self.tenants),
            ("routes", self.routes),
            ("members", self.members),
            ("invitations", self.invitations),
        ] {
            writeln!(
                f,
                "{kind:<12} {} created, {} updated, {} unchanged",
                c.created, c.updated, c.unchanged
            )?;
        }
        for u in &self.user_counts {
            match u.before {
                Some(b) if b == u.after => {
                    writeln!(f, "userCount    {}: {} (unchanged)", u.tenant_id, u.after)?
                }
                Some(b) => writeln!(f, "userCount    {}: {b} -> {}", u.tenant_id, u.after)?,
                None => writeln!(f, "userCount    {}: {}", u.tenant_id, u.after)?,
            }
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        if self.is_unchanged() {
            writeln!(f, "nothing to change")?;
        }
        Ok(())
    }
}

/// Why an import was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The document (or its relation to the table) is invalid: nothing was written.
    #[error("{}", describe_problems(.0))]
    Invalid(DocumentError),
    /// A route was claimed by another tenant between planning and writing. Items before it
    /// were written; importing again reports the conflict as a problem of the document.
    #[error("import interrupted: {0}")]
    Conflict(String),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
}

fn describe_problems(e: &DocumentError) -> String {
    let n = e.problems.len();
    format!(
        "the directory document has {n} problem{}:\n  {}",
        if n == 1 { "" } else { "s" },
        e.problems.join("\n  ")
    )
}

/// What an import will write, computed against the table by [`DynamoDirectory::plan_import`].
#[derive(Clone, Debug, Default)]
pub struct ImportPlan {
    report: ImportReport,
    tiers: Vec<Item>,
    tenants: Vec<Tenant>,
    routes: Vec<Route>,
    members: Vec<Item>,
    invitations: Vec<Item>,
    counts: Vec<CountTarget>,
}

#[derive(Clone, Debug)]
struct CountTarget {
    tenant_id: String,
    /// userCount as stored before the import.
    before: Option<u32>,
    /// userCount as stored once the tenant items are written.
    stored: Option<u32>,
    /// Members of this tenant that the import creates.
    created: u32,
    /// Members of this tenant in the document: once written, the count is at least this.
    at_least: u32,
}

impl ImportPlan {
    /// The report of the plan: what would be created, updated or left alone, and the userCount
    /// each tenant would get (from the members stored now plus the ones the import creates).
    pub fn report(&self) -> &ImportReport {
        &self.report
    }
}

/// Attempts at counting a tenant's members through GSI1 until the members just written show up
/// (a global secondary index is eventually consistent on DynamoDB; moto's is not).
const COUNT_ATTEMPTS: u32 = 8;

impl DynamoDirectory {
    /// Creates the table (PAY_PER_REQUEST, `PK`/`SK`, `GSI1` on `GSI1PK`/`GSI1SK` projecting
    /// everything), waits until it is ACTIVE and enables TTL on [`TTL_ATTRIBUTE`]. Idempotent:
    /// an existing table is checked (keys and index) and `false` returned.
    pub async fn create_table(&self) -> Result<bool, DirectoryError> {
        let existing = match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(out) => out.table,
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DescribeTableError::ResourceNotFoundException(_))
                ) =>
            {
                None
            }
            Err(e) => return Err(unavailable("DescribeTable")(e)),
        };
        let created = match existing {
            Some(table) => {
                check_table_shape(&self.table, &table)?;
                false
            }
            None => self.send_create_table().await?,
        };
        self.client
            .wait_until_table_exists()
            .table_name(&self.table)
            .wait(Duration::from_secs(300))
            .await
            .map_err(unavailable("waiting for the table to become ACTIVE"))?;
        self.ensure_ttl().await?;
        Ok(created)
    }

    async fn send_create_table(&self) -> Result<bool, DirectoryError> {
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(build_error)
        };
        let definition = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build_error)
        };
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(keys::GSI1)
            .key_schema(key(keys::GSI1PK, KeyType::Hash)?)
            .key_schema(key(keys::GSI1SK, KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(build_error)?;
        let result = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(keys::PK, KeyType::Hash)?)
            .key_schema(key(keys::SK, KeyType::Range)?)
            .attribute_definitions(definition(keys::PK)?)
            .attribute_definitions(definition(keys::SK)?)
            .attribute_definitions(definition(keys::GSI1PK)?)
            .attribute_definitions(definition(keys::GSI1SK)?)
            .global_secondary_indexes(gsi)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            // Created concurrently by someone else.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(CreateTableError::ResourceInUseException(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable("CreateTable")(e)),
        }
    }

    async fn ensure_ttl(&self) -> Result<(), DirectoryError> {
        let out = self
            .client
            .describe_time_to_live()
            .table_name(&self.table)
            .send()
            .await
            .map_err(unavailable("DescribeTimeToLive"))?;
        let description = out.time_to_live_description;
        let status = description.as_ref().and_then(|d| d.time_to_live_status());
        let attribute = description.as_ref().and_then(|d| d.attribute_name());
        match status {
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling) => {
                if attribute == Some(TTL_ATTRIBUTE) {
                    Ok(())
                } else {
                    Err(DirectoryError::Malformed(format!(
                        "table '{}' has TTL on '{}', expected '{TTL_ATTRIBUTE}'",
                        self.table,
                        attribute.unwrap_or_default()
                    )))
                }
            }
            _ => {
                let spec = TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(TTL_ATTRIBUTE)
                    .build()
                    .map_err(build_error)?;
                self.client
                    .update_time_to_live()
                    .table_name(&self.table)
                    .time_to_live_specification(spec)
                    .send()
                    .await
                    .map_err(unavailable("UpdateTimeToLive"))?;
                Ok(())
            }
        }
    }

    /// Everything in the table that is a directory item, sorted. Items of unknown kinds are
    /// skipped. Scans the whole table: admin use only.
    pub async fn export(&self) -> Result<DirectoryContents, DirectoryError> {
        let mut contents = DirectoryContents::default();
        for item in self.scan(None).await? {
            let pk = item
                .get(keys::PK)
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                .unwrap_or("");
            let sk = item
                .get(keys::SK)
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                .unwrap_or("");
            if pk.starts_with(TENANT_PREFIX) && sk == keys::TENANT_SK {
                contents.tenants.push(tenant_from_item(&item)?);
            } else if pk.starts_with(TIER_PREFIX) && sk == keys::TIER_SK {
                contents.tiers.push(tier_from_item(&item)?);
            } else if pk.starts_with(ROUTE_PREFIX) && sk == keys::ROUTE_SK {
                contents.routes.push(route_from_item(&item)?);
            } else if pk.starts_with(USER_PREFIX) && sk.starts_with(TENANT_PREFIX) {
                contents.members.push(membership_from_item(&item)?);
            } else if pk.starts_with(INVITE_PREFIX) && sk.starts_with(TENANT_PREFIX) {
                contents.invitations.push(invitation_from_item(&item)?);
            }
        }
        contents.tiers.sort_by(|a, b| a.id.cmp(&b.id));
        contents.tenants.sort_by(|a, b| a.id.cmp(&b.id));
        contents
            .routes
            .sort_by(|a, b| (a.kind, &a.key).cmp(&(b.kind, &b.key)));
        contents.members.sort_by(|a, b| {
            (&a.user_pool_id, &a.sub, &a.tenant_id).cmp(&(&b.user_pool_id, &b.sub, &b.tenant_id))
        });
        contents.invitations.sort_by(|a, b| {
            (&a.user_pool_id, &a.email, &a.tenant_id).cmp(&(
                &b.user_pool_id,
                &b.email,
                &b.tenant_id,
            ))
        });
        Ok(contents)
    }

    /// [`plan_import`](Self::plan_import) then [`apply_import`](Self::apply_import).
    pub async fn import(
        &self,
        document: &DirectoryDocument,
        now_epoch: i64,
    ) -> Result<ImportReport, ImportError> {
        let plan = self.plan_import(document, now_epoch).await?;
        self.apply_import(plan).await
    }

    /// Validates `document` against the table and computes what importing it would change,
    /// without writing. The document is an upsert: items it does not mention are left alone.
    ///
    /// Refused ([`ImportError::Invalid`], listing every problem): anything
    /// [`DirectoryDocument::validate`] rejects (tenants already in the table count as known), and
    /// a route whose key belongs to another tenant in the table. An existing membership keeps its
    /// `createdAt` and `source`. `now_epoch` stamps new memberships.
    pub async fn plan_import(
        &self,
        document: &DirectoryDocument,
        now_epoch: i64,
    ) -> Result<ImportPlan, ImportError> {
        let known = self.tenant_ids().await?;
        let contents = document
            .validate(&known, now_epoch)
            .map_err(ImportError::Invalid)?;
        let existing = self.batch_get(stored_keys(&contents)).await?;
        let mut plan = diff(&contents, &existing)?;
        for target in &plan.counts {
            let now = self.count_members(&target.tenant_id).await?;
            plan.report.user_counts.push(UserCount {
                tenant_id: target.tenant_id.clone(),
                before: target.before,
                after: now + target.created,
            });
        }
        Ok(plan)
    }

    /// Writes what `plan` lists (tiers, tenants, routes, members, invitations, in that order),
    /// then sets each counted tenant's `userCount` to its number of memberships (GSI1 count).
    pub async fn apply_import(&self, plan: ImportPlan) -> Result<ImportReport, ImportError> {
        let ImportPlan {
            mut report,
            tiers,
            tenants,
            routes,
            members,
            invitations,
            counts,
        } = plan;
        self.batch_put(tiers).await?;
        for t in &tenants {
            self.write_tenant(t).await?;
        }
        for r in &routes {
            self.write_route(r).await?;
        }
        self.batch_put(members).await?;
        self.batch_put(invitations).await?;

        // The plan's projected counts are replaced by the counts after writing.
        report.user_counts.clear();
        for target in counts {
            let mut count = self.count_members(&target.tenant_id).await?;
            let mut attempt = 1;
            while count < target.at_least && attempt < COUNT_ATTEMPTS {
                self.pause(attempt.min(4)).await;
                count = self.count_members(&target.tenant_id).await?;
                attempt += 1;
            }
            if count < target.at_least {
                report.warnings.push(format!(
                    "tenant '{}': GSI1 counts {count} members, fewer than the {} just imported \
                     (index lag?); userCount set to {count}, import again to recount",
                    target.tenant_id, target.at_least
                ));
            }
            if target.stored != Some(count) {
                self.set_user_count(&target.tenant_id, count).await?;
            }
            report.user_counts.push(UserCount {
                tenant_id: target.tenant_id,
                before: target.before,
                after: count,
            });
        }
        Ok(report)
    }

    /// Creates or updates a tenant's attributes without touching `userCount` (a concurrent
    /// provisioning may be counting), except that a missing one starts at 0.
    async fn write_tenant(&self, t: &Tenant) -> Result<(), DirectoryError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::tenant_pk(&t.id)))
            .key(keys::SK, s(keys::TENANT_SK))
            .expression_attribute_names("#count", attr::USER_COUNT)
            .expression_attribute_values(":zero", n(0));
        let mut sets = vec!["#count = if_not_exists(#count, :zero)".to_string()];
        let mut removes = Vec::new();
        for (i, (name, value)) in tenant_attributes(t).into_iter().enumerate() {
            request = request.expression_attribute_names(format!("#a{i}"), name);
            match value {
                Some(v) => {
                    sets.push(format!("#a{i} = :v{i}"));
                    request = request.expression_attribute_values(format!(":v{i}"), v);
                }
                None => removes.push(format!("#a{i}")),
            }
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        request
            .update_expression(expression)
            .send()
            .await
            .map_err(unavailable("UpdateItem"))?;
        Ok(())
    }

    /// Puts a route unless its key belongs to another tenant (checked when planning; the
    /// condition closes the race).
    async fn write_route(&self, r: &Route) -> Result<(), ImportError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(route_item(r)))
            .condition_expression("attribute_not_exists(#pk) OR #tenant = :tenant")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#tenant", attr::TENANT_ID)
            .expression_attribute_values(":tenant", s(r.tenant_id.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Err(ImportError::Conflict(format!(
                    "{} route '{}' was taken by another tenant meanwhile",
                    r.kind.as_str().to_ascii_lowercase(),
                    r.key
                )))
            }
            Err(e) => Err(unavailable("PutItem")(e).into()),
        }
    }

    async fn set_user_count(&self, tenant_id: &str, count: u32) -> Result<(), DirectoryError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::tenant_pk(tenant_id)))
            .key(keys::SK, s(keys::TENANT_SK))
            .update_expression("SET #count = :n")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#count", attr::USER_COUNT)
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_values(":n", n(count))
            .send()
            .await
            .map_err(unavailable("UpdateItem"))?;
        Ok(())
    }

    /// A tenant's members: a COUNT Query on GSI1 (all pages).
    async fn count_members(&self, tenant_id: &str) -> Result<u32, DirectoryError> {
        let mut total: u32 = 0;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(keys::GSI1)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", keys::GSI1PK)
                .expression_attribute_values(":pk", s(keys::tenant_pk(tenant_id)))
                .select(Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable("Query"))?;
            total = total.saturating_add(u32::try_from(out.count).unwrap_or(0));
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(total),
            }
        }
    }

    /// Ids of the tenants in the table (a Scan: admin only).
    async fn tenant_ids(&self) -> Result<BTreeSet<String>, DirectoryError> {
        Ok(self
            .scan(Some(keys::TENANT_SK))
            .await?
            .iter()
            .filter_map(|item| {
                item.get(keys::PK)?
                    .as_s()
                    .ok()?
                    .strip_prefix(TENANT_PREFIX)
                    .map(str::to_string)
            })
            .collect())
    }

    /// Every item (all pages), or only the keys of items with the given sort key.
    async fn scan(&self, only_sk: Option<&str>) -> Result<Vec<Item>, DirectoryError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut request = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start.take());
            if let Some(sk) = only_sk {
                request = request
                    .filter_expression("#sk = :sk")
                    .projection_expression("#pk")
                    .expression_attribute_names("#sk", keys::SK)
                    .expression_attribute_names("#pk", keys::PK)
                    .expression_attribute_values(":sk", s(sk));
            }
            let out = request.send().await.map_err(unavailable("Scan"))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// The stored items of `wanted` (consistent reads), keyed by (PK, SK).
    async fn batch_get(
        &self,
        wanted: Vec<(String, String)>,
    ) -> Result<HashMap<(String, String), Item>, DirectoryError> {
        let wanted: BTreeSet<(String, String)> = wanted.into_iter().collect();
        let wanted: Vec<_> = wanted.into_iter().collect();
        let mut found = HashMap::new();
        for chunk in wanted.chunks(BATCH_GET_MAX) {
            let key_maps = chunk
                .iter()
                .map(|(pk, sk)| {
                    Item::from([
                        (keys::PK.to_string(), s(pk.as_str())),
                        (keys::SK.to_string(), s(sk.as_str())),
                    ])
                })
                .collect();
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(key_maps))
                    .consistent_read(true)
                    .build()
                    .map_err(build_error)?,
            );
            let mut round = 0;
            while let Some(request) = pending.take() {
                if round == UNPROCESSED_ROUNDS {
                    return Err(DirectoryError::Unavailable(format!(
                        "BatchGetItem: keys still unprocessed after {UNPROCESSED_ROUNDS} rounds"
                    )));
                }
                if round > 0 {
                    self.pause(round.min(4)).await;
                }
                round += 1;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(unavailable("BatchGetItem"))?;
                for item in out
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default()
                {
                    let pk = item.get(keys::PK).and_then(|v| v.as_s().ok()).cloned();
                    let sk = item.get(keys::SK).and_then(|v| v.as_s().ok()).cloned();
                    if let (Some(pk), Some(sk)) = (pk, sk) {
                        found.insert((pk, sk), item);
                    }
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys.is_empty());
            }
        }
        Ok(found)
    }

    /// Puts `items` in BatchWriteItem chunks, re-submitting unprocessed ones.
    async fn batch_put(&self, items: Vec<Item>) -> Result<(), DirectoryError> {
        let mut requests = Vec::with_capacity(items.len());
        for item in items {
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(build_error)?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        let mut requests = requests.into_iter().peekable();
        while requests.peek().is_some() {
            let chunk: Vec<WriteRequest> = requests.by_ref().take(BATCH_WRITE_MAX).collect();
            let mut pending = Some(chunk);
            let mut round = 0;
            while let Some(chunk) = pending.take() {
                if round == UNPROCESSED_ROUNDS {
                    return Err(DirectoryError::Unavailable(format!(
                        "BatchWriteItem: items still unprocessed after {UNPROCESSED_ROUNDS} rounds"
                    )));
                }
                if round > 0 {
                    self.pause(round.min(4)).await;
                }
                round += 1;
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, chunk)
                    .send()
                    .await
                    .map_err(unavailable("BatchWriteItem"))?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|rest| !rest.is_empty());
            }
        }
        Ok(())
    }
}

/// Tenants whose `userCount` an import sets: the document's, and those receiving members.
fn counted_tenants(contents: &DirectoryContents) -> Vec<String> {
    let mut counted: Vec<String> = contents.tenants.iter().map(|t| t.id.clone()).collect();
    for m in &contents.members {
        if !counted.contains(&m.tenant_id) {
            counted.push(m.tenant_id.clone());
        }
    }
    counted
}

/// The keys of every item an import of `contents` writes or compares with.
fn stored_keys(contents: &DirectoryContents) -> Vec<(String, String)> {
    let tiers = contents
        .tiers
        .iter()
        .map(|t| (keys::tier_pk(&t.id), keys::TIER_SK.to_string()));
    let tenants = counted_tenants(contents)
        .into_iter()
        .map(|id| (keys::tenant_pk(&id), keys::TENANT_SK.to_string()));
    let routes = contents
        .routes
        .iter()
        .map(|r| (keys::route_pk(r.kind, &r.key), keys::ROUTE_SK.to_string()));
    let members = contents.members.iter().map(|m| {
        (
            keys::user_pk(&m.user_pool_id, &m.sub),
            keys::tenant_sk(&m.tenant_id),
        )
    });
    let invitations = contents.invitations.iter().map(|i| {
        (
            keys::invite_pk(&i.user_pool_id, &i.email),
            keys::tenant_sk(&i.tenant_id),
        )
    });
    tiers
        .chain(tenants)
        .chain(routes)
        .chain(members)
        .chain(invitations)
        .collect()
}

/// Compares validated `contents` with the `existing` items (keyed by PK, SK) and lists what to
/// write. Refuses routes whose key belongs to another tenant. The report's `user_counts` are left
/// to the caller, which counts the members already stored.
fn diff(
    contents: &DirectoryContents,
    existing: &HashMap<(String, String), Item>,
) -> Result<ImportPlan, ImportError> {
    let stored = |pk: String, sk: &str| existing.get(&(pk, sk.to_string()));

    let mut problems = Vec::new();
    for (i, r) in contents.routes.iter().enumerate() {
        let Some(item) = stored(keys::route_pk(r.kind, &r.key), keys::ROUTE_SK) else {
            continue;
        };
        match route_from_item(item) {
            Ok(old) if old.tenant_id != r.tenant_id => problems.push(format!(
                "routes[{i}]: {} route '{}' already belongs to tenant '{}'",
                r.kind.as_str().to_ascii_lowercase(),
                r.key,
                old.tenant_id
            )),
            Ok(_) => {}
            Err(e) => problems.push(format!("routes[{i}]: the stored route cannot be read: {e}")),
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Invalid(DocumentError { problems }));
    }

    let mut plan = ImportPlan::default();
    let report = &mut plan.report;

    for t in &contents.tiers {
        let item = tier_item(t);
        let change = Change::of(stored(keys::tier_pk(&t.id), keys::TIER_SK), &item);
        report.tiers.record(change);
        if change != Change::Unchanged {
            report
                .changes
                .push(format!("{} tier '{}'", change.verb(), t.id));
            plan.tiers.push(item);
        }
    }

    let mut rewritten_tenants = BTreeSet::new();
    for t in &contents.tenants {
        // Only the attributes a tenant write sets are compared (not userCount).
        let change = match stored(keys::tenant_pk(&t.id), keys::TENANT_SK) {
            None => Change::Create,
            Some(item) => {
                let same = tenant_attributes(t)
                    .iter()
                    .all(|(name, value)| present(item, name) == value.as_ref());
                if same {
                    Change::Unchanged
                } else {
                    Change::Update
                }
            }
        };
        report.tenants.record(change);
        if change != Change::Unchanged {
            report
                .changes
                .push(format!("{} tenant '{}'", change.verb(), t.id));
            plan.tenants.push(t.clone());
            rewritten_tenants.insert(t.id.as_str());
        }
    }

    for r in &contents.routes {
        let item = route_item(r);
        let change = Change::of(
            stored(keys::route_pk(r.kind, &r.key), keys::ROUTE_SK),
            &item,
        );
        report.routes.record(change);
        if change != Change::Unchanged {
            report.changes.push(format!(
                "{} route {} '{}' -> tenant '{}'",
                change.verb(),
                r.kind.as_str().to_ascii_lowercase(),
                r.key,
                r.tenant_id
            ));
            plan.routes.push(r.clone());
        }
    }

    let mut created_members: BTreeMap<&str, u32> = BTreeMap::new();
    let mut document_members: BTreeMap<&str, u32> = BTreeMap::new();
    for m in &contents.members {
        *document_members.entry(m.tenant_id.as_str()).or_default() += 1;
        let mut item = membership_item(m);
        let old = stored(
            keys::user_pk(&m.user_pool_id, &m.sub),
            &keys::tenant_sk(&m.tenant_id),
        );
        match old {
            Some(old) => {
                for kept in [attr::CREATED_AT, attr::SOURCE] {
                    if let Some(v) = present(old, kept) {
                        item.insert(kept.to_string(), v.clone());
                    }
                }
            }
            None => *created_members.entry(m.tenant_id.as_str()).or_default() += 1,
        }
        let change = Change::of(old, &item);
        report.members.record(change);
        if change != Change::Unchanged {
            report.changes.push(format!(
                "{} member '{}' of tenant '{}' (pool {})",
                change.verb(),
                m.sub,
                m.tenant_id,
                m.user_pool_id
            ));
            plan.members.push(item);
        }
    }

    for (i, inv) in contents.invitations.iter().enumerate() {
        let item = invitation_item(inv);
        let key = keys::invite_pk(&inv.user_pool_id, &inv.email);
        let change = Change::of(stored(key, &keys::tenant_sk(&inv.tenant_id)), &item);
        report.invitations.record(change);
        if change != Change::Unchanged {
            // The email is not shown: the entry's position in the document names it.
            report.changes.push(format!(
                "{} invitation (invitations[{i}]) to tenant '{}' (pool {})",
                change.verb(),
                inv.tenant_id,
                inv.user_pool_id
            ));
            plan.invitations.push(item);
        }
    }

    for id in counted_tenants(contents) {
        let before = match stored(keys::tenant_pk(&id), keys::TENANT_SK) {
            Some(item) => {
                let what = format!("tenant '{id}'");
                Reader { item, what: &what }.opt_num::<u32>(attr::USER_COUNT)?
            }
            None => None,
        };
        // A tenant write sets a missing userCount to 0.
        let stored = if rewritten_tenants.contains(id.as_str()) {
            Some(before.unwrap_or(0))
        } else {
            before
        };
        plan.counts.push(CountTarget {
            before,
            stored,
            created: created_members.get(id.as_str()).copied().unwrap_or(0),
            at_least: document_members.get(id.as_str()).copied().unwrap_or(0),
            tenant_id: id,
        });
    }
    Ok(plan)
}

fn check_table_shape(name: &str, table: &TableDescription) -> Result<(), DirectoryError> {
    let key_names = |schema: &[KeySchemaElement]| {
        schema
            .iter()
            .map(|k| (k.attribute_name().to_string(), k.key_type().clone()))
            .collect::<Vec<_>>()
    };
    let expected = |pk: &str, sk: &str| {
        vec![
            (pk.to_string(), KeyType::Hash),
            (sk.to_string(), KeyType::Range),
        ]
    };
    if key_names(table.key_schema()) != expected(keys::PK, keys::SK) {
        return Err(DirectoryError::Malformed(format!(
            "table '{name}' exists but its key is not {}/{}",
            keys::PK,
            keys::SK
        )));
    }
    let gsi_ok = table.global_secondary_indexes().iter().any(|g| {
        g.index_name() == Some(keys::GSI1)
            && key_names(g.key_schema()) == expected(keys::GSI1PK, keys::GSI1SK)
    });
    if !gsi_ok {
        return Err(DirectoryError::Malformed(format!(
            "table '{name}' exists but has no index {} on {}/{}",
            keys::GSI1,
            keys::GSI1PK,
            keys::GSI1SK
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Items
// ---------------------------------------------------------------------------------------------

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn string_list(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(|v| s(v.as_str())).collect())
}

/// An attribute's value, with `NULL` taken as absent.
fn present<'a>(item: &'a Item, name: &str) -> Option<&'a AttributeValue> {
    item.get(name)
        .filter(|v| !matches!(v, AttributeValue::Null(_)))
}

fn with_keys(
    pk: String,
    sk: String,
    attributes: impl IntoIterator<Item = (&'static str, AttributeValue)>,
) -> Item {
    let mut item = Item::from([(keys::PK.to_string(), s(pk)), (keys::SK.to_string(), s(sk))]);
    item.extend(attributes.into_iter().map(|(k, v)| (k.to_string(), v)));
    item
}

/// A tenant's attributes other than its keys and `userCount`; `None` means absent.
fn tenant_attributes(t: &Tenant) -> [(&'static str, Option<AttributeValue>); 8] {
    [
        (attr::NAME, Some(s(t.name.as_str()))),
        (attr::TIER, Some(s(t.tier.as_str()))),
        (attr::STATUS, Some(s(t.status.as_str()))),
        (
            attr::SELF_SIGN_UP,
            Some(AttributeValue::Bool(t.self_sign_up)),
        ),
        (
            attr::ALLOWED_EMAIL_DOMAINS,
            (!t.allowed_email_domains.is_empty()).then(|| string_list(&t.allowed_email_domains)),
        ),
        (attr::MAX_USERS, t.max_users.map(n)),
        (attr::DEFAULT_ROLE, Some(s(t.default_role.as_str()))),
        (attr::IAM_ROLE_ARN, t.iam_role_arn.as_deref().map(s)),
    ]
}

fn tier_item(t: &Tier) -> Item {
    with_keys(
        keys::tier_pk(&t.id),
        keys::TIER_SK.into(),
        [(attr::SCOPES, string_list(&t.scopes))],
    )
}

fn route_item(r: &Route) -> Item {
    with_keys(
        keys::route_pk(r.kind, &r.key),
        keys::ROUTE_SK.into(),
        [
            (attr::KIND, s(r.kind.as_str())),
            (attr::KEY, s(r.key.as_str())),
            (attr::TENANT_ID, s(r.tenant_id.as_str())),
            (attr::TRUST_EMAIL, AttributeValue::Bool(r.trust_email)),
        ],
    )
}

fn membership_item(m: &Membership) -> Item {
    let user = keys::user_pk(&m.user_pool_id, &m.sub);
    with_keys(
        user.clone(),
        keys::tenant_sk(&m.tenant_id),
        [
            (attr::USER_POOL_ID, s(m.user_pool_id.as_str())),
            (attr::SUB, s(m.sub.as_str())),
            (attr::TENANT_ID, s(m.tenant_id.as_str())),
            (attr::ROLES, string_list(&m.roles)),
            (attr::STATUS, s(m.status.as_str())),
            (attr::SOURCE, s(m.source.as_str())),
            (attr::CREATED_AT, n(m.created_at)),
            (keys::GSI1PK, s(keys::tenant_pk(&m.tenant_id))),
            (keys::GSI1SK, s(user)),
        ],
    )
}

fn invitation_item(i: &Invitation) -> Item {
    let mut item = with_keys(
        keys::invite_pk(&i.user_pool_id, &i.email),
        keys::tenant_sk(&i.tenant_id),
        [
            (attr::USER_POOL_ID, s(i.user_pool_id.as_str())),
            (attr::EMAIL, s(i.email.as_str())),
            (attr::TENANT_ID, s(i.tenant_id.as_str())),
            (attr::ROLES, string_list(&i.roles)),
        ],
    );
    if let Some(by) = &i.invited_by {
        item.insert(attr::INVITED_BY.into(), s(by.as_str()));
    }
    if let Some(at) = i.expires_at {
        item.insert(attr::EXPIRES_AT.into(), n(at));
    }
    item
}

/// Typed access to one item's attributes; errors name the item (`what`) and the attribute.
struct Reader<'a> {
    item: &'a Item,
    what: &'a str,
}

impl<'a> Reader<'a> {
    fn wrong(&self, name: &str, expected: &str) -> DirectoryError {
        DirectoryError::Malformed(format!(
            "{}: attribute '{name}' is not {expected}",
            self.what
        ))
    }

    fn req_s(&self, name: &str) -> Result<&'a str, DirectoryError> {
        self.opt_s(name)?.ok_or_else(|| {
            DirectoryError::Malformed(format!("{}: attribute '{name}' is missing", self.what))
        })
    }

    fn opt_s(&self, name: &str) -> Result<Option<&'a str>, DirectoryError> {
        match present(self.item, name) {
            None => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v)),
            Some(_) => Err(self.wrong(name, "a string")),
        }
    }

    fn opt_bool(&self, name: &str) -> Result<Option<bool>, DirectoryError> {
        match present(self.item, name) {
            None => Ok(None),
            Some(AttributeValue::Bool(v)) => Ok(Some(*v)),
            Some(_) => Err(self.wrong(name, "a boolean")),
        }
    }

    fn opt_num<T: FromStr>(&self, name: &str) -> Result<Option<T>, DirectoryError> {
        match present(self.item, name) {
            None => Ok(None),
            Some(AttributeValue::N(v)) => v
                .parse()
                .map(Some)
                .map_err(|_| self.wrong(name, "an integer in range")),
            Some(_) => Err(self.wrong(name, "a number")),
        }
    }

    /// A list of strings (`L` of `S`, or a string set).
    fn opt_strings(&self, name: &str) -> Result<Option<Vec<String>>, DirectoryError> {
        match present(self.item, name) {
            None => Ok(None),
            Some(AttributeValue::L(values)) => values
                .iter()
                .map(|v| match v {
                    AttributeValue::S(x) => Ok(x.clone()),
                    _ => Err(self.wrong(name, "a list of strings")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(AttributeValue::Ss(values)) => Ok(Some(values.clone())),
            Some(_) => Err(self.wrong(name, "a list of strings")),
        }
    }

    /// The part of the partition key after `prefix`.
    fn pk_suffix(&self, prefix: &str) -> Result<&'a str, DirectoryError> {
        let pk = self.req_s(keys::PK)?;
        pk.strip_prefix(prefix).ok_or_else(|| {
            DirectoryError::Malformed(format!("{}: PK does not start with {prefix}", self.what))
        })
    }
}

fn tenant_from_item(item: &Item) -> Result<Tenant, DirectoryError> {
    let id = Reader {
        item,
        what: "tenant item",
    }
    .pk_suffix(TENANT_PREFIX)?;
    let what = format!("tenant '{id}'");
    let r = Reader { item, what: &what };
    let status = match r.opt_s(attr::STATUS)? {
        None => TenantStatus::Active,
        Some(v) => {
            TenantStatus::parse(v).ok_or_else(|| r.wrong(attr::STATUS, "active or suspended"))?
        }
    };
    Ok(Tenant {
        id: id.to_string(),
        name: r.opt_s(attr::NAME)?.unwrap_or(id).to_string(),
        tier: r.req_s(attr::TIER)?.to_string(),
        status,
        self_sign_up: r.opt_bool(attr::SELF_SIGN_UP)?.unwrap_or(false),
        allowed_email_domains: r
            .opt_strings(attr::ALLOWED_EMAIL_DOMAINS)?
            .unwrap_or_default()
            .into_iter()
            .map(|d| d.trim().to_ascii_lowercase())
            .collect(),
        max_users: r.opt_num(attr::MAX_USERS)?,
        user_count: r.opt_num(attr::USER_COUNT)?.unwrap_or(0),
        default_role: r
            .opt_s(attr::DEFAULT_ROLE)?
            .filter(|v| !v.is_empty())
            .unwrap_or(DEFAULT_ROLE)
            .to_string(),
        iam_role_arn: r
            .opt_s(attr::IAM_ROLE_ARN)?
            .filter(|v| !v.is_empty())
            .map(str::to_string),
    })
}

fn tier_from_item(item: &Item) -> Result<Tier, DirectoryError> {
    let id = Reader {
        item,
        what: "tier item",
    }
    .pk_suffix(TIER_PREFIX)?;
    let what = format!("tier '{id}'");
    let r = Reader { item, what: &what };
    Ok(Tier {
        id: id.to_string(),
        scopes: r.opt_strings(attr::SCOPES)?.unwrap_or_default(),
    })
}

/// Kind and key come from the partition key (the route's identity).
fn route_from_item(item: &Item) -> Result<Route, DirectoryError> {
    let rest = Reader {
        item,
        what: "route item",
    }
    .pk_suffix(ROUTE_PREFIX)?;
    let (kind, key) = rest
        .split_once('#')
        .and_then(|(kind, key)| Some((RouteKind::parse(kind)?, key)))
        .ok_or_else(|| {
            DirectoryError::Malformed("route item: PK is not ROUTE#{KIND}#{key}".into())
        })?;
    let what = format!("route {} '{key}'", kind.as_str());
    let r = Reader { item, what: &what };
    Ok(Route {
        kind,
        key: key.to_string(),
        tenant_id: r.req_s(attr::TENANT_ID)?.to_string(),
        trust_email: r.opt_bool(attr::TRUST_EMAIL)?.unwrap_or(false),
    })
}

fn membership_from_item(item: &Item) -> Result<Membership, DirectoryError> {
    let r = Reader {
        item,
        what: "membership",
    };
    let sub = r.req_s(attr::SUB)?;
    let what = format!("membership of sub '{sub}'");
    let r = Reader { item, what: &what };
    let status = match r.opt_s(attr::STATUS)? {
        None => MembershipStatus::Active,
        Some(v) => MembershipStatus::parse(v)
            .ok_or_else(|| r.wrong(attr::STATUS, "active or suspended"))?,
    };
    Ok(Membership {
        user_pool_id: r.req_s(attr::USER_POOL_ID)?.to_string(),
        sub: sub.to_string(),
        tenant_id: r.req_s(attr::TENANT_ID)?.to_string(),
        roles: r.opt_strings(attr::ROLES)?.unwrap_or_default(),
        status,
        source: r.opt_s(attr::SOURCE)?.unwrap_or("unknown").to_string(),
        created_at: r.opt_num(attr::CREATED_AT)?.unwrap_or(0),
    })
}

/// Error texts name the tenant, never the email.
fn invitation_from_item(item: &Item) -> Result<Invitation, DirectoryError> {
    let r = Reader {
        item,
        what: "invitation",
    };
    let tenant_id = r.req_s(attr::TENANT_ID)?;
    let what = format!("invitation to tenant '{tenant_id}'");
    let r = Reader { item, what: &what };
    Ok(Invitation {
        user_pool_id: r.req_s(attr::USER_POOL_ID)?.to_string(),
        email: r.req_s(attr::EMAIL)?.to_ascii_lowercase(),
        tenant_id: tenant_id.to_string(),
        roles: r.opt_strings(attr::ROLES)?.unwrap_or_default(),
        invited_by: r.opt_s(attr::INVITED_BY)?.map(str::to_string),
        expires_at: r.opt_num(attr::EXPIRES_AT)?,
    })
}

fn unavailable<E: std::error::Error>(operation: &'static str) -> impl FnOnce(E) -> DirectoryError {
    move |e| DirectoryError::Unavailable(format!("{operation}: {}", DisplayErrorContext(&e)))
}

fn build_error(e: BuildError) -> DirectoryError {
    DirectoryError::Unavailable(format!("building a DynamoDB request: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> Tenant {
        Tenant {
            id: "acme".into(),
            name: "Acme".into(),
            tier: "basic".into(),
            status: TenantStatus::Suspended,
            self_sign_up: true,
            allowed_email_domains: vec!["acme.example".into()],
            max_users: Some(5),
            user_count: 0,
            default_role: "member".into(),
            iam_role_arn: None,
        }
    }

    fn tenant_item_of(t: &Tenant, user_count: Option<u32>) -> Item {
        let attributes = tenant_attributes(t)
            .into_iter()
            .filter_map(|(k, v)| Some((k, v?)));
        let mut item = with_keys(keys::tenant_pk(&t.id), keys::TENANT_SK.into(), attributes);
        if let Some(c) = user_count {
            item.insert(attr::USER_COUNT.into(), n(c));
        }
        item
    }

    #[test]
    fn tenant_items_round_trip_and_optional_attributes_are_omitted() {
        let t = tenant();
        let item = tenant_item_of(&t, Some(3));
        assert!(!item.contains_key(attr::IAM_ROLE_ARN));
        assert_eq!(
            tenant_from_item(&item).unwrap(),
            Tenant {
                user_count: 3,
                ..t.clone()
            }
        );
        let unlimited = Tenant {
            max_users: None,
            allowed_email_domains: vec![],
            ..t
        };
        let item = tenant_item_of(&unlimited, None);
        assert!(
            !item.contains_key(attr::MAX_USERS) && !item.contains_key(attr::ALLOWED_EMAIL_DOMAINS)
        );
        assert_eq!(tenant_from_item(&item).unwrap(), unlimited);
    }

    #[test]
    fn missing_optional_attributes_take_the_documented_defaults() {
        let item = with_keys(
            keys::tenant_pk("t"),
            keys::TENANT_SK.into(),
            [(attr::TIER, s("basic"))],
        );
        let t = tenant_from_item(&item).unwrap();
        assert_eq!(
            (
                t.name.as_str(),
                t.status,
                t.self_sign_up,
                t.max_users,
                t.user_count,
                t.default_role.as_str()
            ),
            ("t", TenantStatus::Active, false, None, 0, "member")
        );
    }

    #[test]
    fn malformed_items_name_the_attribute_instead_of_defaulting() {
        let mut item = tenant_item_of(&tenant(), None);
        item.insert(attr::MAX_USERS.into(), s("5"));
        let err = tenant_from_item(&item).unwrap_err().to_string();
        assert!(
            err.contains("'maxUsers'") && err.contains("tenant 'acme'"),
            "{err}"
        );

        let mut item = tenant_item_of(&tenant(), None);
        item.remove(attr::TIER);
        assert!(tenant_from_item(&item)
            .unwrap_err()
            .to_string()
            .contains("'tier' is missing"));

        let mut item = tenant_item_of(&tenant(), None);
        item.insert(attr::STATUS.into(), s("deleted"));
        assert!(matches!(
            tenant_from_item(&item),
            Err(DirectoryError::Malformed(_))
        ));

        let route = with_keys(
            keys::route_pk(RouteKind::Pool, "p"),
            keys::ROUTE_SK.into(),
            [],
        );
        assert!(route_from_item(&route)
            .unwrap_err()
            .to_string()
            .contains("'tenantId' is missing"));
    }

    #[test]
    fn invitation_errors_do_not_contain_the_email() {
        let inv = Invitation {
            user_pool_id: "p".into(),
            email: "secret.person@acme.example".into(),
            tenant_id: "acme".into(),
            roles: vec!["member".into()],
            invited_by: None,
            expires_at: Some(10),
        };
        let mut item = invitation_item(&inv);
        assert_eq!(invitation_from_item(&item).unwrap(), inv);
        item.insert(attr::EXPIRES_AT.into(), s("soon"));
        let err = invitation_from_item(&item).unwrap_err().to_string();
        assert!(
            err.contains("expiresAt") && !err.contains("secret.person"),
            "{err}"
        );
    }

    #[test]
    fn idp_route_keys_keep_their_hash_when_parsed_from_the_partition_key() {
        let r = Route {
            kind: RouteKind::Idp,
            key: "us-east-1_X#acmesaml".into(),
            tenant_id: "acme".into(),
            trust_email: true,
        };
        assert_eq!(route_from_item(&route_item(&r)).unwrap(), r);
    }

    #[test]
    fn provisioning_transaction_lists_items_in_slot_order() {
        let m = Membership {
            user_pool_id: "p".into(),
            sub: "s".into(),
            tenant_id: "acme".into(),
            roles: vec!["member".into()],
            status: MembershipStatus::Active,
            source: "invitation".into(),
            created_at: 1,
        };
        let with_invite = ProvisionRequest {
            membership: m.clone(),
            invitation_tenant_id: Some("acme".into()),
            invitation_email: Some("A@Acme.Example".into()),
        };
        let items = provision_items("t", &with_invite).unwrap();
        let slots: Vec<Slot> = items.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            slots,
            [
                Slot::Membership,
                Slot::Guard,
                Slot::Invitation,
                Slot::Tenant
            ]
        );
        let delete = items[2].1.delete().unwrap();
        assert_eq!(delete.key()[keys::PK], s("INVITE#p#a@acme.example"));
        let without = ProvisionRequest {
            membership: m,
            invitation_tenant_id: None,
            invitation_email: None,
        };
        let slots: Vec<Slot> = provision_items("t", &without)
            .unwrap()
            .iter()
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(slots, [Slot::Membership, Slot::Guard, Slot::Tenant]);
    }

    fn reason(code: &str, item: Option<Item>) -> CancellationReason {
        CancellationReason::builder()
            .code(code)
            .set_item(item)
            .build()
    }

    #[test]
    fn cancellation_reasons_are_read_by_item_position() {
        use Cancellation::*;
        let three = [Slot::Membership, Slot::Invitation, Slot::Tenant];
        let two = [Slot::Membership, Slot::Tenant];
        let member = membership_item(&Membership {
            user_pool_id: "p".into(),
            sub: "s".into(),
            tenant_id: "acme".into(),
            roles: vec![],
            status: MembershipStatus::Active,
            source: "import".into(),
            created_at: 1,
        });
        let ccf = "ConditionalCheckFailed";

        // Membership first: the other failures are consequences of the first provisioning.
        let r = [
            reason(ccf, Some(member.clone())),
            reason(ccf, None),
            reason(ccf, None),
        ];
        assert_eq!(
            classify_cancellation(&three, &r),
            AlreadyMember(Some(&member))
        );
        let r = [reason(ccf, None), reason("None", None)];
        assert_eq!(classify_cancellation(&two, &r), AlreadyMember(None));
        // A conflict anywhere is retried before other conditions are believed.
        let r = [
            reason("None", None),
            reason("TransactionConflict", None),
            reason(ccf, None),
        ];
        assert_eq!(classify_cancellation(&three, &r), Conflict);
        let r = [reason("None", None), reason(ccf, None), reason(ccf, None)];
        assert_eq!(classify_cancellation(&three, &r), InvitationGone);
        // The same tenant failure at index 1 when there is no invitation item.
        let tenant = tenant_item_of(&tenant(), Some(5));
        let r = [reason("None", None), reason(ccf, Some(tenant.clone()))];
        assert_eq!(
            classify_cancellation(&two, &r),
            TenantRefused(Some(&tenant))
        );
        let r = [
            reason("None", None),
            reason("None", None),
            reason(ccf, Some(HashMap::new())),
        ];
        assert_eq!(
            classify_cancellation(&three, &r),
            TenantRefused(None),
            "an empty item is no item"
        );
        let r = [reason("None", None), reason("ThrottlingError", None)];
        assert_eq!(classify_cancellation(&two, &r), Other);
        assert_eq!(
            classify_cancellation(&three, &[reason(ccf, None)]),
            Other,
            "reasons must match the items"
        );
    }

    #[test]
    fn a_refusing_tenant_is_inactive_or_full() {
        let suspended = tenant();
        assert_eq!(
            tenant_refusal(None),
            Attempt::Done(ProvisionOutcome::TenantInactive)
        );
        assert_eq!(
            tenant_refusal(Some(&suspended)),
            Attempt::Done(ProvisionOutcome::TenantInactive)
        );
        let full = Tenant {
            status: TenantStatus::Active,
            user_count: 5,
            ..tenant()
        };
        assert_eq!(
            tenant_refusal(Some(&full)),
            Attempt::Done(ProvisionOutcome::SeatLimitReached)
        );
        let freed = Tenant {
            user_count: 4,
            ..full
        };
        assert!(matches!(tenant_refusal(Some(&freed)), Attempt::Retry(_)));
    }

    fn keyed(items: Vec<Item>) -> HashMap<(String, String), Item> {
        items
            .into_iter()
            .map(|i| {
                let pk = i[keys::PK].as_s().unwrap().clone();
                let sk = i[keys::SK].as_s().unwrap().clone();
                ((pk, sk), i)
            })
            .collect()
    }

    fn contents(json: &str, created_at: i64) -> DirectoryContents {
        DirectoryDocument::from_json(json)
            .unwrap()
            .validate(&BTreeSet::new(), created_at)
            .unwrap()
    }

    #[test]
    fn diff_keeps_member_history_and_compares_tenants_without_user_count() {
        let json = r#"{"tenants":[{"id":"acme","tier":"basic"}],
            "members":[{"userPoolId":"p","sub":"s","tenantId":"acme"}]}"#;
        let first = contents(json, 100);
        let mut stored_tenant = Tenant {
            user_count: 7,
            ..first.tenants[0].clone()
        };
        let existing = keyed(vec![
            tenant_item_of(&stored_tenant, Some(7)),
            membership_item(&Membership {
                source: "invitation".into(),
                ..first.members[0].clone()
            }),
        ]);
        // Imported again later: the member's createdAt (100) and source are kept.
        let plan = diff(&contents(json, 999), &existing).unwrap();
        assert_eq!(
            (plan.report.tenants.unchanged, plan.report.members.unchanged),
            (1, 1)
        );
        assert!(plan.tenants.is_empty() && plan.members.is_empty());
        let count = &plan.counts[0];
        assert_eq!(
            (count.before, count.stored, count.created, count.at_least),
            (Some(7), Some(7), 0, 1)
        );

        stored_tenant.name = "Old name".into();
        let existing = keyed(vec![tenant_item_of(&stored_tenant, None)]);
        let plan = diff(&contents(json, 999), &existing).unwrap();
        assert_eq!(
            (plan.report.tenants.updated, plan.report.members.created),
            (1, 1)
        );
        let count = &plan.counts[0];
        assert_eq!(
            (count.before, count.stored, count.created),
            (None, Some(0), 1)
        );
    }

    #[test]
    fn diff_refuses_a_route_of_another_tenant() {
        let json = r#"{"tenants":[{"id":"b","tier":"t"}],
            "routes":[{"kind":"pool","key":"p1","tenantId":"b"},{"kind":"pool","key":"p2","tenantId":"b"}]}"#;
        let taken = Route {
            kind: RouteKind::Pool,
            key: "p2".into(),
            tenant_id: "a".into(),
            trust_email: false,
        };
        let err = diff(&contents(json, 0), &keyed(vec![route_item(&taken)])).unwrap_err();
        let ImportError::Invalid(e) = err else {
            panic!("{err}")
        };
        assert_eq!(
            e.problems,
            vec!["routes[1]: pool route 'p2' already belongs to tenant 'a'"]
        );
    }

    #[test]
    fn timeouts_fit_cognitos_budget_with_a_retry() {
        assert!(ATTEMPT_TIMEOUT * MAX_ATTEMPTS <= OPERATION_TIMEOUT);
        assert!(OPERATION_TIMEOUT * 2 <= Duration::from_secs(5));
        let c = lambda_timeout_config();
        assert_eq!(c.operation_timeout(), Some(OPERATION_TIMEOUT));
        assert_eq!(c.connect_timeout(), Some(CONNECT_TIMEOUT));
    }
}
