//! Tokens and their keys: `JWT_SECRET`, `STATE_SECRET`, `JWT_SIGNING_KEYS` (each also
//! as `_FILE`), `JWT_ISSUER`, `JWT_AUDIENCE`, the refresh-token and session lifetimes
//! and the refresh policy.

use std::path::PathBuf;

use secrecy::SecretString;
use tether_domain::{RefreshPolicy, SessionLifetimes};

use super::values::{non_empty, secret_from};
use super::{RawSettings, SettingsError};

/// What signs and keys the tokens, and how long they live.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// HS256 secret, at least 32 bytes (`JWT_SECRET` or `JWT_SECRET_FILE`): signs when
    /// `JWT_SIGNING_KEYS` is unset, keys login states when `STATE_SECRET` is unset; unset
    /// only when both are set.
    pub jwt_secret: Option<SecretString>,
    /// The login-state key (`STATE_SECRET` or `STATE_SECRET_FILE`), when set.
    pub state_secret: Option<SecretString>,
    /// `iss` claim.
    pub issuer: Option<String>,
    /// `aud` claim.
    pub audience: Option<String>,
    /// The keys of access tokens: `JWT_SIGNING_KEYS` (or `_FILE`), else the one HS256
    /// key of `JWT_SECRET`.
    pub signing_keys: tether_jwt::SigningKeys,
    /// Refresh-token and session lifetimes.
    pub lifetimes: SessionLifetimes,
    /// Refresh-token rotation (`REFRESH_REUSE_GRACE_SECONDS`, default 10, 0–300).
    pub refresh_policy: RefreshPolicy,
}

impl TokenSettings {
    /// Validates the token settings of `raw`, with the line `check-config` shows for
    /// `JWT_SIGNING_KEYS`.
    pub(super) fn validate(raw: &mut RawSettings) -> Result<(Self, String), SettingsError> {
        let jwt_secret = secret_from("JWT_SECRET", raw.jwt_secret.take(), raw.jwt_secret_file.take())?;
        long_enough("JWT_SECRET", jwt_secret.as_ref())?;
        let state_secret = secret_from(
            "STATE_SECRET",
            raw.state_secret.take(),
            raw.state_secret_file.take(),
        )?;
        long_enough("STATE_SECRET", state_secret.as_ref())?;
        let (signing_keys, keys_shown) = signing_keys(
            raw.jwt_signing_keys.take(),
            raw.jwt_signing_keys_file.take(),
            jwt_secret.as_deref(),
        )?;
        if jwt_secret.is_none() && state_secret.is_none() {
            return Err(SettingsError::new(
                "JWT_SECRET",
                "is required (at least 32 bytes) unless STATE_SECRET is set: it keys the login states",
            ));
        }
        let days = |key: &str, d: u32| {
            if (1..=365).contains(&d) {
                Ok(i64::from(d) * 24 * 3600)
            } else {
                Err(SettingsError::new(key, "must be between 1 and 365 days"))
            }
        };
        let lifetimes = SessionLifetimes {
            refresh_token_seconds: days("REFRESH_TOKEN_TTL_DAYS", raw.refresh_token_ttl_days)?,
            absolute_session_seconds: days(
                "SESSION_ABSOLUTE_LIFETIME_DAYS",
                raw.session_absolute_lifetime_days,
            )?,
        };
        if raw.refresh_reuse_grace_seconds > 300 {
            return Err(SettingsError::new(
                "REFRESH_REUSE_GRACE_SECONDS",
                "must be between 0 and 300 seconds",
            ));
        }
        let tokens = Self {
            jwt_secret: jwt_secret.map(SecretString::from),
            state_secret: state_secret.map(SecretString::from),
            issuer: non_empty(raw.jwt_issuer.take()),
            audience: non_empty(raw.jwt_audience.take()),
            signing_keys,
            lifetimes,
            refresh_policy: RefreshPolicy {
                reuse_grace_seconds: i64::from(raw.refresh_reuse_grace_seconds),
            },
        };
        Ok((tokens, keys_shown))
    }
}

/// A secret that keys HMACs or signatures must have at least
/// `tether_jwt::MIN_SECRET_BYTES`.
fn long_enough(key: &str, value: Option<&String>) -> Result<(), SettingsError> {
    match value {
        Some(v) if v.len() < tether_jwt::MIN_SECRET_BYTES => Err(SettingsError::new(
            key,
            format!(
                "must be at least {} bytes long (got {})",
                tether_jwt::MIN_SECRET_BYTES,
                v.len()
            ),
        )),
        _ => Ok(()),
    }
}

/// `JWT_SIGNING_KEYS` (a JSON array, or `JWT_SIGNING_KEYS_FILE`), else the one HS256 key
/// of `JWT_SECRET`; with the line `check-config` shows (`kid`, `alg`, `status`,
/// thumbprint: never key material). A refused key set names the setting and the `kid`.
fn signing_keys(
    value: Option<String>,
    file: Option<PathBuf>,
    jwt_secret: Option<&str>,
) -> Result<(tether_jwt::SigningKeys, String), SettingsError> {
    const NAME: &str = "JWT_SIGNING_KEYS";
    let json = match (value.filter(|v| !v.trim().is_empty()), file) {
        (Some(_), Some(_)) => {
            return Err(SettingsError::new(
                NAME,
                "is set both as JWT_SIGNING_KEYS and as JWT_SIGNING_KEYS_FILE; set only one",
            ));
        }
        (Some(json), None) => json,
        (None, Some(path)) => std::fs::read_to_string(&path).map_err(|e| {
            SettingsError::new(
                "JWT_SIGNING_KEYS_FILE",
                format!("cannot read {}: {e}", path.display()),
            )
        })?,
        (None, None) => {
            let jwt_secret = jwt_secret.ok_or_else(|| {
                SettingsError::new(
                    "JWT_SECRET",
                    "is required (at least 32 bytes) unless JWT_SIGNING_KEYS and STATE_SECRET are set",
                )
            })?;
            let keys = tether_jwt::SigningKeys::from_secret(&SecretString::from(jwt_secret))
                .map_err(|e| SettingsError::new("JWT_SECRET", e.to_string()))?;
            let shown = format!("(unset: JWT_SECRET signs, {})", keys.describe());
            return Ok((keys, shown));
        }
    };
    let keys = tether_jwt::SigningKeys::parse(&json).map_err(|e| SettingsError::new(NAME, e.to_string()))?;
    let shown = keys.describe();
    Ok((keys, shown))
}
