//! The store: `STORE`, `MEMORY_SEED` and the MongoDB adapter's `MONGODB_*` settings.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tether_mongo::MongoConfig;

use super::values::{millis, non_empty, secret_from};
use super::{RawSettings, SettingsError};

/// The pooled connections of a process: two workers with the driver's default pool
/// of 10 each.
pub(super) const DEFAULT_MONGODB_MAX_POOL_SIZE: u32 = 20;

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

/// The store and, with MongoDB, how to reach it.
#[derive(Debug, Clone)]
pub struct MongoSettings {
    /// Which store to use (`STORE`, default `mongodb`).
    pub store: StoreKind,
    /// Organizations and users to create in the in-memory store (`MEMORY_SEED`, a JSON
    /// file; only with `STORE=memory`).
    pub memory_seed: Option<crate::seed::MemorySeed>,
    /// The MongoDB connection string (`MONGODB_URI` or `MONGODB_URI_FILE`); set exactly
    /// when the store is MongoDB.
    pub uri: Option<SecretString>,
    /// Database name override (`MONGODB_DATABASE`).
    pub database: Option<String>,
    /// Server-selection, connect and per-operation time-out of MongoDB
    /// (`MONGODB_TIMEOUT_MS`, default 3000).
    pub timeout: Duration,
    /// Most connections to each MongoDB server that the HTTP workers' pools of the
    /// process hold together: each worker's client gets an equal share
    /// (`MONGODB_MAX_POOL_SIZE`, default 20, 1–500; at least `HTTP_WORKERS`).
    pub max_pool_size: u32,
    /// Count the commands sent to MongoDB by name in `tether_mongodb_commands_total`
    /// (`MONGODB_COMMAND_METRICS`, default false).
    pub command_metrics: bool,
}

impl MongoSettings {
    /// Validates the store settings of `raw`: MongoDB needs its URI, the memory store
    /// refuses one and alone takes a seed.
    pub(super) fn validate(raw: &mut RawSettings) -> Result<Self, SettingsError> {
        let uri = secret_from("MONGODB_URI", raw.mongodb_uri.take(), raw.mongodb_uri_file.take())?;
        let store = match raw.store.trim() {
            "mongodb" => StoreKind::MongoDb,
            "memory" => StoreKind::Memory,
            _ => return Err(SettingsError::new("STORE", "must be mongodb or memory")),
        };
        match (store, &uri) {
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
        let memory_seed = match (store, raw.memory_seed.take()) {
            (StoreKind::Memory, Some(path)) => Some(crate::seed::MemorySeed::read(&path)?),
            (StoreKind::MongoDb, Some(_)) => {
                return Err(SettingsError::new(
                    "MEMORY_SEED",
                    "is only used with STORE=memory",
                ));
            }
            (_, None) => None,
        };
        Ok(Self {
            store,
            memory_seed,
            uri: uri.map(SecretString::from),
            database: non_empty(raw.mongodb_database.take()),
            timeout: millis("MONGODB_TIMEOUT_MS", raw.mongodb_timeout_ms)?,
            max_pool_size: max_pool_size(raw.mongodb_max_pool_size)?,
            command_metrics: raw.mongodb_command_metrics,
        })
    }

    /// The MongoDB settings alone, the URI required: what the `organizations`
    /// commands read.
    pub(super) fn connection(mut raw: RawSettings) -> Result<MongoConfig, SettingsError> {
        let uri = secret_from("MONGODB_URI", raw.mongodb_uri.take(), raw.mongodb_uri_file.take())?
            .ok_or_else(|| {
                SettingsError::new(
                    "MONGODB_URI",
                    "is required: the organizations live in MongoDB (or set MONGODB_URI_FILE)",
                )
            })?;
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

    /// `MONGODB_MAX_POOL_SIZE` against `HTTP_WORKERS`: with MongoDB each worker holds a
    /// pool of at least one connection.
    pub(super) fn holds(&self, http_workers: usize) -> Result<(), SettingsError> {
        if self.store == StoreKind::MongoDb && http_workers > self.max_pool_size as usize {
            return Err(SettingsError::new(
                "MONGODB_MAX_POOL_SIZE",
                format!(
                    "must be at least HTTP_WORKERS ({http_workers}): each worker holds a MongoDB pool of at least one connection"
                ),
            ));
        }
        Ok(())
    }

    /// Whether the MongoDB URI is set (the secret itself stays hidden).
    pub fn uses_mongodb(&self) -> bool {
        self.uri.as_ref().is_some_and(|u| !u.expose_secret().is_empty())
    }
}

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
