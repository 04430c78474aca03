//! The `tether-auth` binary as an operator runs it: start-up validation that names
//! the bad setting, the explicit in-memory store, secrets from files, the
//! `check-config`, `healthcheck`, `organizations` and `link-requests` commands, graceful shutdown on
//! SIGTERM, and flat memory and metrics under a flood of random HTTP methods.

// Test code throughout, helpers too, for clippy's `allow-unwrap-in-tests`.
#![cfg(test)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use std::sync::mpsc;
use std::time::{Duration, Instant};

mod support;
use support::{SECRET, WORKOS_API_KEY, WORKOS_CLIENT_ID};

/// The binary with the settings of a test run, logging at `info`, then `env`.
fn command(env: &[(&str, &str)]) -> Command {
    let mut cmd = support::configured();
    cmd.env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs the binary to completion (it must stop by itself) and returns (exit code, stderr).
fn run_to_exit(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let (code, _, stderr) = run_args(env, &[]);
    (code, stderr)
}

/// Runs the binary with `args` under the test settings and `env` to completion and
/// returns (exit code, stdout, stderr).
fn run_args(env: &[(&str, &str)], args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = command(env);
    cmd.args(args);
    run_command(&mut cmd)
}

/// The binary with no setting at all, not even `PATH`.
fn bare_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tether-auth"));
    cmd.env_clear();
    cmd
}

#[test]
fn a_31_byte_jwt_secret_stops_start_up_and_names_the_setting() {
    let short = "x".repeat(31);
    let (code, stderr) = run_to_exit(&[("JWT_SECRET", &short)]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("JWT_SECRET"), "{stderr}");
    assert!(!stderr.contains(&short), "the secret is not echoed: {stderr}");
}

#[test]
fn a_malformed_default_organization_id_stops_start_up_and_names_the_setting() {
    let (code, stderr) = run_to_exit(&[("DEFAULT_ORGANIZATION_ID", "org_01HX9R3K4N6P8QZBVTYM2D5A7C")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("DEFAULT_ORGANIZATION_ID"), "{stderr}");
}

struct Running {
    child: Child,
    port: u16,
    /// What the service printed up to its listening line.
    start_up: Vec<String>,
    /// What it prints next, line by line.
    lines: mpsc::Receiver<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        // Never leave a service behind, whatever the test's outcome.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary on the in-memory store and waits for its address.
fn start() -> Running {
    start_with(command(&[]))
}

fn start_with(mut cmd: Command) -> Running {
    let mut child = cmd.spawn().expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, lines) = mpsc::channel();
    let mut running = Running {
        child,
        port: 0,
        start_up: Vec::new(),
        lines,
    };
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while running.port == 0 {
        let line = running
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no listening line; output so far: {:#?}", running.start_up));
        if let Some(port) = line
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|p| p.parse().ok())
        {
            running.port = port;
        }
        running.start_up.push(line);
    }
    running
}

fn get(port: u16, path: &str) -> String {
    request(port, "GET", path)
}

/// One raw request with `method`; the whole answer (the connection closes after it).
fn request(port: u16, method: &str, path: &str) -> String {
    send_raw(
        port,
        &format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    )
}

/// A port nothing listens on (the kernel's choice, free again once chosen).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A connection to the service on `port` whose reads wait at most `timeout`.
fn connect(port: u16, timeout: Duration) -> std::net::TcpStream {
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(timeout)).expect("timeout");
    stream
}

