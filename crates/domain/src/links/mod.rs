//! Identity links an administrator decides. A login refused because the identity may
//! not be linked to the user its address matched (`AccountLinkRequired`) records a
//! [`LinkRequest`]: the user, the identity (link, connection, tenant), the address as
//! asserted and whether the provider verified it. An administrator lists, approves or
//! rejects requests ([`LinkRequests`]); an approval records the link on the user,
//! replacing the subject they carried for that provider (kept as a [`PreviousLink`]),
//! so that the identity's next login signs in by link.
//!
//! The words are provider- and store-neutral: the adapters say where a link and the
//! earlier ones are stored.

mod requests;

#[cfg(feature = "conformance")]
pub mod conformance;

use async_trait::async_trait;

pub use requests::{LinkCaller, LinkRequestError, LinkRequests};

use crate::audit::AuditActor;
use crate::model::{IdentityLink, LinkedIdentity, User};
use crate::ports::RepositoryError;
use crate::values::{Email, LinkRequestId, OrganizationId, Timestamp, UserId};

/// How long a link request waits for a decision: 7 days.
pub const LINK_REQUEST_TTL_SECONDS: i64 = 7 * 24 * 3600;

/// Most link requests one listing answers.
pub const MAX_LINK_REQUESTS_LISTED: u32 = 200;

/// Link requests a listing answers when it names no limit.
pub const DEFAULT_LINK_REQUESTS_LISTED: u32 = 50;

/// Where a link request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LinkRequestStatus {
    /// Waiting for a decision (and not expired).
    Pending,
    /// An administrator approved it: the link was recorded on the user.
    Approved,
    /// An administrator rejected it.
    Rejected,
    /// Nobody decided within [`LINK_REQUEST_TTL_SECONDS`].
    Expired,
}

impl LinkRequestStatus {
    /// Every status, in wire-name order.
    pub const ALL: [LinkRequestStatus; 4] = [
        LinkRequestStatus::Pending,
        LinkRequestStatus::Approved,
        LinkRequestStatus::Rejected,
        LinkRequestStatus::Expired,
    ];

    /// `pending`, `approved`, `rejected` or `expired`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            LinkRequestStatus::Pending => "pending",
            LinkRequestStatus::Approved => "approved",
            LinkRequestStatus::Rejected => "rejected",
            LinkRequestStatus::Expired => "expired",
        }
    }

    /// The status of a wire name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// A link request about to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLinkRequest {
    /// The user the identity's address matched.
    pub user_id: UserId,
    /// That user's organization (an ADMIN sees the requests of their own).
    pub organization_id: OrganizationId,
    /// The identity to link: its link, connection and tenant.
    pub identity: LinkedIdentity,
    /// The address the identity asserted, normalised.
    pub email: Email,
    /// Whether the provider said it verified the address (`None`: it said nothing).
    pub email_verified: Option<bool>,
    /// When the login was refused.
    pub requested_at: Timestamp,
    /// When the request lapses undecided.
    pub expires_at: Timestamp,
}

/// A link request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRequest {
    /// Its id.
    pub id: LinkRequestId,
    /// The user the identity's address matched.
    pub user_id: UserId,
    /// That user's organization when the request was recorded.
    pub organization_id: OrganizationId,
    /// The identity to link.
    pub identity: LinkedIdentity,
    /// The address the identity asserted, normalised.
    pub email: Email,
    /// Whether the provider said it verified the address.
    pub email_verified: Option<bool>,
    /// When the login was refused.
    pub requested_at: Timestamp,
    /// When the request lapses undecided.
    pub expires_at: Timestamp,
    /// The status as stored: a `Pending` request past `expires_at` is expired (see
    /// [`LinkRequest::status_at`]).
    pub status: LinkRequestStatus,
    /// When it was decided, if it was.
    pub decided_at: Option<Timestamp>,
    /// Who decided it, if anybody did.
    pub decided_by: Option<AuditActor>,
}

