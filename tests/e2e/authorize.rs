//! `GET /api/auth/workos/authorize` then the callback, as a browser would: server-issued
//! states, PKCE for AuthKit, and exactly one WorkOS API per login.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use mongodb::bson::{Document, doc};
use secrecy::SecretString;
use serde_json::{Value, json};
use tether_auth::Overrides;
use tether_domain::{
    AuthorizationRequest, ClientContext, CodeExchange, ExchangeError, ExternalIdentity, IdentityProvider,
    LoginHints, LoginPlan, PendingStep, TenantId, TenantIdError,
};
use tether_workos::{WorkosClient, WorkosConfig};

use crate::support::*;

/// The real WorkOS client, counting exchanges per API (a code of a login started
/// elsewhere, which the client resolves itself, counts as neither).
struct CountingWorkos {
    inner: WorkosClient,
    sso: AtomicUsize,
    authkit: AtomicUsize,
}

impl CountingWorkos {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: WorkosClient::new(WorkosConfig {
                base_url: workos_url(),
                client_id: CLIENT_ID.to_owned(),
                api_key: SecretString::from("sk_test_default"),
                connect_timeout: Duration::from_secs(1),
                request_timeout: Duration::from_secs(5),
                backoff_max: Duration::from_secs(60),
            })
            .expect("client"),
            sso: AtomicUsize::new(0),
            authkit: AtomicUsize::new(0),
        })
    }
}

#[async_trait]
impl IdentityProvider for CountingWorkos {
    fn plan_login(&self, hints: &LoginHints) -> Result<LoginPlan, String> {
        self.inner.plan_login(hints)
    }

    async fn exchange(&self, exchange: &CodeExchange) -> Result<ExternalIdentity, ExchangeError> {
        match &exchange.provider {
            Some(p) if *p == tether_workos::SSO => self.sso.fetch_add(1, Ordering::SeqCst),
            Some(p) if *p == tether_workos::AUTHKIT => self.authkit.fetch_add(1, Ordering::SeqCst),
            _ => 0,
        };
        self.inner.exchange(exchange).await
    }

    async fn complete_step(
        &self,
        step: &PendingStep,
        client: &ClientContext,
    ) -> Result<ExternalIdentity, ExchangeError> {
        self.inner.complete_step(step, client).await
    }

    fn authorization_url(&self, request: &AuthorizationRequest) -> String {
        self.inner.authorization_url(request)
    }

    fn parse_tenant(&self, raw: &str) -> Result<TenantId, TenantIdError> {
        self.inner.parse_tenant(raw)
    }
}

/// A strict service whose WorkOS client counts exchanges, with one organization.
async fn spawn_counting() -> (TestApp, Arc<CountingWorkos>) {
    let workos = CountingWorkos::new();
    let app = TestApp::spawn_with(
        strict(),
        Overrides {
            identity_provider: Some(workos.clone()),
            ..Default::default()
        },
    )
    .await;
    app.add_org("Acme", 1, doc! {}).await;
    (app, workos)
}

fn strict() -> Options {
    Options::new("authorize").strict_states()
}

impl TestApp {
    /// `GET /api/auth/workos/authorize?{query}`, expecting a 302 to WorkOS.
    async fn authorize(&self, query: &str) -> String {
        let res = self.get(&format!("/api/auth/workos/authorize?{query}")).await;
        assert_eq!(res.status().as_u16(), 302, "authorize answered {}", res.status());
        assert_eq!(res.headers()["cache-control"], "no-store");
        res.headers()["location"].to_str().unwrap().to_owned()
    }

    /// authorize -> WorkOS -> back: the `code` and `state` the SPA would post.
    async fn browse(&self, query: &str) -> (String, String) {
        let workos = self.authorize(query).await;
        assert!(workos.starts_with(&workos_url()), "{workos}");
        let back = Browser::default().location(&workos).await;
        assert!(back.starts_with(&format!("{CLIENT_URL}/signin?")), "{back}");
        (
            query_param(&back, "code").expect("code"),
            query_param(&back, "state").expect("state"),
        )
    }

