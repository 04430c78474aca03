//! The start of a login and its callback: what is recorded, what the provider is
//! asked, what the client gets, and what is stored.

use std::sync::Arc;

use tether_domain::{
    AuthorizeInput, CallbackInput, ClientContext, ExchangeError, ExchangePlan, Failure, LoginError,
    LoginStateStore, MockSessionStore, PendingOrganization, RepositoryError, SessionLifetimes, StartError,
    StateTake, StepAnswer, StepInput, StepRequired, TokenHash,
};

use crate::support::*;

/// What a refusal must be.
type Expected = fn(&LoginError) -> bool;

/// A world that accepts states it did not issue (the SSO-then-AuthKit fallback).
fn unissued() -> World {
    World::with(|_, policies| policies.accept_unissued_state = true)
}

/// A callback of `code` with no state.
fn bare(code: &str) -> CallbackInput {
    CallbackInput {
        code: Some(secret(code)),
        ..CallbackInput::default()
    }
}

/// Completes `input`, expecting a refusal before the provider is asked and nothing stored.
async fn refused_early(w: &World, input: CallbackInput) -> LoginError {
    let refused = w.services.login.complete(input).await.unwrap_err();
    assert!(
        w.idp.exchanges().is_empty(),
        "{refused:?}: the provider was asked"
    );
    assert!(w.sessions().await.is_empty(), "{refused:?}: a session was stored");
    refused
}

#[tokio::test]
async fn a_login_signs_the_user_in_and_stores_one_session_holding_its_first_refresh_token() {
    let w = World::new();
    let org = w.add_org("Acme", 1, None);
    w.idp.code("code-1", authkit("user_1", "jane@acme.example", true));
    let state = w.start(AUTHKIT).await;
    let client = ClientContext {
        ip_address: Some("203.0.113.7".to_owned()),
        user_agent: Some("Firefox".to_owned()),
    };
    let input = CallbackInput {
        client: client.clone(),
        ..World::posted("code-1", &state)
    };
    let session = w.services.login.complete(input).await.unwrap();

    let user = w.user_by_email("jane@acme.example").await.unwrap();
    assert_eq!((&session.user, user.organization_id), (&user, org));
    let exchanges = w.idp.exchanges();
    assert_eq!(exchanges.len(), 1, "the provider is asked once");
    assert_eq!(exchanges[0].flow, AUTHKIT);
    assert_eq!(exchanges[0].pkce_verifier, Some(format!("pkce-{state}")));
    assert_eq!(exchanges[0].client, client);

    let stored = w.sessions().await;
    assert_eq!(stored.len(), 1);
    let record = &stored[0];
    assert_eq!(record.id, session.session_id);
    assert_eq!((record.user_id, record.organization_id), (user.id, org));
    let lifetime = SessionLifetimes::default();
    assert_eq!(
        (record.started_at, record.ends_at),
        (t0(), at(lifetime.absolute_session_seconds))
    );
    let live = record.refresh_token.as_ref().unwrap();
    assert_eq!(live.hash, Tokens::digest(shown(&session.refresh_token)));
    assert_eq!(live.expires_at, at(lifetime.refresh_token_seconds));
    assert_eq!(session.refresh_token_expires_at, live.expires_at);
    assert!(
        record.login_answer.is_some(),
        "a bound login can be answered twice"
    );
    assert!(record.revoked_at.is_none() && record.last_rotation.is_none());
    let claims = w.tokens.claims(&session.access_token);
    assert_eq!((claims.user_id, claims.session_id), (user.id, record.id.clone()));
}

// ---- what is refused before the provider is asked --------------------------------

#[tokio::test]
async fn a_provider_error_answers_only_a_clean_code_and_the_provider_is_never_asked() {
    let long = "a".repeat(64);
    let too_long = "a".repeat(65);
    for (error, answered) in [
        ("access_denied", Some("access_denied")),
        ("  access_denied\n", Some("access_denied")),
        (long.as_str(), Some(long.as_str())),
        (too_long.as_str(), None),
        ("Access Denied", None),
        ("<script>alert(1)</script>", None),
    ] {
        let w = World::new();
        let input = CallbackInput {
            error: Some(error.to_owned()),
            error_description: Some("x\u{7}y".to_owned()),
            ..bare("code-1")
        };
        let refused = refused_early(&w, input).await;
        let LoginError::ProviderError { provider_error } = refused else {
            panic!("{refused:?}")
        };
        assert_eq!(provider_error.as_deref(), answered, "{error:?}");
    }
}

