//! A login WorkOS answers with a step (organization selection, e-mail verification) is
//! finished through the service, which alone holds the API key: over HTTP against
//! SecantusDB and a WorkOS stand-in that issues pending tokens (WorkOS's emulator
//! implements the grants but never issues one; the request shape is checked against it
//! in `crates/workos/tests/emulator.rs`).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use mongodb::bson::doc;
use serde_json::{Value, json};

use crate::support::*;

/// What the stand-in received: every AuthKit request body.
type Received = Arc<Mutex<Vec<Value>>>;

/// A WorkOS whose AuthKit answers codes `needs-org` and `needs-email` with a step, and
/// finishes each step once with its pending token (and the code `123456`).
async fn stepping_workos() -> (String, Received) {
    let received: Received = Arc::default();
    let used: Arc<Mutex<HashSet<String>>> = Arc::default();
    let log = received.clone();
    let url = stand_in(move |head, body| {
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let (status, answer) = if head.starts_with("POST /sso/token ") {
            (
                400,
                json!({"error": "invalid_grant", "error_description": "not an SSO code"}),
            )
        } else if head.starts_with("POST /user_management/authenticate ") {
            log.lock().unwrap().push(body.clone());
            answer_authkit(&body, &used)
        } else {
            (404, json!({"message": "Not found"}))
        };
        async move { (status, Vec::new(), answer.to_string().into_bytes()) }
    })
    .await;
    (url, received)
}

fn answer_authkit(body: &Value, used: &Mutex<HashSet<String>>) -> (u16, Value) {
    let field = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
    let take = |token: &str| used.lock().unwrap().insert(token.to_owned());
    let invalid_token = || {
        (
            400,
            json!({"code": "invalid_pending_authentication_token", "message": "Invalid pending authentication token"}),
        )
    };
    match field("grant_type").as_str() {
        "authorization_code" if field("code") == "needs-org" => (
            403,
            json!({
                "code": "organization_selection_required",
                "message": "The user must choose an organization.",
                "pending_authentication_token": "pat_org_1",
                "organizations": [{"id": "org_01STEPA", "name": "Step A"}, {"id": "org_01STEPB", "name": "Step B"}],
                "user": {"id": "user_step_1", "email": "picker@step.example"},
            }),
        ),
        "authorization_code" if field("code") == "needs-email" => (
            403,
            json!({
                "code": "email_verification_required",
                "message": "Email ownership must be verified before authentication.",
                "pending_authentication_token": "pat_email_1",
                "email": "verify@step.example",
            }),
        ),
        "urn:workos:oauth:grant-type:organization-selection" => {
            if field("pending_authentication_token") != "pat_org_1" || !take("pat_org_1") {
                return invalid_token();
            }
            (
                200,
                json!({
                    "user": {"id": "user_step_1", "email": "picker@step.example", "email_verified": true},
                    "organization_id": field("organization_id"),
                }),
            )
        }
        "urn:workos:oauth:grant-type:email-verification:code" => {
            if field("pending_authentication_token") != "pat_email_1" {
                return invalid_token();
            }
            if field("code") != "123456" {
                return (
                    400,
                    json!({"code": "invalid_one_time_code", "message": "Invalid code"}),
                );
            }
            if !take("pat_email_1") {
                return invalid_token();
            }
            (
                200,
                json!({"user": {"id": "user_step_2", "email": "verify@step.example", "email_verified": true}}),
            )
        }
        _ => (400, json!({"error": "invalid_grant"})),
    }
}

async fn post(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    answer(
        app.at(reqwest::Method::POST, path)
            .header("user-agent", "StepBrowser/1.0")
            .json(&body),
    )
    .await
}

