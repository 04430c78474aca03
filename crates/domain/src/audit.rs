//! The audit trail: every decision about who is in, as a record an operator can query
//! later ("who signed in as whom, from where, and why was this allowed or refused").
//!
//! Use cases hand [`AuditEvent`]s to an [`AuditSink`], which never blocks and never
//! fails the request: the sink queues them and a writer stores them off the request
//! path. No record ever carries a token, code, state, secret or digest.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use thiserror::Error;

use crate::admin::{AdminError, AdminRule};
use crate::failure::{Failure, failure_from_ports};
use crate::model::{ClientContext, SessionRecord, User, VerifiedAccess};
use crate::ports::RepositoryError;
use crate::values::{HexId, OrganizationId, SessionId, Timestamp, UserId};

#[cfg(feature = "conformance")]
pub mod conformance;

/// What happened: the type of an audit record, with its wire name ([`Self::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AuditType {
    /// A login signed a user in (detail: the rule that decided, the provider API).
    LoginSucceeded,
    /// A login was refused (detail: the error code; the user when one was matched).
    LoginRefused,
    /// A used refresh token was presented after its grace window.
    SessionReuseDetected,
    /// A session ended before its time (detail: the reason).
    SessionRevoked,
    /// A user was disabled.
    UserDisabled,
    /// A user was enabled again.
    UserEnabled,
    /// A refused login recorded a link request.
    LinkRequested,
    /// A link request was approved.
    LinkApproved,
    /// A link request was rejected.
    LinkRejected,
    /// An organization's session settings changed (detail: the changed fields).
    SessionSettingsChanged,
    /// An organization's mapping to a tenant changed.
    MappingChanged,
    /// An event of the identity provider was applied.
    ProviderEventApplied,
}

impl AuditType {
    /// Every type, in wire-name order of the contract.
    pub const ALL: [AuditType; 12] = [
        AuditType::LoginSucceeded,
        AuditType::LoginRefused,
        AuditType::SessionReuseDetected,
        AuditType::SessionRevoked,
        AuditType::UserDisabled,
        AuditType::UserEnabled,
        AuditType::LinkRequested,
        AuditType::LinkApproved,
        AuditType::LinkRejected,
        AuditType::SessionSettingsChanged,
        AuditType::MappingChanged,
        AuditType::ProviderEventApplied,
    ];

    /// The wire name (`login.succeeded`, …).
    pub const fn as_str(&self) -> &'static str {
        match self {
            AuditType::LoginSucceeded => "login.succeeded",
            AuditType::LoginRefused => "login.refused",
            AuditType::SessionReuseDetected => "session.reuse_detected",
            AuditType::SessionRevoked => "session.revoked",
            AuditType::UserDisabled => "user.disabled",
            AuditType::UserEnabled => "user.enabled",
            AuditType::LinkRequested => "link.requested",
            AuditType::LinkApproved => "link.approved",
            AuditType::LinkRejected => "link.rejected",
            AuditType::SessionSettingsChanged => "organization.session_settings_changed",
            AuditType::MappingChanged => "organization.mapping_changed",
            AuditType::ProviderEventApplied => "workos.event_applied",
        }
    }

    /// The type of a wire name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// A part of the service acting on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SystemActor {
    /// The consumer of the identity provider's events (`workos-events`).
    ProviderEvents,
    /// The command line (`cli`).
    Cli,
    /// The service itself, e.g. a login (`service`).
    Service,
}

impl SystemActor {
    /// Every part of the service that acts on its own.
    pub const ALL: [SystemActor; 3] = [
        SystemActor::ProviderEvents,
        SystemActor::Cli,
        SystemActor::Service,
    ];

    /// The wire name.
    pub const fn as_str(&self) -> &'static str {
        match self {
            SystemActor::ProviderEvents => "workos-events",
            SystemActor::Cli => "cli",
            SystemActor::Service => "service",
        }
    }
}