/// Writes `raw`, a whole request, on a new connection and returns the whole answer.
fn send_raw(port: u16, raw: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = connect(port, Duration::from_secs(5));
    // The service may close early on a head it refuses: what it answered still counts.
    let _ = stream.write_all(raw.as_bytes());
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn with_store_memory_it_serves_on_the_embedded_store_and_says_so_loudly() {
    let running = start();
    let health = get(running.port, "/health");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let ready = get(running.port, "/ready");
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    assert!(
        running
            .start_up
            .iter()
            .any(|l| l.contains("EMBEDDED IN-MEMORY") && l.contains("WARN")),
        "{:#?}",
        running.start_up
    );
}

/// Waits up to 15 s for the service to exit; its exit status.
fn wait_exit(running: &mut Running) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(exit) = running.child.try_wait().expect("try_wait") {
            return exit;
        }
        assert!(Instant::now() < deadline, "the service did not stop within 15 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigint_and_sigterm_both_let_a_request_in_flight_finish_then_stop_with_success() {
    use std::io::{Read, Write};
    for signal in ["-INT", "-TERM"] {
        let mut running = start();
        let body = r#"{"refreshToken":"rt_unknown_unknown_unknown"}"#;
        let (head, tail) = body.split_at(17);
        let mut stream = connect(running.port, Duration::from_secs(10));
        write!(
            stream,
            "POST /api/auth/refresh HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
            body.len()
        )
        .expect("the head and half the body are sent");
        std::thread::sleep(Duration::from_millis(300));
        let status = Command::new("kill")
            .args([signal, &running.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        std::thread::sleep(Duration::from_millis(300));
        // The rest of the body arrives after the signal: the request still gets its answer.
        stream.write_all(tail.as_bytes()).expect("the rest is sent");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 401") && answer.contains("REFRESH_TOKEN_INVALID"),
            "{signal}: {answer}"
        );
        let exit = wait_exit(&mut running);
        assert!(exit.success(), "{signal}: exit status {exit:?}");
    }
}

#[test]
fn sigterm_stops_the_service_gracefully_with_success() {
    let mut running = start();
    assert!(get(running.port, "/health").starts_with("HTTP/1.1 200"));
    let status = Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = running.child.try_wait().expect("try_wait") {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "the service did not stop within 15 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit status {exit:?}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", running.port)).is_err(),
        "the port is closed"
    );
}

/// Runs the binary with `args` to completion and returns (exit code, stdout, stderr).
fn run_command(cmd: &mut Command) -> (Option<i32>, String, String) {
    let output = cmd.output().expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn temp_file(name: &str, content: &str) -> std::path::PathBuf {
    // Cargo's folder for integration tests (under target/), not the system's.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("tether-binary-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, content).expect("temp file");
    path
}

#[test]
fn without_mongodb_uri_and_without_store_memory_start_up_stops_naming_mongodb_uri() {
    let mut cmd = command(&[]);
    cmd.env_remove("STORE");
    let (code, _, stderr) = run_command(&mut cmd);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("invalid setting MONGODB_URI"), "{stderr}");
    assert!(stderr.contains("STORE=memory"), "the way out is named: {stderr}");
}

#[test]
fn a_port_that_is_not_a_number_is_reported_as_port() {
    let (code, stderr) = run_to_exit(&[("PORT", "abc")]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("invalid setting PORT:"), "{stderr}");
    assert!(!stderr.contains("`port`"), "{stderr}");
}

#[test]
fn secrets_from_files_start_the_service() {
    let jwt = temp_file("jwt", &format!("{SECRET}\n"));
    let key = temp_file("workos-key", "sk_test_from_file\n");
    let mut cmd = command(&[
        ("JWT_SECRET_FILE", &jwt.display().to_string()),
        ("WORKOS_API_KEY_FILE", &key.display().to_string()),
    ]);
    cmd.env_remove("JWT_SECRET").env_remove("WORKOS_API_KEY");
    let running = start_with(cmd);
    assert!(get(running.port, "/ready").starts_with("HTTP/1.1 200"));
}

#[test]
fn a_secret_given_as_value_and_as_file_is_refused_naming_both() {
    let jwt = temp_file("jwt-and-value", SECRET);
    let (code, stderr) = run_to_exit(&[("JWT_SECRET_FILE", &jwt.display().to_string())]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("JWT_SECRET_FILE") && stderr.contains("invalid setting JWT_SECRET:"),
        "{stderr}"
    );
    assert!(!stderr.contains(SECRET), "the secret is not echoed: {stderr}");
}

