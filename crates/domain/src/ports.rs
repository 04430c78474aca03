//! Ports: the traits through which the rules reach the outside world. Adapters
//! implement them; every implementation MUST report failures with the documented
//! variants so that the rules can tell a client mistake from an outage.

use async_trait::async_trait;
use secrecy::SecretString;
use thiserror::Error;

use crate::model::{
    AccessClaims, AuthorizationRequest, ClientContext, CodeExchange, ExternalIdentity, IdentityLink,
    LinkedIdentity, LoginHints, LoginPlan, LoginStateRecord, MintedRefreshToken, NewOrganization, NewUser,
    Organization, PendingStep, RefreshTokenRecord, RevokedReason, RotationOutcome, SessionRecord, StateTake,
    StepRequired, TokenRotation, User, VerifiedAccess,
};
use crate::policy::StoredSessionSettings;
use crate::values::{
    ClientChallenge, Email, OrganizationId, SessionId, TenantId, TenantIdError, Timestamp, TokenHash, UserId,
};

/// Failure of a repository or store.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RepositoryError {
    /// A unique constraint refused the write. Only the
    /// operations whose contract names it return it, and then they wrote nothing.
    #[error("a record with the same unique key exists")]
    Duplicate,
    /// The store cannot be reached or did not answer in time. Nothing can be assumed
    /// about writes in flight.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a malformed stored document, a driver bug, ...
    #[error("unexpected store failure: {0}")]
    Unexpected(String),
}

/// Users of the product.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// The user carrying this link.
    async fn find_by_link(&self, link: &IdentityLink) -> Result<Option<User>, RepositoryError>;

    /// The user with this address, compared case-insensitively.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError>;

    /// The user with this id.
    async fn find_user(&self, id: UserId) -> Result<Option<User>, RepositoryError>;

    /// Creates a user. MUST return [`RepositoryError::Duplicate`] when another user
    /// already has the address (case-insensitively) or the link, and then MUST NOT
    /// have written anything.
    async fn insert(&self, user: NewUser) -> Result<User, RepositoryError>;

    /// Stamps `lastLoginAt` and `updatedAt` and, when `identity` is given, records its
    /// link (with its connection and tenant) on the user where the user carries none
    /// for that provider (never overwriting one). Other fields stay untouched. Returns
    /// the updated user, `None` if it no longer exists.
    ///
    /// MUST return [`RepositoryError::Duplicate`], having written nothing, when the
    /// link is already carried by another user. Whether the link may be made at all is
    /// the rules' decision, not the store's.
    async fn record_login(
        &self,
        id: UserId,
        identity: Option<LinkedIdentity>,
        at: Timestamp,
    ) -> Result<Option<User>, RepositoryError>;

    /// A returning user's sign-in in one write: stamps `lastLoginAt` and `updatedAt` on
    /// the user carrying `link`, if they may sign in, and returns them as updated.
    /// `None`, having written nothing, when no user carries the link or that user's
    /// login is disabled.
    async fn record_login_by_link(
        &self,
        link: &IdentityLink,
        at: Timestamp,
    ) -> Result<Option<User>, RepositoryError>;
}

/// Organizations of the product.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OrganizationRepository: Send + Sync {
    /// The organization with this id.
    async fn find_organization(&self, id: OrganizationId) -> Result<Option<Organization>, RepositoryError>;

    /// Where a new member of `tenant` may land, in one read: the organization mapped
    /// to it when one is; otherwise (or when `None` is given) the oldest organization
    /// mapped to no tenant (smallest `createdAt`, ties broken by id); `None` when
    /// neither exists.
    async fn mapped_or_oldest_unmapped<'a>(
        &self,
        tenant: Option<&'a TenantId>,
    ) -> Result<Option<Organization>, RepositoryError>;

    /// The organization mapped to this tenant (at most one is).
    async fn find_by_tenant(&self, tenant: &TenantId) -> Result<Option<Organization>, RepositoryError>;

    /// Every organization, oldest first (for operators; the product has few).
    async fn list(&self) -> Result<Vec<Organization>, RepositoryError>;

    /// Creates an organization. MUST return [`RepositoryError::Duplicate`], having
    /// written nothing, when another organization is mapped to the same tenant.
    async fn create(&self, organization: NewOrganization) -> Result<Organization, RepositoryError>;

    /// Maps the organization to `tenant`, or unmaps it with `None`, and stamps
    /// `updatedAt`; other fields stay untouched. Returns the updated organization,
    /// `None` (and writes nothing) if it does not exist. MUST return
    /// [`RepositoryError::Duplicate`], having written nothing, when another
    /// organization is already mapped to that tenant.
    async fn set_tenant(
        &self,
        id: OrganizationId,
        tenant: Option<TenantId>,
        at: Timestamp,
    ) -> Result<Option<Organization>, RepositoryError>;

    /// Replaces the organization's stored session settings with `settings` (fields
    /// absent from it are stored as cleared) and stamps `updatedAt` with `at`; every
    /// other field of the organization stays untouched. Returns the updated
    /// organization, `None` (and writes nothing) if it does not exist.
    async fn update_session_settings(
        &self,
        id: OrganizationId,
        settings: StoredSessionSettings,
        at: Timestamp,
    ) -> Result<Option<Organization>, RepositoryError>;
}

