//! `SessionIssuer`: session policy resolution and token issuance.

use std::sync::Arc;

use super::support::*;
use crate::{
    AccessClaims, AccessRole, IssueError, MockOrganizationRepository, MockRefreshTokenStore,
    MockSessionStore, MockTokenIssuer, Organization, PasswordFallbackBehavior, RefreshTokenRecord,
    RepositoryError, SessionConfig, SessionField, SessionFields, SessionId, SessionIssuer, SessionLifetimes,
    SessionRecord, SettingValue, SsoFallbackBehavior, StoredSessionSettings, Timestamp, TokenError,
    TokenHash,
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

/// A refresh token store that accepts exactly one record.
fn store_accepting_one() -> MockRefreshTokenStore {
    let mut store = MockRefreshTokenStore::new();
    store.expect_save().times(1).returning(|_| Ok(()));
    store
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
        Arc::new(MockRefreshTokenStore::new()),
        Arc::new(sessions_accepting()),
        defaults,
        SessionLifetimes::default(),
    )
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

    let session = issuer(
        acme_with(StoredSessionSettings::none()),
        tokens,
        store_accepting_one(),
    )
    .start_session(user("admin@acme.example"), now())
    .await
    .unwrap();

    assert!(holds(&session.access_token, ACCESS_TOKEN));
    assert_eq!(session.access_token_expires_at, now().plus_seconds(8 * 3600));
    assert_eq!(session.session_id, SessionId::new(SESSION_ID));
    assert_eq!(session.session_config, SessionConfig::default());
    assert_eq!(session.user, user("admin@acme.example"));
}

#[tokio::test]
async fn start_session_stores_the_session_record_once_ending_after_the_absolute_lifetime() {
    let lifetimes = SessionLifetimes {
        refresh_token_seconds: 7 * DAY_SECONDS,
        absolute_session_seconds: 14 * DAY_SECONDS,
    };
    let mut sessions = MockSessionStore::new();
    sessions
        .expect_start()
        .withf(move |s| {
            *s == SessionRecord {
                id: SessionId::new(SESSION_ID),
                user_id: user_id(USER_ID),
                organization_id: org_id(ACME_ORG),
                started_at: now(),
                ends_at: now().plus_seconds(14 * DAY_SECONDS),
                revoked_at: None,
                revoked_reason: None,
                last_refreshed_at: None,
            }
        })
        .times(1)
        .returning(|_| Ok(()));
    let issuer = SessionIssuer::new(
        Arc::new(acme_with(StoredSessionSettings::none())),
        Arc::new(token_issuer()),
        Arc::new(store_accepting_one()),
        Arc::new(sessions),
        SessionConfig::default(),
        lifetimes,
    );

    let session = issuer
        .start_session(user("admin@acme.example"), now())
        .await
        .unwrap();

    assert_eq!(session.session_id, SessionId::new(SESSION_ID));
    assert_eq!(
        session.refresh_token_expires_at,
        now().plus_seconds(7 * DAY_SECONDS)
    );
}

#[tokio::test]
async fn a_session_store_outage_fails_the_start_before_any_refresh_token_is_stored() {
    let mut sessions = MockSessionStore::new();
    sessions
        .expect_start()
        .times(1)
        .returning(|_| Err(RepositoryError::Unavailable("down".into())));
    let mut tokens = MockTokenIssuer::new();
    tokens
        .expect_new_session_id()
        .returning(|| SessionId::new(SESSION_ID));
    tokens
        .expect_issue_access_token()
        .returning(|_| Ok(secret(ACCESS_TOKEN)));
    tokens.expect_mint_refresh_token().never();
    let mut store = MockRefreshTokenStore::new();
    store.expect_save().never();
    let issuer = SessionIssuer::new(
        Arc::new(acme_with(StoredSessionSettings::none())),
        Arc::new(tokens),
        Arc::new(store),
        Arc::new(sessions),
        SessionConfig::default(),
        SessionLifetimes::default(),
    );

    let result = issuer.start_session(user("admin@acme.example"), now()).await;

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

    let session = issuer(acme_with(settings), tokens, store_accepting_one())
        .start_session(user("admin@acme.example"), now())
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
    let mut store = MockRefreshTokenStore::new();
    store
        .expect_save()
        .withf(|record| record.expires_at == now().plus_seconds(DAY_SECONDS))
        .times(1)
        .returning(|_| Ok(()));
    let issuer = SessionIssuer::new(
        Arc::new(acme_with(settings)),
        Arc::new(tokens),
        Arc::new(store),
        Arc::new(sessions_accepting()),
        SessionConfig::default(),
        lifetimes,
    );

    let session = issuer
        .start_session(user("admin@acme.example"), now())
        .await
        .unwrap();

    assert_eq!(session.session_config.fields().token_expiry_hours, 720);
    assert_eq!(session.access_token_expires_at, now().plus_seconds(DAY_SECONDS));
    assert!(session.access_token_expires_at.unix_seconds() - now().unix_seconds() <= DAY_SECONDS);
}

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

    let session = issuer(
        acme_with(StoredSessionSettings::none()),
        tokens,
        store_accepting_one(),
    )
    .issue_pair(
        user("admin@acme.example"),
        &session_record("sess_ending", started),
        minted(),
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
    // The caller minted the refresh token.
    tokens.expect_mint_refresh_token().never();

    let session = issuer(
        acme_with(StoredSessionSettings::none()),
        tokens,
        store_accepting_one(),
    )
    .issue_pair(
        user("admin@acme.example"),
        &session_record("sess_ending", started),
        minted(),
        now(),
    )
    .await
    .unwrap();

    assert_eq!(session.access_token_expires_at, now().plus_seconds(8 * 3600));
}

