//! [`LifecycleEvents`]: the one place where an event of the identity provider takes
//! effect on users and sessions, at most once per event id and never over newer data.

use super::ports::AppliedEvent;
use super::{
    APPLIED_EVENT_TTL_SECONDS, DisabledBy, Disablement, EventOutcome, IdentityLink, LifecycleChange,
    LifecycleEvent,
};
use crate::audit::{AuditActor, AuditEvent, AuditType, SystemActor};
use crate::failure::Failure;
use crate::model::{RevokedReason, User};
use crate::ports::Clock;
use crate::values::{Email, TenantId, Timestamp};
use crate::wiring::Ports;

/// The object an event is about, for the "never over newer data" check: the identity
/// itself, or the membership or directory user of one tenant (each carries its own
/// `updated_at`).
fn object_key(change: &LifecycleChange) -> String {
    let clean = |tenant: &TenantId| -> String {
        tenant
            .as_str()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect()
    };
    match change {
        LifecycleChange::MembershipEnded { tenant, .. }
        | LifecycleChange::MembershipResumed { tenant, .. } => {
            format!("membership_{}", clean(tenant))
        }
        LifecycleChange::DirectoryUserRemoved { tenant, .. }
        | LifecycleChange::DirectoryUserResumed { tenant, .. } => {
            format!("directory_{}", clean(tenant))
        }
        _ => "identity".to_owned(),
    }
}

/// What an event does to each user it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Effect {
    /// Disable the login and revoke every session.
    Disable {
        reason: &'static str,
        name: Option<String>,
    },
    /// Re-enable the login if an event disabled it.
    Enable { name: Option<String> },
    /// Follow the provider's name.
    Rename(String),
}

/// Applies the identity provider's events (polled or delivered, the same handler).
/// What every applied event did to each user (`workos.event_applied`, and
/// `user.disabled`, `user.enabled`, `session.revoked` when it did that) is recorded in
/// the audit sink of the ports.
#[derive(Clone, Debug)]
pub struct LifecycleEvents {
    ports: Ports,
}

impl LifecycleEvents {
    /// Builds the handler over the users, organizations, lifecycle store, clock and
    /// audit sink of `ports`.
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// The clock events are applied by.
    pub(crate) fn clock(&self) -> &dyn Clock {
        self.ports.clock.as_ref()
    }

    /// Applies `event` once:
    /// - an id recorded as applied is [`EventOutcome::Duplicate`], nothing written;
    /// - an unreadable event is [`EventOutcome::Failed`], a type this service does not
    ///   act on or one that concerns none of its users [`EventOutcome::Ignored`];
    /// - for each user it concerns whose last applied event about the same object (the
    ///   identity, or the membership or directory user of one tenant) is not newer by
    ///   the object's `updated_at`: a removal or an ended membership disables the login
    ///   (`disabledBy: {event, type}`) and revokes every session (`deprovisioned`); an
    ///   active membership or directory user re-enables a login only an event disabled;
    ///   a name follows the provider's;
    /// - the id is recorded last, so an event interrupted by an outage is applied
    ///   again in full on its next delivery (every effect is idempotent).
    ///
    /// # Errors
    /// [`Failure`] when a store fails; then nothing is recorded as applied.
    pub async fn apply(&self, event: &LifecycleEvent) -> Result<EventOutcome, Failure> {
        let outcome = self.apply_once(event).await;
        match &outcome {
            Ok(outcome) => tracing::info!(
                event_id = %event.id,
                event_type = %event.event_type,
                outcome = outcome.as_str(),
                "identity provider event handled"
            ),
            Err(e) => tracing::warn!(
                event_id = %event.id,
                event_type = %event.event_type,
                error = %e,
                "identity provider event not applied yet"
            ),
        }
        outcome
    }

    async fn apply_once(&self, event: &LifecycleEvent) -> Result<EventOutcome, Failure> {
        if matches!(event.change, LifecycleChange::Other) {
            return Ok(EventOutcome::Ignored);
        }
        if event.id.is_empty() {
            tracing::warn!(event_type = %event.event_type, "an event without an id skipped");
            return Ok(EventOutcome::Failed);
        }
        if self.ports.lifecycle.is_applied(&event.id).await? {
            return Ok(EventOutcome::Duplicate);
        }
        let now = self.ports.clock.now();
        let outcome = match &event.change {
            LifecycleChange::Malformed { reason } => {
                tracing::warn!(event_id = %event.id, event_type = %event.event_type, reason = %reason, "unreadable identity provider event skipped");
                EventOutcome::Failed
            }
            change => {
                let (targets, effect) = self.resolve(change).await?;
                self.take_effect(event, &targets, &effect, now).await?
            }
        };
        self.ports
            .lifecycle
            .record_applied(AppliedEvent {
                id: event.id.clone(),
                event_type: event.event_type.clone(),
                outcome: outcome.as_str().to_owned(),
                applied_at: now,
                expires_at: now.plus_seconds(APPLIED_EVENT_TTL_SECONDS),
            })
            .await?;
        Ok(outcome)
    }

