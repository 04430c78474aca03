//! After login: renewing a session with refresh-token rotation ([`RefreshSession`])
//! and ending it ([`Logout`]).
//!
//! A session is a record of its own ([`SessionRecord`], [`SessionStore`]); refresh
//! tokens only carry rotation state.
//!
//! Rotation: every refresh token is good for one exchange. The exchange mints the
//! successor first, then marks the presented token used and stores the successor,
//! sealed under a key derived from the presented token, in one atomic compare-and-set
//! (of concurrent exchanges exactly one wins), and issues the pair in the same session
//! with the organization's session policy resolved afresh. A session has at most one
//! live refresh token.
//!
//! Reuse: a used token presented again within the grace window ([`RefreshPolicy`],
//! e.g. two browser tabs refreshing at once) gets the very successor the rotation
//! handed out (opened from its sealed copy) and a fresh access token, never a second
//! live token; presented after the window it is taken as stolen: the session is
//! revoked (reason `reuse`), so every refresh token and access token of it stops working.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use thiserror::Error;

use crate::failure::{Failure, failure_from_ports};
use crate::issuance::{AuthSession, SessionIssuer};
use crate::model::{RefreshTokenRecord, RevokedReason, SessionRecord, User};
use crate::ports::{
    AccessTokenVerifier, Clock, RefreshTokenStore, RepositoryError, SessionStore, TokenIssuer, UserRepository,
};
use crate::values::{SessionId, Timestamp};

/// Longest refresh token looked up; anything longer is not one of ours.
pub const MAX_REFRESH_TOKEN_LEN: usize = 512;

/// Rules of refresh-token rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// How long after its first use a refresh token is still exchanged (for
    /// concurrent refreshes), in seconds. `0` makes any second use a reuse.
    pub reuse_grace_seconds: i64,
}

impl Default for RefreshPolicy {
    /// A grace window of 10 seconds.
    fn default() -> Self {
        Self {
            reuse_grace_seconds: 10,
        }
    }
}

/// Why a refresh failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// The token is empty, malformed or unknown (or its session or user no longer exists).
    #[error("the refresh token is invalid")]
    Invalid,
    /// The token is past its expiry.
    #[error("the refresh token has expired")]
    Expired,
    /// The token's session was revoked (logout or an earlier reuse).
    #[error("the refresh token's session was revoked")]
    Revoked,
    /// A used token was presented after the grace window; the session is now revoked.
    #[error("the refresh token was already used; the session is revoked")]
    Reused,
    /// The session is older than its absolute lifetime.
    #[error("the session has reached its absolute lifetime")]
    SessionExpired,
    /// The user was disabled since the session started.
    #[error("sign-in is disabled for this user")]
    LoginDisabled,
    /// The store is unavailable, or something unexpected happened.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// The session a refresh-token record belongs to: its record, or, for a record written
/// before sessions were records, a session adopted from it (stored once, started when
/// the legacy record says). `None` when there is neither, or the user is gone.
async fn session_of(
    sessions: &dyn SessionStore,
    users: &dyn UserRepository,
    issuer: &SessionIssuer,
    record: &RefreshTokenRecord,
) -> Result<Option<SessionRecord>, RepositoryError> {
    if let Some(session) = sessions.find(&record.session_id).await? {
        return Ok(Some(session));
    }
    let Some(legacy) = &record.legacy else {
        return Ok(None);
    };
    let Some(user) = users.find_by_id(legacy.user_id).await? else {
        return Ok(None);
    };
    let adopted = SessionRecord {
        id: record.session_id.clone(),
        user_id: legacy.user_id,
        organization_id: user.organization_id,
        started_at: legacy.started_at,
        ends_at: issuer.session_end(legacy.started_at),
        revoked_at: None,
        revoked_reason: None,
        last_refreshed_at: None,
    };
    match sessions.start(adopted.clone()).await {
        Ok(()) => {
            tracing::info!(session_id = %adopted.id, "adopted a session from a refresh token of the earlier shape");
            Ok(Some(adopted))
        }
        // Another request adopted it a moment ago.
        Err(RepositoryError::Duplicate) => sessions.find(&record.session_id).await,
        Err(e) => Err(e),
    }
}

/// Exchanges a refresh token for a new pair in the same session.
#[derive(Clone)]
pub struct RefreshSession {
    users: Arc<dyn UserRepository>,
    refresh_tokens: Arc<dyn RefreshTokenStore>,
    sessions: Arc<dyn SessionStore>,
    tokens: Arc<dyn TokenIssuer>,
    issuer: SessionIssuer,
    clock: Arc<dyn Clock>,
    policy: RefreshPolicy,
}

