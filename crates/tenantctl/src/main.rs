use std::io;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use aws_config::BehaviorVersion;
use clap::Parser;
use tenant_admin::TenantTable;
use tenant_lookup::DynamoDirectory;
use tenantctl::pool::{self, PoolError};
use tenantctl::progress::Bar;
use tenantctl::{exit_code, Cli, CliError, Command, Context};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Pool(command) = &cli.command {
        return attach_or_check(command).await;
    }
    let table = match cli.table() {
        Ok(t) => t.to_string(),
        Err(e) => return fail(&e),
    };
    let now = match epoch_now() {
        Ok(now) => now,
        Err(e) => {
            eprintln!("tenantctl: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    // The SDK's own resolution of credentials, region and endpoint, and its defaults (not the
    // triggers' tight budget): an admin command may wait.
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(tenant_lookup::store::dynamo::sdk::https_client())
        .load()
        .await;
    let directory = TenantTable::new(DynamoDirectory::from_config(&config, table));
    let bar = Bar::on_terminal();
    let env = |k: &str| std::env::var(k).ok();
    let mut ctx = Context {
        table: &directory,
        out: &mut io::stdout().lock(),
        stdin: &mut io::stdin().lock(),
        json: cli.json,
        now,
        progress: &bar,
        env: &env,
    };
    match tenantctl::execute(&mut ctx, &cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// `tenantctl pool ...`: Cognito, no table. Exit 4 when `check` finds the pool not wired as
/// expected (a condition failed), 1 when Cognito cannot be asked.
async fn attach_or_check(command: &pool::PoolCommand) -> ExitCode {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(tenant_lookup::store::dynamo::sdk::https_client())
        .load()
        .await;
    let client = aws_sdk_cognitoidentityprovider::Client::new(&config);
    match pool::execute(&client, command, &mut io::stdout().lock()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tenantctl: {e}");
            ExitCode::from(match e {
                PoolError::Check { .. } => 4,
                _ => 1,
            })
        }
    }
}

fn fail(e: &CliError) -> ExitCode {
    eprintln!("tenantctl: {e}");
    ExitCode::from(exit_code(e))
}

fn epoch_now() -> anyhow::Result<i64> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_secs();
    i64::try_from(now).context("the system clock is out of range")
}
