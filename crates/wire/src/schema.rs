//! The closed sets and formats of the contract as OpenAPI schemas (feature `openapi`),
//! taken from the domain's own lists, so a role or behaviour added there shows in the
//! document: roles, session fallback behaviours, login flows, and the patterns of ids,
//! states and refresh tokens.

use tether_domain::{
    AccessRole, AuditOutcome, AuditType, PasswordFallbackBehavior, SsoFallbackBehavior, SystemActor,
};
use utoipa::openapi::Object;
use utoipa::openapi::schema::{ObjectBuilder, Type};

/// A local id: 24 hexadecimal characters (a MongoDB ObjectId), as answered.
pub const OBJECT_ID: &str = "^[0-9a-f]{24}$";
/// A local id as accepted (either case).
pub const OBJECT_ID_ANY_CASE: &str = "^[0-9a-fA-F]{24}$";
/// A login state of the SPA's own: 22–512 characters of `A-Z a-z 0-9 - _ . ~`.
pub const LOGIN_STATE: &str = "^[A-Za-z0-9._~-]{22,512}$";
/// A refresh token: `rt_` and 256 random bits, URL-safe base64 without padding.
pub const REFRESH_TOKEN: &str = "^rt_[A-Za-z0-9_-]{43}$";
/// A WorkOS organization id: `org_` and 1–64 letters and digits.
pub const WORKOS_ORGANIZATION_ID: &str = "^org_[A-Za-z0-9]{1,64}$";

fn strings(values: impl IntoIterator<Item = &'static str>, nullable: bool) -> Object {
    let kind = if nullable {
        utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null])
    } else {
        utoipa::openapi::schema::SchemaType::new(Type::String)
    };
    let mut values: Vec<Option<&str>> = values.into_iter().map(Some).collect();
    if nullable {
        values.push(None);
    }
    ObjectBuilder::new()
        .schema_type(kind)
        .enum_values(Some(values))
        .build()
}

/// `SUPERADMIN`, `ADMIN`, `DEPARTMENT_HEAD` or `SALES_REP`.
pub fn access_role() -> Object {
    strings(AccessRole::ALL.iter().map(AccessRole::as_str), false)
}

/// `redirect`, `reauth-button` or `force-logout`.
pub fn sso_fallback_behavior() -> Object {
    strings(
        SsoFallbackBehavior::ALL.iter().map(SsoFallbackBehavior::as_str),
        false,
    )
}

/// As [`sso_fallback_behavior`], or `null` (reverts to the default).
pub fn sso_fallback_behavior_or_null() -> Object {
    strings(
        SsoFallbackBehavior::ALL.iter().map(SsoFallbackBehavior::as_str),
        true,
    )
}

/// `logout`, `reauth-modal` or `force-logout`.
pub fn password_fallback_behavior() -> Object {
    strings(
        PasswordFallbackBehavior::ALL
            .iter()
            .map(PasswordFallbackBehavior::as_str),
        false,
    )
}

/// As [`password_fallback_behavior`], or `null` (reverts to the default).
pub fn password_fallback_behavior_or_null() -> Object {
    strings(
        PasswordFallbackBehavior::ALL
            .iter()
            .map(PasswordFallbackBehavior::as_str),
        true,
    )
}

/// `sso` or `authkit`.
pub fn flow() -> Object {
    strings(["sso", "authkit"], false)
}

/// As [`flow`], or `null` (not recorded).
pub fn flow_or_null() -> Object {
    strings(["sso", "authkit"], true)
}

/// `pending`, `approved`, `rejected` or `expired`.
pub fn link_request_status() -> Object {
    strings(
        tether_domain::LinkRequestStatus::ALL
            .iter()
            .map(tether_domain::LinkRequestStatus::as_str),
        false,
    )
}

/// The wire name of an audit record type (`login.succeeded`, ...).
pub fn audit_type() -> Object {
    strings(AuditType::ALL.iter().map(AuditType::as_str), false)
}

/// `success` or `refused`.
pub fn audit_outcome() -> Object {
    strings(
        [AuditOutcome::Success, AuditOutcome::Refused]
            .iter()
            .map(AuditOutcome::as_str),
        false,
    )
}

/// Who decided a link request: `{"userId": ...}` or `{"system": "cli"}`, or `null`.
pub fn decided_by() -> Object {
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::Object,
            Type::Null,
        ]))
        .property(
            "userId",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(OBJECT_ID)),
        )
        .property("system", strings(["cli"], false))
        .build()
}

/// `workos-events`, `cli` or `service`.
pub fn system_actor() -> Object {
    strings(SystemActor::ALL.iter().map(SystemActor::as_str), false)
}
