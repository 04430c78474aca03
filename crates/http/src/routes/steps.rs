//! `POST /api/auth/workos/authkit/organization-selection` and
//! `POST /api/auth/workos/authkit/email-verification`: finish a login WorkOS answered
//! with a step (the callback's `403` with a `pendingAuthenticationToken`). These calls
//! need the API key, so only the server can make them; the pending token is never logged.

use actix_web::{HttpRequest, HttpResponse, web};
use tether_domain::StepInput;
use tether_wire::{AuthSessionBody, EmailVerificationBody, OrganizationSelectionBody};

use super::api_doc::StepErrors;
use crate::AppState;
use crate::error::ApiError;

/// Finishes the step with what was posted, counts it as a login, answers the session.
async fn finish(
    state: &AppState,
    request: &HttpRequest,
    mut input: StepInput,
) -> Result<HttpResponse, ApiError> {
    let origin = crate::request_id::audit_origin(request);
    input.client = origin.client;
    input.request_id = origin.request_id;
    let result = state.services.login.complete_step(input).await;
    super::counted_auth_session(result, |outcome| {
        crate::metrics::record_login(Some("authkit".into()), outcome);
    })
}

/// The organization the person picked, from the list the callback's `403
/// ORGANIZATION_SELECTION_REQUIRED` carried.
#[utoipa::path(
    post,
    path = "/api/auth/workos/authkit/organization-selection",
    operation_id = "authkitOrganizationSelection",
    tag = "login",
    request_body(content = OrganizationSelectionBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Auth session created, by the same trust rules as the callback", body = AuthSessionBody),
        (status = 401, description = "`INVALID_CODE` (the pending token is unknown, expired or used)", body = crate::ErrorBody),
        (status = 403, description = "`LOGIN_DISABLED`, `ORGANIZATION_MISMATCH`, or a further WorkOS step (with `pendingAuthenticationToken`): `EMAIL_VERIFICATION_REQUIRED`, `MFA_ENROLLMENT`, `MFA_CHALLENGE`, `SSO_REQUIRED`, `ORGANIZATION_AUTHENTICATION_METHODS_REQUIRED`, `IDENTITY_VERIFICATION_REQUIRED`", body = crate::ErrorBody),
        StepErrors,
    )
)]
pub(crate) async fn organization_selection(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<OrganizationSelectionBody>,
) -> Result<HttpResponse, ApiError> {
    finish(&state, &request, body.into_inner().into()).await
}

/// The code WorkOS e-mailed after the callback's `403 EMAIL_VERIFICATION_REQUIRED`.
#[utoipa::path(
    post,
    path = "/api/auth/workos/authkit/email-verification",
    operation_id = "authkitEmailVerification",
    tag = "login",
    request_body(content = EmailVerificationBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Auth session created, by the same trust rules as the callback", body = AuthSessionBody),
        (status = 401, description = "`INVALID_CODE` (the pending token or the code is unknown, expired or used)", body = crate::ErrorBody),
        (status = 403, description = "`LOGIN_DISABLED`, `ORGANIZATION_MISMATCH`, or a further WorkOS step (with `pendingAuthenticationToken`): `ORGANIZATION_SELECTION_REQUIRED`, `MFA_ENROLLMENT`, `MFA_CHALLENGE`, `SSO_REQUIRED`, `ORGANIZATION_AUTHENTICATION_METHODS_REQUIRED`, `IDENTITY_VERIFICATION_REQUIRED`", body = crate::ErrorBody),
        StepErrors,
    )
)]
pub(crate) async fn email_verification(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<EmailVerificationBody>,
) -> Result<HttpResponse, ApiError> {
    finish(&state, &request, body.into_inner().into()).await
}
