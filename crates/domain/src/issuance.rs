//! Session issuance: resolving a user's session policy and handing out the access
//! token and refresh token of an "auth session". Shared by every way of signing in.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use thiserror::Error;

use crate::model::{AccessClaims, MintedRefreshToken, RefreshTokenRecord, SessionRecord, User};
use crate::ports::{
    OrganizationRepository, RefreshTokenStore, RepositoryError, SessionStore, TokenError, TokenIssuer,
};
use crate::session::SessionConfig;
use crate::values::{OrganizationId, SessionId, Timestamp};

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

/// Why no session could be issued.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] RepositoryError),
    /// Signing failed.
    #[error(transparent)]
    Token(#[from] TokenError),
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

/// Starts sessions, resolves session policy and issues token pairs.
#[derive(Clone)]
pub struct SessionIssuer {
    organizations: Arc<dyn OrganizationRepository>,
    tokens: Arc<dyn TokenIssuer>,
    refresh_tokens: Arc<dyn RefreshTokenStore>,
    sessions: Arc<dyn SessionStore>,
    defaults: SessionConfig,
    lifetimes: SessionLifetimes,
}

impl std::fmt::Debug for SessionIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionIssuer")
            .field("defaults", &self.defaults)
            .field("lifetimes", &self.lifetimes)
            .finish_non_exhaustive()
    }
}

impl SessionIssuer {
    /// Builds the service from its ports, the global session defaults and lifetimes.
    /// It reads no clock: every use case passes the one "now" it read.
    pub fn new(
        organizations: Arc<dyn OrganizationRepository>,
        tokens: Arc<dyn TokenIssuer>,
        refresh_tokens: Arc<dyn RefreshTokenStore>,
        sessions: Arc<dyn SessionStore>,
        defaults: SessionConfig,
        lifetimes: SessionLifetimes,
    ) -> Self {
        Self {
            organizations,
            tokens,
            refresh_tokens,
            sessions,
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

    /// The organization's policy: its stored settings over the global defaults. A
    /// missing organization, or stored values that are invalid, yield the defaults
    /// (with a warning in the log); they never fail a sign-in.
    pub async fn resolve_policy(
        &self,
        organization_id: OrganizationId,
    ) -> Result<SessionConfig, RepositoryError> {
        let Some(org) = self.organizations.find_by_id(organization_id).await? else {
            tracing::warn!(%organization_id, "the user's organization does not exist; default session policy applies");
            return Ok(self.defaults);
        };
        let (config, warnings) = self.defaults.overlay(&org.session_settings);
        for warning in warnings {
            tracing::warn!(%organization_id, field = %warning.field, reason = %warning.reason, "ignored a stored session setting");
        }
        Ok(config)
    }

    /// Starts a new session for `user` at `now`: signs its first access token, then
    /// stores the session record once and its first refresh token (digest only).
    /// Nothing is stored when signing fails.
    pub async fn start_session(&self, user: User, now: Timestamp) -> Result<AuthSession, IssueError> {
        let session = SessionRecord {
            id: self.tokens.new_session_id(),
            user_id: user.id,
            organization_id: user.organization_id,
            started_at: now,
            ends_at: self.session_end(now),
            revoked_at: None,
            revoked_reason: None,
            last_refreshed_at: None,
        };
        let signed = self.sign(&user, &session, now).await?;
        self.sessions.start(session.clone()).await?;
        let minted = self.tokens.mint_refresh_token();
        self.store_and_answer(user, &session, signed, minted, now).await
    }

    /// Issues a pair in `session` at `now` around the refresh token `minted` (minted
    /// by the caller, e.g. before a rotation), whose digest it stores after signing.
    pub async fn issue_pair(
        &self,
        user: User,
        session: &SessionRecord,
        minted: MintedRefreshToken,
        now: Timestamp,
    ) -> Result<AuthSession, IssueError> {
        let signed = self.sign(&user, session, now).await?;
        self.store_and_answer(user, session, signed, minted, now).await
    }

    /// A fresh access token at `now` beside the refresh token `refresh_token`, issued at
    /// `issued_at` by an earlier rotation. That rotation normally stored its digest; if
    /// it failed between the rotation and the store (an outage), the digest is stored
    /// now, so the answer never hands out a token the store does not know. The usual
    /// `Duplicate` of that insert means it was there already.
    pub async fn reissue_access(
        &self,
        user: User,
        session: &SessionRecord,
        refresh_token: SecretString,
        issued_at: Timestamp,
        now: Timestamp,
    ) -> Result<AuthSession, IssueError> {
        let (session_config, access_token, access_token_expires_at) = self.sign(&user, session, now).await?;
        let refresh_token_expires_at = self.refresh_token_expiry(session, issued_at);
        let stored = self
            .refresh_tokens
            .save(RefreshTokenRecord {
                hash: self.tokens.hash_refresh_token(refresh_token.expose_secret()),
                session_id: session.id.clone(),
                expires_at: refresh_token_expires_at,
                used_at: None,
                sealed_successor: None,
                legacy: None,
            })
            .await;
        match stored {
            Ok(()) => {
                tracing::warn!(session_id = %session.id, "stored the successor an interrupted rotation had not")
            }
            Err(RepositoryError::Duplicate) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(AuthSession {
            access_token,
            access_token_expires_at,
            refresh_token,
            refresh_token_expires_at,
            session_id: session.id.clone(),
            session_config,
            user,
        })
    }

    /// Stores the digest of `minted` and answers the pair.
    async fn store_and_answer(
        &self,
        user: User,
        session: &SessionRecord,
        (session_config, access_token, access_token_expires_at): Signed,
        minted: MintedRefreshToken,
        now: Timestamp,
    ) -> Result<AuthSession, IssueError> {
        let refresh_token_expires_at = self.refresh_token_expiry(session, now);
        self.refresh_tokens
            .save(RefreshTokenRecord {
                hash: minted.hash,
                session_id: session.id.clone(),
                expires_at: refresh_token_expires_at,
                used_at: None,
                sealed_successor: None,
                legacy: None,
            })
            .await?;
        Ok(AuthSession {
            access_token,
            access_token_expires_at,
            refresh_token: minted.token,
            refresh_token_expires_at,
            session_id: session.id.clone(),
            session_config,
            user,
        })
    }

    /// When a refresh token of `session` issued at `issued_at` expires: never after
    /// the session.
    fn refresh_token_expiry(&self, session: &SessionRecord, issued_at: Timestamp) -> Timestamp {
        issued_at
            .plus_seconds(self.lifetimes.refresh_token_seconds)
            .min(session.ends_at)
    }

    /// Resolves the policy and signs the access token of an answer.
    async fn sign(&self, user: &User, session: &SessionRecord, now: Timestamp) -> Result<Signed, IssueError> {
        let session_config = self.resolve_policy(user.organization_id).await?;
        // Neither token outlives its session.
        let access_token_expires_at = now
            .plus_seconds(session_config.token_lifetime_seconds())
            .min(session.ends_at);
        let access_token = self.tokens.issue_access_token(&AccessClaims {
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
