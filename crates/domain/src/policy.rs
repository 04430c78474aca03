//! Session policy: the nine settings a client applies to a sign-in session, their
//! bounds, the global defaults and the per-organization overlay.

use std::collections::BTreeMap;
use std::fmt;

use thiserror::Error;

/// What the SPA does when silent renewal of an SSO session fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SsoFallbackBehavior {
    /// Send the user through the identity provider again.
    Redirect,
    /// Show a button that starts a new sign-in.
    ReauthButton,
    /// End the session at once.
    ForceLogout,
}

impl SsoFallbackBehavior {
    /// Every value.
    pub const ALL: [Self; 3] = [Self::Redirect, Self::ReauthButton, Self::ForceLogout];

    /// The stored and wire form.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Redirect => "redirect",
            Self::ReauthButton => "reauth-button",
            Self::ForceLogout => "force-logout",
        }
    }

    /// Parses the stored and wire form.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == raw)
    }
}

/// What the SPA does when silent renewal of a password session fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordFallbackBehavior {
    /// Log the user out.
    Logout,
    /// Ask for the password again in a modal.
    ReauthModal,
    /// End the session at once.
    ForceLogout,
}

impl PasswordFallbackBehavior {
    /// Every value.
    pub const ALL: [Self; 3] = [Self::Logout, Self::ReauthModal, Self::ForceLogout];

    /// The stored and wire form.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::ReauthModal => "reauth-modal",
            Self::ForceLogout => "force-logout",
        }
    }

    /// Parses the stored and wire form.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == raw)
    }
}

/// One of the nine session settings, named as the product stores and sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SessionField {
    /// `enabled`
    Enabled,
    /// `idleTimeoutMinutes`
    IdleTimeoutMinutes,
    /// `tokenExpiryHours`
    TokenExpiryHours,
    /// `warningTimeMinutes`
    WarningTimeMinutes,
    /// `idleTrackingEnabled`
    IdleTrackingEnabled,
    /// `ssoSilentRenewalEnabled`
    SsoSilentRenewalEnabled,
    /// `ssoFallbackBehavior`
    SsoFallbackBehavior,
    /// `passwordSilentRenewalEnabled`
    PasswordSilentRenewalEnabled,
    /// `passwordFallbackBehavior`
    PasswordFallbackBehavior,
}

impl SessionField {
    /// The nine fields in their documented order.
    pub const ALL: [Self; 9] = [
        Self::Enabled,
        Self::IdleTimeoutMinutes,
        Self::TokenExpiryHours,
        Self::WarningTimeMinutes,
        Self::IdleTrackingEnabled,
        Self::SsoSilentRenewalEnabled,
        Self::SsoFallbackBehavior,
        Self::PasswordSilentRenewalEnabled,
        Self::PasswordFallbackBehavior,
    ];

    /// The stored and wire name (`idleTimeoutMinutes`, ...).
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::IdleTimeoutMinutes => "idleTimeoutMinutes",
            Self::TokenExpiryHours => "tokenExpiryHours",
            Self::WarningTimeMinutes => "warningTimeMinutes",
            Self::IdleTrackingEnabled => "idleTrackingEnabled",
            Self::SsoSilentRenewalEnabled => "ssoSilentRenewalEnabled",
            Self::SsoFallbackBehavior => "ssoFallbackBehavior",
            Self::PasswordSilentRenewalEnabled => "passwordSilentRenewalEnabled",
            Self::PasswordFallbackBehavior => "passwordFallbackBehavior",
        }
    }

    /// The field with this stored or wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for SessionField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A setting value as a store or a client holds it, before validation.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingValue {
    /// A boolean.
    Bool(bool),
    /// Any number (stores keep 32-bit, 64-bit and floating point numbers alike).
    Number(f64),
    /// A string.
    Text(String),
    /// Any other kind of value (array, document, date, ...), named for messages.
    Other(&'static str),
}

