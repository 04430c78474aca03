//! The adapters behind every port, as one value: every use case is built from it
//! (with its policy), so that wiring a use case names no port twice.

use std::sync::Arc;

use crate::audit::{AuditSink, AuditStore};
use crate::gate::LoginTurns;
use crate::lifecycle::LifecycleStore;
use crate::links::LinkRequestStore;
use crate::ports::{
    AccessTokenVerifier, Clock, IdentityProvider, LoginStateStore, OrganizationRepository, RefreshTokenStore,
    SessionStore, StateProtector, TokenIssuer, UserRepository,
};

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
