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
//! - `chaos --mode mongo-restart|sigterm ...`: one run of mixed traffic (new-user logins,
//!   returning logins, refreshes) while the script strikes: it writes `--ready FILE` when
//!   the traffic starts, the script kills and restarts SecantusDB or sends SIGTERM to the
//!   service on a timer and appends `EVENT UNIX_MS` lines to `--events FILE`; at the end
//!   the driver judges every recorded request against those times, checks MongoDB for
//!   duplicate users (mongo-restart), prints pass/fail lines and exits 1 on a failure.

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
        Some("chaos") => runtime.block_on(chaos(ChaosArgs::parse(&args))),
        _ => {
            eprintln!(
                "usage: load standin --port P\n       load drive --base URL --pid PID --concurrency C --seconds S --mongodb-uri URI [--clk-tck N]\n       load chaos --mode mongo-restart|sigterm --base URL --pid PID --concurrency C --seconds S --mongodb-uri URI --ready FILE --events FILE [--database DB] [--recovery-seconds N]\n(run by scripts/loadbench.sh)"
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
            ("/sso/token", Some(code)) => {
                let mut profile = load_person("profile", format!("prof_{code}"), &code);
                profile["connection_id"] = json!("conn_load");
                profile["connection_type"] = json!("GenericSAML");
                profile["organization_id"] = Value::Null;
                profile["idp_id"] = json!(format!("idp_{code}"));
                (
                    "200 OK",
                    json!({"token_type": "Bearer", "access_token": "standin", "profile": profile}),
                )
            }
            ("/user_management/authenticate", Some(code)) => {
                let mut user = load_person("user", format!("user_{code}"), &code);
                user["email_verified"] = json!(true);
                (
                    "200 OK",
                    json!({"user": user, "organization_id": null, "access_token": "standin", "refresh_token": "standin"}),
                )
            }
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

/// The load user `code` as a WorkOS `object` ("profile" or "user") with id `id`.
fn load_person(object: &str, id: String, code: &str) -> Value {
    json!({
        "object": object,
        "id": id,
        "email": format!("{code}@load.example"),
        "first_name": "Load",
        "last_name": code,
    })
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

/// The service under load and how hard to drive it: what every run is given.
#[derive(Debug, Clone)]
struct Target {
    base: String,
    pid: u32,
    concurrency: usize,
    seconds: u64,
    mongodb_uri: String,
}

impl Target {
    fn parse(args: &[String]) -> Self {
        Self {
            base: arg(args, "--base").trim_end_matches('/').to_owned(),
            pid: arg(args, "--pid").parse().expect("--pid"),
            concurrency: arg(args, "--concurrency").parse().expect("--concurrency"),
            seconds: arg(args, "--seconds").parse().expect("--seconds"),
            mongodb_uri: arg(args, "--mongodb-uri"),
        }
    }
}

impl Target {
    /// Logs each of the `POOL` returning users in once, then one user per client; the
    /// clients' refresh tokens.
    async fn sign_in_pool(&self, client: &reqwest::Client) -> Vec<String> {
        for i in 0..POOL {
            login(client, &self.base, &format!("u{i}"))
                .await
                .unwrap_or_else(|e| panic!("first login of u{i} failed: {e}"));
        }
        let mut sessions = Vec::with_capacity(self.concurrency);
        for w in 0..self.concurrency {
            sessions.push(
                login(client, &self.base, &format!("r{w}"))
                    .await
                    .unwrap_or_else(|e| panic!("login of r{w} failed: {e}")),
            );
        }
        sessions
    }
}

/// A number given as `name`, or `default` without it.
fn number_arg(args: &[String], name: &str, default: u64) -> u64 {
    opt_arg(args, name).map_or(default, |v| v.parse().expect(name))
}

#[derive(Debug, Clone)]
struct DriveArgs {
    target: Target,
    clk_tck: u64,
}

impl DriveArgs {
    fn parse(args: &[String]) -> Self {
        Self {
            target: Target::parse(args),
            clk_tck: number_arg(args, "--clk-tck", 100),
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
    post_for_session(client, base, "/api/auth/workos/callback", json!({ "code": code })).await
}

async fn refresh(client: &reqwest::Client, base: &str, token: &str) -> Result<String, String> {
    post_for_session(
        client,
        base,
        "/api/auth/refresh",
        json!({ "refreshToken": token }),
    )
    .await
}

/// Posts `body` to `path` of the service at `base`; the refresh token of the session
/// it answers with.
async fn post_for_session(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    body: Value,
) -> Result<String, String> {
    let res = client
        .post(format!("{base}{path}"))
        .json(&body)
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
        .pool_max_idle_per_host(args.target.concurrency * 2)
        .tcp_nodelay(true)
        .build()
        .expect("HTTP client");
    let mongo = mongodb::Client::with_uri_str(&args.target.mongodb_uri)
        .await
        .expect("MongoDB client");
    let admin = mongo.database("admin");

    println!(
        "tether-auth load benchmark: {} concurrent clients, {} s per phase, pid {}, CLK_TCK {}",
        args.target.concurrency, args.target.seconds, args.target.pid, args.clk_tck
    );

    // The pool of returning users, each logged in once; one session per client for the
    // refresh phase.
    let started = Instant::now();
    let mut sessions = args.target.sign_in_pool(&client).await;
    println!(
        "setup: {POOL} returning users logged in once in {:.1} s",
        started.elapsed().as_secs_f64()
    );

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
    let deadline = Instant::now() + Duration::from_secs(args.target.seconds);
    let ops_before = mongo_ops(admin).await;
    let cpu_before = cpu_ticks(args.target.pid);
    let started = Instant::now();

    let mut workers = Vec::with_capacity(args.target.concurrency);
    for session in sessions.iter() {
        let client = client.clone();
        let base = args.target.base.clone();
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
    let cpu_after = cpu_ticks(args.target.pid);
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
        peak_rss_kb(args.target.pid) as f64 / 1024.0,
        mongo,
    );
    if let Some(e) = first_error {
        println!("  first error: {e}");
    }
}

// ---------------------------------------------------------------------------------------
// Chaos runs: SecantusDB killed and restarted, or SIGTERM to the service, mid-run
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chaos {
    MongoRestart,
    Sigterm,
}

#[derive(Debug, Clone)]
struct ChaosArgs {
    mode: Chaos,
    target: Target,
    database: String,
    ready: std::path::PathBuf,
    events: std::path::PathBuf,
    recovery_seconds: u64,
}

impl ChaosArgs {
    fn parse(args: &[String]) -> Self {
        Self {
            mode: match arg(args, "--mode").as_str() {
                "mongo-restart" => Chaos::MongoRestart,
                "sigterm" => Chaos::Sigterm,
                other => panic!("--mode {other}: expected mongo-restart or sigterm"),
            },
            target: Target::parse(args),
            database: opt_arg(args, "--database").unwrap_or_else(|| "tether_load".to_owned()),
            ready: arg(args, "--ready").into(),
            events: arg(args, "--events").into(),
            recovery_seconds: number_arg(args, "--recovery-seconds", 5),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    NewUser,
    Returning,
    Refresh,
    /// A new login of the worker's own user after its refresh token was refused.
    Relogin,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::NewUser => "new-user login",
            Op::Returning => "returning login",
            Op::Refresh => "refresh",
            Op::Relogin => "re-login",
        }
    }
}

/// What one request got.
#[derive(Debug, Clone)]
enum Outcome {
    /// A complete HTTP answer: status, the body's `code` (errors), whether a 503 carried
    /// the typed error body (`error`, `code`, `requestId`) and `Retry-After`.
    Answer {
        status: u16,
        code: Option<String>,
        typed_503: bool,
    },
    /// No connection (refused): the request never reached the service.
    Refused(String),
    /// The client's own time-out.
    TimedOut(String),
    /// Anything else: reset, EOF before a whole answer, ...
    Broken(String),
}

#[derive(Debug, Clone)]
struct Record {
    op: Op,
    /// The code of a login.
    code: Option<String>,
    /// Unix time in µs when the request was started and when its outcome was known.
    started_us: u64,
    ended_us: u64,
    /// For a refresh: when the answer that handed out its refresh token arrived (0 for
    /// the setup's login).
    token_issued_us: Option<u64>,
    outcome: Outcome,
}

impl Record {
    fn ok(&self) -> bool {
        matches!(self.outcome, Outcome::Answer { status, .. } if (200..300).contains(&status))
    }

    fn describe(&self) -> String {
        let what = match &self.outcome {
            Outcome::Answer { status, code, .. } => {
                format!("HTTP {status} {}", code.as_deref().unwrap_or(""))
            }
            Outcome::Refused(e) => format!("refused: {e}"),
            Outcome::TimedOut(e) => format!("client time-out: {e}"),
            Outcome::Broken(e) => format!("no answer: {e}"),
        };
        format!(
            "{} {}: {what}",
            self.op.name(),
            self.code.as_deref().unwrap_or("")
        )
    }
}

#[expect(
    clippy::disallowed_methods,
    reason = "the wall clock is what the script's `date +%s%3N` event times compare with"
)]
fn unix_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The full chain of a reqwest error, to tell a reset from an EOF.
fn error_chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// One POST; the outcome and, on a 2xx, the session's refresh token.
async fn chaos_post(client: &reqwest::Client, url: &str, body: Value) -> (Outcome, Option<String>) {
    let res = match client.post(url).json(&body).send().await {
        Ok(res) => res,
        Err(e) => return (transport(&e), None),
    };
    let status = res.status().as_u16();
    let retry_after = res.headers().contains_key("retry-after");
    let bytes = match res.bytes().await {
        Ok(b) => b,
        Err(e) => return (transport(&e), None),
    };
    let json = serde_json::from_slice::<Value>(&bytes).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let code = field("code");
    let typed_503 = status == 503
        && retry_after
        && code.is_some()
        && field("error").is_some()
        && field("requestId").is_some();
    let token = field("refreshToken");
    (
        Outcome::Answer {
            status,
            code,
            typed_503,
        },
        token,
    )
}

fn transport(e: &reqwest::Error) -> Outcome {
    let text = error_chain(e);
    if e.is_timeout() {
        Outcome::TimedOut(text)
    } else if e.is_connect() {
        Outcome::Refused(text)
    } else {
        Outcome::Broken(text)
    }
}

/// Reads `name unix_ms` lines the script appended.
fn read_events(path: &std::path::Path) -> Vec<(String, u64)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let name = parts.next()?.to_owned();
            let ms = parts.next()?.parse::<u64>().ok()?;
            Some((name, ms * 1000))
        })
        .collect()
}