/// The nine settings, unvalidated: the plain record a [`SessionConfig`] is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionFields {
    /// Whether session management applies at all.
    pub enabled: bool,
    /// Minutes of inactivity before the session ends (1–1440).
    pub idle_timeout_minutes: u32,
    /// Lifetime of an access token in hours (1–720).
    pub token_expiry_hours: u32,
    /// Minutes of warning before an idle time-out (0 up to less than the idle time-out).
    pub warning_time_minutes: u32,
    /// Whether the client tracks inactivity.
    pub idle_tracking_enabled: bool,
    /// Whether SSO sessions renew silently.
    pub sso_silent_renewal_enabled: bool,
    /// What happens when SSO renewal fails.
    pub sso_fallback_behavior: SsoFallbackBehavior,
    /// Whether password sessions renew silently.
    pub password_silent_renewal_enabled: bool,
    /// What happens when password renewal fails.
    pub password_fallback_behavior: PasswordFallbackBehavior,
}

impl Default for SessionFields {
    /// The product's documented global defaults.
    fn default() -> Self {
        Self {
            enabled: true,
            idle_timeout_minutes: 30,
            token_expiry_hours: 8,
            warning_time_minutes: 2,
            idle_tracking_enabled: true,
            sso_silent_renewal_enabled: true,
            sso_fallback_behavior: SsoFallbackBehavior::Redirect,
            password_silent_renewal_enabled: false,
            password_fallback_behavior: PasswordFallbackBehavior::Logout,
        }
    }
}

/// Why a setting value is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {reason}")]
pub struct SettingError {
    /// The field the value was meant for.
    pub field: SessionField,
    /// What is wrong with it, for people.
    pub reason: String,
}

