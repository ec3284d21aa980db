//! The directory table as administrators see it: creating it, and the reads and writes every
//! command shares (consistent gets, scans, the per-tenant index, batches, conditional writes,
//! transactions). Admin only: the functions never link this crate.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, DeleteRequest,
    GlobalSecondaryIndex, KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType,
    PutRequest, ScalarAttributeType, Select, TableDescription, TimeToLiveSpecification,
    TimeToLiveStatus, TransactWriteItem, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use tenant_lookup::store::dynamo::codec::{s, Item, TTL_ATTRIBUTE};
use tenant_lookup::store::keys;
use tenant_lookup::DynamoDirectory;

use crate::error::{sdk, AdminError};
use crate::progress::Progress;

/// Rounds of `UnprocessedItems`/`UnprocessedKeys` re-submission before giving up.
const UNPROCESSED_ROUNDS: u32 = 8;
const BATCH_WRITE_MAX: usize = 25;
const BATCH_GET_MAX: usize = 100;
/// Items of one `TransactWriteItems` (DynamoDB's limit).
pub const TRANSACTION_MAX: usize = 100;

/// The tenant directory table, for administration.
#[derive(Clone, Debug)]
pub struct TenantTable {
    directory: DynamoDirectory,
}

impl TenantTable {
    pub fn new(directory: DynamoDirectory) -> Self {
        Self { directory }
    }

    /// The table as the triggers read it.
    pub fn directory(&self) -> &DynamoDirectory {
        &self.directory
    }

    pub fn client(&self) -> &Client {
        self.directory.client()
    }

    pub fn table(&self) -> &str {
        self.directory.table()
    }

    /// A transaction item that holds only while tenant `tenant_id` exists: what a route or an
    /// invitation is written beside, so that none names a tenant deleted meanwhile.
    pub fn tenant_exists(&self, tenant_id: &str) -> Result<ConditionCheck, AdminError> {
        ConditionCheck::builder()
            .table_name(self.table())
            .key(keys::PK, s(keys::tenant_pk(tenant_id)))
            .key(keys::SK, s(keys::TENANT_SK))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .build()
            .map_err(build)
    }

