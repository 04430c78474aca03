//! The Prometheus side of metrics: one recorder for the process (the `metrics` facade
//! of every crate records into it), the `# HELP` text of every series (described here,
//! in one place, whichever crate records it), `tether_build_info`, the process figures
//! of `metrics-process` collected at each scrape, and the listener on `METRICS_PORT`
//! that serves `GET /metrics` apart from the public port.

use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Histogram buckets, in seconds: from 1 ms to 30 s.
pub const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often histograms are folded into their buckets between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The process's recorder, installed on first use (one per process: services built
/// in one test process share it).
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            // `set_buckets` refuses only an empty list, and BUCKETS is not empty.
            let recorder = PrometheusBuilder::new()
                .set_buckets(&BUCKETS)
                .unwrap_or_else(|_| PrometheusBuilder::new())
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
            }
            describe();
            metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                })
                .map_err(|e| tracing::warn!("cannot start the metrics upkeep thread: {e}"))
                .ok();
            handle
        })
        .clone()
}

/// Binds the metrics listener on `host:port` and returns the bound port and its server.
pub fn serve(host: &str, port: u16, handle: PrometheusHandle) -> std::io::Result<(u16, Server)> {
    let listener = TcpListener::bind((host, port))?;
    let port = listener.local_addr()?.port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(handle.clone()))
            .route("/metrics", web::get().to(render))
            .default_service(web::to(HttpResponse::NotFound))
    })
    .workers(1)
    // Stopped with the API server by `Application::run_until_stopped`.
    .disable_signals()
    .listen(listener)?
    .shutdown_timeout(1)
    .run();
    Ok((port, server))
}

/// `GET /metrics`: the Prometheus text format.
async fn render(handle: web::Data<PrometheusHandle>) -> HttpResponse {
    process_collector().collect();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle.render())
}

/// The build of this process: `tether_build_info{version} 1`.
pub const BUILD_INFO: &str = "tether_build_info";

/// The process figures (`process_cpu_seconds_total` a counter, memory, open files,
/// threads, start time), from `metrics-process`.
fn process_collector() -> &'static metrics_process::Collector {
    static COLLECTOR: OnceLock<metrics_process::Collector> = OnceLock::new();
    COLLECTOR.get_or_init(metrics_process::Collector::default)
}

/// The `# HELP` text (and unit) of every series the service records.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    use tether_http::metrics as http;
    describe_gauge!(BUILD_INFO, "Always 1; the version label names the build.");
    describe_counter!(
        http::REQUESTS_TOTAL,
        "HTTP requests answered, by method, route pattern and status."
    );
    describe_histogram!(
        http::REQUEST_SECONDS,
        Unit::Seconds,
        "Time to answer an HTTP request, by route pattern and status class."
    );
    describe_counter!(
        http::LOGINS_TOTAL,
        "Login callbacks, by flow and outcome (ok or the error code), refused bodies included."
    );
    describe_counter!(
        http::REFRESH_TOTAL,
        "Refresh-token rotations, by outcome (ok or the error code)."
    );
    describe_counter!(
        http::RATE_LIMITED_TOTAL,
        "Requests refused by the per-client rate limit, by route."
    );
    describe_counter!(
        http::EVENTS_TOTAL,
        "WorkOS events handled (polled or delivered), by type (the fixed set acted on, else other) and outcome (applied, ignored, stale, duplicate, failed)."
    );
    describe_gauge!(
        http::EVENTS_LAG_SECONDS,
        Unit::Seconds,
        "Seconds between WorkOS recording the newest event of the last poll and its application; 0 when the poll found nothing new."
    );
    describe_gauge!(
        http::EVENTS_LEASE_HELD,
        "1 while this replica holds the lease of the WorkOS event stream (and polls it), else 0."
    );
    describe_histogram!(
        "tether_workos_exchange_seconds",
        Unit::Seconds,
        "Code exchanges sent to WorkOS, by API and outcome."
    );
    describe_histogram!(
        "tether_store_operation_seconds",
        Unit::Seconds,
        "MongoDB operations, by operation, time-outs included."
    );
    describe_counter!(
        tether_mongo::COMMANDS_TOTAL,
        "Commands sent to MongoDB, by command name (MONGODB_COMMAND_METRICS=true)."
    );
    describe_counter!(
        crate::audit::AUDIT_DROPPED_TOTAL,
        "Audit records dropped instead of stored, by reason (queue_full, store_failed, stopped)."
    );
    describe_counter!(crate::audit::AUDIT_WRITTEN_TOTAL, "Audit records stored.");
    process_collector().describe();
}
