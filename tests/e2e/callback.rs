//! `POST /api/auth/workos/callback` against the real peers.

use mongodb::bson::{Document, doc};
use serde_json::{Value, json};

use crate::support::*;

fn oid_hex(value: &Value) -> String {
    let s = value.as_str().expect("a string id").to_owned();
    assert_eq!(s.len(), 24, "{s}");
    assert!(s.chars().all(|c| c.is_ascii_hexdigit()), "{s}");
    s
}

#[tokio::test]
async fn sso_login_of_a_new_user_returns_a_verified_session_and_stores_only_the_refresh_hash() {
    let app = TestApp::spawn(Options::new("sso_new")).await;
    let org = app.add_org("Acme", 3, doc! {}).await;
    let code = Browser::default()
        .sso_code("acme.example", "admin@acme.example")
        .await;

    let res = app.callback(json!({"code": code, "state": "s"})).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(res.headers().get("x-request-id").is_some());
    let body: Value = res.json().await.unwrap();

    for field in ["token", "refreshToken", "sessionConfig", "user"] {
        assert!(body.get(field).is_some(), "{field} missing in {body}");
    }
    let user_id = oid_hex(&body["user"]["id"]);
    assert_eq!(body["user"]["email"], "admin@acme.example");
    assert_eq!(body["user"]["fullName"], "Acme Admin");
    assert_eq!(body["user"]["organizationId"], org.to_hex());
    assert_eq!(body["user"]["accessRole"], "SALES_REP");
    assert_eq!(body["user"]["conversationOpenPreference"], "split");
    let config = &body["sessionConfig"];
    assert_eq!(config.as_object().unwrap().len(), 9);
    assert_eq!(config["tokenExpiryHours"], 8);
    assert_eq!(config["ssoFallbackBehavior"], "redirect");

    let stored = app
        .users()
        .find_one(doc! {"_id": mongodb::bson::oid::ObjectId::parse_str(&user_id).unwrap()})
        .await
        .unwrap()
        .expect("user stored");
    assert_eq!(stored.get_str("email").unwrap(), "admin@acme.example");
    assert!(stored.get_str("workosProfileId").unwrap().starts_with("prof_"));
    assert_eq!(stored.get_object_id("organizationId").unwrap(), org);

    let claims = verify_jwt(body["token"].as_str().unwrap());
    assert_eq!(claims["userId"], user_id.as_str());
    assert_eq!(claims["sub"], user_id.as_str());
    assert_eq!(claims["organizationId"], org.to_hex());
    assert_eq!(claims["accessRole"], "SALES_REP");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        8 * 3600
    );

    let refresh = body["refreshToken"].as_str().unwrap();
    assert!(refresh.starts_with("rt_") && refresh.len() >= 3 + 43, "{refresh}");
    // One record for the session, holding the digest of its live refresh token.
    let sessions = app.db.collection::<Document>("sessions");
    let session = sessions
        .find_one(doc! {"tokenHash": sha256_hex(refresh)})
        .await
        .unwrap()
        .expect("the refresh token's hash is stored with its session");
    assert_eq!(session.get_str("_id").unwrap(), claims["sid"].as_str().unwrap());
    assert_eq!(app.refresh_token_count().await, 0, "no record of its own");
    let everything = format!("{:?}", sessions.find_one(doc! {}).await.unwrap());
    assert!(
        !everything.contains(&refresh[3..]),
        "the token itself is never stored"
    );
    app.drop().await;
}

#[tokio::test]
async fn authkit_code_succeeds_through_the_fallback() {
    let app = TestApp::spawn(Options::new("authkit")).await;
    app.add_org("Acme", 1, doc! {}).await;
    let code = Browser::default().authkit_code("jane@authkit.example").await;
    let res = app.callback(json!({"code": code})).await;
    assert_eq!(res.status().as_u16(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["email"], "jane@authkit.example");
    assert_eq!(body["user"]["fullName"], "Jane Doe");
    let stored = app
        .users()
        .find_one(doc! {"email": "jane@authkit.example"})
        .await
        .unwrap()
        .unwrap();
    assert!(stored.get_str("workosUserId").unwrap().starts_with("user_"));
    app.drop().await;
}

#[tokio::test]
async fn a_new_user_joins_the_requested_organization_when_it_exists() {
    let app = TestApp::spawn(Options::new("org_explicit")).await;
    app.add_org("Oldest", 30, doc! {}).await;
    let wanted = app.add_org("Wanted", 1, doc! {}).await;
    let code = Browser::default()
        .sso_code("acme.example", "explicit@acme.example")
        .await;
    let res = app
        .callback(json!({"code": code, "organizationId": wanted.to_hex()}))
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["organizationId"], wanted.to_hex());
    app.drop().await;
}

