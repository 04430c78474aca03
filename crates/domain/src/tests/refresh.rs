//! `RefreshSession` (rotation with one sealed successor, grace window, reuse, sessions
//! of the earlier shape) and `Logout` (one write to the session record).

use std::sync::Arc;

use mockall::Sequence;
use mockall::predicate::eq;

use super::support::*;
use crate::{
    AccessRole, InvalidAccessToken, LegacySession, Logout, LogoutCredential, LogoutError,
    MAX_REFRESH_TOKEN_LEN, MockAccessTokenVerifier, MockOrganizationRepository, MockRefreshTokenStore,
    MockSessionStore, MockTokenIssuer, MockUserRepository, Organization, RefreshError, RefreshPolicy,
    RefreshSession, RefreshTokenRecord, RepositoryError, RevokedReason, SessionConfig, SessionField,
    SessionId, SessionIssuer, SessionLifetimes, SessionRecord, SettingValue, StoredSessionSettings,
    Timestamp, TokenHash, VerifiedAccess,
};

const DAY_SECONDS: i64 = 24 * 3600;
/// The refresh token a client presents.
const PRESENTED: &str = "rt_presented_presented_presented_presented_pres";
/// Its digest.
const PRESENTED_HASH: &str = "1111111111111111111111111111111111111111111111111111111111111111";
/// The session it belongs to.
const SESSION: &str = "sess_existing";
/// What the token issuer seals [`REFRESH_TOKEN`] into for [`PRESENTED`].
const SEALED: &str = "v1.sealed-successor";
/// The successor a first rotation of [`PRESENTED`] handed out.
const EARLIER_SUCCESSOR: &str = "rt_successor_successor_successor_successor_su";

fn presented_hash() -> TokenHash {
    TokenHash::new(PRESENTED_HASH)
}

fn session() -> SessionId {
    SessionId::new(SESSION)
}

/// When [`live_session`] started: a day ago.
fn started() -> Timestamp {
    Timestamp::from_millis(NOW_MILLIS - DAY_SECONDS * 1000)
}

/// The live session of [`PRESENTED`], 30 days long.
fn live_session() -> SessionRecord {
    session_record(SESSION, started())
}

/// The stored record of [`PRESENTED`]: unused, expires in a week.
fn record() -> RefreshTokenRecord {
    RefreshTokenRecord {
        hash: presented_hash(),
        session_id: session(),
        expires_at: now().plus_seconds(7 * DAY_SECONDS),
        used_at: None,
        sealed_successor: None,
        legacy: None,
    }
}

/// [`record`] rotated at `at`, its successor sealed as [`SEALED`].
fn used(at: Timestamp) -> RefreshTokenRecord {
    RefreshTokenRecord {
        used_at: Some(at),
        sealed_successor: Some(SEALED.to_owned()),
        ..record()
    }
}

/// [`record`] as written before sessions were records.
fn legacy(revoked_at: Option<Timestamp>) -> RefreshTokenRecord {
    RefreshTokenRecord {
        legacy: Some(LegacySession {
            user_id: user_id(USER_ID),
            started_at: started(),
            revoked_at,
        }),
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
    sessions: MockSessionStore,
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
            sessions: MockSessionStore::new(),
            policy: RefreshPolicy::default(),
            lifetimes: SessionLifetimes::default(),
        }
    }
}

