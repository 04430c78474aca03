//! The tether-auth binary: parse the command, load the settings it needs (every one to
//! serve or check them, `HOST`/`PORT` for `healthcheck`, the MongoDB ones for
//! `organizations`), then run it. Every command answers its exit code or a [`Failure`],
//! which `main` alone prints.

use std::process::ExitCode;
use std::time::Duration;

use tether_auth::cli::{self, Cli, Command};
use tether_auth::{Application, Overrides, Settings, settings, telemetry};
use tether_mongo::MongoConfig;

/// mimalloc: a login allocates many small, short-lived buffers (JSON, BSON, tokens);
/// it measured less CPU per request than the system allocator (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Bad settings or usage.
const USAGE: u8 = 2;
/// A command that ran and failed.
const FAILED: u8 = 1;

/// Why a command stopped: the message for stderr, after the name of the command (none
/// when it was logged already), and the exit code.
#[derive(Debug)]
struct Failure {
    command: &'static str,
    message: Option<String>,
    code: u8,
}

impl Failure {
    /// A failure of `command` with exit code `code`, its message `error`.
    fn of<E: std::fmt::Display>(command: &'static str, code: u8) -> impl FnOnce(E) -> Self {
        move |error| Self {
            command,
            message: Some(error.to_string()),
            code,
        }
    }

    /// Prints the message, if any, and answers the exit code.
    fn report(self) -> ExitCode {
        if let Some(message) = self.message {
            eprintln!("{}: {message}", self.command);
        }
        ExitCode::from(self.code)
    }
}

fn main() -> ExitCode {
    let command = match Cli::parse_from_args(std::env::args_os()) {
        Ok(command) => command,
        Err(e) => {
            // `--help` and `--version` print to stdout and exit 0; usage errors, 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(USAGE));
        }
    };
    run(command).unwrap_or_else(Failure::report)
}

fn run(command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::CheckConfig => {
            let settings = Settings::load().map_err(Failure::of("tether-auth", USAGE))?;
            print!("{}", cli::render_effective(&settings));
            eprintln!("tether-auth: settings are valid");
        }
        // HOST and PORT only: the health check runs next to a service whose secrets it
        // is not given.
        Command::Healthcheck => {
            const NAME: &str = "tether-auth healthcheck";
            let (host, port) = settings::load_address().map_err(Failure::of(NAME, USAGE))?;
            cli::health_address(&host, port)
                .map_err(|e| format!("HOST: {e}"))
                .and_then(|address| cli::healthcheck(address, Duration::from_secs(3)))
                .map_err(Failure::of(NAME, FAILED))?;
        }
        // The MongoDB settings only.
        Command::Organizations(command) => {
            const NAME: &str = "tether-auth organizations";
            let config = settings::load_mongo().map_err(Failure::of(NAME, USAGE))?;
            organizations(command.into(), config).map_err(Failure::of(NAME, FAILED))?;
        }
        // The MongoDB settings only.
        Command::Events(command) => {
            const NAME: &str = "tether-auth events";
            let config = settings::load_mongo().map_err(Failure::of(NAME, USAGE))?;
            events(command.into(), config).map_err(Failure::of(NAME, FAILED))?;
        }
        // The MongoDB settings only.
        Command::LinkRequests(command) => {
            const NAME: &str = "tether-auth link-requests";
            let config = settings::load_mongo().map_err(Failure::of(NAME, USAGE))?;
            link_requests(command.into(), config).map_err(Failure::of(NAME, FAILED))?;
        }
        // No setting at all: a key can be made anywhere.
        Command::Keys(command) => {
            let json =
                tether_auth::keys::run(command.into()).map_err(Failure::of("tether-auth keys", USAGE))?;
            println!("{json}");
        }
        Command::Serve => serve()?,
    }
    Ok(ExitCode::SUCCESS)
}

#[tokio::main(flavor = "current_thread")]
async fn organizations(
    command: tether_auth::organizations::Command,
    config: MongoConfig,
) -> Result<(), String> {
    tether_auth::organizations::run(command, config).await
}

#[tokio::main(flavor = "current_thread")]
async fn link_requests(command: tether_auth::links::Command, config: MongoConfig) -> Result<(), String> {
    tether_auth::links::run(command, config).await
}

#[tokio::main(flavor = "current_thread")]
async fn events(command: tether_auth::events::Command, config: MongoConfig) -> Result<(), String> {
    tether_auth::events::run(command, config).await
}

#[actix_web::main]
async fn serve() -> Result<(), Failure> {
    let settings = Settings::load().map_err(Failure::of("tether-auth", USAGE))?;
    telemetry::init(settings.log_format);
    let host = settings.http.host.clone();
    let app = Application::build(settings, Overrides::default())
        .await
        .inspect_err(|e| tracing::error!("start-up failed: {e}"))
        .map_err(Failure::of("tether-auth", USAGE))?;
    tracing::info!(address = %format!("http://{host}:{}", app.port()), "tether-auth listening");
    app.run_until_stopped().await.map_err(|e| {
        tracing::error!("server failed: {e}");
        Failure {
            command: "tether-auth",
            message: None,
            code: FAILED,
        }
    })?;
    tracing::info!("stopped");
    Ok(())
}
