//! `SessionIssuer`: session policy resolution and token issuance.

use std::sync::Arc;

use super::support::*;
use crate::{
    AccessClaims, AccessRole, IssueError, LiveRefreshToken, MockOrganizationRepository, MockSessionStore,
    MockTokenIssuer, Organization, PasswordFallbackBehavior, RepositoryError, SessionConfig, SessionField,
    SessionFields, SessionId, SessionIssuer, SessionLifetimes, SessionRecord, SettingValue,
    SsoFallbackBehavior, StoredSessionSettings, Timestamp, TokenError, TokenHash,
};

const DAY_SECONDS: i64 = 24 * 3600;

/// `organizations` holds [`ACME_ORG`] with these stored settings.
fn acme_with(settings: StoredSessionSettings) -> MockOrganizationRepository {
    let mut organizations = MockOrganizationRepository::new();
    organizations
        .expect_find_by_id()
        .withf(|id| *id == org_id(ACME_ORG))
        .times(1)
        .returning(move |id| {
            Ok(Some(Organization {
                id,
                name: "Acme".to_owned(),
                session_settings: settings.clone(),
                workos_organization_id: None,
            }))
        });
    organizations
}

/// `organizations` holds no organization at all.
fn no_organizations() -> MockOrganizationRepository {
    let mut organizations = MockOrganizationRepository::new();
    organizations.expect_find_by_id().times(1).returning(|_| Ok(None));
    organizations
}

/// Global defaults that differ from the documented ones in every field.
fn custom_defaults() -> SessionConfig {
    SessionConfig::new(SessionFields {
        enabled: false,
        idle_timeout_minutes: 45,
        token_expiry_hours: 12,
        warning_time_minutes: 5,
        idle_tracking_enabled: false,
        sso_silent_renewal_enabled: false,
        sso_fallback_behavior: SsoFallbackBehavior::ReauthButton,
        password_silent_renewal_enabled: true,
        password_fallback_behavior: PasswordFallbackBehavior::ReauthModal,
    })
    .unwrap()
}

fn issuer_with_defaults(organizations: MockOrganizationRepository, defaults: SessionConfig) -> SessionIssuer {
    SessionIssuer::new(
        Arc::new(organizations),
        Arc::new(MockTokenIssuer::new()),
        Arc::new(sessions_accepting()),
        defaults,
        SessionLifetimes::default(),
    )
}

/// A session store that must store exactly `expected`, once.
fn sessions_storing(expected: SessionRecord) -> MockSessionStore {
    let mut sessions = MockSessionStore::new();
    sessions
        .expect_start()
        .withf(move |s| *s == expected)
        .times(1)
        .returning(|_| Ok(()));
    sessions
}

/// A session store that must not be written at all.
fn sessions_untouched() -> MockSessionStore {
    let mut sessions = MockSessionStore::new();
    sessions.expect_start().never();
    sessions.expect_revoke().never();
    sessions.expect_rotate().never();
    sessions
}

/// A token issuer that signs one access token whatever the claims and mints nothing
/// (the answer of a rotation: its refresh token was minted by the caller).
fn signs_only() -> MockTokenIssuer {
    let mut tokens = MockTokenIssuer::new();
    tokens.expect_new_session_id().never();
    tokens.expect_mint_refresh_token().never();
    tokens
        .expect_issue_access_token()
        .times(1)
        .returning(|_| Ok(secret(ACCESS_TOKEN)));
    tokens
}

// ---- start_session ------------------------------------------------------------------

