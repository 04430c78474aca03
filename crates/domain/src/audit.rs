//! The audit trail: every decision about who is in, as a record an operator can query
//! later ("who signed in as whom, from where, and why was this allowed or refused").
//!
//! Use cases hand [`AuditEvent`]s to an [`AuditSink`], which never blocks and never
//! fails the request: the sink queues them and a writer stores them off the request
//! path. No record ever carries a token, code, state, secret or digest.

use std::collections::BTreeMap;

use crate::model::ClientContext;
use crate::values::{OrganizationId, SessionId, Timestamp, UserId};

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
