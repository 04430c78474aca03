//! The global session defaults (`SESSION__IDLE_TIMEOUT_MINUTES`, ...; `[session]` in
//! the file), which an organization's own settings override.

use serde::{Deserialize, Serialize};
use tether_domain::{PasswordFallbackBehavior, SessionConfig, SessionFields, SsoFallbackBehavior};

use super::SettingsError;

/// Session defaults as written in the file or environment (`SESSION__IDLE_TIMEOUT_MINUTES`, ...).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct RawSessionDefaults {
    enabled: bool,
    idle_timeout_minutes: u32,
    token_expiry_hours: u32,
    warning_time_minutes: u32,
    idle_tracking_enabled: bool,
    sso_silent_renewal_enabled: bool,
    sso_fallback_behavior: String,
    password_silent_renewal_enabled: bool,
    password_fallback_behavior: String,
}

impl Default for RawSessionDefaults {
    fn default() -> Self {
        let d = SessionFields::default();
        Self {
            enabled: d.enabled,
            idle_timeout_minutes: d.idle_timeout_minutes,
            token_expiry_hours: d.token_expiry_hours,
            warning_time_minutes: d.warning_time_minutes,
            idle_tracking_enabled: d.idle_tracking_enabled,
            sso_silent_renewal_enabled: d.sso_silent_renewal_enabled,
            sso_fallback_behavior: d.sso_fallback_behavior.as_str().to_owned(),
            password_silent_renewal_enabled: d.password_silent_renewal_enabled,
            password_fallback_behavior: d.password_fallback_behavior.as_str().to_owned(),
        }
    }
}

impl RawSessionDefaults {
    /// The session defaults, validated as the domain validates an organization's; a
    /// refusal names the first field by its environment name.
    pub(super) fn validate(&self) -> Result<SessionConfig, SettingsError> {
        SessionConfig::new(SessionFields {
            enabled: self.enabled,
            idle_timeout_minutes: self.idle_timeout_minutes,
            token_expiry_hours: self.token_expiry_hours,
            warning_time_minutes: self.warning_time_minutes,
            idle_tracking_enabled: self.idle_tracking_enabled,
            sso_silent_renewal_enabled: self.sso_silent_renewal_enabled,
            sso_fallback_behavior: SsoFallbackBehavior::parse(&self.sso_fallback_behavior).ok_or_else(
                || {
                    SettingsError::new(
                        "SESSION__SSO_FALLBACK_BEHAVIOR",
                        "must be redirect, reauth-button or force-logout",
                    )
                },
            )?,
            password_silent_renewal_enabled: self.password_silent_renewal_enabled,
            password_fallback_behavior: PasswordFallbackBehavior::parse(&self.password_fallback_behavior)
                .ok_or_else(|| {
                    SettingsError::new(
                        "SESSION__PASSWORD_FALLBACK_BEHAVIOR",
                        "must be logout, reauth-modal or force-logout",
                    )
                })?,
        })
        .map_err(|errors| {
            let first = &errors[0];
            SettingsError::new(
                &format!("SESSION__{}", screaming(first.field.name())),
                first.reason.clone(),
            )
        })
    }
}

/// `idleTimeoutMinutes` -> `IDLE_TIMEOUT_MINUTES`.
fn screaming(camel: &str) -> String {
    let mut out = String::new();
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}
