//! After login: refresh-token rotation, logout and the access guard, by what each
//! answers and what the session record holds afterwards.

use std::sync::Arc;

use secrecy::SecretString;
use tether_domain::{
    AccessError, AccessRole, AuthSession, Failure, LogoutCredential, LogoutError, MockRefreshTokenStore,
    MockSessionStore, OrganizationRepository, Policies, Ports, RefreshError, RefreshTokenRecord,
    RefreshTokenStore, RepositoryError, RevokedReason, SessionField, SessionId, SettingValue,
    StoredSessionSettings, Timestamp, User, UserId,
};

use crate::support::*;

/// What a refused refresh must be.
type Refused = fn(&RefreshError) -> bool;
/// What a refused access token must be.
type Denied = fn(&AccessError) -> bool;
/// What the session store finds.
type Found = fn() -> Result<Option<tether_domain::SessionRecord>, RepositoryError>;

/// A world (ports and policies changed by `edit`) with one user of "Acme" signed in at [`t0`].
async fn signed_in_with(edit: impl FnOnce(&mut Ports, &mut Policies)) -> (World, AuthSession) {
    let w = World::with(edit);
    let org = w.add_org("Acme", 0, None);
    w.add_user(UserSpec {
        links: vec![(AUTHKIT, "user_1")],
        ..user("jane@acme.example", org)
    });
    let session = w
        .login(authkit("user_1", "jane@acme.example", true))
        .await
        .unwrap();
    (w, session)
}

/// [`signed_in_with`] the default policies.
async fn signed_in() -> (World, AuthSession) {
    signed_in_with(|_, _| {}).await
}

async fn refresh(w: &World, token: &SecretString) -> Result<AuthSession, RefreshError> {
    w.services.refresh.refresh(token, &AuditOrigin::default()).await
}

/// Refreshes `token` at `seconds` after [`t0`].
async fn refresh_at(w: &World, seconds: i64, token: &SecretString) -> Result<AuthSession, RefreshError> {
    w.set_clock(seconds);
    refresh(w, token).await
}

async fn access(w: &World, token: &SecretString) -> Result<tether_domain::VerifiedAccess, AccessError> {
    w.services.access.authenticate(shown(token)).await
}

/// When and why the session was revoked.
async fn revocation(w: &World, session: &AuthSession) -> (Option<Timestamp>, Option<RevokedReason>) {
    let record = w.record(session).await;
    (record.revoked_at, record.revoked_reason)
}

/// Disables (or re-enables) the user of `session`.
async fn set_disabled(w: &World, session: &AuthSession, disabled: bool) {
    let mut user = w.user(session.user.id).await.unwrap();
    user.login_disabled = disabled;
    w.store.put_user(user);
}

/// A session of a user who does not exist.
async fn orphan(w: &World, of: &User) -> AuthSession {
    let stranger = User {
        id: UserId::parse("5f7b1c2e8a1d4e00120000ee").unwrap(),
        ..of.clone()
    };
    w.services
        .issuer
        .start_session(stranger, None, t0())
        .await
        .unwrap()
}

// ---- rotation -------------------------------------------------------------------------

#[tokio::test]
async fn a_live_token_is_exchanged_for_a_new_pair_in_the_same_session_and_recorded_as_used() {
    let (w, first) = signed_in().await;
    let second = refresh_at(&w, 100, &first.refresh_token).await.unwrap();

    assert_eq!(
        (&second.session_id, second.user.id),
        (&first.session_id, first.user.id)
    );
    assert_ne!(shown(&second.refresh_token), shown(&first.refresh_token));
    let record = w.record(&first).await;
    let live = record.refresh_token.as_ref().unwrap();
    assert_eq!(
        live.hash,
        Tokens::digest(shown(&second.refresh_token)),
        "one live token: the successor"
    );
    let rotation = record.last_rotation.as_ref().unwrap();
    let consumed = Tokens::digest(shown(&first.refresh_token));
    assert_eq!(
        (&rotation.hash, rotation.used_at, record.last_refreshed_at),
        (&consumed, at(100), Some(at(100)))
    );
    let [used] = &w.store.refresh_tokens()[..] else {
        panic!("one consumed token recorded")
    };
    assert_eq!(
        (&used.hash, used.used_at, &used.session_id),
        (&consumed, Some(at(100)), &first.session_id)
    );
    let claims = w.tokens.claims(&second.access_token);
    assert_eq!((claims.issued_at, claims.session_id), (at(100), first.session_id));
    assert_eq!(
        second.refresh_token_expires_at,
        at(100 + 30 * 24 * 3600).min(record.ends_at)
    );
}

