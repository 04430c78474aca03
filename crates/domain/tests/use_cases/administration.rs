//! Sessions and sign-in administered: what a session records of its login, what an
//! administrator may see and end, disabling and enabling a user's sign-in, and a
//! person's own sessions; each by its answers, what the stores hold afterwards and
//! what the audit trail was handed.

use secrecy::SecretString;
use tether_domain::{
    AccessError, AccessRole, AdministrationError, AuditActor, AuditOrigin, AuditType, AuthSession,
    CallbackInput, ClientContext, DisabledBy, Disablement, ExternalIdentity, LifecycleStore,
    LoginDisabledChange, LoginDisabledOutcome, LoginError, OrganizationId, OwnSessionsError, RefreshError,
    RevokedReason, SessionSummary, User, VerifiedAccess,
};

use crate::support::*;

/// A world of two organizations: Acme, with an ADMIN, a SALES_REP and Jane, and Beta,
/// with its own ADMIN and the SUPERADMIN.
struct Admins {
    w: World,
    acme: OrganizationId,
    jane: User,
}

/// Everyone of [`Admins`], by the subject of their AuthKit identity.
const SUPERADMIN: &str = "user_root";
const ACME_ADMIN: &str = "user_acme_admin";
const BETA_ADMIN: &str = "user_beta_admin";
const ACME_REP: &str = "user_acme_rep";
const JANE: &str = "user_jane";

fn address(subject: &str) -> &'static str {
    match subject {
        SUPERADMIN => "root@beta.example",
        ACME_ADMIN => "admin@acme.example",
        BETA_ADMIN => "admin@beta.example",
        ACME_REP => "rep@acme.example",
        _ => "jane@acme.example",
    }
}

impl Admins {
    fn new() -> Self {
        let w = World::new();
        let acme = w.add_org("Acme", 0, None);
        let beta = w.add_org("Beta", 1, None);
        let mut jane = None;
        for (subject, organization, role) in [
            (SUPERADMIN, beta, AccessRole::Superadmin),
            (ACME_ADMIN, acme, AccessRole::Admin),
            (BETA_ADMIN, beta, AccessRole::Admin),
            (ACME_REP, acme, AccessRole::SalesRep),
            (JANE, acme, AccessRole::SalesRep),
        ] {
            let added = w.add_user(UserSpec {
                role,
                links: vec![(AUTHKIT, subject)],
                ..user(address(subject), organization)
            });
            if subject == JANE {
                jane = Some(added);
            }
        }
        Self {
            w,
            acme,
            jane: jane.expect("Jane was added"),
        }
    }

    /// A login of `subject` from `client`.
    async fn login_from(&self, subject: &str, client: ClientContext) -> Result<AuthSession, LoginError> {
        login_from(&self.w, identity(subject), client).await
    }

    /// A login of `subject` from nowhere in particular.
    async fn login(&self, subject: &str) -> AuthSession {
        self.login_from(subject, ClientContext::default())
            .await
            .expect("signed in")
    }

    /// Jane signed in twice: her two sessions, the older first.
    async fn jane_twice(&self) -> [AuthSession; 2] {
        [self.login(JANE).await, self.login(JANE).await]
    }

    /// `subject` signed in: their verified access token.
    async fn caller(&self, subject: &str) -> VerifiedAccess {
        let session = self.login(subject).await;
        access(&self.w, &session).await.expect("a good token")
    }

    fn jane_id(&self) -> String {
        self.jane.id.to_string()
    }

    /// Jane's live sessions, as `caller` sees them.
    async fn sessions_of_jane(&self, caller: &VerifiedAccess) -> Vec<SessionSummary> {
        self.w
            .services
            .administration
            .sessions(caller, &self.jane_id())
            .await
            .unwrap()
    }