#[tokio::test]
async fn a_workos_organization_id_falls_through_to_the_default_organization() {
    let default_org = mongodb::bson::oid::ObjectId::new();
    let app =
        TestApp::spawn(Options::new("org_default").env("DEFAULT_ORGANIZATION_ID", default_org.to_hex()))
            .await;
    app.add_org("Oldest", 30, doc! {}).await;
    app.db
        .collection::<Document>("organizations")
        .insert_one(doc! {"_id": default_org, "name": "Default", "createdAt": mongodb::bson::DateTime::now()})
        .await
        .unwrap();
    let code = Browser::default()
        .sso_code("acme.example", "fallthrough@acme.example")
        .await;
    let res = app
        .callback(json!({"code": code, "organizationId": "org_01HX9R3K4N6P8QZBVTYM2D5A7C"}))
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["organizationId"], default_org.to_hex());
    app.drop().await;
}

#[tokio::test]
async fn a_new_user_joins_the_oldest_organization_when_no_other_choice_exists() {
    // DEFAULT_ORGANIZATION_ID names an organization that does not exist.
    let app = TestApp::spawn(Options::new("org_oldest").env(
        "DEFAULT_ORGANIZATION_ID",
        mongodb::bson::oid::ObjectId::new().to_hex(),
    ))
    .await;
    app.add_org("Newer", 2, doc! {}).await;
    let oldest = app.add_org("Oldest", 90, doc! {}).await;
    app.add_org("Middle", 10, doc! {}).await;
    let code = Browser::default()
        .sso_code("acme.example", "oldest@acme.example")
        .await;
    let missing = mongodb::bson::oid::ObjectId::new().to_hex();
    let body: Value = app
        .callback(json!({"code": code, "organizationId": missing}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["user"]["organizationId"], oldest.to_hex());
    app.drop().await;
}

#[tokio::test]
async fn a_new_user_with_no_organization_at_all_gets_409_and_nothing_is_created() {
    let app = TestApp::spawn(Options::new("org_none")).await;
    let code = Browser::default()
        .sso_code("acme.example", "lonely@acme.example")
        .await;
    let res = app.callback(json!({"code": code})).await;
    assert_error(res, 409, "NO_ORGANIZATION").await;
    assert_eq!(app.user_count().await, 0);
    assert_eq!(app.refresh_token_count().await, 0);
    app.drop().await;
}

#[tokio::test]
async fn a_returning_user_keeps_their_id_organization_and_role() {
    let app = TestApp::spawn(Options::new("returning")).await;
    let home = app.add_org("Home", 5, doc! {}).await;
    let other = app.add_org("Other", 50, doc! {}).await;
    let browser = Browser::default();
    let first: Value = app
        .callback(json!({"code": browser.sso_code("acme.example", "returning@acme.example").await, "organizationId": home.to_hex()}))
        .await
        .json()
        .await
        .unwrap();
    let id = first["user"]["id"].as_str().unwrap().to_owned();
    // An administrator promotes the user meanwhile; other product fields exist too.
    app.users()
        .update_one(
            doc! {"_id": mongodb::bson::oid::ObjectId::parse_str(&id).unwrap()},
            doc! {"$set": {"accessRole": "ADMIN", "phone": "+1 555 0100"}},
        )
        .await
        .unwrap();
    let second = app
        .callback(json!({
            "code": browser.sso_code("acme.example", "returning@acme.example").await,
            "organizationId": other.to_hex()
        }))
        .await;
    assert_eq!(second.status().as_u16(), 200);
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["user"]["id"], id.as_str());
    assert_eq!(second["user"]["organizationId"], home.to_hex());
    assert_eq!(second["user"]["accessRole"], "ADMIN");
    assert_eq!(app.user_count().await, 1);
    let stored = app.users().find_one(doc! {}).await.unwrap().unwrap();
    assert_eq!(stored.get_str("phone").unwrap(), "+1 555 0100");
    assert!(stored.get_datetime("lastLoginAt").is_ok());
    app.drop().await;
}

