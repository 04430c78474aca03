//! `SettingsPatch` (validation and overlay) and `OrganizationSettings` (SUPERADMIN
//! only, lookups, saving).

use std::sync::Arc;

use mockall::predicate::eq;

use super::support::*;
use crate::{
    AccessRole, MockOrganizationRepository, MockUserRepository, OrgSettingsError, Organization,
    OrganizationSettings, PasswordFallbackBehavior, RepositoryError, SessionConfig, SessionField, SessionId,
    SettingValue, SettingsPatch, SsoFallbackBehavior, StoredSessionSettings, User, VerifiedAccess,
};

fn number(n: f64) -> Option<SettingValue> {
    Some(SettingValue::Number(n))
}

fn text(s: &str) -> Option<SettingValue> {
    Some(SettingValue::Text(s.to_owned()))
}

fn patch(entries: Vec<(&str, Option<SettingValue>)>) -> SettingsPatch {
    SettingsPatch::new(entries.into_iter().map(|(k, v)| (k.to_owned(), v)))
}

fn defaults() -> SessionConfig {
    SessionConfig::default()
}

// ---- the patch rules -------------------------------------------------------------------

#[test]
fn a_patch_sets_the_given_fields_and_keeps_the_others() {
    let stored = StoredSessionSettings::none().with(SessionField::Enabled, SettingValue::Bool(false));
    let (next, config) = patch(vec![
        ("idleTimeoutMinutes", number(15.0)),
        ("tokenExpiryHours", number(2.0)),
    ])
    .apply_to(&stored, &defaults())
    .unwrap();
    assert_eq!(
        next.get(SessionField::IdleTimeoutMinutes),
        Some(&SettingValue::Number(15.0))
    );
    assert_eq!(
        next.get(SessionField::TokenExpiryHours),
        Some(&SettingValue::Number(2.0))
    );
    assert_eq!(next.get(SessionField::Enabled), Some(&SettingValue::Bool(false)));
    assert_eq!(next.iter().count(), 3);
    let f = config.fields();
    assert_eq!(
        (f.idle_timeout_minutes, f.token_expiry_hours, f.enabled),
        (15, 2, false)
    );
    assert_eq!(f.warning_time_minutes, 2, "untouched fields keep the default");
}

#[test]
fn null_reverts_a_field_to_the_global_default() {
    let stored = StoredSessionSettings::none()
        .with(SessionField::TokenExpiryHours, SettingValue::Number(2.0))
        .with(SessionField::IdleTimeoutMinutes, SettingValue::Number(15.0));
    let (next, config) = patch(vec![("tokenExpiryHours", None)])
        .apply_to(&stored, &defaults())
        .unwrap();
    assert_eq!(next.get(SessionField::TokenExpiryHours), None);
    assert_eq!(config.fields().token_expiry_hours, 8);
    assert_eq!(config.fields().idle_timeout_minutes, 15);
}

#[test]
fn a_warning_time_not_below_the_idle_time_out_after_the_overlay_is_refused_naming_it() {
    let stored =
        StoredSessionSettings::none().with(SessionField::IdleTimeoutMinutes, SettingValue::Number(15.0));
    let errors = patch(vec![("warningTimeMinutes", number(20.0))])
        .apply_to(&stored, &defaults())
        .unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors["warningTimeMinutes"],
        "must be less than idleTimeoutMinutes (15)"
    );
    // Equal is refused too.
    let errors = patch(vec![("warningTimeMinutes", number(15.0))])
        .apply_to(&stored, &defaults())
        .unwrap_err();
    assert!(errors.contains_key("warningTimeMinutes"));
}

#[test]
fn lowering_the_idle_time_out_to_the_warning_time_blames_the_idle_time_out() {
    let errors = patch(vec![("idleTimeoutMinutes", number(2.0))])
        .apply_to(&StoredSessionSettings::none(), &defaults())
        .unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors["idleTimeoutMinutes"],
        "must be greater than warningTimeMinutes (2)"
    );
}

