//! The binary refuses `CORS_ALLOWED_ORIGINS` that would let any site, or something
//! that is not an origin, read its answers: exit 2, naming the setting.

// Test code throughout, helpers too, for clippy's `allow-unwrap-in-tests`.
#![cfg(test)]

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

mod support;

/// Runs the binary; (exit code, stderr). A binary still running after 10 s is killed
/// and the test fails (it accepted the setting and started serving).
fn start_with(value: &str) -> (Option<i32>, String) {
    let mut child = support::configured()
        .env("CORS_ALLOWED_ORIGINS", value)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("CORS_ALLOWED_ORIGINS={value} was accepted: the service started");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    (status.code(), stderr)
}

#[test]
fn a_wildcard_or_malformed_cors_origin_stops_start_up_naming_the_setting() {
    for value in [
        "*",
        "http://localhost:5173,*",
        "https://app.example.com/signin",
        "app.example.com",
    ] {
        let (code, stderr) = start_with(value);
        assert_eq!(code, Some(2), "{value}: {stderr}");
        assert!(stderr.contains("CORS_ALLOWED_ORIGINS"), "{value}: {stderr}");
    }
}
