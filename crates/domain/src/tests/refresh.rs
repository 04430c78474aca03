//! `RefreshSession` (rotation, grace window, reuse) and `Logout`.

use std::sync::Arc;

use mockall::Sequence;
use mockall::predicate::eq;

use super::support::*;
use crate::{
    AccessRole, InvalidAccessToken, Logout, LogoutCredential, LogoutError, MAX_REFRESH_TOKEN_LEN,
    MockAccessTokenVerifier, MockOrganizationRepository, MockRefreshTokenStore, MockTokenIssuer,
    MockUserRepository, Organization, RefreshError, RefreshPolicy, RefreshSession, RefreshTokenRecord,
    RepositoryError, SessionConfig, SessionField, SessionId, SessionIssuer, SessionLifetimes, SettingValue,
    StoredSessionSettings, Timestamp, TokenHash, VerifiedAccess,
};

const DAY_SECONDS: i64 = 24 * 3600;
/// The refresh token a client presents.
const PRESENTED: &str = "rt_presented_presented_presented_presented_pres";
/// Its digest.
const PRESENTED_HASH: &str = "1111111111111111111111111111111111111111111111111111111111111111";
/// The session it belongs to.
const SESSION: &str = "sess_existing";

fn presented_hash() -> TokenHash {
    TokenHash::new(PRESENTED_HASH)
}

fn session() -> SessionId {
    SessionId::new(SESSION)
}

/// When the session of [`record`] started: a day ago.
fn started() -> Timestamp {
    Timestamp::from_millis(NOW_MILLIS - DAY_SECONDS * 1000)
}

/// The stored record of [`PRESENTED`]: issued an hour ago, expires in a week.
fn record() -> RefreshTokenRecord {
    RefreshTokenRecord {
        hash: presented_hash(),
        user_id: oid(USER_ID),
        session_id: session(),
        expires_at: now().plus_seconds(7 * DAY_SECONDS),
        created_at: now().plus_seconds(-3600),
        session_started_at: started(),
        used_at: None,
        revoked_at: None,
    }
}

fn used(at: Timestamp) -> RefreshTokenRecord {
    RefreshTokenRecord {
        used_at: Some(at),
        ..record()
    }
}

/// Every port of the refresh use case as mocks without expectations (an unexpected
/// call fails the test), plus the policy and lifetimes to build it with.
struct Ports {
    users: MockUserRepository,
    organizations: MockOrganizationRepository,
    tokens: MockTokenIssuer,
    store: MockRefreshTokenStore,
    policy: RefreshPolicy,
    lifetimes: SessionLifetimes,
}

impl Default for Ports {
    fn default() -> Self {
        let mut tokens = MockTokenIssuer::new();
        tokens
            .expect_hash_refresh_token()
            .with(eq(PRESENTED))
            .returning(|_| presented_hash());
        Self {
            users: MockUserRepository::new(),
            organizations: MockOrganizationRepository::new(),
            tokens,
            store: MockRefreshTokenStore::new(),
            policy: RefreshPolicy::default(),
            lifetimes: SessionLifetimes::default(),
        }
    }
}

impl Ports {
    fn build(self) -> RefreshSession {
        let clock = clock_at(now());
        let tokens = Arc::new(self.tokens);
        let store = Arc::new(self.store);
        let issuer = SessionIssuer::new(
            Arc::new(self.organizations),
            tokens.clone(),
            store.clone(),
            clock.clone(),
            SessionConfig::default(),
            self.lifetimes,
        );
        RefreshSession::new(Arc::new(self.users), store, tokens, issuer, clock, self.policy)
    }

    /// The store knows [`PRESENTED`] as `found` (once).
    fn stored(&mut self, found: RefreshTokenRecord) -> &mut Self {
        self.store
            .expect_find_by_hash()
            .withf(|h| *h == presented_hash())
            .times(1)
            .return_once(move |_| Ok(Some(found)));
        self
    }

    /// The user of the token exists (an enabled ADMIN of [`ACME_ORG`]).
    fn user_exists(&mut self) -> &mut Self {
        self.users
            .expect_find_by_id()
            .with(eq(oid(USER_ID)))
            .times(1)
            .returning(|_| Ok(Some(user("admin@acme.example"))));
        self
    }

