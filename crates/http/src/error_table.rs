//! The contract's error table, row by row: every domain error variant and every error
//! of the extractors and request limits, answered through the request-id middleware.

use actix_web::error::{JsonPayloadError, PayloadError, QueryPayloadError};
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::{App, HttpResponse, test, web};
use secrecy::SecretString;
use tether_domain::{
    AccessError, AdministrationError, AuditTrailError, DeliveryError, LinkRequestError, LinkRequestStatus,
    LoginError, LogoutError, OrgSettingsError, OwnSessionsError, RefreshError,
};
use tether_domain::{Failure, LinkRequestId, PendingOrganization, StartError, StepRequired};
use tracing_actix_web::TracingLogger;

use crate::error::ApiError;
use crate::request_id::{EchoRequestId, ErrorCode, REQUEST_ID_HEADER, RedactedRootSpan};

/// A cause that must reach the log only, never a body.
const CAUSE: &str = "mongodb://db-7.internal:27017 refused";

/// The bearer challenges of a 401 about an access token.
const MISSING: Option<&str> = Some("Bearer");
const INVALID: Option<&str> = Some("Bearer error=\"invalid_token\"");

/// One row: the error, then status, code, `Retry-After` and `WWW-Authenticate`.
type Row = (
    fn() -> ApiError,
    u16,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

fn step() -> ApiError {
    LoginError::StepRequired(Box::new(StepRequired {
        code: "organization_selection_required".to_owned(),
        message: "Pick an organization.".to_owned(),
        pending_authentication_token: Some(SecretString::from("pat_1")),
        organizations: vec![PendingOrganization {
            id: "org_1".to_owned(),
            name: "Acme".to_owned(),
        }],
        email: Some("ada@example.com".to_owned()),
    }))
    .into()
}

fn timed_out() -> ApiError {
    let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "late");
    JsonPayloadError::Payload(PayloadError::Io(io)).into()
}

fn not_json() -> ApiError {
    JsonPayloadError::Deserialize(serde_json::from_str::<serde_json::Value>("{").unwrap_err()).into()
}

fn bad_query() -> ApiError {
    QueryPayloadError::Deserialize(serde::de::Error::custom("malformed")).into()
}

