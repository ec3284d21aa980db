//! Importing a directory document (`tenantctl import`): validate it whole against the table,
//! plan field by field what changes, refuse loosening, then write.
//!
//! - Each entry declares its item: an optional field left out takes its default, and the plan
//!   says so field by field (`acme: maxUsers 50 -> unlimited`). Items the document does not
//!   mention are left alone.
//! - A change that loosens a tenant (domains removed or widened, `maxUsers` removed or raised,
//!   a suspended tenant resumed, self sign-up turned on, `iamRoleArn` removed) is refused unless
//!   the caller allows loosening.
//! - Every write is conditional on what the plan read: an item changed by someone else between
//!   planning and writing stops the import ([`AdminError::Conflict`]; importing again is safe).
//! - `userCount` is never written from a count: a new membership is written in one transaction
//!   with its seat (`ADD userCount`), within `maxUsers` unless forced, like a trigger's
//!   provisioning. A new tenant starts at 0.
//! - A used invitation is never brought back: its entry is reported and left as it is.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use serde::Serialize;
use tenant_lookup::domain::model::{Membership, Route, Tenant, TenantStatus};
use tenant_lookup::store::dynamo::codec::{
    attr, invitation_from_item, invitation_item, membership_from_item, membership_item, n, present,
    route_from_item, route_item, s, tenant_attributes, tenant_from_item, tenant_item,
    tier_from_item, tier_item, Item,
};
use tenant_lookup::store::keys;
use tenant_lookup::DirectoryContents;

use crate::document::{DirectoryDocument, Known};
use crate::error::{list, or, sdk, AdminError};
use crate::progress::Progress;
use crate::table::{build, condition_failed, Expr, TenantTable, TRANSACTION_MAX};

/// Attempts at a write whose condition or transaction failed for a reason that re-reading can
/// resolve (a membership added meanwhile, a transaction conflict).
const WRITE_ATTEMPTS: u32 = 5;

/// What the caller allows an import to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Apply changes that loosen a tenant.
    pub allow_loosening: bool,
    /// Add members beyond a tenant's `maxUsers` (reported).
    pub force: bool,
}

/// What an import does (or did) to one kind of item.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    /// A used invitation in the document: left as it is, never brought back.
    KeepUsed,
}

/// One field of an item, before and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub before: String,
    pub after: String,
    /// The change loosens the tenant (see [`loosening`]).
    pub loosening: bool,
}

/// One item the import creates, updates or deliberately leaves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    pub action: Action,
    /// `tenant 'acme'`, `domain route 'acme.example' (pool us-east-1_X)`, ...; never an email.
    pub item: String,
    /// The tenant the item belongs to.
    pub tenant_id: String,
    /// Field by field, for updates.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

/// Seats taken by the members an import adds to one tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Seats {
    pub tenant_id: String,
    pub added: u32,
    /// `userCount` when planned (`None` for a new tenant).
    pub user_count: Option<u32>,
    pub max_users: Option<u32>,
    /// More than `maxUsers` (only with `force`).
    pub over_limit: bool,
}

