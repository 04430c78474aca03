//! Request metrics in the Prometheus text format (`GET /metrics`): a counter of
//! requests by method, route pattern and status, and a latency histogram by route.
//! Routes are recorded by their pattern (`/api/organizations/{organizationId}/...`),
//! never by the concrete path, so ids and tokens never become label values.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Count per bucket (not cumulative), plus one for `+Inf`.
    buckets: [u64; BUCKETS.len() + 1],
    sum_seconds: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|&le| seconds <= le)
            .unwrap_or(BUCKETS.len());
        self.buckets[slot] += 1;
        self.sum_seconds += seconds;
        self.count += 1;
    }
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    durations: BTreeMap<String, Histogram>,
}

/// The service's request metrics, shared by every worker.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    /// Records one finished request.
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        *inner
            .requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
        inner
            .durations
            .entry(route.to_owned())
            .or_default()
            .observe(elapsed);
    }

    /// The Prometheus text exposition of everything recorded.
    pub fn render(&self) -> String {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        out.push_str("# HELP tether_http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE tether_http_requests_total counter\n");
        for ((method, route, status), count) in &inner.requests {
            let _ = writeln!(
                out,
                "tether_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}"
            );
        }
        out.push_str("# HELP tether_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE tether_http_request_duration_seconds histogram\n");
        for (route, h) in &inner.durations {
            let mut cumulative = 0;
            for (i, le) in BUCKETS.iter().enumerate() {
                cumulative += h.buckets[i];
                let _ = writeln!(
                    out,
                    "tether_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "tether_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "tether_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum_seconds
            );
            let _ = writeln!(
                out,
                "tether_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        out
    }
}

/// Middleware: times every request and records it under its route pattern.
pub(crate) async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().to_string();
    let res = next.call(req).await?;
    if let Some(metrics) = metrics {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        metrics.record(&method, &route, res.status().as_u16(), started.elapsed());
    }
    Ok(res)
}

/// `GET /metrics`.
pub(crate) async fn expose(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_and_status_with_cumulative_buckets() {
        let m = Metrics::default();
        m.record("POST", "/api/auth/workos/callback", 200, Duration::from_millis(3));
        m.record(
            "POST",
            "/api/auth/workos/callback",
            200,
            Duration::from_millis(30),
        );
        m.record("POST", "/api/auth/workos/callback", 401, Duration::from_secs(10));
        let text = m.render();
        assert!(text.contains(
            "tether_http_requests_total{method=\"POST\",route=\"/api/auth/workos/callback\",status=\"200\"} 2"
        ));
        assert!(text.contains("status=\"401\"} 1"));
        assert!(text.contains("route=\"/api/auth/workos/callback\",le=\"0.005\"} 1"));
        assert!(text.contains("route=\"/api/auth/workos/callback\",le=\"0.05\"} 2"));
        assert!(text.contains("route=\"/api/auth/workos/callback\",le=\"5\"} 2"));
        assert!(text.contains("route=\"/api/auth/workos/callback\",le=\"+Inf\"} 3"));
        assert!(
            text.contains(
                "tether_http_request_duration_seconds_count{route=\"/api/auth/workos/callback\"} 3"
            )
        );
    }
}
