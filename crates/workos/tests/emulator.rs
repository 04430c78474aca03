//! Integration tests of the WorkOS adapter against the real WorkOS emulator (codes are
//! obtained as a browser would, through the authorize endpoints) and against small local
//! TCP servers for the failure modes the emulator cannot produce (refused connections,
//! silence, 429/401/500 answers, organization selection).
//!
//! The emulator URL comes from `TETHER_TEST_WORKOS_URL` (started by `scripts/test.sh` with
//! `tests/fixtures/workos-seed.json`); without it the emulator tests fail loudly.

// Test code throughout, helpers too, for clippy's `allow-unwrap-in-tests`.
#![cfg(test)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tether_domain::{
    ClientContext, CodeExchange, ExchangeError, ExternalIdentity, IdentityLink, IdentityProvider,
    PendingOrganization, PendingStep, ProviderKey, TenantId, Vouching,
};
use tether_workos::{WorkosClient, WorkosConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

const CLIENT_ID: &str = "client_test";
const API_KEY: &str = "sk_test_default";
const REDIRECT_URI: &str = "http://localhost:3000/signin";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// The emulator's base URL, or a loud failure.
fn emulator_url() -> String {
    match std::env::var("TETHER_TEST_WORKOS_URL") {
        Ok(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_owned(),
        _ => panic!("the WorkOS emulator is required: set TETHER_TEST_WORKOS_URL; run scripts/test.sh"),
    }
}

fn config(base_url: &str, connect_timeout: Duration, request_timeout: Duration) -> WorkosConfig {
    WorkosConfig {
        base_url: base_url.to_owned(),
        client_id: CLIENT_ID.to_owned(),
        api_key: SecretString::from(API_KEY),
        connect_timeout,
        request_timeout,
        backoff_max: Duration::from_secs(60),
    }
}

fn client(base_url: &str) -> WorkosClient {
    WorkosClient::new(config(base_url, Duration::from_secs(2), Duration::from_secs(10)))
        .expect("valid configuration")
}

fn secret(value: &str) -> SecretString {
    SecretString::from(value.to_owned())
}

/// An HTTP client that behaves like a browser that stops at the redirect.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("browser client")
}

/// Follows an authorize URL and returns the `code` from the 302 `Location`.
async fn code_from_authorize(url: String) -> SecretString {
    let answer = browser().get(&url).send().await.expect("authorize request");
    assert_eq!(answer.status().as_u16(), 302, "authorize answered {answer:?}");
    let location = answer
        .headers()
        .get(reqwest::header::LOCATION)
        .expect("a Location header")
        .to_str()
        .expect("an ASCII Location")
        .to_owned();
    let location = reqwest::Url::parse(&location).expect("an absolute Location");
    let query = |name: &str| {
        location
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    assert_eq!(query("state").as_deref(), Some("S"), "{location}");
    assert_eq!(query("error"), None, "{location}");
    SecretString::from(query("code").unwrap_or_else(|| panic!("no code in {location}")))
}

/// A fresh SSO code for `login_hint` at the connection of `domain`.
async fn sso_code(base: &str, domain: &str, login_hint: &str) -> SecretString {
    sso_code_at(base, ("domain_hint", domain), login_hint).await
}

/// A fresh SSO code for `login_hint` at the connection that `(parameter, value)` of the
/// authorize URL picks (`domain_hint` or `connection`).
async fn sso_code_at(base: &str, (parameter, value): (&str, &str), login_hint: &str) -> SecretString {
    let mut url = reqwest::Url::parse(&format!("{base}/sso/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", CLIENT_ID)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("state", "S")
        .append_pair(parameter, value)
        .append_pair("login_hint", login_hint);
    let code = code_from_authorize(url.into()).await;
    assert!(code.expose_secret().starts_with("sso_code_"));
    code
}

/// A fresh AuthKit code for `login_hint`, bound to `code_challenge` (S256) if given.
async fn authkit_code(base: &str, login_hint: &str, code_challenge: Option<&str>) -> SecretString {
    let mut url = reqwest::Url::parse(&format!("{base}/user_management/authorize")).unwrap();
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("client_id", CLIENT_ID)
            .append_pair("response_type", "code")
            .append_pair("provider", "authkit")
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("state", "S")
            .append_pair("login_hint", login_hint);
        if let Some(challenge) = code_challenge {
            query
                .append_pair("code_challenge", challenge)
                .append_pair("code_challenge_method", "S256");
        }
    }
    let code = code_from_authorize(url.into()).await;
    assert!(code.expose_secret().starts_with("auth_code_"));
    code
}

/// The S256 challenge of a PKCE verifier.
fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A PKCE verifier (43+ characters) that differs between runs.
fn fresh_verifier() -> String {
    #[expect(
        clippy::disallowed_methods,
        reason = "a verifier that differs between runs, not a time the rules read"
    )]
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("verifier-{nanos:032}-abcdefghijklmnopqrstuvwxyz")
}

