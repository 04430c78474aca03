//! The WorkOS adapter: `WORKOS_API_KEY` (or `_FILE`), `WORKOS_CLIENT_ID`,
//! `WORKOS_BASE_URL`, its time-outs and the cap of its back-off.

use std::time::Duration;

use secrecy::SecretString;

use super::values::{http_url, millis, non_empty, secret_from};
use super::{RawSettings, SettingsError};

/// How to reach WorkOS.
#[derive(Debug, Clone)]
pub struct WorkosSettings {
    /// WorkOS API key (`sk_...`).
    pub api_key: SecretString,
    /// WorkOS client id (`client_...`).
    pub client_id: String,
    /// WorkOS API base URL.
    pub base_url: String,
    /// WorkOS connect time-out.
    pub connect_timeout: Duration,
    /// WorkOS total request time-out.
    pub timeout: Duration,
    /// Longest `Retry-After` honoured after a WorkOS 429 (`WORKOS_BACKOFF_MAX_SECONDS`,
    /// default 60, 1–3600); each WorkOS API keeps its own window.
    pub backoff_max: Duration,
}

impl WorkosSettings {
    /// Validates the WorkOS settings of `raw`; the key and the client id are required.
    pub(super) fn validate(raw: &mut RawSettings) -> Result<Self, SettingsError> {
        let api_key = secret_from(
            "WORKOS_API_KEY",
            raw.workos_api_key.take(),
            raw.workos_api_key_file.take(),
        )?
        .ok_or_else(|| SettingsError::new("WORKOS_API_KEY", "is required"))?;
        let client_id = non_empty(raw.workos_client_id.take())
            .ok_or_else(|| SettingsError::new("WORKOS_CLIENT_ID", "is required"))?;
        Ok(Self {
            api_key: SecretString::from(api_key),
            client_id,
            base_url: http_url("WORKOS_BASE_URL", &raw.workos_base_url)?,
            connect_timeout: millis("WORKOS_CONNECT_TIMEOUT_MS", raw.workos_connect_timeout_ms)?,
            timeout: millis("WORKOS_TIMEOUT_MS", raw.workos_timeout_ms)?,
            backoff_max: backoff_max(raw.workos_backoff_max_seconds)?,
        })
    }
}

/// `WORKOS_BACKOFF_MAX_SECONDS`: 1 to 3600.
fn backoff_max(seconds: u64) -> Result<Duration, SettingsError> {
    if !(1..=3600).contains(&seconds) {
        return Err(SettingsError::new(
            "WORKOS_BACKOFF_MAX_SECONDS",
            "must be between 1 and 3600 seconds",
        ));
    }
    Ok(Duration::from_secs(seconds))
}
