//! `RefreshSession` (rotation as one compare-and-set on the session, the consumed
//! token recorded, grace window, reuse, records of the earlier shapes) and `Logout`
//! (one write to the session record).

use std::sync::Arc;

use mockall::Sequence;
use mockall::predicate::eq;

use super::support::*;
use crate::{
    AccessRole, InvalidAccessToken, LiveRefreshToken, Logout, LogoutCredential, LogoutError,
    MAX_REFRESH_TOKEN_LEN, MockAccessTokenVerifier, MockOrganizationRepository, MockRefreshTokenStore,
    MockSessionStore, MockTokenIssuer, MockUserRepository, Organization, RefreshError, RefreshPolicy,
    RefreshSession, RefreshTokenRecord, RepositoryError, RevokedReason, Rotation, RotationOutcome,
    SessionConfig, SessionField, SessionId, SessionIssuer, SessionLifetimes, SessionRecord, SettingValue,
    StoredSessionSettings, Timestamp, TokenHash, VerifiedAccess,
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
/// What an earlier rotation of [`PRESENTED`] sealed its successor into.
const EARLIER_SEALED: &str = "v1.earlier-sealed-successor";
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

/// When [`PRESENTED`] stops being accepted: in a week.
fn presented_expiry() -> Timestamp {
    now().plus_seconds(7 * DAY_SECONDS)
}

/// The successor this request mints, as the session's live token: [`REFRESH_HASH`],
/// 30 days from now.
fn successor() -> LiveRefreshToken {
    LiveRefreshToken {
        hash: TokenHash::new(REFRESH_HASH),
        expires_at: now().plus_seconds(30 * DAY_SECONDS),
    }
}

/// The live session of [`PRESENTED`], 30 days long, holding it as its live token.
fn live_session() -> SessionRecord {
    SessionRecord {
        refresh_token: Some(LiveRefreshToken {
            hash: presented_hash(),
            expires_at: presented_expiry(),
        }),
        ..session_record(SESSION, started())
    }
}

/// [`live_session`] as the rotation of [`PRESENTED`] at `at` leaves it, its successor
/// `live` and sealed as `sealed`.
fn rotated_session_to(at: Timestamp, live: LiveRefreshToken, sealed: &str) -> SessionRecord {
    SessionRecord {
        refresh_token: Some(live),
        last_rotation: Some(Rotation {
            hash: presented_hash(),
            expires_at: presented_expiry(),
            used_at: at,
            sealed_successor: sealed.to_owned(),
        }),
        last_refreshed_at: Some(at),
        ..live_session()
    }
}

/// [`live_session`] after this request's rotation of [`PRESENTED`].
fn rotated_session() -> SessionRecord {
    rotated_session_to(now(), successor(), SEALED)
}

/// [`live_session`] after an earlier rotation of [`PRESENTED`] at `at`, which handed
/// out [`EARLIER_SUCCESSOR`] (sealed as [`EARLIER_SEALED`]).
fn rotated_earlier(at: Timestamp) -> SessionRecord {
    rotated_session_to(
        at,
        LiveRefreshToken {
            hash: TokenHash::new("earlier-successor-hash"),
            expires_at: at.plus_seconds(30 * DAY_SECONDS),
        },
        EARLIER_SEALED,
    )
}

/// The record of [`PRESENTED`] consumed at `at` by a rotation in the session, as
/// kept to recognise it later.
fn consumed(at: Timestamp, sealed: &str) -> RefreshTokenRecord {
    RefreshTokenRecord {
        hash: presented_hash(),
        session_id: session(),
        expires_at: presented_expiry(),
        used_at: Some(at),
        sealed_successor: Some(sealed.to_owned()),
    }
}

/// A record of [`PRESENTED`], unused, that expires in a week.
fn record() -> RefreshTokenRecord {
    RefreshTokenRecord {
        hash: presented_hash(),
        session_id: session(),
        expires_at: presented_expiry(),
        used_at: None,
        sealed_successor: None,
    }
}

/// [`record`] rotated at `at`, its successor sealed as [`EARLIER_SEALED`].
fn used(at: Timestamp) -> RefreshTokenRecord {
    RefreshTokenRecord {
        used_at: Some(at),
        sealed_successor: Some(EARLIER_SEALED.to_owned()),
        ..record()
    }
}

/// Every port of the refresh use case as mocks (an unexpected call fails the test),
/// plus the policy and lifetimes to build it with. The token issuer hashes
/// [`PRESENTED`], mints [`REFRESH_TOKEN`] once and seals it for [`PRESENTED`] once
/// (every exchange does, before its compare-and-set).
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
        Self::with_tokens(exchanging_tokens())
    }
}