#[rustfmt::skip]
const ROWS: &[Row] = &[
    // Login callback.
    (|| LoginError::ProviderError { provider_error: Some("access_denied".into()) }.into(), 400, "PROVIDER_ERROR", None, None),
    (|| LoginError::MissingCode.into(), 400, "MISSING_CODE", None, None),
    (|| LoginError::InvalidState.into(), 400, "INVALID_STATE", None, None),
    (|| LoginError::InvalidRedirectUri.into(), 400, "INVALID_REDIRECT_URI", None, None),
    (|| LoginError::InvalidCode.into(), 401, "INVALID_CODE", None, None),
    (step, 403, "ORGANIZATION_SELECTION_REQUIRED", None, None),
    (|| LoginError::LoginDisabled.into(), 403, "LOGIN_DISABLED", None, None),
    (|| LoginError::NoOrganization.into(), 409, "NO_ORGANIZATION", None, None),
    (|| LoginError::AccountLinkRequired { link_request_id: LinkRequestId::parse("6a1b2c3d4e5f600123456789").ok() }.into(), 409, "ACCOUNT_LINK_REQUIRED", None, None),
    (|| LoginError::OrganizationMismatch.into(), 403, "ORGANIZATION_MISMATCH", None, None),
    (|| LoginError::UpstreamMisconfigured(CAUSE.into()).into(), 502, "UPSTREAM_MISCONFIGURED", None, None),
    (|| LoginError::UpstreamRateLimited { retry_after_seconds: Some(12) }.into(), 503, "UPSTREAM_RATE_LIMITED", Some("12"), None),
    (|| LoginError::UpstreamRateLimited { retry_after_seconds: None }.into(), 503, "UPSTREAM_RATE_LIMITED", Some("30"), None),
    (|| LoginError::UpstreamUnavailable(CAUSE.into()).into(), 502, "UPSTREAM_UNAVAILABLE", None, None),
    (|| LoginError::Failure(Failure::StoreUnavailable(CAUSE.into())).into(), 503, "STORE_UNAVAILABLE", Some("5"), None),
    (|| LoginError::Failure(Failure::Internal(CAUSE.into())).into(), 500, "INTERNAL_ERROR", None, None),
    // Start of a login.
    (|| StartError::InvalidRequest("flow must be sso or authkit".into()).into(), 400, "INVALID_REQUEST", None, None),
    (|| StartError::InvalidRedirectUri.into(), 400, "INVALID_REDIRECT_URI", None, None),
    (|| StartError::StateInUse.into(), 400, "INVALID_STATE", None, None),
    (|| StartError::Failure(Failure::StoreUnavailable(CAUSE.into())).into(), 503, "STORE_UNAVAILABLE", Some("5"), None),
    // Refresh.
    (|| RefreshError::Invalid.into(), 401, "REFRESH_TOKEN_INVALID", None, None),
    (|| RefreshError::Expired.into(), 401, "REFRESH_TOKEN_EXPIRED", None, None),
    (|| RefreshError::Revoked.into(), 401, "REFRESH_TOKEN_REVOKED", None, None),
    (|| RefreshError::Reused.into(), 401, "REFRESH_TOKEN_REUSED", None, None),
    (|| RefreshError::SessionExpired.into(), 401, "SESSION_EXPIRED", None, None),
    (|| RefreshError::LoginDisabled.into(), 403, "LOGIN_DISABLED", None, None),
    (|| RefreshError::Failure(Failure::StoreUnavailable(CAUSE.into())).into(), 503, "STORE_UNAVAILABLE", Some("5"), None),
    // Logout.
    (|| LogoutError::InvalidAccessToken.into(), 401, "INVALID_TOKEN", None, INVALID),
    (|| LogoutError::Failure(Failure::StoreUnavailable(CAUSE.into())).into(), 503, "STORE_UNAVAILABLE", Some("5"), None),
    // Bearer access tokens.
    (|| AccessError::Missing.into(), 401, "MISSING_TOKEN", None, MISSING),
    (|| AccessError::Invalid.into(), 401, "INVALID_TOKEN", None, INVALID),
    (|| AccessError::LoginDisabled.into(), 401, "LOGIN_DISABLED", None, INVALID),
    (|| AccessError::Expired.into(), 401, "TOKEN_EXPIRED", None, INVALID),
    (|| AccessError::SessionRevoked.into(), 401, "SESSION_REVOKED", None, INVALID),
    (|| AccessError::Failure(Failure::StoreUnavailable(CAUSE.into())).into(), 503, "STORE_UNAVAILABLE", Some("5"), None),
    // Organizations' session settings and WorkOS mapping.
    (|| OrgSettingsError::UnknownUser.into(), 401, "INVALID_TOKEN", None, INVALID),
    (|| OrgSettingsError::LoginDisabled.into(), 401, "LOGIN_DISABLED", None, INVALID),
    (|| OrgSettingsError::Forbidden.into(), 403, "FORBIDDEN", None, None),
    (|| OrgSettingsError::InvalidOrganizationId.into(), 400, "INVALID_ORGANIZATION_ID", None, None),
    (|| OrgSettingsError::OrganizationNotFound.into(), 404, "ORGANIZATION_NOT_FOUND", None, None),
    (|| OrgSettingsError::InvalidSettings([("enabled".to_owned(), "must be a boolean".to_owned())].into()).into(), 400, "INVALID_SESSION_SETTINGS", None, None),
    (|| OrgSettingsError::InvalidTenant.into(), 400, "INVALID_REQUEST", None, None),
    (|| OrgSettingsError::Conflict.into(), 409, "CONFLICT", None, None),
    (|| OrgSettingsError::Failure(Failure::StoreUnavailable(CAUSE.into())).into(), 503, "STORE_UNAVAILABLE", Some("5"), None),
    // Users' sessions and sign-in, administered.
    (|| AdministrationError::UnknownUser.into(), 401, "INVALID_TOKEN", None, INVALID),
    (|| AdministrationError::LoginDisabled.into(), 401, "LOGIN_DISABLED", None, INVALID),
    (|| AdministrationError::Forbidden.into(), 403, "FORBIDDEN", None, None),
    (|| AdministrationError::InvalidUserId.into(), 400, "INVALID_USER_ID", None, None),
    (|| AdministrationError::UserNotFound.into(), 404, "USER_NOT_FOUND", None, None),
    (|| AdministrationError::SessionNotFound.into(), 404, "SESSION_NOT_FOUND", None, None),
    (|| AdministrationError::CannotDisableSelf.into(), 409, "CANNOT_DISABLE_SELF", None, None),
    (|| AdministrationError::InvalidReason.into(), 400, "INVALID_REQUEST", None, None),
    (|| AdministrationError::Failure(Failure::StoreUnavailable(CAUSE.into())).into(), 503, "STORE_UNAVAILABLE", Some("5"), None),
    // A person's own sessions.
    (|| OwnSessionsError::SessionNotFound.into(), 404, "SESSION_NOT_FOUND", None, None),
    (|| OwnSessionsError::Failure(Failure::Internal(CAUSE.into())).into(), 500, "INTERNAL_ERROR", None, None),
    // Link requests.
    (|| LinkRequestError::UnknownUser.into(), 401, "INVALID_TOKEN", None, INVALID),
    (|| LinkRequestError::LoginDisabled.into(), 401, "LOGIN_DISABLED", None, INVALID),
    (|| LinkRequestError::Forbidden.into(), 403, "FORBIDDEN", None, None),
    (|| LinkRequestError::InvalidId.into(), 400, "INVALID_REQUEST", None, None),
    (|| LinkRequestError::InvalidQuery("limit must be between 1 and 200".into()).into(), 400, "INVALID_REQUEST", None, None),
    (|| LinkRequestError::NotFound.into(), 404, "LINK_REQUEST_NOT_FOUND", None, None),
    (|| LinkRequestError::NotPending(LinkRequestStatus::Approved).into(), 409, "LINK_REQUEST_NOT_PENDING", None, None),
    (|| LinkRequestError::Conflict.into(), 409, "CONFLICT", None, None),
    (|| LinkRequestError::Failure(Failure::StoreUnavailable(CAUSE.into())).into(), 503, "STORE_UNAVAILABLE", Some("5"), None),
    // The audit trail.
    (|| AuditTrailError::UnknownUser.into(), 401, "INVALID_TOKEN", None, INVALID),
    (|| AuditTrailError::LoginDisabled.into(), 401, "LOGIN_DISABLED", None, INVALID),
    (|| AuditTrailError::Forbidden.into(), 403, "FORBIDDEN", None, None),
    (|| AuditTrailError::InvalidQuery("limit must be an integer from 1 to 200".into()).into(), 400, "INVALID_REQUEST", None, None),
    (|| AuditTrailError::Failure(Failure::StoreUnavailable(CAUSE.into())).into(), 503, "STORE_UNAVAILABLE", Some("5"), None),
    // Signed deliveries of WorkOS events.
    (|| DeliveryError::InvalidSignature.into(), 401, "INVALID_SIGNATURE", None, None),
    (|| DeliveryError::Failure(Failure::StoreUnavailable(CAUSE.into())).into(), 503, "STORE_UNAVAILABLE", Some("5"), None),
    // The failure every use case shares, on its own.
    (|| Failure::StoreUnavailable(CAUSE.into()).into(), 503, "STORE_UNAVAILABLE", Some("5"), None),
    (|| Failure::Internal(CAUSE.into()).into(), 500, "INTERNAL_ERROR", None, None),
    // Extractors.
    (|| JsonPayloadError::Overflow { limit: 16 }.into(), 413, "PAYLOAD_TOO_LARGE", None, None),
    (|| JsonPayloadError::OverflowKnownLength { length: 20, limit: 16 }.into(), 413, "PAYLOAD_TOO_LARGE", None, None),
    (timed_out, 408, "REQUEST_TIMEOUT", None, None),
    (|| JsonPayloadError::ContentType.into(), 415, "INVALID_REQUEST", None, None),
    (not_json, 400, "INVALID_REQUEST", None, None),
    (bad_query, 400, "INVALID_REQUEST", None, None),
    // Request limits, routing, CORS and the handlers' own checks.
    (|| ApiError::rate_limited(7), 429, "RATE_LIMITED", Some("7"), None),
    (ApiError::not_found, 404, "NOT_FOUND", None, None),
    (ApiError::cors_not_allowed, 403, "CORS_NOT_ALLOWED", None, None),
    (ApiError::missing_refresh_token, 400, "MISSING_REFRESH_TOKEN", None, None),
    (ApiError::missing_credentials, 400, "MISSING_CREDENTIALS", None, None),
];