impl SettingError {
    fn new(field: SessionField, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// A validated session policy: every field within its bounds and
/// `warningTimeMinutes < idleTimeoutMinutes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionConfig(SessionFields);

impl SessionConfig {
    /// Bounds of `idleTimeoutMinutes`.
    pub const IDLE_TIMEOUT_MINUTES: (u32, u32) = (1, 1440);
    /// Bounds of `tokenExpiryHours`.
    pub const TOKEN_EXPIRY_HOURS: (u32, u32) = (1, 720);

    /// Checks every bound; returns every violation, not just the first.
    ///
    /// ```
    /// # use tether_domain::{SessionConfig, SessionFields, SessionField};
    /// let fields = SessionFields { idle_timeout_minutes: 15, warning_time_minutes: 20, ..Default::default() };
    /// let errors = SessionConfig::new(fields).unwrap_err();
    /// assert_eq!(errors[0].field, SessionField::WarningTimeMinutes);
    /// ```
    pub fn new(fields: SessionFields) -> Result<Self, Vec<SettingError>> {
        let mut errors = Vec::new();
        let (lo, hi) = Self::IDLE_TIMEOUT_MINUTES;
        if !(lo..=hi).contains(&fields.idle_timeout_minutes) {
            errors.push(SettingError::new(
                SessionField::IdleTimeoutMinutes,
                format!("must be between {lo} and {hi}"),
            ));
        }
        let (lo, hi) = Self::TOKEN_EXPIRY_HOURS;
        if !(lo..=hi).contains(&fields.token_expiry_hours) {
            errors.push(SettingError::new(
                SessionField::TokenExpiryHours,
                format!("must be between {lo} and {hi}"),
            ));
        }
        if fields.warning_time_minutes >= fields.idle_timeout_minutes {
            errors.push(SettingError::new(
                SessionField::WarningTimeMinutes,
                format!(
                    "must be less than idleTimeoutMinutes ({})",
                    fields.idle_timeout_minutes
                ),
            ));
        }
        if errors.is_empty() {
            Ok(Self(fields))
        } else {
            Err(errors)
        }
    }

    /// The validated fields.
    pub const fn fields(&self) -> &SessionFields {
        &self.0
    }

    /// Lifetime of an access token in seconds.
    pub const fn token_lifetime_seconds(&self) -> i64 {
        self.0.token_expiry_hours as i64 * 3600
    }

    /// Overlays an organization's stored settings on these defaults, field by field.
    ///
    /// Absent fields keep the default. A stored value of the wrong type or out of its
    /// bounds is skipped (the default stays) and reported as a warning; if the stored
    /// values together break `warningTimeMinutes < idleTimeoutMinutes`, the stored
    /// warning time is dropped first, then the stored idle time-out. A login never fails
    /// because of stored settings.
    pub fn overlay(&self, stored: &StoredSessionSettings) -> (SessionConfig, Vec<SettingError>) {
        let mut warnings = Vec::new();
        let mut fields = self.0;
        // The stored values taken; only those can be dropped for the relation below.
        let mut taken = Vec::new();
        for (&field, value) in &stored.0 {
            match apply(&mut fields, field, value) {
                Ok(()) => taken.push(field),
                Err(e) => warnings.push(e),
            }
        }
        for field in [SessionField::WarningTimeMinutes, SessionField::IdleTimeoutMinutes] {
            if fields.warning_time_minutes < fields.idle_timeout_minutes {
                break;
            }
            if taken.contains(&field) {
                warnings.push(SettingError::new(
                    field,
                    "stored value breaks warningTimeMinutes < idleTimeoutMinutes; default used",
                ));
                match field {
                    SessionField::WarningTimeMinutes => {
                        fields.warning_time_minutes = self.0.warning_time_minutes
                    }
                    _ => fields.idle_timeout_minutes = self.0.idle_timeout_minutes,
                }
            }
        }
        // The defaults are valid and every accepted value passed its own bounds; the
        // relation between the two minute fields was restored above.
        match SessionConfig::new(fields) {
            Ok(config) => (config, warnings),
            Err(errors) => {
                warnings.extend(errors);
                (*self, warnings)
            }
        }
    }
}

/// Writes one value into `fields` if it has the field's type and bounds.
pub(crate) fn apply(
    fields: &mut SessionFields,
    field: SessionField,
    value: &SettingValue,
) -> Result<(), SettingError> {
    let bad = |reason: &str| SettingError::new(field, reason.to_owned());
    let boolean = || match value {
        SettingValue::Bool(b) => Ok(*b),
        _ => Err(bad("must be true or false")),
    };
    let whole = |lo: u32, hi: u32| match value {
        SettingValue::Number(n) if n.fract() == 0.0 && *n >= f64::from(lo) && *n <= f64::from(hi) => {
            // In range, so the conversion is exact.
            Ok(*n as u32)
        }
        SettingValue::Number(_) => Err(bad(&format!("must be a whole number between {lo} and {hi}"))),
        _ => Err(bad("must be a number")),
    };
    match field {
        SessionField::Enabled => fields.enabled = boolean()?,
        SessionField::IdleTimeoutMinutes => {
            let (lo, hi) = SessionConfig::IDLE_TIMEOUT_MINUTES;
            fields.idle_timeout_minutes = whole(lo, hi)?
        }
        SessionField::TokenExpiryHours => {
            let (lo, hi) = SessionConfig::TOKEN_EXPIRY_HOURS;
            fields.token_expiry_hours = whole(lo, hi)?
        }
        SessionField::WarningTimeMinutes => {
            let (_, hi) = SessionConfig::IDLE_TIMEOUT_MINUTES;
            fields.warning_time_minutes = whole(0, hi - 1)?
        }
        SessionField::IdleTrackingEnabled => fields.idle_tracking_enabled = boolean()?,
        SessionField::SsoSilentRenewalEnabled => fields.sso_silent_renewal_enabled = boolean()?,
        SessionField::PasswordSilentRenewalEnabled => fields.password_silent_renewal_enabled = boolean()?,
        SessionField::SsoFallbackBehavior => {
            fields.sso_fallback_behavior = match value {
                SettingValue::Text(t) => SsoFallbackBehavior::parse(t),
                _ => None,
            }
            .ok_or_else(|| bad("must be one of redirect, reauth-button, force-logout"))?
        }
        SessionField::PasswordFallbackBehavior => {
            fields.password_fallback_behavior = match value {
                SettingValue::Text(t) => PasswordFallbackBehavior::parse(t),
                _ => None,
            }
            .ok_or_else(|| bad("must be one of logout, reauth-modal, force-logout"))?
        }
    }
    Ok(())
}

/// The session settings an organization stores: only the fields it sets (a stored
/// `null` is the same as absent). Values are unvalidated until overlaid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredSessionSettings(BTreeMap<SessionField, SettingValue>);

impl StoredSessionSettings {
    /// No overrides: every field takes the global default.
    pub fn none() -> Self {
        Self::default()
    }

    /// Sets one field's stored value.
    pub fn with(mut self, field: SessionField, value: SettingValue) -> Self {
        self.0.insert(field, value);
        self
    }

    /// Sets or (with `None`) clears one field.
    pub fn set(&mut self, field: SessionField, value: Option<SettingValue>) {
        match value {
            Some(v) => self.0.insert(field, v),
            None => self.0.remove(&field),
        };
    }

    /// The stored value of one field, if any.
    pub fn get(&self, field: SessionField) -> Option<&SettingValue> {
        self.0.get(&field)
    }

    /// Every stored field and value.
    pub fn iter(&self) -> impl Iterator<Item = (SessionField, &SettingValue)> {
        self.0.iter().map(|(f, v)| (*f, v))
    }

    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> SessionConfig {
        SessionConfig::default()
    }

    #[test]
    fn documented_defaults_are_valid() {
        let d = SessionConfig::new(SessionFields::default()).unwrap();
        assert_eq!(d.fields().idle_timeout_minutes, 30);
        assert_eq!(d.fields().token_expiry_hours, 8);
        assert_eq!(d.token_lifetime_seconds(), 8 * 3600);
    }

    #[test]
    fn bounds_are_enforced_and_every_violation_is_reported() {
        let f = SessionFields {
            idle_timeout_minutes: 0,
            token_expiry_hours: 721,
            ..SessionFields::default()
        };
        let errors = SessionConfig::new(f).unwrap_err();
        let named: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            named,
            [
                SessionField::IdleTimeoutMinutes,
                SessionField::TokenExpiryHours,
                SessionField::WarningTimeMinutes
            ]
        );
    }

    #[test]
    fn organization_values_override_defaults_field_by_field() {
        let stored = StoredSessionSettings::none()
            .with(SessionField::IdleTimeoutMinutes, SettingValue::Number(15.0))
            .with(SessionField::TokenExpiryHours, SettingValue::Number(2.0))
            .with(
                SessionField::SsoFallbackBehavior,
                SettingValue::Text("force-logout".into()),
            );
        let (config, warnings) = defaults().overlay(&stored);
        assert!(warnings.is_empty());
        let f = config.fields();
        assert_eq!(f.idle_timeout_minutes, 15);
        assert_eq!(f.token_expiry_hours, 2);
        assert_eq!(f.sso_fallback_behavior, SsoFallbackBehavior::ForceLogout);
        assert_eq!(f.warning_time_minutes, 2, "untouched field keeps the default");
        assert!(f.enabled);
    }

    #[test]
    fn out_of_range_or_mistyped_stored_values_fall_back_with_a_warning() {
        let stored = StoredSessionSettings::none()
            .with(SessionField::IdleTimeoutMinutes, SettingValue::Number(5000.0))
            .with(SessionField::TokenExpiryHours, SettingValue::Number(1.5))
            .with(SessionField::Enabled, SettingValue::Text("yes".into()))
            .with(
                SessionField::PasswordFallbackBehavior,
                SettingValue::Text("explode".into()),
            )
            .with(SessionField::IdleTrackingEnabled, SettingValue::Bool(false));
        let (config, warnings) = defaults().overlay(&stored);
        assert_eq!(config.fields().idle_timeout_minutes, 30);
        assert_eq!(config.fields().token_expiry_hours, 8);
        assert!(config.fields().enabled);
        assert_eq!(
            config.fields().password_fallback_behavior,
            PasswordFallbackBehavior::Logout
        );
        assert!(
            !config.fields().idle_tracking_enabled,
            "the valid value still applies"
        );
        assert_eq!(warnings.len(), 4);
    }

    #[test]
    fn stored_warning_not_below_stored_idle_is_dropped_first() {
        let stored = StoredSessionSettings::none()
            .with(SessionField::IdleTimeoutMinutes, SettingValue::Number(15.0))
            .with(SessionField::WarningTimeMinutes, SettingValue::Number(20.0));
        let (config, warnings) = defaults().overlay(&stored);
        assert_eq!(config.fields().idle_timeout_minutes, 15);
        assert_eq!(config.fields().warning_time_minutes, 2);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].field, SessionField::WarningTimeMinutes);
    }

    #[test]
    fn stored_idle_below_the_default_warning_is_dropped_too() {
        let stored =
            StoredSessionSettings::none().with(SessionField::IdleTimeoutMinutes, SettingValue::Number(1.0));
        let (config, warnings) = defaults().overlay(&stored);
        assert_eq!(config.fields().idle_timeout_minutes, 30);
        assert_eq!(warnings[0].field, SessionField::IdleTimeoutMinutes);
    }

    #[test]
    fn field_names_round_trip() {
        for f in SessionField::ALL {
            assert_eq!(SessionField::from_name(f.name()), Some(f));
        }
        assert_eq!(SessionField::from_name("unknown"), None);
    }
}
