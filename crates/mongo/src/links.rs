//! Link requests: [`LinkRequestStore`] over `identity_link_requests`, and the write an
//! approval makes on `users`.
//!
//! - `identity_link_requests`: `_id` (ObjectId), `userId`, `organizationId` (the
//!   user's, ObjectIds), `api` (the provider key: `sso`, `authkit`, ...), `workosId`
//!   (the subject), `workosConnectionId`, `workosOrganizationId` (when the identity
//!   had them), `email` (as asserted, normalised), `emailVerified` (absent when the
//!   provider said nothing), `requestedAt`, `expiresAt` (7 days later), `status`
//!   (`pending`, `approved`, `rejected`, `expired`), and once decided `decidedAt` and
//!   `decidedBy` (`{userId}` or `{system: "cli"}`). Indexes: `pending_unique` (unique
//!   on `{userId, api, workosId}` among `status: "pending"`: one pending request per
//!   user and link, also under concurrent refusals), `expiresAt_ttl` (documents go
//!   30 days after their expiry, decided or not; expiry itself is judged in code),
//!   `status_requestedAt` and `organizationId_status_requestedAt` (the listings, newest
//!   first).
//! - `users`: an approval sets the link's field (`workosProfileId`, `workosUserId`,
//!   `identityLinks.<key>`) and `updatedAt`, and pushes the subject it replaces onto
//!   `previousWorkosIds` (`{api, id, replacedAt}`), in one conditional update on the
//!   subject read before, so a concurrent change is never overwritten; the unique link
//!   indexes turn a link another user carries into `Duplicate`, nothing written.

use std::time::Duration;

use async_trait::async_trait;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{Collection, IndexModel};
use tether_domain::links::MAX_LINK_REQUESTS_LISTED;
use tether_domain::{
    AuditActor, Email, IdentityLink, LinkDecision, LinkReplaced, LinkRequest, LinkRequestFilter,
    LinkRequestId, LinkRequestStatus, LinkRequestStore, LinkedIdentity, NewLinkRequest, OrganizationId,
    PreviousLink, ProviderKey, RecordedLinkRequest, RepositoryError, SystemActor, TenantId, Timestamp,
    UserId,
};

use crate::bson::{bson_date, object_id};
use crate::users::{subject_field, user_from_document};
use crate::{MongoStore, USERS};

/// Name of the collection of link requests.
pub const LINK_REQUESTS: &str = "identity_link_requests";

/// `previousWorkosIds` on `users`: the subjects approved requests replaced.
pub const PREVIOUS_WORKOS_IDS: &str = "previousWorkosIds";

/// How long a link request document is kept after its expiry.
const KEPT_AFTER_EXPIRY: Duration = Duration::from_secs(30 * 24 * 3600);

const USER_ID: &str = "userId";
const ORGANIZATION_ID: &str = "organizationId";
const API: &str = "api";
const WORKOS_ID: &str = "workosId";
const CONNECTION: &str = "workosConnectionId";
const TENANT: &str = "workosOrganizationId";
const EMAIL: &str = "email";
const EMAIL_VERIFIED: &str = "emailVerified";
const REQUESTED_AT: &str = "requestedAt";
const EXPIRES_AT: &str = "expiresAt";
const STATUS: &str = "status";
const DECIDED_AT: &str = "decidedAt";
const DECIDED_BY: &str = "decidedBy";

impl MongoStore {
    fn link_requests(&self) -> Collection<Document> {
        self.database().collection(LINK_REQUESTS)
    }
}

fn date(at: Option<&Bson>) -> Option<Timestamp> {
    match at {
        Some(Bson::DateTime(d)) => Some(Timestamp::from_millis(d.timestamp_millis())),
        _ => None,
    }
}

fn actor_document(actor: &AuditActor) -> Document {
    match actor {
        AuditActor::User(id) => doc! { "userId": object_id(id.bytes()) },
        AuditActor::System(system) => doc! { "system": system.as_str() },
    }
}

fn actor_from(document: &Document) -> Option<AuditActor> {
    if let Ok(id) = document.get_object_id("userId") {
        return Some(AuditActor::User(UserId::from_bytes(id.bytes())));
    }
    let system = document.get_str("system").ok()?;
    [
        SystemActor::Cli,
        SystemActor::Service,
        SystemActor::ProviderEvents,
    ]
    .into_iter()
    .find(|s| s.as_str() == system)
    .map(AuditActor::System)
}

