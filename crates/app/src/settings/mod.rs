//! Settings: built-in defaults, then an optional TOML file, then the environment
//! (the product's variable names: `MONGODB_URI`, `JWT_SECRET`, `WORKOS_API_KEY`,
//! `WORKOS_CLIENT_ID`, `WORKOS_BASE_URL`, `CLIENT_URL`, `DEFAULT_ORGANIZATION_ID`,
//! `PORT`, ...). Everything is validated at start; a bad value stops start-up with a
//! message naming the setting by its environment name, and an unknown key in the file
//! is refused. Secrets may also come from files (`JWT_SECRET_FILE`, ...).

//!
//! Each concern validates its own settings in a file of its own, into its section of
//! [`Settings`]: [`HttpSettings`], [`LimitSettings`], [`MongoSettings`],
//! [`WorkosSettings`], [`EventSettings`], [`TokenSettings`], [`ProvisioningSettings`] and the session
//! defaults ([`RawSessionDefaults`]). This module reads them (file and environment,
//! unknown keys refused, errors naming the environment variable), lists them for
//! `check-config` and gathers the sections.

mod audit;
mod events;
mod http;
mod limits;
mod mongo;
mod provisioning;
mod session;
mod tokens;
mod values;
mod workos;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tether_domain::{AccessRole, SessionConfig};
use tether_mongo::MongoConfig;

pub use self::audit::AuditSettings;
pub use self::events::{EventSettings, EventsMode};
pub use self::http::HttpSettings;
pub use self::limits::LimitSettings;
use self::mongo::DEFAULT_MONGODB_MAX_POOL_SIZE;
pub use self::mongo::{MongoSettings, StoreKind};
pub use self::provisioning::ProvisioningSettings;
pub use self::session::RawSessionDefaults;
pub use self::tokens::TokenSettings;
use self::values::string_or_list;
pub use self::workos::WorkosSettings;
pub use crate::settings_error::SettingsError;

/// Settings as read, before validation. Field names are the lower-cased environment names;
/// they are also the only keys the TOML file may use.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct RawSettings {
    host: String,
    port: u16,
    store: String,
    memory_seed: Option<PathBuf>,
    mongodb_uri: Option<String>,
    mongodb_uri_file: Option<PathBuf>,
    mongodb_database: Option<String>,
    mongodb_timeout_ms: u64,
    mongodb_max_pool_size: u32,
    jwt_secret: Option<String>,
    jwt_secret_file: Option<PathBuf>,
    state_secret: Option<String>,
    state_secret_file: Option<PathBuf>,
    jwt_issuer: Option<String>,
    jwt_audience: Option<String>,
    jwt_signing_keys: Option<String>,
    jwt_signing_keys_file: Option<PathBuf>,
    workos_api_key: Option<String>,
    workos_api_key_file: Option<PathBuf>,
    workos_client_id: Option<String>,
    workos_base_url: String,
    workos_connect_timeout_ms: u64,
    workos_timeout_ms: u64,
    workos_backoff_max_seconds: u64,
    workos_events: String,
    workos_events_poll_seconds: u64,
    workos_events_lease_seconds: u64,
    workos_webhook_secret: Option<String>,
    workos_webhook_secret_file: Option<PathBuf>,
    audit_retention_days: u32,
    client_url: String,
    #[serde(deserialize_with = "string_or_list")]
    allowed_redirect_uris: Vec<String>,
    default_organization_id: Option<String>,
    default_role: String,
    default_conversation_open_preference: String,
    join_oldest_organization: bool,
    refresh_token_ttl_days: u32,
    session_absolute_lifetime_days: u32,
    refresh_reuse_grace_seconds: u32,
    log_format: String,
    accept_unissued_state: bool,
    require_client_challenge: bool,
    mongodb_command_metrics: bool,
    http_workers: usize,
    request_body_timeout_ms: u64,
    rate_limit_per_minute: u32,
    refresh_rate_limit_per_minute: u32,
    #[serde(deserialize_with = "string_or_list")]
    trusted_proxies: Vec<String>,
    metrics_port: u16,
    #[serde(deserialize_with = "string_or_list")]
    cors_allowed_origins: Vec<String>,
    session: RawSessionDefaults,
}

