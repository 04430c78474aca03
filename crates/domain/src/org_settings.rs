//! Per-organization session settings, read and changed by a SUPERADMIN
//! ([`OrganizationSettings`]), and the rules of a change ([`SettingsPatch`]): any
//! subset of the nine fields, `null` reverting a field to the global default, every
//! value within the bounds of the session policy, and `warningTimeMinutes` below
//! `idleTimeoutMinutes` once the change is overlaid on the global defaults. The same
//! SUPERADMIN maps an organization to a tenant of the identity provider.

use std::collections::{BTreeMap, BTreeSet};

use thiserror::Error;

use crate::audit::{AuditActor, AuditEvent, AuditOrigin, AuditType};
use crate::failure::{Failure, failure_from_ports};
use crate::model::Organization;
use crate::model::VerifiedAccess;
use crate::policy::{SessionConfig, SessionField, SettingValue, StoredSessionSettings, apply};
use crate::ports::RepositoryError;
use crate::values::{AccessRole, OrganizationId, TenantId};
use crate::wiring::Ports;

/// A requested change of an organization's session settings: field names as the
/// client sent them, each with a value or `None` (JSON `null`: back to the default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SettingsPatch(Vec<(String, Option<SettingValue>)>);

/// Every refused field of a [`SettingsPatch`], by wire name, with the reason.
pub type FieldErrors = BTreeMap<String, String>;