    /// A pair is issued in [`SESSION`] (started [`started`]) for a user of an
    /// organization storing `settings`, and the session is not revoked meanwhile.
    fn issues_pair(&mut self, settings: StoredSessionSettings) -> &mut Self {
        self.organizations
            .expect_find_by_id()
            .with(eq(oid(ACME_ORG)))
            .times(1)
            .returning(move |id| {
                Ok(Some(Organization {
                    id,
                    name: "Acme".to_owned(),
                    session_settings: settings.clone(),
                    workos_organization_id: None,
                }))
            });
        self.tokens.expect_new_session_id().never();
        self.tokens
            .expect_issue_access_token()
            .withf(|claims| claims.session_id == session() && claims.issued_at == now())
            .times(1)
            .returning(|_| Ok(secret(ACCESS_TOKEN)));
        self.tokens.expect_mint_refresh_token().times(1).returning(minted);
        self.store
            .expect_save()
            .withf(|r| {
                r.hash.as_str() == REFRESH_HASH
                    && r.session_id == session()
                    && r.session_started_at == started()
                    && r.created_at == now()
                    && r.used_at.is_none()
                    && r.revoked_at.is_none()
            })
            .times(1)
            .returning(|_| Ok(()));
        self.store
            .expect_is_session_revoked()
            .withf(|s| *s == session())
            .times(1)
            .returning(|_| Ok(false));
        self
    }

    /// Nothing is issued, marked or revoked.
    fn writes_nothing(&mut self) -> &mut Self {
        self.store.expect_save().never();
        self.store.expect_mark_used().never();
        self.store.expect_revoke_session().never();
        self.tokens.expect_issue_access_token().never();
        self
    }
}

// ---- rotation ------------------------------------------------------------------------

#[tokio::test]
async fn an_unused_token_is_marked_used_and_exchanged_for_a_new_pair_in_the_same_session() {
    let mut ports = Ports::default();
    ports
        .stored(record())
        .user_exists()
        .issues_pair(StoredSessionSettings::none());
    ports
        .store
        .expect_mark_used()
        .withf(|h, at| *h == presented_hash() && *at == now())
        .times(1)
        .returning(|_, _| Ok(true));
    ports.store.expect_revoke_session().never();

    let renewed = ports.build().refresh(&secret(PRESENTED)).await.unwrap();

    assert!(holds(&renewed.access_token, ACCESS_TOKEN));
    assert!(holds(&renewed.refresh_token, REFRESH_TOKEN));
    assert_eq!(renewed.session_id, session());
    assert_eq!(renewed.user, user("admin@acme.example"));
    assert_eq!(renewed.session_config, SessionConfig::default());
}

#[tokio::test]
async fn the_organizations_current_policy_applies_at_the_next_refresh() {
    let settings = StoredSessionSettings::none()
        .with(SessionField::IdleTimeoutMinutes, SettingValue::Number(15.0))
        .with(SessionField::TokenExpiryHours, SettingValue::Number(2.0));
    let mut ports = Ports::default();
    ports.stored(record()).user_exists().issues_pair(settings);
    ports.store.expect_mark_used().times(1).returning(|_, _| Ok(true));

    let renewed = ports.build().refresh(&secret(PRESENTED)).await.unwrap();

    assert_eq!(renewed.session_config.fields().idle_timeout_minutes, 15);
    assert_eq!(renewed.session_config.fields().token_expiry_hours, 2);
    assert_eq!(renewed.access_token_expires_at, now().plus_seconds(2 * 3600));
}

#[tokio::test]
async fn the_new_refresh_token_never_outlives_the_session() {
    let mut ports = Ports::default();
    // The session started 29 days ago: one day of its 30 is left.
    let started_long_ago = Timestamp::from_millis(NOW_MILLIS - 29 * DAY_SECONDS * 1000);
    ports.stored(RefreshTokenRecord {
        session_started_at: started_long_ago,
        ..record()
    });
    ports.user_exists();
    ports.store.expect_mark_used().times(1).returning(|_, _| Ok(true));
    ports
        .organizations
        .expect_find_by_id()
        .returning(|id| Ok(Some(org(&id.to_string()))));
    ports
        .tokens
        .expect_issue_access_token()
        .returning(|_| Ok(secret(ACCESS_TOKEN)));
    ports.tokens.expect_mint_refresh_token().returning(minted);
    ports
        .store
        .expect_save()
        .withf(move |r| {
            r.expires_at == now().plus_seconds(DAY_SECONDS) && r.session_started_at == started_long_ago
        })
        .times(1)
        .returning(|_| Ok(()));
    ports.store.expect_is_session_revoked().returning(|_| Ok(false));

    let renewed = ports.build().refresh(&secret(PRESENTED)).await.unwrap();
    assert_eq!(renewed.refresh_token_expires_at, now().plus_seconds(DAY_SECONDS));
}

