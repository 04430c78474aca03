//! Port-conformance suites: one async function per store port, generic over the trait
//! (`&dyn Port`), checking the contracts the ports document (uniqueness, "wrote
//! nothing" on `Duplicate`, compare-and-set once, idempotent revocation, take-once).
//! Every store adapter runs each suite in its own tests, on an empty store:
//!
//! ```ignore
//! #[tokio::test]
//! async fn the_session_store_keeps_the_port_contract() {
//!     let store = InMemoryStore::new();
//!     tether_domain::conformance::session_store(&store, &SystemClock).await;
//! }
//! ```

#![expect(
    clippy::expect_used,
    reason = "a conformance suite is test code: like assert!, it fails by panicking with a message"
)]
//!
//! A broken contract panics with a message naming it. Enabled by the `conformance`
//! feature; meant for tests only.

use futures_util::future::join_all;

use crate::model::{
    ClientContext, IdentityLink, LinkedIdentity, LiveRefreshToken, LoginAnswer, LoginStateRecord,
    NewOrganization, NewUser, RefreshTokenRecord, RevokedReason, Rotation, RotationOutcome, SessionRecord,
    StateTake, TokenRotation,
};
use crate::policy::{SessionField, SettingValue, StoredSessionSettings};
use crate::ports::{
    Clock, LoginStateStore, OrganizationRepository, RefreshTokenStore, RepositoryError, SessionStore,
    UserRepository,
};
use crate::values::{
    AccessRole, ClientChallenge, Email, OrganizationId, ProviderKey, SessionId, TenantId, Timestamp,
    TokenHash, UserId,
};

fn email(raw: &str) -> Email {
    Email::parse(raw).expect("suite addresses are valid")
}

fn user_id(hex: &str) -> UserId {
    UserId::parse(hex).expect("suite ids are valid")
}

pub(crate) fn organization_id(hex: &str) -> OrganizationId {
    OrganizationId::parse(hex).expect("suite ids are valid")
}

fn tenant(raw: &str) -> TenantId {
    TenantId::parse(raw).expect("suite tenant ids are valid")
}

/// The providers of the suite: the keys of this repository's identity provider, whose
/// subjects a store may keep in fields of their own, and a provider no store knows.
pub(crate) const SSO: ProviderKey = ProviderKey::from_static("sso");
pub(crate) const AUTHKIT: ProviderKey = ProviderKey::from_static("authkit");
pub(crate) const OTHER: ProviderKey = ProviderKey::from_static("conformance-idp");

pub(crate) fn link(provider: &ProviderKey, subject: &str) -> IdentityLink {
    IdentityLink {
        provider: provider.clone(),
        subject: subject.to_owned(),
    }
}

fn linked(provider: &ProviderKey, subject: &str) -> LinkedIdentity {
    LinkedIdentity {
        link: link(provider, subject),
        connection: None,
        tenant: None,
    }
}

pub(crate) fn new_user(address: &str, provider: &ProviderKey, subject: &str, at: Timestamp) -> NewUser {
    NewUser {
        email: email(address),
        full_name: "Conformance User".to_owned(),
        organization_id: organization_id("64a1b2c3d4e5f60012345678"),
        access_role: AccessRole::SalesRep,
        conversation_open_preference: "split".to_owned(),
        identity: linked(provider, subject),
        email_verified: provider != &SSO,
        created_at: at,
    }
}

/// The clock's "now", read once per suite.
fn now(clock: &dyn Clock) -> Timestamp {
    clock.now()
}

fn is_duplicate<T: std::fmt::Debug>(result: &Result<T, RepositoryError>) -> bool {
    matches!(result, Err(RepositoryError::Duplicate))
}

