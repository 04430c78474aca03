//! Route table and the small handlers that only translate.

pub(crate) mod api_doc;
pub(crate) mod audit;
pub(crate) mod authorize;
pub(crate) mod callback;
pub(crate) mod health;
pub(crate) mod jwks;
pub(crate) mod links;
pub(crate) mod org_settings;
pub(crate) mod own_sessions;
pub(crate) mod session;
pub(crate) mod steps;
pub(crate) mod users;
pub(crate) mod webhooks;

use actix_web::http::header::{HeaderValue, PRAGMA};
use actix_web::{HttpResponse, Resource, ResponseError, Route, web};

use crate::error::ApiError;

/// Registers every route.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/health")
            .route(web::get().to(health::live))
            .route(web::head().to(health::live_head)),
    )
    .route("/ready", web::get().to(health::ready))
    .route("/.well-known/jwks.json", web::get().to(jwks::serve))
    .route("/api/auth/workos/authorize", web::get().to(authorize::handle))
    .route("/api/auth/workos/callback", web::post().to(callback::handle))
    .route(
        "/api/auth/workos/authkit/organization-selection",
        web::post().to(steps::organization_selection),
    )
    .route(
        "/api/auth/workos/authkit/email-verification",
        web::post().to(steps::email_verification),
    );
    cfg.route("/api/webhooks/workos", web::post().to(webhooks::workos));
    cfg.route("/api/audit-events", web::get().to(audit::list));
    cfg.route("/api/auth/refresh", web::post().to(session::refresh))
        .route("/api/auth/logout", web::post().to(session::logout))
        .route("/api/auth/verify-token", web::get().to(session::verify_token))
        .service(resource(
            "/api/auth/sessions",
            [
                web::get().to(own_sessions::list),
                web::delete().to(own_sessions::revoke_all),
            ],
        ))
        .service(resource(
            "/api/auth/sessions/{sessionId}",
            [web::delete().to(own_sessions::revoke)],
        ))
        .service(resource(
            "/api/users/{userId}/sessions",
            [
                web::get().to(users::list_sessions),
                web::delete().to(users::revoke_sessions),
            ],
        ))
        .service(resource(
            "/api/users/{userId}/sessions/{sessionId}",
            [web::delete().to(users::revoke_session)],
        ))
        .service(resource(
            "/api/users/{userId}/login-disabled",
            [web::put().to(users::put_login_disabled)],
        ))
        .service(resource(
            "/api/organizations/{organizationId}/session-settings",
            [web::get().to(org_settings::get), web::put().to(org_settings::put)],
        ))
        .service(resource(
            "/api/identity-link-requests",
            [web::get().to(links::list)],
        ))
        .service(resource(
            "/api/identity-link-requests/{linkRequestId}/approve",
            [web::post().to(links::approve)],
        ))
        .service(resource(
            "/api/identity-link-requests/{linkRequestId}/reject",
            [web::post().to(links::reject)],
        ))
        .service(resource(
            "/api/organizations/{organizationId}/workos-organization",
            [
                web::get().to(org_settings::get_workos_organization),
                web::put().to(org_settings::put_workos_organization),
            ],
        ));
}

/// The resource at `path` that answers `routes`; any other method gets the JSON 404 of
/// every route, not an empty 405.
fn resource(path: &str, routes: impl IntoIterator<Item = Route>) -> Resource {
    routes
        .into_iter()
        .fold(web::resource(path), Resource::route)
        .default_service(web::to(not_found))
}

/// 200 with the auth session body (a login's or a refresh's), `Pragma: no-cache` for
/// old caches beside the `Cache-Control: no-store` every answer gets.
pub(crate) fn auth_session(session: &tether_domain::AuthSession) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((PRAGMA, HeaderValue::from_static("no-cache")))
        .json(tether_wire::AuthSessionBody::from(session))
}

/// The answer of a login or a refresh once `count` has recorded its outcome: the auth
/// session as [`auth_session`], or the error.
#[expect(
    clippy::result_large_err,
    reason = "the handlers' own answer type, handed back to them as they return it"
)]
pub(crate) fn counted_auth_session<E>(
    result: Result<tether_domain::AuthSession, E>,
    count: impl FnOnce(&'static str),
) -> Result<HttpResponse, ApiError>
where
    ApiError: From<E>,
{
    let result = result.map_err(ApiError::from);
    count(crate::metrics::outcome_label(&result));
    Ok(auth_session(&result?))
}

/// JSON 404 for every unknown path.
pub(crate) async fn not_found() -> HttpResponse {
    ApiError::not_found().error_response()
}

#[cfg(test)]
mod tests {
    use actix_web::http::{Method, StatusCode};
    use actix_web::test::TestRequest;

    use super::*;
    use crate::test_support::json_answer;

    #[actix_web::test]
    async fn a_method_a_route_does_not_serve_is_a_json_not_found() {
        for (method, path) in [
            (
                Method::DELETE,
                "/api/organizations/64a1b2c3d4e5f60012345678/session-settings",
            ),
            (
                Method::POST,
                "/api/organizations/64a1b2c3d4e5f60012345678/session-settings",
            ),
            (Method::GET, "/api/auth/refresh"),
        ] {
            let req = TestRequest::default().method(method.clone()).uri(path);
            let (status, body) = json_answer(configure, req).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
            assert_eq!(body["code"], "NOT_FOUND", "{method} {path}");
        }
    }
}
