//! The definition of a local pool (`local-pool/pool.template.json`): its name, its app
//! clients, and the directory document to import for it, written with placeholders for the
//! ids the emulator only gives out when the pool and clients are created:
//! `${USER_POOL_ID}` and `${CLIENT_ID:<app client name>}`, each a whole JSON string.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::PoolError;

const POOL_ID: &str = "${USER_POOL_ID}";
const CLIENT_ID_PREFIX: &str = "${CLIENT_ID:";

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PoolTemplate {
    pub pool_name: String,
    /// App client names; the first is the default of the commands.
    pub app_clients: Vec<String>,
    /// A directory document (`tenantctl import`), with placeholders.
    pub directory: Value,
}

impl PoolTemplate {
    pub fn from_json(text: &str) -> Result<Self, PoolError> {
        let template: PoolTemplate = serde_json::from_str(text)
            .map_err(|e| PoolError::Template(format!("not a pool template: {e}")))?;
        if template.pool_name.trim().is_empty() {
            return Err(PoolError::Template("poolName is empty".into()));
        }
        if template.app_clients.is_empty() {
            return Err(PoolError::Template("appClients is empty".into()));
        }
        let mut seen = std::collections::BTreeSet::new();
        for name in &template.app_clients {
            if name.trim().is_empty() || !seen.insert(name) {
                return Err(PoolError::Template(format!(
                    "app client name '{name}' is empty or listed twice"
                )));
            }
        }
        // Every placeholder must name a client the template creates.
        let mut unknown = Vec::new();
        visit_strings(&template.directory, &mut |s| {
            if let Some(name) = client_placeholder(s) {
                if !template.app_clients.iter().any(|c| c == name) {
                    unknown.push(name.to_string());
                }
            }
        });
        if !unknown.is_empty() {
            return Err(PoolError::Template(format!(
                "the directory names app clients the template does not create: {}",
                unknown.join(", ")
            )));
        }
        Ok(template)
    }

    /// The directory document with the placeholders replaced by the pool's and clients' ids.
    pub fn render_directory(
        &self,
        user_pool_id: &str,
        client_ids: &BTreeMap<String, String>,
    ) -> Result<Value, PoolError> {
        let mut directory = self.directory.clone();
        let mut missing = Vec::new();
        replace_strings(&mut directory, &mut |s| {
            if s == POOL_ID {
                return Some(user_pool_id.to_string());
            }
            let name = client_placeholder(s)?;
            let id = client_ids.get(name).cloned();
            if id.is_none() {
                missing.push(name.to_string());
            }
            id
        });
        if !missing.is_empty() {
            return Err(PoolError::Template(format!(
                "no id for app clients {}",
                missing.join(", ")
            )));
        }
        Ok(directory)
    }
}

fn client_placeholder(s: &str) -> Option<&str> {
    s.strip_prefix(CLIENT_ID_PREFIX)?.strip_suffix('}')
}

fn visit_strings(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|x| visit_strings(x, f)),
        Value::Object(m) => m.values().for_each(|x| visit_strings(x, f)),
        _ => {}
    }
}

fn replace_strings(v: &mut Value, f: &mut impl FnMut(&str) -> Option<String>) {
    match v {
        Value::String(s) => {
            if let Some(new) = f(s) {
                *s = new;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| replace_strings(x, f)),
        Value::Object(m) => m.values_mut().for_each(|x| replace_strings(x, f)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template() -> PoolTemplate {
        PoolTemplate::from_json(
            &json!({
                "poolName": "p",
                "appClients": ["web", "acme-web"],
                "directory": {"routes": [
                    {"kind": "client", "userPoolId": "${USER_POOL_ID}", "key": "${CLIENT_ID:acme-web}", "tenantId": "acme"},
                    {"kind": "domain", "userPoolId": "${USER_POOL_ID}", "key": "acme.example", "tenantId": "acme"}
                ]}
            })
            .to_string(),
        )
        .unwrap()
    }

    #[test]
    fn placeholders_become_the_created_ids() {
        let ids = BTreeMap::from([
            ("web".to_string(), "111".to_string()),
            ("acme-web".to_string(), "222".to_string()),
        ]);
        let d = template().render_directory("local_Abc", &ids).unwrap();
        assert_eq!(
            d["routes"],
            json!([
                {"kind": "client", "userPoolId": "local_Abc", "key": "222", "tenantId": "acme"},
                {"kind": "domain", "userPoolId": "local_Abc", "key": "acme.example", "tenantId": "acme"}
            ])
        );
    }

    #[test]
    fn a_placeholder_for_a_client_not_created_is_refused() {
        let err = PoolTemplate::from_json(
            r#"{"poolName": "p", "appClients": ["web"], "directory": {"k": "${CLIENT_ID:other}"}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("other"), "{err}");
        let err = template()
            .render_directory("local_Abc", &BTreeMap::new())
            .unwrap_err();
        assert!(err.to_string().contains("acme-web"), "{err}");
    }

    #[test]
    fn templates_are_checked() {
        for bad in [
            r#"{"poolName": "", "appClients": ["web"], "directory": {}}"#,
            r#"{"poolName": "p", "appClients": [], "directory": {}}"#,
            r#"{"poolName": "p", "appClients": ["web", "web"], "directory": {}}"#,
            r#"{"poolName": "p", "appClients": ["web"], "directory": {}, "typo": 1}"#,
        ] {
            assert!(PoolTemplate::from_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_project_template_renders_and_names_the_pool_on_every_route_but_pool_routes() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../local-pool/pool.template.json"
        );
        let t = PoolTemplate::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
        let ids = t
            .app_clients
            .iter()
            .map(|c| (c.clone(), format!("id-of-{c}")))
            .collect();
        let d = t.render_directory("local_Abc", &ids).unwrap();
        let text = d.to_string();
        assert!(!text.contains("${"), "{text}");
        for route in d["routes"].as_array().unwrap() {
            if route["kind"] != "pool" {
                assert_eq!(route["userPoolId"], "local_Abc", "{route}");
            }
        }
    }
}
