//! Property tests of the request parsing of the HTTP edge, through the whole
//! application ([`build_app`]) wired to in-memory stores and mocks (no network):
//!
//! - `POST /api/auth/workos/callback` with arbitrary bytes, arbitrary JSON and
//!   well-formed bodies;
//! - `GET /api/auth/workos/authorize` with arbitrary and well-formed query strings;
//! - `POST /api/auth/refresh` and `POST /api/auth/logout` with arbitrary bodies.
//!
//! Every answer is checked against invariants (no 5xx, no panic, a client mistake is a
//! 4xx with the typed error body `{"error", "code", "requestId"}`, nothing the client
//! sent is echoed back) and, for bodies and queries of the right shape, against a model
//! of the route's rules, including that what was sent reaches the domain unchanged.

use std::sync::{Arc, Mutex};

use actix_web::http::header::{ACCEPT, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use actix_web::test as atest;
use async_trait::async_trait;
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use secrecy::ExposeSecret;
use serde_json::{Map, Value};
use tether_domain::{
    AuthorizationRequest, ExchangeError, InvalidAccessToken, LoginHints, LoginPlan, LoginTurns,
    MockAccessTokenVerifier, MockIdentityProvider, MockStateProtector, MockTokenIssuer, Policies, Ports,
    ProviderKey, RedirectPolicy, Services, StoredSessionSettings, Timestamp, TokenHash, mocks,
};
use tether_memory::{InMemoryLoginStates, InMemoryStore};

use crate::{AppState, Limits, Readiness, build_app};

/// The redirect URI a login uses when it names none.
const DEFAULT_REDIRECT: &str = "http://localhost:5173/signin";
/// The other allowed redirect URI.
const ALLOWED_REDIRECT: &str = "https://app.tether.example/auth/callback";
/// What the mock identity provider answers for every authorization URL.
const IDP_URL: &str = "https://idp.example/authorize";
/// Put into client input: it must never come back in an answer. Upper-case letters keep
/// it from being a "clean" provider code (the one thing the callback answers back).
const MARKER: &str = "ZqMARKER7Q";

/// Every code a client mistake on these four routes may answer.
const CLIENT_ERROR_CODES: [&str; 12] = [
    "INVALID_REQUEST",
    "PAYLOAD_TOO_LARGE",
    "PROVIDER_ERROR",
    "MISSING_CODE",
    "INVALID_STATE",
    "INVALID_REDIRECT_URI",
    "INVALID_CODE",
    "MISSING_REFRESH_TOKEN",
    "REFRESH_TOKEN_INVALID",
    "MISSING_CREDENTIALS",
    "INVALID_TOKEN",
    "MISSING_TOKEN",
];

/// `cases` cases (or `PROPTEST_CASES` for a deeper run), no persisted failures.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

struct AlwaysReady;

#[async_trait]
impl Readiness for AlwaysReady {
    async fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

/// The application over fresh in-memory stores, and what its mocks were given.
struct Harness {
    state: AppState,
    /// Every code the identity provider was asked to exchange.
    exchanged: Arc<Mutex<Vec<String>>>,
    /// Every login the identity provider was asked to start.
    authorized: Arc<Mutex<Vec<AuthorizationRequest>>>,
    /// Every refresh token the token issuer digested.
    hashed: Arc<Mutex<Vec<String>>>,
}

/// An identity provider that knows no code, a token issuer that digests any token,
/// a verifier that accepts no access token, and login states accepted unissued (so a
/// callback reaches the code exchange without a start).
fn harness() -> Harness {
    let store = InMemoryStore::new();
    store.add_organization("Acme", Timestamp::from_millis(0), StoredSessionSettings::none());
    let exchanged = Arc::new(Mutex::new(Vec::new()));
    let authorized = Arc::new(Mutex::new(Vec::new()));
    let hashed = Arc::new(Mutex::new(Vec::new()));

    let mut idp = MockIdentityProvider::new();
    let seen = exchanged.clone();
    idp.expect_exchange().returning(move |exchange| {
        seen.lock()
            .unwrap()
            .push(exchange.code.expose_secret().to_owned());
        Err(ExchangeError::InvalidCode)
    });
    // The provider's plan, as WorkOS's: the API asked for, else SSO for enterprise
    // hints, else AuthKit with PKCE.
    idp.expect_plan_login().returning(|hints| {
        let sso = LoginPlan {
            provider: ProviderKey::from_static("sso"),
            pkce: false,
        };
        let authkit = LoginPlan {
            provider: ProviderKey::from_static("authkit"),
            pkce: true,
        };
        match hints.requested.as_deref() {
            Some("sso") => Ok(sso),
            Some("authkit") => Ok(authkit),
            Some(_) => Err("flow must be sso or authkit".to_owned()),
            None if hints
                .organization
                .as_deref()
                .is_some_and(|o| o.starts_with("org_"))
                || hints.connection.is_some()
                || hints.domain_hint.is_some() =>
            {
                Ok(sso)
            }
            None => Ok(authkit),
        }
    });
    let seen = authorized.clone();
    idp.expect_authorization_url().returning(move |request| {
        seen.lock().unwrap().push(request.clone());
        IDP_URL.to_owned()
    });
    let mut tokens = MockTokenIssuer::new();
    let seen = hashed.clone();
    tokens.expect_hash_refresh_token().returning(move |token| {
        seen.lock().unwrap().push(token.to_owned());
        TokenHash::new(token.bytes().map(|b| format!("{b:02x}")).collect::<String>())
    });
    // A refresh mints and seals its successor before it looks the token up.
    tokens
        .expect_mint_refresh_token()
        .returning(|| tether_domain::MintedRefreshToken {
            token: secrecy::SecretString::from(format!("rt_{}", "s".repeat(43))),
            hash: TokenHash::new("successor"),
        });
    tokens
        .expect_seal_successor()
        .returning(|_, _| "sealed".to_owned());
    let mut verifier = MockAccessTokenVerifier::new();
    verifier.expect_verify().returning(|_| Err(InvalidAccessToken));
    let mut protector = MockStateProtector::new();
    protector.expect_random_state().returning(|| "r".repeat(43));
    protector
        .expect_hash_state()
        .returning(|state| TokenHash::new(format!("state:{state}")));
    protector
        .expect_pkce_verifier()
        .returning(|_| secrecy::SecretString::from("v".repeat(43)));
    protector.expect_pkce_challenge().returning(|_| "c".repeat(43));

    let ports = Ports {
        users: Arc::new(store.clone()),
        organizations: Arc::new(store.clone()),
        sessions: Arc::new(store.clone()),
        refresh_tokens: Arc::new(store.clone()),
        link_requests: Arc::new(store.clone()),
        login_states: Arc::new(InMemoryLoginStates::new()),
        lifecycle: Arc::new(store),
        identity_provider: Arc::new(idp),
        tokens: Arc::new(tokens),
        verifier: Arc::new(verifier),
        state_protector: Arc::new(protector),
        clock: mocks::fixed_clock(Timestamp::from_millis(1_700_000_000_000)),
        login_turns: LoginTurns::new(),
        audit: Arc::new(tether_domain::NoAudit),
        audit_store: Arc::new(tether_memory::InMemoryAuditLog::new()),
    };
    let mut policies = Policies::new(RedirectPolicy::new(
        DEFAULT_REDIRECT,
        [ALLOWED_REDIRECT.to_owned()],
    ));
    policies.accept_unissued_state = true;
    Harness {
        state: AppState {
            services: Services::new(ports, policies),
            readiness: Arc::new(AlwaysReady),
            limits: Limits::default(),
            allowed_origins: Vec::new(),
            jwks: Arc::default(),
            webhooks: None,
        },
        exchanged,
        authorized,
        hashed,
    }
}

/// One answer, read whole.
struct Answer {
    status: u16,
    content_type: Option<String>,
    cache_control: Option<String>,
    location: Option<String>,
    request_id: Option<String>,
    body: Vec<u8>,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("cache_control", &self.cache_control)
            .field("location", &self.location)
            .field("request_id", &self.request_id)
            .field("body", &self.text())
            .finish()
    }
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The error body's `code`, empty when there is none.
    fn code(&self) -> String {
        self.json()
            .and_then(|b| b.get("code").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default()
    }
}

/// Sends `req` to a fresh application of `h` (stores are per harness, so a case never
/// sees another's data) on a fresh actix system.
fn send(h: &Harness, req: atest::TestRequest) -> Answer {
    let state = h.state.clone();
    actix_web::rt::System::new().block_on(async move {
        let app = atest::init_service(build_app(state)).await;
        let res = match atest::try_call_service(&app, req.to_request()).await {
            Ok(res) => res.map_into_boxed_body(),
            // An error escaping the middleware: the server would answer its bare response.
            Err(e) => {
                let res = e.as_response_error().error_response();
                return Answer {
                    status: res.status().as_u16(),
                    content_type: None,
                    cache_control: None,
                    location: None,
                    request_id: None,
                    body: format!("<error escaped the middleware: {e}>").into_bytes(),
                };
            }
        };
        let header = |name| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (status, content_type, cache_control, location, request_id) = (
            res.status().as_u16(),
            header(CONTENT_TYPE),
            header(CACHE_CONTROL),
            header(LOCATION),
            header(crate::request_id::REQUEST_ID_HEADER),
        );
        let body = atest::read_body(res).await.to_vec();
        Answer {
            status,
            content_type,
            cache_control,
            location,
            request_id,
            body,
        }
    })
}

/// A client mistake: a 4xx with the typed error body of the error table, its
/// `requestId` the one of the header, and nothing of the input in it.
fn assert_client_error(answer: &Answer) -> Result<(), TestCaseError> {
    prop_assert!((400..500).contains(&answer.status), "not a 4xx: {:?}", answer);
    prop_assert_eq!(
        answer.content_type.as_deref(),
        Some("application/json"),
        "{:?}",
        answer
    );
    prop_assert_eq!(answer.cache_control.as_deref(), Some("no-store"), "{:?}", answer);
    let body = answer.json();
    prop_assert!(
        body.as_ref().is_some_and(Value::is_object),
        "not a JSON object: {:?}",
        answer
    );
    let body = body.unwrap_or_default();
    let code = body.get("code").and_then(Value::as_str).unwrap_or_default();
    prop_assert!(
        CLIENT_ERROR_CODES.contains(&code),
        "unexpected code {:?}: {:?}",
        code,
        answer
    );
    prop_assert!(
        body.get("error")
            .and_then(Value::as_str)
            .is_some_and(|m| !m.is_empty()),
        "no message: {:?}",
        answer
    );
    prop_assert!(body.get("requestId").and_then(Value::as_str).is_some());
    prop_assert_eq!(
        body.get("requestId").and_then(Value::as_str),
        answer.request_id.as_deref()
    );
    assert_no_echo(answer)
}

fn assert_no_echo(answer: &Answer) -> Result<(), TestCaseError> {
    prop_assert!(
        !answer.text().contains(MARKER),
        "the input is echoed: {}",
        answer.text()
    );
    Ok(())
}

// ---- strategies ----------------------------------------------------------------

/// Strings a client may put in a field: anything, the marker inside anything, clean
/// provider codes, blanks, refresh tokens, the redirect URIs (also padded), and strings
/// around the length limits.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "\\PC{0,16}",
        3 => ("\\PC{0,6}", "\\PC{0,6}").prop_map(|(a, b)| format!("{a}{MARKER}{b}")),
        1 => "[a-z0-9_.-]{1,12}",
        1 => "[ \t\r\n]{0,3}",
        1 => "rt_[0-9a-f]{8,16}",
        1 => "[A-Za-z0-9._~-]{22,30}",
        1 => prop::sample::select(vec![DEFAULT_REDIRECT, ALLOWED_REDIRECT, " http://localhost:5173/signin", "https://evil.example/"])
            .prop_map(str::to_owned),
        1 => (500usize..530).prop_map(|n| format!("{MARKER}{}", "a".repeat(n))),
        1 => "\\PC{0,4}[\\x00-\\x1f\\x7f]\\PC{0,4}",
    ]
    .boxed()
}

