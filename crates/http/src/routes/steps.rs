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

/// A route that finishes a step from its JSON body: the same answers but for what its
/// 401 and 403 name.
macro_rules! step_route {
    (
        $(#[$doc:meta])*
        $name:ident: POST $path:tt as $operation_id:tt, body $body:ty,
        401 $unknown:tt,
        403 $further:tt $(,)?
    ) => {
        $(#[$doc])*
        #[utoipa::path(
            post,
            path = $path,
            operation_id = $operation_id,
            tag = "login",
            request_body(content = $body, content_type = "application/json"),
            responses(
                (status = 200, description = "Auth session created, by the same trust rules as the callback", body = AuthSessionBody),
                (status = 401, description = $unknown, body = crate::ErrorBody),
                (status = 403, description = $further, body = crate::ErrorBody),
                StepErrors,
            )
        )]
        pub(crate) async fn $name(
            state: web::Data<AppState>,
            request: HttpRequest,
            body: web::Json<$body>,
        ) -> Result<HttpResponse, ApiError> {
            finish(&state, &request, body.into_inner().into()).await
        }
    };
}

step_route! {
    /// The organization the person picked, from the list the callback's `403
    /// ORGANIZATION_SELECTION_REQUIRED` carried.
    organization_selection: POST "/api/auth/workos/authkit/organization-selection"
        as "authkitOrganizationSelection", body OrganizationSelectionBody,
    401 "`INVALID_CODE` (the pending token is unknown, expired or used)",
    403 "`LOGIN_DISABLED`, `ORGANIZATION_MISMATCH`, or a further WorkOS step (with `pendingAuthenticationToken`): \
`EMAIL_VERIFICATION_REQUIRED`, `MFA_ENROLLMENT`, `MFA_CHALLENGE`, `SSO_REQUIRED`, \
`ORGANIZATION_AUTHENTICATION_METHODS_REQUIRED`, `IDENTITY_VERIFICATION_REQUIRED`",
}

step_route! {
    /// The code WorkOS e-mailed after the callback's `403 EMAIL_VERIFICATION_REQUIRED`.
    email_verification: POST "/api/auth/workos/authkit/email-verification"
        as "authkitEmailVerification", body EmailVerificationBody,
    401 "`INVALID_CODE` (the pending token or the code is unknown, expired or used)",
    403 "`LOGIN_DISABLED`, `ORGANIZATION_MISMATCH`, or a further WorkOS step (with `pendingAuthenticationToken`): \
`ORGANIZATION_SELECTION_REQUIRED`, `MFA_ENROLLMENT`, `MFA_CHALLENGE`, `SSO_REQUIRED`, \
`ORGANIZATION_AUTHENTICATION_METHODS_REQUIRED`, `IDENTITY_VERIFICATION_REQUIRED`",
}
