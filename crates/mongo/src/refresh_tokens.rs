//! The `refresh_tokens` collection: [`RefreshTokenStore`]. Only the SHA-256 digest of a
//! token is stored (`tokenHash`), never the token; the `expiresAt_ttl` index lets the
//! server remove expired records (readers must still check `expiresAt` themselves, the
//! TTL monitor runs about once a minute).
//!
//! A record holds rotation state only: `{tokenHash, sessionId, expiresAt}`, then, set
//! once by one atomic `find_one_and_update` whose filter requires `usedAt` unset,
//! `usedAt` and `sealedSuccessor` (the successor token, sealed under a key derived from
//! this token). What the token grants lives in `sessions`.
//!
//! Records written before sessions were records also carry `userId`,
//! `sessionStartedAt`, `createdAt` and `revokedAt`; they are read as
//! [`LegacySession`]s and never written in that shape again.

use async_trait::async_trait;
use mongodb::Collection;
use mongodb::bson::{Bson, Document, doc};
use tether_domain::{
    LegacySession, RefreshTokenRecord, RefreshTokenStore, RepositoryError, SessionId, Timestamp, TokenHash,
    UserId,
};

use crate::users::bson_date;
use crate::{MongoStore, REFRESH_TOKENS};

/// `tokenHash`: SHA-256 hex of the token (unique).
const TOKEN_HASH: &str = "tokenHash";
/// `sessionId`: the `_id` of its session.
const SESSION_ID: &str = "sessionId";
/// `usedAt`: when the token was exchanged (absent while unused).
const USED_AT: &str = "usedAt";
/// `sealedSuccessor`: the successor token, sealed (absent while unused).
const SEALED_SUCCESSOR: &str = "sealedSuccessor";
/// `expiresAt`: when the record stops being accepted (and the TTL index removes it).
const EXPIRES_AT: &str = "expiresAt";
/// Fields of records of the earlier shape.
const LEGACY_USER_ID: &str = "userId";
const LEGACY_STARTED_AT: &str = "sessionStartedAt";
const LEGACY_REVOKED_AT: &str = "revokedAt";

impl MongoStore {
    fn refresh_tokens(&self) -> Collection<Document> {
        self.database().collection(REFRESH_TOKENS)
    }
}

#[async_trait]
impl RefreshTokenStore for MongoStore {
    /// Inserts `{tokenHash, sessionId, expiresAt}` (plus the `_id` the driver generates,
    /// and `usedAt`/`sealedSuccessor` only when set). A second record with the same
    /// digest is [`RepositoryError::Duplicate`].
    async fn save(&self, record: RefreshTokenRecord) -> Result<(), RepositoryError> {
        let mut document = doc! {
            TOKEN_HASH: record.hash.as_str(),
            SESSION_ID: record.session_id.as_str(),
            EXPIRES_AT: bson_date(record.expires_at),
        };
        if let Some(at) = record.used_at {
            document.insert(USED_AT, bson_date(at));
        }
        if let Some(sealed) = record.sealed_successor {
            document.insert(SEALED_SUCCESSOR, sealed);
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

    /// `find_one_and_update({tokenHash, usedAt: null}, {$set: {usedAt, sealedSuccessor}})`:
    /// the filter matches only while `usedAt` is absent (or `null`), and a
    /// single-document update is atomic, so exactly one of concurrent callers sees a
    /// document come back, and the successor is there for the others to read.
    async fn rotate(
        &self,
        hash: &TokenHash,
        at: Timestamp,
        sealed_successor: String,
    ) -> Result<bool, RepositoryError> {
        let tokens = self.refresh_tokens();
        let update = tokens
            .find_one_and_update(
                doc! { TOKEN_HASH: hash.as_str(), USED_AT: Bson::Null },
                doc! { "$set": { USED_AT: bson_date(at), SEALED_SUCCESSOR: sealed_successor } },
            )
            .projection(doc! { "_id": 1 });
        self.run("refresh_tokens.rotate", update)
            .await
            .map(|before| before.is_some())
    }
}

/// Reads a refresh-token document, of either shape; a field of the wrong type is
/// [`RepositoryError::Unexpected`] naming it (the digest is not repeated).
fn record_from_document(document: &Document) -> Result<RefreshTokenRecord, RepositoryError> {
    let bad = |field: &str| {
        RepositoryError::Unexpected(format!(
            "a refresh_tokens document has a missing or malformed `{field}`"
        ))
    };
    let optional_date = |field: &'static str| match document.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::DateTime(d)) => Ok(Some(Timestamp::from_millis(d.timestamp_millis()))),
        Some(_) => Err(bad(field)),
    };
    let Some(Bson::String(hash)) = document.get(TOKEN_HASH) else {
        return Err(bad(TOKEN_HASH));
    };
    let Some(Bson::String(session_id)) = document.get(SESSION_ID) else {
        return Err(bad(SESSION_ID));
    };
    let sealed_successor = match document.get(SEALED_SUCCESSOR) {
        None | Some(Bson::Null) => None,
        Some(Bson::String(s)) => Some(s.clone()),
        Some(_) => return Err(bad(SEALED_SUCCESSOR)),
    };
    // The earlier shape: the session's facts were on every token.
    let legacy = match (document.get(LEGACY_USER_ID), optional_date(LEGACY_STARTED_AT)?) {
        (Some(Bson::ObjectId(user_id)), Some(started_at)) => Some(LegacySession {
            user_id: UserId::from_bytes(user_id.bytes()),
            started_at,
            revoked_at: optional_date(LEGACY_REVOKED_AT)?,
        }),
        (None, None) => None,
        _ => return Err(bad(LEGACY_USER_ID)),
    };
    Ok(RefreshTokenRecord {
        hash: TokenHash::new(hash.clone()),
        session_id: SessionId::new(session_id.clone()),
        expires_at: optional_date(EXPIRES_AT)?.ok_or_else(|| bad(EXPIRES_AT))?,
        used_at: optional_date(USED_AT)?,
        sealed_successor,
        legacy,
    })
}
