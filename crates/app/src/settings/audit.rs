//! The audit trail: `AUDIT_RETENTION_DAYS`.

use super::{RawSettings, SettingsError};

/// Most days a record may be kept (ten years).
const MAX_RETENTION_DAYS: u32 = 3650;

/// How the audit trail is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditSettings {
    /// `AUDIT_RETENTION_DAYS` (default 365; 1–3650): how long a record is kept before
    /// MongoDB removes it (the TTL index of `audit_events`).
    pub retention_days: u32,
}

impl AuditSettings {
    /// Validates the audit settings of `raw`.
    pub(super) fn validate(raw: &RawSettings) -> Result<Self, SettingsError> {
        let days = raw.audit_retention_days;
        if !(1..=MAX_RETENTION_DAYS).contains(&days) {
            return Err(SettingsError::new(
                "AUDIT_RETENTION_DAYS",
                "must be between 1 and 3650 days",
            ));
        }
        Ok(Self { retention_days: days })
    }
}
