//! The login callback, refresh and logout bodies, and the auth session they answer.

use serde::{Deserialize, Serialize};
use tether_domain::secrecy::{ExposeSecret, SecretString};
use tether_domain::{AuthSession, CallbackInput, ClientContext, SessionConfig, StepAnswer, StepInput, User};

/// `POST /api/auth/workos/callback` body: every field an optional string.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "code": "01JD8ZQ4N5TXKX0V3C8Y5Q2M7B",
    "state": "q3ZkVb1cX8yW2nR5tL0pA7eJ",
    "redirect_uri": "https://app.tether.example/signin"
})))]
#[serde(rename_all = "camelCase")]
pub struct CallbackBody {
    /// The one-time code.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 4096))]
    pub code: Option<SecretString>,
    /// The state of the login, as issued by (or given to) `GET /api/auth/workos/authorize`:
    /// 22–512 characters of `A-Z a-z 0-9 - _ . ~`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9._~-]{22,512}$"))]
    pub state: Option<String>,
    /// The provider's error code.
    pub error: Option<String>,
    /// The provider's error description.
    #[serde(rename = "error_description")]
    pub error_description: Option<String>,
    /// The redirect URI of the login.
    #[serde(rename = "redirect_uri")]
    #[cfg_attr(feature = "openapi", schema(max_length = 2048))]
    pub redirect_uri: Option<String>,
    /// The organization a new user asks to join (24 hexadecimal characters).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-fA-F]{24}$"))]
    pub organization_id: Option<String>,
    /// The browser binding's verifier (43-128 characters of `A-Z a-z 0-9 - . _ ~`)
    /// whose S256 challenge started the login as `client_challenge`.
    #[serde(rename = "client_verifier")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, min_length = 43, max_length = 128, pattern = "^[A-Za-z0-9._~-]{43,128}$"))]
    pub client_verifier: Option<SecretString>,
}

impl From<CallbackBody> for CallbackInput {
    fn from(body: CallbackBody) -> Self {
        CallbackInput {
            code: body.code,
            state: body.state,
            error: body.error,
            error_description: body.error_description,
            redirect_uri: body.redirect_uri,
            organization_id: body.organization_id,
            client_verifier: body.client_verifier,
            // Where the post came from is the edge's to fill in.
            client: ClientContext::default(),
            request_id: None,
        }
    }
}

/// A step's input: the pending token and the person's answer, from no known client yet
/// (the route adds the client and the request id).
fn step_input(pending_authentication_token: Option<SecretString>, answer: StepAnswer) -> StepInput {
    StepInput {
        pending_authentication_token,
        answer,
        client: ClientContext::default(),
        request_id: None,
    }
}

/// `POST /api/auth/workos/authkit/organization-selection` body: the step's pending token
/// and the WorkOS organization the person picked from the ones the `403
/// ORGANIZATION_SELECTION_REQUIRED` listed.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "pendingAuthenticationToken": "pat_01JD8ZQ4N5TXKX0V3C8Y5Q2M7B",
    "organizationId": "org_01JD8ZQ4N5TXKX0V3C8Y5Q2M7B"
})))]
#[serde(rename_all = "camelCase")]
pub struct OrganizationSelectionBody {
    /// The `pendingAuthenticationToken` of the callback's 403.
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 1, max_length = 2048))]
    pub pending_authentication_token: Option<SecretString>,
    /// The WorkOS organization picked (`org_...`).
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^org_[A-Za-z0-9]{1,64}$"))]
    pub organization_id: Option<String>,
}

impl From<OrganizationSelectionBody> for StepInput {
    fn from(body: OrganizationSelectionBody) -> Self {
        step_input(
            body.pending_authentication_token,
            StepAnswer::Organization(body.organization_id),
        )
    }
}

/// `POST /api/auth/workos/authkit/email-verification` body: the step's pending token and
/// the code WorkOS e-mailed the person after a `403 EMAIL_VERIFICATION_REQUIRED`.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "pendingAuthenticationToken": "pat_01JD8ZQ4N5TXKX0V3C8Y5Q2M7B",
    "code": "123456"
})))]
#[serde(rename_all = "camelCase")]
pub struct EmailVerificationBody {
    /// The `pendingAuthenticationToken` of the callback's 403.
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 1, max_length = 2048))]
    pub pending_authentication_token: Option<SecretString>,
    /// The one-time code from the e-mail.
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[A-Za-z0-9]{1,64}$"))]
    pub code: Option<SecretString>,
}

impl From<EmailVerificationBody> for StepInput {
    fn from(body: EmailVerificationBody) -> Self {
        step_input(
            body.pending_authentication_token,
            StepAnswer::EmailCode(body.code),
        )
    }
}

/// `{"refreshToken": "rt_..."}`: the body of refresh and logout. Other fields are ignored.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "refreshToken": "rt_3q2-7wEVhVXbQ4x0Zq5uT8l1yJ9kPmN6oR2sA4dC7fG"
})))]
#[serde(rename_all = "camelCase")]
pub struct RefreshTokenBody {
    /// `rt_` and 43 URL-safe base64 characters.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = "^rt_[A-Za-z0-9_-]{43}$"))]
    pub refresh_token: Option<SecretString>,
}

