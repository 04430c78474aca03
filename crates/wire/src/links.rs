//! The link requests of refused logins: the listing's query and the request as
//! answered.

use serde::{Deserialize, Serialize};
use tether_domain::lifecycle::format_rfc3339;
use tether_domain::{AuditActor, LinkRequest};

use crate::AuditActorBody;

/// `GET /api/identity-link-requests`: the query parameters. The domain judges them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct LinkRequestsQuery {
    /// Which requests: `pending` (the default), `approved`, `rejected` or `expired`.
    #[cfg_attr(feature = "openapi", param(schema_with = crate::schema::link_request_status))]
    pub status: Option<String>,
    /// At most this many, newest first (1–200, default 50).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
    pub limit: Option<u32>,
}

/// One link request: a login refused with `ACCOUNT_LINK_REQUIRED`, the user its
/// address matched and the WorkOS identity it would link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "id": "6a1b2c3d4e5f600123456789",
    "status": "pending",
    "userId": "64a1b2c3d4e5f60012345678",
    "organizationId": "64a1b2c3d4e5f600aaaaaaaa",
    "api": "sso",
    "workosId": "prof_01JD8ZQ4N5TXKX0V3C8Y5Q2M7B",
    "workosOrganizationId": "org_01JD8ZQ4N5TXKX0V3C8Y5Q2M7C",
    "email": "ada@acme.example",
    "emailVerified": null,
    "requestedAt": "2026-12-07T09:30:00.000Z",
    "expiresAt": "2026-12-14T09:30:00.000Z",
    "decidedAt": null,
    "decidedBy": null
})))]
#[serde(rename_all = "camelCase")]
pub struct LinkRequestBody {
    /// The request's id (24 hexadecimal characters).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{24}$"))]
    pub id: String,
    /// `pending`, `approved`, `rejected` or `expired`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::link_request_status))]
    pub status: String,
    /// The user the identity's address matched.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{24}$"))]
    pub user_id: String,
    /// That user's organization.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{24}$"))]
    pub organization_id: String,
    /// The WorkOS API of the identity: `sso` or `authkit`.
    pub api: String,
    /// The WorkOS id approval records on the user (`prof_...` or `user_...`).
    pub workos_id: String,
    /// The identity's WorkOS organization, if any.
    pub workos_organization_id: Option<String>,
    /// The address the identity asserted.
    pub email: String,
    /// Whether WorkOS said it verified the address (`null`: it said nothing).
    pub email_verified: Option<bool>,
    /// When the login was refused (RFC 3339).
    pub requested_at: String,
    /// When the request lapses undecided (RFC 3339).
    pub expires_at: String,
    /// When it was decided (RFC 3339), if it was.
    pub decided_at: Option<String>,
    /// Who decided it: `{"userId": ...}` or `{"system": "cli"}`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::decided_by))]
    pub decided_by: Option<DecidedByBody>,
}

/// Who decided a link request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecidedByBody {
    /// The administrator, when a person decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The part of the service, e.g. `cli`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
}

impl From<&AuditActor> for DecidedByBody {
    /// As the audit trail names an actor.
    fn from(actor: &AuditActor) -> Self {
        let AuditActorBody { user_id, system } = actor.into();
        Self { user_id, system }
    }
}

impl From<&LinkRequest> for LinkRequestBody {
    /// The request as the use case answered it (its status judged at that time).
    fn from(request: &LinkRequest) -> Self {
        Self {
            id: request.id.to_string(),
            status: request.status.as_str().to_owned(),
            user_id: request.user_id.to_string(),
            organization_id: request.organization_id.to_string(),
            api: request.identity.link.provider.as_str().to_owned(),
            workos_id: request.identity.link.subject.clone(),
            workos_organization_id: request.identity.tenant.as_ref().map(|t| t.as_str().to_owned()),
            email: request.email.as_str().to_owned(),
            email_verified: request.email_verified,
            requested_at: format_rfc3339(request.requested_at),
            expires_at: format_rfc3339(request.expires_at),
            decided_at: request.decided_at.map(format_rfc3339),
            decided_by: request.decided_by.as_ref().map(DecidedByBody::from),
        }
    }
}

/// `GET /api/identity-link-requests`: the requests, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LinkRequestsBody {
    /// The requests, newest first.
    pub link_requests: Vec<LinkRequestBody>,
}
