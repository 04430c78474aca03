//! After login, against the real peers: refresh with rotation and reuse detection,
//! logout, token checks and per-organization session settings.

use mongodb::bson::{Bson, Document, doc, oid::ObjectId};
use serde_json::{Value, json};

use crate::support::*;

/// One token pair of an answer with the "auth session" shape.
#[derive(Debug, Clone)]
struct Pair {
    token: String,
    refresh_token: String,
    body: Value,
}

impl Pair {
    /// The verified claims of the access token.
    fn claims(&self) -> Value {
        verify_jwt(&self.token)
    }

    fn sid(&self) -> String {
        self.claims()["sid"].as_str().expect("a sid claim").to_owned()
    }

    fn lifetime_seconds(&self) -> i64 {
        let claims = self.claims();
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap()
    }
}

/// Asserts a 200 "auth session" answer (the callback's shape, `no-store`, a verifying
/// JWT, an `rt_` refresh token, nine session settings) and returns its pair.
async fn auth_session(res: reqwest::Response) -> Pair {
    let status = res.status().as_u16();
    let cache = res.headers().get("cache-control").cloned();
    assert!(res.headers().get("x-request-id").is_some());
    let body: Value = res.json().await.expect("a JSON body");
    assert_eq!(status, 200, "{body}");
    assert_eq!(cache.as_ref().and_then(|v| v.to_str().ok()), Some("no-store"));
    let object = body.as_object().expect("an object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["refreshToken", "sessionConfig", "token", "user"], "{body}");
    assert_eq!(body["sessionConfig"].as_object().unwrap().len(), 9, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let refresh_token = body["refreshToken"].as_str().unwrap().to_owned();
    assert!(refresh_token.starts_with("rt_"), "{refresh_token}");
    let claims = verify_jwt(&token);
    assert_eq!(claims["userId"], body["user"]["id"]);
    Pair {
        token,
        refresh_token,
        body,
    }
}

/// Signs in `email` through the SSO connection of `acme.example`.
async fn login_sso(app: &TestApp, email: &str) -> Pair {
    let code = Browser::default().sso_code("acme.example", email).await;
    auth_session(app.callback(json!({"code": code})).await).await
}

/// Signs in a seeded AuthKit user.
async fn login_authkit(app: &TestApp, email: &str) -> Pair {
    let code = Browser::default().authkit_code(email).await;
    auth_session(app.callback(json!({"code": code})).await).await
}

pub(crate) async fn refresh(app: &TestApp, refresh_token: &str) -> reqwest::Response {
    refresh_with(app, json!({"refreshToken": refresh_token})).await
}

async fn refresh_with(app: &TestApp, body: Value) -> reqwest::Response {
    answer(app.at(reqwest::Method::POST, "/api/auth/refresh").json(&body)).await
}

async fn logout_with_refresh_token(app: &TestApp, refresh_token: &str) -> reqwest::Response {
    answer(
        app.at(reqwest::Method::POST, "/api/auth/logout")
            .json(&json!({"refreshToken": refresh_token})),
    )
    .await
}

async fn logout_with_bearer(app: &TestApp, authorization: &str) -> reqwest::Response {
    answer(
        app.at(reqwest::Method::POST, "/api/auth/logout")
            .header("authorization", authorization),
    )
    .await
}

async fn assert_logged_out(res: reqwest::Response) {
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["success"], true);
}

/// `GET /api/auth/verify-token` with this `Authorization` header, if any.
async fn verify_token(app: &TestApp, authorization: Option<&str>) -> reqwest::Response {
    let mut req = app.http.get(format!("{}/api/auth/verify-token", app.base));
    if let Some(value) = authorization {
        req = req.header("authorization", value);
    }
    req.send().await.expect("verify-token answered")
}

/// `GET /api/auth/verify-token` with `token` as the Bearer token.
async fn verify_bearer(app: &TestApp, token: &str) -> reqwest::Response {
    verify_token(app, Some(&format!("Bearer {token}"))).await
}

async fn assert_token_good(app: &TestApp, token: &str) {
    let res = verify_bearer(app, token).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"message": "Token is good"})
    );
}

/// A 401 about an access token: the contract's message and `code`.
async fn assert_token_refused(res: reqwest::Response, code: &str) {
    let challenge = res.headers().get("www-authenticate").cloned();
    let body = assert_error(res, 401, code).await;
    assert_eq!(body["error"], "Invalid or expired token", "{body}");
    assert!(challenge.is_some(), "a WWW-Authenticate challenge");
}

