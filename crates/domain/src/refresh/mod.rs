//! After login: renewing a session with refresh-token rotation ([`RefreshSession`]).
//!
//! A session is a record of its own ([`SessionRecord`], [`SessionStore`]) that holds
//! the digest of its one live refresh token; consumed tokens are kept as records of
//! their own ([`RefreshTokenStore`]) only to recognise them when presented again.
//!
//! Rotation: every refresh token is good for one exchange. The exchange mints the
//! successor and makes it the live token in one atomic compare-and-set on the session
//! (of concurrent exchanges exactly one wins), keeping it sealed under a key derived
//! from the consumed token, and issues the pair with the organization's session
//! policy resolved afresh. A session has at most one live refresh token.
//!
//! Reuse: a used token presented again within the grace window ([`RefreshPolicy`],
//! e.g. two browser tabs refreshing at once) gets the very successor the rotation
//! handed out and a fresh access token, never a second live token; after the window
//! it is taken as stolen and the session is revoked (reason `reuse`).

use secrecy::{ExposeSecret, SecretString};

use crate::audit::{AuditActor, AuditEvent, AuditOrigin, AuditType, SystemActor};
use crate::failure::Failure;
use crate::issuance::{AuthSession, SessionIssuer};
use crate::model::{
    LiveRefreshToken, RefreshTokenRecord, RevokedReason, RotationOutcome, SessionRecord, TokenRotation, User,
};
use crate::ports::RepositoryError;
use crate::values::{Timestamp, TokenHash};
use crate::wiring::Ports;

mod rules;

use rules::check_session;
pub use rules::{MAX_REFRESH_TOKEN_LEN, RefreshError, RefreshPolicy};

/// Exchanges a refresh token for a new pair in the same session. A revocation for
/// reuse is recorded in the audit sink of the ports.
#[derive(Clone, Debug)]
pub struct RefreshSession {
    ports: Ports,
    issuer: SessionIssuer,
    policy: RefreshPolicy,
}

