//! The `refresh_tokens` collection: [`RefreshTokenStore`]. Only the SHA-256 digest of a
//! token is stored (`tokenHash`), never the token; the `expiresAt_ttl` index lets the
//! server remove expired records (readers must still check `expiresAt` themselves, the
//! TTL monitor runs about once a minute).

use async_trait::async_trait;
use mongodb::bson::{Document, doc};
use tether_domain::{RefreshTokenRecord, RefreshTokenStore, RepositoryError};

use crate::error::map_driver_error;
use crate::users::{bson_date, object_id};
use crate::{MongoStore, REFRESH_TOKENS};

#[async_trait]
impl RefreshTokenStore for MongoStore {
    /// Inserts `{tokenHash, userId, sessionId, expiresAt, createdAt, sessionStartedAt}`
    /// (plus the `_id` the driver generates). A second record with the same digest is
    /// [`RepositoryError::Duplicate`].
    async fn save(&self, record: RefreshTokenRecord) -> Result<(), RepositoryError> {
        let document = doc! {
            "tokenHash": record.hash.as_str(),
            "userId": object_id(record.user_id),
            "sessionId": record.session_id.as_str(),
            "expiresAt": bson_date(record.expires_at),
            "createdAt": bson_date(record.created_at),
            "sessionStartedAt": bson_date(record.session_started_at),
        };
        self.database()
            .collection::<Document>(REFRESH_TOKENS)
            .insert_one(document)
            .await
            .map(|_| ())
            .map_err(map_driver_error)
    }
}