impl Ports {
    fn build(self) -> RefreshSession {
        let tokens = Arc::new(self.tokens);
        let store = Arc::new(self.store);
        let sessions = Arc::new(self.sessions);
        let issuer = SessionIssuer::new(
            Arc::new(self.organizations),
            tokens.clone(),
            store.clone(),
            sessions.clone(),
            SessionConfig::default(),
            self.lifetimes,
        );
        RefreshSession::new(
            Arc::new(self.users),
            store,
            sessions,
            tokens,
            issuer,
            crate::mocks::fixed_clock(now()),
            self.policy,
        )
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

    /// The session of the token is `found` (read once, by id).
    fn session_is(&mut self, found: SessionRecord) -> &mut Self {
        self.sessions
            .expect_find()
            .withf(|id| *id == session())
            .times(1)
            .return_once(move |_| Ok(Some(found)));
        self
    }

    /// The user of the session exists (an enabled ADMIN of [`ACME_ORG`]).
    fn user_exists(&mut self) -> &mut Self {
        self.users
            .expect_find_by_id()
            .with(eq(user_id(USER_ID)))
            .times(1)
            .returning(|_| Ok(Some(user("admin@acme.example"))));
        self
    }

    /// The successor [`REFRESH_TOKEN`] is minted, sealed for [`PRESENTED`] and recorded
    /// with the rotation; `won` is whether this request wins the compare-and-set.
    fn rotates(&mut self, won: bool) -> &mut Self {
        self.tokens.expect_mint_refresh_token().times(1).returning(minted);
        self.tokens
            .expect_seal_successor()
            .withf(|presented, successor| presented == PRESENTED && holds(successor, REFRESH_TOKEN))
            .times(1)
            .returning(|_, _| SEALED.to_owned());
        self.store
            .expect_rotate()
            .withf(|h, at, sealed| *h == presented_hash() && *at == now() && sealed == SEALED)
            .times(1)
            .returning(move |_, _, _| Ok(won));
        self
    }

    /// The organization's policy is read and an access token signed in [`SESSION`].
    fn signs_access(&mut self, settings: StoredSessionSettings) -> &mut Self {
        self.organizations
            .expect_find_by_id()
            .with(eq(org_id(ACME_ORG)))
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
        self
    }

    /// A pair is issued in [`SESSION`]: the successor's digest is stored, unused, and
    /// the session's `lastRefreshedAt` stamped.
    fn issues_pair(&mut self, settings: StoredSessionSettings) -> &mut Self {
        self.signs_access(settings);
        self.store
            .expect_save()
            .withf(|r| {
                r.hash.as_str() == REFRESH_HASH
                    && r.session_id == session()
                    && r.used_at.is_none()
                    && r.sealed_successor.is_none()
                    && r.legacy.is_none()
            })
            .times(1)
            .returning(|_| Ok(()));
        self.sessions
            .expect_record_refresh()
            .withf(|id, at| *id == session() && *at == now())
            .times(1)
            .returning(|_, _| Ok(()));
        self
    }

    /// Nothing is issued, rotated, stored or revoked.
    fn writes_nothing(&mut self) -> &mut Self {
        self.store.expect_save().never();
        self.store.expect_rotate().never();
        self.sessions.expect_start().never();
        self.sessions.expect_revoke().never();
        self.sessions.expect_record_refresh().never();
        self.tokens.expect_issue_access_token().never();
        self.tokens.expect_mint_refresh_token().never();
        self
    }
}

// ---- rotation ------------------------------------------------------------------------

#[tokio::test]
async fn an_unused_token_is_rotated_with_its_sealed_successor_and_exchanged_for_a_new_pair_in_the_same_session()
 {
    let mut ports = Ports::default();
    ports
        .stored(record())
        .session_is(live_session())
        .user_exists()
        .rotates(true)
        .issues_pair(StoredSessionSettings::none());
    ports.sessions.expect_revoke().never();

    let renewed = ports.build().refresh(&secret(PRESENTED)).await.unwrap();

    assert!(holds(&renewed.access_token, ACCESS_TOKEN));
    assert!(holds(&renewed.refresh_token, REFRESH_TOKEN));
    assert_eq!(renewed.session_id, session());
    assert_eq!(renewed.user, user("admin@acme.example"));
    assert_eq!(renewed.session_config, SessionConfig::default());
    assert_eq!(
        renewed.refresh_token_expires_at,
        now().plus_seconds(29 * DAY_SECONDS)
    );
}

#[tokio::test]
async fn the_organizations_current_policy_applies_at_the_next_refresh() {
    let settings = StoredSessionSettings::none()
        .with(SessionField::IdleTimeoutMinutes, SettingValue::Number(15.0))
        .with(SessionField::TokenExpiryHours, SettingValue::Number(2.0));
    let mut ports = Ports::default();
    ports
        .stored(record())
        .session_is(live_session())
        .user_exists()
        .rotates(true)
        .issues_pair(settings);

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
    ports
        .stored(record())
        .session_is(session_record(SESSION, started_long_ago))
        .user_exists()
        .rotates(true);
    ports
        .organizations
        .expect_find_by_id()
        .returning(|id| Ok(Some(org(&id.to_string()))));
    ports
        .tokens
        .expect_issue_access_token()
        .returning(|_| Ok(secret(ACCESS_TOKEN)));
    ports
        .store
        .expect_save()
        .withf(|r| r.expires_at == now().plus_seconds(DAY_SECONDS))
        .times(1)
        .returning(|_| Ok(()));
    ports.sessions.expect_record_refresh().returning(|_, _| Ok(()));

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
    for reason in [RevokedReason::Logout, RevokedReason::Reuse] {
        let mut ports = Ports::default();
        ports.stored(record()).session_is(SessionRecord {
            revoked_at: Some(now().plus_seconds(-60)),
            revoked_reason: Some(reason),
            ..live_session()
        });
        ports.writes_nothing();
        ports.users.expect_find_by_id().never();
        let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
        assert!(matches!(err, RefreshError::Revoked), "{err:?}");
    }
}

#[tokio::test]
async fn a_token_whose_session_record_is_gone_is_invalid() {
    let mut ports = Ports::default();
    ports.stored(record());
    ports.sessions.expect_find().times(1).returning(|_| Ok(None));
    ports.writes_nothing();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Invalid), "{err:?}");
}

