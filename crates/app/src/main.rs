//! The tether-auth binary: parse the command, load the settings it needs (every one to
//! serve or check them, `HOST`/`PORT` for `healthcheck`, the MongoDB ones for
//! `organizations`), then run it.

use std::process::ExitCode;
use std::time::Duration;

use tether_auth::cli::{self, Cli, Command};
use tether_auth::{Application, Overrides, Settings, settings, telemetry};
use tether_mongo::MongoConfig;

/// mimalloc: a login allocates many small, short-lived buffers (JSON, BSON, tokens);
/// it measured less CPU per request than the system allocator (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let command = match Cli::parse_from_args(std::env::args_os()) {
        Ok(command) => command,
        Err(e) => {
            // `--help` and `--version` print to stdout and exit 0; usage errors, 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match command {
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
        // HOST and PORT only: the health check runs next to a service whose secrets it
        // is not given.
        Command::Healthcheck => {
            let (host, port) = match settings::load_address() {
                Ok(address) => address,
                Err(e) => {
                    eprintln!("tether-auth healthcheck: {e}");
                    return ExitCode::from(2);
                }
            };
            let result = cli::health_address(&host, port)
                .map_err(|e| format!("HOST: {e}"))
                .and_then(|address| cli::healthcheck(address, Duration::from_secs(3)));
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("tether-auth healthcheck: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        // The MongoDB settings only.
        Command::Organizations(command) => match settings::load_mongo() {
            Ok(config) => organizations(command.into(), config),
            Err(e) => {
                eprintln!("tether-auth organizations: {e}");
                ExitCode::from(2)
            }
        },
        // No setting at all: a key can be made anywhere.
        Command::Keys(command) => match tether_auth::keys::run(command.into()) {
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
async fn organizations(command: tether_auth::organizations::Command, config: MongoConfig) -> ExitCode {
    tether_auth::organizations::run(command, config).await
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
    let host = settings.http.host.clone();
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
