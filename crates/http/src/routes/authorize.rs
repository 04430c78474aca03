//! `GET /api/auth/workos/authorize`: starts a login and sends the browser to WorkOS
//! (302), or hands the URL to SPAs that navigate themselves (`Accept: application/json`).

use actix_web::http::header::{ACCEPT, CACHE_CONTROL, HeaderValue, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use tether_domain::AuthorizeInput;

use crate::AppState;
use crate::error::ApiError;
use crate::request_id::request_id_of;

/// The query parameters, as the product documents them plus ours.
#[derive(Default, Deserialize)]
pub(crate) struct AuthorizeQuery {
    redirect_uri: Option<String>,
    state: Option<String>,
    login_hint: Option<String>,
    organization_id: Option<String>,
    prompt: Option<String>,
    connection: Option<String>,
    provider: Option<String>,
    domain_hint: Option<String>,
    flow: Option<String>,
}

impl AuthorizeQuery {
    fn into_domain(self) -> AuthorizeInput {
        AuthorizeInput {
            redirect_uri: self.redirect_uri,
            state: self.state,
            login_hint: self.login_hint,
            organization_id: self.organization_id,
            prompt: self.prompt,
            connection: self.connection,
            provider: self.provider,
            domain_hint: self.domain_hint,
            flow: self.flow,
        }
    }
}

fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/json"))
}

/// Records the login state and redirects to (or returns) the WorkOS URL.
pub(crate) async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<AuthorizeQuery>,
) -> Result<HttpResponse, ApiError> {
    let started = state
        .start
        .start(query.into_inner().into_domain())
        .await
        .map_err(|e| ApiError::from_start(e, request_id_of(&req)))?;
    let no_store = (CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(if wants_json(&req) {
        HttpResponse::Ok()
            .insert_header(no_store)
            .json(json!({ "url": started.url }))
    } else {
        HttpResponse::Found()
            .insert_header(no_store)
            .insert_header((LOCATION, started.url))
            .finish()
    })
}
