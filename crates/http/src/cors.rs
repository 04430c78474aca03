//! Browsers on other origins (CORS), with `actix-cors`. Allowed origins get the
//! preflight answer (204, `Access-Control-Allow-Origin` = the origin, `Vary: Origin`,
//! methods GET, POST, PUT, headers `content-type`, `authorization`, `x-request-id`,
//! `Access-Control-Max-Age: 600`) and, on actual responses, the allow-origin plus
//! `Access-Control-Expose-Headers: x-request-id, retry-after`. No credentials header:
//! tokens travel in bodies and headers, not cookies.
//!
//! Any other origin gets no `Access-Control-*` header at all: its actual requests are
//! answered as usual (the browser withholds the answer from the page), and its
//! preflights get a JSON 403 `CORS_NOT_ALLOWED` instead of actix-cors' plain-text 400.

use actix_cors::{Cors, CorsError};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, AUTHORIZATION,
    CONTENT_TYPE, HeaderValue, RETRY_AFTER, VARY,
};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError};

use crate::error::ApiError;
use crate::request_id::REQUEST_ID_HEADER;

/// How long a browser may cache a preflight answer, in seconds.
pub const PREFLIGHT_MAX_AGE_SECONDS: usize = 600;

/// The CORS middleware for exactly these origins (`scheme://host[:port]`).
pub(crate) fn middleware(allowed_origins: &[String]) -> Cors {
    allowed_origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods([Method::GET, Method::POST, Method::PUT])
        .allowed_headers([CONTENT_TYPE, AUTHORIZATION, REQUEST_ID_HEADER])
        .expose_headers([REQUEST_ID_HEADER, RETRY_AFTER])
        .max_age(PREFLIGHT_MAX_AGE_SECONDS)
        .block_on_origin_mismatch(false)
}

/// Wraps the CORS middleware: an accepted preflight answers 204 (actix-cors says 200),
/// a refused one (origin, method or headers) a JSON 403 `CORS_NOT_ALLOWED` without
/// any `Access-Control-*` header; an answer that allows no origin exposes no headers
/// either (actix-cors adds `Access-Control-Expose-Headers` to every answer).
pub(crate) async fn finish(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let preflight =
        req.method() == Method::OPTIONS && req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    let mut res = next.call(req).await?;
    if !preflight {
        if !res.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN) {
            res.headers_mut().remove(ACCESS_CONTROL_EXPOSE_HEADERS);
        }
        return Ok(res.map_into_left_body());
    }
    let refused = res
        .response()
        .error()
        .is_some_and(|e| e.as_error::<CorsError>().is_some());
    if refused {
        let (req, _) = res.into_parts();
        let mut answer = ApiError::cors_not_allowed().error_response();
        // The answer depends on the origin: shared caches must not reuse it for another.
        answer
            .headers_mut()
            .insert(VARY, HeaderValue::from_static("Origin"));
        return Ok(ServiceResponse::new(req, answer).map_into_right_body());
    }
    if res.status() == StatusCode::OK {
        *res.response_mut().status_mut() = StatusCode::NO_CONTENT;
    }
    Ok(res.map_into_left_body())
}