impl Default for RawSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 3000,
            store: "mongodb".into(),
            memory_seed: None,
            mongodb_uri: None,
            mongodb_uri_file: None,
            mongodb_database: None,
            mongodb_timeout_ms: 3000,
            mongodb_max_pool_size: DEFAULT_MONGODB_MAX_POOL_SIZE,
            jwt_secret: None,
            jwt_secret_file: None,
            state_secret: None,
            state_secret_file: None,
            jwt_issuer: None,
            jwt_audience: None,
            jwt_signing_keys: None,
            jwt_signing_keys_file: None,
            workos_api_key: None,
            workos_api_key_file: None,
            workos_client_id: None,
            workos_base_url: "https://api.workos.com".into(),
            workos_connect_timeout_ms: 3000,
            workos_timeout_ms: 10_000,
            workos_backoff_max_seconds: 60,
            workos_events: "poll".into(),
            workos_events_poll_seconds: 10,
            workos_events_lease_seconds: 30,
            workos_webhook_secret: None,
            workos_webhook_secret_file: None,
            audit_retention_days: 365,
            client_url: "http://localhost:5173".into(),
            allowed_redirect_uris: Vec::new(),
            default_organization_id: None,
            default_role: AccessRole::SalesRep.as_str().into(),
            default_conversation_open_preference: "split".into(),
            join_oldest_organization: true,
            refresh_token_ttl_days: 30,
            session_absolute_lifetime_days: 30,
            refresh_reuse_grace_seconds: 10,
            log_format: "text".into(),
            accept_unissued_state: false,
            require_client_challenge: false,
            mongodb_command_metrics: false,
            http_workers: 0,
            request_body_timeout_ms: 10_000,
            rate_limit_per_minute: 60,
            refresh_rate_limit_per_minute: 600,
            trusted_proxies: Vec::new(),
            metrics_port: 9464,
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

impl LogFormat {
    /// `LOG_FORMAT`: `text` or `json`.
    fn parse(value: &str) -> Result<Self, SettingsError> {
        match value.trim() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(SettingsError::new("LOG_FORMAT", "must be text or json")),
        }
    }
}

/// Validated settings, one section per concern.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The listener and the browser in front of it.
    pub http: HttpSettings,
    /// Per-client limits.
    pub limits: LimitSettings,
    /// The store and, with MongoDB, how to reach it.
    pub mongo: MongoSettings,
    /// How to reach WorkOS.
    pub workos: WorkosSettings,
    /// How WorkOS events reach the service (polling, webhooks).
    pub events: EventSettings,
    /// How the audit trail is kept.
    pub audit: AuditSettings,
    /// What signs and keys the tokens, and how long they live.
    pub tokens: TokenSettings,
    /// Who new users are and where they go, and the login checks.
    pub provisioning: ProvisioningSettings,
    /// Global session defaults.
    pub session: SessionConfig,
    /// Log format.
    pub log_format: LogFormat,
    /// Every setting by its environment name with its effective value, secrets redacted
    /// (what `tether-auth check-config` prints).
    effective: Vec<(String, String)>,
}

impl Settings {
    /// Reads defaults, then the file named by `TETHER_CONFIG` (or `config/tether-auth.toml`
    /// if present), then the process environment; validates the result.
    pub fn load() -> Result<Self, SettingsError> {
        Self::load_from(settings_file(), std::env::vars())
    }

    /// Like [`Settings::load`] with an explicit file and environment (for tests).
    pub fn load_from(
        file: Option<PathBuf>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        raw_settings(file, env)?.validate()
    }

    /// The HTTP workers to run: `HTTP_WORKERS`, or one per CPU core when it is 0, with
    /// MongoDB at most `MONGODB_MAX_POOL_SIZE` (each worker has a pool of its own).
    pub fn workers(&self) -> usize {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        match (self.http.workers, self.mongo.store) {
            (0, StoreKind::MongoDb) => cores.min(self.mongo.max_pool_size as usize),
            (0, StoreKind::Memory) => cores,
            (workers, _) => workers,
        }
    }

    /// The pool of each worker's MongoDB client: an equal share of
    /// `MONGODB_MAX_POOL_SIZE` (at least 1), so that the workers' pools together hold at
    /// most `MONGODB_MAX_POOL_SIZE` connections to each server.
    pub fn pool_per_worker(&self) -> u32 {
        let workers = u32::try_from(self.workers()).unwrap_or(u32::MAX).max(1);
        (self.mongo.max_pool_size / workers).max(1)
    }