#[tokio::test]
async fn organization_session_settings_override_defaults_field_by_field() {
    let app = TestApp::spawn(Options::new("policy")).await;
    app.add_org(
        "Strict",
        3,
        doc! {"sessionSettings": {
            "idleTimeoutMinutes": 15,
            "tokenExpiryHours": 2,
            "ssoFallbackBehavior": "force-logout",
            "warningTimeMinutes": mongodb::bson::Bson::Null,
            "enabled": mongodb::bson::Bson::Null,
            "passwordFallbackBehavior": "explode",
            "idleTrackingEnabled": "yes",
        }},
    )
    .await;
    let code = Browser::default()
        .sso_code("acme.example", "policy@acme.example")
        .await;
    let body: Value = app.callback(json!({"code": code})).await.json().await.unwrap();
    let config = &body["sessionConfig"];
    assert_eq!(
        config,
        &json!({
            "enabled": true, "idleTimeoutMinutes": 15, "tokenExpiryHours": 2, "warningTimeMinutes": 2,
            "idleTrackingEnabled": true, "ssoSilentRenewalEnabled": true, "ssoFallbackBehavior": "force-logout",
            "passwordSilentRenewalEnabled": false, "passwordFallbackBehavior": "logout"
        })
    );
    let claims = verify_jwt(body["token"].as_str().unwrap());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        2 * 3600
    );
    app.drop().await;
}

#[tokio::test]
async fn out_of_range_stored_settings_fall_back_to_the_defaults() {
    let app = TestApp::spawn(Options::new("policy_bad")).await;
    app.add_org(
        "Broken",
        3,
        doc! {"sessionSettings": {"idleTimeoutMinutes": 100_000, "tokenExpiryHours": 0, "warningTimeMinutes": 29.5}},
    )
    .await;
    let body = app.sso_session("broken@acme.example").await;
    assert_eq!(body["sessionConfig"]["idleTimeoutMinutes"], 30);
    assert_eq!(body["sessionConfig"]["tokenExpiryHours"], 8);
    assert_eq!(body["sessionConfig"]["warningTimeMinutes"], 2);
    app.drop().await;
}

#[tokio::test]
async fn a_code_reused_through_another_redirect_uri_or_an_unknown_code_is_refused_with_401() {
    let app =
        TestApp::spawn(Options::new("reuse").env("ALLOWED_REDIRECT_URIS", "http://localhost:5173/elsewhere"))
            .await;
    app.add_org("Acme", 1, doc! {}).await;
    let code = Browser::default()
        .sso_code("acme.example", "reuse@acme.example")
        .await;
    assert_eq!(app.callback(json!({"code": code})).await.status().as_u16(), 200);
    // The same post again is the same session (tests/e2e/double_post.rs); through
    // another redirect URI, WorkOS refuses the used code and no answer opens.
    assert_error(
        app.callback(json!({"code": code, "redirect_uri": "http://localhost:5173/elsewhere"}))
            .await,
        401,
        "INVALID_CODE",
    )
    .await;
    assert_error(
        app.callback(json!({"code": "not-a-real-code"})).await,
        401,
        "INVALID_CODE",
    )
    .await;
    app.drop().await;
}

#[tokio::test]
async fn a_provider_error_is_answered_at_once_without_calling_workos() {
    let (app, upstream) = spawn_with_silent_workos(Options::new("provider_error")).await;
    let res = app
        .callback(json!({"error": "access_denied", "error_description": "User cancelled", "code": "x"}))
        .await;
    let body = assert_error(res, 400, "PROVIDER_ERROR").await;
    assert_eq!(body["providerError"], "access_denied");
    assert!(
        !body.to_string().contains("User cancelled"),
        "the description is not echoed"
    );
    assert_eq!(upstream.count(), 0, "WorkOS received no request");
    app.drop().await;
}

#[tokio::test]
async fn client_mistakes_get_typed_errors() {
    let app = TestApp::spawn(Options::new("bad_input")).await;
    let url = format!("{}/api/auth/workos/callback", app.base);
    assert_error(app.callback(json!({"state": "s"})).await, 400, "MISSING_CODE").await;
    assert_error(app.callback(json!({"code": "  "})).await, 400, "MISSING_CODE").await;
    assert_error(app.callback(json!({"code": 42})).await, 400, "INVALID_REQUEST").await;
    let malformed = send_raw(app.http.post(&url), "application/json", "{\"code\": ").await;
    assert_error(malformed, 400, "INVALID_REQUEST").await;
    let wrong_type = send_raw(app.http.post(&url), "text/plain", "code=abc").await;
    assert_error(wrong_type, 415, "INVALID_REQUEST").await;
    let huge = json!({"code": "a".repeat(20 * 1024)});
    assert_error(app.callback(huge).await, 413, "PAYLOAD_TOO_LARGE").await;
    assert_error(
        app.callback(json!({"code": "abc", "redirect_uri": "https://evil.example/steal"}))
            .await,
        400,
        "INVALID_REDIRECT_URI",
    )
    .await;
    assert_eq!(app.user_count().await, 0);
    app.drop().await;
}

