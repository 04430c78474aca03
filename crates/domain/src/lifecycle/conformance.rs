//! Port-conformance suites of offboarding: [`lifecycle_store`] and
//! [`event_cursor_store`], run by every store adapter on an empty store.

#![expect(
    clippy::expect_used,
    reason = "a conformance suite is test code: like assert!, it fails by panicking with a message"
)]

use futures_util::future::join_all;

use super::ports::{AppliedEvent, EventCursorStore, LifecycleStore};
use super::{DisabledBy, Disablement};
use crate::model::{IdentityLink, LinkedIdentity, LiveRefreshToken, NewUser, RevokedReason, SessionRecord};
use crate::ports::{Clock, SessionStore, UserRepository};
use crate::values::{AccessRole, Email, OrganizationId, SessionId, Timestamp, TokenHash, UserId};

fn new_user(address: &str, subject: &str, at: Timestamp) -> NewUser {
    NewUser {
        email: Email::parse(address).expect("suite addresses are valid"),
        full_name: "Lifecycle User".to_owned(),
        organization_id: OrganizationId::parse("64a1b2c3d4e5f60012345678").expect("suite ids are valid"),
        access_role: AccessRole::SalesRep,
        conversation_open_preference: "split".to_owned(),
        identity: LinkedIdentity {
            link: IdentityLink {
                provider: crate::ProviderKey::from_static("authkit"),
                subject: subject.to_owned(),
            },
            connection: None,
            tenant: None,
        },
        email_verified: true,
        created_at: at,
    }
}

