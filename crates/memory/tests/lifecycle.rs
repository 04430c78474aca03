//! Offboarding over the in-memory stores, by outcome: the event handler's effects on
//! users and sessions, once per event and never over newer data, and the consumer's
//! cursor and lease.

// Test code throughout, helpers too, for clippy's `allow-unwrap-in-tests`.
#![cfg(test)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tether_clock::ManualClock;
use tether_domain::lifecycle::{ConsumerSettings, EventPage, EventSourceError};
use tether_domain::{
    AccessRole, IdentityLink, LinkedIdentity, OrganizationId, ProviderKey, TenantId, conformance,
};
use tether_domain::{
    Clock, DisabledBy, Email, EventConsumer, EventCursorStore, EventOutcome, EventSource, LifecycleChange,
    LifecycleEvent, LifecycleEvents, NewUser, Ports, RevokedReason, SessionId, SessionRecord, SessionStore,
    StoredSessionSettings, Timestamp, User, UserRepository, mocks,
};
use tether_memory::InMemoryStore;

const T0: i64 = 1_800_000_000_000;

/// The link of a provider's user id.
fn user_link(subject: &str) -> IdentityLink {
    IdentityLink {
        provider: ProviderKey::from_static("authkit"),
        subject: subject.to_owned(),
    }
}

struct World {
    store: InMemoryStore,
    clock: Arc<ManualClock>,
    ports: Ports,
    handler: LifecycleEvents,
    acme: OrganizationId,
    tenant: TenantId,
}

fn world() -> World {
    let store = InMemoryStore::new();
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(T0)));
    let tenant = TenantId::parse("org_acme").unwrap();
    let acme = store.add_mapped_organization(
        "Acme",
        Timestamp::from_millis(T0),
        StoredSessionSettings::none(),
        Some(tenant.clone()),
    );
    let shared = Arc::new(store.clone());
    let ports = Ports {
        users: shared.clone(),
        organizations: shared.clone(),
        lifecycle: shared.clone(),
        sessions: shared,
        clock: clock.clone(),
        ..mocks::ports()
    };
    World {
        store,
        clock,
        handler: LifecycleEvents::new(ports.clone()),
        ports,
        acme,
        tenant,
    }
}

impl World {
    async fn user(&self, email: &str, subject: &str) -> User {
        let user = self
            .store
            .insert(NewUser {
                email: Email::parse(email).unwrap(),
                full_name: "Someone".to_owned(),
                organization_id: self.acme,
                access_role: AccessRole::SalesRep,
                conversation_open_preference: "split".to_owned(),
                identity: LinkedIdentity {
                    link: user_link(subject),
                    connection: None,
                    tenant: None,
                },
                email_verified: true,
                created_at: self.clock.now(),
            })
            .await
            .unwrap();
        let session = conformance::started_session(
            &format!("session_of_{subject}"),
            user.id,
            self.acme,
            self.clock.now(),
            self.clock.now().plus_seconds(86_400),
        );
        self.store.start(session).await.unwrap();
        user
    }

    async fn session_of(&self, subject: &str) -> SessionRecord {
        SessionStore::find_session(&self.store, &SessionId::new(format!("session_of_{subject}")))
            .await
            .unwrap()
            .unwrap()
    }

    async fn reread(&self, user: &User) -> User {
        self.store.find_user(user.id).await.unwrap().unwrap()
    }

    async fn apply(&self, event: &LifecycleEvent) -> EventOutcome {
        self.handler.apply(event).await.unwrap()
    }

    /// An event of `event_type` resuming the membership of `subject` in the mapped tenant.
    fn resumed(&self, id: &str, event_type: &str, at: i64, subject: &str) -> LifecycleEvent {
        event(
            id,
            event_type,
            at,
            LifecycleChange::MembershipResumed {
                link: user_link(subject),
                tenant: self.tenant.clone(),
            },
        )
    }
}

