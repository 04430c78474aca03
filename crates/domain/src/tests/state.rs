//! Server-issued login states: `StartLogin` records them; `CompleteLogin` with state
//! checking consumes them once, refuses expired or re-bound ones, and calls exactly
//! the recorded API with the derived PKCE verifier.

use std::sync::Arc;

use secrecy::ExposeSecret;

use super::support::*;
use crate::{
    AuthorizeInput, CallbackInput, ExchangeError, Flow, LoginError, LoginStateRecord, MockIdentityProvider,
    MockLoginStateStore, MockStateProtector, RedirectPolicy, RepositoryError, StartError, StartLogin,
    StateChecking, StateTake, Timestamp, TokenHash, User,
};

/// A state an SPA may choose: 23 characters of `A-Z a-z 0-9 - _ . ~`.
const STATE: &str = "Zq3-x_9.~Lm4Np7Rs2Tv8Wy";

/// What [`protector`] digests [`STATE`] to.
fn state_digest() -> String {
    format!("h({STATE})")
}

fn protector() -> MockStateProtector {
    let mut p = MockStateProtector::new();
    p.expect_hash_state()
        .returning(|s| TokenHash::new(format!("h({s})")));
    p.expect_pkce_verifier().returning(|s| secret(&format!("v({s})")));
    p.expect_pkce_challenge()
        .returning(|v| challenge_of(secrecy::ExposeSecret::expose_secret(v)));
    p.expect_random_state().returning(|| "random-state".to_owned());
    p
}

fn redirects() -> RedirectPolicy {
    RedirectPolicy::new(DEFAULT_REDIRECT, vec![OTHER_ALLOWED_REDIRECT.to_owned()])
}

fn start_login(idp: MockIdentityProvider, states: MockLoginStateStore) -> StartLogin {
    StartLogin::new(
        Arc::new(idp),
        Arc::new(states),
        Arc::new(protector()),
        crate::mocks::fixed_clock(now()),
        redirects(),
    )
}

fn idp_building_urls() -> MockIdentityProvider {
    let mut idp = MockIdentityProvider::new();
    idp.expect_authorization_url()
        .returning(|r| format!("https://workos.test/{}?state={}", r.flow.as_str(), r.state));
    idp
}

#[tokio::test]
async fn authkit_is_the_default_flow_and_uses_pkce_from_the_state() {
    let mut idp = MockIdentityProvider::new();
    idp.expect_authorization_url()
        .withf(|r| {
            r.flow == Flow::AuthKit
                && r.state == "random-state"
                && r.code_challenge == Some(challenge_of("v(random-state)"))
                && r.redirect_uri == DEFAULT_REDIRECT
        })
        .times(1)
        .returning(|_| "https://workos.test/authkit".to_owned());
    let mut states = MockLoginStateStore::new();
    states
        .expect_save()
        .withf(|r| {
            r.state_hash.as_str() == "h(random-state)"
                && r.flow == Flow::AuthKit
                && r.pkce
                && r.expires_at == now().plus_seconds(600)
        })
        .times(1)
        .returning(|_| Ok(()));
    let started = start_login(idp, states)
        .start(AuthorizeInput::default())
        .await
        .unwrap();
    assert_eq!(started.flow, Flow::AuthKit);
    assert_eq!(started.url, "https://workos.test/authkit");
}

#[tokio::test]
async fn an_organization_connection_or_domain_hint_selects_sso_without_pkce() {
    for input in [
        AuthorizeInput {
            organization_id: Some("org_123".into()),
            ..Default::default()
        },
        AuthorizeInput {
            connection: Some("conn_1".into()),
            ..Default::default()
        },
        AuthorizeInput {
            domain_hint: Some("acme.example".into()),
            ..Default::default()
        },
    ] {
        let mut idp = MockIdentityProvider::new();
        idp.expect_authorization_url()
            .withf(|r| r.flow == Flow::Sso && r.code_challenge.is_none())
            .times(1)
            .returning(|_| String::new());
        let mut states = MockLoginStateStore::new();
        states
            .expect_save()
            .withf(|r| r.flow == Flow::Sso && !r.pkce)
            .times(1)
            .returning(|_| Ok(()));
        start_login(idp, states).start(input).await.unwrap();
    }
}

