//! A signed-in person's own sessions (bearer access token): `GET` and `DELETE
//! /api/auth/sessions` ("sign out everywhere") and `DELETE /api/auth/sessions/{sessionId}`.

use actix_web::{HttpRequest, HttpResponse, web};
use tether_wire::{RevokeOwnSessionsQuery, RevokedBody, SessionListBody};

use super::api_doc::{BearerErrors, SessionIdPath};
use crate::AppState;
use crate::bearer::answer_as_caller;
use crate::error::ApiError;
use crate::request_id::audit_origin;

/// `GET`: the caller's live sessions, newest first (at most 100), the current one
/// flagged `current: true`.
#[utoipa::path(
    get,
    path = "/api/auth/sessions",
    operation_id = "listOwnSessions",
    tag = "session",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's live sessions, newest first (no token or digest)", body = SessionListBody),
        BearerErrors,
    )
)]
pub(crate) async fn list(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    answer_as_caller(&req, &state, async |services, caller| {
        Ok(SessionListBody::new(&services.own_sessions.list(caller).await?))
    })
    .await
}

/// `DELETE`: ends every other live session of the caller, and the current one too
/// with `?includeCurrent=true` (`revokedReason: "logout"`).
#[utoipa::path(
    delete,
    path = "/api/auth/sessions",
    operation_id = "revokeOwnSessions",
    tag = "session",
    params(RevokeOwnSessionsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "How many sessions were ended", body = RevokedBody),
        (status = 400, description = "`INVALID_REQUEST` (`includeCurrent` is not `true` or `false`)", body = crate::ErrorBody),
        BearerErrors,
    )
)]
pub(crate) async fn revoke_all(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<RevokeOwnSessionsQuery>,
) -> Result<HttpResponse, ApiError> {
    answer_as_caller(&req, &state, async |services, caller| {
        let include_current = query.include_current.unwrap_or(false);
        let revoked = services
            .own_sessions
            .revoke_all(caller, include_current, audit_origin(&req))
            .await?;
        Ok(RevokedBody { revoked })
    })
    .await
}

/// `DELETE .../{sessionId}`: ends one live session of the caller (`revokedReason:
/// "logout"`), the current one too; another person's session is 404.
#[utoipa::path(
    delete,
    path = "/api/auth/sessions/{sessionId}",
    operation_id = "revokeOwnSession",
    tag = "session",
    params(SessionIdPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The session was ended (`revoked`: 1)", body = RevokedBody),
        (status = 404, description = "`SESSION_NOT_FOUND` (no live session of the caller has this id)", body = crate::ErrorBody),
        BearerErrors,
    )
)]
pub(crate) async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    answer_as_caller(&req, &state, async |services, caller| {
        services
            .own_sessions
            .revoke(caller, &path, audit_origin(&req))
            .await?;
        Ok(RevokedBody { revoked: 1 })
    })
    .await
}
