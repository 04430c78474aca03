//! Load benchmark of the release binary: a fast WorkOS stand-in and the load driver.
//!
//! `scripts/loadbench.sh` builds the release binary, starts SecantusDB, this stand-in and
//! the service, then runs the driver. Two subcommands:
//!
//! - `standin --port P`: answers `POST /sso/token` and `POST /user_management/authenticate`
//!   at once (HTTP/1.1, keep-alive) with a profile derived from the code: code `u42` gives
//!   profile `prof_u42`, email `u42@load.example`, no organization. The WorkOS emulator
//!   limits itself to 1000 requests a minute, far below what a load run needs.
//! - `drive --base URL --pid PID --concurrency C --seconds S --mongodb-uri URI
//!   [--clk-tck N]`: runs three phases at a fixed concurrency for a fixed time (returning
//!   logins of a pool of 200 users, new-user logins, refreshes that rotate each session's
//!   refresh token) and prints, per phase, requests/s, p50/p99 latency, the service's CPU
//!   time per request (`/proc/<pid>/stat`, utime + stime), its peak RSS (`VmHWM`) and the
//!   MongoDB operations per request (`serverStatus.opcounters`, when the server has them).

#![expect(
    clippy::expect_used,
    reason = "a benchmark run by hand: any failure stops it, loudly"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mongodb::bson::{Bson, doc};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

