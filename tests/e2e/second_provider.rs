//! A second identity provider, defined in this file only, signs people in through the
//! same routes, rules and stores as WorkOS: the domain and the stores know no
//! provider, so adding one is an adapter and its wiring (`Overrides`), nothing more.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use mongodb::bson::doc;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tether_auth::Overrides;
use tether_domain::{
    AuthorizationRequest, ClientContext, CodeExchange, ExchangeError, ExternalIdentity, IdentityLink,
    IdentityProvider, LoginHints, LoginPlan, PendingStep, ProviderKey, TenantId, TenantIdError, Vouching,
};

use crate::support::*;

const SESAME: ProviderKey = ProviderKey::from_static("sesame");

/// An identity provider that issues single-use codes for the identities a test hands
/// it, plans every login with PKCE, and calls its tenants `tenant-...`.
#[derive(Default)]
struct Sesame {
    codes: Mutex<HashMap<String, ExternalIdentity>>,
    exchanged: Mutex<Vec<(Option<ProviderKey>, bool)>>,
}

impl Sesame {
    /// A code for the person `subject` with `email`, verified by the provider.
    fn issue(&self, subject: &str, email: &str) -> String {
        let code = format!("sesame_code_{}", self.codes.lock().unwrap().len() + 1);
        let identity = ExternalIdentity {
            link: IdentityLink {
                provider: SESAME,
                subject: subject.to_owned(),
            },
            email: email.to_owned(),
            email_verified: Some(true),
            vouching: Vouching::Provider,
            first_name: Some("Open".to_owned()),
            last_name: Some("Sesame".to_owned()),
            connection: None,
            tenant: None,
        };
        self.codes.lock().unwrap().insert(code.clone(), identity);
        code
    }
}

#[async_trait]
impl IdentityProvider for Sesame {
    fn plan_login(&self, hints: &LoginHints) -> Result<LoginPlan, String> {
        match hints.requested.as_deref() {
            None | Some("sesame") => Ok(LoginPlan {
                provider: SESAME,
                pkce: true,
            }),
            Some(_) => Err("flow must be sesame".to_owned()),
        }
    }

    async fn exchange(&self, exchange: &CodeExchange) -> Result<ExternalIdentity, ExchangeError> {
        self.exchanged
            .lock()
            .unwrap()
            .push((exchange.provider.clone(), exchange.pkce_verifier.is_some()));
        self.codes
            .lock()
            .unwrap()
            .remove(exchange.code.expose_secret())
            .ok_or(ExchangeError::InvalidCode)
    }

    async fn complete_step(
        &self,
        _step: &PendingStep,
        _client: &ClientContext,
    ) -> Result<ExternalIdentity, ExchangeError> {
        Err(ExchangeError::InvalidCode)
    }

    fn authorization_url(&self, request: &AuthorizationRequest) -> String {
        format!(
            "https://sesame.example/authorize?state={}&redirect_uri={}&pkce={}",
            request.state,
            encode(&request.redirect_uri),
            request.code_challenge.is_some()
        )
    }

    fn parse_tenant(&self, raw: &str) -> Result<TenantId, TenantIdError> {
        raw.strip_prefix("tenant-")
            .and_then(|_| TenantId::parse(raw).ok())
            .ok_or(TenantIdError {
                expected: "a Sesame tenant (tenant-...)",
            })
    }
}

/// Starts a login at the service and answers with the state the provider got.
async fn start(app: &TestApp) -> String {
    let res = app.get("/api/auth/workos/authorize").await;
    assert_eq!(res.status().as_u16(), 302);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("https://sesame.example/authorize?"),
        "{location}"
    );
    assert_eq!(query_param(&location, "pkce").as_deref(), Some("true"));
    query_param(&location, "state").expect("the provider gets the state")
}

/// Signs in through `sesame` with a fresh code for `subject`; the callback's answer.
async fn sign_in(app: &TestApp, sesame: &Sesame, subject: &str, email: &str) -> (u16, Value) {
    let state = start(app).await;
    let code = sesame.issue(subject, email);
    let res = app.callback(json!({"code": code, "state": state})).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn a_provider_the_service_was_never_written_for_signs_people_in_by_the_same_rules() {
    let sesame = Arc::new(Sesame::default());
    let app = TestApp::spawn_with(
        Options::new("second_provider").strict_states(),
        Overrides {
            identity_provider: Some(sesame.clone()),
            ..Default::default()
        },
    )
    .await;
    let acme = app.add_org("Acme", 2, doc! {}).await;

    // A new person: created just in time in the oldest organization, linked by the
    // provider's key and subject in the provider's own field.
    let (status, first) = sign_in(&app, &sesame, "ses_ada", "Ada@Sesame.Example").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["user"]["email"], "ada@sesame.example");
    assert_eq!(first["user"]["organizationId"], acme.to_hex());
    let ada = app
        .users()
        .find_one(doc! {"email": "ada@sesame.example"})
        .await
        .unwrap()
        .expect("the user is stored");
    assert_eq!(
        ada.get_document("identityLinks").unwrap().get_str("sesame"),
        Ok("ses_ada")
    );
    assert!(!ada.contains_key("workosUserId") && !ada.contains_key("workosProfileId"));
    assert_eq!(ada.get_bool("emailVerified"), Ok(true));

    // She comes back: the same user, by her link; the login went to the planned
    // provider with its PKCE verifier.
    let (status, again) = sign_in(&app, &sesame, "ses_ada", "ada@sesame.example").await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["user"]["id"], first["user"]["id"]);
    assert_eq!(app.user_count().await, 1);
    assert!(
        sesame
            .exchanged
            .lock()
            .unwrap()
            .iter()
            .all(|(provider, pkce)| provider.as_ref() == Some(&SESAME) && *pkce)
    );

    // Another subject of the same provider with her address: she already carries a
    // link of this provider, so the rules refuse, and nothing is written.
    let (status, refused) = sign_in(&app, &sesame, "ses_mallory", "ada@sesame.example").await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("ACCOUNT_LINK_REQUIRED"))
    );
    assert_eq!(app.user_count().await, 1);

    // An existing person without a link of this provider, whose address it verified:
    // linked, the link recorded beside the fields the product keeps.
    let bob = app.add_user("bob@acme.example", "ADMIN", acme).await;
    let (status, linked) = sign_in(&app, &sesame, "ses_bob", "bob@acme.example").await;
    assert_eq!(status, 200, "{linked}");
    assert_eq!(linked["user"]["id"], bob.to_hex());
    let stored = app.user_doc(bob).await;
    assert_eq!(
        stored.get_document("identityLinks").unwrap().get_str("sesame"),
        Ok("ses_bob")
    );
    assert_eq!(stored.get_str("accessRole"), Ok("ADMIN"));

    // One person per link: the index the store created for the provider refuses a
    // second user carrying it.
    let copy = app
        .users()
        .insert_one(doc! {"email": "copy@acme.example", "identityLinks": {"sesame": "ses_bob"}})
        .await;
    assert!(copy.is_err(), "a second carrier of a link is refused");
    app.drop().await;
}
