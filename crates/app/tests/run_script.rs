//! `scripts/run.sh`, the README's run command, as a newcomer and an operator use it:
//! it announces the login command only once the service is ready, stops naming the
//! setting on a busy port or a missing production `JWT_SECRET`, and its demo has a
//! `SUPERADMIN`. Needs the WorkOS emulator installed: run through `scripts/test.sh`.

// Test code throughout, helpers too, for clippy's `allow-unwrap-in-tests`.
#![cfg(test)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod support;

fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn require_peers() {
    assert!(
        std::env::var_os("TETHER_TEST_WORKOS_URL").is_some(),
        "TETHER_TEST_WORKOS_URL is not set: run these tests through scripts/test.sh, which installs the emulator"
    );
}

/// `scripts/run.sh` with a clean environment, the test's binary and `env`.
fn run_sh(env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("scripts/run.sh"))
        .env_clear()
        .env("TETHER_AUTH_BIN", env!("CARGO_BIN_EXE_tether-auth"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for key in ["PATH", "HOME", "TOOLS_DIR", "TMPDIR"] {
        if let Some(value) = std::env::var_os(key) {
            cmd.env(key, value);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Runs to the end within 90 s; returns (exit code, stdout, stderr).
fn finish(mut cmd: Command) -> (Option<i32>, String, String) {
    let mut child = cmd.spawn().expect("run.sh starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("run.sh did not stop within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().expect("output");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn production_settings_without_jwt_secret_stop_naming_it_and_print_no_login_command() {
    require_peers();
    let port = free_port().to_string();
    let (code, stdout, stderr) = finish(run_sh(&[
        ("WORKOS_BASE_URL", "http://127.0.0.1:9"),
        ("WORKOS_API_KEY", "sk_test_production_like"),
        ("WORKOS_CLIENT_ID", "client_production_like"),
        ("STORE", "memory"),
        ("PORT", &port),
    ]));
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("invalid setting JWT_SECRET"), "{stderr}");
    assert!(!stdout.contains("curl") && !stdout.contains("ready"), "{stdout}");
    assert!(!stdout.contains("random secret"), "nothing is invented: {stdout}");
}

#[test]
fn a_busy_port_stops_it_naming_port_and_prints_no_login_command() {
    require_peers();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = busy.local_addr().expect("addr").port().to_string();
    let (code, stdout, stderr) = finish(run_sh(&[("PORT", &port)]));
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("PORT: cannot listen"), "{stderr}");
    assert!(
        !stdout.contains("curl") && !stdout.contains("is ready"),
        "{stdout}"
    );
    drop(busy);
}

#[test]
fn a_port_held_by_another_ready_service_stops_it_before_anything_else() {
    require_peers();
    let port = free_port();
    // An earlier run still serving: it answers /ready on the port run.sh is asked for.
    let mut earlier = support::configured()
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the earlier service starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the earlier service never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (code, stdout, stderr) = finish(run_sh(&[("PORT", &port.to_string())]));
    let _ = earlier.kill();
    let _ = earlier.wait();
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("PORT: cannot listen"), "{stderr}");
    assert!(stdout.is_empty(), "nothing else is printed: {stdout}");
}

/// Runs a command printed by the banner as a newcomer pastes it into a shell.
fn paste(command: &str) -> std::process::Output {
    Command::new("bash")
        .args(["-c", command])
        .output()
        .unwrap_or_else(|e| panic!("{e}: {command}"))
}

fn http(port: u16, request: &str) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
}

#[test]
fn the_demo_announces_its_login_once_ready_ada_is_superadmin_and_a_user_deleted_in_the_emulator_is_signed_out()
 {
    require_peers();
    let port = free_port();
    // The metrics listener off: its default port may be another run's on a shared machine.
    let mut child = run_sh(&[("PORT", &port.to_string()), ("METRICS_PORT", "0")])
        .spawn()
        .expect("run.sh starts");
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            // SIGTERM: run.sh stops the service and the emulator it started.
            if matches!(self.0.try_wait(), Ok(None)) {
                let _ = Command::new("kill")
                    .args(["-TERM", &self.0.id().to_string()])
                    .status();
                let _ = self.0.wait();
            }
        }
    }
    let stdout = child.stdout.take().expect("stdout");
    let mut child = Stop(child);
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut seen = Vec::new();
    let login = loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no login command; output so far: {seen:#?}"));
        if line.trim_start().starts_with("wo=$(curl") {
            break line;
        }
        seen.push(line);
    };
    // Announced only once ready: /ready answers at the moment the command is printed.
    let ready = http(
        port,
        "GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    // The banner goes on to name the SUPERADMIN.
    while !seen.iter().any(|l| l.contains("SUPERADMIN")) {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("the banner names no SUPERADMIN: {seen:#?}"));
        seen.push(line);
    }

    // The pasted command completes a real login; ada may read session settings.
    let output = paste(&login);
    let body: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {output:?}"));
    assert_eq!(body["user"]["accessRole"], "SUPERADMIN", "{body}");
    let org = body["user"]["organizationId"].as_str().expect("organizationId");
    let token = body["token"].as_str().expect("token");
    let settings = http(
        port,
        &format!(
            "GET /api/organizations/{org}/session-settings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(settings.starts_with("HTTP/1.1 200"), "{settings}");

    // The banner's AuthKit variant: grace, a new user, lands in the demo's unmapped
    // organization (Demo Co is mapped, and joined only through its own SSO).
    let authkit = login.replace(
        "domain_hint=demo.example&login_hint=ada%40demo.example",
        "login_hint=grace%40demo.example",
    );
    assert_ne!(authkit, login, "the banner's command has the documented query");
    let output = paste(&authkit);
    let body: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {output:?}"));
    assert_eq!(body["user"]["email"], "grace@demo.example", "{body}");
    assert_eq!(body["user"]["accessRole"], "SALES_REP", "{body}");
    assert_ne!(body["user"]["organizationId"].as_str(), Some(org), "{body}");
    let grace = body["token"].as_str().expect("grace's token").to_owned();
    let grace_refresh = body["refreshToken"]
        .as_str()
        .expect("grace's refresh token")
        .to_owned();
    let verify = |token: &str| {
        http(
            port,
            &format!(
                "GET /api/auth/verify-token HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
            ),
        )
    };
    assert!(verify(&grace).starts_with("HTTP/1.1 200"));

    // The banner's offboarding command deletes grace in the emulator; the demo polls its
    // events, so her tokens stop working within the poll interval (2 s) and a margin.
    while !seen.iter().any(|l| l.trim_start().starts_with("id=$(curl")) {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("the banner has no offboarding command: {seen:#?}"));
        seen.push(line);
    }
    let offboard = seen
        .iter()
        .find(|l| l.trim_start().starts_with("id=$(curl"))
        .expect("the offboarding command")
        .clone();
    let output = paste(&offboard);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "deleted in WorkOS: 204",
        "{output:?}"
    );
    let deleted = Instant::now();
    loop {
        let answer = verify(&grace);
        if answer.starts_with("HTTP/1.1 401") {
            assert!(answer.contains("LOGIN_DISABLED"), "{answer}");
            break;
        }
        assert!(
            deleted.elapsed() < Duration::from_secs(6),
            "grace's token still works 6 s after her deletion: {answer}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let refused = http(
        port,
        &format!(
            "POST /api/auth/refresh HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{{\"refreshToken\":\"{grace_refresh}\"}}",
            grace_refresh.len() + 19
        ),
    );
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    assert!(verify(token).starts_with("HTTP/1.1 200"), "ada is untouched");

    let _ = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status();
    let status = child.0.wait().expect("run.sh stops");
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the service stopped with run.sh"
    );
}
