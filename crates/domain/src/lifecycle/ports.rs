//! The ports of offboarding: applied events and the effects on users and sessions
//! ([`LifecycleStore`]), the cursor of the event stream and its lease
//! ([`EventCursorStore`]), the provider's event list ([`EventSource`]) and its signed
//! deliveries ([`SignedDeliveries`]).

use async_trait::async_trait;
use thiserror::Error;

use super::{Disablement, LifecycleEvent};
use crate::model::RevokedReason;
use crate::ports::RepositoryError;
use crate::values::{Timestamp, UserId};

/// An event recorded as applied (kept [`super::APPLIED_EVENT_TTL_SECONDS`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedEvent {
    /// The provider's event id.
    pub id: String,
    /// The provider's event type.
    pub event_type: String,
    /// What applying it did (`applied`, `ignored`, `stale`, ...).
    pub outcome: String,
    /// When it was applied.
    pub applied_at: Timestamp,
    /// When the record may be forgotten.
    pub expires_at: Timestamp,
}

/// The effects of events on users and sessions, and the events applied.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LifecycleStore: Send + Sync {
    /// Whether an event with this id is recorded as applied (and not yet forgotten).
    async fn is_applied(&self, event_id: &str) -> Result<bool, RepositoryError>;

    /// Records an event as applied. Idempotent: recording an id again changes nothing.
    async fn record_applied(&self, event: AppliedEvent) -> Result<(), RepositoryError>;

    /// Records that an event about `object` (a short key of letters, digits and `_`:
    /// `identity`, `membership_<tenant>`, ...) whose object was updated at `updated_at`
    /// is applied to the user, unless one about the same object with a later
    /// `updated_at` was: `true` when recorded (also for an equal time), `false`, having
    /// written nothing, when a later one was recorded or the user does not exist.
    async fn advance_user_mark(
        &self,
        user: UserId,
        object: &str,
        updated_at: Timestamp,
    ) -> Result<bool, RepositoryError>;

    /// Disables the user's login (`loginDisabled`, with `disabledAt`, `disabledBy`,
    /// `disabledReason`) and stamps `updatedAt`, unless it is disabled already (then
    /// the first disablement is kept), except that an operator's disablement replaces
    /// an event's (so that no later event re-enables the user). Returns whether this
    /// call disabled it (or replaced the disablement).
    async fn disable_user(&self, user: UserId, disablement: Disablement) -> Result<bool, RepositoryError>;

    /// Re-enables the user's login only when an event disabled it (never one an
    /// operator or the product disabled), removing the disablement and stamping
    /// `updatedAt` with `at`. Returns whether this call re-enabled it.
    async fn enable_user_disabled_by_event(
        &self,
        user: UserId,
        at: Timestamp,
    ) -> Result<bool, RepositoryError>;

    /// Re-enables the user's login whoever disabled it (an event, an operator or the
    /// product), removing the disablement and stamping `updatedAt` with `at`: what an
    /// operator does. Returns whether this call re-enabled it (`false` for an enabled
    /// or unknown user).
    async fn enable_user(&self, user: UserId, at: Timestamp) -> Result<bool, RepositoryError>;

    /// Sets the user's `fullName` (never the address) and stamps `updatedAt`, when it
    /// differs. Returns whether it changed.
    async fn set_full_name(
        &self,
        user: UserId,
        full_name: String,
        at: Timestamp,
    ) -> Result<bool, RepositoryError>;

    /// Revokes every session of the user that is not revoked yet, at `at` for
    /// `reason`. Returns how many this call revoked. Idempotent.
    async fn revoke_user_sessions(
        &self,
        user: UserId,
        at: Timestamp,
        reason: RevokedReason,
    ) -> Result<u64, RepositoryError>;
}

