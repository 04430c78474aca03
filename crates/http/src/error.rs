//! The one error type of the HTTP edge: every failure becomes
//! `{"error", "code", "requestId"}` with the contract's status. Client mistakes get
//! a precise message; 5xx bodies stay generic and the cause goes to the log once.
//!
//! Handlers return `Result<_, ApiError>` and use `?` on domain errors: each domain
//! error enum converts with `From`, and this file holds the one exhaustive mapping of
//! every variant. An [`ApiError`] knows nothing of the request: its response carries
//! the body in its extensions and the request-id middleware
//! ([`EchoRequestId`](crate::request_id::EchoRequestId)) writes it out with the
//! request's `requestId`.

use actix_web::error::{JsonPayloadError, PayloadError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::StatusCode as S;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use secrecy::ExposeSecret;
use tether_domain::{
    AccessError, AdministrationError, AuditTrailError, DeliveryError, LinkRequestError, LogoutError,
    OrgSettingsError,
};
use tether_domain::{Failure, LoginError, StartError, StepRequired};
use tether_domain::{OwnSessionsError, RefreshError};
use tether_wire::ErrorBody;

use crate::MAX_BODY_BYTES;
use crate::request_id::{ErrorCode, PendingErrorBody};

/// An error answer: status, body (its `requestId` filled in on the way out) and the
/// optional `Retry-After` and `WWW-Authenticate` headers. Its response has no body
/// until the request-id middleware writes it, which
/// [`build_app`](crate::build_app) always installs.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    pub(crate) body: ErrorBody,
    retry_after_seconds: Option<u64>,
    /// The `WWW-Authenticate` challenge of a 401 for a bearer token.
    www_authenticate: Option<&'static str>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.body.code)
    }
}

/// The message of every 401 about an access token.
pub(crate) const INVALID_OR_EXPIRED_TOKEN: &str = "Invalid or expired token";

