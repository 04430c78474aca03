//! The API described by machine: an OpenAPI 3.1 document generated from the code with
//! `utoipa`, served at `GET /api-docs/openapi.json` and checked in as
//! `docs/openapi.json` (an end-to-end test fails when they differ).
//!
//! Each handler carries its `#[utoipa::path(...)]` (method, path, parameters, bodies
//! and every status with the error codes it can answer). To add a route to the
//! document, annotate its handler and add ONE line to `paths(...)` of [`ApiDoc`].

use std::sync::OnceLock;

use actix_web::HttpResponse;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{AllOfBuilder, HeaderBuilder, ObjectBuilder, Ref, RefOr, Schema, Type};
use utoipa::{Modify, OpenApi};

use crate::routes;

/// The document. One line per route in `paths(...)`.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "tether-auth",
        description = "Completes WorkOS sign-in (SSO and AuthKit) for a single-page app and issues the \
product's own session: an access token (HS256, or EdDSA/ES256 verifiable through the published JWKS), a rotating refresh token, the session policy and the \
compact user. Every error is JSON `{error, code, requestId}`; every answer carries `x-request-id`.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0")
    ),
    servers(
        (url = "/", description = "The service that serves this document"),
        (url = "http://localhost:3000", description = "The local demo (scripts/run.sh)"),
    ),
    paths(
        routes::health::live,
        routes::health::live_head,
        routes::health::ready,
        serve,
        routes::authorize::handle,
        routes::callback::handle,
        routes::steps::organization_selection,
        routes::steps::email_verification,
        routes::session::refresh,
        routes::session::logout,
        routes::session::verify_token,
        routes::jwks::serve,
        routes::org_settings::get,
        routes::org_settings::put,
        routes::org_settings::get_workos_organization,
        routes::org_settings::put_workos_organization,
        routes::own_sessions::list,
        routes::own_sessions::revoke_all,
        routes::own_sessions::revoke,
        routes::users::list_sessions,
        routes::users::revoke_sessions,
        routes::users::revoke_session,
        routes::users::put_login_disabled,
        routes::webhooks::workos,
        routes::links::list,
        routes::links::approve,
        routes::links::reject,
        routes::audit::list,
    ),
    components(schemas(tether_wire::ErrorBody, tether_wire::PendingOrganizationBody)),
    // Each response also gets `x-request-id` (and `Retry-After` on 503) and, for errors,
    // `x-error-codes`: the codes its description names.
    modifiers(&CommonHeaders),
    tags(
        (name = "login", description = "Starting and completing a WorkOS sign-in"),
        (name = "session", description = "After sign-in: refresh, logout, token checks, one's own sessions"),
        (name = "users", description = "Users' sessions and sign-in (SUPERADMIN; ADMIN for their organization)"),
        (name = "organizations", description = "Organizations' session settings and WorkOS mapping (SUPERADMIN)"),
        (name = "identity links", description = "Link requests of logins refused with ACCOUNT_LINK_REQUIRED (SUPERADMIN, or ADMIN for their organization)"),
        (name = "audit", description = "Who signed in as whom, from where, and why it was allowed or refused (SUPERADMIN; ADMIN for their organization)"),
        (name = "operations", description = "Probes and this document"),
    )
)]
pub struct ApiDoc;

/// The document as pretty JSON with a final newline, exactly as served and checked in.
#[expect(
    clippy::expect_used,
    reason = "the document is built from static annotations: it always serializes, and a test proves it"
)]
pub fn document_json() -> String {
    let mut json = ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serializes");
    json.push('\n');
    json
}

/// `GET /api-docs/openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/api-docs/openapi.json",
    operation_id = "openApiDocument",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this service", content_type = "application/json", body = Object))
)]
pub(crate) async fn serve() -> HttpResponse {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")))
        .body(DOCUMENT.get_or_init(document_json).clone())
}

/// Adds the bearer scheme, and the `x-request-id` header to every response
/// (`Retry-After` to every 503).
#[derive(Debug)]
struct CommonHeaders;

impl Modify for CommonHeaders {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("The access token (`token`) of an auth session"))
                    .build(),
            ),
        );
        let string = || ObjectBuilder::new().schema_type(Type::String).build();
        let request_id = HeaderBuilder::new()
            .schema(string())
            .description(Some(
                "The request id: the inbound one when it matches ^[A-Za-z0-9._:-]{1,128}$, else a generated one",
            ))
            .build();
        let retry_after = HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::Integer).build())
            .description(Some("Seconds to wait before trying again"))
            .build();
        for item in openapi.paths.paths.values_mut() {
            let operations: [&mut Option<Operation>; 5] = [
                &mut item.get,
                &mut item.head,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                for (status, response) in operation.responses.responses.iter_mut() {
                    if let RefOr::T(response) = response {
                        let codes = error_codes(&response.description);
                        if !codes.is_empty() {
                            response.extensions = Some(
                                [("x-error-codes", serde_json::json!(codes))]
                                    .into_iter()
                                    .collect(),
                            );
                            // The error body with `code` narrowed to this answer's codes:
                            // a client generator gets a closed union per route and status.
                            for content in response.content.values_mut() {
                                content.schema = Some(error_body_with_codes(&codes));
                            }
                        }
                        response.headers.insert("x-request-id".into(), request_id.clone());
                        if status == "503" || status == "429" {
                            response.headers.insert("Retry-After".into(), retry_after.clone());
                        }
                    }
                }
            }
        }
    }
}

