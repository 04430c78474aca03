//! Wiring: builds the adapters named by the settings, the use cases over them, and
//! the HTTP server. [`Application::build`] binds the port (0 picks a free one, as
//! tests do) and reports the real one.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpServer;
use actix_web::dev::Server;
use async_trait::async_trait;
use tether_clock::SystemClock;
use tether_domain::{
    AuditIds, AuditStore, Clock, EventCursorStore, EventSource, IdentityProvider, LifecycleStore,
    LinkRequestStore, LoginStateStore, LoginTurns, OrganizationRepository, Policies, Ports, RedirectPolicy,
    RefreshTokenStore, Services, SessionStore, StoredSessionSettings, Timestamp, UserRepository,
};
use tether_http::{AppState, Readiness, build_app};
use tether_jwt::{JwtConfig, JwtIssuer, StateKeys};
use tether_memory::{InMemoryAuditLog, InMemoryLoginStates, InMemoryStore};
use tether_mongo::{MongoConfig, MongoStore};
use tether_workos::{WorkosClient, WorkosConfig};

use crate::audit::{AuditWriter, WriterSettings, process_tag};
use crate::events::EventsTask;
use crate::settings::{EventsMode, Settings, StoreKind};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting is unusable.
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    /// The database could not be reached or prepared.
    #[error("MONGODB_URI: cannot use the database: {0}")]
    Database(String),
    /// `DEFAULT_ORGANIZATION_ID` names an organization mapped to a WorkOS organization
    /// (a mapped organization is joined only through its own WorkOS organization).
    #[error("DEFAULT_ORGANIZATION_ID: {0}")]
    DefaultOrganization(String),
    /// The WorkOS client could not be built.
    #[error("WORKOS_BASE_URL: {0}")]
    Workos(String),
    /// The port could not be bound.
    #[error("PORT: cannot listen: {0}")]
    Bind(#[from] std::io::Error),
    /// The metrics port could not be bound.
    #[error("METRICS_PORT: cannot listen: {0}")]
    MetricsBind(std::io::Error),
}

/// Replacements for adapters, for tests that control time or the identity provider.
#[derive(Default)]
pub struct Overrides {
    /// The clock (default: the system clock).
    pub clock: Option<Arc<dyn Clock>>,
    /// The identity provider (default: WorkOS over HTTP).
    pub identity_provider: Option<Arc<dyn IdentityProvider>>,
    /// The list of WorkOS events polled (default: WorkOS's Events API at
    /// `WORKOS_BASE_URL`).
    pub event_source: Option<Arc<dyn EventSource>>,
}

impl std::fmt::Debug for Overrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overrides")
            .field("clock", &self.clock.is_some())
            .field("identity_provider", &self.identity_provider.is_some())
            .field("event_source", &self.event_source.is_some())
            .finish()
    }
}

/// The stores behind the ports.
struct Stores {
    /// The MongoDB store each HTTP worker gets a client of its own for (a share of
    /// `MONGODB_MAX_POOL_SIZE`); `None` for the in-memory store, which every worker shares.
    per_worker: Option<MongoStore>,
    users: Arc<dyn UserRepository>,
    organizations: Arc<dyn OrganizationRepository>,
    refresh_tokens: Arc<dyn RefreshTokenStore>,
    sessions: Arc<dyn SessionStore>,
    login_states: Arc<dyn LoginStateStore>,
    lifecycle: Arc<dyn LifecycleStore>,
    cursors: Arc<dyn EventCursorStore>,
    link_requests: Arc<dyn LinkRequestStore>,
    /// Where the audit writer stores, and administrators read, the audit trail.
    audit: Arc<dyn AuditStore>,
    readiness: Arc<dyn Readiness>,
}

struct MongoReadiness(MongoStore);

#[async_trait]
impl Readiness for MongoReadiness {
    async fn check(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|e| e.to_string())
    }
}

struct AlwaysReady;