impl SettingsPatch {
    /// A patch of these fields (later duplicates win).
    pub fn new(entries: impl IntoIterator<Item = (String, Option<SettingValue>)>) -> Self {
        Self(entries.into_iter().collect())
    }

    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Applies the patch to an organization's `stored` settings over `defaults`.
    ///
    /// Returns the settings to store and the policy they resolve to, or every refused
    /// field: unknown names, values of the wrong type or out of bounds, and a
    /// `warningTimeMinutes` not below `idleTimeoutMinutes` after the overlay (blamed on
    /// the warning time when the patch sets it, else on the idle time-out it changes).
    /// Stored values that were already invalid (and so ignored by every login) are
    /// dropped from the result.
    ///
    /// ```
    /// # use tether_domain::{SessionConfig, SettingValue, SettingsPatch, StoredSessionSettings};
    /// let patch = SettingsPatch::new([
    ///     ("idleTimeoutMinutes".to_owned(), Some(SettingValue::Number(15.0))),
    ///     ("warningTimeMinutes".to_owned(), Some(SettingValue::Number(20.0))),
    /// ]);
    /// let errors = patch.apply_to(&StoredSessionSettings::none(), &SessionConfig::default()).unwrap_err();
    /// assert_eq!(errors["warningTimeMinutes"], "must be less than idleTimeoutMinutes (15)");
    /// ```
    pub fn apply_to(
        &self,
        stored: &StoredSessionSettings,
        defaults: &SessionConfig,
    ) -> Result<(StoredSessionSettings, SessionConfig), FieldErrors> {
        let mut next = stored.clone();
        let (_, ignored) = defaults.overlay(stored);
        for warning in ignored {
            next.set(warning.field, None);
        }
        let mut errors = FieldErrors::new();
        let mut set_with_value = BTreeSet::new();
        let mut touched = BTreeSet::new();
        for (name, value) in &self.0 {
            let Some(field) = SessionField::from_name(name) else {
                errors.insert(name.clone(), "is not a session setting".to_owned());
                continue;
            };
            touched.insert(field);
            match value {
                None => {
                    set_with_value.remove(&field);
                    errors.remove(name);
                    next.set(field, None);
                }
                Some(value) => {
                    let mut scratch = *defaults.fields();
                    match apply(&mut scratch, field, value) {
                        Ok(()) => {
                            set_with_value.insert(field);
                            errors.remove(name);
                            next.set(field, Some(value.clone()));
                        }
                        Err(e) => {
                            errors.insert(name.clone(), e.reason);
                        }
                    }
                }
            }
        }
        let mut fields = *defaults.fields();
        for (field, value) in next.iter() {
            // Every value left is valid on its own: checked above or kept by the overlay.
            let _ = apply(&mut fields, field, value);
        }
        let minutes_refused = [SessionField::IdleTimeoutMinutes, SessionField::WarningTimeMinutes]
            .iter()
            .any(|f| errors.contains_key(f.name()));
        if !minutes_refused && fields.warning_time_minutes >= fields.idle_timeout_minutes {
            let blame_idle = !set_with_value.contains(&SessionField::WarningTimeMinutes)
                && touched.contains(&SessionField::IdleTimeoutMinutes);
            if blame_idle {
                errors.insert(
                    SessionField::IdleTimeoutMinutes.name().to_owned(),
                    format!(
                        "must be greater than warningTimeMinutes ({})",
                        fields.warning_time_minutes
                    ),
                );
            } else {
                errors.insert(
                    SessionField::WarningTimeMinutes.name().to_owned(),
                    format!(
                        "must be less than idleTimeoutMinutes ({})",
                        fields.idle_timeout_minutes
                    ),
                );
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        match SessionConfig::new(fields) {
            Ok(config) => Ok((next, config)),
            Err(refused) => Err(refused
                .into_iter()
                .map(|e| (e.field.name().to_owned(), e.reason))
                .collect()),
        }
    }
}

/// Why reading or changing an organization's session settings failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum OrgSettingsError {
    /// The token's user no longer exists.
    #[error("the user of the access token no longer exists")]
    UnknownUser,
    /// The token's user may no longer sign in.
    #[error("sign-in is disabled for this user")]
    LoginDisabled,
    /// The user is not a SUPERADMIN.
    #[error("only a SUPERADMIN may manage session settings")]
    Forbidden,
    /// The organization id is not 24 hexadecimal characters.
    #[error("the organization id is malformed")]
    InvalidOrganizationId,
    /// No organization has this id.
    #[error("no such organization")]
    OrganizationNotFound,
    /// Some fields of the change are refused; nothing was saved.
    #[error("invalid session settings: {0:?}")]
    InvalidSettings(FieldErrors),
    /// The value is not a tenant id of the identity provider; nothing was saved.
    #[error("the tenant id is malformed")]
    InvalidTenant,
    /// Another organization is already mapped to this tenant; nothing was saved.
    #[error("another organization is already mapped to this tenant")]
    Conflict,
    /// The store is unavailable, or something unexpected happened.
    #[error(transparent)]
    Failure(#[from] Failure),
}

failure_from_ports!(OrgSettingsError);

/// Reads and changes organizations' session settings on behalf of a SUPERADMIN. Every
/// change is recorded (`organization.session_settings_changed` with the names of the
/// changed fields, `organization.mapping_changed`) in the audit sink of the ports.
#[derive(Clone, Debug)]
pub struct OrganizationSettings {
    ports: Ports,
    defaults: SessionConfig,
}

impl OrganizationSettings {
    /// Builds the use case over the global session defaults; the identity provider of
    /// `ports` says which values are its tenants.
    pub fn new(ports: Ports, defaults: SessionConfig) -> Self {
        Self { ports, defaults }
    }

    /// A record of a change `caller` made to organization `id`.
    fn record(
        &self,
        kind: AuditType,
        caller: &VerifiedAccess,
        id: OrganizationId,
        origin: AuditOrigin,
    ) -> AuditEvent {
        AuditEvent::new(kind, AuditActor::User(caller.user_id), self.ports.clock.now())
            .organization(id)
            .origin(origin)
    }

    /// The session policy organization `organization_id` resolves to (its stored
    /// settings over the global defaults).
    ///
    /// The caller's current role is read from the store (a role in an older token does
    /// not count): only a SUPERADMIN is answered.
    pub async fn get(
        &self,
        caller: &VerifiedAccess,
        organization_id: &str,
    ) -> Result<SessionConfig, OrgSettingsError> {
        self.require_superadmin(caller).await?;
        let (_, organization) = self.organization(organization_id).await?;
        Ok(self.defaults.overlay(&organization.session_settings).0)
    }

    /// Applies `patch` (see [`SettingsPatch::apply_to`]) to organization
    /// `organization_id` and returns the policy it now resolves to. Nothing is saved
    /// when a field is refused. Only a SUPERADMIN may do it. A change is recorded in
    /// the audit trail as coming from `origin`, with the names of the stored fields it
    /// changed.
    pub async fn update(
        &self,
        caller: &VerifiedAccess,
        organization_id: &str,
        patch: SettingsPatch,
        origin: AuditOrigin,
    ) -> Result<SessionConfig, OrgSettingsError> {
        self.require_superadmin(caller).await?;
        let (id, organization) = self.organization(organization_id).await?;
        let (settings, config) = patch
            .apply_to(&organization.session_settings, &self.defaults)
            .map_err(OrgSettingsError::InvalidSettings)?;
        let changed: Vec<&str> = SessionField::ALL
            .iter()
            .filter(|field| organization.session_settings.get(**field) != settings.get(**field))
            .map(|field| field.name())
            .collect();
        self.ports
            .organizations
            .update_session_settings(id, settings, self.ports.clock.now())
            .await?
            .ok_or(OrgSettingsError::OrganizationNotFound)?;
        tracing::info!(
            organization_id = %id,
            user_id = %caller.user_id,
            fields = ?patch.0.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(),
            "organization session settings updated"
        );
        self.ports.audit.record(
            self.record(AuditType::SessionSettingsChanged, caller, id, origin)
                .detail("fields", changed.join(",")),
        );
        Ok(config)
    }

    /// The tenant that organization `organization_id` is mapped to, if any. Only a
    /// SUPERADMIN is answered.
    pub async fn tenant(
        &self,
        caller: &VerifiedAccess,
        organization_id: &str,
    ) -> Result<Option<TenantId>, OrgSettingsError> {
        self.require_superadmin(caller).await?;
        let (_, organization) = self.organization(organization_id).await?;
        Ok(organization.tenant)
    }

    /// Maps organization `organization_id` to the tenant `value` (as the identity
    /// provider writes its tenant ids), or unmaps it with `None`, and returns the
    /// mapping now stored.
    /// Only a SUPERADMIN may do it; a malformed value, or one another organization
    /// already carries, saves nothing. A change is recorded in the audit trail as
    /// coming from `origin`, with the tenant before and after.
    pub async fn set_tenant(
        &self,
        caller: &VerifiedAccess,
        organization_id: &str,
        value: Option<&str>,
        origin: AuditOrigin,
    ) -> Result<Option<TenantId>, OrgSettingsError> {
        self.require_superadmin(caller).await?;
        let (id, before) = self.organization(organization_id).await?;
        let mapping = value
            .map(|raw| self.ports.identity_provider.parse_tenant(raw))
            .transpose()
            .map_err(|_| OrgSettingsError::InvalidTenant)?;
        let updated = match self
            .ports
            .organizations
            .set_tenant(id, mapping, self.ports.clock.now())
            .await
        {
            Err(RepositoryError::Duplicate) => return Err(OrgSettingsError::Conflict),
            other => other?.ok_or(OrgSettingsError::OrganizationNotFound)?,
        };
        tracing::info!(
            organization_id = %id,
            user_id = %caller.user_id,
            tenant = ?updated.tenant.as_ref().map(TenantId::as_str),
            "organization mapping to a tenant changed"
        );
        if before.tenant != updated.tenant {
            let name = |tenant: &Option<TenantId>| {
                tenant.as_ref().map(|t| t.as_str().to_owned()).unwrap_or_default()
            };
            self.ports.audit.record(
                self.record(AuditType::MappingChanged, caller, id, origin)
                    .detail("from", name(&before.tenant))
                    .detail("to", name(&updated.tenant)),
            );
        }
        Ok(updated.tenant)
    }

    /// The organization named by `organization_id` (24 hexadecimal characters, as the
    /// client sent it), with its parsed id.
    async fn organization(
        &self,
        organization_id: &str,
    ) -> Result<(OrganizationId, Organization), OrgSettingsError> {
        let id =
            OrganizationId::parse(organization_id).map_err(|_| OrgSettingsError::InvalidOrganizationId)?;
        let organization = self
            .ports
            .organizations
            .find_organization(id)
            .await?
            .ok_or(OrgSettingsError::OrganizationNotFound)?;
        Ok((id, organization))
    }

    async fn require_superadmin(&self, caller: &VerifiedAccess) -> Result<(), OrgSettingsError> {
        let user = self
            .ports
            .users
            .find_user(caller.user_id)
            .await?
            .ok_or(OrgSettingsError::UnknownUser)?;
        if user.login_disabled {
            return Err(OrgSettingsError::LoginDisabled);
        }
        if user.access_role != AccessRole::Superadmin {
            return Err(OrgSettingsError::Forbidden);
        }
        Ok(())
    }
}