fn event(id: &str, event_type: &str, updated_at: i64, change: LifecycleChange) -> LifecycleEvent {
    LifecycleEvent {
        id: id.to_owned(),
        event_type: event_type.to_owned(),
        occurred_at: Timestamp::from_millis(updated_at),
        object_updated_at: Some(Timestamp::from_millis(updated_at)),
        change,
    }
}

fn removed(id: &str, subject: &str, at: i64) -> LifecycleEvent {
    event(
        id,
        "user.deleted",
        at,
        LifecycleChange::IdentityRemoved {
            link: user_link(subject),
        },
    )
}

#[tokio::test]
async fn a_removed_identity_is_disabled_by_the_event_and_signed_out_once() {
    let w = world();
    let ada = w.user("ada@acme.example", "user_ada").await;
    let bob = w.user("bob@acme.example", "user_bob").await;

    let outcome = w.apply(&removed("event_1", "user_ada", T0)).await;

    assert_eq!(outcome, EventOutcome::Applied);
    assert!(w.reread(&ada).await.login_disabled);
    let by = w.store.disablement(ada.id).unwrap();
    assert_eq!(
        by.by,
        DisabledBy::Event {
            id: "event_1".to_owned(),
            event_type: "user.deleted".to_owned()
        }
    );
    assert_eq!(by.reason, "identity_removed");
    let session = w.session_of("user_ada").await;
    assert_eq!(session.revoked_reason, Some(RevokedReason::Deprovisioned));
    assert!(!w.reread(&bob).await.login_disabled, "another user is untouched");
    assert_eq!(w.session_of("user_bob").await.revoked_at, None);
    assert_eq!(
        w.apply(&removed("event_1", "user_ada", T0)).await,
        EventOutcome::Duplicate
    );
    assert_eq!(
        w.apply(&removed("event_9", "user_nobody", T0)).await,
        EventOutcome::Ignored
    );
}

#[tokio::test]
async fn a_membership_ends_and_resumes_only_in_the_mapped_tenant() {
    let w = world();
    let ada = w.user("ada@acme.example", "user_ada").await;
    let other = TenantId::parse("org_other").unwrap();
    let ended = |id: &str, tenant: &TenantId, at: i64| {
        event(
            id,
            "organization_membership.updated",
            at,
            LifecycleChange::MembershipEnded {
                link: user_link("user_ada"),
                tenant: tenant.clone(),
            },
        )
    };
    assert_eq!(w.apply(&ended("e1", &other, T0)).await, EventOutcome::Ignored);
    assert!(
        !w.reread(&ada).await.login_disabled,
        "another tenant's membership changes nothing"
    );

    assert_eq!(
        w.apply(&ended("e2", &w.tenant, T0 + 1)).await,
        EventOutcome::Applied
    );
    assert!(w.reread(&ada).await.login_disabled);

    let resumed = w.resumed("e3", "organization_membership.updated", T0 + 2, "user_ada");
    assert_eq!(w.apply(&resumed).await, EventOutcome::Applied);
    assert!(!w.reread(&ada).await.login_disabled, "re-enabled");
    assert_eq!(w.store.disablement(ada.id), None);
}

#[tokio::test]
async fn an_event_never_re_enables_a_user_an_operator_disabled() {
    let w = world();
    let ada = w.user("ada@acme.example", "user_ada").await;
    let mut disabled = ada.clone();
    disabled.login_disabled = true;
    w.store.put_user(disabled);
    let resumed = w.resumed("e1", "organization_membership.created", T0, "user_ada");
    w.apply(&resumed).await;
    assert!(w.reread(&ada).await.login_disabled);
}

#[tokio::test]
async fn an_event_older_than_the_last_applied_changes_nothing() {
    let w = world();
    let ada = w.user("ada@acme.example", "user_ada").await;
    let named = |id: &str, name: &str, at: i64| {
        event(
            id,
            "user.updated",
            at,
            LifecycleChange::NameChanged {
                link: user_link("user_ada"),
                name: name.to_owned(),
            },
        )
    };
    assert_eq!(
        w.apply(&named("e2", "Ada Lovelace", T0 + 10)).await,
        EventOutcome::Applied
    );
    assert_eq!(
        w.apply(&named("e1", "Ada Byron", T0 + 5)).await,
        EventOutcome::Stale
    );
    let ada = w.reread(&ada).await;
    assert_eq!(ada.full_name, "Ada Lovelace");
    assert_eq!(
        ada.email.as_str(),
        "ada@acme.example",
        "the address is never changed by an event"
    );
    assert_eq!(w.apply(&removed("e0", "user_ada", T0)).await, EventOutcome::Stale);
    assert!(!ada.login_disabled);
}

