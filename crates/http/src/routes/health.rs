//! Liveness and readiness probes.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::AppState;

/// `GET /health`: the process answers.
#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    tag = "operations",
    responses((status = 200, description = "The process answers (liveness)", body = crate::openapi::HealthBody))
)]
pub(crate) async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `HEAD /health`: the same, without a body (for probes that send HEAD).
#[utoipa::path(
    head,
    path = "/health",
    operation_id = "healthHead",
    tag = "operations",
    responses((status = 200, description = "The process answers (liveness)"))
)]
pub(crate) async fn live_head() -> HttpResponse {
    live().await
}

/// `GET /ready`: 200 when the store answers, 503 otherwise.
#[utoipa::path(
    get,
    path = "/ready",
    operation_id = "ready",
    tag = "operations",
    responses(
        (status = 200, description = "The store answers (readiness)", body = crate::openapi::ReadyBody),
        (status = 503, description = "The store does not answer", body = crate::openapi::ReadyBody),
    )
)]
pub(crate) async fn ready(state: web::Data<AppState>) -> HttpResponse {
    match state.readiness.check().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ready"})),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            HttpResponse::ServiceUnavailable().json(json!({"status": "unavailable", "reason": reason}))
        }
    }
}
