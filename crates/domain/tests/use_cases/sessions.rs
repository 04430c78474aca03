//! After login: refresh-token rotation, logout and the access guard, by what each
//! answers and what the session record holds afterwards.

use std::sync::Arc;

use secrecy::SecretString;
use tether_domain::{
    AccessError, AuthSession, Failure, LogoutCredential, LogoutError, MockSessionStore,
    OrganizationRepository, RefreshError, RefreshTokenRecord, RefreshTokenStore, RepositoryError,
    RevokedReason, SessionField, SessionId, SettingValue, StoredSessionSettings, UserId,
};

use crate::support::*;

/// A world with one signed-in user of "Acme" (created first), and their session.
async fn signed_in(w: &World) -> AuthSession {
    let org = w.add_org("Acme", 0, None);
    let jane = w.add_user(UserSpec {
        links: vec![(AUTHKIT, "user_1")],
        ..user("jane@acme.example", org)
    });
    let session = w
        .login(authkit("user_1", "jane@acme.example", true))
        .await
        .unwrap();
    assert_eq!(session.user.id, jane.id);
    session
}

async fn refresh(w: &World, token: &SecretString) -> Result<AuthSession, RefreshError> {
    w.services.refresh.refresh(token).await
}

/// Disables (or re-enables) the user of `session`.
async fn set_disabled(w: &World, session: &AuthSession, disabled: bool) {
    let mut user = w.user(session.user.id).await.unwrap();
    user.login_disabled = disabled;
    w.store.put_user(user);
}

// ---- rotation -------------------------------------------------------------------------

