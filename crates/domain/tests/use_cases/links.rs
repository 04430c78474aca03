//! Link requests: a login refused for want of a vouched address records one, and an
//! administrator within reach approves it (the next login of the identity signs in as
//! the matched user) or rejects it; by outcome over the in-memory stores.

use std::sync::Arc;

use tether_domain::{
    AccessRole, AuditActor, AuditType, LinkCaller, LinkDecision, LinkReplaced, LinkRequest, LinkRequestError,
    LinkRequestFilter, LinkRequestId, LinkRequestStatus, LinkRequestStore, LinkRequests, LinkedIdentity,
    LoginError, NewLinkRequest, OrganizationId, RecordedLinkRequest, RepositoryError, SystemActor, Timestamp,
    User, UserId, VerifiedAccess,
};

use crate::support::*;

/// A world with "Acme" and Jane, who signs in with SSO profile `prof_old`.
fn with_jane() -> (World, OrganizationId, User) {
    let w = World::new();
    let acme = w.add_org("Acme", 1, None);
    let jane = w.add_user(UserSpec {
        role: AccessRole::SalesRep,
        links: vec![(SSO, "prof_old")],
        ..user("jane@acme.example", acme)
    });
    (w, acme, jane)
}

/// The access of `user`, as a verified token of theirs would give.
fn access(user: &User) -> VerifiedAccess {
    VerifiedAccess {
        user_id: user.id,
        organization_id: user.organization_id,
        access_role: user.access_role,
        session_id: tether_domain::SessionId::new(format!("sess_of_{}", user.id)),
        expires_at: at(3600),
    }
}

/// An administrator of `role` in `organization`.
fn admin(w: &World, address: &'static str, role: AccessRole, organization: OrganizationId) -> User {
    w.add_user(UserSpec {
        role,
        ..user(address, organization)
    })
}

/// The SSO login of Jane's new profile, refused: the id of its link request.
async fn refused_login(w: &World) -> String {
    match w.login(sso("prof_new", "jane@acme.example", None)).await {
        Err(LoginError::AccountLinkRequired {
            link_request_id: Some(id),
        }) => id.to_string(),
        other => panic!("expected ACCOUNT_LINK_REQUIRED with a link request: {other:?}"),
    }
}

async fn pending(w: &World, caller: &User) -> Vec<LinkRequest> {
    w.services
        .link_requests
        .list(LinkCaller::Bearer(&access(caller)), Some("pending"), None)
        .await
        .unwrap()
}

fn kinds(w: &World) -> Vec<AuditType> {
    w.audit.all().iter().map(|e| e.kind).collect()
}

#[tokio::test]
async fn a_refused_login_records_one_link_request_and_a_repeat_answers_the_same_one() {
    let (w, acme, jane) = with_jane();
    let root = admin(&w, "root@acme.example", AccessRole::Superadmin, acme);

    let id = refused_login(&w).await;
    assert_eq!(
        refused_login(&w).await,
        id,
        "a repeat refusal answers the same request"
    );

    let listed = pending(&w, &root).await;
    assert_eq!(listed.len(), 1);
    let request = &listed[0];
    assert_eq!(request.id.to_string(), id);
    assert_eq!((request.user_id, request.organization_id), (jane.id, acme));
    assert_eq!(request.identity.link.provider, SSO);
    assert_eq!(request.identity.link.subject, "prof_new");
    assert_eq!(request.email.as_str(), "jane@acme.example");
    assert_eq!(request.email_verified, None);
    assert_eq!(request.status, LinkRequestStatus::Pending);
    assert_eq!(
        request.expires_at,
        request.requested_at.plus_seconds(7 * 24 * 3600)
    );
    assert_eq!(
        linked(&w.user(jane.id).await.unwrap(), SSO),
        Some("prof_old"),
        "the refused login wrote nothing on the user"
    );
    assert!(w.sessions().await.is_empty());

    let events = w.audit.all();
    assert_eq!(
        kinds(&w),
        [
            AuditType::LinkRequested,
            AuditType::LoginRefused,
            AuditType::LoginRefused
        ],
        "the request audited once, when recorded; each refusal as a refusal"
    );
    let requested = &events[0];
    assert_eq!(requested.actor, AuditActor::System(SystemActor::Service));
    assert_eq!(
        (requested.user_id, requested.organization_id),
        (Some(jane.id), Some(acme))
    );
    assert_eq!(requested.detail["provider"], "sso");
    assert_eq!(requested.detail["verified"], "unknown");
}

