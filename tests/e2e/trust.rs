//! Who may become whom, and who joins which organization (docs/API.md), over HTTP
//! against SecantusDB and WorkOS's emulator. The emulator lets any SSO connection
//! assert any address (its profile carries the connection's WorkOS organization) and
//! seeds AuthKit users with `email_verified` true or false.

use mongodb::bson::{Document, doc, oid::ObjectId};
use serde_json::{Value, json};

use crate::support::*;

/// Posts a real SSO login for `email` through the connection of `domain`.
async fn sso_login(app: &TestApp, domain: &str, email: &str, extra: Value) -> reqwest::Response {
    let code = Browser::default().sso_code(domain, email).await;
    let mut body = json!({ "code": code });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    app.callback(body).await
}

/// Posts a real SSO login of `email` through the connection of `domain` that asks to
/// join `organization`.
async fn sso_login_asking(
    app: &TestApp,
    domain: &str,
    email: &str,
    organization: ObjectId,
) -> reqwest::Response {
    sso_login(
        app,
        domain,
        email,
        json!({"organizationId": organization.to_hex()}),
    )
    .await
}

/// The signed-in user of a 200 session answer.
async fn ok_user(res: reqwest::Response) -> Value {
    ok(res).await["user"].clone()
}

/// An SSO login of `email` through the connection of `domain` is refused with
/// `ACCOUNT_LINK_REQUIRED`, and `user`'s document stays as it was.
async fn assert_link_required_and_nothing_written(app: &TestApp, user: ObjectId, domain: &str, email: &str) {
    let before = app.user_doc(user).await;
    let res = sso_login(app, domain, email, json!({})).await;
    assert_error(res, 409, "ACCOUNT_LINK_REQUIRED").await;
    assert_eq!(
        app.user_doc(user).await,
        before,
        "the user's document is unchanged"
    );
}

#[tokio::test]
async fn another_companys_connection_asserting_a_users_address_cannot_sign_in_as_them() {
    let app = TestApp::spawn(Options::new("takeover")).await;
    let org = app.add_mapped_org("Acme", 1, doc! {}).await;
    let ceo = app.add_user("ceo@acme.example", "ADMIN", org).await;

    // Globex's IdP asserts the address (in another case): refused, nothing written.
    assert_link_required_and_nothing_written(&app, ceo, "globex.example", "CEO@Acme.Example").await;
    assert_eq!(app.user_count().await, 1);
    assert_eq!(app.refresh_token_count().await, 0, "no session was issued");

    // Acme's own connection vouches for the address: the user is reached and linked.
    let user = ok_user(sso_login(&app, "acme.example", "CEO@Acme.Example", json!({})).await).await;
    assert_eq!(user["id"], ceo.to_hex());
    assert_eq!(user["accessRole"], "ADMIN");
    let linked = app.user_doc(ceo).await;
    assert!(linked.get_str("workosProfileId").unwrap().starts_with("prof_"));
    assert_eq!(
        linked.get_str("phone").unwrap(),
        "+1 555 0100",
        "other fields survive"
    );

    // Globex's connection is refused again, now that the user carries Acme's profile.
    let res = sso_login(&app, "globex.example", "CEO@Acme.Example", json!({})).await;
    assert_error(res, 409, "ACCOUNT_LINK_REQUIRED").await;
    let after = app.user_doc(ceo).await;
    assert_eq!(
        after.get_str("workosProfileId").unwrap(),
        linked.get_str("workosProfileId").unwrap()
    );
    assert_eq!(app.user_count().await, 1);
    app.drop().await;
}

#[tokio::test]
async fn an_sso_login_through_an_unmapped_organization_cannot_reach_an_existing_user() {
    let (app, _, user) = spawn_with_acme_admin("unmapped_sso", "admin@acme.example").await;
    assert_link_required_and_nothing_written(&app, user, "acme.example", "admin@acme.example").await;
    app.drop().await;
}

