//! The lifecycle store and the event cursors of [`InMemoryStore`]: applied events,
//! each user's mark and disablement, and the cursor and lease of each stream.

use std::collections::HashMap;

use async_trait::async_trait;
use tether_domain::lifecycle::{AppliedEvent, CursorMove, CursorState};
use tether_domain::{
    DisabledBy, Disablement, EventCursorStore, LifecycleStore, RepositoryError, RevokedReason, Timestamp,
    UserId,
};

use super::{InMemoryStore, State};

/// What the in-memory store keeps of events, beside users and sessions.
#[derive(Debug, Default)]
pub(super) struct EventState {
    applied: HashMap<String, AppliedEvent>,
    marks: HashMap<(UserId, String), Timestamp>,
    disabled_by: HashMap<UserId, Disablement>,
    cursors: HashMap<String, CursorState>,
}

impl InMemoryStore {
    /// Who disabled the user's login and why, when an event or an operator did.
    pub fn disablement(&self, user: UserId) -> Option<Disablement> {
        self.lock().events.disabled_by.get(&user).cloned()
    }
}

/// Lifts the disablement of `user`, under the caller's lock: `false` when the user is
/// unknown or not disabled.
fn enable(state: &mut State, user: UserId) -> bool {
    let Some(found) = state.users.iter_mut().find(|u| u.id == user && u.login_disabled) else {
        return false;
    };
    found.login_disabled = false;
    state.events.disabled_by.remove(&user);
    true
}

#[async_trait]
impl LifecycleStore for InMemoryStore {
    async fn is_applied(&self, event_id: &str) -> Result<bool, RepositoryError> {
        Ok(self.lock().events.applied.contains_key(event_id))
    }

    async fn record_applied(&self, event: AppliedEvent) -> Result<(), RepositoryError> {
        self.lock()
            .events
            .applied
            .entry(event.id.clone())
            .or_insert(event);
        Ok(())
    }

    async fn advance_user_mark(
        &self,
        user: UserId,
        object: &str,
        updated_at: Timestamp,
    ) -> Result<bool, RepositoryError> {
        let mut state = self.lock();
        if !state.users.iter().any(|u| u.id == user) {
            return Ok(false);
        }
        let key = (user, object.to_owned());
        match state.events.marks.get(&key) {
            Some(mark) if *mark > updated_at => Ok(false),
            _ => {
                state.events.marks.insert(key, updated_at);
                Ok(true)
            }
        }
    }

    async fn disable_user(&self, user: UserId, disablement: Disablement) -> Result<bool, RepositoryError> {
        let mut state = self.lock();
        // An operator's disablement replaces an event's.
        let replaces = matches!(disablement.by, DisabledBy::Operator { .. })
            && matches!(
                state.events.disabled_by.get(&user),
                Some(Disablement {
                    by: DisabledBy::Event { .. },
                    ..
                })
            );
        let Some(found) = state
            .users
            .iter_mut()
            .find(|u| u.id == user && (!u.login_disabled || replaces))
        else {
            return Ok(false);
        };
        found.login_disabled = true;
        state.events.disabled_by.insert(user, disablement);
        Ok(true)
    }

    async fn enable_user(&self, user: UserId, _at: Timestamp) -> Result<bool, RepositoryError> {
        Ok(enable(&mut self.lock(), user))
    }

    async fn enable_user_disabled_by_event(
        &self,
        user: UserId,
        _at: Timestamp,
    ) -> Result<bool, RepositoryError> {
        let mut state = self.lock();
        let by_event = matches!(
            state.events.disabled_by.get(&user),
            Some(Disablement {
                by: DisabledBy::Event { .. },
                ..
            })
        );
        Ok(by_event && enable(&mut state, user))
    }

    async fn set_full_name(
        &self,
        user: UserId,
        full_name: String,
        _at: Timestamp,
    ) -> Result<bool, RepositoryError> {
        let mut state = self.lock();
        match state
            .users
            .iter_mut()
            .find(|u| u.id == user && u.full_name != full_name)
        {
            Some(found) => {
                found.full_name = full_name;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn revoke_user_sessions(
        &self,
        user: UserId,
        at: Timestamp,
        reason: RevokedReason,
    ) -> Result<u64, RepositoryError> {
        Ok(self.revoke_where(|s| s.user_id == user && s.revoked_at.is_none(), at, reason))
    }
}

#[async_trait]
impl EventCursorStore for InMemoryStore {
    async fn acquire_lease(
        &self,
        stream: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<CursorState>, RepositoryError> {
        let mut state = self.lock();
        let cursor = state.events.cursors.entry(stream.to_owned()).or_default();
        let free = match (&cursor.holder, cursor.lease_until) {
            (Some(current), Some(end)) => current == holder || end <= now,
            _ => true,
        };
        if !free {
            return Ok(None);
        }
        cursor.holder = Some(holder.to_owned());
        cursor.lease_until = Some(until);
        Ok(Some(cursor.clone()))
    }

    async fn advance_cursor(&self, stream: &str, to: CursorMove) -> Result<bool, RepositoryError> {
        let mut state = self.lock();
        let Some(cursor) = state.events.cursors.get_mut(stream) else {
            return Ok(false);
        };
        let holds =
            cursor.holder.as_ref() == Some(&to.holder) && cursor.lease_until.is_some_and(|end| end > to.at);
        if !holds {
            return Ok(false);
        }
        if to.after.is_some() {
            cursor.after = to.after;
            cursor.since = None;
        }
        if to.last_event_at.is_some() {
            cursor.last_event_at = to.last_event_at;
        }
        cursor.checked_at = Some(to.at);
        Ok(true)
    }

    async fn release_lease(&self, stream: &str, holder: &str) -> Result<(), RepositoryError> {
        let mut state = self.lock();
        if let Some(cursor) = state.events.cursors.get_mut(stream)
            && cursor.holder.as_deref() == Some(holder)
        {
            cursor.holder = None;
            cursor.lease_until = None;
        }
        Ok(())
    }

    async fn cursor_state(&self, stream: &str) -> Result<Option<CursorState>, RepositoryError> {
        Ok(self.lock().events.cursors.get(stream).cloned())
    }

    async fn replay_from(&self, stream: &str, since: Timestamp) -> Result<(), RepositoryError> {
        let mut state = self.lock();
        let cursor = state.events.cursors.entry(stream.to_owned()).or_default();
        cursor.after = None;
        cursor.since = Some(since);
        Ok(())
    }
}
