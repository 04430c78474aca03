//! Browsers on another origin: CORS preflights and actual responses for allowed
//! origins (the origin of `CLIENT_URL` and configured extras), nothing for others.

use reqwest::{Method, Response};
use serde_json::json;
use tether_auth::Settings;

use crate::support::*;

const EXTRA_ORIGIN: &str = "https://app.tether.example";
const OTHER_ORIGIN: &str = "https://evil.example";

/// Every `/api` route with a method it serves.
const API_ROUTES: [(&str, &str); 7] = [
    ("GET", "/api/auth/workos/authorize"),
    ("POST", "/api/auth/workos/callback"),
    ("POST", "/api/auth/refresh"),
    ("POST", "/api/auth/logout"),
    ("GET", "/api/auth/verify-token"),
    (
        "GET",
        "/api/organizations/64a1b2c3d4e5f60012345678/session-settings",
    ),
    (
        "PUT",
        "/api/organizations/64a1b2c3d4e5f60012345678/session-settings",
    ),
];

async fn spawn_with_extra_origin() -> TestApp {
    TestApp::spawn(
        Options::new("cors")
            .env("CORS_ALLOWED_ORIGINS", format!("{CLIENT_URL}, {EXTRA_ORIGIN}"))
            .strict_states(),
    )
    .await
}

async fn preflight(app: &TestApp, origin: &str, method: &str, path: &str) -> Response {
    app.http
        .request(Method::OPTIONS, format!("{}{path}", app.base))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "content-type,authorization,x-request-id",
        )
        .send()
        .await
        .expect("preflight answered")
}

fn header<'a>(res: &'a Response, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("{name} header on {}", res.url()))
}

fn list(value: &str) -> Vec<String> {
    value.split(',').map(|v| v.trim().to_ascii_lowercase()).collect()
}

fn assert_allowed_preflight(res: &Response, origin: &str) {
    assert_eq!(res.status().as_u16(), 204, "preflight status for {}", res.url());
    assert_eq!(header(res, "access-control-allow-origin"), origin);
    assert!(
        list(header(res, "vary")).contains(&"origin".to_owned()),
        "Vary: Origin"
    );
    let methods = list(header(res, "access-control-allow-methods"));
    for m in ["get", "post", "put"] {
        assert!(methods.contains(&m.to_owned()), "{m} in {methods:?}");
    }
    assert_eq!(methods.len(), 3, "only GET, POST, PUT: {methods:?}");
    let headers = list(header(res, "access-control-allow-headers"));
    for h in ["content-type", "authorization", "x-request-id"] {
        assert!(headers.contains(&h.to_owned()), "{h} in {headers:?}");
    }
    assert_eq!(header(res, "access-control-max-age"), "600");
    assert!(
        res.headers().get("access-control-allow-credentials").is_none(),
        "no credentials header"
    );
}

/// Every API route answers a preflight from `origin` as allowed.
async fn assert_every_route_allows(app: &TestApp, origin: &str) {
    for (method, path) in API_ROUTES {
        let res = preflight(app, origin, method, path).await;
        assert_allowed_preflight(&res, origin);
    }
}

fn assert_no_cors_headers(res: &Response) {
    let cors: Vec<_> = res
        .headers()
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .collect();
    assert!(cors.is_empty(), "no Access-Control-* header, got {cors:?}");
}

#[tokio::test]
async fn every_api_route_answers_a_preflight_from_the_client_url_origin() {
    let app = TestApp::spawn(Options::new("cors")).await;
    assert_every_route_allows(&app, CLIENT_URL).await;
    app.drop().await;
}

#[tokio::test]
async fn a_configured_extra_origin_is_allowed_besides_the_client_url() {
    let app = spawn_with_extra_origin().await;
    for origin in [EXTRA_ORIGIN, CLIENT_URL] {
        assert_every_route_allows(&app, origin).await;
    }
    app.drop().await;
}

#[tokio::test]
async fn actual_responses_to_an_allowed_origin_carry_the_origin_and_expose_the_request_id() {
    let app = spawn_with_extra_origin().await;
    let res = answer(
        app.at(reqwest::Method::POST, "/api/auth/workos/callback")
            .header("origin", EXTRA_ORIGIN)
            .json(&json!({"code": "c", "state": "not-issued"})),
    )
    .await;
    assert_eq!(header(&res, "access-control-allow-origin"), EXTRA_ORIGIN);
    let exposed = list(header(&res, "access-control-expose-headers"));
    assert!(exposed.contains(&"x-request-id".to_owned()), "{exposed:?}");
    assert!(exposed.contains(&"retry-after".to_owned()), "{exposed:?}");
    assert!(list(header(&res, "vary")).contains(&"origin".to_owned()));
    assert!(res.headers().get("access-control-allow-credentials").is_none());
    // The answer itself is unchanged.
    assert_error(res, 400, "INVALID_STATE").await;
    let res = answer(
        app.at(reqwest::Method::GET, "/api/auth/verify-token")
            .header("origin", CLIENT_URL),
    )
    .await;
    assert_eq!(header(&res, "access-control-allow-origin"), CLIENT_URL);
    assert_error(res, 401, "MISSING_TOKEN").await;
    app.drop().await;
}

#[tokio::test]
async fn another_origin_gets_no_access_control_header_at_all() {
    let app = spawn_with_extra_origin().await;
    for (method, path) in API_ROUTES {
        let res = preflight(&app, OTHER_ORIGIN, method, path).await;
        assert_no_cors_headers(&res);
        assert!(
            list(header(&res, "vary")).contains(&"origin".to_owned()),
            "Vary: Origin"
        );
        assert_error(res, 403, "CORS_NOT_ALLOWED").await;
    }
    // Its actual requests get their usual answer, without CORS headers.
    let res = answer(
        app.at(reqwest::Method::GET, "/api/auth/verify-token")
            .header("origin", OTHER_ORIGIN),
    )
    .await;
    assert_no_cors_headers(&res);
    assert_error(res, 401, "MISSING_TOKEN").await;
    // A method or header outside the allowed sets is refused the same way.
    let res = app
        .http
        .request(Method::OPTIONS, format!("{}/api/auth/refresh", app.base))
        .header("origin", CLIENT_URL)
        .header("access-control-request-method", "DELETE")
        .send()
        .await
        .expect("preflight answered");
    assert_no_cors_headers(&res);
    assert_error(res, 403, "CORS_NOT_ALLOWED").await;
    app.drop().await;
}

#[test]
fn a_wildcard_origin_stops_start_up_naming_the_setting() {
    for value in ["*", "http://localhost:5173,*"] {
        let err = Settings::load_from(
            None,
            [
                ("STORE", "memory"),
                ("JWT_SECRET", JWT_SECRET),
                ("WORKOS_API_KEY", "sk_test_default"),
                ("WORKOS_CLIENT_ID", CLIENT_ID),
                ("CORS_ALLOWED_ORIGINS", value),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        )
        .expect_err("a wildcard is refused");
        assert_eq!(err.key, "CORS_ALLOWED_ORIGINS");
        assert!(err.to_string().contains("CORS_ALLOWED_ORIGINS"), "{err}");
    }
}
