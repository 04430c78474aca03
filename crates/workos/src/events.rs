//! WorkOS events: the Events API (`GET /events`, oldest first with `order=asc`, paged
//! by `after`, filtered by `events[]`) as the domain's [`EventSource`], the signed
//! webhook deliveries (`WorkOS-Signature: t=<time>, v1=<hex HMAC-SHA256 of
//! "<t>.<body>">`) as its [`SignedDeliveries`], and the reading of WorkOS's event types
//! into the domain's [`LifecycleChange`]:
//!
//! | WorkOS event | change |
//! |---|---|
//! | `user.deleted` | identity removed (`data.id`) |
//! | `user.updated` | name changed (`data.first_name`, `data.last_name`) |
//! | `organization_membership.deleted`, `.updated` not `active` | membership of `data.organization_id` ended (`data.user_id`) |
//! | `organization_membership.created`/`.updated` `active` | membership resumed |
//! | `dsync.user.deleted`, `dsync.user.updated` not `active` | directory user removed (`data.email`, `data.emails[].value`) |
//! | `dsync.user.updated` `active` | directory user resumed |
//! | anything else | other |

use std::time::Duration;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::Sha256;
use tether_domain::lifecycle::{EventPage, EventSourceError, format_rfc3339, parse_rfc3339};
use tether_domain::{
    Email, EventSource, IdentityLink, LifecycleChange, LifecycleEvent, SignedDeliveries, TenantId, Timestamp,
};

use crate::client::{error_chain, parse_base_url};
use crate::config::{WorkosBuildError, WorkosConfig};

/// The event types this service acts on (the `events[]` filter of every listing).
pub const EVENT_TYPES: [&str; 8] = [
    "user.deleted",
    "user.updated",
    "organization_membership.created",
    "organization_membership.updated",
    "organization_membership.deleted",
    "dsync.user.created",
    "dsync.user.updated",
    "dsync.user.deleted",
];

/// The metric label of an event type: one of [`EVENT_TYPES`], else `other`.
pub fn type_label(event_type: &str) -> &'static str {
    EVENT_TYPES
        .iter()
        .find(|known| **known == event_type)
        .copied()
        .unwrap_or("other")
}

/// How far a webhook's time may be from ours: 3 minutes either way.
pub const SIGNATURE_TOLERANCE_SECONDS: i64 = 180;

/// The largest answer of the Events API read (a page of 100 events is far smaller).
const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// The WorkOS Events API.
#[derive(Clone)]
pub struct WorkosEvents {
    http: reqwest::Client,
    events_url: String,
    api_key: SecretString,
}

impl std::fmt::Debug for WorkosEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkosEvents")
            .field("events_url", &self.events_url)
            .finish_non_exhaustive()
    }
}