#[async_trait]
impl Readiness for AlwaysReady {
    async fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

/// How to reach MongoDB, when the settings name a database.
fn mongo_config(settings: &Settings) -> Option<MongoConfig> {
    settings.mongo.uri.as_ref().map(|uri| MongoConfig {
        uri: uri.clone(),
        database: settings.mongo.database.clone(),
        server_selection_timeout: settings.mongo.timeout,
        connect_timeout: settings.mongo.timeout,
        operation_timeout: settings.mongo.timeout,
        count_commands: settings.mongo.command_metrics,
        // The start-up client: indexes, the upgrade of old sessions, readiness pings.
        // Requests go through the workers' own clients.
        max_pool_size: Some(1),
    })
}

/// The one-off upgrade of sessions of the earlier shape, off the start-up path: each
/// try is bounded by `MONGODB_TIMEOUT_MS` (every operation is), and a failed one is
/// retried after 5 s, doubling to at most 5 minutes, until it succeeds. Until then the
/// store adopts the session of such a token when it reads it (a refresh or a logout).
async fn adopt_legacy_sessions(store: MongoStore, session_lifetime_seconds: i64, now: Timestamp) {
    let mut wait = Duration::from_secs(5);
    loop {
        match store.adopt_legacy_sessions(session_lifetime_seconds, now).await {
            Ok(adopted) => {
                if adopted > 0 {
                    tracing::info!(
                        adopted,
                        "stored the session records of refresh tokens of the earlier shape"
                    );
                }
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_seconds = wait.as_secs(), "could not adopt the sessions of the earlier shape yet");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(300));
            }
        }
    }
}

/// Start-up refuses a `DEFAULT_ORGANIZATION_ID` that is mapped to a WorkOS
/// organization; one that does not exist (yet) is only warned about at login.
async fn check_default_organization(settings: &Settings, stores: &Stores) -> Result<(), StartError> {
    let Some(id) = settings.provisioning.policy.default_organization_id else {
        return Ok(());
    };
    let found = stores
        .organizations
        .find_organization(id)
        .await
        .map_err(|e| StartError::Database(e.to_string()))?;
    match found.and_then(|org| org.tenant) {
        Some(workos) => Err(StartError::DefaultOrganization(format!(
            "names an organization mapped to the WorkOS organization {}; new users of other WorkOS organizations may not join it",
            workos.as_str()
        ))),
        None => Ok(()),
    }
}

async fn stores(settings: &Settings, clock: &dyn Clock) -> Result<Stores, StartError> {
    if let (StoreKind::MongoDb, Some(config)) = (settings.mongo.store, mongo_config(settings)) {
        // The audit writer's own client: its batches are not a request's commands
        // (MONGODB_COMMAND_METRICS counts what requests cost), and never wait for the
        // start-up client's one connection.
        let audit = MongoStore::connect(MongoConfig {
            count_commands: false,
            max_pool_size: Some(1),
            ..config.clone()
        })
        .await
        .map_err(|e| StartError::Database(e.to_string()))?;
        let store = MongoStore::connect(config)
            .await
            .map_err(|e| StartError::Database(e.to_string()))?
            .with_session_lifetime(settings.tokens.lifetimes.absolute_session_seconds)
            .with_audit_retention(settings.audit.retention_days);
        store
            .ensure_indexes()
            .await
            .map_err(|e| StartError::Database(e.to_string()))?;
        tokio::spawn(adopt_legacy_sessions(
            store.clone(),
            settings.tokens.lifetimes.absolute_session_seconds,
            clock.now(),
        ));
        tracing::info!(database = store.database().name(), "using MongoDB");
        let shared = Arc::new(store.clone());
        return Ok(Stores {
            per_worker: Some(store.clone()),
            users: shared.clone(),
            organizations: shared.clone(),
            refresh_tokens: shared.clone(),
            sessions: shared.clone(),
            login_states: shared.clone(),
            lifecycle: shared.clone(),
            link_requests: shared.clone(),
            cursors: shared,
            audit: Arc::new(audit),
            readiness: Arc::new(MongoReadiness(store)),
        });
    }
    tracing::warn!(
        "STORE=memory: using the EMBEDDED IN-MEMORY store. Nothing is persisted and nothing is \
         shared between instances; every user, organization and session is lost on restart. \
         Use STORE=mongodb with MONGODB_URI in production."
    );
    let store = InMemoryStore::new();
    match &settings.mongo.memory_seed {
        Some(seed) => seed.apply(&store, clock.now()),
        None => {
            let org =
                store.add_organization("Default Organization", clock.now(), StoredSessionSettings::none());
            tracing::warn!(organization_id = %org, "created an in-memory organization for new users");
        }
    }
    let shared = Arc::new(store);
    Ok(Stores {
        per_worker: None,
        users: shared.clone(),
        organizations: shared.clone(),
        refresh_tokens: shared.clone(),
        sessions: shared.clone(),
        lifecycle: shared.clone(),
        link_requests: shared.clone(),
        cursors: shared,
        audit: Arc::new(InMemoryAuditLog::new()),
        login_states: Arc::new(InMemoryLoginStates::new()),
        readiness: Arc::new(AlwaysReady),
    })
}

