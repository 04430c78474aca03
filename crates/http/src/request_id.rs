//! Request ids: every request gets one, echoed in the `x-request-id` response header,
//! stamped into error bodies (`requestId`) and recorded on the request span. An inbound `x-request-id`
//! matching `^[A-Za-z0-9._:-]{1,128}$` is kept (a proxy's id follows the request);
//! any other is replaced by the one tracing-actix-web generates.
//! The request's log line says each thing once: the span holds the method, the route
//! pattern (never the raw path, whose query may carry `state` or `code`), the request id,
//! the client address (through `TRUSTED_PROXIES`) and the user agent (cut short, control
//! characters removed); the closing event adds the status, the latency in milliseconds
//! and, for an error answer, its machine code.

use std::future::{Ready, ready};

use actix_web::Error;
use actix_web::HttpMessage;
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{HeaderName, HeaderValue};
use futures_util::future::LocalBoxFuture;
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};

/// The response header that carries the request id.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id a request is known by, chosen once when its span starts.
#[derive(Debug, Clone)]
struct KeptRequestId(String);

/// The machine code of an error answer, left on the response for the request's log line.
#[derive(Debug, Clone)]
pub(crate) struct ErrorCode(pub(crate) String);

/// The body of an error answer, left on the response by
/// [`ApiError`](crate::ApiError) without its `requestId`: [`EchoRequestId`] fills the
/// id in and writes it. Success answers carry none and pass untouched.
#[derive(Debug, Clone)]
pub(crate) struct PendingErrorBody(pub(crate) crate::ErrorBody);

/// Whether an inbound id may be kept: 1 to 128 of `A-Za-z0-9._:-`.
pub(crate) fn is_acceptable_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// The inbound id when acceptable, else the generated one.
fn choose_request_id(request: &ServiceRequest) -> String {
    let inbound = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| is_acceptable_request_id(id));
    match inbound {
        Some(id) => id.to_owned(),
        None => request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default(),
    }
}

/// The request id of a request, as a string (empty if the middleware is missing).
pub(crate) fn request_id_of(req: &actix_web::HttpRequest) -> String {
    let extensions = req.extensions();
    match extensions.get::<KeptRequestId>() {
        Some(kept) => kept.0.clone(),
        None => extensions
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default(),
    }
}

/// The longest user agent the log keeps, in characters.
const USER_AGENT_MAX: usize = 200;

/// A user agent for the log: control characters removed (a header cannot forge a log
/// line), at most [`USER_AGENT_MAX`] characters.
fn loggable_user_agent(raw: &[u8]) -> String {
    cleaned_user_agent(raw, USER_AGENT_MAX)
}

/// A user agent with its control characters removed, at most `max` characters.
fn cleaned_user_agent(raw: &[u8], max: usize) -> String {
    String::from_utf8_lossy(raw)
        .chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect()
}

/// The client of a request: its address (through `TRUSTED_PROXIES`, as the rate limit
/// counts it) and its user agent (control characters removed, at most the
/// [`tether_domain::RECORDED_USER_AGENT_MAX`] characters a session records; the log
/// keeps fewer).
pub(crate) fn client_of(request: &actix_web::HttpRequest) -> (std::net::IpAddr, String) {
    let trusted = request
        .app_data::<actix_web::web::Data<crate::AppState>>()
        .map(|state| state.limits.trusted_proxies.clone())
        .unwrap_or_default();
    let forwarded: Vec<&str> = request
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    let client = crate::rate_limit::client_address(request.peer_addr().map(|a| a.ip()), &forwarded, &trusted);
    let user_agent = request
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .map(|v| cleaned_user_agent(v.as_bytes(), tether_domain::RECORDED_USER_AGENT_MAX))
        .unwrap_or_default();
    (client, user_agent)
}

/// The client of a request, as the root span read it.
#[derive(Debug, Clone)]
struct ClientSeen(std::net::IpAddr, String);

/// The client of a request as the domain records and passes it on (read once, by the
/// root span; read here when no span ran, as in some unit tests).
pub(crate) fn client_context(request: &actix_web::HttpRequest) -> tether_domain::ClientContext {
    let seen = request.extensions().get::<ClientSeen>().cloned();
    let (address, user_agent) = seen.map_or_else(|| client_of(request), |ClientSeen(a, u)| (a, u));
    tether_domain::ClientContext {
        ip_address: (!address.is_unspecified()).then(|| address.to_string()),
        user_agent: (!user_agent.trim().is_empty()).then_some(user_agent),
    }
}

/// Where a request came from, for the audit trail: its client as [`client_context`]
/// reads it and the request id it is answered under.
pub(crate) fn audit_origin(request: &actix_web::HttpRequest) -> tether_domain::AuditOrigin {
    let request_id = request_id_of(request);
    tether_domain::AuditOrigin {
        client: client_context(request),
        request_id: (!request_id.is_empty()).then_some(request_id),
    }
}

