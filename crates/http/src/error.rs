//! The one error type of the HTTP edge: every failure becomes
//! `{"error", "code", "requestId"}` with the contract's status. Client mistakes get
//! a precise message; 5xx bodies stay generic and the cause goes to the log once.

use actix_web::error::{JsonPayloadError, PayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use secrecy::ExposeSecret;
use serde::Serialize;
use tether_domain::{AccessError, FieldErrors, LogoutError, OrgSettingsError, RefreshError};
use tether_domain::{LoginError, StartError, StepRequired};

use crate::MAX_BODY_BYTES;
use crate::request_id::request_id_of;

/// The JSON body of every error.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Human message.
    pub error: String,
    /// Machine code, e.g. `INVALID_CODE`.
    pub code: String,
    /// The request id, also in the `x-request-id` header.
    pub request_id: String,
    /// For `*_REQUIRED` step errors: the token to continue with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_authentication_token: Option<String>,
    /// For organization selection: the organizations to choose from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organizations: Option<Vec<PendingOrganizationBody>>,
    /// For step errors: the user's address when the provider sent it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// For validation errors: each refused field with the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<std::collections::BTreeMap<String, String>>)]
    pub fields: Option<FieldErrors>,
    /// For `PROVIDER_ERROR`: the provider's code, only when it is a clean one
    /// (`^[a-z0-9_.-]{1,64}$`); nothing else the client sent is answered back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_error: Option<String>,
}

/// One organization offered during organization selection.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PendingOrganizationBody {
    /// WorkOS organization id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// An error answer: status, body and optional `Retry-After`.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    retry_after_seconds: Option<u64>,
    /// The `WWW-Authenticate` challenge of a 401 for a bearer token.
    www_authenticate: Option<&'static str>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.body.code)
    }
}