#[test]
fn both_minute_fields_together_are_judged_on_their_new_values() {
    let (_, config) = patch(vec![
        ("idleTimeoutMinutes", number(5.0)),
        ("warningTimeMinutes", number(4.0)),
    ])
    .apply_to(&StoredSessionSettings::none(), &defaults())
    .unwrap();
    assert_eq!(config.fields().idle_timeout_minutes, 5);
    assert_eq!(config.fields().warning_time_minutes, 4);
}

#[test]
fn every_bad_field_is_named_at_once() {
    let errors = patch(vec![
        ("colour", text("blue")),
        ("enabled", text("yes")),
        ("tokenExpiryHours", number(0.0)),
        ("idleTimeoutMinutes", number(1.5)),
        ("warningTimeMinutes", number(-1.0)),
        ("ssoFallbackBehavior", text("logout")),
        ("passwordFallbackBehavior", text("redirect")),
        ("idleTrackingEnabled", Some(SettingValue::Other("array"))),
    ])
    .apply_to(&StoredSessionSettings::none(), &defaults())
    .unwrap_err();
    let named: Vec<&str> = errors.keys().map(String::as_str).collect();
    assert_eq!(
        named,
        [
            "colour",
            "enabled",
            "idleTimeoutMinutes",
            "idleTrackingEnabled",
            "passwordFallbackBehavior",
            "ssoFallbackBehavior",
            "tokenExpiryHours",
            "warningTimeMinutes"
        ]
    );
    assert_eq!(errors["colour"], "is not a session setting");
    assert_eq!(errors["enabled"], "must be true or false");
    assert_eq!(
        errors["tokenExpiryHours"],
        "must be a whole number between 1 and 720"
    );
    assert_eq!(
        errors["ssoFallbackBehavior"],
        "must be one of redirect, reauth-button, force-logout"
    );
    assert_eq!(
        errors["passwordFallbackBehavior"],
        "must be one of logout, reauth-modal, force-logout"
    );
}

#[test]
fn every_documented_fallback_behaviour_is_accepted() {
    for sso in SsoFallbackBehavior::ALL {
        for password in PasswordFallbackBehavior::ALL {
            let (_, config) = patch(vec![
                ("ssoFallbackBehavior", text(sso.as_str())),
                ("passwordFallbackBehavior", text(password.as_str())),
            ])
            .apply_to(&StoredSessionSettings::none(), &defaults())
            .unwrap();
            assert_eq!(config.fields().sso_fallback_behavior, sso);
            assert_eq!(config.fields().password_fallback_behavior, password);
        }
    }
}

#[test]
fn bounds_are_inclusive() {
    let (_, config) = patch(vec![
        ("idleTimeoutMinutes", number(1440.0)),
        ("tokenExpiryHours", number(720.0)),
        ("warningTimeMinutes", number(0.0)),
    ])
    .apply_to(&StoredSessionSettings::none(), &defaults())
    .unwrap();
    assert_eq!(config.fields().idle_timeout_minutes, 1440);
    assert_eq!(config.fields().token_expiry_hours, 720);
    let errors = patch(vec![
        ("idleTimeoutMinutes", number(1441.0)),
        ("tokenExpiryHours", number(721.0)),
    ])
    .apply_to(&StoredSessionSettings::none(), &defaults())
    .unwrap_err();
    assert_eq!(errors.len(), 2);
}

#[test]
fn stored_values_that_logins_already_ignore_are_dropped_by_a_change() {
    let stored = StoredSessionSettings::none()
        .with(SessionField::TokenExpiryHours, SettingValue::Number(5000.0))
        .with(SessionField::Enabled, SettingValue::Other("array"))
        .with(SessionField::IdleTrackingEnabled, SettingValue::Bool(false));
    let (next, config) = patch(vec![("idleTimeoutMinutes", number(45.0))])
        .apply_to(&stored, &defaults())
        .unwrap();
    assert_eq!(next.get(SessionField::TokenExpiryHours), None);
    assert_eq!(next.get(SessionField::Enabled), None);
    assert_eq!(
        next.get(SessionField::IdleTrackingEnabled),
        Some(&SettingValue::Bool(false))
    );
    assert_eq!(config.fields().token_expiry_hours, 8);
}

