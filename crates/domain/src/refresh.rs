//! After login: renewing a session with refresh-token rotation ([`RefreshSession`])
//! and ending it ([`Logout`]).
//!
//! A session is a record of its own ([`SessionRecord`], [`SessionStore`]) that holds
//! the digest of its one live refresh token; consumed tokens are kept as records of
//! their own ([`RefreshTokenStore`]) only to recognise them when presented again.
//!
//! Rotation: every refresh token is good for one exchange. The exchange mints the
//! successor first, then, in one atomic compare-and-set on the session, makes it the
//! live token and records the consumed one with the successor sealed under a key
//! derived from it (of concurrent exchanges exactly one wins), and issues the pair in
//! the same session with the organization's session policy resolved afresh. A session
//! has at most one live refresh token.
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
use crate::model::{LiveRefreshToken, RefreshTokenRecord, RevokedReason, SessionRecord, User};
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
        refresh_token: None,
        last_rotation: None,
        login_answer: None,
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
    /// The common case is one compare-and-set on the session: its live token is
    /// `presented`, unexpired, and the session is neither revoked nor ended; the
    /// successor becomes the live token. Then the consumed token is recorded (so that
    /// it is recognised when presented again later) and the user is read: a user who
    /// is gone is [`RefreshError::Invalid`], a disabled one
    /// [`RefreshError::LoginDisabled`].
    ///
    /// Otherwise the token is classified: unknown ([`RefreshError::Invalid`]), its
    /// session revoked ([`RefreshError::Revoked`]) or past its absolute lifetime
    /// ([`RefreshError::SessionExpired`]), the token expired ([`RefreshError::Expired`]),
    /// or used: within the grace window the answer carries the same successor as the
    /// first exchange, after it [`RefreshError::Reused`], which revokes the session.
    /// A live token of a session that does not hold its live token yet (written before
    /// live tokens moved into sessions) is rotated where it is, and its successor moves
    /// into the session.
    pub async fn refresh(&self, presented: &SecretString) -> Result<AuthSession, RefreshError> {
        let token = presented.expose_secret();
        if token.trim().is_empty() || token.len() > MAX_REFRESH_TOKEN_LEN {
            return Err(RefreshError::Invalid);
        }
        let hash = self.tokens.hash_refresh_token(token);
        let now = self.clock.now();
        let successor = self.tokens.mint_refresh_token();
        let sealed = self.tokens.seal_successor(token, &successor.token);
        let live = LiveRefreshToken {
            hash: successor.hash,
            expires_at: self.issuer.refresh_token_lifetime_end(now),
        };
        if let Some(session) = self
            .sessions
            .rotate(&hash, live.clone(), now, sealed.clone())
            .await?
        {
            self.record_used(&session).await?;
            let user = self.active_user(&session).await?;
            let answer = self
                .issuer
                .answer(user, &session, successor.token, now, now)
                .await?;
            tracing::info!(user_id = %answer.user.id, session_id = %session.id, "session refreshed");
            return Ok(answer);
        }
        if let Some(session) = self.sessions.find_by_refresh_token(&hash).await? {
            check_session(&session, now)?;
            return match session.last_rotation.clone() {
                // Rotated a moment ago by another request (two tabs), or earlier.
                Some(rotation) if rotation.hash == hash => {
                    if now >= rotation.expires_at {
                        return Err(RefreshError::Expired);
                    }
                    let answer = self
                        .replay(
                            token,
                            rotation.used_at,
                            Some(&rotation.sealed_successor),
                            &session,
                            now,
                        )
                        .await?;
                    // In case the rotation could not record the consumed token.
                    self.record_used(&session).await?;
                    Ok(answer)
                }
                // The live token, refused by the rotation: it has expired.
                _ => Err(RefreshError::Expired),
            };
        }
        let record = self
            .refresh_tokens
            .find_by_hash(&hash)
            .await?
            .ok_or(RefreshError::Invalid)?;
        if record.legacy.as_ref().is_some_and(|l| l.revoked_at.is_some()) {
            return Err(RefreshError::Revoked);
        }
        let session = session_of(self.sessions.as_ref(), self.users.as_ref(), &self.issuer, &record)
            .await?
            .ok_or(RefreshError::Invalid)?;
        check_session(&session, now)?;
        if now >= record.expires_at {
            return Err(RefreshError::Expired);
        }
        if let Some(used_at) = record.used_at {
            return self
                .replay(token, used_at, record.sealed_successor.as_deref(), &session, now)
                .await;
        }
        // A live token of the earlier shape: rotated where it is; its successor
        // becomes the session's live token.
        let user = self.active_user(&session).await?;
        if !self.refresh_tokens.rotate(&hash, now, sealed).await? {
            // Another request rotated this token a moment ago: it gets that successor.
            let current = self
                .refresh_tokens
                .find_by_hash(&hash)
                .await?
                .ok_or(RefreshError::Invalid)?;
            return self
                .replay(
                    token,
                    current.used_at.unwrap_or(now),
                    current.sealed_successor.as_deref(),
                    &session,
                    now,
                )
                .await;
        }
        let live = LiveRefreshToken {
            expires_at: live.expires_at.min(session.ends_at),
            ..live
        };
        if !self
            .sessions
            .install_refresh_token(&session.id, live, now)
            .await?
        {
            return Err(Failure::Internal(format!(
                "session {} already holds a live refresh token beside a record of its own",
                session.id
            ))
            .into());
        }
        let answer = self
            .issuer
            .answer(user, &session, successor.token, now, now)
            .await?;
        tracing::info!(user_id = %answer.user.id, session_id = %session.id, "session refreshed; its live token moved into the session");
        Ok(answer)
    }

    /// Records the token the session's last rotation consumed, so that presenting it
    /// again after the grace window is recognised as a reuse. Idempotent.
    async fn record_used(&self, session: &SessionRecord) -> Result<(), RefreshError> {
        let Some(rotation) = &session.last_rotation else {
            return Ok(());
        };
        let saved = self
            .refresh_tokens
            .save(RefreshTokenRecord {
                hash: rotation.hash.clone(),
                session_id: session.id.clone(),
                expires_at: rotation.expires_at,
                used_at: Some(rotation.used_at),
                sealed_successor: Some(rotation.sealed_successor.clone()),
                legacy: None,
            })
            .await;
        match saved {
            Ok(()) | Err(RepositoryError::Duplicate) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// A used token presented again: within the grace window of its rotation (at
    /// `used_at`), the successor that rotation recorded (and a fresh access token);
    /// after it, or with no successor to give, the session is revoked and the answer
    /// is [`RefreshError::Reused`].
    async fn replay(
        &self,
        presented: &str,
        used_at: Timestamp,
        sealed_successor: Option<&str>,
        session: &SessionRecord,
        now: Timestamp,
    ) -> Result<AuthSession, RefreshError> {
        let successor = sealed_successor.and_then(|sealed| self.tokens.open_successor(presented, sealed));
        match successor {
            Some(successor) if now < used_at.plus_seconds(self.policy.reuse_grace_seconds) => {
                tracing::debug!(session_id = %session.id, "used refresh token presented within the grace window");
                let user = self.active_user(session).await?;
                Ok(self.issuer.answer(user, session, successor, used_at, now).await?)
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

/// A session that may still be renewed at `now`: not revoked, not past its end.
fn check_session(session: &SessionRecord, now: Timestamp) -> Result<(), RefreshError> {
    if session.revoked_at.is_some() {
        return Err(RefreshError::Revoked);
    }
    if now >= session.ends_at {
        return Err(RefreshError::SessionExpired);
    }
    Ok(())
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
                    if let Some(session) = self.sessions.find_by_refresh_token(&hash).await? {
                        Some(session.id)
                    } else {
                        match self.refresh_tokens.find_by_hash(&hash).await? {
                            // A live token of the earlier shape: its session becomes a record first.
                            Some(record)
                                if record.legacy.as_ref().is_some_and(|l| l.revoked_at.is_none()) =>
                            {
                                session_of(
                                    self.sessions.as_ref(),
                                    self.users.as_ref(),
                                    &self.issuer,
                                    &record,
                                )
                                .await?;
                                Some(record.session_id)
                            }
                            found => found.map(|record| record.session_id),
                        }
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