impl ApiError {
    /// An error with a status, machine code and message.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody::new(code, message),
            retry_after_seconds: None,
            www_authenticate: None,
        }
    }

    /// The same error with a `Retry-After` of `seconds`.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_seconds = Some(seconds);
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine code.
    pub fn code(&self) -> &str {
        &self.body.code
    }

    /// The body; its `requestId` is empty until the middleware writes the answer.
    pub fn body(&self) -> &ErrorBody {
        &self.body
    }

    /// 400 `INVALID_REQUEST` with `message`.
    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(S::BAD_REQUEST, "INVALID_REQUEST", message)
    }

    /// 404 `NOT_FOUND`: no route serves this method and path.
    pub(crate) fn not_found() -> Self {
        Self::new(S::NOT_FOUND, "NOT_FOUND", "No such route.")
    }

    /// 429 `RATE_LIMITED` with `Retry-After`.
    pub(crate) fn rate_limited(retry_after_seconds: u64) -> Self {
        Self::new(
            S::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            "Too many requests from this address. Try again later.",
        )
        .with_retry_after(retry_after_seconds)
    }

    /// 403 `CORS_NOT_ALLOWED`: a refused preflight.
    pub(crate) fn cors_not_allowed() -> Self {
        Self::new(
            S::FORBIDDEN,
            "CORS_NOT_ALLOWED",
            "This origin, method or header is not allowed to call this service from a browser.",
        )
    }

    /// 400 `MISSING_REFRESH_TOKEN`.
    pub(crate) fn missing_refresh_token() -> Self {
        Self::new(
            S::BAD_REQUEST,
            "MISSING_REFRESH_TOKEN",
            "The refresh token is missing (send {\"refreshToken\": \"rt_...\"}).",
        )
    }

    /// 400 `MISSING_CREDENTIALS`: a logout naming no session.
    pub(crate) fn missing_credentials() -> Self {
        Self::new(
            S::BAD_REQUEST,
            "MISSING_CREDENTIALS",
            "Send the refresh token ({\"refreshToken\": \"rt_...\"}) or the access token (Authorization: Bearer).",
        )
    }

    /// 404 `SESSION_NOT_FOUND`: no live session of the user has the id.
    fn session_not_found() -> Self {
        Self::new(
            S::NOT_FOUND,
            "SESSION_NOT_FOUND",
            "No live session of this user has this id.",
        )
    }

    /// 503 `STORE_UNAVAILABLE` with `Retry-After: 5`, shared by every use case; the
    /// cause goes to the log here, once, and never into the body.
    fn store_unavailable(cause: &str) -> Self {
        tracing::warn!(%cause, "the database is unavailable");
        Self::new(
            S::SERVICE_UNAVAILABLE,
            "STORE_UNAVAILABLE",
            "The service is temporarily unavailable.",
        )
        .with_retry_after(5)
    }

    /// 500 `INTERNAL_ERROR`, shared by every use case; the cause goes to the log here,
    /// once, and never into the body.
    fn internal(cause: &str) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(S::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "Internal error.")
    }

    /// 500 `INTERNAL_ERROR` for a variant a newer `tether-domain` added and this file
    /// does not map yet: logged as such, so the gap shows before a client reports it.
    fn unknown(error: &dyn std::fmt::Debug) -> Self {
        tracing::error!(?error, "a domain error this service does not map yet");
        Self::new(S::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "Internal error.")
    }

    /// 401 `LOGIN_DISABLED` with a bearer challenge: the token's user may no longer sign in.
    fn token_of_disabled_user() -> Self {
        let mut e = Self::bad_token("LOGIN_DISABLED");
        e.body.error = "Sign-in is disabled for this user.".to_owned();
        e
    }

    /// 401 `"Invalid or expired token"` with `code` and a bearer challenge.
    fn bad_token(code: &str) -> Self {
        let mut e = Self::new(S::UNAUTHORIZED, code, INVALID_OR_EXPIRED_TOKEN);
        e.www_authenticate = Some(match code {
            "MISSING_TOKEN" => "Bearer",
            _ => "Bearer error=\"invalid_token\"",
        });
        e
    }

    /// 403 `LOGIN_DISABLED`.
    fn login_disabled() -> Self {
        Self::new(
            S::FORBIDDEN,
            "LOGIN_DISABLED",
            "Sign-in is disabled for this user.",
        )
    }

    /// 403 with the provider's step code, upper-cased, and what the client needs to
    /// continue.
    fn step_required(step: StepRequired) -> Self {
        let code = step.code.to_ascii_uppercase();
        let mut e = Self::new(S::FORBIDDEN, &code, step.message);
        e.body.pending_authentication_token = step
            .pending_authentication_token
            .map(|t| t.expose_secret().to_owned());
        e.body.organizations = (!step.organizations.is_empty())
            .then(|| step.organizations.into_iter().map(Into::into).collect());
        e.body.email = step.email;
        e
    }
}

// The contract's error table: every domain error variant, mapped here and nowhere else.
// The domain's error enums are `#[non_exhaustive]`: a variant a newer domain adds and
// this table does not name yet answers 500 and is logged by `ApiError::unknown`.

impl From<Failure> for ApiError {
    /// The failure every use case shares: 503 `STORE_UNAVAILABLE` or 500
    /// `INTERNAL_ERROR`.
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::StoreUnavailable(cause) => Self::store_unavailable(&cause),
            Failure::Internal(cause) => Self::internal(&cause),
            unknown => Self::unknown(&unknown),
        }
    }
}

