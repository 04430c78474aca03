//! The use cases over the in-memory stores: each test sets up a world, runs a use case
//! and checks what came of it (the answer, and what the stores hold afterwards).

// Test code throughout, helpers too, for clippy's `allow-unwrap-in-tests`.
#![cfg(test)]

mod administration;
mod audit;
mod links;
mod login;
mod props;
mod provisioning;
mod sessions;
mod settings;
mod support;