#[tokio::test]
async fn a_login_that_signs_in_records_no_link_request() {
    let (w, acme, jane) = with_jane();
    let root = admin(&w, "root@acme.example", AccessRole::Superadmin, acme);
    let session = w.login(sso("prof_old", "jane@acme.example", None)).await.unwrap();
    assert_eq!(session.user.id, jane.id);
    assert!(pending(&w, &root).await.is_empty());
    assert_eq!(kinds(&w), [AuditType::LoginSucceeded]);
}

#[tokio::test]
async fn an_approval_replaces_the_link_keeps_the_earlier_one_and_the_next_login_signs_in() {
    let (w, acme, jane) = with_jane();
    let root = admin(&w, "root@acme.example", AccessRole::Superadmin, acme);
    let id = refused_login(&w).await;
    w.set_clock(60);

    let approved = w
        .services
        .link_requests
        .approve(LinkCaller::Bearer(&access(&root)), &id)
        .await
        .unwrap();
    assert_eq!(approved.status, LinkRequestStatus::Approved);
    assert_eq!(approved.decided_at, Some(at(60)));
    assert_eq!(approved.decided_by, Some(AuditActor::User(root.id)));
    assert_eq!(linked(&w.user(jane.id).await.unwrap(), SSO), Some("prof_new"));
    let previous = w.store.previous_links(jane.id);
    assert_eq!(previous.len(), 1);
    assert_eq!(previous[0].link.subject, "prof_old");
    assert_eq!(previous[0].replaced_at, at(60));

    let session = w.login(sso("prof_new", "jane@acme.example", None)).await.unwrap();
    assert_eq!(session.user.id, jane.id, "the identity now signs in as Jane");
    assert!(pending(&w, &root).await.is_empty());

    let events = w.audit.all();
    let approval = events.iter().find(|e| e.kind == AuditType::LinkApproved).unwrap();
    assert_eq!(approval.actor, AuditActor::User(root.id));
    assert_eq!(approval.user_id, Some(jane.id));
    assert_eq!(approval.detail["replaced"], "prof_old");
}

#[tokio::test]
async fn only_an_administrator_within_reach_decides_and_others_read_the_request_as_absent() {
    let (w, acme, jane) = with_jane();
    let globex = w.add_org("Globex", 2, None);
    let rep = admin(&w, "rep@acme.example", AccessRole::SalesRep, acme);
    let head = admin(&w, "head@acme.example", AccessRole::DepartmentHead, acme);
    let stranger = admin(&w, "admin@globex.example", AccessRole::Admin, globex);
    let local = admin(&w, "admin@acme.example", AccessRole::Admin, acme);
    let id = refused_login(&w).await;
    let links = &w.services.link_requests;

    for caller in [&rep, &head] {
        let who = LinkCaller::Bearer(&access(caller));
        assert!(matches!(
            links.approve(who, &id).await,
            Err(LinkRequestError::Forbidden)
        ));
        assert!(matches!(
            links.list(who, None, None).await,
            Err(LinkRequestError::Forbidden)
        ));
    }
    let other_org = LinkCaller::Bearer(&access(&stranger));
    assert!(matches!(
        links.approve(other_org, &id).await,
        Err(LinkRequestError::NotFound)
    ));
    assert!(matches!(
        links.reject(other_org, &id).await,
        Err(LinkRequestError::NotFound)
    ));
    assert!(
        pending(&w, &stranger).await.is_empty(),
        "another organization's requests are not listed"
    );
    assert_eq!(linked(&w.user(jane.id).await.unwrap(), SSO), Some("prof_old"));

    assert_eq!(pending(&w, &local).await.len(), 1);
    let rejected = links
        .reject(LinkCaller::Bearer(&access(&local)), &id)
        .await
        .unwrap();
    assert_eq!(rejected.status, LinkRequestStatus::Rejected);
    assert_eq!(
        linked(&w.user(jane.id).await.unwrap(), SSO),
        Some("prof_old"),
        "a rejection links nothing"
    );
    assert!(
        matches!(
            w.login(sso("prof_new", "jane@acme.example", None)).await,
            Err(LoginError::AccountLinkRequired { link_request_id: Some(again) }) if again.to_string() != id
        ),
        "a later refusal records a new request"
    );

    let mut disabled = local.clone();
    disabled.login_disabled = true;
    w.store.put_user(disabled);
    assert!(matches!(
        links.list(LinkCaller::Bearer(&access(&local)), None, None).await,
        Err(LinkRequestError::LoginDisabled)
    ));
}

