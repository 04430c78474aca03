//! Helpers for tests of services that reuse the domain (feature `mocks`): a clock
//! that reads one instant, a user and an organization to start from, an identity,
//! and an identity provider that vouches for it. The port mocks themselves
//! (`MockUserRepository`, ...) are re-exported at the crate root.

use std::sync::Arc;

use crate::audit::{MockAuditStore, NoAudit};
use crate::gate::LoginTurns;
use crate::lifecycle::MockLifecycleStore;
use crate::links::MockLinkRequestStore;
use crate::model::{ExternalIdentity, IdentityLink, LoginPlan, Organization, User, Vouching};
use crate::policy::StoredSessionSettings;
use crate::ports::{
    MockAccessTokenVerifier, MockClock, MockIdentityProvider, MockLoginStateStore,
    MockOrganizationRepository, MockRefreshTokenStore, MockSessionStore, MockStateProtector, MockTokenIssuer,
    MockUserRepository,
};
use crate::values::{
    AccessRole, Email, OrganizationId, ProviderKey, TenantId, TenantIdError, Timestamp, UserId,
};
use crate::wiring::Ports;

/// The id of [`user`].
pub const USER_ID: &str = "5f7b1c2e8a1d4e0012c3b4a5";
/// The id of [`organization`], and the organization of [`user`].
pub const ORGANIZATION_ID: &str = "64a1b2c3d4e5f60012345678";

/// Ports whose every adapter is a mock without expectations (a call panics), and no
/// audit: a test replaces the ones its use case calls, with struct update syntax
/// (`Ports { users: Arc::new(store), ..mocks::ports() }`).
pub fn ports() -> Ports {
    Ports {
        users: Arc::new(MockUserRepository::new()),
        organizations: Arc::new(MockOrganizationRepository::new()),
        sessions: Arc::new(MockSessionStore::new()),
        refresh_tokens: Arc::new(MockRefreshTokenStore::new()),
        login_states: Arc::new(MockLoginStateStore::new()),
        lifecycle: Arc::new(MockLifecycleStore::new()),
        identity_provider: Arc::new(MockIdentityProvider::new()),
        tokens: Arc::new(MockTokenIssuer::new()),
        verifier: Arc::new(MockAccessTokenVerifier::new()),
        state_protector: Arc::new(MockStateProtector::new()),
        clock: Arc::new(MockClock::new()),
        link_requests: Arc::new(MockLinkRequestStore::new()),
        audit: Arc::new(NoAudit),
        audit_store: Arc::new(MockAuditStore::new()),
        login_turns: LoginTurns::new(),
    }
}

/// A clock that always reads `at`, for every use case of a test.
pub fn fixed_clock(at: Timestamp) -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(at);
    Arc::new(clock)
}

#[expect(
    clippy::expect_used,
    reason = "the ids are constants of this module, known to be valid"
)]
fn user_id(hex: &str) -> UserId {
    UserId::parse(hex).expect("the ids of the mocks are valid")
}

#[expect(
    clippy::expect_used,
    reason = "the ids are constants of this module, known to be valid"
)]
fn organization_id(hex: &str) -> OrganizationId {
    OrganizationId::parse(hex).expect("the ids of the mocks are valid")
}

/// An enabled SALES_REP `address` of [`ORGANIZATION_ID`], id [`USER_ID`], with no link
/// recorded; change fields with struct update syntax (`User { .., ..mocks::user(..) }`).
///
/// # Panics
///
/// When `address` is not a valid e-mail address (a mistake of the test).
#[expect(
    clippy::expect_used,
    reason = "a malformed address is the calling test's mistake"
)]
pub fn user(address: &str) -> User {
    User {
        id: user_id(USER_ID),
        email: Email::parse(address).expect("mocks::user takes a valid e-mail address"),
        full_name: "Test User".to_owned(),
        organization_id: organization_id(ORGANIZATION_ID),
        access_role: AccessRole::SalesRep,
        conversation_open_preference: "split".to_owned(),
        login_disabled: false,
        links: Vec::new(),
        email_verified: None,
    }
}

/// The organization `name`, id [`ORGANIZATION_ID`], without session overrides and
/// mapped to no tenant.
pub fn organization(name: &str) -> Organization {
    Organization {
        id: organization_id(ORGANIZATION_ID),
        name: name.to_owned(),
        session_settings: StoredSessionSettings::none(),
        tenant: None,
    }
}

/// The provider key of the identities of this module.
pub const PROVIDER: ProviderKey = ProviderKey::from_static("test");

/// An identity `subject` of provider [`PROVIDER`], with the address `address` the
/// provider verified.
pub fn identity(subject: &str, address: &str) -> ExternalIdentity {
    ExternalIdentity {
        link: IdentityLink {
            provider: PROVIDER,
            subject: subject.to_owned(),
        },
        email: address.to_owned(),
        email_verified: Some(true),
        vouching: Vouching::Provider,
        first_name: Some("Test".to_owned()),
        last_name: Some("User".to_owned()),
        connection: None,
        tenant: None,
    }
}

/// An identity provider that vouches for `identity` on every code exchange, plans
/// every login with [`PROVIDER`] and PKCE, takes any well-formed tenant id, and
/// answers authorization URLs under `https://idp.example/authorize`.
pub fn identity_provider(identity: ExternalIdentity) -> MockIdentityProvider {
    let mut idp = MockIdentityProvider::new();
    idp.expect_exchange().returning(move |_| Ok(identity.clone()));
    idp.expect_plan_login().returning(|_| {
        Ok(LoginPlan {
            provider: PROVIDER,
            pkce: true,
        })
    });
    idp.expect_parse_tenant()
        .returning(|raw| TenantId::parse(raw).map_err(|e: TenantIdError| e));
    idp.expect_authorization_url()
        .returning(|request| format!("https://idp.example/authorize?flow={}", request.provider));
    idp
}
