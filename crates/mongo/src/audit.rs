//! [`AuditStore`] over the collection `audit_events`.
//!
//! A record: `_id` (the record's id as an ObjectId: creation order), `at` (date),
//! `type`, `actor` (`{"userId": ObjectId}` or `{"system": "workos-events" | "cli" |
//! "service"}`), `userId`, `organizationId` (ObjectIds), `sessionId`, `ip`,
//! `userAgent`, `requestId`, `outcome` (`success` or `refused`) and `detail` (an
//! object of strings); absent values are not stored. Indexes: `at_ttl` (TTL: a record
//! is removed `AUDIT_RETENTION_DAYS` after `at`), and `userId_id`,
//! `organizationId_id`, `type_id` (`{field: 1, _id: -1}`) for the queries, which sort
//! by `_id` newest first.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};
use tether_domain::{
    AuditActor, AuditEvent, AuditOrigin, AuditOutcome, AuditQuery, AuditStore, AuditType, ClientContext,
    HexId, OrganizationId, RepositoryError, SessionId, StoredAuditEvent, SystemActor, Timestamp, UserId,
};

use crate::MongoStore;
use crate::bson::{bson_date, object_id};

/// Name of the collection of audit records.
pub const AUDIT_EVENTS: &str = "audit_events";

/// How long records are kept unless configured (`AUDIT_RETENTION_DAYS`).
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 365;

/// Name of the TTL index on `at`.
const AT_TTL: &str = "at_ttl";

/// The indexes of `audit_events` for a retention of `days`.
pub(crate) fn indexes(days: u32) -> Vec<IndexModel> {
    let by = |field: &str| {
        IndexModel::builder()
            .keys(doc! { field: 1, "_id": -1 })
            .options(IndexOptions::builder().name(format!("{field}_id")).build())
            .build()
    };
    vec![
        IndexModel::builder()
            .keys(doc! { "at": 1 })
            .options(
                IndexOptions::builder()
                    .name(AT_TTL.to_owned())
                    .expire_after(retention(days))
                    .build(),
            )
            .build(),
        by("userId"),
        by("organizationId"),
        by("type"),
    ]
}

fn retention(days: u32) -> Duration {
    Duration::from_secs(u64::from(days) * 24 * 3600)
}

/// Changes the retention of an existing TTL index (`collMod`), when the setting
/// changed since the index was created.
pub(crate) async fn retune(database: &mongodb::Database, days: u32) -> Result<(), RepositoryError> {
    let seconds = i64::try_from(retention(days).as_secs()).unwrap_or(i64::MAX);
    database
        .run_command(doc! {
            "collMod": AUDIT_EVENTS,
            "index": { "name": AT_TTL, "expireAfterSeconds": seconds },
        })
        .await
        .map(|_| ())
        .map_err(crate::error::map_driver_error)
}

fn to_document(record: &StoredAuditEvent) -> Document {
    let event = &record.event;
    let actor = match &event.actor {
        AuditActor::User(id) => doc! { "userId": object_id(id.bytes()) },
        AuditActor::System(system) => doc! { "system": system.as_str() },
    };
    let mut document = doc! {
        "_id": object_id(record.id.bytes()),
        "at": bson_date(event.at),
        "type": event.kind.as_str(),
        "actor": actor,
        "outcome": event.outcome.as_str(),
    };
    if let Some(id) = event.user_id {
        document.insert("userId", object_id(id.bytes()));
    }
    if let Some(id) = event.organization_id {
        document.insert("organizationId", object_id(id.bytes()));
    }
    let texts = [
        ("sessionId", event.session_id.as_ref().map(SessionId::as_str)),
        ("ip", event.origin.client.ip_address.as_deref()),
        ("userAgent", event.origin.client.user_agent.as_deref()),
        ("requestId", event.origin.request_id.as_deref()),
    ];
    for (field, value) in texts {
        if let Some(value) = value {
            document.insert(field, value);
        }
    }
    if !event.detail.is_empty() {
        let detail: Document = event
            .detail
            .iter()
            .map(|(name, value)| (name.clone(), Bson::String(value.clone())))
            .collect();
        document.insert("detail", detail);
    }
    document
}