// ---- refused tokens ------------------------------------------------------------------

#[tokio::test]
async fn an_unknown_token_is_invalid_and_nothing_is_written() {
    let mut ports = Ports::default();
    ports.store.expect_find_by_hash().times(1).returning(|_| Ok(None));
    ports.writes_nothing();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Invalid), "{err:?}");
}

#[tokio::test]
async fn an_empty_or_oversized_token_is_invalid_without_a_lookup() {
    for token in [
        String::new(),
        "   ".to_owned(),
        "x".repeat(MAX_REFRESH_TOKEN_LEN + 1),
    ] {
        let mut ports = Ports {
            tokens: MockTokenIssuer::new(),
            ..Ports::default()
        };
        ports.tokens.expect_hash_refresh_token().never();
        ports.store.expect_find_by_hash().never();
        ports.writes_nothing();
        let err = ports.build().refresh(&secret(&token)).await.unwrap_err();
        assert!(matches!(err, RefreshError::Invalid), "{err:?}");
    }
}

#[tokio::test]
async fn a_token_of_a_revoked_session_is_refused_as_revoked() {
    let mut ports = Ports::default();
    ports.stored(RefreshTokenRecord {
        revoked_at: Some(now().plus_seconds(-60)),
        ..record()
    });
    ports.writes_nothing();
    ports.users.expect_find_by_id().never();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Revoked), "{err:?}");
}

#[tokio::test]
async fn a_session_past_its_absolute_lifetime_is_refused_even_with_an_unexpired_token() {
    let mut ports = Ports {
        lifetimes: SessionLifetimes {
            refresh_token_seconds: 30 * DAY_SECONDS,
            absolute_session_seconds: DAY_SECONDS,
        },
        ..Ports::default()
    };
    // Started exactly one day ago: the session ends now.
    ports.stored(record());
    ports.writes_nothing();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::SessionExpired), "{err:?}");
}

#[tokio::test]
async fn an_expired_token_is_refused_as_expired() {
    let mut ports = Ports::default();
    ports.stored(RefreshTokenRecord {
        expires_at: now(),
        ..record()
    });
    ports.writes_nothing();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Expired), "{err:?}");
}

#[tokio::test]
async fn a_disabled_user_is_refused_and_the_token_is_not_consumed() {
    let mut ports = Ports::default();
    ports.stored(record());
    ports.users.expect_find_by_id().times(1).returning(|_| {
        Ok(Some(crate::User {
            login_disabled: true,
            ..user("admin@acme.example")
        }))
    });
    ports.writes_nothing();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::LoginDisabled), "{err:?}");
}

#[tokio::test]
async fn a_token_whose_user_no_longer_exists_is_invalid() {
    let mut ports = Ports::default();
    ports.stored(record());
    ports.users.expect_find_by_id().times(1).returning(|_| Ok(None));
    ports.writes_nothing();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Invalid), "{err:?}");
}

#[tokio::test]
async fn a_store_outage_is_reported_as_unavailable() {
    let mut ports = Ports::default();
    ports
        .store
        .expect_find_by_hash()
        .returning(|_| Err(RepositoryError::Unavailable("down".into())));
    ports.writes_nothing();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::StoreUnavailable(_)), "{err:?}");
}

// ---- reuse and the grace window --------------------------------------------------------

#[tokio::test]
async fn a_used_token_presented_within_the_grace_window_gets_a_new_pair_without_being_marked_again() {
    let mut ports = Ports::default();
    ports
        .stored(used(now().plus_seconds(-9)))
        .user_exists()
        .issues_pair(StoredSessionSettings::none());
    ports.store.expect_mark_used().never();
    ports.store.expect_revoke_session().never();
    let renewed = ports.build().refresh(&secret(PRESENTED)).await.unwrap();
    assert_eq!(renewed.session_id, session());
}

#[tokio::test]
async fn a_used_token_presented_after_the_grace_window_revokes_the_whole_session() {
    let mut ports = Ports::default();
    ports.stored(used(now().plus_seconds(-10)));
    ports
        .store
        .expect_revoke_session()
        .withf(|s, at, retain| *s == session() && *at == now() && *retain == now().plus_seconds(720 * 3600))
        .times(1)
        .returning(|_, _, _| Ok(3));
    ports.store.expect_save().never();
    ports.store.expect_mark_used().never();
    ports.users.expect_find_by_id().never();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Reused), "{err:?}");
}