/// The fields a refusal of session settings names, sorted.
fn field_names(body: &Value) -> Vec<&str> {
    let mut named: Vec<&str> = body["fields"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    named.sort_unstable();
    named
}

fn settings_url(app: &TestApp, organization: &str) -> String {
    format!("{}/api/organizations/{organization}/session-settings", app.base)
}

async fn get_settings(app: &TestApp, organization: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = app.http.get(settings_url(app, organization));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.expect("settings answered")
}

async fn put_settings(
    app: &TestApp,
    organization: &str,
    token: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut req = app.http.put(settings_url(app, organization)).json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.expect("settings answered")
}

fn refresh_tokens(app: &TestApp) -> mongodb::Collection<Document> {
    app.db.collection("refresh_tokens")
}

fn sessions(app: &TestApp) -> mongodb::Collection<Document> {
    app.db.collection("sessions")
}

/// No refresh token appears in clear anywhere in the database; each is stored as its digest.
async fn assert_no_refresh_token_in_clear(app: &TestApp, tokens: &[&str]) {
    let everything = whole_database(app).await;
    for token in tokens {
        assert!(!everything.contains(token), "a refresh token is stored in clear");
        assert!(
            !everything.contains(&token[3..]),
            "the random part of a refresh token is stored"
        );
        assert!(
            everything.contains(&sha256_hex(token)),
            "the digest of every issued token is stored"
        );
    }
}

// ---- refresh with rotation -------------------------------------------------------------

#[tokio::test]
async fn login_then_two_refreshes_each_answer_verifies_in_the_same_session_and_the_first_token_no_longer_works()
 {
    // No grace window: any second use of a refresh token is a reuse.
    let app = TestApp::spawn(Options::new("rotate").env("REFRESH_REUSE_GRACE_SECONDS", "0")).await;
    let org = app.add_org("Acme", 1, doc! {}).await;
    let first = login_sso(&app, "rotate@acme.example").await;
    let second = auth_session(refresh(&app, &first.refresh_token).await).await;
    let third = auth_session(refresh(&app, &second.refresh_token).await).await;

    for pair in [&first, &second, &third] {
        assert_eq!(pair.sid(), first.sid(), "one session");
        assert_eq!(pair.body["user"], first.body["user"]);
        assert_eq!(pair.body["user"]["organizationId"], org.to_hex());
        assert_eq!(pair.body["sessionConfig"], first.body["sessionConfig"]);
        assert_eq!(pair.lifetime_seconds(), 8 * 3600);
        assert_token_good(&app, &pair.token).await;
    }
    assert_ne!(first.refresh_token, second.refresh_token);
    assert_ne!(second.refresh_token, third.refresh_token);
    assert_ne!(first.token, second.token);

    // The consumed tokens are records of their own, marked used; the live one is the
    // session's.
    for pair in [&first, &second] {
        let record = refresh_tokens(&app)
            .find_one(doc! {"tokenHash": sha256_hex(&pair.refresh_token)})
            .await
            .unwrap()
            .expect("the digest is stored");
        assert_eq!(record.get_str("sessionId").unwrap(), first.sid());
        assert!(record.get_datetime("usedAt").is_ok());
    }
    assert_one_live_token(&app, &first.sid(), &third.refresh_token).await;

    assert_error(
        refresh(&app, &first.refresh_token).await,
        401,
        "REFRESH_TOKEN_REUSED",
    )
    .await;
    // The reuse ended the session: its newest token is dead too.
    assert_session_ended(&app, &third).await;

    assert_no_refresh_token_in_clear(
        &app,
        &[&first.refresh_token, &second.refresh_token, &third.refresh_token],
    )
    .await;
    app.drop().await;
}

/// The old token after the window: `REFRESH_TOKEN_REUSED`, and the whole session is
/// dead: its successor no longer refreshes and its access tokens fail verify-token.
async fn assert_reuse_kills_the_session(app: &TestApp, old: &str, survivors: &[&Pair]) {
    assert_error(refresh(app, old).await, 401, "REFRESH_TOKEN_REUSED").await;
    for pair in survivors {
        assert_session_ended(app, pair).await;
    }
    let session = session_record(app, &survivors[0].sid()).await;
    assert_eq!(session.get_str("revokedReason").unwrap(), "reuse");
    assert!(session.get_datetime("revokedAt").is_ok());
}

/// Every token of `pair`'s session is dead: the refresh token is revoked and the
/// access token is refused as of a revoked session.
async fn assert_session_ended(app: &TestApp, pair: &Pair) {
    assert_error(
        refresh(app, &pair.refresh_token).await,
        401,
        "REFRESH_TOKEN_REVOKED",
    )
    .await;
    assert_token_refused(verify_bearer(app, &pair.token).await, "SESSION_REVOKED").await;
}

/// The stored record of session `sid`.
async fn session_record(app: &TestApp, sid: &str) -> Document {
    sessions(app)
        .find_one(doc! {"_id": sid})
        .await
        .unwrap()
        .expect("the session record")
}

/// The session has exactly one live refresh token, and it is `live`'s: the session
/// holds its digest, and no record of its own is unused.
async fn assert_one_live_token(app: &TestApp, sid: &str, live: &str) {
    let session = session_record(app, sid).await;
    assert_eq!(session.get_str("tokenHash").unwrap(), sha256_hex(live));
    let unused = refresh_tokens(app)
        .count_documents(doc! {"sessionId": sid, "usedAt": Bson::Null})
        .await
        .unwrap();
    assert_eq!(unused, 0, "one live refresh token per session");
}

#[tokio::test]
async fn a_refresh_repeated_within_the_grace_window_gets_the_same_successor_and_after_it_the_session_dies() {
    let (clock, overrides) = manual_clock();
    let app = TestApp::spawn_with(Options::new("grace_seq"), overrides).await;
    app.add_org("Acme", 1, doc! {}).await;
    let login = login_sso(&app, "tab@acme.example").await;

    let first = auth_session(refresh(&app, &login.refresh_token).await).await;
    // Still within the 10-second window: the same successor, a fresh access token.
    clock.advance_seconds(4);
    let second = auth_session(refresh(&app, &login.refresh_token).await).await;
    clock.advance_seconds(5);
    let third = auth_session(refresh(&app, &login.refresh_token).await).await;
    for pair in [&second, &third] {
        assert_eq!(pair.refresh_token, first.refresh_token, "the same successor");
        assert_eq!(pair.sid(), login.sid());
        assert_ne!(pair.token, first.token, "a fresh access token");
        assert_token_good(&app, &pair.token).await;
    }
    assert_one_live_token(&app, &login.sid(), &first.refresh_token).await;
    // The successor is stored only as its digest and sealed, never in clear.
    assert_no_refresh_token_in_clear(&app, &[&login.refresh_token, &first.refresh_token]).await;
    let rotated = refresh_tokens(&app)
        .find_one(doc! {"tokenHash": sha256_hex(&login.refresh_token)})
        .await
        .unwrap()
        .unwrap();
    assert!(rotated.get_str("sealedSuccessor").is_ok(), "{rotated}");

    // After the window the old token is taken as stolen: the whole session ends.
    clock.advance_seconds(2);
    assert_reuse_kills_the_session(&app, &login.refresh_token, &[&first, &third, &login]).await;
    app.drop().await;
}

#[tokio::test]
async fn four_refreshes_racing_with_one_token_all_get_one_successor_and_the_same_token_after_the_window_revokes_the_session()
 {
    let (clock, overrides) = manual_clock();
    let app = TestApp::spawn_with(Options::new("race_refresh"), overrides).await;
    app.add_org("Acme", 1, doc! {}).await;
    let login = login_sso(&app, "tabs@acme.example").await;

    let (a, b, c, d) = tokio::join!(
        refresh(&app, &login.refresh_token),
        refresh(&app, &login.refresh_token),
        refresh(&app, &login.refresh_token),
        refresh(&app, &login.refresh_token)
    );
    let answers = [
        auth_session(a).await,
        auth_session(b).await,
        auth_session(c).await,
        auth_session(d).await,
    ];
    for pair in &answers {
        assert_eq!(
            pair.refresh_token, answers[0].refresh_token,
            "one successor for all"
        );
        assert_eq!(pair.sid(), login.sid());
        assert_token_good(&app, &pair.token).await;
    }
    assert_ne!(answers[0].refresh_token, login.refresh_token);
    assert_one_live_token(&app, &login.sid(), &answers[0].refresh_token).await;
    assert_no_refresh_token_in_clear(&app, &[&login.refresh_token, &answers[0].refresh_token]).await;
    assert_eq!(
        refresh_tokens(&app)
            .count_documents(doc! {"sessionId": login.sid()})
            .await
            .unwrap(),
        1,
        "the login's token, consumed once; its one successor is the session's"
    );

    // After the window the old token is taken as stolen.
    clock.advance_seconds(11);
    assert_reuse_kills_the_session(&app, &login.refresh_token, &[&answers[0], &answers[3]]).await;
    app.drop().await;
}

/// The moment `hours` hours from now (before it when negative).
fn hours_from_now(hours: i64) -> mongodb::bson::DateTime {
    mongodb::bson::DateTime::from_millis(
        mongodb::bson::DateTime::now().timestamp_millis() + hours * 3_600_000,
    )
}

/// A refresh token of the earlier shape: its session is named only in it.
struct EarlierRefreshToken<'a> {
    token: &'a str,
    user: ObjectId,
    session: &'a str,
    started: mongodb::bson::DateTime,
    expires: mongodb::bson::DateTime,
    revoked: bool,
}

