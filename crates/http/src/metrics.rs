//! Request and outcome metrics through the `metrics` facade; the binary installs the
//! Prometheus recorder and serves it on its own port (`METRICS_PORT`), never here.
//!
//! Every label value comes from a fixed set, so no request can grow the series:
//! the method is one of the seven standard ones or `OTHER`, the route is the pattern
//! (`/api/organizations/{organizationId}/...`) or `unmatched`, and an outcome is `ok`
//! or one of the contract's error codes (`OTHER` for anything else).

use std::time::Instant;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;

/// HTTP requests by method, route and status.
pub const REQUESTS_TOTAL: &str = "tether_http_requests_total";
/// Time to answer, by route and status class (`2xx` ... `5xx`).
pub const REQUEST_SECONDS: &str = "tether_http_request_duration_seconds";
/// Login callbacks by flow and outcome.
pub const LOGINS_TOTAL: &str = "tether_logins_total";
/// Refresh-token rotations by outcome.
pub const REFRESH_TOTAL: &str = "tether_refresh_total";
/// Requests refused by the per-client rate limit, by route.
pub const RATE_LIMITED_TOTAL: &str = "tether_rate_limited_total";

/// WorkOS events handled, by type (a fixed set, else `other`) and outcome (applied,
/// ignored, stale, duplicate, failed); polled and delivered alike.
pub const EVENTS_TOTAL: &str = "tether_workos_events_total";
/// Seconds between WorkOS recording the last event handled and its application.
pub const EVENTS_LAG_SECONDS: &str = "tether_workos_events_lag_seconds";
/// 1 while this process holds the lease of the event stream, else 0.
pub const EVENTS_LEASE_HELD: &str = "tether_workos_events_lease_held";

/// Counts one event handled; `type_label` comes from a fixed set.
pub fn record_event(type_label: &'static str, outcome: tether_domain::EventOutcome) {
    metrics::counter!(EVENTS_TOTAL, "type" => type_label, "outcome" => outcome.as_str()).increment(1);
}

/// The error codes an outcome label may carry; any other is `OTHER`.
const KNOWN_CODES: [&str; 33] = [
    "PROVIDER_ERROR",
    "ACCOUNT_LINK_REQUIRED",
    "ORGANIZATION_MISMATCH",
    "MISSING_CODE",
    "INVALID_STATE",
    "INVALID_REDIRECT_URI",
    "INVALID_CODE",
    "LOGIN_DISABLED",
    "NO_ORGANIZATION",
    "UPSTREAM_MISCONFIGURED",
    "UPSTREAM_RATE_LIMITED",
    "UPSTREAM_UNAVAILABLE",
    "STORE_UNAVAILABLE",
    "INTERNAL_ERROR",
    "INVALID_REQUEST",
    "PAYLOAD_TOO_LARGE",
    "REQUEST_TIMEOUT",
    "RATE_LIMITED",
    "MISSING_REFRESH_TOKEN",
    "REFRESH_TOKEN_INVALID",
    "REFRESH_TOKEN_EXPIRED",
    "REFRESH_TOKEN_REVOKED",
    "REFRESH_TOKEN_REUSED",
    "SESSION_EXPIRED",
    "EMAIL_VERIFICATION_REQUIRED",
    "MFA_ENROLLMENT",
    "MFA_CHALLENGE",
    "ORGANIZATION_SELECTION_REQUIRED",
    "SSO_REQUIRED",
    "ORGANIZATION_AUTHENTICATION_METHODS_REQUIRED",
    "IDENTITY_VERIFICATION_REQUIRED",
    "NOT_FOUND",
    "INVALID_SIGNATURE",
];

/// The method as a label: one of the standard seven, else `OTHER`.
pub(crate) fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// An outcome label: `ok`, a known error code, or `OTHER`.
pub(crate) fn outcome_label<T>(result: &Result<T, crate::ApiError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => KNOWN_CODES
            .iter()
            .find(|known| **known == e.code())
            .copied()
            .unwrap_or("OTHER"),
    }
}

/// The class of a status as a label: `1xx` to `5xx` (anything else is `5xx`).
pub(crate) fn status_class(status: actix_web::http::StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// The route pattern of the login callback, whose refused bodies are logins too.
pub(crate) const CALLBACK_ROUTE: &str = "/api/auth/workos/callback";

/// Counts one login callback.
pub(crate) fn record_login(flow: Option<std::borrow::Cow<'static, str>>, outcome: &'static str) {
    let flow = flow.unwrap_or(std::borrow::Cow::Borrowed("unknown"));
    metrics::counter!(LOGINS_TOTAL, "flow" => flow, "outcome" => outcome).increment(1);
}

/// Counts one refresh.
pub(crate) fn record_refresh(outcome: &'static str) {
    metrics::counter!(REFRESH_TOTAL, "outcome" => outcome).increment(1);
}

/// Counts one request refused by the rate limit.
pub(crate) fn record_rate_limited(route: &'static str) {
    metrics::counter!(RATE_LIMITED_TOTAL, "route" => route).increment(1);
}

/// Middleware: times every request and records it under its route pattern.
pub(crate) async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = res.status();
    metrics::counter!(
        REQUESTS_TOTAL,
        "method" => method,
        "route" => route.clone(),
        "status" => status.as_str().to_owned(),
    )
    .increment(1);
    metrics::histogram!(REQUEST_SECONDS, "route" => route, "status_class" => status_class(status))
        .record(started.elapsed());
    Ok(res)
}

#[cfg(test)]
mod tests {
    use actix_web::http::StatusCode;

    use super::*;
    use crate::ApiError;

    #[test]
    fn methods_outside_the_standard_seven_are_other() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let long = Method::from_bytes("X".repeat(60_000).as_bytes()).unwrap();
        assert_eq!(method_label(&long), "OTHER");
        assert_eq!(method_label(&Method::from_bytes(b"get").unwrap()), "OTHER");
    }

    #[test]
    fn statuses_fall_in_five_classes() {
        for (status, class) in [
            (101, "1xx"),
            (200, "2xx"),
            (302, "3xx"),
            (415, "4xx"),
            (503, "5xx"),
        ] {
            assert_eq!(status_class(StatusCode::from_u16(status).unwrap()), class);
        }
    }

    #[test]
    fn outcomes_are_ok_a_known_code_or_other() {
        let outcome = |code: &str| outcome_label::<()>(&Err(ApiError::new(StatusCode::FORBIDDEN, code, "m")));
        assert_eq!(outcome_label(&Ok::<(), ApiError>(())), "ok");
        assert_eq!(outcome("INVALID_STATE"), "INVALID_STATE");
        assert_eq!(outcome("SOMETHING_WORKOS_INVENTED"), "OTHER");
    }
}
