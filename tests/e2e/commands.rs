//! What a request costs in MongoDB round trips, counted by the driver's command events
//! (`MONGODB_COMMAND_METRICS=true`, the counter `tether_mongodb_commands_total` on the
//! metrics listener), over HTTP against the real peers. Each figure fails above its
//! target: a returning login at most 3 commands, a new user's first login at most 4,
//! a refresh at most 4, and one more for the state take of a login in strict mode.
//! The identities are AuthKit users (no WorkOS organization); a new user whose SSO
//! profile names a WorkOS organization that is mapped to none costs one more read
//! (the mapping is looked up before the oldest organization). The audit record of a
//! login is stored later by the audit writer, on a MongoDB client of its own that
//! this counter does not count: a login never waits for it.

use mongodb::bson::doc;
use serde_json::{Value, json};

use crate::support::*;

/// Every `tether_mongodb_commands_total` series of a scrape, summed.
async fn commands(app: &TestApp) -> f64 {
    let base = app.metrics_base.as_deref().expect("METRICS_PORT set");
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("metrics answered")
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("tether_mongodb_commands_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The commands sent while `request` runs (nothing else runs in this test's service).
async fn cost<F: std::future::Future<Output = Value>>(app: &TestApp, request: F) -> (f64, Value) {
    let before = commands(app).await;
    let answer = request.await;
    (commands(app).await - before, answer)
}

fn counting(tag: &'static str) -> Options {
    Options::new(tag)
        .env("MONGODB_COMMAND_METRICS", "true")
        .env("METRICS_PORT", closed_port().to_string())
}

#[tokio::test]
async fn a_returning_login_costs_at_most_three_commands_a_new_user_four_and_a_refresh_four() {
    let app = TestApp::spawn(counting("commands")).await;
    app.add_org("Acme", 1, doc! {}).await;
    let browser = Browser::default();

    let code = browser.authkit_code("jane@authkit.example").await;
    let (new_user, first) = cost(&app, async {
        ok(app.callback(json!({"code": code})).await).await
    })
    .await;
    let code = browser.authkit_code("jane@authkit.example").await;
    let (returning, second) = cost(&app, async {
        ok(app.callback(json!({"code": code})).await).await
    })
    .await;
    assert_eq!(first["user"]["id"], second["user"]["id"], "the same user");
    let refresh_token = second["refreshToken"].as_str().unwrap().to_owned();
    let (refresh, renewed) = cost(&app, async {
        ok(answer(
            app.at(reqwest::Method::POST, "/api/auth/refresh")
                .json(&json!({"refreshToken": refresh_token})),
        )
        .await)
        .await
    })
    .await;
    assert_ne!(renewed["refreshToken"], second["refreshToken"]);
    println!("MongoDB commands: new user {new_user}, returning login {returning}, refresh {refresh}");

    assert!(returning > 0.0, "the counter counts");
    assert!(returning <= 3.0, "a returning login sent {returning} commands");
    assert!(new_user <= 4.0, "a new user's login sent {new_user} commands");
    assert!(refresh <= 4.0, "a refresh sent {refresh} commands");

    // An SSO profile of a WorkOS organization mapped to none: the mapping and the
    // oldest unmapped organization are one read, so no more than any new user.
    let code = browser.sso_code("acme.example", "count@acme.example").await;
    let (unmapped, _) = cost(&app, async {
        ok(app.callback(json!({"code": code})).await).await
    })
    .await;
    println!("MongoDB commands: new user of an unmapped WorkOS organization {unmapped}");
    assert!(unmapped <= 4.0, "sent {unmapped} commands");

    // Every login was recorded all the same: by the audit writer, on a client of its
    // own whose inserts are no request's commands.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let audit = app.db.collection::<mongodb::bson::Document>("audit_events");
    while audit
        .count_documents(doc! {"type": "login.succeeded"})
        .await
        .unwrap()
        < 3
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the logins were not recorded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let before = commands(&app).await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(
        commands(&app).await,
        before,
        "the writer's batches are not counted"
    );
    app.drop().await;
}

#[tokio::test]
async fn in_strict_mode_the_state_take_is_the_one_more_command_of_a_login() {
    let app = TestApp::spawn(counting("commands_strict").strict_states()).await;
    app.add_org("Acme", 1, doc! {}).await;
    let browser = Browser::default();
    let mut costs = Vec::new();
    for _ in 0..2 {
        let res = app
            .get("/api/auth/workos/authorize?login_hint=sam%40authkit.example")
            .await;
        assert_eq!(res.status().as_u16(), 302);
        let workos = res.headers()["location"].to_str().unwrap().to_owned();
        let back = browser.location(&workos).await;
        let code = query_param(&back, "code").expect("code");
        let state = query_param(&back, "state").expect("state");
        let (spent, _) = cost(&app, async {
            ok(app.callback(json!({"code": code, "state": state})).await).await
        })
        .await;
        costs.push(spent);
    }
    println!(
        "MongoDB commands in strict mode: new user {}, returning login {}",
        costs[0], costs[1]
    );
    assert!(costs[0] <= 5.0, "a new user's login sent {} commands", costs[0]);
    assert!(costs[1] <= 4.0, "a returning login sent {} commands", costs[1]);
    app.drop().await;
}