/// [`UserRepository`]: finding by id, address (case-insensitively) and link, for any
/// provider; `insert` refusing a second address (in any case) or link; `record_login`
/// filling a missing link but never overwriting one, and answering `Duplicate`,
/// having written nothing, for a link another user carries.
pub async fn user_repository(users: &dyn UserRepository, clock: &dyn Clock) {
    let at = now(clock);
    let jane = users
        .insert(new_user("jane@conformance.example", &SSO, "prof_conf_1", at))
        .await
        .expect("a first user is inserted");
    assert_eq!(jane.email, email("jane@conformance.example"));
    assert_eq!(jane.subject_for(&SSO), Some("prof_conf_1"));
    assert_eq!(jane.links, vec![link(&SSO, "prof_conf_1")]);
    assert!(!jane.login_disabled);
    assert_eq!(
        jane.email_verified,
        Some(false),
        "emailVerified is recorded at creation"
    );
    let found = |found: Result<Option<crate::User>, RepositoryError>| found.expect("lookups answer");
    assert_eq!(found(users.find_user(jane.id).await).as_ref(), Some(&jane));
    assert_eq!(
        found(users.find_by_email(&email("JANE@Conformance.Example")).await).map(|u| u.id),
        Some(jane.id),
        "addresses are found case-insensitively"
    );
    assert_eq!(
        found(users.find_by_link(&link(&SSO, "prof_conf_1")).await).map(|u| u.id),
        Some(jane.id)
    );
    for provider in [&AUTHKIT, &OTHER] {
        assert_eq!(
            found(users.find_by_link(&link(provider, "prof_conf_1")).await),
            None,
            "a subject belongs to one provider"
        );
    }

    // Uniqueness: the address in another case, or the link, of another user.
    let again = users
        .insert(new_user("JANE@CONFORMANCE.EXAMPLE", &SSO, "prof_conf_2", at))
        .await;
    assert!(is_duplicate(&again), "same address, other case: {again:?}");
    assert_eq!(found(users.find_by_link(&link(&SSO, "prof_conf_2")).await), None);
    let again = users
        .insert(new_user("other@conformance.example", &SSO, "prof_conf_1", at))
        .await;
    assert!(is_duplicate(&again), "same link: {again:?}");
    assert_eq!(
        found(users.find_by_email(&email("other@conformance.example")).await),
        None
    );

    // record_login: a link another user carries is Duplicate and writes nothing.
    let bob = users
        .insert(new_user("bob@conformance.example", &AUTHKIT, "user_conf_1", at))
        .await
        .expect("a second user is inserted");
    assert_eq!(
        found(users.find_user(bob.id).await).and_then(|u| u.email_verified),
        Some(true),
        "emailVerified reads back as written"
    );
    let taken = users
        .record_login(bob.id, Some(linked(&SSO, "prof_conf_1")), at.plus_seconds(1))
        .await;
    assert!(
        is_duplicate(&taken),
        "record_login with a carried link: {taken:?}"
    );
    assert_eq!(
        found(users.find_user(bob.id).await).as_ref(),
        Some(&bob),
        "nothing written"
    );

    // A missing link is filled, an existing one never overwritten, for any provider.
    for (provider, first, second) in [
        (&SSO, "prof_conf_9", "prof_conf_10"),
        (&OTHER, "other_conf_1", "other_conf_2"),
    ] {
        let linked_now = users
            .record_login(bob.id, Some(linked(provider, first)), at.plus_seconds(2))
            .await
            .expect("record_login answers")
            .expect("bob exists");
        assert_eq!(linked_now.subject_for(provider), Some(first));
        let kept = users
            .record_login(bob.id, Some(linked(provider, second)), at.plus_seconds(3))
            .await
            .expect("record_login answers")
            .expect("bob exists");
        assert_eq!(kept.subject_for(provider), Some(first), "{provider}");
        assert_eq!(kept.subject_for(&AUTHKIT), Some("user_conf_1"));
        assert_eq!(
            found(users.find_by_link(&link(provider, first)).await).map(|u| u.id),
            Some(bob.id)
        );
        assert_eq!(found(users.find_by_link(&link(provider, second)).await), None);
    }
    let other_user = users
        .insert(new_user("eve@conformance.example", &OTHER, "other_conf_1", at))
        .await;
    assert!(
        is_duplicate(&other_user),
        "a link of any provider is unique: {other_user:?}"
    );
    let missing = users
        .record_login(user_id("64a1b2c3d4e5f600123400ff"), None, at)
        .await
        .expect("record_login answers");
    assert_eq!(missing, None);

    // A returning user's sign-in by link: found (and stamped) for that provider only.
    assert_eq!(
        found(
            users
                .record_login_by_link(&link(&SSO, "prof_conf_1"), at.plus_seconds(4))
                .await
        ),
        Some(jane.clone())
    );
    for unknown in [link(&AUTHKIT, "prof_conf_1"), link(&SSO, "prof_conf_unknown")] {
        assert_eq!(
            found(users.record_login_by_link(&unknown, at.plus_seconds(4)).await),
            None
        );
    }
    assert_eq!(
        found(
            users
                .record_login_by_link(&link(&OTHER, "other_conf_1"), at.plus_seconds(5))
                .await
        )
        .map(|u| u.id),
        Some(bob.id)
    );
}

