//! Session policy: an organization's settings over the global defaults, what tokens a
//! session gets from it, and a SUPERADMIN reading and changing the settings and the
//! tenant an organization is mapped to.

use tether_domain::{
    AccessRole, OrgSettingsError, OrganizationId, PasswordFallbackBehavior, SessionConfig, SessionField,
    SettingValue, SettingsPatch, SsoFallbackBehavior, StoredSessionSettings, User, VerifiedAccess,
};

use crate::support::*;

fn patch(entries: &[(&str, Option<SettingValue>)]) -> SettingsPatch {
    SettingsPatch::new(
        entries
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone())),
    )
}

fn n(value: f64) -> Option<SettingValue> {
    Some(SettingValue::Number(value))
}

fn text(value: &str) -> Option<SettingValue> {
    Some(SettingValue::Text(value.to_owned()))
}

fn apply(
    stored: &StoredSessionSettings,
    entries: &[(&str, Option<SettingValue>)],
) -> Result<(StoredSessionSettings, SessionConfig), Vec<(String, String)>> {
    patch(entries)
        .apply_to(stored, &SessionConfig::default())
        .map_err(|errors| errors.into_iter().collect())
}

/// `caller` sets the token expiry of organization `id` to `hours`.
async fn set_token_expiry(
    w: &World,
    caller: &VerifiedAccess,
    id: &str,
    hours: f64,
) -> Result<SessionConfig, OrgSettingsError> {
    let change = patch(&[("tokenExpiryHours", n(hours))]);
    w.services
        .org_settings
        .update(caller, id, change, AuditOrigin::default())
        .await
}

fn stored(entries: &[(SessionField, SettingValue)]) -> StoredSessionSettings {
    entries
        .iter()
        .fold(StoredSessionSettings::none(), |s, (field, value)| {
            s.with(*field, value.clone())
        })
}

// ---- the rules of a change -----------------------------------------------------------

#[test]
fn a_patch_sets_the_given_fields_null_reverts_one_and_the_others_stay() {
    let before = stored(&[
        (SessionField::Enabled, SettingValue::Bool(false)),
        (SessionField::TokenExpiryHours, SettingValue::Number(2.0)),
    ]);
    let (next, config) = apply(
        &before,
        &[("idleTimeoutMinutes", n(15.0)), ("tokenExpiryHours", None)],
    )
    .unwrap();
    assert_eq!(
        next,
        stored(&[
            (SessionField::Enabled, SettingValue::Bool(false)),
            (SessionField::IdleTimeoutMinutes, SettingValue::Number(15.0))
        ])
    );
    let f = config.fields();
    assert_eq!(
        (
            f.idle_timeout_minutes,
            f.token_expiry_hours,
            f.enabled,
            f.warning_time_minutes
        ),
        (15, 8, false, 2)
    );
    let (unchanged, config) = apply(&before, &[]).unwrap();
    assert_eq!(
        (unchanged, config),
        (before.clone(), SessionConfig::default().overlay(&before).0)
    );
}

#[test]
fn the_warning_time_must_stay_below_the_idle_time_out_and_the_change_is_blamed() {
    let idle_15 = stored(&[(SessionField::IdleTimeoutMinutes, SettingValue::Number(15.0))]);
    let none = StoredSessionSettings::none();
    let blamed =
        |s: &StoredSessionSettings, entries: &[(&str, Option<SettingValue>)]| apply(s, entries).unwrap_err();
    let warning = "must be less than idleTimeoutMinutes (15)";
    assert_eq!(
        blamed(&idle_15, &[("warningTimeMinutes", n(20.0))]),
        [("warningTimeMinutes".into(), warning.into())]
    );
    assert_eq!(
        blamed(&idle_15, &[("warningTimeMinutes", n(15.0))]),
        [("warningTimeMinutes".into(), warning.into())]
    );
    let idle = "must be greater than warningTimeMinutes (2)";
    assert_eq!(
        blamed(&none, &[("idleTimeoutMinutes", n(2.0))]),
        [("idleTimeoutMinutes".into(), idle.into())]
    );
    let (_, config) = apply(
        &none,
        &[("idleTimeoutMinutes", n(5.0)), ("warningTimeMinutes", n(4.0))],
    )
    .unwrap();
    assert_eq!(
        (
            config.fields().idle_timeout_minutes,
            config.fields().warning_time_minutes
        ),
        (5, 4)
    );
}