impl std::fmt::Debug for RefreshSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshSession")
            .field("policy", &self.policy)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl RefreshSession {
    /// Builds the use case. `issuer` issues the new pairs (and knows the session
    /// lifetimes); `tokens` hashes presented tokens and seals successors.
    pub fn new(
        users: Arc<dyn UserRepository>,
        refresh_tokens: Arc<dyn RefreshTokenStore>,
        sessions: Arc<dyn SessionStore>,
        tokens: Arc<dyn TokenIssuer>,
        issuer: SessionIssuer,
        clock: Arc<dyn Clock>,
        policy: RefreshPolicy,
    ) -> Self {
        Self {
            users,
            refresh_tokens,
            sessions,
            tokens,
            issuer,
            clock,
            policy,
        }
    }

    /// The rotation rules in force.
    pub fn policy(&self) -> RefreshPolicy {
        self.policy
    }

    /// Exchanges `presented` for a new access token and refresh token in the same
    /// session, with the user's current role and organization and the organization's
    /// current session policy.
    ///
    /// Checks, in order: the token is known ([`RefreshError::Invalid`]), its session
    /// exists and is not revoked ([`RefreshError::Revoked`]) nor past its absolute
    /// lifetime ([`RefreshError::SessionExpired`]), the token has not expired
    /// ([`RefreshError::Expired`]), the user still exists and may sign in
    /// ([`RefreshError::LoginDisabled`]; the token is not consumed), and the token is
    /// unused, or used within the grace window (then the answer carries the same
    /// successor as the first exchange), else [`RefreshError::Reused`], which revokes
    /// the session.
    pub async fn refresh(&self, presented: &SecretString) -> Result<AuthSession, RefreshError> {
        let token = presented.expose_secret();
        if token.trim().is_empty() || token.len() > MAX_REFRESH_TOKEN_LEN {
            return Err(RefreshError::Invalid);
        }
        let hash = self.tokens.hash_refresh_token(token);
        let record = self
            .refresh_tokens
            .find_by_hash(&hash)
            .await?
            .ok_or(RefreshError::Invalid)?;
        let now = self.clock.now();
        if record.legacy.as_ref().is_some_and(|l| l.revoked_at.is_some()) {
            return Err(RefreshError::Revoked);
        }
        let session = session_of(self.sessions.as_ref(), self.users.as_ref(), &self.issuer, &record)
            .await?
            .ok_or(RefreshError::Invalid)?;
        if session.revoked_at.is_some() {
            return Err(RefreshError::Revoked);
        }
        if now >= session.ends_at {
            return Err(RefreshError::SessionExpired);
        }
        if now >= record.expires_at {
            return Err(RefreshError::Expired);
        }
        if record.used_at.is_some() {
            return self.replay(token, record, &session, None, now).await;
        }
        let user = self.active_user(&session).await?;
        let successor = self.tokens.mint_refresh_token();
        let sealed = self.tokens.seal_successor(token, &successor.token);
        if !self.refresh_tokens.rotate(&hash, now, sealed).await? {
            // Another request rotated this token a moment ago (two tabs at once): it
            // gets the successor that request recorded.
            let current = self
                .refresh_tokens
                .find_by_hash(&hash)
                .await?
                .ok_or(RefreshError::Invalid)?;
            return self.replay(token, current, &session, Some(user), now).await;
        }
        let answer = self.issuer.issue_pair(user, &session, successor, now).await?;
        self.sessions.record_refresh(&session.id, now).await?;
        tracing::info!(user_id = %answer.user.id, session_id = %session.id, "session refreshed");
        Ok(answer)
    }

    /// A used token presented again: within the grace window of its rotation, the
    /// successor that rotation recorded (and a fresh access token); after it, or with
    /// no successor to give, the session is revoked and the answer is
    /// [`RefreshError::Reused`]. `user` is the session's user when already read.
    async fn replay(
        &self,
        presented: &str,
        record: RefreshTokenRecord,
        session: &SessionRecord,
        user: Option<User>,
        now: Timestamp,
    ) -> Result<AuthSession, RefreshError> {
        let used_at = record.used_at.unwrap_or(now);
        let successor = record
            .sealed_successor
            .as_deref()
            .and_then(|sealed| self.tokens.open_successor(presented, sealed));
        match successor {
            Some(successor) if now < used_at.plus_seconds(self.policy.reuse_grace_seconds) => {
                tracing::debug!(session_id = %session.id, "used refresh token presented within the grace window");
                let user = match user {
                    Some(user) => user,
                    None => self.active_user(session).await?,
                };
                Ok(self
                    .issuer
                    .reissue_access(user, session, successor, used_at, now)
                    .await?)
            }
            _ => {
                let revoked = self
                    .sessions
                    .revoke(&session.id, now, RevokedReason::Reuse)
                    .await?;
                tracing::warn!(
                    user_id = %session.user_id,
                    session_id = %session.id,
                    revoked,
                    "a used refresh token was presented again after the grace window; session revoked"
                );
                Err(RefreshError::Reused)
            }
        }
    }

    /// The session's user, if they still exist and may sign in.
    async fn active_user(&self, session: &SessionRecord) -> Result<User, RefreshError> {
        let Some(user) = self.users.find_by_id(session.user_id).await? else {
            tracing::warn!(user_id = %session.user_id, "the user of a session no longer exists");
            return Err(RefreshError::Invalid);
        };
        if user.login_disabled {
            return Err(RefreshError::LoginDisabled);
        }
        Ok(user)
    }
}

