//! The login callback, refresh and logout bodies, and the auth session they answer.

use serde::{Deserialize, Serialize};
use tether_domain::secrecy::{ExposeSecret, SecretString};
use tether_domain::{AuthSession, CallbackInput, SessionConfig, User};

/// `POST /api/auth/workos/callback` body: every field an optional string.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CallbackBody {
    /// The one-time code.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub code: Option<SecretString>,
    /// The CSRF state.
    pub state: Option<String>,
    /// The provider's error code.
    pub error: Option<String>,
    /// The provider's error description.
    #[serde(rename = "error_description")]
    pub error_description: Option<String>,
    /// The redirect URI of the login.
    #[serde(rename = "redirect_uri")]
    pub redirect_uri: Option<String>,
    /// The organization a new user asks to join.
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
        }
    }
}

/// `{"refreshToken": "rt_..."}`: the body of refresh and logout. Other fields are ignored.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RefreshTokenBody {
    /// `rt_...`
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
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
#[serde(rename_all = "camelCase")]
pub struct SessionConfigBody {
    /// `enabled`
    pub enabled: bool,
    /// `idleTimeoutMinutes`
    pub idle_timeout_minutes: u32,
    /// `tokenExpiryHours`
    pub token_expiry_hours: u32,
    /// `warningTimeMinutes`
    pub warning_time_minutes: u32,
    /// `idleTrackingEnabled`
    pub idle_tracking_enabled: bool,
    /// `ssoSilentRenewalEnabled`
    pub sso_silent_renewal_enabled: bool,
    /// `ssoFallbackBehavior`
    pub sso_fallback_behavior: String,
    /// `passwordSilentRenewalEnabled`
    pub password_silent_renewal_enabled: bool,
    /// `passwordFallbackBehavior`
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
#[serde(rename_all = "camelCase")]
pub struct UserBody {
    /// Local id (24 hex).
    pub id: String,
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub full_name: String,
    /// Local organization id (24 hex).
    pub organization_id: String,
    /// Role.
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
#[serde(rename_all = "camelCase")]
pub struct AuthSessionBody {
    /// The access token (JWT).
    pub token: String,
    /// The refresh token.
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
