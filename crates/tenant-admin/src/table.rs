//! The directory table as administrators see it: creating it, and the scans and batch reads
//! and writes that import and export use. Admin only: the functions never link this crate.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    KeysAndAttributes, Projection, ProjectionType, PutRequest, ScalarAttributeType, Select,
    TableDescription, TimeToLiveSpecification, TimeToLiveStatus, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use tenant_lookup::store::dynamo::codec::{build_error, s, unavailable, Item, TTL_ATTRIBUTE};
use tenant_lookup::store::keys;
use tenant_lookup::{DirectoryError, DynamoDirectory};

/// Rounds of `UnprocessedItems`/`UnprocessedKeys` re-submission before giving up.
const UNPROCESSED_ROUNDS: u32 = 8;
const BATCH_WRITE_MAX: usize = 25;
const BATCH_GET_MAX: usize = 100;

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

    /// Creates the table (PAY_PER_REQUEST, `PK`/`SK`, `GSI1` on `GSI1PK`/`GSI1SK` projecting
    /// everything), waits until it is ACTIVE and enables TTL on [`TTL_ATTRIBUTE`]. Idempotent:
    /// an existing table is checked (keys and index) and `false` returned.
    pub async fn create_table(&self) -> Result<bool, DirectoryError> {
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
            Err(e) => return Err(unavailable("DescribeTable")(e)),
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
            Err(e) => Err(unavailable("CreateTable")(e)),
        }
    }

    async fn ensure_ttl(&self) -> Result<(), DirectoryError> {
        let out = self
            .client()
            .describe_time_to_live()
            .table_name(self.table())
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
                    .map_err(build_error)?;
                self.client()
                    .update_time_to_live()
                    .table_name(self.table())
                    .time_to_live_specification(spec)
                    .send()
                    .await
                    .map_err(unavailable("UpdateTimeToLive"))?;
                Ok(())
            }
        }
    }

    /// Ids of the tenants in the table (a Scan: admin only).
    pub(crate) async fn tenant_ids(&self) -> Result<BTreeSet<String>, DirectoryError> {
        Ok(self
            .scan(Some(keys::TENANT_SK))
            .await?
            .iter()
            .filter_map(|item| {
                item.get(keys::PK)?
                    .as_s()
                    .ok()?
                    .strip_prefix(keys::TENANT_PREFIX)
                    .map(str::to_string)
            })
            .collect())
    }

    /// A tenant's members: a COUNT Query on GSI1 (all pages).
    pub(crate) async fn count_members(&self, tenant_id: &str) -> Result<u32, DirectoryError> {
        let mut total: u32 = 0;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(self.table())
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

    /// Every item (all pages), or only the keys of items with the given sort key.
    pub(crate) async fn scan(&self, only_sk: Option<&str>) -> Result<Vec<Item>, DirectoryError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut request = self
                .client()
                .scan()
                .table_name(self.table())
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
    pub(crate) async fn batch_get(
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
                    self.directory.pause(round.min(4)).await;
                }
                round += 1;
                let out = self
                    .client()
                    .batch_get_item()
                    .request_items(self.table(), request)
                    .send()
                    .await
                    .map_err(unavailable("BatchGetItem"))?;
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
        }
        Ok(found)
    }

    /// Puts `items` in BatchWriteItem chunks, re-submitting unprocessed ones.
    pub(crate) async fn batch_put(&self, items: Vec<Item>) -> Result<(), DirectoryError> {
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
                    self.directory.pause(round.min(4)).await;
                }
                round += 1;
                let out = self
                    .client()
                    .batch_write_item()
                    .request_items(self.table(), chunk)
                    .send()
                    .await
                    .map_err(unavailable("BatchWriteItem"))?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(self.table()))
                    .filter(|rest| !rest.is_empty());
            }
        }
        Ok(())
    }
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
