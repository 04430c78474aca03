//! The tether-auth binary: load settings, start logging, serve until SIGTERM.

use std::process::ExitCode;

use tether_auth::{Application, Overrides, Settings, telemetry};

#[actix_web::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tether-auth: {e}");
            return ExitCode::from(2);
        }
    };
    match args.first().map(String::as_str) {
        None | Some("serve") => {}
        Some("organizations") => return tether_auth::organizations::run(&args[1..], &settings).await,
        Some(other) => {
            eprintln!(
                "tether-auth: unknown command {other:?}\n{}",
                tether_auth::organizations::USAGE
            );
            return ExitCode::from(2);
        }
    }
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
