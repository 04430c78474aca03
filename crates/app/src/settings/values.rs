//! Parsers of single values that several sections share: secrets given as a value or a
//! file, URLs, time-outs, lists.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::SettingsError;

/// A secret given as a value (`NAME`) or as a file (`NAME_FILE`, e.g. a mounted
/// Kubernetes Secret), never both, and used exactly as given: a value with leading or
/// trailing white space is refused (not trimmed: other services using the raw value
/// would disagree with this one). A file's content is used as is, less one trailing
/// line break (`\n` or `\r\n`), as editors and `echo` write it; any other surrounding
/// white space in it is refused too.
pub(super) fn secret_from(
    name: &str,
    value: Option<String>,
    file: Option<PathBuf>,
) -> Result<Option<String>, SettingsError> {
    let file_name = format!("{name}_FILE");
    let exact = |key: &str, v: String| {
        if v.trim() == v {
            Ok(v)
        } else {
            Err(SettingsError::new(
                key,
                "has leading or trailing white space (a newline?); secrets are used exactly as given",
            ))
        }
    };
    match (value.filter(|v| !v.is_empty()), file) {
        (Some(_), Some(_)) => Err(SettingsError::new(
            name,
            format!("is set both as {name} and as {file_name}; set only one"),
        )),
        (value, None) => value.map(|v| exact(name, v)).transpose(),
        (None, Some(path)) => {
            let mut content = std::fs::read_to_string(&path).map_err(|e| {
                SettingsError::new(&file_name, format!("cannot read {}: {e}", path.display()))
            })?;
            if content.ends_with('\n') {
                content.pop();
                if content.ends_with('\r') {
                    content.pop();
                }
            }
            if content.is_empty() {
                return Err(SettingsError::new(
                    &file_name,
                    format!("{} is empty", path.display()),
                ));
            }
            exact(&file_name, content).map(Some)
        }
    }
}

/// A list given as a TOML array or as one comma-separated string (environment).
pub(super) fn string_or_list<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(s) => s.split(',').map(str::to_owned).collect(),
        OneOrMany::Many(v) => v,
    })
}

/// The value trimmed, `None` when it is empty.
pub(super) fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// An `http://` or `https://` URL with a host, without its trailing `/`.
pub(super) fn http_url(key: &str, value: &str) -> Result<String, SettingsError> {
    let trimmed = value.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| SettingsError::new(key, "must be an http:// or https:// URL"))?;
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        return Err(SettingsError::new(
            key,
            "must be an http:// or https:// URL with a host",
        ));
    }
    Ok(trimmed.to_owned())
}

/// A time-out of 1 to 120000 milliseconds.
pub(super) fn millis(key: &str, ms: u64) -> Result<Duration, SettingsError> {
    if ms == 0 || ms > 120_000 {
        return Err(SettingsError::new(
            key,
            "must be between 1 and 120000 milliseconds",
        ));
    }
    Ok(Duration::from_millis(ms))
}
