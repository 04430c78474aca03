//! Offboarding from WorkOS events: `WORKOS_EVENTS` (`poll` or `off`),
//! `WORKOS_EVENTS_POLL_SECONDS`, `WORKOS_EVENTS_LEASE_SECONDS` and the webhook secret
//! `WORKOS_WEBHOOK_SECRET` (or `_FILE`).

use std::time::Duration;

use secrecy::SecretString;

use super::values::secret_from;
use super::{RawSettings, SettingsError};

/// Whether this replica consumes the WorkOS Events API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventsMode {
    /// Poll `GET /events` (one replica at a time, by the lease in MongoDB).
    Poll,
    /// Do not poll (webhooks, when a secret is set, still apply).
    Off,
}

/// How WorkOS events reach the service.
#[derive(Debug, Clone)]
pub struct EventSettings {
    /// `WORKOS_EVENTS`: `poll` (default: a WorkOS API key is always set) or `off`.
    pub mode: EventsMode,
    /// `WORKOS_EVENTS_POLL_SECONDS` (default 10; 1–3600): the pause between polls.
    pub poll_interval: Duration,
    /// `WORKOS_EVENTS_LEASE_SECONDS` (default 30; more than the poll interval, at most
    /// 3600): how long the consumer's lease lasts unless renewed; another replica takes
    /// over this long after the holder stopped.
    pub lease: Duration,
    /// `WORKOS_WEBHOOK_SECRET` (or `_FILE`): the secret of the WorkOS webhook
    /// endpoint; `POST /api/webhooks/workos` answers 404 without it.
    pub webhook_secret: Option<SecretString>,
}

impl EventSettings {
    /// Validates the event settings of `raw`.
    pub(super) fn validate(raw: &mut RawSettings) -> Result<Self, SettingsError> {
        let mode = match raw.workos_events.trim() {
            "" | "poll" => EventsMode::Poll,
            "off" => EventsMode::Off,
            _ => return Err(SettingsError::new("WORKOS_EVENTS", "must be poll or off")),
        };
        let poll = raw.workos_events_poll_seconds;
        if !(1..=3600).contains(&poll) {
            return Err(SettingsError::new(
                "WORKOS_EVENTS_POLL_SECONDS",
                "must be between 1 and 3600 seconds",
            ));
        }
        let lease = raw.workos_events_lease_seconds;
        if lease <= poll || lease > 3600 {
            return Err(SettingsError::new(
                "WORKOS_EVENTS_LEASE_SECONDS",
                "must be more than WORKOS_EVENTS_POLL_SECONDS and at most 3600 seconds",
            ));
        }
        let webhook_secret = secret_from(
            "WORKOS_WEBHOOK_SECRET",
            raw.workos_webhook_secret.take(),
            raw.workos_webhook_secret_file.take(),
        )?
        .map(SecretString::from);
        Ok(Self {
            mode,
            poll_interval: Duration::from_secs(poll),
            lease: Duration::from_secs(lease),
            webhook_secret,
        })
    }
}
