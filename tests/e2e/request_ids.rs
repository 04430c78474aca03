//! Request ids and the request's log line: a well-formed inbound `x-request-id` is
//! kept (header and body), any other is replaced; the log line of a failed login
//! names its error code (and nothing secret). Also `HEAD /health`.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::json;

use crate::support::*;

async fn verify_with_id(app: &TestApp, id: &str) -> (String, serde_json::Value) {
    let res = answer(
        app.at(reqwest::Method::GET, "/api/auth/verify-token")
            .header("x-request-id", id),
    )
    .await;
    let header = res
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("x-request-id header")
        .to_owned();
    (header, res.json().await.expect("JSON error"))
}

#[tokio::test]
async fn a_well_formed_inbound_request_id_comes_back_in_header_and_body() {
    let app = TestApp::spawn(Options::new("reqid")).await;
    for id in ["edge:7f3a.b_C-9", "a", &"z".repeat(128)] {
        let (header, body) = verify_with_id(&app, id).await;
        assert_eq!(header, id);
        assert_eq!(body["requestId"], id);
    }
    app.drop().await;
}

#[tokio::test]
async fn a_malformed_inbound_request_id_is_replaced_by_a_generated_one() {
    let app = TestApp::spawn(Options::new("reqid")).await;
    for id in ["has space", "a/b", &"z".repeat(129), "<script>", "semi;colon"] {
        let (header, body) = verify_with_id(&app, id).await;
        assert_ne!(header, id);
        assert!(!header.is_empty());
        assert!(
            header
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
        );
        assert_eq!(body["requestId"], header.as_str());
    }
    app.drop().await;
}

#[tokio::test]
async fn head_health_answers_200() {
    let app = TestApp::spawn(Options::new("reqid")).await;
    let res = answer(app.at(reqwest::Method::HEAD, "/health")).await;
    assert_eq!(res.status().as_u16(), 200);
    app.drop().await;
}

/// Every log line of this test process, as JSON lines.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let writer = captured.clone();
            let subscriber = tracing_subscriber::fmt()
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_writer(move || writer.clone())
                .with_env_filter("info")
                .finish();
            let _ = tracing::subscriber::set_global_default(subscriber);
            captured
        })
        .clone()
}

#[tokio::test]
async fn the_log_line_of_a_failed_login_names_its_error_code() {
    let logs = capture_logs();
    let app = TestApp::spawn(Options::new("reqid").strict_states()).await;
    let request_id = format!("log-line-test-{}", std::process::id());
    let secret_code = "CODE-THAT-MUST-NOT-BE-LOGGED-4f1e";
    let res = answer(
        app.at(reqwest::Method::POST, "/api/auth/workos/callback")
            .header("x-request-id", &request_id)
            .json(&json!({"code": secret_code, "state": "STATE-NOT-ISSUED-BY-US-12345"})),
    )
    .await;
    let body = assert_error(res, 400, "INVALID_STATE").await;
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|m| m.contains("GET /api/auth/workos/authorize")),
        "the message says where logins start: {body}"
    );
    // The line is written when the response is complete; give the server a moment.
    let mut line = None;
    for _ in 0..50 {
        let text = String::from_utf8_lossy(&logs.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
        line = text
            .lines()
            .find(|l| l.contains(&request_id) && l.contains("request completed"))
            .map(str::to_owned);
        if line.is_some() {
            assert!(!text.contains(secret_code), "the code is never logged");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let line = line.expect("the request's log line");
    let entry: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(entry["error.code"], "INVALID_STATE", "{line}");
    assert_eq!(entry["status"], 400, "{line}");
    assert_eq!(entry["span"]["http.route"], "/api/auth/workos/callback", "{line}");
    assert_eq!(line.matches("INVALID_STATE").count(), 1, "the code once: {line}");
    app.drop().await;
}