#[tokio::test]
async fn an_unverified_authkit_address_is_refused_and_a_verified_one_links() {
    let app = TestApp::spawn(Options::new("authkit_link")).await;
    let org = app.add_org("Acme", 1, doc! {}).await;
    let una = app.add_user("una@authkit.example", "SALES_REP", org).await;
    let jane = app.add_user("Jane@AuthKit.example", "ADMIN", org).await;
    let before = app.user_doc(una).await;

    let code = Browser::default().authkit_code("una@authkit.example").await;
    assert_error(
        app.callback(json!({"code": code})).await,
        409,
        "ACCOUNT_LINK_REQUIRED",
    )
    .await;
    assert_eq!(
        app.user_doc(una).await,
        before,
        "nothing written for the unverified address"
    );

    let code = Browser::default().authkit_code("jane@authkit.example").await;
    let user = ok_user(app.callback(json!({"code": code})).await).await;
    assert_eq!(user["id"], jane.to_hex());
    assert!(
        app.user_doc(jane)
            .await
            .get_str("workosUserId")
            .unwrap()
            .starts_with("user_")
    );
    assert_eq!(app.user_count().await, 2);
    app.drop().await;
}

/// The oldest organization, unmapped, and a newer one mapped to Globex's WorkOS
/// organization; the mapped one's id.
async fn oldest_and_mapped_globex(app: &TestApp) -> ObjectId {
    app.add_org("Oldest", 30, doc! {}).await;
    app.add_mapped_org("Globex", 5, doc! {}).await
}

#[tokio::test]
async fn a_new_user_of_a_mapped_workos_organization_joins_it_and_nobody_else_does() {
    let app = TestApp::spawn(Options::new("org_choice")).await;
    let mapped = oldest_and_mapped_globex(&app).await;
    let other = app.add_org("Other", 1, doc! {}).await;

    // Naming another organization from a mapped WorkOS organization: 403, nothing written.
    let res = sso_login_asking(&app, "globex.example", "first@globex.example", other).await;
    assert_error(res, 403, "ORGANIZATION_MISMATCH").await;
    assert_eq!(app.user_count().await, 0);

    // Without a request, the mapped organization decides (not the oldest).
    let user = ok_user(sso_login(&app, "globex.example", "first@globex.example", json!({})).await).await;
    assert_eq!(user["organizationId"], mapped.to_hex());

    // A mapped organization is joined only through its own WorkOS organization.
    let res = sso_login_asking(&app, "acme.example", "intruder@acme.example", mapped).await;
    assert_error(res, 403, "ORGANIZATION_MISMATCH").await;
    let code = Browser::default().authkit_code("sam@authkit.example").await;
    let res = app
        .callback(json!({"code": code, "organizationId": mapped.to_hex()}))
        .await;
    assert_error(res, 403, "ORGANIZATION_MISMATCH").await;
    assert_eq!(app.user_count().await, 1, "the refused logins created nobody");

    // An unmapped organization by request still works as before.
    let user = ok_user(sso_login_asking(&app, "acme.example", "newcomer@acme.example", other).await).await;
    assert_eq!(user["organizationId"], other.to_hex());
    app.drop().await;
}

#[tokio::test]
async fn without_join_oldest_organization_a_new_user_with_no_other_choice_gets_409() {
    let app = TestApp::spawn(Options::new("no_oldest").env("JOIN_OLDEST_ORGANIZATION", "false")).await;
    app.add_org("Oldest", 30, doc! {}).await;
    let res = sso_login(&app, "acme.example", "nobody@acme.example", json!({})).await;
    assert_error(res, 409, "NO_ORGANIZATION").await;
    assert_eq!(app.user_count().await, 0);
    app.drop().await;
}

