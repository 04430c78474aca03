//! Link requests over HTTP against SecantusDB and WorkOS's emulator: a login refused
//! with `ACCOUNT_LINK_REQUIRED` names its request, a SUPERADMIN approves it and the
//! same identity then signs in as the matched user (the earlier WorkOS id kept in
//! `previousWorkosIds`); a SALES_REP may not, an ADMIN of another organization reads it
//! as absent, and an approval is refused while another user carries the identity.

use mongodb::bson::{Document, doc, oid::ObjectId};
use serde_json::json;

use crate::support::*;

/// A real SSO login of `email` through the connection of `domain`.
async fn sso_login(app: &TestApp, domain: &str, email: &str) -> reqwest::Response {
    let code = Browser::default().sso_code(domain, email).await;
    app.callback(json!({ "code": code })).await
}

/// The access token of a login that must succeed.
async fn token_of(app: &TestApp, email: &str) -> String {
    app.sso_session(email).await["token"].as_str().unwrap().to_owned()
}

async fn list(app: &TestApp, token: &str, status: &str) -> reqwest::Response {
    let path = format!("/api/identity-link-requests?status={status}");
    app.send_as(reqwest::Method::GET, &path, token).await
}

async fn decide(app: &TestApp, token: &str, id: &str, decision: &str) -> reqwest::Response {
    let path = format!("/api/identity-link-requests/{id}/{decision}");
    app.send_as(reqwest::Method::POST, &path, token).await
}

async fn add_user_with(
    app: &TestApp,
    email: &str,
    role: &str,
    organization: ObjectId,
    extra: Document,
) -> ObjectId {
    let id = app.add_user(email, role, organization).await;
    app.users()
        .update_one(doc! { "_id": id }, doc! { "$set": extra })
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn a_refused_login_is_approved_by_a_superadmin_and_the_identity_then_signs_in_as_the_user() {
    let app = TestApp::spawn(Options::new("link_requests")).await;
    let acme_workos = workos_org_id("Acme").await;
    let initech_workos = workos_org_id("Initech").await;
    let acme = app
        .add_org("Acme", 2, doc! { "workosOrganizationId": &acme_workos })
        .await;
    let initech = app
        .add_org("Initech", 1, doc! { "workosOrganizationId": &initech_workos })
        .await;
    app.add_user("root@acme.example", "SUPERADMIN", acme).await;
    app.add_user("rep@acme.example", "SALES_REP", acme).await;
    app.add_user("boss@initech.example", "ADMIN", initech).await;
    let jane = add_user_with(
        &app,
        "jane@acme.example",
        "SALES_REP",
        acme,
        doc! { "workosProfileId": "prof_01EARLIER" },
    )
    .await;
    let root = token_of(&app, "root@acme.example").await;
    let rep = token_of(&app, "rep@acme.example").await;
    let boss = token_of(&app, "boss@initech.example").await;
    let before = app.user_doc(jane).await;
    let (users, sessions) = (app.user_count().await, app.session_count().await);

    // Jane's profile at Acme's IdP is not the one she carries: refused, with a request.
    let refused = assert_error(
        sso_login(&app, "acme.example", "jane@acme.example").await,
        409,
        "ACCOUNT_LINK_REQUIRED",
    )
    .await;
    let id = refused["linkRequestId"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 24, "{refused}");
    let again = assert_error(
        sso_login(&app, "acme.example", "jane@acme.example").await,
        409,
        "ACCOUNT_LINK_REQUIRED",
    )
    .await;
    assert_eq!(
        again["linkRequestId"],
        id.as_str(),
        "a repeat refusal names the same request"
    );
    assert_eq!(
        app.user_doc(jane).await,
        before,
        "the refusal wrote nothing on the user"
    );
    assert_eq!(
        (app.user_count().await, app.session_count().await),
        (users, sessions),
        "a refused login writes only its link request"
    );

    let listed = ok(list(&app, &root, "pending").await).await;
    let requests = listed["linkRequests"].as_array().unwrap();
    assert_eq!(requests.len(), 1, "{listed}");
    let request = &requests[0];
    assert_eq!(request["id"], id.as_str());
    assert_eq!(request["userId"], jane.to_hex());
    assert_eq!(request["organizationId"], acme.to_hex());
    assert_eq!(request["api"], "sso");
    assert_eq!(request["email"], "jane@acme.example");
    assert_eq!(request["workosOrganizationId"], acme_workos.as_str());
    assert_eq!(request["status"], "pending");
    let new_profile = request["workosId"].as_str().unwrap().to_owned();
    assert!(new_profile.starts_with("prof_"), "{request}");
    let stored = app
        .db
        .collection::<Document>("identity_link_requests")
        .find_one(doc! {})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.get_str("workosId").unwrap(), new_profile);

    // Who may decide.
    assert_error(decide(&app, &rep, &id, "approve").await, 403, "FORBIDDEN").await;
    assert_error(list(&app, &rep, "pending").await, 403, "FORBIDDEN").await;
    assert_error(
        decide(&app, &boss, &id, "approve").await,
        404,
        "LINK_REQUEST_NOT_FOUND",
    )
    .await;
    assert_error(
        decide(&app, &boss, &id, "reject").await,
        404,
        "LINK_REQUEST_NOT_FOUND",
    )
    .await;
    let theirs = ok(list(&app, &boss, "pending").await).await;
    assert_eq!(
        theirs["linkRequests"],
        json!([]),
        "another organization's requests are not listed"
    );

    // Another user carries the identity: refused, nothing written.
    let squatter = add_user_with(
        &app,
        "squatter@acme.example",
        "SALES_REP",
        acme,
        doc! { "workosProfileId": &new_profile },
    )
    .await;
    assert_error(decide(&app, &root, &id, "approve").await, 409, "CONFLICT").await;
    assert_eq!(app.user_doc(jane).await, before);
    assert_eq!(
        ok(list(&app, &root, "pending").await).await["linkRequests"][0]["id"],
        id.as_str()
    );
    app.users().delete_one(doc! { "_id": squatter }).await.unwrap();

    // Approved: the next login of the identity signs in as Jane.
    let approved = ok(decide(&app, &root, &id, "approve").await).await;
    assert_eq!(approved["status"], "approved");
    assert!(approved["decidedAt"].is_string(), "{approved}");
    assert!(approved["decidedBy"]["userId"].is_string(), "{approved}");
    let linked = app.user_doc(jane).await;
    assert_eq!(linked.get_str("workosProfileId").unwrap(), new_profile);
    let previous = linked.get_array("previousWorkosIds").unwrap();
    assert_eq!(previous.len(), 1);
    let previous = previous[0].as_document().unwrap();
    assert_eq!(previous.get_str("api").unwrap(), "sso");
    assert_eq!(previous.get_str("id").unwrap(), "prof_01EARLIER");
    assert_eq!(
        linked.get_str("phone").unwrap(),
        "+1 555 0100",
        "other fields survive"
    );

    let res = sso_login(&app, "acme.example", "jane@acme.example").await;
    let session = ok(res).await;
    assert_eq!(session["user"]["id"], jane.to_hex(), "the same user signs in");
    assert_error(
        decide(&app, &root, &id, "reject").await,
        409,
        "LINK_REQUEST_NOT_PENDING",
    )
    .await;
    assert_eq!(
        ok(list(&app, &root, "approved").await).await["linkRequests"][0]["id"],
        id.as_str()
    );
    assert_error(list(&app, &root, "open").await, 400, "INVALID_REQUEST").await;
    app.drop().await;
}
