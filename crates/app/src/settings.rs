//! Settings: built-in defaults, then an optional TOML file, then the environment
//! (the product's variable names: `MONGODB_URI`, `JWT_SECRET`, `WORKOS_API_KEY`,
//! `WORKOS_CLIENT_ID`, `WORKOS_BASE_URL`, `CLIENT_URL`, `DEFAULT_ORGANIZATION_ID`,
//! `PORT`, ...). Everything is validated at start; a bad value stops start-up with a
//! message naming the setting by its environment name, and an unknown key in the file
//! is refused. Secrets may also come from files (`JWT_SECRET_FILE`, ...).

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tether_domain::RefreshPolicy;
use tether_domain::{
    AccessRole, OrganizationId, PasswordFallbackBehavior, ProvisioningPolicy, SessionConfig, SessionFields,
    SessionLifetimes, SsoFallbackBehavior,
};
use tether_mongo::MongoConfig;

pub use crate::settings_error::SettingsError;

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

/// Where users, organizations, refresh tokens and login states live (`STORE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// MongoDB at `MONGODB_URI` (the default; the URI is required).
    MongoDb,
    /// This process's memory: nothing persists, nothing is shared between replicas.
    Memory,
}

impl StoreKind {
    /// The setting's value: `mongodb` or `memory`.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::MongoDb => "mongodb",
            StoreKind::Memory => "memory",
        }
    }
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to bind.
    pub host: String,
    /// Port to bind (0 picks a free one).
    pub port: u16,
    /// Which store to use (`STORE`, default `mongodb`).
    pub store: StoreKind,
    /// Organizations and users to create in the in-memory store (`MEMORY_SEED`, a JSON
    /// file; only with `STORE=memory`).
    pub memory_seed: Option<crate::seed::MemorySeed>,
    /// The MongoDB connection string (`MONGODB_URI` or `MONGODB_URI_FILE`); set exactly
    /// when the store is MongoDB.
    pub mongodb_uri: Option<SecretString>,
    /// Database name override.
    pub mongodb_database: Option<String>,
    /// Server-selection, connect and per-operation time-out of MongoDB
    /// (`MONGODB_TIMEOUT_MS`, default 3000).
    pub mongodb_timeout: Duration,
    /// Most connections to each MongoDB server that the HTTP workers' pools of the
    /// process hold together: each worker's client gets an equal share
    /// (`MONGODB_MAX_POOL_SIZE`, default 20, 1–500; at least `HTTP_WORKERS`).
    pub mongodb_max_pool_size: u32,
    /// HS256 secret, at least 32 bytes (`JWT_SECRET` or `JWT_SECRET_FILE`): signs when
    /// `JWT_SIGNING_KEYS` is unset, keys login states when `STATE_SECRET` is unset; unset
    /// only when both are set.
    pub jwt_secret: Option<SecretString>,
    /// The login-state key (`STATE_SECRET` or `STATE_SECRET_FILE`), when set.
    pub state_secret: Option<SecretString>,
    /// `iss` claim.
    pub jwt_issuer: Option<String>,
    /// `aud` claim.
    pub jwt_audience: Option<String>,
    /// The keys of access tokens: `JWT_SIGNING_KEYS` (or `_FILE`), else the one HS256
    /// key of `JWT_SECRET`.
    pub signing_keys: tether_jwt::SigningKeys,
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
    /// Longest `Retry-After` honoured after a WorkOS 429 (`WORKOS_BACKOFF_MAX_SECONDS`,
    /// default 60, 1–3600); each WorkOS API keeps its own window.
    pub workos_backoff_max: Duration,
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
    /// Refuse a login start without a `client_challenge` (`REQUIRE_CLIENT_CHALLENGE`,
    /// default false, for SPAs not yet updated).
    pub require_client_challenge: bool,
    /// Count the commands sent to MongoDB by name in `tether_mongodb_commands_total`
    /// (`MONGODB_COMMAND_METRICS`, default false).
    pub mongodb_command_metrics: bool,
    /// Threads answering HTTP requests (`HTTP_WORKERS`, default 0: one per CPU core,
    /// with MongoDB at most `MONGODB_MAX_POOL_SIZE`); see [`Settings::workers`].
    pub http_workers: usize,
    /// Every setting by its environment name with its effective value, secrets redacted
    /// (what `tether-auth check-config` prints).
    effective: Vec<(String, String)>,
    /// How long a request body may take to arrive (`REQUEST_BODY_TIMEOUT_MS`, default 10000).
    pub request_body_timeout: Duration,
    /// Requests a minute (and burst) per client address on the unauthenticated auth
    /// routes (`RATE_LIMIT_PER_MINUTE`, default 60; 0 turns the limit off).
    pub rate_limit_per_minute: u32,
    /// Requests a minute (and burst) per client address on `POST /api/auth/refresh`, a
    /// budget apart from the login routes' (`REFRESH_RATE_LIMIT_PER_MINUTE`, default 600;
    /// 0 turns it off).
    pub refresh_rate_limit_per_minute: u32,
    /// Proxies whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`, CIDRs; default none).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Port of the metrics listener on `HOST` (`METRICS_PORT`, default 9464; 0 turns it off).
    pub metrics_port: u16,
    /// Browser origins allowed to call the API (`CORS_ALLOWED_ORIGINS`; default the
    /// origin of `CLIENT_URL`).
    pub cors_allowed_origins: Vec<String>,
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
        match (self.http_workers, self.store) {
            (0, StoreKind::MongoDb) => cores.min(self.mongodb_max_pool_size as usize),
            (0, StoreKind::Memory) => cores,
            (workers, _) => workers,
        }
    }

    /// The pool of each worker's MongoDB client: an equal share of
    /// `MONGODB_MAX_POOL_SIZE` (at least 1), so that the workers' pools together hold at
    /// most `MONGODB_MAX_POOL_SIZE` connections to each server.
    pub fn pool_per_worker(&self) -> u32 {
        let workers = u32::try_from(self.workers()).unwrap_or(u32::MAX).max(1);
        (self.mongodb_max_pool_size / workers).max(1)
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
    let mut raw = raw_settings(file, env)?;
    let uri = secret_from("MONGODB_URI", raw.mongodb_uri.take(), raw.mongodb_uri_file.take())?.ok_or_else(
        || {
            SettingsError::new(
                "MONGODB_URI",
                "is required: the organizations live in MongoDB (or set MONGODB_URI_FILE)",
            )
        },
    )?;
    let timeout = millis("MONGODB_TIMEOUT_MS", raw.mongodb_timeout_ms)?;
    let max_pool_size = max_pool_size(raw.mongodb_max_pool_size)?;
    Ok(MongoConfig {
        uri: SecretString::from(uri),
        database: non_empty(raw.mongodb_database),
        server_selection_timeout: timeout,
        connect_timeout: timeout,
        operation_timeout: timeout,
        count_commands: raw.mongodb_command_metrics,
        max_pool_size: Some(max_pool_size),
    })
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

/// A secret given as a value (`NAME`) or as a file (`NAME_FILE`, e.g. a mounted
/// Kubernetes Secret), never both, and used exactly as given: a value with leading or
/// trailing white space is refused (not trimmed: other services using the raw value
/// would disagree with this one). A file's content is used as is, less one trailing
/// line break (`\n` or `\r\n`), as editors and `echo` write it; any other surrounding
/// white space in it is refused too.
fn secret_from(
    name: &str,
    value: Option<String>,
    file: Option<PathBuf>,
) -> Result<Option<String>, SettingsError> {
    let file_name = format!("{name}_FILE");
    let exact = |key: &str, v: String| {
        if v.trim() == v {
            Ok(v)
        } else {
            Err(SettingsError::new(
                key,
                "has leading or trailing white space (a newline?); secrets are used exactly as given",
            ))
        }
    };
    match (value.filter(|v| !v.is_empty()), file) {
        (Some(_), Some(_)) => Err(SettingsError::new(
            name,
            format!("is set both as {name} and as {file_name}; set only one"),
        )),
        (value, None) => value.map(|v| exact(name, v)).transpose(),
        (None, Some(path)) => {
            let mut content = std::fs::read_to_string(&path).map_err(|e| {
                SettingsError::new(&file_name, format!("cannot read {}: {e}", path.display()))
            })?;
            if content.ends_with('\n') {
                content.pop();
                if content.ends_with('\r') {
                    content.pop();
                }
            }
            if content.is_empty() {
                return Err(SettingsError::new(
                    &file_name,
                    format!("{} is empty", path.display()),
                ));
            }
            exact(&file_name, content).map(Some)
        }
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

/// Whether the setting of this (lower-case) name is a secret that is never printed.
fn is_secret(name: &str) -> bool {
    name.ends_with("secret")
        || name.ends_with("api_key")
        || name == "mongodb_uri"
        || name == "jwt_signing_keys"
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
    fn validate(mut self) -> Result<Settings, SettingsError> {
        let mut effective = effective(&self);
        let jwt_secret = secret_from("JWT_SECRET", self.jwt_secret.take(), self.jwt_secret_file.take())?;
        long_enough("JWT_SECRET", jwt_secret.as_ref())?;
        let state_secret = secret_from(
            "STATE_SECRET",
            self.state_secret.take(),
            self.state_secret_file.take(),
        )?;
        long_enough("STATE_SECRET", state_secret.as_ref())?;
        let (signing_keys, keys_shown) = signing_keys(
            self.jwt_signing_keys.take(),
            self.jwt_signing_keys_file.take(),
            jwt_secret.as_deref(),
        )?;
        if let Some(entry) = effective.iter_mut().find(|(k, _)| k == "JWT_SIGNING_KEYS") {
            entry.1 = keys_shown;
        }
        if jwt_secret.is_none() && state_secret.is_none() {
            return Err(SettingsError::new(
                "JWT_SECRET",
                "is required (at least 32 bytes) unless STATE_SECRET is set: it keys the login states",
            ));
        }
        let workos_api_key = secret_from(
            "WORKOS_API_KEY",
            self.workos_api_key.take(),
            self.workos_api_key_file.take(),
        )?
        .ok_or_else(|| SettingsError::new("WORKOS_API_KEY", "is required"))?;
        let mongodb_uri = secret_from(
            "MONGODB_URI",
            self.mongodb_uri.take(),
            self.mongodb_uri_file.take(),
        )?;
        let store = match self.store.trim() {
            "mongodb" => StoreKind::MongoDb,
            "memory" => StoreKind::Memory,
            _ => return Err(SettingsError::new("STORE", "must be mongodb or memory")),
        };
        match (store, &mongodb_uri) {
            (StoreKind::MongoDb, None) => {
                return Err(SettingsError::new(
                    "MONGODB_URI",
                    "is required with STORE=mongodb (the default); set MONGODB_URI (or MONGODB_URI_FILE), \
                     or STORE=memory for a non-persistent single-process store",
                ));
            }
            (StoreKind::Memory, Some(_)) => {
                return Err(SettingsError::new(
                    "STORE",
                    "is memory but MONGODB_URI is set; unset one of them",
                ));
            }
            _ => {}
        }
        let memory_seed = match (store, self.memory_seed.take()) {
            (StoreKind::Memory, Some(path)) => Some(crate::seed::MemorySeed::read(&path)?),
            (StoreKind::MongoDb, Some(_)) => {
                return Err(SettingsError::new(
                    "MEMORY_SEED",
                    "is only used with STORE=memory",
                ));
            }
            (_, None) => None,
        };
        // Secrets read from files show as set.
        for (name, set) in [
            ("JWT_SECRET", jwt_secret.is_some()),
            ("STATE_SECRET", state_secret.is_some()),
            ("WORKOS_API_KEY", true),
            ("MONGODB_URI", mongodb_uri.is_some()),
        ] {
            if let Some(entry) = effective.iter_mut().find(|(k, _)| k == name) {
                entry.1 = if set { "<redacted>" } else { "(unset)" }.into();
            }
        }
        let workos_client_id = non_empty(self.workos_client_id)
            .ok_or_else(|| SettingsError::new("WORKOS_CLIENT_ID", "is required"))?;
        let default_organization_id = non_empty(self.default_organization_id)
            .map(|raw| {
                OrganizationId::parse(&raw).map_err(|_| {
                    SettingsError::new(
                        "DEFAULT_ORGANIZATION_ID",
                        "must be a 24-character hexadecimal MongoDB ObjectId",
                    )
                })
            })
            .transpose()?;
        let default_role = AccessRole::parse(self.default_role.trim())
            .map_err(|e| SettingsError::new("DEFAULT_ROLE", e.to_string()))?;
        if matches!(default_role, AccessRole::Admin | AccessRole::Superadmin) {
            return Err(SettingsError::new(
                "DEFAULT_ROLE",
                "may not be ADMIN or SUPERADMIN: users created at sign-in get a least-privileged role \
                 (DEPARTMENT_HEAD or SALES_REP); promote them in the product",
            ));
        }
        let client_url = http_url("CLIENT_URL", &self.client_url)?;
        let cors_allowed_origins = crate::origins::allowed_origins(&self.cors_allowed_origins, &client_url)?;
        // `check-config` shows the origins in force, the one derived from CLIENT_URL too.
        if let Some(entry) = effective.iter_mut().find(|(k, _)| k == "CORS_ALLOWED_ORIGINS") {
            entry.1 = cors_allowed_origins.join(",");
        }
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
        let mongodb_max_pool_size = max_pool_size(self.mongodb_max_pool_size)?;
        if store == StoreKind::MongoDb && self.http_workers > mongodb_max_pool_size as usize {
            return Err(SettingsError::new(
                "MONGODB_MAX_POOL_SIZE",
                format!(
                    "must be at least HTTP_WORKERS ({}): each worker holds a MongoDB pool of at least one connection",
                    self.http_workers
                ),
            ));
        }
        Ok(Settings {
            host: self.host,
            port: self.port,
            store,
            memory_seed,
            mongodb_uri: mongodb_uri.map(SecretString::from),
            mongodb_database: non_empty(self.mongodb_database),
            mongodb_timeout: millis("MONGODB_TIMEOUT_MS", self.mongodb_timeout_ms)?,
            mongodb_max_pool_size,
            jwt_secret: jwt_secret.map(SecretString::from),
            state_secret: state_secret.map(SecretString::from),
            jwt_issuer: non_empty(self.jwt_issuer),
            jwt_audience: non_empty(self.jwt_audience),
            signing_keys,
            workos_api_key: SecretString::from(workos_api_key),
            workos_client_id,
            workos_base_url: http_url("WORKOS_BASE_URL", &self.workos_base_url)?,
            workos_connect_timeout: millis("WORKOS_CONNECT_TIMEOUT_MS", self.workos_connect_timeout_ms)?,
            workos_timeout: millis("WORKOS_TIMEOUT_MS", self.workos_timeout_ms)?,
            workos_backoff_max: backoff_max(self.workos_backoff_max_seconds)?,
            client_url,
            allowed_redirect_uris,
            provisioning: ProvisioningPolicy {
                default_role,
                default_conversation_open_preference: self.default_conversation_open_preference,
                default_organization_id,
                join_oldest_organization: self.join_oldest_organization,
            },
            session_defaults,
            lifetimes,
            refresh_policy,
            log_format,
            accept_unissued_state: self.accept_unissued_state,
            require_client_challenge: self.require_client_challenge,
            mongodb_command_metrics: self.mongodb_command_metrics,
            http_workers: self.http_workers,
            effective,
            request_body_timeout: millis("REQUEST_BODY_TIMEOUT_MS", self.request_body_timeout_ms)?,
            rate_limit_per_minute: rate_limit("RATE_LIMIT_PER_MINUTE", self.rate_limit_per_minute)?,
            refresh_rate_limit_per_minute: rate_limit(
                "REFRESH_RATE_LIMIT_PER_MINUTE",
                self.refresh_rate_limit_per_minute,
            )?,
            trusted_proxies: trusted_proxies(&self.trusted_proxies)?,
            metrics_port: metrics_port(self.metrics_port, self.port)?,
            cors_allowed_origins,
        })
    }
}

/// The pooled connections of a process: two workers with the driver's default pool
/// of 10 each.
const DEFAULT_MONGODB_MAX_POOL_SIZE: u32 = 20;

/// `MONGODB_MAX_POOL_SIZE`: 1 to 500 connections to each server.
fn max_pool_size(size: u32) -> Result<u32, SettingsError> {
    if !(1..=500).contains(&size) {
        return Err(SettingsError::new(
            "MONGODB_MAX_POOL_SIZE",
            "must be between 1 and 500 connections",
        ));
    }
    Ok(size)
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
            ("STORE".to_owned(), "memory".to_owned()),
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
        assert_eq!(err.key, "ACCEPT_UNISSUED_STATE", "{err}");
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
    fn secrets_with_surrounding_white_space_are_refused_naming_them() {
        let padded = format!("{}\n", "s".repeat(40));
        for key in ["JWT_SECRET", "STATE_SECRET", "WORKOS_API_KEY", "MONGODB_URI"] {
            let err = Settings::load_from(None, env(&[(key, &padded)])).unwrap_err();
            assert_eq!(err.key, key);
            assert!(err.message.contains("white space"), "{}", err.message);
            assert!(
                !err.to_string().contains(&"s".repeat(40)),
                "the value is not echoed"
            );
        }
        let leading = format!(" {}", "s".repeat(40));
        assert_eq!(
            Settings::load_from(None, env(&[("JWT_SECRET", &leading)]))
                .unwrap_err()
                .key,
            "JWT_SECRET"
        );
    }

    #[test]
    fn a_jwt_secret_is_used_exactly_as_given() {
        let secret = format!("{}!#", "k".repeat(40));
        let settings = Settings::load_from(None, env(&[("JWT_SECRET", &secret)])).unwrap();
        assert_eq!(settings.jwt_secret.unwrap().expose_secret(), secret);
    }

    #[test]
    fn a_state_secret_is_optional_and_must_be_32_bytes() {
        assert!(
            Settings::load_from(None, env(&[]))
                .unwrap()
                .state_secret
                .is_none()
        );
        let ok = Settings::load_from(None, env(&[("STATE_SECRET", &"t".repeat(32))])).unwrap();
        assert_eq!(ok.state_secret.unwrap().expose_secret(), "t".repeat(32));
        let err = Settings::load_from(None, env(&[("STATE_SECRET", &"t".repeat(31))])).unwrap_err();
        assert_eq!(err.key, "STATE_SECRET");
    }

    #[test]
    fn a_privileged_default_role_is_refused() {
        for role in ["ADMIN", "SUPERADMIN"] {
            let err = Settings::load_from(None, env(&[("DEFAULT_ROLE", role)])).unwrap_err();
            assert_eq!(err.key, "DEFAULT_ROLE", "{role}");
        }
        let ok = Settings::load_from(None, env(&[("DEFAULT_ROLE", "DEPARTMENT_HEAD")])).unwrap();
        assert_eq!(ok.provisioning.default_role, AccessRole::DepartmentHead);
    }

    #[test]
    fn joining_the_oldest_organization_is_on_unless_turned_off() {
        assert!(
            Settings::load_from(None, env(&[]))
                .unwrap()
                .provisioning
                .join_oldest_organization
        );
        let off = Settings::load_from(None, env(&[("JOIN_OLDEST_ORGANIZATION", "false")])).unwrap();
        assert!(!off.provisioning.join_oldest_organization);
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
                ("STORE", "mongodb"),
                ("MONGODB_URI", "mongodb://127.0.0.1:27017/app"),
                ("WORKOS_BASE_URL", "http://127.0.0.1:4100/"),
                ("CLIENT_URL", "https://app.tether.example"),
                (
                    "ALLOWED_REDIRECT_URIS",
                    "https://app.tether.example/auth/callback,http://localhost:3000/x",
                ),
                ("SESSION__TOKEN_EXPIRY_HOURS", "2"),
                ("DEFAULT_ROLE", "DEPARTMENT_HEAD"),
            ]),
        )
        .unwrap();
        assert_eq!(s.port, 8081);
        assert!(s.uses_mongodb());
        assert_eq!(s.workos_base_url, "http://127.0.0.1:4100");
        assert_eq!(s.allowed_redirect_uris.len(), 2);
        assert_eq!(s.session_defaults.fields().token_expiry_hours, 2);
        assert_eq!(s.provisioning.default_role, AccessRole::DepartmentHead);
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
            assert_eq!(err.key, key, "{err}");
        }
    }

    #[test]
    fn a_config_file_is_read_and_the_environment_wins_over_it() {
        let dir = test_dir("settings");
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
    fn limits_default_as_documented_and_are_read_from_the_environment() {
        let s = Settings::load_from(None, env(&[])).unwrap();
        assert_eq!(s.mongodb_timeout, Duration::from_millis(3000));
        assert_eq!(s.request_body_timeout, Duration::from_millis(10_000));
        assert_eq!(s.rate_limit_per_minute, 60);
        assert!(s.trusted_proxies.is_empty());
        assert_eq!(s.metrics_port, 9464);
        let s = Settings::load_from(
            None,
            env(&[
                ("REQUEST_BODY_TIMEOUT_MS", "500"),
                ("RATE_LIMIT_PER_MINUTE", "0"),
                ("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1,2001:db8::/32"),
                ("METRICS_PORT", "0"),
            ]),
        )
        .unwrap();
        assert_eq!(s.request_body_timeout, Duration::from_millis(500));
        assert_eq!(s.rate_limit_per_minute, 0);
        assert_eq!(s.trusted_proxies.len(), 3);
        assert!(s.trusted_proxies[1].contains(&"192.168.1.1".parse::<std::net::IpAddr>().unwrap()));
        assert_eq!(s.metrics_port, 0);
    }

    #[test]
    fn the_refresh_budget_the_workos_back_off_cap_and_the_browser_binding_are_settings() {
        let s = Settings::load_from(None, env(&[])).unwrap();
        assert_eq!(s.refresh_rate_limit_per_minute, 600);
        assert_eq!(s.workos_backoff_max, Duration::from_secs(60));
        assert!(!s.require_client_challenge);
        let s = Settings::load_from(
            None,
            env(&[
                ("REFRESH_RATE_LIMIT_PER_MINUTE", "0"),
                ("WORKOS_BACKOFF_MAX_SECONDS", "5"),
                ("REQUIRE_CLIENT_CHALLENGE", "true"),
            ]),
        )
        .unwrap();
        assert_eq!(s.refresh_rate_limit_per_minute, 0);
        assert_eq!(s.workos_backoff_max, Duration::from_secs(5));
        assert!(s.require_client_challenge);
        for (name, value) in [
            ("WORKOS_BACKOFF_MAX_SECONDS", "0"),
            ("WORKOS_BACKOFF_MAX_SECONDS", "3601"),
            ("REFRESH_RATE_LIMIT_PER_MINUTE", "1000001"),
        ] {
            let refused = Settings::load_from(None, env(&[(name, value)])).unwrap_err();
            assert!(
                refused.to_string().contains(&format!("setting {name}:")),
                "{refused}"
            );
        }
        let refused = Settings::load_from(
            None,
            env(&[(
                "TRUSTED_PROXIES",
                "REPLACE_ME_WITH_THE_INGRESS_CONTROLLER_ADDRESSES",
            )]),
        )
        .unwrap_err();
        assert!(
            refused.to_string().contains("setting TRUSTED_PROXIES"),
            "the manifest's placeholder: {refused}"
        );
    }

    #[test]
    fn limits_in_a_config_file_use_the_lower_case_names() {
        let dir = test_dir("limits");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("limits.toml");
        std::fs::write(
            &path,
            "request_body_timeout_ms = 2000\nrate_limit_per_minute = 5\ntrusted_proxies = [\"10.0.0.0/8\"]\nmetrics_port = 9999\n",
        )
        .unwrap();
        let s = Settings::load_from(Some(path.clone()), env(&[])).unwrap();
        assert_eq!(s.request_body_timeout, Duration::from_millis(2000));
        assert_eq!(s.rate_limit_per_minute, 5);
        assert_eq!(s.trusted_proxies.len(), 1);
        assert_eq!(s.metrics_port, 9999);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn bad_limits_name_their_setting() {
        for (key, value) in [
            ("MONGODB_TIMEOUT_MS", "0"),
            ("REQUEST_BODY_TIMEOUT_MS", "0"),
            ("REQUEST_BODY_TIMEOUT_MS", "soon"),
            ("RATE_LIMIT_PER_MINUTE", "2000000"),
            ("RATE_LIMIT_PER_MINUTE", "-1"),
            ("TRUSTED_PROXIES", "10.0.0.0/33"),
            ("TRUSTED_PROXIES", "proxy.internal"),
            ("METRICS_PORT", "70000"),
            ("METRICS_PORT", "3000"),
        ] {
            let err = Settings::load_from(None, env(&[(key, value)])).unwrap_err();
            assert!(
                err.key == key || err.to_string().to_lowercase().contains(&key.to_lowercase()),
                "{key}={value}: {err}"
            );
        }
    }

    #[test]
    fn the_mongodb_pool_size_defaults_to_twenty_and_is_bounded_naming_its_setting() {
        let s = Settings::load_from(None, env(&[])).unwrap();
        assert_eq!(s.mongodb_max_pool_size, 20);
        let s = Settings::load_from(None, env(&[("MONGODB_MAX_POOL_SIZE", "25")])).unwrap();
        assert_eq!(s.mongodb_max_pool_size, 25);
        for bad in ["0", "501", "ten"] {
            let e = Settings::load_from(None, env(&[("MONGODB_MAX_POOL_SIZE", bad)])).unwrap_err();
            assert_eq!(e.key, "MONGODB_MAX_POOL_SIZE", "{bad}");
        }
        let mongo = load_mongo_from(
            None,
            [
                (
                    "MONGODB_URI".to_owned(),
                    "mongodb://db.internal/tether".to_owned(),
                ),
                ("MONGODB_MAX_POOL_SIZE".to_owned(), "7".to_owned()),
            ],
        )
        .unwrap();
        assert_eq!(mongo.max_pool_size, Some(7));
    }

    #[test]
    fn the_workers_share_the_pool_size_and_never_outnumber_it() {
        let mongo = |pairs: &[(&str, &str)]| {
            let mut all = vec![
                ("STORE", "mongodb"),
                ("MONGODB_URI", "mongodb://db.internal/tether"),
            ];
            all.extend_from_slice(pairs);
            Settings::load_from(None, env(&all))
        };
        let s = mongo(&[("HTTP_WORKERS", "3"), ("MONGODB_MAX_POOL_SIZE", "10")]).unwrap();
        assert_eq!((s.workers(), s.pool_per_worker()), (3, 3));
        let s = mongo(&[("HTTP_WORKERS", "0"), ("MONGODB_MAX_POOL_SIZE", "1")]).unwrap();
        assert_eq!(
            (s.workers(), s.pool_per_worker()),
            (1, 1),
            "one per core, at most the pool size"
        );
        let e = mongo(&[("HTTP_WORKERS", "8"), ("MONGODB_MAX_POOL_SIZE", "4")]).unwrap_err();
        assert_eq!(e.key, "MONGODB_MAX_POOL_SIZE");
        // The in-memory store has no pool to share.
        let s = Settings::load_from(
            None,
            env(&[("HTTP_WORKERS", "8"), ("MONGODB_MAX_POOL_SIZE", "4")]),
        )
        .unwrap();
        assert_eq!(s.workers(), 8);
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
            assert_eq!(err.key, "REFRESH_REUSE_GRACE_SECONDS", "{bad}: {err}");
        }
    }

    /// A folder of this test process under the workspace's `target/tmp` (removed with
    /// the build output, not left in the system's temporary folder).
    fn test_dir(tag: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/tmp")
            .join(format!("tether-{tag}-{}", std::process::id()))
    }

    fn temp_file(name: &str, content: &str) -> PathBuf {
        let dir = test_dir("settings");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    #[test]
    fn every_type_error_names_the_environment_name() {
        for (key, value) in [
            ("PORT", "abc"),
            ("PORT", "70000"),
            ("MONGODB_TIMEOUT_MS", "soon"),
            ("ACCEPT_UNISSUED_STATE", "maybe"),
            ("SESSION__IDLE_TIMEOUT_MINUTES", "half"),
            ("SESSION__ENABLED", "perhaps"),
        ] {
            let err = Settings::load_from(None, env(&[(key, value)])).unwrap_err();
            assert_eq!(err.key, key, "{key}={value}: {err}");
            assert!(
                err.to_string().starts_with(&format!("invalid setting {key}:")),
                "{err}"
            );
        }
    }

    #[test]
    fn a_type_error_in_the_file_names_the_environment_name_too() {
        let path = temp_file("typed.toml", "port = \"abc\"\n");
        let err = Settings::load_from(Some(path), env(&[])).unwrap_err();
        assert_eq!(err.key, "PORT", "{err}");
    }

    #[test]
    fn the_store_defaults_to_mongodb_which_requires_its_uri() {
        let err = Settings::load_from(None, env(&[("STORE", "")])).unwrap_err();
        assert_eq!(err.key, "MONGODB_URI", "{err}");
        let s =
            Settings::load_from(None, env(&[("STORE", ""), ("MONGODB_URI", "mongodb://db:27017")])).unwrap();
        assert_eq!(s.store, StoreKind::MongoDb);
        assert!(s.uses_mongodb());
        let s = Settings::load_from(None, env(&[])).unwrap();
        assert_eq!(s.store, StoreKind::Memory);
        assert!(!s.uses_mongodb());
    }

    #[test]
    fn an_unknown_store_or_memory_with_a_uri_is_refused() {
        assert_eq!(
            Settings::load_from(None, env(&[("STORE", "redis")]))
                .unwrap_err()
                .key,
            "STORE"
        );
        let err = Settings::load_from(None, env(&[("MONGODB_URI", "mongodb://db:27017")])).unwrap_err();
        assert_eq!(err.key, "STORE", "{err}");
    }

    #[test]
    fn a_settings_file_that_does_not_parse_is_reported_without_its_lines() {
        let file = temp_file(
            "broken.toml",
            "port = 3000\njwt_secret = \"unterminated-very-secret-value\n",
        );
        let err = Settings::load_from(Some(file), env(&[])).unwrap_err();
        assert_eq!(err.key, "TETHER_CONFIG");
        assert!(err.message.contains("line 2"), "{}", err.message);
        assert!(!err.to_string().contains("very-secret"), "{err}");
    }

    #[test]
    fn secrets_are_read_from_files_less_one_trailing_line_break() {
        let jwt = temp_file("jwt", &format!("{}\n", "f".repeat(40)));
        let key = temp_file("key", "sk_from_file\r\n");
        let uri = temp_file("uri", "mongodb://user:pw@db:27017/x");
        let state = temp_file("state", &format!("{}\n", "t".repeat(32)));
        let pairs: Vec<(String, String)> = env(&[("STORE", "mongodb")])
            .into_iter()
            .filter(|(k, _)| k != "JWT_SECRET" && k != "WORKOS_API_KEY")
            .chain([
                ("JWT_SECRET_FILE".to_owned(), jwt.display().to_string()),
                ("WORKOS_API_KEY_FILE".to_owned(), key.display().to_string()),
                ("MONGODB_URI_FILE".to_owned(), uri.display().to_string()),
                ("STATE_SECRET_FILE".to_owned(), state.display().to_string()),
            ])
            .collect();
        let s = Settings::load_from(None, pairs).unwrap();
        assert_eq!(s.jwt_secret.unwrap().expose_secret(), "f".repeat(40));
        assert_eq!(s.workos_api_key.expose_secret(), "sk_from_file");
        assert_eq!(
            s.mongodb_uri.unwrap().expose_secret(),
            "mongodb://user:pw@db:27017/x"
        );
        assert_eq!(s.state_secret.unwrap().expose_secret(), "t".repeat(32));
        // Only one line break is taken off; more white space is refused, not trimmed.
        let padded = temp_file("state-padded", &format!("{}\n\n", "t".repeat(32)));
        let pairs: Vec<(String, String)> = env(&[("STATE_SECRET_FILE", &padded.display().to_string())]);
        let err = Settings::load_from(None, pairs).unwrap_err();
        assert_eq!(err.key, "STATE_SECRET_FILE");
        assert!(err.message.contains("white space"), "{}", err.message);
    }

    #[test]
    fn a_secret_set_as_value_and_as_file_is_refused_naming_both() {
        let jwt = temp_file("jwt-both", &"f".repeat(40));
        let err =
            Settings::load_from(None, env(&[("JWT_SECRET_FILE", &jwt.display().to_string())])).unwrap_err();
        assert_eq!(err.key, "JWT_SECRET");
        assert!(err.to_string().contains("JWT_SECRET_FILE"), "{err}");
        assert!(!err.to_string().contains(&"f".repeat(40)), "{err}");
    }

    #[test]
    fn a_missing_or_empty_secret_file_names_the_file_setting() {
        let empty = temp_file("empty", "\n");
        for path in [
            empty.display().to_string(),
            "/nonexistent/tether/secret".to_owned(),
        ] {
            let pairs: Vec<_> = env(&[("WORKOS_API_KEY_FILE", &path)])
                .into_iter()
                .filter(|(k, _)| k != "WORKOS_API_KEY")
                .collect();
            assert_eq!(
                Settings::load_from(None, pairs).unwrap_err().key,
                "WORKOS_API_KEY_FILE"
            );
        }
    }

    #[test]
    fn an_unknown_key_of_the_file_is_refused_naming_it() {
        let path = temp_file("typo.toml", "port = 4000\nmongo_uri = \"mongodb://db\"\n");
        let err = Settings::load_from(Some(path), env(&[])).unwrap_err();
        assert!(err.to_string().contains("`mongo_uri`"), "{err}");
        let path = temp_file("typo-session.toml", "[session]\nidle_timeout = 5\n");
        let err = Settings::load_from(Some(path), env(&[])).unwrap_err();
        assert!(err.to_string().contains("`session.idle_timeout`"), "{err}");
    }

    #[test]
    fn the_shipped_example_file_is_valid() {
        let path = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/tether-auth.example.toml"
        ));
        Settings::load_from(Some(path), env(&[])).unwrap();
    }

    #[test]
    fn effective_settings_name_every_setting_and_redact_secrets() {
        let s = Settings::load_from(
            None,
            env(&[("WORKOS_API_KEY", "sk_live_very_secret"), ("PORT", "4321")]),
        )
        .unwrap();
        let shown: std::collections::HashMap<_, _> = s.effective().iter().cloned().collect();
        assert_eq!(shown["PORT"], "4321");
        assert_eq!(shown["STORE"], "memory");
        assert_eq!(shown["JWT_SECRET"], "<redacted>");
        assert_eq!(shown["WORKOS_API_KEY"], "<redacted>");
        assert_eq!(shown["MONGODB_URI"], "(unset)");
        assert_eq!(shown["STATE_SECRET"], "(unset)");
        assert_eq!(shown["SESSION__IDLE_TIMEOUT_MINUTES"], "30");
        let all = format!("{:?}", s.effective());
        assert!(
            !all.contains("sk_live_very_secret") && !all.contains(&"s".repeat(32)),
            "{all}"
        );
    }

    fn generated_key(alg: tether_jwt::KeyAlgorithm, kid: &str, status: tether_jwt::KeyStatus) -> String {
        serde_json::to_string(&tether_jwt::generate(alg, Some(kid.to_owned()), status).unwrap()).unwrap()
    }

    #[test]
    fn signing_keys_are_read_and_shown_by_kid_alg_status_and_thumbprint_only() {
        use tether_jwt::{KeyAlgorithm, KeyStatus};
        let ed = generated_key(KeyAlgorithm::EdDsa, "ed-1", KeyStatus::Active);
        let ec = generated_key(KeyAlgorithm::Es256, "ec-2", KeyStatus::Next);
        let keys = format!("[{ed}, {ec}]");
        let from_file = temp_file("signing-keys.json", &format!("{keys}\n"));
        for pairs in [
            env(&[("JWT_SIGNING_KEYS", &keys)]),
            env(&[("JWT_SIGNING_KEYS_FILE", &from_file.display().to_string())]),
        ] {
            let s = Settings::load_from(None, pairs).unwrap();
            assert_eq!(s.signing_keys.active().kid(), "ed-1");
            let shown: std::collections::HashMap<_, _> = s.effective().iter().cloned().collect();
            let line = &shown["JWT_SIGNING_KEYS"];
            assert!(
                line.starts_with("kid=ed-1 alg=EdDSA status=active thumbprint="),
                "{line}"
            );
            assert!(
                line.contains("; kid=ec-2 alg=ES256 status=next thumbprint="),
                "{line}"
            );
            let all = format!("{:?} {:?}", s.effective(), s);
            assert!(
                !all.contains("PRIVATE KEY") && !all.contains(&"s".repeat(32)),
                "{all}"
            );
        }
        // Unset: the JWT_SECRET key, named by its kid.
        let s = Settings::load_from(None, env(&[])).unwrap();
        let shown: std::collections::HashMap<_, _> = s.effective().iter().cloned().collect();
        assert_eq!(
            shown["JWT_SIGNING_KEYS"],
            format!(
                "(unset: JWT_SECRET signs, kid={} alg=HS256 status=active)",
                tether_jwt::secret_kid(&"s".repeat(32))
            )
        );
        let err = Settings::load_from(
            None,
            env(&[
                ("JWT_SIGNING_KEYS", &keys),
                ("JWT_SIGNING_KEYS_FILE", &from_file.display().to_string()),
            ]),
        )
        .unwrap_err();
        assert_eq!(err.key, "JWT_SIGNING_KEYS");
    }

    #[test]
    fn a_refused_key_set_names_the_setting_and_the_kid() {
        use tether_jwt::{KeyAlgorithm, KeyStatus};
        let ed = generated_key(KeyAlgorithm::EdDsa, "ed-1", KeyStatus::Active);
        let also_active = generated_key(KeyAlgorithm::Es256, "ec-2", KeyStatus::Active);
        let err = Settings::load_from(
            None,
            env(&[("JWT_SIGNING_KEYS", &format!("[{ed}, {also_active}]"))]),
        )
        .unwrap_err();
        assert_eq!(err.key, "JWT_SIGNING_KEYS");
        assert!(
            err.message.contains("ec-2") && err.message.contains("ed-1"),
            "{err}"
        );
        assert!(!err.message.contains("PRIVATE"), "{err}");
        let err = Settings::load_from(None, env(&[("JWT_SIGNING_KEYS", "[{\"kid\": \"a\",")])).unwrap_err();
        assert_eq!(err.key, "JWT_SIGNING_KEYS");
    }

    #[test]
    fn jwt_secret_may_be_unset_only_with_signing_keys_and_a_state_secret() {
        use tether_jwt::{KeyAlgorithm, KeyStatus};
        let keys = format!(
            "[{}]",
            generated_key(KeyAlgorithm::EdDsa, "ed-1", KeyStatus::Active)
        );
        let without = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            env(pairs)
                .into_iter()
                .filter(|(k, _)| k != "JWT_SECRET")
                .collect()
        };
        let s = Settings::load_from(
            None,
            without(&[("JWT_SIGNING_KEYS", &keys), ("STATE_SECRET", &"t".repeat(32))]),
        )
        .unwrap();
        assert!(s.jwt_secret.is_none());
        assert_eq!(s.signing_keys.active().kid(), "ed-1");
        let shown: std::collections::HashMap<_, _> = s.effective().iter().cloned().collect();
        assert_eq!(shown["JWT_SECRET"], "(unset)");
        let state = "t".repeat(32);
        for pairs in [
            &[("JWT_SIGNING_KEYS", keys.as_str())][..],
            &[("STATE_SECRET", state.as_str())][..],
        ] {
            let err = Settings::load_from(None, without(pairs)).unwrap_err();
            assert_eq!(err.key, "JWT_SECRET", "{pairs:?}: {err}");
        }
    }
}
