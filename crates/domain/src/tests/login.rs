//! `CompleteLogin`: input checks, the code exchange (SSO first, AuthKit as the
//! fallback), and the mapping of every failure to its row of the error table.

use mockall::Sequence;

use super::support::*;
use crate::{
    CallbackInput, ClientContext, ExchangeError, ExchangePlan, Flow, IdpIdentity, LoginError,
    MockIdentityProvider, PendingOrganization, RepositoryError, SessionId, StepRequired, TokenError,
};

/// A callback carrying `code` and a state, nothing else.
fn callback(code: &str) -> CallbackInput {
    CallbackInput {
        code: Some(secret(code)),
        state: Some("state-1".to_owned()),
        ..CallbackInput::default()
    }
}

/// `idp` answers the exchange of `code-1` with `flow` once, with `answer`, and
/// without a PKCE verifier.
fn expect_exchange(
    idp: &mut MockIdentityProvider,
    order: &mut Sequence,
    flow: Flow,
    answer: impl Fn() -> Result<IdpIdentity, ExchangeError> + Send + 'static,
) {
    idp.expect_exchange()
        .withf(move |f, code, pkce, _| *f == flow && holds(code, "code-1") && pkce.is_none())
        .times(1)
        .in_sequence(order)
        .returning(move |_, _, _, _| answer());
}

/// `idp` must not be asked to exchange with `flow`.
fn expect_no_exchange(idp: &mut MockIdentityProvider, flow: Flow) {
    idp.expect_exchange().withf(move |f, _, _, _| *f == flow).never();
}

/// An organization-selection step as AuthKit describes it.
fn organization_selection() -> StepRequired {
    StepRequired {
        code: "organization_selection_required".to_owned(),
        message: "The user must choose an organization.".to_owned(),
        pending_authentication_token: Some(secret("pat_01HX")),
        organizations: vec![
            PendingOrganization {
                id: "org_01A".to_owned(),
                name: "Acme".to_owned(),
            },
            PendingOrganization {
                id: "org_01B".to_owned(),
                name: "Globex".to_owned(),
            },
        ],
        email: Some("jane@acme.example".to_owned()),
    }
}

// ---- input checks, before WorkOS is called ----------------------------------------------

#[tokio::test]
async fn provider_error_with_a_clean_code_answers_only_the_code_and_the_provider_is_never_called() {
    let mut ports = LoginPorts::default();
    ports.idp_never_called();
    let input = CallbackInput {
        error: Some("access_denied".to_owned()),
        error_description: Some("The user denied access. Call +1 555 0100".to_owned()),
        ..callback("code-1")
    };

    let result = ports.build().complete(input).await;

    let Err(error @ LoginError::ProviderError { .. }) = result else {
        panic!("expected ProviderError, got {result:?}");
    };
    assert!(
        matches!(&error, LoginError::ProviderError { provider_error: Some(code) } if code == "access_denied"),
        "{error:?}"
    );
    // The message is fixed text: neither the code nor the description is echoed.
    let message = error.to_string();
    assert_eq!(message, "the identity provider reported an error");
    assert!(
        !message.contains("555") && !message.contains("denied"),
        "{message}"
    );
}

#[tokio::test]
async fn provider_error_codes_that_are_not_clean_are_never_answered_back() {
    for (code, why) in [
        ("<script>alert(1)</script>", "HTML"),
        ("<b>Call us</b>", "HTML"),
        ("Access_Denied", "upper case"),
        ("ACCESS_DENIED", "upper case"),
        ("access denied", "a space"),
        ("access_denied\r\nSet-Cookie: x=1", "control characters"),
        ("access_denied\u{7}", "a control character"),
        ("accès_refusé", "non-ASCII letters"),
        ("access_denied;drop", "punctuation"),
        ("access_denied%20", "percent-encoding"),
    ] {
        let mut ports = LoginPorts::default();
        ports.idp_never_called();
        let input = CallbackInput {
            error: Some(code.to_owned()),
            error_description: Some("<h1>Your account is locked</h1> call +1 555 0100".to_owned()),
            ..callback("code-1")
        };

        let result = ports.build().complete(input).await;

        assert!(
            matches!(&result, Err(LoginError::ProviderError { provider_error: None })),
            "{why}: {code:?}: {result:?}"
        );
        let message = result.unwrap_err().to_string();
        assert_eq!(message, "the identity provider reported an error", "{why}");
    }
}

