//! Unit tests of the use cases, with mockall mocks of the ports.

mod issuance;
mod login;
mod provisioning;
mod support;
