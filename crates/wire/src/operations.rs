//! The small answers of the login start, logout, token checks and probes.

use serde::{Deserialize, Serialize};

/// `{"status": "ok"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthBody {
    /// Always `ok`.
    #[cfg_attr(feature = "openapi", schema(example = "ok"))]
    pub status: String,
}

/// `{"status": "ready"}`, or `{"status": "unavailable", "reason": ...}` with 503.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadyBody {
    /// `ready` or `unavailable`.
    pub status: String,
    /// Why the service is not ready (503 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `{"url": ...}`: the WorkOS authorization URL for SPAs that navigate themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizeUrlBody {
    /// Where to send the browser.
    pub url: String,
}

/// `{"success": true, "message": "Logged out"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogoutBody {
    /// Always true.
    pub success: bool,
    /// `Logged out`.
    pub message: String,
}

/// `{"message": "Token is good"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenGoodBody {
    /// `Token is good`.
    pub message: String,
}
