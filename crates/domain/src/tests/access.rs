//! `AccessGuard`: signature, expiry by the domain's clock, revoked sessions.

use std::sync::Arc;

use mockall::predicate::eq;

use super::support::*;
use crate::{
    AccessError, AccessGuard, AccessRole, InvalidAccessToken, MockAccessTokenVerifier, MockRefreshTokenStore,
    RepositoryError, SessionId, Timestamp, VerifiedAccess,
};

const TOKEN: &str = "header.claims.signature";

fn claims(expires_at: Timestamp) -> VerifiedAccess {
    VerifiedAccess {
        user_id: oid(USER_ID),
        organization_id: oid(ACME_ORG),
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

fn store_saying_revoked(revoked: Result<bool, RepositoryError>) -> MockRefreshTokenStore {
    let mut store = MockRefreshTokenStore::new();
    store
        .expect_is_session_revoked()
        .withf(|s| s.as_str() == "sess_1")
        .times(1)
        .return_once(move |_| revoked);
    store
}

fn guard(verifier: MockAccessTokenVerifier, store: MockRefreshTokenStore) -> AccessGuard {
    AccessGuard::new(Arc::new(verifier), Arc::new(store), clock_at(now()))
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
    let mut store = MockRefreshTokenStore::new();
    store.expect_is_session_revoked().never();
    let err = guard(verifier_returning(Ok(claims(now()))), store)
        .authenticate(TOKEN)
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::Expired), "{err:?}");
}

#[tokio::test]
async fn a_token_the_verifier_refuses_is_invalid() {
    let mut store = MockRefreshTokenStore::new();
    store.expect_is_session_revoked().never();
    let err = guard(verifier_returning(Err(InvalidAccessToken)), store)
        .authenticate(TOKEN)
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::Invalid), "{err:?}");
}

#[tokio::test]
async fn a_token_of_a_revoked_session_is_refused() {
    let err = guard(
        verifier_returning(Ok(claims(now().plus_seconds(3600)))),
        store_saying_revoked(Ok(true)),
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
    let err = guard(verifier, MockRefreshTokenStore::new())
        .authenticate("")
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::Missing), "{err:?}");
}

#[tokio::test]
async fn a_store_outage_while_checking_revocation_is_unavailable_not_accepted() {
    let err = guard(
        verifier_returning(Ok(claims(now().plus_seconds(3600)))),
        store_saying_revoked(Err(RepositoryError::Unavailable("down".into()))),
    )
    .authenticate(TOKEN)
    .await
    .unwrap_err();
    assert!(matches!(err, AccessError::StoreUnavailable(_)), "{err:?}");
}
