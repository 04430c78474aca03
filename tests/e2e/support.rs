//! Test harness: peers' addresses, a service per test with its own database, and a
//! "browser" that obtains real codes from the WorkOS emulator.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use mongodb::bson::{Bson, Document, doc, oid::ObjectId};
use serde_json::Value;
use tether_auth::{Application, Overrides, Settings};
use tether_clock::ManualClock;

pub const JWT_SECRET: &str = "e2e-secret-e2e-secret-e2e-secret-0123";
pub const CLIENT_ID: &str = "client_e2e";
pub const CLIENT_URL: &str = "http://localhost:5173";

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the end-to-end tests through scripts/test.sh, which starts the peers")
    })
}

/// The emulator's base URL.
pub fn workos_url() -> String {
    required_env("TETHER_TEST_WORKOS_URL")
}

/// SecantusDB's URI.
pub fn mongo_uri() -> String {
    required_env("TETHER_TEST_MONGODB_URI")
}

/// A database name no other test uses.
pub fn unique_db(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    #[expect(
        clippy::disallowed_methods,
        reason = "a database name that differs between runs, not a time the rules read"
    )]
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or_default();
    format!("e2e_{tag}_{}_{n}_{}", std::process::id(), t % 1_000_000_000)
}

/// How to start one service.
#[derive(Debug, Clone)]
pub struct Options {
    pub tag: &'static str,
    pub env: Vec<(String, String)>,
    pub mongo_uri: Option<String>,
    /// The database, when another service uses it too (a replica).
    pub database: Option<String>,
}

impl Options {
    pub fn new(tag: &'static str) -> Self {
        Self {
            tag,
            env: Vec::new(),
            mongo_uri: None,
            database: None,
        }
    }

    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_owned(), value.into()));
        self
    }

    /// Only states the service issued itself are accepted at the callback.
    pub fn strict_states(self) -> Self {
        self.env("ACCEPT_UNISSUED_STATE", "false")
    }

    /// WorkOS at `url` instead of the emulator.
    pub fn workos(self, url: impl Into<String>) -> Self {
        self.env("WORKOS_BASE_URL", url)
    }

    pub fn mongo(mut self, uri: impl Into<String>) -> Self {
        self.mongo_uri = Some(uri.into());
        self
    }

    pub fn database(mut self, name: impl Into<String>) -> Self {
        self.database = Some(name.into());
        self
    }

    /// The settings a service started with these options runs under, on database
    /// `db_name` of the MongoDB at `uri`.
    pub fn settings(self, db_name: &str, uri: &str) -> Settings {
        let mut env = vec![
            ("PORT".to_owned(), "0".to_owned()),
            ("MONGODB_URI".to_owned(), uri.to_owned()),
            ("MONGODB_DATABASE".to_owned(), db_name.to_owned()),
            ("MONGODB_TIMEOUT_MS".to_owned(), "1500".to_owned()),
            ("JWT_SECRET".to_owned(), JWT_SECRET.to_owned()),
            ("WORKOS_API_KEY".to_owned(), "sk_test_default".to_owned()),
            ("WORKOS_CLIENT_ID".to_owned(), CLIENT_ID.to_owned()),
            ("WORKOS_BASE_URL".to_owned(), workos_url()),
            ("WORKOS_CONNECT_TIMEOUT_MS".to_owned(), "1000".to_owned()),
            ("WORKOS_TIMEOUT_MS".to_owned(), "5000".to_owned()),
            ("CLIENT_URL".to_owned(), CLIENT_URL.to_owned()),
            // Most tests obtain codes from the emulator directly, as SPAs that build
            // WorkOS URLs themselves do; tests of issued states set it to false.
            ("ACCEPT_UNISSUED_STATE".to_owned(), "true".to_owned()),
            // Tests that need them set these: many services share one process and address.
            ("METRICS_PORT".to_owned(), "0".to_owned()),
            ("RATE_LIMIT_PER_MINUTE".to_owned(), "0".to_owned()),
            // Tests share one emulator: only the tests of WorkOS events poll it.
            ("WORKOS_EVENTS".to_owned(), "off".to_owned()),
        ];
        for (k, v) in self.env {
            env.retain(|(key, _)| key != &k);
            env.push((k, v));
        }
        Settings::load_from(None, env).expect("test settings are valid")
    }
}

