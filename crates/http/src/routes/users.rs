//! A user's sessions and sign-in, administered (bearer access token of a SUPERADMIN,
//! or of an ADMIN for the users of their organization): `GET` and `DELETE
//! /api/users/{userId}/sessions`, `DELETE /api/users/{userId}/sessions/{sessionId}` and
//! `PUT /api/users/{userId}/login-disabled`.

use actix_web::{HttpRequest, HttpResponse, web};
use tether_wire::{LoginDisabledAnswer, LoginDisabledBody, RevokedBody, SessionListBody};

use super::api_doc::{AdministratorErrors, JsonBodyErrors, UserErrors, UserIdPath, UserSessionPath};
use crate::AppState;
use crate::bearer::answer_as_caller;
use crate::error::ApiError;
use crate::request_id::audit_origin;

/// `GET`: the user's live sessions, newest first (at most 100).
#[utoipa::path(
    get,
    path = "/api/users/{userId}/sessions",
    operation_id = "listUserSessions",
    tag = "users",
    params(UserIdPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user's live sessions, newest first (no token or digest)", body = SessionListBody),
        UserErrors,
    )
)]
pub(crate) async fn list_sessions(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    answer_as_caller(&req, &state, async |services, caller| {
        Ok(SessionListBody::new(
            &services.administration.sessions(caller, &path).await?,
        ))
    })
    .await
}

/// `DELETE`: ends every live session of the user (`revokedReason: "admin"`).
#[utoipa::path(
    delete,
    path = "/api/users/{userId}/sessions",
    operation_id = "revokeUserSessions",
    tag = "users",
    params(UserIdPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "How many live sessions were ended (0 when none was live)", body = RevokedBody),
        UserErrors,
    )
)]
pub(crate) async fn revoke_sessions(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    answer_as_caller(&req, &state, async |services, caller| {
        let revoked = services
            .administration
            .revoke_sessions(caller, &path, audit_origin(&req))
            .await?;
        Ok(RevokedBody { revoked })
    })
    .await
}

/// `DELETE .../{sessionId}`: ends one live session of the user (`revokedReason: "admin"`).
#[utoipa::path(
    delete,
    path = "/api/users/{userId}/sessions/{sessionId}",
    operation_id = "revokeUserSession",
    tag = "users",
    params(UserSessionPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The session was ended (`revoked`: 1)", body = RevokedBody),
        (status = 400, description = "`INVALID_USER_ID`", body = crate::ErrorBody),
        (status = 404, description = "`USER_NOT_FOUND` (also: a user of another organization, for an ADMIN), `SESSION_NOT_FOUND` (no live session of the user has this id)", body = crate::ErrorBody),
        AdministratorErrors,
    )
)]
pub(crate) async fn revoke_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    answer_as_caller(&req, &state, async |services, caller| {
        let (user_id, session_id) = path.into_inner();
        services
            .administration
            .revoke_session(caller, &user_id, &session_id, audit_origin(&req))
            .await?;
        Ok(RevokedBody { revoked: 1 })
    })
    .await
}

/// `PUT`: `{"disabled": true, "reason": "..."}` disables the user's sign-in and ends
/// every session at once; `{"disabled": false}` enables it (whoever disabled it).
#[utoipa::path(
    put,
    path = "/api/users/{userId}/login-disabled",
    operation_id = "putLoginDisabled",
    tag = "users",
    params(UserIdPath),
    request_body(content = LoginDisabledBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Done (also when it was so already: `changed` false)", body = LoginDisabledAnswer),
        (status = 400, description = "`INVALID_USER_ID`, `INVALID_REQUEST` (not `{disabled: bool, reason?: string}`, or a reason over 256 characters)", body = crate::ErrorBody),
        (status = 404, description = "`USER_NOT_FOUND` (also: a user of another organization, for an ADMIN)", body = crate::ErrorBody),
        (status = 409, description = "`CANNOT_DISABLE_SELF` (an administrator's own sign-in)", body = crate::ErrorBody),
        AdministratorErrors,
        JsonBodyErrors,
    )
)]
pub(crate) async fn put_login_disabled(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // The token is judged before the body's shape.
    answer_as_caller(&req, &state, async |services, caller| {
        let route = req.match_pattern();
        let body = super::session::optional_json_body::<LoginDisabledBody>(&req, payload)
            .await
            .map_err(|e| ApiError::from_json(e, route.as_deref()))?
            .ok_or_else(|| ApiError::invalid_request(crate::error::expected_body(route.as_deref())))?;
        let outcome = services
            .administration
            .set_login_disabled(caller, &path, body.into(), audit_origin(&req))
            .await?;
        Ok(LoginDisabledAnswer::from(&outcome))
    })
    .await
}