    /// Creates the table (PAY_PER_REQUEST, `PK`/`SK`, `GSI1` on `GSI1PK`/`GSI1SK` projecting
    /// everything), waits until it is ACTIVE and enables TTL on [`TTL_ATTRIBUTE`]. Idempotent:
    /// an existing table is checked (keys and index) and `false` returned.
    pub async fn create_table(&self) -> Result<bool, AdminError> {
        let existing = match self
            .client()
            .describe_table()
            .table_name(self.table())
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
            Err(e) => return Err(sdk("DescribeTable", self.table())(e)),
        };
        let created = match existing {
            Some(table) => {
                check_table_shape(self.table(), &table)?;
                false
            }
            None => self.send_create_table().await?,
        };
        self.client()
            .wait_until_table_exists()
            .table_name(self.table())
            .wait(Duration::from_secs(300))
            .await
            .map_err(|_| {
                AdminError::Unreachable(format!("table '{}' did not become ACTIVE", self.table()))
            })?;
        self.ensure_ttl().await?;
        Ok(created)
    }

    async fn send_create_table(&self) -> Result<bool, AdminError> {
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(build)
        };
        let definition = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build)
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
            .map_err(build)?;
        let result = self
            .client()
            .create_table()
            .table_name(self.table())
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
            Err(e) => Err(sdk("CreateTable", self.table())(e)),
        }
    }

    async fn ensure_ttl(&self) -> Result<(), AdminError> {
        let out = self
            .client()
            .describe_time_to_live()
            .table_name(self.table())
            .send()
            .await
            .map_err(sdk("DescribeTimeToLive", self.table()))?;
        let description = out.time_to_live_description;
        let status = description.as_ref().and_then(|d| d.time_to_live_status());
        let attribute = description.as_ref().and_then(|d| d.attribute_name());
        match status {
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling) => {
                if attribute == Some(TTL_ATTRIBUTE) {
                    Ok(())
                } else {
                    Err(AdminError::Conflict(format!(
                        "table '{}' has TTL on '{}', expected '{TTL_ATTRIBUTE}'",
                        self.table(),
                        attribute.unwrap_or_default()
                    )))
                }
            }
            _ => {
                let spec = TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(TTL_ATTRIBUTE)
                    .build()
                    .map_err(build)?;
                self.client()
                    .update_time_to_live()
                    .table_name(self.table())
                    .time_to_live_specification(spec)
                    .send()
                    .await
                    .map_err(sdk("UpdateTimeToLive", self.table()))?;
                Ok(())
            }
        }
    }

    /// One item, read consistently.
    pub async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, AdminError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk("GetItem", self.table()))?;
        Ok(out.item)
    }

    /// Every item of the table, or those `filter` keeps, page by page (all pages), read
    /// consistently; `progress` counts the items read. A Scan: admin only.
    pub async fn scan(
        &self,
        filter: ScanFilter<'_>,
        progress: &dyn Progress,
    ) -> Result<Vec<Item>, AdminError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self.scan_page(&filter, start.take(), None).await?;
            progress.advance(page.items.len() as u64);
            items.extend(page.items);
            match page.next {
                Some(key) => start = Some(key),
                None => return Ok(items),
            }
        }
    }

    /// One page of a Scan from `start`, at most `limit` items evaluated.
    pub async fn scan_page(
        &self,
        filter: &ScanFilter<'_>,
        start: Option<Item>,
        limit: Option<i32>,
    ) -> Result<Page, AdminError> {
        let mut request = self
            .client()
            .scan()
            .table_name(self.table())
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .set_limit(limit);
        match filter {
            ScanFilter::All => {}
            ScanFilter::KeysWithSortKeys(sort_keys) => {
                let placeholders: Vec<String> =
                    (0..sort_keys.len()).map(|i| format!(":sk{i}")).collect();
                request = request
                    .filter_expression(format!("#sk IN ({})", placeholders.join(", ")))
                    .projection_expression("#pk, #sk")
                    .expression_attribute_names("#sk", keys::SK)
                    .expression_attribute_names("#pk", keys::PK);
                for (p, sk) in placeholders.iter().zip(sort_keys.iter()) {
                    request = request.expression_attribute_values(p, s(*sk));
                }
            }
            ScanFilter::Prefixes(pk, sk) => {
                request = request
                    .filter_expression("begins_with(#pk, :pk) AND begins_with(#sk, :sk)")
                    .expression_attribute_names("#pk", keys::PK)
                    .expression_attribute_names("#sk", keys::SK)
                    .expression_attribute_values(":pk", s(*pk))
                    .expression_attribute_values(":sk", s(*sk));
            }
            ScanFilter::Memberships(tenant) => {
                request = request
                    .projection_expression("#pk, #sk")
                    .expression_attribute_names("#pk", keys::PK)
                    .expression_attribute_names("#sk", keys::SK)
                    .expression_attribute_values(":user", s(keys::USER_PREFIX));
                request = match tenant {
                    Some(t) => request
                        .filter_expression("begins_with(#pk, :user) AND #sk = :tenant")
                        .expression_attribute_values(":tenant", s(keys::tenant_sk(t))),
                    None => request
                        .filter_expression("begins_with(#pk, :user) AND begins_with(#sk, :tenant)")
                        .expression_attribute_values(":tenant", s(keys::TENANT_PREFIX)),
                };
            }
        }
        let out = request.send().await.map_err(sdk("Scan", self.table()))?;
        Ok(Page {
            items: out.items.unwrap_or_default(),
            next: out.last_evaluated_key.filter(|k| !k.is_empty()),
        })
    }

    /// Ids of the tenants and of the tiers in the table.
    pub async fn known_ids(&self) -> Result<(BTreeSet<String>, BTreeSet<String>), AdminError> {
        let mut tenants = BTreeSet::new();
        let mut tiers = BTreeSet::new();
        let items = self
            .scan(
                ScanFilter::KeysWithSortKeys(&[keys::TENANT_SK, keys::TIER_SK]),
                &(),
            )
            .await?;
        for item in items {
            let Some(pk) = item.get(keys::PK).and_then(|v| v.as_s().ok()) else {
                continue;
            };
            if let Some(id) = pk.strip_prefix(keys::TENANT_PREFIX) {
                tenants.insert(id.to_string());
            } else if let Some(id) = pk.strip_prefix(keys::TIER_PREFIX) {
                tiers.insert(id.to_string());
            }
        }
        Ok((tenants, tiers))
    }

    /// One page of what the index GSI1 holds for a tenant: items whose GSI1SK starts with
    /// `prefix` (`USER#` memberships, `ROUTE#` routes, `INVITE#` invitations), in key order.
    /// The index is eventually consistent: an item written a moment ago may be missing.
    pub async fn tenant_page(
        &self,
        tenant_id: &str,
        prefix: &str,
        start: Option<Item>,
        limit: Option<i32>,
    ) -> Result<Page, AdminError> {
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(keys::GSI1)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", keys::GSI1PK)
            .expression_attribute_names("#sk", keys::GSI1SK)
            .expression_attribute_values(":pk", s(keys::tenant_pk(tenant_id)))
            .expression_attribute_values(":prefix", s(prefix))
            .set_exclusive_start_key(start)
            .set_limit(limit)
            .send()
            .await
            .map_err(sdk("Query", self.table()))?;
        Ok(Page {
            items: out.items.unwrap_or_default(),
            next: out.last_evaluated_key.filter(|k| !k.is_empty()),
        })
    }

    /// Everything GSI1 holds for a tenant under `prefix` (all pages).
    pub async fn tenant_items(
        &self,
        tenant_id: &str,
        prefix: &str,
    ) -> Result<Vec<Item>, AdminError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .tenant_page(tenant_id, prefix, start.take(), None)
                .await?;
            items.extend(page.items);
            match page.next {
                Some(key) => start = Some(key),
                None => return Ok(items),
            }
        }
    }

    /// How many items GSI1 holds for a tenant under `prefix` (a COUNT Query, all pages).
    pub async fn tenant_count(&self, tenant_id: &str, prefix: &str) -> Result<u64, AdminError> {
        let mut total: u64 = 0;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(self.table())
                .index_name(keys::GSI1)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", keys::GSI1PK)
                .expression_attribute_names("#sk", keys::GSI1SK)
                .expression_attribute_values(":pk", s(keys::tenant_pk(tenant_id)))
                .expression_attribute_values(":prefix", s(prefix))
                .select(Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(sdk("Query", self.table()))?;
            total += u64::try_from(out.count).unwrap_or(0);
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(total),
            }
        }
    }

    /// The stored items of `wanted` (consistent reads), keyed by (PK, SK).
    pub async fn batch_get(
        &self,
        wanted: Vec<(String, String)>,
        progress: &dyn Progress,
    ) -> Result<HashMap<(String, String), Item>, AdminError> {
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
                    .map_err(build)?,
            );
            let mut round = 0;
            while let Some(request) = pending.take() {
                if round == UNPROCESSED_ROUNDS {
                    return Err(AdminError::Unreachable(format!(
                        "the directory is unreachable: BatchGetItem on table '{}': keys still \
                         unprocessed after {UNPROCESSED_ROUNDS} rounds",
                        self.table()
                    )));
                }
                if round > 0 {
                    self.directory.pause(round.min(4)).await;
                }
                round += 1;
                let out = self
                    .client()
                    .batch_get_item()
                    .request_items(self.table(), request)
                    .send()
                    .await
                    .map_err(sdk("BatchGetItem", self.table()))?;
                for item in out
                    .responses
                    .and_then(|mut r| r.remove(self.table()))
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
                    .and_then(|mut u| u.remove(self.table()))
                    .filter(|k| !k.keys.is_empty());
            }
            progress.advance(chunk.len() as u64);
        }
        Ok(found)
    }

    /// Deletes the items of `keys` (unconditionally) in BatchWriteItem chunks.
    pub async fn batch_delete(&self, wanted: Vec<(String, String)>) -> Result<(), AdminError> {
        let mut requests = Vec::with_capacity(wanted.len());
        for (pk, sk) in wanted {
            let delete = DeleteRequest::builder()
                .key(keys::PK, s(pk))
                .key(keys::SK, s(sk))
                .build()
                .map_err(build)?;
            requests.push(WriteRequest::builder().delete_request(delete).build());
        }
        self.batch_write(requests).await
    }

    /// Puts `items` (unconditionally) in BatchWriteItem chunks.
    pub async fn batch_put(&self, items: Vec<Item>) -> Result<(), AdminError> {
        let mut requests = Vec::with_capacity(items.len());
        for item in items {
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(build)?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        self.batch_write(requests).await
    }

    async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), AdminError> {
        let mut requests = requests.into_iter().peekable();
        while requests.peek().is_some() {
            let chunk: Vec<WriteRequest> = requests.by_ref().take(BATCH_WRITE_MAX).collect();
            let mut pending = Some(chunk);
            let mut round = 0;
            while let Some(chunk) = pending.take() {
                if round == UNPROCESSED_ROUNDS {
                    return Err(AdminError::Unreachable(format!(
                        "the directory is unreachable: BatchWriteItem on table '{}': items \
                         still unprocessed after {UNPROCESSED_ROUNDS} rounds",
                        self.table()
                    )));
                }
                if round > 0 {
                    self.directory.pause(round.min(4)).await;
                }
                round += 1;
                let out = self
                    .client()
                    .batch_write_item()
                    .request_items(self.table(), chunk)
                    .send()
                    .await
                    .map_err(sdk("BatchWriteItem", self.table()))?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(self.table()))
                    .filter(|rest| !rest.is_empty());
            }
        }
        Ok(())
    }

    /// One `TransactWriteItems`: `Ok(None)` when it committed, `Ok(Some(reasons))` when it was
    /// cancelled (one cancellation code per item, in order: `None`, `ConditionalCheckFailed`,
    /// `TransactionConflict`, ...).
    pub async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Option<Vec<String>>, AdminError> {
        let result = self
            .client()
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => Ok(Some(
                    c.cancellation_reasons()
                        .iter()
                        .map(|r| r.code().unwrap_or("None").to_string())
                        .collect(),
                )),
                _ => Err(sdk("TransactWriteItems", self.table())(e)),
            },
        }
    }
}