/// One running service and its database.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub db: mongodb::Database,
    pub db_name: String,
    /// The metrics listener's base URL, when the test set `METRICS_PORT`.
    pub metrics_base: Option<String>,
    /// This service's name in the lease of the WorkOS event stream, when it polls.
    pub events_holder: Option<String>,
    /// The task serving it (and owning its event consumer).
    task: tokio::task::AbortHandle,
}

impl TestApp {
    pub async fn spawn(options: Options) -> TestApp {
        Self::spawn_with(options, Overrides::default()).await
    }

    pub async fn spawn_with(options: Options, overrides: Overrides) -> TestApp {
        let db_name = options.database.clone().unwrap_or_else(|| unique_db(options.tag));
        let uri = options.mongo_uri.clone().unwrap_or_else(mongo_uri);
        let settings = options.settings(&db_name, &uri);
        let app = Application::build(settings, overrides)
            .await
            .expect("the service starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        let metrics_base = app.metrics_port().map(|p| format!("http://127.0.0.1:{p}"));
        let events_holder = app.events_holder().map(str::to_owned);
        let task = tokio::spawn(app.run_until_stopped()).abort_handle();
        let client = mongodb::Client::with_uri_str(&uri)
            .await
            .expect("test client connects");
        TestApp {
            base,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            db: client.database(&db_name),
            db_name,
            metrics_base,
            events_holder,
            task,
        }
    }

    /// Stops the service as a crash would: its event consumer dies without handing
    /// over its lease (the HTTP workers' threads are not waited for).
    pub fn kill(&self) {
        self.task.abort();
    }

    /// A request to `path` of this service, to be completed and sent with [`answer`].
    pub fn at(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    /// `GET path` of this service.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        answer(self.at(reqwest::Method::GET, path)).await
    }

    /// `method path` of this service with `token` as the Bearer token.
    pub async fn send_as(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::Response {
        answer(self.at(method, path).bearer_auth(token)).await
    }

    /// Signs `email` in through the SSO connection of its domain; the session's body.
    pub async fn sso_session(&self, email: &str) -> Value {
        let domain = email.split_once('@').map_or("", |(_, domain)| domain);
        let code = Browser::default().sso_code(domain, email).await;
        ok(self.callback(serde_json::json!({ "code": code })).await).await
    }

    /// Posts a JSON body to the callback.
    pub async fn callback(&self, body: Value) -> reqwest::Response {
        answer(
            self.at(reqwest::Method::POST, "/api/auth/workos/callback")
                .json(&body),
        )
        .await
    }

    /// `GET /api/auth/verify-token` with `token` as the Bearer token.
    pub async fn verify(&self, token: &str) -> reqwest::Response {
        answer(
            self.at(reqwest::Method::GET, "/api/auth/verify-token")
                .bearer_auth(token),
        )
        .await
    }

    /// `POST /api/auth/refresh` with `refresh_token`.
    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        let body = serde_json::json!({ "refreshToken": refresh_token });
        answer(self.at(reqwest::Method::POST, "/api/auth/refresh").json(&body)).await
    }

    /// Inserts an organization created `age_days` ago; returns its id.
    pub async fn add_org(&self, name: &str, age_days: i64, extra: Document) -> ObjectId {
        let id = ObjectId::new();
        let created = mongodb::bson::DateTime::from_millis(
            mongodb::bson::DateTime::now().timestamp_millis() - age_days * 86_400_000,
        );
        let mut doc = doc! {"_id": id, "name": name, "createdAt": created, "updatedAt": created};
        doc.extend(extra);
        self.db
            .collection::<Document>("organizations")
            .insert_one(doc)
            .await
            .expect("org inserted");
        id
    }

    /// Inserts an organization created `age_days` ago, mapped to the emulator's seeded
    /// WorkOS organization of the same name (whose connections vouch for its users'
    /// addresses); returns its id.
    pub async fn add_mapped_org(&self, name: &str, age_days: i64, extra: Document) -> ObjectId {
        let mut fields = doc! {"workosOrganizationId": workos_org_id(name).await};
        fields.extend(extra);
        self.add_org(name, age_days, fields).await
    }

    /// The stored document of organization `id`.
    pub async fn org_doc(&self, id: ObjectId) -> Document {
        self.db
            .collection::<Document>("organizations")
            .find_one(doc! {"_id": id})
            .await
            .expect("organizations readable")
            .expect("the organization exists")
    }

    pub fn users(&self) -> mongodb::Collection<Document> {
        self.db.collection("users")
    }

    /// Inserts a user the way the product stores one (no WorkOS ids); returns its id.
    pub async fn add_user(&self, email: &str, role: &str, organization: ObjectId) -> ObjectId {
        let id = ObjectId::new();
        self.users()
            .insert_one(doc! {
                "_id": id, "email": email, "fullName": "Existing User", "organizationId": organization,
                "accessRole": role, "conversationOpenPreference": "split", "loginDisabled": false,
                "phone": "+1 555 0100", "createdAt": mongodb::bson::DateTime::now(),
            })
            .await
            .expect("user inserted");
        id
    }

    /// The stored document of user `id`.
    pub async fn user_doc(&self, id: ObjectId) -> Document {
        self.users()
            .find_one(doc! {"_id": id})
            .await
            .expect("users readable")
            .expect("the user exists")
    }

    /// How many documents `collection` holds.
    pub async fn count(&self, collection: &str) -> u64 {
        self.db
            .collection::<Document>(collection)
            .count_documents(doc! {})
            .await
            .unwrap_or_else(|e| panic!("count {collection}: {e}"))
    }

    /// How many refresh tokens are stored.
    pub async fn refresh_token_count(&self) -> u64 {
        self.count("refresh_tokens").await
    }

    pub async fn user_count(&self) -> u64 {
        self.count("users").await
    }

    pub async fn session_count(&self) -> u64 {
        self.count("sessions").await
    }

    pub async fn drop(self) {
        let _ = self.db.drop().await;
    }
}

/// Calls WorkOS's emulator with the test API key and `body` as JSON; panics unless it
/// answers 2xx; its JSON answer (`null` for an empty one).
pub async fn emulator(method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut req = reqwest::Client::new()
        .request(method.clone(), format!("{}{path}", workos_url()))
        .bearer_auth("sk_test_default");
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.expect("the emulator answers");
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    assert!(status.is_success(), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A clock that moves only when the test moves it, and the overrides that give it to
/// a service.
pub fn manual_clock() -> (Arc<ManualClock>, Overrides) {
    let clock = Arc::new(ManualClock::starting_now());
    let overrides = Overrides {
        clock: Some(clock.clone()),
        ..Default::default()
    };
    (clock, overrides)
}

/// A service with an unmapped organization Acme and an ADMIN of it, `email`;
/// (service, organization, user).
pub async fn spawn_with_acme_admin(tag: &'static str, email: &str) -> (TestApp, ObjectId, ObjectId) {
    let app = TestApp::spawn(Options::new(tag)).await;
    let org = app.add_org("Acme", 1, doc! {}).await;
    let user = app.add_user(email, "ADMIN", org).await;
    (app, org, user)
}

/// The JSON body of a 200 answer (the test fails on any other status).
pub async fn ok(res: reqwest::Response) -> Value {
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("a JSON body");
    assert_eq!(status, 200, "{body}");
    body
}

/// A service whose WorkOS is a listener that counts connections and never answers:
/// for the refusals that must not call WorkOS at all.
pub async fn spawn_with_silent_workos(options: Options) -> (TestApp, CountingListener) {
    let upstream = CountingListener::start().await;
    let app = TestApp::spawn(options.workos(upstream.url.clone())).await;
    (app, upstream)
}

/// Sends `req`; the service's answer (the test fails when there is none).
pub async fn answer(req: reqwest::RequestBuilder) -> reqwest::Response {
    req.send().await.expect("the service answers")
}

/// Sends `req` with `body` exactly as written under `content_type`: the malformed or
/// mistyped bodies a route must refuse.
pub async fn send_raw(req: reqwest::RequestBuilder, content_type: &str, body: &str) -> reqwest::Response {
    answer(req.header("content-type", content_type).body(body.to_owned())).await
}

/// Registers a webhook endpoint at the emulator; returns its id.
pub async fn register_webhook(app: &TestApp, secret: &str) -> String {
    let endpoint = emulator(
        reqwest::Method::POST,
        "/webhook_endpoints",
        Some(serde_json::json!({
            "endpoint_url": format!("{}/api/webhooks/workos", app.base),
            "secret": secret,
            "events": ["user.deleted"],
        })),
    )
    .await;
    endpoint["id"].as_str().expect("an endpoint id").to_owned()
}

/// The emulator's id of the seeded WorkOS organization named `name`.
pub async fn workos_org_id(name: &str) -> String {
    let list: Value = reqwest::Client::new()
        .get(format!("{}/organizations?limit=100", workos_url()))
        .bearer_auth("sk_test_default")
        .send()
        .await
        .expect("the emulator lists organizations")
        .json()
        .await
        .expect("a JSON list");
    list["data"]
        .as_array()
        .expect("a data array")
        .iter()
        .find(|o| o["name"] == name)
        .and_then(|o| o["id"].as_str())
        .unwrap_or_else(|| panic!("the emulator has no organization {name}"))
        .to_owned()
}

/// A browser-like client that follows the emulator's authorization redirects.
pub struct Browser {
    http: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
        }
    }
}

/// Reads a query parameter from a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => out.push(b),
                    Err(_) => out.extend_from_slice(&bytes[i..i + 3]),
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl Browser {
    /// GETs `url` and returns the `Location` of its 302.
    pub async fn location(&self, url: &str) -> String {
        let res = self.http.get(url).send().await.expect("emulator answered");
        assert_eq!(res.status().as_u16(), 302, "expected a redirect from {url}");
        res.headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("a Location header")
            .to_owned()
    }

    /// A real SSO code for `email` through the connection of `domain`.
    pub async fn sso_code(&self, domain: &str, email: &str) -> String {
        let url = format!(
            "{}/sso/authorize?client_id={CLIENT_ID}&response_type=code&redirect_uri={}&state=s&domain_hint={}&login_hint={}",
            workos_url(),
            encode(&format!("{CLIENT_URL}/signin")),
            encode(domain),
            encode(email)
        );
        query_param(&self.location(&url).await, "code").expect("a code on the redirect")
    }

    /// A real AuthKit code for a seeded AuthKit user.
    pub async fn authkit_code(&self, email: &str) -> String {
        let url = format!(
            "{}/user_management/authorize?client_id={CLIENT_ID}&response_type=code&provider=authkit&redirect_uri={}&state=s&login_hint={}",
            workos_url(),
            encode(&format!("{CLIENT_URL}/signin")),
            encode(email)
        );
        query_param(&self.location(&url).await, "code").expect("a code on the redirect")
    }
}

/// Decodes and verifies an access token with the shared secret.
pub fn verify_jwt(token: &str) -> Value {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(JWT_SECRET.as_bytes()),
        &validation,
    )
    .expect("the token verifies with the shared secret")
    .claims
}