#[tokio::test]
async fn a_directory_user_is_found_by_any_address_in_the_mapped_organization() {
    let w = world();
    let ada = w.user("ada@acme.example", "user_ada").await;
    let change = LifecycleChange::DirectoryUserRemoved {
        tenant: w.tenant.clone(),
        emails: vec![
            Email::parse("ada.l@acme.example").unwrap(),
            Email::parse("ADA@Acme.Example").unwrap(),
        ],
        name: Some("Ada L.".to_owned()),
    };
    assert_eq!(
        w.apply(&event("d1", "dsync.user.deleted", T0, change)).await,
        EventOutcome::Applied
    );
    let ada = w.reread(&ada).await;
    assert!(ada.login_disabled);
    assert_eq!(ada.full_name, "Ada L.");
    let elsewhere = LifecycleChange::DirectoryUserResumed {
        tenant: TenantId::parse("org_other").unwrap(),
        emails: vec![Email::parse("ada@acme.example").unwrap()],
        name: None,
    };
    assert_eq!(
        w.apply(&event("d2", "dsync.user.updated", T0 + 1, elsewhere))
            .await,
        EventOutcome::Ignored
    );
    assert!(w.reread(&ada).await.login_disabled);
}

/// The provider's list, in memory; it fails while `down` is set.
#[derive(Default)]
struct Events {
    list: Mutex<Vec<LifecycleEvent>>,
    down: Mutex<bool>,
}

#[async_trait]
impl EventSource for Events {
    async fn newest(&self) -> Result<Option<LifecycleEvent>, EventSourceError> {
        Ok(self.list.lock().unwrap().last().cloned())
    }

    async fn page<'a>(
        &self,
        after: Option<&'a str>,
        _since: Option<Timestamp>,
        limit: u32,
    ) -> Result<EventPage, EventSourceError> {
        if *self.down.lock().unwrap() {
            return Err(EventSourceError::Unavailable("down".to_owned()));
        }
        let list = self.list.lock().unwrap();
        let start = after
            .and_then(|a| list.iter().position(|e| e.id == a))
            .map_or(0, |p| p + 1);
        let events: Vec<_> = list.iter().skip(start).take(limit as usize).cloned().collect();
        Ok(EventPage {
            has_more: start + events.len() < list.len(),
            events,
        })
    }
}

fn consumer(w: &World, source: Arc<Events>, holder: &str) -> EventConsumer {
    EventConsumer::new(
        source,
        Arc::new(w.store.clone()),
        w.handler.clone(),
        ConsumerSettings {
            stream: "workos".to_owned(),
            holder: holder.to_owned(),
            lease_seconds: 30,
            page_size: 2,
            max_pages: 10,
        },
    )
}