fn session(id: &str, user: UserId, at: Timestamp) -> SessionRecord {
    SessionRecord {
        id: SessionId::new(id),
        user_id: user,
        organization_id: OrganizationId::parse("64a1b2c3d4e5f60012345678").expect("suite ids are valid"),
        started_at: at,
        ends_at: at.plus_seconds(30 * 24 * 3600),
        revoked_at: None,
        revoked_reason: None,
        last_refreshed_at: None,
        refresh_token: Some(LiveRefreshToken {
            hash: TokenHash::new(format!("{id}_live")),
            expires_at: at.plus_seconds(3600),
        }),
        last_rotation: None,
        login_answer: None,
        flow: None,
        client: crate::model::ClientContext::default(),
    }
}

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
    let ada = store
        .insert(new_user("ada.lifecycle@example.com", "user_lc_ada", now))
        .await
        .expect("insert ada");
    let bob = store
        .insert(new_user("bob.lifecycle@example.com", "user_lc_bob", now))
        .await
        .expect("insert bob");
    let unknown = UserId::parse("5f7b1c2e8a1d4e00ffffffff").expect("suite ids are valid");
    assert!(
        !store
            .advance_user_mark(unknown, "identity", now)
            .await
            .expect("mark"),
        "an unknown user has no mark"
    );
    assert!(
        store
            .advance_user_mark(ada.id, "identity", now.plus_seconds(10))
            .await
            .expect("mark"),
        "a first mark"
    );
    assert!(
        !store
            .advance_user_mark(ada.id, "identity", now.plus_seconds(5))
            .await
            .expect("mark"),
        "an older mark is refused"
    );
    assert!(
        store
            .advance_user_mark(ada.id, "identity", now.plus_seconds(10))
            .await
            .expect("mark"),
        "an equal mark is accepted"
    );
    assert!(
        store
            .advance_user_mark(ada.id, "identity", now.plus_seconds(20))
            .await
            .expect("mark"),
        "a newer mark moves"
    );
    assert!(
        store
            .advance_user_mark(bob.id, "identity", now)
            .await
            .expect("mark"),
        "marks are per user"
    );
    assert!(
        store
            .advance_user_mark(ada.id, "membership_org_1", now)
            .await
            .expect("mark"),
        "and per object"
    );

    // Disable and enable.
    assert!(
        store
            .disable_user(ada.id, by_event("event_01", now))
            .await
            .expect("disable")
    );
    assert!(
        store
            .find_user(ada.id)
            .await
            .expect("find")
            .expect("ada")
            .login_disabled
    );
    assert!(
        !store
            .disable_user(ada.id, by_event("event_02", now))
            .await
            .expect("disable"),
        "a disabled user is not disabled again"
    );
    assert!(
        store
            .enable_user_disabled_by_event(ada.id, now)
            .await
            .expect("enable"),
        "an event's disablement is undone"
    );
    assert!(
        !store
            .find_user(ada.id)
            .await
            .expect("find")
            .expect("ada")
            .login_disabled
    );
    assert!(
        !store
            .enable_user_disabled_by_event(ada.id, now)
            .await
            .expect("enable"),
        "an enabled user stays as is"
    );
    let operator = Disablement {
        by: DisabledBy::Operator { user_id: bob.id },
        at: now,
        reason: "operator".to_owned(),
    };
    assert!(store.disable_user(bob.id, operator).await.expect("disable"));
    assert!(
        !store
            .enable_user_disabled_by_event(bob.id, now)
            .await
            .expect("enable"),
        "an operator's disablement is never undone by an event"
    );
    assert!(
        store
            .find_user(bob.id)
            .await
            .expect("find")
            .expect("bob")
            .login_disabled
    );
    // An operator enables anyone.
    assert!(
        store.enable_user(bob.id, now).await.expect("enable"),
        "an operator's disablement is undone by an operator"
    );
    assert!(
        !store
            .find_user(bob.id)
            .await
            .expect("find")
            .expect("bob")
            .login_disabled
    );
    assert!(
        !store.enable_user(bob.id, now).await.expect("enable"),
        "an enabled user stays as is"
    );
    assert!(
        !store.enable_user(unknown, now).await.expect("enable unknown"),
        "an unknown user"
    );
    // An operator's disablement replaces an event's, never the other way round.
    assert!(
        store
            .disable_user(ada.id, by_event("event_04", now))
            .await
            .expect("disable")
    );
    let operator = |at: Timestamp| Disablement {
        by: DisabledBy::Operator { user_id: bob.id },
        at,
        reason: "left the company".to_owned(),
    };
    assert!(
        store.disable_user(ada.id, operator(now)).await.expect("disable"),
        "an operator takes over an event's disablement"
    );
    assert!(
        !store
            .disable_user(ada.id, operator(now.plus_seconds(1)))
            .await
            .expect("disable"),
        "an operator's disablement stays the first"
    );
    assert!(
        !store
            .disable_user(ada.id, by_event("event_05", now))
            .await
            .expect("disable"),
        "an event does not replace an operator's disablement"
    );
    assert!(
        !store
            .enable_user_disabled_by_event(ada.id, now)
            .await
            .expect("enable"),
        "so no event re-enables the user"
    );
    assert!(store.enable_user(ada.id, now).await.expect("enable"));
    assert!(
        !store
            .find_user(ada.id)
            .await
            .expect("find")
            .expect("ada")
            .login_disabled
    );
    // Again by an event, then enabled by an operator.
    assert!(
        store
            .disable_user(bob.id, by_event("event_06", now))
            .await
            .expect("disable")
    );
    assert!(
        store.enable_user(bob.id, now).await.expect("enable"),
        "an operator enables one an event disabled"
    );
    assert!(
        !store
            .disable_user(unknown, by_event("event_03", now))
            .await
            .expect("disable unknown")
    );

    // Names.
    assert!(
        store
            .set_full_name(ada.id, "Ada Lovelace".to_owned(), now)
            .await
            .expect("rename")
    );
    assert_eq!(
        store
            .find_user(ada.id)
            .await
            .expect("find")
            .expect("ada")
            .full_name,
        "Ada Lovelace"
    );
    assert!(
        !store
            .set_full_name(ada.id, "Ada Lovelace".to_owned(), now)
            .await
            .expect("rename"),
        "same name"
    );
    assert_eq!(
        store
            .find_user(ada.id)
            .await
            .expect("find")
            .expect("ada")
            .email
            .as_str(),
        "ada.lifecycle@example.com",
        "the address is untouched"
    );

    // Sessions.
    for (id, user) in [
        ("lc_s1", ada.id),
        ("lc_s2", ada.id),
        ("lc_s3", ada.id),
        ("lc_s4", bob.id),
    ] {
        store.start(session(id, user, now)).await.expect("start");
    }
    assert!(
        store
            .revoke(&SessionId::new("lc_s3"), now, RevokedReason::Logout)
            .await
            .expect("revoke")
    );
    let revoked = store
        .revoke_user_sessions(ada.id, now.plus_seconds(1), RevokedReason::Deprovisioned)
        .await
        .expect("revoke_user_sessions");
    assert_eq!(revoked, 2, "the user's live sessions are revoked");
    for id in ["lc_s1", "lc_s2"] {
        let s = SessionStore::find_session(store, &SessionId::new(id))
            .await
            .expect("find")
            .expect("session");
        assert_eq!(s.revoked_reason, Some(RevokedReason::Deprovisioned), "{id}");
        assert_eq!(s.revoked_at, Some(now.plus_seconds(1)), "{id}");
    }
    let logout = SessionStore::find_session(store, &SessionId::new("lc_s3"))
        .await
        .expect("find")
        .expect("session");
    assert_eq!(
        logout.revoked_reason,
        Some(RevokedReason::Logout),
        "an earlier revocation keeps its reason"
    );
    let other = SessionStore::find_session(store, &SessionId::new("lc_s4"))
        .await
        .expect("find")
        .expect("session");
    assert_eq!(other.revoked_at, None, "another user's session is untouched");
    assert_eq!(
        store
            .revoke_user_sessions(ada.id, now.plus_seconds(2), RevokedReason::Deprovisioned)
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

    let state = cursors
        .acquire_lease(stream, &a, now.plus_seconds(10), now.plus_seconds(40))
        .await
        .expect("renew")
        .expect("the holder renews its lease");
    assert_eq!(state.holder.as_deref(), Some(a.as_str()));
    assert_eq!(state.after, None);
    assert!(
        cursors
            .acquire_lease(stream, &b, now.plus_seconds(35), now.plus_seconds(65))
            .await
            .expect("acquire")
            .is_none(),
        "a renewed lease is held until its new end"
    );
    assert!(
        cursors
            .advance_cursor(
                stream,
                &a,
                Some("event_1".to_owned()),
                Some(now),
                now.plus_seconds(11)
            )
            .await
            .expect("advance"),
        "the holder moves the cursor"
    );
    assert!(
        !cursors
            .advance_cursor(stream, &b, Some("event_x".to_owned()), None, now.plus_seconds(11))
            .await
            .expect("advance"),
        "another replica does not"
    );
    let taken = cursors
        .acquire_lease(stream, &b, now.plus_seconds(41), now.plus_seconds(71))
        .await
        .expect("acquire")
        .expect("an ended lease is taken over");
    assert_eq!(
        taken.after.as_deref(),
        Some("event_1"),
        "the cursor survives the take-over"
    );
    assert_eq!(taken.last_event_at, Some(now));
    assert!(
        !cursors
            .advance_cursor(stream, &a, Some("event_2".to_owned()), None, now.plus_seconds(42))
            .await
            .expect("advance"),
        "the former holder no longer moves the cursor"
    );
    cursors
        .release_lease(stream, &a)
        .await
        .expect("releasing a lease one does not hold is no error");
    assert!(
        cursors
            .acquire_lease(stream, &a, now.plus_seconds(43), now.plus_seconds(73))
            .await
            .expect("acquire")
            .is_none()
    );
    cursors.release_lease(stream, &b).await.expect("release");
    assert!(
        cursors
            .acquire_lease(stream, &a, now.plus_seconds(44), now.plus_seconds(74))
            .await
            .expect("acquire")
            .is_some(),
        "a released lease is taken at once"
    );

    let since = now.plus_seconds(-3600);
    cursors.replay_from(stream, since).await.expect("replay");
    let state = cursors
        .cursor_state(stream)
        .await
        .expect("state")
        .expect("a state");
    assert_eq!(state.after, None, "a replay clears the cursor");
    assert_eq!(state.since, Some(since));
    assert_eq!(
        state.holder.as_deref(),
        Some(a.as_str()),
        "a replay keeps the lease"
    );
    assert!(
        cursors
            .advance_cursor(stream, &a, None, None, now.plus_seconds(45))
            .await
            .expect("advance")
    );
    let state = cursors
        .cursor_state(stream)
        .await
        .expect("state")
        .expect("a state");
    assert_eq!(state.since, Some(since), "no event: the replay time stays");
    assert_eq!(state.checked_at, Some(now.plus_seconds(45)));
    assert!(
        cursors
            .advance_cursor(stream, &a, Some("event_9".to_owned()), None, now.plus_seconds(46))
            .await
            .expect("advance")
    );
    let state = cursors
        .cursor_state(stream)
        .await
        .expect("state")
        .expect("a state");
    assert_eq!(
        (state.after.as_deref(), state.since),
        (Some("event_9"), None),
        "an event ends the replay"
    );
}
