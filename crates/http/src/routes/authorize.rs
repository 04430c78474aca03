//! `GET /api/auth/workos/authorize`: starts a login and sends the browser to WorkOS
//! (302), or hands the URL to SPAs that navigate themselves (`Accept: application/json`).

use actix_web::http::header::{ACCEPT, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use tether_wire::{AuthorizeQuery, AuthorizeUrlBody};

use super::api_doc::{RateLimited, StoreErrors};
use crate::AppState;
use crate::error::ApiError;

fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/json"))
}

/// Records the login state and redirects to (or returns) the WorkOS URL.
#[utoipa::path(
    get,
    path = "/api/auth/workos/authorize",
    operation_id = "authorize",
    tag = "login",
    params(AuthorizeQuery),
    responses(
        (status = 200, description = "With `Accept: application/json`: the WorkOS authorization URL to navigate to", body = AuthorizeUrlBody),
        (status = 302, description = "To the WorkOS authorization URL", headers(("Location" = String, description = "The WorkOS authorization URL"))),
        (status = 400, description = "`INVALID_REQUEST` (bad parameter or state), `INVALID_REDIRECT_URI`, `INVALID_STATE` (state already pending)", body = crate::ErrorBody),
        StoreErrors,
        RateLimited,
    )
)]
pub(crate) async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<AuthorizeQuery>,
) -> Result<HttpResponse, ApiError> {
    let started = state.services.start.start(query.into_inner().into()).await?;
    Ok(if wants_json(&req) {
        HttpResponse::Ok().json(AuthorizeUrlBody { url: started.url })
    } else {
        HttpResponse::Found()
            .insert_header((LOCATION, started.url))
            .finish()
    })
}