#[tokio::test]
async fn a_refresh_takes_the_users_current_role_and_the_organizations_current_policy() {
    let (w, first) = signed_in().await;
    let settings =
        StoredSessionSettings::none().with(SessionField::TokenExpiryHours, SettingValue::Number(1.0));
    w.store
        .update_session_settings(first.user.organization_id, settings, t0())
        .await
        .unwrap();
    w.store.put_user(User {
        access_role: AccessRole::Superadmin,
        ..first.user.clone()
    });
    let second = refresh(&w, &first.refresh_token).await.unwrap();
    assert_eq!(second.session_config.fields().token_expiry_hours, 1);
    assert_eq!(second.access_token_expires_at, at(3600));
    assert_eq!(
        w.tokens.claims(&second.access_token).access_role,
        AccessRole::Superadmin
    );
}

#[tokio::test]
async fn no_token_outlives_its_session() {
    let (w, first) = signed_in_with(|_, p| p.lifetimes.absolute_session_seconds = 3 * 3600).await;
    let live = w.record(&first).await.refresh_token.unwrap();
    assert_eq!(
        (first.refresh_token_expires_at, live.expires_at),
        (at(3 * 3600), at(3 * 3600))
    );
    let second = refresh_at(&w, 3 * 3600 - 60, &first.refresh_token).await.unwrap();
    let expiries = (second.refresh_token_expires_at, second.access_token_expires_at);
    assert_eq!(expiries, (at(3 * 3600), at(3 * 3600)));
    let record = w.record(&first).await;
    assert_eq!(record.refresh_token.unwrap().expires_at, at(3 * 3600));
    let ended = refresh_at(&w, 3 * 3600, &second.refresh_token).await;
    assert!(matches!(ended, Err(RefreshError::SessionExpired)), "{ended:?}");
}

#[tokio::test]
async fn an_expired_token_is_refused_as_expired_live_or_consumed() {
    let (w, first) = signed_in_with(|_, p| p.lifetimes.refresh_token_seconds = 3600).await;
    let rotated = w
        .login(authkit("user_1", "jane@acme.example", true))
        .await
        .unwrap();
    refresh_at(&w, 100, &rotated.refresh_token).await.unwrap();
    for token in [&first.refresh_token, &rotated.refresh_token] {
        let refused = refresh_at(&w, 3600, token).await;
        assert!(matches!(refused, Err(RefreshError::Expired)), "{refused:?}");
    }
    assert!(w.record(&first).await.last_rotation.is_none());
    assert_eq!(
        revocation(&w, &rotated).await,
        (None, None),
        "an expired token is no reuse"
    );
}

#[tokio::test]
async fn an_unknown_empty_or_oversized_token_is_invalid_and_nothing_is_written() {
    let (w, first) = signed_in().await;
    for token in [
        "rt_unknown".to_owned(),
        String::new(),
        "  ".to_owned(),
        format!("rt_{}", "x".repeat(510)),
    ] {
        let refused = refresh(&w, &secret(&token)).await;
        assert!(
            matches!(refused, Err(RefreshError::Invalid)),
            "{token:?}: {refused:?}"
        );
    }
    let record = w.record(&first).await;
    assert!(record.last_rotation.is_none() && record.revoked_at.is_none());
    assert!(w.store.refresh_tokens().is_empty());
}