#[tokio::test]
async fn a_session_past_its_absolute_lifetime_is_refused_even_with_an_unexpired_token() {
    let mut ports = Ports::default();
    // The session ends now.
    ports.stored(record()).session_is(SessionRecord {
        ends_at: now(),
        ..live_session()
    });
    ports.writes_nothing();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::SessionExpired), "{err:?}");
}

#[tokio::test]
async fn an_expired_token_is_refused_as_expired() {
    let mut ports = Ports::default();
    ports
        .stored(RefreshTokenRecord {
            expires_at: now(),
            ..record()
        })
        .session_is(live_session());
    ports.writes_nothing();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Expired), "{err:?}");
}

#[tokio::test]
async fn a_disabled_user_is_refused_and_the_token_is_not_consumed() {
    let mut ports = Ports::default();
    ports.stored(record()).session_is(live_session());
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
    ports.stored(record()).session_is(live_session());
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
    assert!(
        matches!(err, RefreshError::Failure(crate::Failure::StoreUnavailable(_))),
        "{err:?}"
    );
}

// ---- reuse and the grace window --------------------------------------------------------

/// The token issuer opens [`SEALED`] for [`PRESENTED`] as [`EARLIER_SUCCESSOR`].
fn opens_the_earlier_successor(ports: &mut Ports) {
    ports
        .tokens
        .expect_open_successor()
        .withf(|presented, sealed| presented == PRESENTED && sealed == SEALED)
        .returning(|_, _| Some(secret(EARLIER_SUCCESSOR)));
}

/// The successor handed out again is known to the store already: the insert that
/// makes sure of it is refused as a duplicate, and so writes nothing.
fn finds_the_successor_stored(ports: &mut Ports) {
    ports
        .tokens
        .expect_hash_refresh_token()
        .with(eq(EARLIER_SUCCESSOR))
        .returning(|_| TokenHash::new("earlier-successor-hash"));
    ports
        .store
        .expect_save()
        .withf(|r| r.hash.as_str() == "earlier-successor-hash" && r.used_at.is_none())
        .times(1)
        .returning(|_| Err(RepositoryError::Duplicate));
}

#[tokio::test]
async fn a_successor_an_interrupted_rotation_did_not_store_is_stored_when_handed_out_again() {
    let used_at = now().plus_seconds(-5);
    let mut ports = Ports::default();
    ports
        .stored(used(used_at))
        .session_is(live_session())
        .user_exists()
        .signs_access(StoredSessionSettings::none());
    opens_the_earlier_successor(&mut ports);
    ports
        .tokens
        .expect_hash_refresh_token()
        .with(eq(EARLIER_SUCCESSOR))
        .returning(|_| TokenHash::new("earlier-successor-hash"));
    ports
        .store
        .expect_save()
        .withf(move |r| {
            r.hash.as_str() == "earlier-successor-hash"
                && r.session_id == session()
                && r.expires_at == live_session().ends_at.min(used_at.plus_seconds(30 * DAY_SECONDS))
        })
        .times(1)
        .returning(|_| Ok(()));
    ports.sessions.expect_revoke().never();
    let renewed = ports.build().refresh(&secret(PRESENTED)).await.unwrap();
    assert!(holds(&renewed.refresh_token, EARLIER_SUCCESSOR));
}

