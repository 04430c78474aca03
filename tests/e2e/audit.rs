//! The audit trail over HTTP against the real peers: a new user's login with the rule
//! that let it in, its address and request id, the logout, a refused login with its
//! code, read back through `GET /api/audit-events` by a SUPERADMIN; an ADMIN of
//! another organization reads none of it; no stored document (audit records first)
//! holds a token or a code.

use std::time::{Duration, Instant};

use mongodb::bson::doc;
use serde_json::{Value, json};

use crate::support::*;

/// Posts a callback with `code` under the request id `request_id`.
async fn callback_as(app: &TestApp, code: &str, request_id: &str) -> reqwest::Response {
    answer(
        app.at(reqwest::Method::POST, "/api/auth/workos/callback")
            .header("x-request-id", request_id)
            .header("user-agent", "AuditBrowser/1.0")
            .json(&json!({ "code": code })),
    )
    .await
}

/// `GET /api/audit-events?{query}` with `token`: status and body.
async fn audit_events(app: &TestApp, token: &str, query: &str) -> (u16, Value) {
    let res = answer(
        app.at(reqwest::Method::GET, &format!("/api/audit-events?{query}"))
            .bearer_auth(token),
    )
    .await;
    (res.status().as_u16(), res.json().await.unwrap())
}

