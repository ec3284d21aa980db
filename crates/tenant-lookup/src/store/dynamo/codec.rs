//! The item codec: directory model <-> DynamoDB items.
//!
//! | item | attributes (besides the keys of [`crate::store::keys`]) |
//! |---|---|
//! | tenant | name, tier, status, selfSignUp (BOOL), allowedEmailDomains (L, omitted when empty), maxUsers (N, omitted when unlimited), userCount (N), defaultRole, iamRoleArn (omitted when none) |
//! | tier | scopes (L) |
//! | route | kind, key, tenantId, trustEmail (BOOL), emailDomains (L, omitted when empty), GSI1PK=`TENANT#{id}`, GSI1SK=its PK |
//! | membership | userPoolId, sub, tenantId, roles (L), status, source, createdAt (N), GSI1PK=`TENANT#{id}`, GSI1SK=`USER#{pool}#{sub}` |
//! | invitation | userPoolId, email, tenantId, roles (L), invitedBy, expiresAt (N, epoch seconds, the TTL attribute), usedBy and usedAt (N) once used, GSI1PK=`TENANT#{id}`, GSI1SK=its PK |
//!
//! A used invitation has no `expiresAt` (the provisioning removes it): the TTL would otherwise
//! delete the record that the invitation was used, and an import could bring it back.
//!
//! Reading is lenient about optional attributes (missing means the documented default; a missing
//! `roles` is an empty list, left to the caller's default role) and strict about required ones
//! (tenant `tier`; route `tenantId`; membership `userPoolId`, `sub`, `tenantId`; invitation
//! `userPoolId`, `email`, `tenantId`) and about types: an attribute of the wrong type is
//! [`DirectoryError::Malformed`] rather than a silent default (a `maxUsers` stored as a string must
//! not become "unlimited"). The error texts written here never contain an email address.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext};
use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::model::{
    Invitation, Membership, MembershipStatus, Route, RouteKind, Tenant, TenantStatus, Tier,
    DEFAULT_ROLE,
};
use crate::store::keys;
use crate::store::DirectoryError;

pub type Item = HashMap<String, AttributeValue>;

/// The TTL attribute of invitations.
pub const TTL_ATTRIBUTE: &str = "expiresAt";

/// Attribute names.
pub mod attr {
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
    pub const EMAIL_DOMAINS: &str = "emailDomains";
    pub const USER_POOL_ID: &str = "userPoolId";
    pub const SUB: &str = "sub";
    pub const ROLES: &str = "roles";
    pub const SOURCE: &str = "source";
    pub const CREATED_AT: &str = "createdAt";
    pub const EMAIL: &str = "email";
    pub const INVITED_BY: &str = "invitedBy";
    pub const EXPIRES_AT: &str = super::TTL_ATTRIBUTE;
    pub const USED_BY: &str = "usedBy";
    pub const USED_AT: &str = "usedAt";
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn string_list(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(|v| s(v.as_str())).collect())
}

/// An attribute's value, with `NULL` taken as absent.
pub fn present<'a>(item: &'a Item, name: &str) -> Option<&'a AttributeValue> {
    item.get(name)
        .filter(|v| !matches!(v, AttributeValue::Null(_)))
}

pub fn with_keys(
    pk: String,
    sk: String,
    attributes: impl IntoIterator<Item = (&'static str, AttributeValue)>,
) -> Item {
    let mut item = Item::from([(keys::PK.to_string(), s(pk)), (keys::SK.to_string(), s(sk))]);
    item.extend(attributes.into_iter().map(|(k, v)| (k.to_string(), v)));
    item
}

/// A tenant's attributes other than its keys and `userCount`; `None` means absent.
pub fn tenant_attributes(t: &Tenant) -> [(&'static str, Option<AttributeValue>); 8] {
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

/// A whole tenant item; `user_count` `None` leaves the attribute out.
pub fn tenant_item(t: &Tenant, user_count: Option<u32>) -> Item {
    let attributes = tenant_attributes(t)
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)));
    let mut item = with_keys(keys::tenant_pk(&t.id), keys::TENANT_SK.into(), attributes);
    if let Some(c) = user_count {
        item.insert(attr::USER_COUNT.into(), n(c));
    }
    item
}