/// Any JSON, with [`text`] strings.
fn json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinities", |f| f.is_finite())
            .prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// A field of a body: absent, a string, `null` or another JSON value.
#[derive(Debug, Clone)]
enum Field {
    Absent,
    Text(String),
    Null,
    Other(Value),
}

fn field() -> BoxedStrategy<Field> {
    field_weighted(3, 6)
}

/// A field absent with weight `absent`, a string with weight `text`, `null` or another
/// value with weight 1 each.
fn field_weighted(absent: u32, text_weight: u32) -> BoxedStrategy<Field> {
    prop_oneof![
        absent => Just(Field::Absent),
        text_weight => text().prop_map(Field::Text),
        1 => Just(Field::Null),
        1 => json()
            .prop_filter("another kind than string or null", |v| !v.is_string() && !v.is_null())
            .prop_map(Field::Other),
    ]
    .boxed()
}

impl Field {
    fn as_json(&self) -> Option<Value> {
        match self {
            Field::Absent => None,
            Field::Text(t) => Some(Value::String(t.clone())),
            Field::Null => Some(Value::Null),
            Field::Other(v) => Some(v.clone()),
        }
    }

    /// The value an `Option<String>` field gets: `Err` for another kind of value.
    fn parsed(&self) -> Result<Option<&str>, ()> {
        match self {
            Field::Absent | Field::Null => Ok(None),
            Field::Text(t) => Ok(Some(t)),
            Field::Other(_) => Err(()),
        }
    }
}

