//! The seed of the in-memory store (`MEMORY_SEED`): organizations and users created at
//! start-up with `STORE=memory`, so a demo can have e.g. a `SUPERADMIN` who may try the
//! session-settings routes. Users are matched at login by e-mail address, like any
//! existing user (so only when WorkOS vouches for the address, see "Who may become whom"
//! in docs/API.md: AuthKit
//! verified it, or the SSO login comes through the WorkOS organization the seeded
//! organization is mapped to with `workosOrganizationId`): they keep the seeded
//! organization and role.
//!
//! ```json
//! {"organizations": [{"name": "Demo Co", "users": [
//!   {"email": "ada@demo.example", "fullName": "Ada Lovelace", "accessRole": "SUPERADMIN"}]}]}
//! ```

use std::path::Path;

use serde::Deserialize;
use tether_domain::{AccessRole, Email, StoredSessionSettings, TenantId, Timestamp, User, UserId};
use tether_memory::InMemoryStore;

use crate::settings_error::SettingsError;

/// A validated seed.
#[derive(Debug, Clone)]
pub struct MemorySeed {
    organizations: Vec<SeedOrganization>,
}

#[derive(Debug, Clone)]
struct SeedOrganization {
    name: String,
    workos_organization_id: Option<TenantId>,
    users: Vec<(Email, String, AccessRole)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeed {
    organizations: Vec<RawOrganization>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawOrganization {
    name: String,
    #[serde(default)]
    workos_organization_id: Option<String>,
    #[serde(default)]
    users: Vec<RawUser>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawUser {
    email: String,
    #[serde(default)]
    full_name: String,
    access_role: String,
}

impl MemorySeed {
    /// Reads and validates the seed file; errors name `MEMORY_SEED`.
    pub fn read(path: &Path) -> Result<Self, SettingsError> {
        let bad = |message: String| SettingsError {
            key: "MEMORY_SEED".into(),
            message,
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
        let raw: RawSeed =
            serde_json::from_str(&text).map_err(|e| bad(format!("{}: {e}", path.display())))?;
        if raw.organizations.is_empty() {
            return Err(bad(format!("{} names no organization", path.display())));
        }
        let organizations = raw
            .organizations
            .into_iter()
            .map(|org| {
                let users = org
                    .users
                    .into_iter()
                    .map(|u| {
                        let email =
                            Email::parse(&u.email).map_err(|e| bad(format!("user {:?}: {e}", u.email)))?;
                        let role = AccessRole::parse(&u.access_role)
                            .map_err(|e| bad(format!("user {:?}: {e}", u.email)))?;
                        Ok((email, u.full_name, role))
                    })
                    .collect::<Result<Vec<_>, SettingsError>>()?;
                let workos_organization_id = org
                    .workos_organization_id
                    .map(|raw| {
                        tether_workos::organization_id(&raw)
                            .map_err(|e| bad(format!("organization {:?}: {e}", org.name)))
                    })
                    .transpose()?;
                Ok(SeedOrganization {
                    name: org.name,
                    workos_organization_id,
                    users,
                })
            })
            .collect::<Result<Vec<_>, SettingsError>>()?;
        Ok(Self { organizations })
    }

    /// Creates the organizations (the first is the oldest) and their users.
    pub fn apply(&self, store: &InMemoryStore, now: Timestamp) {
        let mut next_user: u64 = 0;
        for org in &self.organizations {
            let id = store.add_mapped_organization(
                &org.name,
                now,
                StoredSessionSettings::none(),
                org.workos_organization_id.clone(),
            );
            for (email, full_name, role) in &org.users {
                next_user += 1;
                // Seeded user ids: "5eed" then a counter, distinct from the store's ids.
                let mut bytes = [0u8; 12];
                bytes[..2].copy_from_slice(&[0x5e, 0xed]);
                bytes[4..].copy_from_slice(&next_user.to_be_bytes());
                store.put_user(User {
                    id: UserId::from_bytes(bytes),
                    email: email.clone(),
                    full_name: full_name.clone(),
                    organization_id: id,
                    access_role: *role,
                    conversation_open_preference: "split".into(),
                    login_disabled: false,
                    links: Vec::new(),
                    email_verified: None,
                });
            }
            tracing::warn!(organization_id = %id, name = %org.name, users = org.users.len(), "seeded an in-memory organization");
        }
    }
}
