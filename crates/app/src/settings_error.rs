//! The error of a setting that stops start-up, shared by the settings loader and the
//! parsers of single settings (`origins`, `seed`) so that none of them imports another.

/// A setting that stops start-up, with the name an operator sets it by.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {key}: {message}")]
pub struct SettingsError {
    /// The setting's environment name (or `file` for the file itself).
    pub key: String,
    /// What is wrong, without the value when it is secret.
    pub message: String,
}

impl SettingsError {
    pub(crate) fn new(key: &str, message: impl Into<String>) -> Self {
        Self {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}
