//! Ending a session ([`Logout`]) with one of its refresh tokens or access tokens:
//! one write to its record, after which every token of it stops working.

use secrecy::{ExposeSecret, SecretString};
use thiserror::Error;

use crate::audit::{AuditActor, AuditEvent, AuditOrigin, AuditType, SystemActor};
use crate::failure::{Failure, failure_from_ports};
use crate::model::RevokedReason;
use crate::refresh::MAX_REFRESH_TOKEN_LEN;
use crate::values::{OrganizationId, SessionId, UserId};
use crate::wiring::Ports;

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

/// Ends a session: every refresh token and access token of it stops working. A
/// session a logout revokes is recorded (`session.revoked`, reason `logout`) in the
/// audit sink of the ports.
#[derive(Clone, Debug)]
pub struct Logout {
    ports: Ports,
}

impl Logout {
    /// Builds the use case over the sessions, refresh tokens, token issuer and
    /// verifier, clock and audit sink of `ports`.
    pub fn new(ports: Ports) -> Self {
        Self { ports }
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
                    let hash = self.ports.tokens.hash_refresh_token(token);
                    match self.ports.sessions.find_by_refresh_token(&hash).await? {
                        Some(session) => {
                            owner = Some((session.user_id, session.organization_id));
                            Some(session.id)
                        }
                        None => self
                            .ports
                            .refresh_tokens
                            .find_by_hash(&hash)
                            .await?
                            .map(|record| record.session_id),
                    }
                }
            }
            LogoutCredential::AccessToken(token) => {
                let access = self
                    .ports
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
        let now = self.ports.clock.now();
        let revoked = self
            .ports
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
            self.ports.audit.record(event);
        }
        Ok(Some(session_id))
    }
}
