//! `CORS_ALLOWED_ORIGINS`: the browser origins that may call the API. A comma-separated
//! list of `scheme://host[:port]`; default: the origin of `CLIENT_URL`. `*` is refused
//! (tokens must not be readable by any site), and so is anything that is not an origin
//! (a path, a query, user info, another scheme).

use crate::settings_error::SettingsError;

const KEY: &str = "CORS_ALLOWED_ORIGINS";

/// The origin (`scheme://host[:port]`) of an http(s) URL, lower-cased.
pub(crate) fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    Some(format!("{}://{}", scheme, authority).to_ascii_lowercase())
}

/// Validates one configured origin; a single trailing `/` is tolerated.
fn parse_origin(raw: &str) -> Result<String, SettingsError> {
    let value = raw.trim();
    if value.contains('*') {
        return Err(SettingsError {
            key: KEY.into(),
            message: "`*` is not allowed: list each origin (scheme://host[:port]) of the SPAs".into(),
        });
    }
    let value = value.strip_suffix('/').unwrap_or(value);
    let bad = || SettingsError {
        key: KEY.into(),
        message: format!(
            "{value:?} is not an origin: use scheme://host[:port], e.g. https://app.example.com"
        ),
    };
    let (scheme, authority) = value.split_once("://").ok_or_else(bad)?;
    if !matches!(scheme, "http" | "https") || authority.is_empty() {
        return Err(bad());
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => (host, Some(port)),
        _ => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok_and(|n| n > 0));
    if !host_ok || !port_ok {
        return Err(bad());
    }
    Ok(value.to_ascii_lowercase())
}

/// The allowed origins: the configured list, or the origin of `client_url` when empty.
pub(crate) fn allowed_origins(configured: &[String], client_url: &str) -> Result<Vec<String>, SettingsError> {
    let mut origins = Vec::new();
    for raw in configured.iter().filter(|o| !o.trim().is_empty()) {
        let origin = parse_origin(raw)?;
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    if origins.is_empty() {
        origins.push(origin_of(client_url).ok_or_else(|| SettingsError {
            key: "CLIENT_URL".into(),
            message: "has no origin".into(),
        })?);
    }
    Ok(origins)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_default_is_the_origin_of_the_client_url() {
        assert_eq!(
            allowed_origins(&[], "https://app.tether.example/some/path").unwrap(),
            ["https://app.tether.example"]
        );
        assert_eq!(
            allowed_origins(&[], "http://localhost:5173").unwrap(),
            ["http://localhost:5173"]
        );
    }

    #[test]
    fn configured_origins_replace_the_default() {
        let origins = allowed_origins(
            &list(&[
                "https://A.example",
                " http://localhost:5173/ ",
                "https://a.example",
            ]),
            "http://localhost:5173",
        )
        .unwrap();
        assert_eq!(origins, ["https://a.example", "http://localhost:5173"]);
    }

    #[test]
    fn a_wildcard_is_refused_naming_the_setting() {
        for bad in ["*", "https://*.example.com"] {
            let err = allowed_origins(&list(&[bad]), "http://localhost:5173").unwrap_err();
            assert_eq!(err.key, KEY);
            assert!(err.message.contains('*'), "{}", err.message);
        }
    }

    #[test]
    fn things_that_are_not_origins_are_refused() {
        for bad in [
            "app.example.com",
            "ftp://app.example.com",
            "https://",
            "https://app.example.com/path",
            "https://app.example.com?x=1",
            "https://user@app.example.com",
            "https://app.example.com:99999",
            "https://app.example.com:",
            "null",
        ] {
            let err = allowed_origins(&list(&[bad]), "http://localhost:5173").unwrap_err();
            assert_eq!(err.key, KEY, "{bad}");
        }
    }
}