#[tokio::test]
async fn start_session_signs_claims_of_the_user_in_a_new_session_for_the_default_token_lifetime() {
    let expected = AccessClaims {
        user_id: user_id(USER_ID),
        organization_id: org_id(ACME_ORG),
        access_role: AccessRole::Admin,
        email: email("admin@acme.example"),
        session_id: SessionId::new(SESSION_ID),
        issued_at: now(),
        expires_at: now().plus_seconds(8 * 3600),
    };
    let mut tokens = MockTokenIssuer::new();
    tokens
        .expect_new_session_id()
        .times(1)
        .returning(|| SessionId::new(SESSION_ID));
    tokens
        .expect_issue_access_token()
        .withf(move |claims| *claims == expected)
        .times(1)
        .returning(|_| Ok(secret(ACCESS_TOKEN)));
    tokens.expect_mint_refresh_token().times(1).returning(minted);

    let session = issuer(acme_with(StoredSessionSettings::none()), tokens)
        .start_session(user("admin@acme.example"), None, now())
        .await
        .unwrap();

    assert!(holds(&session.access_token, ACCESS_TOKEN));
    assert!(holds(&session.refresh_token, REFRESH_TOKEN));
    assert_eq!(session.access_token_expires_at, now().plus_seconds(8 * 3600));
    assert_eq!(session.session_id, SessionId::new(SESSION_ID));
    assert_eq!(session.session_config, SessionConfig::default());
    assert_eq!(session.user, user("admin@acme.example"));
}

#[tokio::test]
async fn start_session_stores_one_session_record_carrying_the_refresh_token_digest_and_its_expiry() {
    // The refresh token (7 days) ends before the session (14 days).
    let lifetimes = SessionLifetimes {
        refresh_token_seconds: 7 * DAY_SECONDS,
        absolute_session_seconds: 14 * DAY_SECONDS,
    };
    let sessions = sessions_storing(SessionRecord {
        id: SessionId::new(SESSION_ID),
        user_id: user_id(USER_ID),
        organization_id: org_id(ACME_ORG),
        started_at: now(),
        ends_at: now().plus_seconds(14 * DAY_SECONDS),
        revoked_at: None,
        revoked_reason: None,
        last_refreshed_at: None,
        refresh_token: Some(LiveRefreshToken {
            hash: TokenHash::new(REFRESH_HASH),
            expires_at: now().plus_seconds(7 * DAY_SECONDS),
        }),
        last_rotation: None,
        login_answer: None,
    });
    let issuer = SessionIssuer::new(
        Arc::new(acme_with(StoredSessionSettings::none())),
        Arc::new(token_issuer()),
        Arc::new(sessions),
        SessionConfig::default(),
        lifetimes,
    );

    let session = issuer
        .start_session(user("admin@acme.example"), None, now())
        .await
        .unwrap();

    assert_eq!(session.session_id, SessionId::new(SESSION_ID));
    assert!(holds(&session.refresh_token, REFRESH_TOKEN));
    assert_ne!(REFRESH_HASH, REFRESH_TOKEN, "only the digest is stored");
    assert_eq!(
        session.refresh_token_expires_at,
        now().plus_seconds(7 * DAY_SECONDS)
    );
}

#[tokio::test]
async fn the_first_refresh_token_of_a_session_shorter_than_its_lifetime_ends_with_the_session() {
    // SESSION_ABSOLUTE_LIFETIME_DAYS=1 with 30-day refresh tokens: the stored expiry is
    // the session's end.
    let lifetimes = SessionLifetimes {
        refresh_token_seconds: 30 * DAY_SECONDS,
        absolute_session_seconds: DAY_SECONDS,
    };
    let mut sessions = MockSessionStore::new();
    sessions
        .expect_start()
        .withf(|s| {
            s.ends_at == now().plus_seconds(DAY_SECONDS)
                && s.refresh_token
                    == Some(LiveRefreshToken {
                        hash: TokenHash::new(REFRESH_HASH),
                        expires_at: now().plus_seconds(DAY_SECONDS),
                    })
        })
        .times(1)
        .returning(|_| Ok(()));
    let issuer = SessionIssuer::new(
        Arc::new(acme_with(StoredSessionSettings::none())),
        Arc::new(token_issuer()),
        Arc::new(sessions),
        SessionConfig::default(),
        lifetimes,
    );

    let session = issuer
        .start_session(user("admin@acme.example"), None, now())
        .await
        .unwrap();

    assert_eq!(session.refresh_token_expires_at, now().plus_seconds(DAY_SECONDS));
}

