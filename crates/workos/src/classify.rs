//! Turning a WorkOS answer that is not a success into an [`ExchangeError`].
//!
//! All of the decision lives in [`classify_failure`], which looks at the body's code and
//! not only at the HTTP status. WorkOS error bodies come in two shapes:
//! `{"error": "...", "error_description": "..."}` (OAuth style, e.g. production's
//! `invalid_grant`) and `{"code": "...", "message": "...", ...}` (API style, e.g. the
//! emulator's `invalid_code` or `organization_selection_required`).

use secrecy::SecretString;
use serde_json::Value;
use tether_domain::{ExchangeError, PendingOrganization, StepRequired};

/// Codes meaning the user must complete another step; any status.
const STEP_CODES: &[&str] = &[
    "email_verification_required",
    "organization_selection_required",
    "mfa_enrollment",
    "mfa_challenge",
    "sso_required",
    "organization_authentication_methods_required",
    "identity_verification_required",
];

/// Codes that, with status 400, mean this code cannot be used with the API asked.
///
/// `invalid_code_verifier` (PKCE mismatch) is included: the login cannot complete with
/// this code and verifier, which for the caller is the same as an unusable code; so is
/// `invalid_pending_authentication_token` (a step answered with an unknown, expired or
/// used pending token) and `invalid_one_time_code`.
const INVALID_CODE_CODES: &[&str] = &[
    "invalid_grant",
    "invalid_code",
    "expired_code",
    "invalid_code_verifier",
    "invalid_pending_authentication_token",
    "invalid_one_time_code",
];

/// Codes meaning WorkOS refused our own credentials; any status.
const MISCONFIGURED_CODES: &[&str] = &["invalid_client", "unauthorized_client", "unauthorized"];

/// Longest human message copied from WorkOS into a [`StepRequired`].
const MAX_MESSAGE_CHARS: usize = 500;

/// Longest list of organizations copied from WorkOS into a [`StepRequired`].
const MAX_ORGANIZATIONS: usize = 100;

/// Classifies a WorkOS answer that is not a success.
///
/// `status` is the HTTP status, `retry_after` the `Retry-After` header in its seconds
/// form (if present and valid), `body` the (capped) answer body. Rules, in order:
///
/// 1. 429 → [`ExchangeError::RateLimited`] with `retry_after`.
/// 2. A step code (`email_verification_required`, `organization_selection_required`,
///    `mfa_enrollment`, `mfa_challenge`, `sso_required`,
///    `organization_authentication_methods_required`, `identity_verification_required`),
///    whatever the status → [`ExchangeError::StepRequired`].
/// 3. 400 with `invalid_grant`, `invalid_code`, `expired_code`, `invalid_code_verifier`,
///    `invalid_pending_authentication_token` or `invalid_one_time_code`
///    → [`ExchangeError::InvalidCode`].
/// 4. 401, 403, or `invalid_client` / `unauthorized_client` / `unauthorized`
///    → [`ExchangeError::Misconfigured`].
/// 5. 5xx → [`ExchangeError::Unavailable`].
/// 6. Anything else → [`ExchangeError::Unexpected`].
///
/// A code is read from the body's `code` and `error` fields. The reasons carried by the
/// errors hold the status and, when it looks like an identifier, the code: never the body.
pub(crate) fn classify_failure(status: u16, retry_after: Option<u64>, body: &[u8]) -> ExchangeError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let object = parsed.as_ref().and_then(Value::as_object);
    let field = |name: &str| object.and_then(|o| o.get(name)).and_then(Value::as_str);
    let codes: Vec<&str> = [field("code"), field("error")].into_iter().flatten().collect();
    let has_code_in = |set: &[&str]| codes.iter().any(|code| set.contains(code));

    if status == 429 {
        return ExchangeError::RateLimited {
            retry_after_seconds: retry_after,
        };
    }

    if let Some(step) = codes.iter().find(|code| STEP_CODES.contains(code)) {
        let message = field("message")
            .or_else(|| field("error_description"))
            .unwrap_or(step);
        let email = field("email").or_else(|| {
            object
                .and_then(|o| o.get("user"))
                .and_then(|user| user.get("email"))
                .and_then(Value::as_str)
        });
        let organizations = object
            .and_then(|o| o.get("organizations"))
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|org| {
                        Some(PendingOrganization {
                            id: org.get("id")?.as_str()?.to_owned(),
                            name: org.get("name")?.as_str()?.to_owned(),
                        })
                    })
                    .take(MAX_ORGANIZATIONS)
                    .collect()
            })
            .unwrap_or_default();
        return ExchangeError::StepRequired(Box::new(StepRequired {
            code: (*step).to_owned(),
            message: message.chars().take(MAX_MESSAGE_CHARS).collect(),
            pending_authentication_token: field("pending_authentication_token")
                .filter(|token| !token.is_empty())
                .map(SecretString::from),
            organizations,
            email: email.map(str::to_owned),
        }));
    }

    let reason = describe(status, &codes);

    if status == 400 && has_code_in(INVALID_CODE_CODES) {
        return ExchangeError::InvalidCode;
    }
    if status == 401 || status == 403 || has_code_in(MISCONFIGURED_CODES) {
        return ExchangeError::Misconfigured(reason);
    }
    if (500..=599).contains(&status) {
        return ExchangeError::Unavailable(reason);
    }
    ExchangeError::Unexpected(reason)
}

