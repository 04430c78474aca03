//! Every use case wired from the ports and the policies, so that a service reusing
//! the domain (and this repository's `app`) does not repeat the wiring.

use std::sync::Arc;

use crate::access::AccessGuard;
use crate::admin::AdminRule;
use crate::administration::{OwnSessions, SessionAdministration};
use crate::audit::{AuditSink, AuditStore, AuditTrail};
use crate::gate::LoginTurns;
use crate::issuance::{SessionIssuer, SessionLifetimes};
use crate::lifecycle::LifecycleStore;
use crate::links::{LinkRequestStore, LinkRequests};
use crate::login::{CompleteLogin, RedirectPolicy, StateChecking};
use crate::logout::Logout;
use crate::org_settings::OrganizationSettings;
use crate::policy::SessionConfig;
use crate::ports::{
    AccessTokenVerifier, Clock, IdentityProvider, LoginStateStore, OrganizationRepository, RefreshTokenStore,
    SessionStore, StateProtector, TokenIssuer, UserRepository,
};
use crate::provisioning::{Provisioner, ProvisioningPolicy};
use crate::refresh::{RefreshPolicy, RefreshSession};
use crate::start::StartLogin;

/// The adapters behind every port: stores, the identity provider, token signing and
/// verification, login-state cryptography and the clock, and the turn table of login
/// callbacks. A field per port, so a missing one does not compile.
#[derive(Clone)]
pub struct Ports {
    /// Users of the product.
    pub users: Arc<dyn UserRepository>,
    /// Organizations and their session settings.
    pub organizations: Arc<dyn OrganizationRepository>,
    /// Login sessions.
    pub sessions: Arc<dyn SessionStore>,
    /// Refresh tokens (rotation).
    pub refresh_tokens: Arc<dyn RefreshTokenStore>,
    /// Login states issued by the start of a login.
    pub login_states: Arc<dyn LoginStateStore>,
    /// Users' sign-in disabled and enabled (by events and operators).
    pub lifecycle: Arc<dyn LifecycleStore>,
    /// The identity provider.
    pub identity_provider: Arc<dyn IdentityProvider>,
    /// Signs access tokens and mints refresh tokens.
    pub tokens: Arc<dyn TokenIssuer>,
    /// Verifies access tokens presented by clients.
    pub verifier: Arc<dyn AccessTokenVerifier>,
    /// Digests and PKCE verifiers of login states.
    pub state_protector: Arc<dyn StateProtector>,
    /// The one clock of every use case.
    pub clock: Arc<dyn Clock>,
    /// Link requests of refused logins, and the user write of an approval.
    pub link_requests: Arc<dyn LinkRequestStore>,
    /// Where use cases hand their audit records (never blocks).
    pub audit: Arc<dyn AuditSink>,
    /// Where audit records are read back.
    pub audit_store: Arc<dyn AuditStore>,
    /// Where posts of one login callback wait for each other: not an adapter, but
    /// like the stores one per process, shared by every wiring of it.
    pub login_turns: LoginTurns,
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports").finish_non_exhaustive()
    }
}

/// The policies of a deployment. [`Policies::new`] takes the one without a sensible
/// default (where browsers may be sent back to) and the documented defaults for the rest;
/// change a field to differ.
#[derive(Debug, Clone)]
pub struct Policies {
    /// The redirect URIs a login may name, and the default one.
    pub redirects: RedirectPolicy,
    /// How a new user is provisioned (role, organization).
    pub provisioning: ProvisioningPolicy,
    /// The global session settings an organization's own settings overlay.
    pub session_defaults: SessionConfig,
    /// Refresh-token and absolute session lifetimes.
    pub lifetimes: SessionLifetimes,
    /// The grace window of a rotated refresh token.
    pub refresh: RefreshPolicy,
    /// Accept login states this service did not issue (the provider then resolves
    /// which of its APIs issued the code).
    pub accept_unissued_state: bool,
    /// Refuse a login start without a browser binding (`client_challenge`).
    pub require_client_challenge: bool,
}

impl Policies {
    /// `redirects`, and the documented defaults for everything else (unissued states
    /// refused).
    pub fn new(redirects: RedirectPolicy) -> Self {
        Self {
            redirects,
            provisioning: ProvisioningPolicy::default(),
            session_defaults: SessionConfig::default(),
            lifetimes: SessionLifetimes::default(),
            refresh: RefreshPolicy::default(),
            accept_unissued_state: false,
            require_client_challenge: false,
        }
    }
}

