//! The `users` collection: [`UserRepository`] over documents the wider product shares.
//!
//! Documents are read leniently where the product may omit a field (a missing
//! `conversationOpenPreference` is `split`, a missing `fullName` is empty, a missing
//! `loginDisabled` is `false`) and strictly where a wrong value would be unsafe (a
//! missing or unknown `accessRole`, a malformed `email` or `organizationId` is an
//! [`RepositoryError::Unexpected`] naming the field and the user id, never the address).
//!
//! Writes never replace a document: `insert` creates a new one and `record_login` uses an
//! update pipeline of one `$set` stage, so the product's other fields (phone,
//! department, ...) survive untouched.
//!
//! Links are stored where the product has always kept them: the subject of provider
//! `authkit` in `workosUserId`, of `sso` in `workosProfileId`, an identity's connection
//! in `workosConnectionId` and its tenant in `workosOrganizationId`. A link of any
//! other provider goes to `identityLinks.<provider key>`, kept unique by an index this
//! store creates the first time it writes such a link.

use std::borrow::Cow;
use std::sync::PoisonError;

use async_trait::async_trait;
use mongodb::Collection;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;
use tether_domain::{
    AccessRole, Email, IdentityLink, LinkedIdentity, NewUser, OrganizationId, ProviderKey, RepositoryError,
    Timestamp, User, UserId, UserRepository,
};

use crate::bson::{bson_date, email_collation, object_id};
use crate::{MongoStore, USERS};

/// `email`: the address, lower-cased for users this service creates.
const EMAIL: &str = "email";
/// `fullName`
const FULL_NAME: &str = "fullName";
/// `organizationId` (ObjectId)
const ORGANIZATION_ID: &str = "organizationId";
/// `accessRole` (`SUPERADMIN`, `ADMIN`, `DEPARTMENT_HEAD`, `SALES_REP`)
const ACCESS_ROLE: &str = "accessRole";
/// `conversationOpenPreference`
const CONVERSATION_OPEN_PREFERENCE: &str = "conversationOpenPreference";
/// `loginDisabled` (missing = false)
const LOGIN_DISABLED: &str = "loginDisabled";
/// `emailVerified`: whether the identity that created the user had a vouched address.
const EMAIL_VERIFIED: &str = "emailVerified";
/// `workosUserId`: the subject of provider `authkit` (an AuthKit user id).
pub(crate) const WORKOS_USER_ID: &str = "workosUserId";
/// `workosProfileId`: the subject of provider `sso` (an SSO profile id).
pub(crate) const WORKOS_PROFILE_ID: &str = "workosProfileId";
/// `workosConnectionId`: the connection of the identity that linked the user.
const WORKOS_CONNECTION_ID: &str = "workosConnectionId";
/// `workosOrganizationId`: the tenant of the identity that linked the user.
const WORKOS_ORGANIZATION_ID: &str = "workosOrganizationId";
/// `identityLinks`: the subjects of other providers, by provider key.
const IDENTITY_LINKS: &str = "identityLinks";
/// `createdAt`
const CREATED_AT: &str = "createdAt";
/// `updatedAt`
const UPDATED_AT: &str = "updatedAt";
/// `lastLoginAt`
const LAST_LOGIN_AT: &str = "lastLoginAt";

/// Value of `conversationOpenPreference` when a document lacks it.
const DEFAULT_CONVERSATION_OPEN_PREFERENCE: &str = "split";

/// The field holding the subject of `provider` (see the module documentation).
pub(crate) fn subject_field(provider: &ProviderKey) -> Cow<'static, str> {
    match provider.as_str() {
        "authkit" => Cow::Borrowed(WORKOS_USER_ID),
        "sso" => Cow::Borrowed(WORKOS_PROFILE_ID),
        other => Cow::Owned(format!("{IDENTITY_LINKS}.{other}")),
    }
}

impl MongoStore {
    fn users(&self) -> Collection<Document> {
        self.database().collection(USERS)
    }

