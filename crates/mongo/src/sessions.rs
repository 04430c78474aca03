//! The `sessions` collection: [`SessionStore`]. One document per login session, keyed
//! by the session id (`_id`, the `sid` of its tokens): `userId`, `organizationId`,
//! `startedAt`, `endsAt`, `revokedAt`, `revokedReason`, `lastRefreshedAt`, and the
//! digest of its live refresh token (`tokenHash`, unique, with `tokenExpiresAt`) and of
//! the token its last rotation consumed (`rotatedTokenHash`, `rotatedTokenExpiresAt`,
//! `rotatedAt`, `sealedSuccessor`), and the sealed answer of the login that started it
//! (`loginAnswerId`, `loginAnswer`) for a second post of the same callback, and where
//! it came from (`flow`, `ip`, `userAgent`; absent on sessions stored before they were
//! recorded). A login is one `insert_one`, a rotation one
//! `find_one_and_update`. The `endsAt_ttl` index removes a session once its end plus
//! the longest access-token life has passed, so that a revocation outlives every
//! token of the session.

use async_trait::async_trait;
use mongodb::Collection;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, DateTime, Document, doc};
use mongodb::options::ReturnDocument;
use tether_domain::{
    ClientContext, LiveRefreshToken, LoginAnswer, OrganizationId, ProviderKey, RepositoryError,
    RevokedReason, Rotation, RotationOutcome, SessionId, SessionRecord, SessionStore, Timestamp, TokenHash,
    TokenRotation, UserId,
};

use crate::bson::{bson_date, object_id};
use crate::refresh_tokens::EarlierSession;
use crate::{MongoStore, SESSIONS};

const USER_ID: &str = "userId";
const ORGANIZATION_ID: &str = "organizationId";
const STARTED_AT: &str = "startedAt";
/// `endsAt`: the end of the session's absolute lifetime (the TTL index counts from it).
pub(crate) const ENDS_AT: &str = "endsAt";
const REVOKED_AT: &str = "revokedAt";
const REVOKED_REASON: &str = "revokedReason";
const LAST_REFRESHED_AT: &str = "lastRefreshedAt";
/// `tokenHash`: digest of the live refresh token (unique among strings).
pub(crate) const TOKEN_HASH: &str = "tokenHash";
const TOKEN_EXPIRES_AT: &str = "tokenExpiresAt";
/// `rotatedTokenHash`: digest of the token the last rotation consumed.
pub(crate) const ROTATED_TOKEN_HASH: &str = "rotatedTokenHash";
const ROTATED_TOKEN_EXPIRES_AT: &str = "rotatedTokenExpiresAt";
const ROTATED_AT: &str = "rotatedAt";
const SEALED_SUCCESSOR: &str = "sealedSuccessor";
/// `loginAnswerId`: digest of the code, state and redirect URI of the login.
pub(crate) const LOGIN_ANSWER_ID: &str = "loginAnswerId";
/// `loginAnswer`: the first refresh token, sealed under a key derived from the code.
const LOGIN_ANSWER: &str = "loginAnswer";
/// `flow`: the provider (API) of the login (`sso`, `authkit`); absent on earlier sessions.
const FLOW: &str = "flow";
/// `ip`: the client's address at login; absent when unknown or on earlier sessions.
const IP: &str = "ip";
/// `userAgent`: the client's user agent at login (cleaned, at most 256 characters).
const USER_AGENT: &str = "userAgent";
/// The most sessions one list reads.
const MAX_LIST: usize = 1000;

impl MongoStore {
    fn sessions(&self) -> Collection<Document> {
        self.database().collection(SESSIONS)
    }

