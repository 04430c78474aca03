//! The `refresh_tokens` collection: [`RefreshTokenStore`]. Only the SHA-256 digest of a
//! token is stored (`tokenHash`), never the token; the `expiresAt_ttl` index lets the
//! server remove expired records (readers must still check `expiresAt` themselves, the
//! TTL monitor runs about once a minute).
//!
//! Rotation state lives on the record: `usedAt` is set once, by an atomic
//! `find_one_and_update` whose filter requires it unset (so of concurrent exchanges of
//! one token exactly one wins), and `revokedAt` is set on every record of a session when
//! it is revoked. Both are absent until set.

use async_trait::async_trait;
use mongodb::Collection;
use mongodb::bson::{Bson, Document, doc};
use tether_domain::{
    ObjectIdHex, RefreshTokenRecord, RefreshTokenStore, RepositoryError, SessionId, Timestamp, TokenHash,
};

use crate::users::{bson_date, object_id};
use crate::{MongoStore, REFRESH_TOKENS};

/// `tokenHash`: SHA-256 hex of the token (unique).
const TOKEN_HASH: &str = "tokenHash";
/// `sessionId`
const SESSION_ID: &str = "sessionId";
/// `usedAt`: when the token was exchanged (absent while unused).
const USED_AT: &str = "usedAt";
/// `revokedAt`: when its session was revoked (absent while the session lives).
const REVOKED_AT: &str = "revokedAt";
/// `expiresAt`: when the record stops being accepted (and the TTL index removes it).
const EXPIRES_AT: &str = "expiresAt";

impl MongoStore {
    fn refresh_tokens(&self) -> Collection<Document> {
        self.database().collection(REFRESH_TOKENS)
    }
}

#[async_trait]
impl RefreshTokenStore for MongoStore {
    /// Inserts `{tokenHash, userId, sessionId, expiresAt, createdAt, sessionStartedAt}`
    /// (plus the `_id` the driver generates, and `usedAt`/`revokedAt` only when set). A
    /// second record with the same digest is [`RepositoryError::Duplicate`].
    async fn save(&self, record: RefreshTokenRecord) -> Result<(), RepositoryError> {
        let mut document = doc! {
            TOKEN_HASH: record.hash.as_str(),
            "userId": object_id(record.user_id),
            SESSION_ID: record.session_id.as_str(),
            EXPIRES_AT: bson_date(record.expires_at),
            "createdAt": bson_date(record.created_at),
            "sessionStartedAt": bson_date(record.session_started_at),
        };
        if let Some(at) = record.used_at {
            document.insert(USED_AT, bson_date(at));
        }
        if let Some(at) = record.revoked_at {
            document.insert(REVOKED_AT, bson_date(at));
        }
        self.run(
            "refresh_tokens.insert_one",
            self.refresh_tokens().insert_one(document),
        )
        .await
        .map(|_| ())
    }

    async fn find_by_hash(&self, hash: &TokenHash) -> Result<Option<RefreshTokenRecord>, RepositoryError> {
        self.run(
            "refresh_tokens.find_one",
            self.refresh_tokens().find_one(doc! { TOKEN_HASH: hash.as_str() }),
        )
        .await?
        .map(|d| record_from_document(&d))
        .transpose()
    }

    /// `find_one_and_update({tokenHash, usedAt: null}, {$set: {usedAt}})`: the filter
    /// matches only while `usedAt` is absent (or `null`), and a single-document update is
    /// atomic, so exactly one of concurrent callers sees a document come back.
    async fn mark_used(&self, hash: &TokenHash, at: Timestamp) -> Result<bool, RepositoryError> {
        let tokens = self.refresh_tokens();
        let update = tokens.find_one_and_update(
            doc! { TOKEN_HASH: hash.as_str(), USED_AT: Bson::Null },
            doc! { "$set": { USED_AT: bson_date(at) } },
        );
        self.run("refresh_tokens.find_one_and_update", update)
            .await
            .map(|before| before.is_some())
    }

    /// `update_many({sessionId, revokedAt: null}, {$set: {revokedAt}})`, then
    /// `update_many({sessionId, expiresAt: {$lt: retainUntil}}, {$set: {expiresAt:
    /// retainUntil}})` so that the TTL index keeps the revocation. In this order: a
    /// failure in between leaves the session revoked, never a token living longer.
    async fn revoke_session(
        &self,
        session_id: &SessionId,
        at: Timestamp,
        retain_until: Timestamp,
    ) -> Result<u64, RepositoryError> {
        let tokens = self.refresh_tokens();
        let revoke = tokens.update_many(
            doc! { SESSION_ID: session_id.as_str(), REVOKED_AT: Bson::Null },
            doc! { "$set": { REVOKED_AT: bson_date(at) } },
        );
        let marked = self.run("refresh_tokens.revoke", revoke).await?.modified_count;
        let retain = tokens.update_many(
            doc! { SESSION_ID: session_id.as_str(), EXPIRES_AT: { "$lt": bson_date(retain_until) } },
            doc! { "$set": { EXPIRES_AT: bson_date(retain_until) } },
        );
        self.run("refresh_tokens.retain", retain).await?;
        Ok(marked)
    }

    /// Whether a record `{sessionId, revokedAt: {$ne: null}}` exists (uses `sessionId_1`).
    async fn is_session_revoked(&self, session_id: &SessionId) -> Result<bool, RepositoryError> {
        let tokens = self.refresh_tokens();
        let find = tokens
            .find_one(doc! { SESSION_ID: session_id.as_str(), REVOKED_AT: { "$ne": Bson::Null } })
            .projection(doc! { "_id": 1 });
        self.run("refresh_tokens.find_revoked", find)
            .await
            .map(|found| found.is_some())
    }
}

/// Reads a refresh-token document; a field of the wrong type is
/// [`RepositoryError::Unexpected`] naming it (the digest is not repeated).
fn record_from_document(document: &Document) -> Result<RefreshTokenRecord, RepositoryError> {
    let bad = |field: &str| {
        RepositoryError::Unexpected(format!(
            "a refresh_tokens document has a missing or malformed `{field}`"
        ))
    };
    let date = |field: &'static str| match document.get(field) {
        Some(Bson::DateTime(d)) => Ok(Timestamp::from_millis(d.timestamp_millis())),
        _ => Err(bad(field)),
    };
    let optional_date = |field: &'static str| match document.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::DateTime(d)) => Ok(Some(Timestamp::from_millis(d.timestamp_millis()))),
        Some(_) => Err(bad(field)),
    };
    let Some(Bson::String(hash)) = document.get(TOKEN_HASH) else {
        return Err(bad(TOKEN_HASH));
    };
    let Some(Bson::ObjectId(user_id)) = document.get("userId") else {
        return Err(bad("userId"));
    };
    let Some(Bson::String(session_id)) = document.get(SESSION_ID) else {
        return Err(bad(SESSION_ID));
    };
    Ok(RefreshTokenRecord {
        hash: TokenHash::new(hash.clone()),
        user_id: ObjectIdHex::from_bytes(user_id.bytes()),
        session_id: SessionId::new(session_id.clone()),
        expires_at: date(EXPIRES_AT)?,
        created_at: date("createdAt")?,
        session_started_at: date("sessionStartedAt")?,
        used_at: optional_date(USED_AT)?,
        revoked_at: optional_date(REVOKED_AT)?,
    })
}
