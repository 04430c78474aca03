//! Per-client limits of the public routes: `RATE_LIMIT_PER_MINUTE`,
//! `REFRESH_RATE_LIMIT_PER_MINUTE` and the `TRUSTED_PROXIES` that name the client.

use super::{RawSettings, SettingsError};

/// How many requests a client may make, and who the client is.
#[derive(Debug, Clone)]
pub struct LimitSettings {
    /// Requests a minute (and burst) per client address on the unauthenticated auth
    /// routes (`RATE_LIMIT_PER_MINUTE`, default 60; 0 turns the limit off).
    pub rate_limit_per_minute: u32,
    /// Requests a minute (and burst) per client address on `POST /api/auth/refresh`, a
    /// budget apart from the login routes' (`REFRESH_RATE_LIMIT_PER_MINUTE`, default 600;
    /// 0 turns it off).
    pub refresh_rate_limit_per_minute: u32,
    /// Proxies whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`, CIDRs; default none).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl LimitSettings {
    /// Validates the limits of `raw`.
    pub(super) fn validate(raw: &RawSettings) -> Result<Self, SettingsError> {
        Ok(Self {
            rate_limit_per_minute: rate_limit("RATE_LIMIT_PER_MINUTE", raw.rate_limit_per_minute)?,
            refresh_rate_limit_per_minute: rate_limit(
                "REFRESH_RATE_LIMIT_PER_MINUTE",
                raw.refresh_rate_limit_per_minute,
            )?,
            trusted_proxies: trusted_proxies(&raw.trusted_proxies)?,
        })
    }
}

/// A rate limit setting: 0 (off) to 1 000 000.
fn rate_limit(name: &'static str, per_minute: u32) -> Result<u32, SettingsError> {
    if per_minute > 1_000_000 {
        return Err(SettingsError::new(
            name,
            "must be between 0 (off) and 1000000 requests a minute",
        ));
    }
    Ok(per_minute)
}

/// `TRUSTED_PROXIES`: CIDRs (`10.0.0.0/8`, `2001:db8::/32`) or single addresses.
fn trusted_proxies(raw: &[String]) -> Result<Vec<ipnet::IpNet>, SettingsError> {
    raw.iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    SettingsError::new(
                        "TRUSTED_PROXIES",
                        format!("`{p}` is not an IP address or CIDR (e.g. 10.0.0.0/8)"),
                    )
                })
        })
        .collect()
}
