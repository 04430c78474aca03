//! # tether-http
//!
//! The actix-web edge of tether-auth: routes that read and answer the bodies and
//! queries of `tether-wire` (where the contract's names live), one error type mapping
//! every domain error to the contract's status and machine code, request ids, body limits and cache headers, the per-client rate
//! limit and the body time-out ([`Limits`]), and request metrics through the `metrics`
//! facade (the binary serves them on their own port).
//!
//! [`build_app`] returns the whole application; the binary serves it and tests drive
//! it in process with `actix_web::test`.

mod bearer;
mod cors;
mod error;
#[cfg(test)]
mod error_table;
mod limits;
pub mod metrics;
pub mod openapi;
#[cfg(test)]
mod props;
mod rate_limit;
mod request_id;
mod routes;
#[cfg(test)]
mod test_support;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, web};
use async_trait::async_trait;
use tether_domain::Services;
use tracing_actix_web::TracingLogger;

pub use error::ApiError;
pub use limits::{Limits, RATE_LIMITED_ROUTES};
pub use rate_limit::ClientRateLimit;
pub use request_id::RedactedRootSpan;
pub use routes::webhooks::{WEBHOOK_MAX_BODY_BYTES, Webhooks};
pub use tether_wire::{AuthSessionBody, ErrorBody, JwkBody, JwksBody, SessionConfigBody, UserBody};

/// Largest accepted JSON body, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Reports whether the service's dependencies are usable (for `GET /ready`).
#[async_trait]
pub trait Readiness: Send + Sync {
    /// `Err` with a short, secret-free reason when a dependency is down.
    async fn check(&self) -> Result<(), String>;
}

/// What the handlers share: the use cases and the readiness probe.
#[derive(Clone)]
pub struct AppState {
    /// Every use case, wired by [`Services::new`].
    pub services: Services,
    /// The readiness probe.
    pub readiness: Arc<dyn Readiness>,
    /// The body time-out and the per-client rate limit.
    pub limits: Limits,
    /// Origins whose browsers may call the API (`scheme://host[:port]`).
    pub allowed_origins: Vec<String>,
    /// The public signing keys, served at `GET /.well-known/jwks.json`.
    pub jwks: Arc<JwksBody>,
    /// Signed deliveries of WorkOS events (`POST /api/webhooks/workos`); `None`
    /// answers 404 there.
    pub webhooks: Option<Webhooks>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("services", &self.services)
            .finish_non_exhaustive()
    }
}

/// The whole application: routes, JSON limits, CORS, request ids and request logging.
/// `Cache-Control: no-store` on every answer that sets none of its own (tokens, sessions,
/// errors and states must never be cached; a route that may be cached, such as the
/// public keys, says so itself). The one place it is set.
pub(crate) fn no_store() -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new().add((actix_web::http::header::CACHE_CONTROL, "no-store"))
}

pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let cors = cors::middleware(&state.allowed_origins);
    App::new()
        .app_data(web::Data::new(state))
        .app_data(error::json_config())
        .app_data(error::query_config())
        .wrap(actix_web::middleware::from_fn(limits::guard))
        .wrap(actix_web::middleware::from_fn(metrics::record))
        .wrap(cors)
        .wrap(actix_web::middleware::from_fn(cors::finish))
        .wrap(request_id::EchoRequestId)
        .wrap(no_store())
        .wrap(TracingLogger::<RedactedRootSpan>::new())
        .configure(routes::configure)
        // The document names every route's handler, so it is registered here rather
        // than among the routes it describes.
        .route("/api-docs/openapi.json", web::get().to(openapi::serve))
        .default_service(web::to(routes::not_found))
}