async fn answer_row(row: web::Path<usize>) -> Result<HttpResponse, ApiError> {
    Err(ROWS.get(*row).map_or_else(ApiError::not_found, |r| (r.0)()))
}

#[actix_web::test]
async fn every_error_of_the_table_answers_its_status_code_headers_and_request_id() {
    let app = test::init_service(
        App::new()
            .wrap(EchoRequestId)
            .wrap(crate::no_store())
            .wrap(TracingLogger::<RedactedRootSpan>::new())
            .route("/row/{row}", web::get().to(answer_row)),
    )
    .await;
    for (i, &(_, status, code, retry_after, challenge)) in ROWS.iter().enumerate() {
        // Even rows bring a proxy's id, odd rows get a generated one.
        let mut req = test::TestRequest::get().uri(&format!("/row/{i}"));
        if i % 2 == 0 {
            req = req.insert_header((REQUEST_ID_HEADER, format!("edge-{i}")));
        }
        let res = test::call_service(&app, req.to_request()).await;
        let header = |name| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(res.status().as_u16(), status, "row {i} {code}");
        assert_eq!(
            header(CACHE_CONTROL).as_deref(),
            Some("no-store"),
            "row {i} {code}"
        );
        assert_eq!(
            header(CONTENT_TYPE).as_deref(),
            Some("application/json"),
            "row {i} {code}"
        );
        assert_eq!(header(RETRY_AFTER).as_deref(), retry_after, "row {i} {code}");
        assert_eq!(header(WWW_AUTHENTICATE).as_deref(), challenge, "row {i} {code}");
        let logged = res
            .response()
            .extensions()
            .get::<ErrorCode>()
            .map(|c| c.0.clone());
        assert_eq!(
            logged.as_deref(),
            Some(code),
            "row {i}: the log line names the code"
        );
        let id = header(REQUEST_ID_HEADER).unwrap_or_default();
        assert!(!id.is_empty(), "row {i} {code}");
        if i % 2 == 0 {
            assert_eq!(id, format!("edge-{i}"), "row {i}: the proxy's id is kept");
        }
        let body: serde_json::Value = test::read_body_json(res).await;
        assert_eq!(body["code"], code, "row {i}");
        assert_eq!(
            body["requestId"],
            id.as_str(),
            "row {i} {code}: body and header agree"
        );
        assert!(
            body["error"].as_str().is_some_and(|m| !m.is_empty()),
            "row {i} {code}"
        );
        assert!(
            !body.to_string().contains("mongodb"),
            "row {i} {code}: the cause stays in the log"
        );
    }
}

