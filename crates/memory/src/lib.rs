//! # tether-memory
//!
//! In-memory adapters of every tether-auth store port, held to the same port-conformance
//! suites as the MongoDB adapter.
//!
//! The service uses them as its embedded default when no `MONGODB_URI` is configured
//! (nothing survives a restart), and tests use them to swap out the database.

mod audit;
mod login_states;
mod store;

pub use audit::InMemoryAuditLog;
pub use login_states::InMemoryLoginStates;
pub use store::InMemoryStore;