/// Reads a link request document, naming the field and id of anything unreadable.
fn request_from_document(document: &Document) -> Result<LinkRequest, RepositoryError> {
    let Some(Bson::ObjectId(oid)) = document.get("_id") else {
        return Err(RepositoryError::Unexpected(format!(
            "a {LINK_REQUESTS} document has an `_id` that is not an ObjectId"
        )));
    };
    let id = LinkRequestId::from_bytes(oid.bytes());
    let bad = |field: &str| {
        RepositoryError::Unexpected(format!(
            "{LINK_REQUESTS} document {id}: field `{field}` is missing or malformed"
        ))
    };
    let oid_of = |field: &'static str| document.get_object_id(field).map_err(|_| bad(field));
    let text = |field: &'static str| document.get_str(field).map_err(|_| bad(field));
    let optional = |field: &str| document.get_str(field).ok().map(str::to_owned);
    let provider = ProviderKey::parse(text(API)?).map_err(|_| bad(API))?;
    let tenant = match optional(TENANT) {
        Some(raw) => Some(TenantId::parse(&raw).map_err(|_| bad(TENANT))?),
        None => None,
    };
    Ok(LinkRequest {
        id,
        user_id: UserId::from_bytes(oid_of(USER_ID)?.bytes()),
        organization_id: OrganizationId::from_bytes(oid_of(ORGANIZATION_ID)?.bytes()),
        identity: LinkedIdentity {
            link: IdentityLink {
                provider,
                subject: text(WORKOS_ID)?.to_owned(),
            },
            connection: optional(CONNECTION),
            tenant,
        },
        email: Email::parse(text(EMAIL)?).map_err(|_| bad(EMAIL))?,
        email_verified: document.get_bool(EMAIL_VERIFIED).ok(),
        requested_at: date(document.get(REQUESTED_AT)).ok_or_else(|| bad(REQUESTED_AT))?,
        expires_at: date(document.get(EXPIRES_AT)).ok_or_else(|| bad(EXPIRES_AT))?,
        status: LinkRequestStatus::parse(text(STATUS)?).ok_or_else(|| bad(STATUS))?,
        decided_at: date(document.get(DECIDED_AT)),
        decided_by: document.get_document(DECIDED_BY).ok().and_then(actor_from),
    })
}

/// The filter of the requests whose status at `now` is `status`.
fn status_filter(status: LinkRequestStatus, now: Timestamp) -> Document {
    let now = bson_date(now);
    match status {
        LinkRequestStatus::Pending => doc! { STATUS: "pending", EXPIRES_AT: { "$gt": now } },
        LinkRequestStatus::Expired => doc! { "$or": [
            { STATUS: "expired" },
            { STATUS: "pending", EXPIRES_AT: { "$lte": now } },
        ] },
        other => doc! { STATUS: other.as_str() },
    }
}

#[async_trait]
impl LinkRequestStore for MongoStore {
    /// One upsert of the pending request of the user and link (`$setOnInsert`, so an
    /// existing one is answered untouched); a concurrent insert that lost on
    /// `pending_unique` reads the winner; an expired one is marked `expired` first.
    async fn record_or_get_pending(
        &self,
        new: NewLinkRequest,
    ) -> Result<RecordedLinkRequest, RepositoryError> {
        let id = ObjectId::new();
        let filter = doc! {
            USER_ID: object_id(new.user_id.bytes()),
            API: new.identity.link.provider.as_str(),
            WORKOS_ID: &new.identity.link.subject,
            STATUS: "pending",
        };
        let mut insert = doc! {
            "_id": id,
            ORGANIZATION_ID: object_id(new.organization_id.bytes()),
            EMAIL: new.email.as_str(),
            REQUESTED_AT: bson_date(new.requested_at),
            EXPIRES_AT: bson_date(new.expires_at),
        };
        if let Some(connection) = &new.identity.connection {
            insert.insert(CONNECTION, connection);
        }
        if let Some(tenant) = &new.identity.tenant {
            insert.insert(TENANT, tenant.as_str());
        }
        if let Some(verified) = new.email_verified {
            insert.insert(EMAIL_VERIFIED, verified);
        }
        let collection = self.link_requests();
        // A few rounds at most: a lost race, then an expired request to retire.
        for _ in 0..4 {
            let upsert = collection
                .find_one_and_update(filter.clone(), doc! { "$setOnInsert": insert.clone() })
                .upsert(true)
                .return_document(ReturnDocument::After);
            let document = match self.run("identity_link_requests.upsert", upsert).await {
                Ok(Some(document)) => document,
                // Another refusal inserted it first: read it on the next round.
                Ok(None) | Err(RepositoryError::Duplicate) => continue,
                Err(e) => return Err(e),
            };
            let request = request_from_document(&document)?;
            if request.expires_at <= new.requested_at {
                let retire = collection.update_one(
                    doc! { "_id": object_id(request.id.bytes()), STATUS: "pending" },
                    doc! { "$set": { STATUS: "expired" } },
                );
                self.run("identity_link_requests.expire", retire).await?;
                continue;
            }
            return Ok(RecordedLinkRequest {
                created: document.get_object_id("_id").ok() == Some(id),
                request,
            });
        }
        Err(RepositoryError::Unexpected(
            "recording a link request kept colliding with concurrent writes".into(),
        ))
    }

    async fn find_link_request(&self, id: LinkRequestId) -> Result<Option<LinkRequest>, RepositoryError> {
        let collection = self.link_requests();
        let find = collection.find_one(doc! { "_id": object_id(id.bytes()) });
        self.run("identity_link_requests.find_one", find)
            .await?
            .map(|d| request_from_document(&d))
            .transpose()
    }

