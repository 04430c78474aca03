//! `AccessGuard`: signature, expiry by the domain's clock, revoked sessions, and a
//! user who still exists and may sign in.

use std::sync::Arc;

use mockall::predicate::eq;

use super::support::*;
use crate::{
    AccessError, AccessGuard, AccessRole, InvalidAccessToken, MockAccessTokenVerifier, MockSessionStore,
    MockUserRepository, RepositoryError, RevokedReason, SessionId, SessionRecord, Timestamp, User,
    VerifiedAccess,
};

const TOKEN: &str = "header.claims.signature";

fn claims(expires_at: Timestamp) -> VerifiedAccess {
    VerifiedAccess {
        user_id: user_id(USER_ID),
        organization_id: org_id(ACME_ORG),
        access_role: AccessRole::Superadmin,
        session_id: SessionId::new("sess_1"),
        expires_at,
    }
}

fn verifier_returning(result: Result<VerifiedAccess, InvalidAccessToken>) -> MockAccessTokenVerifier {
    let mut verifier = MockAccessTokenVerifier::new();
    verifier
        .expect_verify()
        .with(eq(TOKEN))
        .times(1)
        .return_once(move |_| result);
    verifier
}

/// The sessions know `sess_1` once, read by id: live, or revoked (`Ok(true)`).
fn store_saying_revoked(revoked: Result<bool, RepositoryError>) -> MockSessionStore {
    store_finding(revoked.map(|revoked| {
        let mut session = session_record("sess_1", now().plus_seconds(-3600));
        if revoked {
            session.revoked_at = Some(now().plus_seconds(-60));
            session.revoked_reason = Some(RevokedReason::Logout);
        }
        Some(session)
    }))
}

fn store_finding(found: Result<Option<SessionRecord>, RepositoryError>) -> MockSessionStore {
    let mut store = MockSessionStore::new();
    store
        .expect_find()
        .withf(|s| s.as_str() == "sess_1")
        .times(1)
        .return_once(move |_| found);
    store
}

/// `users` answers the lookup of the token's user ([`USER_ID`]) once with `found`.
fn users_finding(found: Result<Option<User>, RepositoryError>) -> MockUserRepository {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_id()
        .with(eq(user_id(USER_ID)))
        .times(1)
        .return_once(move |_| found);
    users
}

/// `users` must not be read.
fn users_never_read() -> MockUserRepository {
    let mut users = MockUserRepository::new();
    users.expect_find_by_id().never();
    users
}

/// A guard whose token's user exists and may sign in.
fn guard(verifier: MockAccessTokenVerifier, store: MockSessionStore) -> AccessGuard {
    guard_with_users(
        verifier,
        store,
        users_finding(Ok(Some(user("admin@acme.example")))),
    )
}

/// A guard that must not read the token's user (the token is refused before).
fn guard_refusing_early(verifier: MockAccessTokenVerifier, store: MockSessionStore) -> AccessGuard {
    guard_with_users(verifier, store, users_never_read())
}

fn guard_with_users(
    verifier: MockAccessTokenVerifier,
    store: MockSessionStore,
    users: MockUserRepository,
) -> AccessGuard {
    AccessGuard::new(
        Arc::new(verifier),
        Arc::new(store),
        Arc::new(users),
        crate::mocks::fixed_clock(now()),
    )
}

#[tokio::test]
async fn a_correctly_signed_unexpired_token_of_a_live_session_is_accepted() {
    let expected = claims(now().plus_seconds(1));
    let access = guard(
        verifier_returning(Ok(expected.clone())),
        store_saying_revoked(Ok(false)),
    )
    .authenticate(TOKEN)
    .await
    .unwrap();
    assert_eq!(access, expected);
}

#[tokio::test]
async fn a_token_expiring_now_by_the_clock_is_expired_and_revocation_is_not_looked_up() {
    let mut store = MockSessionStore::new();
    store.expect_find().never();
    let err = guard_refusing_early(verifier_returning(Ok(claims(now()))), store)
        .authenticate(TOKEN)
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::Expired), "{err:?}");
}

#[tokio::test]
async fn a_token_the_verifier_refuses_is_invalid() {
    let mut store = MockSessionStore::new();
    store.expect_find().never();
    let err = guard_refusing_early(verifier_returning(Err(InvalidAccessToken)), store)
        .authenticate(TOKEN)
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::Invalid), "{err:?}");
}

#[tokio::test]
async fn a_token_of_a_revoked_session_is_refused() {
    let err = guard_refusing_early(
        verifier_returning(Ok(claims(now().plus_seconds(3600)))),
        store_saying_revoked(Ok(true)),
    )
    .authenticate(TOKEN)
    .await
    .unwrap_err();
    assert!(matches!(err, AccessError::SessionRevoked), "{err:?}");
}

#[tokio::test]
async fn a_token_whose_session_record_is_gone_is_refused_as_revoked() {
    let err = guard_refusing_early(
        verifier_returning(Ok(claims(now().plus_seconds(3600)))),
        store_finding(Ok(None)),
    )
    .authenticate(TOKEN)
    .await
    .unwrap_err();
    assert!(matches!(err, AccessError::SessionRevoked), "{err:?}");
}

#[tokio::test]
async fn an_empty_token_is_missing_without_verification() {
    let mut verifier = MockAccessTokenVerifier::new();
    verifier.expect_verify().never();
    let err = guard_refusing_early(verifier, MockSessionStore::new())
        .authenticate("")
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::Missing), "{err:?}");
}

#[tokio::test]
async fn a_store_outage_while_checking_revocation_is_unavailable_not_accepted() {
    let err = guard_refusing_early(
        verifier_returning(Ok(claims(now().plus_seconds(3600)))),
        store_saying_revoked(Err(RepositoryError::Unavailable("down".into()))),
    )
    .authenticate(TOKEN)
    .await
    .unwrap_err();
    assert!(
        matches!(err, AccessError::Failure(crate::Failure::StoreUnavailable(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_token_of_a_user_disabled_since_login_is_refused_as_login_disabled() {
    let mut disabled = user("admin@acme.example");
    disabled.login_disabled = true;
    let err = guard_with_users(
        verifier_returning(Ok(claims(now().plus_seconds(3600)))),
        store_saying_revoked(Ok(false)),
        users_finding(Ok(Some(disabled))),
    )
    .authenticate(TOKEN)
    .await
    .unwrap_err();
    assert!(matches!(err, AccessError::LoginDisabled), "{err:?}");
}

#[tokio::test]
async fn a_token_of_a_user_deleted_since_login_is_invalid() {
    let err = guard_with_users(
        verifier_returning(Ok(claims(now().plus_seconds(3600)))),
        store_saying_revoked(Ok(false)),
        users_finding(Ok(None)),
    )
    .authenticate(TOKEN)
    .await
    .unwrap_err();
    assert!(matches!(err, AccessError::Invalid), "{err:?}");
}

#[tokio::test]
async fn a_user_store_outage_while_reading_the_tokens_user_is_unavailable_not_accepted() {
    let err = guard_with_users(
        verifier_returning(Ok(claims(now().plus_seconds(3600)))),
        store_saying_revoked(Ok(false)),
        users_finding(Err(RepositoryError::Unavailable("down".into()))),
    )
    .authenticate(TOKEN)
    .await
    .unwrap_err();
    assert!(
        matches!(err, AccessError::Failure(crate::Failure::StoreUnavailable(_))),
        "{err:?}"
    );
}