    /// Every setting by its environment name with its effective value; secrets show as
    /// `<redacted>` (or `(unset)`), never their value.
    pub fn effective(&self) -> &[(String, String)] {
        &self.effective
    }
}

/// The file named by `TETHER_CONFIG`, else `config/tether-auth.toml` when it exists.
fn settings_file() -> Option<PathBuf> {
    std::env::var_os("TETHER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("config/tether-auth.toml")).filter(|p| p.exists()))
}

/// Defaults, then the file, then the environment, parsed but not validated.
fn raw_settings(
    file: Option<PathBuf>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<RawSettings, SettingsError> {
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
        refuse_unknown_keys(&path)?;
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
    builder
        .build()
        .and_then(|c| c.try_deserialize())
        .map_err(config_error)
}

/// Where the service listens (`HOST`, `PORT`): all that `tether-auth healthcheck`
/// reads, so it works next to a service whose secrets it is not given.
pub fn load_address() -> Result<(String, u16), SettingsError> {
    load_address_from(settings_file(), std::env::vars())
}

/// Like [`load_address`] with an explicit file and environment (for tests).
pub fn load_address_from(
    file: Option<PathBuf>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(String, u16), SettingsError> {
    let raw = raw_settings(file, env)?;
    Ok((raw.host, raw.port))
}

/// The MongoDB settings (`MONGODB_URI` or `MONGODB_URI_FILE`, required;
/// `MONGODB_DATABASE`, `MONGODB_TIMEOUT_MS`, `MONGODB_MAX_POOL_SIZE`,
/// `MONGODB_COMMAND_METRICS`): all that the `organizations` commands read.
pub fn load_mongo() -> Result<MongoConfig, SettingsError> {
    load_mongo_from(settings_file(), std::env::vars())
}

/// Like [`load_mongo`] with an explicit file and environment (for tests).
pub fn load_mongo_from(
    file: Option<PathBuf>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<MongoConfig, SettingsError> {
    MongoSettings::connection(raw_settings(file, env)?)
}

/// The environment name of a key of the settings (`session.idle_timeout_minutes` ->
/// `SESSION__IDLE_TIMEOUT_MINUTES`).
fn env_name(key: &str) -> String {
    key.replace('.', "__").to_ascii_uppercase()
}

/// A `config` error as a [`SettingsError`] naming the environment name of the setting.
fn config_error(error: config::ConfigError) -> SettingsError {
    use config::ConfigError as E;
    match error {
        E::Type {
            origin,
            unexpected,
            expected,
            key: Some(key),
        } => SettingsError::new(
            &env_name(&key),
            format!(
                "expected {expected}, got {unexpected}{}",
                origin_note(origin.as_deref())
            ),
        ),
        E::At {
            error,
            origin,
            key: Some(key),
        } => {
            let inner = match *error {
                E::Type {
                    unexpected, expected, ..
                } => format!("expected {expected}, got {unexpected}"),
                E::Message(m) => m,
                other => other.to_string(),
            };
            SettingsError::new(
                &env_name(&key),
                format!("{inner}{}", origin_note(origin.as_deref())),
            )
        }
        E::FileParse { uri, cause } => SettingsError::new(
            "TETHER_CONFIG",
            format!(
                "cannot read {}: {}",
                uri.as_deref().unwrap_or("the settings file"),
                without_quoted_source(&cause.to_string())
            ),
        ),
        other => SettingsError::new("settings", other.to_string()),
    }
}

fn origin_note(origin: Option<&str>) -> String {
    match origin {
        Some(o) if o != "the environment" => format!(" (in {o})"),
        _ => String::new(),
    }
}

/// The field names a derived `Deserialize` of a struct accepts, read from the derive
/// itself so that a new setting is known here without a second list.
fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    struct Fields<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Fields<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(serde::de::Error::custom("fields read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Fields(&mut fields));
    fields
}

/// Refuses a key of the TOML file that is no setting (a typo would otherwise be ignored).
fn refuse_unknown_keys(path: &std::path::Path) -> Result<(), SettingsError> {
    let table = config::Config::builder()
        .add_source(config::File::from(path))
        .build()
        .and_then(|c| c.try_deserialize::<std::collections::HashMap<String, config::Value>>())
        .map_err(config_error)?;
    let top = field_names::<RawSettings>();
    let session = field_names::<RawSessionDefaults>();
    let unknown = |key: &str| {
        SettingsError::new(
            "TETHER_CONFIG",
            format!(
                "unknown key `{key}` in {} (keys are the lower-cased environment names)",
                path.display()
            ),
        )
    };
    for (key, value) in table {
        if !top.contains(&key.as_str()) {
            return Err(unknown(&key));
        }
        if key == "session" {
            let inner = value.into_table().map_err(|_| {
                SettingsError::new(
                    "TETHER_CONFIG",
                    format!("`session` in {} must be a table", path.display()),
                )
            })?;
            if let Some(sub) = inner.keys().find(|k| !session.contains(&k.as_str())) {
                return Err(unknown(&format!("session.{sub}")));
            }
        }
    }
    Ok(())
}

/// A parse error of the settings file without the lines of the file it quotes (the
/// parser shows the offending line, which may hold a secret): its position and reason.
fn without_quoted_source(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.contains('|'))
        .collect::<Vec<_>>()
        .join(": ")
}

/// Whether the setting of this (lower-case) name is a secret that is never printed.
fn is_secret(name: &str) -> bool {
    name.ends_with("secret")
        || name.ends_with("api_key")
        || name == "mongodb_uri"
        || name == "jwt_signing_keys"
}

/// The raw settings by environment name, secrets redacted.
fn effective(raw: &RawSettings) -> Vec<(String, String)> {
    fn show(value: &serde_json::Value) -> String {
        match value {
            serde_json::Value::Null => "(unset)".into(),
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(items) => items.iter().map(show).collect::<Vec<_>>().join(","),
            other => other.to_string(),
        }
    }
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
        if let serde_json::Value::Object(map) = value {
            for (key, value) in map {
                let name = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                if value.is_object() {
                    walk(&name, value, out);
                } else if is_secret(key) {
                    let set = !value.is_null() && value.as_str().is_none_or(|s| !s.trim().is_empty());
                    out.push((env_name(&name), if set { "<redacted>" } else { "(unset)" }.into()));
                } else {
                    out.push((env_name(&name), show(value)));
                }
            }
        }
    }
    let mut out = Vec::new();
    walk("", &serde_json::to_value(raw).unwrap_or_default(), &mut out);
    out
}

impl RawSettings {
    /// Each section validates its own settings; the listing shows what is in force.
    fn validate(mut self) -> Result<Settings, SettingsError> {
        let mut effective = effective(&self);
        let (tokens, keys_shown) = TokenSettings::validate(&mut self)?;
        let workos = WorkosSettings::validate(&mut self)?;
        let events = EventSettings::validate(&mut self)?;
        let audit = AuditSettings::validate(&self)?;
        let mongo = MongoSettings::validate(&mut self)?;
        let provisioning = ProvisioningSettings::validate(&mut self)?;
        let http = HttpSettings::validate(&mut self)?;
        let session = self.session.validate()?;
        let log_format = LogFormat::parse(&self.log_format)?;
        mongo.holds(http.workers)?;
        let limits = LimitSettings::validate(&self)?;
        // `check-config` shows the keys in force, secrets read from files as set, and
        // the origins in force (the one derived from CLIENT_URL too).
        let mut show = |name: &str, value: String| {
            if let Some(entry) = effective.iter_mut().find(|(k, _)| k == name) {
                entry.1 = value;
            }
        };
        show("JWT_SIGNING_KEYS", keys_shown);
        for (name, set) in [
            ("JWT_SECRET", tokens.jwt_secret.is_some()),
            ("STATE_SECRET", tokens.state_secret.is_some()),
            ("WORKOS_API_KEY", true),
            ("WORKOS_WEBHOOK_SECRET", events.webhook_secret.is_some()),
            ("MONGODB_URI", mongo.uri.is_some()),
        ] {
            show(name, if set { "<redacted>" } else { "(unset)" }.into());
        }
        show("CORS_ALLOWED_ORIGINS", http.cors_allowed_origins.join(","));
        Ok(Settings {
            http,
            limits,
            mongo,
            workos,
            events,
            audit,
            tokens,
            provisioning,
            session,
            log_format,
            effective,
        })
    }
}

#[cfg(test)]
mod tests;