#[tokio::test]
async fn the_grace_window_follows_the_policy() {
    // 60 seconds of grace: a token used 30 seconds ago is still exchanged.
    let mut ports = Ports {
        policy: RefreshPolicy {
            reuse_grace_seconds: 60,
        },
        ..Ports::default()
    };
    ports
        .stored(used(now().plus_seconds(-30)))
        .user_exists()
        .issues_pair(StoredSessionSettings::none());
    ports.store.expect_revoke_session().never();
    assert!(ports.build().refresh(&secret(PRESENTED)).await.is_ok());

    // No grace: any second use is a reuse.
    let mut ports = Ports {
        policy: RefreshPolicy {
            reuse_grace_seconds: 0,
        },
        ..Ports::default()
    };
    ports.stored(used(now()));
    ports
        .store
        .expect_revoke_session()
        .times(1)
        .returning(|_, _, _| Ok(1));
    ports.store.expect_save().never();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Reused), "{err:?}");
}

#[tokio::test]
async fn losing_the_race_to_mark_the_token_used_falls_into_the_grace_rule() {
    let mut ports = Ports::default();
    let mut seq = Sequence::new();
    ports
        .store
        .expect_find_by_hash()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(Some(record())));
    ports
        .store
        .expect_mark_used()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(false));
    ports
        .store
        .expect_find_by_hash()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(Some(used(now()))));
    ports.user_exists().issues_pair(StoredSessionSettings::none());
    ports.store.expect_revoke_session().never();
    let renewed = ports.build().refresh(&secret(PRESENTED)).await.unwrap();
    assert_eq!(renewed.session_id, session());
}

#[tokio::test]
async fn losing_the_race_to_a_logout_is_refused_as_revoked() {
    let mut ports = Ports::default();
    let mut seq = Sequence::new();
    ports
        .store
        .expect_find_by_hash()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(Some(record())));
    ports.user_exists();
    ports
        .store
        .expect_mark_used()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(false));
    ports
        .store
        .expect_find_by_hash()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| {
            Ok(Some(RefreshTokenRecord {
                revoked_at: Some(now()),
                ..record()
            }))
        });
    ports.store.expect_save().never();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Revoked), "{err:?}");
}

#[tokio::test]
async fn a_session_revoked_while_the_pair_was_issued_is_revoked_again_and_refused() {
    let mut ports = Ports::default();
    ports.stored(record()).user_exists();
    ports.store.expect_mark_used().times(1).returning(|_, _| Ok(true));
    ports
        .organizations
        .expect_find_by_id()
        .returning(|id| Ok(Some(org(&id.to_string()))));
    ports
        .tokens
        .expect_issue_access_token()
        .returning(|_| Ok(secret(ACCESS_TOKEN)));
    ports.tokens.expect_mint_refresh_token().returning(minted);
    ports.store.expect_save().times(1).returning(|_| Ok(()));
    ports
        .store
        .expect_is_session_revoked()
        .times(1)
        .returning(|_| Ok(true));
    ports
        .store
        .expect_revoke_session()
        .withf(|s, _, _| *s == session())
        .times(1)
        .returning(|_, _, _| Ok(1));
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Revoked), "{err:?}");
}

// ---- logout --------------------------------------------------------------------------

fn logout(store: MockRefreshTokenStore, verifier: MockAccessTokenVerifier) -> Logout {
    let mut tokens = MockTokenIssuer::new();
    tokens
        .expect_hash_refresh_token()
        .with(eq(PRESENTED))
        .returning(|_| presented_hash());
    Logout::new(
        Arc::new(store),
        Arc::new(tokens),
        Arc::new(verifier),
        clock_at(now()),
    )
}

fn claims(expires_at: Timestamp) -> VerifiedAccess {
    VerifiedAccess {
        user_id: oid(USER_ID),
        organization_id: oid(ACME_ORG),
        access_role: AccessRole::Admin,
        session_id: session(),
        expires_at,
    }
}

#[tokio::test]
async fn logout_with_a_refresh_token_revokes_its_session() {
    let mut store = MockRefreshTokenStore::new();
    store
        .expect_find_by_hash()
        .withf(|h| *h == presented_hash())
        .returning(|_| Ok(Some(used(now()))));
    store
        .expect_revoke_session()
        .withf(|s, at, retain| *s == session() && *at == now() && *retain == now().plus_seconds(720 * 3600))
        .times(1)
        .returning(|_, _, _| Ok(2));
    let revoked = logout(store, MockAccessTokenVerifier::new())
        .logout(LogoutCredential::RefreshToken(secret(PRESENTED)))
        .await
        .unwrap();
    assert_eq!(revoked, Some(session()));
}