impl ApiError {
    /// An error with a status, machine code and message.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>, request_id: String) -> Self {
        Self {
            status,
            body: ErrorBody {
                error: message.into(),
                code: code.to_owned(),
                request_id,
                pending_authentication_token: None,
                organizations: None,
                email: None,
                fields: None,
                provider_error: None,
            },
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

    /// The body.
    pub fn body(&self) -> &ErrorBody {
        &self.body
    }

    /// Maps a login failure to its row of the contract's error table. 5xx causes are
    /// logged here, once; their bodies say nothing about the cause.
    pub fn from_login(error: LoginError, request_id: String) -> Self {
        use StatusCode as S;
        let new = |status, code, message: &str| ApiError::new(status, code, message, request_id.clone());
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
            LoginError::StepRequired(step) => Self::step_required(*step, request_id),
            LoginError::LoginDisabled => new(
                S::FORBIDDEN,
                "LOGIN_DISABLED",
                "Sign-in is disabled for this user.",
            ),
            LoginError::NoOrganization => new(
                S::CONFLICT,
                "NO_ORGANIZATION",
                "No organization exists for a new user to join.",
            ),
            LoginError::AccountLinkRequired => new(
                S::CONFLICT,
                "ACCOUNT_LINK_REQUIRED",
                "An account with this e-mail address exists, but this sign-in cannot prove it is \
                 yours. Sign in the way you usually do, or ask an administrator to link the accounts.",
            ),
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
                let mut e = new(
                    S::SERVICE_UNAVAILABLE,
                    "UPSTREAM_RATE_LIMITED",
                    "The identity provider is busy. Try again shortly.",
                );
                e.retry_after_seconds = Some(retry_after_seconds.unwrap_or(30).max(1));
                e
            }
            LoginError::UpstreamUnavailable(cause) => {
                tracing::warn!(%cause, "WorkOS is unavailable");
                new(
                    S::BAD_GATEWAY,
                    "UPSTREAM_UNAVAILABLE",
                    "The identity provider is unavailable.",
                )
            }
            LoginError::StoreUnavailable(cause) => {
                tracing::warn!(%cause, "the database is unavailable");
                let mut e = new(
                    S::SERVICE_UNAVAILABLE,
                    "STORE_UNAVAILABLE",
                    "The service is temporarily unavailable.",
                );
                e.retry_after_seconds = Some(5);
                e
            }
            LoginError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                new(S::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "Internal error.")
            }
        }
    }

    /// Maps a failure to start a login.
    pub fn from_start(error: StartError, request_id: String) -> Self {
        use StatusCode as S;
        match error {
            StartError::InvalidRequest(message) => {
                ApiError::new(S::BAD_REQUEST, "INVALID_REQUEST", message, request_id)
            }
            StartError::InvalidRedirectUri => ApiError::new(
                S::BAD_REQUEST,
                "INVALID_REDIRECT_URI",
                "The redirect URI is not allowed.",
                request_id,
            ),
            StartError::StateInUse => ApiError::new(
                S::BAD_REQUEST,
                "INVALID_STATE",
                "This state is already in use by another login; use a fresh random state.",
                request_id,
            ),
            StartError::StoreUnavailable(cause) => {
                Self::from_login(LoginError::StoreUnavailable(cause), request_id)
            }
            StartError::Internal(cause) => Self::from_login(LoginError::Internal(cause), request_id),
        }
    }

    fn step_required(step: StepRequired, request_id: String) -> Self {
        let code = step.code.to_ascii_uppercase();
        let mut e = ApiError::new(StatusCode::FORBIDDEN, &code, step.message, request_id);
        e.body.pending_authentication_token = step
            .pending_authentication_token
            .map(|t| t.expose_secret().to_owned());
        e.body.organizations = (!step.organizations.is_empty()).then(|| {
            step.organizations
                .into_iter()
                .map(|o| PendingOrganizationBody {
                    id: o.id,
                    name: o.name,
                })
                .collect()
        });
        e.body.email = step.email;
        e
    }

    /// Maps a JSON extraction failure: 413 for an oversized body, 415 for a wrong
    /// content type, 400 for anything unparsable or a field of the wrong type.
    pub fn from_json(error: &JsonPayloadError, request_id: String) -> Self {
        match error {
            JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PAYLOAD_TOO_LARGE",
                    format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
                    request_id,
                )
            }
            JsonPayloadError::Payload(PayloadError::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
                ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "REQUEST_TIMEOUT",
                    "The request body did not arrive in time.",
                    request_id,
                )
            }
            JsonPayloadError::ContentType => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "INVALID_REQUEST",
                "The request body must be JSON (Content-Type: application/json).",
                request_id,
            ),
            _ => ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                "The request body must be a JSON object whose fields are strings.",
                request_id,
            ),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        res.insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")));
        if let Some(seconds) = self.retry_after_seconds {
            res.insert_header((RETRY_AFTER, seconds.to_string()));
        }
        if let Some(challenge) = self.www_authenticate {
            res.insert_header((WWW_AUTHENTICATE, HeaderValue::from_static(challenge)));
        }
        let mut res = res.json(&self.body);
        // The request's log line names the code (`error.code`); codes are a fixed set.
        res.extensions_mut()
            .insert(crate::request_id::ErrorCode(self.body.code.clone()));
        res
    }
}

/// The query extractor's settings: typed errors.
pub(crate) fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|_, req: &HttpRequest| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "The query string is malformed.",
            request_id_of(req),
        )
        .into()
    })
}

/// The JSON extractor's settings: 16 KiB limit, JSON content type required, typed errors.
pub(crate) fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .content_type_required(true)
        .error_handler(|err, req: &HttpRequest| ApiError::from_json(&err, request_id_of(req)).into())
}

/// The message of every 401 about an access token.
pub(crate) const INVALID_OR_EXPIRED_TOKEN: &str = "Invalid or expired token";

/// Mappings of the after-login operations: refresh, logout, access tokens and
/// organization session settings.
impl ApiError {
    /// 503 `STORE_UNAVAILABLE`, logged once like the login's.
    fn store_unavailable(cause: String, request_id: String) -> Self {
        Self::from_login(LoginError::StoreUnavailable(cause), request_id)
    }

    /// 500 `INTERNAL_ERROR`, logged once like the login's.
    fn internal(cause: String, request_id: String) -> Self {
        Self::from_login(LoginError::Internal(cause), request_id)
    }