/// A browser binding as the SPA makes one: a fresh `client_verifier` (64 characters)
/// and its `client_challenge`, base64url (unpadded) SHA-256.
pub fn client_binding() -> (String, String) {
    use base64::Engine as _;
    use sha2::Digest;
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let verifier = sha256_hex(&format!(
        "verifier {} {} {:?}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::time::Instant::now()
    ));
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// SHA-256 hex of a string.
pub fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// A local TCP listener that counts connections and never answers: a stand-in for
/// an upstream that must not be called.
pub struct CountingListener {
    pub url: String,
    pub connections: Arc<AtomicUsize>,
}

impl CountingListener {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(socket);
            }
        });
        Self { url, connections }
    }

    pub fn count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// A port on which nothing listens.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Asserts an error answer: status, code, request id in body and header, no-store.
pub async fn assert_error(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "status");
    let header_id = res
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("x-request-id header");
    let body: Value = res.json().await.expect("JSON error body");
    assert_eq!(body["code"], code, "code in {body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "message in {body}"
    );
    assert_eq!(body["requestId"], header_id.as_str(), "request id echoed");
    body
}

/// A SecantusDB process of a test's own, to be stopped mid-test.
pub struct OwnMongo {
    pub uri: String,
    child: std::sync::Mutex<Option<std::process::Child>>,
}