#[tokio::test]
async fn an_approval_is_refused_when_another_user_carries_the_identity() {
    let (w, acme, jane) = with_jane();
    let root = admin(&w, "root@acme.example", AccessRole::Superadmin, acme);
    let id = refused_login(&w).await;
    w.add_user(UserSpec {
        links: vec![(SSO, "prof_new")],
        ..user("someone@acme.example", acme)
    });

    let refused = w
        .services
        .link_requests
        .approve(LinkCaller::Bearer(&access(&root)), &id)
        .await;
    assert!(matches!(refused, Err(LinkRequestError::Conflict)), "{refused:?}");
    assert_eq!(linked(&w.user(jane.id).await.unwrap(), SSO), Some("prof_old"));
    assert!(w.store.previous_links(jane.id).is_empty());
    assert_eq!(pending(&w, &root).await.len(), 1, "the request still waits");
    assert!(!kinds(&w).contains(&AuditType::LinkApproved));
}

#[tokio::test]
async fn a_decided_or_expired_request_is_not_decided_again() {
    let (w, acme, _) = with_jane();
    let root = admin(&w, "root@acme.example", AccessRole::Superadmin, acme);
    let links = &w.services.link_requests;
    let who = LinkCaller::Bearer(&access(&root));
    let id = refused_login(&w).await;
    links.reject(who, &id).await.unwrap();
    assert!(matches!(
        links.approve(who, &id).await,
        Err(LinkRequestError::NotPending(LinkRequestStatus::Rejected))
    ));

    let lapsing = refused_login(&w).await;
    w.set_clock(7 * 24 * 3600 + 1);
    assert!(matches!(
        links.approve(who, &lapsing).await,
        Err(LinkRequestError::NotPending(LinkRequestStatus::Expired))
    ));
    let expired = links.list(who, Some("expired"), None).await.unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].id.to_string(), lapsing);
    assert_eq!(expired[0].status, LinkRequestStatus::Expired);
    assert_ne!(refused_login(&w).await, lapsing, "a lapsed request is superseded");
}

#[tokio::test]
async fn the_command_line_decides_any_request_and_is_recorded_as_such() {
    let (w, _, jane) = with_jane();
    let id = refused_login(&w).await;
    let links = &w.services.link_requests;
    assert_eq!(
        links
            .list(LinkCaller::CommandLine, None, None)
            .await
            .unwrap()
            .len(),
        1
    );
    let approved = links.approve(LinkCaller::CommandLine, &id).await.unwrap();
    assert_eq!(approved.decided_by, Some(AuditActor::System(SystemActor::Cli)));
    assert_eq!(linked(&w.user(jane.id).await.unwrap(), SSO), Some("prof_new"));
    let events = w.audit.all();
    let approval = events.iter().find(|e| e.kind == AuditType::LinkApproved).unwrap();
    assert_eq!(approval.actor, AuditActor::System(SystemActor::Cli));
}

