//! The failure every use case shares: the store is down, or something unexpected
//! happened. Each use-case error enum carries it as one variant (`Failure`), so the
//! HTTP edge maps it once and a new use case does not repeat it.

use thiserror::Error;

use crate::ports::{RepositoryError, TokenError};

/// A failure that is not the client's doing, shared by every use-case error enum.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Failure {
    /// The store cannot be reached or did not answer in time (503, retry later).
    #[error("the store is unavailable: {0}")]
    StoreUnavailable(String),
    /// Anything unexpected (500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<RepositoryError> for Failure {
    /// An outage as [`Failure::StoreUnavailable`] with its reason, anything else as
    /// [`Failure::Internal`] with the error's description.
    fn from(e: RepositoryError) -> Self {
        match e {
            RepositoryError::Unavailable(reason) => Failure::StoreUnavailable(reason),
            other => Failure::Internal(other.to_string()),
        }
    }
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

impl From<IssueError> for Failure {
    fn from(e: IssueError) -> Self {
        match e {
            IssueError::Store(e) => e.into(),
            IssueError::Token(e) => Failure::Internal(e.to_string()),
        }
    }
}

/// `From<RepositoryError>` and `From<IssueError>` for use-case error enums whose
/// `Failure(Failure)` variant takes every store and signing failure, so `?` works on
/// port results.
macro_rules! failure_from_ports {
    ($($error:ty),+ $(,)?) => {$(
        impl From<$crate::ports::RepositoryError> for $error {
            fn from(e: $crate::ports::RepositoryError) -> Self {
                Self::Failure(e.into())
            }
        }
        impl From<$crate::failure::IssueError> for $error {
            fn from(e: $crate::failure::IssueError) -> Self {
                Self::Failure(e.into())
            }
        }
    )+};
}
pub(crate) use failure_from_ports;