#[tokio::test]
async fn provider_error_code_is_kept_up_to_64_characters_and_dropped_beyond() {
    for (code, kept) in [
        ("a".repeat(64), true),
        ("a".repeat(65), false),
        (format!("access_denied{}", "x".repeat(100)), false),
        ("consent_required.v2-1".to_owned(), true),
        ("0".to_owned(), true),
    ] {
        let mut ports = LoginPorts::default();
        ports.idp_never_called();
        let input = CallbackInput {
            error: Some(code.clone()),
            ..CallbackInput::default()
        };

        let result = ports.build().complete(input).await;

        let Err(LoginError::ProviderError { provider_error }) = result else {
            panic!("expected ProviderError, got {result:?}");
        };
        assert_eq!(provider_error, kept.then(|| code.clone()), "{code:?}");
    }
}

#[tokio::test]
async fn provider_error_code_is_judged_without_surrounding_whitespace() {
    let mut ports = LoginPorts::default();
    ports.idp_never_called();
    let input = CallbackInput {
        error: Some(" login_required\n".to_owned()),
        error_description: Some(" \r\n\t ".to_owned()),
        ..CallbackInput::default()
    };

    let result = ports.build().complete(input).await;

    assert!(
        matches!(&result, Err(LoginError::ProviderError { provider_error: Some(code) }) if code == "login_required"),
        "{result:?}"
    );
}

#[tokio::test]
async fn blank_provider_error_is_ignored_and_the_login_goes_on() {
    let mut ports = LoginPorts::default();
    ports.idp_never_called();
    let input = CallbackInput {
        error: Some(" \t ".to_owned()),
        error_description: Some("<b>ignored</b>".to_owned()),
        state: Some("state-1".to_owned()),
        ..CallbackInput::default()
    };

    let result = ports.build().complete(input).await;

    assert!(matches!(result, Err(LoginError::MissingCode)), "{result:?}");
}

#[tokio::test]
async fn missing_code_is_refused_before_calling_the_provider() {
    let mut ports = LoginPorts::default();
    ports.idp_never_called();
    let input = CallbackInput {
        state: Some("state-1".to_owned()),
        ..CallbackInput::default()
    };

    let result = ports.build().complete(input).await;

    assert!(matches!(result, Err(LoginError::MissingCode)), "{result:?}");
}

#[tokio::test]
async fn blank_code_is_refused_as_missing_before_calling_the_provider() {
    for blank in ["", "   ", "\t\n"] {
        let mut ports = LoginPorts::default();
        ports.idp_never_called();

        let result = ports.build().complete(callback(blank)).await;

        assert!(
            matches!(result, Err(LoginError::MissingCode)),
            "{blank:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn redirect_uri_that_is_not_allowed_is_refused_before_calling_the_provider() {
    for uri in [
        "https://evil.example/signin",
        "http://localhost:5173/signin/",
        "http://localhost:5173/signin?next=/admin",
        "HTTP://LOCALHOST:5173/signin",
        " ",
    ] {
        let mut ports = LoginPorts::default();
        ports.idp_never_called();
        let input = CallbackInput {
            redirect_uri: Some(uri.to_owned()),
            ..callback("code-1")
        };

        let result = ports.build().complete(input).await;

        assert!(
            matches!(result, Err(LoginError::InvalidRedirectUri)),
            "{uri:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn absent_redirect_uri_uses_the_default_and_the_login_succeeds() {
    let mut ports = LoginPorts::default();
    let mut order = Sequence::new();
    expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
        Ok(sso_identity("admin@acme.example"))
    });
    expect_no_exchange(&mut ports.idp, Flow::AuthKit);
    ports.expect_existing_user_session(Flow::Sso, "prof_sso_1", user("admin@acme.example"));

    let session = ports.build().complete(callback("code-1")).await.unwrap();

    assert_eq!(session.user.id, user_id(USER_ID));
    assert!(holds(&session.access_token, ACCESS_TOKEN));
    assert!(holds(&session.refresh_token, REFRESH_TOKEN));
    assert_eq!(session.session_id.as_str(), SESSION_ID);
}

#[tokio::test]
async fn explicitly_requested_allowed_redirect_uris_are_accepted() {
    for uri in [DEFAULT_REDIRECT, OTHER_ALLOWED_REDIRECT] {
        let mut ports = LoginPorts::default();
        let mut order = Sequence::new();
        expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
            Ok(sso_identity("admin@acme.example"))
        });
        ports.expect_existing_user_session(Flow::Sso, "prof_sso_1", user("admin@acme.example"));
        let input = CallbackInput {
            redirect_uri: Some(uri.to_owned()),
            ..callback("code-1")
        };

        let result = ports.build().complete(input).await;

        assert!(result.is_ok(), "{uri}: {result:?}");
    }
}