/// Starts an AuthKit login of `login_hint` with PKCE (a fresh verifier) and exchanges
/// its code with the verifier `presented` makes of the right one.
async fn exchange_pkce_code(
    login_hint: &str,
    presented: impl FnOnce(String) -> String,
) -> Result<ExternalIdentity, ExchangeError> {
    let base = emulator_url();
    let verifier = fresh_verifier();
    let code = authkit_code(&base, login_hint, Some(&s256(&verifier))).await;
    client(&base)
        .exchange(&CodeExchange {
            pkce_verifier: Some(secret(&presented(verifier))),
            ..CodeExchange::new(Some(tether_workos::AUTHKIT), code)
        })
        .await
}

/// The identity the emulator gives for a fresh AuthKit code of `login_hint`.
async fn authkit_identity(login_hint: &str) -> ExternalIdentity {
    let base = emulator_url();
    let code = authkit_code(&base, login_hint, None).await;
    exchange(&client(&base), &tether_workos::AUTHKIT, &code)
        .await
        .expect("the AuthKit code exchanges")
}

/// The id and organization of the seeded SSO connection called `name`, read from the
/// emulator's management API.
async fn seeded_connection(base: &str, name: &str) -> (String, String) {
    let list: serde_json::Value = browser()
        .get(format!("{base}/connections"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .expect("list connections")
        .json()
        .await
        .expect("a JSON list");
    let connection = list["data"]
        .as_array()
        .expect("a data array")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no connection {name} in the seed"));
    (
        connection["id"].as_str().unwrap().to_owned(),
        connection["organization_id"].as_str().unwrap().to_owned(),
    )
}

/// Creates an object of the emulator's management API (`organizations`, `connections`);
/// the object as created.
async fn create(base: &str, objects: &str, object: serde_json::Value) -> serde_json::Value {
    browser()
        .post(format!("{base}/{objects}"))
        .bearer_auth(API_KEY)
        .json(&object)
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("a JSON object")
}

/// A port on 127.0.0.1 where nothing listens (bound, read, released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Counts the adapter's "retrying once" debug events on the current thread (a
/// `#[tokio::test]` runs its future there), so refused connections can be counted.
struct RetryCounter {
    retries: Arc<AtomicUsize>,
}

impl tracing::Subscriber for RetryCounter {
    fn register_callsite(&self, _: &'static tracing::Metadata<'static>) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        if !event.metadata().target().starts_with("tether_workos") {
            return;
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        if message.0.contains("retrying once") {
            self.retries.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

/// A local server counting accepted connections and doing `behaviour` with each.
struct LocalServer {
    base_url: String,
    accepted: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone)]
enum Behaviour {
    /// Reads the request and writes this canned HTTP/1.1 answer, then closes.
    Answer(String),
    /// Accepts and never answers (keeps the connection open).
    Silence,
    /// Accepts and closes at once (a TLS client then fails its handshake).
    Hangup,
}

impl LocalServer {
    async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (counter, log) = (accepted.clone(), requests.clone());
        tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                match behaviour.clone() {
                    Behaviour::Answer(answer) => {
                        let log = log.clone();
                        tokio::spawn(serve_one(stream, answer, log));
                    }
                    Behaviour::Silence => held.push(stream),
                    Behaviour::Hangup => drop(stream),
                }
            }
        });
        Self {
            base_url: format!("http://127.0.0.1:{port}"),
            accepted,
            requests,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// Reads one HTTP/1.1 request (headers and `Content-Length` body), records it, answers.
async fn serve_one(mut stream: TcpStream, answer: String, log: Arc<Mutex<Vec<String>>>) {
    let mut request = Vec::new();
    let mut buf = [0_u8; 4096];
    let header_end = loop {
        let Ok(n) = stream.read(&mut buf).await else {
            return;
        };
        if n == 0 {
            return;
        }
        request.extend_from_slice(&buf[..n]);
        if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..header_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    while request.len() < header_end + length {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    log.lock()
        .await
        .push(String::from_utf8_lossy(&request).into_owned());
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// A canned HTTP/1.1 answer with a JSON body.
fn http_answer(status_line: &str, extra_headers: &[&str], body: &str) -> String {
    let mut answer = format!("HTTP/1.1 {status_line}\r\n");
    for header in extra_headers {
        answer.push_str(header);
        answer.push_str("\r\n");
    }
    answer.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    answer
}

/// Exchanges `code` on `flow`, with no verifier, for a client that sent no context.
async fn exchange(
    workos: &WorkosClient,
    flow: &ProviderKey,
    code: &SecretString,
) -> Result<ExternalIdentity, ExchangeError> {
    workos
        .exchange(&CodeExchange::new(Some(flow.clone()), code.clone()))
        .await
}

/// Exchanges `code` on `flow` with `verifier`, for the client of `context`.
async fn exchange_as(
    workos: &WorkosClient,
    flow: &ProviderKey,
    code: &str,
    verifier: Option<&str>,
    context: &ClientContext,
) -> Result<ExternalIdentity, ExchangeError> {
    workos
        .exchange(&CodeExchange {
            pkce_verifier: verifier.map(secret),
            client: context.clone(),
            ..CodeExchange::new(Some(flow.clone()), secret(code))
        })
        .await
}

/// The JSON body of a request a local server recorded.
fn sent_body(request: &str) -> serde_json::Value {
    let (_, body) = request.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap()
}

/// The body of a token request of `grant_type`: the client's credentials and `fields`.
fn grant_body(grant_type: &str, fields: serde_json::Value) -> serde_json::Value {
    let mut body = serde_json::json!({
        "client_id": CLIENT_ID,
        "client_secret": API_KEY,
        "grant_type": grant_type,
    });
    body.as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    body
}

/// Exchanges a dummy code with a local server answering `answer`.
async fn exchange_against(answer: String, flow: ProviderKey) -> (ExchangeError, LocalServer) {
    let server = LocalServer::start(Behaviour::Answer(answer)).await;
    let error = exchange(&client(&server.base_url), &flow, &secret("code_123"))
        .await
        .expect_err("a failure");
    (error, server)
}

// ---------------------------------------------------------------------------------------
// Against the WorkOS emulator
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn an_sso_code_exchanges_to_the_seeded_profile_with_its_connection_and_organization() {
    let base = emulator_url();
    let (connection_id, organization_id) = seeded_connection(&base, "Acme Okta").await;
    let code = sso_code(&base, "acme.example", "admin@acme.example").await;

    let identity = exchange(&client(&base), &tether_workos::SSO, &code)
        .await
        .expect("the SSO code exchanges");

    assert_eq!(identity.link.provider, tether_workos::SSO);
    assert!(identity.link.subject.starts_with("prof_"), "{identity:?}");
    assert!(
        identity.email.eq_ignore_ascii_case("admin@acme.example"),
        "{identity:?}"
    );
    assert_eq!(identity.first_name.as_deref(), Some("Acme"));
    assert_eq!(identity.last_name.as_deref(), Some("Admin"));
    assert_eq!(identity.connection.as_deref(), Some(connection_id.as_str()));
    assert_eq!(
        identity.tenant.as_ref().map(TenantId::as_str),
        Some(organization_id.as_str())
    );
}

#[tokio::test]
async fn an_sso_address_is_vouched_only_in_a_verified_domain_of_the_profiles_organization() {
    let base = emulator_url();
    let workos = client(&base);
    let code = sso_code(&base, "acme.example", "Admin@ACME.example").await;
    let acme = exchange(&workos, &tether_workos::SSO, &code)
        .await
        .expect("exchanges");
    assert_eq!(acme.email_verified, Some(true), "Acme's own verified domain");

    // Globex's connection asserting an Acme address: WorkOS vouches for nothing.
    let code = sso_code(&base, "globex.example", "newhire@acme.example").await;
    let squatted = exchange(&workos, &tether_workos::SSO, &code)
        .await
        .expect("exchanges");
    assert_eq!(squatted.email_verified, Some(false));

    // A domain the organization has only pending is not vouched for either.
    let pending = create(
        &base,
        "organizations",
        serde_json::json!({
            "name": "Pending Co",
            "domain_data": [{"domain": "pending.example", "state": "pending"}],
        }),
    )
    .await;
    let connection = create(
        &base,
        "connections",
        serde_json::json!({
            "name": "Pending Okta",
            "connection_type": "OktaSAML",
            "organization_id": pending["id"],
            "domains": ["pending.example"],
        }),
    )
    .await;
    let connection = connection["id"].as_str().expect("a connection id");
    let code = sso_code_at(&base, ("connection", connection), "someone@pending.example").await;
    let identity = exchange(&workos, &tether_workos::SSO, &code)
        .await
        .expect("exchanges");
    assert_eq!(
        identity.tenant.as_ref().map(TenantId::as_str),
        pending["id"].as_str()
    );
    assert_eq!(
        identity.email_verified,
        Some(false),
        "a pending domain vouches for nothing"
    );
}

#[tokio::test]
async fn an_sso_email_is_returned_as_the_provider_sent_it_whatever_its_case() {
    let base = emulator_url();
    let code = sso_code(&base, "globex.example", "New.Person@Globex.Example").await;

    let identity = exchange(&client(&base), &tether_workos::SSO, &code)
        .await
        .expect("the SSO code exchanges");

    assert!(identity.link.subject.starts_with("prof_"), "{identity:?}");
    assert_eq!(identity.email, "New.Person@Globex.Example");
    assert!(
        identity
            .connection
            .as_deref()
            .is_some_and(|c| c.starts_with("conn_"))
    );
    assert!(
        identity
            .tenant
            .as_ref()
            .is_some_and(|o| o.as_str().starts_with("org_"))
    );
}

#[tokio::test]
async fn an_authkit_code_exchanges_to_the_seeded_user() {
    let identity = authkit_identity("jane@authkit.example").await;

    assert!(identity.link.subject.starts_with("user_"), "{identity:?}");
    assert_eq!(
        identity,
        ExternalIdentity {
            link: IdentityLink {
                provider: tether_workos::AUTHKIT,
                subject: identity.link.subject.clone(),
            },
            email: "jane@authkit.example".to_owned(),
            email_verified: Some(true),
            vouching: Vouching::Provider,
            first_name: Some("Jane".to_owned()),
            last_name: Some("Doe".to_owned()),
            connection: None,
            tenant: None,
        }
    );
}

#[tokio::test]
async fn an_authkit_user_whose_address_is_not_verified_says_so() {
    let identity = authkit_identity("una@authkit.example").await;
    assert_eq!(identity.email, "una@authkit.example");
    assert_eq!(identity.email_verified, Some(false));
}

#[tokio::test]
async fn an_authkit_code_started_with_pkce_exchanges_with_the_right_verifier() {
    let identity = exchange_pkce_code("sam@authkit.example", |right| right)
        .await
        .expect("the PKCE code exchanges");

    assert_eq!(identity.link.provider, tether_workos::AUTHKIT);
    assert!(identity.link.subject.starts_with("user_"), "{identity:?}");
    assert_eq!(identity.email, "sam@authkit.example");
}

#[tokio::test]
async fn an_authkit_code_started_with_pkce_and_a_wrong_verifier_is_an_invalid_code() {
    let wrong = |_| "a-wrong-verifier-of-enough-length-0000000000".to_owned();
    let result = exchange_pkce_code("sam@authkit.example", wrong).await;

    // WorkOS answers 400 `invalid_code_verifier`: this code cannot complete the login.
    assert!(matches!(result, Err(ExchangeError::InvalidCode)), "{result:?}");
}

#[tokio::test]
async fn an_sso_code_used_twice_is_an_invalid_code_the_second_time() {
    let base = emulator_url();
    let workos = client(&base);
    let code = sso_code(&base, "acme.example", "admin@acme.example").await;

    exchange(&workos, &tether_workos::SSO, &code)
        .await
        .expect("the first exchange succeeds");
    let again = exchange(&workos, &tether_workos::SSO, &code).await;

    assert!(matches!(again, Err(ExchangeError::InvalidCode)), "{again:?}");
}

#[tokio::test]
async fn an_authkit_code_sent_to_sso_is_an_invalid_code_and_still_exchanges_on_authkit() {
    let base = emulator_url();
    let workos = client(&base);
    let code = authkit_code(&base, "jane@authkit.example", None).await;

    let on_sso = exchange(&workos, &tether_workos::SSO, &code).await;
    assert!(matches!(on_sso, Err(ExchangeError::InvalidCode)), "{on_sso:?}");

    // This is what drives the SSO-first, AuthKit-fallback exchange.
    let on_authkit = exchange(&workos, &tether_workos::AUTHKIT, &code)
        .await
        .expect("the code is still good for AuthKit");
    assert_eq!(on_authkit.email, "jane@authkit.example");
}

#[tokio::test]
async fn a_code_of_a_login_started_elsewhere_is_tried_with_sso_then_authkit() {
    let base = emulator_url();
    let workos = client(&base);
    let sso = sso_code(&base, "acme.example", "admin@acme.example").await;
    let authkit = authkit_code(&base, "jane@authkit.example", None).await;

    let by_sso = workos
        .exchange(&CodeExchange::new(None, sso.clone()))
        .await
        .expect("an SSO code");
    assert_eq!(by_sso.link.provider, tether_workos::SSO);
    let by_authkit = workos
        .exchange(&CodeExchange::new(None, authkit))
        .await
        .expect("not an SSO code: AuthKit's");
    assert_eq!(by_authkit.link.provider, tether_workos::AUTHKIT);
    assert_eq!(by_authkit.vouching, Vouching::Provider);
    let unknown = workos
        .exchange(&CodeExchange::new(None, secret("auth_code_NOT_A_REAL_CODE")))
        .await;
    assert!(matches!(unknown, Err(ExchangeError::InvalidCode)), "{unknown:?}");
    let not_workos = workos
        .exchange(&CodeExchange::new(Some(ProviderKey::from_static("other")), sso))
        .await;
    assert!(
        matches!(not_workos, Err(ExchangeError::Unexpected(_))),
        "{not_workos:?}"
    );
}

#[tokio::test]
async fn a_garbage_code_on_either_flow_is_an_invalid_code() {
    let base = emulator_url();
    // A base URL with a trailing slash works alike.
    for (base, flow, code) in [
        (base.clone(), tether_workos::AUTHKIT, "auth_code_NOT_A_REAL_CODE"),
        (format!("{base}/"), tether_workos::SSO, "sso_code_NOT_A_REAL_CODE"),
    ] {
        let result = exchange(&client(&base), &flow, &secret(code)).await;
        assert!(
            matches!(result, Err(ExchangeError::InvalidCode)),
            "{flow}: {result:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Transport failures
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn nothing_listening_is_unavailable_quickly() {
    let base = format!("http://127.0.0.1:{}", closed_port());
    let started = Instant::now();

    let result = exchange(&client(&base), &tether_workos::SSO, &secret("sso_code_1")).await;

    assert!(matches!(result, Err(ExchangeError::Unavailable(_))), "{result:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_refused_connection_is_tried_exactly_twice() {
    let retries = Arc::new(AtomicUsize::new(0));
    let _guard = tracing::subscriber::set_default(RetryCounter {
        retries: retries.clone(),
    });
    let base = format!("http://127.0.0.1:{}", closed_port());

    let result = exchange(&client(&base), &tether_workos::AUTHKIT, &secret("auth_code_1")).await;

    assert!(matches!(result, Err(ExchangeError::Unavailable(_))), "{result:?}");
    assert_eq!(
        retries.load(Ordering::SeqCst),
        1,
        "one attempt and exactly one retry"
    );
}

#[tokio::test]
async fn a_connection_that_fails_before_the_request_is_sent_is_tried_exactly_twice() {
    // Nothing can count refused connections, so the server accepts and hangs up at once:
    // over https the TLS handshake then fails, which is a connect failure (the request
    // was never written), exactly like a refused connection.
    let server = LocalServer::start(Behaviour::Hangup).await;
    let https = server.base_url.replacen("http://", "https://", 1);

    let result = exchange(&client(&https), &tether_workos::AUTHKIT, &secret("auth_code_1")).await;

    assert!(matches!(result, Err(ExchangeError::Unavailable(_))), "{result:?}");
    assert_eq!(server.accepted(), 2, "one attempt and one retry");
}

#[tokio::test]
async fn a_server_that_never_answers_is_unavailable_after_one_attempt() {
    let server = LocalServer::start(Behaviour::Silence).await;
    let workos = WorkosClient::new(config(
        &server.base_url,
        Duration::from_secs(2),
        Duration::from_millis(300),
    ))
    .unwrap();
    let started = Instant::now();

    let result = exchange(&workos, &tether_workos::SSO, &secret("sso_code_1")).await;

    assert!(
        matches!(&result, Err(ExchangeError::Unavailable(reason)) if reason.contains("timed out")),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    // Give a (wrong) retry the time to show up before counting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.accepted(), 1, "a time-out is never retried");
}

// ---------------------------------------------------------------------------------------
// Canned answers
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_429_with_retry_after_is_rate_limited_with_that_delay() {
    let answer = http_answer(
        "429 Too Many Requests",
        &["Retry-After: 7"],
        r#"{"message":"Too many requests","code":"rate_limit_exceeded"}"#,
    );
    let (error, server) = exchange_against(answer, tether_workos::SSO).await;
    assert!(
        matches!(
            error,
            ExchangeError::RateLimited {
                retry_after_seconds: Some(7)
            }
        ),
        "{error:?}"
    );
    assert_eq!(server.accepted(), 1);
}

#[tokio::test]
async fn a_401_is_misconfigured_without_leaking_the_body() {
    let answer = http_answer(
        "401 Unauthorized",
        &[],
        r#"{"error":"invalid_client","error_description":"Invalid client secret sk_test_default."}"#,
    );
    let (error, _server) = exchange_against(answer, tether_workos::AUTHKIT).await;
    match error {
        ExchangeError::Misconfigured(reason) => {
            assert!(!reason.contains(API_KEY), "{reason}");
            assert!(reason.contains("401"), "{reason}");
        }
        other => panic!("expected Misconfigured, got {other:?}"),
    }
}

#[tokio::test]
async fn a_403_organization_selection_is_a_step_with_token_and_organizations() {
    let answer = http_answer(
        "403 Forbidden",
        &[],
        r#"{"code":"organization_selection_required","message":"The user must choose an organization.","pending_authentication_token":"ptok","organizations":[{"id":"org_1","name":"Acme"}],"user":{"id":"user_1","email":"jane@authkit.example"}}"#,
    );
    let (error, _server) = exchange_against(answer, tether_workos::AUTHKIT).await;
    let ExchangeError::StepRequired(step) = error else {
        panic!("expected StepRequired, got {error:?}");
    };
    assert_eq!(step.code, "organization_selection_required");
    assert_eq!(step.message, "The user must choose an organization.");
    assert_eq!(
        step.pending_authentication_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned())
            .as_deref(),
        Some("ptok")
    );
    assert_eq!(
        step.organizations,
        vec![PendingOrganization {
            id: "org_1".to_owned(),
            name: "Acme".to_owned()
        }]
    );
    assert_eq!(step.email.as_deref(), Some("jane@authkit.example"));
}

/// Whether an exchange failed as it should have.
type IsExpected = fn(&ExchangeError) -> bool;

/// Answers that cannot finish a login, by the failure each is: tried once, whatever it is.
#[tokio::test]
async fn a_500_a_redirect_and_a_success_without_a_profile_or_too_large_fail_and_are_not_retried() {
    let redirect = "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned();
    let padding = "x".repeat(100 * 1024);
    let oversized = format!(r#"{{"user":{{"id":"user_1","email":"a@b.example"}},"padding":"{padding}"}}"#);
    let unexpected: IsExpected = |error| matches!(error, ExchangeError::Unexpected(_));
    #[rustfmt::skip]
    let answers: [(&str, String, ProviderKey, IsExpected); 4] = [
        ("a 500 is unavailable", http_answer("500 Internal Server Error", &[], r#"{"message":"boom"}"#), tether_workos::SSO, |error| matches!(error, ExchangeError::Unavailable(_))),
        ("a redirect is not followed and is unexpected", redirect, tether_workos::SSO, unexpected),
        // The answer's token is never repeated.
        ("a 200 without a profile is unexpected", http_answer("200 OK", &[], r#"{"access_token":"eyJ.secret.token"}"#), tether_workos::SSO, |error| matches!(error, ExchangeError::Unexpected(reason) if !reason.contains("eyJ"))),
        ("an oversized success is unexpected", http_answer("200 OK", &[], &oversized), tether_workos::AUTHKIT, unexpected),
    ];
    for (why, answer, flow, expected) in answers {
        let (error, server) = exchange_against(answer, flow).await;
        assert!(expected(&error), "{why}: {error:?}");
        assert_eq!(server.accepted(), 1, "{why}: tried once");
    }
}

#[tokio::test]
async fn the_requests_carry_the_documented_fields_and_never_a_redirect_uri() {
    let ok = http_answer(
        "200 OK",
        &[],
        r#"{"user":{"id":"user_1","email":"a@b.example"},"organization_id":"org_1","access_token":"a","refresh_token":"r"}"#,
    );
    let server = LocalServer::start(Behaviour::Answer(ok)).await;
    let workos = client(&format!("{}/", server.base_url));

    let none = ClientContext::default();
    let identity = exchange_as(
        &workos,
        &tether_workos::AUTHKIT,
        "auth_code_1",
        Some("the-verifier"),
        &none,
    )
    .await
    .expect("a success");
    assert_eq!(identity.tenant.as_ref().map(TenantId::as_str), Some("org_1"));
    let _ = exchange_as(
        &workos,
        &tether_workos::SSO,
        "sso_code_1",
        Some("ignored-verifier"),
        &none,
    )
    .await;

    let requests = server.requests.lock().await.clone();
    assert_eq!(requests.len(), 2, "{requests:?}");

    assert!(requests[0].starts_with("POST /user_management/authenticate HTTP/1.1\r\n"));
    assert_eq!(
        sent_body(&requests[0]),
        grant_body(
            "authorization_code",
            serde_json::json!({ "code": "auth_code_1", "code_verifier": "the-verifier" })
        )
    );
    assert!(requests[1].starts_with("POST /sso/token HTTP/1.1\r\n"));
    assert_eq!(
        sent_body(&requests[1]),
        grant_body("authorization_code", serde_json::json!({ "code": "sso_code_1" }))
    );
    for request in &requests {
        assert!(
            request
                .to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{request}"
        );
        assert!(!request.contains("redirect_uri"), "{request}");
    }
}

#[tokio::test]
async fn authkit_requests_carry_the_clients_address_and_user_agent_and_sso_requests_do_not() {
    let ok = http_answer(
        "200 OK",
        &[],
        r#"{"user":{"id":"user_1","email":"a@b.example"},"organization_id":"org_1"}"#,
    );
    let server = LocalServer::start(Behaviour::Answer(ok)).await;
    let workos = client(&server.base_url);
    let client_context = ClientContext {
        ip_address: Some("203.0.113.7".to_owned()),
        user_agent: Some("Browser/1.0 (X11)".to_owned()),
    };
    exchange_as(
        &workos,
        &tether_workos::AUTHKIT,
        "auth_code_1",
        None,
        &client_context,
    )
    .await
    .expect("a success");
    let _ = exchange_as(&workos, &tether_workos::SSO, "sso_code_1", None, &client_context).await;
    let step = PendingStep::OrganizationSelection {
        pending_authentication_token: secret("pending_1"),
        organization_id: tether_workos::organization_id("org_01PICKED").unwrap(),
    };
    workos
        .complete_step(&step, &client_context)
        .await
        .expect("a success");
    let step = PendingStep::EmailVerification {
        pending_authentication_token: secret("pending_2"),
        code: secret("123456"),
    };
    workos
        .complete_step(&step, &ClientContext::default())
        .await
        .expect("a success");

    let requests = server.requests.lock().await.clone();
    assert_eq!(requests.len(), 4, "{requests:?}");
    assert_eq!(sent_body(&requests[0])["ip_address"], "203.0.113.7");
    assert_eq!(sent_body(&requests[0])["user_agent"], "Browser/1.0 (X11)");
    assert!(
        sent_body(&requests[1]).get("ip_address").is_none(),
        "SSO's token endpoint takes none"
    );
    assert!(requests[2].starts_with("POST /user_management/authenticate HTTP/1.1\r\n"));
    assert_eq!(
        sent_body(&requests[2]),
        grant_body(
            "urn:workos:oauth:grant-type:organization-selection",
            serde_json::json!({
                "pending_authentication_token": "pending_1",
                "organization_id": "org_01PICKED",
                "ip_address": "203.0.113.7",
                "user_agent": "Browser/1.0 (X11)",
            })
        )
    );
    assert_eq!(
        sent_body(&requests[3]),
        grant_body(
            "urn:workos:oauth:grant-type:email-verification:code",
            serde_json::json!({ "pending_authentication_token": "pending_2", "code": "123456" })
        )
    );
}

#[tokio::test]
async fn the_emulator_takes_the_step_grants_and_refuses_an_unknown_pending_token_as_an_invalid_code() {
    // The emulator never issues pending tokens, but it implements the grant: the request
    // shape is accepted and an unknown token is an unusable code, not a malformed request.
    let step = PendingStep::OrganizationSelection {
        pending_authentication_token: secret("pending_never_issued"),
        organization_id: tether_workos::organization_id("org_01NOSUCHORG").unwrap(),
    };
    let error = client(&emulator_url())
        .complete_step(&step, &ClientContext::default())
        .await
        .expect_err("an unknown pending token");
    assert!(matches!(error, ExchangeError::InvalidCode), "{error:?}");
    // Its e-mail-verification grant wants other fields than production's: refused, as
    // an answer that cannot finish the login, never as an outage.
    let step = PendingStep::EmailVerification {
        pending_authentication_token: secret("pending_never_issued"),
        code: secret("123456"),
    };
    let error = client(&emulator_url())
        .complete_step(&step, &ClientContext::default())
        .await
        .expect_err("an unknown pending token");
    assert!(matches!(error, ExchangeError::InvalidCode), "{error:?}");
}