    async fn list_link_requests(
        &self,
        filter: &LinkRequestFilter,
    ) -> Result<Vec<LinkRequest>, RepositoryError> {
        use futures_util::TryStreamExt;
        let mut query = status_filter(filter.status, filter.now);
        if let Some(organization) = filter.organization {
            query.insert(ORGANIZATION_ID, object_id(organization.bytes()));
        }
        let limit = i64::from(filter.limit.clamp(1, MAX_LINK_REQUESTS_LISTED));
        let cursor = self
            .run(
                "identity_link_requests.find",
                self.link_requests()
                    .find(query)
                    .sort(doc! { REQUESTED_AT: -1, "_id": -1 })
                    .limit(limit),
            )
            .await?;
        let documents: Vec<Document> = self
            .run("identity_link_requests.read", cursor.try_collect())
            .await?;
        documents.iter().map(request_from_document).collect()
    }

    async fn decide(&self, decision: LinkDecision) -> Result<Option<LinkRequest>, RepositoryError> {
        let LinkDecision { id, status, by, at } = decision;
        let at = bson_date(at);
        let collection = self.link_requests();
        let decide = collection
            .find_one_and_update(
                doc! { "_id": object_id(id.bytes()), STATUS: "pending", EXPIRES_AT: { "$gt": at } },
                doc! { "$set": { STATUS: status.as_str(), DECIDED_AT: at, DECIDED_BY: actor_document(&by) } },
            )
            .return_document(ReturnDocument::After);
        self.run("identity_link_requests.decide", decide)
            .await?
            .map(|d| request_from_document(&d))
            .transpose()
    }

    async fn reopen(&self, id: LinkRequestId, decided_at: Timestamp) -> Result<bool, RepositoryError> {
        let collection = self.link_requests();
        let reopen = collection.update_one(
            doc! { "_id": object_id(id.bytes()), DECIDED_AT: bson_date(decided_at) },
            doc! { "$set": { STATUS: "pending" }, "$unset": { DECIDED_AT: "", DECIDED_BY: "" } },
        );
        Ok(self
            .run("identity_link_requests.reopen", reopen)
            .await?
            .modified_count
            == 1)
    }

    async fn replace_link(
        &self,
        user: UserId,
        identity: LinkedIdentity,
        at: Timestamp,
    ) -> Result<Option<LinkReplaced>, RepositoryError> {
        let users = self.database().collection::<Document>(USERS);
        let id = object_id(user.bytes());
        let link = identity.link;
        let field = subject_field(&link.provider);
        let current = self
            .run("users.find_one", users.find_one(doc! { "_id": id }))
            .await?
            .map(|d| user_from_document(&d))
            .transpose()?;
        let Some(current) = current else {
            return Ok(None);
        };
        let earlier = current.subject_for(&link.provider).map(str::to_owned);
        if earlier.as_deref() == Some(link.subject.as_str()) {
            return Ok(Some(LinkReplaced {
                user: current,
                previous: None,
            }));
        }
        self.ensure_link_index(&link.provider).await?;
        let mut update = doc! {
            "$set": { field.as_ref(): &link.subject, "updatedAt": bson_date(at) },
        };
        let filter = match &earlier {
            Some(subject) => {
                update.insert(
                    "$push",
                    doc! { PREVIOUS_WORKOS_IDS: {
                        API: link.provider.as_str(), "id": subject, "replacedAt": bson_date(at),
                    } },
                );
                doc! { "_id": id, field.as_ref(): subject }
            }
            None => doc! { "_id": id, field.as_ref(): { "$not": { "$type": "string" } } },
        };
        let write = users
            .find_one_and_update(filter, update)
            .return_document(ReturnDocument::After);
        let Some(updated) = self.run("users.replace_link", write).await? else {
            return Err(RepositoryError::Unexpected(format!(
                "the link of user {user} changed while an approval recorded another"
            )));
        };
        Ok(Some(LinkReplaced {
            user: user_from_document(&updated)?,
            previous: earlier.map(|subject| PreviousLink {
                link: IdentityLink {
                    provider: link.provider,
                    subject,
                },
                replaced_at: at,
            }),
        }))
    }
}

/// The indexes of `identity_link_requests` (see the module documentation).
pub(crate) fn indexes() -> Vec<IndexModel> {
    let named = |name: &str| IndexOptions::builder().name(name.to_owned());
    vec![
        IndexModel::builder()
            .keys(doc! { USER_ID: 1, API: 1, WORKOS_ID: 1 })
            .options(
                named("pending_unique")
                    .unique(true)
                    .partial_filter_expression(doc! { STATUS: "pending" })
                    .build(),
            )
            .build(),
        IndexModel::builder()
            .keys(doc! { EXPIRES_AT: 1 })
            .options(named("expiresAt_ttl").expire_after(KEPT_AFTER_EXPIRY).build())
            .build(),
        IndexModel::builder()
            .keys(doc! { STATUS: 1, REQUESTED_AT: -1, "_id": -1 })
            .options(named("status_requestedAt").build())
            .build(),
        IndexModel::builder()
            .keys(doc! { ORGANIZATION_ID: 1, STATUS: 1, REQUESTED_AT: -1, "_id": -1 })
            .options(named("organizationId_status_requestedAt").build())
            .build(),
    ]
}