/// Who acted: a person or a part of the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditActor {
    /// A signed-in person (`{"userId": ...}`).
    User(UserId),
    /// The service (`{"system": ...}`).
    System(SystemActor),
}

/// Whether the decision let someone in (or an action through) or refused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOutcome {
    /// Allowed, done.
    Success,
    /// Refused.
    Refused,
}

impl AuditOutcome {
    /// `success` or `refused`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            AuditOutcome::Success => "success",
            AuditOutcome::Refused => "refused",
        }
    }
}

/// Where a request came from, for the record: the client as the edge saw it and the
/// request id it was answered under. All optional: a command or an event has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditOrigin {
    /// The client's address and user agent.
    pub client: ClientContext,
    /// The request id (`X-Request-Id`) of the answer.
    pub request_id: Option<String>,
}

/// One audit record, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    pub kind: AuditType,
    /// Who acted.
    pub actor: AuditActor,
    /// The user it concerns, if any.
    pub user_id: Option<UserId>,
    /// The organization it concerns, if any.
    pub organization_id: Option<OrganizationId>,
    /// The session it concerns, if any.
    pub session_id: Option<SessionId>,
    /// Where the request came from.
    pub origin: AuditOrigin,
    /// Allowed or refused.
    pub outcome: AuditOutcome,
    /// Details by name (the rule, the code, the changed fields…): never a secret.
    pub detail: BTreeMap<String, String>,
}

impl AuditEvent {
    /// A record of `kind` by `actor` at `at`, successful, concerning nobody yet.
    pub fn new(kind: AuditType, actor: AuditActor, at: Timestamp) -> Self {
        Self {
            at,
            kind,
            actor,
            user_id: None,
            organization_id: None,
            session_id: None,
            origin: AuditOrigin::default(),
            outcome: AuditOutcome::Success,
            detail: BTreeMap::new(),
        }
    }

    /// Concerning this user.
    pub fn user(mut self, id: UserId) -> Self {
        self.user_id = Some(id);
        self
    }

    /// Concerning this organization.
    pub fn organization(mut self, id: OrganizationId) -> Self {
        self.organization_id = Some(id);
        self
    }

    /// Concerning this session.
    pub fn session(mut self, id: SessionId) -> Self {
        self.session_id = Some(id);
        self
    }

    /// Concerning this user, in their organization.
    pub fn of_user(self, user: &User) -> Self {
        self.user(user.id).organization(user.organization_id)
    }

    /// Concerning this session, of its user and organization.
    pub fn of_session(self, session: &SessionRecord) -> Self {
        self.user(session.user_id)
            .organization(session.organization_id)
            .session(session.id.clone())
    }

    /// Coming from this request.
    pub fn origin(mut self, origin: AuditOrigin) -> Self {
        self.origin = origin;
        self
    }

    /// Refused rather than allowed.
    pub fn refused(mut self) -> Self {
        self.outcome = AuditOutcome::Refused;
        self
    }

    /// With this detail.
    pub fn detail(mut self, name: &str, value: impl Into<String>) -> Self {
        self.detail.insert(name.to_owned(), value.into());
        self
    }
}

/// Where use cases hand their audit records. Never blocks and never fails the use
/// case: an adapter queues the record and stores it later, and counts what it drops.
pub trait AuditSink: Send + Sync {
    /// Takes one record.
    fn record(&self, event: AuditEvent);
}

/// A sink that keeps nothing, for wirings without an audit trail.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAudit;

impl AuditSink for NoAudit {
    fn record(&self, _event: AuditEvent) {}
}

/// The most records one query answers.
pub const MAX_AUDIT_PAGE: usize = 200;

/// One audit record as stored: its id, which orders records by when they were
/// recorded (a later record has a greater id), and the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAuditEvent {
    /// The record's id (24 hexadecimal characters on the wire).
    pub id: HexId,
    /// What was recorded.
    pub event: AuditEvent,
}

