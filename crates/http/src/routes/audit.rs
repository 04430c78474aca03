//! `GET /api/audit-events`: the audit trail, newest first, for a SUPERADMIN (every
//! record) or an ADMIN (their organization's), by bearer access token.

use actix_web::{HttpRequest, HttpResponse, web};
use tether_wire::{AuditEventsPage, AuditEventsQuery};

use super::api_doc::AdministratorErrors;
use crate::AppState;
use crate::bearer::answer_as_caller;
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
        AdministratorErrors,
    )
)]
pub(crate) async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<AuditEventsQuery>,
) -> Result<HttpResponse, ApiError> {
    answer_as_caller(&req, &state, async |services, caller| {
        let page = services
            .audit_trail
            .list(caller, &query.into_inner().into())
            .await?;
        Ok(AuditEventsPage::from(&page))
    })
    .await
}