impl RefreshTokenBody {
    /// The token, unless missing or blank.
    pub fn token(self) -> Option<SecretString> {
        self.refresh_token
            .filter(|t| !t.expose_secret().trim().is_empty())
    }
}

/// The nine session settings on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "enabled": true, "idleTimeoutMinutes": 30, "tokenExpiryHours": 8, "warningTimeMinutes": 2,
    "idleTrackingEnabled": true, "ssoSilentRenewalEnabled": true, "ssoFallbackBehavior": "redirect",
    "passwordSilentRenewalEnabled": false, "passwordFallbackBehavior": "logout"
})))]
#[serde(rename_all = "camelCase")]
pub struct SessionConfigBody {
    /// `enabled`
    pub enabled: bool,
    /// `idleTimeoutMinutes`: 1–1440.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1440))]
    pub idle_timeout_minutes: u32,
    /// `tokenExpiryHours`: 1–720.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 720))]
    pub token_expiry_hours: u32,
    /// `warningTimeMinutes`: 0 to less than `idleTimeoutMinutes`.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1439))]
    pub warning_time_minutes: u32,
    /// `idleTrackingEnabled`
    pub idle_tracking_enabled: bool,
    /// `ssoSilentRenewalEnabled`
    pub sso_silent_renewal_enabled: bool,
    /// `ssoFallbackBehavior`
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::sso_fallback_behavior))]
    pub sso_fallback_behavior: String,
    /// `passwordSilentRenewalEnabled`
    pub password_silent_renewal_enabled: bool,
    /// `passwordFallbackBehavior`
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::password_fallback_behavior))]
    pub password_fallback_behavior: String,
}

impl From<&SessionConfig> for SessionConfigBody {
    fn from(config: &SessionConfig) -> Self {
        let f = config.fields();
        Self {
            enabled: f.enabled,
            idle_timeout_minutes: f.idle_timeout_minutes,
            token_expiry_hours: f.token_expiry_hours,
            warning_time_minutes: f.warning_time_minutes,
            idle_tracking_enabled: f.idle_tracking_enabled,
            sso_silent_renewal_enabled: f.sso_silent_renewal_enabled,
            sso_fallback_behavior: f.sso_fallback_behavior.as_str().to_owned(),
            password_silent_renewal_enabled: f.password_silent_renewal_enabled,
            password_fallback_behavior: f.password_fallback_behavior.as_str().to_owned(),
        }
    }
}

/// The compact user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "id": "64a1b2c3d4e5f60012345678", "email": "ada@demo.example", "fullName": "Ada Lovelace",
    "organizationId": "64a1b2c3d4e5f60012345679", "accessRole": "SUPERADMIN",
    "conversationOpenPreference": "split"
})))]
#[serde(rename_all = "camelCase")]
pub struct UserBody {
    /// Local id (24 hex).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{24}$"))]
    pub id: String,
    /// E-mail address.
    #[cfg_attr(feature = "openapi", schema(format = Email))]
    pub email: String,
    /// Display name.
    pub full_name: String,
    /// Local organization id (24 hex).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{24}$"))]
    pub organization_id: String,
    /// Role.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::access_role))]
    pub access_role: String,
    /// UI preference.
    pub conversation_open_preference: String,
}

impl From<&User> for UserBody {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email.as_str().to_owned(),
            full_name: user.full_name.clone(),
            organization_id: user.organization_id.to_string(),
            access_role: user.access_role.as_str().to_owned(),
            conversation_open_preference: user.conversation_open_preference.clone(),
        }
    }
}

/// The "auth session" answer shared by every way of signing in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VySWQiOiI2NGExYjJjM2Q0ZTVmNjAwMTIzNDU2NzgifQ.c2lnbmF0dXJl",
    "refreshToken": "rt_3q2-7wEVhVXbQ4x0Zq5uT8l1yJ9kPmN6oR2sA4dC7fG",
    "sessionConfig": {
        "enabled": true, "idleTimeoutMinutes": 30, "tokenExpiryHours": 8, "warningTimeMinutes": 2,
        "idleTrackingEnabled": true, "ssoSilentRenewalEnabled": true, "ssoFallbackBehavior": "redirect",
        "passwordSilentRenewalEnabled": false, "passwordFallbackBehavior": "logout"
    },
    "user": {
        "id": "64a1b2c3d4e5f60012345678", "email": "ada@demo.example", "fullName": "Ada Lovelace",
        "organizationId": "64a1b2c3d4e5f60012345679", "accessRole": "SUPERADMIN",
        "conversationOpenPreference": "split"
    }
})))]
#[serde(rename_all = "camelCase")]
pub struct AuthSessionBody {
    /// The access token (JWT).
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$")
    )]
    pub token: String,
    /// The refresh token.
    #[cfg_attr(feature = "openapi", schema(pattern = "^rt_[A-Za-z0-9_-]{43}$"))]
    pub refresh_token: String,
    /// The resolved session policy.
    pub session_config: SessionConfigBody,
    /// The compact user.
    pub user: UserBody,
}

impl From<&AuthSession> for AuthSessionBody {
    fn from(session: &AuthSession) -> Self {
        Self {
            token: session.access_token.expose_secret().to_owned(),
            refresh_token: session.refresh_token.expose_secret().to_owned(),
            session_config: (&session.session_config).into(),
            user: (&session.user).into(),
        }
    }
}