#[actix_web::test]
async fn the_bodies_carry_the_extra_fields_of_their_row() {
    let app = test::init_service(
        App::new()
            .wrap(EchoRequestId)
            .wrap(crate::no_store())
            .wrap(TracingLogger::<RedactedRootSpan>::new())
            .route("/row/{row}", web::get().to(answer_row)),
    )
    .await;
    let body = |code: &'static str| {
        let row = ROWS.iter().position(|r| r.2 == code).unwrap_or(usize::MAX);
        test::call_and_read_body_json::<_, _, serde_json::Value>(
            &app,
            test::TestRequest::get().uri(&format!("/row/{row}")).to_request(),
        )
    };
    let step = body("ORGANIZATION_SELECTION_REQUIRED").await;
    assert_eq!(step["pendingAuthenticationToken"], "pat_1");
    assert_eq!(
        step["organizations"],
        serde_json::json!([{"id": "org_1", "name": "Acme"}])
    );
    assert_eq!(step["email"], "ada@example.com");
    assert_eq!(body("PROVIDER_ERROR").await["providerError"], "access_denied");
    assert_eq!(
        body("ACCOUNT_LINK_REQUIRED").await["linkRequestId"],
        "6a1b2c3d4e5f600123456789"
    );
    assert_eq!(
        body("INVALID_SESSION_SETTINGS").await["fields"],
        serde_json::json!({"enabled": "must be a boolean"})
    );
    let plain = body("MISSING_CODE").await;
    let mut keys: Vec<&String> = plain.as_object().map(|o| o.keys().collect()).unwrap_or_default();
    keys.sort();
    assert_eq!(keys, ["code", "error", "requestId"]);
}

/// Every login refusal the audit trail records names the code its answer carries.
#[core::prelude::v1::test]
fn the_audit_trail_records_the_code_each_refused_login_answers() {
    let refusals = [
        LoginError::ProviderError { provider_error: None },
        LoginError::MissingCode,
        LoginError::InvalidRequest("code is required".into()),
        LoginError::InvalidState,
        LoginError::InvalidRedirectUri,
        LoginError::InvalidCode,
        LoginError::LoginDisabled,
        LoginError::NoOrganization,
        LoginError::AccountLinkRequired {
            link_request_id: None,
        },
        LoginError::OrganizationMismatch,
    ];
    for refusal in refusals {
        let recorded = refusal.code().map(str::to_owned);
        let answered = ApiError::from(refusal).body.code;
        assert_eq!(recorded.as_deref(), Some(answered.as_str()));
    }
    for outage in [
        LoginError::UpstreamUnavailable(CAUSE.into()),
        LoginError::UpstreamRateLimited {
            retry_after_seconds: None,
        },
        LoginError::Failure(Failure::Internal(CAUSE.into())),
    ] {
        assert_eq!(outage.code(), None, "an outage decides nothing: {outage:?}");
    }
}

#[actix_web::test]
async fn a_success_answer_passes_the_middleware_untouched() {
    let app = test::init_service(
        App::new()
            .wrap(EchoRequestId)
            .wrap(TracingLogger::<RedactedRootSpan>::new())
            .route(
                "/ok",
                web::get().to(|| async { HttpResponse::Ok().body("plain") }),
            ),
    )
    .await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/ok").to_request()).await;
    assert!(res.headers().contains_key(REQUEST_ID_HEADER));
    assert_eq!(test::read_body(res).await, "plain");
}