// ---- the exchange ---------------------------------------------------------------------

#[tokio::test]
async fn sso_success_signs_the_user_in_without_trying_authkit() {
    let mut ports = LoginPorts::default();
    let mut order = Sequence::new();
    expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
        Ok(sso_identity("admin@acme.example"))
    });
    expect_no_exchange(&mut ports.idp, Flow::AuthKit);
    ports.expect_existing_user_session(Flow::Sso, "prof_sso_1", user("admin@acme.example"));

    let session = ports.build().complete(callback("code-1")).await.unwrap();

    assert_eq!(session.user.workos_profile_id.as_deref(), Some("prof_sso_1"));
}

#[tokio::test]
async fn code_rejected_by_sso_is_exchanged_with_authkit_and_its_identity_used() {
    let mut ports = LoginPorts::default();
    let mut order = Sequence::new();
    expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
        Err(ExchangeError::InvalidCode)
    });
    expect_exchange(&mut ports.idp, &mut order, Flow::AuthKit, || {
        Ok(authkit_identity("admin@acme.example"))
    });
    // The user is looked up by the AuthKit id, not an SSO one.
    ports.expect_existing_user_session(Flow::AuthKit, "user_authkit_1", user("admin@acme.example"));

    let session = ports.build().complete(callback("code-1")).await.unwrap();

    assert_eq!(session.user.workos_user_id.as_deref(), Some("user_authkit_1"));
}

#[tokio::test]
async fn code_rejected_by_both_apis_is_an_invalid_code() {
    let mut ports = LoginPorts::default();
    let mut order = Sequence::new();
    expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
        Err(ExchangeError::InvalidCode)
    });
    expect_exchange(&mut ports.idp, &mut order, Flow::AuthKit, || {
        Err(ExchangeError::InvalidCode)
    });
    ports.users.expect_find_by_workos_subject().never();
    ports.users.expect_find_by_email().never();

    let result = ports.build().complete(callback("code-1")).await;

    assert!(matches!(result, Err(LoginError::InvalidCode)), "{result:?}");
}