    /// The audit records of what `actor` did to Jane, in short: type, session and detail
    /// of each.
    fn records_about_jane(&self, actor: &AuditActor, records: &[ExpectedRecord<'_>]) -> Vec<Audited> {
        records
            .iter()
            .map(|(kind, session, detail)| {
                let detail = detail
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect();
                let session = session.map(str::to_owned);
                (*kind, actor.clone(), Some(self.jane_id()), session, detail)
            })
            .collect()
    }
}

fn identity(subject: &str) -> ExternalIdentity {
    authkit(subject, address(subject), true)
}

/// A whole login of `identity` posted from `client`.
async fn login_from(
    w: &World,
    identity: ExternalIdentity,
    client: ClientContext,
) -> Result<AuthSession, LoginError> {
    let code = format!("code-{}", w.idp.exchanges().len() + 1);
    let state = w.start_for(&code, identity).await;
    w.post(CallbackInput {
        client,
        ..World::posted(&code, &state)
    })
    .await
}

async fn access(w: &World, session: &AuthSession) -> Result<VerifiedAccess, AccessError> {
    w.services.access.authenticate(shown(&session.access_token)).await
}

async fn refresh(w: &World, token: &SecretString) -> Result<AuthSession, RefreshError> {
    w.services.refresh.refresh(token, &AuditOrigin::default()).await
}

/// `session` was ended: its access token is refused, and its refresh token too.
async fn assert_ended(w: &World, session: &AuthSession) {
    let access = access(w, session).await;
    assert!(matches!(access, Err(AccessError::SessionRevoked)), "{access:?}");
    let refreshed = refresh(w, &session.refresh_token).await;
    assert!(matches!(refreshed, Err(RefreshError::Revoked)), "{refreshed:?}");
}

/// The origin of the requests of these tests.
fn origin(request_id: &str) -> AuditOrigin {
    AuditOrigin {
        client: ClientContext {
            ip_address: Some("198.51.100.9".to_owned()),
            user_agent: Some("admin-console/1.0".to_owned()),
        },
        request_id: Some(request_id.to_owned()),
    }
}

fn ids(sessions: &[SessionSummary]) -> Vec<&str> {
    sessions.iter().map(|s| s.id.as_str()).collect()
}

fn browser() -> ClientContext {
    ClientContext {
        ip_address: Some("203.0.113.7".to_owned()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64)".to_owned()),
    }
}

/// One audit record in short: type, actor, user, session and detail.
type Audited = (
    AuditType,
    AuditActor,
    Option<String>,
    Option<String>,
    Vec<(String, String)>,
);

/// An expected audit record about Jane: type, session and detail.
type ExpectedRecord<'a> = (AuditType, Option<&'a str>, &'a [(&'a str, &'a str)]);

/// What the audit trail was handed, in short, but the logins' own records (the
/// administration's are the point here).
fn audited(w: &World) -> Vec<Audited> {
    w.audit
        .all()
        .into_iter()
        .filter(|e| !matches!(e.kind, AuditType::LoginSucceeded | AuditType::LoginRefused))
        .map(|e| {
            (
                e.kind,
                e.actor,
                e.user_id.map(|u| u.to_string()),
                e.session_id.map(|s| s.as_str().to_owned()),
                e.detail.into_iter().collect(),
            )
        })
        .collect()
}

// ---- what a session records ---------------------------------------------------------

#[tokio::test]
async fn a_login_records_its_flow_and_its_client_cleaned_and_cut_short() {
    let a = Admins::new();
    let long_agent = format!("Mozilla/5.0\r\n{}", "x".repeat(300));
    let session = a
        .login_from(
            JANE,
            ClientContext {
                ip_address: Some("203.0.113.7".to_owned()),
                user_agent: Some(long_agent),
            },
        )
        .await
        .unwrap();
    let record = a.w.record(&session).await;
    assert_eq!(record.flow, Some(AUTHKIT));
    assert_eq!(record.client.ip_address.as_deref(), Some("203.0.113.7"));
    let agent = record.client.user_agent.unwrap();
    assert_eq!(agent.chars().count(), 256, "cut at 256 characters");
    assert!(
        agent.starts_with("Mozilla/5.0xxx"),
        "control characters removed: {agent}"
    );

    let sso_user = a.w.add_user(UserSpec {
        links: vec![(SSO, "prof_1")],
        ..user("sso@acme.example", a.acme)
    });
    let sso_session = login_from(
        &a.w,
        sso("prof_1", sso_user.email.as_str(), None),
        ClientContext::default(),
    )
    .await
    .unwrap();
    let record = a.w.record(&sso_session).await;
    assert_eq!(
        (record.flow, record.client),
        (Some(SSO), ClientContext::default()),
        "a login without a known client records none"
    );
}

// ---- who may see and end a user's sessions --------------------------------------------

#[tokio::test]
async fn a_users_live_sessions_are_listed_newest_first_to_a_superadmin_and_their_organizations_admin() {
    let a = Admins::new();
    let first = a.login_from(JANE, browser()).await.unwrap();
    a.w.set_clock(10);
    let second = a.login(JANE).await;
    a.w.set_clock(20);
    let ended = a.login(JANE).await;
    a.w.services
        .logout
        .logout(
            tether_domain::LogoutCredential::RefreshToken(ended.refresh_token.clone()),
            AuditOrigin::default(),
        )
        .await
        .unwrap();

    for subject in [SUPERADMIN, ACME_ADMIN] {
        let caller = a.caller(subject).await;
        let listed = a.sessions_of_jane(&caller).await;
        assert_eq!(
            ids(&listed),
            [second.session_id.as_str(), first.session_id.as_str()],
            "{subject}: live ones, newest first"
        );
        let oldest = &listed[1];
        assert_eq!(
            (oldest.started_at, oldest.ends_at, oldest.last_refreshed_at),
            (t0(), t0().plus_seconds(30 * 24 * 3600), None)
        );
        assert_eq!((&oldest.flow, &oldest.client), (&Some(AUTHKIT), &browser()));
        assert!(!oldest.current, "not the caller's own session");
    }
}

#[tokio::test]
async fn anyone_else_is_refused_and_ids_cannot_be_probed() {
    let a = Admins::new();
    a.login(JANE).await;
    let beta_admin = a.caller(BETA_ADMIN).await;
    let rep = a.caller(ACME_REP).await;
    let superadmin = a.caller(SUPERADMIN).await;
    let admin = &a.w.services.administration;
    type Refusal = fn(&AdministrationError) -> bool;
    let cases: [(&VerifiedAccess, String, Refusal); 5] = [
        (&beta_admin, a.jane_id(), |e| {
            matches!(e, AdministrationError::UserNotFound)
        }),
        (&superadmin, "5f7b1c2e8a1d4e00120000ee".to_owned(), |e| {
            matches!(e, AdministrationError::UserNotFound)
        }),
        (&superadmin, "not-an-id".to_owned(), |e| {
            matches!(e, AdministrationError::InvalidUserId)
        }),
        (&rep, a.jane_id(), |e| matches!(e, AdministrationError::Forbidden)),
        (&rep, "5f7b1c2e8a1d4e00120000ee".to_owned(), |e| {
            matches!(e, AdministrationError::Forbidden)
        }),
    ];
    for (caller, id, refused) in cases {
        let listed = admin.sessions(caller, &id).await;
        assert!(listed.as_ref().is_err_and(refused), "{id}: {listed:?}");
        let ended = admin.revoke_sessions(caller, &id, origin("r")).await;
        assert!(ended.as_ref().is_err_and(refused), "{id}: {ended:?}");
        let disabled = admin
            .set_login_disabled(
                caller,
                &id,
                LoginDisabledChange {
                    disabled: true,
                    reason: None,
                },
                origin("r"),
            )
            .await;
        assert!(disabled.as_ref().is_err_and(refused), "{id}: {disabled:?}");
    }
    assert_eq!(
        a.w.services
            .own_sessions
            .list(&a.caller(JANE).await)
            .await
            .unwrap()
            .len(),
        2,
        "nothing was ended"
    );
    assert!(!a.w.user(a.jane.id).await.unwrap().login_disabled);
    assert!(audited(&a.w).is_empty(), "nothing to record");
}

#[tokio::test]
async fn an_administrator_ends_one_session_then_all_and_their_tokens_stop_working() {
    let a = Admins::new();
    let [first, second] = a.jane_twice().await;
    let caller = a.caller(SUPERADMIN).await;
    let admin = &a.w.services.administration;

    admin
        .revoke_session(&caller, &a.jane_id(), first.session_id.as_str(), origin("req-1"))
        .await
        .unwrap();
    let record = a.w.record(&first).await;
    assert_eq!(
        (record.revoked_at, record.revoked_reason),
        (Some(t0()), Some(RevokedReason::Admin))
    );
    assert_ended(&a.w, &first).await;
    assert!(access(&a.w, &second).await.is_ok(), "the other one lives");

    // Ended already, another user's, or no session id at all: not found, nothing written.
    for id in [
        first.session_id.as_str(),
        caller.session_id.as_str(),
        "no such/id",
    ] {
        let again = admin
            .revoke_session(&caller, &a.jane_id(), id, origin("req-2"))
            .await;
        assert!(
            matches!(again, Err(AdministrationError::SessionNotFound)),
            "{id}: {again:?}"
        );
    }
    assert!(
        a.w.session(&caller.session_id)
            .await
            .unwrap()
            .revoked_at
            .is_none()
    );

    assert_eq!(
        admin
            .revoke_sessions(&caller, &a.jane_id(), origin("req-3"))
            .await
            .unwrap(),
        1
    );
    assert_ended(&a.w, &second).await;
    assert_eq!(
        admin
            .revoke_sessions(&caller, &a.jane_id(), origin("req-4"))
            .await
            .unwrap(),
        0,
        "none left"
    );

    #[rustfmt::skip]
    let expected = a.records_about_jane(&AuditActor::User(caller.user_id), &[
        (AuditType::SessionRevoked, Some(first.session_id.as_str()), &[("reason", "admin")]),
        (AuditType::SessionRevoked, None, &[("count", "1"), ("reason", "admin")]),
    ]);
    assert_eq!(
        audited(&a.w),
        expected,
        "one record per request that ended sessions"
    );
    let records = a.w.audit.of(AuditType::SessionRevoked);
    assert_eq!(records[0].origin, origin("req-1"));
    assert_eq!(records[1].origin, origin("req-3"));
    assert_eq!(records[0].organization_id, Some(a.acme));
}

// ---- disabling and enabling ------------------------------------------------------------

fn disable(reason: Option<&str>) -> LoginDisabledChange {
    LoginDisabledChange {
        disabled: true,
        reason: reason.map(str::to_owned),
    }
}

fn enable() -> LoginDisabledChange {
    LoginDisabledChange {
        disabled: false,
        reason: None,
    }
}

#[tokio::test]
async fn disabling_signs_the_user_out_everywhere_and_blocks_login_until_enabled() {
    let a = Admins::new();
    let sessions = a.jane_twice().await;
    a.w.set_clock(5);
    let caller = a.caller(ACME_ADMIN).await;
    let admin = &a.w.services.administration;

    let outcome = admin
        .set_login_disabled(
            &caller,
            &a.jane_id(),
            disable(Some(" left\n the company ")),
            origin("d"),
        )
        .await
        .unwrap();
    assert_eq!(
        outcome,
        LoginDisabledOutcome {
            user_id: a.jane.id,
            disabled: true,
            changed: true,
            revoked_sessions: 2,
        }
    );
    assert!(a.w.user(a.jane.id).await.unwrap().login_disabled);
    assert_eq!(
        a.w.store.disablement(a.jane.id),
        Some(Disablement {
            by: DisabledBy::Operator {
                user_id: caller.user_id
            },
            at: at(5),
            reason: "left the company".to_owned(),
        })
    );
    for session in &sessions {
        assert_eq!(
            a.w.record(session).await.revoked_reason,
            Some(RevokedReason::Admin)
        );
        assert!(
            matches!(access(&a.w, session).await, Err(AccessError::LoginDisabled)),
            "an access token says why while the user stays disabled"
        );
        assert!(matches!(
            refresh(&a.w, &session.refresh_token).await,
            Err(RefreshError::LoginDisabled)
        ));
    }
    assert!(matches!(
        a.login_from(JANE, ClientContext::default()).await,
        Err(LoginError::LoginDisabled)
    ));

    // Again: nothing changes, nothing more to end.
    let again = admin
        .set_login_disabled(&caller, &a.jane_id(), disable(None), origin("d2"))
        .await
        .unwrap();
    assert_eq!((again.changed, again.revoked_sessions), (false, 0));
    assert_eq!(
        a.w.store.disablement(a.jane.id).map(|d| d.reason),
        Some("left the company".to_owned()),
        "the first disablement stays"
    );

    let enabled = admin
        .set_login_disabled(&caller, &a.jane_id(), enable(), origin("e"))
        .await
        .unwrap();
    assert_eq!((enabled.disabled, enabled.changed), (false, true));
    assert_eq!(a.w.store.disablement(a.jane.id), None);
    let back = a.login(JANE).await;
    assert!(access(&a.w, &back).await.is_ok(), "signs in again");
    assert!(
        matches!(access(&a.w, &sessions[0]).await, Err(AccessError::SessionRevoked)),
        "the sessions ended stay ended"
    );

    #[rustfmt::skip]
    let expected = a.records_about_jane(&AuditActor::User(caller.user_id), &[
        (AuditType::UserDisabled, None, &[("reason", "left the company")]),
        (AuditType::SessionRevoked, None, &[("count", "2"), ("reason", "admin")]),
        (AuditType::UserEnabled, None, &[]),
    ]);
    assert_eq!(audited(&a.w), expected);
}

#[tokio::test]
async fn an_administrator_cannot_disable_themselves_nor_give_an_overlong_reason() {
    let a = Admins::new();
    let session = a.login(ACME_ADMIN).await;
    let caller = access(&a.w, &session).await.unwrap();
    let admin = &a.w.services.administration;
    let own = admin
        .set_login_disabled(&caller, &caller.user_id.to_string(), disable(None), origin("s"))
        .await;
    assert!(
        matches!(own, Err(AdministrationError::CannotDisableSelf)),
        "{own:?}"
    );
    assert!(access(&a.w, &session).await.is_ok(), "still signed in");
    let long = admin
        .set_login_disabled(
            &caller,
            &a.jane_id(),
            disable(Some(&"x".repeat(257))),
            origin("l"),
        )
        .await;
    assert!(
        matches!(long, Err(AdministrationError::InvalidReason)),
        "{long:?}"
    );
    assert!(
        !a.w.user(a.jane.id).await.unwrap().login_disabled,
        "nothing changed"
    );
    assert!(audited(&a.w).is_empty());
}

#[tokio::test]
async fn an_operator_enables_a_user_an_event_disabled_and_takes_over_an_events_disablement() {
    let a = Admins::new();
    let by_event = |id: &str| Disablement {
        by: DisabledBy::Event {
            id: id.to_owned(),
            event_type: "user.deleted".to_owned(),
        },
        at: t0(),
        reason: "identity_removed".to_owned(),
    };
    a.w.store
        .disable_user(a.jane.id, by_event("event_1"))
        .await
        .unwrap();
    let caller = a.caller(SUPERADMIN).await;
    let admin = &a.w.services.administration;
    let enabled = admin
        .set_login_disabled(&caller, &a.jane_id(), enable(), origin("e"))
        .await
        .unwrap();
    assert!(enabled.changed);
    let back = a.login(JANE).await;

    // Disabled by an event again (its sessions are the event's to end).
    a.w.store
        .disable_user(a.jane.id, by_event("event_2"))
        .await
        .unwrap();
    let taken_over = admin
        .set_login_disabled(&caller, &a.jane_id(), disable(Some("fraud")), origin("d"))
        .await
        .unwrap();
    assert!(
        taken_over.changed,
        "the operator's disablement replaces the event's"
    );
    assert_eq!(taken_over.revoked_sessions, 1, "and every live session ends");
    assert_eq!(a.w.record(&back).await.revoked_reason, Some(RevokedReason::Admin));
    assert!(
        !a.w.store
            .enable_user_disabled_by_event(a.jane.id, at(1))
            .await
            .unwrap(),
        "so an event no longer re-enables her"
    );
}

// ---- a person's own sessions ------------------------------------------------------------

#[tokio::test]
async fn a_person_lists_their_sessions_flagging_the_current_one_and_signs_out_everywhere_else() {
    let a = Admins::new();
    let first = a.login(JANE).await;
    a.w.set_clock(10);
    let second = a.login(JANE).await;
    a.w.set_clock(20);
    let current = a.login(JANE).await;
    let bob = a.login(ACME_REP).await;
    let caller = access(&a.w, &current).await.unwrap();
    let own = &a.w.services.own_sessions;

    let listed = own.list(&caller).await.unwrap();
    assert_eq!(
        ids(&listed),
        [
            current.session_id.as_str(),
            second.session_id.as_str(),
            first.session_id.as_str()
        ]
    );
    let flagged: Vec<bool> = listed.iter().map(|s| s.current).collect();
    assert_eq!(flagged, [true, false, false]);

    assert_eq!(own.revoke_all(&caller, false, origin("o")).await.unwrap(), 2);
    for ended in [&first, &second] {
        assert_eq!(
            a.w.record(ended).await.revoked_reason,
            Some(RevokedReason::Logout)
        );
        assert!(matches!(
            refresh(&a.w, &ended.refresh_token).await,
            Err(RefreshError::Revoked)
        ));
    }
    assert!(access(&a.w, &current).await.is_ok(), "the current one stays");
    assert!(access(&a.w, &bob).await.is_ok(), "another person's stays");

    assert_eq!(own.revoke_all(&caller, true, origin("o2")).await.unwrap(), 1);
    assert!(matches!(
        access(&a.w, &current).await,
        Err(AccessError::SessionRevoked)
    ));
    #[rustfmt::skip]
    let expected = a.records_about_jane(&AuditActor::User(a.jane.id), &[
        (AuditType::SessionRevoked, None, &[("count", "2"), ("includeCurrent", "false"), ("reason", "logout")]),
        (AuditType::SessionRevoked, None, &[("count", "1"), ("includeCurrent", "true"), ("reason", "logout")]),
    ]);
    assert_eq!(audited(&a.w), expected);
}

#[tokio::test]
async fn a_person_ends_one_of_their_own_sessions_but_never_someone_elses() {
    let a = Admins::new();
    let [other, current] = a.jane_twice().await;
    let bob = a.login(ACME_REP).await;
    let caller = access(&a.w, &current).await.unwrap();
    let own = &a.w.services.own_sessions;

    for id in [bob.session_id.as_str(), "sess_unknown", "a b", ""] {
        let refused = own.revoke(&caller, id, origin("x")).await;
        assert!(
            matches!(refused, Err(OwnSessionsError::SessionNotFound)),
            "{id:?}: {refused:?}"
        );
    }
    assert!(access(&a.w, &bob).await.is_ok(), "Bob's session is untouched");

    own.revoke(&caller, other.session_id.as_str(), origin("y"))
        .await
        .unwrap();
    assert!(matches!(
        access(&a.w, &other).await,
        Err(AccessError::SessionRevoked)
    ));
    let again = own.revoke(&caller, other.session_id.as_str(), origin("z")).await;
    assert!(matches!(again, Err(OwnSessionsError::SessionNotFound)));
    let records = a.w.audit.of(AuditType::SessionRevoked);
    assert_eq!(records.len(), 1, "one session ended");
    assert_eq!(
        (
            records[0].kind,
            records[0].session_id.as_ref(),
            &records[0].origin
        ),
        (AuditType::SessionRevoked, Some(&other.session_id), &origin("y"))
    );
}

#[tokio::test]
async fn a_list_holds_the_newest_hundred() {
    let a = Admins::new();
    for n in 0..105 {
        a.w.services
            .issuer
            .start_session(a.jane.clone(), None, at(n))
            .await
            .unwrap();
    }
    let caller = a.caller(SUPERADMIN).await;
    let listed = a.sessions_of_jane(&caller).await;
    assert_eq!(listed.len(), 100);
    assert_eq!(
        (listed[0].started_at, listed[99].started_at),
        (at(104), at(5)),
        "the newest, newest first"
    );
}

#[tokio::test]
async fn a_session_stored_before_flows_were_recorded_takes_the_only_provider_its_user_signs_in_with() {
    let a = Admins::new();
    let earlier =
        a.w.services
            .issuer
            .start_session(a.jane.clone(), None, t0())
            .await
            .unwrap();
    assert_eq!(a.w.record(&earlier).await.flow, None, "recorded without a flow");
    let caller = a.caller(JANE).await;
    let flows = |listed: Vec<SessionSummary>| -> Vec<Option<tether_domain::ProviderKey>> {
        listed.into_iter().map(|s| s.flow).collect()
    };
    let own = &a.w.services.own_sessions;
    assert_eq!(
        flows(own.list(&caller).await.unwrap()),
        [Some(AUTHKIT), Some(AUTHKIT)],
        "she only ever signed in through AuthKit"
    );

    // Once she carries a second link, an unrecorded flow is unknown.
    let mut two_links = a.w.user(a.jane.id).await.unwrap();
    two_links.links.push(tether_domain::IdentityLink {
        provider: SSO,
        subject: "prof_jane".to_owned(),
    });
    a.w.store.put_user(two_links);
    let listed = own.list(&caller).await.unwrap();
    let by_id: Vec<(&str, Option<tether_domain::ProviderKey>)> =
        listed.iter().map(|s| (s.id.as_str(), s.flow.clone())).collect();
    assert!(by_id.contains(&(earlier.session_id.as_str(), None)), "{by_id:?}");
    assert!(
        by_id.contains(&(caller.session_id.as_str(), Some(AUTHKIT))),
        "a recorded flow stays"
    );
    let admin = a.caller(SUPERADMIN).await;
    let seen = a.sessions_of_jane(&admin).await;
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter()
            .any(|s| s.id == earlier.session_id && s.flow.is_none())
    );
}