/// The callback body's fields, by wire name.
const CALLBACK_FIELDS: [&str; 7] = [
    "code",
    "state",
    "error",
    "error_description",
    "redirect_uri",
    "organizationId",
    "client_verifier",
];

/// A callback body of the right shape: an object of the seven fields (each absent, a
/// string, null or something else) plus unknown fields the route ignores; or, rarely,
/// the same seven values as an array (serde reads a struct from a sequence too).
#[derive(Debug, Clone)]
struct CallbackCase {
    fields: [Field; 7],
    extra: Vec<(String, Value)>,
    as_array: bool,
}

fn callback_case() -> impl Strategy<Value = CallbackCase> {
    (
        // Other kinds of values rarer than in `field`, so that every rule after the
        // parsing is reached often; the provider's error mostly absent.
        [
            field_weighted(2, 24),
            prop_oneof![
                6 => field_weighted(3, 24),
                1 => (505usize..520).prop_map(|n| Field::Text("s".repeat(n))),
            ]
            .boxed(),
            field_weighted(30, 8),
            field_weighted(3, 24),
            prop_oneof![
                4 => field_weighted(6, 8),
                6 => prop::sample::select(vec![DEFAULT_REDIRECT, ALLOWED_REDIRECT, ""])
                    .prop_map(|r| Field::Text(r.to_owned())),
            ]
            .boxed(),
            field_weighted(3, 24),
            prop_oneof![
                6 => field_weighted(12, 4),
                2 => "[A-Za-z0-9._~-]{43,128}".prop_map(Field::Text),
                1 => "[A-Za-z0-9._~-]{1,42}".prop_map(Field::Text),
            ]
            .boxed(),
        ],
        prop::collection::vec(
            (
                prop_oneof![
                    "[a-zA-Z_]{1,12}",
                    Just("organization_id".to_owned()),
                    Just("redirectUri".to_owned()),
                    Just("Code".to_owned()),
                    Just(MARKER.to_owned()),
                ],
                json(),
            ),
            0..3,
        ),
        prop::bool::weighted(0.05),
    )
        .prop_map(|(fields, extra, as_array)| CallbackCase {
            fields,
            extra: extra
                .into_iter()
                .filter(|(k, _)| !CALLBACK_FIELDS.contains(&k.as_str()))
                .collect(),
            as_array,
        })
}

