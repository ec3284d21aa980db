//! `localpool`: a user's life against the local pool of `make pool` (cognito-local wired to the
//! three triggers): sign up, confirm, sign in, refresh, and the tokens' claims, each token
//! checked against the pool's JWKS first.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{Parser, Subcommand};
use localpool::{
    emulator, session_path, LocalPool, PoolState, PoolTemplate, Session, TokenUse, Verifier,
};
use serde_json::Value;

/// Drive the local user pool of `make pool`: sign up, confirm, sign in, refresh, and show the
/// tokens' claims, verified against the pool's JWKS as an API would.
#[derive(Debug, Parser)]
#[command(name = "localpool", version)]
struct Cli {
    /// What `localpool create` wrote (`make pool` writes .pool/pool.json); sessions are kept
    /// beside it, in sessions/.
    #[arg(
        long,
        env = "LOCALPOOL_STATE",
        default_value = ".pool/pool.json",
        global = true
    )]
    state: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the template's user pool and app clients on the emulator, save the pool's ids
    /// (--state) and write its directory document for `tenantctl import`.
    Create {
        /// The emulator (cognito-local) endpoint.
        #[arg(long)]
        endpoint: String,
        /// The emulator's working directory (where its .cognito/ is).
        #[arg(long)]
        emulator_dir: PathBuf,
        #[arg(long, default_value = "local-pool/pool.template.json")]
        template: PathBuf,
        /// Where to write the pool's directory document.
        #[arg(long, default_value = ".pool/directory.json")]
        directory_out: PathBuf,
    },
    /// Write the emulator's .cognito/config.json: the triggers invoked through the Lambda
    /// adapter, tokens issued by the emulator's endpoint.
    EmulatorConfig {
        #[arg(long)]
        emulator_dir: PathBuf,
        /// The Invoke API the emulator calls (local-pool/lambda-adapter.js).
        #[arg(long)]
        lambda_endpoint: String,
        /// The emulator's own endpoint (the tokens' issuer).
        #[arg(long)]
        endpoint: String,
    },
    /// The pool, its app clients, its JWKS and issuer.
    Info,
    /// SignUp: a new user, with attributes (e.g. -a custom:tenantId=globex, -a name=Jane).
    SignUp {
        email: String,
        #[arg(long, env = "LOCALPOOL_PASSWORD", hide_env_values = true)]
        password: String,
        /// App client name (default: the pool's first).
        #[arg(long)]
        client: Option<String>,
        /// NAME=VALUE, repeatable.
        #[arg(short = 'a', long = "attribute", value_parser = parse_attribute)]
        attributes: Vec<(String, String)>,
    },
    /// ConfirmSignUp with the code the emulator sent (read from its data), the email marked
    /// verified first, as Cognito does when an emailed code confirms a sign-up.
    Confirm {
        email: String,
        #[arg(long)]
        client: Option<String>,
    },
    /// AdminConfirmSignUp: confirmed by an administrator; the email stays unverified unless
    /// --verify-email.
    AdminConfirm {
        email: String,
        #[arg(long)]
        verify_email: bool,
    },
    /// InitiateAuth (USER_PASSWORD_AUTH): keeps the tokens and shows their claims.
    SignIn {
        email: String,
        #[arg(long, env = "LOCALPOOL_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long)]
        client: Option<String>,
    },
    /// InitiateAuth (REFRESH_TOKEN_AUTH) with the kept refresh token; shows the new claims.
    Refresh { email: String },
    /// The kept tokens' claims, verified against the pool's JWKS.
    Tokens {
        email: String,
        /// Print the encoded tokens too.
        #[arg(long)]
        raw: bool,
    },
}