impl WorkosEvents {
    /// A client of the Events API with the base URL, API key and time-outs of `config`.
    ///
    /// # Errors
    /// [`WorkosBuildError`] as [`crate::WorkosClient::new`] refuses a configuration.
    pub fn new(config: &WorkosConfig) -> Result<Self, WorkosBuildError> {
        let base = parse_base_url(&config.base_url)?;
        if config.api_key.expose_secret().trim().is_empty() {
            return Err(WorkosBuildError::MissingApiKey);
        }
        if config.request_timeout.is_zero() || config.connect_timeout.is_zero() {
            return Err(WorkosBuildError::ZeroTimeout("request time-out"));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(50))
            .user_agent(concat!("tether-auth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WorkosBuildError::HttpClient(error_chain(&e)))?;
        Ok(Self {
            http,
            events_url: format!("{base}/events"),
            api_key: config.api_key.clone(),
        })
    }

    async fn list(&self, query: &str) -> Result<Value, EventSourceError> {
        let url = format!("{}?{query}", self.events_url);
        let response = self
            .http
            .get(&url)
            .bearer_auth(self.api_key.expose_secret())
            .send()
            .await
            .map_err(|e| EventSourceError::Unavailable(format!("GET /events: {}", error_chain(&e))))?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after_seconds = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok());
            return Err(EventSourceError::RateLimited { retry_after_seconds });
        }
        if status.is_server_error() {
            return Err(EventSourceError::Unavailable(format!(
                "GET /events answered {status}"
            )));
        }
        if !status.is_success() {
            return Err(EventSourceError::Unexpected(format!(
                "GET /events answered {status}"
            )));
        }
        let mut response = response;
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| EventSourceError::Unavailable(format!("GET /events: {}", error_chain(&e))))?
        {
            if body.len() + chunk.len() > MAX_PAGE_BYTES {
                return Err(EventSourceError::Unexpected(
                    "GET /events answered too much".to_owned(),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|_| {
            EventSourceError::Unexpected("GET /events answered something other than JSON".to_owned())
        })
    }
}

/// `events[]=...` for every type this service acts on.
fn types_query() -> String {
    EVENT_TYPES
        .iter()
        .map(|t| format!("events%5B%5D={}", encode(t)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(b)),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn page_of(answer: &Value) -> Result<(Vec<LifecycleEvent>, bool), EventSourceError> {
    let Some(data) = answer.get("data").and_then(Value::as_array) else {
        return Err(EventSourceError::Unexpected(
            "GET /events answered without a data list".to_owned(),
        ));
    };
    let events: Vec<LifecycleEvent> = data.iter().filter_map(decode_event).collect();
    let more = answer
        .pointer("/list_metadata/after")
        .is_some_and(|after| after.as_str().is_some_and(|a| !a.is_empty()));
    Ok((events, more))
}

#[async_trait]
impl EventSource for WorkosEvents {
    async fn newest(&self) -> Result<Option<LifecycleEvent>, EventSourceError> {
        let answer = self
            .list(&format!("{}&order=desc&limit=1", types_query()))
            .await?;
        Ok(page_of(&answer)?.0.into_iter().next())
    }

    async fn page<'a>(
        &self,
        after: Option<&'a str>,
        since: Option<Timestamp>,
        limit: u32,
    ) -> Result<EventPage, EventSourceError> {
        let limit = limit.clamp(1, 100);
        let mut query = format!("{}&order=asc&limit={limit}", types_query());
        match (after, since) {
            (Some(after), _) => query.push_str(&format!("&after={}", encode(after))),
            (None, Some(since)) => {
                query.push_str(&format!("&range_start={}", encode(&format_rfc3339(since))))
            }
            (None, None) => {}
        }
        let answer = self.list(&query).await?;
        let (events, more) = page_of(&answer)?;
        let full = events.len() >= limit as usize;
        Ok(EventPage {
            has_more: more && full,
            events,
        })
    }
}

/// Reads one WorkOS event (`{id, event, data, created_at}`); `None` without an id.
/// A known type whose object cannot be read is [`LifecycleChange::Malformed`].
pub fn decode_event(event: &Value) -> Option<LifecycleEvent> {
    let id = event.get("id")?.as_str()?.to_owned();
    if id.is_empty() {
        return None;
    }
    let event_type = event
        .get("event")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let occurred_at = event
        .get("created_at")
        .and_then(Value::as_str)
        .and_then(parse_rfc3339);
    let data = event.get("data").unwrap_or(&Value::Null);
    let object_updated_at = data
        .get("updated_at")
        .and_then(Value::as_str)
        .and_then(parse_rfc3339);
    let change = match (occurred_at, change_of(&event_type, data)) {
        (None, _) => LifecycleChange::Malformed {
            reason: "the event has no readable created_at".to_owned(),
        },
        (Some(_), Ok(change)) => change,
        (Some(_), Err(reason)) => LifecycleChange::Malformed {
            reason: reason.to_owned(),
        },
    };
    Some(LifecycleEvent {
        id,
        event_type,
        occurred_at: occurred_at.unwrap_or(Timestamp::from_millis(0)),
        object_updated_at,
        change,
    })
}

fn text<'a>(data: &'a Value, field: &str) -> Option<&'a str> {
    data.get(field).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn tenant(data: &Value) -> Result<TenantId, &'static str> {
    text(data, "organization_id")
        .and_then(|raw| crate::api::organization_id(raw).ok())
        .ok_or("the object has no readable organization_id")
}

fn name(data: &Value) -> Option<String> {
    let parts: Vec<&str> = [text(data, "first_name"), text(data, "last_name")]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn directory_emails(data: &Value) -> Vec<Email> {
    let mut emails: Vec<Email> = Vec::new();
    let listed = data
        .get("emails")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("value").and_then(Value::as_str));
    for raw in text(data, "email").into_iter().chain(listed) {
        if let Ok(email) = Email::parse(raw)
            && !emails.contains(&email)
        {
            emails.push(email);
        }
    }
    emails
}

fn change_of(event_type: &str, data: &Value) -> Result<LifecycleChange, &'static str> {
    let user = |field: &str| {
        text(data, field)
            .map(authkit_user)
            .ok_or("the object has no readable user id")
    };
    let active = |field: &str| data.get(field).and_then(Value::as_str) == Some("active");
    Ok(match event_type {
        "user.deleted" => LifecycleChange::IdentityRemoved { link: user("id")? },
        "user.updated" => match name(data) {
            Some(name) => LifecycleChange::NameChanged {
                link: user("id")?,
                name,
            },
            None => LifecycleChange::Other,
        },
        "organization_membership.deleted" => LifecycleChange::MembershipEnded {
            link: user("user_id")?,
            tenant: tenant(data)?,
        },
        "organization_membership.updated" | "organization_membership.created" => {
            let (link, tenant) = (user("user_id")?, tenant(data)?);
            if active("status") {
                LifecycleChange::MembershipResumed { link, tenant }
            } else if event_type == "organization_membership.updated" {
                LifecycleChange::MembershipEnded { link, tenant }
            } else {
                // A pending membership that was just created changes nothing.
                LifecycleChange::Other
            }
        }
        "dsync.user.deleted" | "dsync.user.updated" | "dsync.user.created" => {
            let (tenant, emails) = (tenant(data)?, directory_emails(data));
            if emails.is_empty() {
                return Err("the directory user has no readable address");
            }
            let name = name(data);
            if event_type != "dsync.user.deleted" && active("state") {
                LifecycleChange::DirectoryUserResumed { tenant, emails, name }
            } else if event_type == "dsync.user.created" {
                LifecycleChange::Other
            } else {
                LifecycleChange::DirectoryUserRemoved { tenant, emails, name }
            }
        }
        _ => LifecycleChange::Other,
    })
}

