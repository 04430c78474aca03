//! The commands of the `tether-auth` binary, parsed from its arguments with `clap`
//! (derive): `serve` (the default), `check-config`, `healthcheck`, `organizations
//! ...`, `events status|replay`, `link-requests list|approve|reject` and `keys generate`, plus `--help` and `--version`. Each command is one variant of [`Command`]
//! (a command with subcommands, one variant holding its own `Subcommand` enum), so a
//! new command is one more variant and one more arm in `main`. Exit codes are 0 (done),
//! 1 (a healthcheck or an organizations command that failed) and 2 (bad settings or
//! usage).

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use clap::{Parser, Subcommand};
use tether_domain::{OrganizationId, TenantId};
use tether_jwt::{KeyAlgorithm, KeyStatus};

use crate::settings::Settings;

/// The command line: one optional command (none serves).
#[derive(Debug, Parser)]
#[command(
    name = "tether-auth",
    version,
    about = "Completes WorkOS sign-in for Tether: serves the API, or runs one operator command.",
    after_help = "Settings come from the environment and the TOML file named by TETHER_CONFIG \
                  (see the README). Exit codes: 0 done, 1 a failed healthcheck or organizations \
                  command, 2 bad settings or usage."
)]
pub struct Cli {
    /// The command; none serves.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What the binary was asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Serve the API until SIGTERM (the default). Needs every setting.
    Serve,
    /// Validate every setting and print the effective ones, secrets redacted (exit 0, or 2 naming the bad one).
    CheckConfig,
    /// GET /ready of the service on HOST:PORT (exit 0 when ready, else 1). Reads only HOST and PORT.
    Healthcheck,
    /// List, create or map organizations in MONGODB_URI's database. Reads only the MONGODB_* settings.
    #[command(subcommand)]
    Organizations(OrganizationsCommand),
    /// Signing keys of access tokens. Reads no setting.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The WorkOS event stream in MONGODB_URI's database: its status, or a replay. Reads only the MONGODB_* settings.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Link requests of logins refused with ACCOUNT_LINK_REQUIRED: list, approve or reject them. Reads only the MONGODB_* settings.
    #[command(subcommand, name = "link-requests")]
    LinkRequests(LinkRequestsCommand),
}

/// `tether-auth link-requests ...`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum LinkRequestsCommand {
    /// Print the requests of a status, newest first.
    List {
        /// pending (the default), approved, rejected or expired.
        #[arg(long, value_name = "pending|approved|rejected|expired")]
        status: Option<String>,
        /// At most this many (1-200, default 50).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Approve a request: its WorkOS id is recorded on the user, who then signs in with it (exit 1 when another user carries it, or the request is not pending).
    Approve {
        /// The request's id (24 hexadecimal characters), as the 409 answer and the list give it.
        id: String,
    },
    /// Reject a request.
    Reject {
        /// The request's id.
        id: String,
    },
}

impl From<LinkRequestsCommand> for crate::links::Command {
    fn from(command: LinkRequestsCommand) -> Self {
        match command {
            LinkRequestsCommand::List { status, limit } => Self::List { status, limit },
            LinkRequestsCommand::Approve { id } => Self::Approve { id },
            LinkRequestsCommand::Reject { id } => Self::Reject { id },
        }
    }
}

/// `tether-auth events ...`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum EventsCommand {
    /// Print the cursor, the lease holder and the lag.
    Status,
    /// Start the stream over from a time (a backfill); events applied before are skipped.
    Replay {
        /// An RFC 3339 time, e.g. 2026-12-01T00:00:00Z.
        #[arg(long, value_name = "RFC 3339", value_parser = crate::events::parse_since)]
        since: tether_domain::Timestamp,
    },
}

impl From<EventsCommand> for crate::events::Command {
    fn from(command: EventsCommand) -> Self {
        match command {
            EventsCommand::Status => Self::Status,
            EventsCommand::Replay { since } => Self::Replay { since },
        }
    }
}

