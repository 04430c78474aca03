//! The `organizations` collection: [`OrganizationRepository`].
//!
//! `sessionSettings` is read leniently, as the domain requires (stored settings never
//! break a login): keys that name none of the nine fields are ignored, `null` is the
//! same as absent, and values keep their BSON kind ([`SettingValue`]) for the domain to
//! validate. A `sessionSettings` that is not a sub-document is ignored with a warning.

use async_trait::async_trait;
use mongodb::Collection;
use mongodb::bson::{Bson, Document, doc};
use tether_domain::{
    ObjectIdHex, Organization, OrganizationRepository, RepositoryError, SessionField, SettingValue,
    StoredSessionSettings,
};

use crate::error::map_driver_error;
use crate::users::object_id;
use crate::{MongoStore, ORGANIZATIONS};

/// `name`
const NAME: &str = "name";
/// `sessionSettings`: optional overrides of the session policy.
const SESSION_SETTINGS: &str = "sessionSettings";

impl MongoStore {
    fn organizations(&self) -> Collection<Document> {
        self.database().collection(ORGANIZATIONS)
    }
}

#[async_trait]
impl OrganizationRepository for MongoStore {
    async fn find_by_id(&self, id: ObjectIdHex) -> Result<Option<Organization>, RepositoryError> {
        self.organizations()
            .find_one(doc! { "_id": object_id(id) })
            .await
            .map_err(map_driver_error)?
            .map(|d| organization_from_document(&d))
            .transpose()
    }

    /// Sorted by `{createdAt: 1, _id: 1}` (the `createdAt_id` index), first one. A
    /// document without `createdAt` sorts first, as MongoDB orders a missing field.
    async fn oldest(&self) -> Result<Option<Organization>, RepositoryError> {
        self.organizations()
            .find_one(doc! {})
            .sort(doc! { "createdAt": 1, "_id": 1 })
            .await
            .map_err(map_driver_error)?
            .map(|d| organization_from_document(&d))
            .transpose()
    }
}

/// Reads an organization document.
pub(crate) fn organization_from_document(document: &Document) -> Result<Organization, RepositoryError> {
    let Some(Bson::ObjectId(oid)) = document.get("_id") else {
        return Err(RepositoryError::Unexpected(
            "an organizations document has an `_id` that is not an ObjectId".into(),
        ));
    };
    let id = ObjectIdHex::from_bytes(oid.bytes());
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
    Ok(Organization {
        id,
        name,
        session_settings,
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
