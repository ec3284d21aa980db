//! Importing a directory document (`tenantctl import`): validate it whole against the table,
//! plan what changes, then write.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use tenant_lookup::domain::model::{Route, Tenant};
use tenant_lookup::store::dynamo::codec::{
    attr, invitation_item, membership_item, n, present, route_from_item, route_item, s,
    tenant_attributes, tier_item, unavailable, Item, Reader,
};
use tenant_lookup::store::keys;
use tenant_lookup::{DirectoryContents, DirectoryError};

use crate::document::{DirectoryDocument, DocumentError};
use crate::table::TenantTable;

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

/// What an import will write, computed against the table by [`TenantTable::plan_import`].
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

impl TenantTable {
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
                self.directory().pause(attempt.min(4)).await;
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
            .client()
            .update_item()
            .table_name(self.table())
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
            .client()
            .put_item()
            .table_name(self.table())
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
                    "{} was taken by another tenant meanwhile",
                    describe_route(r)
                )))
            }
            Err(e) => Err(unavailable("PutItem")(e).into()),
        }
    }

    async fn set_user_count(&self, tenant_id: &str, count: u32) -> Result<(), DirectoryError> {
        self.client()
            .update_item()
            .table_name(self.table())
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
}

/// `domain route 'acme.example' (pool us-east-1_X)`, `pool route 'us-east-1_X'`.
pub fn describe_route(r: &Route) -> String {
    let kind = r.kind.as_str().to_ascii_lowercase();
    match r.pool_and_key() {
        (Some(pool), key) => format!("{kind} route '{key}' (pool {pool})"),
        (None, key) => format!("{kind} route '{key}'"),
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
                "routes[{i}]: {} already belongs to tenant '{}'",
                describe_route(r),
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
                "{} {} -> tenant '{}'",
                change.verb(),
                describe_route(r),
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

#[cfg(test)]
mod tests {
    use super::*;
    use tenant_lookup::domain::model::{Membership, RouteKind};
    use tenant_lookup::store::dynamo::codec::tenant_item;

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
            tenant_item(&stored_tenant, Some(7)),
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
        let existing = keyed(vec![tenant_item(&stored_tenant, None)]);
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
            email_domains: vec![],
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
}
