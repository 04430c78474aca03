//! Settings: built-in defaults, then an optional TOML file, then the environment
//! (the product's variable names: `MONGODB_URI`, `JWT_SECRET`, `WORKOS_API_KEY`,
//! `WORKOS_CLIENT_ID`, `WORKOS_BASE_URL`, `CLIENT_URL`, `DEFAULT_ORGANIZATION_ID`,
//! `PORT`, ...). Everything is validated at start; a bad value stops start-up with a
//! message naming the setting.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tether_domain::RefreshPolicy;
use tether_domain::{
    AccessRole, ObjectIdHex, PasswordFallbackBehavior, ProvisioningPolicy, SessionConfig, SessionFields,
    SessionLifetimes, SsoFallbackBehavior,
};

/// A setting that stops start-up, with the name an operator sets it by.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {key}: {message}")]
pub struct SettingsError {
    /// The setting's environment name (or `file` for the file itself).
    pub key: String,
    /// What is wrong, without the value when it is secret.
    pub message: String,
}

impl SettingsError {
    fn new(key: &str, message: impl Into<String>) -> Self {
        Self {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

/// Session defaults as written in the file or environment (`SESSION__IDLE_TIMEOUT_MINUTES`, ...).
#[derive(Debug, Clone, Deserialize)]
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

/// Settings as read, before validation. Field names are the lower-cased environment names.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RawSettings {
    host: String,
    port: u16,
    mongodb_uri: Option<String>,
    mongodb_database: Option<String>,
    mongodb_timeout_ms: u64,
    jwt_secret: Option<String>,
    jwt_issuer: Option<String>,
    jwt_audience: Option<String>,
    workos_api_key: Option<String>,
    workos_client_id: Option<String>,
    workos_base_url: String,
    workos_connect_timeout_ms: u64,
    workos_timeout_ms: u64,
    client_url: String,
    #[serde(deserialize_with = "string_or_list")]
    allowed_redirect_uris: Vec<String>,
    default_organization_id: Option<String>,
    default_role: String,
    default_conversation_open_preference: String,
    refresh_token_ttl_days: u32,
    session_absolute_lifetime_days: u32,
    refresh_reuse_grace_seconds: u32,
    log_format: String,
    accept_unissued_state: bool,
    #[serde(deserialize_with = "string_or_list")]
    cors_allowed_origins: Vec<String>,
    session: RawSessionDefaults,
}

impl Default for RawSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 3000,
            mongodb_uri: None,
            mongodb_database: None,
            mongodb_timeout_ms: 3000,
            jwt_secret: None,
            jwt_issuer: None,
            jwt_audience: None,
            workos_api_key: None,
            workos_client_id: None,
            workos_base_url: "https://api.workos.com".into(),
            workos_connect_timeout_ms: 3000,
            workos_timeout_ms: 10_000,
            client_url: "http://localhost:5173".into(),
            allowed_redirect_uris: Vec::new(),
            default_organization_id: None,
            default_role: AccessRole::SalesRep.as_str().into(),
            default_conversation_open_preference: "split".into(),
            refresh_token_ttl_days: 30,
            session_absolute_lifetime_days: 30,
            refresh_reuse_grace_seconds: 10,
            log_format: "text".into(),
            accept_unissued_state: false,
            cors_allowed_origins: Vec::new(),
            session: RawSessionDefaults::default(),
        }
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to bind.
    pub host: String,
    /// Port to bind (0 picks a free one).
    pub port: u16,
    /// The MongoDB connection string; `None` runs on the in-memory store.
    pub mongodb_uri: Option<SecretString>,
    /// Database name override.
    pub mongodb_database: Option<String>,
    /// Server-selection and connect time-out of MongoDB.
    pub mongodb_timeout: Duration,
    /// HS256 secret, at least 32 bytes.
    pub jwt_secret: SecretString,
    /// `iss` claim.
    pub jwt_issuer: Option<String>,
    /// `aud` claim.
    pub jwt_audience: Option<String>,
    /// WorkOS API key (`sk_...`).
    pub workos_api_key: SecretString,
    /// WorkOS client id (`client_...`).
    pub workos_client_id: String,
    /// WorkOS API base URL.
    pub workos_base_url: String,
    /// WorkOS connect time-out.
    pub workos_connect_timeout: Duration,
    /// WorkOS total request time-out.
    pub workos_timeout: Duration,
    /// The SPA's origin; the default redirect URI is `{CLIENT_URL}/signin`.
    pub client_url: String,
    /// Redirect URIs a login may use besides the default.
    pub allowed_redirect_uris: Vec<String>,
    /// Who new users are and where they go.
    pub provisioning: ProvisioningPolicy,
    /// Global session defaults.
    pub session_defaults: SessionConfig,
    /// Refresh-token and session lifetimes.
    pub lifetimes: SessionLifetimes,
    /// Refresh-token rotation (`REFRESH_REUSE_GRACE_SECONDS`, default 10, 0–300).
    pub refresh_policy: RefreshPolicy,
    /// Log format.
    pub log_format: LogFormat,
    /// Accept callback states this service did not issue (`ACCEPT_UNISSUED_STATE`,
    /// default false): for SPAs that still build WorkOS URLs themselves.
    pub accept_unissued_state: bool,
    /// Browser origins allowed to call the API (`CORS_ALLOWED_ORIGINS`; default the
    /// origin of `CLIENT_URL`).
    pub cors_allowed_origins: Vec<String>,
}

