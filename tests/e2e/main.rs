//! End-to-end tests: the real service on port 0, driven over HTTP, against
//! SecantusDB (as MongoDB) and WorkOS's own emulator. `scripts/test.sh` starts the
//! peers and exports their addresses.

// Test code throughout, helpers too, for clippy's `allow-unwrap-in-tests`.
#![cfg(test)]

mod support;

mod administration;
mod audit;
mod authorize;
mod bounded;
mod browser;
mod callback;
mod commands;
mod cors;
mod double_post;
mod events;
mod keys;
mod link_requests;
mod openapi;
mod request_ids;
mod second_provider;
mod session;
mod steps;
mod trust;