#[tokio::test]
async fn only_workos_organization_ids_are_forwarded_but_every_hint_is_recorded() {
    let mut idp = MockIdentityProvider::new();
    idp.expect_authorization_url()
        .withf(|r| r.organization.is_none() && r.flow == Flow::AuthKit)
        .times(1)
        .returning(|_| String::new());
    let mut states = MockLoginStateStore::new();
    states
        .expect_save()
        .withf(|r| r.organization_hint.as_deref() == Some("64a1b2c3d4e5f60012345678"))
        .times(1)
        .returning(|_| Ok(()));
    let input = AuthorizeInput {
        organization_id: Some("64a1b2c3d4e5f60012345678".into()),
        ..Default::default()
    };
    start_login(idp, states).start(input).await.unwrap();
}

#[tokio::test]
async fn bad_start_requests_store_nothing() {
    let cases = [
        (
            AuthorizeInput {
                flow: Some("password".into()),
                ..Default::default()
            },
            "flow",
        ),
        (
            AuthorizeInput {
                state: Some("s".repeat(513)),
                ..Default::default()
            },
            "state",
        ),
        (
            AuthorizeInput {
                prompt: Some("a\u{0}b".into()),
                ..Default::default()
            },
            "prompt",
        ),
    ];
    for (input, named) in cases {
        let mut states = MockLoginStateStore::new();
        states.expect_save().never();
        match start_login(idp_building_urls(), states).start(input).await {
            Err(StartError::InvalidRequest(m)) => assert!(m.contains(named), "{m}"),
            other => panic!("expected InvalidRequest naming {named}, got {other:?}"),
        }
    }
    let mut states = MockLoginStateStore::new();
    states.expect_save().never();
    let input = AuthorizeInput {
        redirect_uri: Some("https://evil.example/".into()),
        ..Default::default()
    };
    assert!(matches!(
        start_login(idp_building_urls(), states).start(input).await,
        Err(StartError::InvalidRedirectUri)
    ));
}

/// Starts a login with the SPA's `state`, with a store that must save nothing, and
/// returns the refusal.
async fn start_refused(state: &str) -> StartError {
    let mut states = MockLoginStateStore::new();
    states.expect_save().never();
    let mut idp = MockIdentityProvider::new();
    idp.expect_authorization_url().never();
    let input = AuthorizeInput {
        state: Some(state.to_owned()),
        ..Default::default()
    };
    match start_login(idp, states).start(input).await {
        Err(e) => e,
        Ok(started) => panic!("expected a refusal of {state:?}, got {started:?}"),
    }
}

/// Starts a login with the SPA's `state`, which must be saved (digested as given)
/// and forwarded to WorkOS as given.
async fn start_accepted(state: &str) {
    let mut states = MockLoginStateStore::new();
    let digest = format!("h({state})");
    states
        .expect_save()
        .withf(move |r| r.state_hash.as_str() == digest)
        .times(1)
        .returning(|_| Ok(()));
    let mut idp = MockIdentityProvider::new();
    let forwarded = state.to_owned();
    idp.expect_authorization_url()
        .withf(move |r| r.state == forwarded)
        .times(1)
        .returning(|_| String::new());
    let input = AuthorizeInput {
        state: Some(state.to_owned()),
        ..Default::default()
    };
    start_login(idp, states).start(input).await.unwrap();
}

