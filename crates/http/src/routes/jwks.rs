//! The published key set: the public keys that verify access tokens, for the services
//! that check them without holding any secret.

use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::{HttpResponse, web};
use tether_wire::JwksBody;

use crate::AppState;

/// How long verifiers may cache the key set: the wait between rotation steps.
pub(crate) const CACHE_CONTROL_VALUE: &str = "public, max-age=300";

/// `GET /.well-known/jwks.json`: every EdDSA and ES256 key, of any status.
/// Unauthenticated and not rate limited.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    operation_id = "jwks",
    tag = "session",
    responses((
        status = 200,
        description = "The public keys (RFC 7517) of every EdDSA and ES256 signing key, of any status; \
HS256 keys are never published. Cache it for at most 5 minutes (`Cache-Control: public, max-age=300`).",
        body = JwksBody,
        headers(("Cache-Control" = String, description = "public, max-age=300"))
    ))
)]
pub(crate) async fn serve(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL_VALUE)))
        .json(state.jwks.as_ref())
}
