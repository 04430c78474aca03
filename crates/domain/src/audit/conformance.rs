//! The conformance suite of [`AuditStore`]: every store adapter runs it on an empty
//! store, like the suites of `tether_domain::conformance`.

#![expect(
    clippy::expect_used,
    reason = "a conformance suite is test code: like assert!, it fails by panicking with a message"
)]

use crate::audit::{
    AuditActor, AuditEvent, AuditIds, AuditOrigin, AuditQuery, AuditStore, AuditType, StoredAuditEvent,
    SystemActor,
};
use crate::model::ClientContext;
use crate::ports::Clock;
use crate::values::{OrganizationId, SessionId, Timestamp, UserId};

fn user(hex: &str) -> UserId {
    UserId::parse(hex).expect("suite ids are valid")
}

fn organization(hex: &str) -> OrganizationId {
    OrganizationId::parse(hex).expect("suite ids are valid")
}

/// The record of a login of `user` in `organization` at `at` with every field set:
/// session `sess_conformance_1`, client `203.0.113.7` with agent `Conformance/1.0`,
/// request `req-conformance-1`, detail `rule` `matched_by_workos_id` and `api` `sso`.
/// The adapters' own tests store it to check the shape they store records in.
pub fn login_with_every_field(user: UserId, organization: OrganizationId, at: Timestamp) -> AuditEvent {
    AuditEvent::new(
        AuditType::LoginSucceeded,
        AuditActor::System(SystemActor::Service),
        at,
    )
    .user(user)
    .organization(organization)
    .session(SessionId::new("sess_conformance_1"))
    .origin(AuditOrigin {
        client: ClientContext {
            ip_address: Some("203.0.113.7".into()),
            user_agent: Some("Conformance/1.0".into()),
        },
        request_id: Some("req-conformance-1".into()),
    })
    .detail("rule", "matched_by_workos_id")
    .detail("api", "sso")
}

/// Checks the contract of [`AuditStore`]: every field of a record round trips; records
/// come back newest (greatest id) first, filtered by user, organization and type, paged
/// by `before` and `limit`; appending a record again stores it once.
pub async fn audit_store(store: &dyn AuditStore, clock: &dyn Clock) {
    let ids = AuditIds::new(0x00c0_ffee_1234);
    let ada = user("64a1b2c3d4e5f60000000001");
    let bob = user("64a1b2c3d4e5f60000000002");
    let acme = organization("64a1b2c3d4e5f600000000a1");
    let globex = organization("64a1b2c3d4e5f600000000a2");
    let now = clock.now();

    assert!(
        store
            .query(&AuditQuery::newest(10))
            .await
            .expect("query")
            .is_empty(),
        "an empty store answers no record"
    );
    store.append(&[]).await.expect("an empty batch is accepted");

    let full = login_with_every_field(ada, acme, now);
    let refused = AuditEvent::new(
        AuditType::LoginRefused,
        AuditActor::System(SystemActor::Service),
        now,
    )
    .refused()
    .detail("code", "INVALID_STATE");
    let logout = AuditEvent::new(
        AuditType::SessionRevoked,
        AuditActor::User(bob),
        now.plus_seconds(1),
    )
    .user(bob)
    .organization(globex)
    .detail("reason", "logout");
    let event_applied = AuditEvent::new(
        AuditType::ProviderEventApplied,
        AuditActor::System(SystemActor::ProviderEvents),
        now.plus_seconds(2),
    )
    .user(ada)
    .organization(acme);
    let batch: Vec<StoredAuditEvent> = [full, refused, logout, event_applied]
        .into_iter()
        .map(|event| StoredAuditEvent {
            id: ids.next(event.at),
            event,
        })
        .collect();
    store.append(&batch[..2]).await.expect("append");
    // The first two again (a batch whose answer was lost), with the rest.
    store.append(&batch).await.expect("append again");

    let newest_first: Vec<StoredAuditEvent> = batch.iter().rev().cloned().collect();
    assert_eq!(
        store.query(&AuditQuery::newest(10)).await.expect("query"),
        newest_first,
        "every record is stored once, every field round trips, newest first"
    );

    let ids_of = |records: Vec<StoredAuditEvent>| records.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let filtered = |user_id, organization_id, kind| AuditQuery {
        user_id,
        organization_id,
        kind,
        ..AuditQuery::newest(10)
    };
    let (login, refused) = (Some(AuditType::LoginSucceeded), Some(AuditType::LoginRefused));
    #[rustfmt::skip]
    let filters = [
        (filtered(Some(ada), None, None), vec![batch[3].id, batch[0].id], "filtered by user"),
        (filtered(None, Some(globex), None), vec![batch[2].id], "filtered by organization"),
        (filtered(None, None, refused), vec![batch[1].id], "filtered by type"),
        (filtered(Some(ada), Some(acme), login), vec![batch[0].id], "every filter applies"),
        (filtered(Some(bob), Some(acme), None), vec![], "filters that match no record answer none"),
    ];
    for (query, expected, why) in filters {
        assert_eq!(
            ids_of(store.query(&query).await.expect("query")),
            expected,
            "{why}"
        );
    }

    // Paging: two at a time, each page starting before the last id of the previous one.
    let mut page = AuditQuery::newest(2);
    let first = ids_of(store.query(&page).await.expect("query"));
    assert_eq!(first, vec![batch[3].id, batch[2].id], "the first page");
    page.before = first.last().copied();
    let second = ids_of(store.query(&page).await.expect("query"));
    assert_eq!(second, vec![batch[1].id, batch[0].id], "the second page");
    page.before = second.last().copied();
    assert!(
        store.query(&page).await.expect("query").is_empty(),
        "nothing before the oldest record"
    );
    let page = AuditQuery {
        before: Some(batch[3].id),
        ..filtered(Some(ada), None, None)
    };
    assert_eq!(
        ids_of(store.query(&page).await.expect("query")),
        vec![batch[0].id],
        "before applies with the filters"
    );
}