#[tokio::test]
async fn logout_of_a_session_already_revoked_succeeds_again() {
    let mut store = MockRefreshTokenStore::new();
    store.expect_find_by_hash().returning(|_| {
        Ok(Some(RefreshTokenRecord {
            revoked_at: Some(now()),
            ..record()
        }))
    });
    store.expect_revoke_session().times(1).returning(|_, _, _| Ok(0));
    let revoked = logout(store, MockAccessTokenVerifier::new())
        .logout(LogoutCredential::RefreshToken(secret(PRESENTED)))
        .await
        .unwrap();
    assert_eq!(revoked, Some(session()));
}

#[tokio::test]
async fn logout_with_an_unknown_refresh_token_succeeds_and_revokes_nothing() {
    let mut store = MockRefreshTokenStore::new();
    store.expect_find_by_hash().returning(|_| Ok(None));
    store.expect_revoke_session().never();
    let revoked = logout(store, MockAccessTokenVerifier::new())
        .logout(LogoutCredential::RefreshToken(secret(PRESENTED)))
        .await
        .unwrap();
    assert_eq!(revoked, None);
}

#[tokio::test]
async fn logout_with_an_expired_but_correctly_signed_access_token_revokes_its_session() {
    let mut verifier = MockAccessTokenVerifier::new();
    verifier
        .expect_verify()
        .with(eq(ACCESS_TOKEN))
        .returning(|_| Ok(claims(now().plus_seconds(-3600))));
    let mut store = MockRefreshTokenStore::new();
    store.expect_find_by_hash().never();
    store
        .expect_revoke_session()
        .withf(|s, _, _| *s == session())
        .times(1)
        .returning(|_, _, _| Ok(1));
    let revoked = logout(store, verifier)
        .logout(LogoutCredential::AccessToken(secret(ACCESS_TOKEN)))
        .await
        .unwrap();
    assert_eq!(revoked, Some(session()));
}

#[tokio::test]
async fn logout_with_a_badly_signed_access_token_is_refused_and_revokes_nothing() {
    let mut verifier = MockAccessTokenVerifier::new();
    verifier.expect_verify().returning(|_| Err(InvalidAccessToken));
    let mut store = MockRefreshTokenStore::new();
    store.expect_revoke_session().never();
    let err = logout(store, verifier)
        .logout(LogoutCredential::AccessToken(secret("forged")))
        .await
        .unwrap_err();
    assert!(matches!(err, LogoutError::InvalidAccessToken), "{err:?}");
}

#[tokio::test]
async fn logout_of_a_session_whose_records_are_all_gone_records_the_revocation() {
    // The session's refresh tokens expired and were removed (TTL), but an access token of
    // it (issued near the session's end, for up to 720 hours) still lives: the logout
    // must leave a revoked record behind, or the access token would keep working.
    let mut verifier = MockAccessTokenVerifier::new();
    verifier
        .expect_verify()
        .with(eq(ACCESS_TOKEN))
        .returning(|_| Ok(claims(now().plus_seconds(3600))));
    let mut store = MockRefreshTokenStore::new();
    store
        .expect_revoke_session()
        .withf(|s, _, _| *s == session())
        .times(1)
        .returning(|_, _, _| Ok(0));
    store
        .expect_is_session_revoked()
        .withf(|s| *s == session())
        .times(1)
        .returning(|_| Ok(false));
    store
        .expect_save()
        .withf(|r| {
            r.hash.as_str() == REFRESH_HASH
                && r.user_id == oid(USER_ID)
                && r.session_id == session()
                && r.revoked_at == Some(now())
                && r.used_at == Some(now())
                && r.expires_at == now().plus_seconds(720 * 3600)
        })
        .times(1)
        .returning(|_| Ok(()));
    let mut tokens = MockTokenIssuer::new();
    tokens.expect_mint_refresh_token().times(1).returning(minted);
    let revoked = Logout::new(
        Arc::new(store),
        Arc::new(tokens),
        Arc::new(verifier),
        clock_at(now()),
    )
    .logout(LogoutCredential::AccessToken(secret(ACCESS_TOKEN)))
    .await
    .unwrap();
    assert_eq!(revoked, Some(session()));
}