#[tokio::test]
async fn a_used_token_presented_within_the_grace_window_gets_the_same_successor_and_nothing_is_written() {
    let used_at = now().plus_seconds(-9);
    let mut ports = Ports::default();
    ports
        .stored(used(used_at))
        .session_is(live_session())
        .user_exists()
        .signs_access(StoredSessionSettings::none());
    opens_the_earlier_successor(&mut ports);
    finds_the_successor_stored(&mut ports);
    ports.writes_nothing_but_the_access_token();

    let renewed = ports.build().refresh(&secret(PRESENTED)).await.unwrap();

    assert!(holds(&renewed.refresh_token, EARLIER_SUCCESSOR));
    assert!(holds(&renewed.access_token, ACCESS_TOKEN));
    assert_eq!(renewed.session_id, session());
    // The successor's own expiry, counted from the rotation that issued it.
    assert_eq!(
        renewed.refresh_token_expires_at,
        live_session().ends_at.min(used_at.plus_seconds(30 * DAY_SECONDS))
    );
}

impl Ports {
    /// Nothing is stored (any save but the refused one of
    /// [`finds_the_successor_stored`] has no expectation and fails), rotated or
    /// revoked; only an access token is signed.
    fn writes_nothing_but_the_access_token(&mut self) -> &mut Self {
        self.store.expect_rotate().never();
        self.sessions.expect_start().never();
        self.sessions.expect_revoke().never();
        self.sessions.expect_record_refresh().never();
        self.tokens.expect_mint_refresh_token().never();
        self
    }
}

#[tokio::test]
async fn a_used_token_presented_after_the_grace_window_revokes_the_session_for_reuse() {
    let mut ports = Ports::default();
    ports
        .stored(used(now().plus_seconds(-10)))
        .session_is(live_session());
    opens_the_earlier_successor(&mut ports);
    ports
        .sessions
        .expect_revoke()
        .withf(|s, at, reason| *s == session() && *at == now() && *reason == RevokedReason::Reuse)
        .times(1)
        .returning(|_, _, _| Ok(true));
    ports.store.expect_save().never();
    ports.store.expect_rotate().never();
    ports.users.expect_find_by_id().never();
    ports.tokens.expect_issue_access_token().never();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Reused), "{err:?}");
}

#[tokio::test]
async fn a_used_token_whose_successor_cannot_be_opened_is_a_reuse_even_within_the_window() {
    let mut ports = Ports::default();
    ports
        .stored(used(now().plus_seconds(-1)))
        .session_is(live_session());
    ports.tokens.expect_open_successor().returning(|_, _| None);
    ports
        .sessions
        .expect_revoke()
        .withf(|_, _, reason| *reason == RevokedReason::Reuse)
        .times(1)
        .returning(|_, _, _| Ok(true));
    ports.store.expect_save().never();
    ports.tokens.expect_issue_access_token().never();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Reused), "{err:?}");
}

#[tokio::test]
async fn the_grace_window_follows_the_policy() {
    // 60 seconds of grace: a token used 30 seconds ago still gets its successor.
    let mut ports = Ports {
        policy: RefreshPolicy {
            reuse_grace_seconds: 60,
        },
        ..Ports::default()
    };
    ports
        .stored(used(now().plus_seconds(-30)))
        .session_is(live_session())
        .user_exists()
        .signs_access(StoredSessionSettings::none());
    opens_the_earlier_successor(&mut ports);
    finds_the_successor_stored(&mut ports);
    ports.sessions.expect_revoke().never();
    let renewed = ports.build().refresh(&secret(PRESENTED)).await.unwrap();
    assert!(holds(&renewed.refresh_token, EARLIER_SUCCESSOR));

    // No grace: any second use is a reuse.
    let mut ports = Ports {
        policy: RefreshPolicy {
            reuse_grace_seconds: 0,
        },
        ..Ports::default()
    };
    ports.stored(used(now())).session_is(live_session());
    opens_the_earlier_successor(&mut ports);
    ports
        .sessions
        .expect_revoke()
        .times(1)
        .returning(|_, _, _| Ok(true));
    ports.store.expect_save().never();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Reused), "{err:?}");
}

