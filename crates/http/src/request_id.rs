//! Request ids: every request gets one (tracing-actix-web generates it), it is
//! echoed in the `x-request-id` response header and recorded on the request span.
//! The span records the path only: query strings may carry `state` or `code`.

use std::future::{Ready, ready};

use actix_web::Error;
use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{HeaderName, HeaderValue};
use futures_util::future::LocalBoxFuture;
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};

/// The response header that carries the request id.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The request id of a request, as a string (empty if the middleware is missing).
pub(crate) fn request_id_of(req: &actix_web::HttpRequest) -> String {
    req.extensions()
        .get::<RequestId>()
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// Root span of a request with method, path (no query), request id and status.
#[derive(Debug, Clone, Copy)]
pub struct RedactedRootSpan;

impl RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        tracing::info_span!(
            "http_request",
            http.method = %request.method(),
            http.path = %request.path(),
            request_id = %request_id,
            http.status_code = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let status = match outcome {
            Ok(res) => res.status(),
            Err(e) => e.as_response_error().status_code(),
        };
        span.record("http.status_code", status.as_u16());
        if status.is_server_error() {
            tracing::warn!(parent: &span, status = status.as_u16(), "request failed");
        } else {
            tracing::info!(parent: &span, status = status.as_u16(), "request completed");
        }
    }
}

/// Middleware copying the request id into the `x-request-id` response header.
#[derive(Debug, Clone, Copy)]
pub struct EchoRequestId;

impl<S, B> Transform<S, ServiceRequest> for EchoRequestId
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
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
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let id = req.extensions().get::<RequestId>().map(ToString::to_string);
        let fut = self.service.call(req);
        Box::pin(async move {
            let mut res = fut.await?;
            if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
                res.headers_mut().insert(REQUEST_ID_HEADER, value);
            }
            Ok(res)
        })
    }
}
