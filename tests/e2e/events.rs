//! Offboarding from WorkOS events, end to end: users and memberships changed in
//! WorkOS's emulator take effect through the polled Events API and through signed
//! webhooks; the lease lets one of two replicas consume and the other take over; a
//! stalled store neither moves the cursor nor loses an event. Directory (`dsync.*`)
//! events, which the emulator cannot produce, come from a stand-in serving the
//! Events API's shape.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mongodb::bson::{Document, doc, oid::ObjectId};
use serde_json::{Value, json};
use tether_auth::Overrides;
use tokio::io::AsyncWriteExt;

use crate::bounded::StallingProxy;
use crate::support::*;

const KEY: &str = "sk_test_default";

/// A service polling the emulator's events every second, lease 3 s.
fn polling(tag: &'static str) -> Options {
    Options::new(tag)
        .env("WORKOS_EVENTS", "poll")
        .env("WORKOS_EVENTS_POLL_SECONDS", "1")
        .env("WORKOS_EVENTS_LEASE_SECONDS", "3")
}

/// An address no other test uses.
fn unique_email(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let db = unique_db(tag);
    format!("{db}_{}@events.example", N.fetch_add(1, Ordering::SeqCst)).to_lowercase()
}

/// Creates an AuthKit user in the emulator; returns its id.
async fn workos_user(email: &str) -> String {
    let user = emulator(
        reqwest::Method::POST,
        "/user_management/users",
        Some(json!({"email": email, "first_name": "Leaving", "last_name": "Person", "email_verified": true})),
    )
    .await;
    user["id"].as_str().expect("a user id").to_owned()
}

async fn workos_organization(name: &str) -> String {
    let org = emulator(
        reqwest::Method::POST,
        "/organizations",
        Some(json!({"name": name})),
    )
    .await;
    org["id"].as_str().expect("an organization id").to_owned()
}

/// A SALES_REP of Acme, an organization mapped to a new WorkOS organization, who is
/// also a WorkOS user.
struct MappedMember {
    /// The new WorkOS organization's id.
    workos_org: String,
    email: String,
    user: ObjectId,
    /// The WorkOS user's id.
    workos_user: String,
}

/// Creates a WorkOS organization `org_name`, maps Acme to it and adds a SALES_REP of
/// Acme at a fresh address made from `local_part`, also as a WorkOS user.
async fn mapped_member(app: &TestApp, org_name: &str, local_part: &str) -> MappedMember {
    let workos_org = workos_organization(org_name).await;
    let org = app
        .add_org("Acme", 1, doc! {"workosOrganizationId": &workos_org})
        .await;
    let email = unique_email(local_part);
    let user = app.add_user(&email, "SALES_REP", org).await;
    let workos_user = workos_user(&email).await;
    MappedMember {
        workos_org,
        email,
        user,
        workos_user,
    }
}

/// A service polling WorkOS's events, with a [`MappedMember`] of a new WorkOS
/// organization `org_name`.
async fn polling_with_member(tag: &'static str, org_name: &str, local_part: &str) -> (TestApp, MappedMember) {
    let app = TestApp::spawn(polling(tag)).await;
    let member = mapped_member(&app, org_name, local_part).await;
    (app, member)
}

async fn workos_membership(user: &str, organization: &str) -> String {
    let m = emulator(
        reqwest::Method::POST,
        "/user_management/organization_memberships",
        Some(json!({"user_id": user, "organization_id": organization})),
    )
    .await;
    m["id"].as_str().expect("a membership id").to_owned()
}

async fn delete_workos_user(id: &str) {
    emulator(
        reqwest::Method::DELETE,
        &format!("/user_management/users/{id}"),
        None,
    )
    .await;
}

/// Tokens of a signed-in user.
struct Signed {
    token: String,
    refresh_token: String,
}

async fn sign_in(app: &TestApp, email: &str) -> reqwest::Response {
    let code = Browser::default().authkit_code(email).await;
    app.callback(json!({ "code": code })).await
}

async fn signed_in(app: &TestApp, email: &str) -> Signed {
    let res = sign_in(app, email).await;
    let body: Value = res.json().await.expect("a JSON body");
    Signed {
        token: body["token"]
            .as_str()
            .unwrap_or_else(|| panic!("signed in: {body}"))
            .to_owned(),
        refresh_token: body["refreshToken"].as_str().expect("a refresh token").to_owned(),
    }
}

