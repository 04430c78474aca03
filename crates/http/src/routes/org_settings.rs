//! `GET` and `PUT /api/organizations/{organizationId}/session-settings`: an
//! organization's session settings, and `GET` and `PUT
//! /api/organizations/{organizationId}/workos-organization`: the WorkOS organization it
//! is mapped to; both for a SUPERADMIN (bearer access token).

use actix_web::{HttpRequest, HttpResponse, web};
use tether_wire::{MappingAnswer, SessionSettingsPatchBody, SessionSettingsPatchInput, SettingsAnswer};
use tether_wire::{WorkosOrganizationBody, WorkosOrganizationInput};

use super::api_doc::{JsonBodyErrors, OrganizationErrors, OrganizationIdPath};
use crate::AppState;
use crate::bearer::answer_as_caller;
use crate::error::ApiError;

/// `GET`: the policy the organization resolves to.
#[utoipa::path(
    get,
    path = "/api/organizations/{organizationId}/session-settings",
    operation_id = "getSessionSettings",
    tag = "organizations",
    params(OrganizationIdPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The organization's resolved session policy", body = SettingsAnswer),
        (status = 400, description = "`INVALID_ORGANIZATION_ID`", body = crate::ErrorBody),
        OrganizationErrors,
    )
)]
pub(crate) async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    answer_as_caller(&req, &state, async |services, caller| {
        let config = services.org_settings.get(caller, &path).await?;
        Ok(SettingsAnswer::new(&config, None))
    })
    .await
}

/// `PUT`: any subset of the nine fields (`null` reverts one to the global default);
/// 400 naming every refused field, nothing saved.
#[utoipa::path(
    put,
    path = "/api/organizations/{organizationId}/session-settings",
    operation_id = "putSessionSettings",
    tag = "organizations",
    params(OrganizationIdPath),
    request_body(content = SessionSettingsPatchBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Saved; the organization's resolved session policy", body = SettingsAnswer),
        (status = 400, description = "`INVALID_ORGANIZATION_ID`, `INVALID_SESSION_SETTINGS` (with `fields`), `INVALID_REQUEST`", body = crate::ErrorBody),
        OrganizationErrors,
        JsonBodyErrors,
    )
)]
pub(crate) async fn put(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<SessionSettingsPatchInput>,
) -> Result<HttpResponse, ApiError> {
    // The token is judged before the body's shape, and the fields after the caller's role.
    answer_as_caller(&req, &state, async |services, caller| {
        let Some(patch) = body.into_inner().into_patch() else {
            return Err(ApiError::invalid_request(
                "The request body must be a JSON object of session settings.",
            ));
        };
        let config = services
            .org_settings
            .update(caller, &path, patch, crate::request_id::audit_origin(&req))
            .await?;
        Ok(SettingsAnswer::new(&config, Some("Session settings updated")))
    })
    .await
}

/// `GET .../workos-organization`: the WorkOS organization the organization is mapped to.
#[utoipa::path(
    get,
    path = "/api/organizations/{organizationId}/workos-organization",
    operation_id = "getWorkosOrganization",
    tag = "organizations",
    params(OrganizationIdPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The WorkOS organization the organization is mapped to (`null` when unmapped)", body = MappingAnswer),
        (status = 400, description = "`INVALID_ORGANIZATION_ID`", body = crate::ErrorBody),
        OrganizationErrors,
    )
)]
pub(crate) async fn get_workos_organization(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    answer_as_caller(&req, &state, async |services, caller| {
        let mapping = services.org_settings.tenant(caller, &path).await?;
        Ok(MappingAnswer::new(&path, mapping.as_ref(), None))
    })
    .await
}

/// `PUT .../workos-organization`: `{"workosOrganizationId": "org_..."}` maps,
/// `{"workosOrganizationId": null}` unmaps; 409 `CONFLICT` when another organization
/// carries it.
#[utoipa::path(
    put,
    path = "/api/organizations/{organizationId}/workos-organization",
    operation_id = "putWorkosOrganization",
    tag = "organizations",
    params(OrganizationIdPath),
    request_body(content = WorkosOrganizationBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Saved; the mapping now stored", body = MappingAnswer),
        (status = 400, description = "`INVALID_ORGANIZATION_ID`, `INVALID_REQUEST` (not `{workosOrganizationId: org_... or null}`)", body = crate::ErrorBody),
        (status = 409, description = "`CONFLICT` (another organization is mapped to this WorkOS organization)", body = crate::ErrorBody),
        OrganizationErrors,
        JsonBodyErrors,
    )
)]
pub(crate) async fn put_workos_organization(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<WorkosOrganizationInput>,
) -> Result<HttpResponse, ApiError> {
    // The token is judged before the body's shape, the `org_` rule after the caller's role.
    answer_as_caller(&req, &state, async |services, caller| {
        let Some(value) = body.mapping() else {
            return Err(ApiError::invalid_request(
                "The request body must be {\"workosOrganizationId\": \"org_...\"} or {\"workosOrganizationId\": null}.",
            ));
        };
        let mapping = services
            .org_settings
            .set_tenant(caller, &path, value, crate::request_id::audit_origin(&req))
            .await?;
        Ok(MappingAnswer::new(
            &path,
            mapping.as_ref(),
            Some("WorkOS organization mapping updated"),
        ))
    })
    .await
}
