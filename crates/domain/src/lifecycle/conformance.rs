//! Port-conformance suites of offboarding: [`lifecycle_store`] and
//! [`event_cursor_store`], run by every store adapter on an empty store.

#![expect(
    clippy::expect_used,
    reason = "a conformance suite is test code: like assert!, it fails by panicking with a message"
)]

use futures_util::future::join_all;

use super::ports::{AppliedEvent, CursorMove, EventCursorStore, LifecycleStore};
use super::{DisabledBy, Disablement};
use crate::conformance::{AUTHKIT, new_user, session};
use crate::model::{RevokedReason, SessionRecord, User};
use crate::ports::{Clock, SessionStore, UserRepository};
use crate::values::{SessionId, Timestamp, UserId};

fn by_event(id: &str, at: Timestamp) -> Disablement {
    Disablement {
        by: DisabledBy::Event {
            id: id.to_owned(),
            event_type: "user.deleted".to_owned(),
        },
        at,
        reason: "identity_removed".to_owned(),
    }
}

fn by_operator(operator: UserId, reason: &str, at: Timestamp) -> Disablement {
    Disablement {
        by: DisabledBy::Operator { user_id: operator },
        at,
        reason: reason.to_owned(),
    }
}

/// One step of disabling and enabling a user, answered `true` when it changed them.
enum Step {
    Disable(UserId, Disablement),
    EventEnables(UserId),
    OperatorEnables(UserId),
}

async fn take_step<S: LifecycleStore>(store: &S, step: Step, at: Timestamp) -> bool {
    match step {
        Step::Disable(user, disablement) => store.disable_user(user, disablement).await.expect("disable"),
        Step::EventEnables(user) => store
            .enable_user_disabled_by_event(user, at)
            .await
            .expect("enable"),
        Step::OperatorEnables(user) => store.enable_user(user, at).await.expect("enable"),
    }
}

async fn find_user<S: UserRepository>(store: &S, user: UserId) -> Option<User> {
    store.find_user(user).await.expect("find")
}

async fn find_session<S: SessionStore>(store: &S, id: &str) -> SessionRecord {
    store
        .find_session(&SessionId::new(id))
        .await
        .expect("find")
        .expect("session")
}