/// Login sessions, one record each (`sessions`).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a session that starts. MUST return [`RepositoryError::Duplicate`], having
    /// written nothing, when a session with the same id exists.
    async fn start(&self, session: SessionRecord) -> Result<(), RepositoryError>;

    /// The session with this id (revoked or ended alike), `None` if unknown or removed.
    async fn find_session(&self, id: &SessionId) -> Result<Option<SessionRecord>, RepositoryError>;

    /// Marks the session revoked at `at` for `reason`, in one write, unless it is
    /// revoked already (the first revocation keeps its time and reason). Returns
    /// whether this call revoked it; `false` also for an unknown session. Idempotent.
    async fn revoke(
        &self,
        id: &SessionId,
        at: Timestamp,
        reason: RevokedReason,
    ) -> Result<bool, RepositoryError>;

    /// The session whose live refresh token, or the token its last rotation consumed,
    /// has this digest; `None` if none has.
    async fn find_by_refresh_token(&self, hash: &TokenHash)
    -> Result<Option<SessionRecord>, RepositoryError>;

    /// The session whose login answer has this id ([`crate::LoginAnswer::id`]), `None`
    /// if none has.
    async fn find_by_login_answer(&self, id: &TokenHash) -> Result<Option<SessionRecord>, RepositoryError>;

    /// Rotation, in one atomic compare-and-set: if a session's live refresh token has
    /// the digest `presented` and has not expired at `at`, and the session is neither
    /// revoked nor past its end at `at`, its live token becomes `successor` (its expiry
    /// capped at the session's end), its last
    /// rotation records `presented` (with its expiry), `at` and `sealed_successor`, and
    /// `lastRefreshedAt` becomes `at`: [`RotationOutcome::Rotated`] with the session as
    /// updated. Otherwise, having written nothing, [`RotationOutcome::Refused`] with the
    /// session [`SessionStore::find_by_refresh_token`] finds for `presented`. Of
    /// concurrent callers for one digest exactly one gets the session rotated.
    async fn rotate(&self, rotation: TokenRotation) -> Result<RotationOutcome, RepositoryError>;

    /// The sessions of `user` live at `now` (not revoked, `now` before their end),
    /// newest first (latest `started_at`, ties by id, descending), at most `limit`.
    async fn list_live_for_user(
        &self,
        user: UserId,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<SessionRecord>, RepositoryError>;

    /// Marks the session `id` revoked at `at` for `reason`, in one write, only when it
    /// is a session of `user` live at `at`. Returns whether this call revoked it:
    /// `false`, having written nothing, for an unknown session, another user's, or one
    /// revoked or ended already (the first revocation keeps its time and reason).
    async fn revoke_live_of_user(
        &self,
        user: UserId,
        id: &SessionId,
        at: Timestamp,
        reason: RevokedReason,
    ) -> Result<bool, RepositoryError>;

    /// Marks every session of `user` live at `at` revoked at `at` for `reason`, but
    /// `keep` when given, in one write. Returns how many this call revoked; sessions
    /// revoked or ended already are untouched. Idempotent.
    async fn revoke_all_live_of_user<'a>(
        &self,
        user: UserId,
        keep: Option<&'a SessionId>,
        at: Timestamp,
        reason: RevokedReason,
    ) -> Result<u64, RepositoryError>;
}

/// Refresh tokens consumed by rotations, kept (digests and rotation state only) to
/// recognise them when presented again.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RefreshTokenStore: Send + Sync {
    /// Stores a new token record. MUST return [`RepositoryError::Duplicate`], having
    /// written nothing, when a record with the same digest exists.
    async fn save_token(&self, record: RefreshTokenRecord) -> Result<(), RepositoryError>;

    /// The record with this digest (expired or used alike), `None` if unknown. The
    /// session it names, while that still exists, is then found by
    /// [`SessionStore::find_session`].
    async fn find_by_hash(&self, hash: &TokenHash) -> Result<Option<RefreshTokenRecord>, RepositoryError>;
}

/// Login states issued by the start of a login (keyed digests only).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LoginStateStore: Send + Sync {
    /// Stores a new login state. MUST return [`RepositoryError::Duplicate`] when a state
    /// with the same digest exists that has not expired by the new record's
    /// `created_at`, and then MUST NOT have written anything; an expired one is replaced.
    async fn save_state(&self, record: LoginStateRecord) -> Result<(), RepositoryError>;

    /// Atomically removes and returns the state with this digest (expired or not), so
    /// that of two concurrent callers at most one receives it; but only when the
    /// state's `client_challenge` is unset or equals `presented` (the challenge of the
    /// verifier the callback carries). A recorded state with another challenge (or a
    /// challenge and nothing presented) MUST be left in place and answered
    /// [`StateTake::Bound`]; no state is [`StateTake::Absent`].
    async fn take<'a>(
        &self,
        state_hash: &TokenHash,
        presented: Option<&'a ClientChallenge>,
    ) -> Result<StateTake, RepositoryError>;
}

