//! A real browser: headless Chromium, driven over WebDriver (chromedriver, raw W3C
//! endpoints), runs the example SPA (`examples/spa/`) from another origin than the
//! API, through WorkOS's emulator, to a signed-in result. It needs CORS on every
//! step: authorize and the callback are cross-origin `fetch`es, and the page reads
//! the callback's `x-request-id`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mongodb::bson::{Document, doc};
use serde_json::{Value, json};
use tether_auth::Overrides;
use tether_clock::ManualClock;

use crate::session::refresh;

use crate::support::*;

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests through scripts/test.sh, which installs Chromium and chromedriver")
    })
}

/// A child process killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A folder removed when dropped.
struct TempFolder(PathBuf);

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "{what} did not open port {port}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `examples/spa` on its own origin (a static file server on another port), deployed
/// as a team would: the page's files with its `config.js` naming the API at `api`, then
/// `config` (more settings, JavaScript). The copy is removed with the server.
async fn serve_example(port: u16, api: &str, config: &str) -> (Process, TempFolder) {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/spa");
    let dir = std::env::temp_dir().join(format!("tether-spa-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder for the page");
    for file in ["index.html", "app.js", "config.js"] {
        std::fs::copy(source.join(file), dir.join(file)).expect("the page's files copy");
    }
    assert!(
        std::fs::read_to_string(dir.join("config.js")).is_ok_and(|c| c.contains("window.TETHER_API")),
        "the example ships the config.js its page loads"
    );
    std::fs::write(
        dir.join("config.js"),
        format!("window.TETHER_API = {};\n{config}", serde_json::Value::from(api)),
    )
    .expect("config.js is written");
    let child = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 serves the example");
    let process = Process(child);
    wait_for_port(port, "the example's static server").await;
    (process, TempFolder(dir))
}

/// POSTs a JSON body to chromedriver; its JSON answer.
async fn post_json(http: &reqwest::Client, url: &str, body: &Value) -> Value {
    http.post(url)
        .json(body)
        .send()
        .await
        .expect("chromedriver answers")
        .json()
        .await
        .expect("a JSON answer")
}

/// A minimal W3C WebDriver client over reqwest.
struct WebDriver {
    http: reqwest::Client,
    session: String,
    _driver: Process,
    profile: PathBuf,
}

impl WebDriver {
    async fn start() -> Self {
        let port = closed_port();
        let driver = Process(
            Command::new(required_env("TETHER_TEST_CHROMEDRIVER"))
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts"),
        );
        wait_for_port(port, "chromedriver").await;
        let profile = std::env::temp_dir().join(unique_db("chromium-profile"));
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let created = post_json(
            &http,
            &format!("{base}/session"),
            &json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": required_env("TETHER_TEST_CHROMIUM"),
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                        "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync",
                        format!("--user-data-dir={}", profile.display()),
                    ],
                },
            }}}),
        )
        .await;
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("a browser session: {created}"))
            .to_owned();
        Self {
            http,
            session: format!("{base}/session/{session}"),
            _driver: driver,
            profile,
        }
    }

    async fn command(&self, path: &str, body: Value) -> Value {
        let answer = post_json(&self.http, &format!("{}{path}", self.session), &body).await;
        assert!(answer["value"]["error"].is_null(), "WebDriver {path}: {answer}");
        answer["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.command("/url", json!({ "url": url })).await;
    }

    async fn run(&self, script: &str) -> Value {
        self.command("/execute/sync", json!({ "script": script, "args": [] }))
            .await
    }

    /// Waits until the page's `data-result` is final (`signed-in` or `error`); returns it.
    async fn result(&self) -> String {
        self.result_among(&["signed-in", "error"]).await
    }

    /// Waits (at most 30 s) until the page's `data-result` is one of `wanted`; returns it.
    async fn result_among(&self, wanted: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let result = self
                .run("return document.body.dataset.result || ''")
                .await
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if wanted.contains(&result.as_str()) {
                return result;
            }
            let status = self.text("status").await;
            assert!(
                Instant::now() < deadline,
                "the page did not reach {wanted:?}: {result:?}, {status}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (at most `seconds`) until `condition`, a JavaScript expression, is true.
    async fn until(&self, condition: &str, seconds: u64) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        while self.run(&format!("return Boolean({condition})")).await != Value::Bool(true) {
            let status = self.text("status").await;
            assert!(
                Instant::now() < deadline,
                "the page never had {condition}; it says: {status}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (at most `seconds`) until `condition` holds, and asserts it came no sooner
    /// than `at_least` after `since`.
    async fn until_no_sooner(&self, condition: &str, seconds: u64, since: Instant, at_least: Duration) {
        self.until(condition, seconds).await;
        assert!(
            since.elapsed() >= at_least,
            "{condition} after {:?}",
            since.elapsed()
        );
    }

    async fn click(&self, id: &str) {
        self.run(&format!("document.getElementById('{id}').click()"))
            .await;
    }

    /// A string the page holds, read with a JavaScript expression.
    async fn string(&self, expression: &str) -> String {
        self.run(&format!("return {expression}"))
            .await
            .as_str()
            .unwrap_or_else(|| panic!("the page has no {expression}"))
            .to_owned()
    }

    async fn text(&self, id: &str) -> String {
        self.run(&format!("return document.getElementById('{id}').textContent"))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

impl Drop for WebDriver {
    /// Ends the session even when an assertion failed: killing chromedriver alone would
    /// leave Chromium running. Plain blocking HTTP, since drop cannot await.
    fn drop(&mut self) {
        use std::io::{Read, Write};
        if let Some((host, path)) = self
            .session
            .strip_prefix("http://")
            .and_then(|rest| rest.split_once('/'))
            && let Ok(mut stream) = std::net::TcpStream::connect(host)
        {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let request = format!(
                "DELETE /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = stream.write_all(request.as_bytes());
            let _ = stream.read_to_end(&mut Vec::new());
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

#[tokio::test]
async fn a_spa_on_another_origin_signs_in_with_a_real_browser() {
    let spa_port = closed_port();
    let spa_origin = format!("http://localhost:{spa_port}");
    let page = format!("{spa_origin}/");
    let app = TestApp::spawn(
        Options::new("browser")
            .strict_states()
            // The page binds its login to the browser: a start without it is refused.
            .env("REQUIRE_CLIENT_CHALLENGE", "true")
            .env("CORS_ALLOWED_ORIGINS", spa_origin.clone())
            .env("ALLOWED_REDIRECT_URIS", page.clone()),
    )
    .await;
    app.add_org("Acme", 1, doc! {}).await;
    let _static_server = serve_example(spa_port, &app.base, "").await;
    assert_ne!(
        spa_origin, app.base,
        "the page and the API are on different origins"
    );

    let browser = WebDriver::start().await;
    let result = sign_jane_in(&browser, &page).await;
    let status = browser.text("status").await;
    assert_eq!(result, "signed-in", "the page says: {status}");
    assert!(status.contains("jane@authkit.example"), "{status}");
    assert_eq!(browser.text("verify").await, "Token is good");

    // The page read the callback's request id from another origin.
    let request_id = browser.text("request-id").await;
    assert!(
        !request_id.is_empty()
            && request_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b)),
        "x-request-id readable by the page: {request_id:?}"
    );
    // The code left the address bar; the kept state was used once.
    let url = browser.run("return window.location.href").await;
    assert_eq!(url, page.as_str());
    for kept in ["tether.login.state", "tether.login.verifier"] {
        assert!(
            browser
                .run(&format!("return sessionStorage.getItem('{kept}')"))
                .await
                .is_null(),
            "{kept} served one login"
        );
    }

    let token = browser
        .run("return window.tetherSession.token")
        .await
        .as_str()
        .expect("the page holds the token")
        .to_owned();
    drop(browser); // ends the browser session
    let res = answer(
        app.at(reqwest::Method::GET, "/api/auth/verify-token")
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(verify_jwt(&token)["email"], "jane@authkit.example");
    app.drop().await;
}

/// A service (`options`, `overrides`) for the page on its own origin, with one
/// organization (`org` its extra fields), the page deployed with `config`, and a browser
/// signed in through the page as jane@authkit.example.
/// A SPA signed in to a service whose clock stands still and whose sessions last one
/// day, for a user of an organization with `org`'s fields; (the service's clock, the
/// service, the browser, the page's server).
async fn spa_of_one_day_sessions(
    tag: &'static str,
    org: Document,
) -> (Arc<ManualClock>, TestApp, WebDriver, (Process, TempFolder)) {
    let (clock, overrides) = manual_clock();
    let (app, browser, server) = signed_in_spa(
        Options::new(tag).env("SESSION_ABSOLUTE_LIFETIME_DAYS", "1"),
        overrides,
        org,
        "",
    )
    .await;
    (clock, app, browser, server)
}

/// Moves the service's clock to twenty seconds before the session ends and has the
/// page refresh once.
async fn refresh_twenty_seconds_before_the_end(clock: &ManualClock, browser: &WebDriver) {
    clock.advance_seconds(86_400 - 20);
    browser.click("refresh").await;
    browser
        .until("document.getElementById('refreshes').textContent === '1'", 30)
        .await;
}

/// Opens `page` and signs jane in through its form; what the page reports.
async fn sign_jane_in(browser: &WebDriver, page: &str) -> String {
    browser.go(page).await;
    browser
        .run(
            "document.getElementById('login-hint').value = 'jane@authkit.example';
             document.getElementById('sign-in').click();",
        )
        .await;
    browser.result().await
}

async fn signed_in_spa(
    options: Options,
    overrides: Overrides,
    org: Document,
    config: &str,
) -> (TestApp, WebDriver, (Process, TempFolder)) {
    let spa_port = closed_port();
    let spa_origin = format!("http://localhost:{spa_port}");
    let page = format!("{spa_origin}/");
    let app = TestApp::spawn_with(
        options
            .strict_states()
            .env("REQUIRE_CLIENT_CHALLENGE", "true")
            .env("CORS_ALLOWED_ORIGINS", spa_origin)
            .env("ALLOWED_REDIRECT_URIS", page.clone()),
        overrides,
    )
    .await;
    app.add_org("Acme", 1, org).await;
    let server = serve_example(spa_port, &app.base, config).await;
    let browser = WebDriver::start().await;
    let result = sign_jane_in(&browser, &page).await;
    assert_eq!(
        result,
        "signed-in",
        "the page says: {}",
        browser.text("status").await
    );
    (app, browser, server)
}

/// The instants (ms since the epoch) the page shows for the token's expiry and the
/// planned renewal.
async fn planned(browser: &WebDriver) -> (f64, f64) {
    let times = browser
        .run(
            "return ['expires', 'next-refresh'].map(
               (id) => Date.parse(document.getElementById(id).textContent))",
        )
        .await;
    let at = |i: usize| {
        times[i]
            .as_f64()
            .unwrap_or_else(|| panic!("a time on the page: {times}"))
    };
    (at(0), at(1))
}

#[tokio::test]
async fn the_spa_renews_its_session_before_expiry_and_logs_out() {
    let (app, browser, _server) =
        signed_in_spa(Options::new("browser_renew"), Overrides::default(), doc! {}, "").await;
    let first_token = browser.string("window.tetherSession.token").await;
    let first_refresh_token = browser.string("window.tetherSession.refreshToken").await;
    let first = verify_jwt(&first_token);

    // The renewal is planned a minute before the token's exp (8 hours away: the margin
    // is the smaller of 60 s and a tenth of the lifetime), on the browser's clock.
    let (expires, renew_at) = planned(&browser).await;
    assert_eq!(expires, first["exp"].as_f64().expect("exp") * 1000.0);
    let margin = expires - renew_at;
    assert!(
        (55_000.0..=60_000.0).contains(&margin),
        "renewal {margin} ms before expiry"
    );
    assert_eq!(browser.text("refreshes").await, "0");

    browser.click("refresh").await;
    browser
        .until("document.getElementById('refreshes').textContent === '1'", 30)
        .await;
    assert_eq!(browser.result().await, "signed-in");
    let token = browser.string("window.tetherSession.token").await;
    let refresh_token = browser.string("window.tetherSession.refreshToken").await;
    assert!(token != first_token, "a new access token"); // never printed
    assert!(refresh_token != first_refresh_token, "a new refresh token"); // never printed
    let renewed = verify_jwt(&token);
    assert_eq!(renewed["sid"], first["sid"], "the same session");
    assert_eq!(renewed["email"], "jane@authkit.example");
    assert_eq!(app.verify(&token).await.status().as_u16(), 200);
    // The page planned the next renewal from the new token.
    let (expires, renew_at) = planned(&browser).await;
    assert_eq!(expires, renewed["exp"].as_f64().expect("exp") * 1000.0);
    assert!((55_000.0..=60_000.0).contains(&(expires - renew_at)));

    browser.click("logout").await;
    assert_eq!(browser.result_among(&["signed-out", "error"]).await, "signed-out");
    // No note: the service confirmed the logout.
    assert_eq!(browser.text("status").await, "Signed out.");
    assert!(browser.run("return window.tetherSession").await.is_null());
    assert_eq!(
        browser
            .run("return document.getElementById('refresh').disabled")
            .await,
        Value::Bool(true)
    );
    // The service ended the session: the page's refresh token (and the rotated one) and
    // its access token are refused.
    assert_error(refresh(&app, &refresh_token).await, 401, "REFRESH_TOKEN_REVOKED").await;
    assert_error(
        refresh(&app, &first_refresh_token).await,
        401,
        "REFRESH_TOKEN_REVOKED",
    )
    .await;
    assert_error(app.verify(&token).await, 401, "SESSION_REVOKED").await;
    app.drop().await;
}

#[tokio::test]
async fn the_spa_renews_by_itself_before_expiry_and_signs_out_when_the_session_ends() {
    // The service's clock stands still, a day ahead of the browser's by the end; a
    // session lasts one day.
    let (clock, app, browser, _server) = spa_of_one_day_sessions("browser_auto", doc! {}).await;
    let first = verify_jwt(&browser.string("window.tetherSession.token").await);

    // Twenty seconds before the session ends, a renewed token lives only until then: the
    // page plans the next renewal a tenth of that (2 s) before its exp, counted on the
    // browser's clock, which is a day behind the service's.
    refresh_twenty_seconds_before_the_end(&clock, &browser).await;
    let short = verify_jwt(&browser.string("window.tetherSession.token").await);
    assert_eq!(short["sid"], first["sid"]);
    assert_eq!(
        short["exp"].as_i64().expect("exp") - short["iat"].as_i64().expect("iat"),
        20
    );
    let (expires, _) = planned(&browser).await;
    assert_eq!(expires, short["exp"].as_f64().expect("exp") * 1000.0);
    let renew_in = browser
        .run("return Date.parse(document.getElementById('next-refresh').textContent) - Date.now()")
        .await
        .as_f64()
        .expect("a planned renewal");
    assert!(
        (14_000.0..=18_000.0).contains(&renew_in),
        "renewal in {renew_in} ms"
    );

    // Nobody clicks: the page renews by itself.
    let refresh_token = browser.string("window.tetherSession.refreshToken").await;
    let waiting = Instant::now();
    browser
        .until_no_sooner(
            "document.getElementById('refreshes').textContent === '2'",
            40,
            waiting,
            Duration::from_secs(12),
        )
        .await;
    assert_eq!(browser.string("document.body.dataset.result").await, "signed-in");
    let renewed = verify_jwt(&browser.string("window.tetherSession.token").await);
    assert_eq!(renewed["sid"], first["sid"]);
    assert!(
        browser.string("window.tetherSession.refreshToken").await != refresh_token,
        "the renewal rotated the refresh token"
    );

    // Past the session's end the service refuses the renewal: the page signs out and
    // says why.
    clock.advance_seconds(60);
    browser.click("refresh").await;
    assert_eq!(browser.result_among(&["signed-out", "error"]).await, "signed-out");
    let status = browser.text("status").await;
    assert!(
        status.starts_with("Signed out: the session could not be renewed (401 SESSION_EXPIRED"),
        "{status}"
    );
    assert!(browser.run("return window.tetherSession").await.is_null());
    app.drop().await;
}

#[tokio::test]
async fn without_silent_renewal_the_spa_applies_the_fallback_at_expiry() {
    // The organization renews nothing silently, logs out at expiry and tracks no
    // idleness; the service's clock stands still and a session lasts one day.
    let (clock, app, browser, _server) = spa_of_one_day_sessions(
        "browser_fallback",
        doc! {"sessionSettings": {
            "ssoSilentRenewalEnabled": false, "ssoFallbackBehavior": "force-logout",
            "idleTrackingEnabled": false,
        }},
    )
    .await;
    assert_eq!(browser.text("next-refresh").await, "none: force-logout at expiry");
    assert_eq!(browser.text("idle").await, "off");

    // A token that lives 20 s (the session ends then): at its expiry the page logs out
    // by itself, at the service too.
    refresh_twenty_seconds_before_the_end(&clock, &browser).await;
    let token = browser.string("window.tetherSession.token").await;
    let refresh_token = browser.string("window.tetherSession.refreshToken").await;
    let claims = verify_jwt(&token);
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        20
    );
    let waiting = Instant::now();
    assert_eq!(browser.result_among(&["signed-out", "error"]).await, "signed-out");
    assert!(
        waiting.elapsed() >= Duration::from_secs(15),
        "signed out after {:?}",
        waiting.elapsed()
    );
    assert_eq!(
        browser.text("status").await,
        "Signed out: the session expired and is not renewed silently."
    );
    assert_eq!(
        browser.text("refreshes").await,
        "1",
        "nothing was renewed silently"
    );
    assert_error(refresh(&app, &refresh_token).await, 401, "REFRESH_TOKEN_REVOKED").await;
    app.drop().await;
}

#[tokio::test]
async fn the_spa_warns_an_idle_user_then_signs_them_out() {
    const WARNING_SHOWN: &str = "!document.getElementById('idle-warning').hidden";
    // Signed out after 2 idle minutes, warned 1 minute before; the deployment scales a
    // minute to 6 seconds.
    let (app, browser, _server) = signed_in_spa(
        Options::new("browser_idle"),
        Overrides::default(),
        doc! {"sessionSettings": {"idleTimeoutMinutes": 2, "warningTimeMinutes": 1}},
        "window.TETHER_IDLE_SCALE = 0.1;\n",
    )
    .await;
    assert_eq!(
        browser.run("return window.tetherSession.sessionConfig").await,
        json!({"enabled": true, "idleTimeoutMinutes": 2, "tokenExpiryHours": 8, "warningTimeMinutes": 1,
               "idleTrackingEnabled": true, "ssoSilentRenewalEnabled": true, "ssoFallbackBehavior": "redirect",
               "passwordSilentRenewalEnabled": false, "passwordFallbackBehavior": "logout"})
    );
    let token = browser.string("window.tetherSession.token").await;
    let refresh_token = browser.string("window.tetherSession.refreshToken").await;

    browser.until(WARNING_SHOWN, 30).await;
    assert_eq!(browser.string("document.body.dataset.result").await, "signed-in");
    // Staying resets the clock: the warning goes, and comes back a scaled minute later.
    let stayed = Instant::now();
    browser.click("stay").await;
    assert_eq!(
        browser.run(&format!("return {WARNING_SHOWN}")).await,
        Value::Bool(false)
    );
    browser
        .until_no_sooner(WARNING_SHOWN, 30, stayed, Duration::from_millis(5_500))
        .await;
    assert_eq!(browser.string("document.body.dataset.result").await, "signed-in");

    // Then the page signs out by itself, at the service too.
    browser
        .until_no_sooner(
            "document.body.dataset.result === 'signed-out'",
            30,
            stayed,
            Duration::from_millis(11_500),
        )
        .await;
    let status = browser.text("status").await;
    assert_eq!(status, "Signed out after a period of inactivity.");
    assert_eq!(
        browser.run(&format!("return {WARNING_SHOWN}")).await,
        Value::Bool(false)
    );
    assert!(browser.run("return window.tetherSession").await.is_null());
    // The page told the service: its tokens are refused.
    assert_error(refresh(&app, &refresh_token).await, 401, "REFRESH_TOKEN_REVOKED").await;
    assert_error(app.verify(&token).await, 401, "SESSION_REVOKED").await;
    app.drop().await;
}