#[test]
fn every_bad_field_is_named_at_once_and_bounds_are_inclusive() {
    let errors = apply(
        &StoredSessionSettings::none(),
        &[
            ("colour", text("blue")),
            ("enabled", text("yes")),
            ("tokenExpiryHours", n(0.0)),
            ("idleTimeoutMinutes", n(1.5)),
            ("warningTimeMinutes", n(-1.0)),
            ("ssoFallbackBehavior", text("logout")),
            ("passwordFallbackBehavior", text("redirect")),
            ("idleTrackingEnabled", Some(SettingValue::Other("array"))),
        ],
    )
    .unwrap_err();
    let named: Vec<&str> = errors.iter().map(|(name, _)| name.as_str()).collect();
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
    let reason = |name: &str| errors.iter().find(|(n, _)| n == name).map(|(_, r)| r.as_str());
    assert_eq!(reason("colour"), Some("is not a session setting"));
    assert_eq!(reason("enabled"), Some("must be true or false"));
    assert_eq!(
        reason("tokenExpiryHours"),
        Some("must be a whole number between 1 and 720")
    );
    assert_eq!(
        reason("ssoFallbackBehavior"),
        Some("must be one of redirect, reauth-button, force-logout")
    );
    assert_eq!(
        reason("passwordFallbackBehavior"),
        Some("must be one of logout, reauth-modal, force-logout")
    );

    let none = StoredSessionSettings::none();
    let (_, config) = apply(
        &none,
        &[
            ("idleTimeoutMinutes", n(1440.0)),
            ("tokenExpiryHours", n(720.0)),
            ("warningTimeMinutes", n(0.0)),
        ],
    )
    .unwrap();
    assert_eq!(
        (
            config.fields().idle_timeout_minutes,
            config.fields().token_expiry_hours
        ),
        (1440, 720)
    );
    assert_eq!(
        apply(
            &none,
            &[("idleTimeoutMinutes", n(1441.0)), ("tokenExpiryHours", n(721.0))]
        )
        .unwrap_err()
        .len(),
        2
    );
    for sso in SsoFallbackBehavior::ALL {
        for password in PasswordFallbackBehavior::ALL {
            let (_, config) = apply(
                &none,
                &[
                    ("ssoFallbackBehavior", text(sso.as_str())),
                    ("passwordFallbackBehavior", text(password.as_str())),
                ],
            )
            .unwrap();
            assert_eq!(
                (
                    config.fields().sso_fallback_behavior,
                    config.fields().password_fallback_behavior
                ),
                (sso, password)
            );
        }
    }
}

#[test]
fn stored_values_logins_already_ignore_are_dropped_by_a_change() {
    let before = stored(&[
        (SessionField::TokenExpiryHours, SettingValue::Number(5000.0)),
        (SessionField::Enabled, SettingValue::Other("array")),
        (SessionField::IdleTrackingEnabled, SettingValue::Bool(false)),
    ]);
    let (next, config) = apply(&before, &[("idleTimeoutMinutes", n(45.0))]).unwrap();
    assert_eq!(
        next,
        stored(&[
            (SessionField::IdleTrackingEnabled, SettingValue::Bool(false)),
            (SessionField::IdleTimeoutMinutes, SettingValue::Number(45.0))
        ])
    );
    assert_eq!(config.fields().token_expiry_hours, 8);
}

// ---- the policy a session gets ----------------------------------------------------------

#[tokio::test]
async fn an_organizations_settings_apply_field_by_field_over_the_defaults_and_invalid_ones_are_ignored() {
    let custom = SessionConfig::new(tether_domain::SessionFields {
        token_expiry_hours: 12,
        ..Default::default()
    })
    .unwrap();
    let w = World::with(|_, policies| policies.session_defaults = custom);
    let plain = w.add_org("Plain", 1, None);
    let own = stored(&[
        (SessionField::TokenExpiryHours, SettingValue::Number(2.0)),
        (SessionField::IdleTimeoutMinutes, SettingValue::Number(5000.0)),
        (
            SessionField::SsoFallbackBehavior,
            SettingValue::Text("force-logout".into()),
        ),
    ]);
    let tuned = w.add_org_with("Tuned", 2, None, own);
    let issuer = &w.services.issuer;
    assert_eq!(issuer.resolve_policy(plain).await.unwrap(), custom);
    assert_eq!(
        issuer.resolve_policy(gone_org()).await.unwrap(),
        custom,
        "a missing organization: the defaults"
    );
    let f = *issuer.resolve_policy(tuned).await.unwrap().fields();
    assert_eq!((f.token_expiry_hours, f.idle_timeout_minutes), (2, 30));
    assert_eq!(f.sso_fallback_behavior, SsoFallbackBehavior::ForceLogout);
    assert_eq!(
        issuer.policy_of(&w.org(tuned).await),
        issuer.resolve_policy(tuned).await.unwrap()
    );
}