#[tokio::test]
async fn twenty_concurrent_first_logins_through_a_mapped_organization_make_one_user_in_it() {
    let app = TestApp::spawn(Options::new("trust_race")).await;
    let mapped = oldest_and_mapped_globex(&app).await;
    let browser = Browser::default();
    let mut codes = Vec::new();
    for _ in 0..20 {
        codes.push(browser.sso_code("globex.example", "Race@Globex.example").await);
    }
    let answers = futures_util::future::join_all(
        codes
            .into_iter()
            .map(|code| app.callback(json!({ "code": code }))),
    )
    .await;
    let mut ids = std::collections::BTreeSet::new();
    for res in answers {
        let user = ok_user(res).await;
        assert_eq!(user["organizationId"], mapped.to_hex());
        ids.insert(user["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "every login reached the same user");
    assert_eq!(app.user_count().await, 1);
    app.drop().await;
}

/// Signs in a SUPERADMIN (Acme, mapped) and an ADMIN (AuthKit, verified).
async fn admins(app: &TestApp, acme: ObjectId) -> (String, String) {
    app.add_user("root@acme.example", "SUPERADMIN", acme).await;
    app.add_user("jane@authkit.example", "ADMIN", acme).await;
    let root: Value = sso_login(app, "acme.example", "root@acme.example", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let code = Browser::default().authkit_code("jane@authkit.example").await;
    let jane: Value = app.callback(json!({"code": code})).await.json().await.unwrap();
    (
        root["token"].as_str().expect("root signed in").to_owned(),
        jane["token"].as_str().expect("jane signed in").to_owned(),
    )
}

fn mapping_url(app: &TestApp, organization: &str) -> String {
    format!(
        "{}/api/organizations/{organization}/workos-organization",
        app.base
    )
}

async fn put_mapping(app: &TestApp, organization: &str, token: &str, body: Value) -> reqwest::Response {
    answer(
        app.http
            .put(mapping_url(app, organization))
            .bearer_auth(token)
            .json(&body),
    )
    .await
}

async fn get_mapping(app: &TestApp, organization: &str, token: &str) -> reqwest::Response {
    answer(app.http.get(mapping_url(app, organization)).bearer_auth(token)).await
}

#[tokio::test]
async fn a_superadmin_maps_reads_and_unmaps_an_organization_and_nobody_else_may() {
    let app = TestApp::spawn(Options::new("mapping_route")).await;
    let acme_workos = workos_org_id("Acme").await;
    let acme = app
        .add_org("Acme", 3, doc! {"workosOrganizationId": &acme_workos})
        .await;
    let other = app.add_org("Other", 5, doc! {"plan": "gold"}).await;
    let (root, jane) = admins(&app, acme).await;
    let other_id = other.to_hex();

    let res = get_mapping(&app, &other_id, &root).await;
    assert_eq!(res.status().as_u16(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["workosOrganizationId"], Value::Null);

    let globex = workos_org_id("Globex").await;
    let res = put_mapping(&app, &other_id, &root, json!({"workosOrganizationId": &globex})).await;
    assert_eq!(res.status().as_u16(), 200);
    let body: Value = get_mapping(&app, &other_id, &root).await.json().await.unwrap();
    assert_eq!(body["data"]["workosOrganizationId"], globex.as_str());
    assert_eq!(body["data"]["organizationId"], other_id.as_str());
    let stored = app.org_doc(other).await;
    assert_eq!(stored.get_str("workosOrganizationId").unwrap(), globex);
    assert_eq!(stored.get_str("plan").unwrap(), "gold", "other fields survive");

    // Acme's WorkOS organization is taken: 409, nothing changed.
    let res = put_mapping(
        &app,
        &other_id,
        &root,
        json!({"workosOrganizationId": &acme_workos}),
    )
    .await;
    assert_error(res, 409, "CONFLICT").await;
    let body: Value = get_mapping(&app, &other_id, &root).await.json().await.unwrap();
    assert_eq!(body["data"]["workosOrganizationId"], globex.as_str());

    for bad in [
        json!({"workosOrganizationId": "not-an-org"}),
        json!({"workosOrganizationId": 42}),
        json!({"workosOrganizationId": "org_<script>"}),
        json!({"other": "org_1"}),
        json!([]),
    ] {
        let res = put_mapping(&app, &other_id, &root, bad.clone()).await;
        assert_error(res, 400, "INVALID_REQUEST").await;
    }
    // What each refusal says, and in which order the token, the body's shape, the role
    // and the `org_` rule are judged.
    let shape = "The request body must be {\"workosOrganizationId\": \"org_...\"} or {\"workosOrganizationId\": null}.";
    let not_org = "workosOrganizationId must be a WorkOS organization id (org_ followed by letters and digits) or null.";
    for (token, bad, status, code, message) in [
        (
            root.as_str(),
            json!({"workosOrganizationId": null, "other": 1}),
            400,
            "INVALID_REQUEST",
            Some(shape),
        ),
        (
            root.as_str(),
            json!({"workosOrganizationId": ["org_1"]}),
            400,
            "INVALID_REQUEST",
            Some(shape),
        ),
        (root.as_str(), json!({}), 400, "INVALID_REQUEST", Some(shape)),
        (
            root.as_str(),
            json!({"workosOrganizationId": "not-an-org"}),
            400,
            "INVALID_REQUEST",
            Some(not_org),
        ),
        ("not.a.jwt", json!([]), 401, "INVALID_TOKEN", None),
        (jane.as_str(), json!([]), 400, "INVALID_REQUEST", Some(shape)),
        (
            jane.as_str(),
            json!({"workosOrganizationId": "not-an-org"}),
            403,
            "FORBIDDEN",
            None,
        ),
    ] {
        let res = put_mapping(&app, &other_id, token, bad.clone()).await;
        let body = assert_error(res, status, code).await;
        if let Some(message) = message {
            assert_eq!(body["error"], message, "{bad}");
        }
    }
    let res = send_raw(
        app.http.put(mapping_url(&app, &other_id)).bearer_auth(&root),
        "application/json",
        "{\"workosOrganizationId\": nul",
    )
    .await;
    let body = assert_error(res, 400, "INVALID_REQUEST").await;
    assert_eq!(body["error"], shape);

    // An ADMIN may neither read nor change it.
    assert_error(get_mapping(&app, &other_id, &jane).await, 403, "FORBIDDEN").await;
    let res = put_mapping(&app, &other_id, &jane, json!({"workosOrganizationId": null})).await;
    assert_error(res, 403, "FORBIDDEN").await;

    // Unmapping removes the field.
    let res = put_mapping(&app, &other_id, &root, json!({"workosOrganizationId": null})).await;
    assert_eq!(res.status().as_u16(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["workosOrganizationId"], Value::Null);
    let stored = app.org_doc(other).await;
    assert!(!stored.contains_key("workosOrganizationId"));

    let missing = ObjectId::new().to_hex();
    assert_error(
        get_mapping(&app, &missing, &root).await,
        404,
        "ORGANIZATION_NOT_FOUND",
    )
    .await;
    assert_error(
        get_mapping(&app, "nope", &root).await,
        400,
        "INVALID_ORGANIZATION_ID",
    )
    .await;
    app.drop().await;
}

#[tokio::test]
async fn a_provider_error_echoes_nothing_the_client_sent_but_a_clean_code() {
    let (app, upstream) = spawn_with_silent_workos(Options::new("provider_echo")).await;
    let description = format!("<script>alert(1)</script> call +1 555 0199 {}", "x".repeat(5000));
    for error in ["<b>access_denied</b>", "Access Denied", &"a".repeat(65)] {
        let res = app
            .callback(json!({"error": error, "error_description": description}))
            .await;
        let body = assert_error(res, 400, "PROVIDER_ERROR").await;
        let text = body.to_string();
        assert!(
            !text.contains("script") && !text.contains("555") && !text.contains("<b>"),
            "{text}"
        );
        assert!(body.get("providerError").is_none(), "{text}");
    }
    let res = app
        .callback(json!({"error": "access_denied", "error_description": description}))
        .await;
    let body = assert_error(res, 400, "PROVIDER_ERROR").await;
    assert_eq!(body["providerError"], "access_denied");
    assert!(!body.to_string().contains("555"));
    assert_eq!(upstream.count(), 0, "WorkOS received no request");
    app.drop().await;
}

#[tokio::test]
async fn an_access_token_never_outlives_its_session() {
    let app = TestApp::spawn(Options::new("exp_cap").env("SESSION_ABSOLUTE_LIFETIME_DAYS", "1")).await;
    app.add_org("Acme", 1, doc! {"sessionSettings": {"tokenExpiryHours": 720}})
        .await;
    let res = sso_login(&app, "acme.example", "long@acme.example", json!({})).await;
    assert_eq!(res.status().as_u16(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["sessionConfig"]["tokenExpiryHours"], 720);
    let claims = verify_jwt(body["token"].as_str().unwrap());
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!(lifetime <= 86_400, "exp - iat = {lifetime}");
    assert!(
        lifetime > 86_000,
        "capped at the session end, not shorter: {lifetime}"
    );
    app.drop().await;
}

#[tokio::test]
async fn the_token_of_a_user_disabled_or_deleted_after_login_is_refused() {
    let app = TestApp::spawn(Options::new("disabled_after")).await;
    let acme = app.add_mapped_org("Acme", 3, doc! {}).await;
    let (root, jane) = admins(&app, acme).await;
    let acme_id = acme.to_hex();
    let settings = format!("{}/api/organizations/{acme_id}/session-settings", app.base);
    assert_eq!(app.verify(&root).await.status().as_u16(), 200);

    app.users()
        .update_one(
            doc! {"email": "root@acme.example"},
            doc! {"$set": {"loginDisabled": true}},
        )
        .await
        .unwrap();
    assert_error(app.verify(&root).await, 401, "LOGIN_DISABLED").await;
    let res = answer(app.http.get(&settings).bearer_auth(&root)).await;
    assert_error(res, 401, "LOGIN_DISABLED").await;
    assert_error(get_mapping(&app, &acme_id, &root).await, 401, "LOGIN_DISABLED").await;

    assert_eq!(app.verify(&jane).await.status().as_u16(), 200);
    app.users()
        .delete_one(doc! {"email": "jane@authkit.example"})
        .await
        .unwrap();
    assert_error(app.verify(&jane).await, 401, "INVALID_TOKEN").await;
    let res = answer(
        app.http
            .put(&settings)
            .bearer_auth(&jane)
            .json(&json!({"idleTimeoutMinutes": 20})),
    )
    .await;
    assert_error(res, 401, "INVALID_TOKEN").await;
    app.drop().await;
}

async fn authorize_with_state(app: &TestApp, state: &str) -> reqwest::Response {
    answer(app.http.get(format!(
        "{}/api/auth/workos/authorize?state={}&login_hint=jane%40authkit.example",
        app.base,
        encode(state)
    )))
    .await
}

#[tokio::test]
async fn a_spa_state_needs_22_url_safe_characters() {
    let app = TestApp::spawn(Options::new("state_rule").strict_states()).await;
    for bad in [
        "abc",
        &"a".repeat(21),
        "aaaaaaaaaaaaaaaaaaaaa/b",
        "aaaaaaaaaaaaaaaaaaaaa b",
        &"a".repeat(513),
    ] {
        let res = authorize_with_state(&app, bad).await;
        let body = assert_error(res, 400, "INVALID_REQUEST").await;
        assert!(body["error"].as_str().unwrap().contains("state"), "{body}");
    }
    assert_eq!(
        app.db
            .collection::<Document>("login_states")
            .count_documents(doc! {})
            .await
            .unwrap(),
        0,
        "nothing stored for a refused state"
    );
    for good in ["Az09-_.~Az09-_.~Az09-_", &"s".repeat(512)] {
        let res = authorize_with_state(&app, good).await;
        assert_eq!(res.status().as_u16(), 302, "{good}");
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(query_param(&location, "state").as_deref(), Some(good));
    }
    app.drop().await;
}

/// Signs `email` up as a new AuthKit user of the emulator, verified
/// (`POST /user_management/users`), and posts its AuthKit login; the callback's answer.
async fn authkit_sign_up(app: &TestApp, email: &str) -> reqwest::Response {
    let user = json!({"email": email, "first_name": "New", "last_name": "Person", "email_verified": true});
    emulator(reqwest::Method::POST, "/user_management/users", Some(user)).await;
    let code = Browser::default().authkit_code(email).await;
    app.callback(json!({"code": code})).await
}

/// The stored document of a signed-in `user` (as the session's body shows it).
async fn stored_user(app: &TestApp, user: &Value) -> Document {
    app.user_doc(ObjectId::parse_str(user["id"].as_str().unwrap()).unwrap())
        .await
}

/// A fresh address per run: the emulator outlives the test databases.
fn fresh_address(local: &str, domain: &str) -> String {
    let unique = unique_db("addr");
    format!("{local}.{}@{domain}", &unique[unique.len() - 9..])
}

/// A new user signed in through the SSO connection of `domain`, at a fresh address there.
async fn new_sso_user(app: &TestApp, local: &str, domain: &str) -> Value {
    ok_user(sso_login(app, domain, &fresh_address(local, domain), json!({})).await).await
}

#[tokio::test]
async fn the_fallbacks_never_put_a_new_user_into_a_mapped_organization() {
    let app = TestApp::spawn(Options::new("fallback_mapped")).await;
    let acme = workos_org_id("Acme").await;
    // The oldest organization is a customer's, mapped to Acme's WorkOS organization.
    let customer = app
        .add_org("Customer", 30, doc! {"workosOrganizationId": &acme})
        .await;
    let unmapped = app.add_org("Unmapped", 10, doc! {}).await;
    let newest = app.add_org("Newest", 1, doc! {}).await;

    // An SSO profile of an unmapped WorkOS organization, and an AuthKit sign-up: the
    // oldest organization that is not mapped.
    let user = new_sso_user(&app, "g", "globex.example").await;
    assert_eq!(user["organizationId"], unmapped.to_hex());
    let email = fresh_address("signup", "authkit.example");
    let user = ok_user(authkit_sign_up(&app, &email).await).await;
    assert_eq!(user["organizationId"], unmapped.to_hex());
    assert_eq!(user["accessRole"], "SALES_REP");

    // Every organization mapped (to WorkOS organizations these identities are not of):
    // 409 NO_ORGANIZATION, nothing written.
    for (org, workos) in [
        (unmapped, "org_01FALLBACKUNMAPPED"),
        (newest, "org_01FALLBACKNEWEST"),
    ] {
        app.db
            .collection::<Document>("organizations")
            .update_one(doc! {"_id": org}, doc! {"$set": {"workosOrganizationId": workos}})
            .await
            .unwrap();
    }
    let (users, sessions) = (app.user_count().await, app.session_count().await);
    let res = sso_login(
        &app,
        "globex.example",
        &fresh_address("late", "globex.example"),
        json!({}),
    )
    .await;
    assert_error(res, 409, "NO_ORGANIZATION").await;
    let email = fresh_address("latecomer", "authkit.example");
    assert_error(authkit_sign_up(&app, &email).await, 409, "NO_ORGANIZATION").await;
    assert_eq!(app.user_count().await, users, "nobody created");
    assert_eq!(app.session_count().await, sessions, "no session");

    // The customer's own WorkOS organization still joins it.
    let user = new_sso_user(&app, "own", "acme.example").await;
    assert_eq!(user["organizationId"], customer.to_hex());
    app.drop().await;
}

#[tokio::test]
async fn a_default_organization_that_is_mapped_is_refused_at_start_up_naming_the_setting() {
    let app = TestApp::spawn(Options::new("default_mapped")).await;
    let mapped = app
        .add_org(
            "Customer",
            3,
            doc! {"workosOrganizationId": "org_01DEFAULTMAPPED"},
        )
        .await;
    let settings = Options::new("default_mapped")
        .env("DEFAULT_ORGANIZATION_ID", mapped.to_hex())
        .settings(&app.db_name, &mongo_uri());
    let refused = tether_auth::Application::build(settings, tether_auth::Overrides::default())
        .await
        .expect_err("start-up refuses a mapped default organization")
        .to_string();
    assert!(refused.starts_with("DEFAULT_ORGANIZATION_ID:"), "{refused}");
    app.drop().await;
}

#[tokio::test]
async fn a_squatted_address_never_becomes_the_landing_place_of_its_verified_owner() {
    let app = TestApp::spawn(Options::new("squatting")).await;
    app.add_org("Oldest", 30, doc! {}).await;
    app.add_mapped_org("Acme", 5, doc! {}).await;

    // Another tenant's IdP asserts an Acme address: a new user, recorded as unvouched.
    let squatted = fresh_address("newhire", "acme.example");
    let squatter = ok_user(sso_login(&app, "globex.example", &squatted, json!({})).await).await;
    let stored = stored_user(&app, &squatter).await;
    assert_eq!(stored.get_bool("emailVerified"), Ok(false));

    // The real owner, verified by AuthKit, is refused rather than landing in it.
    assert_error(
        authkit_sign_up(&app, &squatted).await,
        409,
        "ACCOUNT_LINK_REQUIRED",
    )
    .await;
    let after = stored_user(&app, &squatter).await;
    assert_eq!(after, stored, "nothing written");

    // An address in the IdP's own verified domain is vouched at creation, and links.
    let vouched = fresh_address("staff", "acme.example");
    let staff = ok_user(sso_login(&app, "acme.example", &vouched, json!({})).await).await;
    let stored = stored_user(&app, &staff).await;
    assert_eq!(stored.get_bool("emailVerified"), Ok(true));
    let linked = ok_user(authkit_sign_up(&app, &vouched).await).await;
    assert_eq!(linked["id"], staff["id"], "the same user");
    app.drop().await;
}