/// A token issuer that hashes [`PRESENTED`], mints [`REFRESH_TOKEN`] once and seals it
/// for [`PRESENTED`] once.
fn exchanging_tokens() -> MockTokenIssuer {
    let mut tokens = MockTokenIssuer::new();
    tokens
        .expect_hash_refresh_token()
        .with(eq(PRESENTED))
        .returning(|_| presented_hash());
    tokens.expect_mint_refresh_token().times(1).returning(minted);
    tokens
        .expect_seal_successor()
        .withf(|presented, successor| presented == PRESENTED && holds(successor, REFRESH_TOKEN))
        .times(1)
        .returning(|_, _| SEALED.to_owned());
    tokens.expect_new_session_id().never();
    tokens
}

impl Ports {
    /// The ports over `tokens`, every other mock without expectations.
    fn with_tokens(tokens: MockTokenIssuer) -> Self {
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

    /// The compare-and-set of [`PRESENTED`] to [`successor`] (at now, sealed as
    /// [`SEALED`]) answers `outcome` (once).
    fn session_rotation(&mut self, outcome: RotationOutcome) -> &mut Self {
        self.sessions
            .expect_rotate()
            .withf(|presented, live, at, sealed| {
                *presented == presented_hash() && *live == successor() && *at == now() && sealed == SEALED
            })
            .times(1)
            .return_once(move |_, _, _, _| Ok(outcome));
        self
    }

    /// No session holds [`PRESENTED`] as its live token nor as its last consumed one:
    /// the rotation refuses it with none.
    fn in_no_session(&mut self) -> &mut Self {
        self.session_rotation(RotationOutcome::Refused(None))
    }

    /// The rotation refuses [`PRESENTED`] with `found`, the session that holds it.
    fn held_by(&mut self, found: SessionRecord) -> &mut Self {
        self.session_rotation(RotationOutcome::Refused(Some(found)))
    }

    /// The refresh token store knows [`PRESENTED`] as `found` (once).
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

    /// The consumed [`PRESENTED`] is recorded (once) as `expected`; the store answers `answer`.
    fn records_consumed(
        &mut self,
        expected: RefreshTokenRecord,
        answer: Result<(), RepositoryError>,
    ) -> &mut Self {
        self.store
            .expect_save()
            .withf(move |r| *r == expected)
            .times(1)
            .return_once(move |_| answer);
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
        self.tokens
            .expect_issue_access_token()
            .withf(|claims| claims.session_id == session() && claims.issued_at == now())
            .times(1)
            .returning(|_| Ok(secret(ACCESS_TOKEN)));
        self
    }

    /// The token issuer opens [`EARLIER_SEALED`] for [`PRESENTED`] as [`EARLIER_SUCCESSOR`].
    fn opens_the_earlier_successor(&mut self) -> &mut Self {
        self.tokens
            .expect_open_successor()
            .withf(|presented, sealed| presented == PRESENTED && sealed == EARLIER_SEALED)
            .returning(|_, _| Some(secret(EARLIER_SUCCESSOR)));
        self
    }

    /// The session is revoked for reuse, once.
    fn revokes_for_reuse(&mut self) -> &mut Self {
        self.sessions
            .expect_revoke()
            .withf(|s, at, reason| *s == session() && *at == now() && *reason == RevokedReason::Reuse)
            .times(1)
            .returning(|_, _, _| Ok(true));
        self
    }

    /// Nothing is stored, rotated, installed or revoked, and no access token signed
    /// (a missing compare-and-set or lookup expectation fails the test too).
    fn writes_nothing(&mut self) -> &mut Self {
        self.writes_nothing_but_the_access_token();
        self.store.expect_save().never();
        self.tokens.expect_issue_access_token().never();
        self
    }

    /// Nothing is stored, rotated, installed or revoked; an access token may be signed.
    fn writes_nothing_but_the_access_token(&mut self) -> &mut Self {
        self.sessions.expect_start().never();
        self.sessions.expect_revoke().never();
        self
    }
}

// ---- rotation in the session ---------------------------------------------------------

#[tokio::test]
async fn a_live_token_is_rotated_in_one_compare_and_set_then_recorded_as_used_and_exchanged_in_the_same_session()
 {
    let mut ports = Ports::default();
    let mut seq = Sequence::new();
    ports
        .sessions
        .expect_rotate()
        .withf(|presented, live, at, sealed| {
            *presented == presented_hash() && *live == successor() && *at == now() && sealed == SEALED
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Ok(RotationOutcome::Rotated(rotated_session())));
    ports
        .store
        .expect_save()
        .withf(|r| *r == consumed(now(), SEALED))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    ports
        .users
        .expect_find_by_id()
        .with(eq(user_id(USER_ID)))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(Some(user("admin@acme.example"))));
    ports.signs_access(StoredSessionSettings::none());
    // One compare-and-set: no lookup of the token, no other write.
    ports.sessions.expect_find_by_refresh_token().never();
    ports.sessions.expect_find().never();
    ports.store.expect_find_by_hash().never();
    ports.writes_nothing_but_the_access_token();

    let renewed = ports.build().refresh(&secret(PRESENTED)).await.unwrap();

    assert!(holds(&renewed.access_token, ACCESS_TOKEN));
    assert!(holds(&renewed.refresh_token, REFRESH_TOKEN));
    assert_eq!(renewed.session_id, session());
    assert_eq!(renewed.user, user("admin@acme.example"));
    assert_eq!(renewed.session_config, SessionConfig::default());
    assert_eq!(renewed.access_token_expires_at, now().plus_seconds(8 * 3600));
    assert_eq!(
        renewed.refresh_token_expires_at,
        now().plus_seconds(29 * DAY_SECONDS)
    );
}

#[tokio::test]
async fn a_consumed_token_already_recorded_is_fine() {
    let mut ports = Ports::default();
    ports
        .session_rotation(RotationOutcome::Rotated(rotated_session()))
        .records_consumed(consumed(now(), SEALED), Err(RepositoryError::Duplicate))
        .user_exists()
        .signs_access(StoredSessionSettings::none())
        .writes_nothing_but_the_access_token();

    let renewed = ports.build().refresh(&secret(PRESENTED)).await.unwrap();

    assert!(holds(&renewed.refresh_token, REFRESH_TOKEN));
    assert_eq!(renewed.session_id, session());
}

#[tokio::test]
async fn an_outage_recording_the_consumed_token_fails_the_refresh_before_anything_is_signed() {
    let mut ports = Ports::default();
    ports
        .session_rotation(RotationOutcome::Rotated(rotated_session()))
        .records_consumed(
            consumed(now(), SEALED),
            Err(RepositoryError::Unavailable("not primary".into())),
        );
    ports.users.expect_find_by_id().never();
    ports.tokens.expect_issue_access_token().never();

    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();

    assert!(
        matches!(err, RefreshError::Failure(crate::Failure::StoreUnavailable(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_organizations_current_policy_applies_at_the_next_refresh() {
    let settings = StoredSessionSettings::none()
        .with(SessionField::IdleTimeoutMinutes, SettingValue::Number(15.0))
        .with(SessionField::TokenExpiryHours, SettingValue::Number(2.0));
    let mut ports = Ports::default();
    ports
        .session_rotation(RotationOutcome::Rotated(rotated_session()))
        .records_consumed(consumed(now(), SEALED), Ok(()))
        .user_exists()
        .signs_access(settings);

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
    let rotated = SessionRecord {
        started_at: started_long_ago,
        ends_at: now().plus_seconds(DAY_SECONDS),
        ..rotated_session()
    };
    ports
        .session_rotation(RotationOutcome::Rotated(rotated))
        .records_consumed(consumed(now(), SEALED), Ok(()))
        .user_exists()
        .signs_access(StoredSessionSettings::none());

    let renewed = ports.build().refresh(&secret(PRESENTED)).await.unwrap();

    assert_eq!(renewed.refresh_token_expires_at, now().plus_seconds(DAY_SECONDS));
    assert_eq!(renewed.access_token_expires_at, now().plus_seconds(8 * 3600));
}

#[tokio::test]
async fn a_disabled_user_is_refused_after_the_rotation_and_gets_no_tokens() {
    let mut ports = Ports::default();
    ports
        .session_rotation(RotationOutcome::Rotated(rotated_session()))
        .records_consumed(consumed(now(), SEALED), Ok(()));
    ports.users.expect_find_by_id().times(1).returning(|_| {
        Ok(Some(crate::User {
            login_disabled: true,
            ..user("admin@acme.example")
        }))
    });
    ports.tokens.expect_issue_access_token().never();
    ports.writes_nothing_but_the_access_token();

    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();

    assert!(matches!(err, RefreshError::LoginDisabled), "{err:?}");
}

#[tokio::test]
async fn a_token_whose_user_no_longer_exists_is_invalid() {
    let mut ports = Ports::default();
    ports
        .session_rotation(RotationOutcome::Rotated(rotated_session()))
        .records_consumed(consumed(now(), SEALED), Ok(()));
    ports.users.expect_find_by_id().times(1).returning(|_| Ok(None));
    ports.tokens.expect_issue_access_token().never();
    ports.writes_nothing_but_the_access_token();

    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();

    assert!(matches!(err, RefreshError::Invalid), "{err:?}");
}

// ---- refused tokens ------------------------------------------------------------------

#[tokio::test]
async fn an_unknown_token_is_invalid_and_nothing_is_written() {
    let mut ports = Ports::default();
    ports.in_no_session();
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
        let mut ports = Ports::with_tokens(MockTokenIssuer::new());
        ports.tokens.expect_hash_refresh_token().never();
        ports.tokens.expect_mint_refresh_token().never();
        ports.sessions.expect_rotate().never();
        ports.sessions.expect_find_by_refresh_token().never();
        ports.store.expect_find_by_hash().never();
        ports.writes_nothing();
        let err = ports.build().refresh(&secret(&token)).await.unwrap_err();
        assert!(matches!(err, RefreshError::Invalid), "{err:?}");
    }
}

#[tokio::test]
async fn a_live_token_of_a_revoked_session_is_refused_as_revoked() {
    for reason in [RevokedReason::Logout, RevokedReason::Reuse] {
        let mut ports = Ports::default();
        ports.held_by(SessionRecord {
            revoked_at: Some(now().plus_seconds(-60)),
            revoked_reason: Some(reason),
            ..live_session()
        });
        ports.writes_nothing();
        ports.users.expect_find_by_id().never();
        ports.store.expect_find_by_hash().never();
        let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
        assert!(matches!(err, RefreshError::Revoked), "{err:?}");
    }
}

#[tokio::test]
async fn a_consumed_token_of_a_revoked_session_is_refused_as_revoked_without_revoking_again() {
    let mut ports = Ports::default();
    ports.held_by(SessionRecord {
        revoked_at: Some(now().plus_seconds(-60)),
        revoked_reason: Some(RevokedReason::Reuse),
        ..rotated_earlier(now().plus_seconds(-120))
    });
    ports.tokens.expect_open_successor().never();
    ports.writes_nothing();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Revoked), "{err:?}");
}

#[tokio::test]
async fn a_session_past_its_absolute_lifetime_is_refused_even_with_an_unexpired_token() {
    let mut ports = Ports::default();
    // The session ends now.
    ports.held_by(SessionRecord {
        ends_at: now(),
        ..live_session()
    });
    ports.writes_nothing();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::SessionExpired), "{err:?}");
}

#[tokio::test]
async fn an_expired_live_token_is_refused_as_expired() {
    let mut ports = Ports::default();
    // The compare-and-set refused it; the session holds it, expired now.
    ports.held_by(SessionRecord {
        refresh_token: Some(LiveRefreshToken {
            hash: presented_hash(),
            expires_at: now(),
        }),
        ..live_session()
    });
    ports.users.expect_find_by_id().never();
    ports.store.expect_find_by_hash().never();
    ports.writes_nothing();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Expired), "{err:?}");
}