/// Which records to answer, newest first: every filter given must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only records concerning this user.
    pub user_id: Option<UserId>,
    /// Only records concerning this organization.
    pub organization_id: Option<OrganizationId>,
    /// Only records of this type.
    pub kind: Option<AuditType>,
    /// Only records older than this one (the last id of the previous page).
    pub before: Option<HexId>,
    /// At most this many (1 to [`MAX_AUDIT_PAGE`]).
    pub limit: usize,
}

impl AuditQuery {
    /// Every record, newest first, `limit` at a time.
    pub fn newest(limit: usize) -> Self {
        Self {
            user_id: None,
            organization_id: None,
            kind: None,
            before: None,
            limit,
        }
    }

    /// Whether `record` passes the filters (not the page bounds).
    pub fn matches(&self, record: &StoredAuditEvent) -> bool {
        let event = &record.event;
        self.user_id.is_none_or(|id| event.user_id == Some(id))
            && self
                .organization_id
                .is_none_or(|id| event.organization_id == Some(id))
            && self.kind.is_none_or(|kind| event.kind == kind)
            && self.before.is_none_or(|before| record.id < before)
    }
}

/// Where audit records are kept, and read back by an operator.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Stores a batch of records. Idempotent by id: a record whose id is stored
    /// already is skipped (so a batch whose answer was lost can be sent again) and the
    /// others are stored.
    async fn append(&self, batch: &[StoredAuditEvent]) -> Result<(), RepositoryError>;

    /// The records `query` selects, newest (greatest id) first, at most `query.limit`.
    async fn query(&self, query: &AuditQuery) -> Result<Vec<StoredAuditEvent>, RepositoryError>;
}

/// Mints the ids of audit records: 4 bytes of the record's time in seconds (big
/// endian), 5 bytes naming the process, 3 bytes of a counter. Ids of one process grow
/// with every record; those of several processes are ordered by the second first.
#[derive(Debug)]
pub struct AuditIds {
    process: [u8; 5],
    counter: AtomicU32,
}

impl AuditIds {
    /// A sequence for the process `tag` (for example derived from its id and start
    /// time: two processes writing the same store should differ).
    pub fn new(tag: u64) -> Self {
        let bytes = tag.to_be_bytes();
        Self {
            process: [bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]],
            counter: AtomicU32::new(0),
        }
    }

    /// The next id, for a record made at `at`.
    pub fn next(&self, at: Timestamp) -> HexId {
        let seconds =
            u32::try_from(at.unix_seconds()).unwrap_or(if at.unix_seconds() < 0 { 0 } else { u32::MAX });
        let count = self.counter.fetch_add(1, Ordering::Relaxed) & 0x00ff_ffff;
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&seconds.to_be_bytes());
        bytes[4..9].copy_from_slice(&self.process);
        bytes[9..].copy_from_slice(&count.to_be_bytes()[1..]);
        HexId::from_bytes(bytes)
    }
}

/// How many records a query answers when it names no `limit`.
pub const DEFAULT_AUDIT_PAGE: usize = 50;

/// What an operator asked the audit trail for, as the client sent it: every field
/// optional and unchecked until [`AuditTrail::list`] reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// `userId`: 24 hexadecimal characters.
    pub user_id: Option<String>,
    /// `organizationId`: 24 hexadecimal characters.
    pub organization_id: Option<String>,
    /// `type`: a wire name of [`AuditType`].
    pub kind: Option<String>,
    /// `before`: the id of the last record of the previous page.
    pub before: Option<String>,
    /// `limit`: 1 to [`MAX_AUDIT_PAGE`] (default [`DEFAULT_AUDIT_PAGE`]).
    pub limit: Option<String>,
}

/// One page of the audit trail, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// The records.
    pub records: Vec<StoredAuditEvent>,
    /// The `before` of the next page, `None` when this page is the last.
    pub next_before: Option<HexId>,
}