impl EarlierRefreshToken<'_> {
    fn document(&self) -> Document {
        doc! {
            "tokenHash": sha256_hex(self.token),
            "userId": self.user,
            "sessionId": self.session,
            "expiresAt": self.expires,
            "createdAt": self.started,
            "sessionStartedAt": self.started,
            "usedAt": Bson::Null,
            "revokedAt": if self.revoked { Bson::DateTime(self.started) } else { Bson::Null },
        }
    }
}

#[tokio::test]
async fn a_refresh_token_document_of_the_earlier_shape_still_refreshes_and_a_revoked_one_is_refused() {
    let (app, org, user) = spawn_with_acme_admin("legacy_refresh", "legacy@acme.example").await;
    let started = hours_from_now(-72);
    let expires = hours_from_now(24);
    let legacy = |token: &'static str, session: &'static str, revoked: bool| {
        EarlierRefreshToken {
            token,
            user,
            session,
            started,
            expires,
            revoked,
        }
        .document()
    };
    let live = "rt_legacy_live_legacy_live_legacy_live_legacy_live_0";
    let revoked = "rt_legacy_revoked_legacy_revoked_legacy_revoked_00";
    refresh_tokens(&app)
        .insert_many([
            legacy(live, "sess_legacy_live", false),
            legacy(revoked, "sess_legacy_revoked", true),
        ])
        .await
        .unwrap();

    let renewed = auth_session(refresh(&app, live).await).await;
    assert_eq!(renewed.sid(), "sess_legacy_live");
    assert_eq!(renewed.body["user"]["id"], user.to_hex());
    assert_token_good(&app, &renewed.token).await;
    // The session became a record that started when the old token says.
    let session = session_record(&app, "sess_legacy_live").await;
    assert_eq!(session.get_datetime("startedAt").unwrap(), &started);
    assert_eq!(session.get_object_id("organizationId").unwrap(), org);
    let next = auth_session(refresh(&app, &renewed.refresh_token).await).await;
    assert_eq!(next.sid(), "sess_legacy_live");

    assert_error(refresh(&app, revoked).await, 401, "REFRESH_TOKEN_REVOKED").await;
    assert_eq!(
        sessions(&app)
            .count_documents(doc! {"_id": "sess_legacy_revoked"})
            .await
            .unwrap(),
        0
    );

    // Logging out with it ends the adopted session.
    assert_logged_out(logout_with_refresh_token(&app, &next.refresh_token).await).await;
    assert_token_refused(verify_bearer(&app, &next.token).await, "SESSION_REVOKED").await;
    app.drop().await;
}