#[tokio::test]
async fn malformed_ids_and_queries_are_refused_before_anything_is_read() {
    let (w, _, _) = with_jane();
    let links = &w.services.link_requests;
    let cli = LinkCaller::CommandLine;
    assert!(matches!(
        links.approve(cli, "not-an-id").await,
        Err(LinkRequestError::InvalidId)
    ));
    assert!(matches!(
        links.reject(cli, "6a1b2c3d4e5f600123456789").await,
        Err(LinkRequestError::NotFound)
    ));
    assert!(matches!(
        links.list(cli, Some("open"), None).await,
        Err(LinkRequestError::InvalidQuery(_))
    ));
    assert!(matches!(
        links.list(cli, None, Some(0)).await,
        Err(LinkRequestError::InvalidQuery(_))
    ));
    assert!(matches!(
        links.list(cli, None, Some(201)).await,
        Err(LinkRequestError::InvalidQuery(_))
    ));
}

/// The in-memory store, but a concurrent login records the approved link on another
/// user just before the approval writes it (the race the pre-check cannot see).
struct RacedApproval {
    store: tether_memory::InMemoryStore,
    racer: User,
}

#[async_trait::async_trait]
impl LinkRequestStore for RacedApproval {
    async fn record_or_get_pending(
        &self,
        request: NewLinkRequest,
    ) -> Result<RecordedLinkRequest, RepositoryError> {
        self.store.record_or_get_pending(request).await
    }

    async fn find_link_request(&self, id: LinkRequestId) -> Result<Option<LinkRequest>, RepositoryError> {
        self.store.find_link_request(id).await
    }

    async fn list_link_requests(
        &self,
        filter: &LinkRequestFilter,
    ) -> Result<Vec<LinkRequest>, RepositoryError> {
        self.store.list_link_requests(filter).await
    }

    async fn decide(&self, decision: LinkDecision) -> Result<Option<LinkRequest>, RepositoryError> {
        self.store.decide(decision).await
    }

    async fn reopen(&self, id: LinkRequestId, decided_at: Timestamp) -> Result<bool, RepositoryError> {
        self.store.reopen(id, decided_at).await
    }

    async fn replace_link(
        &self,
        user: UserId,
        identity: LinkedIdentity,
        at: Timestamp,
    ) -> Result<Option<LinkReplaced>, RepositoryError> {
        let mut racer = self.racer.clone();
        racer.links = vec![identity.link.clone()];
        self.store.put_user(racer);
        self.store.replace_link(user, identity, at).await
    }
}

#[tokio::test]
async fn an_approval_that_loses_the_race_for_the_identity_is_a_conflict_and_the_request_waits_again() {
    let (w, acme, jane) = with_jane();
    let id = refused_login(&w).await;
    let racer = w.add_user(user("racer@acme.example", acme));
    let raced = LinkRequests::new(
        Arc::new(RacedApproval {
            store: w.store.clone(),
            racer,
        }),
        Arc::new(w.store.clone()),
        w.clock.clone(),
        w.audit.clone(),
    );

    let refused = raced.approve(LinkCaller::CommandLine, &id).await;
    assert!(matches!(refused, Err(LinkRequestError::Conflict)), "{refused:?}");
    assert_eq!(linked(&w.user(jane.id).await.unwrap(), SSO), Some("prof_old"));
    let waiting = raced.list(LinkCaller::CommandLine, None, None).await.unwrap();
    assert_eq!(waiting.len(), 1, "the approval was taken back");
    assert_eq!(waiting[0].id.to_string(), id);
    assert_eq!(
        (waiting[0].decided_at, waiting[0].decided_by.as_ref()),
        (None, None)
    );
    assert!(!kinds(&w).contains(&AuditType::LinkApproved));
}
