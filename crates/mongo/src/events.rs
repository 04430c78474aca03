//! Offboarding's stores: [`LifecycleStore`] over `users`, `sessions` and
//! `applied_events`, and [`EventCursorStore`] over `event_cursors`.
//!
//! - `applied_events`: `_id` (the provider's event id), `type`, `outcome`,
//!   `appliedAt`, `expiresAt` (TTL: forgotten after 30 days).
//! - `users` gain `loginDisabled` with `disabledAt`, `disabledBy`
//!   (`{event, type}` or `{userId}`) and `disabledReason`, and `eventMarks`: per
//!   object an event is about (`identity`, `membership_<tenant>`, ...), the object
//!   `updated_at` of the last event applied to the user.
//! - `sessions` revoked by an event get `revokedReason: "deprovisioned"` (found by
//!   `userId`, index `userId_1`).
//! - `event_cursors`: `_id` (the stream), `after`, `since`, `holder`, `leaseUntil`,
//!   `checkedAt`, `lastEventAt`. The lease is one conditional upsert: of concurrent
//!   takers, the unique `_id` lets exactly one write.

use async_trait::async_trait;
use mongodb::Collection;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;
use tether_domain::lifecycle::{AppliedEvent, CursorMove, CursorState};
use tether_domain::{
    DisabledBy, Disablement, EventCursorStore, LifecycleStore, RepositoryError, RevokedReason, Timestamp,
    UserId,
};

use crate::bson::{bson_date, object_id};
use crate::{MongoStore, SESSIONS, USERS};

/// Name of the collection of applied event ids.
pub const APPLIED_EVENTS: &str = "applied_events";
/// Name of the collection of event cursors and their leases.
pub const EVENT_CURSORS: &str = "event_cursors";

const LOGIN_DISABLED: &str = "loginDisabled";
const DISABLED_AT: &str = "disabledAt";
const DISABLED_BY: &str = "disabledBy";
const DISABLED_REASON: &str = "disabledReason";
const EVENT_MARKS: &str = "eventMarks";
const UPDATED_AT: &str = "updatedAt";

fn date(at: Option<&Bson>) -> Option<Timestamp> {
    match at {
        Some(Bson::DateTime(d)) => Some(Timestamp::from_millis(d.timestamp_millis())),
        _ => None,
    }
}

fn text(value: Option<&Bson>) -> Option<String> {
    match value {
        Some(Bson::String(s)) => Some(s.clone()),
        _ => None,
    }
}

fn cursor_state(document: &Document) -> CursorState {
    CursorState {
        after: text(document.get("after")),
        since: date(document.get("since")),
        holder: text(document.get("holder")),
        lease_until: date(document.get("leaseUntil")),
        checked_at: date(document.get("checkedAt")),
        last_event_at: date(document.get("lastEventAt")),
    }
}

impl MongoStore {
    fn user_documents(&self) -> Collection<Document> {
        self.database().collection(USERS)
    }

    fn applied_events(&self) -> Collection<Document> {
        self.database().collection(APPLIED_EVENTS)
    }

    fn event_cursors(&self) -> Collection<Document> {
        self.database().collection(EVENT_CURSORS)
    }
}

#[async_trait]
impl LifecycleStore for MongoStore {
    async fn is_applied(&self, event_id: &str) -> Result<bool, RepositoryError> {
        let collection = self.applied_events();
        let find = collection
            .find_one(doc! { "_id": event_id })
            .projection(doc! { "_id": 1 });
        Ok(self.run("applied_events.find_one", find).await?.is_some())
    }

