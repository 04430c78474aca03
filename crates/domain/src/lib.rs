//! # tether-domain
//!
//! The sign-in rules of tether-auth, free of I/O: value types, the ports (traits)
//! through which the rules reach stores, WorkOS and token signing, and the use cases
//! that orchestrate them.
//!
//! - [`CompleteLogin`]: the login callback (exchange, provisioning, session issuance).
//! - [`Provisioner`]: find or just-in-time create the local user.
//! - [`SessionIssuer`]: resolve an organization's session policy and issue tokens.
//! - [`SessionConfig`]: the nine session settings, their bounds and the overlay.
//!
//! Enable the `mocks` feature for `mockall` mocks of every port (`MockUserRepository`, ...).

mod issuance;
mod login;
mod model;
mod ports;
mod provisioning;
mod session;
mod values;

pub use issuance::{AuthSession, IssueError, SessionIssuer, SessionLifetimes};
pub use login::{CallbackInput, CompleteLogin, ExchangePlan, LoginError, RedirectPolicy};
pub use model::{
    AccessClaims, Flow, IdpIdentity, MintedRefreshToken, NewUser, Organization, PendingOrganization,
    RefreshTokenRecord, StepRequired, User, WorkosLink,
};
pub use ports::{
    Clock, ExchangeError, IdentityProvider, OrganizationRepository, RefreshTokenStore, RepositoryError,
    TokenError, TokenIssuer, UserRepository,
};
#[cfg(any(test, feature = "mocks"))]
pub use ports::{
    MockClock, MockIdentityProvider, MockOrganizationRepository, MockRefreshTokenStore, MockTokenIssuer,
    MockUserRepository,
};
pub use provisioning::{NormalizedIdentity, ProvisionError, Provisioner, ProvisioningPolicy};
pub use session::{
    PasswordFallbackBehavior, SessionConfig, SessionField, SessionFields, SettingError, SettingValue,
    SsoFallbackBehavior, StoredSessionSettings,
};
pub use values::{
    AccessRole, AccessRoleError, Email, EmailError, ObjectIdError, ObjectIdHex, SessionId, Timestamp,
    TokenHash,
};

/// Re-exported so adapters and callers name the same secret type.
pub use secrecy;

#[cfg(test)]
mod tests;
