//! # tether-mongo
//!
//! The MongoDB adapters of tether-auth, over the official `mongodb` driver (3.x, BSON 2).
//!
//! One [`MongoStore`] implements every store port of the domain:
//! [`UserRepository`](tether_domain::UserRepository) (collection `users`),
//! [`OrganizationRepository`](tether_domain::OrganizationRepository) (`organizations`) and
//! [`SessionStore`](tether_domain::SessionStore) (`sessions`),
//! [`RefreshTokenStore`](tether_domain::RefreshTokenStore) (`refresh_tokens`) and
//! [`LoginStateStore`](tether_domain::LoginStateStore) (`login_states`), and offboarding's
//! [`LifecycleStore`](tether_domain::LifecycleStore) (`applied_events`, with the
//! disablement of `users` and the revocation of `sessions`) and
//! [`EventCursorStore`](tether_domain::EventCursorStore) (`event_cursors`), the
//! [`LinkRequestStore`](tether_domain::LinkRequestStore) (`identity_link_requests`, with
//! the approved link's write on `users`) and the
//! [`AuditStore`](tether_domain::AuditStore) (`audit_events`). Field names
//! are those the wider product already stores (`fullName`, `organizationId`, ...).
//!
//! Rules every adapter here follows:
//! - documents are never replaced: updates use `$set` (or an update pipeline of `$set`
//!   stages) so that fields this service does not know survive untouched;
//! - every driver operation of a port runs through one helper that bounds it by the
//!   operation time-out (`MONGODB_TIMEOUT_MS`: a server that accepts and then stalls is
//!   `Unavailable` too), records its duration as `tether_store_operation_seconds
//!   {operation}` and maps its failure (duplicate key → `Duplicate`, unreachable server
//!   or time-out → `Unavailable`, anything else → `Unexpected`), and
//!   no message ever carries the connection string or a user's e-mail address;
//! - a stored document this service cannot read yields `Unexpected`, naming the field
//!   and the document id.

mod audit;
mod bson;
mod error;
mod events;
mod index_kinds;
mod indexes;
mod links;
mod login_states;
mod organizations;
mod refresh_tokens;
mod sessions;
mod users;

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mongodb::Client;
use mongodb::Database;
use mongodb::bson::doc;
use mongodb::options::ClientOptions;
use secrecy::{ExposeSecret, SecretString};
use tether_domain::{RepositoryError, SessionLifetimes};

pub use crate::audit::{AUDIT_EVENTS, DEFAULT_AUDIT_RETENTION_DAYS};
use crate::error::map_driver_error;
pub use crate::events::{APPLIED_EVENTS, EVENT_CURSORS};
pub use crate::links::{LINK_REQUESTS, PREVIOUS_WORKOS_IDS};

/// Name of the collection of users.
pub const USERS: &str = "users";
/// Name of the collection of organizations.
pub const ORGANIZATIONS: &str = "organizations";
/// Name of the collection of login sessions.
pub const SESSIONS: &str = "sessions";
/// Name of the collection of refresh-token digests.
pub const REFRESH_TOKENS: &str = "refresh_tokens";
/// Name of the collection of pending login states (keyed digests).
pub const LOGIN_STATES: &str = "login_states";

/// Database used when neither the configuration nor the URI names one.
pub const DEFAULT_DATABASE: &str = "tether";

/// The application name the driver reports to the server.
pub const APP_NAME: &str = "tether-auth";