/// [`LifecycleStore`]: an event id is recorded once (recording it again is no error);
/// a user's mark of an object only moves forward (an equal time is accepted, an unknown user is
/// `false`); an event's disablement is kept until an event re-enables it, an
/// operator's never is by an event, and replaces an event's; an operator enables
/// anyone; a name changes only when it differs; revoking a
/// user's sessions revokes exactly their live ones, once, and keeps an earlier
/// revocation's reason.
pub async fn lifecycle_store<S>(store: &S, clock: &dyn Clock)
where
    S: UserRepository + SessionStore + LifecycleStore,
{
    let now = clock.now();
    // Applied events.
    assert!(
        !store.is_applied("event_01").await.expect("is_applied"),
        "an unknown id is not applied"
    );
    let applied = AppliedEvent {
        id: "event_01".to_owned(),
        event_type: "user.deleted".to_owned(),
        outcome: "applied".to_owned(),
        applied_at: now,
        expires_at: now.plus_seconds(30 * 24 * 3600),
    };
    store
        .record_applied(applied.clone())
        .await
        .expect("record_applied");
    store
        .record_applied(applied)
        .await
        .expect("recording an id again is no error");
    assert!(
        store.is_applied("event_01").await.expect("is_applied"),
        "a recorded id is applied"
    );

    // Marks.
    let insert = |address: &'static str, subject: &'static str| async move {
        store
            .insert(new_user(address, &AUTHKIT, subject, now))
            .await
            .expect("insert")
    };
    let ada = insert("ada.lifecycle@example.com", "user_lc_ada").await.id;
    let bob = insert("bob.lifecycle@example.com", "user_lc_bob").await.id;
    let unknown = UserId::parse("5f7b1c2e8a1d4e00ffffffff").expect("suite ids are valid");
    for (user, object, at, moved, why) in [
        (unknown, "identity", now, false, "an unknown user has no mark"),
        (ada, "identity", now.plus_seconds(10), true, "a first mark"),
        (
            ada,
            "identity",
            now.plus_seconds(5),
            false,
            "an older mark is refused",
        ),
        (
            ada,
            "identity",
            now.plus_seconds(10),
            true,
            "an equal mark is accepted",
        ),
        (ada, "identity", now.plus_seconds(20), true, "a newer mark moves"),
        (bob, "identity", now, true, "marks are per user"),
        (ada, "membership_org_1", now, true, "and per object"),
    ] {
        let answer = store.advance_user_mark(user, object, at).await.expect("mark");
        assert_eq!(answer, moved, "{why}");
    }

    // Disable and enable: each step's answer, and whether the user is disabled after it
    // (`None`: no such user).
    use Step::{Disable, EventEnables, OperatorEnables};
    let event = |id: &str| by_event(id, now);
    let operator = |reason: &str, at: Timestamp| by_operator(bob, reason, at);
    #[rustfmt::skip]
    let steps = [
        (Disable(ada, event("event_01")), true, Some(true), "an event disables"),
        (Disable(ada, event("event_02")), false, Some(true), "a disabled user is not disabled again"),
        (EventEnables(ada), true, Some(false), "an event's disablement is undone"),
        (EventEnables(ada), false, Some(false), "an enabled user stays as is"),
        (Disable(bob, operator("operator", now)), true, Some(true), "an operator disables"),
        (EventEnables(bob), false, Some(true), "an operator's disablement is never undone by an event"),
        (OperatorEnables(bob), true, Some(false), "an operator's disablement is undone by an operator"),
        (OperatorEnables(bob), false, Some(false), "an enabled user stays as is"),
        (OperatorEnables(unknown), false, None, "an unknown user"),
        // An operator's disablement replaces an event's, never the other way round.
        (Disable(ada, event("event_04")), true, Some(true), "an event disables"),
        (Disable(ada, operator("left the company", now)), true, Some(true), "an operator takes over an event's disablement"),
        (Disable(ada, operator("left the company", now.plus_seconds(1))), false, Some(true), "an operator's disablement stays the first"),
        (Disable(ada, event("event_05")), false, Some(true), "an event does not replace an operator's disablement"),
        (EventEnables(ada), false, Some(true), "so no event re-enables the user"),
        (OperatorEnables(ada), true, Some(false), "an operator enables anyone"),
        // Again by an event, then enabled by an operator.
        (Disable(bob, event("event_06")), true, Some(true), "an event disables"),
        (OperatorEnables(bob), true, Some(false), "an operator enables one an event disabled"),
        (Disable(unknown, event("event_03")), false, None, "an unknown user"),
    ];
    for (step, changed, disabled_after, why) in steps {
        let user = match &step {
            Disable(user, _) | EventEnables(user) | OperatorEnables(user) => *user,
        };
        assert_eq!(take_step(store, step, now).await, changed, "{why}");
        assert_eq!(
            find_user(store, user).await.map(|u| u.login_disabled),
            disabled_after,
            "{why}"
        );
    }

    // Names.
    for (changed, why) in [(true, "a new name"), (false, "same name")] {
        let renamed = store
            .set_full_name(ada, "Ada Lovelace".to_owned(), now)
            .await
            .expect("rename");
        assert_eq!(renamed, changed, "{why}");
        let user = find_user(store, ada).await.expect("ada");
        assert_eq!(user.full_name, "Ada Lovelace");
        assert_eq!(
            user.email.as_str(),
            "ada.lifecycle@example.com",
            "the address is untouched"
        );
    }

    // Sessions.
    for (id, user) in [("lc_s1", ada), ("lc_s2", ada), ("lc_s3", ada), ("lc_s4", bob)] {
        let record = SessionRecord {
            user_id: user,
            ..session(id, now)
        };
        store.start(record).await.expect("start");
    }
    assert!(
        store
            .revoke(&SessionId::new("lc_s3"), now, RevokedReason::Logout)
            .await
            .expect("revoke")
    );
    let revoked = store
        .revoke_user_sessions(ada, now.plus_seconds(1), RevokedReason::Deprovisioned)
        .await
        .expect("revoke_user_sessions");
    assert_eq!(revoked, 2, "the user's live sessions are revoked");
    for id in ["lc_s1", "lc_s2"] {
        let s = find_session(store, id).await;
        assert_eq!(s.revoked_reason, Some(RevokedReason::Deprovisioned), "{id}");
        assert_eq!(s.revoked_at, Some(now.plus_seconds(1)), "{id}");
    }
    assert_eq!(
        find_session(store, "lc_s3").await.revoked_reason,
        Some(RevokedReason::Logout),
        "an earlier revocation keeps its reason"
    );
    assert_eq!(
        find_session(store, "lc_s4").await.revoked_at,
        None,
        "another user's session is untouched"
    );
    assert_eq!(
        store
            .revoke_user_sessions(ada, now.plus_seconds(2), RevokedReason::Deprovisioned)
            .await
            .expect("again"),
        0,
        "idempotent"
    );
}

