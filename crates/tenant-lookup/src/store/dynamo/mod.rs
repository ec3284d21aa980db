//! The tenant directory in DynamoDB: the trigger read path (GetItem and Query on known keys) and
//! the provisioning transaction. Administration (table creation, import, export) lives in the
//! `tenant-admin` crate, which only `tenantctl` links.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::AsyncSleep;
use aws_sdk_dynamodb::Client;

use crate::domain::model::{Invitation, Membership, Route, RouteKind, Tenant, Tier};
use crate::store::{keys, Directory, DirectoryError, ProvisionOutcome, ProvisionRequest};

pub mod codec;
mod provision;
pub mod sdk;

use codec::{
    invitation_from_item, membership_from_item, route_from_item, s, tenant_from_item,
    tier_from_item, unavailable, Item,
};

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

    /// A directory over a client built from `config` (see [`sdk::load_sdk_config`]).
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
    pub async fn pause(&self, attempt: u32) {
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
        self.query_partition(keys::user_pk(user_pool_id, sub), keys::TENANT_PREFIX)
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
        self.query_partition(keys::invite_pk(user_pool_id, &email), keys::TENANT_PREFIX)
            .await?
            .iter()
            .map(invitation_from_item)
            .collect()
    }

    async fn provision(
        &self,
        request: &ProvisionRequest,
    ) -> Result<ProvisionOutcome, DirectoryError> {
        self.provision_with_retries(request).await
    }
}
