//! The body of every error answer.

use serde::{Deserialize, Serialize};
use tether_domain::{FieldErrors, PendingOrganization};

/// The JSON body of every error.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "error": "The authorization code is invalid, expired or already used. Start the login again.",
    "code": "INVALID_CODE",
    "requestId": "0d0c22ba-5819-46d2-bfcf-4a9363cd4123"
})))]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Human message.
    pub error: String,
    /// Machine code, e.g. `INVALID_CODE`; each response lists the codes it can carry.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Z][A-Z_]*$"))]
    pub code: String,
    /// The request id, also in the `x-request-id` header.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9._:-]{1,128}$"))]
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
    #[cfg_attr(feature = "openapi", schema(value_type = Option<std::collections::BTreeMap<String, String>>))]
    pub fields: Option<FieldErrors>,
    /// For `PROVIDER_ERROR`: the provider's code, only when it is a clean one
    /// (`^[a-z0-9_.-]{1,64}$`); nothing else the client sent is answered back.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9_.-]{1,64}$"))]
    pub provider_error: Option<String>,
    /// For `ACCOUNT_LINK_REQUIRED`: the link request an administrator may approve
    /// (`POST /api/identity-link-requests/{id}/approve`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{24}$"))]
    pub link_request_id: Option<String>,
}

impl ErrorBody {
    /// A body with a machine code and a message, no request id yet and no extra field.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: message.into(),
            code: code.into(),
            request_id: String::new(),
            pending_authentication_token: None,
            organizations: None,
            email: None,
            fields: None,
            provider_error: None,
            link_request_id: None,
        }
    }
}

/// One organization offered during organization selection.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"id": "org_01JD8ZQ4N5TXKX0V3C8Y5Q2M7B", "name": "Demo Co"})))]
pub struct PendingOrganizationBody {
    /// WorkOS organization id.
    pub id: String,
    /// Display name.
    pub name: String,
}

impl From<PendingOrganization> for PendingOrganizationBody {
    fn from(organization: PendingOrganization) -> Self {
        Self {
            id: organization.id,
            name: organization.name,
        }
    }
}
