//! `tether-auth keys generate --alg EdDSA|ES256 [--kid KID] [--status next|verify|active]`:
//! a new signing key, printed as the one JSON element to add to `JWT_SIGNING_KEYS`
//! (private key included, so print it only where the secret goes). It reads no setting;
//! `cli` parses its arguments. Exit codes: 0 done, 2 bad usage.

use tether_jwt::{KeyAlgorithm, KeyStatus};

/// One parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Generate a key.
    Generate {
        /// `EdDSA` or `ES256`.
        alg: KeyAlgorithm,
        /// The key id; `None` takes the first 16 characters of the thumbprint.
        kid: Option<String>,
        /// The status to add it with (default `next`: step 1 of a rotation).
        status: KeyStatus,
    },
}

/// Runs the command: the key's JSON element on one line.
pub fn run(command: Command) -> Result<String, String> {
    let Command::Generate { alg, kid, status } = command;
    let key = tether_jwt::generate(alg, kid, status).map_err(|e| e.to_string())?;
    serde_json::to_string(&key).map_err(|e| e.to_string())
}
