use std::io;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use aws_config::BehaviorVersion;
use clap::Parser;
use tenant_admin::TenantTable;
use tenant_lookup::DynamoDirectory;
use tenantctl::{pool, Cli, Command};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tenantctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // The SDK's defaults (not the triggers' tight budget): an admin command may wait.
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(tenant_lookup::store::dynamo::sdk::https_client())
        .load()
        .await;
    if let Command::Pool(command) = &cli.command {
        let client = aws_sdk_cognitoidentityprovider::Client::new(&config);
        pool::execute(&client, command, &mut io::stdout().lock()).await?;
        return Ok(());
    }
    let table = cli.table()?;
    let directory = TenantTable::new(DynamoDirectory::from_config(&config, table));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_secs();
    let now = i64::try_from(now).context("the system clock is out of range")?;
    tenantctl::execute(
        &directory,
        &cli.command,
        &mut io::stdin().lock(),
        &mut io::stdout().lock(),
        now,
    )
    .await
    .with_context(|| format!("table {table}"))?;
    Ok(())
}