#[tokio::test]
async fn losing_the_race_to_rotate_answers_the_successor_the_winner_recorded_and_stores_nothing() {
    let mut ports = Ports::default();
    let mut seq = Sequence::new();
    ports
        .store
        .expect_find_by_hash()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(Some(record())));
    ports.session_is(live_session()).user_exists().rotates(false);
    ports
        .store
        .expect_find_by_hash()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(Some(used(now()))));
    ports.signs_access(StoredSessionSettings::none());
    opens_the_earlier_successor(&mut ports);
    finds_the_successor_stored(&mut ports);
    ports.sessions.expect_revoke().never();
    ports.sessions.expect_record_refresh().never();

    let renewed = ports.build().refresh(&secret(PRESENTED)).await.unwrap();

    // The winner's successor, not the one this request minted.
    assert!(holds(&renewed.refresh_token, EARLIER_SUCCESSOR));
    assert_eq!(renewed.session_id, session());
}

// ---- records of the earlier shape ------------------------------------------------------

#[tokio::test]
async fn a_token_of_the_earlier_shape_adopts_its_session_from_its_start_and_refreshes() {
    let mut ports = Ports::default();
    ports.stored(legacy(None));
    ports.sessions.expect_find().times(1).returning(|_| Ok(None));
    // Read once to adopt the session (its organization), once to renew.
    ports
        .users
        .expect_find_by_id()
        .with(eq(user_id(USER_ID)))
        .times(2)
        .returning(|_| Ok(Some(user("admin@acme.example"))));
    ports
        .sessions
        .expect_start()
        .withf(|s| *s == live_session())
        .times(1)
        .returning(|_| Ok(()));
    ports.rotates(true).issues_pair(StoredSessionSettings::none());

    let renewed = ports.build().refresh(&secret(PRESENTED)).await.unwrap();
    assert_eq!(renewed.session_id, session());
    assert!(holds(&renewed.refresh_token, REFRESH_TOKEN));
}

#[tokio::test]
async fn two_adoptions_racing_use_the_session_the_first_stored() {
    let mut ports = Ports::default();
    ports.stored(legacy(None));
    let mut seq = Sequence::new();
    ports
        .sessions
        .expect_find()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(None));
    ports
        .users
        .expect_find_by_id()
        .returning(|_| Ok(Some(user("admin@acme.example"))));
    ports
        .sessions
        .expect_start()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(RepositoryError::Duplicate));
    ports
        .sessions
        .expect_find()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| {
            Ok(Some(SessionRecord {
                revoked_at: Some(now()),
                revoked_reason: Some(RevokedReason::Logout),
                ..live_session()
            }))
        });
    ports.store.expect_rotate().never();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Revoked), "{err:?}");
}

#[tokio::test]
async fn a_revoked_token_of_the_earlier_shape_is_refused_without_adopting_its_session() {
    let mut ports = Ports::default();
    ports.stored(legacy(Some(now().plus_seconds(-60))));
    ports.sessions.expect_find().never();
    ports.users.expect_find_by_id().never();
    ports.writes_nothing();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Revoked), "{err:?}");
}

// ---- logout --------------------------------------------------------------------------

fn logout_with(
    store: MockRefreshTokenStore,
    sessions: MockSessionStore,
    users: MockUserRepository,
    verifier: MockAccessTokenVerifier,
) -> Logout {
    let mut tokens = MockTokenIssuer::new();
    tokens
        .expect_hash_refresh_token()
        .with(eq(PRESENTED))
        .returning(|_| presented_hash());
    let tokens = Arc::new(tokens);
    let store = Arc::new(store);
    let sessions = Arc::new(sessions);
    let issuer = SessionIssuer::new(
        Arc::new(MockOrganizationRepository::new()),
        tokens.clone(),
        store.clone(),
        sessions.clone(),
        SessionConfig::default(),
        SessionLifetimes::default(),
    );
    Logout::new(
        store,
        sessions,
        Arc::new(users),
        issuer,
        tokens,
        Arc::new(verifier),
        crate::mocks::fixed_clock(now()),
    )
}

fn logout(
    store: MockRefreshTokenStore,
    sessions: MockSessionStore,
    verifier: MockAccessTokenVerifier,
) -> Logout {
    logout_with(store, sessions, MockUserRepository::new(), verifier)
}

fn claims(expires_at: Timestamp) -> VerifiedAccess {
    VerifiedAccess {
        user_id: user_id(USER_ID),
        organization_id: org_id(ACME_ORG),
        access_role: AccessRole::Admin,
        session_id: session(),
        expires_at,
    }
}

