//! After login: `POST /api/auth/refresh` (rotation), `POST /api/auth/logout` and
//! `GET /api/auth/verify-token`.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, error::JsonPayloadError, web};
use futures_util::StreamExt as _;
use secrecy::ExposeSecret;
use tether_domain::{AccessError, LogoutCredential};
use tether_wire::{LogoutBody, RefreshTokenBody, TokenGoodBody};

use super::api_doc::{BearerErrors, RateLimitedBodyErrors};
use crate::bearer::bearer_token;
use crate::error::ApiError;
use crate::{AppState, MAX_BODY_BYTES};

/// `POST /api/auth/refresh`: a new pair in the same session, with the session policy
/// resolved afresh; the same body as the login callback.
#[utoipa::path(
    post,
    path = "/api/auth/refresh",
    operation_id = "refresh",
    tag = "session",
    request_body(content = RefreshTokenBody, content_type = "application/json"),
    responses(
        (status = 200, description = "A new auth session (rotated refresh token)", body = crate::AuthSessionBody),
        (status = 400, description = "`MISSING_REFRESH_TOKEN`, `INVALID_REQUEST`", body = crate::ErrorBody),
        (status = 401, description = "`REFRESH_TOKEN_INVALID`, `REFRESH_TOKEN_EXPIRED`, `REFRESH_TOKEN_REVOKED`, `REFRESH_TOKEN_REUSED`, `SESSION_EXPIRED`", body = crate::ErrorBody),
        (status = 403, description = "`LOGIN_DISABLED`", body = crate::ErrorBody),
        RateLimitedBodyErrors,
    )
)]
pub(crate) async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<RefreshTokenBody>,
) -> Result<HttpResponse, ApiError> {
    let token = body
        .into_inner()
        .token()
        .ok_or_else(ApiError::missing_refresh_token)?;
    let result = state
        .services
        .refresh
        .refresh(&token, &crate::request_id::audit_origin(&req))
        .await;
    super::counted_auth_session(result, crate::metrics::record_refresh)
}

/// `POST /api/auth/logout`: revokes the session of the refresh token in the body or,
/// without one, of the bearer access token (an expired one is accepted). Idempotent:
/// 200 whether or not the session was still live.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    operation_id = "logout",
    tag = "session",
    request_body(content = Option<RefreshTokenBody>, content_type = "application/json", description = "Optional: without it, the bearer access token names the session"),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Logged out (also when the session had already ended)", body = LogoutBody),
        (status = 400, description = "`MISSING_CREDENTIALS`, `INVALID_REQUEST`", body = crate::ErrorBody),
        (status = 401, description = "`INVALID_TOKEN`", body = crate::ErrorBody),
        RateLimitedBodyErrors,
    )
)]
pub(crate) async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = optional_json_body::<RefreshTokenBody>(&req, payload).await?;
    let credential = match body.and_then(RefreshTokenBody::token) {
        Some(token) => LogoutCredential::RefreshToken(token),
        None => match bearer_token(&req) {
            Ok(token) => LogoutCredential::AccessToken(token),
            Err(AccessError::Missing) => {
                return Err(ApiError::missing_credentials());
            }
            Err(e) => return Err(e.into()),
        },
    };
    state
        .services
        .logout
        .logout(credential, crate::request_id::audit_origin(&req))
        .await?;
    Ok(HttpResponse::Ok().json(LogoutBody {
        success: true,
        message: "Logged out".to_owned(),
    }))
}

/// `GET /api/auth/verify-token`: 200 `{"message": "Token is good"}` for a correctly
/// signed, unexpired access token of a live session; 401 otherwise.
#[utoipa::path(
    get,
    path = "/api/auth/verify-token",
    operation_id = "verifyToken",
    tag = "session",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The token is good", body = TokenGoodBody),
        BearerErrors,
    )
)]
pub(crate) async fn verify_token(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let token = bearer_token(&req)?;
    state.services.access.authenticate(token.expose_secret()).await?;
    Ok(HttpResponse::Ok().json(TokenGoodBody {
        message: "Token is good".to_owned(),
    }))
}

/// A JSON body that may be absent: `None` for an empty (or blank) body; otherwise the
/// same rules as the JSON extractor (at most [`MAX_BODY_BYTES`], a JSON content type,
/// well-formed).
pub(crate) async fn optional_json_body<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<Option<T>, JsonPayloadError> {
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(JsonPayloadError::Payload)?;
        if bytes.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(JsonPayloadError::Overflow {
                limit: MAX_BODY_BYTES,
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let is_json =
        req.mime_type().ok().flatten().is_some_and(|m| {
            m.subtype() == actix_web::mime::JSON || m.suffix() == Some(actix_web::mime::JSON)
        });
    if !is_json {
        return Err(JsonPayloadError::ContentType);
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(JsonPayloadError::Deserialize)
}
