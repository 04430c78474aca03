//! Deprovisioning latency: from `DELETE /user_management/users/{id}` in WorkOS's
//! emulator to the first request of that user the service refuses, over a number of
//! users, by polling and by webhook. Run by `scripts/bench.sh offboarding`, which starts
//! the peers; prints p50, p99 and the maximum per mode.
//!
//! Each user signs in (AuthKit, a real code from the emulator), then, at a random moment
//! within one poll interval (deletions do not line up with the polls in real life), is
//! deleted in WorkOS; the driver then presents the access token every 10 ms until it is
//! refused, and checks that the refresh token is refused too. Settings:
//! `BENCH_USERS` (default 50), `BENCH_POLL_SECONDS` (comma-separated, default `1,10`),
//! `BENCH_WEBHOOK` (default `1`; `0` skips the webhook run).

#![expect(
    clippy::expect_used,
    reason = "a benchmark run by hand: any failure stops it, loudly"
)]

#[path = "../e2e/support.rs"]
#[expect(
    dead_code,
    reason = "the benchmark drives the service through part of the end-to-end harness"
)]
mod support;

use std::time::{Duration, Instant};

use mongodb::bson::doc;
use serde_json::{Value, json};

use support::{Browser, Options, TestApp, emulator, register_webhook};

const SECRET: &str = "whsec_bench_offboarding";

fn main() {
    let users: usize = env_or("BENCH_USERS", "50")
        .parse()
        .expect("BENCH_USERS: a number");
    let polls: Vec<u64> = env_or("BENCH_POLL_SECONDS", "1,10")
        .split(',')
        .map(|s| s.trim().parse().expect("BENCH_POLL_SECONDS: numbers"))
        .collect();
    let webhook = env_or("BENCH_WEBHOOK", "1") != "0";
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        println!("deprovisioning latency: DELETE in WorkOS -> first refused request, {users} users");
        for poll in polls {
            let options = Options::new("bench_offboarding_poll")
                .env("WORKOS_EVENTS", "poll")
                .env("WORKOS_EVENTS_POLL_SECONDS", poll.to_string())
                .env("WORKOS_EVENTS_LEASE_SECONDS", (poll + 5).to_string());
            let app = TestApp::spawn(options).await;
            let took = run(&app, users, Duration::from_secs(poll), Mode::Poll).await;
            report(
                &format!("polling every {poll} s"),
                &took,
                Duration::from_secs(poll + 2),
            );
            app.drop().await;
        }
        if webhook {
            let app =
                TestApp::spawn(Options::new("bench_offboarding_hook").env("WORKOS_WEBHOOK_SECRET", SECRET))
                    .await;
            let endpoint = register_webhook(&app, SECRET).await;
            let took = run(&app, users, Duration::from_secs(1), Mode::Webhook).await;
            report("webhook", &took, Duration::from_secs(1));
            emulator(
                reqwest::Method::DELETE,
                &format!("/webhook_endpoints/{endpoint}"),
                None,
            )
            .await;
            app.drop().await;
        }
    });
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Poll,
    Webhook,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// Signs `users` users in, deletes each in WorkOS at a random moment of one `spread`,
/// and returns how long each took to be refused.
async fn run(app: &TestApp, users: usize, spread: Duration, mode: Mode) -> Vec<Duration> {
    app.add_org("Bench", 1, doc! {}).await;
    let run = support::unique_db("u");
    let mut signed = Vec::with_capacity(users);
    for n in 0..users {
        let email = format!("{run}_{n}@offboarding.example").to_lowercase();
        let user = emulator(
            reqwest::Method::POST,
            "/user_management/users",
            Some(json!({"email": email, "first_name": "Leaving", "last_name": "Person", "email_verified": true})),
        )
        .await;
        let id = user["id"].as_str().expect("a user id").to_owned();
        let code = Browser::default().authkit_code(&email).await;
        let body: Value = app
            .callback(json!({ "code": code }))
            .await
            .json()
            .await
            .expect("a JSON body");
        let token = body["token"]
            .as_str()
            .unwrap_or_else(|| panic!("signed in: {body}"))
            .to_owned();
        let refresh = body["refreshToken"].as_str().expect("a refresh token").to_owned();
        signed.push((id, token, refresh));
    }
    if mode == Mode::Poll {
        // The consumer stands at the newest event before the first deletion.
        let cursors = app.db.collection::<mongodb::bson::Document>("event_cursors");
        let started = Instant::now();
        while cursors
            .find_one(doc! {"_id": "workos"})
            .await
            .expect("cursors readable")
            .is_none()
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the consumer never started"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let mut took = Vec::with_capacity(users);
    for (n, (id, token, refresh)) in signed.iter().enumerate() {
        tokio::time::sleep(jitter(n, spread)).await;
        let deleted = Instant::now();
        emulator(
            reqwest::Method::DELETE,
            &format!("/user_management/users/{id}"),
            None,
        )
        .await;
        loop {
            let status = app.verify(token).await.status();
            if status.as_u16() == 401 {
                took.push(deleted.elapsed());
                break;
            }
            assert!(
                deleted.elapsed() < spread * 4 + Duration::from_secs(10),
                "user {n} never refused"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let status = app.refresh(refresh).await.status();
        assert_eq!(status.as_u16(), 403, "user {n}: the refresh token is refused too");
    }
    took
}

/// A pseudo-random pause below `spread` (deterministic: the same run each time).
fn jitter(n: usize, spread: Duration) -> Duration {
    let x = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) % 1000;
    spread.mul_f64(x as f64 / 1000.0)
}

fn report(label: &str, took: &[Duration], goal: Duration) {
    let mut sorted = took.to_vec();
    sorted.sort();
    let at = |q: f64| sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1];
    let (p50, p99, max) = (at(0.50), at(0.99), at(1.0));
    println!(
        "{label:<20} n={:<3} p50 {:>6.0} ms  p99 {:>6.0} ms  max {:>6.0} ms  goal p99 <= {} ms: {}",
        sorted.len(),
        p50.as_secs_f64() * 1000.0,
        p99.as_secs_f64() * 1000.0,
        max.as_secs_f64() * 1000.0,
        goal.as_millis(),
        if p99 <= goal { "met" } else { "MISSED" }
    );
}