/// The records of `query` once `ready` holds for them (the writer stores within
/// about 200 ms), newest first.
async fn settled(app: &TestApp, token: &str, query: &str, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, body) = audit_events(app, token, query).await;
        assert_eq!(status, 200, "{body}");
        let events = body["events"].as_array().cloned().unwrap_or_default();
        if ready(&events) {
            return events;
        }
        assert!(Instant::now() < deadline, "not stored in time: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_trail_shows_who_signed_in_by_which_rule_from_where_the_logout_and_a_refusal() {
    let app = TestApp::spawn(Options::new("audit")).await;
    let browser = Browser::default();
    let acme = app.add_mapped_org("Acme", 10, doc! {}).await;
    let ceo = app.add_user("ceo@acme.example", "ADMIN", acme).await;
    let other = app.add_org("Other", 5, doc! {}).await;
    app.add_user("jane@authkit.example", "SUPERADMIN", other).await;
    app.add_user("sam@authkit.example", "ADMIN", other).await;
    let mut issued: Vec<String> = Vec::new();

    // A new user of Acme, through Acme's own connection.
    let code = browser.sso_code("acme.example", "new.hire@acme.example").await;
    issued.push(code.clone());
    let newcomer = ok(callback_as(&app, &code, "e2e-audit-login-1").await).await;
    let newcomer_id = newcomer["user"]["id"].as_str().unwrap().to_owned();
    // Globex's connection asserts the CEO's address: refused.
    let code = browser.sso_code("globex.example", "ceo@acme.example").await;
    issued.push(code.clone());
    assert_error(
        callback_as(&app, &code, "e2e-audit-refused-1").await,
        409,
        "ACCOUNT_LINK_REQUIRED",
    )
    .await;
    // The newcomer signs out.
    let res = answer(
        app.at(reqwest::Method::POST, "/api/auth/logout")
            .header("x-request-id", "e2e-audit-logout-1")
            .json(&json!({ "refreshToken": newcomer["refreshToken"] })),
    )
    .await;
    assert_eq!(res.status().as_u16(), 200);
    // The administrators sign in (AuthKit vouches for their addresses).
    let sign_in = |email: &'static str| {
        let browser = &browser;
        let app = &app;
        async move {
            let code = browser.authkit_code(email).await;
            (
                code.clone(),
                ok(app.callback(json!({ "code": code })).await).await,
            )
        }
    };
    let (code, jane) = sign_in("jane@authkit.example").await;
    issued.push(code);
    let (code, sam) = sign_in("sam@authkit.example").await;
    issued.push(code);
    for session in [&newcomer, &jane, &sam] {
        issued.push(session["token"].as_str().unwrap().to_owned());
        issued.push(session["refreshToken"].as_str().unwrap().to_owned());
    }
    let superadmin = jane["token"].as_str().unwrap();

    // The newcomer's records: the login with its rule, address and request id; the logout.
    let records = settled(&app, superadmin, &format!("userId={newcomer_id}"), |e| {
        e.len() >= 2
    })
    .await;
    let kinds: Vec<&str> = records.iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["session.revoked", "login.succeeded"],
        "newest first: {records:#?}"
    );
    let login = &records[1];
    assert_eq!(
        login["detail"],
        json!({"rule": "created_in_mapped_organization", "api": "sso"})
    );
    assert_eq!(login["outcome"], "success");
    assert_eq!(login["actor"], json!({"system": "service"}));
    assert_eq!(login["organizationId"], acme.to_hex());
    assert_eq!(login["ip"], "127.0.0.1");
    assert_eq!(login["userAgent"], "AuditBrowser/1.0");
    assert_eq!(login["requestId"], "e2e-audit-login-1");
    assert!(login["sessionId"].is_string(), "{login}");
    let logout = &records[0];
    assert_eq!(logout["detail"], json!({"reason": "logout"}));
    assert_eq!(logout["actor"], json!({"userId": newcomer_id}));
    assert_eq!(logout["sessionId"], login["sessionId"]);
    assert_eq!(logout["requestId"], "e2e-audit-logout-1");

    // The refusal: its code, the user the address matched, the request id.
    let refused = settled(&app, superadmin, "type=login.refused", |e| !e.is_empty()).await;
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert_eq!(refused[0]["outcome"], "refused");
    assert_eq!(
        refused[0]["detail"],
        json!({"code": "ACCOUNT_LINK_REQUIRED", "api": "sso"})
    );
    assert_eq!(refused[0]["userId"], ceo.to_hex());
    assert_eq!(refused[0]["requestId"], "e2e-audit-refused-1");

    // Pages: one record at a time, each `before` the last id seen.
    let (_, first) = audit_events(&app, superadmin, "limit=1").await;
    let before = first["nextBefore"].as_str().expect("a next page").to_owned();
    assert_eq!(first["events"][0]["id"], before.as_str());
    let (_, second) = audit_events(&app, superadmin, &format!("limit=1&before={before}")).await;
    assert!(
        second["events"][0]["id"].as_str().unwrap() < before.as_str(),
        "older: {second}"
    );

    // An ADMIN of another organization sees none of Acme's records.
    let admin = sam["token"].as_str().unwrap();
    // Their own organization's two sign-ins (stored off the request path).
    let theirs = settled(&app, admin, "limit=200", |e| e.len() >= 2).await;
    for record in &theirs {
        assert_eq!(record["organizationId"], other.to_hex(), "{record}");
    }
    for query in [
        format!("userId={newcomer_id}"),
        format!("organizationId={}", acme.to_hex()),
        "type=login.refused".to_owned(),
    ] {
        let (status, body) = audit_events(&app, admin, &query).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["events"], json!([]), "{query}: {body}");
    }

    // Who else asks: refused, typed.
    let (status, body) = audit_events(&app, superadmin, "limit=500").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("INVALID_REQUEST")),
        "{body}"
    );
    let (status, body) = audit_events(&app, superadmin, "type=%3Cscript%3E").await;
    assert_eq!(status, 400);
    assert!(!body.to_string().contains("script"), "not echoed: {body}");
    let member = newcomer["token"].as_str().unwrap();
    let (status, body) = audit_events(&app, member, "").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("SESSION_REVOKED")),
        "{body}"
    );
    let code = browser.sso_code("acme.example", "new.hire@acme.example").await;
    issued.push(code.clone());
    let again = ok(app.callback(json!({ "code": code })).await).await;
    issued.push(again["token"].as_str().unwrap().to_owned());
    issued.push(again["refreshToken"].as_str().unwrap().to_owned());
    let (status, body) = audit_events(&app, again["token"].as_str().unwrap(), "").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("FORBIDDEN")),
        "{body}"
    );
    let res = app.get("/api/audit-events").await;
    assert_error(res, 401, "MISSING_TOKEN").await;

    // No stored record holds a token or a code the service saw.
    settled(&app, superadmin, &format!("userId={newcomer_id}"), |e| {
        e.len() >= 3
    })
    .await;
    let stored = whole_database(&app).await;
    let records: Vec<&str> = stored
        .lines()
        .filter(|l| l.starts_with("audit_events: "))
        .collect();
    assert!(records.len() >= 6, "{stored}");
    for secret in &issued {
        assert!(
            !stored.contains(secret.as_str()),
            "a stored document holds {secret}"
        );
    }
    app.drop().await;
}
