//! One session per code: a callback posted twice (a React effect run twice, a retry
//! after a dropped answer) by the browser that started the login answers both times
//! with the same session; anyone else who re-posts what the redirect URL carries gets
//! nothing. Over HTTP against the real peers.

use mongodb::bson::doc;
use serde_json::{Value, json};

use crate::support::*;

const OTHER_REDIRECT: &str = "http://localhost:5173/other-signin";

/// A service in strict state mode that also allows [`OTHER_REDIRECT`].
async fn strict_app(tag: &'static str) -> TestApp {
    let app = TestApp::spawn(
        Options::new(tag)
            .strict_states()
            .env("ALLOWED_REDIRECT_URIS", OTHER_REDIRECT),
    )
    .await;
    app.add_org("Acme", 1, doc! {}).await;
    app
}

/// authorize (bound to a browser) -> WorkOS -> back: the `code` and `state` the
/// redirect URL carries, and the `client_verifier` only the browser holds.
async fn code_and_state(app: &TestApp, email: &str) -> (String, String, String) {
    let (verifier, challenge) = client_binding();
    let res = answer(app.http.get(format!(
        "{}/api/auth/workos/authorize?domain_hint=acme.example&login_hint={}&client_challenge={challenge}",
        app.base,
        encode(email)
    )))
    .await;
    assert_eq!(res.status().as_u16(), 302);
    let workos = res.headers()["location"].to_str().unwrap().to_owned();
    let back = Browser::default().location(&workos).await;
    (
        query_param(&back, "code").expect("code"),
        query_param(&back, "state").expect("state"),
        verifier,
    )
}

/// The callback body of a login of `email` bound to the browser that started it.
async fn bound_callback(app: &TestApp, email: &str) -> Value {
    let (code, state, verifier) = code_and_state(app, email).await;
    json!({"code": code, "state": state, "client_verifier": verifier})
}

/// Both answers are the same session: one refresh token, one user, one `sid`, and
/// each access token verifies.
fn assert_same_session(first: &Value, again: &Value) {
    assert_eq!(
        again["refreshToken"], first["refreshToken"],
        "the same refresh token"
    );
    assert_eq!(again["user"], first["user"], "the same user");
    assert_eq!(again["sessionConfig"], first["sessionConfig"]);
    let (a, b) = (
        verify_jwt(first["token"].as_str().unwrap()),
        verify_jwt(again["token"].as_str().unwrap()),
    );
    assert_eq!(a["sid"], b["sid"], "the same session");
}

#[tokio::test]
async fn a_callback_posted_twice_answers_with_the_same_session_and_stores_nothing_in_clear() {
    let app = strict_app("double_post").await;
    let (code, state, verifier) = code_and_state(&app, "twice@acme.example").await;
    let body = json!({"code": code, "state": state, "client_verifier": verifier});
    let first = ok(app.callback(body.clone()).await).await;
    let again = ok(app.callback(body.clone()).await).await;
    assert_same_session(&first, &again);
    assert_eq!(app.session_count().await, 1, "one session");
    assert_eq!(app.user_count().await, 1, "one user");

    // Neither the refresh token, nor the access tokens, nor the code are in clear
    // anywhere in the database.
    let everything = whole_database(&app).await;
    let refresh_token = first["refreshToken"].as_str().unwrap();
    for secret in [
        refresh_token,
        &refresh_token[3..],
        first["token"].as_str().unwrap(),
        again["token"].as_str().unwrap(),
        code.as_str(),
        verifier.as_str(),
    ] {
        assert!(
            !everything.contains(secret),
            "a secret of the answer is stored in clear"
        );
    }

    // Another redirect URI (allowed, but not the one posted) opens nothing.
    let other =
        json!({"code": code, "state": state, "redirect_uri": OTHER_REDIRECT, "client_verifier": verifier});
    assert_error(app.callback(other).await, 400, "INVALID_STATE").await;
    // Another state neither.
    let forged = json!({"code": code, "state": format!("{state}x"), "client_verifier": verifier});
    assert_error(app.callback(forged).await, 400, "INVALID_STATE").await;
    // What the redirect URL carries, without the browser's verifier, opens nothing: a
    // leaked `/signin?code=&state=` is worthless.
    let leaked = json!({"code": code, "state": state});
    assert_error(app.callback(leaked).await, 400, "INVALID_STATE").await;
    let (other_verifier, _) = client_binding();
    let guessed = json!({"code": code, "state": state, "client_verifier": other_verifier});
    assert_error(app.callback(guessed).await, 400, "INVALID_STATE").await;
    assert_eq!(app.session_count().await, 1, "still one session");

    // Once the session renewed its refresh token, the first answer is history.
    let refreshed = answer(
        app.at(reqwest::Method::POST, "/api/auth/refresh")
            .json(&json!({"refreshToken": refresh_token})),
    )
    .await;
    assert_eq!(refreshed.status().as_u16(), 200);
    assert_error(app.callback(body).await, 400, "INVALID_STATE").await;
    assert_eq!(app.session_count().await, 1);
    app.drop().await;
}