#[tokio::test]
async fn a_logout_with_a_refresh_token_of_the_earlier_shape_revokes_its_session() {
    let (app, _, user) = spawn_with_acme_admin("legacy_logout", "legacy-logout@acme.example").await;
    let token = "rt_legacy_logout_legacy_logout_legacy_logout_legacy_0";
    let legacy = EarlierRefreshToken {
        token,
        user,
        session: "sess_legacy_logout",
        started: hours_from_now(-1),
        expires: hours_from_now(24),
        revoked: false,
    };
    refresh_tokens(&app).insert_one(legacy.document()).await.unwrap();

    assert_logged_out(logout_with_refresh_token(&app, token).await).await;
    let session = session_record(&app, "sess_legacy_logout").await;
    assert_eq!(session.get_str("revokedReason").unwrap(), "logout");
    assert_error(refresh(&app, token).await, 401, "REFRESH_TOKEN_REVOKED").await;
    app.drop().await;
}

#[tokio::test]
async fn refresh_refuses_bad_input_a_disabled_user_an_expired_token_and_a_session_past_its_lifetime() {
    let (clock, overrides) = manual_clock();
    let app = TestApp::spawn_with(
        Options::new("refresh_limits")
            .env("REFRESH_TOKEN_TTL_DAYS", "1")
            .env("SESSION_ABSOLUTE_LIFETIME_DAYS", "2"),
        overrides,
    )
    .await;
    app.add_org("Acme", 1, doc! {}).await;
    let first = login_sso(&app, "limits@acme.example").await;

    assert_error(refresh_with(&app, json!({})).await, 400, "MISSING_REFRESH_TOKEN").await;
    assert_error(
        refresh_with(&app, json!({"refreshToken": " "})).await,
        400,
        "MISSING_REFRESH_TOKEN",
    )
    .await;
    assert_error(
        refresh_with(&app, json!({"refreshToken": 42})).await,
        400,
        "INVALID_REQUEST",
    )
    .await;
    let unknown = refresh(&app, "rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
    assert_error(unknown, 401, "REFRESH_TOKEN_INVALID").await;

    // Disabled since login: 403, in another session of the same user (the refusal
    // consumes the token: re-enabled, only a replay within the grace window renews it).
    let other = login_sso(&app, "limits@acme.example").await;
    let user = ObjectId::parse_str(first.body["user"]["id"].as_str().unwrap()).unwrap();
    let set_disabled = |disabled: bool| {
        let users = app.users();
        async move {
            users
                .update_one(doc! {"_id": user}, doc! {"$set": {"loginDisabled": disabled}})
                .await
                .unwrap();
        }
    };
    set_disabled(true).await;
    assert_error(refresh(&app, &other.refresh_token).await, 403, "LOGIN_DISABLED").await;
    assert_error(refresh(&app, &other.refresh_token).await, 403, "LOGIN_DISABLED").await;
    set_disabled(false).await;
    let renewed = auth_session(refresh(&app, &other.refresh_token).await).await;
    assert_eq!(renewed.sid(), other.sid());

    // Twelve hours in: the token still works (it expires after one day).
    clock.advance_seconds(12 * 3600);
    let second = auth_session(refresh(&app, &first.refresh_token).await).await;

    // Twenty-five hours in: the first token has expired; the second has not.
    clock.advance_seconds(13 * 3600);
    assert_error(
        refresh(&app, &first.refresh_token).await,
        401,
        "REFRESH_TOKEN_EXPIRED",
    )
    .await;
    let third = auth_session(refresh(&app, &second.refresh_token).await).await;
    let session = session_record(&app, &third.sid()).await;
    assert_eq!(
        session.get_str("tokenHash").unwrap(),
        sha256_hex(&third.refresh_token)
    );
    let started = session.get_datetime("startedAt").unwrap().timestamp_millis();
    assert_eq!(
        session.get_datetime("endsAt").unwrap().timestamp_millis() - started,
        2 * 86_400_000
    );
    let expires = session.get_datetime("tokenExpiresAt").unwrap().timestamp_millis();
    assert_eq!(
        expires - started,
        2 * 86_400_000,
        "capped at the end of the session"
    );

    // Forty-eight hours in: the session has reached its absolute lifetime.
    clock.advance_seconds(23 * 3600);
    assert_error(refresh(&app, &third.refresh_token).await, 401, "SESSION_EXPIRED").await;
    app.drop().await;
}

// ---- logout ----------------------------------------------------------------------------

#[tokio::test]
async fn logout_revokes_the_session_is_idempotent_and_a_later_refresh_gets_401() {
    let app = TestApp::spawn(Options::new("logout")).await;
    app.add_org("Acme", 1, doc! {}).await;

    // With the refresh token in the body.
    let session = login_sso(&app, "logout@acme.example").await;
    assert_logged_out(logout_with_refresh_token(&app, &session.refresh_token).await).await;
    let record = session_record(&app, &session.sid()).await;
    assert_eq!(record.get_str("revokedReason").unwrap(), "logout");
    let revoked_at = record.get_datetime("revokedAt").unwrap().to_owned();
    assert_logged_out(logout_with_refresh_token(&app, &session.refresh_token).await).await;
    let again = session_record(&app, &session.sid()).await;
    assert_eq!(
        again.get_datetime("revokedAt").unwrap(),
        &revoked_at,
        "revoked once"
    );
    assert_session_ended(&app, &session).await;

    // With the access token as Bearer, after a refresh: every token of the session dies.
    let other = login_sso(&app, "logout@acme.example").await;
    assert_ne!(other.sid(), session.sid());
    let renewed = auth_session(refresh(&app, &other.refresh_token).await).await;
    assert_logged_out(logout_with_bearer(&app, &format!("Bearer {}", renewed.token)).await).await;
    assert_logged_out(logout_with_bearer(&app, &format!("bearer {}", renewed.token)).await).await;
    assert_error(
        refresh(&app, &renewed.refresh_token).await,
        401,
        "REFRESH_TOKEN_REVOKED",
    )
    .await;
    assert_token_refused(verify_bearer(&app, &other.token).await, "SESSION_REVOKED").await;

    // Mistakes.
    let url = format!("{}/api/auth/logout", app.base);
    assert_error(answer(app.http.post(&url)).await, 400, "MISSING_CREDENTIALS").await;
    assert_token_refused(
        logout_with_bearer(&app, "Bearer not.a.jwt").await,
        "INVALID_TOKEN",
    )
    .await;
    assert_logged_out(logout_with_refresh_token(&app, "rt_never_issued").await).await;
    let wrong_type = send_raw(app.http.post(&url), "text/plain", "refreshToken=rt_x").await;
    assert_error(wrong_type, 415, "INVALID_REQUEST").await;
    let malformed = send_raw(app.http.post(&url), "application/json", "{\"refreshToken\": ").await;
    assert_error(malformed, 400, "INVALID_REQUEST").await;
    let huge = answer(
        app.http
            .post(&url)
            .json(&json!({"refreshToken": "x".repeat(20 * 1024)})),
    )
    .await;
    assert_error(huge, 413, "PAYLOAD_TOO_LARGE").await;
    app.drop().await;
}

// ---- verify-token ------------------------------------------------------------------------

#[tokio::test]
async fn verify_token_accepts_a_valid_token_and_refuses_expired_forged_and_garbage_ones_with_their_codes() {
    let (clock, overrides) = manual_clock();
    let app = TestApp::spawn_with(Options::new("verify"), overrides).await;
    app.add_org("Acme", 1, doc! {}).await;
    let session = login_sso(&app, "verify@acme.example").await;

    assert_token_good(&app, &session.token).await;

    assert_token_refused(verify_token(&app, None).await, "MISSING_TOKEN").await;
    for garbage in [
        "Bearer garbage",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        session.token.as_str(),
    ] {
        assert_token_refused(verify_token(&app, Some(garbage)).await, "INVALID_TOKEN").await;
    }
    // The same claims signed with another secret.
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &session.claims(),
        &jsonwebtoken::EncodingKey::from_secret(b"not-the-secret-not-the-secret-not-the"),
    )
    .unwrap();
    assert_token_refused(verify_bearer(&app, &forged).await, "INVALID_TOKEN").await;
    // Our signature over other claims.
    let mut parts: Vec<&str> = session.token.split('.').collect();
    let other_claims = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"userId": "x", "sub": "x", "exp": 4_000_000_000_i64}),
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    parts[1] = other_claims.split('.').nth(1).unwrap();
    assert_token_refused(
        verify_token(&app, Some(&format!("Bearer {}", parts.join(".")))).await,
        "INVALID_TOKEN",
    )
    .await;

    // Eight hours later (the default lifetime) the token has expired...
    clock.advance_seconds(8 * 3600);
    assert_token_refused(verify_bearer(&app, &session.token).await, "TOKEN_EXPIRED").await;
    // ...and the refresh token renews the session with a good one.
    let renewed = auth_session(refresh(&app, &session.refresh_token).await).await;
    assert_token_good(&app, &renewed.token).await;
    // An expired access token still logs its session out.
    assert_logged_out(logout_with_bearer(&app, &format!("Bearer {}", session.token)).await).await;
    assert_token_refused(verify_bearer(&app, &renewed.token).await, "SESSION_REVOKED").await;
    app.drop().await;
}