/// `tether-auth keys ...`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum KeysCommand {
    /// Print a new key as the JSON element to add to JWT_SIGNING_KEYS (private key included).
    Generate {
        /// EdDSA (Ed25519) or ES256 (P-256).
        #[arg(long, value_name = "EdDSA|ES256", value_parser = asymmetric_alg)]
        alg: KeyAlgorithm,
        /// The key id; default: the first 16 characters of its RFC 7638 thumbprint.
        #[arg(long)]
        kid: Option<String>,
        /// Its status: next (step 1 of a rotation), verify or active.
        #[arg(long, value_name = "next|verify|active", default_value = "next", value_parser = key_status)]
        status: KeyStatus,
    },
}

impl From<KeysCommand> for crate::keys::Command {
    fn from(command: KeysCommand) -> Self {
        let KeysCommand::Generate { alg, kid, status } = command;
        Self::Generate { alg, kid, status }
    }
}

fn asymmetric_alg(raw: &str) -> Result<KeyAlgorithm, String> {
    KeyAlgorithm::parse(raw)
        .filter(|alg| *alg != KeyAlgorithm::Hs256)
        .ok_or_else(|| format!("{raw:?}: EdDSA or ES256 (HS256 keys are shared secrets, not generated)"))
}

fn key_status(raw: &str) -> Result<KeyStatus, String> {
    KeyStatus::parse(raw).ok_or_else(|| format!("{raw:?}: next, verify or active"))
}

/// `tether-auth organizations ...`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum OrganizationsCommand {
    /// Every organization, oldest first, with its WorkOS mapping.
    List,
    /// Create an organization: the first one of a deployment where no SUPERADMIN exists yet.
    Create {
        /// Display name.
        #[arg(long, value_parser = organization_name)]
        name: String,
        /// The WorkOS organization to map it to.
        #[arg(long = "workos-organization", value_name = "org_...", value_parser = workos_organization)]
        workos_organization: Option<TenantId>,
    },
    /// Map an organization to its WorkOS organization, or unmap it with --none (exit 1 when another carries it).
    Map {
        /// The organization's id (24 hexadecimal characters).
        #[arg(value_parser = organization_id)]
        id: OrganizationId,
        /// The WorkOS organization.
        #[arg(
            value_name = "org_...",
            value_parser = workos_organization,
            required_unless_present = "none",
            conflicts_with = "none"
        )]
        workos_organization: Option<TenantId>,
        /// Unmap it.
        #[arg(long)]
        none: bool,
    },
}

impl From<OrganizationsCommand> for crate::organizations::Command {
    fn from(command: OrganizationsCommand) -> Self {
        match command {
            OrganizationsCommand::List => Self::List,
            OrganizationsCommand::Create {
                name,
                workos_organization,
            } => Self::Create {
                name,
                tenant: workos_organization,
            },
            OrganizationsCommand::Map {
                id,
                workos_organization,
                none: _,
            } => Self::Map {
                id,
                tenant: workos_organization,
            },
        }
    }
}

fn organization_name(raw: &str) -> Result<String, String> {
    Some(raw.trim().to_owned())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| "the name may not be empty".to_owned())
}

fn workos_organization(raw: &str) -> Result<TenantId, String> {
    tether_workos::organization_id(raw).map_err(|_| {
        format!("{raw:?} is not valid: expected a WorkOS organization id: org_ followed by 1 to 64 letters and digits")
    })
}

fn organization_id(raw: &str) -> Result<OrganizationId, String> {
    OrganizationId::parse(raw)
        .map_err(|_| format!("{raw:?} is not an organization id (24 hexadecimal characters)"))
}

impl Cli {
    /// Parses the program's arguments (the first is the program name). `Err` is
    /// clap's: `--help` and `--version` (print to stdout, exit 0) or a usage error
    /// (stderr, exit 2), as its `exit_code` says.
    pub fn parse_from_args<I, T>(args: I) -> Result<Command, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Ok(Cli::try_parse_from(args)?.command.unwrap_or(Command::Serve))
    }
}