impl From<DeliveryError> for ApiError {
    fn from(error: DeliveryError) -> Self {
        match error {
            DeliveryError::InvalidSignature => Self::new(
                S::UNAUTHORIZED,
                "INVALID_SIGNATURE",
                "The WorkOS-Signature header is missing, invalid, or its time is more than 3 minutes off.",
            ),
            DeliveryError::Failure(failure) => failure.into(),
            unknown => Self::unknown(&unknown),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(error: LoginError) -> Self {
        let new = ApiError::new;
        match error {
            LoginError::ProviderError { provider_error } => {
                let mut e = new(
                    S::BAD_REQUEST,
                    "PROVIDER_ERROR",
                    "The identity provider reported an error on the redirect. Start the login again.",
                );
                e.body.provider_error = provider_error;
                e
            }
            LoginError::InvalidRequest(message) => Self::invalid_request(message),
            LoginError::MissingCode => new(
                S::BAD_REQUEST,
                "MISSING_CODE",
                "The authorization code is missing.",
            ),
            LoginError::InvalidState => new(
                S::BAD_REQUEST,
                "INVALID_STATE",
                "The login state is missing, unknown, expired or already used; start every login at GET /api/auth/workos/authorize, which issues the state.",
            ),
            LoginError::InvalidRedirectUri => new(
                S::BAD_REQUEST,
                "INVALID_REDIRECT_URI",
                "The redirect URI is not allowed.",
            ),
            LoginError::InvalidCode => new(
                S::UNAUTHORIZED,
                "INVALID_CODE",
                "The authorization code is invalid, expired or already used. Start the login again.",
            ),
            LoginError::StepRequired(step) => Self::step_required(*step),
            LoginError::LoginDisabled => Self::login_disabled(),
            LoginError::NoOrganization => new(
                S::CONFLICT,
                "NO_ORGANIZATION",
                "No organization exists for a new user to join.",
            ),
            LoginError::AccountLinkRequired { link_request_id } => {
                let mut e = new(
                    S::CONFLICT,
                    "ACCOUNT_LINK_REQUIRED",
                    "An account with this e-mail address exists, but this sign-in cannot prove it is \
                     yours. Sign in the way you usually do, or ask an administrator to approve the link request.",
                );
                e.body.link_request_id = link_request_id.map(|id| id.to_string());
                e
            }
            LoginError::OrganizationMismatch => new(
                S::FORBIDDEN,
                "ORGANIZATION_MISMATCH",
                "This sign-in may not join the requested organization.",
            ),
            LoginError::UpstreamMisconfigured(cause) => {
                tracing::error!(%cause, "WorkOS rejected our credentials: check WORKOS_API_KEY and WORKOS_CLIENT_ID");
                new(
                    S::BAD_GATEWAY,
                    "UPSTREAM_MISCONFIGURED",
                    "The identity provider integration is misconfigured.",
                )
            }
            LoginError::UpstreamRateLimited { retry_after_seconds } => {
                tracing::warn!(?retry_after_seconds, "WorkOS is rate-limiting us");
                new(
                    S::SERVICE_UNAVAILABLE,
                    "UPSTREAM_RATE_LIMITED",
                    "The identity provider is busy. Try again shortly.",
                )
                .with_retry_after(retry_after_seconds.unwrap_or(30).max(1))
            }
            LoginError::UpstreamUnavailable(cause) => {
                tracing::warn!(%cause, "WorkOS is unavailable");
                new(
                    S::BAD_GATEWAY,
                    "UPSTREAM_UNAVAILABLE",
                    "The identity provider is unavailable.",
                )
            }
            LoginError::Failure(failure) => failure.into(),
            unknown => Self::unknown(&unknown),
        }
    }
}

impl From<StartError> for ApiError {
    fn from(error: StartError) -> Self {
        match error {
            StartError::InvalidRequest(message) => Self::invalid_request(message),
            StartError::InvalidRedirectUri => Self::new(
                S::BAD_REQUEST,
                "INVALID_REDIRECT_URI",
                "The redirect URI is not allowed.",
            ),
            StartError::StateInUse => Self::new(
                S::BAD_REQUEST,
                "INVALID_STATE",
                "This state is already in use by another login; use a fresh random state.",
            ),
            StartError::Failure(failure) => failure.into(),
            unknown => Self::unknown(&unknown),
        }
    }
}

impl From<RefreshError> for ApiError {
    /// 401 with a code per reason, 403 `LOGIN_DISABLED`.
    fn from(error: RefreshError) -> Self {
        let new = |code, message: &str| ApiError::new(S::UNAUTHORIZED, code, message);
        match error {
            RefreshError::Invalid => new(
                "REFRESH_TOKEN_INVALID",
                "The refresh token is invalid. Sign in again.",
            ),
            RefreshError::Expired => new(
                "REFRESH_TOKEN_EXPIRED",
                "The refresh token has expired. Sign in again.",
            ),
            RefreshError::Revoked => new(
                "REFRESH_TOKEN_REVOKED",
                "The session of this refresh token has ended. Sign in again.",
            ),
            RefreshError::Reused => new(
                "REFRESH_TOKEN_REUSED",
                "This refresh token was already used; the session has been ended. Sign in again.",
            ),
            RefreshError::SessionExpired => new(
                "SESSION_EXPIRED",
                "The session has reached its maximum lifetime. Sign in again.",
            ),
            RefreshError::LoginDisabled => Self::login_disabled(),
            RefreshError::Failure(failure) => failure.into(),
            unknown => Self::unknown(&unknown),
        }
    }
}

impl From<LogoutError> for ApiError {
    fn from(error: LogoutError) -> Self {
        match error {
            LogoutError::InvalidAccessToken => Self::bad_token("INVALID_TOKEN"),
            LogoutError::Failure(failure) => failure.into(),
            unknown => Self::unknown(&unknown),
        }
    }
}

impl From<AccessError> for ApiError {
    /// 401 `"Invalid or expired token"` with `MISSING_TOKEN`, `INVALID_TOKEN`,
    /// `TOKEN_EXPIRED`, `SESSION_REVOKED` or `LOGIN_DISABLED`.
    fn from(error: AccessError) -> Self {
        match error {
            AccessError::Missing => Self::bad_token("MISSING_TOKEN"),
            AccessError::Invalid => Self::bad_token("INVALID_TOKEN"),
            AccessError::LoginDisabled => Self::token_of_disabled_user(),
            AccessError::Expired => Self::bad_token("TOKEN_EXPIRED"),
            AccessError::SessionRevoked => Self::bad_token("SESSION_REVOKED"),
            AccessError::Failure(failure) => failure.into(),
            unknown => Self::unknown(&unknown),
        }
    }
}

impl From<OrgSettingsError> for ApiError {
    fn from(error: OrgSettingsError) -> Self {
        let new = ApiError::new;
        match error {
            OrgSettingsError::UnknownUser => Self::bad_token("INVALID_TOKEN"),
            // As on every Bearer route: the token's user may no longer sign in (401).
            OrgSettingsError::LoginDisabled => Self::token_of_disabled_user(),
            OrgSettingsError::Forbidden => new(
                S::FORBIDDEN,
                "FORBIDDEN",
                "Only a SUPERADMIN may manage organizations.",
            ),
            OrgSettingsError::InvalidOrganizationId => new(
                S::BAD_REQUEST,
                "INVALID_ORGANIZATION_ID",
                "The organization id must be 24 hexadecimal characters.",
            ),
            OrgSettingsError::OrganizationNotFound => new(
                S::NOT_FOUND,
                "ORGANIZATION_NOT_FOUND",
                "No organization has this id.",
            ),
            OrgSettingsError::InvalidTenant => Self::invalid_request(
                "workosOrganizationId must be a WorkOS organization id (org_ followed by letters and digits) or null.",
            ),
            OrgSettingsError::Conflict => new(
                S::CONFLICT,
                "CONFLICT",
                "Another organization is already mapped to this WorkOS organization.",
            ),
            OrgSettingsError::InvalidSettings(fields) => {
                let mut e = new(
                    S::BAD_REQUEST,
                    "INVALID_SESSION_SETTINGS",
                    "Some session settings are invalid; nothing was saved.",
                );
                e.body.fields = Some(fields);
                e
            }
            OrgSettingsError::Failure(failure) => failure.into(),
            unknown => Self::unknown(&unknown),
        }
    }
}

impl From<AdministrationError> for ApiError {
    fn from(error: AdministrationError) -> Self {
        let new = ApiError::new;
        match error {
            AdministrationError::UnknownUser => Self::bad_token("INVALID_TOKEN"),
            // As on every Bearer route: the token's user may no longer sign in (401).
            AdministrationError::LoginDisabled => Self::token_of_disabled_user(),
            AdministrationError::Forbidden => new(
                S::FORBIDDEN,
                "FORBIDDEN",
                "Only a SUPERADMIN, or an ADMIN for their organization, may administer users.",
            ),
            AdministrationError::InvalidUserId => new(
                S::BAD_REQUEST,
                "INVALID_USER_ID",
                "The user id must be 24 hexadecimal characters.",
            ),
            AdministrationError::UserNotFound => new(
                S::NOT_FOUND,
                "USER_NOT_FOUND",
                "No user you administer has this id.",
            ),
            AdministrationError::SessionNotFound => Self::session_not_found(),
            AdministrationError::CannotDisableSelf => new(
                S::CONFLICT,
                "CANNOT_DISABLE_SELF",
                "An administrator cannot disable their own sign-in.",
            ),
            AdministrationError::InvalidReason => Self::invalid_request(format!(
                "reason must be at most {} characters.",
                tether_domain::MAX_DISABLED_REASON_CHARS
            )),
            AdministrationError::Failure(failure) => failure.into(),
            unknown => Self::unknown(&unknown),
        }
    }
}

impl From<OwnSessionsError> for ApiError {
    fn from(error: OwnSessionsError) -> Self {
        match error {
            OwnSessionsError::SessionNotFound => Self::session_not_found(),
            OwnSessionsError::Failure(failure) => failure.into(),
            unknown => Self::unknown(&unknown),
        }
    }
}

impl From<LinkRequestError> for ApiError {
    fn from(error: LinkRequestError) -> Self {
        let new = ApiError::new;
        match error {
            LinkRequestError::UnknownUser => Self::bad_token("INVALID_TOKEN"),
            // As on every Bearer route: the token's user may no longer sign in (401).
            LinkRequestError::LoginDisabled => Self::token_of_disabled_user(),
            LinkRequestError::Forbidden => new(
                S::FORBIDDEN,
                "FORBIDDEN",
                "Only a SUPERADMIN or an ADMIN may manage identity link requests.",
            ),
            LinkRequestError::InvalidId => {
                Self::invalid_request("The link request id must be 24 hexadecimal characters.")
            }
            LinkRequestError::InvalidQuery(message) => Self::invalid_request(message),
            LinkRequestError::NotFound => new(
                S::NOT_FOUND,
                "LINK_REQUEST_NOT_FOUND",
                "No link request you may manage has this id.",
            ),
            LinkRequestError::NotPending(status) => ApiError::new(
                S::CONFLICT,
                "LINK_REQUEST_NOT_PENDING",
                format!(
                    "This link request is {} and can no longer be decided.",
                    status.as_str()
                ),
            ),
            LinkRequestError::Conflict => new(
                S::CONFLICT,
                "CONFLICT",
                "Another user already carries this WorkOS identity.",
            ),
            LinkRequestError::Failure(failure) => failure.into(),
            unknown => Self::unknown(&unknown),
        }
    }
}

impl From<AuditTrailError> for ApiError {
    fn from(error: AuditTrailError) -> Self {
        match error {
            AuditTrailError::UnknownUser => Self::bad_token("INVALID_TOKEN"),
            // As on every Bearer route: the token's user may no longer sign in (401).
            AuditTrailError::LoginDisabled => Self::token_of_disabled_user(),
            AuditTrailError::Forbidden => ApiError::new(
                S::FORBIDDEN,
                "FORBIDDEN",
                "Only a SUPERADMIN or an ADMIN may read the audit trail.",
            ),
            // The domain's message names the filter, never its value.
            AuditTrailError::InvalidQuery(message) => Self::invalid_request(message),
            AuditTrailError::Failure(failure) => failure.into(),
            unknown => Self::unknown(&unknown),
        }
    }
}

/// What the body of a route must be, for the 400 of a body that does not parse.
pub(crate) fn expected_body(route: Option<&str>) -> &'static str {
    match route {
        Some("/api/users/{userId}/login-disabled") => {
            "The request body must be {\"disabled\": true or false, \"reason\": \"...\" (optional)}."
        }
        Some("/api/organizations/{organizationId}/session-settings") => {
            "The request body must be a JSON object of session settings (any of the nine fields; null reverts one)."
        }
        Some("/api/organizations/{organizationId}/workos-organization") => {
            "The request body must be {\"workosOrganizationId\": \"org_...\"} or {\"workosOrganizationId\": null}."
        }
        _ => "The request body must be a JSON object whose fields are strings.",
    }
}

impl ApiError {
    /// A body the JSON reader refused on `route` (the route pattern): as
    /// [`From<JsonPayloadError>`], with the 400 saying what that route's body must be.
    /// A refused callback body is a login that failed before an API was chosen, and
    /// is counted as one (its handler never runs).
    pub(crate) fn from_json(error: JsonPayloadError, route: Option<&str>) -> Self {
        let mut e = Self::from(error);
        if e.status == S::BAD_REQUEST {
            e.body.error = expected_body(route).to_owned();
        }
        if route == Some(crate::metrics::CALLBACK_ROUTE) {
            crate::metrics::record_login(None, crate::metrics::outcome_label::<()>(&Err(e.clone())));
        }
        e
    }
}

impl From<JsonPayloadError> for ApiError {
    /// 413 for an oversized body, 408 for a body that did not arrive in time, 415 for
    /// a wrong content type, 400 for anything unparsable or a field of the wrong type.
    fn from(error: JsonPayloadError) -> Self {
        match error {
            JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => Self::new(
                S::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
            ),
            JsonPayloadError::Payload(PayloadError::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
                Self::new(
                    S::REQUEST_TIMEOUT,
                    "REQUEST_TIMEOUT",
                    "The request body did not arrive in time.",
                )
            }
            JsonPayloadError::ContentType => Self::new(
                S::UNSUPPORTED_MEDIA_TYPE,
                "INVALID_REQUEST",
                "The request body must be JSON (Content-Type: application/json).",
            ),
            _ => Self::invalid_request(expected_body(None)),
        }
    }
}

impl From<QueryPayloadError> for ApiError {
    fn from(_: QueryPayloadError) -> Self {
        Self::invalid_request("The query string is malformed.")
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    /// Status and headers; the body travels in the response's extensions and the
    /// request-id middleware serializes it once, with the request's id.
    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        res.insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")));
        if let Some(seconds) = self.retry_after_seconds {
            res.insert_header((RETRY_AFTER, seconds.to_string()));
        }
        if let Some(challenge) = self.www_authenticate {
            res.insert_header((WWW_AUTHENTICATE, HeaderValue::from_static(challenge)));
        }
        let mut res = res.finish();
        // The request's log line names the code (`error.code`); codes are a fixed set.
        res.extensions_mut().insert(ErrorCode(self.body.code.clone()));
        res.extensions_mut().insert(PendingErrorBody(self.body.clone()));
        res
    }
}

/// The query extractor's settings: typed errors.
pub(crate) fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _: &HttpRequest| ApiError::from(err).into())
}

