//! Integration tests of the MongoDB adapters against a real SecantusDB (MongoDB wire
//! protocol). `TETHER_TEST_MONGODB_URI` names the server (scripts/test.sh starts one);
//! the stopped-server test also needs `TETHER_TEST_SECANTUSD`, the path to
//! `secantusd-py`, to start and kill a server of its own.
//!
//! Every test works in a fresh database of its own (so tests run in parallel) and drops
//! it at the end.

// Test code throughout, helpers too, for clippy's `allow-unwrap-in-tests`.
#![cfg(test)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::future::join_all;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, DateTime, Document, doc};
use mongodb::{Collection, IndexModel};
use tether_clock::SystemClock;
use tether_domain::secrecy::SecretString;
use tether_domain::{
    AccessRole, Clock, Email, ExternalIdentity, IdentityLink, LinkedIdentity, LiveRefreshToken,
    NewOrganization, NewUser, Organization, OrganizationId, OrganizationRepository, Ports, ProviderKey,
    Provisioner, ProvisioningPolicy, RefreshTokenRecord, RefreshTokenStore, RepositoryError, RevokedReason,
    Rotation, RotationOutcome, SessionField, SessionId, SessionRecord, SessionStore, SettingValue, TenantId,
    Timestamp, TokenHash, User, UserId, UserRepository, Vouching, audit, conformance, lifecycle, links,
    mocks,
};
use tether_domain::{LinkDecision, TokenRotation};

const SSO: ProviderKey = ProviderKey::from_static("sso");
const AUTHKIT: ProviderKey = ProviderKey::from_static("authkit");
use tether_mongo::{MongoConfig, MongoStore};

const MISSING_URI: &str = "set TETHER_TEST_MONGODB_URI (e.g. mongodb://127.0.0.1:27017) to a running \
                           SecantusDB; run scripts/test.sh";

fn mongo_uri() -> String {
    match std::env::var("TETHER_TEST_MONGODB_URI") {
        Ok(uri) if !uri.trim().is_empty() => uri,
        _ => panic!("{MISSING_URI}"),
    }
}

/// A unique database name (at most 63 bytes) starting with a readable tag.
fn database_name(tag: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    #[expect(
        clippy::disallowed_methods,
        reason = "a database name that differs between runs, not a time the rules read"
    )]
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let tag: String = tag.chars().filter(char::is_ascii_alphanumeric).take(24).collect();
    format!(
        "t_{tag}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn config(uri: String, database: Option<String>, timeout: Duration) -> MongoConfig {
    MongoConfig {
        operation_timeout: timeout,
        uri: SecretString::from(uri),
        database,
        server_selection_timeout: timeout,
        connect_timeout: timeout,
        count_commands: false,
        max_pool_size: None,
    }
}

/// A store on a fresh database of the test server.
struct TestDb {
    store: MongoStore,
    /// The organization of the users [`TestDb::insert_user`] inserts.
    organization: OrganizationId,
}

impl TestDb {
    async fn new(tag: &str) -> Self {
        let store = MongoStore::connect(config(
            mongo_uri(),
            Some(database_name(tag)),
            Duration::from_secs(5),
        ))
        .await
        .expect("connect");
        store.ping().await.expect("the test MongoDB answers ping");
        Self {
            store,
            organization: org_id(ObjectId::new()),
        }
    }

    async fn with_indexes(tag: &str) -> Self {
        let db = Self::new(tag).await;
        db.store.ensure_indexes().await.expect("ensure_indexes");
        db
    }

    fn raw(&self, collection: &str) -> Collection<Document> {
        self.store.database().collection(collection)
    }

    async fn insert_user(
        &self,
        email: &str,
        flow: ProviderKey,
        subject: &str,
    ) -> Result<User, RepositoryError> {
        self.store
            .insert(new_user(email, flow, subject, self.organization))
            .await
    }

    async fn session(&self, id: &str) -> Option<SessionRecord> {
        self.store.find_session(&SessionId::new(id)).await.unwrap()
    }

    async fn token(&self, hash: &str) -> Option<RefreshTokenRecord> {
        self.store.find_by_hash(&TokenHash::new(hash)).await.unwrap()
    }

    /// Rotates the live token `presented` into `successor`, sealing `sealed`.
    async fn rotate(
        &self,
        presented: &str,
        successor: LiveRefreshToken,
        at: Timestamp,
        sealed: &str,
    ) -> RotationOutcome {
        SessionStore::rotate(
            &self.store,
            TokenRotation {
                presented: TokenHash::new(presented),
                successor,
                at,
                sealed_successor: sealed.to_owned(),
            },
        )
        .await
        .unwrap()
    }

    /// The one document of `collection` that `filter` matches, as stored.
    async fn stored(&self, collection: &str, filter: Document) -> Document {
        self.raw(collection).find_one(filter).await.unwrap().unwrap()
    }

    async fn count(&self, collection: &str) -> u64 {
        self.raw(collection).count_documents(doc! {}).await.unwrap()
    }

    /// Writes `document` as the product (or an earlier version) would have.
    async fn put(&self, collection: &str, document: Document) {
        self.raw(collection).insert_one(document).await.unwrap();
    }

    /// Writes `document`, which has no `_id`, as [`TestDb::put`]; the id it was given.
    async fn put_new(&self, collection: &str, document: Document) -> ObjectId {
        let inserted = self.raw(collection).insert_one(document).await.unwrap();
        inserted.inserted_id.as_object_id().unwrap()
    }

    /// A user as the product may store one: an address, an organization and a role,
    /// and the `other` fields only; its id.
    async fn put_user(&self, email: &str, access_role: &str, other: Document) -> ObjectId {
        let mut user = doc! { "email": email, "organizationId": ObjectId::new(), "accessRole": access_role };
        user.extend(other);
        self.put_new("users", user).await
    }

    /// A user stored with an address and an organization only, as the owner of refresh
    /// tokens of the earlier shape; its id and its organization's.
    async fn put_token_owner(&self, email: &str) -> (ObjectId, ObjectId) {
        let organization = ObjectId::new();
        let user = doc! { "email": email, "organizationId": organization };
        (self.put_new("users", user).await, organization)
    }

    async fn user_by_email(&self, email: &str) -> Option<User> {
        self.store
            .find_by_email(&Email::parse(email).unwrap())
            .await
            .unwrap()
    }

    async fn organization_by_tenant(&self, tenant: &str) -> Option<Organization> {
        let tenant = TenantId::parse(tenant).unwrap();
        self.store.find_by_tenant(&tenant).await.unwrap()
    }

    /// The stored document of the user or organization (by its id's bytes) in `collection`.
    async fn stored_by_id(&self, collection: &str, id: [u8; 12]) -> Document {
        self.stored(collection, doc! { "_id": oid(id) }).await
    }

    /// The indexes of `collection`, by name.
    async fn indexes(&self, collection: &str) -> BTreeMap<String, IndexModel> {
        let mut by_name = BTreeMap::new();
        let mut cursor = self.raw(collection).list_indexes().await.unwrap();
        while cursor.advance().await.unwrap() {
            let index = cursor.deserialize_current().unwrap();
            let name = index.options.as_ref().and_then(|o| o.name.clone()).unwrap();
            by_name.insert(name, index);
        }
        by_name
    }

    async fn drop_database(self) {
        self.store
            .database()
            .drop()
            .await
            .expect("drop the test database");
    }
}

/// Each field of `expected` is stored in `document` with that value.
fn assert_fields(document: &Document, expected: Document) {
    for (field, value) in &expected {
        assert_eq!(document.get(field), Some(value), "{field} of {document}");
    }
}

fn ts(millis: i64) -> Timestamp {
    Timestamp::from_millis(millis)
}