impl CallbackCase {
    fn body(&self) -> Value {
        if self.as_array {
            return Value::Array(
                self.fields
                    .iter()
                    .map(|f| f.as_json().unwrap_or(Value::Null))
                    .collect(),
            );
        }
        let mut object = Map::new();
        for (name, value) in &self.extra {
            object.insert(name.clone(), value.clone());
        }
        for (name, f) in CALLBACK_FIELDS.iter().zip(&self.fields) {
            if let Some(v) = f.as_json() {
                object.insert((*name).to_owned(), v);
            }
        }
        Value::Object(object)
    }

    /// The route's rules, in the order the contract lists them: a field of another
    /// kind than string is a malformed body; the provider's error first; then the code;
    /// the redirect URI; a state longer than any issued one; else the code is exchanged
    /// (and unknown to the provider).
    fn expected(&self) -> (u16, &'static str) {
        let parsed: Result<Vec<Option<&str>>, ()> = self.fields.iter().map(Field::parsed).collect();
        let Ok(v) = parsed else {
            return (400, "INVALID_REQUEST");
        };
        let (code, state, error, redirect_uri, verifier) = (v[0], v[1], v[2], v[4], v[6]);
        if error.is_some_and(|e| !e.trim().is_empty()) {
            return (400, "PROVIDER_ERROR");
        }
        if code.is_none_or(|c| c.trim().is_empty()) {
            return (400, "MISSING_CODE");
        }
        if redirect_uri.is_some_and(|r| !r.is_empty() && r != DEFAULT_REDIRECT && r != ALLOWED_REDIRECT) {
            return (400, "INVALID_REDIRECT_URI");
        }
        let well_formed = |v: &str| {
            (43..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        };
        if verifier.is_some_and(|v| !v.is_empty() && !well_formed(v)) {
            return (400, "INVALID_STATE");
        }
        if state.is_some_and(|s| s.len() > 512) {
            return (400, "INVALID_STATE");
        }
        (401, "INVALID_CODE")
    }
}

fn is_clean_provider_code(raw: &str) -> bool {
    !raw.is_empty()
        && raw.len() <= 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b))
}

