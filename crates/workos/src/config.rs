//! Settings of the WorkOS adapter and the errors raised while building a client from them.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

/// How to reach WorkOS and which credentials to present.
///
/// `Debug` never prints the API key.
#[derive(Clone)]
pub struct WorkosConfig {
    /// Root of the WorkOS API, e.g. `https://api.workos.com` (a trailing slash is tolerated).
    /// Must be an `http` or `https` URL without query or fragment.
    pub base_url: String,
    /// The WorkOS client id (`client_...`), sent as `client_id`.
    pub client_id: String,
    /// The WorkOS API key (`sk_...`), sent as `client_secret`. Never logged.
    pub api_key: SecretString,
    /// Longest wait for a TCP (and TLS) connection to WorkOS.
    pub connect_timeout: Duration,
    /// Longest wait for a whole exchange: connecting, sending and reading the answer.
    pub request_timeout: Duration,
    /// Longest `Retry-After` honoured after a 429 (`WORKOS_BACKOFF_MAX_SECONDS`;
    /// [`DEFAULT_BACKOFF_MAX`](crate::DEFAULT_BACKOFF_MAX) is 60 s).
    pub backoff_max: Duration,
}

impl fmt::Debug for WorkosConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let api_key = if self.api_key.expose_secret().is_empty() {
            "<empty>"
        } else {
            "<redacted>"
        };
        f.debug_struct("WorkosConfig")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("api_key", &api_key)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("backoff_max", &self.backoff_max)
            .finish()
    }
}

/// Why [`WorkosClient::new`](crate::WorkosClient::new) refused a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkosBuildError {
    /// `base_url` is not an absolute `http`/`https` URL without query or fragment.
    InvalidBaseUrl(String),
    /// `client_id` is empty.
    MissingClientId,
    /// `api_key` is empty.
    MissingApiKey,
    /// A time-out is zero; the named setting would fail every request.
    ZeroTimeout(&'static str),
    /// The HTTP client could not be built (e.g. no TLS backend).
    HttpClient(String),
}

impl fmt::Display for WorkosBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidBaseUrl(reason) => write!(f, "invalid WorkOS base URL: {reason}"),
            Self::MissingClientId => f.write_str("the WorkOS client id is empty"),
            Self::MissingApiKey => f.write_str("the WorkOS API key is empty"),
            Self::ZeroTimeout(name) => write!(f, "the WorkOS {name} must be greater than zero"),
            Self::HttpClient(reason) => write!(f, "could not build the HTTP client: {reason}"),
        }
    }
}

impl std::error::Error for WorkosBuildError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_api_key() {
        let config = WorkosConfig {
            base_url: "https://api.workos.com".to_owned(),
            client_id: "client_123".to_owned(),
            api_key: SecretString::from("sk_live_very_secret"),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            backoff_max: Duration::from_secs(60),
        };
        let printed = format!("{config:?}");
        assert!(!printed.contains("sk_live_very_secret"), "{printed}");
        assert!(printed.contains("<redacted>"), "{printed}");
        assert!(printed.contains("client_123"), "{printed}");
    }
}
