//! `GET /api/audit-events`: its query and its page of records.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tether_domain::lifecycle::format_rfc3339;
use tether_domain::{AuditActor, AuditFilter, AuditPage, StoredAuditEvent};

/// The query of `GET /api/audit-events`: every filter optional, each judged by the
/// domain (a malformed one is `400 INVALID_REQUEST` naming it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct AuditEventsQuery {
    /// Only the records concerning this user (24 hexadecimal characters).
    #[cfg_attr(feature = "openapi", param(pattern = "^[0-9a-fA-F]{24}$"))]
    pub user_id: Option<String>,
    /// Only the records concerning this organization (24 hexadecimal characters); an
    /// ADMIN reads only their own.
    #[cfg_attr(feature = "openapi", param(pattern = "^[0-9a-fA-F]{24}$"))]
    pub organization_id: Option<String>,
    /// Only the records of this type.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", param(rename = "type", schema_with = crate::schema::audit_type))]
    pub kind: Option<String>,
    /// Only the records older than this one: the `nextBefore` of the previous page.
    #[cfg_attr(feature = "openapi", param(pattern = "^[0-9a-fA-F]{24}$"))]
    pub before: Option<String>,
    /// How many records at most (1–200, default 50).
    #[cfg_attr(feature = "openapi", param(value_type = Option<u32>, minimum = 1, maximum = 200))]
    pub limit: Option<String>,
}

impl From<AuditEventsQuery> for AuditFilter {
    fn from(query: AuditEventsQuery) -> Self {
        Self {
            user_id: query.user_id,
            organization_id: query.organization_id,
            kind: query.kind,
            before: query.before,
            limit: query.limit,
        }
    }
}

/// Who acted: `{"userId": ...}` for a person, `{"system": ...}` for the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditActorBody {
    /// The person who acted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{24}$"))]
    pub user_id: Option<String>,
    /// The part of the service that acted: `workos-events`, `cli` or `service`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::system_actor))]
    pub system: Option<String>,
}

/// One audit record. Never a token, code, state, secret or digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "id": "6756f0c2a1b2c3d4e5000001",
    "at": "2026-12-07T23:04:12.345Z",
    "type": "login.succeeded",
    "actor": {"system": "service"},
    "userId": "64a1b2c3d4e5f60012345678",
    "organizationId": "64a1b2c3d4e5f60012345679",
    "sessionId": "sess_3q2-7wEVhVXbQ4x0Zq5uT8",
    "ip": "203.0.113.7",
    "userAgent": "Mozilla/5.0",
    "requestId": "b1f0c9d2-5f5e-4a8e-9d1c-2f0b8a7e6c11",
    "outcome": "success",
    "detail": {"rule": "matched_by_workos_id", "api": "sso"}
})))]
#[serde(rename_all = "camelCase")]
pub struct AuditEventBody {
    /// The record's id (newer records have greater ids).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{24}$"))]
    pub id: String,
    /// When it happened (RFC 3339, UTC, milliseconds).
    pub at: String,
    /// What happened.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::audit_type))]
    pub kind: String,
    /// Who acted.
    pub actor: AuditActorBody,
    /// The user it concerns.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{24}$"))]
    pub user_id: Option<String>,
    /// The organization it concerns.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{24}$"))]
    pub organization_id: Option<String>,
    /// The session it concerns.
    pub session_id: Option<String>,
    /// The client's address (through `TRUSTED_PROXIES`).
    pub ip: Option<String>,
    /// The client's `User-Agent`, cleaned and cut short.
    pub user_agent: Option<String>,
    /// The request id the request was answered under (`X-Request-Id`).
    pub request_id: Option<String>,
    /// `success` or `refused`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::audit_outcome))]
    pub outcome: String,
    /// Details by name: the rule that let a login in (`rule`) and its API (`api`), the
    /// code that refused it (`code`), the reason of a revocation (`reason`), the
    /// changed fields (`fields`), the WorkOS event (`eventId`, `eventType`), ...
    pub detail: BTreeMap<String, String>,
}

impl From<&AuditActor> for AuditActorBody {
    /// A user by id, or a part of the service by name.
    fn from(actor: &AuditActor) -> Self {
        match actor {
            AuditActor::User(id) => Self {
                user_id: Some(id.to_string()),
                system: None,
            },
            AuditActor::System(system) => Self {
                user_id: None,
                system: Some(system.as_str().to_owned()),
            },
        }
    }
}

impl From<&StoredAuditEvent> for AuditEventBody {
    fn from(record: &StoredAuditEvent) -> Self {
        let event = &record.event;
        Self {
            id: record.id.to_string(),
            at: format_rfc3339(event.at),
            kind: event.kind.as_str().to_owned(),
            actor: AuditActorBody::from(&event.actor),
            user_id: event.user_id.map(|id| id.to_string()),
            organization_id: event.organization_id.map(|id| id.to_string()),
            session_id: event.session_id.as_ref().map(|id| id.as_str().to_owned()),
            ip: event.origin.client.ip_address.clone(),
            user_agent: event.origin.client.user_agent.clone(),
            request_id: event.origin.request_id.clone(),
            outcome: event.outcome.as_str().to_owned(),
            detail: event.detail.clone(),
        }
    }
}

/// A page of the audit trail, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEventsPage {
    /// The records.
    pub events: Vec<AuditEventBody>,
    /// The `before` of the next page; `null` on the last one.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{24}$"))]
    pub next_before: Option<String>,
}

impl From<&AuditPage> for AuditEventsPage {
    fn from(page: &AuditPage) -> Self {
        Self {
            events: page.records.iter().map(AuditEventBody::from).collect(),
            next_before: page.next_before.map(|id| id.to_string()),
        }
    }
}
