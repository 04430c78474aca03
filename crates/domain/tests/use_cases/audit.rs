//! The audit trail: what each use case records (the rule that let a login in, the code
//! that refused one, logouts, reuse, organization changes), where from, never a secret;
//! and who reads which records.

use std::collections::BTreeMap;

use tether_domain::{
    AccessRole, AuditActor, AuditEvent, AuditFilter, AuditIds, AuditOutcome, AuditStore, AuditTrailError,
    CallbackInput, ClientContext, LoginError, LogoutCredential, OrganizationId, SessionId, SettingValue,
    SettingsPatch, StoredAuditEvent, SystemActor, TrustRule, VerifiedAccess,
};

use crate::support::*;

/// Only the records about `organization`.
fn of_organization(organization: OrganizationId) -> AuditFilter {
    AuditFilter {
        organization_id: Some(organization.to_string()),
        ..AuditFilter::default()
    }
}

async fn log_out(w: &World, credential: LogoutCredential) {
    w.services.logout.logout(credential, origin()).await.unwrap();
}

/// Where the posts of these tests come from.
fn origin() -> AuditOrigin {
    AuditOrigin {
        client: ClientContext {
            ip_address: Some("203.0.113.9".into()),
            user_agent: Some("Audit/1.0".into()),
        },
        request_id: Some("req-audit-1".into()),
    }
}

/// A whole login of `identity` from [`origin`], a new user asking for `requested`.
async fn login_from(
    w: &World,
    identity: tether_domain::ExternalIdentity,
    requested: Option<String>,
) -> Result<tether_domain::AuthSession, LoginError> {
    let code = format!("code-{}", w.idp.exchanges().len() + 1);
    let state = w.start_for(&code, identity).await;
    let origin = origin();
    w.post(CallbackInput {
        organization_id: requested,
        client: origin.client,
        request_id: origin.request_id,
        ..World::posted(&code, &state)
    })
    .await
}

