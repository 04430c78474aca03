//! Session issuance: resolving a user's session policy and handing out the access
//! token and refresh token of an "auth session". Shared by every way of signing in.

use secrecy::{ExposeSecret, SecretString};

use crate::failure::IssueError;
use crate::model::{
    AccessClaims, ClientContext, LiveRefreshToken, LoginAnswer, Organization, SessionRecord, User,
};
use crate::policy::SessionConfig;
use crate::ports::RepositoryError;
use crate::values::{OrganizationId, ProviderKey, SessionId, Timestamp, TokenHash};
use crate::wiring::Ports;

/// Everything a client gets when a session starts or renews.
#[derive(Debug)]
pub struct AuthSession {
    /// The signed access token (JWT).
    pub access_token: SecretString,
    /// When the access token expires.
    pub access_token_expires_at: Timestamp,
    /// The opaque refresh token (`rt_...`).
    pub refresh_token: SecretString,
    /// When the refresh token expires.
    pub refresh_token_expires_at: Timestamp,
    /// The session the tokens belong to.
    pub session_id: SessionId,
    /// The resolved session policy.
    pub session_config: SessionConfig,
    /// The signed-in user.
    pub user: User,
}

/// Lifetimes of refresh tokens and sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLifetimes {
    /// How long one refresh token is accepted, in seconds (default 30 days).
    pub refresh_token_seconds: i64,
    /// How long a session may be renewed at all, in seconds (default 30 days).
    pub absolute_session_seconds: i64,
}

impl Default for SessionLifetimes {
    fn default() -> Self {
        Self {
            refresh_token_seconds: 30 * 24 * 3600,
            absolute_session_seconds: 30 * 24 * 3600,
        }
    }
}

/// Where a session comes from, recorded on it for the lists of sessions: the provider
/// (API) its login went through and the client the login came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionOrigin {
    /// The provider (API) of the login, if the session started with one.
    pub flow: Option<ProviderKey>,
    /// The client of the login (cleaned and bounded when recorded).
    pub client: ClientContext,
}

/// What a second post of a login callback must repeat to get the first post's session
/// (the secret its answer is sealed under), and the id the answer is stored under.
#[derive(Debug)]
pub struct LoginAnswerKey {
    secret: SecretString,
    id: TokenHash,
}

impl LoginAnswerKey {
    /// The id the answer is stored under (a digest of the secret).
    pub fn id(&self) -> &TokenHash {
        &self.id
    }
}

/// Starts sessions, resolves session policy and issues token pairs.
#[derive(Clone, Debug)]
pub struct SessionIssuer {
    ports: Ports,
    defaults: SessionConfig,
    lifetimes: SessionLifetimes,
}

impl SessionIssuer {
    /// Builds the service over the organizations, token issuer and sessions of
    /// `ports`, the global session defaults and lifetimes. It reads no clock: every
    /// use case passes the one "now" it read.
    pub fn new(ports: Ports, defaults: SessionConfig, lifetimes: SessionLifetimes) -> Self {
        Self {
            ports,
            defaults,
            lifetimes,
        }
    }

    /// The global defaults.
    pub fn defaults(&self) -> &SessionConfig {
        &self.defaults
    }

    /// The lifetimes in force.
    pub fn lifetimes(&self) -> SessionLifetimes {
        self.lifetimes
    }

    /// When a session started at `started_at` reaches its absolute lifetime.
    pub fn session_end(&self, started_at: Timestamp) -> Timestamp {
        started_at.plus_seconds(self.lifetimes.absolute_session_seconds)
    }

    /// When a refresh token issued at `issued_at` stops being accepted, by the
    /// refresh-token lifetime alone (a reader also checks the session's end).
    pub fn refresh_token_lifetime_end(&self, issued_at: Timestamp) -> Timestamp {
        issued_at.plus_seconds(self.lifetimes.refresh_token_seconds)
    }

    /// The organization's policy: its stored settings over the global defaults. A
    /// missing organization, or stored values that are invalid, yield the defaults
    /// (with a warning in the log); they never fail a sign-in.
    pub async fn resolve_policy(
        &self,
        organization_id: OrganizationId,
    ) -> Result<SessionConfig, RepositoryError> {
        let Some(org) = self
            .ports
            .organizations
            .find_organization(organization_id)
            .await?
        else {
            tracing::warn!(%organization_id, "the user's organization does not exist; default session policy applies");
            return Ok(self.defaults);
        };
        Ok(self.policy_of(&org))
    }

    /// The policy of an organization already read: its stored settings over the
    /// global defaults, invalid stored values ignored with a warning.
    pub fn policy_of(&self, organization: &Organization) -> SessionConfig {
        let (config, warnings) = self.defaults.overlay(&organization.session_settings);
        for warning in warnings {
            tracing::warn!(organization_id = %organization.id, field = %warning.field, reason = %warning.reason, "ignored a stored session setting");
        }
        config
    }

    /// Starts a new session for `user` at `now`: signs its first access token, then
    /// stores the session record with the digest of its first refresh token, in one
    /// write. `organization` is the user's organization when the caller has just read
    /// it (its policy then costs no read; another organization is ignored). Nothing is
    /// stored when signing fails.
    pub async fn start_session(
        &self,
        user: User,
        organization: Option<&Organization>,
        now: Timestamp,
    ) -> Result<AuthSession, IssueError> {
        self.start_login_session(user, organization, None, SessionOrigin::default(), now)
            .await
    }

