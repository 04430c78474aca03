//! # tether-domain
//!
//! The sign-in rules of tether-auth, free of I/O: value types, the ports (traits)
//! through which the rules reach stores, an identity provider and token signing, and
//! the use cases that orchestrate them. It names no provider and no database: a login
//! learns an [`ExternalIdentity`] (a [`IdentityLink`], the provider key and subject,
//! an address and who vouches for it, a [`TenantId`]), and organizations are mapped
//! to tenants.
//!
//! - [`CompleteLogin`]: the login callback (exchange, provisioning, session issuance).
//! - [`Provisioner`]: find or just-in-time create the local user.
//! - [`SessionIssuer`]: resolve an organization's session policy and issue tokens.
//! - [`SessionConfig`]: the nine session settings, their bounds and the overlay.
//! - [`SessionRecord`] and [`SessionStore`]: a login session is a record of its own.
//! - [`RefreshSession`] and [`Logout`]: refresh-token rotation with reuse detection and
//!   one successor per token, and revoking a session.
//! - [`AccessGuard`]: accepting an access token (signature, expiry, revoked session).
//! - [`LifecycleEvents`], [`EventConsumer`] and [`ReceiveDelivery`]: offboarding from the
//!   identity provider's events, polled or delivered (module [`lifecycle`]).
//! - [`LinkRequests`]: the link requests of logins refused for want of a vouched
//!   address, listed, approved and rejected by administrators (module [`links`]).
//! - [`OrganizationSettings`]: a SUPERADMIN reads and changes an organization's
//!   session settings ([`SettingsPatch`]).
//! - [`SessionAdministration`] and [`OwnSessions`]: an administrator lists and ends a
//!   user's sessions and disables or enables their sign-in; a person lists and ends
//!   their own sessions.
//! - [`AuditTrail`] and [`AuditSink`]: every decision about who is in, recorded off the
//!   request path and read back by administrators (module [`audit`]).
//! - [`Services`]: every use case above wired from [`Ports`] and [`Policies`]; its
//!   documentation shows what a service reusing this crate writes.
//!
//! The enums callers match on (every use-case error and [`Failure`], the port errors
//! [`RepositoryError`] and [`ExchangeError`], [`AccessRole`], [`SsoFallbackBehavior`],
//! [`PasswordFallbackBehavior`], [`SessionField`], ...) are `#[non_exhaustive]`: a later
//! variant does not break another team's build, so keep a wildcard arm. [`SettingValue`]
//! stays exhaustive on purpose: every adapter must map each of its variants to its
//! storage or API, and a new one should stop the build of an adapter that does not.
//!
//! Enable the `mocks` feature for `mockall` mocks of every port (`MockUserRepository`, ...)
//! and the helpers of `tether_domain::mocks` (a fixed clock, users, organizations, an
//! identity provider that vouches for a given identity),
//! and the `conformance` feature for the port-conformance suites every store adapter
//! runs (`tether_domain::conformance`).

#![warn(missing_docs)]

mod access;
mod admin;
mod administration;
pub mod audit;
#[cfg(feature = "conformance")]
pub mod conformance;
mod failure;
mod gate;
mod issuance;
pub mod lifecycle;
pub mod links;
mod login;
mod logout;
#[cfg(any(test, feature = "mocks"))]
pub mod mocks;
mod model;
mod org_settings;
mod policy;
mod ports;
mod provisioning;
mod refresh;
mod services;
mod start;
mod values;
mod wiring;

