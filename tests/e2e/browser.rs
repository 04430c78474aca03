//! A real browser: headless Chromium, driven over WebDriver (chromedriver, raw W3C
//! endpoints), runs the example SPA (`examples/spa/`) from another origin than the
//! API, through WorkOS's emulator, to a signed-in result. It needs CORS on every
//! step: authorize and the callback are cross-origin `fetch`es, and the page reads
//! the callback's `x-request-id`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mongodb::bson::doc;
use serde_json::{Value, json};

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
/// as a team would: the page's files with its `config.js` naming the API at `api`. The
/// copy is removed with the server.
async fn serve_example(port: u16, api: &str) -> (Process, TempFolder) {
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
        format!("window.TETHER_API = {};\n", serde_json::Value::from(api)),
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

    /// Waits until the page's `data-result` is final; returns it.
    async fn result(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let result = self
                .run("return document.body.dataset.result || ''")
                .await
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if result == "signed-in" || result == "error" {
                return result;
            }
            assert!(Instant::now() < deadline, "the page did not finish: {result:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
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
            .env("ACCEPT_UNISSUED_STATE", "false")
            // The page binds its login to the browser: a start without it is refused.
            .env("REQUIRE_CLIENT_CHALLENGE", "true")
            .env("CORS_ALLOWED_ORIGINS", spa_origin.clone())
            .env("ALLOWED_REDIRECT_URIS", page.clone()),
    )
    .await;
    app.add_org("Acme", 1, doc! {}).await;
    let _static_server = serve_example(spa_port, &app.base).await;
    assert_ne!(
        spa_origin, app.base,
        "the page and the API are on different origins"
    );

    let browser = WebDriver::start().await;
    browser.go(&page).await;
    browser
        .run(
            "document.getElementById('login-hint').value = 'jane@authkit.example';
             document.getElementById('sign-in').click();",
        )
        .await;
    let result = browser.result().await;
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
    let res = app
        .http
        .get(format!("{}/api/auth/verify-token", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("verify-token answered");
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(verify_jwt(&token)["email"], "jane@authkit.example");
    app.drop().await;
}