/// Users of the returning-login phase.
const POOL: u64 = 200;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` appends `--bench`; ignore it.
    let args: Vec<String> = args.into_iter().filter(|a| a != "--bench").collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match args.first().map(String::as_str) {
        Some("standin") => runtime.block_on(standin(arg(&args, "--port").parse().expect("--port"))),
        Some("drive") => runtime.block_on(drive(DriveArgs::parse(&args))),
        _ => {
            eprintln!(
                "usage: load standin --port P\n       load drive --base URL --pid PID --concurrency C --seconds S --mongodb-uri URI [--clk-tck N]\n(run by scripts/loadbench.sh)"
            );
            std::process::exit(2);
        }
    }
}

fn arg(args: &[String], name: &str) -> String {
    opt_arg(args, name).unwrap_or_else(|| panic!("{name} is required"))
}

fn opt_arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

// ---------------------------------------------------------------------------------------
// The WorkOS stand-in
// ---------------------------------------------------------------------------------------

async fn standin(port: u16) {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the stand-in");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(stream));
    }
}

/// Serves requests on one keep-alive connection until the peer closes it.
async fn serve_connection(stream: TcpStream) {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    loop {
        // Read until a whole request (head + Content-Length body) is buffered.
        let (head_len, body_len) = loop {
            if let Some(end) = find(&buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    break (end + 4, len);
                }
            }
            if !read_some(&stream, &mut buf).await {
                return;
            }
        };
        let request_line = String::from_utf8_lossy(&buf[..head_len]);
        let path = request_line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let body = &buf[head_len..head_len + body_len];
        let code = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_owned));
        let (status, answer) = match (path.as_str(), code) {
            ("/sso/token", Some(code)) => (
                "200 OK",
                json!({
                    "token_type": "Bearer",
                    "access_token": "standin",
                    "profile": {
                        "object": "profile",
                        "id": format!("prof_{code}"),
                        "email": format!("{code}@load.example"),
                        "first_name": "Load",
                        "last_name": code,
                        "connection_id": "conn_load",
                        "connection_type": "GenericSAML",
                        "organization_id": null,
                        "idp_id": format!("idp_{code}"),
                    }
                }),
            ),
            ("/user_management/authenticate", Some(code)) => (
                "200 OK",
                json!({
                    "user": {
                        "object": "user",
                        "id": format!("user_{code}"),
                        "email": format!("{code}@load.example"),
                        "first_name": "Load",
                        "last_name": code,
                        "email_verified": true,
                    },
                    "organization_id": null,
                    "access_token": "standin",
                    "refresh_token": "standin",
                }),
            ),
            _ => (
                "400 Bad Request",
                json!({"error": "invalid_grant", "error_description": "unknown path or no code"}),
            ),
        };
        buf.drain(..head_len + body_len);
        let answer = answer.to_string();
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if !write_all(&stream, response.as_bytes()).await {
            return;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Appends what the socket has; false on end of stream or error.
async fn read_some(stream: &TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0_u8; 8192];
    loop {
        if stream.readable().await.is_err() {
            return false;
        }
        match stream.try_read(&mut chunk) {
            Ok(0) => return false,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return true;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return false,
        }
    }
}

async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        if stream.writable().await.is_err() {
            return false;
        }
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return false,
        }
    }
    true
}

// ---------------------------------------------------------------------------------------
// The driver
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct DriveArgs {
    base: String,
    pid: u32,
    concurrency: usize,
    seconds: u64,
    mongodb_uri: String,
    clk_tck: u64,
}

impl DriveArgs {
    fn parse(args: &[String]) -> Self {
        Self {
            base: arg(args, "--base").trim_end_matches('/').to_owned(),
            pid: arg(args, "--pid").parse().expect("--pid"),
            concurrency: arg(args, "--concurrency").parse().expect("--concurrency"),
            seconds: arg(args, "--seconds").parse().expect("--seconds"),
            mongodb_uri: arg(args, "--mongodb-uri"),
            clk_tck: opt_arg(args, "--clk-tck")
                .map(|v| v.parse().expect("--clk-tck"))
                .unwrap_or(100),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Returning,
    NewUser,
    Refresh,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Returning => "returning login",
            Phase::NewUser => "new-user login",
            Phase::Refresh => "refresh",
        }
    }
}

/// One callback; the refresh token of the session on success.
async fn login(client: &reqwest::Client, base: &str, code: &str) -> Result<String, String> {
    let res = client
        .post(format!("{base}/api/auth/workos/callback"))
        .json(&json!({ "code": code }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    session_token(res).await
}

async fn refresh(client: &reqwest::Client, base: &str, token: &str) -> Result<String, String> {
    let res = client
        .post(format!("{base}/api/auth/refresh"))
        .json(&json!({ "refreshToken": token }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    session_token(res).await
}

async fn session_token(res: reqwest::Response) -> Result<String, String> {
    let status = res.status();
    let body = res.bytes().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
    }
    serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("refreshToken").and_then(Value::as_str).map(str::to_owned))
        .ok_or_else(|| format!("{status}: no refreshToken in the answer"))
}

/// Service CPU time (utime + stime) in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/<pid>/stat");
    // The command name may hold spaces: the fields start after its closing parenthesis.
    let after = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the name: state(0) ... utime(11) stime(12).
    let utime: u64 = fields[11].parse().expect("utime");
    let stime: u64 = fields[12].parse().expect("stime");
    utime + stime
}

/// Peak resident set size in kB (`VmHWM`).
fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("read /proc/<pid>/status")
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Sum of `serverStatus.opcounters` (insert, query, update, delete, getmore, command),
/// or `None` when the server does not report them.
async fn mongo_ops(db: &mongodb::Database) -> Option<u64> {
    let status = db.run_command(doc! { "serverStatus": 1 }).await.ok()?;
    let total = status
        .get_document("opcounters")
        .ok()?
        .iter()
        .filter_map(|(_, v)| match v {
            Bson::Int32(n) => u64::try_from(*n).ok(),
            Bson::Int64(n) => u64::try_from(*n).ok(),
            Bson::Double(n) => Some(*n as u64),
            _ => None,
        })
        .sum();
    Some(total)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn drive(args: DriveArgs) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency * 2)
        .tcp_nodelay(true)
        .build()
        .expect("HTTP client");
    let mongo = mongodb::Client::with_uri_str(&args.mongodb_uri)
        .await
        .expect("MongoDB client");
    let admin = mongo.database("admin");

    println!(
        "tether-auth load benchmark: {} concurrent clients, {} s per phase, pid {}, CLK_TCK {}",
        args.concurrency, args.seconds, args.pid, args.clk_tck
    );

    // The pool of returning users: each logged in once.
    let started = Instant::now();
    for i in 0..POOL {
        login(&client, &args.base, &format!("u{i}"))
            .await
            .unwrap_or_else(|e| panic!("first login of u{i} failed: {e}"));
    }
    println!(
        "setup: {POOL} returning users logged in once in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // One session per client for the refresh phase.
    let mut sessions = Vec::with_capacity(args.concurrency);
    for w in 0..args.concurrency {
        sessions.push(
            login(&client, &args.base, &format!("r{w}"))
                .await
                .unwrap_or_else(|e| panic!("login of r{w} failed: {e}")),
        );
    }

    println!(
        "phase            requests  errors     req/s    p50 ms    p99 ms    CPU ms/req    peak RSS Mongo ops/req"
    );
    for phase in [Phase::Returning, Phase::NewUser, Phase::Refresh] {
        run_phase(&args, &client, &admin, phase, &mut sessions).await;
    }
    println!(
        "CPU per request = service utime+stime over the phase / successful requests (CLK_TCK {}).",
        args.clk_tck
    );
    println!(
        "Mongo ops/req = growth of serverStatus.opcounters (insert+query+update+delete+getmore+command) / successful requests."
    );
}

async fn run_phase(
    args: &DriveArgs,
    client: &reqwest::Client,
    admin: &mongodb::Database,
    phase: Phase,
    sessions: &mut [String],
) {
    let counter = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let ops_before = mongo_ops(admin).await;
    let cpu_before = cpu_ticks(args.pid);
    let started = Instant::now();

    let mut workers = Vec::with_capacity(args.concurrency);
    for session in sessions.iter() {
        let client = client.clone();
        let base = args.base.clone();
        let counter = Arc::clone(&counter);
        let mut token = session.clone();
        workers.push(tokio::spawn(async move {
            let mut samples: Vec<Duration> = Vec::with_capacity(4096);
            let mut errors = 0_u64;
            let mut first_error: Option<String> = None;
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                let result = match phase {
                    Phase::Returning => login(&client, &base, &format!("u{}", n % POOL)).await,
                    Phase::NewUser => login(&client, &base, &format!("n{n}")).await,
                    Phase::Refresh => refresh(&client, &base, &token).await,
                };
                let elapsed = t.elapsed();
                match result {
                    Ok(next) => {
                        samples.push(elapsed);
                        if phase == Phase::Refresh {
                            token = next;
                        }
                    }
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            (samples, errors, first_error, token)
        }));
    }
    let mut samples = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for (worker, session) in workers.into_iter().zip(sessions.iter_mut()) {
        let (s, e, f, token) = worker.await.expect("worker");
        samples.extend(s);
        errors += e;
        if first_error.is_none() {
            first_error = f;
        }
        *session = token;
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu_after = cpu_ticks(args.pid);
    let ops_after = mongo_ops(admin).await;

    samples.sort_unstable();
    let ok = samples.len() as u64;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let per = |x: f64| if ok == 0 { 0.0 } else { x / ok as f64 };
    let cpu_ms = per((cpu_after - cpu_before) as f64 * 1000.0 / args.clk_tck as f64);
    let mongo = match (ops_before, ops_after) {
        // Minus the one serverStatus command of the "after" reading.
        (Some(b), Some(a)) => format!("{:.2}", per(a.saturating_sub(b + 1) as f64)),
        _ => "n/a".to_owned(),
    };
    println!(
        "{:<16} {:>8} {:>7} {:>9.0} {:>9.1} {:>9.1} {:>13.3} {:>8.1} MB {:>12}",
        phase.name(),
        ok,
        errors,
        ok as f64 / wall,
        ms(percentile(&samples, 50.0)),
        ms(percentile(&samples, 99.0)),
        cpu_ms,
        peak_rss_kb(args.pid) as f64 / 1024.0,
        mongo,
    );
    if let Some(e) = first_error {
        println!("  first error: {e}");
    }
}
