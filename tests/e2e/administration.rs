//! Sessions and sign-in administered, against the real peers: a SUPERADMIN lists and
//! ends a user's sessions, an ADMIN of another organization sees none of them, a
//! person signs out everywhere else, and disabling a user signs them out and keeps
//! them out until they are enabled again.

use mongodb::bson::{Document, doc, oid::ObjectId};
use serde_json::{Value, json};

use crate::support::*;

/// The people of these tests (AuthKit users of the emulator's seed).
const SAM: &str = "sam@authkit.example";
const JANE: &str = "jane@authkit.example";
const UNA: &str = "una@authkit.example";

/// One signed-in session: its tokens and its id.
#[derive(Debug, Clone)]
struct Signed {
    token: String,
    refresh_token: String,
    sid: String,
    user_id: String,
}

/// A world: Acme (the oldest organization) with Jane, a SALES_REP; Other with Sam, the
/// SUPERADMIN, and Una, its ADMIN.
struct World {
    app: TestApp,
    other: ObjectId,
}

impl World {
    async fn new(tag: &'static str) -> Self {
        let app = TestApp::spawn(Options::new(tag)).await;
        let acme = app.add_org("Acme", 10, doc! {}).await;
        let other = app.add_org("Other", 5, doc! {}).await;
        app.add_user(SAM, "SUPERADMIN", other).await;
        app.add_user(JANE, "SALES_REP", acme).await;
        Self { app, other }
    }

    /// Signs in `email` from a browser that says it is `user_agent`.
    async fn sign_in(&self, email: &str, user_agent: &str) -> Signed {
        let res = self.login(email, user_agent).await;
        let status = res.status().as_u16();
        let body: Value = res.json().await.expect("a JSON body");
        assert_eq!(status, 200, "{body}");
        let token = body["token"].as_str().expect("a token").to_owned();
        let claims = verify_jwt(&token);
        Signed {
            refresh_token: body["refreshToken"].as_str().expect("a refresh token").to_owned(),
            sid: claims["sid"].as_str().expect("a sid").to_owned(),
            user_id: body["user"]["id"].as_str().expect("a user id").to_owned(),
            token,
        }
    }

    /// A login of `email` posted with this `User-Agent`.
    async fn login(&self, email: &str, user_agent: &str) -> reqwest::Response {
        let code = Browser::default().authkit_code(email).await;
        answer(
            self.app
                .at(reqwest::Method::POST, "/api/auth/workos/callback")
                .header("user-agent", user_agent)
                .json(&json!({"code": code})),
        )
        .await
    }

    /// Una signed in, then made the ADMIN of Other (roles are read from the database).
    async fn una_admin_of_other(&self) -> Signed {
        let una = self.sign_in(UNA, "una-browser").await;
        self.app
            .users()
            .update_one(
                doc! {"_id": ObjectId::parse_str(&una.user_id).unwrap()},
                doc! {"$set": {"accessRole": "ADMIN", "organizationId": self.other}},
            )
            .await
            .unwrap();
        una
    }

