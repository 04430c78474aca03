//! Session issuance: resolving a user's session policy and handing out the access
//! token and refresh token of an "auth session". Shared by every way of signing in.

use std::sync::Arc;

use secrecy::SecretString;
use thiserror::Error;

use crate::model::{AccessClaims, RefreshTokenRecord, User};
use crate::ports::{
    Clock, OrganizationRepository, RefreshTokenStore, RepositoryError, TokenError, TokenIssuer,
};
use crate::session::SessionConfig;
use crate::values::{ObjectIdHex, SessionId, Timestamp};

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

/// Resolves session policy and issues token pairs.
#[derive(Clone)]
pub struct SessionIssuer {
    organizations: Arc<dyn OrganizationRepository>,
    tokens: Arc<dyn TokenIssuer>,
    refresh_tokens: Arc<dyn RefreshTokenStore>,
    clock: Arc<dyn Clock>,
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
    pub fn new(
        organizations: Arc<dyn OrganizationRepository>,
        tokens: Arc<dyn TokenIssuer>,
        refresh_tokens: Arc<dyn RefreshTokenStore>,
        clock: Arc<dyn Clock>,
        defaults: SessionConfig,
        lifetimes: SessionLifetimes,
    ) -> Self {
        Self {
            organizations,
            tokens,
            refresh_tokens,
            clock,
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

    /// The organization's policy: its stored settings over the global defaults. A
    /// missing organization, or stored values that are invalid, yield the defaults
    /// (with a warning in the log); they never fail a sign-in.
    pub async fn resolve_policy(
        &self,
        organization_id: ObjectIdHex,
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

    /// Starts a new session for `user`.
    pub async fn start_session(&self, user: User) -> Result<AuthSession, IssueError> {
        let now = self.clock.now();
        let session_id = self.tokens.new_session_id();
        self.issue(user, session_id, now).await
    }

    /// Issues a token pair in an existing (or new) session that started at `session_started_at`.
    pub async fn issue(
        &self,
        user: User,
        session_id: SessionId,
        session_started_at: Timestamp,
    ) -> Result<AuthSession, IssueError> {
        let session_config = self.resolve_policy(user.organization_id).await?;
        let now = self.clock.now();
        // Neither token outlives its session.
        let session_end = session_started_at.plus_seconds(self.lifetimes.absolute_session_seconds);
        let access_token_expires_at = now
            .plus_seconds(session_config.token_lifetime_seconds())
            .min(session_end);
        let access_token = self.tokens.issue_access_token(&AccessClaims {
            user_id: user.id,
            organization_id: user.organization_id,
            access_role: user.access_role,
            email: user.email.clone(),
            session_id: session_id.clone(),
            issued_at: now,
            expires_at: access_token_expires_at,
        })?;
        let minted = self.tokens.mint_refresh_token();
        let refresh_token_expires_at = now
            .plus_seconds(self.lifetimes.refresh_token_seconds)
            .min(session_end);
        self.refresh_tokens
            .save(RefreshTokenRecord {
                hash: minted.hash,
                user_id: user.id,
                session_id: session_id.clone(),
                expires_at: refresh_token_expires_at,
                created_at: now,
                session_started_at,
                used_at: None,
                revoked_at: None,
            })
            .await?;
        Ok(AuthSession {
            access_token,
            access_token_expires_at,
            refresh_token: minted.token,
            refresh_token_expires_at,
            session_id,
            session_config,
            user,
        })
    }
}
