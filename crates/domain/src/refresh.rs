//! After login: renewing a session with refresh-token rotation ([`RefreshSession`])
//! and ending it ([`Logout`]).
//!
//! Rotation: every refresh token is good for one exchange. The exchange marks it used
//! (atomically, so of two concurrent exchanges exactly one wins) and issues a new pair
//! in the same session, with the organization's session policy resolved afresh.
//!
//! Reuse: a used token presented again within the grace window ([`RefreshPolicy`],
//! e.g. two browser tabs refreshing at once) gets a new pair in the same session;
//! presented after the window it is taken as stolen: the whole session is revoked, so
//! every refresh token and access token of it stops working.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use thiserror::Error;

use crate::issuance::{AuthSession, IssueError, SessionIssuer};
use crate::model::{RefreshTokenRecord, User};
use crate::ports::{
    AccessTokenVerifier, Clock, RefreshTokenStore, RepositoryError, TokenIssuer, UserRepository,
};
use crate::session::SessionConfig;
use crate::values::{ObjectIdHex, SessionId, Timestamp};

/// Longest refresh token looked up; anything longer is not one of ours.
pub const MAX_REFRESH_TOKEN_LEN: usize = 512;

/// Until when the records of a session revoked at `at` must be kept: as long as the
/// longest-lived access token of the session may still be presented.
fn retain_revocation_until(at: Timestamp) -> Timestamp {
    let (_, max_hours) = SessionConfig::TOKEN_EXPIRY_HOURS;
    at.plus_seconds(i64::from(max_hours) * 3600)
}

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
pub enum RefreshError {
    /// The token is empty, malformed or unknown (or names a user that no longer exists).
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
    /// The store is unavailable.
    #[error("the store is unavailable: {0}")]
    StoreUnavailable(String),
    /// Anything unexpected.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<RepositoryError> for RefreshError {
    fn from(e: RepositoryError) -> Self {
        e.outage_or_internal(RefreshError::StoreUnavailable, RefreshError::Internal)
    }
}

impl From<IssueError> for RefreshError {
    fn from(e: IssueError) -> Self {
        match e {
            IssueError::Store(e) => e.into(),
            IssueError::Token(e) => RefreshError::Internal(e.to_string()),
        }
    }
}

