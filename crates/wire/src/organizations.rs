//! An organization's session settings and WorkOS mapping (SUPERADMIN).

use serde::{Deserialize, Serialize};
use tether_domain::{SessionConfig, WorkosOrganizationId};

use crate::SessionConfigBody;

/// Any subset of the nine session settings; `null` reverts one to the global default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SessionSettingsPatchBody {
    pub enabled: Option<bool>,
    /// 1 – 1440.
    pub idle_timeout_minutes: Option<u32>,
    /// 1 – 720.
    pub token_expiry_hours: Option<u32>,
    /// 0 – less than `idleTimeoutMinutes`.
    pub warning_time_minutes: Option<u32>,
    pub idle_tracking_enabled: Option<bool>,
    pub sso_silent_renewal_enabled: Option<bool>,
    /// `redirect`, `reauth-button` or `force-logout`.
    pub sso_fallback_behavior: Option<String>,
    pub password_silent_renewal_enabled: Option<bool>,
    /// `logout`, `reauth-modal` or `force-logout`.
    pub password_fallback_behavior: Option<String>,
}

/// `PUT .../workos-organization`: map to a WorkOS organization, or unmap with `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WorkosOrganizationBody {
    /// `org_` followed by 1 to 64 letters and digits, or `null` to unmap.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub workos_organization_id: Option<String>,
}

/// `{"success": true, "message"?: ..., "data": {nine fields}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettingsAnswer {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub data: SessionConfigBody,
}

impl SettingsAnswer {
    /// A successful answer with the resolved policy and an optional message.
    pub fn new(config: &SessionConfig, message: Option<&str>) -> Self {
        Self {
            success: true,
            message: message.map(str::to_owned),
            data: config.into(),
        }
    }
}

/// `{"success": true, "message"?: ..., "data": {"organizationId", "workosOrganizationId"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MappingAnswer {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub data: MappingData,
}

impl MappingAnswer {
    /// A successful answer for the organization `organization_id` (lower-cased) and
    /// its mapping, with an optional message.
    pub fn new(organization_id: &str, mapping: Option<&WorkosOrganizationId>, message: Option<&str>) -> Self {
        Self {
            success: true,
            message: message.map(str::to_owned),
            data: MappingData {
                organization_id: organization_id.to_ascii_lowercase(),
                workos_organization_id: mapping.map(|m| m.as_str().to_owned()),
            },
        }
    }
}

/// An organization and the WorkOS organization it is mapped to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MappingData {
    /// The organization's id (24 hex characters).
    pub organization_id: String,
    /// The WorkOS organization (`org_...`), `null` when unmapped.
    pub workos_organization_id: Option<String>,
}
