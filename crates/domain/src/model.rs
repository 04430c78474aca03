//! Entities and records that cross the ports: users, organizations, external
//! identities and their links, login states and session records.

use secrecy::SecretString;

use crate::policy::StoredSessionSettings;
use crate::values::{
    AccessRole, ClientChallenge, Email, OrganizationId, ProviderKey, SessionId, TenantId, Timestamp,
    TokenHash, UserId,
};

/// A link between a local user and an external identity: the provider (or its API)
/// and the provider's id for the person there. At most one user carries a link.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdentityLink {
    /// The provider that knows the person by `subject`.
    pub provider: ProviderKey,
    /// The provider's id for the person, stable across their logins.
    pub subject: String,
}

/// Who vouches for an external identity's address, and so whether a login by that
/// address may link an existing local user who carries no link for the provider yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Vouching {
    /// The provider itself, when it says it verified the address
    /// ([`ExternalIdentity::email_verified`]): it vouches to any local user.
    Provider,
    /// The identity's tenant: it vouches only to users of the local organization
    /// mapped to that tenant (the tenant controls the address's domain there).
    Tenant,
}

/// The person an identity provider vouches for, as it described them: what a login
/// learns from the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    /// The provider and its id for the person.
    pub link: IdentityLink,
    /// The e-mail address as the provider sent it (not yet normalised).
    pub email: String,
    /// Whether the provider says the address is verified; `None` when it said nothing
    /// (counted as not verified).
    pub email_verified: Option<bool>,
    /// Who vouches for the address when it links an existing user.
    pub vouching: Vouching,
    /// Given name, if known.
    pub first_name: Option<String>,
    /// Family name, if known.
    pub last_name: Option<String>,
    /// The provider's connection the person came through (e.g. an enterprise one),
    /// if any; recorded on the user.
    pub connection: Option<String>,
    /// The tenant the identity belongs to, if any.
    pub tenant: Option<TenantId>,
}

/// What a login records on a user about the identity they signed in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedIdentity {
    /// The link.
    pub link: IdentityLink,
    /// The provider's connection, if any.
    pub connection: Option<String>,
    /// The identity's tenant, if any.
    pub tenant: Option<TenantId>,
}

impl From<&ExternalIdentity> for LinkedIdentity {
    fn from(identity: &ExternalIdentity) -> Self {
        Self {
            link: identity.link.clone(),
            connection: identity.connection.clone(),
            tenant: identity.tenant.clone(),
        }
    }
}

/// A local user as the product stores it (the fields this service reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Local id.
    pub id: UserId,
    /// Normalised e-mail address.
    pub email: Email,
    /// Display name.
    pub full_name: String,
    /// The organization the user belongs to.
    pub organization_id: OrganizationId,
    /// The user's role.
    pub access_role: AccessRole,
    /// UI preference carried in the compact user (known value `split`).
    pub conversation_open_preference: String,
    /// Whether sign-in is refused.
    pub login_disabled: bool,
    /// The external identities the user signs in with, at most one per provider.
    pub links: Vec<IdentityLink>,
    /// Whether the identity that created the user had an address the provider vouched
    /// for; `None` for users created otherwise (before this was recorded, by the product
    /// or an operator). Linking by address never lands on a `Some(false)` user.
    pub email_verified: Option<bool>,
}

impl User {
    /// The subject the user carries for `provider`, if any.
    pub fn subject_for(&self, provider: &ProviderKey) -> Option<&str> {
        self.links
            .iter()
            .find(|link| &link.provider == provider)
            .map(|link| link.subject.as_str())
    }
}

/// A user about to be created just in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Normalised e-mail address.
    pub email: Email,
    /// Display name.
    pub full_name: String,
    /// The organization chosen for them.
    pub organization_id: OrganizationId,
    /// The configured default role.
    pub access_role: AccessRole,
    /// The configured default preference.
    pub conversation_open_preference: String,
    /// The identity they signed in with.
    pub identity: LinkedIdentity,
    /// Whether the provider vouched for the address (`emailVerified`).
    pub email_verified: bool,
    /// Creation time (also `updatedAt` and `lastLoginAt`).
    pub created_at: Timestamp,
}

/// An organization (the fields this service reads).
#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    /// Local id.
    pub id: OrganizationId,
    /// Display name.
    pub name: String,
    /// Per-organization overrides of the session policy.
    pub session_settings: StoredSessionSettings,
    /// The tenant this organization is mapped to, if any: the tenant vouches for its
    /// users' addresses, and new users of that tenant join it.
    pub tenant: Option<TenantId>,
}