#[tokio::test]
async fn an_organization_picked_after_the_callbacks_403_finishes_the_login_in_the_mapped_organization() {
    let (workos, received) = stepping_workos().await;
    let app = TestApp::spawn(Options::new("step_org").workos(workos)).await;
    app.add_org("Oldest", 30, doc! {}).await;
    let step_b = app
        .add_org("Step B", 3, doc! {"workosOrganizationId": "org_01STEPB"})
        .await;

    let res = post(&app, "/api/auth/workos/callback", json!({"code": "needs-org"})).await;
    let step = assert_error(res, 403, "ORGANIZATION_SELECTION_REQUIRED").await;
    assert_eq!(step["pendingAuthenticationToken"], "pat_org_1");
    assert_eq!(step["organizations"][1]["id"], "org_01STEPB");

    let selection = "/api/auth/workos/authkit/organization-selection";
    assert_error(
        post(
            &app,
            selection,
            json!({"pendingAuthenticationToken": "pat_org_1"}),
        )
        .await,
        400,
        "INVALID_REQUEST",
    )
    .await;
    assert_error(
        post(
            &app,
            selection,
            json!({"pendingAuthenticationToken": "pat_org_1", "organizationId": "acme"}),
        )
        .await,
        400,
        "INVALID_REQUEST",
    )
    .await;
    let picked = json!({"pendingAuthenticationToken": "pat_org_1", "organizationId": "org_01STEPB"});
    let res = post(&app, selection, picked.clone()).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let session: Value = res.json().await.unwrap();
    assert_eq!(session["user"]["email"], "picker@step.example");
    assert_eq!(
        session["user"]["organizationId"],
        step_b.to_hex(),
        "the mapped organization"
    );
    assert_eq!(
        verify_jwt(session["token"].as_str().unwrap())["email"],
        "picker@step.example"
    );
    assert!(session["refreshToken"].as_str().unwrap().starts_with("rt_"));

    // The pending token is single-use.
    assert_error(post(&app, selection, picked).await, 401, "INVALID_CODE").await;
    // WorkOS heard where the person is (the service's peer here) and with what.
    let bodies = received.lock().unwrap().clone();
    let grant = bodies
        .iter()
        .find(|b| b["grant_type"] == "urn:workos:oauth:grant-type:organization-selection")
        .expect("the grant was sent");
    assert_eq!(grant["ip_address"], "127.0.0.1");
    assert_eq!(grant["user_agent"], "StepBrowser/1.0");
    assert_eq!(bodies[0]["grant_type"], "authorization_code");
    assert_eq!(
        bodies[0]["user_agent"], "StepBrowser/1.0",
        "the code exchange too"
    );
    assert_eq!(app.user_count().await, 1);
    app.drop().await;
}

#[tokio::test]
async fn the_emailed_code_after_the_callbacks_403_finishes_the_login_and_a_wrong_one_does_not() {
    let (workos, _) = stepping_workos().await;
    let app = TestApp::spawn(Options::new("step_email").workos(workos)).await;
    let oldest = app.add_org("Oldest", 30, doc! {}).await;

    let res = post(&app, "/api/auth/workos/callback", json!({"code": "needs-email"})).await;
    let step = assert_error(res, 403, "EMAIL_VERIFICATION_REQUIRED").await;
    assert_eq!(step["pendingAuthenticationToken"], "pat_email_1");

    let verification = "/api/auth/workos/authkit/email-verification";
    let wrong = json!({"pendingAuthenticationToken": "pat_email_1", "code": "000000"});
    assert_error(post(&app, verification, wrong).await, 401, "INVALID_CODE").await;
    let malformed = json!({"pendingAuthenticationToken": "pat_email_1", "code": "12 34"});
    assert_error(post(&app, verification, malformed).await, 400, "INVALID_REQUEST").await;
    assert_eq!(app.user_count().await, 0, "nobody created by a refused step");

    let right = json!({"pendingAuthenticationToken": "pat_email_1", "code": "123456"});
    let res = post(&app, verification, right).await;
    assert_eq!(res.status().as_u16(), 200);
    let session: Value = res.json().await.unwrap();
    assert_eq!(session["user"]["email"], "verify@step.example");
    assert_eq!(session["user"]["organizationId"], oldest.to_hex());
    app.drop().await;
}
