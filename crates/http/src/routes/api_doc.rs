//! What several routes document alike, said once: the error answers a route's
//! `responses(...)` names as sets beside the answers of its own, and the path
//! parameters its `params(...)` names. Each error answer is the JSON error body; the
//! document's modifier narrows its `code` to the codes its description names.

use std::collections::BTreeMap;

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, RefOr, Required, Response, ResponseBuilder, Type};
use utoipa::{IntoParams, IntoResponses};

/// The status and description of one error answer.
type Row = (u16, &'static str);

/// A refused bearer access token.
const TOKEN: &[Row] = &[(
    401,
    "`MISSING_TOKEN`, `INVALID_TOKEN` (also: the user no longer exists), `TOKEN_EXPIRED`, \
`SESSION_REVOKED`, `LOGIN_DISABLED`",
)];
/// The failures every use case shares.
const STORE: &[Row] = &[(500, "`INTERNAL_ERROR`"), (503, "`STORE_UNAVAILABLE`")];
/// A caller neither SUPERADMIN nor ADMIN.
const ADMINISTRATORS: &[Row] = &[(403, "`FORBIDDEN` (neither SUPERADMIN nor ADMIN)")];
/// A JSON body refused before its fields are read.
const JSON_BODY: &[Row] = &[
    (
        408,
        "`REQUEST_TIMEOUT` (the body did not arrive within `REQUEST_BODY_TIMEOUT_MS`)",
    ),
    (413, "`PAYLOAD_TOO_LARGE`"),
    (415, "`INVALID_REQUEST` (not JSON)"),
];
/// The per-client rate limit.
const RATE: &[Row] = &[(429, "`RATE_LIMITED` (per client address; with `Retry-After`)")];
/// A login the identity provider, or the store, failed.
const UPSTREAM: &[Row] = &[
    (500, "`INTERNAL_ERROR`"),
    (502, "`UPSTREAM_MISCONFIGURED`, `UPSTREAM_UNAVAILABLE`"),
    (503, "`UPSTREAM_RATE_LIMITED`, `STORE_UNAVAILABLE`"),
];

/// The JSON error answers of `sets`, by status.
fn error_answers(sets: &[&[Row]]) -> BTreeMap<String, RefOr<Response>> {
    sets.iter()
        .flat_map(|rows| rows.iter())
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
    ($($(#[$doc:meta])* $set:ident => [$($rows:expr),+ $(,)?];)+) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub(crate) struct $set;

        impl IntoResponses for $set {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                error_answers(&[$($rows),+])
            }
        }
    )+};
}

answer_sets! {
    /// A route behind a bearer access token.
    BearerErrors => [TOKEN, STORE];
    /// A route for a SUPERADMIN or an ADMIN (users, link requests, the audit trail).
    AdministratorErrors => [TOKEN, ADMINISTRATORS, STORE];
    /// A route about one user's sessions, for a SUPERADMIN or their ADMIN.
    UserErrors => [
        TOKEN,
        ADMINISTRATORS,
        STORE,
        &[
            (400, "`INVALID_USER_ID`"),
            (404, "`USER_NOT_FOUND` (also: a user of another organization, for an ADMIN)"),
        ],
    ];
    /// A decision on one link request, for a SUPERADMIN or an ADMIN.
    LinkDecisionErrors => [
        TOKEN,
        ADMINISTRATORS,
        STORE,
        &[
            (400, "`INVALID_REQUEST` (not a link request id)"),
            (404, "`LINK_REQUEST_NOT_FOUND` (also: a request of another organization's user)"),
        ],
    ];
    /// A route about one organization, for a SUPERADMIN.
    OrganizationErrors => [
        TOKEN,
        STORE,
        &[(403, "`FORBIDDEN` (not a SUPERADMIN)"), (404, "`ORGANIZATION_NOT_FOUND`")],
    ];
    /// A route without a caller whose only failures are the shared ones.
    StoreErrors => [STORE];
    /// A route that reads a JSON body.
    JsonBodyErrors => [JSON_BODY];
    /// A route under the per-client rate limit.
    RateLimited => [RATE];
    /// A route without a caller that reads a JSON body, under the per-client rate limit.
    RateLimitedBodyErrors => [JSON_BODY, RATE, STORE];
    /// A route that finishes a login with the identity provider from a JSON body.
    LoginErrors => [JSON_BODY, RATE, UPSTREAM];
    /// A route that finishes a login's further step.
    StepErrors => [
        JSON_BODY,
        RATE,
        UPSTREAM,
        &[
            (400, "`INVALID_REQUEST` (a field missing or malformed)"),
            (409, "`ACCOUNT_LINK_REQUIRED`, `NO_ORGANIZATION`"),
        ],
    ];
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