pub use failure::{Failure, IssueError};
pub use gate::LoginTurns;
pub use issuance::{AuthSession, LoginAnswerKey, SessionIssuer, SessionLifetimes, SessionOrigin};
pub use login::{
    CallbackInput, CompleteLogin, LOGIN_ANSWER_WINDOW_SECONDS, LoginError, RedirectPolicy, StepAnswer,
    StepInput,
};
pub use model::{
    AccessClaims, AuthorizationRequest, ClientContext, CodeExchange, ExternalIdentity, IdentityLink,
    LinkedIdentity, LiveRefreshToken, LoginAnswer, LoginHints, LoginPlan, LoginStateRecord,
    MintedRefreshToken, NewOrganization, NewUser, Organization, PendingOrganization, PendingStep,
    RECORDED_USER_AGENT_MAX, RefreshTokenRecord, RevokedReason, Rotation, RotationOutcome, SessionRecord,
    StateTake, StepRequired, TokenRotation, User, VerifiedAccess, Vouching,
};
pub use policy::{
    PasswordFallbackBehavior, SessionConfig, SessionField, SessionFields, SettingError, SettingValue,
    SsoFallbackBehavior, StoredSessionSettings,
};
pub use ports::{
    Clock, ExchangeError, IdentityProvider, LoginStateStore, OrganizationRepository, RefreshTokenStore,
    RepositoryError, SessionStore, StateProtector, TokenError, TokenIssuer, UserRepository,
};
#[cfg(any(test, feature = "mocks"))]
pub use ports::{
    MockClock, MockIdentityProvider, MockLoginStateStore, MockOrganizationRepository, MockRefreshTokenStore,
    MockSessionStore, MockStateProtector, MockTokenIssuer, MockUserRepository,
};
pub use provisioning::{
    NormalizedIdentity, ProvisionError, Provisioned, Provisioner, ProvisioningPolicy, TrustRule,
};
pub use services::{Policies, Services};
pub use start::{AuthorizeInput, LOGIN_STATE_TTL_SECONDS, StartError, StartLogin, StartedLogin};
pub use values::{
    AccessRole, AccessRoleError, ClientChallenge, ClientChallengeError, ClientVerifier, ClientVerifierError,
    Email, EmailError, HexId, HexIdError, LinkRequestId, LoginState, LoginStateError, OrganizationId,
    ProviderKey, ProviderKeyError, SessionId, TenantId, TenantIdError, Timestamp, TokenHash, UserId,
};
pub use wiring::Ports;

pub use access::{AccessError, AccessGuard};
pub use admin::{AdminError, AdminRule, Administrator};
pub use administration::{
    AdministrationError, DEFAULT_DISABLED_REASON, LoginDisabledChange, LoginDisabledOutcome,
    MAX_DISABLED_REASON_CHARS, MAX_LISTED_SESSIONS, OwnSessions, OwnSessionsError, SessionAdministration,
    SessionSummary,
};
#[cfg(any(test, feature = "mocks"))]
pub use audit::MockAuditStore;
pub use audit::{
    AuditActor, AuditEvent, AuditFilter, AuditIds, AuditOrigin, AuditOutcome, AuditPage, AuditQuery,
    AuditSink, AuditStore, AuditTrail, AuditTrailError, AuditType, DEFAULT_AUDIT_PAGE, MAX_AUDIT_PAGE,
    NoAudit, StoredAuditEvent, SystemActor,
};
#[cfg(any(test, feature = "mocks"))]
pub use lifecycle::MockLifecycleStore;
pub use lifecycle::{
    CursorMove, DeliveryError, DisabledBy, Disablement, EventConsumer, EventCursorStore, EventOutcome,
    EventSource, LifecycleChange, LifecycleEvent, LifecycleEvents, LifecycleStore, ReceiveDelivery,
    SignedDeliveries,
};
#[cfg(any(test, feature = "mocks"))]
pub use links::MockLinkRequestStore;
pub use links::{
    LinkCaller, LinkDecision, LinkReplaced, LinkRequest, LinkRequestError, LinkRequestFilter,
    LinkRequestStatus, LinkRequestStore, LinkRequests, NewLinkRequest, PreviousLink, RecordedLinkRequest,
};
pub use logout::{Logout, LogoutCredential, LogoutError};
pub use org_settings::{FieldErrors, OrgSettingsError, OrganizationSettings, SettingsPatch};
#[cfg(any(test, feature = "mocks"))]
pub use ports::MockAccessTokenVerifier;
pub use ports::{AccessTokenVerifier, InvalidAccessToken};
pub use refresh::{MAX_REFRESH_TOKEN_LEN, RefreshError, RefreshPolicy, RefreshSession};

/// Re-exported so adapters and callers name the same secret type.
pub use secrecy;
