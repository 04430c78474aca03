//! Port-conformance suite of link requests: [`link_request_store`], run by every store
//! adapter on an empty store.

#![expect(
    clippy::expect_used,
    reason = "a conformance suite is test code: like assert!, it fails by panicking with a message"
)]

use futures_util::future::join_all;

use super::{LinkDecision, LinkRequestFilter, LinkRequestStatus, LinkRequestStore, NewLinkRequest};
use crate::audit::{AuditActor, SystemActor};
use crate::conformance::{AUTHKIT, OTHER, SSO, link, new_user, organization_id};
use crate::model::LinkedIdentity;
use crate::ports::{Clock, RepositoryError, UserRepository};
use crate::values::{Email, LinkRequestId, OrganizationId, ProviderKey, TenantId, Timestamp, UserId};

fn identity(provider: &ProviderKey, subject: &str) -> LinkedIdentity {
    LinkedIdentity {
        link: link(provider, subject),
        connection: Some("conn_links".to_owned()),
        tenant: Some(TenantId::parse("org_links").expect("suite tenants are valid")),
    }
}

fn request(
    user: UserId,
    org: OrganizationId,
    provider: &ProviderKey,
    subject: &str,
    at: Timestamp,
) -> NewLinkRequest {
    NewLinkRequest {
        user_id: user,
        organization_id: org,
        identity: identity(provider, subject),
        email: Email::parse("links@conformance.example").expect("suite addresses are valid"),
        email_verified: Some(false),
        requested_at: at,
        expires_at: at.plus_seconds(super::LINK_REQUEST_TTL_SECONDS),
    }
}

async fn user(
    users: &dyn UserRepository,
    address: &str,
    provider: &ProviderKey,
    subject: &str,
    at: Timestamp,
) -> UserId {
    users
        .insert(new_user(address, provider, subject, at))
        .await
        .expect("a suite user is inserted")
        .id
}