/// An organization about to be created (from the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrganization {
    /// Display name.
    pub name: String,
    /// The tenant to map it to, if any.
    pub tenant: Option<TenantId>,
    /// Creation time (also `updatedAt`).
    pub created_at: Timestamp,
}

/// What the identity provider needs before it completes the login.
#[derive(Debug, Clone)]
pub struct StepRequired {
    /// The provider's code, e.g. `organization_selection_required`.
    pub code: String,
    /// The provider's human message.
    pub message: String,
    /// The token the client sends back to continue, if any.
    pub pending_authentication_token: Option<SecretString>,
    /// Organizations to choose from, for organization selection.
    pub organizations: Vec<PendingOrganization>,
    /// The user's e-mail address, when the provider sent it.
    pub email: Option<String>,
}

/// The client a login comes from, as the edge saw it: for the provider's own checks
/// (sessions, bot detection) and for the records of a session. Neither is a secret;
/// the edge bounds and cleans both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientContext {
    /// The client's address (through the trusted proxies), if known.
    pub ip_address: Option<String>,
    /// The client's `User-Agent`, cleaned and cut short, if it sent one.
    pub user_agent: Option<String>,
}

/// The longest user agent a session records, in characters.
pub const RECORDED_USER_AGENT_MAX: usize = 256;

/// The longest client address a session records, in characters (an IPv6 address with
/// a zone fits).
const RECORDED_ADDRESS_MAX: usize = 64;

impl ClientContext {
    /// The client as a session records it: control characters removed, blank values
    /// dropped, the user agent cut at [`RECORDED_USER_AGENT_MAX`] characters.
    pub fn for_record(&self) -> ClientContext {
        let clean = |value: &Option<String>, max: usize| {
            value
                .as_deref()
                .map(|v| {
                    v.chars()
                        .filter(|c| !c.is_control())
                        .take(max)
                        .collect::<String>()
                })
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        ClientContext {
            ip_address: clean(&self.ip_address, RECORDED_ADDRESS_MAX),
            user_agent: clean(&self.user_agent, RECORDED_USER_AGENT_MAX),
        }
    }
}

/// A step the identity provider asked for, answered: the pending token of the
/// [`StepRequired`] and what the person chose or received.
#[derive(Debug, Clone)]
pub enum PendingStep {
    /// The person picked one of the offered organizations.
    OrganizationSelection {
        /// The provider's pending authentication token.
        pending_authentication_token: SecretString,
        /// The provider organization picked (a tenant).
        organization_id: TenantId,
    },
    /// The person entered the code the provider e-mailed them.
    EmailVerification {
        /// The provider's pending authentication token.
        pending_authentication_token: SecretString,
        /// The one-time code.
        code: SecretString,
    },
}

/// One organization a user may pick during organization selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingOrganization {
    /// The provider's id for it (a tenant).
    pub id: String,
    /// Display name.
    pub name: String,
}

/// The claims of one access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user (`userId` and `sub`).
    pub user_id: UserId,
    /// The user's organization.
    pub organization_id: OrganizationId,
    /// The user's role.
    pub access_role: AccessRole,
    /// The user's e-mail address.
    pub email: Email,
    /// The session the token belongs to (`sid`).
    pub session_id: SessionId,
    /// Issue time (`iat`).
    pub issued_at: Timestamp,
    /// Expiry (`exp`).
    pub expires_at: Timestamp,
}

/// A freshly minted refresh token: the secret for the client and the digest to store.
#[derive(Debug)]
pub struct MintedRefreshToken {
    /// `rt_` followed by at least 256 random bits; handed out once, never stored.
    pub token: SecretString,
    /// SHA-256 of `token`.
    pub hash: TokenHash,
}

/// A refresh token as stored: its digest and its rotation state. What it grants
/// (user, organization, lifetime, revocation) belongs to its [`SessionRecord`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    /// SHA-256 of the token.
    pub hash: TokenHash,
    /// The session it belongs to.
    pub session_id: SessionId,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
    /// When it was exchanged for its successor (rotation); `None` while unused.
    pub used_at: Option<Timestamp>,
    /// Its successor refresh token, sealed under a key derived from this token (see
    /// [`crate::TokenIssuer::seal_successor`]): set in the same atomic write as
    /// `used_at`, so that a replay within the grace window gets the same successor.
    pub sealed_successor: Option<String>,
}

