//! Request ids: every request gets one, echoed in the `x-request-id` response header,
//! stamped into error bodies (`requestId`) and recorded on the request span. An inbound `x-request-id`
//! matching `^[A-Za-z0-9._:-]{1,128}$` is kept (a proxy's id follows the request);
//! any other is replaced by the one tracing-actix-web generates.
//! The span records the path only (query strings may carry `state` or `code`) and,
//! for an error answer, its machine code.

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

/// At most the first 256 characters of a path, for the log.
fn shortened(path: &str) -> &str {
    path.char_indices().nth(256).map_or(path, |(end, _)| &path[..end])
}

/// Root span of a request with method, path (no query), request id, status and,
/// for an error answer, its machine code (`error.code`).
#[derive(Debug, Clone, Copy)]
pub struct RedactedRootSpan;

impl RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = choose_request_id(request);
        request.extensions_mut().insert(KeptRequestId(request_id.clone()));
        tracing::info_span!(
            "http_request",
            // The method from the fixed set (a client can send any token as a method),
            // the path cut short: a request line never makes a log line large.
            http.method = crate::metrics::method_label(request.method()),
            http.path = %shortened(request.path()),
            request_id = %request_id,
            http.status_code = tracing::field::Empty,
            error.code = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, code) = match outcome {
            Ok(res) => (
                res.status(),
                res.response()
                    .extensions()
                    .get::<ErrorCode>()
                    .map(|c| c.0.clone()),
            ),
            Err(e) => (e.as_response_error().status_code(), None),
        };
        span.record("http.status_code", status.as_u16());
        if let Some(code) = &code {
            span.record("error.code", code.as_str());
        }
        let code = code.as_deref().unwrap_or("");
        if status.is_server_error() {
            tracing::warn!(parent: &span, status = status.as_u16(), code, "request failed");
        } else {
            tracing::info!(parent: &span, status = status.as_u16(), code, "request completed");
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
    use super::{is_acceptable_request_id, shortened};

    #[test]
    fn a_long_path_is_cut_to_256_characters_for_the_log() {
        assert_eq!(shortened("/api/auth/refresh"), "/api/auth/refresh");
        let long = format!("/{}", "é".repeat(1000));
        assert_eq!(shortened(&long).chars().count(), 256);
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