/// [`OrganizationRepository`]: creation, listing, `mapped_or_oldest_unmapped` by mapping and creation time, one
/// organization per tenant (on `create` and `set_tenant`,
/// writing nothing when refused), unmapping, and `None` for unknown ids.
pub async fn organization_repository(organizations: &dyn OrganizationRepository, clock: &dyn Clock) {
    let at = now(clock);
    let create = |name: &str, mapped: Option<&str>, created_at: Timestamp| NewOrganization {
        name: name.to_owned(),
        tenant: mapped.map(tenant),
        created_at,
    };
    let org_a = "org_01HXAAAAAAAAAAAAAAAAAAAAAA";
    let org_b = "org_01HXBBBBBBBBBBBBBBBBBBBBBB";
    let second = organizations
        .create(create("Second", None, at.plus_seconds(10)))
        .await
        .expect("created");
    let first = organizations
        .create(create("First", Some(org_a), at))
        .await
        .expect("created");
    assert_eq!(first.tenant, Some(tenant(org_a)));
    let listed: Vec<_> = organizations
        .list()
        .await
        .expect("listed")
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(listed, vec![first.id, second.id], "oldest first");
    // The oldest is mapped: a new member of its tenant lands there, any
    // other new member in the oldest unmapped one.
    for (wanted, expected, why) in [
        (Some(org_a), first.id, "the mapped one"),
        (Some(org_b), second.id, "the oldest unmapped"),
        (None, second.id, "the oldest unmapped"),
    ] {
        let landing = organizations
            .mapped_or_oldest_unmapped(wanted.map(tenant).as_ref())
            .await
            .expect("answers")
            .map(|o| o.id);
        assert_eq!(landing, Some(expected), "{why} for {wanted:?}");
    }
    assert_eq!(
        organizations
            .find_by_tenant(&tenant(org_a))
            .await
            .expect("answers")
            .map(|o| o.id),
        Some(first.id)
    );

    // One organization per tenant.
    let again = organizations.create(create("Third", Some(org_a), at)).await;
    assert!(is_duplicate(&again), "a second mapping on create: {again:?}");
    assert_eq!(
        organizations.list().await.expect("listed").len(),
        2,
        "nothing written"
    );
    let again = organizations.set_tenant(second.id, Some(tenant(org_a)), at).await;
    assert!(is_duplicate(&again), "a second mapping on set: {again:?}");
    let unchanged = organizations
        .find_organization(second.id)
        .await
        .expect("answers")
        .expect("exists");
    assert_eq!(unchanged.tenant, None, "nothing written");

    let mapped = organizations
        .set_tenant(second.id, Some(tenant(org_b)), at)
        .await
        .expect("answers")
        .expect("exists");
    assert_eq!(mapped.tenant, Some(tenant(org_b)));
    // Every organization mapped: no landing place but a member's own.
    assert_eq!(
        organizations
            .mapped_or_oldest_unmapped(None)
            .await
            .expect("answers"),
        None
    );
    assert_eq!(
        organizations
            .mapped_or_oldest_unmapped(Some(&tenant("org_01HXCCCCCCCCCCCCCCCCCCCCCC")))
            .await
            .expect("answers"),
        None
    );
    let unmapped = organizations
        .set_tenant(second.id, None, at)
        .await
        .expect("answers")
        .expect("exists");
    assert_eq!(unmapped.tenant, None);
    assert_eq!(
        organizations
            .find_by_tenant(&tenant(org_b))
            .await
            .expect("answers"),
        None
    );

    let settings =
        StoredSessionSettings::none().with(SessionField::IdleTimeoutMinutes, SettingValue::Number(15.0));
    let updated = organizations
        .update_session_settings(first.id, settings.clone(), at)
        .await
        .expect("answers")
        .expect("exists");
    assert_eq!(updated.session_settings, settings);
    let unknown = organization_id("64a1b2c3d4e5f600123400ee");
    assert_eq!(
        organizations.find_organization(unknown).await.expect("answers"),
        None
    );
    assert!(
        organizations
            .set_tenant(unknown, Some(tenant(org_b)), at)
            .await
            .expect("answers")
            .is_none()
    );
    assert!(
        organizations
            .update_session_settings(unknown, StoredSessionSettings::none(), at)
            .await
            .expect("answers")
            .is_none()
    );
}