#[tokio::test]
async fn a_disabled_user_is_refused_with_403() {
    let app = TestApp::spawn(Options::new("disabled")).await;
    // Mapped to Acme's WorkOS organization, so Acme's connection vouches for the address.
    let org = app.add_mapped_org("Acme", 1, doc! {}).await;
    app.users()
        .insert_one(doc! {
            "_id": mongodb::bson::oid::ObjectId::new(), "email": "blocked@acme.example", "fullName": "Blocked",
            "organizationId": org, "accessRole": "SALES_REP", "conversationOpenPreference": "split",
            "loginDisabled": true, "createdAt": mongodb::bson::DateTime::now(),
        })
        .await
        .unwrap();
    let code = Browser::default()
        .sso_code("acme.example", "blocked@acme.example")
        .await;
    assert_error(app.callback(json!({"code": code})).await, 403, "LOGIN_DISABLED").await;
    assert_eq!(app.refresh_token_count().await, 0);
    app.drop().await;
}

#[tokio::test]
async fn workos_unreachable_gives_502_and_creates_nobody() {
    let app =
        TestApp::spawn(Options::new("workos_down").workos(format!("http://127.0.0.1:{}", closed_port())))
            .await;
    app.add_org("Acme", 1, doc! {}).await;
    let started = std::time::Instant::now();
    assert_error(
        app.callback(json!({"code": "01HX9R3K4N6P8QZBVTYM2D5A7C"})).await,
        502,
        "UPSTREAM_UNAVAILABLE",
    )
    .await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(app.user_count().await, 0);
    app.drop().await;
}

#[tokio::test]
async fn a_stopped_database_gives_503_within_seconds() {
    let mongo = OwnMongo::start().await;
    let app = TestApp::spawn(Options::new("mongo_down").mongo(mongo.uri.clone())).await;
    app.add_org("Acme", 1, doc! {}).await;
    let code = Browser::default()
        .sso_code("acme.example", "outage@acme.example")
        .await;
    mongo.stop();
    let started = std::time::Instant::now();
    let res = app.callback(json!({"code": code})).await;
    let elapsed = started.elapsed();
    let body = assert_error(res, 503, "STORE_UNAVAILABLE").await;
    assert!(!body.to_string().contains("mongodb://"), "{body}");
    assert!(
        elapsed < std::time::Duration::from_secs(8),
        "answered in {elapsed:?}"
    );
}

#[tokio::test]
async fn twenty_concurrent_first_logins_of_one_person_create_exactly_one_user() {
    let app = TestApp::spawn(Options::new("race")).await;
    app.add_org("Acme", 1, doc! {}).await;
    let browser = Browser::default();
    let mut codes = Vec::new();
    for _ in 0..20 {
        codes.push(browser.sso_code("acme.example", "race@acme.example").await);
    }
    let answers =
        futures_util::future::join_all(codes.into_iter().map(|code| app.callback(json!({"code": code}))))
            .await;
    let mut ids = std::collections::HashSet::new();
    for res in answers {
        assert_eq!(res.status().as_u16(), 200);
        let body: Value = res.json().await.unwrap();
        ids.insert(body["user"]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "every login got the same user");
    assert_eq!(app.user_count().await, 1);
    app.drop().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_status_without_ids_or_codes() {
    let app = TestApp::spawn(Options::new("metrics").env("METRICS_PORT", closed_port().to_string())).await;
    let org = app.add_org("Acme", 1, doc! {}).await;
    let code = Browser::default()
        .sso_code("acme.example", "metrics@acme.example")
        .await;
    assert_eq!(app.callback(json!({"code": code})).await.status().as_u16(), 200);
    assert_error(
        app.callback(json!({"code": "not-a-real-code"})).await,
        401,
        "INVALID_CODE",
    )
    .await;
    let _ = answer(app.http.get(format!(
        "{}/api/organizations/{}/session-settings",
        app.base,
        org.to_hex()
    )))
    .await;
    let res = answer(app.http.get(format!(
        "{}/metrics",
        app.metrics_base.as_deref().expect("metrics port")
    )))
    .await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    let counter = |status: u16| {
        format!(
            "tether_http_requests_total{{method=\"POST\",route=\"/api/auth/workos/callback\",status=\"{status}\"}} 1"
        )
    };
    assert!(text.contains(&counter(200)), "{text}");
    assert!(text.contains(&counter(401)), "{text}");
    assert!(
        text.contains("route=\"/api/organizations/{organizationId}/session-settings\""),
        "{text}"
    );
    assert!(!text.contains(&org.to_hex()), "ids never become labels");
    assert!(!text.contains(&code), "codes never become labels");
    app.drop().await;
}