/// Keyed cryptography of login states: digests a database reader cannot invert or
/// brute-force, and PKCE verifiers derived from the state so none is ever stored.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait StateProtector: Send + Sync {
    /// A fresh random state (at least 256 bits, URL-safe).
    fn random_state(&self) -> String;

    /// The keyed digest under which a state is stored.
    fn hash_state(&self, state: &str) -> TokenHash;

    /// The PKCE verifier of the login started with `state` (43–128 unreserved characters).
    fn pkce_verifier(&self, state: &str) -> SecretString;

    /// The S256 challenge of a verifier: base64url(SHA-256(verifier)), unpadded.
    fn pkce_challenge(&self, verifier: &SecretString) -> String;
}

/// Failure of a code exchange with the identity provider.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The code is unknown, expired or already used (for the API asked).
    #[error("the authorization code is invalid, expired or used")]
    InvalidCode,
    /// The provider needs another step (verification, organization selection, MFA, ...).
    #[error("the identity provider requires another step: {}", .0.code)]
    StepRequired(Box<StepRequired>),
    /// The provider refused our credentials: an operator must fix the configuration.
    #[error("the identity provider rejected our credentials: {0}")]
    Misconfigured(String),
    /// The provider is rate-limiting us.
    #[error("the identity provider is rate-limiting us")]
    RateLimited {
        /// Seconds the provider asked us to wait, if it said.
        retry_after_seconds: Option<u64>,
    },
    /// Time-out, refused connection or a 5xx answer.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// An answer this adapter cannot use (unexpected status or body).
    #[error("unexpected answer from the identity provider: {0}")]
    Unexpected(String),
}

/// The identity provider that turns one-time codes into external identities. What is
/// particular to a provider (its APIs, which one a login uses, PKCE, the form of its
/// tenant ids) stays behind this port.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait IdentityProvider: Send + Sync {
    /// How the provider runs a login started with `hints`; a message naming the
    /// hint when it refuses them (e.g. an unknown API asked for).
    fn plan_login(&self, hints: &LoginHints) -> Result<LoginPlan, String>;

    /// Exchanges a one-time code (see [`CodeExchange`] for what goes with it). An
    /// implementation MUST NOT retry a request that may have reached the provider
    /// (codes are single-use).
    async fn exchange(&self, exchange: &CodeExchange) -> Result<ExternalIdentity, ExchangeError>;

    /// Completes a login the provider answered with a [`StepRequired`], with the
    /// step's answer. Fails as [`ExchangeError::InvalidCode`] for an unknown, expired
    /// or used pending token (or a wrong code), and may ask for a further step.
    async fn complete_step(
        &self,
        step: &PendingStep,
        client: &ClientContext,
    ) -> Result<ExternalIdentity, ExchangeError>;

    /// The provider's URL that starts a login described by `request`.
    fn authorization_url(&self, request: &AuthorizationRequest) -> String;

    /// `raw` as one of the provider's tenant ids, or what one looks like.
    fn parse_tenant(&self, raw: &str) -> Result<TenantId, TenantIdError>;
}

/// Failure to sign a token.
#[derive(Debug, Error)]
#[error("could not sign the access token: {0}")]
pub struct TokenError(pub String);

/// Issues access tokens and mints refresh tokens. Pure computation plus randomness.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenIssuer: Send + Sync {
    /// Signs an access token with these claims (plus a fresh `jti`).
    fn issue_access_token(&self, claims: &AccessClaims) -> Result<SecretString, TokenError>;

    /// A new refresh token (`rt_` + at least 256 random bits) and its SHA-256 digest.
    fn mint_refresh_token(&self) -> MintedRefreshToken;

    /// The SHA-256 digest of a refresh token presented by a client.
    fn hash_refresh_token(&self, token: &str) -> TokenHash;

    /// A new random session id.
    fn new_session_id(&self) -> SessionId;

    /// Seals `successor` (the refresh token that replaced `presented` at rotation)
    /// under a key derived from `presented`, with authenticated encryption: only a
    /// holder of `presented` can open it, and the stored text reveals nothing of it.
    fn seal_successor(&self, presented: &str, successor: &SecretString) -> String;

    /// Opens what [`TokenIssuer::seal_successor`] sealed for `presented`; `None` when
    /// it was sealed for another token or altered.
    fn open_successor(&self, presented: &str, sealed: &str) -> Option<SecretString>;
}

/// The source of the current time.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// Why an access token presented by a client is refused by its verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the access token is malformed, badly signed or not ours")]
pub struct InvalidAccessToken;

/// Checks access tokens (JWTs) presented by clients.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait AccessTokenVerifier: Send + Sync {
    /// Checks format, algorithm, signature, issuer and audience and returns the claims.
    /// An implementation MUST NOT judge expiry: the rules compare
    /// [`VerifiedAccess::expires_at`] with their [`Clock`], and logout accepts an
    /// expired token of a correctly signed session. Claims that do not parse (an
    /// unknown role, a malformed id) are [`InvalidAccessToken`].
    fn verify(&self, token: &str) -> Result<VerifiedAccess, InvalidAccessToken>;
}