#[test]
fn an_empty_patch_changes_nothing_that_counts() {
    let stored =
        StoredSessionSettings::none().with(SessionField::IdleTimeoutMinutes, SettingValue::Number(15.0));
    let (next, config) = SettingsPatch::default().apply_to(&stored, &defaults()).unwrap();
    assert_eq!(next, stored);
    assert_eq!(config, defaults().overlay(&stored).0);
}

// ---- the use case ----------------------------------------------------------------------

const SUPERADMIN_ID: &str = "5f7b1c2e8a1d4e0012c3aaaa";

fn caller() -> VerifiedAccess {
    VerifiedAccess {
        user_id: user_id(SUPERADMIN_ID),
        organization_id: org_id(ACME_ORG),
        access_role: AccessRole::Superadmin,
        session_id: SessionId::new("sess_admin"),
        expires_at: now().plus_seconds(3600),
    }
}

/// The caller's user record, with `role` and `disabled`.
fn users_with_caller(role: AccessRole, disabled: bool) -> MockUserRepository {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_id()
        .with(eq(user_id(SUPERADMIN_ID)))
        .times(1)
        .returning(move |id| {
            Ok(Some(User {
                id,
                access_role: role,
                login_disabled: disabled,
                ..user("root@acme.example")
            }))
        });
    users
}

fn acme_storing(settings: StoredSessionSettings) -> MockOrganizationRepository {
    let mut organizations = MockOrganizationRepository::new();
    organizations
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
    organizations
}

fn service(organizations: MockOrganizationRepository, users: MockUserRepository) -> OrganizationSettings {
    OrganizationSettings::new(
        Arc::new(organizations),
        Arc::new(users),
        crate::mocks::fixed_clock(now()),
        defaults(),
    )
}

#[tokio::test]
async fn a_superadmin_reads_the_resolved_settings_of_an_organization() {
    let stored =
        StoredSessionSettings::none().with(SessionField::IdleTimeoutMinutes, SettingValue::Number(15.0));
    let config = service(
        acme_storing(stored),
        users_with_caller(AccessRole::Superadmin, false),
    )
    .get(&caller(), ACME_ORG)
    .await
    .unwrap();
    assert_eq!(config.fields().idle_timeout_minutes, 15);
    assert_eq!(config.fields().token_expiry_hours, 8);
}

#[tokio::test]
async fn the_current_role_counts_not_the_one_in_the_token() {
    for role in [
        AccessRole::Admin,
        AccessRole::DepartmentHead,
        AccessRole::SalesRep,
    ] {
        let mut organizations = MockOrganizationRepository::new();
        organizations.expect_find_by_id().never();
        organizations.expect_update_session_settings().never();
        let err = service(organizations, users_with_caller(role, false))
            .update(
                &caller(),
                ACME_ORG,
                patch(vec![("enabled", Some(SettingValue::Bool(false)))]),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, OrgSettingsError::Forbidden), "{role}: {err:?}");
    }
}

#[tokio::test]
async fn a_disabled_or_vanished_caller_is_refused() {
    let err = service(
        MockOrganizationRepository::new(),
        users_with_caller(AccessRole::Superadmin, true),
    )
    .get(&caller(), ACME_ORG)
    .await
    .unwrap_err();
    assert!(matches!(err, OrgSettingsError::LoginDisabled), "{err:?}");

    let mut users = MockUserRepository::new();
    users.expect_find_by_id().returning(|_| Ok(None));
    let err = service(MockOrganizationRepository::new(), users)
        .get(&caller(), ACME_ORG)
        .await
        .unwrap_err();
    assert!(matches!(err, OrgSettingsError::UnknownUser), "{err:?}");
}