fn detail(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn every_rule_of_trust_is_recorded_with_the_login_it_let_in() {
    struct Case {
        rule: TrustRule,
        api: &'static str,
    }
    // Each world is built so that exactly one rule decides.
    let cases = [
        Case {
            rule: TrustRule::MatchedByLink,
            api: "authkit",
        },
        Case {
            rule: TrustRule::LinkedByVouchedEmail,
            api: "authkit",
        },
        Case {
            rule: TrustRule::CreatedInMappedOrganization,
            api: "sso",
        },
        Case {
            rule: TrustRule::CreatedInRequestedOrganization,
            api: "authkit",
        },
        Case {
            rule: TrustRule::CreatedInDefaultOrganization,
            api: "authkit",
        },
        Case {
            rule: TrustRule::CreatedInOldestOrganization,
            api: "authkit",
        },
    ];
    for case in cases {
        let mut w = World::new();
        let oldest = w.add_org("Oldest", 1, None);
        let mut requested = None;
        let identity = match case.rule {
            TrustRule::MatchedByLink => {
                w.add_user(UserSpec {
                    links: vec![(AUTHKIT, "user_1")],
                    ..user("jane@acme.example", oldest)
                });
                authkit("user_1", "jane@acme.example", true)
            }
            TrustRule::LinkedByVouchedEmail => {
                w.add_user(user("jane@acme.example", oldest));
                authkit("user_1", "jane@acme.example", true)
            }
            TrustRule::CreatedInMappedOrganization => {
                w.add_org("Mapped", 2, Some(TENANT_A));
                sso("prof_1", "jane@acme.example", Some(TENANT_A))
            }
            TrustRule::CreatedInRequestedOrganization => {
                requested = Some(w.add_org("Requested", 2, None).to_string());
                authkit("user_1", "jane@acme.example", true)
            }
            TrustRule::CreatedInDefaultOrganization => {
                let default = w.add_org("Default", 3, None);
                w = w.rewired(|p| p.provisioning.default_organization_id = Some(default));
                authkit("user_1", "jane@acme.example", true)
            }
            _ => authkit("user_1", "jane@acme.example", true),
        };
        let session = login_from(&w, identity, requested).await.unwrap();
        let records = w.audit.all();
        assert_eq!(
            records.len(),
            1,
            "{:?}: one record per login: {records:?}",
            case.rule
        );
        let record = &records[0];
        assert_eq!(record.kind, AuditType::LoginSucceeded);
        assert_eq!(record.actor, AuditActor::System(SystemActor::Service));
        assert_eq!(record.outcome, AuditOutcome::Success);
        assert_eq!(record.user_id, Some(session.user.id));
        assert_eq!(record.organization_id, Some(session.user.organization_id));
        assert_eq!(record.session_id, Some(session.session_id.clone()));
        assert_eq!(
            record.origin,
            origin(),
            "address, user agent and request id of the post"
        );
        assert_eq!(
            record.detail,
            detail(&[("rule", case.rule.as_str()), ("api", case.api)]),
            "{:?}",
            case.rule
        );
    }
}

#[test]
fn the_rules_have_the_wire_names_of_the_contract() {
    let names: Vec<&str> = TrustRule::ALL.iter().map(TrustRule::as_str).collect();
    assert_eq!(
        names,
        [
            "matched_by_workos_id",
            "linked_by_vouched_email",
            "created_in_mapped_organization",
            "created_in_requested_organization",
            "created_in_default_organization",
            "created_in_oldest_organization",
        ]
    );
}

#[tokio::test]
async fn a_refused_login_is_recorded_with_its_code_and_the_user_it_matched() {
    let w = World::new();
    let acme = w.add_org("Acme", 1, Some(TENANT_A));
    let jane = w.add_user(user("jane@acme.example", acme));
    // Another company's connection asserts Jane's address: nobody vouches for it.
    let refused = login_from(&w, sso("prof_x", "jane@acme.example", Some(TENANT_B)), None).await;
    assert!(
        matches!(refused, Err(LoginError::AccountLinkRequired { .. })),
        "{refused:?}"
    );
    let records = w.audit.of(AuditType::LoginRefused);
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(record.outcome, AuditOutcome::Refused);
    assert_eq!(record.user_id, Some(jane.id));
    assert_eq!(record.organization_id, Some(acme));
    assert_eq!(record.session_id, None);
    assert_eq!(record.origin, origin());
    assert_eq!(
        record.detail,
        detail(&[("code", "ACCOUNT_LINK_REQUIRED"), ("api", "sso")])
    );

    let disabled = w.add_user(UserSpec {
        disabled: true,
        links: vec![(AUTHKIT, "user_9")],
        ..user("gone@acme.example", acme)
    });
    let refused = login_from(&w, authkit("user_9", "gone@acme.example", true), None).await;
    assert!(matches!(refused, Err(LoginError::LoginDisabled)), "{refused:?}");
    let record = w.audit.of(AuditType::LoginRefused).pop().unwrap();
    assert_eq!(record.user_id, Some(disabled.id));
    assert_eq!(record.detail["code"], "LOGIN_DISABLED");
}

#[tokio::test]
async fn a_refusal_before_any_identity_names_nobody() {
    let w = World::acme();
    let refused = w.post(World::posted("code-1", "unknown-state-0123456789")).await;
    assert!(matches!(refused, Err(LoginError::InvalidState)), "{refused:?}");
    let records = w.audit.all();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].kind, AuditType::LoginRefused);
    assert_eq!(records[0].user_id, None);
    assert_eq!(records[0].detail, detail(&[("code", "INVALID_STATE")]));
}

#[tokio::test]
async fn a_second_post_of_one_callback_records_one_login() {
    let w = World::acme();
    let (state, first) = w.bound_login(authkit("user_1", "jane@acme.example", true)).await;
    let again = w.post(World::posted("code-1", &state)).await.unwrap();
    assert_eq!(again.session_id, first.session_id);
    assert_eq!(w.audit.all().len(), 1, "{:?}", w.audit.all());
}

#[tokio::test]
async fn a_logout_records_the_revoked_session_once() {
    let w = World::acme();
    let session = w
        .login(authkit("user_1", "jane@acme.example", true))
        .await
        .unwrap();
    for _ in 0..2 {
        log_out(&w, LogoutCredential::RefreshToken(session.refresh_token.clone())).await;
    }
    let revoked = w.audit.of(AuditType::SessionRevoked);
    assert_eq!(
        revoked.len(),
        1,
        "an idempotent logout is recorded once: {revoked:?}"
    );
    let record = &revoked[0];
    assert_eq!(record.actor, AuditActor::User(session.user.id));
    assert_eq!(record.user_id, Some(session.user.id));
    assert_eq!(record.organization_id, Some(session.user.organization_id));
    assert_eq!(record.session_id, Some(session.session_id.clone()));
    assert_eq!(record.origin, origin());
    assert_eq!(record.detail, detail(&[("reason", "logout")]));
}