/// Where a stream of events was consumed up to, and who consumes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CursorState {
    /// The id of the last event applied, if any.
    pub after: Option<String>,
    /// Start over from this time (a replay), when set and `after` is not.
    pub since: Option<Timestamp>,
    /// The replica holding the lease, if any.
    pub holder: Option<String>,
    /// Until when the lease is held.
    pub lease_until: Option<Timestamp>,
    /// When the cursor last moved or a poll found nothing new.
    pub checked_at: Option<Timestamp>,
    /// When the last event applied was recorded by the provider.
    pub last_event_at: Option<Timestamp>,
}

/// Where [`EventCursorStore::advance_cursor`] moves a cursor, for which holder of the
/// lease, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorMove {
    /// The replica that moves it: it must hold the lease.
    pub holder: String,
    /// The event the cursor moves past; `None` keeps it where it is.
    pub after: Option<String>,
    /// When the provider recorded the last event applied, if one was.
    pub last_event_at: Option<Timestamp>,
    /// Now: the lease must not have ended by then, and `checked_at` becomes it.
    pub at: Timestamp,
}

/// The cursor of an event stream and the lease that lets exactly one replica consume it.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventCursorStore: Send + Sync {
    /// Takes or renews the lease of `stream` for `holder` until `until`, in one atomic
    /// write, when no one holds it, its lease ended by `now`, or `holder` holds it.
    /// Returns the stream's state when `holder` holds the lease after the call, `None`
    /// (having written nothing) when another holder does. Of concurrent callers at most
    /// one gets the lease.
    async fn acquire_lease(
        &self,
        stream: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<CursorState>, RepositoryError>;

    /// Moves the cursor of `stream` to after event `to.after` (clearing a replay time)
    /// and stamps `checked_at` with `to.at`, `last_event_at` with `to.last_event_at`
    /// when given, only while `to.holder` holds a lease that has not ended by `to.at`:
    /// `false`, having written nothing, otherwise.
    async fn advance_cursor(&self, stream: &str, to: CursorMove) -> Result<bool, RepositoryError>;

    /// Ends `holder`'s lease of `stream`, if it holds it.
    async fn release_lease(&self, stream: &str, holder: &str) -> Result<(), RepositoryError>;

    /// The state of `stream`, `None` if it was never consumed nor replayed.
    async fn cursor_state(&self, stream: &str) -> Result<Option<CursorState>, RepositoryError>;

    /// Starts `stream` over from `since`: the cursor is cleared and the next consumer
    /// lists events from that time. The lease is untouched.
    async fn replay_from(&self, stream: &str, since: Timestamp) -> Result<(), RepositoryError>;
}

/// Why the provider's event list could not be read.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EventSourceError {
    /// The provider is rate-limiting us.
    #[error("the identity provider is rate-limiting us")]
    RateLimited {
        /// Seconds the provider asked us to wait, if it said.
        retry_after_seconds: Option<u64>,
    },
    /// Time-out, refused connection or a 5xx answer.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// Our credentials were refused, or an answer this adapter cannot use.
    #[error("unexpected answer from the identity provider: {0}")]
    Unexpected(String),
}

/// One page of events, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventPage {
    /// The events, oldest first.
    pub events: Vec<LifecycleEvent>,
    /// Whether more events follow this page.
    pub has_more: bool,
}

/// The provider's list of events.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventSource: Send + Sync {
    /// The newest event of the types this service acts on, if any.
    async fn newest(&self) -> Result<Option<LifecycleEvent>, EventSourceError>;

    /// At most `limit` events oldest first: those after event `after` when given,
    /// else those recorded from `since` on (or from the oldest), of the types this
    /// service acts on.
    async fn page<'a>(
        &self,
        after: Option<&'a str>,
        since: Option<Timestamp>,
        limit: u32,
    ) -> Result<EventPage, EventSourceError>;
}

/// Signed deliveries of events (webhooks): checks a delivery's signature and reads it.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait SignedDeliveries: Send + Sync {
    /// The event of a delivery whose `signature` (the provider's header) checks out for
    /// `body` at `now` (empty when the delivery had none); `None` when it is missing, forged or out of its time
    /// window. Checks in constant time; never logs the signature or the secret.
    fn open(&self, signature: &str, body: &[u8], now: Timestamp) -> Option<LifecycleEvent>;
}