#[tokio::test]
async fn start_session_with_the_users_organization_takes_its_policy_without_reading_it() {
    let settings =
        StoredSessionSettings::none().with(SessionField::TokenExpiryHours, SettingValue::Number(2.0));
    let mut organizations = MockOrganizationRepository::new();
    organizations.expect_find_by_id().never();
    let mut tokens = MockTokenIssuer::new();
    tokens
        .expect_new_session_id()
        .times(1)
        .returning(|| SessionId::new(SESSION_ID));
    tokens
        .expect_issue_access_token()
        .withf(|claims| claims.expires_at == now().plus_seconds(2 * 3600))
        .times(1)
        .returning(|_| Ok(secret(ACCESS_TOKEN)));
    tokens.expect_mint_refresh_token().times(1).returning(minted);
    let acme = Organization {
        session_settings: settings,
        ..org(ACME_ORG)
    };

    let session = issuer(organizations, tokens)
        .start_session(user("admin@acme.example"), Some(&acme), now())
        .await
        .unwrap();

    assert_eq!(session.session_config.fields().token_expiry_hours, 2);
    assert_eq!(session.access_token_expires_at, now().plus_seconds(2 * 3600));
}

#[tokio::test]
async fn start_session_ignores_an_organization_that_is_not_the_users_and_reads_the_users_own() {
    // Another organization's 2-hour override must not apply to a user of ACME_ORG.
    let other = Organization {
        session_settings: StoredSessionSettings::none()
            .with(SessionField::TokenExpiryHours, SettingValue::Number(2.0)),
        ..org(DEFAULT_ORG)
    };

    let session = issuer(acme_with(StoredSessionSettings::none()), token_issuer())
        .start_session(user("admin@acme.example"), Some(&other), now())
        .await
        .unwrap();

    assert_eq!(session.session_config, SessionConfig::default());
    assert_eq!(session.access_token_expires_at, now().plus_seconds(8 * 3600));
}

#[tokio::test]
async fn a_session_store_outage_fails_the_start() {
    let mut sessions = MockSessionStore::new();
    sessions
        .expect_start()
        .times(1)
        .returning(|_| Err(RepositoryError::Unavailable("down".into())));
    let issuer = SessionIssuer::new(
        Arc::new(acme_with(StoredSessionSettings::none())),
        Arc::new(token_issuer()),
        Arc::new(sessions),
        SessionConfig::default(),
        SessionLifetimes::default(),
    );

    let result = issuer
        .start_session(user("admin@acme.example"), None, now())
        .await;

    assert!(
        matches!(result, Err(IssueError::Store(RepositoryError::Unavailable(_)))),
        "{result:?}"
    );
}

#[tokio::test]
async fn access_token_lives_exactly_the_token_expiry_hours_of_the_users_organization() {
    let settings =
        StoredSessionSettings::none().with(SessionField::TokenExpiryHours, SettingValue::Number(2.0));
    let mut tokens = MockTokenIssuer::new();
    tokens
        .expect_new_session_id()
        .times(1)
        .returning(|| SessionId::new(SESSION_ID));
    tokens
        .expect_issue_access_token()
        .withf(|claims| {
            claims.issued_at == now() && claims.expires_at.millis() - claims.issued_at.millis() == 7_200_000
        })
        .times(1)
        .returning(|_| Ok(secret(ACCESS_TOKEN)));
    tokens.expect_mint_refresh_token().times(1).returning(minted);

    let session = issuer(acme_with(settings), tokens)
        .start_session(user("admin@acme.example"), None, now())
        .await
        .unwrap();

    assert_eq!(
        session.access_token_expires_at.unix_seconds() - now().unix_seconds(),
        7200
    );
    assert_eq!(session.session_config.fields().token_expiry_hours, 2);
}

#[tokio::test]
async fn access_token_of_a_new_session_never_outlives_a_session_shorter_than_the_token_expiry_hours() {
    // SESSION_ABSOLUTE_LIFETIME_DAYS=1 with an organization at 720 h: one day, not 30.
    let settings =
        StoredSessionSettings::none().with(SessionField::TokenExpiryHours, SettingValue::Number(720.0));
    let lifetimes = SessionLifetimes {
        refresh_token_seconds: 30 * DAY_SECONDS,
        absolute_session_seconds: DAY_SECONDS,
    };
    let mut tokens = MockTokenIssuer::new();
    tokens
        .expect_new_session_id()
        .times(1)
        .returning(|| SessionId::new(SESSION_ID));
    tokens
        .expect_issue_access_token()
        .withf(|claims| claims.issued_at == now() && claims.expires_at == now().plus_seconds(DAY_SECONDS))
        .times(1)
        .returning(|_| Ok(secret(ACCESS_TOKEN)));
    tokens.expect_mint_refresh_token().times(1).returning(minted);
    let issuer = SessionIssuer::new(
        Arc::new(acme_with(settings)),
        Arc::new(tokens),
        Arc::new(sessions_accepting()),
        SessionConfig::default(),
        lifetimes,
    );

    let session = issuer
        .start_session(user("admin@acme.example"), None, now())
        .await
        .unwrap();

    assert_eq!(session.session_config.fields().token_expiry_hours, 720);
    assert_eq!(session.access_token_expires_at, now().plus_seconds(DAY_SECONDS));
    assert_eq!(session.refresh_token_expires_at, now().plus_seconds(DAY_SECONDS));
}