pub fn tier_item(t: &Tier) -> Item {
    with_keys(
        keys::tier_pk(&t.id),
        keys::TIER_SK.into(),
        [(attr::SCOPES, string_list(&t.scopes))],
    )
}

pub fn route_item(r: &Route) -> Item {
    let pk = keys::route_pk(r.kind, &r.key);
    let mut item = with_keys(
        pk.clone(),
        keys::ROUTE_SK.into(),
        [
            (attr::KIND, s(r.kind.as_str())),
            (attr::KEY, s(r.key.as_str())),
            (attr::TENANT_ID, s(r.tenant_id.as_str())),
            (attr::TRUST_EMAIL, AttributeValue::Bool(r.trust_email)),
            (keys::GSI1PK, s(keys::tenant_pk(&r.tenant_id))),
            (keys::GSI1SK, s(pk)),
        ],
    );
    if !r.email_domains.is_empty() {
        item.insert(attr::EMAIL_DOMAINS.into(), string_list(&r.email_domains));
    }
    item
}

pub fn membership_item(m: &Membership) -> Item {
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

pub fn invitation_item(i: &Invitation) -> Item {
    let pk = keys::invite_pk(&i.user_pool_id, &i.email);
    let mut item = with_keys(
        pk.clone(),
        keys::tenant_sk(&i.tenant_id),
        [
            (attr::USER_POOL_ID, s(i.user_pool_id.as_str())),
            (attr::EMAIL, s(i.email.as_str())),
            (attr::TENANT_ID, s(i.tenant_id.as_str())),
            (attr::ROLES, string_list(&i.roles)),
            (keys::GSI1PK, s(keys::tenant_pk(&i.tenant_id))),
            (keys::GSI1SK, s(pk)),
        ],
    );
    if let Some(by) = &i.invited_by {
        item.insert(attr::INVITED_BY.into(), s(by.as_str()));
    }
    if let Some(at) = i.expires_at {
        item.insert(attr::EXPIRES_AT.into(), n(at));
    }
    if let Some(by) = &i.used_by {
        item.insert(attr::USED_BY.into(), s(by.as_str()));
    }
    if let Some(at) = i.used_at {
        item.insert(attr::USED_AT.into(), n(at));
    }
    item
}

/// Typed access to one item's attributes; errors name the item (`what`) and the attribute.
pub struct Reader<'a> {
    pub item: &'a Item,
    pub what: &'a str,
}

impl<'a> Reader<'a> {
    pub fn wrong(&self, name: &str, expected: &str) -> DirectoryError {
        DirectoryError::Malformed(format!(
            "{}: attribute '{name}' is not {expected}",
            self.what
        ))
    }

    pub fn req_s(&self, name: &str) -> Result<&'a str, DirectoryError> {
        self.opt_s(name)?.ok_or_else(|| {
            DirectoryError::Malformed(format!("{}: attribute '{name}' is missing", self.what))
        })
    }

    pub fn opt_s(&self, name: &str) -> Result<Option<&'a str>, DirectoryError> {
        match present(self.item, name) {
            None => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v)),
            Some(_) => Err(self.wrong(name, "a string")),
        }
    }

    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, DirectoryError> {
        match present(self.item, name) {
            None => Ok(None),
            Some(AttributeValue::Bool(v)) => Ok(Some(*v)),
            Some(_) => Err(self.wrong(name, "a boolean")),
        }
    }

    pub fn opt_num<T: FromStr>(&self, name: &str) -> Result<Option<T>, DirectoryError> {
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
    pub fn opt_strings(&self, name: &str) -> Result<Option<Vec<String>>, DirectoryError> {
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
    pub fn pk_suffix(&self, prefix: &str) -> Result<&'a str, DirectoryError> {
        let pk = self.req_s(keys::PK)?;
        pk.strip_prefix(prefix).ok_or_else(|| {
            DirectoryError::Malformed(format!("{}: PK does not start with {prefix}", self.what))
        })
    }
}