    /// The users the change concerns and what it does to them.
    async fn resolve(&self, change: &LifecycleChange) -> Result<(Vec<User>, Effect), Failure> {
        Ok(match change {
            LifecycleChange::IdentityRemoved { link } => (
                self.by_link(link).await?.into_iter().collect(),
                Effect::Disable {
                    reason: "identity_removed",
                    name: None,
                },
            ),
            LifecycleChange::MembershipEnded { link, tenant } => (
                self.member_of(link, tenant).await?,
                Effect::Disable {
                    reason: "membership_ended",
                    name: None,
                },
            ),
            LifecycleChange::MembershipResumed { link, tenant } => {
                (self.member_of(link, tenant).await?, Effect::Enable { name: None })
            }
            LifecycleChange::DirectoryUserRemoved { tenant, emails, name } => (
                self.directory_users(tenant, emails).await?,
                Effect::Disable {
                    reason: "directory_user_removed",
                    name: name.clone(),
                },
            ),
            LifecycleChange::DirectoryUserResumed { tenant, emails, name } => (
                self.directory_users(tenant, emails).await?,
                Effect::Enable { name: name.clone() },
            ),
            LifecycleChange::NameChanged { link, name } => (
                self.by_link(link).await?.into_iter().collect(),
                Effect::Rename(name.clone()),
            ),
            LifecycleChange::Other | LifecycleChange::Malformed { .. } => {
                (Vec::new(), Effect::Rename(String::new()))
            }
        })
    }

    async fn by_link(&self, link: &IdentityLink) -> Result<Option<User>, Failure> {
        Ok(self.ports.users.find_by_link(link).await?)
    }

    /// The user of `link` when their organization is the one mapped to `tenant`.
    async fn member_of(&self, link: &IdentityLink, tenant: &TenantId) -> Result<Vec<User>, Failure> {
        let Some(user) = self.by_link(link).await? else {
            return Ok(Vec::new());
        };
        let Some(organization) = self.ports.organizations.find_by_tenant(tenant).await? else {
            return Ok(Vec::new());
        };
        Ok(if user.organization_id == organization.id {
            vec![user]
        } else {
            Vec::new()
        })
    }

    /// The users of the organization mapped to `tenant` whose address is one of `emails`.
    async fn directory_users(&self, tenant: &TenantId, emails: &[Email]) -> Result<Vec<User>, Failure> {
        let Some(organization) = self.ports.organizations.find_by_tenant(tenant).await? else {
            return Ok(Vec::new());
        };
        let mut users: Vec<User> = Vec::new();
        for email in emails {
            if let Some(user) = self.ports.users.find_by_email(email).await?
                && user.organization_id == organization.id
                && !users.iter().any(|u| u.id == user.id)
            {
                users.push(user);
            }
        }
        Ok(users)
    }

    async fn take_effect(
        &self,
        event: &LifecycleEvent,
        targets: &[User],
        effect: &Effect,
        now: Timestamp,
    ) -> Result<EventOutcome, Failure> {
        if targets.is_empty() {
            return Ok(EventOutcome::Ignored);
        }
        let mut applied = false;
        for user in targets {
            let mark = event.object_updated_at.unwrap_or(event.occurred_at);
            if !self
                .ports
                .lifecycle
                .advance_user_mark(user.id, &object_key(&event.change), mark)
                .await?
            {
                continue;
            }
            applied = true;
            let record = |kind| {
                AuditEvent::new(kind, AuditActor::System(SystemActor::ProviderEvents), now)
                    .of_user(user)
                    .detail("eventId", event.id.as_str())
                    .detail("eventType", event.event_type.as_str())
            };
            match effect {
                Effect::Disable { reason, name } => {
                    let disabled = self
                        .ports
                        .lifecycle
                        .disable_user(
                            user.id,
                            Disablement {
                                by: DisabledBy::Event {
                                    id: event.id.clone(),
                                    event_type: event.event_type.clone(),
                                },
                                at: now,
                                reason: (*reason).to_owned(),
                            },
                        )
                        .await?;
                    let revoked = self
                        .ports
                        .lifecycle
                        .revoke_user_sessions(user.id, now, RevokedReason::Deprovisioned)
                        .await?;
                    self.rename(user, name.as_deref(), now).await?;
                    if disabled {
                        self.ports
                            .audit
                            .record(record(AuditType::UserDisabled).detail("reason", *reason));
                    }
                    if revoked > 0 {
                        self.ports.audit.record(
                            record(AuditType::SessionRevoked)
                                .detail("reason", RevokedReason::Deprovisioned.as_str())
                                .detail("count", revoked.to_string()),
                        );
                    }
                }
                Effect::Enable { name } => {
                    if self
                        .ports
                        .lifecycle
                        .enable_user_disabled_by_event(user.id, now)
                        .await?
                    {
                        self.ports.audit.record(record(AuditType::UserEnabled));
                    }
                    self.rename(user, name.as_deref(), now).await?;
                }
                Effect::Rename(name) => self.rename(user, Some(name), now).await?,
            }
            self.ports.audit.record(record(AuditType::ProviderEventApplied));
        }
        Ok(if applied {
            EventOutcome::Applied
        } else {
            EventOutcome::Stale
        })
    }

    async fn rename(&self, user: &User, name: Option<&str>, now: Timestamp) -> Result<(), Failure> {
        match name.map(str::trim) {
            Some(name) if !name.is_empty() && name != user.full_name => {
                self.ports
                    .lifecycle
                    .set_full_name(user.id, name.to_owned(), now)
                    .await?;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}