/// A session just started: `id`, of `user` in `organization`, from `started_at` to
/// `ends_at`; not revoked, refreshed or rotated, with no live refresh token, login
/// answer, flow or client yet. The adapters' own tests build their sessions from it.
pub fn started_session(
    id: &str,
    user: UserId,
    organization: OrganizationId,
    started_at: Timestamp,
    ends_at: Timestamp,
) -> SessionRecord {
    SessionRecord {
        id: SessionId::new(id),
        user_id: user,
        organization_id: organization,
        started_at,
        ends_at,
        revoked_at: None,
        revoked_reason: None,
        last_refreshed_at: None,
        refresh_token: None,
        last_rotation: None,
        login_answer: None,
        flow: None,
        client: ClientContext::default(),
    }
}

/// A thirty-day session of the suite's user started at `at`, with a live refresh token
/// `{id}_live` good for an hour.
pub(crate) fn session(id: &str, at: Timestamp) -> SessionRecord {
    SessionRecord {
        refresh_token: Some(LiveRefreshToken {
            hash: TokenHash::new(format!("{id}_live")),
            expires_at: at.plus_seconds(3600),
        }),
        ..started_session(
            id,
            user_id("5f7b1c2e8a1d4e0012c3b4a5"),
            organization_id("64a1b2c3d4e5f60012345678"),
            at,
            at.plus_seconds(30 * 24 * 3600),
        )
    }
}