#[tokio::test]
async fn a_user_disabled_or_gone_since_login_gets_no_tokens() {
    let (w, first) = signed_in().await;
    set_disabled(&w, &first, true).await;
    let refused = refresh(&w, &first.refresh_token).await;
    assert!(matches!(refused, Err(RefreshError::LoginDisabled)), "{refused:?}");
    let refused = refresh(&w, &orphan(&w, &first.user).await.refresh_token).await;
    assert!(matches!(refused, Err(RefreshError::Invalid)), "{refused:?}");
}

// ---- a used token presented again ---------------------------------------------------

#[tokio::test]
async fn a_used_token_gets_the_same_successor_within_the_grace_window_and_revokes_the_session_after() {
    let (w, first) = signed_in().await;
    let second = refresh_at(&w, 100, &first.refresh_token).await.unwrap();
    let replayed = refresh_at(&w, 109, &first.refresh_token).await.unwrap();
    assert_eq!(shown(&replayed.refresh_token), shown(&second.refresh_token));
    assert_eq!(replayed.refresh_token_expires_at, second.refresh_token_expires_at);
    let record = w.record(&first).await;
    let live = record.refresh_token.unwrap().hash;
    assert_eq!(
        live,
        Tokens::digest(shown(&second.refresh_token)),
        "no second live token"
    );
    assert_eq!((record.revoked_at, w.store.refresh_tokens().len()), (None, 1));

    let reused = refresh_at(&w, 110, &first.refresh_token).await;
    assert!(matches!(reused, Err(RefreshError::Reused)), "{reused:?}");
    assert_eq!(
        revocation(&w, &first).await,
        (Some(at(110)), Some(RevokedReason::Reuse))
    );
    let refused = refresh(&w, &second.refresh_token).await;
    assert!(
        matches!(refused, Err(RefreshError::Revoked)),
        "the thief's token too: {refused:?}"
    );
    assert!(matches!(
        access(&w, &second.access_token).await,
        Err(AccessError::SessionRevoked)
    ));
}

#[tokio::test]
async fn a_token_consumed_by_an_earlier_rotation_is_recognised_from_its_record() {
    let (w, first) = signed_in().await;
    let second = refresh_at(&w, 100, &first.refresh_token).await.unwrap();
    refresh_at(&w, 101, &second.refresh_token).await.unwrap();
    let replayed = refresh_at(&w, 105, &first.refresh_token).await.unwrap();
    assert_eq!(
        shown(&replayed.refresh_token),
        shown(&second.refresh_token),
        "within its grace window"
    );
    let reused = refresh_at(&w, 200, &first.refresh_token).await;
    assert!(matches!(reused, Err(RefreshError::Reused)), "{reused:?}");
    assert_eq!(
        revocation(&w, &first).await,
        (Some(at(200)), Some(RevokedReason::Reuse))
    );
}

#[tokio::test]
async fn a_consumed_token_the_rotation_could_not_record_fails_the_refresh_and_its_replay_records_it() {
    let recorded = Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = recorded.clone();
    let (w, first) = signed_in_with(|ports, _| {
        let mut tokens = MockRefreshTokenStore::new();
        tokens
            .expect_save_token()
            .times(1)
            .returning(|_| Err(RepositoryError::Unavailable("down".into())));
        tokens.expect_save_token().returning(move |record| {
            kept.lock().unwrap().push(record);
            Ok(())
        });
        ports.refresh_tokens = Arc::new(tokens);
    })
    .await;
    let failed = refresh_at(&w, 100, &first.refresh_token).await;
    assert!(
        matches!(failed, Err(RefreshError::Failure(Failure::StoreUnavailable(_)))),
        "{failed:?}"
    );
    let replayed = refresh_at(&w, 105, &first.refresh_token).await.unwrap();
    let record = w.record(&first).await;
    assert_eq!(
        record.refresh_token.unwrap().hash,
        Tokens::digest(shown(&replayed.refresh_token))
    );
    let recorded = recorded.lock().unwrap();
    assert_eq!(
        recorded.iter().map(|r| &r.hash).collect::<Vec<_>>(),
        [&Tokens::digest(shown(&first.refresh_token))]
    );
}