#[tokio::test]
async fn sso_outage_is_reported_without_falling_back_to_authkit() {
    let mut ports = LoginPorts::default();
    let mut order = Sequence::new();
    expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
        Err(ExchangeError::Unavailable("connect timed out".into()))
    });
    expect_no_exchange(&mut ports.idp, Flow::AuthKit);

    let result = ports.build().complete(callback("code-1")).await;

    assert!(
        matches!(result, Err(LoginError::UpstreamUnavailable(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn unusable_sso_answer_is_upstream_unavailable_without_falling_back() {
    let mut ports = LoginPorts::default();
    let mut order = Sequence::new();
    expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
        Err(ExchangeError::Unexpected("HTTP 418".into()))
    });
    expect_no_exchange(&mut ports.idp, Flow::AuthKit);

    let result = ports.build().complete(callback("code-1")).await;

    assert!(
        matches!(result, Err(LoginError::UpstreamUnavailable(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn authkit_outage_after_the_sso_fallback_is_upstream_unavailable() {
    let mut ports = LoginPorts::default();
    let mut order = Sequence::new();
    expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
        Err(ExchangeError::InvalidCode)
    });
    expect_exchange(&mut ports.idp, &mut order, Flow::AuthKit, || {
        Err(ExchangeError::Unavailable("HTTP 503".into()))
    });

    let result = ports.build().complete(callback("code-1")).await;

    assert!(
        matches!(result, Err(LoginError::UpstreamUnavailable(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn step_required_passes_through_with_its_code_token_and_organizations() {
    let mut ports = LoginPorts::default();
    let mut order = Sequence::new();
    expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
        Err(ExchangeError::InvalidCode)
    });
    expect_exchange(&mut ports.idp, &mut order, Flow::AuthKit, || {
        Err(ExchangeError::StepRequired(Box::new(organization_selection())))
    });
    ports.users.expect_find_by_workos_subject().never();

    let result = ports.build().complete(callback("code-1")).await;

    let Err(LoginError::StepRequired(step)) = result else {
        panic!("expected StepRequired, got {result:?}");
    };
    assert_eq!(step.code, "organization_selection_required");
    assert!(holds(
        step.pending_authentication_token
            .as_ref()
            .expect("a pending token"),
        "pat_01HX"
    ));
    assert_eq!(step.organizations, organization_selection().organizations);
}

#[tokio::test]
async fn step_required_by_sso_passes_through_without_trying_authkit() {
    let mut ports = LoginPorts::default();
    let mut order = Sequence::new();
    expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
        let mut step = organization_selection();
        step.code = "mfa_enrollment".to_owned();
        Err(ExchangeError::StepRequired(Box::new(step)))
    });
    expect_no_exchange(&mut ports.idp, Flow::AuthKit);

    let result = ports.build().complete(callback("code-1")).await;

    assert!(
        matches!(&result, Err(LoginError::StepRequired(step)) if step.code == "mfa_enrollment"),
        "{result:?}"
    );
}

#[tokio::test]
async fn rejected_credentials_are_an_upstream_misconfiguration_without_falling_back() {
    let mut ports = LoginPorts::default();
    let mut order = Sequence::new();
    expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
        Err(ExchangeError::Misconfigured("invalid_client".into()))
    });
    expect_no_exchange(&mut ports.idp, Flow::AuthKit);

    let result = ports.build().complete(callback("code-1")).await;

    assert!(
        matches!(&result, Err(LoginError::UpstreamMisconfigured(m)) if m == "invalid_client"),
        "{result:?}"
    );
}

#[tokio::test]
async fn rate_limiting_keeps_the_retry_after_hint_without_falling_back() {
    let mut ports = LoginPorts::default();
    let mut order = Sequence::new();
    expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
        Err(ExchangeError::RateLimited {
            retry_after_seconds: Some(7),
        })
    });
    expect_no_exchange(&mut ports.idp, Flow::AuthKit);

    let result = ports.build().complete(callback("code-1")).await;

    assert!(
        matches!(
            result,
            Err(LoginError::UpstreamRateLimited {
                retry_after_seconds: Some(7)
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn exchange_with_only_authkit_calls_only_authkit_and_passes_the_pkce_verifier() {
    let mut ports = LoginPorts::default();
    ports
        .idp
        .expect_exchange()
        .withf(|flow, code, pkce, _| {
            *flow == Flow::AuthKit
                && holds(code, "code-1")
                && pkce.as_ref().is_some_and(|v| holds(v, "verifier-1"))
        })
        .times(1)
        .returning(|_, _, _, _| Ok(authkit_identity("admin@acme.example")));
    expect_no_exchange(&mut ports.idp, Flow::Sso);

    let identity = ports
        .build()
        .exchange(
            ExchangePlan::Only(Flow::AuthKit),
            &secret("code-1"),
            Some(secret("verifier-1")),
            &ClientContext::default(),
        )
        .await
        .unwrap();

    assert_eq!(identity, authkit_identity("admin@acme.example"));
}

#[tokio::test]
async fn exchange_with_only_sso_does_not_fall_back_to_authkit_on_an_invalid_code() {
    let mut ports = LoginPorts::default();
    let mut order = Sequence::new();
    expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
        Err(ExchangeError::InvalidCode)
    });
    expect_no_exchange(&mut ports.idp, Flow::AuthKit);

    let result = ports
        .build()
        .exchange(
            ExchangePlan::Only(Flow::Sso),
            &secret("code-1"),
            None,
            &ClientContext::default(),
        )
        .await;

    assert!(matches!(result, Err(LoginError::InvalidCode)), "{result:?}");
}

#[tokio::test]
async fn sso_then_authkit_keeps_the_pkce_verifier_for_authkit_only() {
    let mut ports = LoginPorts::default();
    let mut order = Sequence::new();
    expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
        Err(ExchangeError::InvalidCode)
    });
    ports
        .idp
        .expect_exchange()
        .withf(|flow, _, pkce, _| {
            *flow == Flow::AuthKit && pkce.as_ref().is_some_and(|v| holds(v, "verifier-1"))
        })
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _, _, _| Ok(authkit_identity("admin@acme.example")));

    let identity = ports
        .build()
        .exchange(
            ExchangePlan::SsoThenAuthKit,
            &secret("code-1"),
            Some(secret("verifier-1")),
            &ClientContext::default(),
        )
        .await
        .unwrap();

    assert_eq!(identity.flow, Flow::AuthKit);
}

// ---- after the exchange ---------------------------------------------------------------

#[tokio::test]
async fn user_store_outage_during_provisioning_is_store_unavailable_and_no_session_is_issued() {
    let mut ports = LoginPorts::default();
    let mut order = Sequence::new();
    expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
        Ok(sso_identity("admin@acme.example"))
    });
    ports
        .users
        .expect_record_login_by_workos_subject()
        .times(1)
        .returning(|_, _, _| Err(RepositoryError::Unavailable("server selection timed out".into())));
    ports.tokens.expect_new_session_id().never();
    ports.tokens.expect_issue_access_token().never();
    ports.sessions.expect_start().never();

    let result = ports.build().complete(callback("code-1")).await;

    assert!(
        matches!(
            result,
            Err(LoginError::Failure(crate::Failure::StoreUnavailable(_)))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn session_store_outage_is_store_unavailable() {
    let mut ports = LoginPorts::default();
    let mut order = Sequence::new();
    expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
        Ok(sso_identity("admin@acme.example"))
    });
    ports.expect_existing_user(Flow::Sso, "prof_sso_1", user("admin@acme.example"));
    ports.expect_policy_of(org_id(ACME_ORG));
    ports.tokens = token_issuer();
    ports
        .sessions
        .expect_start()
        .times(1)
        .returning(|_| Err(RepositoryError::Unavailable("not primary".into())));

    let result = ports.build().complete(callback("code-1")).await;

    assert!(
        matches!(
            result,
            Err(LoginError::Failure(crate::Failure::StoreUnavailable(_)))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn disabled_user_is_refused_and_no_session_is_issued() {
    let mut ports = LoginPorts::default();
    let mut order = Sequence::new();
    expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
        Ok(sso_identity("admin@acme.example"))
    });
    // The one-write sign-in skips a disabled user; taken for a new person, the insert
    // meets the WorkOS id already stored, and the matching rule finds the user.
    ports
        .users
        .expect_record_login_by_workos_subject()
        .times(1)
        .returning(|_, _, _| Ok(None));
    ports.organizations = Organizations::created_in_order([org(OLDEST_ORG)]).mock();
    ports
        .users
        .expect_insert()
        .times(1)
        .returning(|_| Err(RepositoryError::Duplicate));
    ports
        .users
        .expect_find_by_workos_subject()
        .times(1)
        .returning(|_, _| {
            let mut disabled = user("admin@acme.example");
            disabled.workos_profile_id = Some("prof_sso_1".to_owned());
            disabled.login_disabled = true;
            Ok(Some(disabled))
        });
    ports.users.expect_record_login().never();
    ports.tokens.expect_new_session_id().never();
    ports.sessions.expect_start().never();

    let result = ports.build().complete(callback("code-1")).await;

    assert!(matches!(result, Err(LoginError::LoginDisabled)), "{result:?}");
}

#[tokio::test]
async fn new_user_without_any_organization_is_no_organization() {
    let mut ports = LoginPorts::default();
    let mut order = Sequence::new();
    expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
        Ok(sso_identity("jane@acme.example"))
    });
    ports
        .users
        .expect_record_login_by_workos_subject()
        .times(1)
        .returning(|_, _, _| Ok(None));
    // No organization for a new person: the matching rule finds nobody either.
    ports
        .users
        .expect_find_by_workos_subject()
        .times(1)
        .returning(|_, _| Ok(None));
    ports
        .users
        .expect_find_by_email()
        .times(1)
        .returning(|_| Ok(None));
    ports.users.expect_insert().never();
    ports.organizations = Organizations::none().mock();
    ports.tokens.expect_new_session_id().never();

    let input = CallbackInput {
        organization_id: Some(MISSING_ORG.to_owned()),
        ..callback("code-1")
    };
    let result = ports.build().complete(input).await;

    assert!(matches!(result, Err(LoginError::NoOrganization)), "{result:?}");
}