// ---- organization session settings -------------------------------------------------------

#[tokio::test]
async fn a_superadmin_sets_session_settings_that_the_next_login_and_refresh_apply_and_null_reverts_them() {
    let app = TestApp::spawn(Options::new("org_settings")).await;
    // Mapped to Acme's WorkOS organization, so Acme's connection vouches for root's address.
    let acme = app.add_mapped_org("Acme", 3, doc! {"plan": "gold"}).await;
    let other = app.add_org("Other", 5, doc! {}).await;
    app.add_user("root@acme.example", "SUPERADMIN", acme).await;
    app.add_user("jane@authkit.example", "ADMIN", acme).await;
    let root = login_sso(&app, "root@acme.example").await;
    assert_eq!(root.body["user"]["accessRole"], "SUPERADMIN");
    let jane = login_authkit(&app, "jane@authkit.example").await;
    assert_eq!(jane.body["user"]["accessRole"], "ADMIN");
    let acme_id = acme.to_hex();
    let (root_token, jane_token) = (Some(root.token.as_str()), Some(jane.token.as_str()));
    let defaults = json!({
        "enabled": true, "idleTimeoutMinutes": 30, "tokenExpiryHours": 8, "warningTimeMinutes": 2,
        "idleTrackingEnabled": true, "ssoSilentRenewalEnabled": true, "ssoFallbackBehavior": "redirect",
        "passwordSilentRenewalEnabled": false, "passwordFallbackBehavior": "logout"
    });

    let res = get_settings(&app, &acme_id, root_token).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"success": true, "data": defaults})
    );

    let res = put_settings(
        &app,
        &acme_id,
        root_token,
        json!({"idleTimeoutMinutes": 15, "tokenExpiryHours": 2}),
    )
    .await;
    assert_eq!(res.status().as_u16(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["success"], true);
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    let mut expected = defaults.clone();
    expected["idleTimeoutMinutes"] = json!(15);
    expected["tokenExpiryHours"] = json!(2);
    assert_eq!(body["data"], expected);
    let read: Value = get_settings(&app, &acme_id, root_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["data"], expected);

    // A user of that organization: the next refresh and the next login apply them.
    let renewed = auth_session(refresh(&app, &jane.refresh_token).await).await;
    assert_eq!(renewed.body["sessionConfig"], expected);
    assert_eq!(renewed.lifetime_seconds(), 2 * 3600);
    let again = login_authkit(&app, "jane@authkit.example").await;
    assert_eq!(again.body["sessionConfig"], expected);
    assert_eq!(again.lifetime_seconds(), 2 * 3600);

    // A warning time not below the idle time-out: 400 naming it, nothing changed.
    let res = put_settings(&app, &acme_id, root_token, json!({"warningTimeMinutes": 20})).await;
    let body = assert_error(res, 400, "INVALID_SESSION_SETTINGS").await;
    assert_eq!(
        body["fields"],
        json!({"warningTimeMinutes": "must be less than idleTimeoutMinutes (15)"})
    );
    // Several bad fields at once, each named; the valid one beside them is not saved either.
    let res = put_settings(
        &app,
        &acme_id,
        root_token,
        json!({"enabled": "yes", "ssoFallbackBehavior": "logout", "colour": "blue", "tokenExpiryHours": 4}),
    )
    .await;
    let body = assert_error(res, 400, "INVALID_SESSION_SETTINGS").await;
    let named = field_names(&body);
    assert_eq!(named, ["colour", "enabled", "ssoFallbackBehavior"]);
    let read: Value = get_settings(&app, &acme_id, root_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["data"], expected, "nothing changed");

    // The documented fallback behaviours are accepted.
    let res = put_settings(
        &app,
        &acme_id,
        root_token,
        json!({"ssoFallbackBehavior": "reauth-button", "passwordFallbackBehavior": "reauth-modal"}),
    )
    .await;
    assert_eq!(res.status().as_u16(), 200);
    // `null` reverts a field to the global default.
    let res = put_settings(
        &app,
        &acme_id,
        root_token,
        json!({"tokenExpiryHours": null, "ssoFallbackBehavior": null, "passwordFallbackBehavior": null}),
    )
    .await;
    let body: Value = res.json().await.unwrap();
    expected["tokenExpiryHours"] = json!(8);
    assert_eq!(body["data"], expected);
    let renewed = auth_session(refresh(&app, &renewed.refresh_token).await).await;
    assert_eq!(renewed.lifetime_seconds(), 8 * 3600);
    assert_eq!(renewed.body["sessionConfig"]["idleTimeoutMinutes"], 15);

    // Stored as the product stores it; the organization's other fields untouched.
    let stored = app.org_doc(acme).await;
    assert_eq!(stored.get_str("plan").unwrap(), "gold");
    assert_eq!(stored.get_str("name").unwrap(), "Acme");
    assert!(stored.get_datetime("updatedAt").unwrap() > stored.get_datetime("createdAt").unwrap());
    let settings = stored.get_document("sessionSettings").unwrap();
    assert_eq!(settings.len(), 9);
    assert_eq!(settings.get("idleTimeoutMinutes"), Some(&Bson::Int32(15)));
    assert_eq!(settings.get("tokenExpiryHours"), Some(&Bson::Null));
    let untouched = app.org_doc(other).await;
    assert!(untouched.get("sessionSettings").is_none());

    // Who may do it.
    let res = put_settings(&app, &acme_id, jane_token, json!({"tokenExpiryHours": 1})).await;
    assert_error(res, 403, "FORBIDDEN").await;
    assert_error(get_settings(&app, &acme_id, jane_token).await, 403, "FORBIDDEN").await;
    assert_token_refused(get_settings(&app, &acme_id, None).await, "MISSING_TOKEN").await;
    assert_token_refused(
        put_settings(&app, &acme_id, None, json!({"tokenExpiryHours": 1})).await,
        "MISSING_TOKEN",
    )
    .await;
    assert_token_refused(
        get_settings(&app, &acme_id, Some("not.a.jwt")).await,
        "INVALID_TOKEN",
    )
    .await;
    // Which organization.
    let missing = ObjectId::new().to_hex();
    assert_error(
        get_settings(&app, &missing, root_token).await,
        404,
        "ORGANIZATION_NOT_FOUND",
    )
    .await;
    assert_error(
        put_settings(&app, &missing, root_token, json!({"enabled": false})).await,
        404,
        "ORGANIZATION_NOT_FOUND",
    )
    .await;
    assert_error(
        get_settings(&app, "org_01HX9R3K4N6P8QZBVTYM2D5A7C", root_token).await,
        400,
        "INVALID_ORGANIZATION_ID",
    )
    .await;
    let body = assert_error(
        put_settings(&app, &acme_id, root_token, json!([1, 2])).await,
        400,
        "INVALID_REQUEST",
    )
    .await;
    assert_eq!(
        body["error"],
        "The request body must be a JSON object of session settings."
    );
    // The body's shape is judged after the token and before the role; its fields after both.
    assert_token_refused(
        put_settings(&app, &acme_id, Some("not.a.jwt"), json!([1, 2])).await,
        "INVALID_TOKEN",
    )
    .await;
    assert_error(
        put_settings(&app, &acme_id, jane_token, json!("text")).await,
        400,
        "INVALID_REQUEST",
    )
    .await;
    assert_error(
        put_settings(&app, &acme_id, jane_token, json!({"colour": 1})).await,
        403,
        "FORBIDDEN",
    )
    .await;
    // Arrays and objects are values of the wrong type, named like any other.
    let body = assert_error(
        put_settings(
            &app,
            &acme_id,
            root_token,
            json!({"enabled": [true], "idleTimeoutMinutes": {"value": 5}}),
        )
        .await,
        400,
        "INVALID_SESSION_SETTINGS",
    )
    .await;
    let named = field_names(&body);
    assert_eq!(named, ["enabled", "idleTimeoutMinutes"]);
    let res = send_raw(
        app.http
            .put(settings_url(&app, &acme_id))
            .bearer_auth(&root.token),
        "application/json",
        "{\"enabled\": tru",
    )
    .await;
    let body = assert_error(res, 400, "INVALID_REQUEST").await;
    assert_eq!(
        body["error"],
        "The request body must be a JSON object of session settings (any of the nine fields; null reverts one)."
    );
    // A SUPERADMIN logged out can no longer use the token.
    assert_logged_out(logout_with_refresh_token(&app, &root.refresh_token).await).await;
    assert_token_refused(get_settings(&app, &acme_id, root_token).await, "SESSION_REVOKED").await;
    app.drop().await;
}

// ---- outages -------------------------------------------------------------------------------

#[tokio::test]
async fn a_stopped_database_gives_503_to_refresh_logout_verify_token_and_settings_within_seconds() {
    let mongo = OwnMongo::start().await;
    let app = TestApp::spawn(Options::new("session_down").mongo(mongo.uri.clone())).await;
    let org = app.add_org("Acme", 1, doc! {}).await;
    let session = login_sso(&app, "outage-session@acme.example").await;
    mongo.stop();
    let started = std::time::Instant::now();
    let bearer = format!("Bearer {}", session.token);
    for res in [
        refresh(&app, &session.refresh_token).await,
        logout_with_refresh_token(&app, &session.refresh_token).await,
        verify_token(&app, Some(&bearer)).await,
        get_settings(&app, &org.to_hex(), Some(&session.token)).await,
    ] {
        let body = assert_error(res, 503, "STORE_UNAVAILABLE").await;
        assert!(!body.to_string().contains("mongodb://"), "{body}");
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "answered in {:?}",
        started.elapsed()
    );
}
