//! The in-memory adapters against the port-conformance suites of `tether-domain`, the
//! same suites the MongoDB adapter passes.

// Test code throughout, helpers too, for clippy's `allow-unwrap-in-tests`.
#![cfg(test)]

use tether_clock::SystemClock;
use tether_domain::conformance;
use tether_memory::{InMemoryLoginStates, InMemoryStore};

#[tokio::test]
async fn the_in_memory_user_repository_keeps_the_port_contract() {
    conformance::user_repository(&InMemoryStore::new(), &SystemClock).await;
}

#[tokio::test]
async fn the_in_memory_organization_repository_keeps_the_port_contract() {
    conformance::organization_repository(&InMemoryStore::new(), &SystemClock).await;
}

#[tokio::test]
async fn the_in_memory_session_store_keeps_the_port_contract() {
    conformance::session_store(&InMemoryStore::new(), &SystemClock).await;
}

#[tokio::test]
async fn the_in_memory_refresh_token_store_keeps_the_port_contract() {
    conformance::refresh_token_store(&InMemoryStore::new(), &SystemClock).await;
}

#[tokio::test]
async fn the_in_memory_login_state_store_keeps_the_port_contract() {
    conformance::login_state_store(&InMemoryLoginStates::new(), &SystemClock).await;
}

#[tokio::test]
async fn the_in_memory_lifecycle_store_keeps_the_port_contract() {
    tether_domain::lifecycle::conformance::lifecycle_store(&InMemoryStore::new(), &SystemClock).await;
}

#[tokio::test]
async fn the_in_memory_event_cursor_store_keeps_the_port_contract() {
    tether_domain::lifecycle::conformance::event_cursor_store(&InMemoryStore::new(), &SystemClock).await;
}

#[tokio::test]
async fn the_in_memory_link_request_store_keeps_the_port_contract() {
    let store = InMemoryStore::new();
    tether_domain::links::conformance::link_request_store(&store, &store, &SystemClock).await;
}

#[tokio::test]
async fn the_in_memory_audit_log_keeps_the_port_contract() {
    tether_domain::audit::conformance::audit_store(&tether_memory::InMemoryAuditLog::new(), &SystemClock)
        .await;
}