/// A bound, ready-to-run service.
pub struct Application {
    port: u16,
    server: Server,
    /// The metrics listener's port and server.
    metrics: Option<(u16, Server)>,
    /// The consumer of WorkOS events, when this replica polls.
    events: Option<EventsTask>,
    /// The writer of the audit trail.
    audit: AuditWriter,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Wires everything named by `settings` and binds the port.
    pub async fn build(settings: Settings, overrides: Overrides) -> Result<Self, StartError> {
        let clock: Arc<dyn Clock> = overrides.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let stores = stores(&settings, clock.as_ref()).await?;
        check_default_organization(&settings, &stores).await?;
        let idp: Arc<dyn IdentityProvider> = match overrides.identity_provider {
            Some(idp) => idp,
            None => Arc::new(
                WorkosClient::new(workos_config(&settings)).map_err(|e| StartError::Workos(e.to_string()))?,
            ),
        };
        let jwt = Arc::new(JwtIssuer::new(JwtConfig {
            keys: settings.tokens.signing_keys.clone(),
            issuer: settings.tokens.issuer.clone(),
            audience: settings.tokens.audience.clone(),
        }));
        let active = jwt.keys().active();
        tracing::info!(
            kid = active.kid(),
            alg = active.alg().as_str(),
            "access tokens are signed by this key"
        );
        let jwks = Arc::new(published_keys(jwt.keys()));
        let redirects = RedirectPolicy::new(
            settings.http.default_redirect_uri(),
            settings.http.allowed_redirect_uris.iter().cloned(),
        );
        let state_secret = match (&settings.tokens.state_secret, &settings.tokens.jwt_secret) {
            (Some(state_secret), _) => state_secret,
            (None, Some(jwt_secret)) => {
                tracing::warn!(
                    "STATE_SECRET is not set: login-state keys are derived from JWT_SECRET, which other \
                     services of the product share; set STATE_SECRET (at least 32 bytes) of its own"
                );
                jwt_secret
            }
            (None, None) => {
                return Err(StartError::Settings(crate::settings::SettingsError {
                    key: "STATE_SECRET".into(),
                    message: "is required when JWT_SECRET is unset".into(),
                }));
            }
        };
        if settings.provisioning.accept_unissued_state {
            tracing::warn!(
                "ACCEPT_UNISSUED_STATE is on: callbacks with states this service did not issue are \
                 accepted (SSO-then-AuthKit fallback); turn it off once the SPA uses /api/auth/workos/authorize"
            );
        }
        // Records queue in memory and are stored off the request path.
        let (audit, audit_writer) = AuditWriter::start(
            stores.audit.clone(),
            AuditIds::new(process_tag(clock.as_ref())),
            WriterSettings::default(),
        );
        let ports = Ports {
            users: stores.users,
            organizations: stores.organizations,
            sessions: stores.sessions,
            refresh_tokens: stores.refresh_tokens,
            login_states: stores.login_states,
            lifecycle: stores.lifecycle.clone(),
            identity_provider: idp,
            tokens: jwt.clone(),
            verifier: jwt,
            state_protector: Arc::new(StateKeys::new(state_secret)),
            clock,
            link_requests: stores.link_requests,
            // One table for every worker's wiring (clones share it).
            login_turns: LoginTurns::new(),
            audit,
            audit_store: stores.audit,
        };
        let policies = Policies {
            redirects,
            provisioning: settings.provisioning.policy.clone(),
            session_defaults: settings.session,
            lifetimes: settings.tokens.lifetimes,
            refresh: settings.tokens.refresh_policy,
            accept_unissued_state: settings.provisioning.accept_unissued_state,
            require_client_challenge: settings.provisioning.require_client_challenge,
        };
        let stores_per_worker = stores.per_worker;
        let events = match settings.events.mode {
            EventsMode::Off => None,
            EventsMode::Poll => {
                let source: Arc<dyn EventSource> = match overrides.event_source {
                    Some(source) => source,
                    None => Arc::new(
                        tether_workos::WorkosEvents::new(&workos_config(&settings))
                            .map_err(|e| StartError::Workos(e.to_string()))?,
                    ),
                };
                Some(crate::events::start(
                    &settings.events,
                    source,
                    stores.cursors,
                    &ports,
                ))
            }
        };
        let event_settings = settings.events.clone();
        let webhooks = crate::events::webhooks(&event_settings, &ports);
        let services = Services::new(ports.clone(), policies.clone());
        let state = AppState {
            services,
            readiness: stores.readiness,
            limits: request_limits(&settings),
            allowed_origins: settings.http.cors_allowed_origins.clone(),
            jwks,
            webhooks,
        };
        let listener = TcpListener::bind((settings.http.host.as_str(), settings.http.port))?;
        let port = listener.local_addr()?.port();
        // Each HTTP worker talks to MongoDB through a client of its own, built on the
        // worker's thread: no operation hops to another thread and back (one client for
        // all cost 26-38 % more CPU per login at 2 and 8 workers, docs/benchmarks.md).
        // Their pools share MONGODB_MAX_POOL_SIZE.
        let per_worker = stores_per_worker;
        let pool_per_worker = settings.pool_per_worker();
        let server = HttpServer::new(move || {
            let Some(store) = &per_worker else {
                return build_app(state.clone());
            };
            match store.with_own_client(pool_per_worker) {
                Ok(own) => {
                    let own = Arc::new(own);
                    let mut ports = ports.clone();
                    ports.users = own.clone();
                    ports.organizations = own.clone();
                    ports.sessions = own.clone();
                    ports.refresh_tokens = own.clone();
                    ports.login_states = own.clone();
                    ports.lifecycle = own.clone();
                    ports.link_requests = own.clone();
                    build_app(AppState {
                        webhooks: crate::events::webhooks(&event_settings, &ports),
                        services: Services::new(ports, policies.clone()),
                        ..state.clone()
                    })
                }
                Err(e) => {
                    tracing::warn!(error = %e, "an HTTP worker shares the start-up MongoDB client");
                    build_app(state.clone())
                }
            }
        })
        .workers(settings.workers());
        // Signals are handled by `run_until_stopped`: actix drains on SIGTERM only.
        let server = server
            .disable_signals()
            .listen(listener)?
            .shutdown_timeout(10)
            .run();
        let metrics = if settings.http.metrics_port == 0 {
            None
        } else {
            let (port, server) = crate::metrics::serve(
                &settings.http.host,
                settings.http.metrics_port,
                crate::metrics::handle(),
            )
            .map_err(StartError::MetricsBind)?;
            tracing::info!(port, "metrics served on their own port at /metrics");
            Some((port, server))
        };
        Ok(Self {
            port,
            server,
            metrics,
            events,
            audit: audit_writer,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// This replica's name in the lease of the WorkOS event stream, when it polls.
    pub fn events_holder(&self) -> Option<&str> {
        self.events.as_ref().map(EventsTask::holder)
    }

    /// The bound port of the metrics listener, unless `METRICS_PORT` is 0.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting and drains in-flight
    /// requests (at most 10 s), whichever of the two signals came; then stops polling
    /// WorkOS events and stores every audit record still queued.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let mut handles = vec![self.server.handle()];
        handles.extend(self.metrics.as_ref().map(|(_, metrics)| metrics.handle()));
        let stopper = tokio::spawn(async move {
            let signal = stop_signal().await;
            tracing::info!(signal, "stopping: draining in-flight requests");
            for handle in &handles {
                // Each stop drains its own server; the API server's is the one that counts.
                handle.stop(true).await;
            }
        });
        let result = match self.metrics {
            Some((_, metrics)) => tokio::try_join!(self.server, metrics).map(|_| ()),
            None => self.server.await,
        };
        stopper.abort();
        if let Some(events) = self.events {
            events.stop().await;
        }
        self.audit.stop().await;
        result
    }
}

/// Waits for SIGTERM or SIGINT and names it. Without signal handling (it could not be
/// installed) it waits for ever: the servers then run until stopped otherwise.
async fn stop_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut terminate), Ok(mut interrupt)) => tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        },
        _ => {
            tracing::warn!("cannot handle SIGTERM/SIGINT; stop the service with SIGKILL");
            std::future::pending().await
        }
    }
}