impl OwnMongo {
    pub async fn start() -> Self {
        let binary = required_env("TETHER_TEST_SECANTUSD");
        let port = closed_port();
        let child = std::process::Command::new(binary)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--storage-path",
                ":memory:",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("SecantusDB starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "SecantusDB did not open its port"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Self {
            uri: format!("mongodb://127.0.0.1:{port}"),
            child: std::sync::Mutex::new(Some(child)),
        }
    }

    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnMongo {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Every document of every collection of the test's database, as text.
pub async fn whole_database(app: &TestApp) -> String {
    use futures_util::TryStreamExt as _;
    let mut all = String::new();
    for name in app.db.list_collection_names().await.expect("collections listed") {
        let docs: Vec<Document> = app
            .db
            .collection::<Document>(&name)
            .find(doc! {})
            .await
            .expect("collection readable")
            .try_collect()
            .await
            .expect("documents read");
        for d in docs {
            all.push_str(&format!("{name}: {}\n", Bson::Document(d).into_relaxed_extjson()));
        }
    }
    all
}

/// What a stand-in answers a request: a status, extra headers and a JSON body.
pub type StandInAnswer = (u16, Vec<(String, String)>, Vec<u8>);

/// A stand-in for an upstream (WorkOS) on a local port: each request, its head and
/// body, gets the answer `respond` gives it, on a connection of its own. Its base URL.
pub async fn stand_in<F, A>(respond: F) -> String
where
    F: Fn(String, Vec<u8>) -> A + Send + Sync + 'static,
    A: std::future::Future<Output = StandInAnswer> + Send + 'static,
{
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let respond = Arc::new(respond);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let respond = respond.clone();
            tokio::spawn(async move {
                let Some((head, body)) = read_request(&mut socket).await else {
                    return;
                };
                let (status, headers, answer) = respond(head, body).await;
                let mut out = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                    answer.len()
                );
                for (name, value) in headers {
                    out.push_str(&format!("{name}: {value}\r\n"));
                }
                out.push_str("\r\n");
                let _ = socket.write_all(out.as_bytes()).await;
                let _ = socket.write_all(&answer).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    url
}

/// Reads one HTTP/1.1 request from a stand-in's socket: its head (request line and
/// headers) and its body (as long as `Content-Length` says). `None` when the peer
/// closes first.
pub async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<(String, Vec<u8>)> {
    use tokio::io::AsyncReadExt;
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = socket.read(&mut buf).await.ok().filter(|n| *n > 0)?;
        request.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&request).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text
                .to_lowercase()
                .lines()
                .find_map(|l| l.strip_prefix("content-length:").map(str::to_owned))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if request.len() >= end + 4 + length {
                return Some((text[..end].to_owned(), request[end + 4..].to_vec()));
            }
        }
    }
}
