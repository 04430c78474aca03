//! An organization's session settings and WorkOS mapping (SUPERADMIN).

use std::collections::HashMap;

use serde::de::{MapAccess, SeqAccess};
use serde::{Deserialize, Serialize};
use tether_domain::{SessionConfig, SettingValue, SettingsPatch, TenantId};

use crate::SessionConfigBody;
use crate::json::{Discard, Kind, deserialize_any, drain_seq, forward_scalars};

/// Any subset of the nine session settings; `null` reverts one to the global default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "idleTimeoutMinutes": 60, "warningTimeMinutes": 5, "ssoFallbackBehavior": "reauth-button",
    "passwordFallbackBehavior": null
})))]
#[serde(rename_all = "camelCase")]
pub struct SessionSettingsPatchBody {
    pub enabled: Option<bool>,
    /// 1 – 1440.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1440))]
    pub idle_timeout_minutes: Option<u32>,
    /// 1 – 720.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 720))]
    pub token_expiry_hours: Option<u32>,
    /// 0 – less than `idleTimeoutMinutes`.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1439))]
    pub warning_time_minutes: Option<u32>,
    pub idle_tracking_enabled: Option<bool>,
    pub sso_silent_renewal_enabled: Option<bool>,
    /// `redirect`, `reauth-button` or `force-logout`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::sso_fallback_behavior_or_null))]
    pub sso_fallback_behavior: Option<String>,
    pub password_silent_renewal_enabled: Option<bool>,
    /// `logout`, `reauth-modal` or `force-logout`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::password_fallback_behavior_or_null))]
    pub password_fallback_behavior: Option<String>,
}

/// `PUT .../workos-organization`: map to a WorkOS organization, or unmap with `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"workosOrganizationId": "org_01JD8ZQ4N5TXKX0V3C8Y5Q2M7B"})))]
#[serde(rename_all = "camelCase")]
pub struct WorkosOrganizationBody {
    /// `org_` followed by 1 to 64 letters and digits, or `null` to unmap.
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, pattern = "^org_[A-Za-z0-9]{1,64}$")
    )]
    pub workos_organization_id: Option<String>,
}

/// `{"success": true, "message"?: ..., "data": {nine fields}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "success": true, "message": "Session settings updated",
    "data": {
        "enabled": true, "idleTimeoutMinutes": 60, "tokenExpiryHours": 8, "warningTimeMinutes": 5,
        "idleTrackingEnabled": true, "ssoSilentRenewalEnabled": true, "ssoFallbackBehavior": "reauth-button",
        "passwordSilentRenewalEnabled": false, "passwordFallbackBehavior": "logout"
    }
})))]
pub struct SettingsAnswer {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub data: SessionConfigBody,
}

impl SettingsAnswer {
    /// A successful answer with the resolved policy and an optional message.
    pub fn new(config: &SessionConfig, message: Option<&str>) -> Self {
        Self {
            success: true,
            message: message.map(str::to_owned),
            data: config.into(),
        }
    }
}

/// `{"success": true, "message"?: ..., "data": {"organizationId", "workosOrganizationId"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "success": true, "message": "WorkOS organization mapping updated",
    "data": {"organizationId": "64a1b2c3d4e5f60012345679", "workosOrganizationId": "org_01JD8ZQ4N5TXKX0V3C8Y5Q2M7B"}
})))]
pub struct MappingAnswer {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub data: MappingData,
}

impl MappingAnswer {
    /// A successful answer for the organization `organization_id` (lower-cased) and
    /// its mapping, with an optional message.
    pub fn new(organization_id: &str, mapping: Option<&TenantId>, message: Option<&str>) -> Self {
        Self {
            success: true,
            message: message.map(str::to_owned),
            data: MappingData {
                organization_id: organization_id.to_ascii_lowercase(),
                workos_organization_id: mapping.map(|m| m.as_str().to_owned()),
            },
        }
    }
}

/// An organization and the WorkOS organization it is mapped to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "organizationId": "64a1b2c3d4e5f60012345679", "workosOrganizationId": null
})))]
#[serde(rename_all = "camelCase")]
pub struct MappingData {
    /// The organization's id (24 hex characters).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{24}$"))]
    pub organization_id: String,
    /// The WorkOS organization (`org_...`), `null` when unmapped.
    #[cfg_attr(feature = "openapi", schema(pattern = "^org_[A-Za-z0-9]{1,64}$"))]
    pub workos_organization_id: Option<String>,
}

/// A `PUT .../session-settings` body as the service reads it: any JSON object, each
/// field kept by name with the kind of its value, so that the domain names every
/// refused field (an unknown name, a value of the wrong type) in one 400
/// `INVALID_SESSION_SETTINGS`. [`SessionSettingsPatchBody`] is the shape a client
/// sends; this is what the service accepts before the rules are applied.
///
/// ```
/// use tether_wire::SessionSettingsPatchInput;
///
/// let body: SessionSettingsPatchInput =
///     serde_json::from_str(r#"{"idleTimeoutMinutes": 15, "colour": [1], "enabled": null}"#).unwrap();
/// assert_eq!(body.into_patch().map(|patch| patch.is_empty()), Some(false));
/// let body: SessionSettingsPatchInput = serde_json::from_str("[1, 2]").unwrap();
/// assert!(body.into_patch().is_none(), "JSON, but not an object");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSettingsPatchInput(Option<Vec<(String, Option<SettingValue>)>>);