/// Exchanges a refresh token for a new pair in the same session.
#[derive(Clone)]
pub struct RefreshSession {
    users: Arc<dyn UserRepository>,
    refresh_tokens: Arc<dyn RefreshTokenStore>,
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
    /// lifetimes); `tokens` hashes presented tokens.
    pub fn new(
        users: Arc<dyn UserRepository>,
        refresh_tokens: Arc<dyn RefreshTokenStore>,
        tokens: Arc<dyn TokenIssuer>,
        issuer: SessionIssuer,
        clock: Arc<dyn Clock>,
        policy: RefreshPolicy,
    ) -> Self {
        Self {
            users,
            refresh_tokens,
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
    /// Checks, in order: the token is known ([`RefreshError::Invalid`]), its session is
    /// not revoked ([`RefreshError::Revoked`]) nor past its absolute lifetime
    /// ([`RefreshError::SessionExpired`]), the token has not expired
    /// ([`RefreshError::Expired`]), it is unused or used within the grace window
    /// ([`RefreshError::Reused`], which revokes the session), and the user still exists
    /// and may sign in ([`RefreshError::LoginDisabled`]; the token is not consumed).
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
        self.check_live(&record, now)?;
        if let Some(used_at) = record.used_at {
            self.within_grace_or_revoke(&record, used_at, now).await?;
        }
        let user = self.active_user(&record).await?;
        if record.used_at.is_none() && !self.refresh_tokens.mark_used(&hash, now).await? {
            // Another request rotated this token a moment ago (two tabs at once): the
            // grace rule decides, with the time the winner recorded.
            let current = self
                .refresh_tokens
                .find_by_hash(&hash)
                .await?
                .ok_or(RefreshError::Invalid)?;
            if current.revoked_at.is_some() {
                return Err(RefreshError::Revoked);
            }
            self.within_grace_or_revoke(&current, current.used_at.unwrap_or(now), now)
                .await?;
        }
        let session = self
            .issuer
            .issue(user, record.session_id.clone(), record.session_started_at)
            .await?;
        if self.refresh_tokens.is_session_revoked(&record.session_id).await? {
            // A logout or a detected reuse revoked the session while this pair was
            // being issued: revoke again so that the new token is covered too.
            self.refresh_tokens
                .revoke_session(&record.session_id, now, retain_revocation_until(now))
                .await?;
            return Err(RefreshError::Revoked);
        }
        tracing::info!(
            user_id = %session.user.id,
            session_id = %session.session_id,
            "session refreshed"
        );
        Ok(session)
    }

    /// Revocation, the session's absolute lifetime and the token's expiry.
    fn check_live(&self, record: &RefreshTokenRecord, now: Timestamp) -> Result<(), RefreshError> {
        if record.revoked_at.is_some() {
            return Err(RefreshError::Revoked);
        }
        let session_end = record
            .session_started_at
            .plus_seconds(self.issuer.lifetimes().absolute_session_seconds);
        if now >= session_end {
            return Err(RefreshError::SessionExpired);
        }
        if now >= record.expires_at {
            return Err(RefreshError::Expired);
        }
        Ok(())
    }

    /// `Ok` when a token used at `used_at` is presented within the grace window;
    /// otherwise revokes its session and answers [`RefreshError::Reused`].
    async fn within_grace_or_revoke(
        &self,
        record: &RefreshTokenRecord,
        used_at: Timestamp,
        now: Timestamp,
    ) -> Result<(), RefreshError> {
        if now < used_at.plus_seconds(self.policy.reuse_grace_seconds) {
            tracing::debug!(session_id = %record.session_id, "used refresh token presented within the grace window");
            return Ok(());
        }
        let revoked = self
            .refresh_tokens
            .revoke_session(&record.session_id, now, retain_revocation_until(now))
            .await?;
        tracing::warn!(
            user_id = %record.user_id,
            session_id = %record.session_id,
            revoked,
            "a used refresh token was presented again after the grace window; session revoked"
        );
        Err(RefreshError::Reused)
    }

    /// The token's user, if they still exist and may sign in.
    async fn active_user(&self, record: &RefreshTokenRecord) -> Result<User, RefreshError> {
        let Some(user) = self.users.find_by_id(record.user_id).await? else {
            tracing::warn!(user_id = %record.user_id, "the user of a refresh token no longer exists");
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
pub enum LogoutCredential {
    /// A refresh token of the session (`rt_...`).
    RefreshToken(SecretString),
    /// An access token (JWT) of the session; an expired one is accepted as long as
    /// its signature checks out.
    AccessToken(SecretString),
}

/// Why a logout failed.
#[derive(Debug, Error)]
pub enum LogoutError {
    /// The access token is malformed or badly signed.
    #[error("the access token is invalid")]
    InvalidAccessToken,
    /// The store is unavailable.
    #[error("the store is unavailable: {0}")]
    StoreUnavailable(String),
    /// Anything unexpected.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<RepositoryError> for LogoutError {
    fn from(e: RepositoryError) -> Self {
        e.outage_or_internal(LogoutError::StoreUnavailable, LogoutError::Internal)
    }
}

/// Ends a session: every refresh token and access token of it stops working.
#[derive(Clone)]
pub struct Logout {
    refresh_tokens: Arc<dyn RefreshTokenStore>,
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
    /// Builds the use case.
    pub fn new(
        refresh_tokens: Arc<dyn RefreshTokenStore>,
        tokens: Arc<dyn TokenIssuer>,
        verifier: Arc<dyn AccessTokenVerifier>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            refresh_tokens,
            tokens,
            verifier,
            clock,
        }
    }

    /// Revokes the session `credential` belongs to. Idempotent: a session already
    /// revoked, or a refresh token that is unknown (never issued, or removed after
    /// expiry), is not an error. Returns the session revoked, if one was identified.
    ///
    /// A session none of whose records is left (its refresh tokens expired and were
    /// removed, while an access token of it may still be valid) gets a record that only
    /// marks it revoked, so that [`crate::AccessGuard`] refuses its access tokens too.
    pub async fn logout(&self, credential: LogoutCredential) -> Result<Option<SessionId>, LogoutError> {
        // The session, its user, and whether it is already known to be revoked.
        let identified = match credential {
            LogoutCredential::RefreshToken(token) => {
                let token = token.expose_secret();
                if token.trim().is_empty() || token.len() > MAX_REFRESH_TOKEN_LEN {
                    None
                } else {
                    let hash = self.tokens.hash_refresh_token(token);
                    self.refresh_tokens
                        .find_by_hash(&hash)
                        .await?
                        .map(|record| (record.session_id, record.user_id, record.revoked_at.is_some()))
                }
            }
            LogoutCredential::AccessToken(token) => {
                let access = self
                    .verifier
                    .verify(token.expose_secret())
                    .map_err(|_| LogoutError::InvalidAccessToken)?;
                Some((access.session_id, access.user_id, false))
            }
        };
        let Some((session_id, user_id, known_revoked)) = identified else {
            tracing::info!("logout with an unknown refresh token; nothing to revoke");
            return Ok(None);
        };
        let now = self.clock.now();
        let retain_until = retain_revocation_until(now);
        let revoked = self
            .refresh_tokens
            .revoke_session(&session_id, now, retain_until)
            .await?;
        if revoked == 0 && !known_revoked && !self.refresh_tokens.is_session_revoked(&session_id).await? {
            // No record of the session is left (its refresh tokens expired and were
            // removed) while an access token of it may still live: record the revocation.
            self.refresh_tokens
                .save(revocation_record(
                    self.tokens.as_ref(),
                    session_id.clone(),
                    user_id,
                    now,
                    retain_until,
                ))
                .await?;
        }
        tracing::info!(session_id = %session_id, revoked, "session logged out");
        Ok(Some(session_id))
    }
}

/// A record that only marks `session_id` revoked at `at`, kept until `retain_until`. Its
/// digest is that of a freshly minted token nobody ever receives, so it can never be
/// presented; it is used and revoked from the start.
fn revocation_record(
    tokens: &dyn TokenIssuer,
    session_id: SessionId,
    user_id: ObjectIdHex,
    at: Timestamp,
    retain_until: Timestamp,
) -> RefreshTokenRecord {
    RefreshTokenRecord {
        hash: tokens.mint_refresh_token().hash,
        user_id,
        session_id,
        expires_at: retain_until,
        created_at: at,
        session_started_at: at,
        used_at: Some(at),
        revoked_at: Some(at),
    }
}