#[tokio::test]
async fn a_missing_code_or_a_redirect_uri_not_allowed_is_refused_before_the_provider_is_asked() {
    let w = World::new();
    let missing = refused_early(&w, CallbackInput::default()).await;
    assert!(matches!(missing, LoginError::MissingCode), "{missing:?}");
    let blank = refused_early(&w, bare("  ")).await;
    assert!(matches!(blank, LoginError::MissingCode), "{blank:?}");
    let input = CallbackInput {
        redirect_uri: Some("https://evil.example/cb".to_owned()),
        ..bare("code-1")
    };
    let elsewhere = refused_early(&w, input).await;
    assert!(
        matches!(elsewhere, LoginError::InvalidRedirectUri),
        "{elsewhere:?}"
    );
}

#[tokio::test]
async fn a_blank_provider_error_is_ignored_and_the_login_goes_on() {
    let w = unissued();
    w.add_org("Acme", 1, None);
    w.idp.code("code-1", sso("prof_1", "jane@acme.example", None));
    let input = CallbackInput {
        error: Some(" ".to_owned()),
        ..bare("code-1")
    };
    assert!(w.services.login.complete(input).await.is_ok());
}

// ---- which API is asked ------------------------------------------------------------

#[tokio::test]
async fn a_recorded_state_names_the_one_api_to_ask() {
    let w = World::new();
    w.add_org("Acme", 1, None);
    // An AuthKit code posted for a login started with SSO: never retried with AuthKit.
    w.idp.code("code-1", authkit("user_1", "jane@acme.example", true));
    let state = w.start(SSO).await;
    let refused = w.services.login.complete(World::posted("code-1", &state)).await;
    assert!(matches!(refused, Err(LoginError::InvalidCode)), "{refused:?}");
    assert_eq!(w.idp.flows_asked(), [SSO]);
    assert_eq!(w.idp.exchanges()[0].pkce_verifier, None, "SSO logins use no PKCE");
}

#[tokio::test]
async fn an_unissued_state_asks_sso_first_and_authkit_only_when_sso_says_the_code_is_not_its_own() {
    let w = unissued();
    w.add_org("Acme", 1, None);
    w.idp.code("sso-code", sso("prof_1", "jane@acme.example", None));
    w.idp
        .code("authkit-code", authkit("user_1", "kim@acme.example", true));
    let jane = w.services.login.complete(bare("sso-code")).await.unwrap();
    assert_eq!(w.idp.flows_asked(), [SSO]);
    let kim = w.services.login.complete(bare("authkit-code")).await.unwrap();
    assert_eq!(w.idp.flows_asked(), [SSO, SSO, AUTHKIT]);
    assert_eq!(
        (jane.user.email.as_str(), kim.user.email.as_str()),
        ("jane@acme.example", "kim@acme.example")
    );
    let refused = w.services.login.complete(bare("unknown-code")).await;
    assert!(matches!(refused, Err(LoginError::InvalidCode)), "{refused:?}");
    assert_eq!(w.sessions().await.len(), 2);
}

fn organization_selection() -> StepRequired {
    StepRequired {
        code: "organization_selection_required".to_owned(),
        message: "Choose an organization.".to_owned(),
        pending_authentication_token: Some(secret("pat_01HX")),
        organizations: vec![PendingOrganization {
            id: "org_01A".to_owned(),
            name: "Acme".to_owned(),
        }],
        email: Some("jane@acme.example".to_owned()),
    }
}

