//! Server-issued login states: `StartLogin` records them; `CompleteLogin` with state
//! checking consumes them once, refuses expired or re-bound ones, and calls exactly
//! the recorded API with the derived PKCE verifier.

use std::sync::Arc;

use super::support::*;
use crate::{
    AuthorizeInput, CallbackInput, ExchangeError, Flow, LoginError, LoginStateRecord, MockIdentityProvider,
    MockLoginStateStore, MockStateProtector, RedirectPolicy, RepositoryError, StartError, StartLogin,
    StateChecking, Timestamp, TokenHash,
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
        .returning(|v| format!("c({})", secrecy::ExposeSecret::expose_secret(v)));
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
                && r.code_challenge.as_deref() == Some("c(v(random-state))")
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
        .withf(|h| h.as_str() == state_digest())
        .times(1)
        .returning(move |_| Ok(found.clone()));
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
        .withf(|flow, _, pkce| {
            *flow == Flow::AuthKit && pkce.as_ref().is_some_and(|v| holds(v, &format!("v({STATE})")))
        })
        .times(1)
        .returning(|_, _, _| Err(ExchangeError::InvalidCode));
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
        .withf(|flow, _, pkce| *flow == Flow::Sso && pkce.is_none())
        .times(1)
        .returning(|_, _, _| Err(ExchangeError::InvalidCode));
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
    ports.idp.expect_exchange().times(1).returning(|_, _, _| {
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
        .returning(move |_| Ok(Some(taken.clone())));
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
        .returning(|_, _, _| Err(ExchangeError::InvalidCode));
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
        .withf(|flow, _, _| *flow == Flow::Sso)
        .times(1)
        .returning(|_, _, _| Err(ExchangeError::InvalidCode));
    ports
        .idp
        .expect_exchange()
        .withf(|flow, _, pkce| *flow == Flow::AuthKit && pkce.is_none())
        .times(1)
        .returning(|_, _, _| Err(ExchangeError::InvalidCode));
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
        .withf(|flow, _, _| *flow == Flow::Sso)
        .times(1)
        .returning(|_, _, _| Err(ExchangeError::InvalidCode));
    let mut states = MockLoginStateStore::new();
    states
        .expect_take()
        .withf(move |h| h.as_str() == digest)
        .times(1)
        .returning(|_| Ok(Some(record(Flow::Sso, DEFAULT_REDIRECT, now().plus_seconds(60)))));
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
            .withf(|flow, _, pkce| *flow == Flow::Sso && pkce.is_none())
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _, _| Err(ExchangeError::InvalidCode));
        ports
            .idp
            .expect_exchange()
            .withf(|flow, _, pkce| *flow == Flow::AuthKit && pkce.is_none())
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _, _| Err(ExchangeError::InvalidCode));
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
        .withf(move |h| h.as_str() == digest)
        .times(1)
        .returning(|_| Ok(None));
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
