//! Sessions listed and ended, by an administrator or by the person themselves, and a
//! user's sign-in disabled or enabled.

use serde::{Deserialize, Serialize};
use tether_domain::lifecycle::format_rfc3339;
use tether_domain::{LoginDisabledChange, LoginDisabledOutcome, SessionSummary};

/// One live session: never a token or a digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "id": "9f2c4e7a1b3d5f60718293a4b5c6d7e8", "startedAt": "2026-12-04T18:43:26.123Z",
    "lastRefreshedAt": "2026-12-05T09:12:00.000Z", "endsAt": "2027-01-03T18:43:26.123Z",
    "flow": "authkit", "ip": "203.0.113.7", "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
    "current": true
})))]
#[serde(rename_all = "camelCase")]
pub struct SessionBody {
    /// The session id (`sid` of its tokens).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9._:-]{1,128}$"))]
    pub id: String,
    /// When the login happened (RFC 3339, UTC).
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub started_at: String,
    /// The last refresh, `null` before the first.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, required = true))]
    pub last_refreshed_at: Option<String>,
    /// When the session reaches its absolute lifetime.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub ends_at: String,
    /// The WorkOS API of the login (`sso`, `authkit`); for a session started before
    /// it was recorded, the user's only one, else `null`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::flow_or_null, required = true))]
    pub flow: Option<String>,
    /// The client's address at login (through `TRUSTED_PROXIES`), `null` when unknown.
    #[cfg_attr(feature = "openapi", schema(required = true, max_length = 64))]
    pub ip: Option<String>,
    /// The client's `User-Agent` at login (control characters removed, at most 256
    /// characters), `null` when it sent none.
    #[cfg_attr(feature = "openapi", schema(required = true, max_length = 256))]
    pub user_agent: Option<String>,
    /// Whether this is the session of the access token that asked.
    pub current: bool,
}

impl From<&SessionSummary> for SessionBody {
    fn from(session: &SessionSummary) -> Self {
        Self {
            id: session.id.as_str().to_owned(),
            started_at: format_rfc3339(session.started_at),
            last_refreshed_at: session.last_refreshed_at.map(format_rfc3339),
            ends_at: format_rfc3339(session.ends_at),
            flow: session.flow.as_ref().map(|f| f.as_str().to_owned()),
            ip: session.client.ip_address.clone(),
            user_agent: session.client.user_agent.clone(),
            current: session.current,
        }
    }
}

/// `{"sessions": [...]}`: live sessions, newest first, at most 100.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionListBody {
    /// The sessions, newest first.
    #[cfg_attr(feature = "openapi", schema(max_items = 100))]
    pub sessions: Vec<SessionBody>,
}

impl SessionListBody {
    /// The list of `sessions`.
    pub fn new(sessions: &[SessionSummary]) -> Self {
        Self {
            sessions: sessions.iter().map(SessionBody::from).collect(),
        }
    }
}

/// `{"revoked": n}`: how many sessions a request ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"revoked": 2})))]
pub struct RevokedBody {
    /// How many live sessions were ended.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub revoked: u64,
}

/// `DELETE /api/auth/sessions`: whether the current session ends too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct RevokeOwnSessionsQuery {
    /// `true` ends the current session too (default `false`: every other one).
    pub include_current: Option<bool>,
}

/// `PUT /api/users/{id}/login-disabled`: disable (`true`) or enable (`false`) the
/// user's sign-in, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"disabled": true, "reason": "left the company"})))]
pub struct LoginDisabledBody {
    /// `true` disables sign-in and ends every session of the user; `false` enables it.
    pub disabled: bool,
    /// Why (recorded when disabling; control characters removed): at most 256 characters.
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub reason: Option<String>,
}

impl From<LoginDisabledBody> for LoginDisabledChange {
    fn from(body: LoginDisabledBody) -> Self {
        Self {
            disabled: body.disabled,
            reason: body.reason,
        }
    }
}

/// What a change of a user's sign-in did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "userId": "64a1b2c3d4e5f60012345678", "loginDisabled": true, "changed": true, "revokedSessions": 2
})))]
#[serde(rename_all = "camelCase")]
pub struct LoginDisabledAnswer {
    /// The user (24 hex).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{24}$"))]
    pub user_id: String,
    /// Whether the user's sign-in is disabled now.
    pub login_disabled: bool,
    /// Whether this request changed it (`false`: it was so already).
    pub changed: bool,
    /// How many live sessions of the user this request ended.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub revoked_sessions: u64,
}

impl From<&LoginDisabledOutcome> for LoginDisabledAnswer {
    fn from(outcome: &LoginDisabledOutcome) -> Self {
        Self {
            user_id: outcome.user_id.to_string(),
            login_disabled: outcome.disabled,
            changed: outcome.changed,
            revoked_sessions: outcome.revoked_sessions,
        }
    }
}

#[cfg(test)]
mod tests {
    use tether_domain::{ClientContext, ProviderKey, SessionId, Timestamp};

    use super::*;

    #[test]
    fn a_session_shows_its_times_flow_and_client_and_nothing_else() {
        let summary = SessionSummary {
            id: SessionId::new("0123abcd"),
            started_at: Timestamp::from_millis(1_700_000_000_123),
            last_refreshed_at: None,
            ends_at: Timestamp::from_millis(1_702_592_000_123),
            flow: Some(ProviderKey::from_static("sso")),
            client: ClientContext {
                ip_address: Some("203.0.113.7".to_owned()),
                user_agent: None,
            },
            current: true,
        };
        let json = serde_json::to_value(SessionListBody::new(&[summary])).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"sessions": [{
                "id": "0123abcd", "startedAt": "2023-11-14T22:13:20.123Z", "lastRefreshedAt": null,
                "endsAt": "2023-12-14T22:13:20.123Z", "flow": "sso", "ip": "203.0.113.7",
                "userAgent": null, "current": true
            }]})
        );
    }

    #[test]
    fn a_change_of_sign_in_needs_disabled_and_takes_a_reason() {
        let body: LoginDisabledBody =
            serde_json::from_str(r#"{"disabled": true, "reason": "left"}"#).unwrap();
        assert_eq!(
            LoginDisabledChange::from(body),
            LoginDisabledChange {
                disabled: true,
                reason: Some("left".to_owned())
            }
        );
        assert!(serde_json::from_str::<LoginDisabledBody>(r#"{"reason": "left"}"#).is_err());
        assert!(serde_json::from_str::<LoginDisabledBody>(r#"{"disabled": "yes"}"#).is_err());
    }
}