/// [`SessionStore`]: a session is started once (by id), read back as stored (with its
/// live refresh token, its flow and client), found by its live token and by the token
/// its last rotation consumed, revoked once (the first time and reason stay; later
/// calls answer `false`); of twenty concurrent rotations of one live token exactly one
/// wins, and a rotation never touches a revoked or ended session or an expired token;
/// unknown sessions are `None` / `false` / no error. A user's live sessions are listed
/// newest first (ties by id) within the limit; one of them is revoked only as that
/// user's and while live; all of them at once, but one kept, count what they revoke.
pub async fn session_store(sessions: &dyn SessionStore, clock: &dyn Clock) {
    let at = now(clock);
    let record = session("sess_conformance_1", at);
    sessions.start(record.clone()).await.expect("created");
    let other = session("sess_conformance_2", at);
    sessions.start(other.clone()).await.expect("created");
    let find =
        |id: &'static str| async move { sessions.find_session(&SessionId::new(id)).await.expect("answers") };
    assert_eq!(find("sess_conformance_1").await.as_ref(), Some(&record));
    let again = sessions
        .start(SessionRecord {
            user_id: user_id("5f7b1c2e8a1d4e0012c3ffff"),
            ..record.clone()
        })
        .await;
    assert!(is_duplicate(&again), "a second session with one id: {again:?}");
    assert_eq!(
        find("sess_conformance_1").await.as_ref(),
        Some(&record),
        "nothing written"
    );

    let first = at.plus_seconds(60);
    assert!(
        sessions
            .revoke(&record.id, first, RevokedReason::Logout)
            .await
            .expect("answers")
    );
    assert!(
        !sessions
            .revoke(&record.id, first.plus_seconds(5), RevokedReason::Reuse)
            .await
            .expect("answers"),
        "revoking again changes nothing"
    );
    let revoked = find("sess_conformance_1").await.expect("exists");
    assert_eq!(revoked.revoked_at, Some(first));
    assert_eq!(revoked.revoked_reason, Some(RevokedReason::Logout));
    assert_eq!(
        find("sess_conformance_2").await.as_ref(),
        Some(&other),
        "no other session"
    );

    let by_token = |hash: String| async move {
        sessions
            .find_by_refresh_token(&TokenHash::new(hash))
            .await
            .expect("answers")
    };
    assert_eq!(
        by_token("sess_conformance_2_live".into()).await.as_ref(),
        Some(&other)
    );
    assert_eq!(by_token("sess_conformance_unknown_live".into()).await, None);

    // A rotation of a revoked session's token changes nothing, and answers with the
    // session; one of an unknown token answers with none.
    let successor = |hash: &str| LiveRefreshToken {
        hash: TokenHash::new(hash),
        expires_at: at.plus_seconds(7200),
    };
    let rotate = |hash: &'static str, at: Timestamp| async move {
        sessions
            .rotate(TokenRotation {
                presented: TokenHash::new(hash),
                successor: successor("refused"),
                at,
                sealed_successor: "sealed".into(),
            })
            .await
            .expect("answers")
    };
    assert_eq!(
        rotate("sess_conformance_1_live", first.plus_seconds(1)).await,
        RotationOutcome::Refused(Some(revoked.clone()))
    );
    assert_eq!(find("sess_conformance_1").await.as_ref(), Some(&revoked));
    assert_eq!(
        rotate("sess_conformance_unknown_live", at).await,
        RotationOutcome::Refused(None)
    );

    // Twenty presentations of one live token at once: exactly one rotation.
    let presented = TokenHash::new("sess_conformance_2_live");
    let outcomes = join_all((0..20_i64).map(|i| {
        let presented = presented.clone();
        async move {
            let rotated = sessions
                .rotate(TokenRotation {
                    presented,
                    successor: successor(&format!("successor_{i}")),
                    at: at.plus_seconds(i + 1),
                    sealed_successor: format!("sealed-{i}"),
                })
                .await
                .expect("rotate answers");
            (i, rotated)
        }
    }))
    .await;
    let (winners, losers): (Vec<_>, Vec<_>) = outcomes
        .into_iter()
        .partition(|(_, outcome)| matches!(outcome, RotationOutcome::Rotated(_)));
    assert_eq!(winners.len(), 1, "exactly one rotation wins");
    let Some((winner, RotationOutcome::Rotated(rotated))) = winners.into_iter().next() else {
        unreachable!("one winner")
    };
    let expected = SessionRecord {
        refresh_token: Some(successor(&format!("successor_{winner}"))),
        last_rotation: Some(Rotation {
            hash: presented.clone(),
            expires_at: at.plus_seconds(3600),
            used_at: at.plus_seconds(winner + 1),
            sealed_successor: format!("sealed-{winner}"),
        }),
        last_refreshed_at: Some(at.plus_seconds(winner + 1)),
        ..other.clone()
    };
    assert_eq!(rotated, expected);
    for (_, lost) in losers {
        assert_eq!(
            lost,
            RotationOutcome::Refused(Some(expected.clone())),
            "the others are refused with the session as rotated"
        );
    }
    assert_eq!(find("sess_conformance_2").await.as_ref(), Some(&expected));
    assert_eq!(
        by_token("sess_conformance_2_live".into()).await.as_ref(),
        Some(&expected),
        "found by the consumed token"
    );
    assert_eq!(
        by_token(format!("successor_{winner}")).await.as_ref(),
        Some(&expected),
        "found by the live token"
    );

    // An expired live token, or an ended session, never rotates.
    let short = SessionRecord {
        refresh_token: Some(LiveRefreshToken {
            hash: TokenHash::new("sess_conformance_3_live"),
            expires_at: at.plus_seconds(10),
        }),
        ends_at: at.plus_seconds(20),
        ..session("sess_conformance_3", at)
    };
    sessions.start(short.clone()).await.expect("created");
    for late in [at.plus_seconds(10), at.plus_seconds(30)] {
        assert_eq!(
            rotate("sess_conformance_3_live", late).await,
            RotationOutcome::Refused(Some(short.clone()))
        );
    }
    assert_eq!(
        find("sess_conformance_3").await.as_ref(),
        Some(&short),
        "nothing written"
    );
    // A successor never outlives its session.
    let RotationOutcome::Rotated(rotated) = rotate("sess_conformance_3_live", at.plus_seconds(5)).await
    else {
        panic!("rotated")
    };
    assert_eq!(
        rotated.refresh_token.map(|t| t.expires_at),
        Some(at.plus_seconds(20)),
        "capped at the session's end"
    );

    // A session that started with a login callback is found by its answer's id.
    // It reads back with where it came from.
    let answered = SessionRecord {
        login_answer: Some(LoginAnswer {
            id: TokenHash::new("answer_conformance_5"),
            sealed_refresh_token: "v1.sealed-first-token".into(),
        }),
        flow: Some(AUTHKIT),
        client: ClientContext {
            ip_address: Some("2001:db8::7".to_owned()),
            user_agent: Some("Mozilla/5.0 (conformance)".to_owned()),
        },
        ..session("sess_conformance_5", at)
    };
    sessions.start(answered.clone()).await.expect("created");
    assert_eq!(
        sessions
            .find_by_login_answer(&TokenHash::new("answer_conformance_5"))
            .await
            .expect("answers"),
        Some(answered)
    );
    assert_eq!(
        sessions
            .find_by_login_answer(&TokenHash::new("answer_conformance_unknown"))
            .await
            .expect("answers"),
        None
    );

    let unknown = SessionId::new("sess_conformance_unknown");
    assert_eq!(sessions.find_session(&unknown).await.expect("answers"), None);
    assert!(
        !sessions
            .revoke(&unknown, at, RevokedReason::Logout)
            .await
            .expect("answers")
    );
    assert_eq!(
        sessions.find_session(&unknown).await.expect("answers"),
        None,
        "nothing created"
    );
    sessions_of_a_user(sessions, at).await;
}

