//! The small answers of the login start, logout, token checks and probes.

use serde::{Deserialize, Serialize};

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
