//! The rules of a refresh that are not its steps: how long a token may be, the grace
//! window of a reuse, why a refresh fails, and when a session may still be renewed.

use thiserror::Error;

use crate::failure::{Failure, failure_from_ports};
use crate::model::SessionRecord;
use crate::values::Timestamp;

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

/// A session that may still be renewed at `now`: not revoked, not past its end.
pub(super) fn check_session(session: &SessionRecord, now: Timestamp) -> Result<(), RefreshError> {
    if session.revoked_at.is_some() {
        return Err(RefreshError::Revoked);
    }
    if now >= session.ends_at {
        return Err(RefreshError::SessionExpired);
    }
    Ok(())
}

failure_from_ports!(RefreshError);