fn user_id(oid: ObjectId) -> UserId {
    UserId::from_bytes(oid.bytes())
}

fn org_id(oid: ObjectId) -> OrganizationId {
    OrganizationId::from_bytes(oid.bytes())
}

fn oid(bytes: [u8; 12]) -> ObjectId {
    ObjectId::from_bytes(bytes)
}

fn linked(
    provider: ProviderKey,
    subject: &str,
    connection: Option<&str>,
    tenant: Option<&str>,
) -> LinkedIdentity {
    LinkedIdentity {
        link: IdentityLink {
            provider,
            subject: subject.into(),
        },
        connection: connection.map(Into::into),
        tenant: tenant.map(|t| TenantId::parse(t).unwrap()),
    }
}

fn new_user(email: &str, flow: ProviderKey, subject: &str, organization: OrganizationId) -> NewUser {
    NewUser {
        email: Email::parse(email).unwrap(),
        full_name: "Jane Doe".into(),
        organization_id: organization,
        access_role: AccessRole::SalesRep,
        conversation_open_preference: "split".into(),
        identity: linked(flow, subject, Some("conn_1"), Some("org_1")),
        email_verified: false,
        created_at: ts(1_700_000_000_000),
    }
}

#[tokio::test]
async fn a_new_user_is_found_by_id_by_email_and_by_its_workos_subject() {
    let db = TestDb::with_indexes("find").await;
    let org = db.organization;
    let created = db.insert_user("jane@example.com", SSO, "prof_1").await.unwrap();
    assert_eq!(created.subject_for(&SSO), Some("prof_1"));
    assert_eq!(created.subject_for(&AUTHKIT), None);

    let by_id = UserRepository::find_user(&db.store, created.id).await.unwrap();
    assert_eq!(by_id.as_ref(), Some(&created));
    let by_email = db.user_by_email("JANE@Example.COM").await;
    assert_eq!(by_email.as_ref(), Some(&created));
    let by_subject = db
        .store
        .find_by_link(&IdentityLink {
            provider: SSO,
            subject: ("prof_1").into(),
        })
        .await
        .unwrap();
    assert_eq!(by_subject.as_ref(), Some(&created));
    // The subject belongs to one flow only.
    assert_eq!(
        db.store
            .find_by_link(&IdentityLink {
                provider: AUTHKIT,
                subject: ("prof_1").into()
            })
            .await
            .unwrap(),
        None
    );
    assert_eq!(db.user_by_email("other@example.com").await, None);

    let created_at = DateTime::from_millis(1_700_000_000_000);
    assert_fields(
        &db.stored("users", doc! {}).await,
        doc! {
            "email": "jane@example.com", "organizationId": oid(org.bytes()), "accessRole": "SALES_REP",
            "loginDisabled": false, "workosConnectionId": "conn_1", "workosOrganizationId": "org_1",
            "createdAt": created_at, "updatedAt": created_at, "lastLoginAt": created_at,
        },
    );
    db.drop_database().await;
}

#[tokio::test]
async fn an_address_the_product_stored_in_mixed_case_is_found_case_insensitively() {
    let db = TestDb::with_indexes("mixedcase").await;
    let id = db.put_user("Jane.Doe@Example.COM", "ADMIN", doc! {}).await;
    let found = db
        .user_by_email("jane.doe@example.com")
        .await
        .expect("found despite the case");
    assert_eq!(found.id, user_id(id));
    assert_eq!(found.email.as_str(), "jane.doe@example.com");
    assert_eq!(found.access_role, AccessRole::Admin);
    assert_eq!(found.conversation_open_preference, "split");
    assert_eq!(found.full_name, "");
    db.drop_database().await;
}

#[tokio::test]
async fn an_address_differing_only_in_case_is_a_duplicate_and_writes_nothing() {
    let db = TestDb::with_indexes("dupemail").await;
    db.put_user("Jane@Example.COM", "ADMIN", doc! {}).await;
    let err = db
        .insert_user("jane@example.com", AUTHKIT, "user_1")
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Duplicate), "{err:?}");
    assert_eq!(db.count("users").await, 1);
    db.drop_database().await;
}

#[tokio::test]
async fn a_workos_subject_another_user_carries_is_a_duplicate() {
    let db = TestDb::with_indexes("dupsubject").await;
    db.insert_user("a@example.com", AUTHKIT, "user_1").await.unwrap();
    let err = db
        .insert_user("b@example.com", AUTHKIT, "user_1")
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Duplicate), "{err:?}");
    // Users without a given WorkOS id never collide on it.
    db.insert_user("c@example.com", SSO, "prof_1").await.unwrap();
    assert_eq!(db.count("users").await, 2);
    db.drop_database().await;
}

#[tokio::test]
async fn record_login_stamps_dates_fills_missing_ids_and_leaves_every_other_field_alone() {
    let db = TestDb::with_indexes("recordlogin").await;
    let id = ObjectId::new();
    let org = ObjectId::new();
    let created = DateTime::from_millis(1_600_000_000_000);
    db.put(
        "users",
        doc! {
            "_id": id, "email": "jane@example.com", "fullName": "Jane", "organizationId": org,
            "accessRole": "ADMIN", "workosProfileId": "prof_old", "workosConnectionId": "conn_old",
            "phone": "+1 555 0100", "department": { "name": "Sales", "floor": 3_i32 },
            "createdAt": created, "updatedAt": created,
        },
    )
    .await;
    let at = ts(1_750_000_000_000);

    // An SSO link: the stored profile id and connection stay, the missing WorkOS org is recorded.
    let user = db
        .store
        .record_login(
            user_id(id),
            Some(linked(SSO, "prof_new", Some("conn_new"), Some("org_new"))),
            at,
        )
        .await
        .unwrap()
        .expect("the user exists");
    assert_eq!(user.subject_for(&SSO), Some("prof_old"));
    assert_eq!(user.organization_id, org_id(org));
    assert_eq!(user.access_role, AccessRole::Admin);

    // An AuthKit link on a user without an AuthKit id records it.
    let user = db
        .store
        .record_login(user_id(id), Some(linked(AUTHKIT, "user_1", None, None)), at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.subject_for(&AUTHKIT), Some("user_1"));

    let raw = db.stored("users", doc! { "_id": id }).await;
    let stamped = DateTime::from_millis(at.millis());
    assert_fields(
        &raw,
        doc! {
            "workosProfileId": "prof_old", "workosUserId": "user_1", "workosConnectionId": "conn_old",
            "workosOrganizationId": "org_new", "phone": "+1 555 0100",
            "department": { "name": "Sales", "floor": 3_i32 }, "organizationId": org,
            "accessRole": "ADMIN", "fullName": "Jane",
            "createdAt": created, "updatedAt": stamped, "lastLoginAt": stamped,
        },
    );
    assert!(
        !raw.contains_key("loginDisabled"),
        "no field is added beyond the stamps and ids"
    );
    db.drop_database().await;
}

#[tokio::test]
async fn record_login_of_a_user_that_does_not_exist_is_none() {
    let db = TestDb::with_indexes("recordmissing").await;
    let outcome = db
        .store
        .record_login(user_id(ObjectId::new()), None, ts(1_750_000_000_000))
        .await
        .unwrap();
    assert_eq!(outcome, None);
    assert_eq!(db.count("users").await, 0);
    db.drop_database().await;
}