// ---- answer -----------------------------------------------------------------------------

#[tokio::test]
async fn access_token_issued_near_the_end_of_a_session_expires_with_the_session() {
    // The session (30 days) started 30 days less one hour ago; the token would live 8 h.
    let started = Timestamp::from_millis(NOW_MILLIS - (30 * DAY_SECONDS - 3600) * 1000);
    let session_end = now().plus_seconds(3600);
    let mut tokens = MockTokenIssuer::new();
    tokens.expect_new_session_id().never();
    tokens
        .expect_issue_access_token()
        .withf(move |claims| claims.issued_at == now() && claims.expires_at == session_end)
        .times(1)
        .returning(|_| Ok(secret(ACCESS_TOKEN)));
    // The caller minted the refresh token.
    tokens.expect_mint_refresh_token().never();

    let session = issuer_storing(
        acme_with(StoredSessionSettings::none()),
        tokens,
        sessions_untouched(),
    )
    .answer(
        user("admin@acme.example"),
        &session_record("sess_ending", started),
        secret(REFRESH_TOKEN),
        now(),
        now(),
    )
    .await
    .unwrap();

    assert_eq!(session.access_token_expires_at, session_end);
    assert_eq!(session.refresh_token_expires_at, session_end);
}

#[tokio::test]
async fn access_token_keeps_its_full_lifetime_when_the_session_ends_later() {
    // The session ends 8 h and 1 s from now: the 8-hour token is not shortened.
    let started = Timestamp::from_millis(NOW_MILLIS - (30 * DAY_SECONDS - 8 * 3600 - 1) * 1000);
    let mut tokens = MockTokenIssuer::new();
    tokens
        .expect_issue_access_token()
        .withf(|claims| claims.expires_at == now().plus_seconds(8 * 3600))
        .times(1)
        .returning(|_| Ok(secret(ACCESS_TOKEN)));
    tokens.expect_mint_refresh_token().never();

    let session = issuer_storing(
        acme_with(StoredSessionSettings::none()),
        tokens,
        sessions_untouched(),
    )
    .answer(
        user("admin@acme.example"),
        &session_record("sess_ending", started),
        secret(REFRESH_TOKEN),
        now(),
        now(),
    )
    .await
    .unwrap();

    assert_eq!(session.access_token_expires_at, now().plus_seconds(8 * 3600));
}

#[tokio::test]
async fn answer_hands_out_the_given_refresh_token_in_the_same_session_and_writes_nothing() {
    let started = Timestamp::from_millis(NOW_MILLIS - DAY_SECONDS * 1000);
    let mut tokens = MockTokenIssuer::new();
    tokens.expect_new_session_id().never();
    tokens.expect_mint_refresh_token().never();
    tokens.expect_hash_refresh_token().never();
    tokens
        .expect_issue_access_token()
        .withf(|claims| claims.session_id.as_str() == "sess_long_running" && claims.issued_at == now())
        .times(1)
        .returning(|_| Ok(secret(ACCESS_TOKEN)));

    let session = issuer_storing(
        acme_with(StoredSessionSettings::none()),
        tokens,
        sessions_untouched(),
    )
    .answer(
        user("admin@acme.example"),
        &session_record("sess_long_running", started),
        secret(REFRESH_TOKEN),
        now(),
        now(),
    )
    .await
    .unwrap();

    assert!(holds(&session.refresh_token, REFRESH_TOKEN));
    assert!(holds(&session.access_token, ACCESS_TOKEN));
    assert_eq!(session.session_id, SessionId::new("sess_long_running"));
    // 30 days from its issue, but the session (started a day ago) ends in 29.
    assert_eq!(
        session.refresh_token_expires_at,
        now().plus_seconds(29 * DAY_SECONDS)
    );
}