/// How to reach MongoDB.
#[derive(Debug, Clone)]
pub struct MongoConfig {
    /// The connection string (`MONGODB_URI`). It may carry a password, so it is kept
    /// secret and never appears in an error message or a log line.
    pub uri: SecretString,
    /// The database to use; when `None`, the URI's default database, else `tether`.
    pub database: Option<String>,
    /// How long an operation waits for a usable server before failing (the driver's
    /// default of 30 s is far too long for a login).
    pub server_selection_timeout: Duration,
    /// How long opening one connection may take.
    pub connect_timeout: Duration,
    /// How long one operation may take in all (`MONGODB_TIMEOUT_MS`): past it the
    /// operation is abandoned as [`RepositoryError::Unavailable`], also when the server
    /// accepted the connection and then stopped answering.
    pub operation_timeout: Duration,
    /// Count every command the driver sends, by name, in the counter
    /// [`COMMANDS_TOTAL`] (`MONGODB_COMMAND_METRICS`, default off): what a request
    /// costs in round trips, from the driver's command events.
    pub count_commands: bool,
    /// Most connections the client keeps open to each server
    /// (`MONGODB_MAX_POOL_SIZE`); `None` keeps the driver's default (10).
    pub max_pool_size: Option<u32>,
}

/// The counter of commands sent to MongoDB, labelled `command` (`find`, `insert`,
/// `findAndModify`, ...), kept when [`MongoConfig::count_commands`] is on.
pub const COMMANDS_TOTAL: &str = "tether_mongodb_commands_total";

/// The MongoDB store: users, organizations and refresh tokens of one database.
///
/// Cheap to clone (the driver's client is a handle to a shared connection pool).
#[derive(Clone)]
pub struct MongoStore {
    database: Database,
    operation_timeout: Duration,
    /// The options the client was built from, for [`MongoStore::with_own_client`].
    options: Option<ClientOptions>,
    /// The absolute lifetime of sessions adopted from refresh tokens of the earlier
    /// shape, in seconds.
    session_lifetime_seconds: i64,
    /// Providers other than WorkOS's two APIs whose unique link index this process
    /// made sure of (see `users.rs`).
    link_indexes: Arc<Mutex<HashSet<String>>>,
    /// How many days audit records are kept (the TTL of `audit_events`).
    audit_retention_days: u32,
}

impl fmt::Debug for MongoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoStore")
            .field("database", &self.database.name())
            .finish_non_exhaustive()
    }
}

impl MongoStore {
    /// Builds the client from `config`.
    ///
    /// The time-outs of `config` replace the driver's 30 s defaults and the client
    /// reports itself as `tether-auth`. This does not contact the server (the driver
    /// connects lazily); call [`MongoStore::ping`] or [`MongoStore::ensure_indexes`] to
    /// check that it is reachable.
    ///
    /// # Errors
    /// [`RepositoryError::Unexpected`] when the connection string is invalid (the message
    /// does not repeat it); [`RepositoryError::Unavailable`] when resolving a
    /// `mongodb+srv` name fails.
    pub async fn connect(config: MongoConfig) -> Result<Self, RepositoryError> {
        let mut options = ClientOptions::parse(config.uri.expose_secret())
            .await
            .map_err(|e| match map_driver_error(e) {
                // The driver's message may quote the connection string, which can hold a password.
                RepositoryError::Unexpected(_) => {
                    RepositoryError::Unexpected("the MongoDB connection string is invalid".into())
                }
                other => other,
            })?;
        options.server_selection_timeout = Some(config.server_selection_timeout);
        options.connect_timeout = Some(config.connect_timeout);
        options.app_name = Some(APP_NAME.to_owned());
        if let Some(size) = config.max_pool_size {
            options.max_pool_size = Some(size);
        }
        if config.count_commands {
            options.command_event_handler = Some(mongodb::event::EventHandler::callback(
                |event: mongodb::event::command::CommandEvent| {
                    if let mongodb::event::command::CommandEvent::Started(started) = event {
                        metrics::counter!(COMMANDS_TOTAL, "command" => started.command_name).increment(1);
                    }
                },
            ));
        }
        let database_name = config
            .database
            .clone()
            .or_else(|| options.default_database.clone())
            .unwrap_or_else(|| DEFAULT_DATABASE.to_owned());
        let client = Client::with_options(options.clone()).map_err(|e| match map_driver_error(e) {
            RepositoryError::Unexpected(_) => {
                RepositoryError::Unexpected("the MongoDB client options are invalid".into())
            }
            other => other,
        })?;
        tracing::debug!(database = %database_name, "MongoDB client configured");
        Ok(Self {
            database: client.database(&database_name),
            operation_timeout: config.operation_timeout,
            options: Some(options),
            session_lifetime_seconds: SessionLifetimes::default().absolute_session_seconds,
            link_indexes: Arc::default(),
            audit_retention_days: DEFAULT_AUDIT_RETENTION_DAYS,
        })
    }