/// Each session reads back as it is given, for the reason given.
async fn untouched(sessions: &dyn SessionStore, expected: &[(&SessionRecord, &str)]) {
    for (record, why) in expected {
        let stored = sessions.find_session(&record.id).await.expect("answers");
        assert_eq!(stored.as_ref(), Some(*record), "{why}");
    }
}

/// The live sessions of one user: listed newest first and bounded, ended one by one
/// only as that user's live ones, and all at once but one.
async fn sessions_of_a_user(sessions: &dyn SessionStore, at: Timestamp) {
    let owner = user_id("5f7b1c2e8a1d4e0012c3b4b6");
    let stranger = user_id("5f7b1c2e8a1d4e0012c3b4b7");
    let of = |id: &str, user: UserId, started: i64| SessionRecord {
        user_id: user,
        started_at: at.plus_seconds(started),
        ..session(id, at)
    };
    let older = of("conf_list_a", owner, -60);
    let tied = of("conf_list_b", owner, 0);
    let tied_later_id = of("conf_list_b2", owner, 0);
    let newest = of("conf_list_c", owner, 10);
    let revoked = SessionRecord {
        revoked_at: Some(at),
        revoked_reason: Some(RevokedReason::Logout),
        ..of("conf_list_revoked", owner, 20)
    };
    let ended = SessionRecord {
        ends_at: at.plus_seconds(5),
        ..of("conf_list_ended", owner, -120)
    };
    let strangers = of("conf_list_stranger", stranger, 30);
    for record in [
        &older,
        &tied,
        &tied_later_id,
        &newest,
        &revoked,
        &ended,
        &strangers,
    ] {
        sessions.start(record.clone()).await.expect("created");
    }
    let now = at.plus_seconds(30);
    let list = |limit: usize| async move {
        sessions
            .list_live_for_user(owner, now, limit)
            .await
            .expect("lists")
            .into_iter()
            .map(|s| s.id.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        list(10).await,
        ["conf_list_c", "conf_list_b2", "conf_list_b", "conf_list_a"],
        "live ones only, newest first, ties by id"
    );
    assert_eq!(list(2).await, ["conf_list_c", "conf_list_b2"], "bounded");
    assert_eq!(
        sessions
            .list_live_for_user(owner, now, 10)
            .await
            .expect("lists")
            .first(),
        Some(&newest),
        "as stored"
    );

    let revoke_one = |user: UserId, id: &'static str| async move {
        sessions
            .revoke_live_of_user(user, &SessionId::new(id), now, RevokedReason::Admin)
            .await
            .expect("answers")
    };
    let find = |id: &'static str| async move {
        sessions
            .find_session(&SessionId::new(id))
            .await
            .expect("answers")
            .expect("exists")
    };
    for (user, id, why) in [
        (stranger, "conf_list_a", "another user's session"),
        (owner, "conf_list_unknown", "an unknown session"),
        (owner, "conf_list_ended", "an ended session"),
        (owner, "conf_list_revoked", "a revoked session"),
    ] {
        assert!(!revoke_one(user, id).await, "{why}");
    }
    untouched(
        sessions,
        &[
            (&older, "nothing written"),
            (&ended, "nothing written"),
            (&revoked, "the first revocation stays"),
        ],
    )
    .await;
    assert!(revoke_one(owner, "conf_list_a").await);
    let ended_by_admin = find("conf_list_a").await;
    assert_eq!(ended_by_admin.revoked_at, Some(now));
    assert_eq!(ended_by_admin.revoked_reason, Some(RevokedReason::Admin));
    assert!(!revoke_one(owner, "conf_list_a").await, "once");

    let keep = SessionId::new("conf_list_c");
    let later = now.plus_seconds(1);
    assert_eq!(
        sessions
            .revoke_all_live_of_user(owner, Some(&keep), later, RevokedReason::Logout)
            .await
            .expect("answers"),
        2,
        "every live one but the one kept"
    );
    for id in ["conf_list_b", "conf_list_b2"] {
        let s = find(id).await;
        assert_eq!(
            (s.revoked_at, s.revoked_reason),
            (Some(later), Some(RevokedReason::Logout)),
            "{id}"
        );
    }
    untouched(
        sessions,
        &[
            (&newest, "the one kept is untouched"),
            (&ended, "an ended one is untouched"),
            (&revoked, "a revoked one keeps its reason"),
            (&strangers, "another user's is untouched"),
        ],
    )
    .await;
    assert_eq!(list(10).await, ["conf_list_c"]);
    assert_eq!(
        sessions
            .revoke_all_live_of_user(owner, None, later, RevokedReason::Admin)
            .await
            .expect("answers"),
        1
    );
    assert_eq!(
        sessions
            .revoke_all_live_of_user(owner, None, later, RevokedReason::Admin)
            .await
            .expect("answers"),
        0,
        "idempotent"
    );
    assert_eq!(list(10).await, Vec::<String>::new());
}