#[tokio::test]
async fn a_store_outage_is_reported_as_unavailable() {
    let mut ports = Ports::default();
    ports
        .sessions
        .expect_rotate()
        .times(1)
        .returning(|_, _, _, _| Err(RepositoryError::Unavailable("down".into())));
    ports.sessions.expect_find_by_refresh_token().never();
    ports.store.expect_find_by_hash().never();
    ports.writes_nothing();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(
        matches!(err, RefreshError::Failure(crate::Failure::StoreUnavailable(_))),
        "{err:?}"
    );

    let mut ports = Ports::default();
    ports.in_no_session();
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

// ---- reuse and the grace window: the session's last rotation ----------------------------

#[tokio::test]
async fn a_token_the_last_rotation_consumed_within_the_grace_window_gets_the_same_successor() {
    // Two tabs: the other one rotated PRESENTED 9 seconds ago.
    let used_at = now().plus_seconds(-9);
    let mut ports = Ports::default();
    ports
        .held_by(rotated_earlier(used_at))
        .opens_the_earlier_successor()
        .user_exists()
        .signs_access(StoredSessionSettings::none())
        // In case that rotation could not record it; already there.
        .records_consumed(consumed(used_at, EARLIER_SEALED), Err(RepositoryError::Duplicate))
        .writes_nothing_but_the_access_token();
    ports.store.expect_find_by_hash().never();

    let renewed = ports.build().refresh(&secret(PRESENTED)).await.unwrap();

    // The successor the first exchange handed out, not the one this request minted.
    assert!(holds(&renewed.refresh_token, EARLIER_SUCCESSOR));
    assert!(holds(&renewed.access_token, ACCESS_TOKEN));
    assert_eq!(renewed.session_id, session());
    // The successor's own expiry, counted from the rotation that issued it.
    // The successor's own expiry, counted from the rotation that issued it, never
    // after the session.
    assert_eq!(
        renewed.refresh_token_expires_at,
        live_session().ends_at.min(used_at.plus_seconds(30 * DAY_SECONDS))
    );
}

#[tokio::test]
async fn a_replay_within_the_grace_window_records_the_consumed_token_if_the_rotation_could_not() {
    let used_at = now().plus_seconds(-2);
    let mut ports = Ports::default();
    ports
        .held_by(rotated_earlier(used_at))
        .opens_the_earlier_successor()
        .user_exists()
        .signs_access(StoredSessionSettings::none())
        .records_consumed(consumed(used_at, EARLIER_SEALED), Ok(()))
        .writes_nothing_but_the_access_token();

    let renewed = ports.build().refresh(&secret(PRESENTED)).await.unwrap();

    assert!(holds(&renewed.refresh_token, EARLIER_SUCCESSOR));
}

#[tokio::test]
async fn a_token_the_last_rotation_consumed_after_the_grace_window_revokes_the_session_for_reuse() {
    let mut ports = Ports::default();
    ports
        .held_by(rotated_earlier(now().plus_seconds(-10)))
        .opens_the_earlier_successor()
        .revokes_for_reuse();
    ports.store.expect_save().never();
    ports.users.expect_find_by_id().never();
    ports.tokens.expect_issue_access_token().never();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Reused), "{err:?}");
}