    async fn find_one_user(
        &self,
        filter: Document,
        case_insensitive: bool,
    ) -> Result<Option<User>, RepositoryError> {
        let users = self.users();
        let find = users.find_one(filter);
        let find = if case_insensitive {
            find.collation(email_collation())
        } else {
            find
        };
        self.run("users.find_one", find)
            .await?
            .map(|d| user_from_document(&d))
            .transpose()
    }

    /// Makes sure the unique index of a provider's links exists before a link of it
    /// is written: WorkOS's two APIs have theirs from [`MongoStore::ensure_indexes`];
    /// another provider's is created once per process (creating it again is a no-op).
    pub(crate) async fn ensure_link_index(&self, provider: &ProviderKey) -> Result<(), RepositoryError> {
        let field = subject_field(provider);
        if matches!(field, Cow::Borrowed(_)) {
            return Ok(());
        }
        let known = |indexes: &std::collections::HashSet<String>| indexes.contains(field.as_ref());
        if known(&self.link_indexes.lock().unwrap_or_else(PoisonError::into_inner)) {
            return Ok(());
        }
        self.run(
            "users.create_index",
            self.users()
                .create_index(crate::index_kinds::string_unique(&field)),
        )
        .await?;
        self.link_indexes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(field.into_owned());
        Ok(())
    }

    /// One `find_one_and_update` stamping the dates and, with `identity`, filling in
    /// the link, connection and tenant where missing (`$ifNull` keeps a stored value).
    async fn stamp_login(
        &self,
        id: ObjectId,
        identity: Option<&LinkedIdentity>,
        at: Timestamp,
    ) -> Result<Option<Document>, RepositoryError> {
        let at = bson_date(at);
        let mut set = doc! { LAST_LOGIN_AT: at, UPDATED_AT: at };
        if let Some(identity) = identity {
            self.ensure_link_index(&identity.link.provider).await?;
            let field = subject_field(&identity.link.provider);
            set.insert(field.as_ref(), if_missing(&field, &identity.link.subject));
            if let Some(connection) = &identity.connection {
                set.insert(WORKOS_CONNECTION_ID, if_missing(WORKOS_CONNECTION_ID, connection));
            }
            if let Some(tenant) = &identity.tenant {
                set.insert(
                    WORKOS_ORGANIZATION_ID,
                    if_missing(WORKOS_ORGANIZATION_ID, tenant.as_str()),
                );
            }
        }
        self.run(
            "users.find_one_and_update",
            self.users()
                .find_one_and_update(doc! { "_id": id }, vec![doc! { "$set": set }])
                .return_document(ReturnDocument::After),
        )
        .await
    }
}

/// An aggregation expression: the stored `field` unless it is missing or `null`, else
/// `value` (as a literal, so that a value starting with `$` is not read as a path).
fn if_missing(field: &str, value: &str) -> Document {
    doc! { "$ifNull": [format!("${field}"), { "$literal": value }] }
}

#[async_trait]
impl UserRepository for MongoStore {
    async fn find_by_link(&self, link: &IdentityLink) -> Result<Option<User>, RepositoryError> {
        self.find_one_user(doc! { subject_field(&link.provider): &link.subject }, false)
            .await
    }