#[tokio::test]
async fn a_spa_state_of_21_characters_is_refused_and_nothing_is_saved() {
    let err = start_refused(&"a".repeat(21)).await;
    assert!(
        matches!(&err, StartError::InvalidRequest(m) if m.contains("state") && m.contains("22")),
        "{err:?}"
    );
    // The three-character state of the review too.
    let err = start_refused("abc").await;
    assert!(
        matches!(&err, StartError::InvalidRequest(m) if m.contains("state")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_spa_state_of_22_url_safe_characters_is_accepted_and_saved_as_given() {
    start_accepted(&"a".repeat(22)).await;
    start_accepted("AZaz09-_.~AZaz09-_.~Az").await;
    start_accepted(STATE).await;
}

#[tokio::test]
async fn a_spa_state_of_513_characters_is_refused_and_nothing_is_saved() {
    let err = start_refused(&"a".repeat(513)).await;
    assert!(
        matches!(&err, StartError::InvalidRequest(m) if m.contains("state") && m.contains("512")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_spa_state_with_characters_outside_the_url_safe_set_is_refused_and_nothing_is_saved() {
    for bad in [
        "abcdefghijklmnopqrstuv+",
        "abcdefghijklmnopqrstuv/",
        "abcdefghijklmnopqrstuv=",
        "abcdefghijklmnopqrstuv%20",
        "abcdefghijk mnopqrstuvw",
        " abcdefghijklmnopqrstuvw",
        "abcdefghijklmnopqrstuvw\n",
        "abcdefghijklmnopqrstuvé",
        "<script>alert(1)</script>",
        "                        ",
    ] {
        let err = start_refused(bad).await;
        assert!(
            matches!(&err, StartError::InvalidRequest(m) if m.contains("state")),
            "{bad:?}: {err:?}"
        );
    }
}

#[tokio::test]
async fn an_empty_spa_state_gets_a_generated_one() {
    let mut states = MockLoginStateStore::new();
    states
        .expect_save()
        .withf(|r| r.state_hash.as_str() == "h(random-state)")
        .times(1)
        .returning(|_| Ok(()));
    let input = AuthorizeInput {
        state: Some(String::new()),
        ..Default::default()
    };
    start_login(idp_building_urls(), states)
        .start(input)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_state_already_pending_is_refused() {
    let mut states = MockLoginStateStore::new();
    states
        .expect_save()
        .returning(|_| Err(RepositoryError::Duplicate));
    let input = AuthorizeInput {
        state: Some(STATE.into()),
        ..Default::default()
    };
    assert!(matches!(
        start_login(idp_building_urls(), states).start(input).await,
        Err(StartError::StateInUse)
    ));
}

fn record(flow: Flow, redirect: &str, expires_at: Timestamp) -> LoginStateRecord {
    LoginStateRecord {
        state_hash: TokenHash::new(state_digest()),
        flow,
        redirect_uri: redirect.to_owned(),
        organization_hint: None,
        pkce: flow == Flow::AuthKit,
        client_challenge: None,
        created_at: now(),
        expires_at,
    }
}

/// A login whose state store answers `take` with `found` (once), checking strictly.
fn checked_login(
    ports: LoginPorts,
    found: Option<LoginStateRecord>,
    accept_unissued: bool,
) -> crate::CompleteLogin {
    let mut states = MockLoginStateStore::new();
    states
        .expect_take()
        .withf(|h, _| h.as_str() == state_digest())
        .times(1)
        .returning(move |_, _| Ok(found.clone().map_or(StateTake::Absent, StateTake::Taken)));
    ports.build_with(StateChecking {
        store: Arc::new(states),
        protector: Arc::new(protector()),
        clock: crate::mocks::fixed_clock(now()),
        accept_unissued,
    })
}

fn posted(redirect: Option<&str>) -> CallbackInput {
    CallbackInput {
        code: Some(secret("code-1")),
        state: Some(STATE.into()),
        redirect_uri: redirect.map(str::to_owned),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_recorded_authkit_state_calls_only_authkit_with_the_derived_verifier() {
    let mut ports = LoginPorts::default();
    ports
        .idp
        .expect_exchange()
        .withf(|flow, _, pkce, _| {
            *flow == Flow::AuthKit && pkce.as_ref().is_some_and(|v| holds(v, &format!("v({STATE})")))
        })
        .times(1)
        .returning(|_, _, _, _| Err(ExchangeError::InvalidCode));
    let login = checked_login(
        ports,
        Some(record(Flow::AuthKit, DEFAULT_REDIRECT, now().plus_seconds(1))),
        false,
    );
    assert!(matches!(
        login.complete(posted(None)).await,
        Err(LoginError::InvalidCode)
    ));
}

#[tokio::test]
async fn a_recorded_sso_state_never_falls_back_to_authkit() {
    let mut ports = LoginPorts::default();
    ports
        .idp
        .expect_exchange()
        .withf(|flow, _, pkce, _| *flow == Flow::Sso && pkce.is_none())
        .times(1)
        .returning(|_, _, _, _| Err(ExchangeError::InvalidCode));
    let login = checked_login(
        ports,
        Some(record(Flow::Sso, DEFAULT_REDIRECT, now().plus_seconds(1))),
        true,
    );
    assert!(matches!(
        login.complete(posted(None)).await,
        Err(LoginError::InvalidCode)
    ));
}

#[tokio::test]
async fn a_state_taken_for_a_login_workos_asks_to_wait_is_put_back_for_the_retry() {
    let mut ports = LoginPorts::default();
    ports.idp.expect_exchange().times(1).returning(|_, _, _, _| {
        Err(ExchangeError::RateLimited {
            retry_after_seconds: Some(20),
        })
    });
    let taken = record(Flow::Sso, DEFAULT_REDIRECT, now().plus_seconds(60));
    let expected = taken.clone();
    let mut states = MockLoginStateStore::new();
    states
        .expect_take()
        .times(1)
        .returning(move |_, _| Ok(StateTake::Taken(taken.clone())));
    states
        .expect_save()
        .withf(move |r| *r == expected)
        .times(1)
        .returning(|_| Ok(()));
    let login = ports.build_with(StateChecking {
        store: Arc::new(states),
        protector: Arc::new(protector()),
        clock: crate::mocks::fixed_clock(now()),
        accept_unissued: false,
    });
    assert!(matches!(
        login.complete(posted(None)).await,
        Err(LoginError::UpstreamRateLimited {
            retry_after_seconds: Some(20)
        })
    ));
}

#[tokio::test]
async fn a_state_taken_for_a_login_workos_refuses_is_not_put_back() {
    let mut ports = LoginPorts::default();
    ports
        .idp
        .expect_exchange()
        .times(1)
        .returning(|_, _, _, _| Err(ExchangeError::InvalidCode));
    // `checked_login`'s store expects no `save`: a refused code uses the state up.
    let login = checked_login(
        ports,
        Some(record(Flow::Sso, DEFAULT_REDIRECT, now().plus_seconds(60))),
        false,
    );
    assert!(matches!(
        login.complete(posted(None)).await,
        Err(LoginError::InvalidCode)
    ));
}

#[tokio::test]
async fn unknown_expired_or_rebound_states_are_invalid_and_workos_is_not_called() {
    let cases = [
        (None, None),
        (Some(record(Flow::Sso, DEFAULT_REDIRECT, now())), None),
        (
            Some(record(Flow::Sso, DEFAULT_REDIRECT, now().plus_seconds(60))),
            Some(OTHER_ALLOWED_REDIRECT),
        ),
    ];
    for (found, redirect) in cases {
        let mut ports = LoginPorts::default();
        ports.idp_never_called();
        let login = checked_login(ports, found, false);
        assert!(matches!(
            login.complete(posted(redirect)).await,
            Err(LoginError::InvalidState)
        ));
    }
}

#[tokio::test]
async fn a_missing_state_is_invalid_unless_unissued_states_are_accepted() {
    let mut ports = LoginPorts::default();
    ports.idp_never_called();
    let mut states = MockLoginStateStore::new();
    states.expect_take().never();
    let login = ports.build_with(StateChecking {
        store: Arc::new(states),
        protector: Arc::new(protector()),
        clock: crate::mocks::fixed_clock(now()),
        accept_unissued: false,
    });
    let input = CallbackInput {
        code: Some(secret("code-1")),
        ..Default::default()
    };
    assert!(matches!(
        login.complete(input).await,
        Err(LoginError::InvalidState)
    ));
}

#[tokio::test]
async fn an_unissued_state_uses_the_sso_then_authkit_fallback_when_accepted() {
    let mut ports = LoginPorts::default();
    ports
        .idp
        .expect_exchange()
        .withf(|flow, _, _, _| *flow == Flow::Sso)
        .times(1)
        .returning(|_, _, _, _| Err(ExchangeError::InvalidCode));
    ports
        .idp
        .expect_exchange()
        .withf(|flow, _, pkce, _| *flow == Flow::AuthKit && pkce.is_none())
        .times(1)
        .returning(|_, _, _, _| Err(ExchangeError::InvalidCode));
    let login = checked_login(ports, None, true);
    assert!(matches!(
        login.complete(posted(None)).await,
        Err(LoginError::InvalidCode)
    ));
}

#[tokio::test]
async fn the_longest_state_the_start_accepts_is_looked_up_at_the_callback() {
    // The longest state the start accepts, using every kind of character it accepts.
    let state: String = "Az09-_.~".repeat(64);
    assert_eq!(state.len(), crate::LoginState::MAX_LEN);
    let digest = format!("h({state})");
    let mut states = MockLoginStateStore::new();
    let saved = digest.clone();
    states
        .expect_save()
        .withf(move |r| r.state_hash.as_str() == saved)
        .times(1)
        .returning(|_| Ok(()));
    let input = AuthorizeInput {
        state: Some(state.clone()),
        flow: Some("sso".into()),
        ..Default::default()
    };
    start_login(idp_building_urls(), states)
        .start(input)
        .await
        .unwrap();

    let mut ports = LoginPorts::default();
    ports
        .idp
        .expect_exchange()
        .withf(|flow, _, _, _| *flow == Flow::Sso)
        .times(1)
        .returning(|_, _, _, _| Err(ExchangeError::InvalidCode));
    let mut states = MockLoginStateStore::new();
    states
        .expect_take()
        .withf(move |h, _| h.as_str() == digest)
        .times(1)
        .returning(|_, _| {
            Ok(StateTake::Taken(record(
                Flow::Sso,
                DEFAULT_REDIRECT,
                now().plus_seconds(60),
            )))
        });
    let login = ports.build_with(StateChecking {
        store: Arc::new(states),
        protector: Arc::new(protector()),
        clock: crate::mocks::fixed_clock(now()),
        accept_unissued: false,
    });
    let posted = CallbackInput {
        code: Some(secret("code-1")),
        state: Some(state),
        ..Default::default()
    };
    assert!(matches!(
        login.complete(posted).await,
        Err(LoginError::InvalidCode)
    ));
}

/// A login checking states with a store that must never be asked.
fn login_never_taking(ports: LoginPorts, accept_unissued: bool) -> crate::CompleteLogin {
    let mut states = MockLoginStateStore::new();
    states.expect_take().never();
    ports.build_with(StateChecking {
        store: Arc::new(states),
        protector: Arc::new(protector()),
        clock: crate::mocks::fixed_clock(now()),
        accept_unissued,
    })
}

fn posting_state(state: String) -> CallbackInput {
    CallbackInput {
        code: Some(secret("code-1")),
        state: Some(state),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_posted_state_longer_than_512_is_invalid_even_when_unissued_states_are_accepted() {
    for (state, accept_unissued) in [
        ("a".repeat(513), false),
        ("a".repeat(513), true),
        ("a".repeat(10_000), true),
        ("é".repeat(300), true),
    ] {
        let mut ports = LoginPorts::default();
        ports.idp_never_called();
        let result = login_never_taking(ports, accept_unissued)
            .complete(posting_state(state))
            .await;
        assert!(
            matches!(result, Err(LoginError::InvalidState)),
            "accept_unissued={accept_unissued}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_posted_state_the_start_would_refuse_is_invalid_without_a_lookup_when_checking_strictly() {
    for state in [
        "a".repeat(21),
        "abc".to_owned(),
        "abcdefghijklmnopqrstuv+".to_owned(),
        "abcdefghijk mnopqrstuvw".to_owned(),
        "é".repeat(30),
    ] {
        let mut ports = LoginPorts::default();
        ports.idp_never_called();
        let result = login_never_taking(ports, false)
            .complete(posting_state(state.clone()))
            .await;
        assert!(
            matches!(result, Err(LoginError::InvalidState)),
            "{state:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_posted_state_the_start_would_refuse_uses_the_fallback_without_a_lookup_when_unissued_states_are_accepted()
 {
    for state in ["a".repeat(21), "abcdefghijklmnopqrstuv+".to_owned()] {
        let mut ports = LoginPorts::default();
        let mut order = mockall::Sequence::new();
        ports
            .idp
            .expect_exchange()
            .withf(|flow, _, pkce, _| *flow == Flow::Sso && pkce.is_none())
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _, _, _| Err(ExchangeError::InvalidCode));
        ports
            .idp
            .expect_exchange()
            .withf(|flow, _, pkce, _| *flow == Flow::AuthKit && pkce.is_none())
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _, _, _| Err(ExchangeError::InvalidCode));
        let result = login_never_taking(ports, true)
            .complete(posting_state(state.clone()))
            .await;
        assert!(
            matches!(result, Err(LoginError::InvalidCode)),
            "{state:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_posted_state_of_22_url_safe_characters_is_looked_up() {
    let state = "a".repeat(22);
    let digest = format!("h({state})");
    let mut ports = LoginPorts::default();
    ports.idp_never_called();
    let mut states = MockLoginStateStore::new();
    states
        .expect_take()
        .withf(move |h, _| h.as_str() == digest)
        .times(1)
        .returning(|_, _| Ok(StateTake::Absent));
    let login = ports.build_with(StateChecking {
        store: Arc::new(states),
        protector: Arc::new(protector()),
        clock: crate::mocks::fixed_clock(now()),
        accept_unissued: false,
    });
    let result = login.complete(posting_state(state)).await;
    assert!(matches!(result, Err(LoginError::InvalidState)), "{result:?}");
}

#[test]
fn debug_output_of_inputs_never_shows_the_state_or_the_code() {
    let callback = CallbackInput {
        code: Some(secret("code-secret-1")),
        state: Some("state-secret-1".into()),
        redirect_uri: Some(DEFAULT_REDIRECT.into()),
        ..Default::default()
    };
    let text = format!("{callback:?}");
    assert!(
        !text.contains("state-secret-1") && !text.contains("code-secret-1"),
        "{text}"
    );
    assert!(
        text.contains(DEFAULT_REDIRECT),
        "other fields stay visible: {text}"
    );
    let authorize = AuthorizeInput {
        state: Some("state-secret-2".into()),
        ..Default::default()
    };
    assert!(!format!("{authorize:?}").contains("state-secret-2"));
}

// ---- the browser binding -----------------------------------------------------------------

/// The verifier the SPA keeps (43 unreserved characters).
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// The verifier of another browser.
const OTHER_VERIFIER: &str = "other-browser.verifier~of~43-characters-xyz";

/// A start requiring a browser binding when `required`.
fn start_requiring(states: MockLoginStateStore, required: bool) -> StartLogin {
    start_login(idp_building_urls(), states).requiring_client_challenge(required)
}

/// The refusal of a start with `input` whose store must save nothing.
async fn refused_start(input: AuthorizeInput, required: bool) -> StartError {
    let mut states = MockLoginStateStore::new();
    states.expect_save().never();
    let mut idp = MockIdentityProvider::new();
    idp.expect_authorization_url().never();
    match start_login(idp, states)
        .requiring_client_challenge(required)
        .start(input)
        .await
    {
        Err(e) => e,
        Ok(started) => panic!("expected a refusal, got {started:?}"),
    }
}

#[tokio::test]
async fn a_malformed_client_challenge_is_refused_and_nothing_is_saved() {
    let valid = challenge_of(VERIFIER);
    for (bad, why) in [
        (valid[..42].to_owned(), "42 characters"),
        (format!("{valid}A"), "44 characters"),
        (format!("{}=", &valid[..42]), "padding"),
        (format!("{}+", &valid[..42]), "base64, not base64url"),
        (format!("{}/", &valid[..42]), "base64, not base64url"),
        (format!(" {}", &valid[..42]), "whitespace"),
        (format!("{}é", &valid[..41]), "non-ASCII"),
        (VERIFIER.replace('-', "."), "a verifier's characters"),
    ] {
        for required in [false, true] {
            let input = AuthorizeInput {
                client_challenge: Some(bad.clone()),
                ..Default::default()
            };
            let err = refused_start(input, required).await;
            assert!(
                matches!(&err, StartError::InvalidRequest(m) if m.contains("client_challenge")),
                "{why} ({bad:?}): {err:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_start_without_a_client_challenge_is_refused_when_one_is_required_and_nothing_is_saved() {
    for missing in [None, Some(String::new())] {
        let input = AuthorizeInput {
            client_challenge: missing.clone(),
            ..Default::default()
        };
        let err = refused_start(input, true).await;
        assert!(
            matches!(&err, StartError::InvalidRequest(m) if m.contains("client_challenge")),
            "{missing:?}: {err:?}"
        );
    }
}

#[tokio::test]
async fn the_login_state_record_carries_the_client_challenge_it_was_started_with() {
    for required in [false, true] {
        let mut states = MockLoginStateStore::new();
        states
            .expect_save()
            .withf(|r| r.client_challenge == Some(client_challenge(VERIFIER)))
            .times(1)
            .returning(|_| Ok(()));
        let input = AuthorizeInput {
            client_challenge: Some(challenge_of(VERIFIER)),
            ..Default::default()
        };
        start_requiring(states, required).start(input).await.unwrap();
    }
    // Without one (not required), the record carries none.
    let mut states = MockLoginStateStore::new();
    states
        .expect_save()
        .withf(|r| r.client_challenge.is_none())
        .times(1)
        .returning(|_| Ok(()));
    start_requiring(states, false)
        .start(AuthorizeInput::default())
        .await
        .unwrap();
}

/// A live SSO state for [`STATE`] bound to the browser keeping `verifier`.
fn bound_record(verifier: &str) -> LoginStateRecord {
    LoginStateRecord {
        client_challenge: Some(client_challenge(verifier)),
        ..record(Flow::Sso, DEFAULT_REDIRECT, now().plus_seconds(60))
    }
}

/// A post of `code-1` and [`STATE`] carrying `verifier`, if any.
fn posted_with(verifier: Option<&str>) -> CallbackInput {
    CallbackInput {
        client_verifier: verifier.map(secret),
        ..posted(None)
    }
}

/// Checking states in `store`, strictly or accepting unissued ones.
fn checking(store: Arc<dyn crate::LoginStateStore>, accept_unissued: bool) -> StateChecking {
    StateChecking {
        store,
        protector: Arc::new(protector()),
        clock: crate::mocks::fixed_clock(now()),
        accept_unissued,
    }
}

#[tokio::test]
async fn a_state_bound_to_another_browser_is_invalid_and_workos_is_never_called_nor_anything_saved() {
    for accept_unissued in [false, true] {
        for verifier in [None, Some(OTHER_VERIFIER)] {
            let mut ports = LoginPorts::default();
            ports.idp_never_called();
            ports.sessions.expect_start().never();
            let mut states = MockLoginStateStore::new();
            let presented = verifier.map(client_challenge);
            states
                .expect_take()
                .withf(move |h, p| h.as_str() == state_digest() && p.cloned() == presented)
                .times(1)
                .returning(|_, _| Ok(StateTake::Bound));
            states.expect_save().never();

            let result = ports
                .build_with(checking(Arc::new(states), accept_unissued))
                .complete(posted_with(verifier))
                .await;

            assert!(
                matches!(result, Err(LoginError::InvalidState)),
                "accept_unissued={accept_unissued}, {verifier:?}: {result:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_bound_state_stays_for_its_browser_which_then_completes_the_login() {
    let states = LoginStates::holding(bound_record(VERIFIER));
    let mut ports = LoginPorts::default();
    ports.idp_never_called();
    let refused = ports
        .build_with(checking(states.clone(), false))
        .complete(posted_with(Some(OTHER_VERIFIER)))
        .await;
    assert!(matches!(refused, Err(LoginError::InvalidState)), "{refused:?}");
    assert_eq!(states.recorded(), vec![bound_record(VERIFIER)], "left in place");

    let mut ports = LoginPorts::default();
    ports
        .idp
        .expect_exchange()
        .withf(|flow, code, _, _| *flow == Flow::Sso && holds(code, "code-1"))
        .times(1)
        .returning(|_, _, _, _| Ok(sso_identity("admin@acme.example")));
    ports.expect_existing_user_session(Flow::Sso, "prof_sso_1", user("admin@acme.example"));
    let session = ports
        .build_with(checking(states.clone(), false))
        .complete(posted_with(Some(VERIFIER)))
        .await
        .unwrap();

    assert_eq!(session.session_id.as_str(), SESSION_ID);
    assert!(states.recorded().is_empty(), "the state is used up");
}

#[tokio::test]
async fn a_malformed_client_verifier_is_invalid_and_the_state_is_never_taken() {
    // (An empty verifier is no verifier, as an empty state is no state.)
    for (bad, why) in [
        (VERIFIER[..42].to_owned(), "42 characters"),
        ("v".repeat(129), "129 characters"),
        (
            format!("{}+", &VERIFIER[..42]),
            "a character outside the unreserved set",
        ),
        (format!("{} ", &VERIFIER[..42]), "whitespace"),
        (format!("{}é", &VERIFIER[..41]), "non-ASCII"),
    ] {
        for accept_unissued in [false, true] {
            let mut ports = LoginPorts::default();
            ports.idp_never_called();
            let input = CallbackInput {
                client_verifier: Some(secret(&bad)),
                ..posted(None)
            };

            let result = login_never_taking(ports, accept_unissued).complete(input).await;

            assert!(
                matches!(result, Err(LoginError::InvalidState)),
                "{why}, accept_unissued={accept_unissued}: {result:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_verifier_of_43_and_of_128_unreserved_characters_meets_its_challenge() {
    for verifier in [VERIFIER.to_owned(), "Az09-._~".repeat(16)] {
        let mut ports = LoginPorts::default();
        ports
            .idp
            .expect_exchange()
            .times(1)
            .returning(|_, _, _, _| Err(ExchangeError::InvalidCode));
        let states = LoginStates::holding(bound_record(&verifier));

        let result = ports
            .build_with(checking(states.clone(), false))
            .complete(posted_with(Some(&verifier)))
            .await;

        assert!(matches!(result, Err(LoginError::InvalidCode)), "{result:?}");
        assert!(states.recorded().is_empty(), "taken with its challenge");
    }
}

#[tokio::test]
async fn an_unbound_state_is_taken_with_or_without_a_verifier() {
    for verifier in [None, Some(VERIFIER)] {
        let mut ports = LoginPorts::default();
        ports
            .idp
            .expect_exchange()
            .times(1)
            .returning(|_, _, _, _| Err(ExchangeError::InvalidCode));
        let states = LoginStates::holding(record(Flow::Sso, DEFAULT_REDIRECT, now().plus_seconds(60)));

        let result = ports
            .build_with(checking(states.clone(), false))
            .complete(posted_with(verifier))
            .await;

        assert!(
            matches!(result, Err(LoginError::InvalidCode)),
            "{verifier:?}: {result:?}"
        );
        assert!(states.recorded().is_empty());
    }
}

// ---- one session per code, for a login bound to its browser --------------------------

/// A login over `states` and `sessions` (kept), in which [`ACME_ORG`]'s admin signs in
/// by their SSO profile at most once (WorkOS exchanges the code at most once) and can
/// be read back by id; tokens seal a login answer under what was posted.
fn login_answering_twice(
    states: Arc<LoginStates>,
    sessions: &Sessions,
    accept_unissued: bool,
) -> crate::CompleteLogin {
    let mut ports = LoginPorts::default();
    ports
        .idp
        .expect_exchange()
        .times(0..=1)
        .returning(|_, _, _, _| Ok(sso_identity("admin@acme.example")));
    let admin = User {
        workos_profile_id: Some("prof_sso_1".to_owned()),
        ..user("admin@acme.example")
    };
    let signed_in = admin.clone();
    ports
        .users
        .expect_record_login_by_workos_subject()
        .times(0..=1)
        .returning(move |_, _, _| Ok(Some(signed_in.clone())));
    ports
        .users
        .expect_find_by_id()
        .returning(move |_| Ok(Some(admin.clone())));
    ports.policy_organizations = Organizations::created_in_order([org(ACME_ORG)]).mock();
    ports.tokens = token_issuer_sealing();
    sessions.answer_on(&mut ports.sessions);
    ports.build_with(checking(states, accept_unissued))
}

#[tokio::test]
async fn a_second_post_of_a_bound_login_with_the_same_verifier_gets_the_first_session() {
    let states = LoginStates::holding(bound_record(VERIFIER));
    let sessions = Sessions::default();
    let login = login_answering_twice(states, &sessions, false);

    let first = login.complete(posted_with(Some(VERIFIER))).await.unwrap();
    let again = login.complete(posted_with(Some(VERIFIER))).await.unwrap();

    assert_eq!(again.session_id, first.session_id);
    assert!(
        holds(&again.refresh_token, first.refresh_token.expose_secret()),
        "the same refresh token"
    );
    assert_eq!(again.user, first.user);
    let started = sessions.started();
    assert_eq!(started.len(), 1, "one session");
    assert!(started[0].login_answer.is_some(), "its answer is stored");
}

#[tokio::test]
async fn a_second_post_of_a_bound_login_without_its_verifier_or_with_another_gets_what_a_used_code_gets() {
    for (again, why) in [(None, "no verifier"), (Some(OTHER_VERIFIER), "another verifier")] {
        let states = LoginStates::holding(bound_record(VERIFIER));
        let sessions = Sessions::default();
        let login = login_answering_twice(states, &sessions, false);
        login.complete(posted_with(Some(VERIFIER))).await.unwrap();

        let result = login.complete(posted_with(again)).await;

        assert!(
            matches!(result, Err(LoginError::InvalidState)),
            "{why}: {result:?}"
        );
        assert_eq!(sessions.started().len(), 1, "{why}");
    }
}

#[tokio::test]
async fn a_login_started_without_a_challenge_stores_no_login_answer_and_a_second_post_gets_what_a_used_code_gets()
 {
    for verifier in [None, Some(VERIFIER)] {
        let states = LoginStates::holding(record(Flow::Sso, DEFAULT_REDIRECT, now().plus_seconds(60)));
        let sessions = Sessions::default();
        let login = login_answering_twice(states, &sessions, false);

        login.complete(posted_with(verifier)).await.unwrap();
        let again = login.complete(posted_with(verifier)).await;

        assert!(
            matches!(again, Err(LoginError::InvalidState)),
            "{verifier:?}: {again:?}"
        );
        let started = sessions.started();
        assert_eq!(started.len(), 1, "{verifier:?}");
        assert!(
            started[0].login_answer.is_none(),
            "{verifier:?}: no answer stored"
        );
    }
}

#[tokio::test]
async fn a_login_on_an_unissued_state_stores_no_login_answer_even_with_a_verifier() {
    // Accepting unissued states, the post falls back to SSO-then-AuthKit; nothing
    // binds it to a browser.
    let states = Arc::new(LoginStates::default());
    let sessions = Sessions::default();
    let login = login_answering_twice(states, &sessions, true);

    login.complete(posted_with(Some(VERIFIER))).await.unwrap();

    let started = sessions.started();
    assert_eq!(started.len(), 1);
    assert!(started[0].login_answer.is_none());
}