/// Every use case of the domain, wired once from [`Ports`] and [`Policies`].
///
/// A service reusing `tether-domain` brings its adapters (this repository's are
/// a document store, an identity provider, a token signer, state keys and a clock)
/// and writes:
///
/// ```
/// use std::sync::Arc;
///
/// use tether_domain::{
///     MockAccessTokenVerifier, MockAuditStore, MockLifecycleStore, MockLinkRequestStore, MockLoginStateStore,
///     MockOrganizationRepository, MockRefreshTokenStore, MockSessionStore, MockStateProtector,
///     MockTokenIssuer, MockUserRepository, NoAudit, Policies, Ports, LoginTurns, RedirectPolicy,
///     Services, Timestamp, mocks,
/// };
///
/// // Your adapters here; these are the `mocks` feature's.
/// let ports = Ports {
///     users: Arc::new(MockUserRepository::new()),
///     organizations: Arc::new(MockOrganizationRepository::new()),
///     sessions: Arc::new(MockSessionStore::new()),
///     refresh_tokens: Arc::new(MockRefreshTokenStore::new()),
///     login_states: Arc::new(MockLoginStateStore::new()),
///     lifecycle: Arc::new(MockLifecycleStore::new()),
///     identity_provider: Arc::new(mocks::identity_provider(mocks::identity("user_1", "ada@example.com"))),
///     tokens: Arc::new(MockTokenIssuer::new()),
///     verifier: Arc::new(MockAccessTokenVerifier::new()),
///     state_protector: Arc::new(MockStateProtector::new()),
///     clock: mocks::fixed_clock(Timestamp::from_millis(1_700_000_000_000)),
///     link_requests: Arc::new(MockLinkRequestStore::new()),
///     audit: Arc::new(NoAudit),
///     audit_store: Arc::new(MockAuditStore::new()),
///     login_turns: LoginTurns::new(),
/// };
/// let mut policies = Policies::new(RedirectPolicy::new(
///     "https://app.example/signin",
///     ["https://app.example/auth/callback".to_owned()],
/// ));
/// policies.refresh.reuse_grace_seconds = 10;
///
/// let services = Services::new(ports, policies);
/// // services.start, .login, .refresh, .logout, .access, .org_settings, .link_requests,
/// // .administration, .own_sessions and .audit_trail serve the routes.
/// # let _ = services;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Services {
    /// `GET /authorize`: starts a login.
    pub start: StartLogin,
    /// The login callback (with state checking).
    pub login: CompleteLogin,
    /// Refresh-token rotation.
    pub refresh: RefreshSession,
    /// Ends a session.
    pub logout: Logout,
    /// Accepts access tokens.
    pub access: AccessGuard,
    /// Reads and changes an organization's session settings.
    pub org_settings: OrganizationSettings,
    /// An administrator's view of users' sessions and sign-in.
    pub administration: SessionAdministration,
    /// A signed-in person's own sessions.
    pub own_sessions: OwnSessions,
    /// Records, lists and decides link requests (recording inside `login`).
    pub link_requests: LinkRequests,
    /// Reads the audit trail for administrators.
    pub audit_trail: AuditTrail,
    /// Finds or just-in-time creates the user of a login (inside `login`).
    pub provisioner: Provisioner,
    /// Issues sessions (inside `login`, `refresh` and `logout`).
    pub issuer: SessionIssuer,
}

impl Services {
    /// Wires every use case from `ports` and `policies`.
    pub fn new(ports: Ports, policies: Policies) -> Self {
        let Ports {
            users,
            organizations,
            sessions,
            refresh_tokens,
            login_states,
            lifecycle,
            identity_provider,
            tokens,
            verifier,
            state_protector,
            clock,
            link_requests,
            audit,
            audit_store,
            login_turns,
        } = ports;
        let link_requests = LinkRequests::new(link_requests, users.clone(), clock.clone(), audit.clone());
        let provisioner = Provisioner::new(
            users.clone(),
            organizations.clone(),
            clock.clone(),
            policies.provisioning,
        );
        let issuer = SessionIssuer::new(
            organizations.clone(),
            tokens.clone(),
            sessions.clone(),
            policies.session_defaults,
            policies.lifetimes,
        );
        let start = StartLogin::new(
            identity_provider.clone(),
            login_states.clone(),
            state_protector.clone(),
            clock.clone(),
            policies.redirects.clone(),
        )
        .requiring_client_challenge(policies.require_client_challenge);
        let login = CompleteLogin::new(
            identity_provider.clone(),
            provisioner.clone(),
            issuer.clone(),
            policies.redirects,
            StateChecking {
                store: login_states,
                protector: state_protector,
                clock: clock.clone(),
                accept_unissued: policies.accept_unissued_state,
            },
            login_turns,
        )
        .recording_link_requests(link_requests.clone())
        .auditing(audit.clone());
        let refresh = RefreshSession::new(
            users.clone(),
            refresh_tokens.clone(),
            sessions.clone(),
            tokens.clone(),
            issuer.clone(),
            clock.clone(),
            policies.refresh,
        )
        .auditing(audit.clone());
        let logout = Logout::new(
            refresh_tokens,
            sessions.clone(),
            tokens,
            verifier.clone(),
            clock.clone(),
        )
        .auditing(audit.clone());
        let access = AccessGuard::new(verifier, sessions.clone(), users.clone(), clock.clone());
        let administration = SessionAdministration::new(
            users.clone(),
            sessions.clone(),
            lifecycle,
            audit.clone(),
            clock.clone(),
        );
        let own_sessions = OwnSessions::new(users.clone(), sessions, audit.clone(), clock.clone());
        let audit_trail = AuditTrail::new(AdminRule::new(users.clone()), audit_store);
        let org_settings = OrganizationSettings::new(
            organizations,
            users,
            identity_provider,
            clock,
            policies.session_defaults,
        )
        .auditing(audit);
        Self {
            start,
            login,
            refresh,
            logout,
            access,
            org_settings,
            administration,
            own_sessions,
            link_requests,
            audit_trail,
            provisioner,
            issuer,
        }
    }
}