#[tokio::test]
async fn new_user_joins_the_organization_the_login_requests_and_gets_a_session_there() {
    let mut ports = LoginPorts::default();
    let mut order = Sequence::new();
    expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
        Ok(sso_identity("jane@acme.example"))
    });
    ports
        .users
        .expect_record_login_by_workos_subject()
        .times(1)
        .returning(|_, _, _| Ok(None));
    // Taken for a new person straight away: no lookup before the insert.
    ports.users.expect_find_by_workos_subject().never();
    ports.users.expect_find_by_email().never();
    ports
        .users
        .expect_insert()
        .withf(|new_user| new_user.organization_id == org_id(ACME_ORG) && new_user.full_name == "Jane Doe")
        .times(1)
        .returning(|new_user| Ok(created(new_user)));
    // The identity's WorkOS organization is mapped to no organization.
    ports.organizations = Organizations::created_in_order([org(OLDEST_ORG), org(ACME_ORG)]).mock();
    // The organization just read gives the session policy: no second read.
    ports.expect_session_record(org_id(ACME_ORG));
    ports.policy_organizations.expect_find_by_id().never();

    let input = CallbackInput {
        organization_id: Some(ACME_ORG.to_owned()),
        ..callback("code-1")
    };
    let session = ports.build().complete(input).await.unwrap();

    assert_eq!(session.user.id, user_id(NEW_USER_ID));
    assert_eq!(session.user.organization_id, org_id(ACME_ORG));
}