    /// Case-insensitive through the collation of the `email_ci_unique` index (English,
    /// strength 2), so the query uses that index and matches addresses the product stored
    /// in any case.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError> {
        self.find_one_user(doc! { EMAIL: email.as_str() }, true).await
    }

    async fn find_user(&self, id: UserId) -> Result<Option<User>, RepositoryError> {
        self.find_one_user(doc! { "_id": object_id(id.bytes()) }, false)
            .await
    }

    async fn insert(&self, user: NewUser) -> Result<User, RepositoryError> {
        let id = ObjectId::new();
        let at = bson_date(user.created_at);
        let identity = &user.identity;
        self.ensure_link_index(&identity.link.provider).await?;
        let mut document = doc! {
            "_id": id,
            EMAIL: user.email.as_str(),
            FULL_NAME: &user.full_name,
            ORGANIZATION_ID: object_id(user.organization_id.bytes()),
            ACCESS_ROLE: user.access_role.as_str(),
            CONVERSATION_OPEN_PREFERENCE: &user.conversation_open_preference,
            LOGIN_DISABLED: false,
            EMAIL_VERIFIED: user.email_verified,
            CREATED_AT: at,
            UPDATED_AT: at,
            LAST_LOGIN_AT: at,
        };
        match subject_field(&identity.link.provider) {
            Cow::Borrowed(field) => {
                document.insert(field, &identity.link.subject);
            }
            Cow::Owned(_) => {
                document.insert(
                    IDENTITY_LINKS,
                    doc! { identity.link.provider.as_str(): &identity.link.subject },
                );
            }
        }
        if let Some(connection) = &identity.connection {
            document.insert(WORKOS_CONNECTION_ID, connection);
        }
        if let Some(tenant) = &identity.tenant {
            document.insert(WORKOS_ORGANIZATION_ID, tenant.as_str());
        }
        self.run("users.insert_one", self.users().insert_one(document))
            .await?;
        Ok(User {
            id: UserId::from_bytes(id.bytes()),
            links: vec![user.identity.link],
            email: user.email,
            full_name: user.full_name,
            organization_id: user.organization_id,
            access_role: user.access_role,
            conversation_open_preference: user.conversation_open_preference,
            login_disabled: false,
            email_verified: Some(user.email_verified),
        })
    }

    /// A duplicate key while recording the link (another user carries it) is
    /// [`RepositoryError::Duplicate`]; the update was refused whole, so nothing was
    /// written.
    async fn record_login(
        &self,
        id: UserId,
        identity: Option<LinkedIdentity>,
        at: Timestamp,
    ) -> Result<Option<User>, RepositoryError> {
        match self
            .stamp_login(object_id(id.bytes()), identity.as_ref(), at)
            .await
        {
            // Without a link no unique field changes: a duplicate would be a surprise.
            Err(RepositoryError::Duplicate) if identity.is_none() => Err(RepositoryError::Unexpected(
                format!("recording the login of user {id} hit a duplicate key"),
            )),
            Err(e) => Err(e),
            Ok(document) => document.map(|d| user_from_document(&d)).transpose(),
        }
    }

    /// One `find_one_and_update({<subject field>: subject, loginDisabled: {$ne: true}},
    /// {$set: {lastLoginAt, updatedAt}})`, answering the document as updated.
    async fn record_login_by_link(
        &self,
        link: &IdentityLink,
        at: Timestamp,
    ) -> Result<Option<User>, RepositoryError> {
        let at = bson_date(at);
        self.run(
            "users.find_one_and_update",
            self.users()
                .find_one_and_update(
                    doc! { subject_field(&link.provider): &link.subject, LOGIN_DISABLED: { "$ne": true } },
                    doc! { "$set": { LAST_LOGIN_AT: at, UPDATED_AT: at } },
                )
                .return_document(ReturnDocument::After),
        )
        .await?
        .map(|d| user_from_document(&d))
        .transpose()
    }
}