#[tokio::test]
async fn a_consumed_token_whose_successor_cannot_be_opened_is_a_reuse_even_within_the_window() {
    let mut ports = Ports::default();
    ports.held_by(rotated_earlier(now().plus_seconds(-1)));
    ports.tokens.expect_open_successor().returning(|_, _| None);
    ports.revokes_for_reuse();
    ports.store.expect_save().never();
    ports.tokens.expect_issue_access_token().never();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Reused), "{err:?}");
}

#[tokio::test]
async fn the_grace_window_follows_the_policy() {
    // 60 seconds of grace: a token consumed 30 seconds ago still gets its successor.
    let used_at = now().plus_seconds(-30);
    let mut ports = Ports {
        policy: RefreshPolicy {
            reuse_grace_seconds: 60,
        },
        ..Ports::default()
    };
    ports
        .held_by(rotated_earlier(used_at))
        .opens_the_earlier_successor()
        .user_exists()
        .signs_access(StoredSessionSettings::none())
        .records_consumed(consumed(used_at, EARLIER_SEALED), Err(RepositoryError::Duplicate));
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
    ports
        .held_by(rotated_earlier(now()))
        .opens_the_earlier_successor()
        .revokes_for_reuse();
    ports.store.expect_save().never();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Reused), "{err:?}");
}