    /// `method` on `path` with `token` as the bearer.
    async fn call(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::Response {
        self.app
            .http
            .request(method, format!("{}{path}", self.app.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("answered")
    }

    async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.call(reqwest::Method::GET, path, token).await
    }

    async fn delete(&self, path: &str, token: &str) -> reqwest::Response {
        self.call(reqwest::Method::DELETE, path, token).await
    }

    /// `PUT /api/users/{id}/login-disabled` with `body`.
    async fn put_disabled(&self, user_id: &str, token: &str, body: Value) -> reqwest::Response {
        answer(
            self.app
                .at(
                    reqwest::Method::PUT,
                    &format!("/api/users/{user_id}/login-disabled"),
                )
                .bearer_auth(token)
                .json(&body),
        )
        .await
    }

    /// `GET /api/auth/verify-token` with `token`: its status and code.
    async fn verify(&self, token: &str) -> (u16, String) {
        let res = self.get("/api/auth/verify-token", token).await;
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or_default();
        (status, body["code"].as_str().unwrap_or_default().to_owned())
    }

    /// `POST /api/auth/refresh` with `refresh_token`: its status and code.
    async fn refresh(&self, refresh_token: &str) -> (u16, String) {
        let res = crate::session::refresh(&self.app, refresh_token).await;
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or_default();
        (status, body["code"].as_str().unwrap_or_default().to_owned())
    }

    fn sessions(&self) -> mongodb::Collection<Document> {
        self.app.db.collection("sessions")
    }

    async fn session_doc(&self, sid: &str) -> Document {
        self.sessions()
            .find_one(doc! {"_id": sid})
            .await
            .unwrap()
            .expect("the session is stored")
    }
}

/// A 200 answer's JSON body.
async fn ok(res: reqwest::Response) -> Value {
    let status = res.status().as_u16();
    let cache = res.headers().get("cache-control").cloned();
    let body: Value = res.json().await.expect("a JSON body");
    assert_eq!(status, 200, "{body}");
    assert_eq!(cache.as_ref().and_then(|v| v.to_str().ok()), Some("no-store"));
    body
}

fn listed_ids(body: &Value) -> Vec<String> {
    body["sessions"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| s["id"].as_str().expect("an id").to_owned())
        .collect()
}

#[tokio::test]
async fn a_superadmin_lists_a_users_two_sessions_ends_them_and_every_token_of_them_stops() {
    let w = World::new("admin_sessions").await;
    let sam = w.sign_in(SAM, "sam-console").await;
    let first = w.sign_in(JANE, "E2E-Browser/1.0 (first)").await;
    let second = w.sign_in(JANE, "E2E-Browser/1.0\t(second)").await;
    let jane = &first.user_id;

    let path = format!("/api/users/{jane}/sessions");
    let listed = ok(w.get(&path, &sam.token).await).await;
    assert_eq!(
        listed_ids(&listed),
        [second.sid.clone(), first.sid.clone()],
        "newest first"
    );
    let oldest = &listed["sessions"][1];
    let mut keys: Vec<&str> = oldest.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "current",
            "endsAt",
            "flow",
            "id",
            "ip",
            "lastRefreshedAt",
            "startedAt",
            "userAgent"
        ]
    );
    assert_eq!(oldest["flow"], "authkit");
    assert_eq!(oldest["ip"], "127.0.0.1");
    assert_eq!(oldest["userAgent"], "E2E-Browser/1.0 (first)");
    assert_eq!(oldest["current"], false);
    assert_eq!(oldest["lastRefreshedAt"], Value::Null);
    assert_eq!(
        listed["sessions"][0]["userAgent"], "E2E-Browser/1.0(second)",
        "control characters removed"
    );
    let text = listed.to_string();
    for secret in [&first, &second].iter().flat_map(|s| {
        [
            s.token.clone(),
            s.refresh_token.clone(),
            sha256_hex(&s.refresh_token),
        ]
    }) {
        assert!(!text.contains(&secret), "no token or digest in the list");
    }
    let stored = w.session_doc(&first.sid).await;
    assert_eq!(
        (
            stored.get_str("flow"),
            stored.get_str("ip"),
            stored.get_str("userAgent")
        ),
        (Ok("authkit"), Ok("127.0.0.1"), Ok("E2E-Browser/1.0 (first)"))
    );

    // One, then the rest.
    let one = ok(w.delete(&format!("{path}/{}", first.sid), &sam.token).await).await;
    assert_eq!(one, json!({"revoked": 1}));
    assert_eq!(w.verify(&first.token).await, (401, "SESSION_REVOKED".to_owned()));
    assert_eq!(w.verify(&second.token).await.0, 200, "the other one lives");
    let gone = w.delete(&format!("{path}/{}", first.sid), &sam.token).await;
    assert_error(gone, 404, "SESSION_NOT_FOUND").await;
    let all = ok(w.delete(&path, &sam.token).await).await;
    assert_eq!(all, json!({"revoked": 1}));

    for ended in [&first, &second] {
        assert_eq!(w.verify(&ended.token).await, (401, "SESSION_REVOKED".to_owned()));
        assert_eq!(
            w.refresh(&ended.refresh_token).await,
            (401, "REFRESH_TOKEN_REVOKED".to_owned())
        );
        assert_eq!(
            w.session_doc(&ended.sid).await.get_str("revokedReason"),
            Ok("admin")
        );
    }
    let empty = ok(w.get(&path, &sam.token).await).await;
    assert_eq!(empty, json!({"sessions": []}));
    assert_eq!(
        w.verify(&sam.token).await.0,
        200,
        "the SUPERADMIN's own session lives"
    );
    w.app.drop().await;
}