impl RefreshSession {
    /// Builds the use case over the users, refresh tokens, sessions, token issuer,
    /// clock and audit sink of `ports`. `issuer` issues the new pairs (and knows the
    /// session lifetimes); the token issuer hashes presented tokens and seals
    /// successors.
    pub fn new(ports: Ports, issuer: SessionIssuer, policy: RefreshPolicy) -> Self {
        Self {
            ports,
            issuer,
            policy,
        }
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
    /// first exchange, after it [`RefreshError::Reused`], which revokes the session and
    /// is recorded in the audit trail as coming from `origin`.
    pub async fn refresh(
        &self,
        presented: &SecretString,
        origin: &AuditOrigin,
    ) -> Result<AuthSession, RefreshError> {
        let token = presented.expose_secret();
        if token.trim().is_empty() || token.len() > MAX_REFRESH_TOKEN_LEN {
            return Err(RefreshError::Invalid);
        }
        let hash = self.ports.tokens.hash_refresh_token(token);
        let now = self.ports.clock.now();
        let successor = self.ports.tokens.mint_refresh_token();
        let sealed = self.ports.tokens.seal_successor(token, &successor.token);
        let live = LiveRefreshToken {
            hash: successor.hash,
            expires_at: self.issuer.refresh_token_lifetime_end(now),
        };
        let rotation = TokenRotation {
            presented: hash.clone(),
            successor: live,
            at: now,
            sealed_successor: sealed,
        };
        let session = match self.ports.sessions.rotate(rotation).await? {
            RotationOutcome::Rotated(session) => session,
            RotationOutcome::Refused(holder) => {
                return self.refused(token, &hash, holder, now, origin).await;
            }
        };
        self.record_used(&session).await?;
        let user = self.active_user(&session).await?;
        let answer = self
            .issuer
            .answer(user, &session, successor.token, now, now)
            .await?;
        tracing::info!(user_id = %answer.user.id, session_id = %session.id, "session refreshed");
        Ok(answer)
    }

    /// A token the rotation refused: a live token of `holder` that expired or whose
    /// session was revoked or ended, or a token consumed by its last rotation
    /// ([`SessionRecord::last_rotation`]) or an earlier one ([`RefreshTokenStore`]).
    async fn refused(
        &self,
        token: &str,
        hash: &TokenHash,
        holder: Option<SessionRecord>,
        now: Timestamp,
        origin: &AuditOrigin,
    ) -> Result<AuthSession, RefreshError> {
        if let Some(session) = holder {
            if session.revoked_reason.is_some_and(|r| r.may_end_with_the_user()) {
                // Ended because the user was deprovisioned, or by an administrator:
                // LOGIN_DISABLED while they stay disabled, else revoked.
                self.active_user(&session).await?;
            }
            check_session(&session, now)?;
            // The live token (refused by the rotation) or the one its last rotation
            // consumed, expired; or that one, rotated a moment ago (two tabs) or earlier.
            let Some(rotation) = session
                .last_rotation
                .clone()
                .filter(|r| &r.hash == hash && now < r.expires_at)
            else {
                return Err(RefreshError::Expired);
            };
            let sealed = Some(rotation.sealed_successor.as_str());
            let answer = self
                .replay(token, rotation.used_at, sealed, &session, now, origin)
                .await?;
            // In case the rotation could not record the consumed token.
            self.record_used(&session).await?;
            return Ok(answer);
        }
        let record = self
            .ports
            .refresh_tokens
            .find_by_hash(hash)
            .await?
            .ok_or(RefreshError::Invalid)?;
        let session = self
            .ports
            .sessions
            .find_session(&record.session_id)
            .await?
            .ok_or(RefreshError::Invalid)?;
        check_session(&session, now)?;
        if now >= record.expires_at {
            return Err(RefreshError::Expired);
        }
        let used_at = record.used_at.ok_or_else(|| {
            Failure::Internal(format!(
                "session {} did not rotate its live refresh token",
                session.id
            ))
        })?;
        self.replay(
            token,
            used_at,
            record.sealed_successor.as_deref(),
            &session,
            now,
            origin,
        )
        .await
    }

    /// Records the token the session's last rotation consumed, so that presenting it
    /// again after the grace window is recognised as a reuse. Idempotent.
    async fn record_used(&self, session: &SessionRecord) -> Result<(), RefreshError> {
        let Some(rotation) = &session.last_rotation else {
            return Ok(());
        };
        let saved = self
            .ports
            .refresh_tokens
            .save_token(RefreshTokenRecord {
                hash: rotation.hash.clone(),
                session_id: session.id.clone(),
                expires_at: rotation.expires_at,
                used_at: Some(rotation.used_at),
                sealed_successor: Some(rotation.sealed_successor.clone()),
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
        origin: &AuditOrigin,
    ) -> Result<AuthSession, RefreshError> {
        let successor =
            sealed_successor.and_then(|sealed| self.ports.tokens.open_successor(presented, sealed));
        match successor {
            Some(successor) if now < used_at.plus_seconds(self.policy.reuse_grace_seconds) => {
                tracing::debug!(session_id = %session.id, "used refresh token presented within the grace window");
                let user = self.active_user(session).await?;
                Ok(self.issuer.answer(user, session, successor, used_at, now).await?)
            }
            _ => {
                let revoked = self
                    .ports
                    .sessions
                    .revoke(&session.id, now, RevokedReason::Reuse)
                    .await?;
                tracing::warn!(
                    user_id = %session.user_id,
                    session_id = %session.id,
                    revoked,
                    "a used refresh token was presented again after the grace window; session revoked"
                );
                let event = |kind| {
                    AuditEvent::new(kind, AuditActor::System(SystemActor::Service), now)
                        .of_session(session)
                        .origin(origin.clone())
                };
                self.ports
                    .audit
                    .record(event(AuditType::SessionReuseDetected).refused());
                if revoked {
                    self.ports.audit.record(
                        event(AuditType::SessionRevoked).detail("reason", RevokedReason::Reuse.as_str()),
                    );
                }
                Err(RefreshError::Reused)
            }
        }
    }

    /// The session's user, if they still exist and may sign in.
    async fn active_user(&self, session: &SessionRecord) -> Result<User, RefreshError> {
        let Some(user) = self.ports.users.find_user(session.user_id).await? else {
            tracing::warn!(user_id = %session.user_id, "the user of a session no longer exists");
            return Err(RefreshError::Invalid);
        };
        if user.login_disabled {
            return Err(RefreshError::LoginDisabled);
        }
        Ok(user)
    }
}