/// The JSON extractor's settings: 16 KiB limit, JSON content type required, typed errors.
pub(crate) fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .content_type_required(true)
        .error_handler(|err, req: &HttpRequest| {
            ApiError::from_json(err, req.match_pattern().as_deref()).into()
        })
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;
    use actix_web::{HttpResponse, web};

    use super::json_config;
    use crate::test_support::json_answer;

    /// Two routes that read a JSON body, with the service's JSON settings.
    fn json_routes(cfg: &mut web::ServiceConfig) {
        cfg.app_data(json_config())
            .route(
                "/api/organizations/{organizationId}/session-settings",
                web::put().to(|_: web::Json<serde_json::Value>| async { HttpResponse::Ok().finish() }),
            )
            .route(
                "/api/auth/refresh",
                web::post().to(|_: web::Json<serde_json::Value>| async { HttpResponse::Ok().finish() }),
            );
    }

    #[actix_web::test]
    async fn a_broken_body_is_told_what_its_route_expects() {
        for (method, path, expected) in [
            (
                actix_web::http::Method::PUT,
                "/api/organizations/64a1b2c3d4e5f60012345678/session-settings",
                "session settings",
            ),
            (
                actix_web::http::Method::POST,
                "/api/auth/refresh",
                "fields are strings",
            ),
        ] {
            let req = TestRequest::default()
                .method(method)
                .uri(path)
                .insert_header(("content-type", "application/json"))
                .set_payload("{not json");
            let (status, body) = json_answer(json_routes, req).await;
            assert_eq!(status, 400, "{path}");
            assert_eq!(body["code"], "INVALID_REQUEST", "{path}");
            let message = body["error"].as_str().unwrap();
            assert!(message.contains(expected), "{path}: {message}");
        }
    }
}