// ---- reuse and the grace window: consumed tokens kept as records ------------------------

#[tokio::test]
async fn a_used_record_presented_within_the_grace_window_gets_the_same_successor_and_nothing_is_written() {
    let used_at = now().plus_seconds(-9);
    let mut ports = Ports::default();
    ports
        .in_no_session()
        .stored(used(used_at))
        .session_is(rotated_earlier(used_at))
        .opens_the_earlier_successor()
        .user_exists()
        .signs_access(StoredSessionSettings::none())
        .writes_nothing_but_the_access_token();
    ports.store.expect_save().never();

    let renewed = ports.build().refresh(&secret(PRESENTED)).await.unwrap();

    assert!(holds(&renewed.refresh_token, EARLIER_SUCCESSOR));
    assert_eq!(renewed.session_id, session());
    // The successor's own expiry, counted from the rotation that issued it, never
    // after the session.
    assert_eq!(
        renewed.refresh_token_expires_at,
        live_session().ends_at.min(used_at.plus_seconds(30 * DAY_SECONDS))
    );
}

#[tokio::test]
async fn a_used_record_presented_after_the_grace_window_revokes_the_session_for_reuse() {
    // E.g. a token consumed two rotations ago: no session names it any more.
    let mut ports = Ports::default();
    ports
        .in_no_session()
        .stored(used(now().plus_seconds(-3600)))
        .session_is(rotated_earlier(now().plus_seconds(-60)))
        .opens_the_earlier_successor()
        .revokes_for_reuse();
    ports.store.expect_save().never();
    ports.users.expect_find_by_id().never();
    ports.tokens.expect_issue_access_token().never();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Reused), "{err:?}");
}