fn event(events: &[(String, u64)], name: &str) -> Option<u64> {
    events.iter().find(|(n, _)| n == name).map(|(_, us)| *us)
}

async fn chaos(args: ChaosArgs) {
    // The service's own bounds: a MongoDB operation gives up after MONGODB_TIMEOUT_MS
    // (3 s), a request makes a handful of them; 30 s is well past any of that.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.target.concurrency * 2)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client");
    let mode = match args.mode {
        Chaos::MongoRestart => "mongo-restart",
        Chaos::Sigterm => "sigterm",
    };
    println!(
        "tether-auth chaos run `{mode}`: {} concurrent clients, {} s, service pid {}",
        args.target.concurrency, args.target.seconds, args.target.pid
    );

    let started = Instant::now();
    let sessions = args.target.sign_in_pool(&client).await;
    println!(
        "setup: {POOL} returning users and {} sessions in {:.1} s; mixed traffic (new-user logins, returning logins, refreshes) starts now",
        args.target.concurrency,
        started.elapsed().as_secs_f64()
    );

    let counter = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.target.seconds);
    std::fs::write(&args.ready, b"ready\n").expect("write the ready file");
    let mut workers = Vec::with_capacity(args.target.concurrency);
    for (w, session) in sessions.into_iter().enumerate() {
        let client = client.clone();
        let base = args.target.base.clone();
        let counter = Arc::clone(&counter);
        let mode = args.mode;
        workers.push(tokio::spawn(async move {
            let mut token = Some(session);
            // When the answer that handed out `token` arrived (0: the setup's login).
            let mut token_issued_us = 0_u64;
            let mut records = Vec::with_capacity(1024);
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let (op, code, url, body) = match (n % 3, &token) {
                    (0, _) => {
                        let code = format!("x{n}");
                        (
                            Op::NewUser,
                            Some(code.clone()),
                            "/api/auth/workos/callback",
                            json!({ "code": code }),
                        )
                    }
                    (1, _) => {
                        let code = format!("u{}", n % POOL);
                        (
                            Op::Returning,
                            Some(code.clone()),
                            "/api/auth/workos/callback",
                            json!({ "code": code }),
                        )
                    }
                    (_, Some(t)) => (
                        Op::Refresh,
                        None,
                        "/api/auth/refresh",
                        json!({ "refreshToken": t }),
                    ),
                    (_, None) => {
                        let code = format!("r{w}");
                        (
                            Op::Relogin,
                            Some(code.clone()),
                            "/api/auth/workos/callback",
                            json!({ "code": code }),
                        )
                    }
                };
                let started_us = unix_us();
                let (outcome, next) = chaos_post(&client, &format!("{base}{url}"), body).await;
                let ended_us = unix_us();
                let token_issued = (op == Op::Refresh).then_some(token_issued_us);
                match (&outcome, op) {
                    (Outcome::Answer { status, .. }, Op::Refresh | Op::Relogin)
                        if (200..300).contains(status) =>
                    {
                        token = next;
                        token_issued_us = ended_us;
                    }
                    // A refused refresh token: log in again to get a session.
                    (Outcome::Answer { status: 401, .. }, Op::Refresh) => token = None,
                    _ => {}
                }
                let refused = matches!(outcome, Outcome::Refused(_));
                records.push(Record {
                    op,
                    code,
                    started_us,
                    ended_us,
                    token_issued_us: token_issued,
                    outcome,
                });
                if refused {
                    if mode == Chaos::Sigterm {
                        // The service is gone: this worker is done.
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            records
        }));
    }
    let mut records = Vec::new();
    for worker in workers {
        records.extend(worker.await.expect("worker"));
    }
    records.sort_by_key(|r| r.started_us);
    let events = read_events(&args.events);

    let passed = match args.mode {
        Chaos::MongoRestart => mongo_restart_report(&args, &client, &records, &events).await,
        Chaos::Sigterm => sigterm_report(&records, &events),
    };
    if passed {
        println!("RESULT {mode}: PASS");
    } else {
        println!("RESULT {mode}: FAIL");
        std::process::exit(1);
    }
}

/// Prints one pass/fail check; returns `ok`.
fn check(ok: bool, what: &str) -> bool {
    println!("  [{}] {what}", if ok { "ok" } else { "FAIL" });
    ok
}

fn print_examples(title: &str, records: &[&Record], base_us: u64) {
    if records.is_empty() {
        return;
    }
    println!("  {title} (first {} of {}):", records.len().min(5), records.len());
    for r in records.iter().take(5) {
        let issued = match r.token_issued_us {
            Some(0) => ", token from the setup's login".to_owned(),
            Some(us) => format!(
                ", token handed out at t={:+.3} s",
                (us as f64 - base_us as f64) / 1e6
            ),
            None => String::new(),
        };
        println!(
            "    t={:+.3} s ({:.0} ms): {}{issued}",
            (r.started_us as f64 - base_us as f64) / 1e6,
            (r.ended_us - r.started_us) as f64 / 1000.0,
            r.describe()
        );
    }
}

async fn mongo_restart_report(
    args: &ChaosArgs,
    client: &reqwest::Client,
    records: &[Record],
    events: &[(String, u64)],
) -> bool {
    let mut passed = true;
    let first_us = records.first().map_or(0, |r| r.started_us);
    let (Some(kill_us), Some(restart_us)) = (event(events, "kill"), event(events, "restart")) else {
        println!(
            "  [FAIL] the script did not record both the kill and the restart (events: {events:?}); raise LOAD_SECONDS"
        );
        return false;
    };
    let rel = |us: u64| (us as f64 - first_us as f64) / 1e6;
    println!(
        "SecantusDB SIGKILLed at t={:.1} s, back on the same port at t={:.1} s ({:.1} s down); {} requests in {:.1} s",
        rel(kill_us),
        rel(restart_us),
        (restart_us - kill_us) as f64 / 1e6,
        records.len(),
        records.last().map_or(0.0, |r| rel(r.ended_us)),
    );

    let ok: Vec<&Record> = records.iter().filter(|r| r.ok()).collect();
    // The 503s the service typed as a store outage, or not.
    let answers_503 = |typed: bool| -> Vec<&Record> {
        records
            .iter()
            .filter(
                |r| matches!(r.outcome, Outcome::Answer { status: 503, typed_503, .. } if typed_503 == typed),
            )
            .collect()
    };
    let typed_503 = answers_503(true);
    let untyped_503 = answers_503(false);
    let other_5xx: Vec<&Record> = records
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Answer { status, .. } if status >= 500 && status != 503))
        .collect();
    let other_status: Vec<&Record> = records
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Answer { status, .. } if !(200..300).contains(&status) && status < 500))
        .collect();
    let transport: Vec<&Record> = records
        .iter()
        .filter(|r| !matches!(r.outcome, Outcome::Answer { .. }))
        .collect();
    let mut codes_503: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for r in &typed_503 {
        if let Outcome::Answer { code: Some(c), .. } = &r.outcome {
            *codes_503.entry(c.clone()).or_default() += 1;
        }
    }
    let max_ms = records
        .iter()
        .map(|r| (r.ended_us - r.started_us) as f64 / 1000.0)
        .fold(0.0, f64::max);
    println!(
        "answers: {} 2xx, {} 503 {codes_503:?}, {} 503 without the typed body, {} other 5xx, {} other status, {} without an answer; slowest request {max_ms:.0} ms",
        ok.len(),
        typed_503.len(),
        untyped_503.len(),
        other_5xx.len(),
        other_status.len(),
        transport.len()
    );
    for op in [Op::NewUser, Op::Returning, Op::Refresh, Op::Relogin] {
        let of: Vec<&Record> = records.iter().filter(|r| r.op == op).collect();
        if !of.is_empty() {
            println!(
                "  {:<16} {:>6} requests, {:>6} 2xx, {:>5} 503",
                op.name(),
                of.len(),
                of.iter().filter(|r| r.ok()).count(),
                of.iter()
                    .filter(|r| matches!(r.outcome, Outcome::Answer { status: 503, .. }))
                    .count()
            );
        }
    }
    if let (Some(a), Some(b)) = (
        records.iter().find(|r| !r.ok()),
        records.iter().rev().find(|r| !r.ok()),
    ) {
        println!(
            "  failed requests started between t={:.1} s and t={:.1} s",
            rel(a.started_us),
            rel(b.started_us)
        );
    }
    print_examples("503 without the typed body", &untyped_503, first_us);
    print_examples("other 5xx", &other_5xx, first_us);
    print_examples("other status", &other_status, first_us);
    print_examples("no answer", &transport, first_us);

    passed &= check(
        !typed_503.is_empty(),
        "the outage was seen (some 503 STORE_UNAVAILABLE)",
    );
    passed &= check(
        untyped_503.is_empty() && other_5xx.is_empty(),
        "every 5xx is a 503 with the typed JSON error body and Retry-After",
    );
    passed &= check(other_status.is_empty(), "every answer is 2xx or 503");
    passed &= check(
        transport.is_empty(),
        "no reset, EOF, refused connection or client time-out (30 s)",
    );

    // Recovery: the first success started after the restart, and nothing but successes
    // from `recovery_seconds` after the restart on.
    let recovered = records
        .iter()
        .filter(|r| r.started_us >= restart_us && r.ok())
        .map(|r| r.ended_us)
        .min();
    let late_failures: Vec<&Record> = records
        .iter()
        .filter(|r| r.started_us >= restart_us + args.recovery_seconds * 1_000_000 && !r.ok())
        .collect();
    let last_us = records.last().map_or(0, |r| r.started_us);
    match recovered {
        Some(at) => {
            passed &= check(
                at - restart_us <= args.recovery_seconds * 1_000_000,
                &format!(
                    "recovery: first success {:.2} s after the restart (limit {} s)",
                    (at - restart_us) as f64 / 1e6,
                    args.recovery_seconds
                ),
            );
        }
        None => {
            passed &= check(false, "recovery: no success after the restart");
        }
    }
    passed &= check(
        last_us > restart_us + args.recovery_seconds * 1_000_000,
        &format!(
            "the run went on {:.1} s past the restart (at least {} s needed)",
            last_us.saturating_sub(restart_us) as f64 / 1e6,
            args.recovery_seconds
        ),
    );
    print_examples("failures after the recovery window", &late_failures, first_us);
    passed &= check(
        late_failures.is_empty(),
        &format!("no failure from {} s after the restart on", args.recovery_seconds),
    );
    passed &= check(
        std::path::Path::new(&format!("/proc/{}", args.target.pid)).exists(),
        &format!("the service (pid {}) was not restarted", args.target.pid),
    );

    // New users whose login got a 503: log them in again now; their first attempt may
    // have created the user before the outage cut it off.
    let mut new_ok: std::collections::BTreeSet<String> = records
        .iter()
        .filter(|r| r.op == Op::NewUser && r.ok())
        .filter_map(|r| r.code.clone())
        .collect();
    let retry: Vec<String> = records
        .iter()
        .filter(|r| r.op == Op::NewUser && !r.ok())
        .filter_map(|r| r.code.clone())
        .collect();
    let mut retry_failed = Vec::new();
    for code in &retry {
        match login(client, &args.target.base, code).await {
            Ok(_) => {
                new_ok.insert(code.clone());
            }
            Err(e) => retry_failed.push(format!("{code}: {e}")),
        }
    }
    passed &= check(
        retry_failed.is_empty(),
        &format!(
            "the {} new users whose login failed log in on a second try ({} failed{})",
            retry.len(),
            retry_failed.len(),
            retry_failed
                .first()
                .map(|e| format!(", first: {e}"))
                .unwrap_or_default()
        ),
    );

    // No duplicate user, straight from MongoDB.
    let mongo = mongodb::Client::with_uri_str(&args.target.mongodb_uri)
        .await
        .expect("MongoDB client");
    let users = mongo
        .database(&args.database)
        .collection::<mongodb::bson::Document>("users");
    let mut cursor = users
        .find(doc! {})
        .projection(doc! { "email": 1, "workosProfileId": 1, "workosUserId": 1 })
        .await
        .expect("read the users");
    let mut by_email: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut by_profile: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut by_user_id: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut total = 0_usize;
    while cursor.advance().await.expect("read the users") {
        let user = cursor.deserialize_current().expect("a user document");
        total += 1;
        if let Ok(email) = user.get_str("email") {
            *by_email.entry(email.to_lowercase()).or_default() += 1;
        }
        if let Ok(profile) = user.get_str("workosProfileId") {
            *by_profile.entry(profile.to_owned()).or_default() += 1;
        }
        if let Ok(id) = user.get_str("workosUserId") {
            *by_user_id.entry(id.to_owned()).or_default() += 1;
        }
    }
    let dup = |m: &std::collections::HashMap<String, usize>| {
        m.iter()
            .filter(|(_, n)| **n > 1)
            .map(|(k, n)| format!("{k} x{n}"))
            .collect::<Vec<_>>()
    };
    let (dup_email, dup_profile, dup_user_id) = (dup(&by_email), dup(&by_profile), dup(&by_user_id));
    println!(
        "MongoDB `{}.users`: {total} users, {} distinct e-mails, {} distinct profile ids",
        args.database,
        by_email.len(),
        by_profile.len()
    );
    passed &= check(
        dup_email.is_empty() && dup_profile.is_empty() && dup_user_id.is_empty(),
        &format!(
            "no two users share an e-mail, a WorkOS profile id or a WorkOS user id (duplicates: {:?} {:?} {:?})",
            dup_email.iter().take(5).collect::<Vec<_>>(),
            dup_profile.iter().take(5).collect::<Vec<_>>(),
            dup_user_id.iter().take(5).collect::<Vec<_>>()
        ),
    );
    let unmapped: Vec<String> = new_ok
        .iter()
        .filter(|code| {
            by_email.get(&format!("{code}@load.example")) != Some(&1)
                || by_profile.get(&format!("prof_{code}")) != Some(&1)
        })
        .cloned()
        .collect();
    passed &= check(
        unmapped.is_empty(),
        &format!(
            "each of the {} new-user codes that got a 200 is exactly one user (by e-mail and profile id){}",
            new_ok.len(),
            if unmapped.is_empty() {
                String::new()
            } else {
                format!("; not: {:?}", unmapped.iter().take(5).collect::<Vec<_>>())
            }
        ),
    );
    passed
}