#[tokio::test]
async fn the_consumer_starts_at_the_newest_event_and_moves_its_cursor_page_by_page() {
    let w = world();
    let ada = w.user("ada@acme.example", "user_ada").await;
    let source = Arc::new(Events::default());
    source.list.lock().unwrap().push(removed("old", "user_ada", T0));
    let a = consumer(&w, source.clone(), "a");
    let b = consumer(&w, source.clone(), "b");

    let first = a.poll_once().await.unwrap();
    assert!(first.held);
    assert!(first.handled.is_empty(), "no history replay on the first start");
    assert!(!w.reread(&ada).await.login_disabled);
    assert!(!b.poll_once().await.unwrap().held, "one consumer at a time");

    for n in 0..5 {
        source
            .list
            .lock()
            .unwrap()
            .push(removed(&format!("new{n}"), "user_nobody", T0 + n));
    }
    source
        .list
        .lock()
        .unwrap()
        .push(removed("new9", "user_ada", T0 + 9));
    *source.down.lock().unwrap() = true;
    assert!(a.poll_once().await.is_err());
    let state = w.store.cursor_state("workos").await.unwrap().unwrap();
    assert_eq!(
        state.after.as_deref(),
        Some("old"),
        "an outage does not move the cursor"
    );
    *source.down.lock().unwrap() = false;

    let report = a.poll_once().await.unwrap();
    assert_eq!(report.handled.len(), 6, "{report:?}");
    assert!(report.caught_up);
    assert!(w.reread(&ada).await.login_disabled);
    let state = w.store.cursor_state("workos").await.unwrap().unwrap();
    assert_eq!(state.after.as_deref(), Some("new9"));

    w.clock.advance_seconds(31);
    assert!(
        b.poll_once().await.unwrap().held,
        "the other replica takes over once the lease ended"
    );
    assert!(!a.poll_once().await.unwrap().held);
}

#[tokio::test]
async fn a_removal_applies_after_newer_events_of_another_object_of_the_user() {
    let w = world();
    let ada = w.user("ada@acme.example", "user_ada").await;
    let resumed = w.resumed("m1", "organization_membership.updated", T0 + 100, "user_ada");
    w.apply(&resumed).await;
    // The deleted user's own updated_at is older than the membership's.
    assert_eq!(
        w.apply(&removed("u1", "user_ada", T0)).await,
        EventOutcome::Applied
    );
    assert!(w.reread(&ada).await.login_disabled);
}

/// An audit sink that keeps what it is handed.
#[derive(Default)]
struct Recorded(Mutex<Vec<tether_domain::AuditEvent>>);

impl tether_domain::AuditSink for Recorded {
    fn record(&self, event: tether_domain::AuditEvent) {
        self.0.lock().unwrap().push(event);
    }
}

#[tokio::test]
async fn every_applied_event_is_recorded_with_what_it_did_to_each_user() {
    use tether_domain::{AuditActor, AuditType, SystemActor};
    let w = world();
    let audit = Arc::new(Recorded::default());
    let handler = LifecycleEvents::new(Ports {
        audit: audit.clone(),
        ..w.ports.clone()
    });
    let jane = w.user("jane@acme.example", "user_jane").await;
    let removed = event(
        "event_1",
        "organization_membership.deleted",
        T0 + 1_000,
        LifecycleChange::MembershipEnded {
            link: user_link("user_jane"),
            tenant: w.tenant.clone(),
        },
    );
    assert_eq!(handler.apply(&removed).await.unwrap(), EventOutcome::Applied);
    // Delivered again: a duplicate, recorded nowhere.
    assert_eq!(handler.apply(&removed).await.unwrap(), EventOutcome::Duplicate);
    let resumed = w.resumed(
        "event_2",
        "organization_membership.updated",
        T0 + 2_000,
        "user_jane",
    );
    assert_eq!(handler.apply(&resumed).await.unwrap(), EventOutcome::Applied);

    let records = audit.0.lock().unwrap().clone();
    let kinds: Vec<AuditType> = records.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            AuditType::UserDisabled,
            AuditType::SessionRevoked,
            AuditType::ProviderEventApplied,
            AuditType::UserEnabled,
            AuditType::ProviderEventApplied,
        ]
    );
    for record in &records {
        assert_eq!(record.actor, AuditActor::System(SystemActor::ProviderEvents));
        assert_eq!(record.user_id, Some(jane.id));
        assert_eq!(record.organization_id, Some(w.acme));
    }
    assert_eq!(records[0].detail["eventId"], "event_1");
    assert_eq!(records[0].detail["eventType"], "organization_membership.deleted");
    assert_eq!(records[0].detail["reason"], "membership_ended");
    assert_eq!(records[1].detail["reason"], "deprovisioned");
    assert_eq!(records[1].detail["count"], "1");
    assert_eq!(records[4].detail["eventId"], "event_2");
}