impl SessionSettingsPatchInput {
    /// The change the body asks for, in the order of the body (`null` clears a field; a
    /// later duplicate name wins, in the place of the first), or `None` when the body is
    /// not a JSON object.
    pub fn into_patch(self) -> Option<SettingsPatch> {
        self.0.map(SettingsPatch::new)
    }
}

deserialize_any!(
    SessionSettingsPatchInput,
    Option<Vec<(String, Option<SettingValue>)>>,
    Self,
    {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut fields: Vec<(String, Option<SettingValue>)> = Vec::new();
            let mut places = HashMap::new();
            while let Some(name) = map.next_key::<String>()? {
                let Kind(value) = map.next_value()?;
                match places.get(&name) {
                    Some(&place) => fields[place] = (name, value),
                    None => {
                        places.insert(name.clone(), fields.len());
                        fields.push((name, value));
                    }
                }
            }
            Ok(Some(fields))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq).map(|()| None)
        }
        forward_scalars!(|_| None);
    }
);

/// A `PUT .../workos-organization` body as the service reads it: any JSON, which asks
/// for a mapping only when it is exactly `{"workosOrganizationId": "..."}` or
/// `{"workosOrganizationId": null}` (whether the id is an `org_` id is the domain's
/// rule). [`WorkosOrganizationBody`] is the shape a client sends.
///
/// ```
/// use tether_wire::WorkosOrganizationInput;
///
/// let read = |json: &str| serde_json::from_str::<WorkosOrganizationInput>(json).unwrap();
/// assert_eq!(read(r#"{"workosOrganizationId": "org_1"}"#), WorkosOrganizationInput::Map("org_1".to_owned()));
/// assert_eq!(read(r#"{"workosOrganizationId": null}"#), WorkosOrganizationInput::Unmap);
/// assert_eq!(read(r#"{"workosOrganizationId": null, "other": 1}"#), WorkosOrganizationInput::Malformed);
/// assert_eq!(read("[]"), WorkosOrganizationInput::Malformed);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkosOrganizationInput {
    /// Map the organization to this WorkOS organization id (not yet checked).
    Map(String),
    /// Remove the mapping.
    Unmap,
    /// Anything else: not an object, another field, a value neither a string nor `null`.
    Malformed,
}

impl WorkosOrganizationInput {
    /// The requested mapping (`Some(None)` unmaps), or `None` when the body is malformed.
    pub fn mapping(&self) -> Option<Option<&str>> {
        match self {
            Self::Map(id) => Some(Some(id)),
            Self::Unmap => Some(None),
            Self::Malformed => None,
        }
    }
}