fn from_document(document: &Document) -> Result<StoredAuditEvent, RepositoryError> {
    let id = match document.get("_id") {
        Some(Bson::ObjectId(id)) => HexId::from_bytes(id.bytes()),
        _ => {
            return Err(RepositoryError::Unexpected(
                "audit_events: a record without an ObjectId _id".into(),
            ));
        }
    };
    let bad = |field: &str| RepositoryError::Unexpected(format!("audit_events {id}: unreadable `{field}`"));
    let text = |field: &str| match document.get(field) {
        Some(Bson::String(s)) => Some(s.clone()),
        _ => None,
    };
    let object = |field: &str| match document.get(field) {
        Some(Bson::ObjectId(id)) => Some(HexId::from_bytes(id.bytes())),
        _ => None,
    };
    let at = match document.get("at") {
        Some(Bson::DateTime(at)) => Timestamp::from_millis(at.timestamp_millis()),
        _ => return Err(bad("at")),
    };
    let kind = text("type")
        .and_then(|t| AuditType::parse(&t))
        .ok_or_else(|| bad("type"))?;
    let actor = match document.get("actor") {
        Some(Bson::Document(actor)) => match (actor.get("userId"), actor.get("system")) {
            (Some(Bson::ObjectId(id)), _) => AuditActor::User(UserId::from_bytes(id.bytes())),
            (_, Some(Bson::String(system))) => AuditActor::System(
                SystemActor::ALL
                    .into_iter()
                    .find(|s| s.as_str() == system)
                    .ok_or_else(|| bad("actor"))?,
            ),
            _ => return Err(bad("actor")),
        },
        _ => return Err(bad("actor")),
    };
    let outcome = match text("outcome").as_deref() {
        Some("success") => AuditOutcome::Success,
        Some("refused") => AuditOutcome::Refused,
        _ => return Err(bad("outcome")),
    };
    let detail: BTreeMap<String, String> = match document.get("detail") {
        Some(Bson::Document(detail)) => detail
            .iter()
            .filter_map(|(name, value)| match value {
                Bson::String(value) => Some((name.clone(), value.clone())),
                _ => None,
            })
            .collect(),
        _ => BTreeMap::new(),
    };
    let mut event = AuditEvent::new(kind, actor, at).origin(AuditOrigin {
        client: ClientContext {
            ip_address: text("ip"),
            user_agent: text("userAgent"),
        },
        request_id: text("requestId"),
    });
    event.outcome = outcome;
    event.detail = detail;
    event.user_id = object("userId").map(|id| UserId::from_bytes(id.bytes()));
    event.organization_id = object("organizationId").map(|id| OrganizationId::from_bytes(id.bytes()));
    event.session_id = text("sessionId").map(SessionId::new);
    Ok(StoredAuditEvent { id, event })
}

impl MongoStore {
    fn audit_events(&self) -> Collection<Document> {
        self.database().collection(AUDIT_EVENTS)
    }
}

#[async_trait]
impl AuditStore for MongoStore {
    /// One unordered `insertMany`: records whose `_id` is stored already are refused
    /// one by one (duplicate key) while the others are stored, which is what a batch
    /// sent again needs.
    async fn append(&self, batch: &[StoredAuditEvent]) -> Result<(), RepositoryError> {
        if batch.is_empty() {
            return Ok(());
        }
        let documents: Vec<Document> = batch.iter().map(to_document).collect();
        let collection = self.audit_events();
        let insert = collection.insert_many(documents).ordered(false);
        match self.run("audit_events.insert_many", insert).await {
            Ok(_) | Err(RepositoryError::Duplicate) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// One `find`, sorted by `_id` descending, limited.
    async fn query(&self, query: &AuditQuery) -> Result<Vec<StoredAuditEvent>, RepositoryError> {
        use futures_util::TryStreamExt;
        let mut filter = Document::new();
        if let Some(id) = query.user_id {
            filter.insert("userId", object_id(id.bytes()));
        }
        if let Some(id) = query.organization_id {
            filter.insert("organizationId", object_id(id.bytes()));
        }
        if let Some(kind) = query.kind {
            filter.insert("type", kind.as_str());
        }
        if let Some(before) = query.before {
            filter.insert("_id", doc! { "$lt": object_id(before.bytes()) });
        }
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let collection = self.audit_events();
        let find = collection.find(filter).sort(doc! { "_id": -1 }).limit(limit);
        let cursor = self.run("audit_events.find", find).await?;
        let documents: Vec<Document> = self.run("audit_events.read", cursor.try_collect()).await?;
        documents.iter().map(from_document).collect()
    }
}
