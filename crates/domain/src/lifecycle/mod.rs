//! Offboarding from the identity provider's events: what an event says happened to a
//! person (an identity removed, a membership of a tenant ended or resumed, a directory
//! user removed or resumed, a name changed), the ports that keep applied events, the
//! event cursor and its lease, and the use cases that apply events once each
//! ([`LifecycleEvents`]), consume a stream of them ([`EventConsumer`]) and receive a
//! signed delivery ([`ReceiveDelivery`]).
//!
//! The words are provider-neutral: the provider's adapter turns its own event types
//! into a [`LifecycleChange`].

mod consumer;
mod handler;
mod ports;
mod time;
mod webhook;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use consumer::{ConsumerSettings, EventConsumer, PollError, PollReport};
pub use handler::LifecycleEvents;
#[cfg(any(test, feature = "mocks"))]
pub use ports::MockLifecycleStore;
pub use ports::{
    AppliedEvent, CursorMove, CursorState, EventCursorStore, EventPage, EventSource, EventSourceError,
    LifecycleStore, SignedDeliveries,
};
pub use time::{format_rfc3339, parse_rfc3339};
pub use webhook::{DeliveryError, ReceiveDelivery};

use crate::model::IdentityLink;
use crate::values::{Email, TenantId, Timestamp, UserId};

/// How long an applied event id is kept to recognise a second delivery: 30 days.
pub const APPLIED_EVENT_TTL_SECONDS: i64 = 30 * 24 * 3600;

/// What an event says happened, in the domain's words.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LifecycleChange {
    /// The identity was removed at the provider: its user is disabled and signed out.
    IdentityRemoved {
        /// The removed identity.
        link: IdentityLink,
    },
    /// The identity's membership of `tenant` ended (removed or no longer active).
    MembershipEnded {
        /// The member.
        link: IdentityLink,
        /// The tenant of the membership.
        tenant: TenantId,
    },
    /// The identity's membership of `tenant` is active (again).
    MembershipResumed {
        /// The member.
        link: IdentityLink,
        /// The tenant of the membership.
        tenant: TenantId,
    },
    /// A directory user of `tenant` was removed or is no longer active.
    DirectoryUserRemoved {
        /// The tenant of the directory.
        tenant: TenantId,
        /// Every address of the directory user.
        emails: Vec<Email>,
        /// The directory user's name, when it has one.
        name: Option<String>,
    },
    /// A directory user of `tenant` is active (again).
    DirectoryUserResumed {
        /// The tenant of the directory.
        tenant: TenantId,
        /// Every address of the directory user.
        emails: Vec<Email>,
        /// The directory user's name, when it has one.
        name: Option<String>,
    },
    /// The identity's name changed (the address is never changed by an event).
    NameChanged {
        /// The identity.
        link: IdentityLink,
        /// The new full name.
        name: String,
    },
    /// A type this service does not act on.
    Other,
    /// An event of a known type whose object could not be read.
    Malformed {
        /// Why, without any of the event's personal data.
        reason: String,
    },
}

/// One event of the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleEvent {
    /// The provider's event id (the unit of "applied once").
    pub id: String,
    /// The provider's event type (`user.deleted`, ...), for records and logs.
    pub event_type: String,
    /// When the provider recorded the event.
    pub occurred_at: Timestamp,
    /// The `updated_at` of the object the event carries, when it has one: an event
    /// older than the last one applied to a user changes nothing for that user.
    pub object_updated_at: Option<Timestamp>,
    /// What it says happened.
    pub change: LifecycleChange,
}

/// What applying one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventOutcome {
    /// It changed (or confirmed) the state of at least one user.
    Applied,
    /// It concerns no user of this service, or a type this service does not act on.
    Ignored,
    /// Every user it concerns has a newer event applied already.
    Stale,
    /// It was applied before.
    Duplicate,
    /// It could not be read; skipped.
    Failed,
}

impl EventOutcome {
    /// `applied`, `ignored`, `stale`, `duplicate` or `failed`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            EventOutcome::Applied => "applied",
            EventOutcome::Ignored => "ignored",
            EventOutcome::Stale => "stale",
            EventOutcome::Duplicate => "duplicate",
            EventOutcome::Failed => "failed",
        }
    }
}

/// Who disabled a user's login.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisabledBy {
    /// An event of the identity provider (`{"event": id, "type": type}`): a later
    /// event may re-enable the user.
    Event {
        /// The event id.
        id: String,
        /// The event type.
        event_type: String,
    },
    /// An operator (`{"userId": ...}`): no event ever re-enables the user.
    Operator {
        /// The operator's user id.
        user_id: UserId,
    },
}

/// A user's login being disabled: by whom, when and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disablement {
    /// Who disabled it.
    pub by: DisabledBy,
    /// When.
    pub at: Timestamp,
    /// Why, a short machine word (`identity_removed`, `membership_ended`,
    /// `directory_user_removed`, ...).
    pub reason: String,
}