/// `HTTP <status>`, plus the first body code that looks like a plain identifier. Nothing
/// else from the body is copied, so a reflected secret cannot end up in a log.
fn describe(status: u16, codes: &[&str]) -> String {
    match codes.iter().find(|code| is_identifier(code)) {
        Some(code) => format!("HTTP {status} ({code})"),
        None => format!("HTTP {status}"),
    }
}

/// Whether `raw` is a short `[A-Za-z0-9_.-]` identifier such as `invalid_client`.
fn is_identifier(raw: &str) -> bool {
    (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The `Retry-After` header value in its seconds form; `None` for an HTTP date or junk.
pub(crate) fn parse_retry_after(raw: &str) -> Option<u64> {
    raw.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn classify(status: u16, body: &str) -> ExchangeError {
        classify_failure(status, None, body.as_bytes())
    }

    fn step(error: ExchangeError) -> StepRequired {
        match error {
            ExchangeError::StepRequired(step) => *step,
            other => panic!("expected StepRequired, got {other:?}"),
        }
    }

    #[test]
    fn a_429_is_rate_limited_with_the_retry_after_seconds() {
        let error = classify_failure(429, Some(7), br#"{"message":"Too many requests"}"#);
        assert!(matches!(
            error,
            ExchangeError::RateLimited {
                retry_after_seconds: Some(7)
            }
        ));
    }

    #[test]
    fn a_429_without_retry_after_is_rate_limited_without_a_delay() {
        assert!(matches!(
            classify_failure(429, None, b""),
            ExchangeError::RateLimited {
                retry_after_seconds: None
            }
        ));
    }

    #[test]
    fn a_429_wins_over_any_code_in_the_body() {
        assert!(matches!(
            classify(429, r#"{"error":"invalid_grant"}"#),
            ExchangeError::RateLimited { .. }
        ));
    }

    #[test]
    fn production_invalid_grant_is_an_invalid_code() {
        let body =
            r#"{"error":"invalid_grant","error_description":"The code 'abc' has expired or is invalid."}"#;
        assert!(matches!(classify(400, body), ExchangeError::InvalidCode));
    }

    #[test]
    fn emulator_invalid_code_is_an_invalid_code() {
        let body = r#"{"message":"Invalid authorization code","code":"invalid_code"}"#;
        assert!(matches!(classify(400, body), ExchangeError::InvalidCode));
    }

    #[test]
    fn expired_code_in_either_shape_is_an_invalid_code() {
        assert!(matches!(
            classify(400, r#"{"code":"expired_code","message":"Code has expired"}"#),
            ExchangeError::InvalidCode
        ));
        assert!(matches!(
            classify(400, r#"{"error":"expired_code","error_description":"expired"}"#),
            ExchangeError::InvalidCode
        ));
    }

    #[test]
    fn a_wrong_pkce_verifier_is_an_invalid_code() {
        let body = r#"{"message":"Invalid code_verifier","code":"invalid_code_verifier"}"#;
        assert!(matches!(classify(400, body), ExchangeError::InvalidCode));
    }

    #[test]
    fn an_invalid_code_with_another_status_than_400_is_not_an_invalid_code() {
        assert!(matches!(
            classify(404, r#"{"code":"invalid_code"}"#),
            ExchangeError::Unexpected(_)
        ));
        assert!(matches!(
            classify(500, r#"{"error":"invalid_grant"}"#),
            ExchangeError::Unavailable(_)
        ));
    }

    #[test]
    fn a_400_without_a_known_code_is_unexpected() {
        match classify(400, r#"{"code":"invalid_request","message":"code is required"}"#) {
            ExchangeError::Unexpected(reason) => {
                assert_eq!(reason, "HTTP 400 (invalid_request)");
            }
            other => panic!("expected Unexpected, got {other:?}"),
        }
    }

    #[test]
    fn organization_selection_required_carries_token_organizations_and_email() {
        let body = r#"{
            "code": "organization_selection_required",
            "message": "The user must choose an organization.",
            "pending_authentication_token": "ptok",
            "organizations": [{"id": "org_1", "name": "Acme"}, {"id": "org_2", "name": "Globex"}],
            "user": {"id": "user_1", "email": "jane@authkit.example"}
        }"#;
        let step = step(classify(403, body));
        assert_eq!(step.code, "organization_selection_required");
        assert_eq!(step.message, "The user must choose an organization.");
        assert_eq!(
            step.pending_authentication_token
                .as_ref()
                .map(|token| token.expose_secret().to_owned()),
            Some("ptok".to_owned())
        );
        assert_eq!(
            step.organizations,
            vec![
                PendingOrganization {
                    id: "org_1".into(),
                    name: "Acme".into()
                },
                PendingOrganization {
                    id: "org_2".into(),
                    name: "Globex".into()
                },
            ]
        );
        assert_eq!(step.email.as_deref(), Some("jane@authkit.example"));
    }

    #[test]
    fn every_step_code_is_a_step_whatever_the_status() {
        for code in STEP_CODES {
            for status in [400, 401, 403, 422, 500] {
                let body = format!(r#"{{"code":"{code}","message":"m"}}"#);
                let step = step(classify(status, &body));
                assert_eq!(step.code, *code, "status {status}");
                assert_eq!(step.message, "m");
            }
        }
    }

    #[test]
    fn a_step_code_in_the_oauth_shape_is_a_step() {
        let body = r#"{"error":"sso_required","error_description":"Use SSO.","email":"a@acme.example"}"#;
        let step = step(classify(400, body));
        assert_eq!(step.code, "sso_required");
        assert_eq!(step.message, "Use SSO.");
        assert_eq!(step.email.as_deref(), Some("a@acme.example"));
        assert!(step.pending_authentication_token.is_none());
        assert!(step.organizations.is_empty());
    }

    #[test]
    fn a_top_level_email_wins_over_the_user_email() {
        let body = r#"{"code":"email_verification_required","message":"Verify.","email":"top@x.example","user":{"email":"nested@x.example"}}"#;
        assert_eq!(step(classify(403, body)).email.as_deref(), Some("top@x.example"));
    }

    #[test]
    fn a_step_without_a_message_uses_its_code_and_skips_malformed_organizations() {
        let body = r#"{"code":"organization_selection_required","organizations":[{"id":"org_1"},{"id":"org_2","name":"Globex"},"junk"]}"#;
        let step = step(classify(403, body));
        assert_eq!(step.message, "organization_selection_required");
        assert_eq!(
            step.organizations,
            vec![PendingOrganization {
                id: "org_2".into(),
                name: "Globex".into()
            }]
        );
    }

    #[test]
    fn a_401_or_403_is_misconfigured() {
        assert!(matches!(classify(401, ""), ExchangeError::Misconfigured(_)));
        assert!(matches!(
            classify(403, r#"{"message":"Forbidden"}"#),
            ExchangeError::Misconfigured(_)
        ));
        // Status decides even when the body's code would otherwise mean "invalid code".
        assert!(matches!(
            classify(401, r#"{"error":"invalid_grant"}"#),
            ExchangeError::Misconfigured(_)
        ));
    }

    #[test]
    fn client_credential_codes_are_misconfigured_whatever_the_status() {
        for (status, body) in [
            (
                400,
                r#"{"error":"invalid_client","error_description":"Invalid client secret."}"#,
            ),
            (400, r#"{"error":"unauthorized_client"}"#),
            (422, r#"{"code":"unauthorized","message":"nope"}"#),
        ] {
            assert!(
                matches!(classify(status, body), ExchangeError::Misconfigured(_)),
                "{status} {body}"
            );
        }
    }

    #[test]
    fn a_misconfiguration_reason_is_short_and_free_of_the_body() {
        let body =
            r#"{"error":"invalid_client","error_description":"client_secret sk_live_leak is not valid"}"#;
        match classify(401, body) {
            ExchangeError::Misconfigured(reason) => {
                assert_eq!(reason, "HTTP 401 (invalid_client)");
            }
            other => panic!("expected Misconfigured, got {other:?}"),
        }
    }

    #[test]
    fn a_5xx_is_unavailable() {
        for status in [500, 502, 503, 504, 599] {
            assert!(
                matches!(
                    classify(status, "<html>oops</html>"),
                    ExchangeError::Unavailable(_)
                ),
                "{status}"
            );
        }
    }

    #[test]
    fn anything_else_is_unexpected_with_status_and_code_only() {
        match classify(404, r#"{"code":"not_found","message":"secret sk_live_leak"}"#) {
            ExchangeError::Unexpected(reason) => assert_eq!(reason, "HTTP 404 (not_found)"),
            other => panic!("expected Unexpected, got {other:?}"),
        }
        match classify(302, "") {
            ExchangeError::Unexpected(reason) => assert_eq!(reason, "HTTP 302"),
            other => panic!("expected Unexpected, got {other:?}"),
        }
    }

    #[test]
    fn a_code_that_is_not_an_identifier_is_not_copied() {
        match classify(418, r#"{"error":"the key sk_live_leak is wrong"}"#) {
            ExchangeError::Unexpected(reason) => assert_eq!(reason, "HTTP 418"),
            other => panic!("expected Unexpected, got {other:?}"),
        }
    }

    #[test]
    fn a_body_that_is_not_json_falls_back_to_the_status() {
        assert!(matches!(classify(400, "not json"), ExchangeError::Unexpected(_)));
        assert!(matches!(
            classify(400, r#"["invalid_grant"]"#),
            ExchangeError::Unexpected(_)
        ));
        assert!(matches!(
            classify(503, "\u{0}\u{1}"),
            ExchangeError::Unavailable(_)
        ));
    }

    #[test]
    fn retry_after_is_read_in_its_seconds_form_only() {
        assert_eq!(parse_retry_after("7"), Some(7));
        assert_eq!(parse_retry_after(" 120 "), Some(120));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after(""), None);
    }
}
