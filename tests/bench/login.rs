//! Login round-trip benchmark on the local peers (SecantusDB, WorkOS emulator).
//!
//! `scripts/bench.sh` starts the peers and runs it. It measures, for SSO logins of new
//! and returning users:
//! - the callback alone (`POST /api/auth/workos/callback`: code exchange with the
//!   emulator, provisioning, policy, token issue, refresh-token insert), and
//! - the whole round trip a browser makes: our authorize (302) → the emulator's
//!   authorize (302 back with a code) → our callback.
//!
//! The emulator rate-limits its public paths to 1000 requests a minute, so the number of
//! logins stays well below that (`BENCH_LOGINS`, default 100).

#![expect(
    clippy::expect_used,
    reason = "a benchmark run by hand: any failure stops it, loudly"
)]

#[expect(
    dead_code,
    reason = "the end-to-end harness, of which the bench uses a few helpers"
)]
#[path = "../e2e/support.rs"]
mod support;

use std::time::{Duration, Instant};

use mongodb::bson::doc;
use serde_json::{Value, json};
use support::{Browser, Options, TestApp, query_param};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "{name:<44} n={:<4} min={:>6.2}ms p50={:>6.2}ms p95={:>6.2}ms p99={:>6.2}ms max={:>6.2}ms mean={:>6.2}ms",
        samples.len(),
        ms(samples[0]),
        ms(percentile(&samples, 50.0)),
        ms(percentile(&samples, 95.0)),
        ms(percentile(&samples, 99.0)),
        ms(samples[samples.len() - 1]),
        ms(mean),
    );
}

async fn callback_ok(app: &TestApp, body: Value) {
    let res = app.callback(body).await;
    assert_eq!(res.status().as_u16(), 200, "login failed");
}

#[tokio::main]
async fn main() {
    let logins: usize = std::env::var("BENCH_LOGINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
        .clamp(10, 300);
    let half = logins / 2;
    let app = TestApp::spawn(Options::new("bench")).await;
    app.add_org("Acme", 1, doc! {}).await;
    let browser = Browser::default();

    // Warm-up: connection pools, indexes, the returning user.
    for _ in 0..5 {
        let code = browser.sso_code("acme.example", "returning@acme.example").await;
        callback_ok(&app, json!({"code": code})).await;
    }

    // Callback alone: codes are fetched first, only the callback is timed.
    let mut new_users = Vec::with_capacity(half);
    for i in 0..half {
        let code = browser
            .sso_code("acme.example", &format!("new{i}@acme.example"))
            .await;
        let started = Instant::now();
        callback_ok(&app, json!({"code": code})).await;
        new_users.push(started.elapsed());
    }
    let mut returning = Vec::with_capacity(half);
    for _ in 0..half {
        let code = browser.sso_code("acme.example", "returning@acme.example").await;
        let started = Instant::now();
        callback_ok(&app, json!({"code": code})).await;
        returning.push(started.elapsed());
    }

    // The whole browser round trip, through our authorize and a server-issued state.
    let strict = TestApp::spawn(Options::new("bench_strict").env("ACCEPT_UNISSUED_STATE", "false")).await;
    strict.add_org("Acme", 1, doc! {}).await;
    let mut round_trips = Vec::with_capacity(half);
    for _ in 0..half {
        let started = Instant::now();
        let res = strict
            .http
            .get(format!(
                "{}/api/auth/workos/authorize?domain_hint=acme.example&login_hint=returning%40acme.example",
                strict.base
            ))
            .send()
            .await
            .expect("authorize");
        let workos = res.headers()["location"].to_str().expect("location").to_owned();
        let back = browser.location(&workos).await;
        let body = json!({"code": query_param(&back, "code"), "state": query_param(&back, "state")});
        callback_ok(&strict, body).await;
        round_trips.push(started.elapsed());
    }

    println!();
    report("callback, SSO, new user (JIT provisioning)", new_users);
    report("callback, SSO, returning user", returning);
    report("round trip: authorize -> WorkOS -> callback", round_trips);
    app.drop().await;
    strict.drop().await;
}
