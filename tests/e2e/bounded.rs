//! Nothing waits forever, nothing grows without bound: a store that stalls, a body
//! that trickles, a client that floods, WorkOS rate-limiting us, and the metrics that
//! show logins, WorkOS exchanges and store operations.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mongodb::bson::doc;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::session::refresh;
use crate::support::*;

/// A TCP proxy in front of SecantusDB that can be switched to accept-and-stall: while
/// stalled, it accepts connections and holds every byte in either direction.
pub(crate) struct StallingProxy {
    pub(crate) uri: String,
    forwarding: Arc<AtomicBool>,
}

impl StallingProxy {
    pub(crate) async fn start(upstream: &str) -> Self {
        let target = upstream
            .trim_start_matches("mongodb://")
            .split(['/', '?'])
            .next()
            .expect("host:port")
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let uri = format!(
            "mongodb://{}/?directConnection=true",
            listener.local_addr().expect("addr")
        );
        let forwarding = Arc::new(AtomicBool::new(true));
        let flag = forwarding.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let flag = flag.clone();
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::spawn(pump(client_read, server_write, flag.clone()));
                    tokio::spawn(pump(server_read, client_write, flag));
                });
            }
        });
        Self { uri, forwarding }
    }

    pub(crate) fn stall(&self) {
        self.forwarding.store(false, Ordering::SeqCst);
    }

    pub(crate) fn forward(&self) {
        self.forwarding.store(true, Ordering::SeqCst);
    }
}

/// Copies bytes from `from` to `to`, holding them while the proxy is stalled.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    forwarding: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while !forwarding.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// `GET /api/auth/workos/authorize` as an SPA that navigates itself.
async fn authorize(app: &TestApp) -> reqwest::Response {
    answer(
        app.at(
            reqwest::Method::GET,
            "/api/auth/workos/authorize?flow=sso&domain_hint=acme.example",
        )
        .header("accept", "application/json"),
    )
    .await
}

/// Issues a login state and returns it.
async fn issued_state(app: &TestApp) -> String {
    let res = authorize(app).await;
    assert_eq!(res.status().as_u16(), 200, "authorize");
    let body: Value = res.json().await.unwrap();
    query_param(body["url"].as_str().unwrap(), "state").expect("a state in the URL")
}