#[tokio::test]
async fn record_login_with_a_subject_another_user_carries_is_a_duplicate_and_writes_nothing() {
    let db = TestDb::with_indexes("recordclash").await;
    db.insert_user("owner@example.com", AUTHKIT, "user_taken")
        .await
        .unwrap();
    let other = db.insert_user("other@example.com", SSO, "prof_2").await.unwrap();
    let before = db.stored_by_id("users", other.id.bytes()).await;
    let outcome = db
        .store
        .record_login(
            other.id,
            Some(linked(AUTHKIT, "user_taken", None, None)),
            ts(1_760_000_000_000),
        )
        .await;
    assert!(matches!(outcome, Err(RepositoryError::Duplicate)), "{outcome:?}");
    let after = db.stored_by_id("users", other.id.bytes()).await;
    assert_eq!(after, before, "nothing was written");
    db.drop_database().await;
}

fn new_org(name: &str, workos: Option<&str>, at: i64) -> NewOrganization {
    NewOrganization {
        name: name.into(),
        tenant: workos.map(|w| TenantId::parse(w).unwrap()),
        created_at: ts(at),
    }
}

#[tokio::test]
async fn organizations_are_created_listed_oldest_first_and_found_by_their_workos_organization() {
    let db = TestDb::with_indexes("orgmap").await;
    let newer = db
        .store
        .create(new_org("Newer", Some("org_B"), 2_000))
        .await
        .unwrap();
    let older = db.store.create(new_org("Older", None, 1_000)).await.unwrap();
    let listed: Vec<String> = db
        .store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(listed, ["Older", "Newer"]);
    let found = db
        .organization_by_tenant("org_B")
        .await
        .expect("the mapped organization");
    assert_eq!(found.id, newer.id);
    assert_eq!(found.tenant.unwrap().as_str(), "org_B");
    assert!(db.organization_by_tenant("org_C").await.is_none());
    let raw = db.stored_by_id("organizations", older.id.bytes()).await;
    assert!(
        !raw.contains_key("workosOrganizationId"),
        "an unmapped organization has no field"
    );
    assert_eq!(
        raw.get_datetime("createdAt").unwrap(),
        &DateTime::from_millis(1_000)
    );
    db.drop_database().await;
}

#[tokio::test]
async fn a_workos_organization_maps_at_most_one_organization_and_unmapping_removes_the_field() {
    let db = TestDb::with_indexes("orgmapunique").await;
    let a = db.store.create(new_org("A", Some("org_A"), 1_000)).await.unwrap();
    let b = db.store.create(new_org("B", None, 2_000)).await.unwrap();
    let dup = db.store.create(new_org("A2", Some("org_A"), 3_000)).await;
    assert!(matches!(dup, Err(RepositoryError::Duplicate)), "{dup:?}");
    let taken = db
        .store
        .set_tenant(b.id, Some(TenantId::parse("org_A").unwrap()), ts(4_000))
        .await;
    assert!(matches!(taken, Err(RepositoryError::Duplicate)), "{taken:?}");
    let raw_b = db.stored_by_id("organizations", b.id.bytes()).await;
    assert!(
        !raw_b.contains_key("workosOrganizationId"),
        "nothing written on conflict"
    );
    let unmapped = db
        .store
        .set_tenant(a.id, None, ts(5_000))
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(unmapped.tenant, None);
    let raw_a = db.stored_by_id("organizations", a.id.bytes()).await;
    assert!(!raw_a.contains_key("workosOrganizationId"));
    assert_eq!(
        raw_a.get_datetime("updatedAt").unwrap(),
        &DateTime::from_millis(5_000)
    );
    let mapped = db
        .store
        .set_tenant(b.id, Some(TenantId::parse("org_A").unwrap()), ts(6_000))
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(mapped.tenant.unwrap().as_str(), "org_A");
    let missing = db
        .store
        .set_tenant(org_id(ObjectId::new()), None, ts(7_000))
        .await
        .unwrap();
    assert!(missing.is_none());
    db.drop_database().await;
}

#[tokio::test]
async fn a_user_with_an_unknown_access_role_is_unexpected_naming_the_field_and_id_but_not_the_address() {
    let db = TestDb::new("badrole").await;
    let id = db.put_user("secret.person@example.com", "OWNER", doc! {}).await;
    let err = UserRepository::find_user(&db.store, user_id(id))
        .await
        .unwrap_err();
    let RepositoryError::Unexpected(message) = err else {
        panic!("expected Unexpected, got {err:?}")
    };
    assert!(message.contains("accessRole"), "{message}");
    assert!(message.contains(&id.to_hex()), "{message}");
    assert!(!message.contains("secret.person"), "{message}");
    db.drop_database().await;
}

#[tokio::test]
async fn session_settings_of_mixed_types_are_read_field_by_field() {
    let db = TestDb::new("settings").await;
    let id = db
        .put_new(
            "organizations",
            doc! {
                "name": "Acme", "createdAt": DateTime::from_millis(1),
                "sessionSettings": {
                    "idleTimeoutMinutes": 45_i32,
                    "tokenExpiryHours": 12.5_f64,
                    "warningTimeMinutes": Bson::Null,
                    "ssoFallbackBehavior": "reauth-button",
                    "enabled": false,
                    "passwordFallbackBehavior": ["logout"],
                    "somethingNew": "ignored",
                },
            },
        )
        .await;
    let org = OrganizationRepository::find_organization(&db.store, org_id(id))
        .await
        .unwrap()
        .expect("the organization exists");
    assert_eq!(org.name, "Acme");
    let s = &org.session_settings;
    for (field, read) in [
        (SessionField::IdleTimeoutMinutes, Some(SettingValue::Number(45.0))),
        (SessionField::TokenExpiryHours, Some(SettingValue::Number(12.5))),
        (SessionField::WarningTimeMinutes, None),
        (
            SessionField::SsoFallbackBehavior,
            Some(SettingValue::Text("reauth-button".into())),
        ),
        (SessionField::Enabled, Some(SettingValue::Bool(false))),
        (
            SessionField::PasswordFallbackBehavior,
            Some(SettingValue::Other("array")),
        ),
    ] {
        assert_eq!(s.get(field), read.as_ref(), "{field:?}");
    }
    assert_eq!(s.iter().count(), 5);
    assert_eq!(
        OrganizationRepository::find_organization(&db.store, org_id(ObjectId::new()))
            .await
            .unwrap(),
        None
    );
    db.drop_database().await;
}

#[tokio::test]
async fn a_new_member_lands_in_the_mapped_organization_else_the_oldest_unmapped_one_ties_broken_by_id() {
    let db = TestDb::with_indexes("oldest").await;
    let landing = |workos: Option<&'static str>| {
        let store = db.store.clone();
        async move {
            store
                .mapped_or_oldest_unmapped(workos.map(|w| TenantId::parse(w).unwrap()).as_ref())
                .await
                .unwrap()
                .map(|o| o.name)
        }
    };
    assert_eq!(landing(None).await, None);
    let tie_low = ObjectId::parse_str("000000000000000000000001").unwrap();
    let tie_high = ObjectId::parse_str("ffffffffffffffffffffffff").unwrap();
    db.raw("organizations")
        .insert_many([
            doc! { "_id": ObjectId::new(), "name": "newest", "createdAt": DateTime::from_millis(3_000) },
            doc! { "_id": ObjectId::new(), "name": "mapped oldest", "createdAt": DateTime::from_millis(500), "workosOrganizationId": "org_A" },
            doc! { "_id": ObjectId::new(), "name": "mapped newest", "createdAt": DateTime::from_millis(4_000), "workosOrganizationId": "org_C" },
            doc! { "_id": tie_high, "name": "tie high", "createdAt": DateTime::from_millis(1_000) },
            doc! { "_id": tie_low, "name": "tie low", "createdAt": DateTime::from_millis(1_000) },
            doc! { "_id": ObjectId::new(), "name": "null mapping", "createdAt": DateTime::from_millis(1_500), "workosOrganizationId": null },
            doc! { "_id": ObjectId::new(), "name": "middle", "createdAt": DateTime::from_millis(2_000) },
        ])
        .await
        .unwrap();
    assert_eq!(landing(None).await.as_deref(), Some("tie low"));
    assert_eq!(landing(Some("org_A")).await.as_deref(), Some("mapped oldest"));
    assert_eq!(
        landing(Some("org_C")).await.as_deref(),
        Some("mapped newest"),
        "the mapped one, however new"
    );
    assert_eq!(landing(Some("org_B")).await.as_deref(), Some("tie low"));
    // A `null` mapping is no mapping.
    for (id, tenant) in [(tie_low, "org_T1"), (tie_high, "org_T2")] {
        db.raw("organizations")
            .update_one(
                doc! { "_id": id },
                doc! { "$set": { "workosOrganizationId": tenant } },
            )
            .await
            .unwrap();
    }
    assert_eq!(landing(Some("org_B")).await.as_deref(), Some("null mapping"));
    let first = db
        .store
        .mapped_or_oldest_unmapped(None)
        .await
        .unwrap()
        .expect("an organization");
    assert!(first.session_settings.is_empty());
    assert_eq!(first.tenant, None);
    db.drop_database().await;
}

