//! The indexes this service relies on, created idempotently.

use mongodb::bson::{Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Database, IndexModel};
use std::time::Duration;
use tether_domain::{RepositoryError, SessionConfig};

use crate::bson::email_collation;
use crate::error::map_driver_error;
use crate::index_kinds::{ascending, expires_at_ttl, sparse, string_unique, unique};
use crate::{LOGIN_STATES, ORGANIZATIONS, REFRESH_TOKENS, SESSIONS, USERS};

/// Creates every index (a no-op for those that exist with the same definition).
pub(crate) async fn ensure(database: &Database, audit_retention_days: u32) -> Result<(), RepositoryError> {
    let users = vec![
        IndexModel::builder()
            .keys(doc! { "email": 1 })
            .options(
                IndexOptions::builder()
                    .name("email_ci_unique".to_owned())
                    .unique(true)
                    .collation(email_collation())
                    .build(),
            )
            .build(),
        string_unique("workosUserId"),
        string_unique("workosProfileId"),
        // The partial indexes keep the WorkOS ids unique; a query by id cannot use
        // them (a partial index serves only queries that repeat its filter, and some
        // servers not even those): these serve the sign-in of returning users.
        ascending("workosUserId"),
        ascending("workosProfileId"),
    ];
    let organizations = vec![
        IndexModel::builder()
            .keys(doc! { "createdAt": 1, "_id": 1 })
            .options(IndexOptions::builder().name("createdAt_id".to_owned()).build())
            .build(),
        string_unique(crate::organizations::WORKOS_ORGANIZATION_ID),
    ];
    // Tokens are found by digest only; sessions by `_id` or by the digest of their
    // live token or of the token their last rotation consumed.
    let refresh_tokens = vec![unique("tokenHash"), expires_at_ttl()];
    let (_, max_access_hours) = SessionConfig::TOKEN_EXPIRY_HOURS;
    let sessions = vec![
        IndexModel::builder()
            .keys(doc! { crate::sessions::ENDS_AT: 1 })
            .options(
                IndexOptions::builder()
                    .name("endsAt_ttl".to_owned())
                    .expire_after(Duration::from_secs(u64::from(max_access_hours) * 3600))
                    .build(),
            )
            .build(),
        // Sparse, not partial: queries by digest must be able to use them. Sessions
        // are this service's own documents: the fields are absent, never `null`.
        sparse(crate::sessions::TOKEN_HASH, true),
        ascending(crate::sessions::ROTATED_TOKEN_HASH),
        // Not unique: a code is single-use at WorkOS, but nothing here relies on it.
        sparse(crate::sessions::LOGIN_ANSWER_ID, false),
    ];
    let login_states = vec![unique("stateHash"), expires_at_ttl()];
    let (applied_events, sessions_by_user) = crate::events::indexes();
    let sessions = sessions.into_iter().chain(sessions_by_user).collect::<Vec<_>>();
    for (collection, models) in [
        (USERS, users),
        (ORGANIZATIONS, organizations),
        (SESSIONS, sessions),
        (REFRESH_TOKENS, refresh_tokens),
        (LOGIN_STATES, login_states),
        (crate::events::APPLIED_EVENTS, applied_events),
        (crate::links::LINK_REQUESTS, crate::links::indexes()),
        (
            crate::audit::AUDIT_EVENTS,
            crate::audit::indexes(audit_retention_days),
        ),
    ] {
        let created = database
            .collection::<Document>(collection)
            .create_indexes(models.clone())
            .await;
        let created = match created {
            // The TTL index exists with another retention: apply the new one, then
            // create the others.
            Err(e) if collection == crate::audit::AUDIT_EVENTS && is_options_conflict(&e) => {
                crate::audit::retune(database, audit_retention_days).await?;
                tracing::info!(days = audit_retention_days, "audit retention changed");
                database
                    .collection::<Document>(collection)
                    .create_indexes(models)
                    .await
            }
            other => other,
        };
        created.map_err(|e| match map_driver_error(e) {
            RepositoryError::Unexpected(m) => {
                RepositoryError::Unexpected(format!("creating the indexes of `{collection}`: {m}"))
            }
            // Existing duplicates refuse a unique index: not a conflict of a write.
            RepositoryError::Duplicate => RepositoryError::Unexpected(format!(
                "creating the indexes of `{collection}`: existing documents have duplicate keys"
            )),
            unavailable => unavailable,
        })?;
        tracing::debug!(collection, "indexes ensured");
    }
    Ok(())
}

/// Whether the server refused an index because one of the same name exists with other
/// options (`IndexOptionsConflict`, 85, or `IndexKeySpecsConflict`, 86).
fn is_options_conflict(error: &mongodb::error::Error) -> bool {
    matches!(error.kind.as_ref(), mongodb::error::ErrorKind::Command(e) if e.code == 85 || e.code == 86)
}