/// The outcome of an import, or of its plan (`--dry-run`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub tiers: ChangeCounts,
    pub tenants: ChangeCounts,
    pub routes: ChangeCounts,
    pub members: ChangeCounts,
    pub invitations: ChangeCounts,
    pub changes: Vec<Change>,
    pub seats: Vec<Seats>,
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
    }

    /// The changes that loosen a tenant, one line each.
    pub fn loosening(&self) -> Vec<String> {
        self.changes
            .iter()
            .flat_map(|c| {
                c.fields.iter().filter(|f| f.loosening).map(move |f| {
                    format!("{}: {} {} -> {}", c.tenant_id, f.field, f.before, f.after)
                })
            })
            .collect()
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.changes {
            match c.action {
                Action::Create => writeln!(f, "  create {}", c.item)?,
                Action::Update => writeln!(f, "  update {}", c.item)?,
                Action::KeepUsed => {
                    writeln!(f, "  keep {}: already used, not brought back", c.item)?
                }
            }
            for field in &c.fields {
                let mark = if field.loosening { "  (loosening)" } else { "" };
                let owner = if c.item.starts_with("tenant '") {
                    c.tenant_id.clone()
                } else {
                    c.item.clone()
                };
                writeln!(
                    f,
                    "    {owner}: {} {} -> {}{mark}",
                    field.field, field.before, field.after
                )?;
            }
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
        for seat in &self.seats {
            let before = seat.user_count.unwrap_or(0);
            let over = if seat.over_limit {
                "  (over maxUsers: forced)"
            } else {
                ""
            };
            writeln!(
                f,
                "seats        {}: {} added, userCount {before} -> {} of {}{over}",
                seat.tenant_id,
                seat.added,
                before + seat.added,
                or(seat.max_users, "unlimited")
            )?;
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

/// What an import will write, computed against the table by [`TenantTable::plan_import`].
#[derive(Clone, Debug, Default)]
pub struct ImportPlan {
    report: ImportReport,
    options: ImportOptions,
    tiers: Vec<Rewrite>,
    tenants: Vec<TenantWrite>,
    routes: Vec<Rewrite>,
    /// New memberships, by tenant, with the `maxUsers` the seat condition holds them to (and
    /// the tenant itself when the import creates it: it is written with them).
    new_members: Vec<Group>,
    members: Vec<Rewrite>,
    invitations: Vec<Rewrite>,
}

impl ImportPlan {
    /// What would be created, updated or left alone, field by field.
    pub fn report(&self) -> &ImportReport {
        &self.report
    }

    /// Why applying the plan is refused: it loosens a tenant and loosening is not allowed
    /// ([`AdminError::Invalid`], listing the loosening changes).
    pub fn refusal(&self) -> Option<AdminError> {
        let loosening = self.report.loosening();
        if loosening.is_empty() || self.options.allow_loosening {
            return None;
        }
        let mut problems = vec![format!(
            "the import would loosen {} setting{} (import with --allow-loosening to apply):",
            loosening.len(),
            if loosening.len() == 1 { "" } else { "s" }
        )];
        problems.extend(loosening.into_iter().map(|l| format!("  {l}")));
        Some(AdminError::Invalid(problems))
    }

    /// Items and transactions to write.
    fn writes(&self) -> u64 {
        (self.tiers.len()
            + self.tenants.len()
            + self.routes.len()
            + self.members.len()
            + self.invitations.len()
            + self
                .new_members
                .iter()
                .map(|g| g.members.len())
                .sum::<usize>()) as u64
    }
}

/// A whole item put, on condition that the stored one is still the one read (`None`: absent).
#[derive(Clone, Debug)]
struct Rewrite {
    item: Item,
    read: Option<Item>,
    /// How to name it in an error.
    what: String,
}

/// Members an import adds to one tenant. A tenant the import creates is written in the same
/// transaction as its first members, with `userCount` their number: the count moves with them.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub tenant_id: String,
    pub create: Option<Tenant>,
    /// The `maxUsers` the seat condition holds the tenant to (as planned).
    pub max_users: Option<u32>,
    pub members: Vec<Membership>,
}

/// A tenant's attributes set (and removed) except `userCount`, on condition that the ones
/// changed are still as read.
#[derive(Clone, Debug)]
struct TenantWrite {
    tenant: Tenant,
    read: Option<Item>,
}

impl TenantTable {
    /// [`import_with`](Self::import_with) the default options (no loosening, within seats).
    pub async fn import(
        &self,
        document: &DirectoryDocument,
        now_epoch: i64,
    ) -> Result<ImportReport, AdminError> {
        self.import_with(document, ImportOptions::default(), now_epoch)
            .await
    }

    /// [`plan_import`](Self::plan_import) then [`apply_import`](Self::apply_import).
    pub async fn import_with(
        &self,
        document: &DirectoryDocument,
        options: ImportOptions,
        now_epoch: i64,
    ) -> Result<ImportReport, AdminError> {
        let plan = self.plan_import(document, options, now_epoch, &()).await?;
        self.apply_import(plan, &()).await
    }

    /// Validates `document` against the table and computes what importing it would change,
    /// without writing. Refused: an invalid document ([`AdminError::Invalid`], every problem
    /// listed), a route of another tenant, members beyond `maxUsers` unless forced
    /// ([`AdminError::Conflict`]). Loosening changes are planned and marked; applying the plan
    /// refuses them unless allowed ([`ImportPlan::refusal`]).
    pub async fn plan_import(
        &self,
        document: &DirectoryDocument,
        options: ImportOptions,
        now_epoch: i64,
        progress: &dyn Progress,
    ) -> Result<ImportPlan, AdminError> {
        progress.stage("reading the directory", None);
        let (tenants, tiers) = self.known_ids().await?;
        let contents = document
            .validate(&Known { tenants, tiers }, now_epoch)
            .map_err(|e| AdminError::Invalid(e.problems))?;
        let wanted = stored_keys(&contents);
        progress.stage("reading the directory", Some(wanted.len() as u64));
        let existing = self.batch_get(wanted, progress).await?;
        diff(&contents, &existing, options)
    }

    /// Writes what `plan` lists, in the order tiers, tenants, routes, members, invitations;
    /// nothing when it loosens a tenant and loosening is not allowed.
    pub async fn apply_import(
        &self,
        plan: ImportPlan,
        progress: &dyn Progress,
    ) -> Result<ImportReport, AdminError> {
        if let Some(refused) = plan.refusal() {
            return Err(refused);
        }
        progress.stage("writing", Some(plan.writes()));
        for w in &plan.tiers {
            self.rewrite(w).await?;
            progress.advance(1);
        }
        for t in &plan.tenants {
            if !self.write_tenant(&t.tenant, t.read.as_ref()).await? {
                return Err(changed_meanwhile(&format!("tenant '{}'", t.tenant.id)));
            }
            progress.advance(1);
        }
        for batch in pack(&plan.new_members) {
            let added: usize = batch.iter().map(|g| g.members.len()).sum();
            self.add_member_groups(batch, plan.options.force).await?;
            progress.advance(added as u64);
        }
        // Routes once their tenants exist (a route to a missing tenant fails closed).
        for w in &plan.routes {
            self.rewrite(w).await?;
            progress.advance(1);
        }
        for w in &plan.members {
            self.rewrite(w).await?;
            progress.advance(1);
        }
        let mut report = plan.report;
        for w in &plan.invitations {
            match self.rewrite(w).await {
                Ok(()) => {}
                // Used by a provisioning since the plan read it: it stays used.
                Err(AdminError::Conflict(_)) if self.used_now(&w.item).await? => {
                    report
                        .warnings
                        .push(format!("{} was used meanwhile; kept as used", w.what));
                }
                Err(e) => return Err(e),
            }
            progress.advance(1);
        }
        progress.finish();
        Ok(report)
    }

    /// Puts `w.item` if the stored item is still `w.read`.
    async fn rewrite(&self, w: &Rewrite) -> Result<(), AdminError> {
        let mut e = Expr::default();
        let condition = as_read(&mut e, w.read.as_ref(), &w.item);
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(w.item.clone()))
            .condition_expression(condition)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if condition_failed(&err) => Err(changed_meanwhile(&w.what)),
            Err(err) => Err(sdk("PutItem", self.table())(err)),
        }
    }

    async fn used_now(&self, item: &Item) -> Result<bool, AdminError> {
        let (Some(pk), Some(sk)) = (key_of(item, keys::PK), key_of(item, keys::SK)) else {
            return Ok(false);
        };
        Ok(self
            .get(pk.to_string(), sk)
            .await?
            .is_some_and(|i| present(&i, attr::USED_BY).is_some()))
    }

    /// Creates a tenant (with `userCount` 0) when `read` is `None`, or sets and removes the
    /// attributes that differ from `read`, leaving `userCount` alone (triggers move it). `false`
    /// when the tenant is no longer as read (created meanwhile, deleted, or a changed attribute
    /// changed again).
    pub(crate) async fn write_tenant(
        &self,
        t: &Tenant,
        read: Option<&Item>,
    ) -> Result<bool, AdminError> {
        let mut e = Expr::default();
        let pk = e.name(keys::PK);
        let mut sets = Vec::new();
        let mut removes = Vec::new();
        let mut conditions = Vec::new();
        match read {
            None => {
                conditions.push(format!("attribute_not_exists({pk})"));
                let count = e.name(attr::USER_COUNT);
                let zero = e.value(n(0));
                sets.push(format!("{count} = {zero}"));
            }
            Some(_) => conditions.push(format!("attribute_exists({pk})")),
        }
        for (name, value) in tenant_attributes(t) {
            let was = read.and_then(|i| present(i, name)).cloned();
            if read.is_some() && was == value {
                continue;
            }
            if read.is_some() {
                conditions.push(e.still(name, was));
            }
            let placeholder = e.name(name);
            match value {
                Some(v) => {
                    let v = e.value(v);
                    sets.push(format!("{placeholder} = {v}"));
                }
                None => removes.push(placeholder),
            }
        }
        if sets.is_empty() && removes.is_empty() {
            return Ok(true);
        }
        let mut update = String::new();
        if !sets.is_empty() {
            update.push_str(&format!("SET {}", sets.join(", ")));
        }
        if !removes.is_empty() {
            update.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(keys::PK, s(keys::tenant_pk(&t.id)))
            .key(keys::SK, s(keys::TENANT_SK))
            .update_expression(update.trim())
            .condition_expression(conditions.join(" AND "))
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if condition_failed(&err) => Ok(false),
            Err(err) => Err(sdk("UpdateItem", self.table())(err)),
        }
    }

    /// Writes the members of `groups` and takes their seats (or creates their tenants with
    /// them) in one transaction: the counts move with the memberships. Within `maxUsers` unless
    /// `force`. Members that appeared meanwhile are left out and the rest retried.
    pub(crate) async fn add_member_groups(
        &self,
        mut groups: Vec<Group>,
        force: bool,
    ) -> Result<(), AdminError> {
        for attempt in 0..WRITE_ATTEMPTS {
            groups.retain(|g| g.create.is_some() || !g.members.is_empty());
            if groups.is_empty() {
                return Ok(());
            }
            if attempt > 0 {
                self.directory().pause(attempt).await;
            }
            let mut items = Vec::new();
            // What each item is: (group, None) the tenant's, (group, Some(i)) member i.
            let mut slots: Vec<(usize, Option<usize>)> = Vec::new();
            for (g, group) in groups.iter().enumerate() {
                let k = group.members.len() as u32;
                let tenant_write = match &group.create {
                    Some(t) => {
                        let put = Put::builder()
                            .table_name(self.table())
                            .set_item(Some(tenant_item(t, Some(k))))
                            .condition_expression("attribute_not_exists(#pk)")
                            .expression_attribute_names("#pk", keys::PK)
                            .build()
                            .map_err(build)?;
                        TransactWriteItem::builder().put(put).build()
                    }
                    None => TransactWriteItem::builder()
                        .update(seat_update(
                            self.table(),
                            &group.tenant_id,
                            k,
                            group.max_users,
                            force,
                        )?)
                        .build(),
                };
                items.push(tenant_write);
                slots.push((g, None));
                for (i, m) in group.members.iter().enumerate() {
                    let put = Put::builder()
                        .table_name(self.table())
                        .set_item(Some(membership_item(m)))
                        .condition_expression("attribute_not_exists(#pk)")
                        .expression_attribute_names("#pk", keys::PK)
                        .build()
                        .map_err(build)?;
                    items.push(TransactWriteItem::builder().put(put).build());
                    slots.push((g, Some(i)));
                }
            }
            let Some(reasons) = self.transact(items).await? else {
                return Ok(());
            };
            if reasons.iter().any(|r| r == "TransactionConflict") {
                continue;
            }
            let failed: Vec<(usize, Option<usize>)> = reasons
                .iter()
                .zip(&slots)
                .filter(|(r, _)| *r == "ConditionalCheckFailed")
                .map(|(_, slot)| *slot)
                .collect();
            let taken: Vec<(usize, usize)> = failed
                .iter()
                .filter_map(|(g, i)| i.map(|i| (*g, i)))
                .collect();
            if !taken.is_empty() {
                // Someone added some of them meanwhile: those are members now, and counted.
                for (g, group) in groups.iter_mut().enumerate() {
                    let mut i = 0;
                    group.members.retain(|_| {
                        let keep = !taken.contains(&(g, i));
                        i += 1;
                        keep
                    });
                }
                continue;
            }
            if let Some((g, None)) = failed.first() {
                let group = &groups[*g];
                return Err(match group.create {
                    Some(_) => changed_meanwhile(&format!(
                        "tenant '{}' (created by someone else)",
                        group.tenant_id
                    )),
                    None => {
                        self.seat_refusal(&group.tenant_id, group.members.len(), group.max_users)
                            .await?
                    }
                });
            }
            return Err(AdminError::Unreachable(format!(
                "the directory cancelled a transaction: {}",
                reasons.join(", ")
            )));
        }
        Err(AdminError::Conflict(
            "members kept changing while they were added; import again".into(),
        ))
    }

    /// Why the seat condition of adding `adding` members failed, from the tenant as stored now.
    async fn seat_refusal(
        &self,
        tenant: &str,
        adding: usize,
        planned_max: Option<u32>,
    ) -> Result<AdminError, AdminError> {
        let stored = self.get(keys::tenant_pk(tenant), keys::TENANT_SK).await?;
        Ok(match stored.map(|i| tenant_from_item(&i)).transpose()? {
            None => AdminError::NotFound(format!(
                "tenant '{tenant}' does not exist (deleted meanwhile?)"
            )),
            Some(t) if t.max_users != planned_max => {
                changed_meanwhile(&format!("maxUsers of tenant '{tenant}'"))
            }
            Some(t) => AdminError::Conflict(format!(
                "tenant '{tenant}' has {} of {} seats taken: {adding} more members do not fit \
                 (raise maxUsers, or --force to exceed it)",
                t.user_count,
                or(t.max_users, "unlimited")
            )),
        })
    }
}

