//! Liveness and readiness probes.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use tether_wire::{HealthBody, ReadyBody};

use crate::AppState;

/// `GET /health`: the process answers.
#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    tag = "operations",
    responses((status = 200, description = "The process answers (liveness)", body = HealthBody))
)]
pub(crate) async fn live() -> HttpResponse {
    HttpResponse::Ok().json(HealthBody {
        status: "ok".to_owned(),
    })
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

/// The longest `GET /ready` waits for the store.
pub(crate) const READY_WITHIN: Duration = Duration::from_secs(2);

/// `GET /ready`: 200 when the store answers within [`READY_WITHIN`], 503 otherwise.
/// The body names no host and carries no driver text; the reason goes to the log.
#[utoipa::path(
    get,
    path = "/ready",
    operation_id = "ready",
    tag = "operations",
    responses(
        (status = 200, description = "The store answers (readiness)", body = ReadyBody),
        (status = 503, description = "The store does not answer", body = ReadyBody),
    )
)]
pub(crate) async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let outcome = tokio::time::timeout(READY_WITHIN, state.readiness.check())
        .await
        .unwrap_or_else(|_| Err(format!("the store did not answer within {READY_WITHIN:?}")));
    match outcome {
        Ok(()) => HttpResponse::Ok().json(ReadyBody {
            status: "ready".to_owned(),
            reason: None,
        }),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            HttpResponse::ServiceUnavailable().json(ReadyBody {
                status: "unavailable".to_owned(),
                reason: None,
            })
        }
    }
}