fn token(hash: &str, at: Timestamp) -> RefreshTokenRecord {
    RefreshTokenRecord {
        hash: TokenHash::new(hash),
        session_id: SessionId::new("sess_conformance_rt"),
        expires_at: at.plus_seconds(3600),
        used_at: None,
        sealed_successor: None,
    }
}

/// [`RefreshTokenStore`]: one record per digest; records read back as saved.
pub async fn refresh_token_store(tokens: &dyn RefreshTokenStore, clock: &dyn Clock) {
    let at = now(clock);
    let record = token("c0ffee01", at);
    tokens.save_token(record.clone()).await.expect("saved");
    let found = |hash: &'static str| async move {
        tokens.find_by_hash(&TokenHash::new(hash)).await.expect("answers")
    };
    assert_eq!(found("c0ffee01").await.as_ref(), Some(&record));
    let again = tokens.save_token(token("c0ffee01", at.plus_seconds(1))).await;
    assert!(is_duplicate(&again), "a second record with one digest: {again:?}");
    assert_eq!(found("c0ffee01").await.as_ref(), Some(&record), "nothing written");
    assert_eq!(found("c0ffee99").await, None);

    // A record saved with its state set reads back the same.
    let stated = RefreshTokenRecord {
        used_at: Some(at.plus_seconds(2)),
        sealed_successor: Some("sealed-state".to_owned()),
        ..token("c0ffee02", at)
    };
    tokens.save_token(stated.clone()).await.expect("saved");
    assert_eq!(found("c0ffee02").await, Some(stated));
}

