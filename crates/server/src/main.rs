//! `authservice [serve|migrate|admin …]`.

use std::process::ExitCode;

use authservice_server::settings::Settings;
use authservice_server::startup::{Application, migrate, shutdown_signal};
use authservice_server::telemetry;

const USAGE: &str = "usage: authservice [serve|migrate|admin|help]\n  serve    run the REST and gRPC servers (default)\n  migrate  apply pending database migrations and exit\n  admin    admin create --email <email> --role <role> [--scope all|client:<id>|organization:<id>] [--password-stdin]\n           create an operator account (the first super admin)\nSettings come from the environment and .env; see .env.example.";

fn main() -> ExitCode {
    let command = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "serve".to_owned());
    if matches!(command.as_str(), "help" | "--help" | "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if !matches!(command.as_str(), "serve" | "migrate" | "admin") {
        eprintln!("unknown command '{command}'\n{USAGE}");
        return ExitCode::from(2);
    }
    if let Err(err) = dotenvy::dotenv()
        && !err.not_found()
    {
        eprintln!("cannot read .env: {err}");
        return ExitCode::from(2);
    }
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    // Inside the runtime: the OTLP exporter's channel lives there.
    let telemetry = match runtime.block_on(async {
        telemetry::init(
            settings.log_format,
            settings.otlp_endpoint.as_ref().map(url::Url::as_str),
            &settings.otel_service_name,
        )
    }) {
        Ok(telemetry) => telemetry,
        Err(err) => {
            eprintln!("invalid configuration:\n  - {err}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async move {
        if command == "admin" {
            let args: Vec<String> = std::env::args().skip(2).collect();
            let args = authservice_server::console::parse(&args)?;
            let out =
                authservice_server::console::create(&settings, args, &mut std::io::stdin().lock())
                    .await?;
            print!("{out}");
            return Ok(());
        }
        if command == "migrate" {
            let applied = migrate(&settings).await?;
            tracing::info!(count = applied.len(), migrations = ?applied, "migrations applied");
            return Ok(());
        }
        Application::build(settings)
            .await?
            .run_until_stopped(shutdown_signal())
            .await
    });
    runtime.block_on(async move { telemetry.shutdown() });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "authservice failed");
            eprintln!("authservice failed: {err:#}");
            ExitCode::FAILURE
        }
    }
}