impl Settings {
    /// Reads defaults, then the file named by `TETHER_CONFIG` (or `config/tether-auth.toml`
    /// if present), then the process environment; validates the result.
    pub fn load() -> Result<Self, SettingsError> {
        let file = std::env::var_os("TETHER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| Some(PathBuf::from("config/tether-auth.toml")).filter(|p| p.exists()));
        Self::load_from(file, std::env::vars())
    }

    /// Like [`Settings::load`] with an explicit file and environment (for tests).
    pub fn load_from(
        file: Option<PathBuf>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let env: std::collections::HashMap<String, String> =
            env.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect();
        let mut builder = config::Config::builder();
        if let Some(path) = file {
            if !path.exists() {
                return Err(SettingsError::new(
                    "TETHER_CONFIG",
                    format!("no file at {}", path.display()),
                ));
            }
            builder = builder.add_source(config::File::from(path));
        }
        builder = builder.add_source(
            config::Environment::default()
                .separator("__")
                // Values stay strings (a numeric-looking secret must not become a number);
                // typed fields parse them, lists are split by `string_or_list`.
                .try_parsing(false)
                .source(Some(env)),
        );
        let raw: RawSettings = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| SettingsError::new("config", e.to_string()))?;
        raw.validate()
    }
}

/// A list given as a TOML array or as one comma-separated string (environment).
fn string_or_list<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(s) => s.split(',').map(str::to_owned).collect(),
        OneOrMany::Many(v) => v,
    })
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn http_url(key: &str, value: &str) -> Result<String, SettingsError> {
    let trimmed = value.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| SettingsError::new(key, "must be an http:// or https:// URL"))?;
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        return Err(SettingsError::new(
            key,
            "must be an http:// or https:// URL with a host",
        ));
    }
    Ok(trimmed.to_owned())
}

fn millis(key: &str, ms: u64) -> Result<Duration, SettingsError> {
    if ms == 0 || ms > 120_000 {
        return Err(SettingsError::new(
            key,
            "must be between 1 and 120000 milliseconds",
        ));
    }
    Ok(Duration::from_millis(ms))
}

