//! The `organizations` collection: [`OrganizationRepository`].
//!
//! `sessionSettings` is read leniently, as the domain requires (stored settings never
//! break a login): keys that name none of the nine fields are ignored, `null` is the
//! same as absent, and values keep their BSON kind ([`SettingValue`]) for the domain to
//! validate. A `sessionSettings` that is not a sub-document is ignored with a warning.
//!
//! A change of the settings `$set`s the whole `sessionSettings` sub-document (all nine
//! fields, `null` for those not set) and `updatedAt`; the organization's other fields
//! stay untouched.
//!
//! `workosOrganizationId` maps an organization to its WorkOS organization; a partial
//! unique index (on string values) lets at most one organization carry a given id,
//! and unmapping removes the field.

use async_trait::async_trait;
use mongodb::Collection;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;
use tether_domain::{
    NewOrganization, Organization, OrganizationId, OrganizationRepository, RepositoryError, SessionField,
    SettingValue, StoredSessionSettings, TenantId, Timestamp,
};

use crate::bson::{bson_date, object_id};
use crate::{MongoStore, ORGANIZATIONS};

/// `name`
const NAME: &str = "name";
/// `sessionSettings`: optional overrides of the session policy.
const SESSION_SETTINGS: &str = "sessionSettings";
/// `workosOrganizationId`: the WorkOS organization the organization is mapped to.
pub(crate) const WORKOS_ORGANIZATION_ID: &str = "workosOrganizationId";
/// The order of "oldest first": `{createdAt: 1, _id: 1}` (the `createdAt_id` index).
fn oldest_first() -> Document {
    doc! { "createdAt": 1, "_id": 1 }
}

impl MongoStore {
    fn organizations(&self) -> Collection<Document> {
        self.database().collection(ORGANIZATIONS)
    }
}

#[async_trait]
impl OrganizationRepository for MongoStore {
    async fn find_organization(&self, id: OrganizationId) -> Result<Option<Organization>, RepositoryError> {
        self.run(
            "organizations.find_one",
            self.organizations()
                .find_one(doc! { "_id": object_id(id.bytes()) }),
        )
        .await?
        .map(|d| organization_from_document(&d))
        .transpose()
    }

    /// One `find`: the mapped organization or the unmapped ones (`null` matches a
    /// missing field), sorted with a mapped one first (a string sorts after a missing
    /// field, so descending puts it first), then `{createdAt: 1, _id: 1}`. A document
    /// without `createdAt` sorts first among the unmapped, as MongoDB orders a missing
    /// field.
    async fn mapped_or_oldest_unmapped<'a>(
        &self,
        tenant: Option<&'a TenantId>,
    ) -> Result<Option<Organization>, RepositoryError> {
        let unmapped = doc! { WORKOS_ORGANIZATION_ID: Bson::Null };
        let (filter, sort) = match tenant {
            Some(workos) => (
                doc! { "$or": [ { WORKOS_ORGANIZATION_ID: workos.as_str() }, unmapped ] },
                doc! { WORKOS_ORGANIZATION_ID: -1, "createdAt": 1, "_id": 1 },
            ),
            None => (unmapped, oldest_first()),
        };
        self.run(
            "organizations.find_for_new_member",
            self.organizations().find_one(filter).sort(sort),
        )
        .await?
        .map(|d| organization_from_document(&d))
        .transpose()
    }

    async fn find_by_tenant(&self, tenant: &TenantId) -> Result<Option<Organization>, RepositoryError> {
        self.run(
            "organizations.find_by_tenant",
            self.organizations()
                .find_one(doc! { WORKOS_ORGANIZATION_ID: tenant.as_str() }),
        )
        .await?
        .map(|d| organization_from_document(&d))
        .transpose()
    }

    async fn list(&self) -> Result<Vec<Organization>, RepositoryError> {
        use futures_util::TryStreamExt;
        let cursor = self
            .run(
                "organizations.find_all",
                self.organizations().find(doc! {}).sort(oldest_first()),
            )
            .await?;
        let documents: Vec<Document> = self.run("organizations.read_all", cursor.try_collect()).await?;
        documents.iter().map(organization_from_document).collect()
    }

    async fn create(&self, new: NewOrganization) -> Result<Organization, RepositoryError> {
        let id = ObjectId::new();
        let at = bson_date(new.created_at);
        let mut document = doc! { "_id": id, NAME: &new.name, "createdAt": at, "updatedAt": at };
        if let Some(workos) = &new.tenant {
            document.insert(WORKOS_ORGANIZATION_ID, workos.as_str());
        }
        self.run(
            "organizations.insert_one",
            self.organizations().insert_one(document),
        )
        .await?;
        Ok(Organization {
            id: OrganizationId::from_bytes(id.bytes()),
            name: new.name,
            session_settings: StoredSessionSettings::none(),
            tenant: new.tenant,
        })
    }

    /// One `find_one_and_update` (`$set` or `$unset` of the field, `$set` of
    /// `updatedAt`); the unique index refuses a WorkOS id another organization carries.
    async fn set_tenant(
        &self,
        id: OrganizationId,
        tenant: Option<TenantId>,
        at: Timestamp,
    ) -> Result<Option<Organization>, RepositoryError> {
        let update = match &tenant {
            Some(workos) => {
                doc! { "$set": { WORKOS_ORGANIZATION_ID: workos.as_str(), "updatedAt": bson_date(at) } }
            }
            None => doc! { "$unset": { WORKOS_ORGANIZATION_ID: "" }, "$set": { "updatedAt": bson_date(at) } },
        };
        self.run(
            "organizations.set_tenant",
            self.organizations()
                .find_one_and_update(doc! { "_id": object_id(id.bytes()) }, update)
                .return_document(ReturnDocument::After),
        )
        .await?
        .map(|d| organization_from_document(&d))
        .transpose()
    }

    /// `find_one_and_update({_id}, {$set: {sessionSettings: {nine fields}, updatedAt}})`,
    /// returning the document after the update.
    async fn update_session_settings(
        &self,
        id: OrganizationId,
        settings: StoredSessionSettings,
        at: Timestamp,
    ) -> Result<Option<Organization>, RepositoryError> {
        let organizations = self.organizations();
        let update = organizations
            .find_one_and_update(
                doc! { "_id": object_id(id.bytes()) },
                doc! { "$set": {
                    SESSION_SETTINGS: session_settings_document(&settings),
                    "updatedAt": bson_date(at),
                } },
            )
            .return_document(ReturnDocument::After);
        self.run("organizations.find_one_and_update", update)
            .await?
            .map(|d| organization_from_document(&d))
            .transpose()
    }
}

