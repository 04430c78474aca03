//! The start of a login and its callback: what is recorded, what the provider is
//! asked, what the client gets, and what is stored.

use std::sync::Arc;

use tether_domain::{
    AuthorizeInput, CallbackInput, ClientChallenge, ClientContext, ExchangeError, Failure, LoginError,
    LoginStateRecord, LoginStateStore, MockSessionStore, PendingOrganization, PendingStep, RepositoryError,
    SessionLifetimes, StartError, StateTake, StepAnswer, StepInput, StepRequired, TokenHash,
};

use crate::support::*;

/// What a refusal must be.
type Expected = fn(&LoginError) -> bool;

/// A world that accepts states it did not issue (the provider resolves their codes).
fn unissued() -> World {
    let w = World::with(|_, policies| policies.accept_unissued_state = true);
    w.add_org("Acme", 1, None);
    w
}

/// A callback of `code` with no state.
fn bare(code: &str) -> CallbackInput {
    CallbackInput {
        code: Some(secret(code)),
        ..CallbackInput::default()
    }
}

/// Posts `input`, expecting a refusal before the provider is asked and nothing stored.
async fn refused_early(w: &World, input: CallbackInput) -> LoginError {
    let refused = w.post(input).await.unwrap_err();
    assert!(
        w.idp.exchanges().is_empty(),
        "{refused:?}: the provider was asked"
    );
    assert!(w.sessions().await.is_empty(), "{refused:?}: a session was stored");
    refused
}

/// Posts `input`, expecting the state to be refused.
async fn invalid_state(w: &World, input: CallbackInput) {
    let refused = w.post(input).await;
    assert!(matches!(refused, Err(LoginError::InvalidState)), "{refused:?}");
}

