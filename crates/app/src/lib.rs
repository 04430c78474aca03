//! # tether-auth (the service)
//!
//! Settings ([`settings`]), telemetry ([`telemetry`]) and wiring ([`startup`]) of
//! the tether-auth binary. End-to-end tests build an [`Application`] on port 0.

mod origins;
pub mod settings;
pub mod startup;
pub mod telemetry;

pub use settings::Settings;
pub use startup::{Application, Overrides, StartError};