    async fn record_applied(&self, event: AppliedEvent) -> Result<(), RepositoryError> {
        let collection = self.applied_events();
        let upsert = collection
            .update_one(
                doc! { "_id": &event.id },
                doc! { "$setOnInsert": {
                    "type": &event.event_type,
                    "outcome": &event.outcome,
                    "appliedAt": bson_date(event.applied_at),
                    "expiresAt": bson_date(event.expires_at),
                } },
            )
            .upsert(true);
        match self.run("applied_events.upsert", upsert).await {
            // Two writers of one id: the other one recorded it.
            Ok(_) | Err(RepositoryError::Duplicate) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn advance_user_mark(
        &self,
        user: UserId,
        object: &str,
        updated_at: Timestamp,
    ) -> Result<bool, RepositoryError> {
        if object.is_empty() || !object.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(RepositoryError::Unexpected(format!("not a mark key: {object:?}")));
        }
        let field = format!("{EVENT_MARKS}.{object}");
        let at = bson_date(updated_at);
        let collection = self.user_documents();
        let update = collection.update_one(
            doc! {
                "_id": object_id(user.bytes()),
                "$or": [ { &field: { "$exists": false } }, { &field: { "$lte": at } } ],
            },
            doc! { "$set": { &field: at } },
        );
        Ok(self.run("users.advance_event_mark", update).await?.matched_count == 1)
    }

    async fn disable_user(&self, user: UserId, disablement: Disablement) -> Result<bool, RepositoryError> {
        let by = match &disablement.by {
            DisabledBy::Event { id, event_type } => doc! { "event": id, "type": event_type },
            DisabledBy::Operator { user_id } => doc! { "userId": object_id(user_id.bytes()) },
            other => {
                return Err(RepositoryError::Unexpected(format!(
                    "unknown kind of disablement: {other:?}"
                )));
            }
        };
        let at = bson_date(disablement.at);
        // An operator's disablement replaces an event's.
        let filter = match &disablement.by {
            DisabledBy::Operator { .. } => doc! {
                "_id": object_id(user.bytes()),
                "$or": [
                    { LOGIN_DISABLED: { "$ne": true } },
                    { "disabledBy.event": { "$type": "string" } },
                ],
            },
            _ => doc! { "_id": object_id(user.bytes()), LOGIN_DISABLED: { "$ne": true } },
        };
        let collection = self.user_documents();
        let update = collection.update_one(
            filter,
            doc! { "$set": {
                LOGIN_DISABLED: true,
                DISABLED_AT: at,
                DISABLED_BY: by,
                DISABLED_REASON: &disablement.reason,
                UPDATED_AT: at,
            } },
        );
        Ok(self.run("users.disable", update).await?.modified_count == 1)
    }

    async fn enable_user_disabled_by_event(
        &self,
        user: UserId,
        at: Timestamp,
    ) -> Result<bool, RepositoryError> {
        let collection = self.user_documents();
        let update = collection.update_one(
            doc! {
                "_id": object_id(user.bytes()),
                LOGIN_DISABLED: true,
                "disabledBy.event": { "$type": "string" },
            },
            doc! {
                "$set": { LOGIN_DISABLED: false, UPDATED_AT: bson_date(at) },
                "$unset": { DISABLED_AT: "", DISABLED_BY: "", DISABLED_REASON: "" },
            },
        );
        Ok(self.run("users.enable", update).await?.modified_count == 1)
    }

    async fn enable_user(&self, user: UserId, at: Timestamp) -> Result<bool, RepositoryError> {
        let collection = self.user_documents();
        let update = collection.update_one(
            doc! { "_id": object_id(user.bytes()), LOGIN_DISABLED: true },
            doc! {
                "$set": { LOGIN_DISABLED: false, UPDATED_AT: bson_date(at) },
                "$unset": { DISABLED_AT: "", DISABLED_BY: "", DISABLED_REASON: "" },
            },
        );
        Ok(self.run("users.enable_any", update).await?.modified_count == 1)
    }

    async fn set_full_name(
        &self,
        user: UserId,
        full_name: String,
        at: Timestamp,
    ) -> Result<bool, RepositoryError> {
        let collection = self.user_documents();
        let update = collection.update_one(
            doc! { "_id": object_id(user.bytes()), "fullName": { "$ne": &full_name } },
            doc! { "$set": { "fullName": &full_name, UPDATED_AT: bson_date(at) } },
        );
        Ok(self.run("users.set_full_name", update).await?.modified_count == 1)
    }

    async fn revoke_user_sessions(
        &self,
        user: UserId,
        at: Timestamp,
        reason: RevokedReason,
    ) -> Result<u64, RepositoryError> {
        let collection = self.database().collection::<Document>(SESSIONS);
        let update = collection.update_many(
            doc! { "userId": object_id(user.bytes()), "revokedAt": Bson::Null },
            doc! { "$set": { "revokedAt": bson_date(at), "revokedReason": reason.as_str() } },
        );
        Ok(self.run("sessions.revoke_user", update).await?.modified_count)
    }
}

#[async_trait]
impl EventCursorStore for MongoStore {
    async fn acquire_lease(
        &self,
        stream: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<CursorState>, RepositoryError> {
        let filter = doc! {
            "_id": stream,
            "$or": [
                { "holder": holder },
                { "leaseUntil": { "$lte": bson_date(now) } },
                { "leaseUntil": Bson::Null },
            ],
        };
        let collection = self.event_cursors();
        let take = collection
            .find_one_and_update(
                filter,
                doc! { "$set": { "holder": holder, "leaseUntil": bson_date(until) } },
            )
            .upsert(true)
            .return_document(ReturnDocument::After);
        match self.run("event_cursors.acquire", take).await {
            Ok(document) => Ok(document.as_ref().map(cursor_state)),
            // The document exists and another holder's lease is live: the upsert's
            // insert collided on `_id`.
            Err(RepositoryError::Duplicate) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn advance_cursor(&self, stream: &str, to: CursorMove) -> Result<bool, RepositoryError> {
        let CursorMove {
            holder,
            after,
            last_event_at,
            at: now,
        } = to;
        let mut set = doc! { "checkedAt": bson_date(now) };
        let mut update = Document::new();
        if let Some(after) = after {
            set.insert("after", after);
            update.insert("$unset", doc! { "since": "" });
        }
        if let Some(at) = last_event_at {
            set.insert("lastEventAt", bson_date(at));
        }
        update.insert("$set", set);
        let collection = self.event_cursors();
        let write = collection.update_one(
            doc! { "_id": stream, "holder": holder, "leaseUntil": { "$gt": bson_date(now) } },
            update,
        );
        Ok(self.run("event_cursors.advance", write).await?.matched_count == 1)
    }

    async fn release_lease(&self, stream: &str, holder: &str) -> Result<(), RepositoryError> {
        let collection = self.event_cursors();
        let write = collection.update_one(
            doc! { "_id": stream, "holder": holder },
            doc! { "$unset": { "holder": "", "leaseUntil": "" } },
        );
        self.run("event_cursors.release", write).await.map(|_| ())
    }

    async fn cursor_state(&self, stream: &str) -> Result<Option<CursorState>, RepositoryError> {
        let collection = self.event_cursors();
        let find = collection.find_one(doc! { "_id": stream });
        Ok(self
            .run("event_cursors.find_one", find)
            .await?
            .as_ref()
            .map(cursor_state))
    }

    async fn replay_from(&self, stream: &str, since: Timestamp) -> Result<(), RepositoryError> {
        let collection = self.event_cursors();
        let write = collection
            .update_one(
                doc! { "_id": stream },
                doc! { "$set": { "since": bson_date(since) }, "$unset": { "after": "" } },
            )
            .upsert(true);
        self.run("event_cursors.replay", write).await.map(|_| ())
    }
}

/// The indexes of offboarding: `applied_events.expiresAt_ttl` and `sessions.userId_1`.
pub(crate) fn indexes() -> (Vec<mongodb::IndexModel>, Vec<mongodb::IndexModel>) {
    use crate::index_kinds::{ascending, expires_at_ttl};
    (vec![expires_at_ttl()], vec![ascending("userId")])
}