#[tokio::test]
async fn a_record_of_a_revoked_session_is_refused_as_revoked() {
    let mut ports = Ports::default();
    ports
        .in_no_session()
        .stored(used(now().plus_seconds(-3600)))
        .session_is(SessionRecord {
            revoked_at: Some(now().plus_seconds(-60)),
            revoked_reason: Some(RevokedReason::Logout),
            ..live_session()
        });
    ports.users.expect_find_by_id().never();
    ports.writes_nothing();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Revoked), "{err:?}");
}

#[tokio::test]
async fn a_record_whose_session_is_gone_is_invalid() {
    let mut ports = Ports::default();
    ports.in_no_session().stored(record());
    ports.sessions.expect_find().times(1).returning(|_| Ok(None));
    ports.writes_nothing();
    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();
    assert!(matches!(err, RefreshError::Invalid), "{err:?}");
}

#[tokio::test]
async fn an_unused_record_its_session_did_not_rotate_is_an_internal_failure() {
    // Consumed tokens are recorded used; an unused one the rotation refused while
    // its session may be renewed means the store broke its contract.
    let mut ports = Ports::default();
    ports
        .in_no_session()
        .stored(record())
        .session_is(session_record(SESSION, started()));
    ports.users.expect_find_by_id().never();
    ports.writes_nothing();

    let err = ports.build().refresh(&secret(PRESENTED)).await.unwrap_err();

    assert!(
        matches!(err, RefreshError::Failure(crate::Failure::Internal(_))),
        "{err:?}"
    );
}