/// The session is revoked for logout once, answering `newly`.
fn sessions_revoking(newly: bool) -> MockSessionStore {
    let mut sessions = MockSessionStore::new();
    sessions
        .expect_revoke()
        .withf(|s, at, reason| *s == session() && *at == now() && *reason == RevokedReason::Logout)
        .times(1)
        .returning(move |_, _, _| Ok(newly));
    sessions.expect_start().never();
    sessions
}

#[tokio::test]
async fn logout_with_a_refresh_token_revokes_its_session_in_one_write() {
    let mut store = MockRefreshTokenStore::new();
    store
        .expect_find_by_hash()
        .times(1)
        .returning(|_| Ok(Some(used(now()))));
    store.expect_save().never();
    store.expect_rotate().never();
    let ended = logout(store, sessions_revoking(true), MockAccessTokenVerifier::new())
        .logout(LogoutCredential::RefreshToken(secret(PRESENTED)))
        .await
        .unwrap();
    assert_eq!(ended, Some(session()));
}

#[tokio::test]
async fn logout_of_a_session_already_revoked_succeeds_again() {
    let mut store = MockRefreshTokenStore::new();
    store.expect_find_by_hash().returning(|_| Ok(Some(record())));
    store.expect_save().never();
    let ended = logout(store, sessions_revoking(false), MockAccessTokenVerifier::new())
        .logout(LogoutCredential::RefreshToken(secret(PRESENTED)))
        .await
        .unwrap();
    assert_eq!(ended, Some(session()));
}

#[tokio::test]
async fn logout_with_an_unknown_refresh_token_succeeds_and_revokes_nothing() {
    let mut store = MockRefreshTokenStore::new();
    store.expect_find_by_hash().times(1).returning(|_| Ok(None));
    let mut sessions = MockSessionStore::new();
    sessions.expect_revoke().never();
    let ended = logout(store, sessions, MockAccessTokenVerifier::new())
        .logout(LogoutCredential::RefreshToken(secret(PRESENTED)))
        .await
        .unwrap();
    assert_eq!(ended, None);
}

#[tokio::test]
async fn logout_with_an_expired_but_correctly_signed_access_token_revokes_its_session() {
    let mut verifier = MockAccessTokenVerifier::new();
    verifier
        .expect_verify()
        .with(eq("header.claims.signature"))
        .times(1)
        .returning(|_| Ok(claims(now().plus_seconds(-3600))));
    let mut store = MockRefreshTokenStore::new();
    store.expect_find_by_hash().never();
    let ended = logout(store, sessions_revoking(true), verifier)
        .logout(LogoutCredential::AccessToken(secret("header.claims.signature")))
        .await
        .unwrap();
    assert_eq!(ended, Some(session()));
}

#[tokio::test]
async fn logout_with_a_badly_signed_access_token_is_refused_and_revokes_nothing() {
    let mut verifier = MockAccessTokenVerifier::new();
    verifier.expect_verify().returning(|_| Err(InvalidAccessToken));
    let mut sessions = MockSessionStore::new();
    sessions.expect_revoke().never();
    let err = logout(MockRefreshTokenStore::new(), sessions, verifier)
        .logout(LogoutCredential::AccessToken(secret("forged")))
        .await
        .unwrap_err();
    assert!(matches!(err, LogoutError::InvalidAccessToken), "{err:?}");
}

#[tokio::test]
async fn logout_with_a_live_token_of_the_earlier_shape_adopts_then_revokes_its_session() {
    let mut store = MockRefreshTokenStore::new();
    store
        .expect_find_by_hash()
        .times(1)
        .returning(|_| Ok(Some(legacy(None))));
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_id()
        .times(1)
        .returning(|_| Ok(Some(user("admin@acme.example"))));
    let mut sessions = MockSessionStore::new();
    let mut seq = Sequence::new();
    sessions
        .expect_find()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(None));
    sessions
        .expect_start()
        .withf(|s| *s == live_session())
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    sessions
        .expect_revoke()
        .withf(|s, _, reason| *s == session() && *reason == RevokedReason::Logout)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Ok(true));
    let ended = logout_with(store, sessions, users, MockAccessTokenVerifier::new())
        .logout(LogoutCredential::RefreshToken(secret(PRESENTED)))
        .await
        .unwrap();
    assert_eq!(ended, Some(session()));
}
