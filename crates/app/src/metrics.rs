//! The Prometheus side of metrics: one recorder for the process (the `metrics` facade
//! of every crate records into it), process figures read from `/proc/self` at each
//! scrape, and the listener on `METRICS_PORT` that serves `GET /metrics` apart from
//! the public port.

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
    record_process();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle.render())
}

/// Process CPU, memory and open files, read from `/proc/self` (Linux; elsewhere nothing).
fn record_process() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .map(|v| v * 1024.0)
    };
    if let Some(rss) = kib("VmRSS:") {
        metrics::gauge!("process_resident_memory_bytes").set(rss);
    }
    if let Some(virtual_bytes) = kib("VmSize:") {
        metrics::gauge!("process_virtual_memory_bytes").set(virtual_bytes);
    }
    if let Some(cpu) = cpu_seconds(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default()) {
        metrics::gauge!("process_cpu_seconds_total").set(cpu);
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        metrics::gauge!("process_open_fds").set(fds.count() as f64);
    }
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    if let Some(max) = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
    {
        metrics::gauge!("process_max_fds").set(max);
    }
}

/// User plus system CPU seconds from `/proc/self/stat` (fields 14 and 15, in ticks of
/// 1/100 s, the fixed `USER_HZ` of Linux).
fn cpu_seconds(stat: &str) -> Option<f64> {
    // The command name (field 2) may hold spaces: count fields after its closing ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_seconds_add_user_and_system_ticks_after_the_command_name() {
        let stat = "42 (tether auth) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 1 2 3";
        assert_eq!(cpu_seconds(stat), Some(3.0));
        assert_eq!(cpu_seconds("garbage"), None);
    }
}