/// [`EventCursorStore`]: one lease holder at a time (of ten concurrent takers exactly
/// one), renewed by its holder, taken over once it ended or was released; the cursor
/// moves only for the holder of a live lease; a replay clears the cursor and keeps its
/// time until an event moves it.
pub async fn event_cursor_store(cursors: &dyn EventCursorStore, clock: &dyn Clock) {
    let now = clock.now();
    let stream = "conformance";
    assert_eq!(
        cursors.cursor_state(stream).await.expect("state"),
        None,
        "an unknown stream"
    );

    let takers = join_all((0..10).map(|n| {
        let holder = format!("replica-{n}");
        async move {
            cursors
                .acquire_lease(stream, &holder, now, now.plus_seconds(30))
                .await
        }
    }))
    .await;
    let winners: Vec<usize> = takers
        .iter()
        .enumerate()
        .filter(|(_, r)| r.as_ref().expect("acquire").is_some())
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one of concurrent takers holds the lease: {winners:?}"
    );
    let a = format!("replica-{}", winners[0]);
    let b = if winners[0] == 0 {
        "replica-1".to_owned()
    } else {
        "replica-0".to_owned()
    };

    let lease = |holder: &str, from: i64| {
        let holder = holder.to_owned();
        async move {
            cursors
                .acquire_lease(
                    stream,
                    &holder,
                    now.plus_seconds(from),
                    now.plus_seconds(from + 30),
                )
                .await
                .expect("acquire")
        }
    };
    let advance = |holder: &str, after: Option<&str>, last_event_at: Option<Timestamp>, at: i64| {
        let (holder, after) = (holder.to_owned(), after.map(str::to_owned));
        async move {
            cursors
                .advance_cursor(
                    stream,
                    CursorMove {
                        holder,
                        after,
                        last_event_at,
                        at: now.plus_seconds(at),
                    },
                )
                .await
                .expect("advance")
        }
    };
    let state = || async move {
        cursors
            .cursor_state(stream)
            .await
            .expect("state")
            .expect("a state")
    };

    let renewed = lease(&a, 10).await.expect("the holder renews its lease");
    assert_eq!(renewed.holder.as_deref(), Some(a.as_str()));
    assert_eq!(renewed.after, None);
    assert!(
        lease(&b, 35).await.is_none(),
        "a renewed lease is held until its new end"
    );
    assert!(
        advance(&a, Some("event_1"), Some(now), 11).await,
        "the holder moves the cursor"
    );
    assert!(
        !advance(&b, Some("event_x"), None, 11).await,
        "another replica does not"
    );
    let taken = lease(&b, 41).await.expect("an ended lease is taken over");
    assert_eq!(
        taken.after.as_deref(),
        Some("event_1"),
        "the cursor survives the take-over"
    );
    assert_eq!(taken.last_event_at, Some(now));
    assert!(
        !advance(&a, Some("event_2"), None, 42).await,
        "the former holder no longer moves the cursor"
    );
    cursors
        .release_lease(stream, &a)
        .await
        .expect("releasing a lease one does not hold is no error");
    assert!(lease(&a, 43).await.is_none());
    cursors.release_lease(stream, &b).await.expect("release");
    assert!(lease(&a, 44).await.is_some(), "a released lease is taken at once");

    let since = now.plus_seconds(-3600);
    cursors.replay_from(stream, since).await.expect("replay");
    let replayed = state().await;
    assert_eq!(replayed.after, None, "a replay clears the cursor");
    assert_eq!(replayed.since, Some(since));
    assert_eq!(
        replayed.holder.as_deref(),
        Some(a.as_str()),
        "a replay keeps the lease"
    );
    assert!(advance(&a, None, None, 45).await);
    let checked = state().await;
    assert_eq!(checked.since, Some(since), "no event: the replay time stays");
    assert_eq!(checked.checked_at, Some(now.plus_seconds(45)));
    assert!(advance(&a, Some("event_9"), None, 46).await);
    let moved = state().await;
    assert_eq!(
        (moved.after.as_deref(), moved.since),
        (Some("event_9"), None),
        "an event ends the replay"
    );
}