fn parse_attribute(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}' is not NAME=VALUE"))?;
    if name.trim().is_empty() {
        return Err(format!("'{s}' has no attribute name"));
    }
    Ok((name.trim().to_string(), value.to_string()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("localpool: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn sessions_dir(state_path: &Path) -> PathBuf {
    state_path
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("sessions")
}

fn load_pool(state_path: &Path) -> anyhow::Result<LocalPool> {
    let state = PoolState::load(state_path).with_context(|| {
        format!(
            "no local pool at {} (is `make pool` running in another shell?)",
            state_path.display()
        )
    })?;
    Ok(LocalPool::new(state))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let sessions = sessions_dir(&cli.state);
    match cli.command {
        Command::Create {
            endpoint,
            emulator_dir,
            template,
            directory_out,
        } => {
            let text = std::fs::read_to_string(&template)
                .with_context(|| format!("cannot read {}", template.display()))?;
            let template = PoolTemplate::from_json(&text)?;
            let emulator_dir = std::path::absolute(&emulator_dir)?;
            let created = LocalPool::create(&endpoint, &template, &emulator_dir).await?;
            created.state.save(&cli.state)?;
            if let Some(dir) = directory_out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(
                &directory_out,
                serde_json::to_string_pretty(&created.directory)? + "\n",
            )
            .with_context(|| format!("cannot write {}", directory_out.display()))?;
            print_info(&created.state);
            println!("directory document: {}", directory_out.display());
        }
        Command::EmulatorConfig {
            emulator_dir,
            lambda_endpoint,
            endpoint,
        } => {
            let path = emulator::write_config(&emulator_dir, &lambda_endpoint, &endpoint)?;
            println!("{}", path.display());
        }
        Command::Info => print_info(&load_pool(&cli.state)?.state),
        Command::SignUp {
            email,
            password,
            client,
            attributes,
        } => {
            let pool = load_pool(&cli.state)?;
            let out = pool
                .sign_up(client.as_deref(), &email, &password, &attributes)
                .await?;
            println!(
                "signed up: {email} (sub {}), {}",
                out.user_sub,
                if out.confirmed {
                    "confirmed by pre sign-up"
                } else {
                    "unconfirmed: next, `localpool confirm` (the code the emulator emailed)"
                }
            );
        }
        Command::Confirm { email, client } => {
            let pool = load_pool(&cli.state)?;
            pool.confirm(client.as_deref(), &email).await?;
            println!("confirmed: {email} (email verified, as after an emailed code)");
        }
        Command::AdminConfirm {
            email,
            verify_email,
        } => {
            let pool = load_pool(&cli.state)?;
            pool.admin_confirm(&email, verify_email).await?;
            println!(
                "confirmed by an administrator: {email} (email {})",
                if verify_email {
                    "marked verified"
                } else {
                    "left unverified"
                }
            );
        }
        Command::SignIn {
            email,
            password,
            client,
        } => {
            let pool = load_pool(&cli.state)?;
            let session = pool.sign_in(client.as_deref(), &email, &password).await?;
            let path = session_path(&sessions, &email);
            session.save(&path)?;
            println!(
                "signed in: {email} (app client {}); tokens kept in {}",
                session.client,
                path.display()
            );
            show(&pool.state, &session, false)?;
        }
        Command::Refresh { email } => {
            let pool = load_pool(&cli.state)?;
            let path = session_path(&sessions, &email);
            let previous = Session::load(&path).with_context(|| {
                format!("no tokens kept for {email}: `localpool sign-in` first")
            })?;
            let session = pool.refresh(&previous).await?;
            session.save(&path)?;
            println!(
                "refreshed: {email} (app client {}); tokens kept in {}",
                session.client,
                path.display()
            );
            show(&pool.state, &session, false)?;
        }
        Command::Tokens { email, raw } => {
            let pool = load_pool(&cli.state)?;
            let path = session_path(&sessions, &email);
            let session = Session::load(&path).with_context(|| {
                format!("no tokens kept for {email}: `localpool sign-in` first")
            })?;
            show(&pool.state, &session, raw)?;
        }
    }
    Ok(())
}

fn print_info(state: &PoolState) {
    println!("user pool:  {} on {}", state.user_pool_id, state.endpoint);
    for (name, id) in &state.clients {
        let default = if *name == state.default_client {
            " (default)"
        } else {
            ""
        };
        println!("app client: {name:<12} {id}{default}");
    }
    println!("issuer:     {}", state.issuer());
    println!("JWKS:       {}", state.jwks_url());
}

/// Both tokens, verified, then their claims; a token that does not verify is an error.
fn show(state: &PoolState, session: &Session, raw: bool) -> anyhow::Result<()> {
    let verifier = Verifier::fetch(&state.jwks_url(), state.issuer())?;
    let client_id = state.client_id(Some(&session.client))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    for (token_use, token) in [
        (TokenUse::Id, &session.id_token),
        (TokenUse::Access, &session.access_token),
    ] {
        let verified = verifier.verify(token, token_use, client_id)?;
        let expires_in = verified.claims["exp"]
            .as_u64()
            .map(|exp| exp.saturating_sub(now))
            .unwrap_or_default();
        println!();
        println!(
            "{} token: signature verified (RS256, kid {}, {}), iss {}, {}, expires in {} min",
            token_use.as_str(),
            verified.kid,
            state.jwks_url(),
            state.issuer(),
            match token_use {
                TokenUse::Id => format!("aud {client_id}"),
                TokenUse::Access => format!("client_id {client_id}"),
            },
            expires_in / 60
        );
        if raw {
            println!("{token}");
        }
        println!("{}", serde_json::to_string_pretty(&verified.claims)?);
        match token_use {
            TokenUse::Id => println!("tenant: {}", tenant_summary(&verified.claims)),
            TokenUse::Access => println!(
                "(cognito-local applies pre token generation to the ID token only: no groups \
                 here, nor the tenant claims and scopes a version 2 pool would add)"
            ),
        }
    }
    Ok(())
}

/// `tenantId=acme tenantTier=premium custom:tenantId=acme cognito:groups=[admin]`.
fn tenant_summary(claims: &Value) -> String {
    let parts: Vec<String> = [
        "tenantId",
        "tenantTier",
        "custom:tenantId",
        "cognito:groups",
    ]
    .iter()
    .map(|name| match &claims[*name] {
        Value::Null => format!("{name}=(none)"),
        Value::String(s) => format!("{name}={s}"),
        Value::Array(a) => format!(
            "{name}=[{}]",
            a.iter()
                .map(|v| v
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{name}={other}"),
    })
    .collect();
    parts.join(" ")
}