/// Checks WorkOS webhook signatures with the endpoint's secret (`WORKOS_WEBHOOK_SECRET`).
pub struct WebhookSignatures {
    secret: SecretString,
}

impl std::fmt::Debug for WebhookSignatures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSignatures").finish_non_exhaustive()
    }
}

impl WebhookSignatures {
    /// Signatures made with `secret`.
    pub fn new(secret: SecretString) -> Self {
        Self { secret }
    }

    /// Whether `header` signs `body` with the secret at a time within
    /// [`SIGNATURE_TOLERANCE_SECONDS`] of `now` (a `t` below 10^12 is in seconds, else
    /// in milliseconds). The digests are compared in constant time.
    pub fn verify(&self, header: &str, body: &[u8], now: Timestamp) -> bool {
        let mut time: Option<&str> = None;
        let mut signatures: Vec<&str> = Vec::new();
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", value)) => time = Some(value.trim()),
                Some(("v1", value)) => signatures.push(value.trim()),
                _ => {}
            }
        }
        let Some(raw_time) = time else {
            return false;
        };
        let Ok(number) = raw_time.parse::<i64>() else {
            return false;
        };
        let millis = if number < 1_000_000_000_000 {
            number.saturating_mul(1000)
        } else {
            number
        };
        if (now.millis() - millis).abs() > SIGNATURE_TOLERANCE_SECONDS * 1000 {
            return false;
        }
        let Ok(mac) = Hmac::<Sha256>::new_from_slice(self.secret.expose_secret().as_bytes()) else {
            return false;
        };
        let mut mac = mac;
        mac.update(raw_time.as_bytes());
        mac.update(b".");
        mac.update(body);
        signatures.iter().any(|signature| {
            hex::decode(signature).is_ok_and(|digest| mac.clone().verify_slice(&digest).is_ok())
        })
    }
}

impl SignedDeliveries for WebhookSignatures {
    fn open(&self, signature: &str, body: &[u8], now: Timestamp) -> Option<LifecycleEvent> {
        if !self.verify(signature, body, now) {
            return None;
        }
        let event = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| decode_event(&v));
        Some(event.unwrap_or_else(|| LifecycleEvent {
            id: String::new(),
            event_type: String::new(),
            occurred_at: now,
            object_updated_at: None,
            change: LifecycleChange::Malformed {
                reason: "the delivery is not a readable event".to_owned(),
            },
        }))
    }
}

/// The `WorkOS-Signature` header of `body` at `at_seconds` with `secret`, as WorkOS
/// signs (for stand-ins and tests).
pub fn sign(secret: &str, at_seconds: i64, body: &[u8]) -> String {
    let mut digest = String::new();
    if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        mac.update(format!("{at_seconds}.").as_bytes());
        mac.update(body);
        digest = hex::encode(mac.finalize().into_bytes());
    }
    format!("t={at_seconds}, v1={digest}")
}