/// The groups in transactions of at most [`TRANSACTION_MAX`] items (one per member, one per
/// tenant): a large group is split (its tenant created with the first part), small ones share.
fn pack(groups: &[Group]) -> Vec<Vec<Group>> {
    let mut batches: Vec<Vec<Group>> = Vec::new();
    let mut current: Vec<Group> = Vec::new();
    let mut size = 0;
    for group in groups {
        let mut create = group.create.clone();
        let mut chunks: Vec<&[Membership]> = group.members.chunks(TRANSACTION_MAX - 1).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        for chunk in chunks {
            let part = Group {
                tenant_id: group.tenant_id.clone(),
                create: create.take(),
                max_users: group.max_users,
                members: chunk.to_vec(),
            };
            let items = part.members.len() + 1;
            if size + items > TRANSACTION_MAX {
                batches.push(std::mem::take(&mut current));
                size = 0;
            }
            size += items;
            current.push(part);
        }
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// The seat update of adding `k` members to `tenant`: `ADD userCount :k`, on condition that the
/// tenant exists and (unless `force`) that `maxUsers` is still `max_users` and `k` more fit.
pub(crate) fn seat_update(
    table: &str,
    tenant: &str,
    k: u32,
    max_users: Option<u32>,
    force: bool,
) -> Result<Update, AdminError> {
    let mut e = Expr::default();
    let pk = e.name(keys::PK);
    let count = e.name(attr::USER_COUNT);
    let kv = e.value(n(k));
    let mut condition = format!("attribute_exists({pk})");
    if !force {
        let max = e.name(attr::MAX_USERS);
        match max_users {
            None => condition.push_str(&format!(" AND attribute_not_exists({max})")),
            Some(m) => {
                let limit = i64::from(m) - i64::from(k);
                let mv = e.value(n(m));
                let lv = e.value(n(limit));
                condition.push_str(&format!(
                    " AND {max} = {mv} AND (attribute_not_exists({count}) OR {count} <= {lv})"
                ));
                if limit < 0 {
                    // Cannot fit whatever the count: fail the condition for the refusal.
                    condition.push_str(&format!(" AND attribute_not_exists({pk})"));
                }
            }
        }
    }
    Update::builder()
        .table_name(table)
        .key(keys::PK, s(keys::tenant_pk(tenant)))
        .key(keys::SK, s(keys::TENANT_SK))
        .update_expression(format!("ADD {count} {kv}"))
        .condition_expression(condition)
        .set_expression_attribute_names(e.names())
        .set_expression_attribute_values(e.values())
        .build()
        .map_err(build)
}

/// A condition that the stored item is still `read` as far as `item` is concerned: absent when
/// `read` is `None`, else every attribute of either with its read value (or absent).
pub(crate) fn as_read(e: &mut Expr, read: Option<&Item>, item: &Item) -> String {
    let pk = e.name(keys::PK);
    let Some(read) = read else {
        return format!("attribute_not_exists({pk})");
    };
    let mut names: BTreeSet<&str> = read.keys().map(String::as_str).collect();
    names.extend(item.keys().map(String::as_str));
    let mut conditions = vec![format!("attribute_exists({pk})")];
    for name in names {
        if name == keys::PK || name == keys::SK {
            continue;
        }
        conditions.push(e.still(name, read.get(name).cloned()));
    }
    conditions.join(" AND ")
}

fn changed_meanwhile(what: &str) -> AdminError {
    AdminError::Conflict(format!(
        "{what} changed while the import ran; nothing after it was written (import again)"
    ))
}

fn key_of<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// `domain route 'acme.example' (pool us-east-1_X)`, `pool route 'us-east-1_X'`.
pub fn describe_route(r: &Route) -> String {
    let kind = r.kind.as_str().to_ascii_lowercase();
    match r.pool_and_key() {
        (Some(pool), key) => format!("{kind} route '{key}' (pool {pool})"),
        (None, key) => format!("{kind} route '{key}'"),
    }
}

/// The keys of every item an import of `contents` writes or compares with (and of the tenants
/// receiving members).
fn stored_keys(contents: &DirectoryContents) -> Vec<(String, String)> {
    let mut tenant_ids: BTreeSet<&str> = contents.tenants.iter().map(|t| t.id.as_str()).collect();
    tenant_ids.extend(contents.members.iter().map(|m| m.tenant_id.as_str()));
    let tiers = contents
        .tiers
        .iter()
        .map(|t| (keys::tier_pk(&t.id), keys::TIER_SK.to_string()));
    let tenants = tenant_ids
        .into_iter()
        .map(|id| (keys::tenant_pk(id), keys::TENANT_SK.to_string()));
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

/// A tenant's settings as the plan shows them.
fn tenant_fields(t: &Tenant) -> [(&'static str, String); 8] {
    [
        ("name", t.name.clone()),
        ("tier", t.tier.clone()),
        ("status", t.status.as_str().to_string()),
        ("selfSignUp", t.self_sign_up.to_string()),
        ("allowedEmailDomains", list(&t.allowed_email_domains)),
        ("maxUsers", or(t.max_users, "unlimited")),
        ("defaultRole", t.default_role.clone()),
        ("iamRoleArn", or(t.iam_role_arn.as_deref(), "none")),
    ]
}

/// Field by field, what changes from `before` to `after`, each marked when it loosens the
/// tenant: `allowedEmailDomains` removed or widened, `maxUsers` removed or raised, a suspended
/// tenant resumed, self sign-up turned on, `iamRoleArn` removed.
pub fn tenant_changes(before: &Tenant, after: &Tenant) -> Vec<FieldChange> {
    let loosens = |field: &str| match field {
        "allowedEmailDomains" => {
            !before.allowed_email_domains.is_empty()
                && (after.allowed_email_domains.is_empty()
                    || after
                        .allowed_email_domains
                        .iter()
                        .any(|d| !before.allowed_email_domains.contains(d)))
        }
        "maxUsers" => match (before.max_users, after.max_users) {
            (Some(_), None) => true,
            (Some(b), Some(a)) => a > b,
            _ => false,
        },
        "status" => {
            before.status == TenantStatus::Suspended && after.status == TenantStatus::Active
        }
        "selfSignUp" => !before.self_sign_up && after.self_sign_up,
        "iamRoleArn" => before.iam_role_arn.is_some() && after.iam_role_arn.is_none(),
        _ => false,
    };
    tenant_fields(before)
        .into_iter()
        .zip(tenant_fields(after))
        .filter(|((_, b), (_, a))| b != a)
        .map(|((field, b), (_, a))| FieldChange {
            field: field.to_string(),
            before: b,
            after: a,
            loosening: loosens(field),
        })
        .collect()
}

/// Field changes between two items of other kinds, by attribute (keys and index keys aside).
fn item_changes(before: &Item, after: &Item, shown: &[(&str, &str)]) -> Vec<FieldChange> {
    let show = |v: Option<&AttributeValue>| match v {
        None => "none".to_string(),
        Some(AttributeValue::S(s)) => s.clone(),
        Some(AttributeValue::N(n)) => n.clone(),
        Some(AttributeValue::Bool(b)) => b.to_string(),
        Some(AttributeValue::L(l)) => format!(
            "[{}]",
            l.iter()
                .map(|x| x.as_s().cloned().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some(other) => format!("{other:?}"),
    };
    let mut out = Vec::new();
    for (name, label) in shown {
        let (b, a) = (present(before, name), present(after, name));
        if b != a {
            out.push(FieldChange {
                field: label.to_string(),
                before: show(b),
                after: show(a),
                loosening: false,
            });
        }
    }
    if out.is_empty() && before != after {
        out.push(FieldChange {
            field: "index keys".into(),
            before: "missing".into(),
            after: "written".into(),
            loosening: false,
        });
    }
    out
}

fn counted(counts: &mut ChangeCounts, action: Option<Action>) {
    match action {
        Some(Action::Create) => counts.created += 1,
        Some(Action::Update) => counts.updated += 1,
        Some(Action::KeepUsed) | None => counts.unchanged += 1,
    }
}

/// Compares validated `contents` with the `existing` items (keyed by PK, SK) and lists what to
/// write. Refuses routes whose key belongs to another tenant and members beyond `maxUsers`.
fn diff(
    contents: &DirectoryContents,
    existing: &HashMap<(String, String), Item>,
    options: ImportOptions,
) -> Result<ImportPlan, AdminError> {
    let stored = |pk: String, sk: &str| existing.get(&(pk, sk.to_string()));
    let mut problems = Vec::new();
    let mut plan = ImportPlan {
        options,
        ..Default::default()
    };

    for t in &contents.tiers {
        let item = tier_item(t);
        let read = stored(keys::tier_pk(&t.id), keys::TIER_SK);
        let action = match read {
            None => Some(Action::Create),
            Some(r) if *r == item => None,
            Some(_) => Some(Action::Update),
        };
        counted(&mut plan.report.tiers, action);
        if let Some(action) = action {
            let fields = match read {
                Some(r) => item_changes(r, &item, &[(attr::SCOPES, "scopes")]),
                None => vec![],
            };
            plan.report.changes.push(Change {
                action,
                item: format!("tier '{}'", t.id),
                tenant_id: String::new(),
                fields,
            });
            plan.tiers.push(Rewrite {
                item,
                read: read.cloned(),
                what: format!("tier '{}'", t.id),
            });
        }
        // A stored tier that cannot be read is still replaced: its item is rewritten whole.
        let _ = read.map(tier_from_item);
    }

    let mut tenants_after: BTreeMap<&str, Tenant> = BTreeMap::new();
    let receiving: BTreeSet<&str> = contents
        .members
        .iter()
        .filter(|m| {
            !existing.contains_key(&(
                keys::user_pk(&m.user_pool_id, &m.sub),
                keys::tenant_sk(&m.tenant_id),
            ))
        })
        .map(|m| m.tenant_id.as_str())
        .collect();
    let mut created_with_members: BTreeMap<&str, Tenant> = BTreeMap::new();
    for t in &contents.tenants {
        let read = stored(keys::tenant_pk(&t.id), keys::TENANT_SK);
        let before = match read.map(tenant_from_item).transpose() {
            Ok(b) => b,
            Err(e) => {
                problems.push(format!(
                    "tenant '{}': the stored item cannot be read: {e}",
                    t.id
                ));
                continue;
            }
        };
        let (action, fields) = match &before {
            None => (Some(Action::Create), vec![]),
            Some(b) => {
                let fields = tenant_changes(b, t);
                let same = tenant_attributes(t)
                    .iter()
                    .all(|(name, value)| present(read.unwrap(), name) == value.as_ref());
                if same {
                    (None, fields)
                } else {
                    (Some(Action::Update), fields)
                }
            }
        };
        counted(&mut plan.report.tenants, action);
        let user_count = before.as_ref().map(|b| b.user_count);
        tenants_after.insert(
            t.id.as_str(),
            Tenant {
                user_count: user_count.unwrap_or(0),
                ..t.clone()
            },
        );
        if let Some(action) = action {
            plan.report.changes.push(Change {
                action,
                item: format!("tenant '{}'", t.id),
                tenant_id: t.id.clone(),
                fields,
            });
            if before.is_none() && receiving.contains(t.id.as_str()) {
                // Written with its first members, their seats counted in the same transaction.
                created_with_members.insert(t.id.as_str(), t.clone());
            } else {
                plan.tenants.push(TenantWrite {
                    tenant: t.clone(),
                    read: read.cloned(),
                });
            }
        }
    }

    for (i, r) in contents.routes.iter().enumerate() {
        let item = route_item(r);
        let read = stored(keys::route_pk(r.kind, &r.key), keys::ROUTE_SK);
        if let Some(old) = read {
            match route_from_item(old) {
                Ok(old) if old.tenant_id != r.tenant_id => {
                    problems.push(format!(
                        "routes[{i}]: {} already belongs to tenant '{}'",
                        describe_route(r),
                        old.tenant_id
                    ));
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    problems.push(format!("routes[{i}]: the stored route cannot be read: {e}"));
                    continue;
                }
            }
        }
        let action = match read {
            None => Some(Action::Create),
            Some(old) if *old == item => None,
            Some(_) => Some(Action::Update),
        };
        counted(&mut plan.report.routes, action);
        if let Some(action) = action {
            let fields = match read {
                Some(old) => item_changes(
                    old,
                    &item,
                    &[
                        (attr::TRUST_EMAIL, "trustEmail"),
                        (attr::EMAIL_DOMAINS, "emailDomains"),
                    ],
                ),
                None => vec![],
            };
            plan.report.changes.push(Change {
                action,
                item: format!("{} -> tenant '{}'", describe_route(r), r.tenant_id),
                tenant_id: r.tenant_id.clone(),
                fields,
            });
            plan.routes.push(Rewrite {
                item,
                read: read.cloned(),
                what: describe_route(r),
            });
        }
    }

    let mut adding: BTreeMap<&str, Vec<Membership>> = BTreeMap::new();
    for m in &contents.members {
        let read = stored(
            keys::user_pk(&m.user_pool_id, &m.sub),
            &keys::tenant_sk(&m.tenant_id),
        );
        let what = format!(
            "member '{}' of tenant '{}' (pool {})",
            m.sub, m.tenant_id, m.user_pool_id
        );
        let Some(old) = read else {
            counted(&mut plan.report.members, Some(Action::Create));
            plan.report.changes.push(Change {
                action: Action::Create,
                item: what,
                tenant_id: m.tenant_id.clone(),
                fields: vec![],
            });
            adding
                .entry(m.tenant_id.as_str())
                .or_default()
                .push(m.clone());
            continue;
        };
        if let Err(e) = membership_from_item(old) {
            problems.push(format!("{what}: the stored membership cannot be read: {e}"));
            continue;
        }
        // An existing membership keeps its history.
        let mut item = membership_item(m);
        for kept in [attr::CREATED_AT, attr::SOURCE] {
            if let Some(v) = present(old, kept) {
                item.insert(kept.to_string(), v.clone());
            }
        }
        if *old == item {
            counted(&mut plan.report.members, None);
            continue;
        }
        counted(&mut plan.report.members, Some(Action::Update));
        plan.report.changes.push(Change {
            action: Action::Update,
            item: what.clone(),
            tenant_id: m.tenant_id.clone(),
            fields: item_changes(
                old,
                &item,
                &[(attr::ROLES, "roles"), (attr::STATUS, "status")],
            ),
        });
        plan.members.push(Rewrite {
            item,
            read: Some(old.clone()),
            what,
        });
    }

    for (tenant_id, members) in adding {
        let tenant = match tenants_after.get(tenant_id) {
            Some(t) => Some(t.clone()),
            None => stored(keys::tenant_pk(tenant_id), keys::TENANT_SK)
                .map(tenant_from_item)
                .transpose()?,
        };
        let Some(tenant) = tenant else {
            problems.push(format!(
                "members of tenant '{tenant_id}': the tenant does not exist"
            ));
            continue;
        };
        let added = members.len() as u32;
        let fits = tenant
            .max_users
            .is_none_or(|max| tenant.user_count.saturating_add(added) <= max);
        if !fits && !options.force {
            problems.push(format!(
                "tenant '{tenant_id}': the document adds {added} members but {} of {} seats are \
                 taken (raise maxUsers, or --force to exceed it)",
                tenant.user_count,
                or(tenant.max_users, "unlimited")
            ));
            continue;
        }
        plan.report.seats.push(Seats {
            tenant_id: tenant_id.to_string(),
            added,
            user_count: stored(keys::tenant_pk(tenant_id), keys::TENANT_SK)
                .map(|_| tenant.user_count),
            max_users: tenant.max_users,
            over_limit: !fits,
        });
        plan.new_members.push(Group {
            tenant_id: tenant_id.to_string(),
            create: created_with_members.remove(tenant_id),
            max_users: tenant.max_users,
            members,
        });
    }

    for (i, inv) in contents.invitations.iter().enumerate() {
        let item = invitation_item(inv);
        let read = stored(
            keys::invite_pk(&inv.user_pool_id, &inv.email),
            &keys::tenant_sk(&inv.tenant_id),
        );
        // The email is not shown: the entry's position in the document names it.
        let what = format!(
            "invitation (invitations[{i}]) to tenant '{}' (pool {})",
            inv.tenant_id, inv.user_pool_id
        );
        let old = match read.map(invitation_from_item).transpose() {
            Ok(old) => old,
            Err(e) => {
                problems.push(format!(
                    "invitations[{i}]: the stored invitation cannot be read: {e}"
                ));
                continue;
            }
        };
        let action = match &old {
            None => Some(Action::Create),
            Some(o) if o.is_used() => {
                if o != inv {
                    plan.report.changes.push(Change {
                        action: Action::KeepUsed,
                        item: what.clone(),
                        tenant_id: inv.tenant_id.clone(),
                        fields: vec![],
                    });
                }
                counted(&mut plan.report.invitations, None);
                continue;
            }
            Some(_) if read == Some(&item) => None,
            Some(_) => Some(Action::Update),
        };
        counted(&mut plan.report.invitations, action);
        if let Some(action) = action {
            let fields = match read {
                Some(old) => item_changes(
                    old,
                    &item,
                    &[
                        (attr::ROLES, "roles"),
                        (attr::EXPIRES_AT, "expiresAt"),
                        (attr::INVITED_BY, "invitedBy"),
                        (attr::USED_BY, "usedBy"),
                        (attr::USED_AT, "usedAt"),
                    ],
                ),
                None => vec![],
            };
            plan.report.changes.push(Change {
                action,
                item: what.clone(),
                tenant_id: inv.tenant_id.clone(),
                fields,
            });
            plan.invitations.push(Rewrite {
                item,
                read: read.cloned(),
                what,
            });
        }
    }

    if !problems.is_empty() {
        let seats = problems.iter().all(|p| p.contains("seats are taken"));
        return Err(if seats {
            AdminError::Conflict(problems.join("\n"))
        } else {
            AdminError::Invalid(problems)
        });
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenant_lookup::domain::model::{Invitation, RouteKind, TenantStatus};

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
        let known = Known {
            tiers: ["basic".to_string(), "t".to_string()].into(),
            tenants: ["a".to_string()].into(),
        };
        DirectoryDocument::from_json(json)
            .unwrap()
            .validate(&known, created_at)
            .unwrap()
    }

    fn acme() -> Tenant {
        Tenant {
            id: "acme".into(),
            name: "Acme Corp".into(),
            tier: "basic".into(),
            status: TenantStatus::Active,
            self_sign_up: false,
            allowed_email_domains: vec!["acme.example".into()],
            max_users: Some(50),
            user_count: 7,
            default_role: "member".into(),
            iam_role_arn: Some("arn:aws:iam::123456789012:role/acme".into()),
        }
    }

    #[test]
    fn a_partial_tenant_entry_is_shown_field_by_field_and_its_loosening_refused() {
        let existing = keyed(vec![tenant_item(&acme(), Some(7))]);
        let plan = diff(
            &contents(
                r#"{"tenants":[{"id":"acme","tier":"basic","status":"suspended"}]}"#,
                0,
            ),
            &existing,
            ImportOptions::default(),
        )
        .unwrap();
        let report = plan.report();
        let text = report.to_string();
        for line in [
            "acme: name Acme Corp -> acme",
            "acme: status active -> suspended",
            "acme: allowedEmailDomains [acme.example] -> none  (loosening)",
            "acme: maxUsers 50 -> unlimited  (loosening)",
            "acme: iamRoleArn arn:aws:iam::123456789012:role/acme -> none  (loosening)",
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
        assert!(!text.contains("name Acme Corp -> acme  (loosening)"));
        assert_eq!(report.loosening().len(), 3, "{:?}", report.loosening());
    }

    #[test]
    fn what_loosens_a_tenant() {
        let b = acme();
        let loose = |after: Tenant| -> Vec<String> {
            tenant_changes(&b, &after)
                .into_iter()
                .filter(|f| f.loosening)
                .map(|f| f.field)
                .collect()
        };
        let widened = Tenant {
            allowed_email_domains: vec!["acme.example".into(), "other.example".into()],
            ..b.clone()
        };
        assert_eq!(loose(widened), ["allowedEmailDomains"]);
        let narrowed = Tenant {
            allowed_email_domains: vec![],
            ..b.clone()
        };
        assert_eq!(
            loose(narrowed),
            ["allowedEmailDomains"],
            "none is any domain"
        );
        assert_eq!(
            loose(Tenant {
                max_users: Some(51),
                ..b.clone()
            }),
            ["maxUsers"]
        );
        assert!(loose(Tenant {
            max_users: Some(49),
            ..b.clone()
        })
        .is_empty());
        assert_eq!(
            loose(Tenant {
                self_sign_up: true,
                ..b.clone()
            }),
            ["selfSignUp"]
        );
        assert!(loose(Tenant {
            status: TenantStatus::Suspended,
            ..b.clone()
        })
        .is_empty());
        let suspended = Tenant {
            status: TenantStatus::Suspended,
            ..b.clone()
        };
        assert_eq!(
            tenant_changes(&suspended, &b)
                .iter()
                .filter(|f| f.loosening)
                .map(|f| f.field.as_str())
                .collect::<Vec<_>>(),
            ["status"],
            "resuming loosens"
        );
        assert!(loose(Tenant {
            iam_role_arn: Some("arn:aws:iam::123456789012:role/b".into()),
            ..b.clone()
        })
        .is_empty());
    }

    #[test]
    fn members_keep_their_history_and_new_ones_take_seats_within_max_users() {
        let json = r#"{"tenants":[{"id":"acme","name":"Acme Corp","tier":"basic","maxUsers":3}],
            "members":[{"userPoolId":"us-east-1_P","sub":"s","tenantId":"acme"},
                       {"userPoolId":"us-east-1_P","sub":"t","tenantId":"acme"}]}"#;
        let first = contents(json, 100);
        let stored = Tenant {
            user_count: 1,
            ..first.tenants[0].clone()
        };
        let existing = keyed(vec![
            tenant_item(&stored, Some(1)),
            membership_item(&Membership {
                source: "invitation".into(),
                ..first.members[0].clone()
            }),
        ]);
        let plan = diff(&contents(json, 999), &existing, ImportOptions::default()).unwrap();
        assert_eq!(
            (
                plan.report.tenants.unchanged,
                plan.report.members.unchanged,
                plan.report.members.created
            ),
            (1, 1, 1)
        );
        assert!(plan.tenants.is_empty() && plan.members.is_empty());
        let group = &plan.new_members[0];
        assert_eq!(
            (
                group.max_users,
                group.members.len(),
                group.members[0].sub.as_str()
            ),
            (Some(3), 1, "t")
        );
        assert!(group.create.is_none(), "acme exists");
        assert_eq!(
            plan.report.seats,
            vec![Seats {
                tenant_id: "acme".into(),
                added: 1,
                user_count: Some(1),
                max_users: Some(3),
                over_limit: false
            }]
        );

        let full = keyed(vec![tenant_item(&stored, Some(3))]);
        let full: HashMap<_, _> = full
            .into_iter()
            .map(|(k, mut v)| {
                v.insert(attr::USER_COUNT.into(), n(3));
                (k, v)
            })
            .collect();
        let err = diff(&contents(json, 999), &full, ImportOptions::default()).unwrap_err();
        assert!(matches!(err, AdminError::Conflict(_)), "{err}");
        assert!(err.to_string().contains("3 of 3 seats are taken"), "{err}");
        let forced = diff(
            &contents(json, 999),
            &full,
            ImportOptions {
                force: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(forced.report.seats[0].over_limit);
    }

    #[test]
    fn a_used_invitation_is_kept_and_a_route_of_another_tenant_refused() {
        let json = r#"{"tenants":[{"id":"b","tier":"t"}],
            "invitations":[{"userPoolId":"us-east-1_P","email":"x@b.example","tenantId":"b"}]}"#;
        let c = contents(json, 0);
        let used = Invitation {
            used_by: Some("sub-1".into()),
            used_at: Some(5),
            expires_at: None,
            ..c.invitations[0].clone()
        };
        let plan = diff(
            &c,
            &keyed(vec![invitation_item(&used)]),
            ImportOptions::default(),
        )
        .unwrap();
        assert!(plan.invitations.is_empty(), "nothing written");
        assert_eq!(plan.report.changes.last().unwrap().action, Action::KeepUsed);
        assert!(plan
            .report
            .to_string()
            .contains("already used, not brought back"));

        let json = r#"{"tenants":[{"id":"b","tier":"t"}],
            "routes":[{"kind":"pool","key":"us-east-1_A","tenantId":"b"},{"kind":"pool","key":"us-east-1_B","tenantId":"b"}]}"#;
        let taken = Route {
            kind: RouteKind::Pool,
            key: "us-east-1_B".into(),
            tenant_id: "a".into(),
            trust_email: false,
            email_domains: vec![],
        };
        let err = diff(
            &contents(json, 0),
            &keyed(vec![route_item(&taken)]),
            ImportOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            AdminError::Invalid(vec![
                "routes[1]: pool route 'us-east-1_B' already belongs to tenant 'a'".into()
            ])
        );
    }

    #[test]
    fn groups_are_packed_into_transactions_of_at_most_100_items() {
        let member = |i: usize| Membership {
            user_pool_id: "us-east-1_P".into(),
            sub: format!("s{i}"),
            tenant_id: "t".into(),
            roles: vec![],
            status: tenant_lookup::domain::model::MembershipStatus::Active,
            source: "import".into(),
            created_at: 0,
        };
        let group = |id: &str, n: usize, create: bool| Group {
            tenant_id: id.into(),
            create: create.then(|| Tenant {
                id: id.into(),
                ..acme()
            }),
            max_users: None,
            members: (0..n).map(member).collect(),
        };
        let batches = pack(&[
            group("a", 250, true),
            group("b", 9, true),
            group("c", 0, true),
        ]);
        let sizes: Vec<usize> = batches
            .iter()
            .map(|b| b.iter().map(|g| g.members.len() + 1).sum())
            .collect();
        assert_eq!(sizes, [100, 100, 64]);
        let creates: Vec<&str> = batches
            .iter()
            .flatten()
            .filter(|g| g.create.is_some())
            .map(|g| g.tenant_id.as_str())
            .collect();
        assert_eq!(
            creates,
            ["a", "b", "c"],
            "each tenant created once, with its first part"
        );
        assert_eq!(batches[0][0].members.len(), 99);
    }

    #[test]
    fn the_seat_condition_holds_the_count_to_what_fits() {
        let u = seat_update("t", "acme", 3, Some(10), false).unwrap();
        let names = u.expression_attribute_names().unwrap();
        let values = u.expression_attribute_values().unwrap();
        let condition = u.condition_expression().unwrap().to_string();
        let resolved = names
            .iter()
            .fold(condition, |c, (k, v)| c.replace(k.as_str(), v));
        let resolved = values.iter().fold(resolved, |c, (k, v)| {
            c.replace(k.as_str(), v.as_n().unwrap())
        });
        assert_eq!(
            resolved,
            "attribute_exists(PK) AND maxUsers = 10 AND (attribute_not_exists(userCount) OR userCount <= 7)"
        );
        let forced = seat_update("t", "acme", 3, Some(10), true).unwrap();
        assert!(!forced.condition_expression().unwrap().contains("<="));
    }
}