/// The `sessionSettings` sub-document of `settings`: the nine fields in their documented
/// order, `null` where a field is not set. Whole numbers are stored as 32-bit integers,
/// as the product's own writes store them.
fn session_settings_document(settings: &StoredSessionSettings) -> Document {
    let mut document = Document::new();
    for field in SessionField::ALL {
        let value = match settings.get(field) {
            None | Some(SettingValue::Other(_)) => Bson::Null,
            Some(SettingValue::Bool(b)) => Bson::Boolean(*b),
            Some(SettingValue::Number(n))
                if n.fract() == 0.0 && *n >= f64::from(i32::MIN) && *n <= f64::from(i32::MAX) =>
            {
                // Whole and in range, so the conversion is exact.
                Bson::Int32(*n as i32)
            }
            Some(SettingValue::Number(n)) => Bson::Double(*n),
            Some(SettingValue::Text(t)) => Bson::String(t.clone()),
        };
        document.insert(field.name(), value);
    }
    document
}

/// Reads an organization document.
pub(crate) fn organization_from_document(document: &Document) -> Result<Organization, RepositoryError> {
    let Some(Bson::ObjectId(oid)) = document.get("_id") else {
        return Err(RepositoryError::Unexpected(
            "an organizations document has an `_id` that is not an ObjectId".into(),
        ));
    };
    let id = OrganizationId::from_bytes(oid.bytes());
    let name = match document.get(NAME) {
        None | Some(Bson::Null) => String::new(),
        Some(Bson::String(s)) => s.clone(),
        Some(_) => {
            return Err(RepositoryError::Unexpected(format!(
                "organizations document {id}: field `{NAME}` is not a string"
            )));
        }
    };
    let session_settings = match document.get(SESSION_SETTINGS) {
        None | Some(Bson::Null) => StoredSessionSettings::none(),
        Some(Bson::Document(settings)) => session_settings_from_document(settings),
        Some(other) => {
            tracing::warn!(
                organization_id = %id,
                kind = bson_type_name(other),
                "sessionSettings is not a document; the global defaults apply"
            );
            StoredSessionSettings::none()
        }
    };
    let tenant = match document.get(WORKOS_ORGANIZATION_ID) {
        None | Some(Bson::Null) => None,
        Some(Bson::String(raw)) => match TenantId::parse(raw) {
            Ok(workos) => Some(workos),
            Err(_) => {
                // A mapping that is not a WorkOS id can vouch for no one: treated as absent.
                tracing::warn!(organization_id = %id, "workosOrganizationId is not a tenant id; ignored");
                None
            }
        },
        Some(other) => {
            tracing::warn!(organization_id = %id, kind = bson_type_name(other), "workosOrganizationId is not a string; ignored");
            None
        }
    };
    Ok(Organization {
        id,
        name,
        session_settings,
        tenant,
    })
}