#[tokio::test]
async fn a_refresh_token_is_stored_as_its_digest_and_nothing_else() {
    let db = TestDb::with_indexes("refresh").await;
    let digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let record = RefreshTokenRecord {
        hash: TokenHash::new(digest),
        session_id: SessionId::new("sess_1"),
        expires_at: ts(1_800_000_000_000),
        used_at: None,
        sealed_successor: None,
    };
    db.store.save_token(record.clone()).await.unwrap();

    let raw = db.stored("refresh_tokens", doc! {}).await;
    let keys: BTreeSet<&str> = raw.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["_id", "tokenHash", "sessionId", "expiresAt"])
    );
    assert!(raw.get_object_id("_id").is_ok());
    assert_eq!(raw.get_str("tokenHash").unwrap(), digest);
    assert_eq!(raw.get_str("sessionId").unwrap(), "sess_1");
    assert_eq!(
        raw.get_datetime("expiresAt").unwrap(),
        &DateTime::from_millis(1_800_000_000_000)
    );

    let err = db.store.save_token(record).await.unwrap_err();
    assert!(matches!(err, RepositoryError::Duplicate), "{err:?}");
    db.drop_database().await;
}

#[tokio::test]
async fn ensure_indexes_twice_is_fine_and_creates_the_documented_indexes() {
    let db = TestDb::new("indexes").await;
    db.store.ensure_indexes().await.expect("first run");
    db.store
        .ensure_indexes()
        .await
        .expect("second run changes nothing");

    let tokens = db.indexes("refresh_tokens").await;
    let ttl = tokens["expiresAt_ttl"].options.as_ref().unwrap();
    assert_eq!(tokens["expiresAt_ttl"].keys, doc! { "expiresAt": 1 });
    assert_eq!(ttl.expire_after, Some(Duration::ZERO));
    assert_eq!(
        tokens["tokenHash_unique"].options.as_ref().unwrap().unique,
        Some(true)
    );
    let sessions = db.indexes("sessions").await;
    assert_eq!(sessions["endsAt_ttl"].keys, doc! { "endsAt": 1 });
    assert_eq!(
        sessions["endsAt_ttl"].options.as_ref().unwrap().expire_after,
        Some(Duration::from_secs(720 * 3600)),
        "a session outlives its end by the longest access-token life"
    );
    // Lookups by digest use these (a partial index would not serve them).
    let live = sessions["tokenHash_sparse_unique"].options.as_ref().unwrap();
    assert_eq!((live.unique, live.sparse), (Some(true), Some(true)));
    assert_eq!(
        sessions["rotatedTokenHash_1"].keys,
        doc! { "rotatedTokenHash": 1 }
    );
    let answer = sessions["loginAnswerId_sparse"].options.as_ref().unwrap();
    assert_eq!((answer.unique, answer.sparse), (None, Some(true)));

    let users = db.indexes("users").await;
    let email = users["email_ci_unique"].options.as_ref().unwrap();
    assert_eq!(email.unique, Some(true));
    let collation = email.collation.as_ref().expect("a collation");
    assert_eq!(collation.locale, "en");
    assert!(matches!(
        collation.strength,
        Some(mongodb::options::CollationStrength::Secondary)
    ));
    for field in ["workosUserId", "workosProfileId"] {
        let options = users[&format!("{field}_unique")].options.as_ref().unwrap();
        assert_eq!(options.unique, Some(true));
        assert_eq!(
            options.partial_filter_expression,
            Some(doc! { field: { "$type": "string" } })
        );
        assert_eq!(
            users[&format!("{field}_1")].keys,
            doc! { field: 1 },
            "for sign-ins"
        );
    }

    let organizations = db.indexes("organizations").await;
    assert_eq!(
        organizations["createdAt_id"].keys,
        doc! { "createdAt": 1, "_id": 1 }
    );
    let mapping = organizations["workosOrganizationId_unique"]
        .options
        .as_ref()
        .unwrap();
    assert_eq!(mapping.unique, Some(true));
    assert_eq!(
        mapping.partial_filter_expression,
        Some(doc! { "workosOrganizationId": { "$type": "string" } })
    );
    db.drop_database().await;
}