/// When the request started, for its latency.
#[derive(Debug, Clone, Copy)]
struct Started(std::time::Instant);

/// Root span of a request with method, route, request id, client address and user
/// agent; its closing event carries the status, the latency and the error code.
#[derive(Debug, Clone, Copy)]
pub struct RedactedRootSpan;

impl RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = choose_request_id(request);
        request.extensions_mut().insert(KeptRequestId(request_id.clone()));
        request
            .extensions_mut()
            .insert(Started(std::time::Instant::now()));
        let (client, user_agent) = client_of(request.request());
        let logged_agent = loggable_user_agent(user_agent.as_bytes());
        // Read once per request: the handlers that pass the client on take it from here.
        request.extensions_mut().insert(ClientSeen(client, user_agent));
        tracing::info_span!(
            "http_request",
            // The method from the fixed set (a client can send any token as a method).
            http.method = crate::metrics::method_label(request.method()),
            // Known once the router has matched: recorded at the end.
            http.route = tracing::field::Empty,
            request_id = request_id.as_str(),
            client.address = %client,
            user_agent = logged_agent.as_str(),
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, code, route, latency_ms) = match outcome {
            Ok(res) => {
                let started = res.request().extensions().get::<Started>().copied();
                (
                    res.status(),
                    res.response()
                        .extensions()
                        .get::<ErrorCode>()
                        .map(|c| c.0.clone()),
                    res.request()
                        .match_pattern()
                        .unwrap_or_else(|| "unmatched".to_owned()),
                    // Milliseconds to a tenth.
                    started.map_or(0.0, |s| (s.0.elapsed().as_secs_f64() * 10_000.0).round() / 10.0),
                )
            }
            Err(e) => (
                e.as_response_error().status_code(),
                None,
                "unmatched".to_owned(),
                0.0,
            ),
        };
        span.record("http.route", route.as_str());
        let status = status.as_u16();
        match (status >= 500, code) {
            (true, Some(code)) => {
                tracing::warn!(parent: &span, status, latency_ms, error.code = %code, "request failed");
            }
            (true, None) => tracing::warn!(parent: &span, status, latency_ms, "request failed"),
            (false, Some(code)) => {
                tracing::info!(parent: &span, status, latency_ms, error.code = %code, "request completed");
            }
            (false, None) => tracing::info!(parent: &span, status, latency_ms, "request completed"),
        }
    }
}

/// Middleware copying the request id into the `x-request-id` response header and
/// writing the body of an error answer with its `requestId`.
#[derive(Debug, Clone, Copy)]
pub struct EchoRequestId;

impl<S, B> Transform<S, ServiceRequest> for EchoRequestId
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = EchoRequestIdService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(EchoRequestIdService { service }))
    }
}

/// The service behind [`EchoRequestId`].
#[derive(Debug)]
pub struct EchoRequestIdService<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for EchoRequestIdService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let id = request_id_of(req.request());
        let fut = self.service.call(req);
        Box::pin(async move {
            let mut res = fut.await?;
            if let Ok(value) = HeaderValue::from_str(&id) {
                res.headers_mut().insert(REQUEST_ID_HEADER, value);
            }
            let pending = res.response_mut().extensions_mut().remove::<PendingErrorBody>();
            let Some(PendingErrorBody(mut body)) = pending else {
                return Ok(res.map_into_left_body());
            };
            body.request_id = id;
            // A struct of strings always serializes.
            let json = serde_json::to_vec(&body).unwrap_or_default();
            Ok(res.map_body(|_, _| EitherBody::right(BoxBody::new(json))))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{is_acceptable_request_id, loggable_user_agent};

    #[test]
    fn a_user_agent_is_cut_short_and_loses_its_control_characters() {
        assert_eq!(loggable_user_agent(b"curl/8.5.0"), "curl/8.5.0");
        assert_eq!(
            loggable_user_agent(b"evil\r\n2026-01-01 INFO forged\x1b[31m"),
            "evil2026-01-01 INFO forged[31m"
        );
        assert_eq!(
            loggable_user_agent("é".repeat(1000).as_bytes()).chars().count(),
            200
        );
        assert_eq!(loggable_user_agent(b"\xff\xfeok"), "\u{fffd}\u{fffd}ok");
    }

    #[test]
    fn ids_of_the_allowed_alphabet_up_to_128_characters_are_kept() {
        for id in ["a", "req-1", "edge:7f.a_b-C9", &"x".repeat(128)] {
            assert!(is_acceptable_request_id(id), "{id}");
        }
    }

    #[test]
    fn empty_long_or_foreign_ids_are_replaced() {
        for id in ["", &"x".repeat(129), "a b", "a/b", "id\u{e9}", "a;b", "<script>"] {
            assert!(!is_acceptable_request_id(id), "{id}");
        }
    }
}