/// `check-config`: the effective settings as `NAME=value` lines.
pub fn render_effective(settings: &Settings) -> String {
    let mut out = String::new();
    for (name, value) in settings.effective() {
        out.push_str(name);
        out.push('=');
        out.push_str(value);
        out.push('\n');
    }
    out
}

/// Where `healthcheck` connects: `HOST`, with a wildcard address replaced by loopback.
pub fn health_address(host: &str, port: u16) -> std::io::Result<SocketAddr> {
    let ip = match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Ok(IpAddr::V6(v6)) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        Ok(ip) => ip,
        Err(_) => {
            return (host, port)
                .to_socket_addrs()?
                .next()
                .ok_or_else(|| std::io::Error::other(format!("{host} has no address")));
        }
    };
    Ok(SocketAddr::new(ip, port))
}

/// `healthcheck`: one `GET /ready` over HTTP/1.1 with short time-outs; `Ok` when it
/// answers 200.
pub fn healthcheck(address: SocketAddr, timeout: Duration) -> Result<(), String> {
    let mut stream = TcpStream::connect_timeout(&address, timeout).map_err(|e| format!("{address}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET /ready HTTP/1.1\r\nHost: {address}\r\nUser-Agent: tether-auth-healthcheck\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("{address}: {e}"))?;
    let mut head = [0u8; 32];
    let mut read = 0;
    while read < 12 {
        let n = stream
            .read(&mut head[read..])
            .map_err(|e| format!("{address}: {e}"))?;
        if n == 0 {
            break;
        }
        read += n;
    }
    let status_line = String::from_utf8_lossy(&head[..read]);
    let status = status_line.split_whitespace().nth(1).unwrap_or("no answer");
    if status == "200" {
        Ok(())
    } else {
        Err(format!("{address}/ready answered {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, clap::Error> {
        Cli::parse_from_args(std::iter::once("tether-auth").chain(args.iter().copied()))
    }

    #[test]
    fn no_arguments_or_serve_serves() {
        assert_eq!(parse(&[]).unwrap(), Command::Serve);
        assert_eq!(parse(&["serve"]).unwrap(), Command::Serve);
    }

    #[test]
    fn commands_are_parsed_and_unknown_ones_refused() {
        assert_eq!(parse(&["check-config"]).unwrap(), Command::CheckConfig);
        assert_eq!(parse(&["healthcheck"]).unwrap(), Command::Healthcheck);
        let unknown = parse(&["chek-config"]).unwrap_err();
        assert_eq!(unknown.exit_code(), 2);
        assert!(unknown.to_string().contains("chek-config"), "{unknown}");
        assert_eq!(parse(&["serve", "now"]).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn help_and_version_exit_0_with_their_text() {
        for args in [&["--help"][..], &["-h"], &["help"], &["--version"], &["-V"]] {
            let e = parse(args).unwrap_err();
            assert_eq!(e.exit_code(), 0, "{args:?}");
        }
        let version = parse(&["--version"]).unwrap_err().to_string();
        assert_eq!(
            version.trim(),
            format!("tether-auth {}", env!("CARGO_PKG_VERSION"))
        );
        let help = parse(&["--help"]).unwrap_err().to_string();
        for command in ["serve", "check-config", "healthcheck", "organizations", "keys"] {
            assert!(help.contains(command), "{command} in {help}");
        }
    }

    #[test]
    fn the_link_requests_commands_parse_and_an_approval_needs_an_id() {
        use crate::links::Command as Links;
        let links = |args: &[&str]| match parse(args) {
            Ok(Command::LinkRequests(command)) => Ok(Links::from(command)),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e),
        };
        assert_eq!(
            links(&["link-requests", "list"]).unwrap(),
            Links::List {
                status: None,
                limit: None
            }
        );
        assert_eq!(
            links(&["link-requests", "list", "--status", "expired", "--limit", "5"]).unwrap(),
            Links::List {
                status: Some("expired".to_owned()),
                limit: Some(5)
            }
        );
        assert_eq!(
            links(&["link-requests", "approve", "6a1b2c3d4e5f600123456789"]).unwrap(),
            Links::Approve {
                id: "6a1b2c3d4e5f600123456789".to_owned()
            }
        );
        assert_eq!(
            links(&["link-requests", "reject", "x"]).unwrap(),
            Links::Reject { id: "x".to_owned() }
        );
        assert_eq!(links(&["link-requests", "approve"]).unwrap_err().exit_code(), 2);
        assert_eq!(
            links(&["link-requests", "list", "--limit", "many"])
                .unwrap_err()
                .exit_code(),
            2
        );
    }

    #[test]
    fn the_organizations_commands_parse_and_bad_input_is_refused() {
        use crate::organizations::Command as Org;
        let org = |args: &[&str]| match parse(&[&["organizations"][..], args].concat()) {
            Ok(Command::Organizations(command)) => Ok(Org::from(command)),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e),
        };
        assert_eq!(org(&["list"]).unwrap(), Org::List);
        assert_eq!(
            org(&["create", "--name", "Acme", "--workos-organization", "org_01ABC"]).unwrap(),
            Org::Create {
                name: "Acme".into(),
                tenant: Some(tether_workos::organization_id("org_01ABC").unwrap()),
            }
        );
        assert_eq!(
            org(&["map", "64a1b2c3d4e5f60012345678", "--none"]).unwrap(),
            Org::Map {
                id: OrganizationId::parse("64a1b2c3d4e5f60012345678").unwrap(),
                tenant: None,
            }
        );
        assert_eq!(
            org(&["map", "64a1b2c3d4e5f60012345678", "org_1"]).unwrap(),
            Org::Map {
                id: OrganizationId::parse("64a1b2c3d4e5f60012345678").unwrap(),
                tenant: Some(tether_workos::organization_id("org_1").unwrap()),
            }
        );
        for bad in [
            &["create"][..],
            &["create", "--name"],
            &["create", "--name", "  "],
            &["create", "--name", "A", "--workos-organization", "acme"],
            &["map", "nope", "org_1"],
            &["map", "64a1b2c3d4e5f60012345678"],
            &["map", "64a1b2c3d4e5f60012345678", "org_1", "--none"],
            &["rename"],
            &[],
        ] {
            let e = org(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad:?}: {e}");
        }
    }

    #[test]
    fn the_healthcheck_asks_loopback_for_a_wildcard_host() {
        assert_eq!(
            health_address("0.0.0.0", 3000).unwrap().to_string(),
            "127.0.0.1:3000"
        );
        assert_eq!(health_address("::", 3000).unwrap().to_string(), "[::1]:3000");
        assert_eq!(health_address("10.1.2.3", 80).unwrap().to_string(), "10.1.2.3:80");
    }

    #[test]
    fn keys_generate_takes_an_asymmetric_alg_and_defaults_to_next() {
        use crate::keys::Command as Keys;
        let keys = |args: &[&str]| match parse(&[&["keys", "generate"][..], args].concat()) {
            Ok(Command::Keys(command)) => Ok(Keys::from(command)),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e),
        };
        assert_eq!(
            keys(&["--alg", "ES256"]).unwrap(),
            Keys::Generate {
                alg: KeyAlgorithm::Es256,
                kid: None,
                status: KeyStatus::Next
            }
        );
        assert_eq!(
            keys(&["--alg", "EdDSA", "--kid", "k2", "--status", "active"]).unwrap(),
            Keys::Generate {
                alg: KeyAlgorithm::EdDsa,
                kid: Some("k2".into()),
                status: KeyStatus::Active
            }
        );
        for bad in [
            &[][..],
            &["--alg", "HS256"],
            &["--alg", "eddsa"],
            &["--alg", "EdDSA", "--status", "old"],
            &["--alg"],
        ] {
            assert_eq!(keys(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }
}