/// Content types a client may send.
fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        4 => Just(Some("application/json")),
        1 => Just(Some("application/json; charset=utf-8")),
        1 => Just(Some("application/vnd.api+json")),
        1 => Just(Some("text/plain")),
        1 => Just(Some("application/x-www-form-urlencoded")),
        1 => Just(Some("multipart/form-data; boundary=x")),
        1 => Just(Some("not a mime type")),
        1 => Just(None),
    ]
}

/// Arbitrary bytes with the marker somewhere: random bytes, broken JSON, JSON-looking text.
fn raw_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (
            prop::collection::vec(any::<u8>(), 0..64),
            prop::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(a, b)| {
                let mut bytes = a;
                bytes.extend_from_slice(MARKER.as_bytes());
                bytes.extend(b);
                bytes
            }),
        json().prop_map(|v| {
            // Cut anywhere, even inside a UTF-8 sequence.
            let mut bytes = v.to_string().into_bytes();
            bytes.truncate(bytes.len() / 2);
            bytes.extend_from_slice(MARKER.as_bytes());
            bytes
        }),
        "[{}\\[\\]\",: a-z0-9]{0,24}".prop_map(|s| format!("{{\"{MARKER}\": {s}").into_bytes()),
        Just(Vec::new()),
        Just(b"  \n".to_vec()),
        (0usize..3).prop_map(
            |n| format!("{{\"code\": \"{MARKER}{}\"}}", "x".repeat(16 * 1024 + n - 1)).into_bytes()
        ),
    ]
}

// ---- the callback -------------------------------------------------------------------

proptest! {
    #![proptest_config(config(128))]

    /// Any bytes under any content type: never a 5xx or a panic; a 4xx with the typed
    /// error body; nothing echoed.
    #[test]
    fn callback_any_bytes_is_a_typed_client_error(body in raw_body(), ct in content_type()) {
        let h = harness();
        let mut req = atest::TestRequest::post().uri("/api/auth/workos/callback").set_payload(body);
        if let Some(ct) = ct {
            req = req.insert_header((CONTENT_TYPE, ct));
        }
        let answer = send(&h, req);
        assert_client_error(&answer)?;
    }

    /// Any JSON value as the body: the same invariants.
    #[test]
    fn callback_any_json_is_a_typed_client_error(body in json()) {
        let h = harness();
        let req = atest::TestRequest::post().uri("/api/auth/workos/callback").set_json(&body);
        assert_client_error(&send(&h, req))?;
    }

    /// Bodies of the right shape: the answer the route's rules give, the code handed to
    /// the provider exactly as sent (never when an earlier rule refuses), a clean
    /// provider error code answered back as is and nothing else of the input.
    #[test]
    fn callback_body_follows_the_rules_and_reaches_the_provider_unchanged(case in callback_case()) {
        let h = harness();
        let req = atest::TestRequest::post().uri("/api/auth/workos/callback").set_json(case.body());
        let answer = send(&h, req);
        let (status, code) = case.expected();
        prop_assert_eq!((answer.status, answer.code()), (status, code.to_owned()), "{:?}", answer);
        let exchanged = h.exchanged.lock().unwrap().clone();
        if code == "INVALID_CODE" {
            let sent = case.fields[0].parsed().ok().flatten().unwrap_or_default().to_owned();
            // Unissued state: handed to the provider once (which resolves its API), as sent.
            prop_assert_eq!(exchanged, vec![sent]);
        } else {
            prop_assert!(exchanged.is_empty(), "exchanged although refused: {:?}", exchanged);
        }
        if code == "PROVIDER_ERROR" {
            let error = case.fields[2].parsed().ok().flatten().unwrap_or_default().trim().to_owned();
            let answered = answer.json().and_then(|b| b.get("providerError").and_then(Value::as_str).map(str::to_owned));
            prop_assert_eq!(answered, is_clean_provider_code(&error).then_some(error));
        } else {
            prop_assert!(answer.json().is_some_and(|b| b.get("providerError").is_none()));
        }
        assert_client_error(&answer)?;
    }
}

// ---- the start of a login ----------------------------------------------------------

/// The query parameters of the start of a login, with their length limits.
const AUTHORIZE_PARAMS: [(&str, usize); 9] = [
    ("redirect_uri", 2048),
    ("state", 512),
    ("login_hint", 320),
    ("organization_id", 128),
    ("prompt", 64),
    ("connection", 128),
    ("provider", 64),
    ("domain_hint", 253),
    ("flow", 16),
];