/// How to reach WorkOS (code exchanges and the Events API alike).
fn workos_config(settings: &Settings) -> WorkosConfig {
    WorkosConfig {
        base_url: settings.workos.base_url.clone(),
        client_id: settings.workos.client_id.clone(),
        api_key: settings.workos.api_key.clone(),
        connect_timeout: settings.workos.connect_timeout,
        request_timeout: settings.workos.timeout,
        backoff_max: settings.workos.backoff_max,
    }
}

/// The public keys of the key set as the body of `GET /.well-known/jwks.json`.
fn published_keys(keys: &tether_jwt::SigningKeys) -> tether_http::JwksBody {
    tether_http::JwksBody {
        keys: keys
            .public_jwks()
            .into_iter()
            .map(|jwk| tether_http::JwkBody {
                kty: jwk.kty.to_owned(),
                crv: jwk.crv.to_owned(),
                x: jwk.x,
                y: jwk.y,
                kid: jwk.kid,
                alg: jwk.alg.to_owned(),
                use_: jwk.use_.to_owned(),
            })
            .collect(),
    }
}

/// The body time-out and the per-client rate limit of `settings`.
fn request_limits(settings: &Settings) -> tether_http::Limits {
    tether_http::Limits {
        body_timeout: settings.http.request_body_timeout,
        rate_limit: client_rate_limit(settings.limits.rate_limit_per_minute, settings),
        refresh_rate_limit: client_rate_limit(settings.limits.refresh_rate_limit_per_minute, settings),
        trusted_proxies: settings.limits.trusted_proxies.clone().into(),
    }
}

/// A per-client budget of `per_minute` requests, `None` when 0 (off).
fn client_rate_limit(per_minute: u32, settings: &Settings) -> Option<Arc<tether_http::ClientRateLimit>> {
    std::num::NonZeroU32::new(per_minute).map(|per_minute| {
        Arc::new(tether_http::ClientRateLimit::new(
            per_minute,
            settings.limits.trusted_proxies.clone(),
        ))
    })
}
