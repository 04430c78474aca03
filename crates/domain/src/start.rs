//! The start of a login: validates the request, records a login state (keyed digest,
//! provider, redirect URI, organization hint, whether PKCE is used) for ten minutes,
//! and builds the provider's authorization URL the browser is sent to.

use thiserror::Error;

use crate::failure::Failure;
use crate::login::RedirectPolicy;
use crate::model::{AuthorizationRequest, LoginHints, LoginStateRecord};
use crate::ports::RepositoryError;
use crate::values::{ClientChallenge, LoginState, ProviderKey};
use crate::wiring::Ports;

/// How long a login state is accepted, in seconds (providers' codes live about as long).
pub const LOGIN_STATE_TTL_SECONDS: i64 = 600;

/// The query of the start of a login, as optional raw strings.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AuthorizeInput {
    /// Where the provider sends the browser back (default `${CLIENT_URL}/signin`).
    pub redirect_uri: Option<String>,
    /// The SPA's own state (22–512 characters of `A-Z a-z 0-9 - _ . ~`, see
    /// [`LoginState`]); a random one of 256 bits is generated when absent.
    pub state: Option<String>,
    /// Pre-fills the user's address.
    pub login_hint: Option<String>,
    /// An organization: a tenant of the provider, or a local organization a new user
    /// asks to join.
    pub organization_id: Option<String>,
    /// `prompt`, passed through.
    pub prompt: Option<String>,
    /// A connection of the provider.
    pub connection: Option<String>,
    /// An upstream provider of the provider (`authkit`, `GoogleOAuth`, ...).
    pub provider: Option<String>,
    /// A domain whose connection to use.
    pub domain_hint: Option<String>,
    /// The provider's API to use, by name; the provider
    /// chooses when absent.
    pub flow: Option<String>,
    /// The browser binding: the base64url SHA-256 of a verifier the SPA keeps
    /// ([`ClientChallenge`]); the callback must then carry that verifier.
    pub client_challenge: Option<String>,
}

impl std::fmt::Debug for AuthorizeInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The state is a CSRF secret until it is used.
        f.debug_struct("AuthorizeInput")
            .field("redirect_uri", &self.redirect_uri)
            .field("state", &self.state.as_ref().map(|_| "[redacted]"))
            .field("login_hint", &self.login_hint)
            .field("organization_id", &self.organization_id)
            .field("prompt", &self.prompt)
            .field("connection", &self.connection)
            .field("provider", &self.provider)
            .field("domain_hint", &self.domain_hint)
            .field("flow", &self.flow)
            .field("client_challenge", &self.client_challenge)
            .finish()
    }
}

/// A started login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedLogin {
    /// The provider's URL to send the browser to.
    pub url: String,
    /// The provider (API) the login uses.
    pub provider: ProviderKey,
}

/// Why a login could not be started.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StartError {
    /// A parameter is malformed; the message names it.
    #[error("{0}")]
    InvalidRequest(String),
    /// The redirect URI is not allowed.
    #[error("the redirect URI is not allowed")]
    InvalidRedirectUri,
    /// The SPA's state is already pending for another login.
    #[error("this state is already in use by another login")]
    StateInUse,
    /// The store is unavailable, or something unexpected happened.
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<RepositoryError> for StartError {
    fn from(e: RepositoryError) -> Self {
        match e {
            RepositoryError::Duplicate => StartError::StateInUse,
            other => StartError::Failure(other.into()),
        }
    }
}

/// Starts logins.
#[derive(Clone, Debug)]
pub struct StartLogin {
    ports: Ports,
    redirects: RedirectPolicy,
    require_client_challenge: bool,
}

/// Trims a parameter, drops it when empty, refuses it when too long or not printable.
fn param(name: &str, value: Option<&str>, max: usize) -> Result<Option<String>, StartError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err(StartError::InvalidRequest(format!(
            "{name} is longer than {max} characters"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(StartError::InvalidRequest(format!(
            "{name} contains control characters"
        )));
    }
    Ok(Some(value.to_owned()))
}

impl StartLogin {
    /// Builds the use case over the identity provider, login states, state
    /// cryptography and clock of `ports`.
    pub fn new(ports: Ports, redirects: RedirectPolicy) -> Self {
        Self {
            ports,
            redirects,
            require_client_challenge: false,
        }
    }

    /// Whether a start without a `client_challenge` is refused
    /// (`REQUIRE_CLIENT_CHALLENGE`; off by default, for SPAs not yet updated).
    #[must_use]
    pub fn requiring_client_challenge(mut self, required: bool) -> Self {
        self.require_client_challenge = required;
        self
    }

    /// Validates the request, stores the login state and returns the provider's URL.
    /// Nothing is stored when the request is refused.
    pub async fn start(&self, input: AuthorizeInput) -> Result<StartedLogin, StartError> {
        let redirect_uri = param("redirect_uri", input.redirect_uri.as_deref(), 2048)?;
        let redirect_uri = self
            .redirects
            .resolve(redirect_uri.as_deref())
            .ok_or(StartError::InvalidRedirectUri)?
            .to_owned();
        let state = input
            .state
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|raw| LoginState::parse(raw).map_err(|e| StartError::InvalidRequest(e.to_string())))
            .transpose()?;
        let client_challenge = match input.client_challenge.as_deref().filter(|c| !c.is_empty()) {
            Some(raw) => {
                Some(ClientChallenge::parse(raw).map_err(|e| StartError::InvalidRequest(e.to_string()))?)
            }
            None if self.require_client_challenge => {
                return Err(StartError::InvalidRequest(
                    "client_challenge is required".to_owned(),
                ));
            }
            None => None,
        };
        let login_hint = param("login_hint", input.login_hint.as_deref(), 320)?;
        let organization_id = param("organization_id", input.organization_id.as_deref(), 128)?;
        let prompt = param("prompt", input.prompt.as_deref(), 64)?;
        let connection = param("connection", input.connection.as_deref(), 128)?;
        let provider = param("provider", input.provider.as_deref(), 64)?;
        let domain_hint = param("domain_hint", input.domain_hint.as_deref(), 253)?;
        let hints = LoginHints {
            requested: param("flow", input.flow.as_deref(), 16)?,
            login_hint,
            organization: organization_id,
            connection,
            domain_hint,
            provider,
            prompt,
        };
        let plan = self
            .ports
            .identity_provider
            .plan_login(&hints)
            .map_err(StartError::InvalidRequest)?;
        let state = state.map_or_else(
            || self.ports.state_protector.random_state(),
            |s| s.as_str().to_owned(),
        );
        let pkce = plan.pkce;
        let code_challenge = pkce.then(|| {
            let verifier = self.ports.state_protector.pkce_verifier(&state);
            self.ports.state_protector.pkce_challenge(&verifier)
        });
        let now = self.ports.clock.now();
        self.ports
            .login_states
            .save_state(LoginStateRecord {
                state_hash: self.ports.state_protector.hash_state(&state),
                provider: plan.provider.clone(),
                redirect_uri: redirect_uri.clone(),
                organization_hint: hints.organization.clone(),
                pkce,
                client_challenge,
                created_at: now,
                expires_at: now.plus_seconds(LOGIN_STATE_TTL_SECONDS),
            })
            .await?;
        let url = self
            .ports
            .identity_provider
            .authorization_url(&AuthorizationRequest {
                provider: plan.provider.clone(),
                redirect_uri,
                state,
                hints,
                code_challenge,
            });
        tracing::info!(flow = plan.provider.as_str(), "login started");
        Ok(StartedLogin {
            url,
            provider: plan.provider,
        })
    }
}