    /// 401 `"Invalid or expired token"` with `code` and a bearer challenge.
    fn bad_token(code: &str, request_id: String) -> Self {
        let mut e = ApiError::new(
            StatusCode::UNAUTHORIZED,
            code,
            INVALID_OR_EXPIRED_TOKEN,
            request_id,
        );
        e.www_authenticate = Some(match code {
            "MISSING_TOKEN" => "Bearer",
            _ => "Bearer error=\"invalid_token\"",
        });
        e
    }

    /// Maps a refused refresh: 401 with a code per reason, 403 `LOGIN_DISABLED`.
    pub fn from_refresh(error: RefreshError, request_id: String) -> Self {
        use StatusCode as S;
        let new = |status, code, message: &str| ApiError::new(status, code, message, request_id.clone());
        match error {
            RefreshError::Invalid => new(
                S::UNAUTHORIZED,
                "REFRESH_TOKEN_INVALID",
                "The refresh token is invalid. Sign in again.",
            ),
            RefreshError::Expired => new(
                S::UNAUTHORIZED,
                "REFRESH_TOKEN_EXPIRED",
                "The refresh token has expired. Sign in again.",
            ),
            RefreshError::Revoked => new(
                S::UNAUTHORIZED,
                "REFRESH_TOKEN_REVOKED",
                "The session of this refresh token has ended. Sign in again.",
            ),
            RefreshError::Reused => new(
                S::UNAUTHORIZED,
                "REFRESH_TOKEN_REUSED",
                "This refresh token was already used; the session has been ended. Sign in again.",
            ),
            RefreshError::SessionExpired => new(
                S::UNAUTHORIZED,
                "SESSION_EXPIRED",
                "The session has reached its maximum lifetime. Sign in again.",
            ),
            RefreshError::LoginDisabled => new(
                S::FORBIDDEN,
                "LOGIN_DISABLED",
                "Sign-in is disabled for this user.",
            ),
            RefreshError::StoreUnavailable(cause) => Self::store_unavailable(cause, request_id),
            RefreshError::Internal(cause) => Self::internal(cause, request_id),
        }
    }

    /// Maps a refused logout.
    pub fn from_logout(error: LogoutError, request_id: String) -> Self {
        match error {
            LogoutError::InvalidAccessToken => Self::bad_token("INVALID_TOKEN", request_id),
            LogoutError::StoreUnavailable(cause) => Self::store_unavailable(cause, request_id),
            LogoutError::Internal(cause) => Self::internal(cause, request_id),
        }
    }

    /// Maps a refused access token: 401 `"Invalid or expired token"` with
    /// `MISSING_TOKEN`, `INVALID_TOKEN`, `TOKEN_EXPIRED` or `SESSION_REVOKED`.
    pub fn from_access(error: AccessError, request_id: String) -> Self {
        match error {
            AccessError::Missing => Self::bad_token("MISSING_TOKEN", request_id),
            AccessError::Invalid => Self::bad_token("INVALID_TOKEN", request_id),
            AccessError::LoginDisabled => {
                let mut e = Self::bad_token("LOGIN_DISABLED", request_id);
                e.body.error = "Sign-in is disabled for this user.".to_owned();
                e
            }
            AccessError::Expired => Self::bad_token("TOKEN_EXPIRED", request_id),
            AccessError::SessionRevoked => Self::bad_token("SESSION_REVOKED", request_id),
            AccessError::StoreUnavailable(cause) => Self::store_unavailable(cause, request_id),
            AccessError::Internal(cause) => Self::internal(cause, request_id),
        }
    }

    /// Maps a refused read or change of an organization's session settings.
    pub fn from_org_settings(error: OrgSettingsError, request_id: String) -> Self {
        use StatusCode as S;
        let new = |status, code, message: &str| ApiError::new(status, code, message, request_id.clone());
        match error {
            OrgSettingsError::UnknownUser => Self::bad_token("INVALID_TOKEN", request_id),
            OrgSettingsError::LoginDisabled => new(
                S::FORBIDDEN,
                "LOGIN_DISABLED",
                "Sign-in is disabled for this user.",
            ),
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
            OrgSettingsError::InvalidWorkosOrganizationId => new(
                S::BAD_REQUEST,
                "INVALID_REQUEST",
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
            OrgSettingsError::StoreUnavailable(cause) => Self::store_unavailable(cause, request_id),
            OrgSettingsError::Internal(cause) => Self::internal(cause, request_id),
        }
    }
}