/// A user of the organization `org` (not stored: issuance reads no user).
fn member(org: OrganizationId) -> User {
    let w = World::new();
    w.add_user(user("jane@acme.example", org))
}

#[tokio::test]
async fn a_new_session_gets_an_access_token_for_the_organizations_token_lifetime_within_the_session() {
    let w = World::with(|_, policies| policies.lifetimes.absolute_session_seconds = 3 * 3600);
    let two_hours = w.add_org_with(
        "Two",
        1,
        None,
        stored(&[(SessionField::TokenExpiryHours, SettingValue::Number(2.0))]),
    );
    let jane = member(two_hours);
    let session = w
        .services
        .issuer
        .start_session(jane.clone(), None, t0())
        .await
        .unwrap();
    let claims = w.tokens.claims(&session.access_token);
    assert_eq!(
        (claims.user_id, claims.organization_id, claims.access_role),
        (jane.id, two_hours, jane.access_role)
    );
    assert_eq!(
        (claims.email, claims.issued_at, claims.expires_at),
        (jane.email.clone(), t0(), at(2 * 3600))
    );
    assert_eq!(session.access_token_expires_at, at(2 * 3600));

    let near_end = w
        .services
        .issuer
        .start_session(jane.clone(), None, at(0))
        .await
        .unwrap();
    let record = w.record(&near_end).await;
    let answer = w
        .services
        .issuer
        .answer(jane, &record, secret("rt_x"), at(0), at(2 * 3600))
        .await
        .unwrap();
    assert_eq!(
        answer.access_token_expires_at,
        at(3 * 3600),
        "never after the session"
    );
    assert_eq!(answer.refresh_token_expires_at, at(3 * 3600));
}

#[tokio::test]
async fn a_session_started_with_the_users_organization_in_hand_takes_its_policy_as_given() {
    let w = World::new();
    let acme = w.add_org("Acme", 1, None);
    let jane = member(acme);
    let mut in_hand = w.org(acme).await;
    in_hand.session_settings = stored(&[(SessionField::TokenExpiryHours, SettingValue::Number(3.0))]);
    let session = w
        .services
        .issuer
        .start_session(jane.clone(), Some(&in_hand), t0())
        .await
        .unwrap();
    assert_eq!(session.session_config.fields().token_expiry_hours, 3);
    in_hand.id = gone_org();
    let session = w
        .services
        .issuer
        .start_session(jane, Some(&in_hand), t0())
        .await
        .unwrap();
    assert_eq!(
        session.session_config.fields().token_expiry_hours,
        8,
        "another organization is ignored"
    );
}

// ---- a SUPERADMIN manages an organization -------------------------------------------------

/// A world with organization "Acme" (created first) and a caller of role `role`.
fn with_caller(role: AccessRole, disabled: bool) -> (World, OrganizationId, VerifiedAccess) {
    let w = World::new();
    let acme = w.add_org("Acme", 1, None);
    let caller = w.add_user(UserSpec {
        role,
        disabled,
        ..user("root@acme.example", acme)
    });
    let access = VerifiedAccess {
        user_id: caller.id,
        organization_id: acme,
        access_role: AccessRole::Superadmin,
        session_id: tether_domain::SessionId::new("sess_root"),
        expires_at: at(3600),
    };
    (w, acme, access)
}

#[tokio::test]
async fn a_superadmin_changes_an_organizations_settings_and_reads_what_it_resolves_to() {
    let (w, acme, caller) = with_caller(AccessRole::Superadmin, false);
    let settings = &w.services.org_settings;
    let id = acme.to_string();
    let changed = set_token_expiry(&w, &caller, &id, 4.0).await.unwrap();
    assert_eq!(changed.fields().token_expiry_hours, 4);
    assert_eq!(
        w.org(acme).await.session_settings,
        stored(&[(SessionField::TokenExpiryHours, SettingValue::Number(4.0))])
    );
    assert_eq!(settings.get(&caller, &id).await.unwrap(), changed);

    let refused = set_token_expiry(&w, &caller, &id, 0.0).await;
    assert!(
        matches!(refused, Err(OrgSettingsError::InvalidSettings(e)) if e.contains_key("tokenExpiryHours"))
    );
    assert_eq!(
        w.org(acme)
            .await
            .session_settings
            .get(SessionField::TokenExpiryHours),
        Some(&SettingValue::Number(4.0)),
        "nothing saved"
    );
}