/// The known fields of a `sessionSettings` sub-document, unvalidated.
fn session_settings_from_document(settings: &Document) -> StoredSessionSettings {
    let mut stored = StoredSessionSettings::none();
    for (key, value) in settings {
        let Some(field) = SessionField::from_name(key) else {
            continue;
        };
        let value = match value {
            Bson::Null => None,
            Bson::Boolean(b) => Some(SettingValue::Bool(*b)),
            Bson::Int32(n) => Some(SettingValue::Number(f64::from(*n))),
            // Settings are small numbers; any precision lost above 2^53 is out of bounds anyway.
            Bson::Int64(n) => Some(SettingValue::Number(*n as f64)),
            Bson::Double(n) => Some(SettingValue::Number(*n)),
            Bson::String(s) => Some(SettingValue::Text(s.clone())),
            other => Some(SettingValue::Other(bson_type_name(other))),
        };
        stored.set(field, value);
    }
    stored
}

/// The name of a BSON value's type, as MongoDB's `$type` aliases spell it.
fn bson_type_name(value: &Bson) -> &'static str {
    match value {
        Bson::Double(_) => "double",
        Bson::String(_) => "string",
        Bson::Array(_) => "array",
        Bson::Document(_) => "object",
        Bson::Boolean(_) => "bool",
        Bson::Null => "null",
        Bson::RegularExpression(_) => "regex",
        Bson::JavaScriptCode(_) => "javascript",
        Bson::JavaScriptCodeWithScope(_) => "javascriptWithScope",
        Bson::Int32(_) => "int",
        Bson::Int64(_) => "long",
        Bson::Timestamp(_) => "timestamp",
        Bson::Binary(_) => "binData",
        Bson::ObjectId(_) => "objectId",
        Bson::DateTime(_) => "date",
        Bson::Symbol(_) => "symbol",
        Bson::Decimal128(_) => "decimal",
        Bson::Undefined => "undefined",
        Bson::MaxKey => "maxKey",
        Bson::MinKey => "minKey",
        Bson::DbPointer(_) => "dbPointer",
    }
}

#[cfg(test)]
mod tests {
    use mongodb::bson::oid::ObjectId;

    use super::*;

    #[test]
    fn session_settings_keep_their_kind_and_skip_unknown_keys_and_nulls() {
        let d = doc! {
            "_id": ObjectId::new(),
            "name": "Acme",
            "sessionSettings": {
                "idleTimeoutMinutes": 45_i64,
                "warningTimeMinutes": Bson::Null,
                "ssoFallbackBehavior": "force-logout",
                "enabled": [1, 2],
                "somethingElse": true,
            },
        };
        let org = organization_from_document(&d).unwrap();
        let s = &org.session_settings;
        assert_eq!(
            s.get(SessionField::IdleTimeoutMinutes),
            Some(&SettingValue::Number(45.0))
        );
        assert_eq!(s.get(SessionField::WarningTimeMinutes), None);
        assert_eq!(
            s.get(SessionField::SsoFallbackBehavior),
            Some(&SettingValue::Text("force-logout".into()))
        );
        assert_eq!(s.get(SessionField::Enabled), Some(&SettingValue::Other("array")));
        assert_eq!(s.iter().count(), 3);
    }

    #[test]
    fn written_session_settings_carry_all_nine_fields_and_read_back_the_same() {
        let settings = StoredSessionSettings::none()
            .with(SessionField::IdleTimeoutMinutes, SettingValue::Number(15.0))
            .with(SessionField::Enabled, SettingValue::Bool(false))
            .with(
                SessionField::PasswordFallbackBehavior,
                SettingValue::Text("reauth-modal".into()),
            );
        let written = session_settings_document(&settings);
        let keys: Vec<&str> = written.keys().map(String::as_str).collect();
        let nine: Vec<&str> = SessionField::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(keys, nine);
        assert_eq!(written.get("idleTimeoutMinutes"), Some(&Bson::Int32(15)));
        assert_eq!(written.get("tokenExpiryHours"), Some(&Bson::Null));
        assert_eq!(session_settings_from_document(&written), settings);
    }

    #[test]
    fn session_settings_that_are_not_a_document_are_ignored() {
        let d = doc! { "_id": ObjectId::new(), "name": "Acme", "sessionSettings": "oops" };
        assert!(
            organization_from_document(&d)
                .unwrap()
                .session_settings
                .is_empty()
        );
    }
}