#[tokio::test]
async fn a_detected_reuse_records_the_reuse_and_the_revocation() {
    let w = World::with(|_, p| p.refresh.reuse_grace_seconds = 0);
    w.add_org("Acme", 1, None);
    let session = w
        .login(authkit("user_1", "jane@acme.example", true))
        .await
        .unwrap();
    let refresh = &w.services.refresh;
    refresh.refresh(&session.refresh_token, &origin()).await.unwrap();
    assert_eq!(w.audit.all().len(), 1, "a refresh is not recorded");
    let reused = refresh.refresh(&session.refresh_token, &origin()).await;
    assert!(reused.is_err());
    let kinds: Vec<AuditType> = w.audit.all().iter().skip(1).map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [AuditType::SessionReuseDetected, AuditType::SessionRevoked]
    );
    for record in w.audit.all().iter().skip(1) {
        assert_eq!(record.user_id, Some(session.user.id));
        assert_eq!(record.session_id, Some(session.session_id.clone()));
        assert_eq!(record.origin, origin());
    }
    assert_eq!(
        w.audit.of(AuditType::SessionReuseDetected)[0].outcome,
        AuditOutcome::Refused
    );
    assert_eq!(
        w.audit.of(AuditType::SessionRevoked)[0].detail,
        detail(&[("reason", "reuse")])
    );
}

/// A world with organization "Acme" and a live caller of `role` in it.
fn administered(role: AccessRole) -> (World, OrganizationId, VerifiedAccess) {
    let w = World::new();
    let acme = w.add_org("Acme", 1, None);
    let caller = w.add_user(UserSpec {
        role,
        ..user("root@acme.example", acme)
    });
    let access = VerifiedAccess {
        user_id: caller.id,
        organization_id: acme,
        access_role: role,
        session_id: SessionId::new("sess_root"),
        expires_at: at(3600),
    };
    (w, acme, access)
}

#[tokio::test]
async fn organization_changes_are_recorded_with_the_changed_fields() {
    let (w, acme, caller) = administered(AccessRole::Superadmin);
    let settings = &w.services.org_settings;
    let patch = SettingsPatch::new([
        ("idleTimeoutMinutes".to_owned(), Some(SettingValue::Number(45.0))),
        // Null on a field that is not set changes nothing.
        ("tokenExpiryHours".to_owned(), None),
    ]);
    settings
        .update(&caller, &acme.to_string(), patch, origin())
        .await
        .unwrap();
    let changed = w.audit.of(AuditType::SessionSettingsChanged);
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].actor, AuditActor::User(caller.user_id));
    assert_eq!(changed[0].organization_id, Some(acme));
    assert_eq!(changed[0].origin, origin());
    assert_eq!(changed[0].detail, detail(&[("fields", "idleTimeoutMinutes")]));

    settings
        .set_tenant(&caller, &acme.to_string(), Some(TENANT_A), origin())
        .await
        .unwrap();
    // The same mapping again changes nothing and records nothing.
    settings
        .set_tenant(&caller, &acme.to_string(), Some(TENANT_A), origin())
        .await
        .unwrap();
    let mapped = w.audit.of(AuditType::MappingChanged);
    assert_eq!(mapped.len(), 1, "{mapped:?}");
    assert_eq!(mapped[0].organization_id, Some(acme));
    assert_eq!(mapped[0].detail, detail(&[("from", ""), ("to", TENANT_A)]));
}

#[tokio::test]
async fn no_record_carries_a_token_a_code_or_a_state() {
    let w = World::acme();
    let (state, session) = w.bound_login(authkit("user_1", "jane@acme.example", true)).await;
    log_out(&w, LogoutCredential::AccessToken(session.access_token.clone())).await;
    let records = format!("{:?}", w.audit.all());
    assert!(
        records.contains("LoginSucceeded") && records.contains("SessionRevoked"),
        "{records}"
    );
    for secret in [
        shown(&session.access_token),
        shown(&session.refresh_token),
        state.as_str(),
        "code-1",
        VERIFIER,
    ] {
        assert!(
            !records.contains(secret),
            "a record carries {secret:?}: {records}"
        );
    }
}