/// Percent-encodes every byte but the unreserved ones, so the query decodes to exactly `raw`.
fn encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn authorize_value() -> BoxedStrategy<String> {
    prop_oneof![
        4 => text(),
        1 => prop::sample::select(vec!["sso", "authkit", "SSO", " sso "]).prop_map(str::to_owned),
        1 => "org_[A-Za-z0-9]{1,8}",
        1 => (10usize..340).prop_map(|n| "a".repeat(n)),
        1 => Just(String::new()),
    ]
    .boxed()
}

/// Each of the nine parameters at most once (or, with `duplicate`, one of them twice),
/// plus unknown parameters the route ignores.
#[derive(Debug, Clone)]
struct AuthorizeCase {
    values: [Option<String>; 9],
    unknown: Vec<(String, String)>,
    duplicate: Option<(usize, String)>,
    json: bool,
}

fn authorize_case() -> impl Strategy<Value = AuthorizeCase> {
    let values: [BoxedStrategy<Option<String>>; 9] =
        std::array::from_fn(|_| prop::option::weighted(0.4, authorize_value()).boxed());
    (
        values,
        prop::collection::vec(("[a-z]{1,8}", text()), 0..2),
        prop::option::weighted(0.05, (0usize..9, authorize_value())),
        any::<bool>(),
    )
        .prop_map(|(mut values, unknown, mut duplicate, json)| {
            // A "duplicate" of an absent parameter is its only occurrence.
            if let Some((i, v)) = duplicate.clone()
                && values[i].is_none()
            {
                values[i] = Some(v);
                duplicate = None;
            }
            AuthorizeCase {
                values,
                unknown: unknown
                    .into_iter()
                    .filter(|(k, _)| !AUTHORIZE_PARAMS.iter().any(|(p, _)| p == k))
                    .collect(),
                duplicate,
                json,
            }
        })
}

impl AuthorizeCase {
    fn query(&self) -> String {
        let mut pairs: Vec<String> = Vec::new();
        for ((name, _), value) in AUTHORIZE_PARAMS.iter().zip(&self.values) {
            if let Some(v) = value {
                pairs.push(format!("{name}={}", encode(v)));
            }
        }
        if let Some((i, v)) = &self.duplicate {
            pairs.push(format!("{}={}", AUTHORIZE_PARAMS[*i].0, encode(v)));
        }
        for (k, v) in &self.unknown {
            pairs.push(format!("{k}={}", encode(v)));
        }
        pairs.join("&")
    }

    fn get(&self, i: usize) -> Option<String> {
        self.values[i].clone()
    }

    /// A trimmed, non-blank parameter; `Err` when too long or with control characters.
    fn param(&self, i: usize) -> Result<Option<String>, ()> {
        let Some(v) = self.get(i) else { return Ok(None) };
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        if v.chars().count() > AUTHORIZE_PARAMS[i].1 || v.chars().any(char::is_control) {
            return Err(());
        }
        Ok(Some(v.to_owned()))
    }

    /// Every code the documented checks give, or the request the provider receives.
    fn expected(&self) -> Result<AuthorizationRequest, Vec<&'static str>> {
        if self
            .duplicate
            .as_ref()
            .is_some_and(|(i, _)| self.values[*i].is_some())
        {
            return Err(vec!["INVALID_REQUEST"]);
        }
        let mut refused = Vec::new();
        let mut params: Vec<Option<String>> = Vec::new();
        for i in 0..9 {
            match self.param(i) {
                Ok(v) => params.push(v),
                Err(()) => {
                    refused.push("INVALID_REQUEST");
                    params.push(None);
                }
            }
        }
        let redirect_uri = match params[0].as_deref() {
            None => DEFAULT_REDIRECT.to_owned(),
            Some(r) if r == ALLOWED_REDIRECT || r == DEFAULT_REDIRECT => r.to_owned(),
            Some(_) => {
                refused.push("INVALID_REDIRECT_URI");
                String::new()
            }
        };
        // The state is taken as sent: not trimmed, 22 to 512 unreserved characters.
        let state = self.get(1).filter(|s| !s.is_empty());
        if let Some(s) = &state {
            let ok = (22..=512).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b));
            if !ok {
                refused.push("INVALID_REQUEST");
            }
        }
        let enterprise = params[3].as_deref().is_some_and(|o| o.starts_with("org_"))
            || params[5].is_some()
            || params[7].is_some();
        let sso = match params[8].as_deref() {
            Some("sso") => true,
            Some("authkit") => false,
            Some(_) => {
                refused.push("INVALID_REQUEST");
                false
            }
            None => enterprise,
        };
        if !refused.is_empty() {
            return Err(refused);
        }
        Ok(AuthorizationRequest {
            provider: ProviderKey::from_static(if sso { "sso" } else { "authkit" }),
            redirect_uri,
            state: state.unwrap_or_else(|| "r".repeat(43)),
            hints: LoginHints {
                requested: params[8].clone(),
                login_hint: params[2].clone(),
                organization: params[3].clone(),
                connection: params[5].clone(),
                domain_hint: params[7].clone(),
                provider: params[6].clone(),
                prompt: params[4].clone(),
            },
            code_challenge: (!sso).then(|| "c".repeat(43)),
        })
    }
}

