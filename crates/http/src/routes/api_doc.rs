//! What several routes document alike, said once: the error answers a route's
//! `responses(...)` names as sets beside the answers of its own, and the path
//! parameters its `params(...)` names. Each error answer is the JSON error body; the
//! document's modifier narrows its `code` to the codes its description names.

use std::collections::BTreeMap;

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, RefOr, Required, Response, ResponseBuilder, Type};
use utoipa::{IntoParams, IntoResponses};

/// A refused bearer access token.
const TOKEN_REFUSED: &str = "`MISSING_TOKEN`, `INVALID_TOKEN` (also: the user no longer exists), \
`TOKEN_EXPIRED`, `SESSION_REVOKED`, `LOGIN_DISABLED`";
/// The failure every use case shares.
const INTERNAL_ERROR: &str = "`INTERNAL_ERROR`";
/// The store did not answer.
const STORE_UNAVAILABLE: &str = "`STORE_UNAVAILABLE`";
/// The identity provider, or the store, is busy or down.
const UPSTREAM_BUSY: &str = "`UPSTREAM_RATE_LIMITED`, `STORE_UNAVAILABLE`";
/// The identity provider refused our credentials or did not answer.
const UPSTREAM_FAILED: &str = "`UPSTREAM_MISCONFIGURED`, `UPSTREAM_UNAVAILABLE`";
/// A caller neither SUPERADMIN nor ADMIN.
const NOT_AN_ADMINISTRATOR: &str = "`FORBIDDEN` (neither SUPERADMIN nor ADMIN)";
/// A caller who is not a SUPERADMIN.
const NOT_A_SUPERADMIN: &str = "`FORBIDDEN` (not a SUPERADMIN)";
/// An organization id no organization has.
const NO_SUCH_ORGANIZATION: &str = "`ORGANIZATION_NOT_FOUND`";
/// A body that did not arrive in time.
const BODY_TIMED_OUT: &str = "`REQUEST_TIMEOUT` (the body did not arrive within `REQUEST_BODY_TIMEOUT_MS`)";
/// A body over the JSON limit.
const BODY_TOO_LARGE: &str = "`PAYLOAD_TOO_LARGE`";
/// A body that is not JSON.
const BODY_NOT_JSON: &str = "`INVALID_REQUEST` (not JSON)";
/// A client over its rate.
const RATE_LIMITED: &str = "`RATE_LIMITED` (per client address; with `Retry-After`)";

/// The JSON error answers of `rows`, by status.
fn error_answers(rows: &[(u16, &str)]) -> BTreeMap<String, RefOr<Response>> {
    rows.iter()
        .map(|&(status, description)| {
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build();
            let answer = ResponseBuilder::new()
                .description(description)
                .content("application/json", content)
                .build();
            (status.to_string(), RefOr::T(answer))
        })
        .collect()
}

/// Declares each set as a type that `responses(...)` takes.
macro_rules! answer_sets {
    ($($(#[$doc:meta])* $set:ident => [$(($status:literal, $description:expr)),+ $(,)?];)+) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub(crate) struct $set;

        impl IntoResponses for $set {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                error_answers(&[$(($status, $description)),+])
            }
        }
    )+};
}

answer_sets! {
    /// A route behind a bearer access token: the token refused, and the shared failures.
    BearerErrors => [(401, TOKEN_REFUSED), (500, INTERNAL_ERROR), (503, STORE_UNAVAILABLE)];
    /// A route for a SUPERADMIN or an ADMIN (users, link requests, the audit trail).
    AdministratorErrors => [
        (401, TOKEN_REFUSED),
        (403, NOT_AN_ADMINISTRATOR),
        (500, INTERNAL_ERROR),
        (503, STORE_UNAVAILABLE),
    ];
    /// A route about one organization, for a SUPERADMIN.
    OrganizationErrors => [
        (401, TOKEN_REFUSED),
        (403, NOT_A_SUPERADMIN),
        (404, NO_SUCH_ORGANIZATION),
        (500, INTERNAL_ERROR),
        (503, STORE_UNAVAILABLE),
    ];
    /// A route without a caller whose only failures are the shared ones.
    StoreErrors => [(500, INTERNAL_ERROR), (503, STORE_UNAVAILABLE)];
    /// A route that finishes a login with the identity provider.
    UpstreamErrors => [(500, INTERNAL_ERROR), (502, UPSTREAM_FAILED), (503, UPSTREAM_BUSY)];
    /// A route that reads a JSON body.
    JsonBodyErrors => [(408, BODY_TIMED_OUT), (413, BODY_TOO_LARGE), (415, BODY_NOT_JSON)];
    /// A route under the per-client rate limit.
    RateLimited => [(429, RATE_LIMITED)];
}

/// The pattern of a store id: 24 hexadecimal characters.
const HEX_ID: &str = "^[0-9a-fA-F]{24}$";
/// The pattern of a session id.
const SESSION_ID: &str = "^[A-Za-z0-9._:-]{1,128}$";

/// The required string path parameters of `rows`: name, description and pattern.
fn path_params(rows: &[(&str, &str, &str)]) -> Vec<Parameter> {
    rows.iter()
        .map(|&(name, description, pattern)| {
            let schema = ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(pattern))
                .build();
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .description(Some(description))
                .required(Required::True)
                .schema(Some(schema))
                .build()
        })
        .collect()
}

/// Declares each set of path parameters as a type that `params(...)` takes.
macro_rules! path_param_sets {
    ($($(#[$doc:meta])* $set:ident => [$(($name:literal, $description:literal, $pattern:expr)),+ $(,)?];)+) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub(crate) struct $set;

        impl IntoParams for $set {
            fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
                path_params(&[$(($name, $description, $pattern)),+])
            }
        }
    )+};
}

path_param_sets! {
    /// `{organizationId}`.
    OrganizationIdPath => [("organizationId", "The organization's id (24 hex characters)", HEX_ID)];
    /// `{userId}`.
    UserIdPath => [("userId", "The user's id (24 hex characters)", HEX_ID)];
    /// `{sessionId}`, of the caller's own sessions.
    SessionIdPath => [("sessionId", "The session's id (`id` of the list)", SESSION_ID)];
    /// `{userId}` and `{sessionId}`, one session of a user.
    UserSessionPath => [
        ("userId", "The user's id (24 hex characters)", HEX_ID),
        ("sessionId", "The session's id (`id` of the list)", SESSION_ID),
    ];
    /// `{linkRequestId}`.
    LinkRequestIdPath => [("linkRequestId", "The link request's id (24 hex characters)", HEX_ID)];
}