deserialize_any!(
    WorkosOrganizationInput,
    WorkosOrganizationInput,
    std::convert::identity,
    {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            // As a JSON object reads: a later duplicate name wins.
            let mut id = None;
            let mut others = false;
            while let Some(name) = map.next_key::<String>()? {
                if name == "workosOrganizationId" {
                    let Kind(value) = map.next_value()?;
                    id = Some(value);
                } else {
                    map.next_value::<Discard>()?;
                    others = true;
                }
            }
            Ok(match id {
                Some(Some(SettingValue::Text(id))) if !others => WorkosOrganizationInput::Map(id),
                Some(None) if !others => WorkosOrganizationInput::Unmap,
                _ => WorkosOrganizationInput::Malformed,
            })
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq).map(|()| WorkosOrganizationInput::Malformed)
        }
        forward_scalars!(|_| WorkosOrganizationInput::Malformed);
    }
);

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use tether_domain::{SettingValue, SettingsPatch};

    use super::{SessionSettingsPatchInput, WorkosOrganizationInput};

    /// The bodies the readers are held to: every shape, kind, duplicate and malformed
    /// value inside an accepted shape.
    const BODIES: &[&str] = &[
        "{}",
        "[]",
        "[1, 2]",
        "null",
        "true",
        "42",
        r#""text""#,
        r#"{"idleTimeoutMinutes": 15, "tokenExpiryHours": null, "enabled": true}"#,
        r#"{"idleTimeoutMinutes": -0, "warningTimeMinutes": 1.5, "tokenExpiryHours": 1e3}"#,
        r#"{"idleTimeoutMinutes": 18446744073709551616, "warningTimeMinutes": -9223372036854775809}"#,
        r#"{"colour": "blue", "enabled": "yes", "ssoFallbackBehavior": [1, {"a": null}]}"#,
        r#"{"enabled": {"nested": [true]}, "prompt": {}}"#,
        r#"{"enabled": true, "enabled": "yes"}"#,
        r#"{"enabled": "yes", "enabled": null}"#,
        r#"{"workosOrganizationId": "org_01JD8ZQ4N5TXKX0V3C8Y5Q2M7B"}"#,
        r#"{"workosOrganizationId": null}"#,
        r#"{"workosOrganizationId": "not-an-org"}"#,
        r#"{"workosOrganizationId": 42}"#,
        r#"{"workosOrganizationId": ["org_1"]}"#,
        r#"{"workosOrganizationId": {}}"#,
        r#"{"other": "org_1"}"#,
        r#"{"workosOrganizationId": null, "other": 1}"#,
        r#"{"workosOrganizationId": "org_a", "workosOrganizationId": null}"#,
        r#"{"workosOrganizationId": null, "workosOrganizationId": "org_b"}"#,
        r#"{"workosOrganizationId": "org_a", "workosOrganizationId": 1}"#,
        r#"{"a": 1, "a": 2}"#,
        r#"{"enabled": ["\ud800"]}"#,
        r#"{"enabled": {"\ud800": 1}}"#,
        r#"{"workosOrganizationId": "org_a", "x": "\ud800"}"#,
        r#"{"enabled": [1e400]}"#,
        "{\"enabled\": [\"\u{1}\"]}",
        r#"{"enabled": [1,]}"#,
        r#"{"enabled": true"#,
        r#"{"enabled": true} x"#,
        "",
    ];

    /// How the handler read a session-settings body before these types: through
    /// `serde_json::Value`.
    fn patch_through_value(body: &str) -> Result<Option<Entries>, ()> {
        let Value::Object(fields) = serde_json::from_str::<Value>(body).map_err(|_| ())? else {
            return Ok(None);
        };
        Ok(Some(sorted(fields.into_iter().map(|(name, value)| {
            let value = match value {
                Value::Null => None,
                Value::Bool(b) => Some(SettingValue::Bool(b)),
                Value::Number(n) => Some(SettingValue::Number(n.as_f64().unwrap_or(f64::NAN))),
                Value::String(s) => Some(SettingValue::Text(s)),
                Value::Array(_) => Some(SettingValue::Other("array")),
                Value::Object(_) => Some(SettingValue::Other("object")),
            };
            (name, value)
        }))))
    }

    type Entries = Vec<(String, Option<SettingValue>)>;

    /// The entries by name: the order of a `Value`'s object depends on serde_json's
    /// `preserve_order` feature (on in the service's build); the fields and values do not.
    fn sorted(entries: impl IntoIterator<Item = (String, Option<SettingValue>)>) -> Entries {
        let mut entries: Entries = entries.into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries
    }

    /// How the handler read a mapping body before these types.
    fn mapping_through_value(body: &str) -> Result<Option<Option<String>>, ()> {
        Ok(match serde_json::from_str::<Value>(body).map_err(|_| ())? {
            Value::Object(mut fields) if fields.len() == 1 => match fields.remove("workosOrganizationId") {
                Some(Value::String(s)) => Some(Some(s)),
                Some(Value::Null) => Some(None),
                _ => None,
            },
            _ => None,
        })
    }

    #[test]
    fn a_session_settings_body_reads_as_it_did_through_a_json_value() {
        for body in BODIES {
            let read = serde_json::from_str::<SessionSettingsPatchInput>(body)
                .map(|input| input.0.map(sorted))
                .map_err(|_| ());
            assert_eq!(read, patch_through_value(body), "{body}");
        }
    }

    #[test]
    fn a_session_settings_body_keeps_its_order_and_a_duplicate_its_first_place() {
        let read: SessionSettingsPatchInput =
            serde_json::from_str(r#"{"warningTimeMinutes": 1, "enabled": true, "warningTimeMinutes": null}"#)
                .unwrap();
        assert_eq!(
            read.into_patch(),
            Some(SettingsPatch::new([
                ("warningTimeMinutes".to_owned(), None),
                ("enabled".to_owned(), Some(SettingValue::Bool(true))),
            ]))
        );
    }

    #[test]
    fn a_mapping_body_reads_as_it_did_through_a_json_value() {
        for body in BODIES {
            let read = serde_json::from_str::<WorkosOrganizationInput>(body)
                .map(|input| input.mapping().map(|m| m.map(str::to_owned)))
                .map_err(|_| ());
            assert_eq!(read, mapping_through_value(body), "{body}");
        }
    }

    #[test]
    fn the_bodies_a_client_sends_read_as_what_they_ask() {
        let body = super::WorkosOrganizationBody {
            workos_organization_id: Some("org_1".to_owned()),
        };
        let read: WorkosOrganizationInput =
            serde_json::from_value(serde_json::to_value(&body).unwrap()).unwrap();
        assert_eq!(read, WorkosOrganizationInput::Map("org_1".to_owned()));
        let body = super::SessionSettingsPatchBody {
            idle_timeout_minutes: Some(15),
            ..Default::default()
        };
        let read: SessionSettingsPatchInput =
            serde_json::from_value(serde_json::to_value(&body).unwrap()).unwrap();
        let patch = read.into_patch().unwrap();
        let (_, config) = patch
            .apply_to(
                &tether_domain::StoredSessionSettings::none(),
                &tether_domain::SessionConfig::default(),
            )
            .unwrap();
        assert_eq!(config.fields().idle_timeout_minutes, 15);
    }
}