#[tokio::test]
async fn the_answered_refresh_token_expires_counted_from_its_issue_not_from_now() {
    // Handed out again 5 s after the rotation that issued it.
    let issued_at = now().plus_seconds(-5);
    // The session started now and ends after the refresh token would.
    let started = now();

    let session = issuer_storing(
        acme_with(StoredSessionSettings::none()),
        signs_only(),
        sessions_untouched(),
    )
    .answer(
        user("admin@acme.example"),
        &session_record(SESSION_ID, started),
        secret(REFRESH_TOKEN),
        issued_at,
        now(),
    )
    .await
    .unwrap();

    assert_eq!(
        session.refresh_token_expires_at,
        issued_at.plus_seconds(30 * DAY_SECONDS)
    );
    assert_eq!(session.access_token_expires_at, now().plus_seconds(8 * 3600));
}

#[tokio::test]
async fn refresh_token_never_outlives_the_absolute_lifetime_of_its_session() {
    let started = Timestamp::from_millis(NOW_MILLIS - 29 * DAY_SECONDS * 1000);
    let session_end = started.plus_seconds(30 * DAY_SECONDS);
    assert_eq!(session_end, now().plus_seconds(DAY_SECONDS));

    let session = issuer_storing(
        acme_with(StoredSessionSettings::none()),
        signs_only(),
        sessions_untouched(),
    )
    .answer(
        user("admin@acme.example"),
        &session_record("sess_long_running", started),
        secret(REFRESH_TOKEN),
        now(),
        now(),
    )
    .await
    .unwrap();

    assert_eq!(session.refresh_token_expires_at, session_end);
    assert_eq!(session.session_id, SessionId::new("sess_long_running"));
}

#[test]
fn the_refresh_token_lifetime_ends_after_the_configured_seconds() {
    let issuer = SessionIssuer::new(
        Arc::new(MockOrganizationRepository::new()),
        Arc::new(MockTokenIssuer::new()),
        Arc::new(MockSessionStore::new()),
        SessionConfig::default(),
        SessionLifetimes {
            refresh_token_seconds: 7 * DAY_SECONDS,
            absolute_session_seconds: 30 * DAY_SECONDS,
        },
    );
    assert_eq!(
        issuer.refresh_token_lifetime_end(now()),
        now().plus_seconds(7 * DAY_SECONDS)
    );
    assert_eq!(issuer.session_end(now()), now().plus_seconds(30 * DAY_SECONDS));
}

#[tokio::test]
async fn token_signing_failure_stores_nothing() {
    let mut tokens = MockTokenIssuer::new();
    tokens
        .expect_new_session_id()
        .times(1)
        .returning(|| SessionId::new(SESSION_ID));
    tokens
        .expect_issue_access_token()
        .times(1)
        .returning(|_| Err(TokenError("key rejected".into())));
    tokens.expect_mint_refresh_token().returning(minted);

    let result = issuer_storing(
        acme_with(StoredSessionSettings::none()),
        tokens,
        sessions_untouched(),
    )
    .start_session(user("admin@acme.example"), None, now())
    .await;

    assert!(matches!(result, Err(IssueError::Token(_))), "{result:?}");
}

#[tokio::test]
async fn organization_store_outage_fails_issuance_before_anything_is_signed_or_stored() {
    let mut organizations = MockOrganizationRepository::new();
    organizations
        .expect_find_by_id()
        .times(1)
        .returning(|_| Err(RepositoryError::Unavailable("timed out".into())));
    let mut tokens = MockTokenIssuer::new();
    tokens
        .expect_new_session_id()
        .returning(|| SessionId::new(SESSION_ID));
    tokens.expect_mint_refresh_token().returning(minted);
    tokens.expect_issue_access_token().never();

    let result = issuer_storing(organizations, tokens, sessions_untouched())
        .start_session(user("admin@acme.example"), None, now())
        .await;

    assert!(
        matches!(result, Err(IssueError::Store(RepositoryError::Unavailable(_)))),
        "{result:?}"
    );
}

