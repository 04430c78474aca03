//! The HTTP listener and the browser in front of it: `HOST`, `PORT`, `HTTP_WORKERS`,
//! `REQUEST_BODY_TIMEOUT_MS`, `CLIENT_URL`, `ALLOWED_REDIRECT_URIS`,
//! `CORS_ALLOWED_ORIGINS`, `METRICS_PORT`.

use std::time::Duration;

use super::values::{http_url, millis};
use super::{RawSettings, SettingsError};

/// Where the service listens and which browsers may call it.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Address to bind.
    pub host: String,
    /// Port to bind (0 picks a free one).
    pub port: u16,
    /// Threads answering HTTP requests (`HTTP_WORKERS`, default 0: one per CPU core,
    /// with MongoDB at most `MONGODB_MAX_POOL_SIZE`); see [`super::Settings::workers`].
    pub workers: usize,
    /// How long a request body may take to arrive (`REQUEST_BODY_TIMEOUT_MS`, default 10000).
    pub request_body_timeout: Duration,
    /// The SPA's origin; the default redirect URI is `{CLIENT_URL}/signin`.
    pub client_url: String,
    /// Redirect URIs a login may use besides the default.
    pub allowed_redirect_uris: Vec<String>,
    /// Browser origins allowed to call the API (`CORS_ALLOWED_ORIGINS`; default the
    /// origin of `CLIENT_URL`).
    pub cors_allowed_origins: Vec<String>,
    /// Port of the metrics listener on `HOST` (`METRICS_PORT`, default 9464; 0 turns it off).
    pub metrics_port: u16,
}

impl HttpSettings {
    /// Validates the HTTP settings of `raw`.
    pub(super) fn validate(raw: &mut RawSettings) -> Result<Self, SettingsError> {
        let client_url = http_url("CLIENT_URL", &raw.client_url)?;
        let cors_allowed_origins = crate::origins::allowed_origins(&raw.cors_allowed_origins, &client_url)?;
        let allowed_redirect_uris = raw
            .allowed_redirect_uris
            .iter()
            .map(|u| u.trim())
            .filter(|u| !u.is_empty())
            .map(|u| http_url("ALLOWED_REDIRECT_URIS", u).map(|_| u.to_owned()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            host: std::mem::take(&mut raw.host),
            port: raw.port,
            workers: raw.http_workers,
            request_body_timeout: millis("REQUEST_BODY_TIMEOUT_MS", raw.request_body_timeout_ms)?,
            client_url,
            allowed_redirect_uris,
            cors_allowed_origins,
            metrics_port: metrics_port(raw.metrics_port, raw.port)?,
        })
    }

    /// The default redirect URI, `{CLIENT_URL}/signin`.
    pub fn default_redirect_uri(&self) -> String {
        format!("{}/signin", self.client_url)
    }
}

/// `METRICS_PORT`: 0 (off) or a port other than the public one.
fn metrics_port(metrics_port: u16, port: u16) -> Result<u16, SettingsError> {
    if metrics_port != 0 && metrics_port == port {
        return Err(SettingsError::new(
            "METRICS_PORT",
            "must differ from PORT: metrics are not served on the public port",
        ));
    }
    Ok(metrics_port)
}
