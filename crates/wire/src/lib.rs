//! # tether-wire
//!
//! The wire contract of tether-auth: every request and response body with its
//! camelCase names (`refreshToken`, `sessionConfig`, `requestId`, ...), built from the
//! domain's values with `From`, and the query of the login start. It depends on `serde` and `tether-domain` only, so any
//! web framework can speak the contract; the `openapi` feature adds `utoipa::ToSchema`
//! to every body for an OpenAPI document.
//!
//! ```
//! use tether_wire::{AuthSessionBody, SessionConfigBody, UserBody};
//!
//! let body = AuthSessionBody {
//!     token: "eyJhbGciOiJIUzI1NiJ9.e30.sig".to_owned(),
//!     refresh_token: "rt_0123".to_owned(),
//!     session_config: SessionConfigBody {
//!         enabled: true,
//!         idle_timeout_minutes: 30,
//!         token_expiry_hours: 12,
//!         warning_time_minutes: 5,
//!         idle_tracking_enabled: true,
//!         sso_silent_renewal_enabled: true,
//!         sso_fallback_behavior: "redirect".to_owned(),
//!         password_silent_renewal_enabled: false,
//!         password_fallback_behavior: "logout".to_owned(),
//!     },
//!     user: UserBody {
//!         id: "64a1b2c3d4e5f60012345678".to_owned(),
//!         email: "ada@example.com".to_owned(),
//!         full_name: "Ada Lovelace".to_owned(),
//!         organization_id: "64a1b2c3d4e5f60012345679".to_owned(),
//!         access_role: "USER".to_owned(),
//!         conversation_open_preference: "last".to_owned(),
//!     },
//! };
//! let json = serde_json::to_value(&body).unwrap();
//! assert_eq!(json["refreshToken"], "rt_0123");
//! assert_eq!(json["sessionConfig"]["idleTimeoutMinutes"], 30);
//! assert_eq!(json["user"]["fullName"], "Ada Lovelace");
//! ```
//!
//! In a handler, the body comes from the domain's session:
//! `AuthSessionBody::from(&auth_session)`; a callback body becomes the use case's input
//! with `CallbackInput::from(body)`, the authorize query with `AuthorizeInput::from`.
//! The session-settings and WorkOS-organization bodies are read as the service accepts
//! them ([`SessionSettingsPatchInput`], [`WorkosOrganizationInput`]): any JSON, each value
//! kept by kind, so that the domain names every refused field; the `*Body` types are the
//! shapes a client sends.

mod administration;
mod audit;
mod error;
mod json;
mod links;
mod operations;
mod organizations;
#[cfg(feature = "openapi")]
pub mod schema;
mod session;

pub use administration::{
    LoginDisabledAnswer, LoginDisabledBody, RevokeOwnSessionsQuery, RevokedBody, SessionBody, SessionListBody,
};
pub use audit::{AuditActorBody, AuditEventBody, AuditEventsPage, AuditEventsQuery};
pub use error::{ErrorBody, PendingOrganizationBody};
pub use links::{DecidedByBody, LinkRequestBody, LinkRequestsBody, LinkRequestsQuery};
pub use operations::{
    AuthorizeQuery, AuthorizeUrlBody, HealthBody, JwkBody, JwksBody, LogoutBody, ReadyBody, TokenGoodBody,
};
pub use organizations::{MappingAnswer, MappingData, SessionSettingsPatchBody, SettingsAnswer};
pub use organizations::{SessionSettingsPatchInput, WorkosOrganizationBody, WorkosOrganizationInput};
pub use session::{
    AuthSessionBody, CallbackBody, EmailVerificationBody, OrganizationSelectionBody, RefreshTokenBody,
    SessionConfigBody, UserBody,
};
