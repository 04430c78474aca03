//! `Services` wires every use case from the ports and the policies.

use std::sync::Arc;

use super::support::*;
use crate::{
    AccessError, AuthorizeInput, Flow, LoginTurns, MockAccessTokenVerifier, MockLoginStateStore,
    MockOrganizationRepository, MockRefreshTokenStore, MockSessionStore, MockStateProtector, MockTokenIssuer,
    MockUserRepository, Policies, Ports, RedirectPolicy, Services, TokenHash, mocks,
};

fn ports(login_states: MockLoginStateStore, state_protector: MockStateProtector) -> Ports {
    Ports {
        users: Arc::new(MockUserRepository::new()),
        organizations: Arc::new(MockOrganizationRepository::new()),
        sessions: Arc::new(MockSessionStore::new()),
        refresh_tokens: Arc::new(MockRefreshTokenStore::new()),
        login_states: Arc::new(login_states),
        identity_provider: Arc::new(mocks::identity_provider(mocks::identity(
            "user_1",
            "ada@example.com",
        ))),
        tokens: Arc::new(MockTokenIssuer::new()),
        verifier: Arc::new(MockAccessTokenVerifier::new()),
        state_protector: Arc::new(state_protector),
        clock: mocks::fixed_clock(now()),
        login_turns: LoginTurns::new(),
    }
}

fn policies() -> Policies {
    Policies::new(RedirectPolicy::new(
        DEFAULT_REDIRECT,
        [OTHER_ALLOWED_REDIRECT.to_owned()],
    ))
}

#[tokio::test]
async fn the_start_of_a_login_uses_the_ports_and_the_redirect_policy_given() {
    let mut states = MockLoginStateStore::new();
    states
        .expect_save()
        .withf(|record| record.redirect_uri == OTHER_ALLOWED_REDIRECT && record.created_at == now())
        .times(1)
        .returning(|_| Ok(()));
    let mut protector = MockStateProtector::new();
    protector.expect_random_state().return_const("s".repeat(43));
    protector.expect_pkce_verifier().returning(|_| secret("v"));
    protector.expect_pkce_challenge().return_const("c".to_owned());
    protector.expect_hash_state().returning(|_| TokenHash::new("ab"));
    let services = Services::new(ports(states, protector), policies());

    let started = services
        .start
        .start(AuthorizeInput {
            redirect_uri: Some(OTHER_ALLOWED_REDIRECT.to_owned()),
            ..AuthorizeInput::default()
        })
        .await
        .expect("the login starts");

    assert_eq!(started.flow, Flow::AuthKit);
    assert_eq!(started.url, "https://idp.example/authorize?flow=authkit");
}

#[tokio::test]
async fn the_access_guard_and_the_redirect_policy_are_wired() {
    let services = Services::new(
        ports(MockLoginStateStore::new(), MockStateProtector::new()),
        policies(),
    );

    let refused = services
        .start
        .start(AuthorizeInput {
            redirect_uri: Some("https://evil.example/".to_owned()),
            ..AuthorizeInput::default()
        })
        .await;
    assert!(
        matches!(refused, Err(crate::StartError::InvalidRedirectUri)),
        "{refused:?}"
    );
    let missing = services.access.authenticate("").await;
    assert!(matches!(missing, Err(AccessError::Missing)), "{missing:?}");
}

#[tokio::test]
async fn the_start_of_a_login_requires_a_browser_binding_when_the_policies_say_so() {
    let mut states = MockLoginStateStore::new();
    states.expect_save().never();
    let services = Services::new(
        ports(states, MockStateProtector::new()),
        Policies {
            require_client_challenge: true,
            ..policies()
        },
    );

    let refused = services.start.start(AuthorizeInput::default()).await;

    assert!(
        matches!(&refused, Err(crate::StartError::InvalidRequest(m)) if m.contains("client_challenge")),
        "{refused:?}"
    );
}
