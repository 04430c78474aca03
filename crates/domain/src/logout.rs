//! Ending a session ([`Logout`]) with one of its refresh tokens or access tokens:
//! one write to its record, after which every token of it stops working.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use thiserror::Error;

use crate::audit::{AuditActor, AuditEvent, AuditOrigin, AuditSink, AuditType, NoAudit, SystemActor};
use crate::failure::{Failure, failure_from_ports};
use crate::model::RevokedReason;
use crate::ports::{AccessTokenVerifier, Clock, RefreshTokenStore, SessionStore, TokenIssuer};
use crate::refresh::MAX_REFRESH_TOKEN_LEN;
use crate::values::{OrganizationId, SessionId, UserId};

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

failure_from_ports!(LogoutError);

/// Ends a session: every refresh token and access token of it stops working.
#[derive(Clone)]
pub struct Logout {
    refresh_tokens: Arc<dyn RefreshTokenStore>,
    sessions: Arc<dyn SessionStore>,
    tokens: Arc<dyn TokenIssuer>,
    verifier: Arc<dyn AccessTokenVerifier>,
    clock: Arc<dyn Clock>,
    audit: Arc<dyn AuditSink>,
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
        sessions: Arc<dyn SessionStore>,
        tokens: Arc<dyn TokenIssuer>,
        verifier: Arc<dyn AccessTokenVerifier>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            refresh_tokens,
            sessions,
            tokens,
            verifier,
            clock,
            audit: Arc::new(NoAudit),
        }
    }

    /// Records every session a logout revokes (`session.revoked`, reason `logout`) in
    /// `audit`. Without it nothing is recorded.
    pub fn auditing(mut self, audit: Arc<dyn AuditSink>) -> Self {
        self.audit = audit;
        self
    }

    /// Revokes the session `credential` belongs to, in one write to its record.
    /// Idempotent: a session already revoked, or a refresh token that is unknown
    /// (never issued, or removed after expiry), is not an error. Returns the session
    /// identified, if any. A session this call revoked is recorded in the audit trail
    /// as coming from `origin`, with its user when the credential names them.
    pub async fn logout(
        &self,
        credential: LogoutCredential,
        origin: AuditOrigin,
    ) -> Result<Option<SessionId>, LogoutError> {
        let mut owner: Option<(UserId, OrganizationId)> = None;
        let session_id = match credential {
            LogoutCredential::RefreshToken(token) => {
                let token = token.expose_secret();
                if token.trim().is_empty() || token.len() > MAX_REFRESH_TOKEN_LEN {
                    None
                } else {
                    let hash = self.tokens.hash_refresh_token(token);
                    match self.sessions.find_by_refresh_token(&hash).await? {
                        Some(session) => {
                            owner = Some((session.user_id, session.organization_id));
                            Some(session.id)
                        }
                        None => self
                            .refresh_tokens
                            .find_by_hash(&hash)
                            .await?
                            .map(|record| record.session_id),
                    }
                }
            }
            LogoutCredential::AccessToken(token) => {
                let access = self
                    .verifier
                    .verify(token.expose_secret())
                    .map_err(|_| LogoutError::InvalidAccessToken)?;
                owner = Some((access.user_id, access.organization_id));
                Some(access.session_id)
            }
        };
        let Some(session_id) = session_id else {
            tracing::info!("logout with an unknown refresh token; nothing to revoke");
            return Ok(None);
        };
        let now = self.clock.now();
        let revoked = self
            .sessions
            .revoke(&session_id, now, RevokedReason::Logout)
            .await?;
        tracing::info!(session_id = %session_id, revoked, "session logged out");
        if revoked {
            let actor = match owner {
                Some((user, _)) => AuditActor::User(user),
                None => AuditActor::System(SystemActor::Service),
            };
            let mut event = AuditEvent::new(AuditType::SessionRevoked, actor, now)
                .session(session_id.clone())
                .origin(origin)
                .detail("reason", RevokedReason::Logout.as_str());
            if let Some((user, organization)) = owner {
                event = event.user(user).organization(organization);
            }
            self.audit.record(event);
        }
        Ok(Some(session_id))
    }
}