/// Where a listing reads from.
pub enum Source<'a> {
    /// A Scan (consistent), in the table's order.
    Scan(ScanFilter<'a>),
    /// GSI1: a tenant's items under a prefix (`USER#`, `ROUTE#`, `INVITE#`), in key order.
    Tenant(&'a str, &'a str),
}

impl TenantTable {
    /// At most `limit` items of `source` from after `start`, and whether there are more. Pass
    /// [`Source::start_after`] of the last item to continue.
    pub async fn list(
        &self,
        source: &Source<'_>,
        mut start: Option<Item>,
        limit: Option<usize>,
    ) -> Result<(Vec<Item>, bool), AdminError> {
        let mut out = Vec::new();
        loop {
            let page_size = limit.map(|l| (l - out.len()).clamp(1, 1000) as i32);
            let page = match source {
                Source::Scan(filter) => self.scan_page(filter, start.take(), page_size).await?,
                Source::Tenant(tenant, prefix) => {
                    self.tenant_page(tenant, prefix, start.take(), page_size)
                        .await?
                }
            };
            let mut items = page.items.into_iter();
            for item in items.by_ref() {
                out.push(item);
                if limit.is_some_and(|l| out.len() >= l) {
                    let more = items.next().is_some() || page.next.is_some();
                    return Ok((out, more));
                }
            }
            match page.next {
                Some(next) => start = Some(next),
                None => return Ok((out, false)),
            }
        }
    }
}