    /// Upgrade at start-up: gives every session known only from refresh-token
    /// documents of the earlier shape (`userId`, `sessionStartedAt`, `revokedAt` on
    /// each token, no session record) its record, so that its access tokens keep
    /// working (or, when one of its tokens is revoked, stay refused). The session
    /// started at its earliest `sessionStartedAt`, ends `session_lifetime_seconds`
    /// later, and takes its user's current organization; a session whose user is
    /// gone, or whose tokens all expired before `now`, is skipped. Idempotent: existing
    /// records are left alone. Returns how many records it stored. Every operation is
    /// bounded by the operation time-out, like every other.
    ///
    /// # Errors
    /// [`RepositoryError`] when the store fails.
    pub async fn adopt_legacy_sessions(
        &self,
        session_lifetime_seconds: i64,
        now: Timestamp,
    ) -> Result<u64, RepositoryError> {
        use futures_util::TryStreamExt;
        use std::collections::BTreeMap;

        let tokens = self.database().collection::<Document>(crate::REFRESH_TOKENS);
        let legacy: Vec<Document> = self
            .run("sessions.adopt_find_tokens", async {
                tokens
                    .find(doc! { "sessionStartedAt": { "$type": "date" }, "expiresAt": { "$gt": bson_date(now) } })
                    .projection(doc! { "sessionId": 1, USER_ID: 1, "sessionStartedAt": 1, REVOKED_AT: 1 })
                    .await?
                    .try_collect()
                    .await
            })
            .await?;
        // Per session: its user, its earliest start and its latest revocation.
        let mut found: BTreeMap<String, (ObjectId, DateTime, Option<DateTime>)> = BTreeMap::new();
        for token in &legacy {
            let (Ok(session), Ok(user), Ok(started)) = (
                token.get_str("sessionId"),
                token.get_object_id(USER_ID),
                token.get_datetime("sessionStartedAt"),
            ) else {
                continue;
            };
            let revoked = token.get_datetime(REVOKED_AT).ok().copied();
            let entry = found
                .entry(session.to_owned())
                .or_insert((user, *started, revoked));
            entry.1 = entry.1.min(*started);
            entry.2 = entry.2.max(revoked);
        }
        if found.is_empty() {
            return Ok(0);
        }
        let ids: Vec<&str> = found.keys().map(String::as_str).collect();
        let sessions = self.sessions();
        let existing: Vec<Document> = self
            .run("sessions.adopt_find_sessions", async {
                sessions
                    .find(doc! { "_id": { "$in": &ids } })
                    .projection(doc! { "_id": 1 })
                    .await?
                    .try_collect()
                    .await
            })
            .await?;
        for session in existing {
            if let Ok(id) = session.get_str("_id") {
                found.remove(id);
            }
        }
        let users: Vec<_> = found.values().map(|(user, _, _)| *user).collect();
        let user_documents = self.database().collection::<Document>(crate::USERS);
        let organizations: BTreeMap<_, _> = self
            .run("sessions.adopt_find_users", async {
                user_documents
                    .find(doc! { "_id": { "$in": users } })
                    .projection(doc! { ORGANIZATION_ID: 1 })
                    .await?
                    .try_collect::<Vec<Document>>()
                    .await
            })
            .await?
            .into_iter()
            .filter_map(|u| {
                Some((
                    u.get_object_id("_id").ok()?,
                    u.get_object_id(ORGANIZATION_ID).ok()?,
                ))
            })
            .collect();
        let mut adopted = 0;
        for (id, (user, started, revoked)) in found {
            let Some(organization) = organizations.get(&user) else {
                continue;
            };
            let adopted_session = AdoptedSession {
                user,
                organization: *organization,
                started,
                revoked,
            };
            match self
                .insert_adopted(&id, adopted_session, session_lifetime_seconds)
                .await
            {
                Ok(_) => adopted += 1,
                // Adopted by a refresh (or another instance) meanwhile.
                Err(RepositoryError::Duplicate) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(adopted)
    }

    /// Stores the record of a session known from a refresh-token document of the
    /// earlier shape, unless it has one: started when the document says, in its
    /// user's current organization, ending [`MongoStore::with_session_lifetime`] after
    /// its start. A session whose user is gone gets none.
    pub(crate) async fn adopt_earlier_session(
        &self,
        id: &SessionId,
        earlier: EarlierSession,
    ) -> Result<(), RepositoryError> {
        if SessionStore::find_session(self, id).await?.is_some() {
            return Ok(());
        }
        let Some(organization) = self.organization_of(earlier.user).await? else {
            return Ok(());
        };
        let adopted = AdoptedSession {
            user: earlier.user,
            organization,
            started: earlier.started_at,
            revoked: earlier.revoked_at,
        };
        match self
            .insert_adopted(id.as_str(), adopted, self.session_lifetime_seconds)
            .await
        {
            Ok(()) => {
                tracing::info!(session_id = %id, "adopted a session from a refresh token of the earlier shape");
                Ok(())
            }
            // Another request adopted it a moment ago.
            Err(RepositoryError::Duplicate) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The organization of a user, `None` if the user is gone.
    async fn organization_of(&self, user: ObjectId) -> Result<Option<ObjectId>, RepositoryError> {
        let users = self.database().collection::<Document>(crate::USERS);
        let found = self
            .run(
                "sessions.adopt_find_user",
                users
                    .find_one(doc! { "_id": user })
                    .projection(doc! { ORGANIZATION_ID: 1 }),
            )
            .await?;
        Ok(found.and_then(|u| u.get_object_id(ORGANIZATION_ID).ok()))
    }

    /// The session of a revoked refresh token of the earlier shape with this digest,
    /// presented as revoked: its record, or one built from the token (in its user's
    /// organization; none known, all zeros, when the user is gone), which is not
    /// stored: such a session is only ever refused.
    async fn revoked_earlier_session(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<SessionRecord>, RepositoryError> {
        let Some((token, earlier, revoked_at)) = self.find_revoked_earlier_token(hash).await? else {
            return Ok(None);
        };
        let revoked_at = Timestamp::from_millis(revoked_at.timestamp_millis());
        if let Some(session) = SessionStore::find_session(self, &token.session_id).await? {
            return Ok(Some(SessionRecord {
                revoked_at: session.revoked_at.or(Some(revoked_at)),
                ..session
            }));
        }
        let organization = self
            .organization_of(earlier.user)
            .await?
            .unwrap_or(ObjectId::from_bytes([0; 12]));
        let started_at = Timestamp::from_millis(earlier.started_at.timestamp_millis());
        Ok(Some(SessionRecord {
            id: token.session_id,
            user_id: UserId::from_bytes(earlier.user.bytes()),
            organization_id: OrganizationId::from_bytes(organization.bytes()),
            started_at,
            ends_at: started_at.plus_seconds(self.session_lifetime_seconds),
            revoked_at: Some(revoked_at),
            revoked_reason: None,
            last_refreshed_at: None,
            refresh_token: None,
            last_rotation: None,
            login_answer: None,
            flow: None,
            client: ClientContext::default(),
        }))
    }

    /// Inserts the record of an adopted session; an existing one is
    /// [`RepositoryError::Duplicate`].
    async fn insert_adopted(
        &self,
        id: &str,
        session: AdoptedSession,
        session_lifetime_seconds: i64,
    ) -> Result<(), RepositoryError> {
        let ends = DateTime::from_millis(
            session
                .started
                .timestamp_millis()
                .saturating_add(session_lifetime_seconds.saturating_mul(1000)),
        );
        let document = doc! {
            "_id": id,
            USER_ID: session.user,
            ORGANIZATION_ID: session.organization,
            STARTED_AT: session.started,
            ENDS_AT: ends,
            REVOKED_AT: session.revoked.map_or(Bson::Null, Bson::DateTime),
            REVOKED_REASON: Bson::Null,
            LAST_REFRESHED_AT: Bson::Null,
        };
        self.run("sessions.adopt_insert", self.sessions().insert_one(document))
            .await
            .map(|_| ())
    }

    /// Rotation of a live token that is still a record of its own (stored before live
    /// tokens moved into sessions, possibly with a session of the earlier shape): the
    /// record is marked used with the sealed successor, then the successor becomes
    /// the session's live token and the record its last rotation. `None`, having
    /// written nothing, when there is no such token, its session cannot be renewed
    /// or holds a live token, or another request rotated it first.
    async fn rotate_token_record(
        &self,
        rotation: TokenRotation,
    ) -> Result<Option<SessionRecord>, RepositoryError> {
        let TokenRotation {
            presented,
            successor,
            at,
            sealed_successor,
        } = rotation;
        let presented = &presented;
        let Some(record) = self.find_live_token_record(presented, at).await? else {
            return Ok(None);
        };
        let Some(session) = SessionStore::find_session(self, &record.session_id).await? else {
            return Ok(None);
        };
        if session.revoked_at.is_some() || at >= session.ends_at || session.refresh_token.is_some() {
            return Ok(None);
        }
        if !self
            .mark_token_record_used(presented, at, sealed_successor.clone())
            .await?
        {
            return Ok(None);
        }
        let at = bson_date(at);
        let sessions = self.sessions();
        let install = sessions
            .find_one_and_update(
                doc! { "_id": session.id.as_str(), TOKEN_HASH: Bson::Null },
                doc! { "$set": {
                    TOKEN_HASH: successor.hash.as_str(),
                    TOKEN_EXPIRES_AT: bson_date(successor.expires_at.min(session.ends_at)),
                    LAST_REFRESHED_AT: at,
                    ROTATED_TOKEN_HASH: presented.as_str(),
                    ROTATED_TOKEN_EXPIRES_AT: bson_date(record.expires_at),
                    ROTATED_AT: at,
                    SEALED_SUCCESSOR: sealed_successor,
                } },
            )
            .return_document(ReturnDocument::After);
        match self.run("sessions.install_refresh_token", install).await? {
            Some(document) => {
                tracing::info!(session_id = %session.id, "a live refresh token recorded on its own moved into its session");
                session_from_document(&document).map(Some)
            }
            None => Err(RepositoryError::Unexpected(format!(
                "session {} already holds a live refresh token beside a record of its own",
                session.id
            ))),
        }
    }
}

/// A session adopted from refresh tokens of the earlier shape.
#[derive(Debug, Clone, Copy)]
struct AdoptedSession {
    user: ObjectId,
    organization: ObjectId,
    started: DateTime,
    revoked: Option<DateTime>,
}

impl MongoStore {
    /// One `find_one` on `sessions` (the first by `sort`, when given).
    async fn find_one_session(
        &self,
        filter: Document,
        sort: Option<Document>,
    ) -> Result<Option<SessionRecord>, RepositoryError> {
        let sessions = self.sessions();
        let find = sessions.find_one(filter);
        let find = match sort {
            Some(sort) => find.sort(sort),
            None => find,
        };
        self.run("sessions.find_one", find)
            .await?
            .map(|d| session_from_document(&d))
            .transpose()
    }
}

#[async_trait]
impl SessionStore for MongoStore {
    /// `insert_one` of the whole record (`revokedAt`, `revokedReason` and
    /// `lastRefreshedAt` as `null` until set); an existing `_id` is
    /// [`RepositoryError::Duplicate`].
    async fn start(&self, session: SessionRecord) -> Result<(), RepositoryError> {
        let optional = |at: Option<Timestamp>| at.map_or(Bson::Null, |at| Bson::DateTime(bson_date(at)));
        let mut document = doc! {
            "_id": session.id.as_str(),
            USER_ID: object_id(session.user_id.bytes()),
            ORGANIZATION_ID: object_id(session.organization_id.bytes()),
            STARTED_AT: bson_date(session.started_at),
            ENDS_AT: bson_date(session.ends_at),
            REVOKED_AT: optional(session.revoked_at),
            REVOKED_REASON: session.revoked_reason.map_or(Bson::Null, |r| Bson::String(r.as_str().to_owned())),
            LAST_REFRESHED_AT: optional(session.last_refreshed_at),
        };
        if let Some(token) = &session.refresh_token {
            document.insert(TOKEN_HASH, token.hash.as_str());
            document.insert(TOKEN_EXPIRES_AT, bson_date(token.expires_at));
        }
        if let Some(rotation) = &session.last_rotation {
            document.insert(ROTATED_TOKEN_HASH, rotation.hash.as_str());
            document.insert(ROTATED_TOKEN_EXPIRES_AT, bson_date(rotation.expires_at));
            document.insert(ROTATED_AT, bson_date(rotation.used_at));
            document.insert(SEALED_SUCCESSOR, rotation.sealed_successor.as_str());
        }
        if let Some(answer) = &session.login_answer {
            document.insert(LOGIN_ANSWER_ID, answer.id.as_str());
            document.insert(LOGIN_ANSWER, answer.sealed_refresh_token.as_str());
        }
        if let Some(flow) = &session.flow {
            document.insert(FLOW, flow.as_str());
        }
        if let Some(ip) = &session.client.ip_address {
            document.insert(IP, ip.as_str());
        }
        if let Some(user_agent) = &session.client.user_agent {
            document.insert(USER_AGENT, user_agent.as_str());
        }
        self.run("sessions.insert_one", self.sessions().insert_one(document))
            .await
            .map(|_| ())
    }

    async fn find_session(&self, id: &SessionId) -> Result<Option<SessionRecord>, RepositoryError> {
        self.find_one_session(doc! { "_id": id.as_str() }, None).await
    }

    /// One `update_one({_id, revokedAt: null}, {$set: {revokedAt, revokedReason}})`.
    async fn revoke(
        &self,
        id: &SessionId,
        at: Timestamp,
        reason: RevokedReason,
    ) -> Result<bool, RepositoryError> {
        let sessions = self.sessions();
        let revoke = sessions.update_one(
            doc! { "_id": id.as_str(), REVOKED_AT: Bson::Null },
            revocation(at, reason),
        );
        self.run("sessions.revoke", revoke)
            .await
            .map(|result| result.modified_count == 1)
    }

    /// One `find_one({$or: [{tokenHash}, {rotatedTokenHash}]})`; when none matches, a
    /// revoked refresh token of the earlier shape presents its session, revoked.
    async fn find_by_refresh_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<SessionRecord>, RepositoryError> {
        let filter = doc! {
            "$or": [ { TOKEN_HASH: hash.as_str() }, { ROTATED_TOKEN_HASH: hash.as_str() } ]
        };
        match self.find_one_session(filter, None).await? {
            Some(session) => Ok(Some(session)),
            None => self.revoked_earlier_session(hash).await,
        }
    }

    /// The newest session with that login answer.
    async fn find_by_login_answer(&self, id: &TokenHash) -> Result<Option<SessionRecord>, RepositoryError> {
        self.find_one_session(
            doc! { LOGIN_ANSWER_ID: id.as_str() },
            Some(doc! { STARTED_AT: -1 }),
        )
        .await
    }

    /// One `find_one_and_update` whose filter holds the whole check (the live digest,
    /// its expiry, not revoked, not ended) and whose update, one `$set` stage of a
    /// pipeline, moves the live token's digest and expiry to `rotatedToken*` while it
    /// writes the successor's: a single-document update is atomic, so of concurrent
    /// callers exactly one matches. When none does, the session holding the token is
    /// looked up, and when there is none, the live token may still be a record of its
    /// own (earlier shapes), rotated there (`rotate_token_record`).
    async fn rotate(&self, rotation: TokenRotation) -> Result<RotationOutcome, RepositoryError> {
        let when = bson_date(rotation.at);
        let sessions = self.sessions();
        let update = sessions
            .find_one_and_update(
                doc! {
                    TOKEN_HASH: rotation.presented.as_str(),
                    TOKEN_EXPIRES_AT: { "$gt": when },
                    REVOKED_AT: Bson::Null,
                    ENDS_AT: { "$gt": when },
                },
                vec![doc! { "$set": {
                    ROTATED_TOKEN_HASH: format!("${TOKEN_HASH}"),
                    ROTATED_TOKEN_EXPIRES_AT: format!("${TOKEN_EXPIRES_AT}"),
                    ROTATED_AT: when,
                    SEALED_SUCCESSOR: { "$literal": rotation.sealed_successor.as_str() },
                    TOKEN_HASH: { "$literal": rotation.successor.hash.as_str() },
                    TOKEN_EXPIRES_AT: { "$min": [bson_date(rotation.successor.expires_at), format!("${ENDS_AT}")] },
                    LAST_REFRESHED_AT: when,
                } }],
            )
            .return_document(ReturnDocument::After);
        if let Some(document) = self.run("sessions.rotate", update).await? {
            return session_from_document(&document).map(RotationOutcome::Rotated);
        }
        if let Some(holder) = self.find_by_refresh_token(&rotation.presented).await? {
            return Ok(RotationOutcome::Refused(Some(holder)));
        }
        let rotated = self.rotate_token_record(rotation).await?;
        Ok(rotated.map_or(RotationOutcome::Refused(None), RotationOutcome::Rotated))
    }

    /// One `find({userId, revokedAt: null, endsAt > now})` sorted by `startedAt` and
    /// `_id`, newest first, limited (index `userId_1`).
    async fn list_live_for_user(
        &self,
        user: UserId,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<SessionRecord>, RepositoryError> {
        use futures_util::TryStreamExt;
        // A limit of 0 would read them all.
        if limit == 0 {
            return Ok(Vec::new());
        }
        let sessions = self.sessions();
        let limit = i64::try_from(limit.min(MAX_LIST)).unwrap_or(1);
        let found: Vec<Document> = self
            .run("sessions.list_live", async {
                sessions
                    .find(live_of(user, now))
                    .sort(doc! { STARTED_AT: -1, "_id": -1 })
                    .limit(limit)
                    .await?
                    .try_collect()
                    .await
            })
            .await?;
        found.iter().map(session_from_document).collect()
    }

    /// One `update_one({_id, userId, revokedAt: null, endsAt > at}, {$set: {revokedAt, revokedReason}})`.
    async fn revoke_live_of_user(
        &self,
        user: UserId,
        id: &SessionId,
        at: Timestamp,
        reason: RevokedReason,
    ) -> Result<bool, RepositoryError> {
        let mut filter = live_of(user, at);
        filter.insert("_id", id.as_str());
        let sessions = self.sessions();
        let revoke = sessions.update_one(filter, revocation(at, reason));
        self.run("sessions.revoke_of_user", revoke)
            .await
            .map(|result| result.modified_count == 1)
    }

    /// One `update_many({userId, revokedAt: null, endsAt > at, _id != keep}, {$set: {revokedAt, revokedReason}})`.
    async fn revoke_all_live_of_user<'a>(
        &self,
        user: UserId,
        keep: Option<&'a SessionId>,
        at: Timestamp,
        reason: RevokedReason,
    ) -> Result<u64, RepositoryError> {
        let mut filter = live_of(user, at);
        if let Some(keep) = keep {
            filter.insert("_id", doc! { "$ne": keep.as_str() });
        }
        let sessions = self.sessions();
        let revoke = sessions.update_many(filter, revocation(at, reason));
        self.run("sessions.revoke_all_of_user", revoke)
            .await
            .map(|result| result.modified_count)
    }
}

/// The filter of the sessions of `user` live at `at`.
fn live_of(user: UserId, at: Timestamp) -> Document {
    doc! {
        USER_ID: object_id(user.bytes()),
        REVOKED_AT: Bson::Null,
        ENDS_AT: { "$gt": bson_date(at) },
    }
}

/// The update that revokes a session at `at` for `reason`.
fn revocation(at: Timestamp, reason: RevokedReason) -> Document {
    doc! { "$set": { REVOKED_AT: bson_date(at), REVOKED_REASON: reason.as_str() } }
}

/// Reads a session document; a field of the wrong type is [`RepositoryError::Unexpected`]
/// naming it.
fn session_from_document(document: &Document) -> Result<SessionRecord, RepositoryError> {
    let bad = |field: &str| {
        RepositoryError::Unexpected(format!(
            "a sessions document has a missing or malformed `{field}`"
        ))
    };
    let optional_date = |field: &'static str| match document.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::DateTime(d)) => Ok(Some(Timestamp::from_millis(d.timestamp_millis()))),
        Some(_) => Err(bad(field)),
    };
    let date = |field: &'static str| optional_date(field)?.ok_or_else(|| bad(field));
    let id_of = |field: &'static str| match document.get(field) {
        Some(Bson::ObjectId(id)) => Ok(id.bytes()),
        _ => Err(bad(field)),
    };
    let Some(Bson::String(id)) = document.get("_id") else {
        return Err(bad("_id"));
    };
    let revoked_reason = match document.get(REVOKED_REASON) {
        None | Some(Bson::Null) => None,
        Some(Bson::String(raw)) => Some(RevokedReason::parse(raw).ok_or_else(|| bad(REVOKED_REASON))?),
        Some(_) => return Err(bad(REVOKED_REASON)),
    };
    let string = |field: &'static str| match document.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(field)),
    };
    let refresh_token = match string(TOKEN_HASH)? {
        Some(hash) => Some(LiveRefreshToken {
            hash: TokenHash::new(hash),
            expires_at: date(TOKEN_EXPIRES_AT)?,
        }),
        None => None,
    };
    let last_rotation = match string(ROTATED_TOKEN_HASH)? {
        Some(hash) => Some(Rotation {
            hash: TokenHash::new(hash),
            expires_at: date(ROTATED_TOKEN_EXPIRES_AT)?,
            used_at: date(ROTATED_AT)?,
            sealed_successor: string(SEALED_SUCCESSOR)?.ok_or_else(|| bad(SEALED_SUCCESSOR))?,
        }),
        None => None,
    };
    // A flow of another form, like a malformed address or agent, is left out rather
    // than failing every read of the session.
    let flow = string(FLOW)
        .ok()
        .flatten()
        .and_then(|f| ProviderKey::parse(&f).ok());
    let client = ClientContext {
        ip_address: string(IP).ok().flatten(),
        user_agent: string(USER_AGENT).ok().flatten(),
    };
    let login_answer = match string(LOGIN_ANSWER_ID)? {
        Some(id) => Some(LoginAnswer {
            id: TokenHash::new(id),
            sealed_refresh_token: string(LOGIN_ANSWER)?.ok_or_else(|| bad(LOGIN_ANSWER))?,
        }),
        None => None,
    };
    Ok(SessionRecord {
        refresh_token,
        last_rotation,
        login_answer,
        id: SessionId::new(id.clone()),
        user_id: UserId::from_bytes(id_of(USER_ID)?),
        organization_id: OrganizationId::from_bytes(id_of(ORGANIZATION_ID)?),
        started_at: date(STARTED_AT)?,
        ends_at: date(ENDS_AT)?,
        revoked_at: optional_date(REVOKED_AT)?,
        revoked_reason,
        last_refreshed_at: optional_date(LAST_REFRESHED_AT)?,
        flow,
        client,
    })
}