#[test]
fn an_unknown_key_of_the_settings_file_is_refused_naming_it() {
    let file = temp_file("typo.toml", "port = 0\nmongo_uri = \"mongodb://db:27017\"\n");
    let (code, stderr) = run_to_exit(&[("TETHER_CONFIG", &file.display().to_string())]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("unknown key `mongo_uri`"), "{stderr}");
}

#[test]
fn check_config_prints_the_effective_settings_with_secrets_redacted() {
    let uri = "mongodb://admin:hunter2-password@db.internal:27017/tether";
    let (code, stdout, stderr) = run_args(
        &[("STORE", "mongodb"), ("MONGODB_URI", uri), ("PORT", "8080")],
        &["check-config"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    for line in [
        "PORT=8080",
        "STORE=mongodb",
        "MONGODB_URI=<redacted>",
        "JWT_SECRET=<redacted>",
        "WORKOS_API_KEY=<redacted>",
        format!("WORKOS_CLIENT_ID={WORKOS_CLIENT_ID}").as_str(),
        "SESSION__TOKEN_EXPIRY_HOURS=8",
    ] {
        assert!(stdout.lines().any(|l| l == line), "{line} missing in:\n{stdout}");
    }
    for secret in [SECRET, WORKOS_API_KEY, "hunter2"] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} printed"
        );
    }
}