/// Reads a user document; see the module documentation for the leniency rules.
pub(crate) fn user_from_document(document: &Document) -> Result<User, RepositoryError> {
    let Some(Bson::ObjectId(oid)) = document.get("_id") else {
        return Err(RepositoryError::Unexpected(
            "a users document has an `_id` that is not an ObjectId".into(),
        ));
    };
    let id = UserId::from_bytes(oid.bytes());
    let bad = |field: &str, problem: &str| {
        RepositoryError::Unexpected(format!("users document {id}: field `{field}` {problem}"))
    };
    let email = match document.get(EMAIL) {
        Some(Bson::String(raw)) => {
            Email::parse(raw).map_err(|_| bad(EMAIL, "is not a valid e-mail address"))?
        }
        _ => return Err(bad(EMAIL, "is missing or not a string")),
    };
    let organization_id = match document.get(ORGANIZATION_ID) {
        Some(Bson::ObjectId(oid)) => OrganizationId::from_bytes(oid.bytes()),
        _ => return Err(bad(ORGANIZATION_ID, "is missing or not an ObjectId")),
    };
    let access_role = match document.get(ACCESS_ROLE) {
        Some(Bson::String(raw)) => {
            AccessRole::parse(raw).map_err(|_| bad(ACCESS_ROLE, "is not a known role"))?
        }
        _ => return Err(bad(ACCESS_ROLE, "is missing or not a string")),
    };
    let full_name = optional_string(document, FULL_NAME)
        .map_err(|p| bad(FULL_NAME, p))?
        .unwrap_or_default();
    let conversation_open_preference = optional_string(document, CONVERSATION_OPEN_PREFERENCE)
        .map_err(|p| bad(CONVERSATION_OPEN_PREFERENCE, p))?
        .unwrap_or_else(|| DEFAULT_CONVERSATION_OPEN_PREFERENCE.to_owned());
    let login_disabled = match document.get(LOGIN_DISABLED) {
        None | Some(Bson::Null) => false,
        Some(Bson::Boolean(b)) => *b,
        Some(_) => return Err(bad(LOGIN_DISABLED, "is not a boolean")),
    };
    let email_verified = match document.get(EMAIL_VERIFIED) {
        None | Some(Bson::Null) => None,
        Some(Bson::Boolean(b)) => Some(*b),
        Some(_) => return Err(bad(EMAIL_VERIFIED, "is not a boolean")),
    };
    let mut links = Vec::new();
    for (provider, field) in [("authkit", WORKOS_USER_ID), ("sso", WORKOS_PROFILE_ID)] {
        if let Some(subject) = optional_string(document, field).map_err(|p| bad(field, p))? {
            links.push(IdentityLink {
                provider: ProviderKey::from_static(provider),
                subject,
            });
        }
    }
    if let Some(Bson::Document(others)) = document.get(IDENTITY_LINKS) {
        for (key, subject) in others {
            match (ProviderKey::parse(key), subject) {
                (Ok(provider), Bson::String(subject)) => links.push(IdentityLink {
                    provider,
                    subject: subject.clone(),
                }),
                _ => tracing::warn!(user_id = %id, "an identityLinks entry is malformed; ignored"),
            }
        }
    }
    Ok(User {
        id,
        email,
        full_name,
        organization_id,
        access_role,
        conversation_open_preference,
        login_disabled,
        links,
        email_verified,
    })
}

/// A string field that may be missing or `null` (both `None`).
fn optional_string(document: &Document, field: &str) -> Result<Option<String>, &'static str> {
    match document.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err("is not a string"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Document {
        doc! {
            "_id": ObjectId::parse_str("64a1b2c3d4e5f60012345678").unwrap(),
            "email": "Jane@Example.com",
            "organizationId": ObjectId::parse_str("64a1b2c3d4e5f600aaaaaaaa").unwrap(),
            "accessRole": "ADMIN",
        }
    }

    #[test]
    fn missing_optional_fields_take_their_defaults() {
        let user = user_from_document(&valid()).unwrap();
        assert_eq!(user.email.as_str(), "jane@example.com");
        assert_eq!(user.full_name, "");
        assert_eq!(user.conversation_open_preference, "split");
        assert!(!user.login_disabled);
        assert!(user.links.is_empty());
    }

    #[test]
    fn a_malformed_email_names_the_field_and_the_id_but_not_the_value() {
        let mut d = valid();
        d.insert("email", "not an address at all");
        let RepositoryError::Unexpected(m) = user_from_document(&d).unwrap_err() else {
            panic!("expected Unexpected")
        };
        assert!(
            m.contains("`email`") && m.contains("64a1b2c3d4e5f60012345678"),
            "{m}"
        );
        assert!(!m.contains("not an address"), "{m}");
    }

    #[test]
    fn a_non_boolean_login_disabled_is_refused_rather_than_read_as_enabled() {
        let mut d = valid();
        d.insert("loginDisabled", "true");
        assert!(matches!(
            user_from_document(&d),
            Err(RepositoryError::Unexpected(_))
        ));
    }

    #[test]
    fn a_string_organization_id_is_refused() {
        let mut d = valid();
        d.insert("organizationId", "64a1b2c3d4e5f600aaaaaaaa");
        assert!(
            matches!(user_from_document(&d), Err(RepositoryError::Unexpected(m)) if m.contains("organizationId"))
        );
    }
}