/// The link of an AuthKit user id (`user_...`): the subject events name.
fn authkit_user(subject: impl Into<String>) -> IdentityLink {
    IdentityLink {
        provider: crate::api::AUTHKIT,
        subject: subject.into(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn signatures() -> WebhookSignatures {
        WebhookSignatures::new(SecretString::from("whsec_test"))
    }

    #[test]
    fn a_signature_in_seconds_or_milliseconds_within_three_minutes_is_accepted() {
        let body = br#"{"id":"event_1"}"#;
        let now = Timestamp::from_millis(NOW);
        assert!(signatures().verify(&sign("whsec_test", NOW / 1000, body), body, now));
        assert!(signatures().verify(&sign("whsec_test", NOW / 1000 - 170, body), body, now));
        let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec_test").unwrap();
        mac.update(format!("{NOW}.").as_bytes());
        mac.update(body);
        let millis = format!("t={NOW},v1={}", hex::encode(mac.finalize().into_bytes()));
        assert!(signatures().verify(&millis, body, now), "milliseconds");
    }

    #[test]
    fn forged_stale_or_malformed_signatures_are_refused() {
        let body = br#"{"id":"event_1"}"#;
        let now = Timestamp::from_millis(NOW);
        assert!(
            !signatures().verify(&sign("another", NOW / 1000, body), body, now),
            "forged"
        );
        assert!(
            !signatures().verify(&sign("whsec_test", NOW / 1000 - 900, body), body, now),
            "15 minutes old"
        );
        assert!(
            !signatures().verify(&sign("whsec_test", NOW / 1000 + 200, body), body, now),
            "from the future"
        );
        assert!(
            !signatures().verify(&sign("whsec_test", NOW / 1000, body), b"{}", now),
            "another body"
        );
        for header in ["", "t=abc, v1=00", "v1=00", "t=1800000000", "t=1800000000, v1=zz"] {
            assert!(!signatures().verify(header, body, now), "{header}");
        }
        assert!(signatures().open("", body, now).is_none());
    }

    #[test]
    fn workos_events_become_the_domain_changes() {
        let at = "2027-01-15T08:00:00.000Z";
        let user = |event: &str, data: Value| {
            decode_event(&json!({"id": "event_1", "event": event, "created_at": at, "data": data})).unwrap()
        };
        let removed = user("user.deleted", json!({"id": "user_1", "updated_at": at}));
        assert_eq!(
            removed.change,
            LifecycleChange::IdentityRemoved {
                link: authkit_user("user_1")
            }
        );
        assert_eq!(removed.object_updated_at, parse_rfc3339(at));
        let org = crate::api::organization_id("org_1").unwrap();
        let membership = |event: &str, status: &str| {
            user(
                event,
                json!({"id": "om_1", "user_id": "user_1", "organization_id": "org_1", "status": status}),
            )
            .change
        };
        assert_eq!(
            membership("organization_membership.updated", "inactive"),
            LifecycleChange::MembershipEnded {
                link: authkit_user("user_1"),
                tenant: org.clone()
            }
        );
        assert_eq!(
            membership("organization_membership.created", "active"),
            LifecycleChange::MembershipResumed {
                link: authkit_user("user_1"),
                tenant: org.clone()
            }
        );
        assert_eq!(
            membership("organization_membership.created", "pending"),
            LifecycleChange::Other
        );
        let directory = user(
            "dsync.user.updated",
            json!({"organization_id": "org_1", "state": "suspended", "first_name": "Ada", "last_name": "L",
                   "emails": [{"value": "Ada@Acme.example", "primary": true}, {"value": "bad"}]}),
        );
        assert_eq!(
            directory.change,
            LifecycleChange::DirectoryUserRemoved {
                tenant: org,
                emails: vec![Email::parse("ada@acme.example").unwrap()],
                name: Some("Ada L".to_owned())
            }
        );
        assert_eq!(
            user("connection.activated", json!({})).change,
            LifecycleChange::Other
        );
        assert!(matches!(
            user("user.deleted", json!({"email": "x@y.z"})).change,
            LifecycleChange::Malformed { .. }
        ));
        assert!(decode_event(&json!({"event": "user.deleted"})).is_none());
    }

    #[test]
    fn metric_labels_are_the_fixed_types_or_other() {
        assert_eq!(type_label("user.deleted"), "user.deleted");
        assert_eq!(type_label("session.created"), "other");
    }
}