#[test]
fn check_config_exits_2_naming_a_bad_setting() {
    let (code, stdout, stderr) = run_args(&[("SESSION__WARNING_TIME_MINUTES", "45")], &["check-config"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("SESSION__WARNING_TIME_MINUTES"), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
}

#[test]
fn healthcheck_exits_0_against_a_ready_service_and_1_against_nothing() {
    let running = start();
    let (code, _, stderr) = run_args(
        &[("HOST", "0.0.0.0"), ("PORT", &running.port.to_string())],
        &["healthcheck"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    drop(running);

    let closed = free_port();
    let started = Instant::now();
    let (code, _, stderr) = run_args(&[("PORT", &closed.to_string())], &["healthcheck"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&closed.to_string()), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn an_unknown_command_is_a_usage_error() {
    let (code, _, stderr) = run_args(&[], &["chek-config"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("'chek-config'") && stderr.contains("Usage:"),
        "{stderr}"
    );
}

#[test]
fn version_and_help_print_and_exit_0_without_any_setting() {
    let mut cmd = bare_command();
    cmd.arg("--version");
    let (code, stdout, stderr) = run_command(&mut cmd);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stdout.trim(),
        format!("tether-auth {}", env!("CARGO_PKG_VERSION"))
    );
    let mut cmd = bare_command();
    cmd.arg("--help");
    let (code, stdout, stderr) = run_command(&mut cmd);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("check-config") && stdout.contains("--version"),
        "{stdout}"
    );
}

#[test]
fn check_config_prints_the_cors_origin_derived_from_client_url() {
    let (code, stdout, stderr) = run_args(
        &[("CLIENT_URL", "https://app.example.com:8443/")],
        &["check-config"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout
            .lines()
            .any(|l| l == "CORS_ALLOWED_ORIGINS=https://app.example.com:8443"),
        "{stdout}"
    );
}

#[test]
fn healthcheck_needs_only_host_and_port() {
    let running = start();
    let mut cmd = bare_command();
    cmd.env("PORT", running.port.to_string()).arg("healthcheck");
    let (code, _, stderr) = run_command(&mut cmd);
    assert_eq!(code, Some(0), "{stderr}");
    drop(running);
}

#[test]
fn organizations_need_only_the_mongodb_settings_and_name_the_missing_uri() {
    let mut cmd = bare_command();
    cmd.args(["organizations", "list"]);
    let (code, _, stderr) = run_command(&mut cmd);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("invalid setting MONGODB_URI"), "{stderr}");
    assert!(
        !stderr.contains("JWT_SECRET") && !stderr.contains("WORKOS"),
        "{stderr}"
    );
}

#[test]
fn a_privileged_default_role_stops_start_up_and_names_the_setting() {
    for role in ["ADMIN", "SUPERADMIN"] {
        let (code, stderr) = run_to_exit(&[("DEFAULT_ROLE", role)]);
        assert_eq!(code, Some(2), "{role}: {stderr}");
        assert!(stderr.contains("invalid setting DEFAULT_ROLE"), "{stderr}");
    }
}

#[test]
fn a_jwt_secret_with_a_trailing_newline_stops_start_up_naming_it_without_echoing_it() {
    let padded = format!("{SECRET}\n");
    let (code, stderr) = run_to_exit(&[("JWT_SECRET", &padded)]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("invalid setting JWT_SECRET"), "{stderr}");
    assert!(stderr.contains("white space"), "{stderr}");
    assert!(!stderr.contains(SECRET), "the secret is not echoed: {stderr}");
}

/// `tether-auth COMMAND ARGS` against `database` on the test SecantusDB.
fn on_mongodb(database: &str, command: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let uri = std::env::var("TETHER_TEST_MONGODB_URI")
        .expect("TETHER_TEST_MONGODB_URI is not set: run the tests through scripts/test.sh");
    // The MongoDB settings and nothing else: no JWT_SECRET, no WorkOS settings.
    let mut cmd = bare_command();
    cmd.env("MONGODB_URI", &uri).env("MONGODB_DATABASE", database);
    cmd.arg(command).args(args);
    run_command(&mut cmd)
}

/// `tether-auth organizations ARGS` against a fresh database on the test SecantusDB.
fn organizations(database: &str, args: &[&str]) -> (Option<i32>, String, String) {
    on_mongodb(database, "organizations", args)
}

#[test]
fn the_organizations_commands_create_map_list_and_refuse_a_second_mapping_on_mongodb() {
    let database = format!("binary_orgs_{}", std::process::id());
    let (code, out, err) = organizations(
        &database,
        &[
            "create",
            "--name",
            "Acme Corp",
            "--workos-organization",
            "org_ACME1",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.starts_with("created ") && out.contains("org_ACME1") && out.contains("Acme Corp"),
        "{out}"
    );
    let acme_id = out.split_whitespace().nth(1).expect("the new id").to_owned();
    assert_eq!(acme_id.len(), 24, "{out}");

    let (code, out, err) = organizations(&database, &["create", "--name", "Globex"]);
    assert_eq!(code, Some(0), "{err}");
    let globex_id = out.split_whitespace().nth(1).expect("the new id").to_owned();

    // Acme's WorkOS organization is taken: refused, exit 1, nothing changed.
    let (code, _, err) = organizations(&database, &["map", &globex_id, "org_ACME1"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("already mapped to org_ACME1"), "{err}");
    let (code, _, err) = organizations(
        &database,
        &[
            "create",
            "--name",
            "Acme Again",
            "--workos-organization",
            "org_ACME1",
        ],
    );
    assert_eq!(code, Some(1), "{err}");

    let (code, _, err) = organizations(&database, &["map", &acme_id, "--none"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = organizations(&database, &["map", &globex_id, "org_ACME1"]);
    assert_eq!(code, Some(0), "{err}");

    let (code, out, err) = organizations(&database, &["list"]);
    assert_eq!(code, Some(0), "{err}");
    let rows: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(
        rows[0].starts_with(&acme_id) && rows[0].contains(" - ") && rows[0].ends_with("Acme Corp"),
        "{out}"
    );
    assert!(
        rows[1].starts_with(&globex_id) && rows[1].contains("org_ACME1"),
        "{out}"
    );

    // Bad usage is exit 2 naming what is wrong and where the usage is.
    for bad in [
        &["map", "nope", "org_1"][..],
        &["create"],
        &["map", &acme_id, "acme"],
    ] {
        let (code, _, err) = organizations(&database, bad);
        assert_eq!(code, Some(2), "{bad:?}: {err}");
        assert!(err.starts_with("error:") && err.contains("--help"), "{err}");
    }
}

/// Resident memory of `pid`, in bytes.
fn rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("/proc status")
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kib| kib.parse::<u64>().ok())
        .expect("VmRSS")
        * 1024
}

/// A random method of `len` upper-case letters (xorshift: no dependency needed).
fn random_method(seed: &mut u64, len: usize) -> String {
    (0..len)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            char::from(b'A' + (*seed % 26) as u8)
        })
        .collect()
}

#[test]
fn a_flood_of_random_long_methods_leaves_memory_and_metrics_flat() {
    const REQUESTS: usize = 200;
    const METHOD_LEN: usize = 60_000;
    let metrics_port = free_port();
    let running = start_with(command(&[("METRICS_PORT", &metrics_port.to_string())]));
    let pid = running.child.id();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    // Warm up: allocator arenas and worker buffers, as any traffic would.
    for _ in 0..20 {
        request(running.port, &random_method(&mut seed, METHOD_LEN), "/health");
        get(running.port, "/health");
    }
    let before = rss(pid);
    for i in 0..REQUESTS {
        let path = ["/health", "/api/auth/workos/authorize", "/nowhere"][i % 3];
        request(running.port, &random_method(&mut seed, METHOD_LEN), path);
    }
    let after = rss(pid);
    let growth = after.saturating_sub(before);
    eprintln!(
        "RSS before the flood {} KiB, after {REQUESTS} requests {} KiB (+{} KiB)",
        before / 1024,
        after / 1024,
        growth / 1024
    );
    assert!(growth < 5 * 1024 * 1024, "RSS grew by {growth} bytes");

    let metrics = get(metrics_port, "/metrics");
    assert!(
        metrics.starts_with("HTTP/1.1 200"),
        "{}",
        &metrics[..metrics.len().min(300)]
    );
    assert!(metrics.len() < 200 * 1024, "/metrics is {} bytes", metrics.len());
    for line in metrics
        .lines()
        .filter(|l| l.starts_with("tether_http_requests_total{"))
    {
        let method = line
            .split("method=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a method label");
        assert!(
            [
                "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "OTHER"
            ]
            .contains(&method),
            "{line}"
        );
    }
    assert!(
        metrics.contains("method=\"OTHER\""),
        "the flood is counted as OTHER"
    );
    let public = get(running.port, "/metrics");
    assert!(public.starts_with("HTTP/1.1 404"), "{public}");
}

/// One raw request with a body; the whole answer.
fn post(port: u16, path: &str, content_type: &str, body: &str) -> String {
    send_raw(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

#[test]
fn metrics_are_described_typed_and_count_callbacks_refused_for_their_body() {
    let metrics_port = free_port();
    let running = start_with(command(&[("METRICS_PORT", &metrics_port.to_string())]));
    let callback = "/api/auth/workos/callback";
    assert!(post(running.port, callback, "application/json", "{not json").starts_with("HTTP/1.1 400"));
    assert!(post(running.port, callback, "text/plain", "{}").starts_with("HTTP/1.1 415"));
    let big = format!("{{\"code\":\"{}\"}}", "x".repeat(20_000));
    assert!(post(running.port, callback, "application/json", &big).starts_with("HTTP/1.1 413"));
    get(running.port, "/health");

    let answer = get(metrics_port, "/metrics");
    let text = answer.split("\r\n\r\n").nth(1).expect("a body");
    let line = |start: &str| text.lines().find(|l| l.starts_with(start)).map(str::to_owned);
    for (outcome, n) in [("INVALID_REQUEST", 2), ("PAYLOAD_TOO_LARGE", 1)] {
        assert_eq!(
            line(&format!(
                "tether_logins_total{{flow=\"unknown\",outcome=\"{outcome}\"}}"
            ))
            .and_then(|l| l.rsplit(' ').next().map(str::to_owned)),
            Some(n.to_string()),
            "{text}"
        );
    }
    assert_eq!(
        line("tether_build_info{").as_deref(),
        Some(format!("tether_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION")).as_str()),
        "{text}"
    );
    assert!(
        line("tether_http_request_duration_seconds_count{route=\"/health\",status_class=\"2xx\"}").is_some(),
        "{text}"
    );
    assert!(
        line("tether_http_request_duration_seconds_count{route=\"/api/auth/workos/callback\",status_class=\"4xx\"}")
            .is_some(),
        "{text}"
    );
    assert!(
        line("# TYPE process_cpu_seconds_total counter").is_some(),
        "{text}"
    );
    for process in [
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_cpu_seconds_total",
    ] {
        assert!(line(&format!("{process} ")).is_some(), "{process}: {text}");
    }
    // Every series has its help text and its type.
    let series: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap_or(l))
        .map(|name| {
            ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .filter(|base| text.contains(&format!("# TYPE {base} histogram")))
                .unwrap_or(name)
        })
        .collect();
    assert!(series.len() >= 8, "{series:?}");
    for name in series {
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "no HELP for {name}: {text}"
        );
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "no TYPE for {name}: {text}"
        );
    }
}

#[test]
fn the_request_line_says_each_thing_once_with_latency_client_and_user_agent() {
    let running = start_with(command(&[
        ("LOG_FORMAT", "json"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
    ]));
    let user_agent = format!("Probe/1.0\t{}", "x".repeat(500));
    {
        use std::io::{Read, Write};
        let mut stream = connect(running.port, Duration::from_secs(5));
        write!(
            stream,
            "POST /api/auth/workos/callback?code=c0de HTTP/1.1\r\nHost: localhost\r\nUser-Agent: {user_agent}\r\n\
             X-Forwarded-For: 203.0.113.7\r\nX-Request-Id: probe-1\r\nContent-Type: text/plain\r\n\
             Content-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        )
        .expect("write");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 415"), "{answer}");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let line = loop {
        let line = running
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("a request line");
        if line.contains("request completed") {
            break line;
        }
    };
    let entry: serde_json::Value = serde_json::from_str(&line).expect("one JSON object");
    let span = &entry["span"];
    assert_eq!(span["http.method"], "POST", "{line}");
    assert_eq!(span["http.route"], "/api/auth/workos/callback", "{line}");
    assert_eq!(span["request_id"], "probe-1", "{line}");
    assert_eq!(
        span["client.address"], "203.0.113.7",
        "through TRUSTED_PROXIES: {line}"
    );
    let logged = span["user_agent"].as_str().expect("a user agent");
    assert!(
        logged.starts_with("Probe/1.0x") && logged.chars().count() == 200,
        "{line}"
    );
    assert_eq!(entry["status"], 415, "{line}");
    assert_eq!(entry["error.code"], "INVALID_REQUEST", "{line}");
    assert!(entry["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{line}");
    assert!(!line.contains("c0de"), "no query string: {line}");
    for field in [
        "request_id",
        "http.method",
        "status",
        "error.code",
        "user_agent",
        "client.address",
    ] {
        assert_eq!(
            line.matches(&format!("\"{field}\"")).count(),
            1,
            "{field} once: {line}"
        );
    }
}

/// Established TCP connections of process `pid` to local port `port` (Linux /proc).
fn connections_to(pid: u32, port: u16) -> usize {
    let fds: std::collections::HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the process's fds")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|link| link.to_string_lossy().into_owned())
        .collect();
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|table| table.lines().skip(1).map(str::to_owned).collect::<Vec<_>>())
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let remote_port = fields[2]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            fields[3] == "01" && remote_port == Some(port) && fds.contains(&format!("socket:[{}]", fields[9]))
        })
        .count()
}

#[test]
fn the_workers_mongodb_pools_together_stay_within_their_setting() {
    let uri = std::env::var("TETHER_TEST_MONGODB_URI")
        .expect("TETHER_TEST_MONGODB_URI is not set: run the tests through scripts/test.sh");
    let mongo_port: u16 = uri
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .expect("a port in the URI");
    let database = format!("binary_pool_{}", std::process::id());
    let running = start_with(command(&[
        ("STORE", "mongodb"),
        ("MONGODB_URI", &uri),
        ("MONGODB_DATABASE", &database),
        ("HTTP_WORKERS", "2"),
        ("MONGODB_MAX_POOL_SIZE", "2"),
        ("RATE_LIMIT_PER_MINUTE", "0"),
        ("REFRESH_RATE_LIMIT_PER_MINUTE", "0"),
    ]));
    // Many refreshes at once: each looks its token up through its worker's own client.
    let port = running.port;
    let body = r#"{"refreshToken":"rt_0000000000000000000000000000000000000000000"}"#;
    let clients: Vec<_> = (0..64)
        .map(|_| std::thread::spawn(move || post(port, "/api/auth/refresh", "application/json", body)))
        .collect();
    for client in clients {
        let answer = client.join().expect("a client");
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    }
    let connections = connections_to(running.child.id(), mongo_port);
    // The workers' pools (2 in all), the start-up client's 1, the audit writer's 1,
    // and the driver's 2 monitoring connections for each of the 4 clients.
    assert!(
        (1..=2 + 1 + 1 + 2 * 4).contains(&connections),
        "{connections} connections to MongoDB with MONGODB_MAX_POOL_SIZE=2"
    );
}

/// `tether-auth link-requests ARGS` against `database` on the test SecantusDB.
fn link_requests(database: &str, args: &[&str]) -> (Option<i32>, String, String) {
    on_mongodb(database, "link-requests", args)
}

#[tokio::test]
async fn the_link_requests_commands_list_approve_and_refuse_a_second_decision_on_mongodb() {
    use tether_domain::{
        AccessRole, Email, IdentityLink, LinkRequestStore, LinkedIdentity, NewLinkRequest, NewUser,
        OrganizationId, ProviderKey, Timestamp, UserRepository,
    };
    let database = format!("binary_links_{}", std::process::id());
    let store = tether_mongo::MongoStore::connect(tether_mongo::MongoConfig {
        uri: std::env::var("TETHER_TEST_MONGODB_URI").unwrap().into(),
        database: Some(database.clone()),
        server_selection_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        operation_timeout: Duration::from_secs(5),
        count_commands: false,
        max_pool_size: None,
    })
    .await
    .unwrap();
    store.ensure_indexes().await.unwrap();
    let sso = |subject: &str| LinkedIdentity {
        link: IdentityLink {
            provider: ProviderKey::from_static("sso"),
            subject: subject.to_owned(),
        },
        connection: None,
        tenant: None,
    };
    #[expect(
        clippy::disallowed_methods,
        reason = "the command judges expiry by the wall clock: the request must be recent"
    )]
    let now = Timestamp::from_millis(
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap(),
    );
    let jane = store
        .insert(NewUser {
            email: Email::parse("jane@acme.example").unwrap(),
            full_name: "Jane".to_owned(),
            organization_id: OrganizationId::parse("64a1b2c3d4e5f600aaaaaaaa").unwrap(),
            access_role: AccessRole::SalesRep,
            conversation_open_preference: "split".to_owned(),
            identity: sso("prof_old"),
            email_verified: true,
            created_at: now,
        })
        .await
        .unwrap();
    let request = store
        .record_or_get_pending(NewLinkRequest {
            user_id: jane.id,
            organization_id: jane.organization_id,
            identity: sso("prof_new"),
            email: jane.email.clone(),
            email_verified: None,
            requested_at: now,
            expires_at: now.plus_seconds(3600),
        })
        .await
        .unwrap()
        .request;
    let id = request.id.to_string();

    let (code, out, err) = link_requests(&database, &["list"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.starts_with(&id) && out.contains("pending") && out.contains("sso prof_new"),
        "{out}"
    );
    let (code, out, err) = link_requests(&database, &["approve", &id]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("now signs in with sso prof_new"), "{out}");
    let linked = store.find_by_link(&sso("prof_new").link).await.unwrap().unwrap();
    assert_eq!(linked.id, jane.id);

    let (code, _, err) = link_requests(&database, &["reject", &id]);
    assert_eq!(code, Some(1), "a decided request is refused: {err}");
    assert!(err.contains("approved"), "{err}");
    let (code, _, err) = link_requests(&database, &["approve"]);
    assert_eq!(code, Some(2), "{err}");
    let (code, out, err) = link_requests(&database, &["list", "--status", "approved"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with(&id) && out.contains("approved"), "{out}");
    // The command line's decision is in the audit trail, stored before it exited.
    use tether_domain::{AuditActor, AuditQuery, AuditStore, AuditType, SystemActor};
    let trail = store.query(&AuditQuery::newest(50)).await.unwrap();
    let approved: Vec<_> = trail
        .iter()
        .filter(|r| r.event.kind == AuditType::LinkApproved)
        .collect();
    assert_eq!(approved.len(), 1, "{trail:?}");
    assert_eq!(approved[0].event.actor, AuditActor::System(SystemActor::Cli));
    assert_eq!(approved[0].event.user_id, Some(jane.id));
    store.database().drop().await.unwrap();
}

/// Every audit record stored in `database`, counted page by page.
fn audit_records(uri: &str, database: &str) -> usize {
    use tether_domain::{AuditQuery, AuditStore, MAX_AUDIT_PAGE};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let store = tether_mongo::MongoStore::connect(tether_mongo::MongoConfig {
            uri: uri.to_owned().into(),
            database: Some(database.to_owned()),
            server_selection_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(10),
            count_commands: false,
            max_pool_size: None,
        })
        .await
        .expect("connect");
        let mut query = AuditQuery::newest(MAX_AUDIT_PAGE);
        let mut count = 0;
        loop {
            let page = store.query(&query).await.expect("a page");
            count += page.len();
            match page.last() {
                Some(last) => query.before = Some(last.id),
                None => return count,
            }
        }
    })
}

#[test]
fn sigterm_under_load_stores_the_audit_record_of_every_answered_login() {
    use std::io::{Read, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let uri = std::env::var("TETHER_TEST_MONGODB_URI")
        .expect("TETHER_TEST_MONGODB_URI is not set: run the tests through scripts/test.sh");
    let database = format!("binary_audit_{}", std::process::id());
    let mut running = start_with(command(&[
        ("STORE", "mongodb"),
        ("MONGODB_URI", &uri),
        ("MONGODB_DATABASE", &database),
        ("RATE_LIMIT_PER_MINUTE", "0"),
    ]));
    // Callbacks with a state this service never issued: each is refused (400
    // INVALID_STATE) without WorkOS, and each refusal is an audit record.
    let port = running.port;
    let answered = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicBool::new(false));
    let body = r#"{"code":"code_load","state":"never-issued-state-0123456789"}"#;
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (answered, stopped) = (answered.clone(), stopped.clone());
            std::thread::spawn(move || {
                while !stopped.load(Ordering::SeqCst) {
                    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
                        return;
                    };
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    let _ = write!(
                        stream,
                        "POST /api/auth/workos/callback HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let mut answer = Vec::new();
                    let _ = stream.read_to_end(&mut answer);
                    let answer = String::from_utf8_lossy(&answer);
                    if answer.starts_with("HTTP/1.1 400") && answer.contains("INVALID_STATE") {
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let status = Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = wait_exit(&mut running);
    stopped.store(true, Ordering::SeqCst);
    for client in clients {
        client.join().expect("a client");
    }
    assert!(exit.success(), "exit status {exit:?}");
    let answered = answered.load(Ordering::SeqCst);
    assert!(answered > 20, "only {answered} logins were answered: no load");
    assert_eq!(
        audit_records(&uri, &database),
        answered,
        "every answered login has its record, stored before the exit"
    );
}
