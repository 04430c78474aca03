//! Who new users are and where they go (`DEFAULT_ORGANIZATION_ID`, `DEFAULT_ROLE`,
//! `DEFAULT_CONVERSATION_OPEN_PREFERENCE`, `JOIN_OLDEST_ORGANIZATION`), and how strictly
//! a login is checked (`ACCEPT_UNISSUED_STATE`, `REQUIRE_CLIENT_CHALLENGE`).

use tether_domain::{AccessRole, OrganizationId, ProvisioningPolicy};

use super::values::non_empty;
use super::{RawSettings, SettingsError};

/// The provisioning policy and the login checks.
#[derive(Debug, Clone)]
pub struct ProvisioningSettings {
    /// Who new users are and where they go.
    pub policy: ProvisioningPolicy,
    /// Accept callback states this service did not issue (`ACCEPT_UNISSUED_STATE`,
    /// default false): for SPAs that still build WorkOS URLs themselves.
    pub accept_unissued_state: bool,
    /// Refuse a login start without a `client_challenge` (`REQUIRE_CLIENT_CHALLENGE`,
    /// default false, for SPAs not yet updated).
    pub require_client_challenge: bool,
}

impl ProvisioningSettings {
    /// Validates the provisioning settings of `raw`; a privileged default role is refused.
    pub(super) fn validate(raw: &mut RawSettings) -> Result<Self, SettingsError> {
        let default_organization_id = non_empty(raw.default_organization_id.take())
            .map(|id| {
                OrganizationId::parse(&id).map_err(|_| {
                    SettingsError::new(
                        "DEFAULT_ORGANIZATION_ID",
                        "must be a 24-character hexadecimal MongoDB ObjectId",
                    )
                })
            })
            .transpose()?;
        let default_role = AccessRole::parse(raw.default_role.trim())
            .map_err(|e| SettingsError::new("DEFAULT_ROLE", e.to_string()))?;
        if matches!(default_role, AccessRole::Admin | AccessRole::Superadmin) {
            return Err(SettingsError::new(
                "DEFAULT_ROLE",
                "may not be ADMIN or SUPERADMIN: users created at sign-in get a least-privileged role \
                 (DEPARTMENT_HEAD or SALES_REP); promote them in the product",
            ));
        }
        Ok(Self {
            policy: ProvisioningPolicy {
                default_role,
                default_conversation_open_preference: std::mem::take(
                    &mut raw.default_conversation_open_preference,
                ),
                default_organization_id,
                join_oldest_organization: raw.join_oldest_organization,
            },
            accept_unissued_state: raw.accept_unissued_state,
            require_client_challenge: raw.require_client_challenge,
        })
    }
}
