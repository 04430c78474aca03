//! `GET /api/auth/workos/authorize`: starts a login and sends the browser to WorkOS
//! (302), or hands the URL to SPAs that navigate themselves (`Accept: application/json`).

use actix_web::http::header::{ACCEPT, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use tether_domain::AuthorizeInput;
use tether_wire::AuthorizeUrlBody;
use utoipa::IntoParams;

use crate::AppState;
use crate::error::ApiError;

/// The query parameters, as the product documents them plus ours.
#[derive(Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuthorizeQuery {
    /// Where WorkOS sends the browser back: `${CLIENT_URL}/signin` or one of `ALLOWED_REDIRECT_URIS`.
    #[param(max_length = 2048)]
    redirect_uri: Option<String>,
    /// The SPA's own random state (keep it in `sessionStorage`); generated when absent.
    #[param(pattern = "^[A-Za-z0-9._~-]{22,512}$")]
    state: Option<String>,
    /// Pre-fills the address.
    #[param(max_length = 320)]
    login_hint: Option<String>,
    /// A WorkOS `org_...` id (forwarded), or the 24-hex id of the organization a new user joins.
    #[param(max_length = 128)]
    organization_id: Option<String>,
    /// Passed through to WorkOS.
    #[param(max_length = 64)]
    prompt: Option<String>,
    /// A WorkOS connection id (`conn_...`).
    #[param(max_length = 128)]
    connection: Option<String>,
    /// A WorkOS provider (`authkit`, `GoogleOAuth`, ...).
    #[param(max_length = 64)]
    provider: Option<String>,
    /// A domain whose SSO connection to use.
    #[param(max_length = 253)]
    domain_hint: Option<String>,
    /// `sso` or `authkit` (default: `sso` when an organization, connection or domain hint is given).
    #[param(schema_with = tether_wire::schema::flow)]
    flow: Option<String>,
    /// The browser binding: base64url (unpadded) SHA-256 of a `client_verifier` the SPA keeps
    /// in `sessionStorage` and posts with the callback. Required when `REQUIRE_CLIENT_CHALLENGE=true`.
    #[param(min_length = 43, max_length = 43, pattern = "^[A-Za-z0-9_-]{43}$")]
    client_challenge: Option<String>,
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
            client_challenge: self.client_challenge,
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
        (status = 429, description = "`RATE_LIMITED` (per client address; with `Retry-After`)", body = crate::ErrorBody),
        (status = 500, description = "`INTERNAL_ERROR`", body = crate::ErrorBody),
        (status = 503, description = "`STORE_UNAVAILABLE`", body = crate::ErrorBody),
    )
)]
pub(crate) async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<AuthorizeQuery>,
) -> Result<HttpResponse, ApiError> {
    let started = state
        .services
        .start
        .start(query.into_inner().into_domain())
        .await?;
    Ok(if wants_json(&req) {
        HttpResponse::Ok().json(AuthorizeUrlBody { url: started.url })
    } else {
        HttpResponse::Found()
            .insert_header((LOCATION, started.url))
            .finish()
    })
}