/// Why the audit trail was not answered.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AuditTrailError {
    /// The token's user no longer exists.
    #[error("the user of the access token no longer exists")]
    UnknownUser,
    /// The token's user may no longer sign in.
    #[error("sign-in is disabled for this user")]
    LoginDisabled,
    /// The caller is neither SUPERADMIN nor ADMIN.
    #[error("only a SUPERADMIN or an ADMIN may read the audit trail")]
    Forbidden,
    /// A filter is malformed; the message names it (never echoing its value).
    #[error("{0}")]
    InvalidQuery(String),
    /// The store is unavailable, or something unexpected happened.
    #[error(transparent)]
    Failure(#[from] Failure),
}

failure_from_ports!(AuditTrailError);

impl From<AdminError> for AuditTrailError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::UnknownUser => AuditTrailError::UnknownUser,
            AdminError::LoginDisabled => AuditTrailError::LoginDisabled,
            AdminError::Failure(failure) => AuditTrailError::Failure(failure),
            // `UserNotFound` does not arise without a target; refuse anything else.
            _ => AuditTrailError::Forbidden,
        }
    }
}

/// Reads the audit trail on behalf of an administrator: a SUPERADMIN every record, an
/// ADMIN those of their own organization only.
#[derive(Clone)]
pub struct AuditTrail {
    rule: AdminRule,
    store: Arc<dyn AuditStore>,
}

impl std::fmt::Debug for AuditTrail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditTrail").finish_non_exhaustive()
    }
}

impl AuditTrail {
    /// The use case over who may administer whom and the stored records.
    pub fn new(rule: AdminRule, store: Arc<dyn AuditStore>) -> Self {
        Self { rule, store }
    }

    /// One page of the records `filter` selects, newest first.
    ///
    /// The caller's role is read from the store: a SUPERADMIN reads every record, an
    /// ADMIN only those of their organization (asking for another organization answers
    /// an empty page, as if it had none), anyone else is refused. A malformed filter is
    /// [`AuditTrailError::InvalidQuery`], judged after the caller.
    pub async fn list(
        &self,
        caller: &VerifiedAccess,
        filter: &AuditFilter,
    ) -> Result<AuditPage, AuditTrailError> {
        let admin = self.rule.administrator(caller).await?;
        let mut query = read_filter(filter)?;
        if let Some(own) = admin.scope() {
            match query.organization_id {
                Some(asked) if asked != own => {
                    return Ok(AuditPage {
                        records: Vec::new(),
                        next_before: None,
                    });
                }
                _ => query.organization_id = Some(own),
            }
        }
        let records = self.store.query(&query).await?;
        let next_before = (records.len() == query.limit)
            .then(|| records.last().map(|r| r.id))
            .flatten();
        Ok(AuditPage { records, next_before })
    }
}

/// The query of a filter as the client sent it, or the field that is malformed.
fn read_filter(filter: &AuditFilter) -> Result<AuditQuery, AuditTrailError> {
    let invalid = |message: &str| AuditTrailError::InvalidQuery(message.to_owned());
    let present = |raw: &Option<String>| {
        raw.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let user_id = present(&filter.user_id)
        .map(|raw| UserId::parse(&raw).map_err(|_| invalid("userId must be 24 hexadecimal characters")))
        .transpose()?;
    let organization_id = present(&filter.organization_id)
        .map(|raw| {
            OrganizationId::parse(&raw)
                .map_err(|_| invalid("organizationId must be 24 hexadecimal characters"))
        })
        .transpose()?;
    let kind = present(&filter.kind)
        .map(|raw| {
            AuditType::parse(&raw).ok_or_else(|| invalid("type must be one of the audit record types"))
        })
        .transpose()?;
    let before = present(&filter.before)
        .map(|raw| HexId::parse(&raw).map_err(|_| invalid("before must be 24 hexadecimal characters")))
        .transpose()?;
    let limit = match present(&filter.limit) {
        None => DEFAULT_AUDIT_PAGE,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_AUDIT_PAGE).contains(n))
            .ok_or_else(|| invalid("limit must be an integer from 1 to 200"))?,
    };
    Ok(AuditQuery {
        user_id,
        organization_id,
        kind,
        before,
        limit,
    })
}
