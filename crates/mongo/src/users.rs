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

use async_trait::async_trait;
use mongodb::Collection;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;
use tether_domain::{
    AccessRole, Email, Flow, NewUser, OrganizationId, RepositoryError, Timestamp, User, UserId,
    UserRepository, WorkosLink,
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
/// `workosUserId`: the AuthKit user id.
const WORKOS_USER_ID: &str = "workosUserId";
/// `workosProfileId`: the SSO profile id.
const WORKOS_PROFILE_ID: &str = "workosProfileId";
/// `workosConnectionId`: the SSO connection.
const WORKOS_CONNECTION_ID: &str = "workosConnectionId";
/// `workosOrganizationId`: the WorkOS organization.
const WORKOS_ORGANIZATION_ID: &str = "workosOrganizationId";
/// `createdAt`
const CREATED_AT: &str = "createdAt";
/// `updatedAt`
const UPDATED_AT: &str = "updatedAt";
/// `lastLoginAt`
const LAST_LOGIN_AT: &str = "lastLoginAt";

/// Value of `conversationOpenPreference` when a document lacks it.
const DEFAULT_CONVERSATION_OPEN_PREFERENCE: &str = "split";

/// The field holding the WorkOS id of `flow`.
const fn subject_field(flow: Flow) -> &'static str {
    match flow {
        Flow::Sso => WORKOS_PROFILE_ID,
        Flow::AuthKit => WORKOS_USER_ID,
    }
}

impl MongoStore {
    fn users(&self) -> Collection<Document> {
        self.database().collection(USERS)
    }

    async fn find_user(
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

    /// One `find_one_and_update` stamping the dates and, with `link`, filling in the
    /// WorkOS ids that are missing (`$ifNull` keeps a stored value).
    async fn stamp_login(
        &self,
        id: ObjectId,
        link: Option<&WorkosLink>,
        at: Timestamp,
    ) -> Result<Option<Document>, RepositoryError> {
        let at = bson_date(at);
        let mut set = doc! { LAST_LOGIN_AT: at, UPDATED_AT: at };
        if let Some(link) = link {
            let field = subject_field(link.flow);
            set.insert(field, if_missing(field, &link.subject));
            if let Some(connection) = &link.connection_id {
                set.insert(WORKOS_CONNECTION_ID, if_missing(WORKOS_CONNECTION_ID, connection));
            }
            if let Some(organization) = &link.organization_id {
                set.insert(
                    WORKOS_ORGANIZATION_ID,
                    if_missing(WORKOS_ORGANIZATION_ID, organization),
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
    async fn find_by_workos_subject(
        &self,
        flow: Flow,
        subject: &str,
    ) -> Result<Option<User>, RepositoryError> {
        self.find_user(doc! { subject_field(flow): subject }, false).await
    }

    /// Case-insensitive through the collation of the `email_ci_unique` index (English,
    /// strength 2), so the query uses that index and matches addresses the product stored
    /// in any case.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError> {
        self.find_user(doc! { EMAIL: email.as_str() }, true).await
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, RepositoryError> {
        self.find_user(doc! { "_id": object_id(id.bytes()) }, false).await
    }

    async fn insert(&self, user: NewUser) -> Result<User, RepositoryError> {
        let id = ObjectId::new();
        let at = bson_date(user.created_at);
        let link = &user.workos;
        let mut document = doc! {
            "_id": id,
            EMAIL: user.email.as_str(),
            FULL_NAME: &user.full_name,
            ORGANIZATION_ID: object_id(user.organization_id.bytes()),
            ACCESS_ROLE: user.access_role.as_str(),
            CONVERSATION_OPEN_PREFERENCE: &user.conversation_open_preference,
            LOGIN_DISABLED: false,
            EMAIL_VERIFIED: user.email_verified,
            subject_field(link.flow): &link.subject,
            CREATED_AT: at,
            UPDATED_AT: at,
            LAST_LOGIN_AT: at,
        };
        if let Some(connection) = &link.connection_id {
            document.insert(WORKOS_CONNECTION_ID, connection);
        }
        if let Some(organization) = &link.organization_id {
            document.insert(WORKOS_ORGANIZATION_ID, organization);
        }
        self.run("users.insert_one", self.users().insert_one(document))
            .await?;
        Ok(User {
            id: UserId::from_bytes(id.bytes()),
            workos_user_id: (link.flow == Flow::AuthKit).then(|| link.subject.clone()),
            workos_profile_id: (link.flow == Flow::Sso).then(|| link.subject.clone()),
            email: user.email,
            full_name: user.full_name,
            organization_id: user.organization_id,
            access_role: user.access_role,
            conversation_open_preference: user.conversation_open_preference,
            login_disabled: false,
            email_verified: Some(user.email_verified),
        })
    }

    /// A duplicate key while recording the link (another user carries that WorkOS id)
    /// is [`RepositoryError::Duplicate`]; the update was refused whole, so nothing
    /// was written.
    async fn record_login(
        &self,
        id: UserId,
        link: Option<WorkosLink>,
        at: Timestamp,
    ) -> Result<Option<User>, RepositoryError> {
        match self.stamp_login(object_id(id.bytes()), link.as_ref(), at).await {
            // Without a link no unique field changes: a duplicate would be a surprise.
            Err(RepositoryError::Duplicate) if link.is_none() => Err(RepositoryError::Unexpected(format!(
                "recording the login of user {id} hit a duplicate key"
            ))),
            Err(e) => Err(e),
            Ok(document) => document.map(|d| user_from_document(&d)).transpose(),
        }
    }

    /// One `find_one_and_update({<WorkOS id field>: subject, loginDisabled: {$ne: true}},
    /// {$set: {lastLoginAt, updatedAt}})`, answering the document as updated.
    async fn record_login_by_workos_subject(
        &self,
        flow: Flow,
        subject: &str,
        at: Timestamp,
    ) -> Result<Option<User>, RepositoryError> {
        let at = bson_date(at);
        self.run(
            "users.find_one_and_update",
            self.users()
                .find_one_and_update(
                    doc! { subject_field(flow): subject, LOGIN_DISABLED: { "$ne": true } },
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
    let workos_user_id = optional_string(document, WORKOS_USER_ID).map_err(|p| bad(WORKOS_USER_ID, p))?;
    let workos_profile_id =
        optional_string(document, WORKOS_PROFILE_ID).map_err(|p| bad(WORKOS_PROFILE_ID, p))?;
    Ok(User {
        id,
        email,
        full_name,
        organization_id,
        access_role,
        conversation_open_preference,
        login_disabled,
        workos_user_id,
        workos_profile_id,
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
        assert_eq!(user.workos_user_id, None);
        assert_eq!(user.workos_profile_id, None);
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
