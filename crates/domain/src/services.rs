//! Every use case wired from the ports and the policies, so that a service reusing
//! the domain (and this repository's `app`) does not repeat the wiring.

use crate::access::AccessGuard;
use crate::admin::AdminRule;
use crate::administration::{OwnSessions, SessionAdministration};
use crate::audit::AuditTrail;
use crate::issuance::{SessionIssuer, SessionLifetimes};
use crate::links::LinkRequests;
use crate::login::{CompleteLogin, RedirectPolicy};
use crate::logout::Logout;
use crate::org_settings::OrganizationSettings;
use crate::policy::SessionConfig;
use crate::provisioning::{Provisioner, ProvisioningPolicy};
use crate::refresh::{RefreshPolicy, RefreshSession};
use crate::start::StartLogin;
use crate::wiring::Ports;

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
/// use tether_domain::{Policies, Ports, RedirectPolicy, Services, Timestamp, mocks};
///
/// // Your adapters here; these are the `mocks` feature's.
/// let ports = Ports {
///     identity_provider: Arc::new(mocks::identity_provider(mocks::identity("user_1", "ada@example.com"))),
///     clock: mocks::fixed_clock(Timestamp::from_millis(1_700_000_000_000)),
///     ..mocks::ports()
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
        let link_requests = LinkRequests::new(
            ports.link_requests.clone(),
            ports.users.clone(),
            ports.clock.clone(),
            ports.audit.clone(),
        );
        let provisioner = Provisioner::new(ports.clone(), policies.provisioning);
        let issuer = SessionIssuer::new(ports.clone(), policies.session_defaults, policies.lifetimes);
        let start = StartLogin::new(ports.clone(), policies.redirects.clone())
            .requiring_client_challenge(policies.require_client_challenge);
        let login = CompleteLogin::new(
            ports.clone(),
            provisioner.clone(),
            issuer.clone(),
            policies.redirects,
            policies.accept_unissued_state,
        )
        .recording_link_requests(link_requests.clone());
        Self {
            start,
            login,
            refresh: RefreshSession::new(ports.clone(), issuer.clone(), policies.refresh),
            logout: Logout::new(ports.clone()),
            access: AccessGuard::new(ports.clone()),
            org_settings: OrganizationSettings::new(ports.clone(), policies.session_defaults),
            administration: SessionAdministration::new(ports.clone()),
            own_sessions: OwnSessions::new(ports.clone()),
            link_requests,
            audit_trail: AuditTrail::new(AdminRule::new(ports.users.clone()), ports.audit_store.clone()),
            provisioner,
            issuer,
        }
    }
}
