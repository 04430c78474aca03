//! Route table and the small handlers that only translate.

mod authorize;
mod callback;
mod health;
mod org_settings;
mod session;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use crate::error::ApiError;
use crate::request_id::request_id_of;

/// Registers every route.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health::live))
        .route("/ready", web::get().to(health::ready))
        .route("/api/auth/workos/authorize", web::get().to(authorize::handle))
        .route("/api/auth/workos/callback", web::post().to(callback::handle));
    cfg.route("/api/auth/refresh", web::post().to(session::refresh))
        .route("/api/auth/logout", web::post().to(session::logout))
        .route("/api/auth/verify-token", web::get().to(session::verify_token))
        .service(
            web::resource("/api/organizations/{organizationId}/session-settings")
                .route(web::get().to(org_settings::get))
                .route(web::put().to(org_settings::put)),
        );
}

/// JSON 404 for every unknown path.
pub(crate) async fn not_found(req: HttpRequest) -> HttpResponse {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "No such route.",
        request_id_of(&req),
    )
    .error_response()
}