/// What identifies the session to end.
#[derive(Debug)]
#[non_exhaustive]
pub enum LogoutCredential {
    /// A refresh token of the session (`rt_...`).
    RefreshToken(SecretString),
    /// An access token (JWT) of the session; an expired one is accepted as long as
    /// its signature checks out.
    AccessToken(SecretString),
}

/// Why a logout failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LogoutError {
    /// The access token is malformed or badly signed.
    #[error("the access token is invalid")]
    InvalidAccessToken,
    /// The store is unavailable, or something unexpected happened.
    #[error(transparent)]
    Failure(#[from] Failure),
}

failure_from_ports!(RefreshError, LogoutError);

/// Ends a session: every refresh token and access token of it stops working.
#[derive(Clone)]
pub struct Logout {
    refresh_tokens: Arc<dyn RefreshTokenStore>,
    sessions: Arc<dyn SessionStore>,
    users: Arc<dyn UserRepository>,
    issuer: SessionIssuer,
    tokens: Arc<dyn TokenIssuer>,
    verifier: Arc<dyn AccessTokenVerifier>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Logout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logout").finish_non_exhaustive()
    }
}

impl Logout {
    /// Builds the use case. `users` and `issuer` serve only to adopt the session of a
    /// refresh token of the earlier shape before revoking it.
    pub fn new(
        refresh_tokens: Arc<dyn RefreshTokenStore>,
        sessions: Arc<dyn SessionStore>,
        users: Arc<dyn UserRepository>,
        issuer: SessionIssuer,
        tokens: Arc<dyn TokenIssuer>,
        verifier: Arc<dyn AccessTokenVerifier>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            refresh_tokens,
            sessions,
            users,
            issuer,
            tokens,
            verifier,
            clock,
        }
    }

    /// Revokes the session `credential` belongs to, in one write to its record.
    /// Idempotent: a session already revoked, or a refresh token that is unknown
    /// (never issued, or removed after expiry), is not an error. Returns the session
    /// identified, if any.
    pub async fn logout(&self, credential: LogoutCredential) -> Result<Option<SessionId>, LogoutError> {
        let session_id = match credential {
            LogoutCredential::RefreshToken(token) => {
                let token = token.expose_secret();
                if token.trim().is_empty() || token.len() > MAX_REFRESH_TOKEN_LEN {
                    None
                } else {
                    let hash = self.tokens.hash_refresh_token(token);
                    match self.refresh_tokens.find_by_hash(&hash).await? {
                        // A live token of the earlier shape: its session becomes a record first.
                        Some(record) if record.legacy.as_ref().is_some_and(|l| l.revoked_at.is_none()) => {
                            session_of(self.sessions.as_ref(), self.users.as_ref(), &self.issuer, &record)
                                .await?;
                            Some(record.session_id)
                        }
                        found => found.map(|record| record.session_id),
                    }
                }
            }
            LogoutCredential::AccessToken(token) => {
                let access = self
                    .verifier
                    .verify(token.expose_secret())
                    .map_err(|_| LogoutError::InvalidAccessToken)?;
                Some(access.session_id)
            }
        };
        let Some(session_id) = session_id else {
            tracing::info!("logout with an unknown refresh token; nothing to revoke");
            return Ok(None);
        };
        let revoked = self
            .sessions
            .revoke(&session_id, self.clock.now(), RevokedReason::Logout)
            .await?;
        tracing::info!(session_id = %session_id, revoked, "session logged out");
        Ok(Some(session_id))
    }
}