#[tokio::test]
async fn an_sso_failure_other_than_an_invalid_code_is_answered_without_trying_authkit() {
    let failures: [(fn() -> ExchangeError, Expected); 5] = [
        (
            || ExchangeError::Unavailable("timeout".into()),
            |e| matches!(e, LoginError::UpstreamUnavailable(_)),
        ),
        (
            || ExchangeError::Unexpected("html".into()),
            |e| matches!(e, LoginError::UpstreamUnavailable(_)),
        ),
        (
            || ExchangeError::Misconfigured("invalid_client".into()),
            |e| matches!(e, LoginError::UpstreamMisconfigured(m) if m == "invalid_client"),
        ),
        (
            || ExchangeError::RateLimited {
                retry_after_seconds: Some(7),
            },
            |e| {
                matches!(
                    e,
                    LoginError::UpstreamRateLimited {
                        retry_after_seconds: Some(7)
                    }
                )
            },
        ),
        (
            || ExchangeError::StepRequired(Box::new(organization_selection())),
            |e| matches!(e, LoginError::StepRequired(s) if s.code == "organization_selection_required" && s.organizations.len() == 1),
        ),
    ];
    for (failure, expected) in failures {
        let w = unissued();
        w.idp.answer("code-1", move |_| Err(failure()));
        let refused = w.services.login.complete(bare("code-1")).await.unwrap_err();
        assert!(expected(&refused), "{refused:?}");
        assert_eq!(w.idp.flows_asked(), [SSO], "{refused:?}");
        assert!(w.sessions().await.is_empty());
    }
    // After the fallback, AuthKit's failure is the answer.
    let w = unissued();
    w.idp.answer("code-1", |flow| match flow {
        SSO => Err(ExchangeError::InvalidCode),
        _ => Err(ExchangeError::Unavailable("down".into())),
    });
    let refused = w.services.login.complete(bare("code-1")).await;
    assert!(
        matches!(refused, Err(LoginError::UpstreamUnavailable(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn the_fallback_passes_a_pkce_verifier_to_authkit_only() {
    let w = World::new();
    w.idp.code("code-1", authkit("user_1", "jane@acme.example", true));
    let client = ClientContext::default();
    let plan = ExchangePlan::SsoThenAuthKit;
    let identity = w
        .services
        .login
        .exchange(plan, &secret("code-1"), Some(secret("v")), &client)
        .await;
    assert_eq!(identity.unwrap().subject, "user_1");
    let verifiers: Vec<_> = w.idp.exchanges().into_iter().map(|e| e.pkce_verifier).collect();
    assert_eq!(verifiers, [None, Some("v".to_owned())]);
}

#[tokio::test]
async fn a_state_taken_for_a_login_the_provider_asks_to_wait_is_put_back_for_the_retry() {
    let w = World::new();
    w.add_org("Acme", 1, None);
    w.idp.answer("code-1", |_| {
        Err(ExchangeError::RateLimited {
            retry_after_seconds: Some(1),
        })
    });
    let state = w.start(SSO).await;
    let waited = w.services.login.complete(World::posted("code-1", &state)).await;
    assert!(
        matches!(waited, Err(LoginError::UpstreamRateLimited { .. })),
        "{waited:?}"
    );
    assert_eq!(w.states.len(), 1, "the state is back");
    w.idp.code("code-1", sso("prof_1", "jane@acme.example", None));
    assert!(
        w.services
            .login
            .complete(World::posted("code-1", &state))
            .await
            .is_ok()
    );

    // A code the provider refuses consumes the state for good.
    let state = w.start(SSO).await;
    let refused = w.services.login.complete(World::posted("code-2", &state)).await;
    assert!(matches!(refused, Err(LoginError::InvalidCode)), "{refused:?}");
    assert!(w.states.is_empty());
}

// ---- what the trust rules refuse ----------------------------------------------------

#[tokio::test]
async fn a_refusal_of_the_trust_rules_is_answered_and_no_session_is_stored() {
    let w = World::new();
    let acme = w.add_org("Acme", 1, None);
    let mapped = w.add_org("A", 2, Some(TENANT_A));
    w.add_user(UserSpec {
        disabled: true,
        links: vec![(SSO, "prof_off")],
        ..user("off@acme.example", acme)
    });
    w.add_user(user("jane@acme.example", acme));
    let cases: [(_, Option<String>, Expected); 3] = [
        (sso("prof_off", "off@acme.example", None), None, |e| {
            matches!(e, LoginError::LoginDisabled)
        }),
        (authkit("user_1", "jane@acme.example", false), None, |e| {
            matches!(e, LoginError::AccountLinkRequired)
        }),
        (
            authkit("user_2", "new@acme.example", true),
            Some(mapped.to_string()),
            |e| matches!(e, LoginError::OrganizationMismatch),
        ),
    ];
    for (identity, requested, expected) in cases {
        let refused = w
            .login_requesting(identity, requested.as_deref())
            .await
            .unwrap_err();
        assert!(expected(&refused), "{refused:?}");
    }
    assert!(w.sessions().await.is_empty());
    assert_eq!(w.user_count(), 2);

    let empty = World::new();
    let refused = empty.login(authkit("user_1", "jane@acme.example", true)).await;
    assert!(matches!(refused, Err(LoginError::NoOrganization)), "{refused:?}");
}

#[tokio::test]
async fn a_new_user_joins_the_organization_the_login_was_started_for_or_the_callback_names() {
    let w = World::new();
    w.add_org("Oldest", 1, None);
    let wanted = w.add_org("Wanted", 2, None);
    let session = w
        .login_requesting(
            sso("prof_1", "jane@acme.example", None),
            Some(&wanted.to_string()),
        )
        .await
        .unwrap();
    assert_eq!(session.user.organization_id, wanted);
    let started = w
        .services
        .start
        .start(AuthorizeInput {
            organization_id: Some(wanted.to_string()),
            ..AuthorizeInput::default()
        })
        .await
        .unwrap();
    let state = started
        .url
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    w.idp.code("code-9", authkit("user_9", "kim@acme.example", true));
    let input = CallbackInput {
        client_verifier: None,
        ..World::posted("code-9", state)
    };
    assert_eq!(
        w.services
            .login
            .complete(input)
            .await
            .unwrap()
            .user
            .organization_id,
        wanted
    );
}

#[tokio::test]
async fn a_store_outage_or_a_signing_failure_fails_the_login_and_stores_no_session() {
    let w = World::with(|ports, _| {
        let mut down = MockSessionStore::new();
        down.expect_start()
            .returning(|_| Err(RepositoryError::Unavailable("down".into())));
        down.expect_find_by_login_answer().returning(|_| Ok(None));
        ports.sessions = Arc::new(down);
    });
    w.add_org("Acme", 1, None);
    let failed = w.login(authkit("user_1", "jane@acme.example", true)).await;
    assert!(
        matches!(failed, Err(LoginError::Failure(Failure::StoreUnavailable(_)))),
        "{failed:?}"
    );

    let w = World::new();
    w.add_org("Acme", 1, None);
    w.tokens
        .refuse_signing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let failed = w.login(authkit("user_1", "jane@acme.example", true)).await;
    assert!(
        matches!(failed, Err(LoginError::Failure(Failure::Internal(_)))),
        "{failed:?}"
    );
    assert!(w.sessions().await.is_empty());
}

// ---- a step the provider asked for ---------------------------------------------------

fn step(token: Option<&str>, answer: StepAnswer) -> StepInput {
    StepInput {
        pending_authentication_token: token.map(secret),
        answer,
        client: ClientContext::default(),
    }
}

#[tokio::test]
async fn an_answered_step_completes_the_login_with_the_same_rules_and_session_as_a_callback() {
    let w = World::new();
    let mapped = w.add_org("A", 1, Some(TENANT_A));
    w.idp
        .step(|_| Ok(sso("prof_1", "jane@acme.example", Some(TENANT_A))));
    let picked = StepAnswer::Organization(Some(format!(" {TENANT_A} ")));
    let session = w
        .services
        .login
        .complete_step(step(Some("pat_1"), picked))
        .await
        .unwrap();
    assert_eq!(session.user.organization_id, mapped);
    let stored = w.session(&session.session_id).await.unwrap();
    assert!(stored.login_answer.is_none());
    assert!(
        matches!(&w.idp.steps()[0], tether_domain::PendingStep::OrganizationSelection { organization_id, .. } if organization_id.as_str() == TENANT_A)
    );

    w.idp
        .step(|_| Err(ExchangeError::StepRequired(Box::new(organization_selection()))));
    let further = w
        .services
        .login
        .complete_step(step(Some("pat_2"), StepAnswer::EmailCode(Some(secret("123456")))))
        .await;
    assert!(matches!(further, Err(LoginError::StepRequired(_))), "{further:?}");
}

#[tokio::test]
async fn a_step_answer_missing_or_malformed_is_refused_before_the_provider_is_asked() {
    let long = "p".repeat(2049);
    let org = |raw: &str| StepAnswer::Organization(Some(raw.to_owned()));
    let code = |raw: &str| StepAnswer::EmailCode(Some(secret(raw)));
    let cases = [
        (None, org(TENANT_A), "pendingAuthenticationToken"),
        (Some("  "), org(TENANT_A), "pendingAuthenticationToken"),
        (Some(long.as_str()), org(TENANT_A), "pendingAuthenticationToken"),
        (Some("pend\ning"), code("1"), "pendingAuthenticationToken"),
        (Some("pending"), StepAnswer::Organization(None), "organizationId"),
        (Some("pending"), org("64a1b2c3d4e5f60012345678"), "organizationId"),
        (Some("pending"), StepAnswer::EmailCode(None), "code"),
        (Some("pending"), code("12 34"), "code"),
        (Some("pending"), code(&"1".repeat(65)), "code"),
    ];
    let w = World::new();
    for (token, answer, field) in cases {
        match w.services.login.complete_step(step(token, answer)).await {
            Err(LoginError::InvalidRequest(message)) => {
                assert!(message.starts_with(field), "{field}: {message}");
                assert!(!message.contains("12 34"), "{message}");
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    assert!(w.idp.steps().is_empty());
}

// ---- the start of a login --------------------------------------------------------------

/// The record a start saved for `state` (taken, as its callback would).
async fn recorded(w: &World, state: &str) -> tether_domain::LoginStateRecord {
    let challenge = tether_domain::ClientChallenge::parse(&challenge_of(VERIFIER)).unwrap();
    match w
        .states
        .take(&TokenHash::new(format!("s({state})")), Some(&challenge))
        .await
        .unwrap()
    {
        StateTake::Taken(record) => record,
        other => panic!("{other:?}"),
    }
}

async fn start(w: &World, input: AuthorizeInput) -> Result<(String, String), StartError> {
    let started = w.services.start.start(input).await?;
    let state = started
        .url
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    Ok((started.url, state))
}

#[tokio::test]
async fn a_start_records_its_state_with_the_api_chosen_and_pkce_for_authkit_only() {
    let w = World::new();
    let hint = |field: &str| {
        let mut input = AuthorizeInput {
            client_challenge: Some(challenge_of(VERIFIER)),
            ..AuthorizeInput::default()
        };
        match field {
            "organization" => input.organization_id = Some(TENANT_A.to_owned()),
            "local organization" => input.organization_id = Some("64a1b2c3d4e5f60012345678".to_owned()),
            "connection" => input.connection = Some("conn_1".to_owned()),
            "domain" => input.domain_hint = Some("acme.example".to_owned()),
            _ => {}
        }
        input
    };
    for (field, flow, forwarded) in [
        ("nothing", AUTHKIT, ""),
        ("organization", SSO, TENANT_A),
        ("local organization", AUTHKIT, ""),
        ("connection", SSO, ""),
        ("domain", SSO, ""),
    ] {
        let (url, state) = start(&w, hint(field)).await.unwrap();
        let record = recorded(&w, &state).await;
        assert_eq!((record.flow, record.pkce), (flow, flow == AUTHKIT), "{field}");
        assert!(url.contains(&format!("flow={}", flow.as_str())), "{url}");
        assert!(
            url.contains(&format!("organization={forwarded}&")),
            "{field}: only tenants are forwarded: {url}"
        );
        assert_eq!(url.ends_with("challenge="), flow != AUTHKIT, "{url}");
        assert_eq!(
            record.organization_hint,
            hint(field).organization_id,
            "every hint is recorded"
        );
        assert_eq!((record.created_at, record.expires_at), (t0(), at(600)));
        assert_eq!(record.redirect_uri, DEFAULT_REDIRECT);
        assert_eq!(
            record.client_challenge.map(|c| c.as_str().to_owned()),
            Some(challenge_of(VERIFIER))
        );
    }
}

#[tokio::test]
async fn a_refused_start_records_nothing() {
    let invalid = |edit: fn(&mut AuthorizeInput)| {
        let mut input = AuthorizeInput::default();
        edit(&mut input);
        input
    };
    let cases = [
        invalid(|i| i.redirect_uri = Some("https://evil.example/".to_owned())),
        invalid(|i| i.flow = Some("saml".to_owned())),
        invalid(|i| i.login_hint = Some("a".repeat(321))),
        invalid(|i| i.prompt = Some("log\nin".to_owned())),
        invalid(|i| i.state = Some("a".repeat(21))),
        invalid(|i| i.state = Some("a".repeat(513))),
        invalid(|i| i.state = Some("state with spaces in it!".to_owned())),
        invalid(|i| i.client_challenge = Some("too-short".to_owned())),
    ];
    let w = World::new();
    for input in cases {
        let debug = format!("{input:?}");
        let refused = start(&w, input).await;
        assert!(
            matches!(
                refused,
                Err(StartError::InvalidRequest(_) | StartError::InvalidRedirectUri)
            ),
            "{debug}: {refused:?}"
        );
    }
    let strict = World::with(|_, policies| policies.require_client_challenge = true);
    let refused = start(&strict, AuthorizeInput::default()).await;
    assert!(matches!(refused, Err(StartError::InvalidRequest(m)) if m.contains("client_challenge")));
    assert!(w.states.is_empty() && strict.states.is_empty());
}

#[tokio::test]
async fn a_spa_state_is_recorded_as_given_once_and_an_empty_one_is_generated() {
    let w = World::new();
    let spa = "a".repeat(22);
    let input = || AuthorizeInput {
        state: Some(spa.clone()),
        ..AuthorizeInput::default()
    };
    assert_eq!(start(&w, input()).await.unwrap().1, spa);
    assert!(matches!(start(&w, input()).await, Err(StartError::StateInUse)));
    let (_, generated) = start(
        &w,
        AuthorizeInput {
            state: Some(String::new()),
            ..AuthorizeInput::default()
        },
    )
    .await
    .unwrap();
    assert!(generated.starts_with("generated-state-"));
    assert_eq!(w.states.len(), 2);
}

// ---- the state at the callback -------------------------------------------------------

#[tokio::test]
async fn an_unknown_expired_replayed_or_rebound_state_is_invalid_and_the_provider_is_not_asked() {
    let w = World::new();
    w.add_org("Acme", 1, None);
    let unknown = World::posted("code-1", &"u".repeat(30));
    assert!(matches!(
        refused_early(&w, unknown).await,
        LoginError::InvalidState
    ));

    let state = w.start(SSO).await;
    let input = CallbackInput {
        redirect_uri: Some(OTHER_REDIRECT.to_owned()),
        ..World::posted("code-1", &state)
    };
    assert!(
        matches!(refused_early(&w, input).await, LoginError::InvalidState),
        "another redirect URI"
    );

    let state = w.start(SSO).await;
    w.set_clock(600);
    assert!(
        matches!(
            refused_early(&w, World::posted("code-1", &state)).await,
            LoginError::InvalidState
        ),
        "expired"
    );

    let state = w.start(SSO).await;
    w.idp.code("code-1", sso("prof_1", "jane@acme.example", None));
    assert!(
        w.services
            .login
            .complete(World::posted("code-1", &state))
            .await
            .is_ok()
    );
    let replayed = w.services.login.complete(World::posted("code-2", &state)).await;
    assert!(matches!(replayed, Err(LoginError::InvalidState)), "{replayed:?}");
    assert_eq!(w.idp.exchanges().len(), 1);
}

#[tokio::test]
async fn a_missing_or_malformed_state_is_invalid_unless_unissued_states_are_accepted() {
    let strict = World::new();
    let lenient = unissued();
    lenient.add_org("Acme", 1, None);
    lenient
        .idp
        .code("code-1", sso("prof_1", "jane@acme.example", None));
    for state in [None, Some("short"), Some("not url safe at all, no no no")] {
        let input = CallbackInput {
            state: state.map(str::to_owned),
            ..bare("code-1")
        };
        assert!(
            matches!(refused_early(&strict, input).await, LoginError::InvalidState),
            "{state:?}"
        );
        let input = CallbackInput {
            state: state.map(str::to_owned),
            ..bare("code-1")
        };
        assert!(lenient.services.login.complete(input).await.is_ok(), "{state:?}");
    }
    let input = CallbackInput {
        state: Some("a".repeat(513)),
        ..bare("code-1")
    };
    assert!(
        matches!(refused_early(&unissued(), input).await, LoginError::InvalidState),
        "too long even then"
    );
    // The longest state a start accepts is looked up.
    let w = World::new();
    let longest = "b".repeat(512);
    start(
        &w,
        AuthorizeInput {
            state: Some(longest.clone()),
            ..AuthorizeInput::default()
        },
    )
    .await
    .unwrap();
    w.idp.code("code-1", authkit("user_1", "jane@acme.example", true));
    w.add_org("Acme", 1, None);
    let input = CallbackInput {
        state: Some(longest),
        ..bare("code-1")
    };
    assert!(w.services.login.complete(input).await.is_ok());
}

#[tokio::test]
async fn a_state_bound_to_a_browser_is_taken_only_with_its_verifier_and_stays_for_it() {
    let w = World::new();
    w.add_org("Acme", 1, None);
    w.idp.code("code-1", authkit("user_1", "jane@acme.example", true));
    let state = w.start(AUTHKIT).await;
    let other = "another-browser-verifier-0123456789abcdefghijklmnop";
    for verifier in [None, Some(other), Some("malformed verifier")] {
        let input = CallbackInput {
            client_verifier: verifier.map(secret),
            ..World::posted("code-1", &state)
        };
        assert!(
            matches!(refused_early(&w, input).await, LoginError::InvalidState),
            "{verifier:?}"
        );
        assert_eq!(w.states.len(), 1, "the state stays for its browser");
    }
    assert!(
        w.services
            .login
            .complete(World::posted("code-1", &state))
            .await
            .is_ok()
    );
    assert!(w.states.is_empty());
}

#[tokio::test]
async fn an_unbound_state_is_taken_with_or_without_a_verifier() {
    let w = World::new();
    w.add_org("Acme", 1, None);
    for (n, verifier) in [None, Some(VERIFIER)].into_iter().enumerate() {
        let (_, state) = start(&w, AuthorizeInput::default()).await.unwrap();
        let code = format!("code-{n}");
        w.idp.code(
            &code,
            authkit(&format!("user_{n}"), &format!("u{n}@acme.example"), true),
        );
        let input = CallbackInput {
            client_verifier: verifier.map(secret),
            ..World::posted(&code, &state)
        };
        let session = w.services.login.complete(input).await.unwrap();
        let stored = w.session(&session.session_id).await.unwrap();
        assert!(
            stored.login_answer.is_none(),
            "only a bound login is answered twice"
        );
    }
}

// ---- a callback posted twice ------------------------------------------------------------

#[tokio::test]
async fn a_second_post_of_a_bound_login_gets_the_first_session_within_the_window_only() {
    let w = World::new();
    w.add_org("Acme", 1, None);
    w.idp.code("code-1", authkit("user_1", "jane@acme.example", true));
    let state = w.start(AUTHKIT).await;
    let first = w
        .services
        .login
        .complete(World::posted("code-1", &state))
        .await
        .unwrap();
    w.set_clock(59);
    let again = w
        .services
        .login
        .complete(World::posted("code-1", &state))
        .await
        .unwrap();
    assert_eq!(again.session_id, first.session_id);
    assert_eq!(shown(&again.refresh_token), shown(&first.refresh_token));
    assert_eq!(again.user, first.user);
    assert_eq!((w.idp.exchanges().len(), w.sessions().await.len()), (1, 1));

    for input in [
        CallbackInput {
            client_verifier: None,
            ..World::posted("code-1", &state)
        },
        CallbackInput {
            redirect_uri: Some(OTHER_REDIRECT.to_owned()),
            ..World::posted("code-1", &state)
        },
    ] {
        let refused = w.services.login.complete(input).await;
        assert!(matches!(refused, Err(LoginError::InvalidState)), "{refused:?}");
    }
    w.set_clock(60);
    let late = w.services.login.complete(World::posted("code-1", &state)).await;
    assert!(
        matches!(late, Err(LoginError::InvalidState)),
        "after the window: {late:?}"
    );
}

#[tokio::test]
async fn a_second_post_after_the_first_refresh_token_was_rotated_gets_nothing() {
    let w = World::new();
    w.add_org("Acme", 1, None);
    w.idp.code("code-1", authkit("user_1", "jane@acme.example", true));
    let state = w.start(AUTHKIT).await;
    let first = w
        .services
        .login
        .complete(World::posted("code-1", &state))
        .await
        .unwrap();
    w.services.refresh.refresh(&first.refresh_token).await.unwrap();
    let again = w.services.login.complete(World::posted("code-1", &state)).await;
    assert!(matches!(again, Err(LoginError::InvalidState)), "{again:?}");
}

#[test]
fn the_debug_output_of_inputs_never_shows_a_state_a_code_or_a_verifier() {
    let input = CallbackInput {
        state: Some("secret-state-value-0123456789".to_owned()),
        ..World::posted("secret-code", "secret-state-value-0123456789")
    };
    let shown = format!("{input:?}");
    let start = AuthorizeInput {
        state: Some("secret-state-value-0123456789".to_owned()),
        ..AuthorizeInput::default()
    };
    let shown = format!(
        "{shown}{start:?}{:?}",
        step(Some("pat_secret"), StepAnswer::EmailCode(Some(secret("424242"))))
    );
    for secret in ["secret-state", "secret-code", VERIFIER, "pat_secret", "424242"] {
        assert!(!shown.contains(secret), "{shown}");
    }
}
