//! # tether-auth (the service)
//!
//! Settings ([`settings`], [`seed`]), the audit writer ([`audit`]), commands ([`cli`], [`organizations`], [`keys`], [`events`], [`links`]), telemetry
//! ([`telemetry`]), the metrics listener ([`metrics`]) and wiring ([`startup`]) of the
//! tether-auth binary. End-to-end tests build an [`Application`] on port 0.

pub mod audit;
pub mod cli;
pub mod events;
pub mod keys;
pub mod links;
pub mod metrics;
pub mod organizations;
mod origins;
pub mod seed;
pub mod settings;
mod settings_error;
pub mod startup;
pub mod telemetry;

pub use settings::Settings;
pub use startup::{Application, Overrides, StartError};