impl Source<'_> {
    /// The key to start after `item`: its table key, plus its index key for GSI1.
    pub fn start_after(&self, item: &Item) -> Item {
        let names: &[&str] = match self {
            Source::Scan(_) => &[keys::PK, keys::SK],
            Source::Tenant(..) => &[keys::PK, keys::SK, keys::GSI1PK, keys::GSI1SK],
        };
        names
            .iter()
            .filter_map(|n| Some((n.to_string(), item.get(*n)?.clone())))
            .collect()
    }
}

/// Which items a Scan keeps.
pub enum ScanFilter<'a> {
    All,
    /// Only the keys of items with one of these sort keys.
    KeysWithSortKeys(&'a [&'a str]),
    /// Items whose partition and sort keys start with these prefixes (`TENANT#`/`TENANT`:
    /// tenants, `TIER#`/`TIER`, `ROUTE#`/`ROUTE`, `INVITE#`/`TENANT#`).
    Prefixes(&'a str, &'a str),
    /// The keys of memberships (of one tenant, or of all).
    Memberships(Option<&'a str>),
}

/// One page of a Scan or Query, and where the next one starts.
#[derive(Debug, Default)]
pub struct Page {
    pub items: Vec<Item>,
    pub next: Option<Item>,
}

/// A request that could not be built (a missing required field): a bug, not the operator's.
pub fn build(e: BuildError) -> AdminError {
    AdminError::Malformed(format!("a DynamoDB request could not be built: {e}"))
}

/// Whether a failed write failed its condition.
pub fn condition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

/// Placeholders for an expression's attribute names and values, numbered as they are added.
#[derive(Debug, Default)]
pub struct Expr {
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Expr {
    /// The placeholder of attribute `name` (the same one each time).
    pub fn name(&mut self, name: &str) -> String {
        if let Some((placeholder, _)) = self.names.iter().find(|(_, n)| *n == name) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), name.to_string());
        placeholder
    }

    pub fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    /// `#a = :v`, or `attribute_not_exists(#a)` for an absent value: the attribute is still
    /// what was read.
    pub fn still(&mut self, name: &str, read: Option<AttributeValue>) -> String {
        let n = self.name(name);
        match read {
            Some(v) => {
                let v = self.value(v);
                format!("{n} = {v}")
            }
            None => format!("attribute_not_exists({n})"),
        }
    }

    pub fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    pub fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

fn check_table_shape(name: &str, table: &TableDescription) -> Result<(), AdminError> {
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
        return Err(AdminError::Conflict(format!(
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
        return Err(AdminError::Conflict(format!(
            "table '{name}' exists but has no index {} on {}/{}",
            keys::GSI1,
            keys::GSI1PK,
            keys::GSI1SK
        )));
    }
    Ok(())
}
