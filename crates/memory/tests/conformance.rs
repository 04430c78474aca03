//! The in-memory adapters against the port-conformance suites of `tether-domain`, the
//! same suites the MongoDB adapter passes.

// Test code throughout, helpers too, for clippy's `allow-unwrap-in-tests`.
#![cfg(test)]

use tether_clock::SystemClock;
use tether_domain::{audit, conformance, lifecycle, links};
use tether_memory::{InMemoryAuditLog, InMemoryLoginStates, InMemoryStore};

/// One test a suite: `name: Store => |store| suite(...)`, the suite given a new empty store.
macro_rules! port_contracts {
    ($($name:ident: $store_type:ty => |$store:ident| $suite:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            let $store = &<$store_type>::new();
            $suite.await;
        }
    )*};
}

port_contracts! {
    the_in_memory_user_repository_keeps_the_port_contract: InMemoryStore => |store| conformance::user_repository(store, &SystemClock);
    the_in_memory_organization_repository_keeps_the_port_contract: InMemoryStore => |store| conformance::organization_repository(store, &SystemClock);
    the_in_memory_session_store_keeps_the_port_contract: InMemoryStore => |store| conformance::session_store(store, &SystemClock);
    the_in_memory_refresh_token_store_keeps_the_port_contract: InMemoryStore => |store| conformance::refresh_token_store(store, &SystemClock);
    the_in_memory_login_state_store_keeps_the_port_contract: InMemoryLoginStates => |store| conformance::login_state_store(store, &SystemClock);
    the_in_memory_lifecycle_store_keeps_the_port_contract: InMemoryStore => |store| lifecycle::conformance::lifecycle_store(store, &SystemClock);
    the_in_memory_event_cursor_store_keeps_the_port_contract: InMemoryStore => |store| lifecycle::conformance::event_cursor_store(store, &SystemClock);
    the_in_memory_link_request_store_keeps_the_port_contract: InMemoryStore => |store| links::conformance::link_request_store(store, store, &SystemClock);
    the_in_memory_audit_log_keeps_the_port_contract: InMemoryAuditLog => |store| audit::conformance::audit_store(store, &SystemClock);
}
