//! What the binary's test suites share: the binary under test with the settings of a
//! test run.

use std::process::{Command, Stdio};

/// The JWT secret of a test run.
pub const SECRET: &str = "app-test-secret-app-test-secret-0123";
/// The WorkOS API key of a test run: a secret, never to be printed.
pub const WORKOS_API_KEY: &str = "sk_test_app";
/// The WorkOS client id of a test run: not a secret.
pub const WORKOS_CLIENT_ID: &str = "client_app";

/// The binary with `PATH` and nothing else of the caller's environment, and valid
/// settings: the in-memory store on a free port, the test secret, WorkOS at a closed
/// port (nothing the run does reaches it), no metrics listener. Its input is closed.
pub fn configured() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tether-auth"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORT", "0")
        .env("STORE", "memory")
        .env("JWT_SECRET", SECRET)
        .env("WORKOS_API_KEY", WORKOS_API_KEY)
        .env("WORKOS_CLIENT_ID", WORKOS_CLIENT_ID)
        .env("WORKOS_BASE_URL", "http://127.0.0.1:9")
        .env("METRICS_PORT", "0")
        .stdin(Stdio::null());
    cmd
}