#[tokio::test]
async fn an_admin_of_another_organization_gets_404_and_a_sales_rep_403() {
    let w = World::new("admin_reach").await;
    let jane = w.sign_in(JANE, "jane-browser").await;
    let una = w.una_admin_of_other().await;
    let sam = w.sign_in(SAM, "sam-console").await;

    let jane_sessions = format!("/api/users/{}/sessions", jane.user_id);
    assert_error(w.get(&jane_sessions, &una.token).await, 404, "USER_NOT_FOUND").await;
    assert_error(w.delete(&jane_sessions, &una.token).await, 404, "USER_NOT_FOUND").await;
    let one = format!("{jane_sessions}/{}", jane.sid);
    assert_error(w.delete(&one, &una.token).await, 404, "USER_NOT_FOUND").await;
    let disable = w
        .put_disabled(&jane.user_id, &una.token, json!({"disabled": true}))
        .await;
    assert_error(disable, 404, "USER_NOT_FOUND").await;
    // The same answer as for an id nobody has.
    let nobody = format!("/api/users/{}/sessions", ObjectId::new().to_hex());
    assert_error(w.get(&nobody, &una.token).await, 404, "USER_NOT_FOUND").await;
    assert_error(
        w.get("/api/users/not-an-id/sessions", &una.token).await,
        400,
        "INVALID_USER_ID",
    )
    .await;
    // Her own organization's users she administers.
    let her_own = format!("/api/users/{}/sessions", sam.user_id);
    assert_eq!(
        listed_ids(&ok(w.get(&her_own, &una.token).await).await),
        [sam.sid.as_str()]
    );

    let sams = format!("/api/users/{}/sessions", sam.user_id);
    assert_error(w.get(&sams, &jane.token).await, 403, "FORBIDDEN").await;
    assert_error(w.delete(&sams, &jane.token).await, 403, "FORBIDDEN").await;
    let unauthenticated = w.app.get(&sams).await;
    assert_error(unauthenticated, 401, "MISSING_TOKEN").await;

    assert_eq!(w.verify(&jane.token).await.0, 200, "nothing was ended");
    assert_eq!(w.verify(&sam.token).await.0, 200);
    assert_eq!(
        w.app
            .user_doc(ObjectId::parse_str(&jane.user_id).unwrap())
            .await
            .get_bool("loginDisabled"),
        Ok(false)
    );
    w.app.drop().await;
}

#[tokio::test]
async fn a_person_ends_their_other_sessions_and_keeps_the_current_one() {
    let w = World::new("own_sessions").await;
    let laptop = w.sign_in(JANE, "laptop").await;
    let phone = w.sign_in(JANE, "phone").await;
    let current = w.sign_in(JANE, "desktop").await;
    let sam = w.sign_in(SAM, "sam-console").await;

    let listed = ok(w.get("/api/auth/sessions", &current.token).await).await;
    assert_eq!(
        listed_ids(&listed),
        [current.sid.clone(), phone.sid.clone(), laptop.sid.clone()]
    );
    let flags: Vec<&Value> = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["current"])
        .collect();
    assert_eq!(flags, [&json!(true), &json!(false), &json!(false)]);
    assert_eq!(listed["sessions"][2]["userAgent"], "laptop");

    // Another person's session is not hers to end.
    let not_hers = w
        .delete(&format!("/api/auth/sessions/{}", sam.sid), &current.token)
        .await;
    assert_error(not_hers, 404, "SESSION_NOT_FOUND").await;
    assert_eq!(w.verify(&sam.token).await.0, 200);

    let one = ok(w
        .delete(&format!("/api/auth/sessions/{}", laptop.sid), &current.token)
        .await)
    .await;
    assert_eq!(one, json!({"revoked": 1}));
    assert_eq!(w.verify(&laptop.token).await, (401, "SESSION_REVOKED".to_owned()));

    let everywhere = ok(w.delete("/api/auth/sessions", &current.token).await).await;
    assert_eq!(everywhere, json!({"revoked": 1}), "every other one");
    assert_eq!(
        w.refresh(&phone.refresh_token).await,
        (401, "REFRESH_TOKEN_REVOKED".to_owned())
    );
    assert_eq!(w.verify(&current.token).await.0, 200, "the current one stays");
    assert_eq!(
        w.session_doc(&phone.sid).await.get_str("revokedReason"),
        Ok("logout")
    );
    let left = ok(w.get("/api/auth/sessions", &current.token).await).await;
    assert_eq!(listed_ids(&left), [current.sid.as_str()]);

    let bad = w
        .delete("/api/auth/sessions?includeCurrent=maybe", &current.token)
        .await;
    assert_error(bad, 400, "INVALID_REQUEST").await;
    let all = ok(w
        .delete("/api/auth/sessions?includeCurrent=true", &current.token)
        .await)
    .await;
    assert_eq!(all, json!({"revoked": 1}));
    assert_eq!(
        w.verify(&current.token).await,
        (401, "SESSION_REVOKED".to_owned())
    );
    w.app.drop().await;
}

