//! `tether-auth keys generate --alg EdDSA|ES256 [--kid KID] [--status next|verify|active]`:
//! a new signing key, printed as the one JSON element to add to `JWT_SIGNING_KEYS`
//! (private key included, so print it only where the secret goes). It reads no setting.
//! Exit codes: 0 done, 2 bad usage.

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

/// Parses the arguments after `keys`; the error is a message for the operator.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some((_, rest)) = args.split_first().filter(|(cmd, _)| *cmd == "generate") else {
        return Err("expected generate --alg EdDSA|ES256 [--kid KID] [--status next]".to_owned());
    };
    let mut alg = None;
    let mut kid = None;
    let mut status = KeyStatus::Next;
    let mut rest = rest.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--alg" => {
                alg = Some(
                    KeyAlgorithm::parse(value)
                        .filter(|a| *a != KeyAlgorithm::Hs256)
                        .ok_or_else(|| format!("--alg must be EdDSA or ES256, not {value:?}"))?,
                );
            }
            "--kid" => kid = Some(value.clone()),
            "--status" => {
                status = KeyStatus::parse(value)
                    .ok_or_else(|| format!("--status must be next, verify or active, not {value:?}"))?;
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(Command::Generate {
        alg: alg.ok_or("--alg EdDSA|ES256 is required")?,
        kid,
        status,
    })
}

/// Runs the command: the key's JSON element on one line.
pub fn run(command: Command) -> Result<String, String> {
    let Command::Generate { alg, kid, status } = command;
    let key = tether_jwt::generate(alg, kid, status).map_err(|e| e.to_string())?;
    serde_json::to_string(&key).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Command, String> {
        parse(&args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn generate_takes_an_asymmetric_alg_and_defaults_to_next() {
        assert_eq!(
            parse_args(&["generate", "--alg", "ES256"]).unwrap(),
            Command::Generate {
                alg: KeyAlgorithm::Es256,
                kid: None,
                status: KeyStatus::Next
            }
        );
        assert_eq!(
            parse_args(&["generate", "--alg", "EdDSA", "--kid", "k2", "--status", "active"]).unwrap(),
            Command::Generate {
                alg: KeyAlgorithm::EdDsa,
                kid: Some("k2".into()),
                status: KeyStatus::Active
            }
        );
        for bad in [
            &["generate"][..],
            &["generate", "--alg", "HS256"],
            &["generate", "--alg", "eddsa"],
            &["generate", "--alg", "EdDSA", "--status", "old"],
            &["generate", "--alg"],
            &["rotate"],
            &[],
        ] {
            assert!(parse_args(bad).is_err(), "{bad:?}");
        }
    }
}
