//! `authservice admin …`: operator accounts from the server's host, for the first super admin
//! (nobody can sign in to create it through the API) and for recovery.
//!
//! ```text
//! authservice admin create --email ops@example.com --role super_admin [--role …]
//!                          [--scope all|client:<id>|organization:<id>] [--password-stdin]
//! ```
//!
//! Without `--password-stdin` a random password is generated and printed once. The account
//! enrols TOTP at its first sign-in. The creation is audited with actor `console`.

use std::io::BufRead;
use std::sync::Arc;

use anyhow::{Context, bail};
use authservice_application::RequestCtx;
use authservice_application::admin::{AdminPorts, AdminUserInput, ManageAdmins, ScopeInput};
use authservice_application::limits::{Limits, RateRules};
use authservice_application::ports::SystemClock;
use authservice_domain::{AdminPrincipal, Principal};
use authservice_infrastructure::crypto::{AesGcmSecretBox, OsRandom, PooledHasher, RfcTotp};
use authservice_infrastructure::memory::MemoryRateLimiter;
use authservice_infrastructure::postgres::{self, PgAdmins, PgAuditLog, PgClientRepository};
use base64::Engine as _;
use secrecy::ExposeSecret;

use crate::settings::Settings;

pub const USAGE: &str = "usage: authservice admin create --email <email> --role <role> [--role <role>…] [--scope all|client:<id>|organization:<id>] [--password-stdin]";

/// What `admin create` was asked.
#[derive(Debug, Clone)]
pub struct CreateArgs {
    pub email: String,
    pub roles: Vec<String>,
    pub scope: ScopeInput,
    pub password_stdin: bool,
}

/// Parses the arguments after `admin`.
///
/// # Errors
/// An unknown subcommand or flag, or a missing value.
pub fn parse(args: &[String]) -> anyhow::Result<CreateArgs> {
    let Some((command, rest)) = args.split_first() else {
        bail!("{USAGE}");
    };
    if command != "create" {
        bail!("unknown admin command '{command}'\n{USAGE}");
    }
    let mut email = None;
    let mut roles = Vec::new();
    let mut scope = ScopeInput {
        kind: "all".to_owned(),
        id: None,
    };
    let mut password_stdin = false;
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--email" => email = Some(value()?),
            "--role" => roles.push(value()?),
            "--scope" => {
                let raw = value()?;
                scope = match raw.split_once(':') {
                    Some((kind, id)) => ScopeInput {
                        kind: kind.to_owned(),
                        id: Some(id.to_owned()),
                    },
                    None => ScopeInput {
                        kind: raw,
                        id: None,
                    },
                };
            }
            "--password-stdin" => password_stdin = true,
            other => bail!("unknown flag '{other}'\n{USAGE}"),
        }
    }
    let email = email.with_context(|| format!("--email is required\n{USAGE}"))?;
    if roles.is_empty() {
        bail!("at least one --role is required\n{USAGE}");
    }
    Ok(CreateArgs {
        email,
        roles,
        scope,
        password_stdin,
    })
}

/// Creates the account; returns what to print (with the generated password, if any).
///
/// # Errors
/// The database is unreachable, or the account was refused (the reason is in the message).
pub async fn create(
    settings: &Settings,
    args: CreateArgs,
    stdin: &mut dyn BufRead,
) -> anyhow::Result<String> {
    let pool = postgres::connect(settings.database_url.expose_secret(), 2)?;
    postgres::run_migrations(&pool)
        .await
        .context("PostgreSQL is required: applying migrations failed")?;
    let (password, generated) = if args.password_stdin {
        let mut line = String::new();
        stdin.read_line(&mut line).context("reading the password")?;
        (line.trim_end_matches(['\r', '\n']).to_owned(), false)
    } else {
        let bytes = authservice_application::ports::Random::bytes32(&OsRandom);
        (
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes[..18]),
            true,
        )
    };
    let ports = AdminPorts {
        admins: Arc::new(PgAdmins::new(pool.clone())),
        clients: Arc::new(PgClientRepository::new(pool.clone())),
        passwords: Arc::new(PooledHasher::new(settings.password_hash, 1, 4)),
        totp: Arc::new(RfcTotp),
        secret_box: Arc::new(AesGcmSecretBox::new(&settings.encryption_key.0)),
        limits: Limits::new(Arc::new(MemoryRateLimiter::new()), RateRules::default()),
        audit: Arc::new(PgAuditLog::new(pool.clone())),
        random: Arc::new(OsRandom),
        clock: Arc::new(SystemClock),
    };
    let ctx = RequestCtx::anonymous(authservice_domain::secret::hex(
        &authservice_application::ports::Random::bytes32(&OsRandom)[..16],
    ))
    .with_principal(Principal::Admin(AdminPrincipal::console()));
    let (admin, setup) = ManageAdmins::new(ports)
        .create(
            &ctx,
            AdminUserInput {
                email: args.email,
                password: Some(password.clone()),
                roles: args.roles,
                scope: args.scope,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("the admin user was not created: {e}"))?;
    pool.close();
    let mut out = format!(
        "created admin user {} <{}> with roles {}\n",
        admin.id,
        admin.email.as_str(),
        admin.roles.join(", ")
    );
    out.push_str(&format!(
        "setup code (shown once, valid 72 hours): {}\nthe first sign-in at /portal.html takes the password and this code, and enrols TOTP\n",
        setup.token
    ));
    if generated {
        out.push_str(&format!("password (shown once): {password}\n"));
    }
    Ok(out)
}
