//! What a client really asks of the directory table, in IAM's terms: the action each request
//! (or each item of a transaction) is authorized as, the prefix of the partition key it reaches
//! (`TENANT#`, `USER#`, ...), and the attributes it names. The least-privilege test holds the
//! functions' roles in `infra/template.yaml` against it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use serde_json::Value;

/// One authorization: an IAM action on items whose partition key starts with `prefix`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    /// `dynamodb:GetItem`, `dynamodb:PutItem`, ...
    pub action: String,
    /// The partition key up to and including its first `#` (`TENANT#`), or `*` when the
    /// request names no partition key (a Scan).
    pub prefix: String,
}

/// Every grant a client needed, with the attribute names each one touched (keys included).
#[derive(Clone, Debug, Default)]
pub struct AccessLog {
    seen: Arc<Mutex<BTreeMap<Grant, BTreeSet<String>>>>,
}

impl AccessLog {
    pub fn grants(&self) -> BTreeMap<Grant, BTreeSet<String>> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn record(&self, action: &str, pk: Option<&str>, attributes: BTreeSet<String>) {
        let prefix = match pk {
            Some(pk) => match pk.find('#') {
                Some(i) => pk[..=i].to_string(),
                None => pk.to_string(),
            },
            None => "*".to_string(),
        };
        let grant = Grant {
            action: format!("dynamodb:{action}"),
            prefix,
        };
        if let Ok(mut seen) = self.seen.lock() {
            seen.entry(grant).or_default().extend(attributes);
        }
    }
}

/// The string value of attribute `name` in a DynamoDB JSON item or key.
fn s_of<'a>(item: &'a Value, name: &str) -> Option<&'a str> {
    item.get(name)?.get("S")?.as_str()
}

/// The attribute names an item, a key and an expression's `ExpressionAttributeNames` name.
fn names(parts: &[&Value]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for part in parts {
        if let Some(map) = part.as_object() {
            out.extend(map.keys().cloned());
        }
    }
    out
}

fn expression_names(request: &Value) -> Vec<String> {
    request["ExpressionAttributeNames"]
        .as_object()
        .map(|m| {
            m.values()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The partition key value a Query's key condition names (`#pk = :pk`).
fn query_pk(request: &Value) -> Option<&str> {
    let names = request["ExpressionAttributeNames"].as_object()?;
    let condition = request["KeyConditionExpression"].as_str()?;
    let placeholder = names
        .iter()
        .find(|(_, v)| v.as_str() == Some("PK") || v.as_str() == Some("GSI1PK"))
        .map(|(k, _)| k.as_str())?;
    let value = condition
        .split("AND")
        .find_map(|part| {
            part.trim()
                .strip_prefix(placeholder)?
                .trim()
                .strip_prefix('=')
        })?
        .trim();
    request["ExpressionAttributeValues"][value]["S"].as_str()
}

impl AccessLog {
    fn record_request(&self, operation: &str, body: &Value) {
        match operation {
            "GetItem" | "DeleteItem" | "UpdateItem" => {
                let mut attributes = names(&[&body["Key"]]);
                attributes.extend(expression_names(body));
                self.record(operation, s_of(&body["Key"], "PK"), attributes)
            }
            "PutItem" => {
                let mut attributes = names(&[&body["Item"]]);
                attributes.extend(expression_names(body));
                self.record(operation, s_of(&body["Item"], "PK"), attributes)
            }
            "Query" => self.record(
                operation,
                query_pk(body),
                expression_names(body).into_iter().collect(),
            ),
            "TransactWriteItems" => {
                for item in body["TransactItems"].as_array().into_iter().flatten() {
                    for (kind, action, key) in [
                        ("Put", "PutItem", "Item"),
                        ("Update", "UpdateItem", "Key"),
                        ("Delete", "DeleteItem", "Key"),
                        ("ConditionCheck", "ConditionCheckItem", "Key"),
                    ] {
                        let part = &item[kind];
                        if part.is_object() {
                            let mut attributes = names(&[&part[key]]);
                            attributes.extend(expression_names(part));
                            self.record(action, s_of(&part[key], "PK"), attributes);
                        }
                    }
                }
            }
            other => self.record(other, None, BTreeSet::new()),
        }
    }
}

impl Intercept for AccessLog {
    fn name(&self) -> &'static str {
        "AccessLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_string())
            .unwrap_or_default();
        let body = context
            .request()
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
            .unwrap_or(Value::Null);
        self.record_request(&operation, &body);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn transactions_are_read_item_by_item_with_their_key_prefix_and_attributes() {
        let log = AccessLog::default();
        log.record_request(
            "TransactWriteItems",
            &json!({"TransactItems": [
                {"Put": {"Item": {"PK": {"S": "USER#p#s"}, "SK": {"S": "TENANT#a"}, "roles": {"L": []}},
                         "ConditionExpression": "attribute_not_exists(#pk)", "ExpressionAttributeNames": {"#pk": "PK"}}},
                {"Update": {"Key": {"PK": {"S": "TENANT#a"}, "SK": {"S": "TENANT"}},
                            "ExpressionAttributeNames": {"#count": "userCount", "#max": "maxUsers"}}}
            ]}),
        );
        log.record_request(
            "Query",
            &json!({"KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :sk)",
                    "ExpressionAttributeNames": {"#pk": "PK", "#sk": "SK"},
                    "ExpressionAttributeValues": {":pk": {"S": "INVITE#p#a@b"}, ":sk": {"S": "TENANT#"}}}),
        );
        let grants = log.grants();
        let of = |action: &str, prefix: &str| {
            grants[&Grant {
                action: action.into(),
                prefix: prefix.into(),
            }]
                .iter()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(of("dynamodb:PutItem", "USER#"), ["PK", "SK", "roles"]);
        assert_eq!(
            of("dynamodb:UpdateItem", "TENANT#"),
            ["PK", "SK", "maxUsers", "userCount"]
        );
        assert_eq!(of("dynamodb:Query", "INVITE#"), ["PK", "SK"]);
        assert_eq!(grants.len(), 3);
    }
}