    /// [`SessionIssuer::start_session`] for a login callback: with `login_answer_key`
    /// (what the callback posted: code, state and redirect URI), the same write also
    /// stores the session's [`LoginAnswer`], so that a second post of that callback
    /// can answer with the same session ([`SessionIssuer::find_login_answer`]).
    /// `origin` is recorded on the session (the client cleaned and bounded,
    /// [`ClientContext::for_record`]).
    pub async fn start_login_session(
        &self,
        user: User,
        organization: Option<&Organization>,
        login_answer_key: Option<&LoginAnswerKey>,
        origin: SessionOrigin,
        now: Timestamp,
    ) -> Result<AuthSession, IssueError> {
        let ends_at = self.session_end(now);
        let minted = self.ports.tokens.mint_refresh_token();
        let login_answer = login_answer_key.map(|key| LoginAnswer {
            id: key.id.clone(),
            sealed_refresh_token: self
                .ports
                .tokens
                .seal_successor(key.secret.expose_secret(), &minted.token),
        });
        let session = SessionRecord {
            id: self.ports.tokens.new_session_id(),
            user_id: user.id,
            organization_id: user.organization_id,
            started_at: now,
            ends_at,
            revoked_at: None,
            revoked_reason: None,
            last_refreshed_at: None,
            refresh_token: Some(LiveRefreshToken {
                hash: minted.hash,
                expires_at: self.refresh_token_lifetime_end(now).min(ends_at),
            }),
            last_rotation: None,
            login_answer,
            flow: origin.flow,
            client: origin.client.for_record(),
        };
        let organization = organization.filter(|org| org.id == user.organization_id);
        let signed = self.sign(&user, &session, organization, now).await?;
        self.ports.sessions.start(session.clone()).await?;
        Ok(self.assemble(user, &session, signed, minted.token, now))
    }

    /// The key of the answer of a login callback that posted `secret` (its code, state
    /// and redirect URI), with the id the answer is stored under, digested once.
    pub fn login_answer_key(&self, secret: SecretString) -> LoginAnswerKey {
        let id = self.ports.tokens.hash_refresh_token(secret.expose_secret());
        LoginAnswerKey { secret, id }
    }

    /// The session a login callback posted with `login_answer_key` started, with its
    /// first refresh token, if that token is still the session's live one (never
    /// rotated) and the session is not revoked. `None` otherwise, also when the key
    /// opens nothing. Reads one record.
    pub async fn find_login_answer(
        &self,
        login_answer_key: &LoginAnswerKey,
    ) -> Result<Option<(SessionRecord, SecretString)>, RepositoryError> {
        let key = login_answer_key.secret.expose_secret();
        let Some(session) = self
            .ports
            .sessions
            .find_by_login_answer(&login_answer_key.id)
            .await?
        else {
            return Ok(None);
        };
        let Some(token) = session.login_answer.as_ref().and_then(|answer| {
            self.ports
                .tokens
                .open_successor(key, &answer.sealed_refresh_token)
        }) else {
            return Ok(None);
        };
        let live = session
            .refresh_token
            .as_ref()
            .is_some_and(|live| live.hash == self.ports.tokens.hash_refresh_token(token.expose_secret()));
        if !live || session.revoked_at.is_some() {
            return Ok(None);
        }
        Ok(Some((session, token)))
    }

    /// The answer of a rotation (or of its replay within the grace window): a fresh
    /// access token at `now` beside `refresh_token`, which was issued at `issued_at`
    /// and is already stored. Writes nothing.
    pub async fn answer(
        &self,
        user: User,
        session: &SessionRecord,
        refresh_token: SecretString,
        issued_at: Timestamp,
        now: Timestamp,
    ) -> Result<AuthSession, IssueError> {
        let signed = self.sign(&user, session, None, now).await?;
        Ok(self.assemble(user, session, signed, refresh_token, issued_at))
    }

    fn assemble(
        &self,
        user: User,
        session: &SessionRecord,
        (session_config, access_token, access_token_expires_at): Signed,
        refresh_token: SecretString,
        issued_at: Timestamp,
    ) -> AuthSession {
        AuthSession {
            access_token,
            access_token_expires_at,
            refresh_token,
            // Never after the session.
            refresh_token_expires_at: self.refresh_token_lifetime_end(issued_at).min(session.ends_at),
            session_id: session.id.clone(),
            session_config,
            user,
        }
    }

    /// Resolves the policy (from `organization` when given) and signs the access
    /// token of an answer.
    async fn sign(
        &self,
        user: &User,
        session: &SessionRecord,
        organization: Option<&Organization>,
        now: Timestamp,
    ) -> Result<Signed, IssueError> {
        let session_config = match organization {
            Some(organization) => self.policy_of(organization),
            None => self.resolve_policy(user.organization_id).await?,
        };
        // Neither token outlives its session.
        let access_token_expires_at = now
            .plus_seconds(session_config.token_lifetime_seconds())
            .min(session.ends_at);
        let access_token = self.ports.tokens.issue_access_token(&AccessClaims {
            user_id: user.id,
            organization_id: user.organization_id,
            access_role: user.access_role,
            email: user.email.clone(),
            session_id: session.id.clone(),
            issued_at: now,
            expires_at: access_token_expires_at,
        })?;
        Ok((session_config, access_token, access_token_expires_at))
    }
}

/// The resolved policy, the signed access token and its expiry.
type Signed = (SessionConfig, SecretString, Timestamp);