#[tokio::test]
async fn token_signing_failure_is_an_internal_error_and_no_session_is_stored() {
    let mut ports = LoginPorts::default();
    let mut order = Sequence::new();
    expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
        Ok(sso_identity("admin@acme.example"))
    });
    ports.expect_existing_user(Flow::Sso, "prof_sso_1", user("admin@acme.example"));
    ports.expect_policy_of(org_id(ACME_ORG));
    ports
        .tokens
        .expect_new_session_id()
        .returning(|| SessionId::new(SESSION_ID));
    ports
        .tokens
        .expect_issue_access_token()
        .times(1)
        .returning(|_| Err(TokenError("signing key unusable".into())));
    ports.tokens.expect_mint_refresh_token().returning(minted);
    ports.sessions.expect_start().never();

    let result = ports.build().complete(callback("code-1")).await;

    assert!(
        matches!(result, Err(LoginError::Failure(crate::Failure::Internal(_)))),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_email_match_workos_does_not_vouch_for_is_account_link_required_and_no_session_is_issued() {
    let mut ports = LoginPorts::default();
    let mut order = Sequence::new();
    expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
        Ok(sso_identity("CEO@Acme.Example"))
    });
    ports
        .users
        .expect_record_login_by_workos_subject()
        .times(1)
        .returning(|_, _, _| Ok(None));
    // Taken for a new person, the insert meets the stored address (writing nothing).
    // The victim's organization is mapped to another WorkOS organization.
    ports.organizations =
        Organizations::created_in_order([org(OLDEST_ORG), mapped_org(ACME_ORG, WORKOS_ORG_B)]).mock();
    ports
        .users
        .expect_insert()
        .times(1)
        .returning(|_| Err(RepositoryError::Duplicate));
    ports
        .users
        .expect_find_by_workos_subject()
        .times(1)
        .returning(|_, _| Ok(None));
    ports
        .users
        .expect_find_by_email()
        .withf(|e| e.as_str() == "ceo@acme.example")
        .times(1)
        .returning(|_| Ok(Some(user("ceo@acme.example"))));
    ports.users.expect_record_login().never();
    ports.tokens.expect_new_session_id().never();
    ports.tokens.expect_issue_access_token().never();
    ports.sessions.expect_start().never();

    let result = ports.build().complete(callback("code-1")).await;

    assert!(
        matches!(result, Err(LoginError::AccountLinkRequired)),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_new_user_asking_for_another_organization_than_the_mapped_one_is_organization_mismatch() {
    let mut ports = LoginPorts::default();
    let mut order = Sequence::new();
    expect_exchange(&mut ports.idp, &mut order, Flow::Sso, || {
        Ok(sso_identity("jane@acme.example"))
    });
    ports
        .users
        .expect_record_login_by_workos_subject()
        .times(1)
        .returning(|_, _, _| Ok(None));
    // The refused choice leaves it to the matching rule, which finds nobody.
    ports
        .users
        .expect_find_by_workos_subject()
        .times(1)
        .returning(|_, _| Ok(None));
    ports
        .users
        .expect_find_by_email()
        .times(1)
        .returning(|_| Ok(None));
    ports.organizations =
        Organizations::created_in_order([mapped_org(ACME_ORG, WORKOS_ORG_A), org(DEFAULT_ORG)]).mock();
    ports.users.expect_insert().never();
    ports.users.expect_record_login().never();
    ports.tokens.expect_new_session_id().never();
    ports.sessions.expect_start().never();

    let input = CallbackInput {
        organization_id: Some(DEFAULT_ORG.to_owned()),
        ..callback("code-1")
    };
    let result = ports.build().complete(input).await;

    assert!(
        matches!(result, Err(LoginError::OrganizationMismatch)),
        "{result:?}"
    );
}

// ---- a step the provider asked for --------------------------------------------------------

fn step_input(token: Option<&str>, answer: crate::StepAnswer) -> crate::StepInput {
    crate::StepInput {
        pending_authentication_token: token.map(secret),
        answer,
        client: ClientContext {
            ip_address: Some("203.0.113.7".to_owned()),
            user_agent: Some("Browser/1.0".to_owned()),
        },
    }
}

#[tokio::test]
async fn a_picked_organization_completes_the_login_with_the_same_rules_and_session_as_a_callback() {
    let mut ports = LoginPorts::default();
    ports
        .idp
        .expect_complete_step()
        .withf(|step, client| {
            matches!(step, crate::PendingStep::OrganizationSelection { pending_authentication_token, organization_id }
                if holds(pending_authentication_token, "pending-1") && organization_id.as_str() == "org_01PICKED")
                && client.ip_address.as_deref() == Some("203.0.113.7")
                && client.user_agent.as_deref() == Some("Browser/1.0")
        })
        .times(1)
        .returning(|_, _| Ok(authkit_identity("admin@acme.example")));
    ports.idp_never_called();
    ports.expect_existing_user_session(Flow::AuthKit, "user_authkit_1", user("admin@acme.example"));

    let input = step_input(
        Some("pending-1"),
        crate::StepAnswer::Organization(Some(" org_01PICKED ".to_owned())),
    );
    let session = ports.build().complete_step(input).await.unwrap();

    assert_eq!(session.user.id, user_id(USER_ID));
    assert_eq!(session.session_id.as_str(), SESSION_ID);
    assert!(holds(&session.refresh_token, REFRESH_TOKEN));
}

#[tokio::test]
async fn an_emailed_code_completes_the_login_and_a_further_step_is_answered_as_a_step() {
    let mut ports = LoginPorts::default();
    ports
        .idp
        .expect_complete_step()
        .withf(|step, _| {
            matches!(step, crate::PendingStep::EmailVerification { pending_authentication_token, code }
                if holds(pending_authentication_token, "pending-2") && holds(code, "123456"))
        })
        .times(1)
        .returning(|_, _| {
            Err(ExchangeError::StepRequired(Box::new(StepRequired {
                code: "organization_selection_required".to_owned(),
                message: "pick one".to_owned(),
                pending_authentication_token: Some(secret("pending-3")),
                organizations: vec![PendingOrganization {
                    id: "org_01A".to_owned(),
                    name: "A".to_owned(),
                }],
                email: None,
            })))
        });
    ports.users.expect_insert().never();
    ports.sessions.expect_start().never();

    let input = step_input(
        Some("pending-2"),
        crate::StepAnswer::EmailCode(Some(secret("123456"))),
    );
    let err = ports.build().complete_step(input).await.unwrap_err();

    let LoginError::StepRequired(step) = err else {
        panic!("expected a further step, got {err:?}");
    };
    assert_eq!(step.code, "organization_selection_required");
    assert!(holds(
        step.pending_authentication_token.as_ref().unwrap(),
        "pending-3"
    ));
}

#[tokio::test]
async fn a_step_answer_missing_or_malformed_is_refused_before_the_provider_is_asked() {
    let long = "p".repeat(2049);
    let cases = [
        (
            None,
            crate::StepAnswer::Organization(Some("org_01A".to_owned())),
            "pendingAuthenticationToken",
        ),
        (
            Some("  "),
            crate::StepAnswer::Organization(Some("org_01A".to_owned())),
            "pendingAuthenticationToken",
        ),
        (
            Some(long.as_str()),
            crate::StepAnswer::Organization(Some("org_01A".to_owned())),
            "pendingAuthenticationToken",
        ),
        (
            Some("pend\ning"),
            crate::StepAnswer::EmailCode(Some(secret("1"))),
            "pendingAuthenticationToken",
        ),
        (
            Some("pending"),
            crate::StepAnswer::Organization(None),
            "organizationId",
        ),
        (
            Some("pending"),
            crate::StepAnswer::Organization(Some("64a1b2c3d4e5f60012345678".to_owned())),
            "organizationId",
        ),
        (
            Some("pending"),
            crate::StepAnswer::Organization(Some("org_../x".to_owned())),
            "organizationId",
        ),
        (Some("pending"), crate::StepAnswer::EmailCode(None), "code"),
        (
            Some("pending"),
            crate::StepAnswer::EmailCode(Some(secret("12 34"))),
            "code",
        ),
        (
            Some("pending"),
            crate::StepAnswer::EmailCode(Some(secret(&"1".repeat(65)))),
            "code",
        ),
    ];
    for (token, answer, field) in cases {
        let mut ports = LoginPorts::default();
        ports.idp.expect_complete_step().never();
        ports.idp_never_called();
        let err = ports
            .build()
            .complete_step(step_input(token, answer))
            .await
            .unwrap_err();
        match err {
            LoginError::InvalidRequest(message) => {
                assert!(message.starts_with(field), "{field}: {message}");
                assert!(
                    !message.contains("pend\ning") && !message.contains("12 34"),
                    "{message}"
                );
            }
            other => panic!("{field}: expected InvalidRequest, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_callback_passes_where_the_post_came_from_to_the_provider() {
    let mut ports = LoginPorts::default();
    ports
        .idp
        .expect_exchange()
        .withf(|_, _, _, client| {
            client.ip_address.as_deref() == Some("198.51.100.4")
                && client.user_agent.as_deref() == Some("UA/2")
        })
        .returning(|_, _, _, _| Ok(sso_identity("admin@acme.example")));
    ports.expect_existing_user_session(Flow::Sso, "prof_sso_1", user("admin@acme.example"));
    let input = CallbackInput {
        client: ClientContext {
            ip_address: Some("198.51.100.4".to_owned()),
            user_agent: Some("UA/2".to_owned()),
        },
        ..callback("code-1")
    };

    let session = ports.build().complete(input).await.unwrap();

    assert_eq!(session.user.id, user_id(USER_ID));
}