// ---- reading the trail ------------------------------------------------------------------

/// Stores one `login.succeeded` of a user of each of `organizations`, oldest first.
async fn stored(w: &World, organizations: &[OrganizationId]) -> Vec<StoredAuditEvent> {
    let ids = AuditIds::new(7);
    let records: Vec<StoredAuditEvent> = organizations
        .iter()
        .enumerate()
        .map(|(n, org)| {
            let event = AuditEvent::new(
                AuditType::LoginSucceeded,
                AuditActor::System(SystemActor::Service),
                at(i64::try_from(n).unwrap()),
            )
            .organization(*org);
            StoredAuditEvent {
                id: ids.next(event.at),
                event,
            }
        })
        .collect();
    w.audit_log.append(&records).await.unwrap();
    records
}

#[tokio::test]
async fn a_superadmin_reads_every_record_newest_first_page_by_page() {
    let (w, acme, caller) = administered(AccessRole::Superadmin);
    let globex = w.add_org("Globex", 2, None);
    let records = stored(&w, &[acme, globex, acme]).await;
    let trail = &w.services.audit_trail;
    let first = trail
        .list(
            &caller,
            &AuditFilter {
                limit: Some("2".into()),
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(first.records, vec![records[2].clone(), records[1].clone()]);
    assert_eq!(first.next_before, Some(records[1].id));
    let second = trail
        .list(
            &caller,
            &AuditFilter {
                limit: Some("2".into()),
                before: first.next_before.map(|id| id.to_string()),
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(second.records, vec![records[0].clone()]);
    assert_eq!(second.next_before, None, "the last page");
    let of_globex = trail.list(&caller, &of_organization(globex)).await.unwrap();
    assert_eq!(of_globex.records, vec![records[1].clone()]);
}

#[tokio::test]
async fn an_admin_reads_only_the_records_of_their_organization() {
    let (w, acme, caller) = administered(AccessRole::Admin);
    let globex = w.add_org("Globex", 2, None);
    let records = stored(&w, &[acme, globex]).await;
    let trail = &w.services.audit_trail;
    let all = trail.list(&caller, &AuditFilter::default()).await.unwrap();
    assert_eq!(all.records, vec![records[0].clone()]);
    let elsewhere = trail.list(&caller, &of_organization(globex)).await.unwrap();
    assert!(
        elsewhere.records.is_empty(),
        "another organization reads as having none"
    );
}

#[tokio::test]
async fn others_are_refused_and_malformed_filters_named() {
    for role in [AccessRole::SalesRep, AccessRole::DepartmentHead] {
        let (w, _, caller) = administered(role);
        let refused = w
            .services
            .audit_trail
            .list(&caller, &AuditFilter::default())
            .await;
        assert!(
            matches!(refused, Err(AuditTrailError::Forbidden)),
            "{role:?}: {refused:?}"
        );
    }
    let (w, _, caller) = administered(AccessRole::Superadmin);
    let filter = |edit: fn(&mut AuditFilter)| {
        let mut filter = AuditFilter::default();
        edit(&mut filter);
        filter
    };
    let cases: [(AuditFilter, &str); 6] = [
        (filter(|f| f.user_id = Some("nope".into())), "userId"),
        (
            filter(|f| f.organization_id = Some("<script>".into())),
            "organizationId",
        ),
        (filter(|f| f.kind = Some("login.maybe".into())), "type"),
        (filter(|f| f.before = Some("zz".into())), "before"),
        (filter(|f| f.limit = Some("201".into())), "limit"),
        (filter(|f| f.limit = Some("0".into())), "limit"),
    ];
    for (filter, field) in cases {
        match w.services.audit_trail.list(&caller, &filter).await {
            Err(AuditTrailError::InvalidQuery(message)) => {
                assert!(message.starts_with(field), "{message}");
                assert!(
                    !message.contains("<script>") && !message.contains("nope"),
                    "{message}"
                );
            }
            other => panic!("{filter:?}: {other:?}"),
        }
    }
    let typed = w
        .services
        .audit_trail
        .list(
            &caller,
            &AuditFilter {
                kind: Some("login.refused".into()),
                limit: Some("200".into()),
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();
    assert!(typed.records.is_empty());
}