/// Query strings of any URI-valid characters, with the marker, broken
/// percent-encodings, repeated and empty keys.
fn raw_query() -> impl Strategy<Value = String> {
    (
        "[A-Za-z0-9%&=+._~!$'()*,;:@/?-]{0,40}",
        "[A-Za-z0-9%&=+._~!$'()*,;:@/?-]{0,40}",
    )
        .prop_map(|(a, b)| format!("{a}{MARKER}{b}"))
}

proptest! {
    #![proptest_config(config(128))]

    /// Any query string: a redirect to the provider or a typed 4xx, never a 5xx,
    /// nothing echoed in an error.
    #[test]
    fn authorize_any_query_is_a_redirect_or_a_typed_client_error(query in raw_query()) {
        let h = harness();
        let answer = send(&h, atest::TestRequest::get().uri(&format!("/api/auth/workos/authorize?{query}")));
        if answer.status == 302 {
            prop_assert_eq!(answer.location.as_deref(), Some(IDP_URL));
        } else {
            assert_client_error(&answer)?;
        }
    }

    /// Well-formed queries: refused with one of the codes the checks give, else the
    /// provider receives exactly what was sent (trimmed), the documented default flow,
    /// and the state as sent.
    #[test]
    fn authorize_query_reaches_the_provider_as_sent(case in authorize_case()) {
        let h = harness();
        let mut req = atest::TestRequest::get().uri(&format!("/api/auth/workos/authorize?{}", case.query()));
        if case.json {
            req = req.insert_header((ACCEPT, "application/json"));
        }
        let answer = send(&h, req);
        let authorized = h.authorized.lock().unwrap().clone();
        match case.expected() {
            Ok(expected) => {
                if case.json {
                    prop_assert_eq!(answer.status, 200, "{:?}", answer);
                    prop_assert_eq!(answer.json(), Some(serde_json::json!({ "url": IDP_URL })));
                } else {
                    prop_assert_eq!(answer.status, 302, "{:?}", answer);
                    prop_assert_eq!(answer.location.as_deref(), Some(IDP_URL));
                }
                prop_assert_eq!(authorized, vec![expected]);
            }
            Err(codes) => {
                assert_client_error(&answer)?;
                let code = answer.code();
                prop_assert!(codes.contains(&code.as_str()), "{} not among {:?}", code, codes);
                prop_assert!(authorized.is_empty());
            }
        }
    }
}

// ---- refresh and logout -------------------------------------------------------------

/// A refresh or logout body of the right shape: `refreshToken` absent, a string, null
/// or another value, plus unknown fields; rarely the one value as an array.
#[derive(Debug, Clone)]
struct TokenCase {
    token: Field,
    extra: Vec<(String, Value)>,
    as_array: bool,
}

fn token_case() -> impl Strategy<Value = TokenCase> {
    (
        field(),
        prop::collection::vec(
            (
                prop_oneof![
                    "[a-zA-Z_]{1,12}",
                    Just("refresh_token".to_owned()),
                    Just(MARKER.to_owned())
                ],
                json(),
            ),
            0..3,
        ),
        prop::bool::weighted(0.05),
    )
        .prop_map(|(token, extra, as_array)| TokenCase {
            token,
            extra: extra.into_iter().filter(|(k, _)| k != "refreshToken").collect(),
            as_array,
        })
}

impl TokenCase {
    fn body(&self) -> Value {
        if self.as_array {
            return Value::Array(vec![self.token.as_json().unwrap_or(Value::Null)]);
        }
        let mut object: Map<String, Value> = self.extra.iter().cloned().collect();
        if let Some(v) = self.token.as_json() {
            object.insert("refreshToken".to_owned(), v);
        }
        Value::Object(object)
    }

    /// The token the domain is asked about: present, not blank, at most 512 bytes.
    fn usable(&self) -> Option<String> {
        match &self.token {
            Field::Text(t) if !t.trim().is_empty() && t.len() <= 512 => Some(t.clone()),
            _ => None,
        }
    }
}

