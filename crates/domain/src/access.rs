//! Access tokens presented by clients: the claims a verified token carries and
//! [`AccessGuard`], which accepts a token only when its signature checks out (through
//! the [`AccessTokenVerifier`] port), it has not expired by the domain's [`Clock`],
//! its session (read by id through [`SessionStore`]) exists and has not been revoked
//! (logout, refresh-token reuse), and its user still exists and may sign in.

use thiserror::Error;

use crate::failure::{Failure, failure_from_ports};
use crate::model::VerifiedAccess;
use crate::wiring::Ports;

/// Why a presented access token is refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AccessError {
    /// No token was presented.
    #[error("no access token was presented")]
    Missing,
    /// Malformed, badly signed, not issued by us, or its user no longer exists.
    #[error("the access token is invalid")]
    Invalid,
    /// Its user may no longer sign in (`loginDisabled`).
    #[error("sign-in is disabled for the user of the access token")]
    LoginDisabled,
    /// Correctly signed but past its expiry.
    #[error("the access token has expired")]
    Expired,
    /// Its session was revoked (logout, an administrator, or a refresh token of the
    /// session was reused), or no longer exists.
    #[error("the session of the access token was revoked")]
    SessionRevoked,
    /// The store could not tell whether the session was revoked.
    /// The store is unavailable, or something unexpected happened.
    #[error(transparent)]
    Failure(#[from] Failure),
}

failure_from_ports!(AccessError);

/// Authenticates requests by their access token.
#[derive(Clone, Debug)]
pub struct AccessGuard {
    ports: Ports,
}

impl AccessGuard {
    /// Builds the guard over the token verifier, the sessions, the users and the
    /// clock of `ports`.
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// The claims of `token` if it is correctly signed, not expired (its `exp` is
    /// after now), its session exists and is not revoked, and its user exists
    /// ([`AccessError::Invalid`] otherwise) and may sign in
    /// ([`AccessError::LoginDisabled`] otherwise).
    pub async fn authenticate(&self, token: &str) -> Result<VerifiedAccess, AccessError> {
        if token.is_empty() {
            return Err(AccessError::Missing);
        }
        let access = self
            .ports
            .verifier
            .verify(token)
            .map_err(|_| AccessError::Invalid)?;
        if access.expires_at <= self.ports.clock.now() {
            return Err(AccessError::Expired);
        }
        // One read by id. A session that is gone was removed long after its end, or
        // never was a record (see the upgrade note of `RefreshSession`): refused alike.
        let session = self.ports.sessions.find_session(&access.session_id).await?;
        let live = matches!(&session, Some(s) if s.revoked_at.is_none());
        // A session that may have ended with its user's sign-in (deprovisioned, or
        // ended by an administrator) answers as the user's state does: LOGIN_DISABLED
        // while they stay disabled.
        let with_the_user = matches!(
            &session,
            Some(s) if s.revoked_reason.is_some_and(|r| r.may_end_with_the_user())
        );
        if !live && !with_the_user {
            return Err(AccessError::SessionRevoked);
        }
        match self.ports.users.find_user(access.user_id).await? {
            None => Err(AccessError::Invalid),
            Some(user) if user.login_disabled => Err(AccessError::LoginDisabled),
            Some(_) if live => Ok(access),
            Some(_) => Err(AccessError::SessionRevoked),
        }
    }
}