async fn ready_status(app: &TestApp) -> (u16, Value) {
    let res = app.get("/ready").await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Asserts that `answer` is a 503 `STORE_UNAVAILABLE` that came within `within`.
async fn assert_store_unavailable(what: &str, started: Instant, res: reqwest::Response, within: Duration) {
    let elapsed = started.elapsed();
    eprintln!("{what} under a stalled store: answered after {elapsed:?}");
    assert_error(res, 503, "STORE_UNAVAILABLE").await;
    assert!(elapsed <= within, "{what} took {elapsed:?}, more than {within:?}");
}

#[tokio::test]
async fn a_stalled_store_gives_503_within_the_time_out_and_the_service_recovers_without_restart() {
    const TIMEOUT_MS: u64 = 1000;
    let proxy = StallingProxy::start(&mongo_uri()).await;
    let app = TestApp::spawn(
        Options::new("stall")
            .mongo(proxy.uri.clone())
            .env("MONGODB_TIMEOUT_MS", TIMEOUT_MS.to_string()),
    )
    .await;
    app.add_org("Acme", 1, doc! {}).await;
    // While the store answers: a session to refresh later and a state to post later.
    let session = app.sso_session("stall@acme.example").await;
    let refresh_token = session["refreshToken"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let state = issued_state(&app).await;
    assert_eq!(ready_status(&app).await.0, 200);

    proxy.stall();
    let within = Duration::from_millis(TIMEOUT_MS + 1000);

    let started = Instant::now();
    let res = authorize(&app).await;
    assert_store_unavailable("authorize", started, res, within).await;

    let started = Instant::now();
    let res = app.callback(json!({ "code": "any", "state": state })).await;
    assert_store_unavailable("callback", started, res, within).await;

    let started = Instant::now();
    let res = refresh(&app, &refresh_token).await;
    assert_store_unavailable("refresh", started, res, within).await;

    let started = Instant::now();
    let (status, body) = ready_status(&app).await;
    let elapsed = started.elapsed();
    eprintln!("/ready under a stalled store: {status} after {elapsed:?}");
    assert_eq!(status, 503, "{body}");
    assert!(elapsed <= Duration::from_millis(2500), "/ready took {elapsed:?}");
    let text = body.to_string();
    assert!(
        !text.contains("127.0.0.1") && !text.to_lowercase().contains("mongo"),
        "{text}"
    );

    proxy.forward();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let ready = ready_status(&app).await.0;
        let start = authorize(&app).await.status().as_u16();
        if ready == 200 && start == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no recovery within 15 s of forwarding again (ready {ready}, authorize {start})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let res = refresh(&app, &refresh_token).await;
    assert_eq!(res.status().as_u16(), 200, "refresh after recovery");
    app.drop().await;
}

#[tokio::test]
async fn the_start_up_adoption_of_earlier_sessions_is_bounded_by_the_time_out_and_never_holds_health() {
    const TIMEOUT_MS: u64 = 800;
    let proxy = StallingProxy::start(&mongo_uri()).await;
    let app = TestApp::spawn(
        Options::new("adopt_stall")
            .mongo(proxy.uri.clone())
            .env("MONGODB_TIMEOUT_MS", TIMEOUT_MS.to_string()),
    )
    .await;
    let store = tether_mongo::MongoStore::connect(tether_mongo::MongoConfig {
        uri: secrecy::SecretString::from(proxy.uri.clone()),
        database: Some(app.db.name().to_owned()),
        server_selection_timeout: Duration::from_millis(TIMEOUT_MS),
        connect_timeout: Duration::from_millis(TIMEOUT_MS),
        operation_timeout: Duration::from_millis(TIMEOUT_MS),
        count_commands: false,
        max_pool_size: Some(2),
    })
    .await
    .expect("connects");
    proxy.stall();
    let started = Instant::now();
    let adopted = store
        .adopt_legacy_sessions(86_400, tether_domain::Timestamp::from_millis(1_700_000_000_000))
        .await;
    let elapsed = started.elapsed();
    assert!(adopted.is_err(), "a stalled store cannot answer: {adopted:?}");
    assert!(
        elapsed <= Duration::from_millis(TIMEOUT_MS + 1000),
        "the adoption took {elapsed:?} under a stalled store"
    );
    // The service runs it off the start-up path: /health answers while the store stalls.
    let res = app.get("/health").await;
    assert_eq!(res.status().as_u16(), 200);
    proxy.forward();
    app.drop().await;
}

#[tokio::test]
async fn a_body_trickled_a_byte_a_second_is_cut_off_after_the_body_time_out() {
    const BODY_TIMEOUT_MS: u64 = 1000;
    let app =
        TestApp::spawn(Options::new("trickle").env("REQUEST_BODY_TIMEOUT_MS", BODY_TIMEOUT_MS.to_string()))
            .await;
    let address = app.base.trim_start_matches("http://").to_owned();
    let stream = TcpStream::connect(&address).await.expect("connect");
    let (mut read, mut write) = stream.into_split();
    write
        .write_all(
            format!(
                "POST /api/auth/workos/callback HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .expect("headers sent");
    let started = Instant::now();
    let trickle = tokio::spawn(async move {
        for byte in std::iter::once(b'{').chain(std::iter::repeat(b' ')).take(200) {
            if write.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let limit = Duration::from_millis(BODY_TIMEOUT_MS + 2000);
    let mut answer = Vec::new();
    let outcome = tokio::time::timeout(limit, async {
        let mut buf = [0u8; 4096];
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                return;
            }
        }
    })
    .await;
    let elapsed = started.elapsed();
    trickle.abort();
    eprintln!(
        "trickled body: {} after {elapsed:?}",
        String::from_utf8_lossy(&answer)
            .lines()
            .next()
            .unwrap_or("closed")
    );
    assert!(outcome.is_ok(), "no answer and no close within {limit:?}");
    let text = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || (text.starts_with("HTTP/1.1 408") && text.contains("\"REQUEST_TIMEOUT\"")),
        "{text}"
    );
    assert!(
        elapsed >= Duration::from_millis(BODY_TIMEOUT_MS - 100),
        "cut off before the time-out: {elapsed:?}"
    );
    app.drop().await;
}

/// `n` authorizes as fast as they go, each with the given `X-Forwarded-For`; returns
/// how many were refused with 429 `RATE_LIMITED` and a `Retry-After`.
async fn flood(app: &TestApp, n: usize, forwarded_for: impl Fn(usize) -> Option<String>) -> usize {
    let mut limited = 0;
    for i in 0..n {
        let mut req = app
            .http
            .get(format!("{}/api/auth/workos/authorize?flow=sso", app.base))
            .header("accept", "application/json");
        if let Some(xff) = forwarded_for(i) {
            req = req.header("x-forwarded-for", xff);
        }
        let res = req.send().await.expect("authorize answered");
        match res.status().as_u16() {
            200 => {}
            429 => {
                let retry_after: u64 = res.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .expect("Retry-After in seconds");
                assert!((1..=60).contains(&retry_after), "{retry_after}");
                assert_error(res, 429, "RATE_LIMITED").await;
                limited += 1;
            }
            other => panic!("authorize answered {other}"),
        }
    }
    limited
}

#[tokio::test]
async fn a_flood_from_one_address_is_limited_whatever_it_forwards_and_health_never_is() {
    let app = TestApp::spawn(
        Options::new("ratelimit")
            .env("RATE_LIMIT_PER_MINUTE", "10")
            .env("METRICS_PORT", closed_port().to_string()),
    )
    .await;
    let limited = flood(&app, 30, |i| Some(format!("198.51.100.{i}"))).await;
    assert!(limited >= 15, "only {limited} of 30 were limited");
    for _ in 0..50 {
        let res = app.get("/health").await;
        assert_eq!(res.status().as_u16(), 200, "/health is never limited");
    }
    // The other unauthenticated routes share the client's bucket.
    let res = app.callback(json!({ "code": "x" })).await;
    assert_error(res, 429, "RATE_LIMITED").await;
    let text = scrape(&app).await;
    assert!(
        metric(
            &text,
            "tether_rate_limited_total",
            &[("route", "/api/auth/workos/authorize")]
        )
        .is_some_and(|v| v >= 15.0),
        "{text}"
    );
    app.drop().await;
}

#[tokio::test]
async fn refreshes_have_a_budget_of_their_own_and_keep_working_after_the_login_budget_is_spent() {
    let app = TestApp::spawn(Options::new("refresh_budget").env("RATE_LIMIT_PER_MINUTE", "5")).await;
    app.add_org("Acme", 1, doc! {}).await;
    let session = app.sso_session("office@acme.example").await;
    let mut token = session["refreshToken"].as_str().unwrap().to_owned();
    // The office signs in at 9:00: the login budget of the address is spent.
    assert!(flood(&app, 20, |_| None).await >= 10);
    assert_error(app.callback(json!({ "code": "x" })).await, 429, "RATE_LIMITED").await;
    // Everyone's refresh goes on.
    for _ in 0..8 {
        let res = refresh(&app, &token).await;
        assert_eq!(
            res.status().as_u16(),
            200,
            "a refresh after the login budget is spent"
        );
        token = res.json::<Value>().await.unwrap()["refreshToken"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    app.drop().await;

    // And the refresh budget is its own: spending it leaves the login routes open.
    let app = TestApp::spawn(
        Options::new("refresh_budget_own")
            .env("RATE_LIMIT_PER_MINUTE", "5")
            .env("REFRESH_RATE_LIMIT_PER_MINUTE", "3"),
    )
    .await;
    let mut limited = 0;
    for _ in 0..6 {
        let res = refresh(&app, "rt_not_a_token").await;
        if res.status().as_u16() == 429 {
            assert_error(res, 429, "RATE_LIMITED").await;
            limited += 1;
        }
    }
    assert!(limited >= 3, "{limited}");
    assert_eq!(
        flood(&app, 3, |_| None).await,
        0,
        "the login routes are untouched"
    );
    app.drop().await;
}

#[tokio::test]
async fn a_percent_encoded_route_meets_the_same_limit_as_the_plain_one() {
    let app = TestApp::spawn(
        Options::new("ratelimit_encoded")
            .env("RATE_LIMIT_PER_MINUTE", "10")
            .env("METRICS_PORT", "0"),
    )
    .await;
    let mut limited = 0;
    for _ in 0..30 {
        // `%61uthorize` is `authorize` to the router: the same handler, the same bucket.
        let res = answer(
            app.at(reqwest::Method::GET, "/api/auth/workos/%61uthorize?flow=sso")
                .header("accept", "application/json"),
        )
        .await;
        match res.status().as_u16() {
            200 => {}
            429 => limited += 1,
            other => panic!("the encoded authorize answered {other}"),
        }
    }
    assert!(
        limited >= 15,
        "only {limited} of 30 encoded requests were limited"
    );
    let res = answer(
        app.at(reqwest::Method::POST, "/api/auth/workos/%63allback")
            .json(&json!({ "code": "x" })),
    )
    .await;
    assert_error(res, 429, "RATE_LIMITED").await;
    app.drop().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket() {
    let app = TestApp::spawn(
        Options::new("proxied")
            .env("RATE_LIMIT_PER_MINUTE", "10")
            .env("TRUSTED_PROXIES", "127.0.0.1/32"),
    )
    .await;
    let first = flood(&app, 20, |_| Some("203.0.113.5".to_owned())).await;
    assert!(first >= 9, "only {first} of 20 were limited");
    // Another client behind the same proxy (a trusted hop on the right is skipped).
    let second = flood(&app, 10, |_| Some("203.0.113.6, 127.0.0.1".to_owned())).await;
    assert_eq!(second, 0, "the second client has its own bucket");
    // The proxy itself, without a header, is a client of its own too.
    assert_eq!(flood(&app, 5, |_| None).await, 0);
    app.drop().await;
}

/// A WorkOS stand-in that answers every request 429 `Retry-After: 30` and counts them.
async fn rate_limiting_workos() -> (String, Arc<AtomicUsize>) {
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    let url = stand_in(move |_, _| {
        counter.fetch_add(1, Ordering::SeqCst);
        let retry_after = vec![("Retry-After".to_owned(), "30".to_owned())];
        async move { (429, retry_after, br#"{"message":"Too many requests"}"#.to_vec()) }
    })
    .await;
    (url, requests)
}

#[tokio::test]
async fn after_a_429_from_workos_no_call_goes_out_until_its_retry_after_has_passed() {
    let (workos, requests) = rate_limiting_workos().await;
    let app = TestApp::spawn(Options::new("backoff").workos(workos).strict_states()).await;
    let mut states = Vec::new();
    for _ in 0..5 {
        states.push(issued_state(&app).await);
    }
    let mut previous = u64::MAX;
    for (i, state) in states.into_iter().enumerate() {
        let started = Instant::now();
        let res = app
            .callback(json!({ "code": format!("code-{i}"), "state": state }))
            .await;
        let retry_after: u64 = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("a Retry-After in seconds");
        assert_error(res, 503, "UPSTREAM_RATE_LIMITED").await;
        assert!((1..=30).contains(&retry_after), "{retry_after}");
        assert!(retry_after <= previous, "the wait counts down");
        previous = retry_after;
        if i > 0 {
            assert!(started.elapsed() < Duration::from_secs(1), "answered at once");
        }
    }
    assert_eq!(
        requests.load(Ordering::SeqCst),
        1,
        "WorkOS received exactly one request"
    );
    app.drop().await;
}

/// A WorkOS in front of the emulator whose AuthKit authenticate answers 429
/// `Retry-After: 600` (a per-user limit) and counts those; everything else is the
/// emulator's answer, relayed.
async fn authkit_rate_limited_workos() -> (String, Arc<AtomicUsize>) {
    let refused = Arc::new(AtomicUsize::new(0));
    let counter = refused.clone();
    let upstream = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = stand_in(move |head, body| {
        let (counter, upstream) = (counter.clone(), upstream.clone());
        async move {
            let mut parts = head.lines().next().unwrap_or_default().split(' ');
            let (method, path) = (
                parts.next().unwrap_or("GET").to_owned(),
                parts.next().unwrap_or("/").to_owned(),
            );
            if path.starts_with("/user_management/authenticate") {
                counter.fetch_add(1, Ordering::SeqCst);
                return (
                    429,
                    vec![("Retry-After".to_owned(), "600".to_owned())],
                    br#"{"message":"Too many requests"}"#.to_vec(),
                );
            }
            let mut forwarded = upstream.request(method.parse().unwrap(), format!("{}{path}", workos_url()));
            for line in head.lines().skip(1) {
                if let Some((name, value)) = line.split_once(':')
                    && ["content-type", "authorization", "accept"]
                        .contains(&name.trim().to_lowercase().as_str())
                {
                    forwarded = forwarded.header(name.trim(), value.trim());
                }
            }
            let res = forwarded.body(body).send().await.unwrap();
            let headers = ["location", "retry-after"]
                .iter()
                .filter_map(|h| Some(((*h).to_owned(), res.headers().get(*h)?.to_str().ok()?.to_owned())))
                .collect();
            (
                res.status().as_u16(),
                headers,
                res.bytes().await.unwrap().to_vec(),
            )
        }
    })
    .await;
    (url, refused)
}

#[tokio::test]
async fn an_authkit_429_closes_only_authkit_for_at_most_sixty_seconds_and_sso_logins_go_on() {
    let (workos, refused) = authkit_rate_limited_workos().await;
    let app = TestApp::spawn(Options::new("backoff_per_api").workos(workos).strict_states()).await;
    app.add_org("Acme", 1, doc! {}).await;
    let login = |query: &'static str| {
        let app = &app;
        async move {
            let res = app.get(&format!("/api/auth/workos/authorize?{query}")).await;
            let back = Browser::default()
                .location(res.headers()["location"].to_str().unwrap())
                .await;
            app.callback(json!({"code": query_param(&back, "code"), "state": query_param(&back, "state")}))
                .await
        }
    };
    let retry_after =
        |res: &reqwest::Response| -> u64 { res.headers()["retry-after"].to_str().unwrap().parse().unwrap() };
    let first = login("flow=authkit&login_hint=jane%40authkit.example").await;
    assert!(
        retry_after(&first) <= 60,
        "WorkOS's 600 s is capped at WORKOS_BACKOFF_MAX_SECONDS"
    );
    assert_error(first, 503, "UPSTREAM_RATE_LIMITED").await;

    let sso = login("domain_hint=acme.example&login_hint=still%40acme.example").await;
    assert_eq!(sso.status().as_u16(), 200, "SSO has a window of its own");

    let again = login("flow=authkit&login_hint=jane%40authkit.example").await;
    let wait = retry_after(&again);
    assert!((1..=60).contains(&wait), "{wait}");
    assert_error(again, 503, "UPSTREAM_RATE_LIMITED").await;
    assert_eq!(refused.load(Ordering::SeqCst), 1, "AuthKit was asked once");
    app.drop().await;
}

/// The metrics listener's text.
async fn scrape(app: &TestApp) -> String {
    let base = app.metrics_base.as_deref().expect("METRICS_PORT set");
    let res = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("metrics answered");
    assert_eq!(res.status().as_u16(), 200);
    res.text().await.unwrap()
}

/// The value of the series `name` whose labels include `labels`, if there is one.
fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| labels.iter().all(|(k, v)| l.contains(&format!("{k}=\"{v}\""))))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn logins_workos_exchanges_and_store_operations_show_in_the_metrics_of_their_own_port() {
    let app = TestApp::spawn(Options::new("observed").env("METRICS_PORT", closed_port().to_string())).await;
    app.add_org("Acme", 1, doc! {}).await;
    let session = app.sso_session("observed@acme.example").await;
    let res = app
        .callback(json!({ "code": "whatever", "state": "s".repeat(2048) }))
        .await;
    assert_error(res, 400, "INVALID_STATE").await;
    let res = refresh(&app, session["refreshToken"].as_str().unwrap()).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_error(refresh(&app, "rt_unknown").await, 401, "REFRESH_TOKEN_INVALID").await;

    let text = scrape(&app).await;
    let has = |name: &str, labels: &[(&str, &str)]| metric(&text, name, labels).is_some_and(|v| v >= 1.0);
    assert!(
        has("tether_logins_total", &[("flow", "sso"), ("outcome", "ok")]),
        "{text}"
    );
    assert!(
        has("tether_logins_total", &[("outcome", "INVALID_STATE")]),
        "{text}"
    );
    assert!(has("tether_refresh_total", &[("outcome", "ok")]), "{text}");
    assert!(
        has("tether_refresh_total", &[("outcome", "REFRESH_TOKEN_INVALID")]),
        "{text}"
    );
    assert!(
        has(
            "tether_workos_exchange_seconds_count",
            &[("api", "sso"), ("outcome", "ok")]
        ),
        "{text}"
    );
    assert!(
        has(
            "tether_store_operation_seconds_count",
            &[("operation", "users.insert_one")]
        ),
        "{text}"
    );
    assert!(
        text.contains("tether_store_operation_seconds_bucket{operation=\"users.insert_one\",le=\"30\"}"),
        "buckets reach 30 s: {text}"
    );
    for process in [
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_cpu_seconds_total",
    ] {
        assert!(metric(&text, process, &[]).is_some(), "{process}: {text}");
    }
    let public = app.get("/metrics").await;
    assert_error(public, 404, "NOT_FOUND").await;
    app.drop().await;
}