    /// The same store through a client of its own with a pool of at most
    /// `max_pool_size` connections to each server, built on the calling thread: the
    /// driver's connections and background tasks then live on this thread's runtime,
    /// so an operation never waits for another thread. Build one per HTTP worker, on
    /// the worker. A store made by [`MongoStore::with_database`] is returned as is.
    ///
    /// # Errors
    /// [`RepositoryError::Unexpected`] when the client cannot be built (the options
    /// were accepted once already, so this does not happen in practice).
    pub fn with_own_client(&self, max_pool_size: u32) -> Result<Self, RepositoryError> {
        let Some(options) = &self.options else {
            return Ok(self.clone());
        };
        let mut options = options.clone();
        options.max_pool_size = Some(max_pool_size);
        let client = Client::with_options(options.clone())
            .map_err(|_| RepositoryError::Unexpected("the MongoDB client options are invalid".into()))?;
        Ok(Self {
            database: client.database(self.database.name()),
            operation_timeout: self.operation_timeout,
            options: Some(options),
            session_lifetime_seconds: self.session_lifetime_seconds,
            link_indexes: self.link_indexes.clone(),
            audit_retention_days: self.audit_retention_days,
        })
    }

    /// A store over `database` of a client the caller built, e.g. with command
    /// monitoring (`ClientOptions::command_event_handler`), each operation bounded by
    /// `operation_timeout`. Indexes are not touched: call [`MongoStore::ensure_indexes`].
    pub fn with_database(database: Database, operation_timeout: Duration) -> Self {
        Self {
            database,
            operation_timeout,
            options: None,
            session_lifetime_seconds: SessionLifetimes::default().absolute_session_seconds,
            link_indexes: Arc::default(),
            audit_retention_days: DEFAULT_AUDIT_RETENTION_DAYS,
        }
    }

    /// The same store, keeping audit records for `days` days (`AUDIT_RETENTION_DAYS`;
    /// 365 unless set): the TTL of the index [`MongoStore::ensure_indexes`] creates.
    #[must_use]
    pub fn with_audit_retention(mut self, days: u32) -> Self {
        self.audit_retention_days = days;
        self
    }

    /// The same store, giving a session it adopts from refresh tokens of the earlier
    /// shape (see `refresh_tokens`) this absolute lifetime, in seconds
    /// (`SESSION_ABSOLUTE_LIFETIME_DAYS`; 30 days unless set).
    #[must_use]
    pub fn with_session_lifetime(mut self, seconds: i64) -> Self {
        self.session_lifetime_seconds = seconds;
        self
    }

    /// Checks that the server answers (`ping`).
    ///
    /// # Errors
    /// [`RepositoryError::Unavailable`] when no server answered within the time-outs.
    pub async fn ping(&self) -> Result<(), RepositoryError> {
        self.run("ping", self.database.run_command(doc! { "ping": 1 }))
            .await
            .map(|_| ())
    }

    /// Runs one driver operation within the operation time-out (see [`error::bounded`]).
    pub(crate) async fn run<T>(
        &self,
        operation: &'static str,
        action: impl std::future::IntoFuture<Output = Result<T, mongodb::error::Error>>,
    ) -> Result<T, RepositoryError> {
        error::bounded(operation, self.operation_timeout, action).await
    }

