//! `POST /api/webhooks/workos`: WorkOS's signed deliveries of events. Unauthenticated
//! but bounded: the body is read within the body time-out and at most
//! [`WEBHOOK_MAX_BODY_BYTES`], nothing is written before the signature checks out,
//! and the route answers 404 while no webhook secret is configured.

use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use tether_domain::{DeliveryError, ReceiveDelivery};

use crate::AppState;
use crate::error::ApiError;

/// Largest accepted delivery: 256 KiB.
pub const WEBHOOK_MAX_BODY_BYTES: usize = 256 * 1024;

/// The header WorkOS signs deliveries with.
const SIGNATURE_HEADER: &str = "workos-signature";

/// Signed deliveries of the identity provider's events, when they are enabled.
#[derive(Clone)]
pub struct Webhooks {
    /// Checks a delivery and applies its event.
    pub receive: ReceiveDelivery,
    /// The metric label of an event type (a fixed set).
    pub type_label: fn(&str) -> &'static str,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks").finish_non_exhaustive()
    }
}

/// Reads the body, at most [`WEBHOOK_MAX_BODY_BYTES`].
async fn read_body(mut payload: web::Payload) -> Result<web::BytesMut, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::from(actix_web::error::JsonPayloadError::Payload(e)))?;
        if body.len() + chunk.len() > WEBHOOK_MAX_BODY_BYTES {
            return Err(ApiError::from(actix_web::error::JsonPayloadError::Overflow {
                limit: WEBHOOK_MAX_BODY_BYTES,
            }));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Checks the delivery's `WorkOS-Signature` and applies its event.
#[utoipa::path(
    post,
    path = "/api/webhooks/workos",
    operation_id = "workosWebhook",
    tag = "operations",
    params(("WorkOS-Signature" = String, Header, description = "`t=<unix time, seconds or milliseconds>, v1=<hex HMAC-SHA256 of \"<t>.<raw body>\" with WORKOS_WEBHOOK_SECRET>`; at most 3 minutes off")),
    request_body(content = Object, content_type = "application/json", description = "A WorkOS event: `{id, event, data, created_at}`"),
    responses(
        (status = 200, description = "The event was applied, or had been already (`outcome`: applied, ignored, stale, duplicate, failed)", content_type = "application/json", body = Object),
        (status = 401, description = "`INVALID_SIGNATURE` (missing, forged, or its time more than 3 minutes off): nothing was applied", body = crate::ErrorBody),
        (status = 404, description = "`NOT_FOUND`: webhooks are off (no `WORKOS_WEBHOOK_SECRET`)", body = crate::ErrorBody),
        (status = 408, description = "`REQUEST_TIMEOUT` (the body did not arrive within `REQUEST_BODY_TIMEOUT_MS`)", body = crate::ErrorBody),
        (status = 413, description = "`PAYLOAD_TOO_LARGE` (more than 256 KiB)", body = crate::ErrorBody),
        (status = 500, description = "`INTERNAL_ERROR`", body = crate::ErrorBody),
        (status = 503, description = "`STORE_UNAVAILABLE`: WorkOS delivers again later", body = crate::ErrorBody),
    )
)]
pub(crate) async fn workos(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let Some(webhooks) = &state.webhooks else {
        return Err(ApiError::not_found());
    };
    let body = read_body(payload).await?;
    let signature = request
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    match webhooks.receive.receive(signature, &body).await {
        Ok((event_type, outcome)) => {
            crate::metrics::record_event((webhooks.type_label)(&event_type), outcome);
            Ok(HttpResponse::Ok().json(serde_json::json!({ "outcome": outcome.as_str() })))
        }
        Err(DeliveryError::InvalidSignature) => {
            tracing::warn!("a WorkOS webhook delivery with an invalid signature was refused");
            Err(DeliveryError::InvalidSignature.into())
        }
        Err(e) => Err(e.into()),
    }
}
