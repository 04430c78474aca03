//! `GET` and `PUT /api/organizations/{organizationId}/session-settings`: an
//! organization's session settings, for a SUPERADMIN (bearer access token).

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::Value;
use tether_domain::{SessionConfig, SettingValue, SettingsPatch, VerifiedAccess};

use crate::AppState;
use crate::bearer::bearer_token;
use crate::dto::SessionConfigBody;
use crate::error::ApiError;
use crate::request_id::request_id_of;

/// `{"success": true, "message"?: ..., "data": {nine fields}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SettingsAnswer {
    success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    message: Option<&'static str>,
    data: SessionConfigBody,
}

fn answer(config: &SessionConfig, message: Option<&'static str>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(SettingsAnswer {
            success: true,
            message,
            data: config.into(),
        })
}

/// The caller, authenticated by their bearer access token.
async fn caller(req: &HttpRequest, state: &AppState) -> Result<VerifiedAccess, ApiError> {
    let token = bearer_token(req).map_err(|e| ApiError::from_access(e, request_id_of(req)))?;
    state
        .access
        .authenticate(token.expose_secret())
        .await
        .map_err(|e| ApiError::from_access(e, request_id_of(req)))
}

/// A JSON value as a stored setting value (`null` clears the field).
fn setting_value(value: Value) -> Option<SettingValue> {
    match value {
        Value::Null => None,
        Value::Bool(b) => Some(SettingValue::Bool(b)),
        // Every JSON number has an f64 reading; the domain checks wholeness and bounds.
        Value::Number(n) => Some(SettingValue::Number(n.as_f64().unwrap_or(f64::NAN))),
        Value::String(s) => Some(SettingValue::Text(s)),
        Value::Array(_) => Some(SettingValue::Other("array")),
        Value::Object(_) => Some(SettingValue::Other("object")),
    }
}

/// `GET`: the policy the organization resolves to.
#[utoipa::path(
    get,
    path = "/api/organizations/{organizationId}/session-settings",
    operation_id = "getSessionSettings",
    tag = "organizations",
    params(("organizationId" = String, Path, description = "The organization's id (24 hex characters)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The organization's resolved session policy", body = SettingsAnswer),
        (status = 400, description = "`INVALID_ORGANIZATION_ID`", body = crate::ErrorBody),
        (status = 401, description = "`MISSING_TOKEN`, `INVALID_TOKEN`, `TOKEN_EXPIRED`, `SESSION_REVOKED`", body = crate::ErrorBody),
        (status = 403, description = "`FORBIDDEN` (not a SUPERADMIN), `LOGIN_DISABLED`", body = crate::ErrorBody),
        (status = 404, description = "`ORGANIZATION_NOT_FOUND`", body = crate::ErrorBody),
        (status = 500, description = "`INTERNAL_ERROR`", body = crate::ErrorBody),
        (status = 503, description = "`STORE_UNAVAILABLE`", body = crate::ErrorBody),
    )
)]
pub(crate) async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller(&req, &state).await?;
    let config = state
        .org_settings
        .get(&caller, &path)
        .await
        .map_err(|e| ApiError::from_org_settings(e, request_id_of(&req)))?;
    Ok(answer(&config, None))
}

/// `PUT`: any subset of the nine fields (`null` reverts one to the global default);
/// 400 naming every refused field, nothing saved.
#[utoipa::path(
    put,
    path = "/api/organizations/{organizationId}/session-settings",
    operation_id = "putSessionSettings",
    tag = "organizations",
    params(("organizationId" = String, Path, description = "The organization's id (24 hex characters)")),
    request_body(content = crate::openapi::SessionSettingsPatchBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Saved; the organization's resolved session policy", body = SettingsAnswer),
        (status = 400, description = "`INVALID_ORGANIZATION_ID`, `INVALID_SESSION_SETTINGS` (with `fields`), `INVALID_REQUEST`", body = crate::ErrorBody),
        (status = 401, description = "`MISSING_TOKEN`, `INVALID_TOKEN`, `TOKEN_EXPIRED`, `SESSION_REVOKED`", body = crate::ErrorBody),
        (status = 403, description = "`FORBIDDEN` (not a SUPERADMIN), `LOGIN_DISABLED`", body = crate::ErrorBody),
        (status = 404, description = "`ORGANIZATION_NOT_FOUND`", body = crate::ErrorBody),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`", body = crate::ErrorBody),
        (status = 415, description = "`INVALID_REQUEST` (not JSON)", body = crate::ErrorBody),
        (status = 500, description = "`INTERNAL_ERROR`", body = crate::ErrorBody),
        (status = 503, description = "`STORE_UNAVAILABLE`", body = crate::ErrorBody),
    )
)]
pub(crate) async fn put(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller(&req, &state).await?;
    let Value::Object(fields) = body.into_inner() else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "The request body must be a JSON object of session settings.",
            request_id_of(&req),
        ));
    };
    let patch = SettingsPatch::new(
        fields
            .into_iter()
            .map(|(name, value)| (name, setting_value(value))),
    );
    let config = state
        .org_settings
        .update(&caller, &path, patch)
        .await
        .map_err(|e| ApiError::from_org_settings(e, request_id_of(&req)))?;
    Ok(answer(&config, Some("Session settings updated")))
}