#[tokio::test]
async fn three_concurrent_posts_of_one_callback_get_one_session() {
    let app = strict_app("double_post_race").await;
    let body = bound_callback(&app, "race@acme.example").await;
    let (a, b, c) = tokio::join!(
        app.callback(body.clone()),
        app.callback(body.clone()),
        app.callback(body.clone())
    );
    let (a, b, c) = (ok(a).await, ok(b).await, ok(c).await);
    assert_same_session(&a, &b);
    assert_same_session(&a, &c);
    assert_eq!(app.session_count().await, 1, "one session");
    assert_eq!(app.user_count().await, 1, "one user");
    app.drop().await;
}

#[tokio::test]
async fn a_bound_login_answers_again_within_sixty_seconds_and_not_after() {
    let (clock, overrides) = manual_clock();
    let app = TestApp::spawn_with(Options::new("double_post_window").strict_states(), overrides).await;
    app.add_org("Acme", 1, doc! {}).await;
    let body = bound_callback(&app, "window@acme.example").await;
    let first = ok(app.callback(body.clone()).await).await;
    clock.advance_seconds(59);
    let again = ok(app.callback(body.clone()).await).await;
    assert_same_session(&first, &again);
    clock.advance_seconds(2);
    assert_error(app.callback(body).await, 400, "INVALID_STATE").await;
    assert_eq!(app.session_count().await, 1);
    app.drop().await;
}

#[tokio::test]
async fn without_a_browser_binding_a_second_post_gets_what_a_used_code_gets() {
    // Unissued states accepted: the code alone was once enough to be answered again.
    let app = TestApp::spawn(Options::new("double_post_unbound")).await;
    app.add_org("Acme", 1, doc! {}).await;
    let code = Browser::default()
        .sso_code("acme.example", "unbound@acme.example")
        .await;
    ok(app.callback(json!({"code": code})).await).await;
    assert_error(app.callback(json!({"code": code})).await, 401, "INVALID_CODE").await;

    // A login started without a challenge: the same post again is a used state.
    let strict = strict_app("double_post_unbound_strict").await;
    let res = strict
        .get("/api/auth/workos/authorize?domain_hint=acme.example&login_hint=plain%40acme.example")
        .await;
    let back = Browser::default()
        .location(res.headers()["location"].to_str().unwrap())
        .await;
    let body = json!({"code": query_param(&back, "code"), "state": query_param(&back, "state")});
    ok(strict.callback(body.clone()).await).await;
    assert_error(strict.callback(body).await, 400, "INVALID_STATE").await;
    assert_eq!(app.session_count().await, 1);
    assert_eq!(strict.session_count().await, 1);
    app.drop().await;
    strict.drop().await;
}

#[tokio::test]
async fn a_second_post_gets_nothing_once_the_session_is_logged_out_and_is_refused_for_a_disabled_user() {
    let app = strict_app("double_post_ended").await;

    // Logged out: the first answer is no longer handed out.
    let body = bound_callback(&app, "out@acme.example").await;
    let first = ok(app.callback(body.clone()).await).await;
    let logout = answer(
        app.at(reqwest::Method::POST, "/api/auth/logout")
            .json(&json!({"refreshToken": first["refreshToken"]})),
    )
    .await;
    assert_eq!(logout.status().as_u16(), 200);
    assert_error(app.callback(body).await, 400, "INVALID_STATE").await;

    // Disabled since the first post: 403, as a login of a disabled user is.
    let body = bound_callback(&app, "off@acme.example").await;
    let first = ok(app.callback(body.clone()).await).await;
    let user = mongodb::bson::oid::ObjectId::parse_str(first["user"]["id"].as_str().unwrap()).unwrap();
    app.users()
        .update_one(doc! {"_id": user}, doc! {"$set": {"loginDisabled": true}})
        .await
        .unwrap();
    assert_error(app.callback(body).await, 403, "LOGIN_DISABLED").await;
    app.drop().await;
}
