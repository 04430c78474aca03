//! An organization's session settings and WorkOS mapping (SUPERADMIN).

use serde::{Deserialize, Serialize};
use tether_domain::{SessionConfig, TenantId};

use crate::SessionConfigBody;

/// Any subset of the nine session settings; `null` reverts one to the global default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "idleTimeoutMinutes": 60, "warningTimeMinutes": 5, "ssoFallbackBehavior": "reauth-button",
    "passwordFallbackBehavior": null
})))]
#[serde(rename_all = "camelCase")]
pub struct SessionSettingsPatchBody {
    pub enabled: Option<bool>,
    /// 1 – 1440.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1440))]
    pub idle_timeout_minutes: Option<u32>,
    /// 1 – 720.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 720))]
    pub token_expiry_hours: Option<u32>,
    /// 0 – less than `idleTimeoutMinutes`.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1439))]
    pub warning_time_minutes: Option<u32>,
    pub idle_tracking_enabled: Option<bool>,
    pub sso_silent_renewal_enabled: Option<bool>,
    /// `redirect`, `reauth-button` or `force-logout`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::sso_fallback_behavior_or_null))]
    pub sso_fallback_behavior: Option<String>,
    pub password_silent_renewal_enabled: Option<bool>,
    /// `logout`, `reauth-modal` or `force-logout`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::password_fallback_behavior_or_null))]
    pub password_fallback_behavior: Option<String>,
}

/// `PUT .../workos-organization`: map to a WorkOS organization, or unmap with `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"workosOrganizationId": "org_01JD8ZQ4N5TXKX0V3C8Y5Q2M7B"})))]
#[serde(rename_all = "camelCase")]
pub struct WorkosOrganizationBody {
    /// `org_` followed by 1 to 64 letters and digits, or `null` to unmap.
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, pattern = "^org_[A-Za-z0-9]{1,64}$")
    )]
    pub workos_organization_id: Option<String>,
}

/// `{"success": true, "message"?: ..., "data": {nine fields}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "success": true, "message": "Session settings updated",
    "data": {
        "enabled": true, "idleTimeoutMinutes": 60, "tokenExpiryHours": 8, "warningTimeMinutes": 5,
        "idleTrackingEnabled": true, "ssoSilentRenewalEnabled": true, "ssoFallbackBehavior": "reauth-button",
        "passwordSilentRenewalEnabled": false, "passwordFallbackBehavior": "logout"
    }
})))]
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
#[cfg_attr(feature = "openapi", schema(example = json!({
    "success": true, "message": "WorkOS organization mapping updated",
    "data": {"organizationId": "64a1b2c3d4e5f60012345679", "workosOrganizationId": "org_01JD8ZQ4N5TXKX0V3C8Y5Q2M7B"}
})))]
pub struct MappingAnswer {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub data: MappingData,
}

impl MappingAnswer {
    /// A successful answer for the organization `organization_id` (lower-cased) and
    /// its mapping, with an optional message.
    pub fn new(organization_id: &str, mapping: Option<&TenantId>, message: Option<&str>) -> Self {
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
#[cfg_attr(feature = "openapi", schema(example = json!({
    "organizationId": "64a1b2c3d4e5f60012345679", "workosOrganizationId": null
})))]
#[serde(rename_all = "camelCase")]
pub struct MappingData {
    /// The organization's id (24 hex characters).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{24}$"))]
    pub organization_id: String,
    /// The WorkOS organization (`org_...`), `null` when unmapped.
    #[cfg_attr(feature = "openapi", schema(pattern = "^org_[A-Za-z0-9]{1,64}$"))]
    pub workos_organization_id: Option<String>,
}
