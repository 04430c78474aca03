//! The body of every error answer.

use serde::{Deserialize, Serialize};
use tether_domain::{FieldErrors, PendingOrganization};

/// The JSON body of every error.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    #[cfg_attr(feature = "openapi", schema(value_type = Option<std::collections::BTreeMap<String, String>>))]
    pub fields: Option<FieldErrors>,
    /// For `PROVIDER_ERROR`: the provider's code, only when it is a clean one
    /// (`^[a-z0-9_.-]{1,64}$`); nothing else the client sent is answered back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_error: Option<String>,
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
        }
    }
}

/// One organization offered during organization selection.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