#[tokio::test]
async fn refresh_token_is_stored_only_as_its_hash_in_the_same_session_for_thirty_days() {
    let expected = RefreshTokenRecord {
        hash: TokenHash::new(REFRESH_HASH),
        session_id: SessionId::new(SESSION_ID),
        expires_at: now().plus_seconds(30 * DAY_SECONDS),
        used_at: None,
        sealed_successor: None,
        legacy: None,
    };
    let mut store = MockRefreshTokenStore::new();
    store
        .expect_save()
        .withf(move |record| *record == expected && record.hash.as_str() != REFRESH_TOKEN)
        .times(1)
        .returning(|_| Ok(()));

    let session = issuer(acme_with(StoredSessionSettings::none()), token_issuer(), store)
        .start_session(user("admin@acme.example"), now())
        .await
        .unwrap();

    assert!(holds(&session.refresh_token, REFRESH_TOKEN));
    assert_eq!(
        session.refresh_token_expires_at,
        now().plus_seconds(30 * DAY_SECONDS)
    );
}

#[tokio::test]
async fn refresh_token_of_a_fresh_session_lives_its_own_lifetime_when_shorter_than_the_session() {
    let lifetimes = SessionLifetimes {
        refresh_token_seconds: 7 * DAY_SECONDS,
        absolute_session_seconds: 30 * DAY_SECONDS,
    };
    let mut store = MockRefreshTokenStore::new();
    store
        .expect_save()
        .withf(|record| record.expires_at == now().plus_seconds(7 * DAY_SECONDS))
        .times(1)
        .returning(|_| Ok(()));
    let issuer = SessionIssuer::new(
        Arc::new(acme_with(StoredSessionSettings::none())),
        Arc::new(token_issuer()),
        Arc::new(store),
        Arc::new(sessions_accepting()),
        SessionConfig::default(),
        lifetimes,
    );

    let session = issuer
        .start_session(user("admin@acme.example"), now())
        .await
        .unwrap();

    assert_eq!(
        session.refresh_token_expires_at,
        now().plus_seconds(7 * DAY_SECONDS)
    );
}

#[tokio::test]
async fn refresh_token_never_outlives_the_absolute_lifetime_of_its_session() {
    let started = Timestamp::from_millis(NOW_MILLIS - 29 * DAY_SECONDS * 1000);
    let session_end = started.plus_seconds(30 * DAY_SECONDS);
    assert_eq!(session_end, now().plus_seconds(DAY_SECONDS));
    let expected = RefreshTokenRecord {
        hash: TokenHash::new(REFRESH_HASH),
        session_id: SessionId::new("sess_long_running"),
        expires_at: session_end,
        used_at: None,
        sealed_successor: None,
        legacy: None,
    };
    let mut tokens = MockTokenIssuer::new();
    tokens.expect_new_session_id().never();
    tokens
        .expect_issue_access_token()
        .withf(|claims| claims.session_id.as_str() == "sess_long_running" && claims.issued_at == now())
        .times(1)
        .returning(|_| Ok(secret(ACCESS_TOKEN)));
    // The caller minted the refresh token.
    tokens.expect_mint_refresh_token().never();
    let mut store = MockRefreshTokenStore::new();
    store
        .expect_save()
        .withf(move |record| *record == expected)
        .times(1)
        .returning(|_| Ok(()));

    let session = issuer(acme_with(StoredSessionSettings::none()), tokens, store)
        .issue_pair(
            user("admin@acme.example"),
            &session_record("sess_long_running", started),
            minted(),
            now(),
        )
        .await
        .unwrap();

    assert_eq!(session.refresh_token_expires_at, session_end);
    assert_eq!(session.session_id, SessionId::new("sess_long_running"));
}

#[tokio::test]
async fn token_signing_failure_stores_no_refresh_token() {
    let mut tokens = MockTokenIssuer::new();
    tokens
        .expect_new_session_id()
        .times(1)
        .returning(|| SessionId::new(SESSION_ID));
    tokens
        .expect_issue_access_token()
        .times(1)
        .returning(|_| Err(TokenError("key rejected".into())));
    tokens.expect_mint_refresh_token().never();
    let mut store = MockRefreshTokenStore::new();
    store.expect_save().never();

    let result = issuer(acme_with(StoredSessionSettings::none()), tokens, store)
        .start_session(user("admin@acme.example"), now())
        .await;

    assert!(matches!(result, Err(IssueError::Token(_))), "{result:?}");
}

#[tokio::test]
async fn organization_store_outage_fails_issuance_before_anything_is_signed() {
    let mut organizations = MockOrganizationRepository::new();
    organizations
        .expect_find_by_id()
        .times(1)
        .returning(|_| Err(RepositoryError::Unavailable("timed out".into())));
    let mut tokens = MockTokenIssuer::new();
    tokens
        .expect_new_session_id()
        .returning(|| SessionId::new(SESSION_ID));
    tokens.expect_issue_access_token().never();
    tokens.expect_mint_refresh_token().never();
    let mut store = MockRefreshTokenStore::new();
    store.expect_save().never();

    let result = issuer(organizations, tokens, store)
        .start_session(user("admin@acme.example"), now())
        .await;

    assert!(
        matches!(result, Err(IssueError::Store(RepositoryError::Unavailable(_)))),
        "{result:?}"
    );
}

#[tokio::test]
async fn refresh_store_outage_fails_issuance() {
    let mut store = MockRefreshTokenStore::new();
    store
        .expect_save()
        .times(1)
        .returning(|_| Err(RepositoryError::Unavailable("not primary".into())));

    let result = issuer(acme_with(StoredSessionSettings::none()), token_issuer(), store)
        .start_session(user("admin@acme.example"), now())
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
