//! Unit tests of the use cases, with mockall mocks of the ports.

mod access;
mod issuance;
mod login;
mod org_settings;
mod props;
mod provisioning;
mod refresh;
mod services;
mod state;
mod support;