fn post_json(uri: &str, body: &Value) -> atest::TestRequest {
    atest::TestRequest::post().uri(uri).set_json(body)
}

proptest! {
    #![proptest_config(config(128))]

    /// Refresh with any bytes under any content type, or any JSON: a typed 4xx, nothing echoed.
    #[test]
    fn refresh_any_body_is_a_typed_client_error(body in raw_body(), ct in content_type(), value in json()) {
        let h = harness();
        let mut req = atest::TestRequest::post().uri("/api/auth/refresh").set_payload(body);
        if let Some(ct) = ct {
            req = req.insert_header((CONTENT_TYPE, ct));
        }
        assert_client_error(&send(&h, req))?;
        assert_client_error(&send(&h, post_json("/api/auth/refresh", &value)))?;
    }

    /// Refresh bodies of the right shape: `MISSING_REFRESH_TOKEN` without a token,
    /// `INVALID_REQUEST` for a token of another kind, else the token digested exactly
    /// as sent (an unknown one: `REFRESH_TOKEN_INVALID`).
    #[test]
    fn refresh_body_reaches_the_rules_as_sent(case in token_case()) {
        let h = harness();
        let answer = send(&h, post_json("/api/auth/refresh", &case.body()));
        let expected = match &case.token {
            Field::Other(_) => "INVALID_REQUEST",
            Field::Text(t) if !t.trim().is_empty() => "REFRESH_TOKEN_INVALID",
            _ => "MISSING_REFRESH_TOKEN",
        };
        prop_assert_eq!(answer.code(), expected, "{:?}", answer);
        assert_client_error(&answer)?;
        let hashed = h.hashed.lock().unwrap().clone();
        prop_assert_eq!(hashed, case.usable().into_iter().collect::<Vec<_>>());
    }

    /// Logout with any bytes, content type and `Authorization` header: 200 or a typed
    /// 4xx, never a 5xx, nothing echoed.
    #[test]
    fn logout_any_body_is_ok_or_a_typed_client_error(
        body in raw_body(),
        ct in content_type(),
        authorization in prop::option::of(prop_oneof![
            "Bearer [!-~]{1,40}",
            "bearer  [!-~]{0,10}",
            "Basic [A-Za-z0-9=]{4,12}",
            "[ -~]{0,20}",
        ]),
    ) {
        let h = harness();
        let mut req = atest::TestRequest::post().uri("/api/auth/logout").set_payload(body);
        if let Some(ct) = ct {
            req = req.insert_header((CONTENT_TYPE, ct));
        }
        if let Some(a) = authorization {
            req = req.insert_header((AUTHORIZATION, format!("{a}{MARKER}")));
        }
        let answer = send(&h, req);
        if answer.status == 200 {
            prop_assert_eq!(answer.json(), Some(serde_json::json!({ "success": true, "message": "Logged out" })));
        } else {
            assert_client_error(&answer)?;
        }
    }

    /// Logout bodies of the right shape, without a bearer token: a usable token is
    /// digested as sent and logs out (200, idempotent for an unknown one); a blank or
    /// absent one, with no bearer token, is `MISSING_CREDENTIALS`; another kind is
    /// `INVALID_REQUEST`. With a bearer token the verifier refuses: `INVALID_TOKEN`.
    #[test]
    fn logout_body_reaches_the_rules_as_sent(case in token_case(), bearer in any::<bool>()) {
        let h = harness();
        let mut req = post_json("/api/auth/logout", &case.body());
        if bearer {
            req = req.insert_header((AUTHORIZATION, format!("Bearer {MARKER}")));
        }
        let answer = send(&h, req);
        let blank = matches!(&case.token, Field::Absent | Field::Null) || matches!(&case.token, Field::Text(t) if t.trim().is_empty());
        match &case.token {
            Field::Other(_) => prop_assert_eq!(answer.code(), "INVALID_REQUEST", "{:?}", answer),
            _ if !blank => prop_assert_eq!(answer.status, 200, "{:?}", answer),
            _ if bearer => prop_assert_eq!(answer.code(), "INVALID_TOKEN", "{:?}", answer),
            _ => prop_assert_eq!(answer.code(), "MISSING_CREDENTIALS", "{:?}", answer),
        }
        if answer.status != 200 {
            assert_client_error(&answer)?;
        }
        let hashed = h.hashed.lock().unwrap().clone();
        prop_assert_eq!(hashed, case.usable().into_iter().collect::<Vec<_>>());
    }
}
