//! The query of the login start, and the small answers of the login start, logout,
//! token checks and probes.

use serde::{Deserialize, Serialize};
use tether_domain::AuthorizeInput;

/// `GET /api/auth/workos/authorize`: the query parameters, as the product documents
/// them plus ours. Unknown parameters are ignored; the domain judges every value.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AuthorizeQuery {
    /// Where WorkOS sends the browser back: `${CLIENT_URL}/signin` or one of `ALLOWED_REDIRECT_URIS`.
    #[cfg_attr(feature = "openapi", param(max_length = 2048))]
    pub redirect_uri: Option<String>,
    /// The SPA's own random state (keep it in `sessionStorage`); generated when absent.
    #[cfg_attr(feature = "openapi", param(pattern = "^[A-Za-z0-9._~-]{22,512}$"))]
    pub state: Option<String>,
    /// Pre-fills the address.
    #[cfg_attr(feature = "openapi", param(max_length = 320))]
    pub login_hint: Option<String>,
    /// A WorkOS `org_...` id (forwarded), or the 24-hex id of the organization a new user joins.
    #[cfg_attr(feature = "openapi", param(max_length = 128))]
    pub organization_id: Option<String>,
    /// Passed through to WorkOS.
    #[cfg_attr(feature = "openapi", param(max_length = 64))]
    pub prompt: Option<String>,
    /// A WorkOS connection id (`conn_...`).
    #[cfg_attr(feature = "openapi", param(max_length = 128))]
    pub connection: Option<String>,
    /// A WorkOS provider (`authkit`, `GoogleOAuth`, ...).
    #[cfg_attr(feature = "openapi", param(max_length = 64))]
    pub provider: Option<String>,
    /// A domain whose SSO connection to use.
    #[cfg_attr(feature = "openapi", param(max_length = 253))]
    pub domain_hint: Option<String>,
    /// `sso` or `authkit` (default: `sso` when an organization, connection or domain hint is given).
    #[cfg_attr(feature = "openapi", param(schema_with = crate::schema::flow))]
    pub flow: Option<String>,
    /// The browser binding: base64url (unpadded) SHA-256 of a `client_verifier` the SPA keeps
    /// in `sessionStorage` and posts with the callback. Required when `REQUIRE_CLIENT_CHALLENGE=true`.
    #[cfg_attr(
        feature = "openapi",
        param(min_length = 43, max_length = 43, pattern = "^[A-Za-z0-9_-]{43}$")
    )]
    pub client_challenge: Option<String>,
}

impl std::fmt::Debug for AuthorizeQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The domain's input redacts the state, a CSRF secret until it is used.
        AuthorizeInput::from(self.clone()).fmt(f)
    }
}

impl From<AuthorizeQuery> for AuthorizeInput {
    fn from(query: AuthorizeQuery) -> Self {
        Self {
            redirect_uri: query.redirect_uri,
            state: query.state,
            login_hint: query.login_hint,
            organization_id: query.organization_id,
            prompt: query.prompt,
            connection: query.connection,
            provider: query.provider,
            domain_hint: query.domain_hint,
            flow: query.flow,
            client_challenge: query.client_challenge,
        }
    }
}

/// `{"status": "ok"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"status": "ok"})))]
pub struct HealthBody {
    /// Always `ok`.
    #[cfg_attr(feature = "openapi", schema(example = "ok", pattern = "^ok$"))]
    pub status: String,
}

/// `{"status": "ready"}`, or `{"status": "unavailable", "reason": ...}` with 503.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"status": "ready"})))]
pub struct ReadyBody {
    /// `ready` or `unavailable`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^(ready|unavailable)$"))]
    pub status: String,
    /// Why the service is not ready (503 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `{"url": ...}`: the WorkOS authorization URL for SPAs that navigate themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "url": "https://api.workos.com/sso/authorize?client_id=client_01JD8Z&response_type=code&redirect_uri=https%3A%2F%2Fapp.tether.example%2Fsignin&state=q3ZkVb1cX8yW2nR5tL0pA7eJ&domain_hint=demo.example"
})))]
pub struct AuthorizeUrlBody {
    /// Where to send the browser.
    pub url: String,
}

/// `{"success": true, "message": "Logged out"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"success": true, "message": "Logged out"})))]
pub struct LogoutBody {
    /// Always true.
    pub success: bool,
    /// `Logged out`.
    pub message: String,
}

/// `{"message": "Token is good"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"message": "Token is good"})))]
pub struct TokenGoodBody {
    /// `Token is good`.
    pub message: String,
}

/// `GET /.well-known/jwks.json`: the public keys that verify access tokens (RFC 7517).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JwksBody {
    /// Every EdDSA and ES256 key of any status; HS256 keys are never published.
    pub keys: Vec<JwkBody>,
}

/// One public key: `OKP`/`Ed25519` (EdDSA) or `EC`/`P-256` (ES256).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JwkBody {
    /// `OKP` or `EC`.
    #[cfg_attr(feature = "openapi", schema(example = "OKP"))]
    pub kty: String,
    /// `Ed25519` or `P-256`.
    #[cfg_attr(feature = "openapi", schema(example = "Ed25519"))]
    pub crv: String,
    /// The public key (Ed25519) or its x coordinate (P-256), base64url.
    pub x: String,
    /// The y coordinate (P-256 only), base64url.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub y: Option<String>,
    /// The `kid` of the tokens it verifies.
    pub kid: String,
    /// `EdDSA` or `ES256`.
    #[cfg_attr(feature = "openapi", schema(example = "EdDSA"))]
    pub alg: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    #[cfg_attr(feature = "openapi", schema(example = "sig"))]
    pub use_: String,
}
