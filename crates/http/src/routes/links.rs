//! `GET /api/identity-link-requests` and `POST
//! /api/identity-link-requests/{linkRequestId}/approve|reject`: the link requests of
//! logins refused with `ACCOUNT_LINK_REQUIRED`, for a SUPERADMIN (every request) or an
//! ADMIN (those of their organization's users), by bearer access token.

use actix_web::{HttpRequest, HttpResponse, web};
use tether_domain::LinkCaller;
use tether_wire::{LinkRequestBody, LinkRequestsBody, LinkRequestsQuery};

use super::api_doc::{AdministratorErrors, LinkDecisionErrors, LinkRequestIdPath};
use crate::AppState;
use crate::bearer::answer_as_caller;
use crate::error::ApiError;

enum Decision {
    Approve,
    Reject,
}

/// Approves or rejects the request `id` for the bearer of the request's token.
async fn decide(
    req: &HttpRequest,
    state: &AppState,
    id: &str,
    decision: Decision,
) -> Result<HttpResponse, ApiError> {
    answer_as_caller(req, state, async |services, caller| {
        let links = &services.link_requests;
        let caller = LinkCaller::Bearer(caller);
        let request = match decision {
            Decision::Approve => links.approve(caller, id).await?,
            Decision::Reject => links.reject(caller, id).await?,
        };
        Ok(LinkRequestBody::from(&request))
    })
    .await
}

/// `GET`: the requests of a status, newest first.
#[utoipa::path(
    get,
    path = "/api/identity-link-requests",
    operation_id = "listLinkRequests",
    tag = "identity links",
    params(LinkRequestsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The requests the caller may see, newest first", body = LinkRequestsBody),
        (status = 400, description = "`INVALID_REQUEST` (an unknown status, a limit outside 1-200)", body = crate::ErrorBody),
        AdministratorErrors,
    )
)]
pub(crate) async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<LinkRequestsQuery>,
) -> Result<HttpResponse, ApiError> {
    answer_as_caller(&req, &state, async |services, caller| {
        let query = query.into_inner();
        let found = services
            .link_requests
            .list(LinkCaller::Bearer(caller), query.status.as_deref(), query.limit)
            .await?;
        Ok(LinkRequestsBody {
            link_requests: found.iter().map(LinkRequestBody::from).collect(),
        })
    })
    .await
}

/// `POST .../approve`: records the WorkOS id on the user (the earlier one of that API
/// goes to `previousWorkosIds`); the identity's next login signs in.
#[utoipa::path(
    post,
    path = "/api/identity-link-requests/{linkRequestId}/approve",
    operation_id = "approveLinkRequest",
    tag = "identity links",
    params(LinkRequestIdPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Approved; the request as decided", body = LinkRequestBody),
        (status = 409, description = "`CONFLICT` (another user carries this WorkOS id), `LINK_REQUEST_NOT_PENDING` (approved, rejected or expired)", body = crate::ErrorBody),
        LinkDecisionErrors,
    )
)]
pub(crate) async fn approve(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    decide(&req, &state, &path, Decision::Approve).await
}

/// `POST .../reject`: the request is closed; nothing changes on the user.
#[utoipa::path(
    post,
    path = "/api/identity-link-requests/{linkRequestId}/reject",
    operation_id = "rejectLinkRequest",
    tag = "identity links",
    params(LinkRequestIdPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Rejected; the request as decided", body = LinkRequestBody),
        (status = 409, description = "`LINK_REQUEST_NOT_PENDING` (approved, rejected or expired)", body = crate::ErrorBody),
        LinkDecisionErrors,
    )
)]
pub(crate) async fn reject(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    decide(&req, &state, &path, Decision::Reject).await
}
