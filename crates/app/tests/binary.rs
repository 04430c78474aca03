//! The `tether-auth` binary as an operator runs it: start-up validation that names
//! the bad setting, the embedded default, graceful shutdown on SIGTERM, and flat
//! memory and metrics under a flood of random HTTP methods.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use std::sync::mpsc;
use std::time::{Duration, Instant};

const SECRET: &str = "binary-test-secret-binary-test-secret";

fn command(env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tether-auth"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORT", "0")
        .env("JWT_SECRET", SECRET)
        .env("WORKOS_API_KEY", "sk_test_binary")
        .env("WORKOS_CLIENT_ID", "client_binary")
        .env("WORKOS_BASE_URL", "http://127.0.0.1:9")
        .env("RUST_LOG", "info")
        .env("METRICS_PORT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs the binary to completion (it must stop by itself) and returns (exit code, stderr).
fn run_to_exit(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = command(env).output().expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
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
}

impl Drop for Running {
    fn drop(&mut self) {
        // Never leave a service behind, whatever the test's outcome.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary on the embedded default and waits for its address.
fn start() -> Running {
    start_with(&[])
}

/// [`start`] with more environment.
fn start_with(env: &[(&str, &str)]) -> Running {
    let mut running = Running {
        child: command(env).spawn().expect("the binary starts"),
        port: 0,
        start_up: Vec::new(),
    };
    let stdout = running.child.stdout.take().expect("stdout");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while running.port == 0 {
        let line = lines
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
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    // The service may close early on a head it refuses: what it answered still counts.
    let _ = write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    );
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn without_a_database_it_serves_on_the_embedded_store_and_says_so_loudly() {
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
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let running = start_with(&[("METRICS_PORT", &metrics_port.to_string())]);
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