#[tokio::test]
async fn disabling_signs_a_user_out_and_blocks_login_and_enabling_restores_it() {
    let w = World::new("login_disabled").await;
    let jane = w.sign_in(JANE, "jane-browser").await;
    let sam = w.sign_in(SAM, "sam-console").await;

    // The token is judged before the body.
    let anonymous = send_raw(
        w.app.http.put(format!(
            "{}/api/users/{}/login-disabled",
            w.app.base, jane.user_id
        )),
        "application/json",
        "{not json",
    )
    .await;
    assert_error(anonymous, 401, "MISSING_TOKEN").await;
    for body in [
        json!({"reason": "no flag"}),
        json!({"disabled": "yes"}),
        json!([]),
    ] {
        let res = w.put_disabled(&jane.user_id, &sam.token, body.clone()).await;
        assert_error(res, 400, "INVALID_REQUEST").await;
    }
    let long = w
        .put_disabled(
            &jane.user_id,
            &sam.token,
            json!({"disabled": true, "reason": "x".repeat(257)}),
        )
        .await;
    assert_error(long, 400, "INVALID_REQUEST").await;
    let own = w
        .put_disabled(&sam.user_id, &sam.token, json!({"disabled": true}))
        .await;
    assert_error(own, 409, "CANNOT_DISABLE_SELF").await;
    assert_eq!(w.verify(&jane.token).await.0, 200, "nothing changed yet");

    let disabled = ok(w
        .put_disabled(
            &jane.user_id,
            &sam.token,
            json!({"disabled": true, "reason": "left the company"}),
        )
        .await)
    .await;
    assert_eq!(
        disabled,
        json!({"userId": jane.user_id, "loginDisabled": true, "changed": true, "revokedSessions": 1})
    );
    assert_eq!(w.verify(&jane.token).await, (401, "LOGIN_DISABLED".to_owned()));
    assert_eq!(
        w.refresh(&jane.refresh_token).await,
        (403, "LOGIN_DISABLED".to_owned())
    );
    assert_error(w.login(JANE, "jane-browser").await, 403, "LOGIN_DISABLED").await;
    let stored = w.app.user_doc(ObjectId::parse_str(&jane.user_id).unwrap()).await;
    assert_eq!(stored.get_bool("loginDisabled"), Ok(true));
    assert_eq!(
        stored.get_document("disabledBy").unwrap(),
        &doc! {"userId": ObjectId::parse_str(&sam.user_id).unwrap()}
    );
    assert_eq!(stored.get_str("disabledReason"), Ok("left the company"));
    assert!(stored.get_datetime("disabledAt").is_ok());
    assert_eq!(
        w.session_doc(&jane.sid).await.get_str("revokedReason"),
        Ok("admin")
    );

    let enabled = ok(w
        .put_disabled(&jane.user_id, &sam.token, json!({"disabled": false}))
        .await)
    .await;
    assert_eq!(
        enabled,
        json!({"userId": jane.user_id, "loginDisabled": false, "changed": true, "revokedSessions": 0})
    );
    let stored = w.app.user_doc(ObjectId::parse_str(&jane.user_id).unwrap()).await;
    assert_eq!(stored.get_bool("loginDisabled"), Ok(false));
    assert!(!stored.contains_key("disabledBy"), "{stored}");
    let back = w.sign_in(JANE, "jane-browser").await;
    assert_eq!(w.verify(&back.token).await.0, 200, "signs in again");
    assert_eq!(
        w.verify(&jane.token).await,
        (401, "SESSION_REVOKED".to_owned()),
        "a session ended stays ended"
    );
    w.app.drop().await;
}