#[tokio::test]
async fn only_an_enabled_superadmin_by_their_current_role_manages_an_existing_organization() {
    for (role, disabled, expected) in [
        (AccessRole::Admin, false, "forbidden"),
        (AccessRole::Superadmin, true, "disabled"),
    ] {
        // The token says SUPERADMIN; the store is what counts.
        let (w, acme, caller) = with_caller(role, disabled);
        let id = acme.to_string();
        let settings = &w.services.org_settings;
        let answers = [
            settings.get(&caller, &id).await.map(|_| ()),
            set_token_expiry(&w, &caller, &id, 4.0).await.map(|_| ()),
            settings.tenant(&caller, &id).await.map(|_| ()),
            settings
                .set_tenant(&caller, &id, Some(TENANT_A), AuditOrigin::default())
                .await
                .map(|_| ()),
        ];
        for answer in answers {
            match (answer, expected) {
                (Err(OrgSettingsError::Forbidden), "forbidden")
                | (Err(OrgSettingsError::LoginDisabled), "disabled") => {}
                (other, _) => panic!("{role:?}, disabled {disabled}: {other:?}"),
            }
        }
        let org = w.org(acme).await;
        assert!(
            org.session_settings.is_empty() && tenant_of(&org).is_none(),
            "nothing saved"
        );
    }
    let (w, _, mut caller) = with_caller(AccessRole::Superadmin, false);
    caller.user_id = tether_domain::UserId::parse("5f7b1c2e8a1d4e00120000ee").unwrap();
    assert!(matches!(
        w.services
            .org_settings
            .get(&caller, &gone_org().to_string())
            .await,
        Err(OrgSettingsError::UnknownUser)
    ));
}

#[tokio::test]
async fn an_unknown_or_malformed_organization_is_refused() {
    let (w, _, caller) = with_caller(AccessRole::Superadmin, false);
    let settings = &w.services.org_settings;
    let gone = gone_org().to_string();
    assert!(matches!(
        settings.get(&caller, "acme").await,
        Err(OrgSettingsError::InvalidOrganizationId)
    ));
    assert!(matches!(
        settings.get(&caller, &gone).await,
        Err(OrgSettingsError::OrganizationNotFound)
    ));
    let update = set_token_expiry(&w, &caller, &gone, 4.0).await;
    assert!(matches!(update, Err(OrgSettingsError::OrganizationNotFound)));
    let map = settings
        .set_tenant(&caller, "acme", Some(TENANT_A), AuditOrigin::default())
        .await;
    assert!(matches!(map, Err(OrgSettingsError::InvalidOrganizationId)));
    let map = settings
        .set_tenant(&caller, &gone, Some(TENANT_A), AuditOrigin::default())
        .await;
    assert!(matches!(map, Err(OrgSettingsError::OrganizationNotFound)));
}

#[tokio::test]
async fn a_superadmin_maps_an_organization_to_one_tenant_at_most_and_unmaps_it() {
    let (w, acme, caller) = with_caller(AccessRole::Superadmin, false);
    let other = w.add_org("Other", 2, Some(TENANT_B));
    let settings = &w.services.org_settings;
    let id = acme.to_string();
    let mapped = settings
        .set_tenant(&caller, &id, Some(TENANT_A), AuditOrigin::default())
        .await
        .unwrap();
    assert_eq!(mapped, Some(tenant(TENANT_A)));
    assert_eq!(tenant_of(&w.org(acme).await), Some(TENANT_A));
    assert_eq!(
        settings.tenant(&caller, &id).await.unwrap(),
        Some(tenant(TENANT_A))
    );

    let taken = settings
        .set_tenant(&caller, &id, Some(TENANT_B), AuditOrigin::default())
        .await;
    assert!(matches!(taken, Err(OrgSettingsError::Conflict)), "{taken:?}");
    let malformed = settings
        .set_tenant(&caller, &id, Some("acme"), AuditOrigin::default())
        .await;
    assert!(
        matches!(malformed, Err(OrgSettingsError::InvalidTenant)),
        "{malformed:?}"
    );
    assert_eq!(tenant_of(&w.org(acme).await), Some(TENANT_A), "nothing saved");
    assert_eq!(tenant_of(&w.org(other).await), Some(TENANT_B));

    assert_eq!(
        settings
            .set_tenant(&caller, &id, None, AuditOrigin::default())
            .await
            .unwrap(),
        None
    );
    assert_eq!(tenant_of(&w.org(acme).await), None);
}
