//! # tether-workos
//!
//! The [`IdentityProvider`](tether_domain::IdentityProvider) adapter over the WorkOS HTTP
//! API: it exchanges one-time codes with the SSO API (`POST /sso/token`) or the AuthKit
//! API (`POST /user_management/authenticate`) and reports failures with the documented
//! [`ExchangeError`](tether_domain::ExchangeError) variants.
//!
//! - [`WorkosConfig`]: base URL, client id, API key and time-outs.
//! - [`WorkosClient`]: the adapter; build it with [`WorkosClient::new`].
//! - [`WorkosBuildError`]: why a configuration was refused.
//! - [`SSO`], [`AUTHKIT`] and [`organization_id`]: WorkOS in the domain's words. Each
//!   API is a provider of its own (an SSO profile id and an AuthKit user id are
//!   subjects of two providers), a WorkOS organization is a tenant. A login asks for
//!   an API (`flow`), else goes to SSO when an organization, connection or domain hint
//!   names an enterprise connection, else to AuthKit (with PKCE); a code of a login
//!   started elsewhere is tried with SSO first, then AuthKit.
//!
//! After a 429 no request goes to the WorkOS API that answered it (SSO or AuthKit, each
//! its own window) until its `Retry-After` has passed (at most
//! [`WorkosConfig::backoff_max`], 60 s by default): exchanges in that window fail at once
//! as rate-limited, with the seconds left. An SSO profile's address is vouched for when
//! its domain is a verified domain of the profile's WorkOS organization (read with
//! `GET /organizations/{id}`, cached five minutes). Every exchange's duration is recorded as `tether_workos_exchange_seconds{api,
//! outcome}` through the `metrics` facade.
//!
//! Codes are single-use: a request is retried once only when the connection could not be
//! established, never after a time-out or once it may have reached WorkOS.

mod api;
mod backoff;
mod classify;
mod client;
mod config;
mod domains;
pub mod events;

pub use api::{AUTHKIT, SSO, organization_id};
pub use backoff::DEFAULT_MAX_WAIT as DEFAULT_BACKOFF_MAX;
pub use client::WorkosClient;
pub use config::{WorkosBuildError, WorkosConfig};
pub use events::{WebhookSignatures, WorkosEvents};