    /// Creates the indexes this service relies on, if they do not exist yet
    /// (idempotent: running it again changes nothing).
    ///
    /// - `users`: `email_ci_unique` (unique, collation `en` strength 2, so addresses are
    ///   unique case-insensitively), `workosUserId_unique` and `workosProfileId_unique`
    ///   (unique among documents where the field is a string: partial), and
    ///   `workosUserId_1`, `workosProfileId_1` for the lookups;
    /// - `organizations`: `createdAt_id` on `{createdAt: 1, _id: 1}` (the oldest),
    ///   `workosOrganizationId_unique` (unique among string values: partial);
    /// - `sessions`: `endsAt_ttl` (TTL: removed 720 h, the longest access-token life,
    ///   after `endsAt`), `tokenHash_sparse_unique` (sparse, unique),
    ///   `rotatedTokenHash_1`, `loginAnswerId_sparse` (sparse, not unique);
    /// - `refresh_tokens`: `tokenHash_unique`, `expiresAt_ttl` (TTL, expire at
    ///   `expiresAt`);
    /// - `login_states`: `stateHash_unique`, `expiresAt_ttl`;
    /// - `identity_link_requests`: `pending_unique` (unique on `{userId, api, workosId}`
    ///   among pending requests), `expiresAt_ttl` (30 days after expiry),
    ///   `status_requestedAt`, `organizationId_status_requestedAt`;
    /// - `audit_events`: `at_ttl` (TTL: removed the retention after `at`; a changed
    ///   retention is applied to the existing index), `userId_id`, `organizationId_id`,
    ///   `type_id` (`{field: 1, _id: -1}`).
    ///
    /// The whole creation is bounded by four operation time-outs (not through the
    /// per-operation helper).
    ///
    /// # Errors
    /// [`RepositoryError::Unexpected`] naming the collection when the server refuses an
    /// index (e.g. existing duplicates, or a conflicting index of the same name).
    pub async fn ensure_indexes(&self) -> Result<(), RepositoryError> {
        // Several round trips: a few operation time-outs in all, not forever.
        tokio::time::timeout(
            self.operation_timeout * 4,
            indexes::ensure(&self.database, self.audit_retention_days),
        )
        .await
        .unwrap_or_else(|_| {
            Err(RepositoryError::Unavailable(
                "MongoDB did not finish creating the indexes in time".to_owned(),
            ))
        })
    }

    /// The database this store works in.
    pub fn database(&self) -> &Database {
        &self.database
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(uri: &str, database: Option<&str>) -> MongoConfig {
        MongoConfig {
            uri: SecretString::from(uri.to_owned()),
            database: database.map(str::to_owned),
            server_selection_timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
            operation_timeout: Duration::from_secs(2),
            count_commands: false,
            max_pool_size: None,
        }
    }

    // `connect` does not contact the server, so port 1 (nothing listens) is fine here.

    #[tokio::test]
    async fn the_database_is_the_configured_one_else_the_uri_default_else_tether() {
        for (uri, configured, expected) in [
            ("mongodb://127.0.0.1:1/from_uri", Some("configured"), "configured"),
            ("mongodb://127.0.0.1:1/from_uri", None, "from_uri"),
            ("mongodb://127.0.0.1:1", None, DEFAULT_DATABASE),
        ] {
            let store = MongoStore::connect(config(uri, configured)).await.unwrap();
            assert_eq!(store.database().name(), expected, "{uri} with {configured:?}");
        }
    }

    #[tokio::test]
    async fn an_invalid_uri_is_refused_without_repeating_it() {
        let err = MongoStore::connect(config(
            "mongodb://user:hunter2@127.0.0.1:1/?bogusOption=zz&w=",
            None,
        ))
        .await
        .unwrap_err();
        assert!(matches!(err, RepositoryError::Unexpected(_)), "{err:?}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = MongoStore::connect(config("not a uri hunter2", None))
            .await
            .unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[tokio::test]
    async fn an_unreachable_server_is_unavailable_after_the_configured_time_out() {
        let store = MongoStore::connect(config("mongodb://user:hunter2@127.0.0.1:1", None))
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let err = store.ping().await.unwrap_err();
        assert!(matches!(err, RepositoryError::Unavailable(_)), "{err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