#[tokio::test]
async fn a_login_signs_the_user_in_and_stores_one_session_holding_its_first_refresh_token() {
    let w = World::new();
    let org = w.add_org("Acme", 1, None);
    let state = w
        .start_for("code-1", authkit("user_1", "jane@acme.example", true))
        .await;
    let client = ClientContext {
        ip_address: Some("203.0.113.7".to_owned()),
        user_agent: Some("Firefox".to_owned()),
    };
    let input = CallbackInput {
        client: client.clone(),
        ..World::posted("code-1", &state)
    };
    let session = w.post(input).await.unwrap();

    let user = w.user_by_email("jane@acme.example").await.unwrap();
    assert_eq!((&session.user, user.organization_id), (&user, org));
    let exchange = Exchange {
        flow: Some(AUTHKIT),
        code: "code-1".into(),
        pkce_verifier: Some(format!("pkce-{state}")),
        client,
    };
    assert_eq!(w.idp.exchanges(), [exchange], "the provider is asked once");

    let [record] = &w.sessions().await[..] else {
        panic!("one session")
    };
    assert_eq!(
        (&record.id, record.user_id, record.organization_id),
        (&session.session_id, user.id, org)
    );
    let lifetime = SessionLifetimes::default();
    assert_eq!(
        (record.started_at, record.ends_at),
        (t0(), at(lifetime.absolute_session_seconds))
    );
    let live = record.refresh_token.as_ref().unwrap();
    assert_eq!(live.hash, Tokens::digest(shown(&session.refresh_token)));
    assert_eq!(
        (live.expires_at, session.refresh_token_expires_at),
        (at(lifetime.refresh_token_seconds), live.expires_at)
    );
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
    #[rustfmt::skip]
    let cases = [
        ("access_denied", Some("access_denied")),
        ("  access_denied\n", Some("access_denied")),
        (long.as_str(), Some(long.as_str())),
        (too_long.as_str(), None),
        ("Access Denied", None),
        ("<script>alert(1)</script>", None),
    ];
    for (error, answered) in cases {
        let input = CallbackInput {
            error: Some(error.to_owned()),
            error_description: Some("x\u{7}y".to_owned()),
            ..bare("code-1")
        };
        match refused_early(&World::new(), input).await {
            LoginError::ProviderError { provider_error } => assert_eq!(provider_error.as_deref(), answered),
            other => panic!("{error:?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_missing_code_or_a_redirect_uri_not_allowed_is_refused_before_the_provider_is_asked() {
    let w = World::new();
    let elsewhere = CallbackInput {
        redirect_uri: Some("https://evil.example/cb".to_owned()),
        ..bare("code-1")
    };
    let expected: [(CallbackInput, Expected); 3] = [
        (CallbackInput::default(), |e| matches!(e, LoginError::MissingCode)),
        (bare("  "), |e| matches!(e, LoginError::MissingCode)),
        (elsewhere, |e| matches!(e, LoginError::InvalidRedirectUri)),
    ];
    for (input, expected) in expected {
        let refused = refused_early(&w, input).await;
        assert!(expected(&refused), "{refused:?}");
    }
    let w = unissued();
    w.idp.code("code-1", sso("prof_1", "jane@acme.example", None));
    let blank = CallbackInput {
        error: Some(" ".to_owned()),
        ..bare("code-1")
    };
    assert!(w.post(blank).await.is_ok(), "a blank provider error is no error");
}

// ---- which API is asked ------------------------------------------------------------

#[tokio::test]
async fn a_recorded_state_names_the_one_api_to_ask() {
    let w = World::acme();
    // An AuthKit code posted for a login started with SSO: never retried with AuthKit.
    w.idp.code("code-1", authkit("user_1", "jane@acme.example", true));
    let state = w.start(SSO).await;
    let refused = w.post(World::posted("code-1", &state)).await;
    assert!(matches!(refused, Err(LoginError::InvalidCode)), "{refused:?}");
    assert_eq!(w.idp.flows_asked(), [Some(SSO)]);
    assert_eq!(
        w.idp.exchanges()[0].pkce_verifier,
        None,
        "logins planned without PKCE send none"
    );
}

#[tokio::test]
async fn an_unissued_state_leaves_the_api_to_the_provider() {
    let w = unissued();
    w.idp.code("sso-code", sso("prof_1", "jane@acme.example", None));
    w.idp
        .code("authkit-code", authkit("user_1", "kim@acme.example", true));
    let jane = w.post(bare("sso-code")).await.unwrap();
    let kim = w.post(bare("authkit-code")).await.unwrap();
    assert_eq!(
        w.idp.flows_asked(),
        [None, None],
        "asked once each, naming no API"
    );
    assert_eq!(
        (jane.user.email.as_str(), kim.user.email.as_str()),
        ("jane@acme.example", "kim@acme.example")
    );
    let refused = w.post(bare("unknown-code")).await;
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
    #[rustfmt::skip]
    let failures: [(fn() -> ExchangeError, Expected); 5] = [
        (|| ExchangeError::Unavailable("timeout".into()), |e| matches!(e, LoginError::UpstreamUnavailable(_))),
        (|| ExchangeError::Unexpected("html".into()), |e| matches!(e, LoginError::UpstreamUnavailable(_))),
        (|| ExchangeError::Misconfigured("bad".into()), |e| matches!(e, LoginError::UpstreamMisconfigured(m) if m == "bad")),
        (|| ExchangeError::RateLimited { retry_after_seconds: Some(7) },
            |e| matches!(e, LoginError::UpstreamRateLimited { retry_after_seconds: Some(7) })),
        (|| ExchangeError::StepRequired(Box::new(organization_selection())),
            |e| matches!(e, LoginError::StepRequired(s) if s.pending_authentication_token.is_some() && s.organizations.len() == 1)),
    ];
    for (failure, expected) in failures {
        let w = unissued();
        w.idp.answer("code-1", move |_| Err(failure()));
        let refused = w.post(bare("code-1")).await.unwrap_err();
        assert!(expected(&refused), "{refused:?}");
        assert_eq!(w.idp.flows_asked(), [None], "{refused:?}");
        assert!(w.sessions().await.is_empty());
    }
}

#[tokio::test]
async fn a_state_taken_for_a_login_the_provider_asks_to_wait_is_put_back_for_the_retry() {
    let w = World::acme();
    w.idp.answer("code-1", |_| {
        Err(ExchangeError::RateLimited {
            retry_after_seconds: Some(1),
        })
    });
    let state = w.start(SSO).await;
    let waited = w.post(World::posted("code-1", &state)).await;
    assert!(
        matches!(waited, Err(LoginError::UpstreamRateLimited { .. })),
        "{waited:?}"
    );
    assert_eq!(w.states.len(), 1, "the state is back");
    w.idp.code("code-1", sso("prof_1", "jane@acme.example", None));
    assert!(w.post(World::posted("code-1", &state)).await.is_ok());

    // A code the provider refuses consumes the state for good.
    let state = w.start(SSO).await;
    let refused = w.post(World::posted("code-2", &state)).await;
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
    #[rustfmt::skip]
    let cases: [(_, Option<String>, Expected); 3] = [
        (sso("prof_off", "off@acme.example", None), None, |e| matches!(e, LoginError::LoginDisabled)),
        (authkit("user_1", "jane@acme.example", false), None, |e| matches!(e, LoginError::AccountLinkRequired { link_request_id: Some(_) })),
        (authkit("user_2", "new@acme.example", true), Some(mapped.to_string()), |e| matches!(e, LoginError::OrganizationMismatch)),
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

    let refused = World::new()
        .login(authkit("user_1", "jane@acme.example", true))
        .await;
    assert!(matches!(refused, Err(LoginError::NoOrganization)), "{refused:?}");
}

#[tokio::test]
async fn a_new_user_joins_the_organization_the_callback_names_or_the_login_was_started_for() {
    let w = World::acme();
    let wanted = w.add_org("Wanted", 2, None).to_string();
    let session = w
        .login_requesting(sso("prof_1", "jane@acme.example", None), Some(&wanted))
        .await;
    assert_eq!(session.unwrap().user.organization_id.to_string(), wanted);
    let start = AuthorizeInput {
        organization_id: Some(wanted.clone()),
        ..AuthorizeInput::default()
    };
    let (_, state) = started(&w, start).await.unwrap();
    w.idp.code("code-9", authkit("user_9", "kim@acme.example", true));
    let session = w.post(World::posted("code-9", &state)).await;
    assert_eq!(session.unwrap().user.organization_id.to_string(), wanted);
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

    let w = World::acme();
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
        request_id: None,
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
    assert!(w.record(&session).await.login_answer.is_none());
    let [PendingStep::OrganizationSelection { organization_id, .. }] = &w.idp.steps()[..] else {
        panic!("{:?}", w.idp.steps())
    };
    assert_eq!(organization_id.as_str(), TENANT_A);

    w.idp
        .step(|_| Err(ExchangeError::StepRequired(Box::new(organization_selection()))));
    let emailed = step(Some("pat_2"), StepAnswer::EmailCode(Some(secret("123456"))));
    let further = w.services.login.complete_step(emailed).await;
    assert!(matches!(further, Err(LoginError::StepRequired(_))), "{further:?}");
}

#[tokio::test]
async fn a_step_answer_missing_or_malformed_is_refused_before_the_provider_is_asked() {
    let long = "p".repeat(2049);
    let org = |raw: &str| StepAnswer::Organization(Some(raw.to_owned()));
    let code = |raw: &str| StepAnswer::EmailCode(Some(secret(raw)));
    #[rustfmt::skip]
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
                assert!(
                    message.starts_with(field) && !message.contains("12 34"),
                    "{field}: {message}"
                );
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    assert!(w.idp.steps().is_empty());
}

// ---- the start of a login --------------------------------------------------------------

/// The record a start saved for `state` (taken, as its callback would).
async fn recorded(w: &World, state: &str) -> LoginStateRecord {
    let challenge = ClientChallenge::parse(&challenge_of(VERIFIER)).unwrap();
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

/// Starts a login: the provider's URL and the state.
async fn started(w: &World, input: AuthorizeInput) -> Result<(String, String), StartError> {
    let url = w.services.start.start(input).await?.url;
    let state = state_of(&url);
    Ok((url, state))
}

#[tokio::test]
async fn a_start_records_its_state_with_the_api_chosen_and_pkce_for_authkit_only() {
    let w = World::new();
    let hint = |field: &str| {
        let mut input = AuthorizeInput {
            client_challenge: Some(challenge_of(VERIFIER)),
            ..AuthorizeInput::default()
        };
        let value = |v: &str| Some(v.to_owned());
        match field {
            "organization" => input.organization_id = value(TENANT_A),
            "local organization" => input.organization_id = value("64a1b2c3d4e5f60012345678"),
            "connection" => input.connection = value("conn_1"),
            "domain" => input.domain_hint = value("acme.example"),
            _ => {}
        }
        input
    };
    #[rustfmt::skip]
    let cases = [("nothing", AUTHKIT, ""), ("organization", SSO, TENANT_A), ("local organization", AUTHKIT, ""), ("connection", SSO, ""), ("domain", SSO, "")];
    for (field, flow, forwarded) in cases {
        let (url, state) = started(&w, hint(field)).await.unwrap();
        let record = recorded(&w, &state).await;
        assert_eq!(
            (&record.provider, record.pkce),
            (&flow, flow == AUTHKIT),
            "{field}"
        );
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
        assert_eq!(
            (record.created_at, record.expires_at, record.redirect_uri.as_str()),
            (t0(), at(600), DEFAULT_REDIRECT)
        );
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
        let refused = started(&w, input).await;
        assert!(
            matches!(
                refused,
                Err(StartError::InvalidRequest(_) | StartError::InvalidRedirectUri)
            ),
            "{debug}: {refused:?}"
        );
    }
    let strict = World::with(|_, policies| policies.require_client_challenge = true);
    let refused = started(&strict, AuthorizeInput::default()).await;
    assert!(matches!(refused, Err(StartError::InvalidRequest(m)) if m.contains("client_challenge")));
    assert!(w.states.is_empty() && strict.states.is_empty());
}

#[tokio::test]
async fn a_spa_state_is_recorded_as_given_once_and_an_empty_one_is_generated() {
    let w = World::new();
    let spa = |state: &str| AuthorizeInput {
        state: Some(state.to_owned()),
        ..AuthorizeInput::default()
    };
    let given = "a".repeat(22);
    assert_eq!(started(&w, spa(&given)).await.unwrap().1, given);
    assert!(matches!(
        started(&w, spa(&given)).await,
        Err(StartError::StateInUse)
    ));
    let (_, generated) = started(&w, spa("")).await.unwrap();
    assert!(generated.starts_with("generated-state-"));
    assert_eq!(w.states.len(), 2);
}

// ---- the state at the callback -------------------------------------------------------

#[tokio::test]
async fn an_unknown_expired_replayed_or_rebound_state_is_invalid_and_the_provider_is_not_asked() {
    let w = World::acme();
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

    let (state, _) = w.bound_login(sso("prof_1", "jane@acme.example", None)).await;
    invalid_state(&w, World::posted("code-2", &state)).await;
    assert_eq!(w.idp.exchanges().len(), 1);
}

#[tokio::test]
async fn a_missing_or_malformed_state_is_invalid_unless_unissued_states_are_accepted() {
    let strict = World::new();
    let lenient = unissued();
    lenient
        .idp
        .code("code-1", sso("prof_1", "jane@acme.example", None));
    for state in [None, Some("short"), Some("not url safe at all, no no no")] {
        let input = || CallbackInput {
            state: state.map(str::to_owned),
            ..bare("code-1")
        };
        assert!(
            matches!(refused_early(&strict, input()).await, LoginError::InvalidState),
            "{state:?}"
        );
        assert!(lenient.post(input()).await.is_ok(), "{state:?}");
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
    let w = World::acme();
    let longest = "b".repeat(512);
    let start = AuthorizeInput {
        state: Some(longest.clone()),
        ..AuthorizeInput::default()
    };
    started(&w, start).await.unwrap();
    w.idp.code("code-1", authkit("user_1", "jane@acme.example", true));
    let posted = CallbackInput {
        state: Some(longest),
        ..bare("code-1")
    };
    assert!(w.post(posted).await.is_ok());
}

#[tokio::test]
async fn a_state_bound_to_a_browser_is_taken_only_with_its_verifier_and_stays_for_it() {
    let w = World::acme();
    let state = w
        .start_for("code-1", authkit("user_1", "jane@acme.example", true))
        .await;
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
    assert!(w.post(World::posted("code-1", &state)).await.is_ok());
    assert!(w.states.is_empty());
}

#[tokio::test]
async fn an_unbound_state_is_taken_with_or_without_a_verifier() {
    let w = World::acme();
    for (n, verifier) in [None, Some(VERIFIER)].into_iter().enumerate() {
        let (_, state) = started(&w, AuthorizeInput::default()).await.unwrap();
        let code = format!("code-{n}");
        w.idp.code(
            &code,
            authkit(&format!("user_{n}"), &format!("u{n}@acme.example"), true),
        );
        let input = CallbackInput {
            client_verifier: verifier.map(secret),
            ..World::posted(&code, &state)
        };
        let session = w.post(input).await.unwrap();
        let stored = w.record(&session).await;
        assert!(
            stored.login_answer.is_none(),
            "only a bound login is answered twice"
        );
    }
    // A verifier, when posted, must be well formed whatever the state.
    let (_, state) = started(&w, AuthorizeInput::default()).await.unwrap();
    let malformed = CallbackInput {
        client_verifier: Some(secret("malformed")),
        ..World::posted("code-0", &state)
    };
    invalid_state(&w, malformed).await;
    assert_eq!(w.states.len(), 1, "the state is not taken");
}

// ---- a callback posted twice ------------------------------------------------------------

#[tokio::test]
async fn a_second_post_of_a_bound_login_gets_the_first_session_within_the_window_only() {
    let w = World::acme();
    let (state, first) = w.bound_login(authkit("user_1", "jane@acme.example", true)).await;
    w.set_clock(59);
    let again = w.post(World::posted("code-1", &state)).await.unwrap();
    assert_eq!((&again.session_id, &again.user), (&first.session_id, &first.user));
    assert_eq!(shown(&again.refresh_token), shown(&first.refresh_token));
    assert_eq!((w.idp.exchanges().len(), w.sessions().await.len()), (1, 1));

    let posted = || World::posted("code-1", &state);
    let unbound = CallbackInput {
        client_verifier: None,
        ..posted()
    };
    let elsewhere = CallbackInput {
        redirect_uri: Some(OTHER_REDIRECT.to_owned()),
        ..posted()
    };
    for input in [unbound, elsewhere] {
        invalid_state(&w, input).await;
    }
    w.set_clock(60);
    invalid_state(&w, World::posted("code-1", &state)).await;
}

#[tokio::test]
async fn a_second_post_after_the_first_refresh_token_was_rotated_gets_nothing() {
    let w = World::acme();
    let (state, first) = w.bound_login(authkit("user_1", "jane@acme.example", true)).await;
    w.services
        .refresh
        .refresh(&first.refresh_token, &AuditOrigin::default())
        .await
        .unwrap();
    invalid_state(&w, World::posted("code-1", &state)).await;
}

#[test]
fn the_debug_output_of_inputs_never_shows_a_state_a_code_or_a_verifier() {
    let state = "secret-state-value-0123456789";
    let callback = World::posted("secret-code", state);
    let start = AuthorizeInput {
        state: Some(state.to_owned()),
        ..AuthorizeInput::default()
    };
    let step = step(Some("pat_secret"), StepAnswer::EmailCode(Some(secret("424242"))));
    let shown = format!("{callback:?}{start:?}{step:?}");
    for secret in [state, "secret-code", VERIFIER, "pat_secret", "424242"] {
        assert!(!shown.contains(secret), "{shown}");
    }
}
