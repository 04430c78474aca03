//! `Authorization: Bearer <token>` (RFC 6750): the access token of a request.

use actix_web::http::header::AUTHORIZATION;
use actix_web::{HttpRequest, HttpResponse};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use tether_domain::{AccessError, Services, VerifiedAccess};

use crate::AppState;
use crate::error::ApiError;

/// Longest bearer token looked at (a JWT of ours is well under 1 KiB).
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The bearer token of `req`: [`AccessError::Missing`] without an `Authorization`
/// header, [`AccessError::Invalid`] when the header is not exactly one `Bearer`
/// credential (scheme compared case-insensitively, one token of visible ASCII).
pub(crate) fn bearer_token(req: &HttpRequest) -> Result<SecretString, AccessError> {
    let mut values = req.headers().get_all(AUTHORIZATION);
    let Some(value) = values.next() else {
        return Err(AccessError::Missing);
    };
    if values.next().is_some() {
        return Err(AccessError::Invalid);
    }
    let value = value.to_str().map_err(|_| AccessError::Invalid)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(AccessError::Invalid)?;
    let token = token.trim_start();
    if !scheme.eq_ignore_ascii_case("bearer")
        || token.is_empty()
        || token.len() > MAX_TOKEN_LEN
        || !token.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(AccessError::Invalid);
    }
    Ok(SecretString::from(token.to_owned()))
}

/// The caller of `req`, authenticated by their bearer access token (signature,
/// expiry, live session, user allowed to sign in).
pub(crate) async fn caller(req: &HttpRequest, state: &AppState) -> Result<VerifiedAccess, ApiError> {
    let token = bearer_token(req)?;
    Ok(state.services.access.authenticate(token.expose_secret()).await?)
}

/// The steps of a route behind a bearer access token: authenticates the caller of
/// `req`, runs `use_case` as that caller and answers 200 with the JSON body it returns
/// (`Cache-Control: no-store`, as every answer).
pub(crate) async fn answer_as_caller<B: Serialize>(
    req: &HttpRequest,
    state: &AppState,
    use_case: impl AsyncFnOnce(&Services, &VerifiedAccess) -> Result<B, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller(req, state).await?;
    let body = use_case(&state.services, &caller).await?;
    Ok(HttpResponse::Ok().json(body))
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;
    use secrecy::ExposeSecret;

    use super::*;

    fn parse(headers: &[&str]) -> Result<String, AccessError> {
        let mut req = TestRequest::default();
        for h in headers {
            req = req.append_header((AUTHORIZATION, *h));
        }
        bearer_token(&req.to_http_request()).map(|t| t.expose_secret().to_owned())
    }

    #[test]
    fn a_bearer_token_is_read_whatever_the_case_of_the_scheme() {
        assert_eq!(parse(&["Bearer a.b.c"]).unwrap(), "a.b.c");
        assert_eq!(parse(&["bearer  a.b.c "]).unwrap(), "a.b.c");
        assert_eq!(parse(&["BEARER a.b.c"]).unwrap(), "a.b.c");
    }

    #[test]
    fn no_header_is_missing() {
        assert!(matches!(parse(&[]), Err(AccessError::Missing)));
    }

    #[test]
    fn other_schemes_empty_tokens_spaces_and_repeated_headers_are_invalid() {
        for bad in [
            vec!["Basic dXNlcjpwYXNz"],
            vec!["Bearer"],
            vec!["Bearer "],
            vec!["a.b.c"],
            vec!["Bearer a b"],
            vec!["Token a.b.c"],
            vec!["Bearer a.b.c", "Bearer d.e.f"],
        ] {
            assert!(matches!(parse(&bad), Err(AccessError::Invalid)), "{bad:?}");
        }
    }
}