/// Waits until `check` holds, at most `limit`; returns how long it took.
async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn cursor(app: &TestApp) -> Option<Document> {
    app.db
        .collection::<Document>("event_cursors")
        .find_one(doc! {"_id": "workos"})
        .await
        .expect("event_cursors readable")
}

/// When the consumer last polled, by its cursor.
async fn checked_at(app: &TestApp) -> mongodb::bson::DateTime {
    let cursor = cursor(app).await.expect("the consumer has a cursor");
    *cursor.get_datetime("checkedAt").expect("checkedAt")
}

/// Waits until the consumer stands at a cursor (the newest event when it started), so
/// that what a test does next comes after it.
async fn consumer_started(app: &TestApp) {
    wait_until("the consumer starts", Duration::from_secs(10), || async {
        cursor(app)
            .await
            .is_some_and(|c| c.get_str("after").is_ok() || c.get_datetime("since").is_ok())
    })
    .await;
}

async fn applied(app: &TestApp, id: &str) -> Option<Document> {
    app.db
        .collection::<Document>("applied_events")
        .find_one(doc! {"_id": id})
        .await
        .expect("applied_events readable")
}

async fn user_by_email(app: &TestApp, email: &str) -> Document {
    app.users()
        .find_one(doc! {"email": email})
        .await
        .expect("users readable")
        .expect("the user exists")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_deleted_in_workos_is_signed_out_within_the_poll_interval_and_another_is_untouched() {
    let app = TestApp::spawn(polling("events_deleted")).await;
    app.add_org("Acme", 1, doc! {}).await;
    let (leaving, staying) = (unique_email("leaving"), unique_email("staying"));
    let leaving_id = workos_user(&leaving).await;
    workos_user(&staying).await;
    let gone = signed_in(&app, &leaving).await;
    let kept = signed_in(&app, &staying).await;
    assert_eq!(app.verify(&gone.token).await.status().as_u16(), 200);
    consumer_started(&app).await;

    delete_workos_user(&leaving_id).await;
    let took = wait_until("the access token is refused", Duration::from_secs(3), || async {
        app.verify(&gone.token).await.status().as_u16() == 401
    })
    .await;
    eprintln!("deleted in WorkOS -> access token refused after {took:?}");

    assert_error(app.verify(&gone.token).await, 401, "LOGIN_DISABLED").await;
    assert_error(app.refresh(&gone.refresh_token).await, 403, "LOGIN_DISABLED").await;
    let code = Browser::default().authkit_code(&staying).await;
    assert_eq!(
        app.verify(&kept.token).await.status().as_u16(),
        200,
        "another user is untouched"
    );
    assert_eq!(app.refresh(&kept.refresh_token).await.status().as_u16(), 200);
    assert_eq!(app.callback(json!({"code": code})).await.status().as_u16(), 200);

    let user = user_by_email(&app, &leaving).await;
    assert!(user.get_bool("loginDisabled").unwrap());
    let by = user.get_document("disabledBy").expect("disabledBy");
    assert_eq!(by.get_str("type").unwrap(), "user.deleted");
    assert!(by.get_str("event").unwrap().starts_with("evt_"), "{by}");
    assert_eq!(user.get_str("disabledReason").unwrap(), "identity_removed");
    let session = app
        .db
        .collection::<Document>("sessions")
        .find_one(doc! {"userId": user.get_object_id("_id").unwrap()})
        .await
        .unwrap()
        .expect("the session");
    assert_eq!(session.get_str("revokedReason").unwrap(), "deprovisioned");
    app.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_membership_of_the_mapped_organization_disables_and_reactivation_lets_the_user_back() {
    let (app, member) = polling_with_member("events_membership", "Events Mapped", "member").await;
    let (mapped, email, workos_id) = (member.workos_org, member.email, member.workos_user);
    let other = workos_organization("Events Other").await;
    let in_mapped = workos_membership(&workos_id, &mapped).await;
    let first = signed_in(&app, &email).await;
    let in_other = workos_membership(&workos_id, &other).await;
    consumer_started(&app).await;

    // Another WorkOS organization's membership ends: nothing changes. The deactivation
    // of the mapped one after it is the condition to wait for.
    emulator(
        reqwest::Method::PUT,
        &format!("/user_management/organization_memberships/{in_other}/deactivate"),
        None,
    )
    .await;
    emulator(
        reqwest::Method::PUT,
        &format!("/user_management/organization_memberships/{in_mapped}/deactivate"),
        None,
    )
    .await;
    wait_until(
        "the mapped membership's end disables",
        Duration::from_secs(3),
        || async { app.verify(&first.token).await.status().as_u16() == 401 },
    )
    .await;
    // The effects are written before the event is recorded as applied: wait for both
    // records (the other organization's ignored, the mapped one's applied).
    let outcomes = || async {
        use futures_util::TryStreamExt as _;
        let applied: Vec<Document> = app
            .db
            .collection::<Document>("applied_events")
            .find(doc! {"type": "organization_membership.updated"})
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        applied
            .iter()
            .map(|d| d.get_str("outcome").unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    wait_until("both events are recorded", Duration::from_secs(3), || async {
        let outcomes = outcomes().await;
        outcomes.iter().any(|o| o == "ignored") && outcomes.iter().any(|o| o == "applied")
    })
    .await;
    assert_error(sign_in(&app, &email).await, 403, "LOGIN_DISABLED").await;
    let user = user_by_email(&app, &email).await;
    assert_eq!(user.get_str("disabledReason").unwrap(), "membership_ended");

    emulator(
        reqwest::Method::PUT,
        &format!("/user_management/organization_memberships/{in_mapped}/reactivate"),
        None,
    )
    .await;
    wait_until("reactivation re-enables", Duration::from_secs(3), || async {
        user_by_email(&app, &email).await.get_bool("loginDisabled") == Ok(false)
    })
    .await;
    let again = signed_in(&app, &email).await;
    assert_eq!(
        app.verify(&again.token).await.status().as_u16(),
        200,
        "signed in again"
    );
    let user = user_by_email(&app, &email).await;
    assert!(user.get("disabledBy").is_none(), "{user}");
    app.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_disabled_user_is_not_re_enabled_by_a_membership_event() {
    let (app, member) = polling_with_member("events_operator", "Events Operator", "operator").await;
    let (mapped, email, local, workos_id) =
        (member.workos_org, member.email, member.user, member.workos_user);
    signed_in(&app, &email).await;
    app.users()
        .update_one(
            doc! {"_id": local},
            doc! {"$set": {"loginDisabled": true, "disabledBy": {"userId": mongodb::bson::oid::ObjectId::new()}}},
        )
        .await
        .unwrap();
    consumer_started(&app).await;
    workos_membership(&workos_id, &mapped).await;
    wait_until(
        "the membership event is handled",
        Duration::from_secs(3),
        || async {
            app.db
                .collection::<Document>("applied_events")
                .count_documents(doc! {"type": "organization_membership.created"})
                .await
                .unwrap()
                == 1
        },
    )
    .await;
    assert!(app.user_doc(local).await.get_bool("loginDisabled").unwrap());
    app.drop().await;
}

async fn post_webhook(app: &TestApp, signature: Option<&str>, body: &str) -> reqwest::Response {
    let mut req = app
        .http
        .post(format!("{}/api/webhooks/workos", app.base))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        req = req.header("WorkOS-Signature", signature);
    }
    req.send().await.expect("webhook answered")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivered_webhook_signs_the_user_out_within_a_second_and_forged_or_stale_ones_change_nothing() {
    let secret = "whsec_e2e_events";
    let app = TestApp::spawn(Options::new("events_webhook").env("WORKOS_WEBHOOK_SECRET", secret)).await;
    app.add_org("Acme", 1, doc! {}).await;
    let email = unique_email("hooked");
    let workos_id = workos_user(&email).await;
    let session = signed_in(&app, &email).await;
    let before = whole_database(&app).await;

    // Forged, 15 minutes old, missing: 401 and nothing written.
    let body =
        json!({"id": "evt_forged_1", "event": "user.deleted", "created_at": "2026-01-01T00:00:00.000Z",
                      "data": {"id": workos_id, "updated_at": "2026-01-01T00:00:00.000Z"}})
        .to_string();
    #[expect(
        clippy::disallowed_methods,
        reason = "the signature's time, as WorkOS's clock would read it"
    )]
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let forged = tether_workos::events::sign("not the secret", now, body.as_bytes());
    let stale = tether_workos::events::sign(secret, now - 15 * 60, body.as_bytes());
    for signature in [
        Some(forged.as_str()),
        Some(stale.as_str()),
        None,
        Some("t=1,v1=00"),
    ] {
        assert_error(
            post_webhook(&app, signature, &body).await,
            401,
            "INVALID_SIGNATURE",
        )
        .await;
    }
    assert_eq!(whole_database(&app).await, before, "nothing was written");
    assert_eq!(app.verify(&session.token).await.status().as_u16(), 200);
    let too_big = "x".repeat(300 * 1024);
    let valid_big = tether_workos::events::sign(secret, now, too_big.as_bytes());
    assert_error(
        post_webhook(&app, Some(&valid_big), &too_big).await,
        413,
        "PAYLOAD_TOO_LARGE",
    )
    .await;

    let endpoint = register_webhook(&app, secret).await;
    let started = Instant::now();
    delete_workos_user(&workos_id).await;
    let took = wait_until(
        "the webhook signs the user out",
        Duration::from_secs(1),
        || async { app.verify(&session.token).await.status().as_u16() == 401 },
    )
    .await;
    eprintln!(
        "deleted in WorkOS -> refused through the webhook after {took:?} ({:?} since the DELETE)",
        started.elapsed()
    );
    emulator(
        reqwest::Method::DELETE,
        &format!("/webhook_endpoints/{endpoint}"),
        None,
    )
    .await;
    assert_error(app.refresh(&session.refresh_token).await, 403, "LOGIN_DISABLED").await;

    // The same delivery again (a retry) is answered 200 and changes nothing. The
    // delivery is recorded as applied after its effects, so it may trail the sign-out.
    let applied_events = app.db.collection::<Document>("applied_events");
    let applied_event = || applied_events.find_one(doc! {"type": "user.deleted"});
    wait_until("the delivery is recorded", Duration::from_secs(1), || async {
        applied_event().await.unwrap().is_some()
    })
    .await;
    let applied = applied_event().await.unwrap().expect("the delivery was recorded");
    let id = applied.get_str("_id").unwrap();
    let again = json!({"id": id, "event": "user.deleted", "created_at": "2026-01-01T00:00:00.000Z",
                       "data": {"id": workos_id, "updated_at": "2026-01-01T00:00:00.000Z"}})
    .to_string();
    let signature = format!(
        "t={}, v1={}",
        now * 1000,
        tether_workos::events::sign(secret, now * 1000, again.as_bytes())
            .rsplit("v1=")
            .next()
            .unwrap()
    );
    let res = post_webhook(&app, Some(&signature), &again).await;
    assert_eq!(res.status().as_u16(), 200, "milliseconds are accepted too");
    assert_eq!(res.json::<Value>().await.unwrap()["outcome"], "duplicate");
    app.drop().await;
}

#[tokio::test]
async fn the_webhook_route_is_not_found_without_a_secret() {
    let app = TestApp::spawn(Options::new("events_no_hook")).await;
    assert_error(
        post_webhook(&app, Some("t=1,v1=00"), "{}").await,
        404,
        "NOT_FOUND",
    )
    .await;
    app.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_replicas_one_holds_the_lease_and_the_other_takes_over_within_the_lease_when_it_dies() {
    let database = unique_db("events_replicas");
    let a = TestApp::spawn(polling("events_replica_a").database(&database)).await;
    let b = TestApp::spawn(polling("events_replica_b").database(&database)).await;
    let names = [a.events_holder.clone().unwrap(), b.events_holder.clone().unwrap()];
    assert_ne!(names[0], names[1]);
    let holder = |c: &Document| c.get_str("holder").ok().map(str::to_owned);
    consumer_started(&a).await;
    let first = holder(&cursor(&a).await.unwrap()).expect("a holder");
    assert!(names.contains(&first), "{first} is one of {names:?}");
    // It keeps the lease while it lives: several polls later it still holds it.
    let checked = checked_at(&a).await;
    wait_until("two more polls", Duration::from_secs(5), || async {
        checked_at(&a).await.timestamp_millis() >= checked.timestamp_millis() + 1500
    })
    .await;
    assert_eq!(
        holder(&cursor(&a).await.unwrap()).as_deref(),
        Some(first.as_str()),
        "exactly one holds it"
    );

    let (dying, survivor) = if first == names[0] {
        (&a, &names[1])
    } else {
        (&b, &names[0])
    };
    dying.kill();
    let took = wait_until("the other replica takes over", Duration::from_secs(5), || async {
        holder(&cursor(&a).await.unwrap()).as_deref() == Some(survivor.as_str())
    })
    .await;
    eprintln!("holder killed -> lease taken over after {took:?} (lease 3 s)");
    assert!(took <= Duration::from_millis(3500), "took {took:?}");
    let after = checked_at(&a).await;
    wait_until("the new holder polls", Duration::from_secs(3), || async {
        checked_at(&a).await > after
    })
    .await;
    a.drop().await;
}

/// The metrics listener's text.
async fn scrape(app: &TestApp) -> String {
    let base = app.metrics_base.as_deref().expect("METRICS_PORT set");
    reqwest::get(format!("{base}/metrics"))
        .await
        .expect("metrics answered")
        .text()
        .await
        .unwrap()
}

/// The sum of the series `name` whose labels include `labels`.
fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| labels.iter().all(|(k, v)| l.contains(&format!("{k}=\"{v}\""))))
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_store_during_a_poll_keeps_the_cursor_and_loses_nothing_after_recovery() {
    let proxy = StallingProxy::start(&mongo_uri()).await;
    let app = TestApp::spawn(
        polling("events_stall")
            .mongo(proxy.uri.clone())
            .env("METRICS_PORT", closed_port().to_string()),
    )
    .await;
    app.add_org("Acme", 1, doc! {}).await;
    let email = unique_email("stalled");
    let workos_id = workos_user(&email).await;
    let session = signed_in(&app, &email).await;
    consumer_started(&app).await;
    // The test reads the database directly, not through the proxy.
    let direct = mongodb::Client::with_uri_str(mongo_uri())
        .await
        .unwrap()
        .database(&app.db_name);
    let read_cursor = || async {
        direct
            .collection::<Document>("event_cursors")
            .find_one(doc! {"_id": "workos"})
            .await
            .unwrap()
            .unwrap()
    };
    let before = read_cursor().await;
    let attempts = |text: &str| {
        metric(
            text,
            "tether_store_operation_seconds_count",
            &[("operation", "event_cursors.acquire")],
        )
    };

    proxy.stall();
    let stalled_at = attempts(&scrape(&app).await);
    delete_workos_user(&workos_id).await;
    // Two polls run into the stalled store (each bounded by MONGODB_TIMEOUT_MS).
    wait_until("two polls fail", Duration::from_secs(15), || async {
        attempts(&scrape(&app).await) >= stalled_at + 2.0
    })
    .await;
    let during = read_cursor().await;
    assert_eq!(
        during.get_str("after").ok(),
        before.get_str("after").ok(),
        "the cursor did not move"
    );
    assert!(
        !direct
            .collection::<Document>("users")
            .find_one(doc! {"email": &email})
            .await
            .unwrap()
            .unwrap()
            .get_bool("loginDisabled")
            .unwrap()
    );

    proxy.forward();
    wait_until(
        "the deletion is applied after recovery",
        Duration::from_secs(15),
        || async { app.verify(&session.token).await.status().as_u16() == 401 },
    )
    .await;
    // The effects are written first, then the cursor moves past the page.
    wait_until(
        "the cursor moves past the deletion",
        Duration::from_secs(5),
        || async { read_cursor().await.get_str("after").ok() != before.get_str("after").ok() },
    )
    .await;
    let after = read_cursor().await;
    let applied = direct
        .collection::<Document>("applied_events")
        .find_one(doc! {"_id": after.get_str("after").unwrap()})
        .await
        .unwrap();
    assert!(applied.is_some(), "the cursor stands at an applied event");
    let text = scrape(&app).await;
    assert!(
        metric(
            &text,
            "tether_workos_events_total",
            &[("type", "user.deleted"), ("outcome", "applied")]
        ) >= 1.0,
        "{text}"
    );
    assert_eq!(metric(&text, "tether_workos_events_lease_held", &[]), 1.0);
    let _ = direct.drop().await;
}

/// A stand-in for WorkOS's Events API: serves `GET /events` from a list, oldest
/// first after `after` (the emulator's directories cannot be written).
struct EventsStandIn {
    url: String,
    events: Arc<Mutex<Vec<Value>>>,
}

impl EventsStandIn {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let events: Arc<Mutex<Vec<Value>>> = Arc::default();
        let list = events.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let list = list.clone();
                tokio::spawn(async move {
                    while let Some((head, _)) = read_request(&mut socket).await {
                        let target = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                        let after = query_param(&target, "after");
                        let desc = query_param(&target, "order").as_deref() != Some("asc");
                        let limit: usize = query_param(&target, "limit")
                            .and_then(|l| l.parse().ok())
                            .unwrap_or(10);
                        let all = list.lock().unwrap().clone();
                        let mut ordered = all.clone();
                        if desc {
                            ordered.reverse();
                        }
                        let start = after
                            .and_then(|a| ordered.iter().position(|e| e["id"] == a.as_str()))
                            .map_or(0, |p| p + 1);
                        let page: Vec<Value> = ordered.iter().skip(start).take(limit).cloned().collect();
                        let more = start + page.len() < ordered.len();
                        let body = json!({"object": "list", "data": page,
                            "list_metadata": {"after": if more { page.last().map(|e| e["id"].clone()) } else { None }}})
                        .to_string();
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if socket.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self { url, events }
    }

    fn push(&self, id: &str, event: &str, data: Value) {
        let at = "2027-01-15T08:00:00.000Z";
        self.events
            .lock()
            .unwrap()
            .push(json!({"object": "event", "id": id, "event": event, "created_at": at, "data": data}));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_user_suspended_in_the_mapped_directory_is_signed_out_and_comes_back_when_active() {
    let stand_in = EventsStandIn::start().await;
    stand_in.push(
        "evt_dir_0",
        "dsync.user.created",
        json!({"organization_id": "org_01DIROTHER", "state": "active", "emails": [{"value": "x@y.example"}]}),
    );
    let source = tether_workos::WorkosEvents::new(&tether_workos::WorkosConfig {
        base_url: stand_in.url.clone(),
        client_id: CLIENT_ID.to_owned(),
        api_key: KEY.to_owned().into(),
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        backoff_max: Duration::from_secs(5),
    })
    .unwrap();
    let app = TestApp::spawn_with(
        polling("events_dsync"),
        Overrides {
            event_source: Some(Arc::new(source)),
            ..Default::default()
        },
    )
    .await;
    let member = mapped_member(&app, "Events Directory", "directory").await;
    let (mapped, email, local) = (member.workos_org, member.email, member.user);
    let session = signed_in(&app, &email).await;
    consumer_started(&app).await;

    // An event `kind` about Dee, the user's directory record, now in `state`, in the
    // directory of `tenant`.
    let directory_event = |id: &str, kind: &str, state: &str, tenant: &str| {
        let dee = json!({"id": "directory_user_1", "organization_id": tenant, "state": state, "first_name": "Dee", "last_name": "Rectory",
               "emails": [{"value": "someone.else@events.example"}, {"value": email.to_uppercase(), "primary": true}],
               "updated_at": "2027-01-15T08:00:00.000Z"});
        stand_in.push(id, kind, dee);
    };
    directory_event(
        "evt_dir_1",
        "dsync.user.updated",
        "suspended",
        "org_01ANOTHERDIRECTORY",
    );
    directory_event("evt_dir_2", "dsync.user.updated", "suspended", &mapped);
    wait_until(
        "the suspension signs the user out",
        Duration::from_secs(3),
        || async { app.verify(&session.token).await.status().as_u16() == 401 },
    )
    .await;
    wait_until("the suspension is recorded", Duration::from_secs(3), || async {
        applied(&app, "evt_dir_2").await.is_some()
    })
    .await;
    let user = app.user_doc(local).await;
    assert_eq!(user.get_str("disabledReason").unwrap(), "directory_user_removed");
    assert_eq!(user.get_str("fullName").unwrap(), "Dee Rectory");
    assert_eq!(
        user.get_str("email").unwrap(),
        email.as_str(),
        "the address is never changed by an event"
    );
    let skipped = applied(&app, "evt_dir_1").await.expect("recorded");
    assert_eq!(
        skipped.get_str("outcome").unwrap(),
        "ignored",
        "another directory's user"
    );

    directory_event("evt_dir_3", "dsync.user.updated", "active", &mapped);
    wait_until(
        "the directory user is active again",
        Duration::from_secs(3),
        || async { app.user_doc(local).await.get_bool("loginDisabled") == Ok(false) },
    )
    .await;
    assert_eq!(sign_in(&app, &email).await.status().as_u16(), 200);
    directory_event("evt_dir_4", "dsync.user.deleted", "inactive", &mapped);
    wait_until("the deletion disables", Duration::from_secs(3), || async {
        app.user_doc(local).await.get_bool("loginDisabled") == Ok(true)
    })
    .await;
    app.drop().await;
}