/// A clock stuck at one instant.
struct FixedClock(Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// The MongoDB user repository, counting successful and duplicate inserts.
struct CountingUsers {
    inner: MongoStore,
    inserted: AtomicU32,
    duplicates: AtomicU32,
}

#[async_trait::async_trait]
impl UserRepository for CountingUsers {
    async fn find_by_link(&self, link: &IdentityLink) -> Result<Option<User>, RepositoryError> {
        self.inner.find_by_link(link).await
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError> {
        self.inner.find_by_email(email).await
    }

    async fn find_user(&self, id: UserId) -> Result<Option<User>, RepositoryError> {
        UserRepository::find_user(&self.inner, id).await
    }

    async fn insert(&self, user: NewUser) -> Result<User, RepositoryError> {
        let outcome = self.inner.insert(user).await;
        match &outcome {
            Ok(_) => self.inserted.fetch_add(1, Ordering::Relaxed),
            Err(RepositoryError::Duplicate) => self.duplicates.fetch_add(1, Ordering::Relaxed),
            Err(_) => 0,
        };
        outcome
    }

    async fn record_login(
        &self,
        id: UserId,
        link: Option<LinkedIdentity>,
        at: Timestamp,
    ) -> Result<Option<User>, RepositoryError> {
        self.inner.record_login(id, link, at).await
    }

    async fn record_login_by_link(
        &self,
        link: &IdentityLink,
        at: Timestamp,
    ) -> Result<Option<User>, RepositoryError> {
        self.inner.record_login_by_link(link, at).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_first_logins_of_one_person_create_exactly_one_user() {
    let db = TestDb::with_indexes("race").await;
    db.put(
        "organizations",
        doc! { "_id": ObjectId::new(), "name": "Acme", "createdAt": DateTime::from_millis(1) },
    )
    .await;
    let users = Arc::new(CountingUsers {
        inner: db.store.clone(),
        inserted: AtomicU32::new(0),
        duplicates: AtomicU32::new(0),
    });
    let ports = Ports {
        users: users.clone(),
        organizations: Arc::new(db.store.clone()),
        clock: Arc::new(FixedClock(ts(1_750_000_000_000))),
        ..mocks::ports()
    };
    let provisioner = Provisioner::new(ports, ProvisioningPolicy::default());
    let identity = ExternalIdentity {
        link: IdentityLink {
            provider: AUTHKIT,
            subject: "user_race".into(),
        },
        email: "Race.Person@Example.com".into(),
        email_verified: Some(true),
        vouching: Vouching::Provider,
        first_name: Some("Race".into()),
        last_name: Some("Person".into()),
        connection: None,
        tenant: Some(TenantId::parse("org_race").unwrap()),
    };
    let tasks = (0..20).map(|_| {
        let provisioner = provisioner.clone();
        let identity = identity.clone();
        tokio::spawn(async move { provisioner.find_or_create(&identity, None).await })
    });
    let results = join_all(tasks).await;
    let ids: BTreeSet<UserId> = results
        .into_iter()
        .map(|joined| joined.expect("task").expect("every login succeeds").id)
        .collect();
    assert_eq!(ids.len(), 1, "every login got the same user");
    assert_eq!(
        users.inserted.load(Ordering::Relaxed),
        1,
        "exactly one insert succeeded"
    );
    // Informative: how many inserts lost the race (depends on scheduling).
    eprintln!(
        "inserts refused as duplicates: {}",
        users.duplicates.load(Ordering::Relaxed)
    );
    assert_eq!(db.count("users").await, 1);
    let raw = db.stored("users", doc! {}).await;
    assert_eq!(raw.get_str("email").unwrap(), "race.person@example.com");
    assert_eq!(raw.get_str("workosUserId").unwrap(), "user_race");
    db.drop_database().await;
}

/// A SecantusDB started by a test; killed when dropped.
struct OwnServer(Child);

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_store_whose_server_stopped_reports_unavailable_within_seconds() {
    let binary = std::env::var("TETHER_TEST_SECANTUSD").unwrap_or_else(|_| {
        panic!("set TETHER_TEST_SECANTUSD to the path of secantusd-py; run scripts/test.sh")
    });
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.local_addr().unwrap().port()
    };
    let mut server = OwnServer(
        Command::new(&binary)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--storage-path",
                ":memory:",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {binary}: {e}")),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "SecantusDB did not open port {port} within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let store = MongoStore::connect(config(
        format!("mongodb://127.0.0.1:{port}"),
        Some("stopped".into()),
        Duration::from_secs(1),
    ))
    .await
    .unwrap();
    store
        .ping()
        .await
        .expect("the server answers before it is stopped");
    let email = Email::parse("jane@example.com").unwrap();
    assert_eq!(store.find_by_email(&email).await.unwrap(), None);

    server.0.kill().expect("kill the server");
    server.0.wait().expect("reap the server");

    let started = Instant::now();
    let err = store.find_by_email(&email).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, RepositoryError::Unavailable(_)), "{err:?}");
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    assert!(!err.to_string().contains("mongodb://"), "{err}");
}

// ---- refresh-token rotation and revocation, organization session settings ------------

/// A session of a new user and organization, started at 1_700_000_000_000 for 30
/// days, with no live refresh token.
fn thirty_day_session(id: &str) -> SessionRecord {
    conformance::started_session(
        id,
        user_id(ObjectId::new()),
        org_id(ObjectId::new()),
        ts(1_700_000_000_000),
        ts(1_702_592_000_000),
    )
}

fn live_token(hash: &str, expires_at: Timestamp) -> LiveRefreshToken {
    LiveRefreshToken {
        hash: TokenHash::new(hash),
        expires_at,
    }
}

/// The session a rotation rotated, `None` when it was refused.
fn rotated_session(outcome: RotationOutcome) -> Option<SessionRecord> {
    match outcome {
        RotationOutcome::Rotated(session) => Some(session),
        RotationOutcome::Refused(_) => None,
    }
}

/// A refresh-token document as written before sessions were records.
fn legacy_document(digest: &str, session: &str, user: ObjectId, revoked: bool) -> Document {
    let mut document = doc! {
        "tokenHash": digest,
        "userId": user,
        "sessionId": session,
        "expiresAt": DateTime::from_millis(1_800_000_000_000),
        "createdAt": DateTime::from_millis(1_700_000_000_000),
        "sessionStartedAt": DateTime::from_millis(1_690_000_000_000),
        "usedAt": Bson::Null,
        "revokedAt": Bson::Null,
    };
    if revoked {
        document.insert("revokedAt", DateTime::from_millis(1_690_000_500_000));
    }
    document
}

#[tokio::test]
async fn a_refresh_token_document_of_the_earlier_shape_is_presented_as_a_session_and_rotates_into_it() {
    let db = TestDb::with_indexes("rt_legacy").await;
    let (user, organization) = db.put_token_owner("legacy@acme.example").await;
    db.raw("refresh_tokens")
        .insert_many([
            legacy_document("ee01", "sess_legacy", user, false),
            legacy_document("ee02", "sess_legacy_revoked", user, true),
        ])
        .await
        .unwrap();

    // Read, the token is a plain record, and its session a record of its own.
    let live = db.token("ee01").await.unwrap();
    assert_eq!(
        live,
        RefreshTokenRecord {
            hash: TokenHash::new("ee01"),
            session_id: SessionId::new("sess_legacy"),
            expires_at: ts(1_800_000_000_000),
            used_at: None,
            sealed_successor: None,
        }
    );
    let adopted = conformance::started_session(
        "sess_legacy",
        user_id(user),
        org_id(organization),
        ts(1_690_000_000_000),
        ts(1_690_000_000_000 + 30 * 86_400_000),
    );
    assert_eq!(
        db.store.find_session(&adopted.id).await.unwrap(),
        Some(adopted.clone())
    );

    // Twenty rotations of it at once: exactly one wins, and its successor becomes
    // the session's live token, capped at the session's end.
    let at = ts(1_690_000_600_000);
    let outcomes = join_all((0..20).map(|i| {
        let store = db.store.clone();
        async move {
            let successor = LiveRefreshToken {
                hash: TokenHash::new(format!("ee01_successor_{i}")),
                expires_at: ts(1_800_000_000_000),
            };
            SessionStore::rotate(
                &store,
                TokenRotation {
                    presented: TokenHash::new("ee01"),
                    successor,
                    at,
                    sealed_successor: format!("v1.sealed-{i}"),
                },
            )
            .await
            .unwrap()
        }
    }))
    .await;
    let winners: Vec<_> = outcomes.into_iter().filter_map(rotated_session).collect();
    assert_eq!(winners.len(), 1, "exactly one rotation wins");
    let rotated = winners[0].clone();
    let sealed = rotated.last_rotation.as_ref().unwrap().sealed_successor.clone();
    let winner = sealed.trim_start_matches("v1.sealed-");
    assert_eq!(
        rotated,
        SessionRecord {
            last_refreshed_at: Some(at),
            refresh_token: Some(LiveRefreshToken {
                hash: TokenHash::new(format!("ee01_successor_{winner}")),
                expires_at: adopted.ends_at,
            }),
            last_rotation: Some(Rotation {
                hash: TokenHash::new("ee01"),
                expires_at: ts(1_800_000_000_000),
                used_at: at,
                sealed_successor: sealed.clone(),
            }),
            ..adopted.clone()
        }
    );
    // The token document keeps its old fields beside the rotation.
    let raw = db.stored("refresh_tokens", doc! {"tokenHash": "ee01"}).await;
    assert_eq!(raw.get_str("sealedSuccessor").unwrap(), sealed);
    assert_eq!(raw.get_object_id("userId").unwrap(), user);
    assert_eq!(
        db.store
            .find_by_refresh_token(&TokenHash::new("ee01"))
            .await
            .unwrap(),
        Some(rotated.clone()),
        "found by the token its rotation consumed"
    );

    // A revoked one never rotates; its session is presented revoked, and not stored.
    let refused = db
        .rotate(
            "ee02",
            live_token("ee02_successor", ts(1_800_000_000_000)),
            at,
            "v1.sealed",
        )
        .await;
    assert_eq!(rotated_session(refused), None);
    let revoked = db
        .store
        .find_by_refresh_token(&TokenHash::new("ee02"))
        .await
        .unwrap()
        .expect("presented");
    assert_eq!(revoked.id, SessionId::new("sess_legacy_revoked"));
    assert_eq!(revoked.revoked_at, Some(ts(1_690_000_500_000)));
    assert_eq!(db.store.find_session(&revoked.id).await.unwrap(), None);
    db.drop_database().await;
}

#[tokio::test]
async fn a_live_refresh_token_recorded_on_its_own_moves_into_its_session_when_rotated() {
    let db = TestDb::with_indexes("rt_own_record").await;
    let session = thirty_day_session("sess_own_record");
    db.store.start(session.clone()).await.unwrap();
    db.put(
        "refresh_tokens",
        doc! {
            "tokenHash": "ff01",
            "sessionId": "sess_own_record",
            "expiresAt": DateTime::from_millis(1_701_000_000_000),
        },
    )
    .await;
    let at = ts(1_700_000_100_000);
    let successor = LiveRefreshToken {
        hash: TokenHash::new("ff02"),
        expires_at: ts(1_703_000_000_000),
    };
    let rotated = db.rotate("ff01", successor.clone(), at, "v1.s").await;
    let rotated = rotated_session(rotated).expect("rotated");
    assert_eq!(
        rotated.refresh_token,
        Some(LiveRefreshToken {
            expires_at: session.ends_at,
            ..successor.clone()
        })
    );
    assert_eq!(rotated.last_refreshed_at, Some(at));
    let record = db.token("ff01").await.unwrap();
    assert_eq!(record.used_at, Some(at));
    assert_eq!(record.sealed_successor.as_deref(), Some("v1.s"));
    // Once: the session now holds its live token.
    let again = db.rotate("ff01", successor, at, "v1.t").await;
    assert!(
        matches!(again, RotationOutcome::Refused(Some(ref s)) if s.id == session.id),
        "{again:?}"
    );
    db.drop_database().await;
}

#[tokio::test]
async fn sessions_known_only_from_tokens_of_the_earlier_shape_are_adopted_once_at_start_up() {
    let db = TestDb::with_indexes("adopt").await;
    let (user, organization) = db.put_token_owner("adopt@acme.example").await;
    let token =
        |digest: &str, session: &str, user: ObjectId, started: i64, expires: i64, revoked: Option<i64>| {
            doc! {
                "tokenHash": digest,
                "userId": user,
                "sessionId": session,
                "expiresAt": DateTime::from_millis(expires),
                "createdAt": DateTime::from_millis(started),
                "sessionStartedAt": DateTime::from_millis(started),
                "usedAt": Bson::Null,
                "revokedAt": revoked.map_or(Bson::Null, |at| Bson::DateTime(DateTime::from_millis(at))),
            }
        };
    let now = 1_700_000_000_000_i64;
    let later = now + 86_400_000;
    db.raw("refresh_tokens")
        .insert_many([
            // A live session with two tokens: it started with the earlier one.
            token("a1", "sess_live", user, now - 7_200_000, later, None),
            token("a2", "sess_live", user, now - 3_600_000, later, None),
            // A session revoked by a logout of the earlier shape.
            token(
                "b1",
                "sess_revoked",
                user,
                now - 3_600_000,
                later,
                Some(now - 60_000),
            ),
            // Expired, or of a user who is gone: nothing to keep alive.
            token("c1", "sess_expired", user, now - 7_200_000, now - 1, None),
            token("d1", "sess_orphan", ObjectId::new(), now - 3_600_000, later, None),
            // Current shape: never read here.
            doc! {"tokenHash": "e1", "sessionId": "sess_current", "expiresAt": DateTime::from_millis(later)},
        ])
        .await
        .unwrap();

    let lifetime = 30 * 86_400;
    assert_eq!(
        db.store.adopt_legacy_sessions(lifetime, ts(now)).await.unwrap(),
        2
    );
    let live = db.session("sess_live").await.unwrap();
    assert_eq!(
        live,
        conformance::started_session(
            "sess_live",
            user_id(user),
            org_id(organization),
            ts(now - 7_200_000),
            ts(now - 7_200_000 + lifetime * 1000),
        )
    );
    let revoked = db.session("sess_revoked").await.unwrap();
    assert_eq!(revoked.revoked_at, Some(ts(now - 60_000)));
    for gone in ["sess_expired", "sess_orphan", "sess_current"] {
        assert_eq!(
            db.store.find_session(&SessionId::new(gone)).await.unwrap(),
            None,
            "{gone}"
        );
    }
    // Again (the next start-up): nothing new, nothing changed.
    db.store
        .revoke(&live.id, ts(now + 1), RevokedReason::Logout)
        .await
        .unwrap();
    assert_eq!(
        db.store.adopt_legacy_sessions(lifetime, ts(now)).await.unwrap(),
        0
    );
    let after = db.store.find_session(&live.id).await.unwrap().unwrap();
    assert_eq!(after.revoked_reason, Some(RevokedReason::Logout));
    db.drop_database().await;
}

#[tokio::test]
async fn a_session_is_stored_under_its_id_with_the_documented_fields() {
    let db = TestDb::with_indexes("sessions_shape").await;
    let record = SessionRecord {
        refresh_token: Some(LiveRefreshToken {
            hash: TokenHash::new("ab01"),
            expires_at: ts(1_701_000_000_000),
        }),
        ..thirty_day_session("sess_shape")
    };
    let (user, org) = (
        ObjectId::from_bytes(record.user_id.bytes()),
        ObjectId::from_bytes(record.organization_id.bytes()),
    );
    db.store.start(record.clone()).await.unwrap();
    let rotated = db
        .rotate(
            "ab01",
            live_token("ab02", ts(1_701_000_050_000)),
            ts(1_700_000_050_000),
            "v1.sealed-ab02",
        )
        .await;
    let rotated = rotated_session(rotated).expect("rotated");
    assert_eq!(
        rotated.last_rotation,
        Some(Rotation {
            hash: TokenHash::new("ab01"),
            expires_at: ts(1_701_000_000_000),
            used_at: ts(1_700_000_050_000),
            sealed_successor: "v1.sealed-ab02".into(),
        })
    );
    db.store
        .revoke(&record.id, ts(1_700_000_100_000), RevokedReason::Reuse)
        .await
        .unwrap();
    let raw = db.stored("sessions", doc! {}).await;
    assert_eq!(
        raw,
        doc! {
            "_id": "sess_shape",
            "userId": user,
            "organizationId": org,
            "startedAt": DateTime::from_millis(1_700_000_000_000),
            "endsAt": DateTime::from_millis(1_702_592_000_000),
            "revokedAt": DateTime::from_millis(1_700_000_100_000),
            "revokedReason": "reuse",
            "lastRefreshedAt": DateTime::from_millis(1_700_000_050_000),
            "tokenHash": "ab02",
            "tokenExpiresAt": DateTime::from_millis(1_701_000_050_000),
            "rotatedTokenHash": "ab01",
            "rotatedTokenExpiresAt": DateTime::from_millis(1_701_000_000_000),
            "rotatedAt": DateTime::from_millis(1_700_000_050_000),
            "sealedSuccessor": "v1.sealed-ab02",
        }
    );
    db.drop_database().await;
}

#[tokio::test]
async fn a_session_stores_where_it_came_from_and_one_stored_before_reads_without_it() {
    let db = TestDb::with_indexes("sessions_origin").await;
    let record = SessionRecord {
        flow: Some(tether_domain::ProviderKey::from_static("sso")),
        client: tether_domain::ClientContext {
            ip_address: Some("203.0.113.7".to_owned()),
            user_agent: Some("Mozilla/5.0 (X11)".to_owned()),
        },
        ..thirty_day_session("sess_origin")
    };
    db.store.start(record.clone()).await.unwrap();
    let raw = db.stored("sessions", doc! {"_id": "sess_origin"}).await;
    assert_eq!(
        (raw.get_str("flow"), raw.get_str("ip"), raw.get_str("userAgent")),
        (Ok("sso"), Ok("203.0.113.7"), Ok("Mozilla/5.0 (X11)"))
    );
    assert_eq!(db.store.find_session(&record.id).await.unwrap(), Some(record));

    // Stored before: none of the three; a flow of a form no provider key takes.
    let earlier = thirty_day_session("sess_earlier");
    db.put(
        "sessions",
        doc! {
            "_id": "sess_earlier",
            "userId": ObjectId::from_bytes(earlier.user_id.bytes()),
            "organizationId": ObjectId::from_bytes(earlier.organization_id.bytes()),
            "startedAt": DateTime::from_millis(1_700_000_000_000),
            "endsAt": DateTime::from_millis(1_702_592_000_000),
            "revokedAt": Bson::Null, "revokedReason": Bson::Null, "lastRefreshedAt": Bson::Null,
        },
    )
    .await;
    assert_eq!(
        db.store.find_session(&earlier.id).await.unwrap(),
        Some(earlier.clone())
    );
    db.raw("sessions")
        .update_one(
            doc! {"_id": "sess_earlier"},
            doc! {"$set": {"flow": "SSO?", "ip": 7}},
        )
        .await
        .unwrap();
    assert_eq!(
        db.store.find_session(&earlier.id).await.unwrap(),
        Some(earlier),
        "an odd value is left out, the session still reads"
    );
    db.drop_database().await;
}

// ---- the port-conformance suites of tether-domain ------------------------------------

/// One test a suite: `name("tag") => |store| suite(...)`, the suite given the store of a
/// fresh, indexed database (dropped after).
macro_rules! port_contracts {
    ($($name:ident($tag:literal) => |$store:ident| $suite:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let db = TestDb::with_indexes($tag).await;
            let $store = &db.store;
            $suite.await;
            db.drop_database().await;
        }
    )*};
}

port_contracts! {
    the_mongodb_user_repository_keeps_the_port_contract("conf_users") => |store| conformance::user_repository(store, &SystemClock);
    the_mongodb_organization_repository_keeps_the_port_contract("conf_orgs") => |store| conformance::organization_repository(store, &SystemClock);
    the_mongodb_session_store_keeps_the_port_contract("conf_sessions") => |store| conformance::session_store(store, &SystemClock);
    the_mongodb_refresh_token_store_keeps_the_port_contract("conf_tokens") => |store| conformance::refresh_token_store(store, &SystemClock);
    the_mongodb_login_state_store_keeps_the_port_contract("conf_states") => |store| conformance::login_state_store(store, &SystemClock);
    the_mongodb_lifecycle_store_keeps_the_port_contract("conf_lifecycle") => |store| lifecycle::conformance::lifecycle_store(store, &SystemClock);
    the_mongodb_event_cursor_store_keeps_the_port_contract("conf_cursors") => |store| lifecycle::conformance::event_cursor_store(store, &SystemClock);
    the_mongodb_link_request_store_keeps_the_port_contract("conf_links") => |store| links::conformance::link_request_store(store, store, &SystemClock);
    the_mongodb_audit_store_keeps_the_port_contract("conf_audit") => |store| audit::conformance::audit_store(store, &SystemClock);
}

#[tokio::test]
async fn updating_session_settings_sets_the_nine_fields_and_updated_at_and_leaves_other_fields_alone() {
    let db = TestDb::with_indexes("org_update").await;
    let id = ObjectId::new();
    let created = DateTime::from_millis(1_600_000_000_000);
    db.put(
        "organizations",
        doc! {
            "_id": id, "name": "Acme", "createdAt": created, "updatedAt": created, "plan": "gold",
            "sessionSettings": { "idleTimeoutMinutes": 45, "somethingElse": true },
        },
    )
    .await;
    let settings = tether_domain::StoredSessionSettings::none()
        .with(SessionField::TokenExpiryHours, SettingValue::Number(2.0))
        .with(
            SessionField::SsoFallbackBehavior,
            SettingValue::Text("force-logout".into()),
        )
        .with(SessionField::IdleTrackingEnabled, SettingValue::Bool(false));
    let at = ts(1_700_000_000_000);

    let updated = db
        .store
        .update_session_settings(org_id(id), settings.clone(), at)
        .await
        .unwrap()
        .expect("the organization exists");
    assert_eq!(updated.id, org_id(id));
    assert_eq!(updated.name, "Acme");
    assert_eq!(updated.session_settings, settings);

    let raw = db.stored("organizations", doc! {"_id": id}).await;
    assert_eq!(raw.get_str("plan").unwrap(), "gold");
    assert_eq!(raw.get_datetime("createdAt").unwrap(), &created);
    assert_eq!(
        raw.get_datetime("updatedAt").unwrap(),
        &DateTime::from_millis(1_700_000_000_000)
    );
    let stored = raw.get_document("sessionSettings").unwrap();
    assert_eq!(
        stored,
        &doc! {
            "enabled": Bson::Null, "idleTimeoutMinutes": Bson::Null, "tokenExpiryHours": 2,
            "warningTimeMinutes": Bson::Null, "idleTrackingEnabled": false,
            "ssoSilentRenewalEnabled": Bson::Null, "ssoFallbackBehavior": "force-logout",
            "passwordSilentRenewalEnabled": Bson::Null, "passwordFallbackBehavior": Bson::Null,
        }
    );
    let read = OrganizationRepository::find_organization(&db.store, org_id(id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.session_settings, settings);

    let missing = ObjectId::new();
    assert!(
        db.store
            .update_session_settings(org_id(missing), settings, at)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(db.count("organizations").await, 1, "nothing upserted");
    db.drop_database().await;
}

// ---- offboarding: the lifecycle store and the event cursors ---------------------------

#[tokio::test]
async fn a_disablement_is_stored_with_who_when_and_why_and_other_fields_survive() {
    use tether_domain::{DisabledBy, Disablement, LifecycleStore};
    let db = TestDb::with_indexes("disablement").await;
    let other = doc! { "fullName": "Ada", "loginDisabled": false, "phone": "+1 555 0100" };
    let id = db.put_user("ada@acme.example", "SALES_REP", other).await;
    let disabled = db
        .store
        .disable_user(
            user_id(id),
            Disablement {
                by: DisabledBy::Event {
                    id: "event_01".to_owned(),
                    event_type: "user.deleted".to_owned(),
                },
                at: ts(1_700_000_000_000),
                reason: "identity_removed".to_owned(),
            },
        )
        .await
        .unwrap();
    assert!(disabled);
    let stored = db.stored("users", doc! {"_id": id}).await;
    assert!(stored.get_bool("loginDisabled").unwrap());
    assert_eq!(
        stored.get_document("disabledBy").unwrap(),
        &doc! {"event": "event_01", "type": "user.deleted"}
    );
    assert_eq!(stored.get_str("disabledReason").unwrap(), "identity_removed");
    assert_eq!(
        stored.get_datetime("disabledAt").unwrap(),
        &DateTime::from_millis(1_700_000_000_000)
    );
    assert_eq!(stored.get_str("phone").unwrap(), "+1 555 0100");
    assert!(
        db.store
            .enable_user_disabled_by_event(user_id(id), ts(1_700_000_001_000))
            .await
            .unwrap()
    );
    let stored = db.stored("users", doc! {"_id": id}).await;
    assert!(!stored.get_bool("loginDisabled").unwrap());
    assert!(stored.get("disabledBy").is_none() && stored.get("disabledAt").is_none());
    db.drop_database().await;
}

#[tokio::test]
async fn a_link_request_and_an_approved_link_are_stored_with_the_documented_fields_and_indexes() {
    use tether_domain::{AuditActor, LinkRequestStatus, LinkRequestStore, NewLinkRequest, SystemActor};
    let db = TestDb::with_indexes("links_shape").await;
    let org = db.organization;
    let user = db
        .insert_user("jane@links.example", SSO, "prof_old")
        .await
        .unwrap();
    let identity = linked(SSO, "prof_new", Some("conn_2"), Some("org_2"));
    let recorded = db
        .store
        .record_or_get_pending(NewLinkRequest {
            user_id: user.id,
            organization_id: org,
            identity: identity.clone(),
            email: Email::parse("jane@links.example").unwrap(),
            email_verified: None,
            requested_at: ts(1_700_000_000_000),
            expires_at: ts(1_700_604_800_000),
        })
        .await
        .unwrap();
    let stored = db.stored(tether_mongo::LINK_REQUESTS, doc! {}).await;
    assert_fields(
        &stored,
        doc! {
            "_id": oid(recorded.request.id.bytes()), "userId": oid(user.id.bytes()),
            "organizationId": oid(org.bytes()), "api": "sso", "workosId": "prof_new",
            "workosConnectionId": "conn_2", "workosOrganizationId": "org_2",
            "email": "jane@links.example", "status": "pending",
            "expiresAt": DateTime::from_millis(1_700_604_800_000),
        },
    );
    assert!(
        !stored.contains_key("emailVerified"),
        "absent when the provider said nothing"
    );
    db.store
        .decide(LinkDecision {
            id: recorded.request.id,
            status: LinkRequestStatus::Approved,
            by: AuditActor::System(SystemActor::Cli),
            at: ts(1_700_000_060_000),
        })
        .await
        .unwrap()
        .unwrap();
    let decided = db.stored(tether_mongo::LINK_REQUESTS, doc! {}).await;
    assert_eq!(decided.get_str("status").unwrap(), "approved");
    assert_eq!(
        decided.get_document("decidedBy").unwrap(),
        &doc! { "system": "cli" }
    );

    db.store
        .replace_link(user.id, identity, ts(1_700_000_060_000))
        .await
        .unwrap()
        .unwrap();
    let jane = db.stored_by_id("users", user.id.bytes()).await;
    assert_eq!(jane.get_str("workosProfileId").unwrap(), "prof_new");
    assert_eq!(
        jane.get_array(tether_mongo::PREVIOUS_WORKOS_IDS).unwrap(),
        &vec![Bson::Document(doc! {
            "api": "sso",
            "id": "prof_old",
            "replacedAt": DateTime::from_millis(1_700_000_060_000),
        })]
    );
    assert_eq!(
        jane.get_str("fullName").unwrap(),
        "Jane Doe",
        "other fields survive"
    );
    assert_eq!(
        jane.get_datetime("updatedAt").unwrap(),
        &DateTime::from_millis(1_700_000_060_000)
    );

    let indexes = db.indexes(tether_mongo::LINK_REQUESTS).await;
    let pending = indexes["pending_unique"].options.as_ref().unwrap();
    assert_eq!(pending.unique, Some(true));
    assert_eq!(
        pending.partial_filter_expression,
        Some(doc! { "status": "pending" })
    );
    assert_eq!(
        indexes["expiresAt_ttl"].options.as_ref().unwrap().expire_after,
        Some(Duration::from_secs(30 * 24 * 3600))
    );
    let names: Vec<&str> = indexes.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "_id_",
            "expiresAt_ttl",
            "organizationId_status_requestedAt",
            "pending_unique",
            "status_requestedAt"
        ]
    );
    db.drop_database().await;
}

// ---- the audit trail ------------------------------------------------------------------

#[tokio::test]
async fn an_audit_record_is_stored_in_the_documented_shape() {
    use tether_domain::{AuditActor, AuditEvent, AuditIds, AuditStore, AuditType, StoredAuditEvent};
    let db = TestDb::with_indexes("audit_shape").await;
    let user = ObjectId::parse_str("64a1b2c3d4e5f60000000001").unwrap();
    let organization = ObjectId::parse_str("64a1b2c3d4e5f600000000a1").unwrap();
    let at = ts(1_800_000_000_000);
    let login = audit::conformance::login_with_every_field(user_id(user), org_id(organization), at);
    let logout = AuditEvent::new(AuditType::SessionRevoked, AuditActor::User(user_id(user)), at).refused();
    let ids = AuditIds::new(1);
    let records: Vec<StoredAuditEvent> = [login, logout]
        .into_iter()
        .map(|event| StoredAuditEvent {
            id: ids.next(at),
            event,
        })
        .collect();
    db.store.append(&records).await.unwrap();
    let stored = db
        .stored(
            tether_mongo::AUDIT_EVENTS,
            doc! { "_id": ObjectId::from_bytes(records[0].id.bytes()) },
        )
        .await;
    assert_eq!(
        stored,
        doc! {
            "_id": ObjectId::from_bytes(records[0].id.bytes()),
            "at": DateTime::from_millis(1_800_000_000_000),
            "type": "login.succeeded",
            "actor": { "system": "service" },
            "outcome": "success",
            "userId": user,
            "organizationId": organization,
            "sessionId": "sess_conformance_1",
            "ip": "203.0.113.7",
            "userAgent": "Conformance/1.0",
            "requestId": "req-conformance-1",
            "detail": { "api": "sso", "rule": "matched_by_workos_id" },
        }
    );
    let stored = db
        .stored(
            tether_mongo::AUDIT_EVENTS,
            doc! { "_id": ObjectId::from_bytes(records[1].id.bytes()) },
        )
        .await;
    assert_eq!(stored.get_document("actor").unwrap(), &doc! { "userId": user });
    assert_eq!(stored.get_str("outcome").unwrap(), "refused");
    assert!(
        !stored.contains_key("ip") && !stored.contains_key("detail"),
        "absent values are not stored: {stored}"
    );
    db.drop_database().await;
}

#[tokio::test]
async fn the_audit_retention_is_the_ttl_of_at_and_a_changed_one_is_applied() {
    let db = TestDb::new("audit_ttl").await;
    let retaining = |days| db.store.clone().with_audit_retention(days);
    retaining(365).ensure_indexes().await.unwrap();
    let indexes = db.indexes(tether_mongo::AUDIT_EVENTS).await;
    assert_eq!(indexes["at_ttl"].keys, doc! { "at": 1 });
    assert_eq!(
        indexes["at_ttl"].options.as_ref().unwrap().expire_after,
        Some(Duration::from_secs(365 * 86_400))
    );
    for field in ["userId", "organizationId", "type"] {
        assert_eq!(indexes[&format!("{field}_id")].keys, doc! { field: 1, "_id": -1 });
    }
    retaining(30).ensure_indexes().await.unwrap();
    let indexes = db.indexes(tether_mongo::AUDIT_EVENTS).await;
    assert_eq!(
        indexes["at_ttl"].options.as_ref().unwrap().expire_after,
        Some(Duration::from_secs(30 * 86_400)),
        "a start with another AUDIT_RETENTION_DAYS changes the TTL"
    );
    db.drop_database().await;
}