/// [`LinkRequestStore`]: one pending request per user and link (a repeat answers the
/// same one, also to concurrent callers; an expired one is superseded), newest-first
/// listings by status and organization, a decision once by compare-and-set, reopening,
/// and the approved link replacing the earlier subject of its provider, refused as
/// `Duplicate` with nothing written when another user carries it. `users` is the same
/// store's user repository.
pub async fn link_request_store(store: &dyn LinkRequestStore, users: &dyn UserRepository, clock: &dyn Clock) {
    let now = clock.now();
    let acme = organization_id("64a1b2c3d4e5f600aaaaaaaa");
    let globex = organization_id("64a1b2c3d4e5f600bbbbbbbb");
    let jane = user(users, "jane@links.example", &SSO, "prof_links_old", now).await;
    let bob = user(users, "bob@links.example", &AUTHKIT, "user_links_bob", now).await;

    // One pending request per user and link.
    let first = store
        .record_or_get_pending(request(jane, acme, &SSO, "prof_links_new", now))
        .await
        .expect("a request is recorded");
    assert!(first.created);
    let r = &first.request;
    assert_eq!(r.status, LinkRequestStatus::Pending);
    assert_eq!((r.user_id, r.organization_id), (jane, acme));
    assert_eq!(r.identity, identity(&SSO, "prof_links_new"));
    assert_eq!(r.email.as_str(), "links@conformance.example");
    assert_eq!(r.email_verified, Some(false));
    assert_eq!(r.requested_at, now);
    assert_eq!(r.expires_at, now.plus_seconds(super::LINK_REQUEST_TTL_SECONDS));
    assert_eq!((r.decided_at, r.decided_by.as_ref()), (None, None));
    let again = store
        .record_or_get_pending(request(jane, acme, &SSO, "prof_links_new", now.plus_seconds(5)))
        .await
        .expect("a repeat answers");
    assert!(!again.created, "a repeat records nothing");
    assert_eq!(
        again.request, first.request,
        "a repeat answers the pending request"
    );
    assert_eq!(
        store
            .find_link_request(r.id)
            .await
            .expect("find answers")
            .as_ref(),
        Some(r)
    );
    let unknown = LinkRequestId::parse("6a1b2c3d4e5f600123456789").expect("suite ids are valid");
    assert_eq!(
        store.find_link_request(unknown).await.expect("find answers"),
        None
    );

    let concurrent = join_all((0..8).map(|_| {
        store.record_or_get_pending(request(bob, globex, &OTHER, "other_bob", now.plus_seconds(1)))
    }))
    .await;
    let ids: std::collections::BTreeSet<_> = concurrent
        .into_iter()
        .map(|r| r.expect("concurrent recordings answer").request.id)
        .collect();
    assert_eq!(
        ids.len(),
        1,
        "concurrent recordings of one user and link answer one request"
    );
    let bobs = *ids.iter().next().expect("one id");

    // Listings: by status at `now`, organization, newest first, bounded.
    let other_link = store
        .record_or_get_pending(request(
            jane,
            acme,
            &AUTHKIT,
            "user_links_jane",
            now.plus_seconds(2),
        ))
        .await
        .expect("another link of the same user is another request");
    assert!(other_link.created);
    let list = |status, organization, limit| LinkRequestFilter {
        status,
        organization,
        now: now.plus_seconds(10),
        limit,
    };
    let listed = |filter: LinkRequestFilter| async move {
        store
            .list_link_requests(&filter)
            .await
            .expect("listings answer")
            .into_iter()
            .map(|r| r.id)
            .collect::<Vec<_>>()
    };
    let pending = LinkRequestStatus::Pending;
    #[rustfmt::skip]
    let listings = [
        (list(pending, None, 10), vec![other_link.request.id, bobs, r.id], "newest first"),
        (list(pending, Some(acme), 10), vec![other_link.request.id, r.id], "one organization's"),
        (list(pending, None, 1), vec![other_link.request.id], "bounded by the limit"),
    ];
    for (filter, expected, why) in listings {
        assert_eq!(listed(filter).await, expected, "{why}");
    }

    // A decision is a compare-and-set.
    let decided_at = now.plus_seconds(20);
    let by = AuditActor::User(bob);
    let approved = store
        .decide(LinkDecision {
            id: r.id,
            status: LinkRequestStatus::Approved,
            by: by.clone(),
            at: decided_at,
        })
        .await
        .expect("decide answers")
        .expect("a pending request is decided");
    assert_eq!(approved.status, LinkRequestStatus::Approved);
    assert_eq!(approved.decided_at, Some(decided_at));
    assert_eq!(approved.decided_by, Some(by.clone()));
    assert_eq!(
        store
            .decide(LinkDecision {
                id: r.id,
                status: LinkRequestStatus::Rejected,
                by: AuditActor::System(SystemActor::Cli),
                at: decided_at,
            })
            .await
            .expect("decide answers"),
        None,
        "a decided request is not decided again"
    );
    assert_eq!(
        listed(list(LinkRequestStatus::Approved, None, 10)).await,
        vec![r.id]
    );
    assert!(
        !store.reopen(r.id, now).await.expect("reopen answers"),
        "only the decision made at that time is taken back"
    );
    assert!(store.reopen(r.id, decided_at).await.expect("reopen answers"));
    let reopened = store
        .find_link_request(r.id)
        .await
        .expect("find answers")
        .expect("the request exists");
    assert_eq!(reopened.status, LinkRequestStatus::Pending);
    assert_eq!((reopened.decided_at, reopened.decided_by), (None, None));
    let concurrent = join_all((0..6).map(|n| {
        let status = if n % 2 == 0 {
            LinkRequestStatus::Approved
        } else {
            LinkRequestStatus::Rejected
        };
        store.decide(LinkDecision {
            id: r.id,
            status,
            by: AuditActor::System(SystemActor::Cli),
            at: decided_at.plus_seconds(1),
        })
    }))
    .await;
    let winners = concurrent
        .into_iter()
        .filter(|d| d.as_ref().expect("decide answers").is_some())
        .count();
    assert_eq!(winners, 1, "of concurrent deciders exactly one succeeds");

    // Expiry: judged by time, a lapsed request is superseded by a new one.
    let late = now.plus_seconds(super::LINK_REQUEST_TTL_SECONDS + 10);
    assert_eq!(
        store
            .decide(LinkDecision {
                id: other_link.request.id,
                status: LinkRequestStatus::Rejected,
                by: by.clone(),
                at: late,
            })
            .await
            .expect("decide answers"),
        None,
        "an expired request is not decided"
    );
    let expired_list = LinkRequestFilter {
        status: LinkRequestStatus::Expired,
        organization: Some(acme),
        now: late,
        limit: 10,
    };
    assert_eq!(listed(expired_list.clone()).await, vec![other_link.request.id]);
    let pending_then = LinkRequestFilter {
        status: LinkRequestStatus::Pending,
        ..expired_list.clone()
    };
    assert!(
        listed(pending_then).await.is_empty(),
        "an expired request is not pending"
    );
    let renewed = store
        .record_or_get_pending(request(jane, acme, &AUTHKIT, "user_links_jane", late))
        .await
        .expect("a request is recorded");
    assert!(renewed.created, "an expired request is superseded");
    assert_ne!(renewed.request.id, other_link.request.id);
    let old = store
        .find_link_request(other_link.request.id)
        .await
        .expect("find answers")
        .expect("the superseded request is kept");
    assert_eq!(old.status_at(late), LinkRequestStatus::Expired);

    // The approved link replaces the earlier subject of its provider.
    let replaced = store
        .replace_link(jane, identity(&SSO, "prof_links_new"), decided_at)
        .await
        .expect("replace answers")
        .expect("the user exists");
    assert_eq!(replaced.user.id, jane);
    assert_eq!(replaced.user.subject_for(&SSO), Some("prof_links_new"));
    let previous = replaced.previous.expect("the earlier subject is kept");
    assert_eq!(previous.link, link(&SSO, "prof_links_old"));
    assert_eq!(previous.replaced_at, decided_at);
    let by_link =
        |found: Result<Option<crate::User>, RepositoryError>| found.expect("lookups answer").map(|u| u.id);
    assert_eq!(
        by_link(users.find_by_link(&link(&SSO, "prof_links_new")).await),
        Some(jane)
    );
    assert_eq!(
        by_link(users.find_by_link(&link(&SSO, "prof_links_old")).await),
        None
    );
    let same = store
        .replace_link(jane, identity(&SSO, "prof_links_new"), decided_at)
        .await
        .expect("replace answers")
        .expect("the user exists");
    assert_eq!(same.previous, None, "the same link again replaces nothing");
    let first_of_provider = store
        .replace_link(jane, identity(&OTHER, "other_jane"), decided_at)
        .await
        .expect("replace answers")
        .expect("the user exists");
    assert_eq!(first_of_provider.previous, None);
    assert_eq!(first_of_provider.user.subject_for(&OTHER), Some("other_jane"));
    assert_eq!(
        by_link(users.find_by_link(&link(&OTHER, "other_jane")).await),
        Some(jane)
    );

    let taken = store
        .replace_link(jane, identity(&AUTHKIT, "user_links_bob"), decided_at)
        .await;
    assert!(
        matches!(taken, Err(RepositoryError::Duplicate)),
        "a link another user carries is a duplicate: {taken:?}"
    );
    let jane_now = users
        .find_user(jane)
        .await
        .expect("find answers")
        .expect("jane exists");
    assert_eq!(jane_now.subject_for(&AUTHKIT), None, "a duplicate wrote nothing");
    assert_eq!(
        by_link(users.find_by_link(&link(&AUTHKIT, "user_links_bob")).await),
        Some(bob)
    );
    let nobody = UserId::parse("64a1b2c3d4e5f600cccccccc").expect("suite ids are valid");
    assert_eq!(
        store
            .replace_link(nobody, identity(&SSO, "prof_links_nobody"), decided_at)
            .await
            .expect("replace answers"),
        None
    );
}
