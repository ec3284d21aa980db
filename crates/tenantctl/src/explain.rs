//! `tenantctl explain EVENT.json`: why a function answers an event as it does.

use std::path::PathBuf;

use clap::Args;
use serde_json::Value;
use tenant_admin::explain::{explain, Function};
use tenant_lookup::Config;

use crate::output::{emit, Table};
use crate::{CliError, Context};

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ExplainArgs {
    /// A trigger event (JSON) as Cognito sends it, or `-` for standard input.
    pub event: PathBuf,
    /// The function (default: from the event's triggerSource).
    #[arg(long, value_parser = ["pre-signup", "post-confirmation", "pre-token-generation"])]
    pub function: Option<String>,
    /// Decide as at this time (epoch seconds) instead of now: invitation expiry, createdAt.
    #[arg(long)]
    pub at: Option<i64>,
}

pub async fn run(ctx: &mut Context<'_>, a: &ExplainArgs) -> Result<(), CliError> {
    let mut text = String::new();
    let path = a.event.display().to_string();
    let read = if path == "-" {
        ctx.stdin.read_to_string(&mut text).map(drop)
    } else {
        std::fs::read_to_string(&a.event).map(|t| text = t)
    };
    read.map_err(|e| CliError::Read {
        path: path.clone(),
        reason: e.kind().to_string(),
    })?;
    let event: Value = serde_json::from_str(&text)
        .map_err(|_| CliError::Usage(format!("{path} is not a JSON document")))?;
    // The function's own settings (GROUPS_MODE, NO_TENANT_POLICY, claim names) from the
    // environment, as the function reads them.
    let table = ctx.table.table().to_string();
    let env = ctx.env;
    let config = Config::from_lookup(|k| {
        if k == "TENANT_TABLE" {
            Some(table.clone())
        } else {
            env(k)
        }
    })
    .map_err(|e| CliError::Usage(e.to_string()))?;
    let function = a.function.as_deref().and_then(Function::parse);
    let x = explain(ctx.table, event, function, &config, a.at.unwrap_or(ctx.now)).await?;
    emit(ctx, &x, |out| {
        match &x.asker {
            Some(s) => {
                let mut who = vec![format!("pool {}", s.user_pool_id)];
                if let Some(c) = &s.client_id {
                    who.push(format!("client {c}"));
                }
                if let Some(sub) = &s.sub {
                    who.push(format!("sub {sub}"));
                }
                if let Some(e) = &s.email {
                    let verified = if s.email_verified {
                        "verified"
                    } else {
                        "unverified"
                    };
                    who.push(format!("email {e} ({verified})"));
                }
                if let Some(p) = &s.federated_provider {
                    who.push(format!("federated via {p}"));
                }
                writeln!(
                    out,
                    "{}: {}, {}",
                    x.function_name(),
                    s.trigger_source,
                    who.join(", ")
                )?;
            }
            None => writeln!(out, "{}: an event it cannot read", x.function_name())?,
        }
        if x.sources.is_empty() {
            writeln!(out, "sources consulted: none")?;
        } else {
            writeln!(out, "sources consulted (nothing was written):")?;
            let mut table = Table::new(&["#", "SOURCE", "KEY", "ANSWER"]);
            for (i, c) in x.sources.iter().enumerate() {
                table.row(vec![
                    (i + 1).to_string(),
                    c.source.clone(),
                    c.key.clone(),
                    c.answer.clone(),
                ]);
            }
            table.write(out, "  ")?;
        }
        let d = &x.decision;
        let tenant = d
            .tenant_id
            .as_ref()
            .map(|t| format!(", tenant {t}"))
            .unwrap_or_default();
        match &d.reason {
            None => writeln!(out, "decision: {}{tenant}, by {}", d.decision, d.rule)?,
            Some(reason) => writeln!(out, "decision: deny {}{tenant}: {reason}", d.rule)?,
        }
        match x.response.get("errorMessage") {
            Some(message) => writeln!(
                out,
                "answer: error {}",
                message.as_str().unwrap_or_default()
            ),
            None => {
                let response = x.response.get("response").cloned().unwrap_or(Value::Null);
                writeln!(
                    out,
                    "answer: {}",
                    serde_json::to_string_pretty(&response).unwrap_or_default()
                )
            }
        }
    })
}

trait FunctionName {
    fn function_name(&self) -> &'static str;
}

impl FunctionName for tenant_admin::explain::Explanation {
    fn function_name(&self) -> &'static str {
        self.function.name()
    }
}
