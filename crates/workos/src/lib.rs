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
//!
//! Codes are single-use: a request is retried once only when the connection could not be
//! established, never after a time-out or once it may have reached WorkOS.

mod classify;
mod client;
mod config;

pub use client::WorkosClient;
pub use config::{WorkosBuildError, WorkosConfig};
