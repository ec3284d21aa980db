//! `tenantctl route ...`: add, remove, list. Every route but a `pool` route belongs to one user
//! pool (`--pool`), whose events alone it matches.

use aws_sdk_dynamodb::types::{Put, ReturnValue, TransactWriteItem};
use tenant_lookup::domain::model::{route_key, Route, RouteKind};
use tenant_lookup::store::dynamo::codec::{route_from_item, route_item, s};
use tenant_lookup::store::keys;

use crate::document::route_key_problem;
use crate::error::{sdk, AdminError};
use crate::import::describe_route;
use crate::table::{build, condition_failed, ScanFilter, TenantTable};
use crate::validate::{self, normalize};
use crate::views::RouteView;

/// A route to add (`tenantctl route add`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRoute {
    pub kind: RouteKind,
    pub key: String,
    pub tenant_id: String,
    pub pool: Option<String>,
    pub trust_email: bool,
    pub email_domains: Vec<String>,
}

/// The stored key of `kind`/`key`, checking that `pool` is given exactly when the kind needs it.
pub fn stored_key(kind: RouteKind, key: &str, pool: Option<&str>) -> Result<String, AdminError> {
    let key = key.trim();
    let pool = match (kind, pool) {
        (RouteKind::Pool, None) => key,
        (RouteKind::Pool, Some(_)) => {
            return Err(AdminError::invalid(
                "a pool route's key is the user pool id: leave out --pool",
            ))
        }
        (_, Some(pool)) => pool,
        (_, None) => {
            return Err(AdminError::invalid(format!(
                "a {} route places users of one user pool only: add --pool POOL",
                kind.as_str().to_ascii_lowercase()
            )))
        }
    };
    if let Some(p) = route_key_problem(kind, pool, key) {
        return Err(AdminError::invalid(p));
    }
    Ok(route_key(kind, pool, key))
}

impl TenantTable {
    /// Adds a route to an existing tenant. An existing route (of any tenant): Conflict; a
    /// missing tenant: NotFound.
    pub async fn add_route(&self, new: &NewRoute) -> Result<RouteView, AdminError> {
        let key = stored_key(new.kind, &new.key, new.pool.as_deref())?;
        let mut problems = Vec::new();
        if new.kind != RouteKind::Idp && (new.trust_email || !new.email_domains.is_empty()) {
            problems.push("--trust-email and --email-domain apply to idp routes only".to_string());
        }
        let email_domains: Vec<String> = new.email_domains.iter().map(|d| normalize(d)).collect();
        problems.extend(email_domains.iter().filter_map(|d| validate::domain(d)));
        problems.extend(validate::id("tenant id", &new.tenant_id));
        AdminError::check(problems)?;
        let route = Route {
            kind: new.kind,
            key,
            tenant_id: new.tenant_id.clone(),
            trust_email: new.trust_email,
            email_domains,
        };
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(route_item(&route)))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .build()
            .map_err(build)?;
        let tenant = self.tenant_exists(&route.tenant_id)?;
        let reasons = self
            .transact(vec![
                TransactWriteItem::builder().put(put).build(),
                TransactWriteItem::builder().condition_check(tenant).build(),
            ])
            .await?;
        match reasons {
            None => Ok(RouteView::from(&route)),
            Some(r) if r.first().is_some_and(|c| c == "ConditionalCheckFailed") => {
                let owner = self
                    .get(keys::route_pk(route.kind, &route.key), keys::ROUTE_SK)
                    .await?
                    .map(|i| route_from_item(&i))
                    .transpose()?
                    .map(|r| r.tenant_id)
                    .unwrap_or_default();
                Err(AdminError::Conflict(format!(
                    "{} already exists (tenant '{owner}')",
                    describe_route(&route)
                )))
            }
            Some(r) if r.get(1).is_some_and(|c| c == "ConditionalCheckFailed") => Err(
                AdminError::NotFound(format!("tenant '{}' does not exist", route.tenant_id)),
            ),
            Some(r) => Err(AdminError::Conflict(format!(
                "the route could not be added ({}); try again",
                r.join(", ")
            ))),
        }
    }

    /// Removes a route; a missing one: NotFound.
    pub async fn remove_route(
        &self,
        kind: RouteKind,
        key: &str,
        pool: Option<&str>,
    ) -> Result<RouteView, AdminError> {
        let stored = stored_key(kind, key, pool)?;
        let result = self
            .client()
            .delete_item()
            .table_name(self.table())
            .key(keys::PK, s(keys::route_pk(kind, &stored)))
            .key(keys::SK, s(keys::ROUTE_SK))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => {
                let route = match out.attributes {
                    Some(item) => route_from_item(&item)?,
                    None => Route {
                        kind,
                        key: stored,
                        tenant_id: String::new(),
                        trust_email: false,
                        email_domains: vec![],
                    },
                };
                Ok(RouteView::from(&route))
            }
            Err(e) if condition_failed(&e) => {
                let route = Route {
                    kind,
                    key: stored,
                    tenant_id: String::new(),
                    trust_email: false,
                    email_domains: vec![],
                };
                Err(AdminError::NotFound(format!(
                    "{} does not exist",
                    describe_route(&route)
                )))
            }
            Err(e) => Err(sdk("DeleteItem", self.table())(e)),
        }
    }

    /// The routes of a tenant (a missing tenant: NotFound), or of every tenant; sorted.
    pub async fn list_routes(&self, tenant: Option<&str>) -> Result<Vec<RouteView>, AdminError> {
        let items = match tenant {
            Some(id) => {
                if self.read_tenant(id).await?.is_none() {
                    return Err(AdminError::NotFound(format!(
                        "tenant '{id}' does not exist"
                    )));
                }
                self.tenant_items(id, keys::ROUTE_PREFIX).await?
            }
            None => {
                self.scan(
                    ScanFilter::Prefixes(keys::ROUTE_PREFIX, keys::ROUTE_SK),
                    &(),
                )
                .await?
            }
        };
        let mut routes = items
            .iter()
            .map(route_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        routes.sort_by(|a, b| (&a.tenant_id, a.kind, &a.key).cmp(&(&b.tenant_id, b.kind, &b.key)));
        Ok(routes.iter().map(RouteView::from).collect())
    }
}