impl LinkRequest {
    /// The status at `now`: a pending request whose expiry has passed is expired.
    pub fn status_at(&self, now: Timestamp) -> LinkRequestStatus {
        match self.status {
            LinkRequestStatus::Pending if self.expires_at <= now => LinkRequestStatus::Expired,
            status => status,
        }
    }
}

/// What recording a link request found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedLinkRequest {
    /// The pending request of the user and link: the new one, or the one already
    /// waiting.
    pub request: LinkRequest,
    /// Whether this call recorded it (`false`: it was pending already).
    pub created: bool,
}

/// Which link requests to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRequestFilter {
    /// The status at `now` ([`LinkRequest::status_at`]).
    pub status: LinkRequestStatus,
    /// Only requests of users of this organization; `None`: every organization.
    pub organization: Option<OrganizationId>,
    /// The time expiry is judged at.
    pub now: Timestamp,
    /// At most this many (the store may cap it at [`MAX_LINK_REQUESTS_LISTED`]).
    pub limit: u32,
}

/// A link a user carried before an approved request replaced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousLink {
    /// The link replaced.
    pub link: IdentityLink,
    /// When it was replaced.
    pub replaced_at: Timestamp,
}

/// What recording an approved link did to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkReplaced {
    /// The user as updated.
    pub user: User,
    /// The link of the same provider they carried before, now kept among their
    /// previous links; `None` when they carried none (or this same one).
    pub previous: Option<PreviousLink>,
}

/// A decision on a link request ([`LinkRequestStore::decide`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkDecision {
    /// The request decided.
    pub id: LinkRequestId,
    /// Approved or rejected.
    pub status: LinkRequestStatus,
    /// Who decided.
    pub by: AuditActor,
    /// When.
    pub at: Timestamp,
}

/// Link requests, and the write an approval makes on the user.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LinkRequestStore: Send + Sync {
    /// Records `request` unless a request of the same user and link is pending and
    /// has not expired by `request.requested_at`: then that one is answered and
    /// nothing is written (`created: false`). A pending one that has expired is
    /// marked [`LinkRequestStatus::Expired`] and a new one recorded. Of concurrent
    /// callers for one user and link, all answer the same request.
    async fn record_or_get_pending(
        &self,
        request: NewLinkRequest,
    ) -> Result<RecordedLinkRequest, RepositoryError>;

    /// The request with this id, whatever its status; `None` if unknown.
    async fn find_link_request(&self, id: LinkRequestId) -> Result<Option<LinkRequest>, RepositoryError>;

    /// The requests matching `filter`, newest first (by `requested_at`, ties by id),
    /// at most `filter.limit`.
    async fn list_link_requests(
        &self,
        filter: &LinkRequestFilter,
    ) -> Result<Vec<LinkRequest>, RepositoryError>;

    /// Decides a request, in one compare-and-set: when request `decision.id` is
    /// pending and has not expired by `decision.at`, its status becomes
    /// `decision.status` (approved or rejected), decided at `decision.at` by
    /// `decision.by`; answers it as updated. `None`, having written
    /// nothing, when it is unknown, decided or expired. Of concurrent deciders
    /// exactly one succeeds.
    async fn decide(&self, decision: LinkDecision) -> Result<Option<LinkRequest>, RepositoryError>;

    /// Takes back the decision made at `decided_at` (an approval whose link could not
    /// be recorded): the request is pending again, without decision. `false`, having
    /// written nothing, when it is not decided at that time.
    async fn reopen(&self, id: LinkRequestId, decided_at: Timestamp) -> Result<bool, RepositoryError>;

    /// Records `identity`'s link on the user (with its connection and tenant),
    /// replacing the subject they carry for that provider, which is kept among their
    /// previous links with `at`; stamps `updatedAt`. `None`, having written nothing, if
    /// the user does not exist. MUST return [`RepositoryError::Duplicate`], having
    /// written nothing, when another user carries the link.
    async fn replace_link(
        &self,
        user: UserId,
        identity: LinkedIdentity,
        at: Timestamp,
    ) -> Result<Option<LinkReplaced>, RepositoryError>;
}