// ---- logout --------------------------------------------------------------------------

fn logout(
    store: MockRefreshTokenStore,
    sessions: MockSessionStore,
    verifier: MockAccessTokenVerifier,
) -> Logout {
    let mut tokens = MockTokenIssuer::new();
    tokens
        .expect_hash_refresh_token()
        .with(eq(PRESENTED))
        .returning(|_| presented_hash());
    Logout::new(
        Arc::new(store),
        Arc::new(sessions),
        Arc::new(tokens),
        Arc::new(verifier),
        crate::mocks::fixed_clock(now()),
    )
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

/// The session is revoked for logout once, answering `newly`; `holding` is the
/// session that holds [`PRESENTED`] (as its live token or its last consumed one), if any.
fn sessions_revoking(newly: bool, holding: Option<SessionRecord>) -> MockSessionStore {
    let mut sessions = MockSessionStore::new();
    sessions
        .expect_find_by_refresh_token()
        .withf(|h| *h == presented_hash())
        .times(0..=1)
        .return_once(move |_| Ok(holding));
    sessions
        .expect_revoke()
        .withf(|s, at, reason| *s == session() && *at == now() && *reason == RevokedReason::Logout)
        .times(1)
        .returning(move |_, _, _| Ok(newly));
    sessions.expect_start().never();
    sessions.expect_rotate().never();
    sessions
}

#[tokio::test]
async fn logout_with_a_live_refresh_token_revokes_the_session_holding_it_in_one_write() {
    let mut store = MockRefreshTokenStore::new();
    store.expect_find_by_hash().never();
    store.expect_save().never();
    let ended = logout(
        store,
        sessions_revoking(true, Some(live_session())),
        MockAccessTokenVerifier::new(),
    )
    .logout(LogoutCredential::RefreshToken(secret(PRESENTED)))
    .await
    .unwrap();
    assert_eq!(ended, Some(session()));
}

#[tokio::test]
async fn logout_with_a_token_consumed_long_ago_revokes_its_session_through_its_record() {
    let mut store = MockRefreshTokenStore::new();
    store
        .expect_find_by_hash()
        .times(1)
        .returning(|_| Ok(Some(used(now().plus_seconds(-3600)))));
    store.expect_save().never();
    let ended = logout(
        store,
        sessions_revoking(true, None),
        MockAccessTokenVerifier::new(),
    )
    .logout(LogoutCredential::RefreshToken(secret(PRESENTED)))
    .await
    .unwrap();
    assert_eq!(ended, Some(session()));
}

#[tokio::test]
async fn logout_of_a_session_already_revoked_succeeds_again() {
    let mut store = MockRefreshTokenStore::new();
    store.expect_find_by_hash().never();
    store.expect_save().never();
    let revoked = SessionRecord {
        revoked_at: Some(now().plus_seconds(-60)),
        revoked_reason: Some(RevokedReason::Logout),
        ..live_session()
    };
    let ended = logout(
        store,
        sessions_revoking(false, Some(revoked)),
        MockAccessTokenVerifier::new(),
    )
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
    sessions
        .expect_find_by_refresh_token()
        .times(1)
        .returning(|_| Ok(None));
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
    let mut sessions = MockSessionStore::new();
    sessions
        .expect_revoke()
        .withf(|s, at, reason| *s == session() && *at == now() && *reason == RevokedReason::Logout)
        .times(1)
        .returning(|_, _, _| Ok(true));
    sessions.expect_find_by_refresh_token().never();
    let ended = logout(store, sessions, verifier)
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
