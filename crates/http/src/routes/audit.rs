//! `GET /api/audit-events`: the audit trail, newest first, for a SUPERADMIN (every
//! record) or an ADMIN (their organization's), by bearer access token.

use actix_web::{HttpRequest, HttpResponse, web};
use tether_wire::{AuditEventsPage, AuditEventsQuery};

use crate::AppState;
use crate::bearer::caller;
use crate::error::ApiError;

/// `GET /api/audit-events`: one page of records, newest first; `nextBefore` is the
/// `before` of the next page.
#[utoipa::path(
    get,
    path = "/api/audit-events",
    operation_id = "listAuditEvents",
    tag = "audit",
    params(AuditEventsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of audit records, newest first (an ADMIN sees their organization's only)", body = AuditEventsPage),
        (status = 400, description = "`INVALID_REQUEST` (a malformed filter, named)", body = crate::ErrorBody),
        (status = 401, description = "`MISSING_TOKEN`, `INVALID_TOKEN` (also: the user no longer exists), `TOKEN_EXPIRED`, `SESSION_REVOKED`, `LOGIN_DISABLED`", body = crate::ErrorBody),
        (status = 403, description = "`FORBIDDEN` (neither SUPERADMIN nor ADMIN)", body = crate::ErrorBody),
        (status = 500, description = "`INTERNAL_ERROR`", body = crate::ErrorBody),
        (status = 503, description = "`STORE_UNAVAILABLE`", body = crate::ErrorBody),
    )
)]
pub(crate) async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<AuditEventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller(&req, &state).await?;
    let page = state
        .services
        .audit_trail
        .list(&caller, &query.into_inner().into())
        .await?;
    Ok(HttpResponse::Ok().json(AuditEventsPage::from(&page)))
}