impl RawSettings {
    fn validate(self) -> Result<Settings, SettingsError> {
        let jwt_secret = non_empty(self.jwt_secret)
            .ok_or_else(|| SettingsError::new("JWT_SECRET", "is required (at least 32 bytes)"))?;
        if jwt_secret.len() < tether_jwt::MIN_SECRET_BYTES {
            return Err(SettingsError::new(
                "JWT_SECRET",
                format!(
                    "must be at least {} bytes long (got {})",
                    tether_jwt::MIN_SECRET_BYTES,
                    jwt_secret.len()
                ),
            ));
        }
        let workos_api_key = non_empty(self.workos_api_key)
            .ok_or_else(|| SettingsError::new("WORKOS_API_KEY", "is required"))?;
        let workos_client_id = non_empty(self.workos_client_id)
            .ok_or_else(|| SettingsError::new("WORKOS_CLIENT_ID", "is required"))?;
        let default_organization_id = non_empty(self.default_organization_id)
            .map(|raw| {
                ObjectIdHex::parse(&raw).map_err(|_| {
                    SettingsError::new(
                        "DEFAULT_ORGANIZATION_ID",
                        "must be a 24-character hexadecimal MongoDB ObjectId",
                    )
                })
            })
            .transpose()?;
        let default_role = AccessRole::parse(self.default_role.trim())
            .map_err(|e| SettingsError::new("DEFAULT_ROLE", e.to_string()))?;
        let client_url = http_url("CLIENT_URL", &self.client_url)?;
        let cors_allowed_origins = crate::origins::allowed_origins(&self.cors_allowed_origins, &client_url)?;
        let allowed_redirect_uris = self
            .allowed_redirect_uris
            .iter()
            .map(|u| u.trim())
            .filter(|u| !u.is_empty())
            .map(|u| http_url("ALLOWED_REDIRECT_URIS", u).map(|_| u.to_owned()))
            .collect::<Result<Vec<_>, _>>()?;
        let s = &self.session;
        let session_defaults = SessionConfig::new(SessionFields {
            enabled: s.enabled,
            idle_timeout_minutes: s.idle_timeout_minutes,
            token_expiry_hours: s.token_expiry_hours,
            warning_time_minutes: s.warning_time_minutes,
            idle_tracking_enabled: s.idle_tracking_enabled,
            sso_silent_renewal_enabled: s.sso_silent_renewal_enabled,
            sso_fallback_behavior: SsoFallbackBehavior::parse(&s.sso_fallback_behavior).ok_or_else(|| {
                SettingsError::new(
                    "SESSION__SSO_FALLBACK_BEHAVIOR",
                    "must be redirect, reauth-button or force-logout",
                )
            })?,
            password_silent_renewal_enabled: s.password_silent_renewal_enabled,
            password_fallback_behavior: PasswordFallbackBehavior::parse(&s.password_fallback_behavior)
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
        })?;
        let days = |key: &str, d: u32| {
            if (1..=365).contains(&d) {
                Ok(i64::from(d) * 24 * 3600)
            } else {
                Err(SettingsError::new(key, "must be between 1 and 365 days"))
            }
        };
        let lifetimes = SessionLifetimes {
            refresh_token_seconds: days("REFRESH_TOKEN_TTL_DAYS", self.refresh_token_ttl_days)?,
            absolute_session_seconds: days(
                "SESSION_ABSOLUTE_LIFETIME_DAYS",
                self.session_absolute_lifetime_days,
            )?,
        };
        if self.refresh_reuse_grace_seconds > 300 {
            return Err(SettingsError::new(
                "REFRESH_REUSE_GRACE_SECONDS",
                "must be between 0 and 300 seconds",
            ));
        }
        let refresh_policy = RefreshPolicy {
            reuse_grace_seconds: i64::from(self.refresh_reuse_grace_seconds),
        };
        let log_format = match self.log_format.trim() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => return Err(SettingsError::new("LOG_FORMAT", "must be text or json")),
        };
        Ok(Settings {
            host: self.host,
            port: self.port,
            mongodb_uri: non_empty(self.mongodb_uri).map(SecretString::from),
            mongodb_database: non_empty(self.mongodb_database),
            mongodb_timeout: millis("MONGODB_TIMEOUT_MS", self.mongodb_timeout_ms)?,
            jwt_secret: SecretString::from(jwt_secret),
            jwt_issuer: non_empty(self.jwt_issuer),
            jwt_audience: non_empty(self.jwt_audience),
            workos_api_key: SecretString::from(workos_api_key),
            workos_client_id,
            workos_base_url: http_url("WORKOS_BASE_URL", &self.workos_base_url)?,
            workos_connect_timeout: millis("WORKOS_CONNECT_TIMEOUT_MS", self.workos_connect_timeout_ms)?,
            workos_timeout: millis("WORKOS_TIMEOUT_MS", self.workos_timeout_ms)?,
            client_url,
            allowed_redirect_uris,
            provisioning: ProvisioningPolicy {
                default_role,
                default_conversation_open_preference: self.default_conversation_open_preference,
                default_organization_id,
            },
            session_defaults,
            lifetimes,
            refresh_policy,
            log_format,
            accept_unissued_state: self.accept_unissued_state,
            cors_allowed_origins,
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

impl Settings {
    /// The default redirect URI, `{CLIENT_URL}/signin`.
    pub fn default_redirect_uri(&self) -> String {
        format!("{}/signin", self.client_url)
    }

    /// Whether the MongoDB URI is set (the secret itself stays hidden).
    pub fn uses_mongodb(&self) -> bool {
        self.mongodb_uri
            .as_ref()
            .is_some_and(|u| !u.expose_secret().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut all = vec![
            ("JWT_SECRET".to_owned(), "s".repeat(32)),
            ("WORKOS_API_KEY".to_owned(), "sk_test_x".to_owned()),
            ("WORKOS_CLIENT_ID".to_owned(), "client_x".to_owned()),
        ];
        for (k, v) in pairs {
            all.retain(|(key, _)| key != k);
            all.push(((*k).to_owned(), (*v).to_owned()));
        }
        all
    }

    #[test]
    fn minimal_environment_gives_the_documented_defaults() {
        let s = Settings::load_from(None, env(&[])).unwrap();
        assert_eq!(s.port, 3000);
        assert_eq!(s.workos_base_url, "https://api.workos.com");
        assert_eq!(s.default_redirect_uri(), "http://localhost:5173/signin");
        assert!(s.mongodb_uri.is_none());
        assert_eq!(s.provisioning.default_role, AccessRole::SalesRep);
        assert_eq!(s.session_defaults, SessionConfig::default());
        assert_eq!(s.lifetimes, SessionLifetimes::default());
        assert!(!s.accept_unissued_state, "state checking is strict by default");
    }

    #[test]
    fn unissued_states_can_be_accepted_by_setting() {
        let s = Settings::load_from(None, env(&[("ACCEPT_UNISSUED_STATE", "true")])).unwrap();
        assert!(s.accept_unissued_state);
        let err = Settings::load_from(None, env(&[("ACCEPT_UNISSUED_STATE", "maybe")])).unwrap_err();
        assert!(err.to_string().contains("accept_unissued_state"), "{err}");
    }

    #[test]
    fn a_31_byte_jwt_secret_stops_start_up_naming_it() {
        let err = Settings::load_from(None, env(&[("JWT_SECRET", &"x".repeat(31))])).unwrap_err();
        assert_eq!(err.key, "JWT_SECRET");
        assert!(
            !err.to_string().contains(&"x".repeat(31)),
            "the secret is not echoed"
        );
    }

    #[test]
    fn a_missing_jwt_secret_stops_start_up() {
        let without: Vec<_> = env(&[]).into_iter().filter(|(k, _)| k != "JWT_SECRET").collect();
        assert_eq!(Settings::load_from(None, without).unwrap_err().key, "JWT_SECRET");
    }

    #[test]
    fn a_malformed_default_organization_id_stops_start_up_naming_it() {
        let err = Settings::load_from(None, env(&[("DEFAULT_ORGANIZATION_ID", "org_01HX9R3K")])).unwrap_err();
        assert_eq!(err.key, "DEFAULT_ORGANIZATION_ID");
        let ok = Settings::load_from(
            None,
            env(&[("DEFAULT_ORGANIZATION_ID", "64a1b2c3d4e5f60012345678")]),
        )
        .unwrap();
        assert!(ok.provisioning.default_organization_id.is_some());
    }

    #[test]
    fn environment_names_of_the_product_are_read() {
        let s = Settings::load_from(
            None,
            env(&[
                ("PORT", "8081"),
                ("MONGODB_URI", "mongodb://127.0.0.1:27017/app"),
                ("WORKOS_BASE_URL", "http://127.0.0.1:4100/"),
                ("CLIENT_URL", "https://app.tether.example"),
                (
                    "ALLOWED_REDIRECT_URIS",
                    "https://app.tether.example/auth/callback,http://localhost:3000/x",
                ),
                ("SESSION__TOKEN_EXPIRY_HOURS", "2"),
                ("DEFAULT_ROLE", "ADMIN"),
            ]),
        )
        .unwrap();
        assert_eq!(s.port, 8081);
        assert!(s.uses_mongodb());
        assert_eq!(s.workos_base_url, "http://127.0.0.1:4100");
        assert_eq!(s.allowed_redirect_uris.len(), 2);
        assert_eq!(s.session_defaults.fields().token_expiry_hours, 2);
        assert_eq!(s.provisioning.default_role, AccessRole::Admin);
    }

    #[test]
    fn bad_values_name_their_setting() {
        for (key, value) in [
            ("PORT", "http"),
            ("WORKOS_BASE_URL", "api.workos.com"),
            ("DEFAULT_ROLE", "OWNER"),
            ("SESSION__WARNING_TIME_MINUTES", "45"),
            ("SESSION__SSO_FALLBACK_BEHAVIOR", "explode"),
            ("REFRESH_TOKEN_TTL_DAYS", "0"),
            ("LOG_FORMAT", "xml"),
        ] {
            let err = Settings::load_from(None, env(&[(key, value)])).unwrap_err();
            let text = err.to_string().to_lowercase();
            assert!(
                text.contains(&key.to_lowercase()) || err.key == key,
                "{key}: {err}"
            );
        }
    }

    #[test]
    fn a_config_file_is_read_and_the_environment_wins_over_it() {
        let dir = std::env::temp_dir().join(format!("tether-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.toml");
        std::fs::write(
            &path,
            "port = 4000\nallowed_redirect_uris = [\"https://a.example/cb\"]\n[session]\nidle_timeout_minutes = 60\n",
        )
        .unwrap();
        let s = Settings::load_from(Some(path.clone()), env(&[("PORT", "5000")])).unwrap();
        assert_eq!(s.port, 5000);
        assert_eq!(s.allowed_redirect_uris, ["https://a.example/cb"]);
        assert_eq!(s.session_defaults.fields().idle_timeout_minutes, 60);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn the_refresh_reuse_grace_window_defaults_to_ten_seconds() {
        let s = Settings::load_from(None, env(&[])).unwrap();
        assert_eq!(s.refresh_policy, RefreshPolicy::default());
        assert_eq!(s.refresh_policy.reuse_grace_seconds, 10);
    }

    #[test]
    fn the_refresh_reuse_grace_window_is_read_from_the_environment_from_zero_to_three_hundred() {
        for (raw, seconds) in [("0", 0), ("45", 45), ("300", 300)] {
            let s = Settings::load_from(None, env(&[("REFRESH_REUSE_GRACE_SECONDS", raw)])).unwrap();
            assert_eq!(s.refresh_policy.reuse_grace_seconds, seconds, "{raw}");
        }
    }

    #[test]
    fn a_refresh_reuse_grace_window_out_of_range_or_not_a_number_stops_start_up_naming_it() {
        for bad in ["301", "-1", "ten"] {
            let err = Settings::load_from(None, env(&[("REFRESH_REUSE_GRACE_SECONDS", bad)])).unwrap_err();
            assert!(
                err.key == "REFRESH_REUSE_GRACE_SECONDS"
                    || err
                        .to_string()
                        .to_lowercase()
                        .contains("refresh_reuse_grace_seconds"),
                "{bad}: {err}"
            );
        }
    }
}