fn login_state(hash: &str, created_at: Timestamp) -> LoginStateRecord {
    LoginStateRecord {
        state_hash: TokenHash::new(hash),
        provider: AUTHKIT,
        redirect_uri: "http://localhost:5173/signin".to_owned(),
        organization_hint: Some("64a1b2c3d4e5f60012345678".to_owned()),
        pkce: true,
        client_challenge: None,
        created_at,
        expires_at: created_at.plus_seconds(600),
    }
}

fn challenge(raw: &str) -> ClientChallenge {
    ClientChallenge::parse(raw).expect("suite challenges are valid")
}

/// [`LoginStateStore`]: a live state's digest is unique (the second save writes
/// nothing), an expired one is replaced, of ten concurrent `take`s exactly one
/// receives the state, and a state bound to a browser is taken only with its
/// challenge (else it is left in place and answered `Bound`).
pub async fn login_state_store(states: &dyn LoginStateStore, clock: &dyn Clock) {
    let at = now(clock);
    let record = login_state("5eed01", at);
    states.save_state(record.clone()).await.expect("saved");
    let again = states
        .save_state(LoginStateRecord {
            provider: SSO,
            ..login_state("5eed01", at.plus_seconds(1))
        })
        .await;
    assert!(is_duplicate(&again), "a live state saved twice: {again:?}");

    let hash = TokenHash::new("5eed01");
    let taken = join_all((0..10).map(|_| states.take(&hash, None))).await;
    let received: Vec<LoginStateRecord> = taken
        .into_iter()
        .filter_map(|t| match t.expect("take answers") {
            StateTake::Taken(record) => Some(record),
            _ => None,
        })
        .collect();
    assert_eq!(received, vec![record], "taken exactly once, as first saved");
    assert_eq!(
        states.take(&hash, None).await.expect("answers"),
        StateTake::Absent
    );

    // An expired state with the same digest is replaced.
    states.save_state(login_state("5eed02", at)).await.expect("saved");
    let later = login_state("5eed02", at.plus_seconds(600));
    states
        .save_state(later.clone())
        .await
        .expect("an expired state is replaced");
    assert_eq!(
        states
            .take(&TokenHash::new("5eed02"), None)
            .await
            .expect("answers"),
        StateTake::Taken(later)
    );

    // A bound state: without its challenge, or with another, it stays.
    let ours = challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    let theirs = challenge("AAAAAhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    let bound = LoginStateRecord {
        client_challenge: Some(ours.clone()),
        ..login_state("5eed03", at)
    };
    states.save_state(bound.clone()).await.expect("saved");
    let hash = TokenHash::new("5eed03");
    assert_eq!(states.take(&hash, None).await.expect("answers"), StateTake::Bound);
    assert_eq!(
        states.take(&hash, Some(&theirs)).await.expect("answers"),
        StateTake::Bound
    );
    assert_eq!(
        states.take(&hash, Some(&ours)).await.expect("answers"),
        StateTake::Taken(bound),
        "left in place, then taken with its challenge"
    );
    assert_eq!(
        states.take(&hash, Some(&ours)).await.expect("answers"),
        StateTake::Absent
    );

    // An unbound state is taken with or without a challenge.
    let unbound = login_state("5eed04", at);
    states.save_state(unbound.clone()).await.expect("saved");
    assert_eq!(
        states
            .take(&TokenHash::new("5eed04"), Some(&ours))
            .await
            .expect("answers"),
        StateTake::Taken(unbound)
    );
}
