//! The commands of the `tether-auth` binary, parsed from its arguments:
//! `serve` (the default), `check-config` and `healthcheck`. Each command is one arm of
//! [`Command`]; exit codes are 0 (done), 1 (a healthcheck that failed) and 2 (bad
//! settings or usage).

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::settings::Settings;

/// What the binary was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Serve until SIGTERM (no arguments, or `serve`).
    Serve,
    /// Validate every setting, print the effective ones with secrets redacted.
    CheckConfig,
    /// Ask the running service's `GET /ready` on `HOST:PORT`.
    Healthcheck,
    /// List, create or map organizations (`organizations ...`).
    Organizations(crate::organizations::Command),
    /// Generate a signing key (`keys generate ...`); reads no setting.
    Keys(crate::keys::Command),
    /// Print the usage.
    Help,
}

/// Arguments that name no command.
#[derive(Debug, thiserror::Error)]
#[error("{0}\n\n{USAGE}")]
pub struct UsageError(String);

/// The usage text.
pub const USAGE: &str = "\
usage: tether-auth [COMMAND]

commands:
  serve         serve the API (the default)
  check-config  validate the settings, print them with secrets redacted (exit 0, or 2)
  healthcheck   GET /ready of the service on HOST:PORT (exit 0 when ready, else 1)
  organizations list | create --name NAME [--workos-organization org_...] | map ID org_...|--none
                list, create or map organizations in MONGODB_URI's database (exit 0, 1 on a
                refusal or failure, 2 on bad usage)
  keys generate --alg EdDSA|ES256 [--kid KID] [--status next]
                print a new signing key as the JSON element to add to JWT_SIGNING_KEYS
                (reads no setting)
  help          print this text

Settings come from the environment and the TOML file named by TETHER_CONFIG.";

impl Command {
    /// Parses the arguments after the program name. Each command parses its own
    /// arguments (`rest`); a command that takes none refuses any.
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Self, UsageError> {
        let args: Vec<String> = args.into_iter().collect();
        let (name, rest) = match args.split_first() {
            Some((name, rest)) => (Some(name.as_str()), rest),
            None => (None, &[][..]),
        };
        match name {
            None | Some("serve") => without_arguments(Command::Serve, rest),
            Some("check-config") => without_arguments(Command::CheckConfig, rest),
            Some("healthcheck") => without_arguments(Command::Healthcheck, rest),
            Some("organizations") => crate::organizations::parse(rest)
                .map(Command::Organizations)
                .map_err(|e| UsageError(format!("organizations: {e}"))),
            Some("keys") => crate::keys::parse(rest)
                .map(Command::Keys)
                .map_err(|e| UsageError(format!("keys: {e}"))),
            Some("help" | "--help" | "-h") => without_arguments(Command::Help, rest),
            Some(other) => Err(UsageError(format!("unknown command `{other}`"))),
        }
    }
}

fn without_arguments(command: Command, rest: &[String]) -> Result<Command, UsageError> {
    match rest.first() {
        Some(extra) => Err(UsageError(format!("unexpected argument `{extra}`"))),
        None => Ok(command),
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

    fn parse(args: &[&str]) -> Result<Command, UsageError> {
        Command::parse(args.iter().map(|s| (*s).to_owned()))
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
        assert_eq!(parse(&["--help"]).unwrap(), Command::Help);
        assert!(
            parse(&["chek-config"])
                .unwrap_err()
                .to_string()
                .contains("chek-config")
        );
        assert!(parse(&["serve", "now"]).unwrap_err().to_string().contains("now"));
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
}