#[tokio::test]
async fn a_live_token_is_exchanged_for_a_new_pair_in_the_same_session_and_recorded_as_used() {
    let w = World::new();
    let first = signed_in(&w).await;
    w.set_clock(100);
    let second = refresh(&w, &first.refresh_token).await.unwrap();

    assert_eq!(
        (second.session_id.clone(), second.user.id),
        (first.session_id.clone(), first.user.id)
    );
    assert_ne!(shown(&second.refresh_token), shown(&first.refresh_token));
    let record = w.session(&first.session_id).await.unwrap();
    let live = record.refresh_token.as_ref().unwrap();
    assert_eq!(
        live.hash,
        Tokens::digest(shown(&second.refresh_token)),
        "one live token: the successor"
    );
    let rotation = record.last_rotation.as_ref().unwrap();
    assert_eq!(
        (rotation.hash.clone(), rotation.used_at),
        (Tokens::digest(shown(&first.refresh_token)), at(100))
    );
    assert_eq!(record.last_refreshed_at, Some(at(100)));
    let used = w.store.refresh_tokens();
    assert_eq!(used.len(), 1);
    assert_eq!(
        (used[0].hash.clone(), used[0].used_at),
        (rotation.hash.clone(), Some(at(100)))
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
    let w = World::new();
    let first = signed_in(&w).await;
    let settings =
        StoredSessionSettings::none().with(SessionField::TokenExpiryHours, SettingValue::Number(1.0));
    w.store
        .update_session_settings(first.user.organization_id, settings, t0())
        .await
        .unwrap();
    let mut jane = w.user(first.user.id).await.unwrap();
    jane.access_role = tether_domain::AccessRole::Superadmin;
    w.store.put_user(jane);
    let second = refresh(&w, &first.refresh_token).await.unwrap();
    assert_eq!(second.session_config.fields().token_expiry_hours, 1);
    assert_eq!(second.access_token_expires_at, at(3600));
    assert_eq!(
        w.tokens.claims(&second.access_token).access_role,
        tether_domain::AccessRole::Superadmin
    );
}

#[tokio::test]
async fn no_token_outlives_its_session() {
    let w = World::with(|_, policies| policies.lifetimes.absolute_session_seconds = 3 * 3600);
    let first = signed_in(&w).await;
    assert_eq!(first.refresh_token_expires_at, at(3 * 3600));
    w.set_clock(3 * 3600 - 60);
    let second = refresh(&w, &first.refresh_token).await.unwrap();
    assert_eq!(
        (second.refresh_token_expires_at, second.access_token_expires_at),
        (at(3 * 3600), at(3 * 3600))
    );
    let record = w.session(&first.session_id).await.unwrap();
    assert_eq!(record.refresh_token.unwrap().expires_at, at(3 * 3600));
    w.set_clock(3 * 3600);
    let ended = refresh(&w, &second.refresh_token).await;
    assert!(matches!(ended, Err(RefreshError::SessionExpired)), "{ended:?}");
}

#[tokio::test]
async fn an_expired_token_is_refused_as_expired() {
    let w = World::with(|_, policies| policies.lifetimes.refresh_token_seconds = 3600);
    let first = signed_in(&w).await;
    w.set_clock(3600);
    let refused = refresh(&w, &first.refresh_token).await;
    assert!(matches!(refused, Err(RefreshError::Expired)), "{refused:?}");
    assert!(
        w.session(&first.session_id)
            .await
            .unwrap()
            .last_rotation
            .is_none()
    );
}

#[tokio::test]
async fn an_unknown_empty_or_oversized_token_is_invalid_and_nothing_is_written() {
    let w = World::new();
    let first = signed_in(&w).await;
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
    let record = w.session(&first.session_id).await.unwrap();
    assert!(record.last_rotation.is_none() && record.revoked_at.is_none());
    assert!(w.store.refresh_tokens().is_empty());
}

#[tokio::test]
async fn a_user_disabled_or_gone_since_login_gets_no_tokens() {
    let w = World::new();
    let first = signed_in(&w).await;
    set_disabled(&w, &first, true).await;
    let refused = refresh(&w, &first.refresh_token).await;
    assert!(matches!(refused, Err(RefreshError::LoginDisabled)), "{refused:?}");

    let stranger = tether_domain::User {
        id: UserId::parse("5f7b1c2e8a1d4e00120000ee").unwrap(),
        ..first.user.clone()
    };
    let orphan = w
        .services
        .issuer
        .start_session(stranger, None, t0())
        .await
        .unwrap();
    let refused = refresh(&w, &orphan.refresh_token).await;
    assert!(matches!(refused, Err(RefreshError::Invalid)), "{refused:?}");
}

// ---- a used token presented again ---------------------------------------------------

#[tokio::test]
async fn a_used_token_within_the_grace_window_gets_the_same_successor_and_no_second_live_token() {
    let w = World::new();
    let first = signed_in(&w).await;
    w.set_clock(100);
    let second = refresh(&w, &first.refresh_token).await.unwrap();
    w.set_clock(109);
    let replayed = refresh(&w, &first.refresh_token).await.unwrap();
    assert_eq!(shown(&replayed.refresh_token), shown(&second.refresh_token));
    assert_eq!(replayed.refresh_token_expires_at, second.refresh_token_expires_at);
    let record = w.session(&first.session_id).await.unwrap();
    assert_eq!(
        record.refresh_token.unwrap().hash,
        Tokens::digest(shown(&second.refresh_token))
    );
    assert!(record.revoked_at.is_none());
    assert_eq!(w.store.refresh_tokens().len(), 1);
}

#[tokio::test]
async fn a_used_token_after_the_grace_window_revokes_the_session_for_reuse() {
    let w = World::new();
    let first = signed_in(&w).await;
    w.set_clock(100);
    let second = refresh(&w, &first.refresh_token).await.unwrap();
    w.set_clock(110);
    let reused = refresh(&w, &first.refresh_token).await;
    assert!(matches!(reused, Err(RefreshError::Reused)), "{reused:?}");
    let record = w.session(&first.session_id).await.unwrap();
    assert_eq!(
        (record.revoked_at, record.revoked_reason),
        (Some(at(110)), Some(RevokedReason::Reuse))
    );
    let refused = refresh(&w, &second.refresh_token).await;
    assert!(
        matches!(refused, Err(RefreshError::Revoked)),
        "the thief's token too: {refused:?}"
    );
    let access = w.services.access.authenticate(shown(&second.access_token)).await;
    assert!(matches!(access, Err(AccessError::SessionRevoked)), "{access:?}");
}

#[tokio::test]
async fn a_token_consumed_by_an_earlier_rotation_is_recognised_from_its_record() {
    let w = World::new();
    let first = signed_in(&w).await;
    w.set_clock(100);
    let second = refresh(&w, &first.refresh_token).await.unwrap();
    w.set_clock(101);
    refresh(&w, &second.refresh_token).await.unwrap();
    w.set_clock(105);
    let replayed = refresh(&w, &first.refresh_token).await.unwrap();
    assert_eq!(
        shown(&replayed.refresh_token),
        shown(&second.refresh_token),
        "within its grace window"
    );
    w.set_clock(200);
    let reused = refresh(&w, &first.refresh_token).await;
    assert!(matches!(reused, Err(RefreshError::Reused)), "{reused:?}");
    let record = w.session(&first.session_id).await.unwrap();
    assert_eq!(record.revoked_reason, Some(RevokedReason::Reuse));
}

#[tokio::test]
async fn the_grace_window_follows_the_policy() {
    let w = World::with(|_, policies| policies.refresh.reuse_grace_seconds = 0);
    let first = signed_in(&w).await;
    refresh(&w, &first.refresh_token).await.unwrap();
    let reused = refresh(&w, &first.refresh_token).await;
    assert!(matches!(reused, Err(RefreshError::Reused)), "{reused:?}");
}

/// Stores a consumed-token record of `session` for `token` directly.
async fn consumed(w: &World, token: &str, session: &SessionId, used: bool, sealed: Option<&str>) {
    let record = RefreshTokenRecord {
        hash: Tokens::digest(token),
        session_id: session.clone(),
        expires_at: at(3600),
        used_at: used.then(t0),
        sealed_successor: sealed.map(str::to_owned),
    };
    RefreshTokenStore::save(&w.store, record).await.unwrap();
}

#[tokio::test]
async fn a_record_that_cannot_be_honoured_is_refused() {
    let w = World::new();
    let first = signed_in(&w).await;
    consumed(
        &w,
        "rt_of_a_gone_session",
        &SessionId::new("sess_gone"),
        true,
        None,
    )
    .await;
    let refused = refresh(&w, &secret("rt_of_a_gone_session")).await;
    assert!(matches!(refused, Err(RefreshError::Invalid)), "{refused:?}");

    consumed(&w, "rt_never_used", &first.session_id, false, None).await;
    let refused = refresh(&w, &secret("rt_never_used")).await;
    assert!(
        matches!(refused, Err(RefreshError::Failure(Failure::Internal(_)))),
        "{refused:?}"
    );

    // A successor that does not open is a reuse, even within the window.
    consumed(
        &w,
        "rt_tampered",
        &first.session_id,
        true,
        Some("sealed[other]rt_x"),
    )
    .await;
    let refused = refresh(&w, &secret("rt_tampered")).await;
    assert!(matches!(refused, Err(RefreshError::Reused)), "{refused:?}");
    assert!(w.session(&first.session_id).await.unwrap().revoked_at.is_some());
}

#[tokio::test]
async fn a_store_outage_is_reported_as_unavailable() {
    let w = World::with(|ports, _| {
        let mut down = MockSessionStore::new();
        down.expect_rotate()
            .returning(|_, _, _, _| Err(RepositoryError::Unavailable("down".into())));
        ports.sessions = Arc::new(down);
    });
    let failed = refresh(&w, &secret("rt_1")).await;
    assert!(
        matches!(failed, Err(RefreshError::Failure(Failure::StoreUnavailable(_)))),
        "{failed:?}"
    );
}

// ---- logout -----------------------------------------------------------------------------

async fn logout(w: &World, credential: LogoutCredential) -> Result<Option<SessionId>, LogoutError> {
    w.services.logout.logout(credential).await
}

#[tokio::test]
async fn logout_revokes_the_session_and_every_token_of_it_stops_working() {
    let w = World::new();
    let first = signed_in(&w).await;
    w.set_clock(100);
    let second = refresh(&w, &first.refresh_token).await.unwrap();
    let by_live = logout(&w, LogoutCredential::RefreshToken(second.refresh_token.clone())).await;
    assert_eq!(by_live.unwrap(), Some(first.session_id.clone()));
    let record = w.session(&first.session_id).await.unwrap();
    assert_eq!(
        (record.revoked_at, record.revoked_reason),
        (Some(at(100)), Some(RevokedReason::Logout))
    );
    let refused = refresh(&w, &second.refresh_token).await;
    assert!(matches!(refused, Err(RefreshError::Revoked)), "{refused:?}");
    let refused = refresh(&w, &first.refresh_token).await;
    assert!(
        matches!(refused, Err(RefreshError::Revoked)),
        "consumed, revoked, not revoked again: {refused:?}"
    );
    let access = w.services.access.authenticate(shown(&second.access_token)).await;
    assert!(matches!(access, Err(AccessError::SessionRevoked)), "{access:?}");

    // Again, with an older token: the first revocation stands.
    w.set_clock(200);
    let again = logout(&w, LogoutCredential::RefreshToken(first.refresh_token.clone())).await;
    assert_eq!(again.unwrap(), Some(first.session_id.clone()));
    let record = w.session(&first.session_id).await.unwrap();
    assert_eq!(
        (record.revoked_at, record.revoked_reason),
        (Some(at(100)), Some(RevokedReason::Logout))
    );
}

#[tokio::test]
async fn logout_with_a_token_consumed_long_ago_revokes_its_session_through_its_record() {
    let w = World::new();
    let first = signed_in(&w).await;
    let second = refresh(&w, &first.refresh_token).await.unwrap();
    refresh(&w, &second.refresh_token).await.unwrap();
    let out = logout(&w, LogoutCredential::RefreshToken(first.refresh_token.clone())).await;
    assert_eq!(out.unwrap(), Some(first.session_id.clone()));
    assert!(w.session(&first.session_id).await.unwrap().revoked_at.is_some());
}

#[tokio::test]
async fn logout_with_an_expired_access_token_revokes_its_session_and_a_forged_one_nothing() {
    let w = World::new();
    let first = signed_in(&w).await;
    let forged = logout(&w, LogoutCredential::AccessToken(secret("at_forged"))).await;
    assert!(
        matches!(forged, Err(LogoutError::InvalidAccessToken)),
        "{forged:?}"
    );
    let unknown = logout(&w, LogoutCredential::RefreshToken(secret("rt_unknown"))).await;
    assert_eq!(unknown.unwrap(), None);
    assert!(w.session(&first.session_id).await.unwrap().revoked_at.is_none());

    w.set_clock(9 * 3600);
    let out = logout(&w, LogoutCredential::AccessToken(first.access_token.clone())).await;
    assert_eq!(out.unwrap(), Some(first.session_id.clone()));
    assert!(w.session(&first.session_id).await.unwrap().revoked_at.is_some());
}

// ---- the access guard ----------------------------------------------------------------------

#[tokio::test]
async fn an_access_token_is_accepted_while_signed_unexpired_its_session_live_and_its_user_enabled() {
    let w = World::new();
    let first = signed_in(&w).await;
    let token = shown(&first.access_token).to_owned();
    let accepted = w.services.access.authenticate(&token).await.unwrap();
    assert_eq!(
        (accepted.user_id, accepted.session_id.clone()),
        (first.user.id, first.session_id.clone())
    );

    assert!(matches!(
        w.services.access.authenticate("").await,
        Err(AccessError::Missing)
    ));
    assert!(matches!(
        w.services.access.authenticate("at_forged").await,
        Err(AccessError::Invalid)
    ));
    set_disabled(&w, &first, true).await;
    assert!(matches!(
        w.services.access.authenticate(&token).await,
        Err(AccessError::LoginDisabled)
    ));
    set_disabled(&w, &first, false).await;
    w.set_clock(8 * 3600);
    assert!(
        matches!(
            w.services.access.authenticate(&token).await,
            Err(AccessError::Expired)
        ),
        "expiring now"
    );
}

#[tokio::test]
async fn an_access_token_whose_session_or_user_is_gone_is_refused() {
    let w = World::new();
    let first = signed_in(&w).await;
    let stranger = tether_domain::User {
        id: UserId::parse("5f7b1c2e8a1d4e00120000ee").unwrap(),
        ..first.user.clone()
    };
    let orphan = w
        .services
        .issuer
        .start_session(stranger, None, t0())
        .await
        .unwrap();
    let refused = w.services.access.authenticate(shown(&orphan.access_token)).await;
    assert!(matches!(refused, Err(AccessError::Invalid)), "{refused:?}");

    let w = World::with(|ports, _| {
        let mut sessions = MockSessionStore::new();
        sessions.expect_start().returning(|_| Ok(()));
        sessions.expect_find_by_login_answer().returning(|_| Ok(None));
        sessions.expect_find().returning(|_| Ok(None));
        ports.sessions = Arc::new(sessions);
    });
    let first = signed_in(&w).await;
    let refused = w.services.access.authenticate(shown(&first.access_token)).await;
    assert!(matches!(refused, Err(AccessError::SessionRevoked)), "{refused:?}");
}

#[tokio::test]
async fn a_store_outage_while_checking_an_access_token_is_unavailable_not_accepted() {
    let w = World::with(|ports, _| {
        let mut sessions = MockSessionStore::new();
        sessions.expect_start().returning(|_| Ok(()));
        sessions.expect_find_by_login_answer().returning(|_| Ok(None));
        sessions
            .expect_find()
            .returning(|_| Err(RepositoryError::Unavailable("down".into())));
        ports.sessions = Arc::new(sessions);
    });
    let first = signed_in(&w).await;
    let refused = w.services.access.authenticate(shown(&first.access_token)).await;
    assert!(
        matches!(refused, Err(AccessError::Failure(Failure::StoreUnavailable(_)))),
        "{refused:?}"
    );
}