#[tokio::test]
async fn the_grace_window_follows_the_policy() {
    let (w, first) = signed_in_with(|_, p| p.refresh.reuse_grace_seconds = 0).await;
    refresh(&w, &first.refresh_token).await.unwrap();
    let reused = refresh(&w, &first.refresh_token).await;
    assert!(matches!(reused, Err(RefreshError::Reused)), "{reused:?}");
}

#[tokio::test]
async fn a_record_that_cannot_be_honoured_is_refused() {
    let (w, first) = signed_in().await;
    let gone = SessionId::new("sess_gone");
    #[rustfmt::skip]
    let records: [(_, _, _, _, Refused); 3] = [
        ("rt_of_a_gone_session", &gone, true, None, |e| matches!(e, RefreshError::Invalid)),
        ("rt_never_used", &first.session_id, false, None, |e| matches!(e, RefreshError::Failure(Failure::Internal(_)))),
        // A successor that does not open is a reuse, even within the window.
        ("rt_tampered", &first.session_id, true, Some("sealed[other]rt_x"), |e| matches!(e, RefreshError::Reused)),
    ];
    for (token, session, used, sealed, expected) in records {
        let record = RefreshTokenRecord {
            hash: Tokens::digest(token),
            session_id: session.clone(),
            expires_at: at(3600),
            used_at: used.then(t0),
            sealed_successor: sealed.map(str::to_owned),
        };
        RefreshTokenStore::save_token(&w.store, record).await.unwrap();
        let refused = refresh(&w, &secret(token)).await.unwrap_err();
        assert!(expected(&refused), "{token}: {refused:?}");
    }
    assert_eq!(revocation(&w, &first).await.1, Some(RevokedReason::Reuse));
}

// ---- logout -----------------------------------------------------------------------------

async fn logout(w: &World, credential: LogoutCredential) -> Result<Option<SessionId>, LogoutError> {
    w.services.logout.logout(credential, AuditOrigin::default()).await
}

#[tokio::test]
async fn logout_revokes_the_session_and_every_token_of_it_stops_working() {
    let (w, first) = signed_in().await;
    let second = refresh_at(&w, 100, &first.refresh_token).await.unwrap();
    let by_live = logout(&w, LogoutCredential::RefreshToken(second.refresh_token.clone())).await;
    assert_eq!(by_live.unwrap(), Some(first.session_id.clone()));
    assert_eq!(
        revocation(&w, &first).await,
        (Some(at(100)), Some(RevokedReason::Logout))
    );
    for token in [&second.refresh_token, &first.refresh_token] {
        let refused = refresh(&w, token).await;
        assert!(matches!(refused, Err(RefreshError::Revoked)), "{refused:?}");
    }
    assert!(matches!(
        access(&w, &second.access_token).await,
        Err(AccessError::SessionRevoked)
    ));

    // Again, with an older token: the first revocation stands.
    w.set_clock(200);
    let again = logout(&w, LogoutCredential::RefreshToken(first.refresh_token.clone())).await;
    assert_eq!(again.unwrap(), Some(first.session_id.clone()));
    assert_eq!(
        revocation(&w, &first).await,
        (Some(at(100)), Some(RevokedReason::Logout))
    );
}

#[tokio::test]
async fn logout_with_a_token_consumed_long_ago_revokes_its_session_through_its_record() {
    let (w, first) = signed_in().await;
    let second = refresh(&w, &first.refresh_token).await.unwrap();
    refresh(&w, &second.refresh_token).await.unwrap();
    let out = logout(&w, LogoutCredential::RefreshToken(first.refresh_token.clone())).await;
    assert_eq!(out.unwrap(), Some(first.session_id.clone()));
    assert_eq!(revocation(&w, &first).await.1, Some(RevokedReason::Logout));
}

