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
//! Documents of earlier shapes stay readable, and the domain never sees their shape:
//! a live token that is still a record of its own (stored before live tokens moved
//! into sessions) is rotated here by [`SessionStore::rotate`](tether_domain::SessionStore::rotate)
//! (see `sessions`), and a document written before sessions were records (it also
//! carries `userId`, `sessionStartedAt`, `createdAt` and `revokedAt`) has its session
//! adopted when it is read: its record is stored once (see
//! `MongoStore::adopt_earlier_session`). Nothing is written in those shapes again.

use async_trait::async_trait;
use mongodb::Collection;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, DateTime, Document, doc};
use tether_domain::{
    RefreshTokenRecord, RefreshTokenStore, RepositoryError, SessionId, Timestamp, TokenHash,
};

use crate::bson::bson_date;
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

/// What a document of the earlier shape says about its session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EarlierSession {
    pub(crate) user: ObjectId,
    pub(crate) started_at: DateTime,
    pub(crate) revoked_at: Option<DateTime>,
}

impl MongoStore {
    fn refresh_tokens(&self) -> Collection<Document> {
        self.database().collection(REFRESH_TOKENS)
    }

    /// The token with this digest if it is live, unused and unrevoked at `at`, and
    /// its session stored as a record (adopted from a document of the earlier shape).
    pub(crate) async fn find_live_token_record(
        &self,
        hash: &TokenHash,
        at: Timestamp,
    ) -> Result<Option<RefreshTokenRecord>, RepositoryError> {
        let filter = doc! {
            TOKEN_HASH: hash.as_str(),
            USED_AT: Bson::Null,
            LEGACY_REVOKED_AT: Bson::Null,
            EXPIRES_AT: { "$gt": bson_date(at) },
        };
        let found = self
            .run("refresh_tokens.find_live", self.refresh_tokens().find_one(filter))
            .await?;
        match found {
            Some(document) => self.read_token_document(&document).await.map(Some),
            None => Ok(None),
        }
    }

    /// Marks a token that is still a record of its own used at `at` with its
    /// `sealed_successor`: `find_one_and_update({tokenHash, usedAt: null}, {$set:
    /// {usedAt, sealedSuccessor}})`. The filter matches only while `usedAt` is absent
    /// (or `null`), and a single-document update is atomic, so of concurrent callers
    /// exactly one gets `true`, and the successor is there for the others to read.
    pub(crate) async fn mark_token_record_used(
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

    /// Reads a token document; the session of an unrevoked one of the earlier shape
    /// gets its record first, if it has none yet.
    async fn read_token_document(&self, document: &Document) -> Result<RefreshTokenRecord, RepositoryError> {
        let (record, earlier) = record_from_document(document)?;
        if let Some(earlier) = earlier.filter(|e| e.revoked_at.is_none()) {
            self.adopt_earlier_session(&record.session_id, earlier).await?;
        }
        Ok(record)
    }

    /// The revoked token of the earlier shape with this digest, with what it says
    /// about its session and when it was revoked.
    pub(crate) async fn find_revoked_earlier_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<(RefreshTokenRecord, EarlierSession, DateTime)>, RepositoryError> {
        let filter = doc! { TOKEN_HASH: hash.as_str(), LEGACY_REVOKED_AT: { "$type": "date" } };
        let Some(document) = self
            .run(
                "refresh_tokens.find_revoked",
                self.refresh_tokens().find_one(filter),
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(match record_from_document(&document)? {
            (
                record,
                Some(
                    earlier @ EarlierSession {
                        revoked_at: Some(at), ..
                    },
                ),
            ) => Some((record, earlier, at)),
            _ => None,
        })
    }
}

#[async_trait]
impl RefreshTokenStore for MongoStore {
    /// Inserts `{tokenHash, sessionId, expiresAt}` (plus the `_id` the driver generates,
    /// and `usedAt`/`sealedSuccessor` only when set). A second record with the same
    /// digest is [`RepositoryError::Duplicate`].
    async fn save_token(&self, record: RefreshTokenRecord) -> Result<(), RepositoryError> {
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

    /// One `find_one` by digest; for a document of the earlier shape whose session has
    /// no record yet, the session is adopted (see `MongoStore::adopt_earlier_session`).
    async fn find_by_hash(&self, hash: &TokenHash) -> Result<Option<RefreshTokenRecord>, RepositoryError> {
        let found = self
            .run(
                "refresh_tokens.find_one",
                self.refresh_tokens().find_one(doc! { TOKEN_HASH: hash.as_str() }),
            )
            .await?;
        match found {
            Some(document) => self.read_token_document(&document).await.map(Some),
            None => Ok(None),
        }
    }
}

/// Reads a refresh-token document, of either shape, with what one of the earlier
/// shape says about its session; a field of the wrong type is
/// [`RepositoryError::Unexpected`] naming it (the digest is not repeated).
fn record_from_document(
    document: &Document,
) -> Result<(RefreshTokenRecord, Option<EarlierSession>), RepositoryError> {
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
    let date = |field: &'static str| match document.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::DateTime(d)) => Ok(Some(*d)),
        Some(_) => Err(bad(field)),
    };
    let earlier = match (document.get(LEGACY_USER_ID), date(LEGACY_STARTED_AT)?) {
        (Some(Bson::ObjectId(user)), Some(started_at)) => Some(EarlierSession {
            user: *user,
            started_at,
            revoked_at: date(LEGACY_REVOKED_AT)?,
        }),
        (None, None) => None,
        _ => return Err(bad(LEGACY_USER_ID)),
    };
    let record = RefreshTokenRecord {
        hash: TokenHash::new(hash.clone()),
        session_id: SessionId::new(session_id.clone()),
        expires_at: optional_date(EXPIRES_AT)?.ok_or_else(|| bad(EXPIRES_AT))?,
        used_at: optional_date(USED_AT)?,
        sealed_successor,
    };
    Ok((record, earlier))
}