/// Requests that started less than this before the signal are not judged (see
/// `sigterm_report`), in microseconds.
const SIGNAL_MARGIN_US: u64 = 20_000;

fn sigterm_report(records: &[Record], events: &[(String, u64)]) -> bool {
    let Some(signal_us) = event(events, "sigterm") else {
        println!("  [FAIL] the script did not record the signal (events: {events:?}); raise LOAD_SECONDS");
        return false;
    };
    let first_us = records.first().map_or(0, |r| r.started_us);
    println!(
        "signal sent at t={:.2} s; {} requests",
        (signal_us as f64 - first_us as f64) / 1e6,
        records.len()
    );
    // A request written on an idle keep-alive connection in the last moments before the
    // signal can meet the server closing that connection (the HTTP/1.1 close race, which
    // clients answer with a retry): requests that started within the margin are counted
    // with those after the signal, not judged.
    let (before, after): (Vec<&Record>, Vec<&Record>) = records
        .iter()
        .partition(|r| r.started_us + SIGNAL_MARGIN_US < signal_us);
    let in_flight: Vec<&Record> = before
        .iter()
        .copied()
        .filter(|r| r.ended_us >= signal_us)
        .collect();
    let answered = |r: &&Record| matches!(r.outcome, Outcome::Answer { .. });
    let dropped: Vec<&Record> = before.iter().copied().filter(|r| !answered(r)).collect();
    let bad_status: Vec<&Record> = before
        .iter()
        .copied()
        .filter(|r| matches!(r.outcome, Outcome::Answer { status, typed_503, .. } if !((200..300).contains(&status) || status == 503 && typed_503)))
        .collect();
    let count = |rs: &[&Record], f: &dyn Fn(&Record) -> bool| rs.iter().filter(|r| f(r)).count();
    println!(
        "sent more than 20 ms before the signal: {} ({} still in flight at the signal: {} 2xx, {} 503, {} other status, {} without an answer)",
        before.len(),
        in_flight.len(),
        count(&in_flight, &|r| r.ok()),
        count(&in_flight, &|r| matches!(
            r.outcome,
            Outcome::Answer { status: 503, .. }
        )),
        count(
            &in_flight,
            &|r| matches!(r.outcome, Outcome::Answer { status, .. } if status != 503 && !(200..300).contains(&status))
        ),
        count(&in_flight, &|r| !matches!(r.outcome, Outcome::Answer { .. })),
    );
    println!(
        "sent later (not judged): {} ({} answered, {} refused connections, {} closed without an answer, {} client time-outs)",
        after.len(),
        count(&after, &|r| matches!(r.outcome, Outcome::Answer { .. })),
        count(&after, &|r| matches!(r.outcome, Outcome::Refused(_))),
        count(&after, &|r| matches!(r.outcome, Outcome::Broken(_))),
        count(&after, &|r| matches!(r.outcome, Outcome::TimedOut(_))),
    );
    let last_answer = records
        .iter()
        .filter(|r| answered(r))
        .map(|r| r.ended_us)
        .max()
        .unwrap_or(0);
    println!(
        "last answer {:.3} s after the signal",
        (last_answer as f64 - signal_us as f64) / 1e6
    );
    print_examples("sent before the signal, no answer", &dropped, signal_us);
    print_examples("sent before the signal, an error status", &bad_status, signal_us);
    let closed_after: Vec<&Record> = after
        .iter()
        .copied()
        .filter(|r| matches!(r.outcome, Outcome::Broken(_)))
        .collect();
    print_examples(
        "sent after the signal, closed without an answer (not judged)",
        &closed_after,
        signal_us,
    );
    let mut passed = check(!in_flight.is_empty(), "requests were in flight at the signal");
    passed &= check(
        dropped.is_empty(),
        "every request sent before the signal got a complete HTTP answer",
    );
    passed &= check(
        bad_status.is_empty(),
        "each of those answers is 2xx or a typed 503",
    );
    passed
}