/// Why a session was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevokedReason {
    /// The user logged out.
    Logout,
    /// A used refresh token of the session was presented after the grace window.
    Reuse,
    /// The user was removed or deactivated at the identity provider.
    Deprovisioned,
    /// An administrator ended it, alone or with every session of the user (also when
    /// disabling the user's sign-in).
    Admin,
}

impl RevokedReason {
    /// `logout`, `reuse`, `deprovisioned` or `admin`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            RevokedReason::Logout => "logout",
            RevokedReason::Reuse => "reuse",
            RevokedReason::Deprovisioned => "deprovisioned",
            RevokedReason::Admin => "admin",
        }
    }

    /// Parses `logout`, `reuse`, `deprovisioned` or `admin`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "logout" => Some(RevokedReason::Logout),
            "reuse" => Some(RevokedReason::Reuse),
            "deprovisioned" => Some(RevokedReason::Deprovisioned),
            "admin" => Some(RevokedReason::Admin),
            _ => None,
        }
    }

    /// Whether a session revoked for this reason may have ended with its user's
    /// sign-in (an event or an operator disabling it): its tokens then answer as the
    /// user's state does, "sign-in disabled" while the user stays disabled, "revoked"
    /// otherwise.
    pub const fn may_end_with_the_user(&self) -> bool {
        matches!(self, RevokedReason::Deprovisioned | RevokedReason::Admin)
    }
}

/// One login session: created once by a login, renewed by refresh tokens, ended by
/// logout, reuse or its absolute lifetime. Every token of it carries its id (`sid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session id (`sid`).
    pub id: SessionId,
    /// The signed-in user.
    pub user_id: UserId,
    /// The user's organization when the session started.
    pub organization_id: OrganizationId,
    /// When the login happened.
    pub started_at: Timestamp,
    /// When the session reaches its absolute lifetime; no token of it outlives this.
    pub ends_at: Timestamp,
    /// When it was revoked; `None` while it lives.
    pub revoked_at: Option<Timestamp>,
    /// Why it was revoked, if it was (absent for a session revoked before reasons
    /// were recorded).
    pub revoked_reason: Option<RevokedReason>,
    /// The last rotation of one of its refresh tokens.
    pub last_refreshed_at: Option<Timestamp>,
    /// Its live refresh token (digest only): stored with the session, so that a login
    /// writes one record and a rotation is one compare-and-set on it. `None` for a
    /// session that started without one.
    pub refresh_token: Option<LiveRefreshToken>,
    /// The last rotation: the token it consumed and the successor it handed out,
    /// sealed, for a replay within the grace window. `None` before the first rotation.
    pub last_rotation: Option<Rotation>,
    /// The answer of the login that started the session, for a second post of the same
    /// callback: `None` for sessions that did not start with a login callback.
    pub login_answer: Option<LoginAnswer>,
    /// The provider (API) the login went through; `None` for a session started
    /// before it was recorded, or without a login.
    pub flow: Option<ProviderKey>,
    /// The client the login came from, as recorded ([`ClientContext::for_record`]);
    /// empty for a session started before it was recorded.
    pub client: ClientContext,
}

/// What [`crate::SessionStore::rotate`] did with a presented refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotationOutcome {
    /// It was the live token of this session, which now holds the successor.
    Rotated(SessionRecord),
    /// It was refused, and nothing was written; with the session whose live token, or
    /// the token its last rotation consumed, it is, if any.
    Refused(Option<SessionRecord>),
}

/// What a second post of a login callback (same code, state and redirect URI) needs
/// to answer with the same session: found by a digest of what was posted, the first
/// refresh token sealed under a key derived from it, so that a database reader learns
/// nothing and only the holder of the code can open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAnswer {
    /// Digest of the code, state and redirect URI posted.
    pub id: TokenHash,
    /// The session's first refresh token, sealed (see [`crate::TokenIssuer::seal_successor`]).
    pub sealed_refresh_token: String,
}

/// The live refresh token of a session: its digest and when it stops being accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRefreshToken {
    /// SHA-256 of the token.
    pub hash: TokenHash,
    /// When it stops being accepted (a reader also checks the session's end).
    pub expires_at: Timestamp,
}

/// What a rotation asks of the store ([`crate::SessionStore::rotate`]): the digest of
/// the token presented, its successor, the time, and the successor sealed under a key
/// derived from the presented token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRotation {
    /// SHA-256 of the refresh token presented.
    pub presented: TokenHash,
    /// The token that becomes the session's live one.
    pub successor: LiveRefreshToken,
    /// When.
    pub at: Timestamp,
    /// The successor, sealed (see [`crate::TokenIssuer::seal_successor`]).
    pub sealed_successor: String,
}

