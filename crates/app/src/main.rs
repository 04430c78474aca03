//! The tether-auth binary: parse the command, load settings, then serve until SIGTERM,
//! check the settings, or ask a running service whether it is ready.

use std::process::ExitCode;
use std::time::Duration;

use tether_auth::cli::{self, Command};
use tether_auth::{Application, Overrides, Settings, telemetry};

/// mimalloc: a login allocates many small, short-lived buffers (JSON, BSON, tokens);
/// it measured less CPU per request than the system allocator (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let command = match Command::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("tether-auth: {e}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            println!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Command::CheckConfig => match Settings::load() {
            Ok(settings) => {
                print!("{}", cli::render_effective(&settings));
                eprintln!("tether-auth: settings are valid");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("tether-auth: {e}");
                ExitCode::from(2)
            }
        },
        Command::Healthcheck => {
            let result = Settings::load()
                .map_err(|e| e.to_string())
                .and_then(|s| cli::health_address(&s.host, s.port).map_err(|e| format!("HOST: {e}")))
                .and_then(|address| cli::healthcheck(address, Duration::from_secs(3)));
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("tether-auth healthcheck: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Organizations(command) => match Settings::load() {
            Ok(settings) => organizations(command, settings),
            Err(e) => {
                eprintln!("tether-auth: {e}");
                ExitCode::from(2)
            }
        },
        Command::Keys(command) => match tether_auth::keys::run(command) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("tether-auth keys: {e}");
                ExitCode::from(2)
            }
        },
        Command::Serve => serve(),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn organizations(command: tether_auth::organizations::Command, settings: Settings) -> ExitCode {
    tether_auth::organizations::run(command, &settings).await
}

#[actix_web::main]
async fn serve() -> ExitCode {
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tether-auth: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.log_format);
    let host = settings.host.clone();
    let app = match Application::build(settings, Overrides::default()).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("start-up failed: {e}");
            eprintln!("tether-auth: {e}");
            return ExitCode::from(2);
        }
    };
    tracing::info!(address = %format!("http://{host}:{}", app.port()), "tether-auth listening");
    match app.run_until_stopped().await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("server failed: {e}");
            ExitCode::FAILURE
        }
    }
}