/// `ErrorBody` whose `code` is one of `codes`.
fn error_body_with_codes(codes: &[&str]) -> RefOr<Schema> {
    let code = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(codes.iter().copied()));
    AllOfBuilder::new()
        .item(Ref::from_schema_name("ErrorBody"))
        .item(ObjectBuilder::new().property("code", code).required("code"))
        .into()
}

/// The machine codes named in a response's description (`` `INVALID_STATE` ``), for
/// the `x-error-codes` extension that client generators can read.
/// Only names outside parentheses count: a remark such as "(within
/// `REQUEST_BODY_TIMEOUT_MS`)" names a setting, not a code.
fn error_codes(description: &str) -> Vec<&str> {
    let mut codes = Vec::new();
    let mut depth = 0usize;
    for (i, part) in description.split('`').enumerate() {
        if i % 2 == 0 {
            for c in part.chars() {
                match c {
                    '(' => depth += 1,
                    ')' => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
        } else if depth == 0 && part.len() > 1 && part.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
            codes.push(part);
        }
    }
    codes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_with_every_route() {
        let doc: serde_json::Value = serde_json::from_str(&document_json()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        // Every route a client may call without credentials, and every other one.
        for path in crate::RATE_LIMITED_ROUTES.into_iter().chain([
            "/health",
            "/ready",
            "/api-docs/openapi.json",
            "/api/auth/verify-token",
            "/.well-known/jwks.json",
            "/api/organizations/{organizationId}/session-settings",
            "/api/organizations/{organizationId}/workos-organization",
            "/api/auth/sessions",
            "/api/auth/sessions/{sessionId}",
            "/api/users/{userId}/sessions",
            "/api/users/{userId}/sessions/{sessionId}",
            "/api/users/{userId}/login-disabled",
            "/api/identity-link-requests",
            "/api/identity-link-requests/{linkRequestId}/approve",
            "/api/identity-link-requests/{linkRequestId}/reject",
        ]) {
            assert!(doc["paths"][path].is_object(), "{path} is documented");
        }
    }

    #[test]
    fn the_session_body_requires_the_nine_settings_and_the_six_user_fields() {
        let doc: serde_json::Value = serde_json::from_str(&document_json()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let required = |name: &str| -> Vec<String> {
            serde_json::from_value(schemas[name]["required"].clone()).unwrap()
        };
        assert_eq!(required("SessionConfigBody").len(), 9);
        assert_eq!(required("UserBody").len(), 6);
        assert_eq!(
            required("AuthSessionBody"),
            ["token", "refreshToken", "sessionConfig", "user"]
        );
        assert_eq!(required("ErrorBody"), ["error", "code", "requestId"]);
    }

    #[test]
    fn each_error_answer_lists_its_codes_for_machines() {
        let doc: serde_json::Value = serde_json::from_str(&document_json()).unwrap();
        let callback = &doc["paths"]["/api/auth/workos/callback"]["post"]["responses"];
        assert_eq!(
            callback["400"]["x-error-codes"],
            serde_json::json!([
                "INVALID_REQUEST",
                "PROVIDER_ERROR",
                "MISSING_CODE",
                "INVALID_STATE",
                "INVALID_REDIRECT_URI"
            ])
        );
        assert_eq!(
            callback["502"]["x-error-codes"],
            serde_json::json!(["UPSTREAM_MISCONFIGURED", "UPSTREAM_UNAVAILABLE"])
        );
        assert!(callback["200"]["x-error-codes"].is_null());
        assert_eq!(
            callback["408"]["x-error-codes"],
            serde_json::json!(["REQUEST_TIMEOUT"])
        );
    }

    #[test]
    fn each_error_answer_narrows_the_code_of_its_body_to_its_codes() {
        let doc: serde_json::Value = serde_json::from_str(&document_json()).unwrap();
        let schema = &doc["paths"]["/api/auth/refresh"]["post"]["responses"]["401"]["content"]["application/json"]
            ["schema"];
        assert_eq!(schema["allOf"][0]["$ref"], "#/components/schemas/ErrorBody");
        assert_eq!(
            schema["allOf"][1]["properties"]["code"]["enum"],
            serde_json::json!([
                "REFRESH_TOKEN_INVALID",
                "REFRESH_TOKEN_EXPIRED",
                "REFRESH_TOKEN_REVOKED",
                "REFRESH_TOKEN_REUSED",
                "SESSION_EXPIRED"
            ])
        );
        let role = &doc["components"]["schemas"]["UserBody"]["properties"]["accessRole"];
        assert_eq!(
            role["enum"],
            serde_json::json!(["SUPERADMIN", "ADMIN", "DEPARTMENT_HEAD", "SALES_REP"])
        );
        assert!(doc["servers"].as_array().is_some_and(|s| !s.is_empty()));
    }
}