/// A rotation of a session's refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// SHA-256 of the token the rotation consumed.
    pub hash: TokenHash,
    /// When that token would have expired.
    pub expires_at: Timestamp,
    /// When it was consumed.
    pub used_at: Timestamp,
    /// The successor handed out, sealed under a key derived from the consumed token
    /// (see [`crate::TokenIssuer::seal_successor`]).
    pub sealed_successor: String,
}

/// The claims of an access token whose signature, issuer and audience checked out.
/// Expiry is not judged yet: see [`crate::AccessGuard::authenticate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAccess {
    /// The user (`userId`).
    pub user_id: UserId,
    /// The user's organization when the token was issued.
    pub organization_id: OrganizationId,
    /// The user's role when the token was issued.
    pub access_role: AccessRole,
    /// The session the token belongs to (`sid`).
    pub session_id: SessionId,
    /// Expiry (`exp`).
    pub expires_at: Timestamp,
}

/// A login started here, as stored until its callback (at most 10 minutes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginStateRecord {
    /// Keyed digest of the state; the state itself is never stored.
    pub state_hash: TokenHash,
    /// The provider (API) the login uses.
    pub provider: ProviderKey,
    /// The redirect URI the login was started with.
    pub redirect_uri: String,
    /// The organization hint the login was started with, if any.
    pub organization_hint: Option<String>,
    /// Whether the login uses PKCE (the verifier is derived from the state, never stored).
    pub pkce: bool,
    /// The browser binding the login was started with, if any: the callback must
    /// carry its verifier.
    pub client_challenge: Option<ClientChallenge>,
    /// When the login started.
    pub created_at: Timestamp,
    /// When the state stops being accepted.
    pub expires_at: Timestamp,
}

/// What taking a login state found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateTake {
    /// The state was recorded and is now consumed.
    Taken(LoginStateRecord),
    /// No state with this digest is recorded.
    Absent,
    /// The state is recorded with a browser binding the presented verifier does not
    /// meet (or no verifier was presented): it was left in place.
    Bound,
}

/// What the start of a login asked the provider for, checked for form but not
/// interpreted by the rules: each provider reads the hints it knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginHints {
    /// The provider (API) the client asked for, if it named one (`flow`).
    pub requested: Option<String>,
    /// Pre-fills the user's address.
    pub login_hint: Option<String>,
    /// An organization the login is for (a tenant of the provider, or a local one).
    pub organization: Option<String>,
    /// A connection of the provider.
    pub connection: Option<String>,
    /// A domain whose connection to use.
    pub domain_hint: Option<String>,
    /// An upstream provider of the provider (`authkit`, `GoogleOAuth`, ...).
    pub provider: Option<String>,
    /// `prompt` passed through (e.g. `login`, `consent`).
    pub prompt: Option<String>,
}

/// A one-time code to exchange with the identity provider, and what the start of its
/// login planned for it.
#[derive(Debug, Clone)]
pub struct CodeExchange {
    /// The plan's provider when the login was started here; `None` for a code of a
    /// login started elsewhere, which the provider resolves as it can (e.g. trying
    /// each of its APIs in turn).
    pub provider: Option<ProviderKey>,
    /// The code the provider redirected back with.
    pub code: SecretString,
    /// The PKCE verifier of a login planned with PKCE.
    pub pkce_verifier: Option<SecretString>,
    /// The client, passed on where the provider takes it.
    pub client: ClientContext,
}

impl CodeExchange {
    /// `code`, for `provider`, without a verifier, from a client that said nothing.
    pub fn new(provider: Option<ProviderKey>, code: SecretString) -> Self {
        Self {
            provider,
            code,
            pkce_verifier: None,
            client: ClientContext::default(),
        }
    }
}

/// How a provider will run a login it was asked to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginPlan {
    /// The provider (API) that will authenticate, recorded with the login's state.
    pub provider: ProviderKey,
    /// Whether the login uses PKCE.
    pub pkce: bool,
}

/// What the provider's authorization URL must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// The provider (API) to start, as planned.
    pub provider: ProviderKey,
    /// Where the provider sends the browser back.
    pub redirect_uri: String,
    /// The CSRF state to echo.
    pub state: String,
    /// The start's hints.
    pub hints: LoginHints,
    /// The S256 PKCE challenge, when the plan uses PKCE.
    pub code_challenge: Option<String>,
}