    async fn login_states(&self) -> Vec<Document> {
        use futures_util::TryStreamExt;
        self.db
            .collection::<Document>("login_states")
            .find(doc! {})
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap()
    }
}

/// The emulator's Acme connection: (connection id, WorkOS organization id).
async fn acme_connection() -> (String, String) {
    let list: Value = reqwest::Client::new()
        .get(format!("{}/connections", workos_url()))
        .bearer_auth("sk_test_default")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let acme = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Acme Okta")
        .expect("seeded connection");
    (
        acme["id"].as_str().unwrap().to_owned(),
        acme["organization_id"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn sso_logins_started_by_connection_organization_or_domain_complete() {
    let (app, workos) = spawn_counting().await;
    let (connection, organization) = acme_connection().await;
    for query in [
        format!("connection={connection}&login_hint=admin%40acme.example"),
        format!("organization_id={organization}&login_hint=admin%40acme.example"),
        "domain_hint=acme.example&login_hint=admin%40acme.example".to_owned(),
    ] {
        let (code, state) = app.browse(&query).await;
        let res = app.callback(json!({"code": code, "state": state})).await;
        assert_eq!(res.status().as_u16(), 200, "{query}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["user"]["email"], "admin@acme.example");
    }
    assert_eq!(workos.sso.load(Ordering::SeqCst), 3);
    assert_eq!(workos.authkit.load(Ordering::SeqCst), 0, "no fallback guessing");
    assert!(app.login_states().await.is_empty(), "every state was consumed");
    app.drop().await;
}

#[tokio::test]
async fn an_authkit_login_carries_a_valid_pkce_verifier_and_makes_no_sso_request() {
    let (app, workos) = spawn_counting().await;
    let url = app.authorize("login_hint=jane%40authkit.example").await;
    assert!(
        url.contains("/user_management/authorize?"),
        "authkit is the default flow: {url}"
    );
    assert_eq!(
        query_param(&url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(query_param(&url, "code_challenge").map(|c| c.len()), Some(43));
    let back = Browser::default().location(&url).await;
    let (code, state) = (
        query_param(&back, "code").unwrap(),
        query_param(&back, "state").unwrap(),
    );
    let res = app.callback(json!({"code": code, "state": state})).await;
    assert_eq!(res.status().as_u16(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["email"], "jane@authkit.example");
    assert_eq!(workos.authkit.load(Ordering::SeqCst), 1);
    assert_eq!(workos.sso.load(Ordering::SeqCst), 0);
    app.drop().await;
}

#[tokio::test]
async fn a_state_is_accepted_once_and_racing_posts_of_it_get_one_session() {
    let app = TestApp::spawn(strict()).await;
    app.add_org("Acme", 1, doc! {}).await;
    let (code, state) = app
        .browse("domain_hint=acme.example&login_hint=once%40acme.example")
        .await;
    assert_eq!(
        app.callback(json!({"code": code, "state": state}))
            .await
            .status()
            .as_u16(),
        200
    );
    // The state is used: with another code it opens nothing (the same post again is
    // the same session, tests/e2e/double_post.rs).
    let other_code = Browser::default()
        .sso_code("acme.example", "once@acme.example")
        .await;
    assert_error(
        app.callback(json!({"code": other_code, "state": state})).await,
        400,
        "INVALID_STATE",
    )
    .await;

    // Racing posts of a login bound to its browser (with its verifier) share one session.
    let (verifier, challenge) = client_binding();
    let (code, state) = app
        .browse(&format!(
            "domain_hint=acme.example&login_hint=race%40acme.example&client_challenge={challenge}"
        ))
        .await;
    let body = json!({"code": code, "state": state, "client_verifier": verifier});
    let (a, b) = tokio::join!(app.callback(body.clone()), app.callback(body));
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
    assert_eq!(a["refreshToken"], b["refreshToken"], "one session");
    assert_eq!(app.session_count().await, 2, "one per login");
    app.drop().await;
}

#[tokio::test]
async fn a_state_past_its_ten_minutes_is_refused() {
    let (clock, overrides) = manual_clock();
    let app = TestApp::spawn_with(strict(), overrides).await;
    app.add_org("Acme", 1, doc! {}).await;
    let (code, state) = app
        .browse("domain_hint=acme.example&login_hint=late%40acme.example")
        .await;
    clock.advance_seconds(601);
    assert_error(
        app.callback(json!({"code": code, "state": state})).await,
        400,
        "INVALID_STATE",
    )
    .await;
    assert_eq!(app.user_count().await, 0);
    app.drop().await;
}

#[tokio::test]
async fn redirect_uris_must_be_allowed_and_match_the_recorded_one() {
    let other = format!("{CLIENT_URL}/auth/callback");
    let app = TestApp::spawn(strict().env("ALLOWED_REDIRECT_URIS", other.clone())).await;
    app.add_org("Acme", 1, doc! {}).await;
    let (code, state) = app
        .browse("domain_hint=acme.example&login_hint=redir%40acme.example")
        .await;
    assert_error(
        app.callback(json!({"code": code, "state": state, "redirect_uri": other}))
            .await,
        400,
        "INVALID_STATE",
    )
    .await;

    let res = answer(app.http.get(format!(
        "{}/api/auth/workos/authorize?redirect_uri={}",
        app.base,
        encode("https://evil.example/steal")
    )))
    .await;
    assert_error(res, 400, "INVALID_REDIRECT_URI").await;
    assert!(
        app.login_states().await.is_empty(),
        "nothing stored for a refused start"
    );
    app.drop().await;
}

#[tokio::test]
async fn bad_authorize_parameters_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn(strict()).await;
    for query in [
        "flow=password".to_owned(),
        format!("state={}", "s".repeat(600)),
        format!("login_hint={}", "a".repeat(400)),
    ] {
        let res = app.get(&format!("/api/auth/workos/authorize?{query}")).await;
        assert_error(res, 400, "INVALID_REQUEST").await;
    }
    assert!(app.login_states().await.is_empty());
    app.drop().await;
}

#[tokio::test]
async fn the_stored_record_holds_neither_the_state_nor_the_verifier() {
    let app = TestApp::spawn(strict()).await;
    let spa_state = "spa-own-state-0123456789";
    let url = app
        .authorize(&format!(
            "state={spa_state}&login_hint=jane%40authkit.example&organization_id=64a1b2c3d4e5f60012345678"
        ))
        .await;
    assert_eq!(
        query_param(&url, "state").as_deref(),
        Some(spa_state),
        "the SPA's state is echoed"
    );
    assert_eq!(
        query_param(&url, "organization"),
        None,
        "only org_ ids are forwarded"
    );
    let records = app.login_states().await;
    assert_eq!(records.len(), 1);
    let record = &records[0];
    let mut keys: Vec<&str> = record.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "_id",
            "createdAt",
            "expiresAt",
            "flow",
            "organizationHint",
            "pkce",
            "redirectUri",
            "stateHash"
        ]
    );
    let text = format!("{record:?}");
    assert!(!text.contains(spa_state));
    assert_ne!(
        record.get_str("stateHash").unwrap(),
        sha256_hex(spa_state),
        "keyed, not a plain hash"
    );
    assert_eq!(record.get_str("flow").unwrap(), "authkit");
    assert!(record.get_bool("pkce").unwrap());
    let expires = record.get_datetime("expiresAt").unwrap().timestamp_millis();
    let created = record.get_datetime("createdAt").unwrap().timestamp_millis();
    assert_eq!(expires - created, 600_000);
    app.drop().await;
}

#[tokio::test]
async fn spas_that_navigate_themselves_get_the_url_as_json() {
    let app = TestApp::spawn(strict()).await;
    let res = answer(
        app.at(
            reqwest::Method::GET,
            "/api/auth/workos/authorize?flow=sso&domain_hint=acme.example",
        )
        .header("accept", "application/json"),
    )
    .await;
    assert_eq!(res.status().as_u16(), 200);
    let body: Value = res.json().await.unwrap();
    let url = body["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/sso/authorize?", workos_url())),
        "{url}"
    );
    assert!(
        query_param(url, "state").is_some_and(|s| s.len() >= 43),
        "a random state is generated"
    );
    app.drop().await;
}

#[tokio::test]
async fn by_default_a_state_the_service_did_not_issue_is_refused_without_calling_workos() {
    let (app, upstream) = spawn_with_silent_workos(strict()).await;
    for body in [json!({"code": "abc", "state": "made-up"}), json!({"code": "abc"})] {
        assert_error(app.callback(body).await, 400, "INVALID_STATE").await;
    }
    assert_eq!(upstream.count(), 0);
    app.drop().await;
}

#[tokio::test]
async fn a_new_user_joins_the_organization_the_login_was_started_for() {
    let app = TestApp::spawn(strict()).await;
    app.add_org("Oldest", 30, doc! {}).await;
    let chosen = app.add_org("Chosen", 1, doc! {}).await;
    let (code, state) = app
        .browse(&format!(
            "domain_hint=acme.example&login_hint=hinted%40acme.example&organization_id={}",
            chosen.to_hex()
        ))
        .await;
    let res = app.callback(json!({"code": code, "state": state})).await;
    assert_eq!(res.status().as_u16(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["organizationId"], chosen.to_hex());
    app.drop().await;
}

#[tokio::test]
async fn a_leaked_redirect_url_is_worthless_without_the_browsers_verifier_and_workos_is_asked_once() {
    let (app, workos) = spawn_counting().await;
    let (verifier, challenge) = client_binding();
    let (code, state) = app
        .browse(&format!(
            "domain_hint=acme.example&login_hint=leak%40acme.example&client_challenge={challenge}"
        ))
        .await;
    let stored = app.login_states().await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].get_str("clientChallenge").unwrap(), challenge);

    // Whoever saw `/signin?code=&state=` posts it first: refused, WorkOS not asked,
    // and the state is still there for the browser that started the login.
    let leaked = json!({"code": code, "state": state});
    assert_error(app.callback(leaked).await, 400, "INVALID_STATE").await;
    let (other, _) = client_binding();
    let guessed = json!({"code": code, "state": state, "client_verifier": other});
    assert_error(app.callback(guessed).await, 400, "INVALID_STATE").await;
    let malformed = json!({"code": code, "state": state, "client_verifier": "short"});
    assert_error(app.callback(malformed).await, 400, "INVALID_STATE").await;
    assert_eq!(workos.sso.load(Ordering::SeqCst), 0, "WorkOS was not asked");
    assert_eq!(app.login_states().await.len(), 1, "the state was not consumed");

    // The browser that started it signs in; its retry gets the same session, and
    // WorkOS was asked once.
    let ours = json!({"code": code, "state": state, "client_verifier": verifier});
    let first: Value = app.callback(ours.clone()).await.json().await.unwrap();
    let again: Value = app.callback(ours).await.json().await.unwrap();
    assert!(first["refreshToken"].is_string(), "{first}");
    assert_eq!(again["refreshToken"], first["refreshToken"]);
    assert_eq!(workos.sso.load(Ordering::SeqCst), 1, "WorkOS was asked once");
    assert_eq!(workos.authkit.load(Ordering::SeqCst), 0);
    app.drop().await;
}

#[tokio::test]
async fn a_start_without_a_challenge_is_refused_when_one_is_required_and_a_malformed_one_always() {
    let app = TestApp::spawn(strict().env("REQUIRE_CLIENT_CHALLENGE", "true")).await;
    let start = |query: String| {
        let app = &app;
        async move { app.get(&format!("/api/auth/workos/authorize?{query}")).await }
    };
    assert_error(
        start("flow=sso&domain_hint=acme.example".into()).await,
        400,
        "INVALID_REQUEST",
    )
    .await;
    assert_error(
        start("flow=sso&client_challenge=not-a-sha256".into()).await,
        400,
        "INVALID_REQUEST",
    )
    .await;
    let (_, challenge) = client_binding();
    let res = start(format!(
        "flow=sso&domain_hint=acme.example&client_challenge={challenge}"
    ))
    .await;
    assert_eq!(res.status().as_u16(), 302);
    assert!(
        app.login_states().await.len() == 1,
        "only the bound start was recorded"
    );
    app.drop().await;
}
