//! `POST /api/auth/workos/callback`: completes a login.

use actix_web::http::header::{CACHE_CONTROL, HeaderValue, PRAGMA};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::AppState;
use crate::dto::{AuthSessionBody, CallbackBody};
use crate::error::ApiError;
use crate::request_id::request_id_of;

/// Exchanges the code, provisions the user and answers with an auth session.
pub(crate) async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<CallbackBody>,
) -> Result<HttpResponse, ApiError> {
    let (flow, result) = state
        .login
        .complete_reporting_flow(body.into_inner().into_domain())
        .await;
    let result = result.map_err(|e| ApiError::from_login(e, request_id_of(&req)));
    crate::metrics::record_login(flow, crate::metrics::outcome_label(&result));
    Ok(auth_session_response(&result?))
}

/// 200 with the auth session body and `Cache-Control: no-store`.
pub(crate) fn auth_session_response(session: &tether_domain::AuthSession) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((PRAGMA, HeaderValue::from_static("no-cache")))
        .json(AuthSessionBody::from(session))
}