#[tokio::test]
async fn a_malformed_organization_id_is_refused_before_any_lookup() {
    let mut organizations = MockOrganizationRepository::new();
    organizations.expect_find_by_id().never();
    let err = service(organizations, users_with_caller(AccessRole::Superadmin, false))
        .get(&caller(), "org_01HX9R3K4N6P8QZBVTYM2D5A7C")
        .await
        .unwrap_err();
    assert!(matches!(err, OrgSettingsError::InvalidOrganizationId), "{err:?}");
}

#[tokio::test]
async fn an_unknown_organization_is_not_found() {
    let mut organizations = MockOrganizationRepository::new();
    organizations.expect_find_by_id().returning(|_| Ok(None));
    organizations.expect_update_session_settings().never();
    let err = service(organizations, users_with_caller(AccessRole::Superadmin, false))
        .update(
            &caller(),
            MISSING_ORG,
            patch(vec![("tokenExpiryHours", number(2.0))]),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, OrgSettingsError::OrganizationNotFound), "{err:?}");
}

#[tokio::test]
async fn a_valid_change_is_saved_with_the_update_time_and_the_resolved_policy_is_returned() {
    let mut organizations = acme_storing(StoredSessionSettings::none());
    let expected = StoredSessionSettings::none()
        .with(SessionField::IdleTimeoutMinutes, SettingValue::Number(15.0))
        .with(SessionField::TokenExpiryHours, SettingValue::Number(2.0));
    organizations
        .expect_update_session_settings()
        .withf(move |id, settings, at| *id == org_id(ACME_ORG) && *settings == expected && *at == now())
        .times(1)
        .returning(|id, settings, _| {
            Ok(Some(Organization {
                id,
                name: "Acme".to_owned(),
                session_settings: settings,
                workos_organization_id: None,
            }))
        });
    let config = service(organizations, users_with_caller(AccessRole::Superadmin, false))
        .update(
            &caller(),
            ACME_ORG,
            patch(vec![
                ("idleTimeoutMinutes", number(15.0)),
                ("tokenExpiryHours", number(2.0)),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(config.fields().idle_timeout_minutes, 15);
    assert_eq!(config.fields().token_expiry_hours, 2);
}

#[tokio::test]
async fn a_refused_change_saves_nothing() {
    let mut organizations = acme_storing(
        StoredSessionSettings::none().with(SessionField::IdleTimeoutMinutes, SettingValue::Number(15.0)),
    );
    organizations.expect_update_session_settings().never();
    let err = service(organizations, users_with_caller(AccessRole::Superadmin, false))
        .update(
            &caller(),
            ACME_ORG,
            patch(vec![("warningTimeMinutes", number(20.0))]),
        )
        .await
        .unwrap_err();
    let OrgSettingsError::InvalidSettings(fields) = err else {
        panic!("expected InvalidSettings, got {err:?}");
    };
    assert_eq!(
        fields["warningTimeMinutes"],
        "must be less than idleTimeoutMinutes (15)"
    );
}

#[tokio::test]
async fn an_organization_deleted_during_the_change_is_not_found() {
    let mut organizations = acme_storing(StoredSessionSettings::none());
    organizations
        .expect_update_session_settings()
        .times(1)
        .returning(|_, _, _| Ok(None));
    let err = service(organizations, users_with_caller(AccessRole::Superadmin, false))
        .update(
            &caller(),
            ACME_ORG,
            patch(vec![("enabled", Some(SettingValue::Bool(false)))]),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, OrgSettingsError::OrganizationNotFound), "{err:?}");
}

// ---- mapping to a WorkOS organization ------------------------------------------------------

/// `organizations` holds [`ACME_ORG`], mapped to `workos` (or to nothing), read once.
fn acme_mapped_to(workos: Option<&'static str>) -> MockOrganizationRepository {
    let mut organizations = MockOrganizationRepository::new();
    organizations
        .expect_find_by_id()
        .with(eq(org_id(ACME_ORG)))
        .times(1)
        .returning(move |_| {
            Ok(Some(
                workos.map_or_else(|| org(ACME_ORG), |w| mapped_org(ACME_ORG, w)),
            ))
        });
    organizations
}

#[tokio::test]
async fn a_superadmin_reads_the_workos_organization_an_organization_is_mapped_to() {
    let mapping = service(
        acme_mapped_to(Some(WORKOS_ORG_A)),
        users_with_caller(AccessRole::Superadmin, false),
    )
    .workos_organization(&caller(), ACME_ORG)
    .await
    .unwrap();
    assert_eq!(mapping, Some(workos_org(WORKOS_ORG_A)));

    let mapping = service(
        acme_mapped_to(None),
        users_with_caller(AccessRole::Superadmin, false),
    )
    .workos_organization(&caller(), ACME_ORG)
    .await
    .unwrap();
    assert_eq!(mapping, None);
}

#[tokio::test]
async fn a_superadmin_maps_an_organization_to_a_workos_organization_with_the_update_time() {
    let mut organizations = acme_mapped_to(None);
    organizations
        .expect_set_workos_organization()
        .withf(|id, mapping, at| {
            *id == org_id(ACME_ORG)
                && mapping.as_ref().map(|m| m.as_str()) == Some(WORKOS_ORG_A)
                && *at == now()
        })
        .times(1)
        .returning(|id, mapping, _| {
            Ok(Some(Organization {
                workos_organization_id: mapping,
                ..org(&id.to_string())
            }))
        });
    let mapping = service(organizations, users_with_caller(AccessRole::Superadmin, false))
        .set_workos_organization(&caller(), ACME_ORG, Some(WORKOS_ORG_A))
        .await
        .unwrap();
    assert_eq!(mapping, Some(workos_org(WORKOS_ORG_A)));
}

#[tokio::test]
async fn a_superadmin_unmaps_an_organization_with_none() {
    let mut organizations = acme_mapped_to(Some(WORKOS_ORG_A));
    organizations
        .expect_set_workos_organization()
        .withf(|id, mapping, at| *id == org_id(ACME_ORG) && mapping.is_none() && *at == now())
        .times(1)
        .returning(|id, _, _| Ok(Some(org(&id.to_string()))));
    let mapping = service(organizations, users_with_caller(AccessRole::Superadmin, false))
        .set_workos_organization(&caller(), ACME_ORG, None)
        .await
        .unwrap();
    assert_eq!(mapping, None);
}

#[tokio::test]
async fn mapping_to_a_workos_organization_another_organization_carries_is_a_conflict() {
    let mut organizations = acme_mapped_to(None);
    organizations
        .expect_set_workos_organization()
        .times(1)
        .returning(|_, _, _| Err(RepositoryError::Duplicate));
    let err = service(organizations, users_with_caller(AccessRole::Superadmin, false))
        .set_workos_organization(&caller(), ACME_ORG, Some(WORKOS_ORG_B))
        .await
        .unwrap_err();
    assert!(matches!(err, OrgSettingsError::Conflict), "{err:?}");
}

#[tokio::test]
async fn a_value_that_is_not_a_workos_organization_id_is_refused_and_nothing_is_saved() {
    for bad in [
        "",
        "org_",
        "ORG_01HX",
        "64a1b2c3d4e5f60012345678",
        "conn_01HX9R3K4N6P8QZBVTYM2D5A7C",
        " org_01HX9R3K4N6P8QZBVTYM2D5A7C",
        "org_01HX-9R3K",
        "org_<script>",
    ] {
        let mut organizations = acme_mapped_to(None);
        organizations.expect_set_workos_organization().never();
        let err = service(organizations, users_with_caller(AccessRole::Superadmin, false))
            .set_workos_organization(&caller(), ACME_ORG, Some(bad))
            .await
            .unwrap_err();
        assert!(
            matches!(err, OrgSettingsError::InvalidWorkosOrganizationId),
            "{bad:?}: {err:?}"
        );
    }
}

#[tokio::test]
async fn only_a_superadmin_reads_or_changes_a_mapping() {
    for role in [
        AccessRole::Admin,
        AccessRole::DepartmentHead,
        AccessRole::SalesRep,
    ] {
        let mut organizations = MockOrganizationRepository::new();
        organizations.expect_find_by_id().never();
        organizations.expect_set_workos_organization().never();
        let err = service(organizations, users_with_caller(role, false))
            .set_workos_organization(&caller(), ACME_ORG, Some(WORKOS_ORG_A))
            .await
            .unwrap_err();
        assert!(matches!(err, OrgSettingsError::Forbidden), "{role}: {err:?}");

        let mut organizations = MockOrganizationRepository::new();
        organizations.expect_find_by_id().never();
        let err = service(organizations, users_with_caller(role, false))
            .workos_organization(&caller(), ACME_ORG)
            .await
            .unwrap_err();
        assert!(matches!(err, OrgSettingsError::Forbidden), "{role}: {err:?}");
    }
    let mut organizations = MockOrganizationRepository::new();
    organizations.expect_set_workos_organization().never();
    let err = service(organizations, users_with_caller(AccessRole::Superadmin, true))
        .set_workos_organization(&caller(), ACME_ORG, None)
        .await
        .unwrap_err();
    assert!(matches!(err, OrgSettingsError::LoginDisabled), "{err:?}");
}

#[tokio::test]
async fn mapping_an_unknown_or_malformed_organization_saves_nothing() {
    let mut organizations = MockOrganizationRepository::new();
    organizations.expect_find_by_id().returning(|_| Ok(None));
    organizations.expect_set_workos_organization().never();
    let err = service(organizations, users_with_caller(AccessRole::Superadmin, false))
        .set_workos_organization(&caller(), MISSING_ORG, Some(WORKOS_ORG_A))
        .await
        .unwrap_err();
    assert!(matches!(err, OrgSettingsError::OrganizationNotFound), "{err:?}");

    let mut organizations = MockOrganizationRepository::new();
    organizations.expect_find_by_id().returning(|_| Ok(None));
    let err = service(organizations, users_with_caller(AccessRole::Superadmin, false))
        .workos_organization(&caller(), MISSING_ORG)
        .await
        .unwrap_err();
    assert!(matches!(err, OrgSettingsError::OrganizationNotFound), "{err:?}");

    let mut organizations = MockOrganizationRepository::new();
    organizations.expect_find_by_id().never();
    organizations.expect_set_workos_organization().never();
    let err = service(organizations, users_with_caller(AccessRole::Superadmin, false))
        .set_workos_organization(&caller(), WORKOS_ORG_A, Some(WORKOS_ORG_A))
        .await
        .unwrap_err();
    assert!(matches!(err, OrgSettingsError::InvalidOrganizationId), "{err:?}");
}

#[tokio::test]
async fn an_organization_deleted_during_the_mapping_is_not_found() {
    let mut organizations = acme_mapped_to(None);
    organizations
        .expect_set_workos_organization()
        .times(1)
        .returning(|_, _, _| Ok(None));
    let err = service(organizations, users_with_caller(AccessRole::Superadmin, false))
        .set_workos_organization(&caller(), ACME_ORG, Some(WORKOS_ORG_A))
        .await
        .unwrap_err();
    assert!(matches!(err, OrgSettingsError::OrganizationNotFound), "{err:?}");
}

#[tokio::test]
async fn a_store_outage_while_mapping_is_unavailable() {
    let mut organizations = acme_mapped_to(None);
    organizations
        .expect_set_workos_organization()
        .times(1)
        .returning(|_, _, _| Err(RepositoryError::Unavailable("not primary".into())));
    let err = service(organizations, users_with_caller(AccessRole::Superadmin, false))
        .set_workos_organization(&caller(), ACME_ORG, Some(WORKOS_ORG_A))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            OrgSettingsError::Failure(crate::Failure::StoreUnavailable(_))
        ),
        "{err:?}"
    );
}