#[tokio::test]
async fn logout_with_an_expired_access_token_revokes_its_session_and_a_forged_one_nothing() {
    let (w, first) = signed_in().await;
    let forged = logout(&w, LogoutCredential::AccessToken(secret("at_forged"))).await;
    assert!(
        matches!(forged, Err(LogoutError::InvalidAccessToken)),
        "{forged:?}"
    );
    let unknown = logout(&w, LogoutCredential::RefreshToken(secret("rt_unknown"))).await;
    assert_eq!(
        (unknown.unwrap(), revocation(&w, &first).await),
        (None, (None, None))
    );

    w.set_clock(9 * 3600);
    let out = logout(&w, LogoutCredential::AccessToken(first.access_token.clone())).await;
    assert_eq!(out.unwrap(), Some(first.session_id.clone()));
    assert_eq!(
        revocation(&w, &first).await,
        (Some(at(9 * 3600)), Some(RevokedReason::Logout))
    );
}

// ---- the access guard ----------------------------------------------------------------------

#[tokio::test]
async fn an_access_token_is_accepted_while_signed_unexpired_its_session_live_and_its_user_enabled() {
    let (w, first) = signed_in().await;
    let accepted = access(&w, &first.access_token).await.unwrap();
    assert_eq!(
        (accepted.user_id, &accepted.session_id),
        (first.user.id, &first.session_id)
    );

    assert!(matches!(access(&w, &secret("")).await, Err(AccessError::Missing)));
    assert!(matches!(
        access(&w, &secret("at_forged")).await,
        Err(AccessError::Invalid)
    ));
    let orphan = orphan(&w, &first.user).await;
    assert!(
        matches!(access(&w, &orphan.access_token).await, Err(AccessError::Invalid)),
        "user gone"
    );
    set_disabled(&w, &first, true).await;
    assert!(matches!(
        access(&w, &first.access_token).await,
        Err(AccessError::LoginDisabled)
    ));
    set_disabled(&w, &first, false).await;
    w.set_clock(8 * 3600);
    assert!(
        matches!(access(&w, &first.access_token).await, Err(AccessError::Expired)),
        "expiring now"
    );
}

#[tokio::test]
async fn an_access_token_whose_session_is_gone_or_unknowable_is_refused() {
    #[rustfmt::skip]
    let outcomes: [(Found, Denied); 2] = [
        (|| Ok(None), |e| matches!(e, AccessError::SessionRevoked)),
        (|| Err(RepositoryError::Unavailable("down".into())), |e| matches!(e, AccessError::Failure(Failure::StoreUnavailable(_)))),
    ];
    for (found, expected) in outcomes {
        let w = World::with(|ports, _| {
            let mut sessions = MockSessionStore::new();
            sessions.expect_start().returning(|_| Ok(()));
            sessions.expect_find_by_login_answer().returning(|_| Ok(None));
            sessions.expect_find_session().returning(move |_| found());
            ports.sessions = Arc::new(sessions);
        });
        w.add_org("Acme", 0, None);
        let session = w
            .login(authkit("user_1", "jane@acme.example", true))
            .await
            .unwrap();
        let refused = access(&w, &session.access_token).await.unwrap_err();
        assert!(expected(&refused), "{refused:?}");
    }
    // A store outage while rotating is reported, not taken for a refusal.
    let w = World::with(|ports, _| {
        let mut down = MockSessionStore::new();
        down.expect_rotate()
            .returning(|_| Err(RepositoryError::Unavailable("down".into())));
        ports.sessions = Arc::new(down);
    });
    let failed = refresh(&w, &secret("rt_1")).await;
    assert!(
        matches!(failed, Err(RefreshError::Failure(Failure::StoreUnavailable(_)))),
        "{failed:?}"
    );
}
