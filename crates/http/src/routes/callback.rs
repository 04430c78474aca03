//! `POST /api/auth/workos/callback`: completes a login.

use actix_web::{HttpRequest, HttpResponse, web};
use tether_wire::{AuthSessionBody, CallbackBody};

use super::api_doc::LoginErrors;
use crate::AppState;
use crate::error::ApiError;

/// Exchanges the code, provisions the user and answers with an auth session.
#[utoipa::path(
    post,
    path = "/api/auth/workos/callback",
    operation_id = "callback",
    tag = "login",
    request_body(content = CallbackBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Auth session created", body = AuthSessionBody),
        (status = 400, description = "`INVALID_REQUEST`, `PROVIDER_ERROR`, `MISSING_CODE`, `INVALID_STATE`, `INVALID_REDIRECT_URI`", body = crate::ErrorBody),
        (status = 401, description = "`INVALID_CODE`", body = crate::ErrorBody),
        (status = 403, description = "`LOGIN_DISABLED`, `ORGANIZATION_MISMATCH` (a new user may not join the requested organization), or a further WorkOS step (with `pendingAuthenticationToken`): `EMAIL_VERIFICATION_REQUIRED`, `ORGANIZATION_SELECTION_REQUIRED`, `MFA_ENROLLMENT`, `MFA_CHALLENGE`, `SSO_REQUIRED`, `ORGANIZATION_AUTHENTICATION_METHODS_REQUIRED`, `IDENTITY_VERIFICATION_REQUIRED`", body = crate::ErrorBody),
        (status = 409, description = "`ACCOUNT_LINK_REQUIRED` (WorkOS does not vouch for the address of the existing user), `NO_ORGANIZATION`", body = crate::ErrorBody),
        LoginErrors,
    )
)]
pub(crate) async fn handle(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<CallbackBody>,
) -> Result<HttpResponse, ApiError> {
    let mut input: tether_domain::CallbackInput = body.into_inner().into();
    let origin = crate::request_id::audit_origin(&request);
    input.client = origin.client;
    input.request_id = origin.request_id;
    let (provider, result) = state.services.login.complete_reporting_provider(input).await;
    super::counted_auth_session(result, |outcome| {
        crate::metrics::record_login(provider.map(|p| p.label()), outcome);
    })
}