pub fn tenant_from_item(item: &Item) -> Result<Tenant, DirectoryError> {
    let id = Reader {
        item,
        what: "tenant item",
    }
    .pk_suffix(keys::TENANT_PREFIX)?;
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

pub fn tier_from_item(item: &Item) -> Result<Tier, DirectoryError> {
    let id = Reader {
        item,
        what: "tier item",
    }
    .pk_suffix(keys::TIER_PREFIX)?;
    let what = format!("tier '{id}'");
    let r = Reader { item, what: &what };
    Ok(Tier {
        id: id.to_string(),
        scopes: r.opt_strings(attr::SCOPES)?.unwrap_or_default(),
    })
}

/// Kind and key come from the partition key (the route's identity).
pub fn route_from_item(item: &Item) -> Result<Route, DirectoryError> {
    let rest = Reader {
        item,
        what: "route item",
    }
    .pk_suffix(keys::ROUTE_PREFIX)?;
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
        email_domains: r
            .opt_strings(attr::EMAIL_DOMAINS)?
            .unwrap_or_default()
            .into_iter()
            .map(|d| d.trim().to_ascii_lowercase())
            .collect(),
    })
}

pub fn membership_from_item(item: &Item) -> Result<Membership, DirectoryError> {
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
pub fn invitation_from_item(item: &Item) -> Result<Invitation, DirectoryError> {
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
        used_by: r.opt_s(attr::USED_BY)?.map(str::to_string),
        used_at: r.opt_num(attr::USED_AT)?,
    })
}

pub fn unavailable<E: std::error::Error>(
    operation: &'static str,
) -> impl FnOnce(E) -> DirectoryError {
    move |e| DirectoryError::Unavailable(format!("{operation}: {}", DisplayErrorContext(&e)))
}

pub fn build_error(e: BuildError) -> DirectoryError {
    DirectoryError::Unavailable(format!("building a DynamoDB request: {e}"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn tenant() -> Tenant {
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

    #[test]
    fn tenant_items_round_trip_and_optional_attributes_are_omitted() {
        let t = tenant();
        let item = tenant_item(&t, Some(3));
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
        let item = tenant_item(&unlimited, None);
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
        let mut item = tenant_item(&tenant(), None);
        item.insert(attr::MAX_USERS.into(), s("5"));
        let err = tenant_from_item(&item).unwrap_err().to_string();
        assert!(
            err.contains("'maxUsers'") && err.contains("tenant 'acme'"),
            "{err}"
        );

        let mut item = tenant_item(&tenant(), None);
        item.remove(attr::TIER);
        assert!(tenant_from_item(&item)
            .unwrap_err()
            .to_string()
            .contains("'tier' is missing"));

        let mut item = tenant_item(&tenant(), None);
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
            used_by: None,
            used_at: None,
        };
        let mut item = invitation_item(&inv);
        assert_eq!(invitation_from_item(&item).unwrap(), inv);
        let used = Invitation {
            used_by: Some("sub-1".into()),
            used_at: Some(9),
            ..inv.clone()
        };
        assert_eq!(invitation_from_item(&invitation_item(&used)).unwrap(), used);
        item.insert(attr::EXPIRES_AT.into(), s("soon"));
        let err = invitation_from_item(&item).unwrap_err().to_string();
        assert!(
            err.contains("expiresAt") && !err.contains("secret.person"),
            "{err}"
        );
    }

    #[test]
    fn route_keys_keep_their_pool_when_parsed_from_the_partition_key() {
        let r = Route {
            kind: RouteKind::Idp,
            key: "us-east-1_X#acmesaml".into(),
            tenant_id: "acme".into(),
            trust_email: true,
            email_domains: vec!["acme.example".into()],
        };
        assert_eq!(route_from_item(&route_item(&r)).unwrap(), r);
        let domain = Route {
            kind: RouteKind::Domain,
            key: "us-east-1_X#acme.example".into(),
            tenant_id: "acme".into(),
            trust_email: false,
            email_domains: vec![],
        };
        let item = route_item(&domain);
        assert!(!item.contains_key(attr::EMAIL_DOMAINS));
        assert_eq!(route_from_item(&item).unwrap(), domain);
    }
}