// ---- resolve_policy -------------------------------------------------------------------

#[tokio::test]
async fn missing_organization_gets_the_configured_global_defaults() {
    let policy = issuer_with_defaults(no_organizations(), custom_defaults())
        .resolve_policy(org_id(MISSING_ORG))
        .await
        .unwrap();

    assert_eq!(policy, custom_defaults());
}

#[tokio::test]
async fn organization_without_overrides_gets_the_configured_global_defaults() {
    let policy = issuer_with_defaults(acme_with(StoredSessionSettings::none()), custom_defaults())
        .resolve_policy(org_id(ACME_ORG))
        .await
        .unwrap();

    assert_eq!(policy, custom_defaults());
}

#[tokio::test]
async fn organization_overrides_apply_field_by_field_over_the_defaults() {
    let settings = StoredSessionSettings::none()
        .with(SessionField::TokenExpiryHours, SettingValue::Number(2.0))
        .with(SessionField::IdleTimeoutMinutes, SettingValue::Number(15.0))
        .with(
            SessionField::SsoFallbackBehavior,
            SettingValue::Text("reauth-button".into()),
        )
        .with(
            SessionField::PasswordSilentRenewalEnabled,
            SettingValue::Bool(true),
        );

    let policy = issuer_with_defaults(acme_with(settings), SessionConfig::default())
        .resolve_policy(org_id(ACME_ORG))
        .await
        .unwrap();

    let expected = SessionFields {
        token_expiry_hours: 2,
        idle_timeout_minutes: 15,
        sso_fallback_behavior: SsoFallbackBehavior::ReauthButton,
        password_silent_renewal_enabled: true,
        ..SessionFields::default()
    };
    assert_eq!(*policy.fields(), expected);
}

#[tokio::test]
async fn invalid_stored_values_are_ignored_field_by_field() {
    let settings = StoredSessionSettings::none()
        .with(SessionField::TokenExpiryHours, SettingValue::Number(0.0))
        .with(SessionField::IdleTimeoutMinutes, SettingValue::Text("30".into()))
        .with(SessionField::WarningTimeMinutes, SettingValue::Number(2.5))
        .with(
            SessionField::PasswordFallbackBehavior,
            SettingValue::Text("self-destruct".into()),
        )
        .with(
            SessionField::SsoSilentRenewalEnabled,
            SettingValue::Other("array"),
        )
        .with(SessionField::Enabled, SettingValue::Bool(false));

    let policy = issuer_with_defaults(acme_with(settings), SessionConfig::default())
        .resolve_policy(org_id(ACME_ORG))
        .await
        .unwrap();

    let expected = SessionFields {
        enabled: false,
        ..SessionFields::default()
    };
    assert_eq!(*policy.fields(), expected);
}

#[tokio::test]
async fn organization_store_outage_while_resolving_the_policy_is_an_error_not_the_defaults() {
    let mut organizations = MockOrganizationRepository::new();
    organizations
        .expect_find_by_id()
        .times(1)
        .returning(|_| Err(RepositoryError::Unavailable("timed out".into())));

    let result = issuer_with_defaults(organizations, SessionConfig::default())
        .resolve_policy(org_id(ACME_ORG))
        .await;

    assert!(
        matches!(result, Err(RepositoryError::Unavailable(_))),
        "{result:?}"
    );
}

#[test]
fn policy_of_an_organization_already_read_overlays_its_settings_on_the_defaults_without_a_read() {
    let mut organizations = MockOrganizationRepository::new();
    organizations.expect_find_by_id().never();
    let acme = Organization {
        session_settings: StoredSessionSettings::none()
            .with(SessionField::TokenExpiryHours, SettingValue::Number(2.0))
            .with(SessionField::IdleTimeoutMinutes, SettingValue::Text("30".into())),
        ..org(ACME_ORG)
    };

    let policy = issuer_with_defaults(organizations, custom_defaults()).policy_of(&acme);

    // The valid override applies; the invalid one leaves the configured default.
    let expected = SessionFields {
        token_expiry_hours: 2,
        ..*custom_defaults().fields()
    };
    assert_eq!(*policy.fields(), expected);
}
