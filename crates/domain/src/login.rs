//! The login callback use case: provider error and code checks, the code exchange
//! (with the provider the login was started with), provisioning and session issuance.

use secrecy::{ExposeSecret, SecretString};
use thiserror::Error;

use crate::audit::{AuditActor, AuditEvent, AuditOrigin, AuditType, SystemActor};
use crate::failure::{Failure, failure_from_ports};
use crate::issuance::{AuthSession, LoginAnswerKey, SessionIssuer, SessionOrigin};
use crate::links::LinkRequests;
use crate::model::{
    ClientContext, CodeExchange, ExternalIdentity, PendingStep, StateTake, StepRequired, User,
};
use crate::ports::{ExchangeError, IdentityProvider};
use crate::provisioning::{NormalizedIdentity, ProvisionError, Provisioned, Provisioner, TrustRule};
use crate::values::{ClientChallenge, ClientVerifier, LinkRequestId, LoginState, ProviderKey, Timestamp};
use crate::wiring::Ports;

/// What the client posted to the callback, as optional raw strings.
#[derive(Default)]
pub struct CallbackInput {
    /// The one-time authorization code.
    pub code: Option<SecretString>,
    /// The CSRF state echoed by the provider.
    pub state: Option<String>,
    /// An error the provider put on the redirect.
    pub error: Option<String>,
    /// The provider's description of that error.
    pub error_description: Option<String>,
    /// The redirect URI the login started with.
    pub redirect_uri: Option<String>,
    /// The organization a brand-new user asks to join.
    pub organization_id: Option<String>,
    /// The browser binding's secret half, when the login was started with a
    /// `client_challenge` ([`ClientVerifier`]).
    pub client_verifier: Option<SecretString>,
    /// Where the post came from.
    pub client: ClientContext,
    /// The request id the post is answered under, for the audit trail.
    pub request_id: Option<String>,
}

impl std::fmt::Debug for CallbackInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The state is a CSRF secret until it is used.
        f.debug_struct("CallbackInput")
            .field("code", &self.code.as_ref().map(|_| "[redacted]"))
            .field("state", &self.state.as_ref().map(|_| "[redacted]"))
            .field("error", &self.error)
            .field("error_description", &self.error_description)
            .field("redirect_uri", &self.redirect_uri)
            .field("organization_id", &self.organization_id)
            .field(
                "client_verifier",
                &self.client_verifier.as_ref().map(|_| "[redacted]"),
            )
            .field("client", &self.client)
            .field("request_id", &self.request_id)
            .finish()
    }
}

/// Which redirect URIs a login may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectPolicy {
    default_uri: String,
    allowed: Vec<String>,
}

impl RedirectPolicy {
    /// `default_uri` (`${CLIENT_URL}/signin`) is always allowed, beside `allowed`.
    pub fn new(default_uri: impl Into<String>, allowed: impl IntoIterator<Item = String>) -> Self {
        let default_uri = default_uri.into();
        let mut allowed: Vec<String> = allowed.into_iter().collect();
        if !allowed.contains(&default_uri) {
            allowed.push(default_uri.clone());
        }
        Self { default_uri, allowed }
    }

    /// The URI a login uses: the requested one if it is allowed (exact match), the
    /// default when none is requested; `None` when the requested one is not allowed.
    pub fn resolve<'a>(&'a self, requested: Option<&'a str>) -> Option<&'a str> {
        match requested.filter(|r| !r.is_empty()) {
            None => Some(&self.default_uri),
            Some(r) => self.allowed.iter().any(|a| a == r).then_some(r),
        }
    }

    /// The default redirect URI.
    pub fn default_uri(&self) -> &str {
        &self.default_uri
    }
}

/// Why a login failed. Each variant is one row of the error table of the contract.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LoginError {
    /// The provider reported an error on the redirect. What the client sent is
    /// never echoed, except the provider's code when it is a clean one.
    #[error("the identity provider reported an error")]
    ProviderError {
        /// The provider's code when it matches `^[a-z0-9_.-]{1,64}$`, else `None`.
        provider_error: Option<String>,
    },
    /// No code was posted.
    #[error("the authorization code is missing")]
    MissingCode,
    /// A field of the request is missing or malformed; the message names it.
    #[error("{0}")]
    InvalidRequest(String),
    /// The state is missing, unknown, expired, used, or bound to another redirect URI.
    #[error("the state is missing, unknown, expired or already used")]
    InvalidState,
    /// The redirect URI is not allowed.
    #[error("the redirect URI is not allowed")]
    InvalidRedirectUri,
    /// The provider refused the code.
    #[error("the authorization code is invalid, expired or already used")]
    InvalidCode,
    /// The provider needs another step first.
    #[error("the identity provider requires another step: {}", .0.code)]
    StepRequired(Box<StepRequired>),
    /// The user may not sign in.
    #[error("sign-in is disabled for this user")]
    LoginDisabled,
    /// A new user has no organization to join.
    #[error("no organization exists for a new user to join")]
    NoOrganization,
    /// A local user has the address, but nobody vouches for it on their
    /// behalf: the account must be linked by an administrator. Nothing was written but
    /// the link request.
    #[error("the identity may not be linked to the existing user with this address")]
    AccountLinkRequired {
        /// The link request an administrator may approve ([`crate::LinkRequests`]):
        /// `None` only when none could be recorded (logged) or the use case records
        /// none.
        link_request_id: Option<LinkRequestId>,
    },
    /// The organization asked for is not one the new user may join. Nothing was written.
    #[error("the identity may not join the requested organization")]
    OrganizationMismatch,
    /// The provider refused our credentials.
    #[error("the identity provider rejected our credentials: {0}")]
    UpstreamMisconfigured(String),
    /// The provider is rate-limiting us.
    #[error("the identity provider is rate-limiting us")]
    UpstreamRateLimited {
        /// Seconds to wait, when known.
        retry_after_seconds: Option<u64>,
    },
    /// The provider failed or sent something unusable.
    #[error("the identity provider is unavailable: {0}")]
    UpstreamUnavailable(String),
    /// The store is unavailable, or something unexpected happened.
    #[error(transparent)]
    Failure(#[from] Failure),
}

failure_from_ports!(LoginError);

impl LoginError {
    /// The contract's machine code of a refusal (`ACCOUNT_LINK_REQUIRED`, ...), as the
    /// audit trail records it; `None` for a step to take, an outage of the provider or
    /// the store, which decide nothing about who is in.
    pub fn code(&self) -> Option<&'static str> {
        Some(match self {
            LoginError::ProviderError { .. } => "PROVIDER_ERROR",
            LoginError::MissingCode => "MISSING_CODE",
            LoginError::InvalidRequest(_) => "INVALID_REQUEST",
            LoginError::InvalidState => "INVALID_STATE",
            LoginError::InvalidRedirectUri => "INVALID_REDIRECT_URI",
            LoginError::InvalidCode => "INVALID_CODE",
            LoginError::LoginDisabled => "LOGIN_DISABLED",
            LoginError::NoOrganization => "NO_ORGANIZATION",
            LoginError::AccountLinkRequired { .. } => "ACCOUNT_LINK_REQUIRED",
            LoginError::OrganizationMismatch => "ORGANIZATION_MISMATCH",
            LoginError::StepRequired(_)
            | LoginError::UpstreamMisconfigured(_)
            | LoginError::UpstreamRateLimited { .. }
            | LoginError::UpstreamUnavailable(_)
            | LoginError::Failure(_) => return None,
        })
    }
}

/// How a login ended, as the audit trail needs it: the session and the rule that let
/// it in (`None` for a second post answered with the first post's session, which
/// decided nothing new), or the refusal and the existing user the identity matched.
type Decision = Result<(AuthSession, Option<TrustRule>), Refusal>;

/// A refused login and the existing user its identity matched, if any.
struct Refusal {
    error: LoginError,
    matched: Option<User>,
}

impl From<LoginError> for Refusal {
    fn from(error: LoginError) -> Self {
        Self { error, matched: None }
    }
}

impl From<ProvisionError> for Refusal {
    fn from(error: ProvisionError) -> Self {
        let matched = error.matched_user().cloned();
        Self {
            error: error.into(),
            matched,
        }
    }
}

impl From<ProvisionError> for LoginError {
    fn from(e: ProvisionError) -> Self {
        match e {
            ProvisionError::InvalidIdentity(e) => {
                LoginError::UpstreamUnavailable(format!("unusable identity: {e}"))
            }
            ProvisionError::LoginDisabled { .. } => LoginError::LoginDisabled,
            ProvisionError::NoOrganization => LoginError::NoOrganization,
            ProvisionError::AccountLinkRequired { .. } => LoginError::AccountLinkRequired {
                link_request_id: None,
            },
            ProvisionError::OrganizationMismatch => LoginError::OrganizationMismatch,
            ProvisionError::Store(e) => e.into(),
        }
    }
}

impl From<ExchangeError> for LoginError {
    fn from(e: ExchangeError) -> Self {
        match e {
            ExchangeError::InvalidCode => LoginError::InvalidCode,
            ExchangeError::StepRequired(step) => LoginError::StepRequired(step),
            ExchangeError::Misconfigured(m) => LoginError::UpstreamMisconfigured(m),
            ExchangeError::RateLimited { retry_after_seconds } => {
                LoginError::UpstreamRateLimited { retry_after_seconds }
            }
            ExchangeError::Unavailable(m) | ExchangeError::Unexpected(m) => {
                LoginError::UpstreamUnavailable(m)
            }
        }
    }
}

/// The provider's error code when it is a clean one (`^[a-z0-9_.-]{1,64}$`), the
/// only part of a client-supplied error that may be answered back.
fn clean_provider_code(raw: &str) -> Option<String> {
    let clean = !raw.is_empty()
        && raw.len() <= 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-'));
    clean.then(|| raw.to_owned())
}

/// Keeps a client-supplied provider code or description printable and short, for the log.
fn sanitize(raw: &str, max: usize) -> String {
    raw.chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// What a second post of the callback must repeat to get the first post's session:
/// the code, the state, the redirect URI and the browser binding's verifier, as one
/// secret (the key its answer is sealed under). `None` when the post carries no usable
/// code, redirect URI or verifier: only a login bound to its browser is answered twice.
fn login_answer_secret(input: &CallbackInput, redirects: &RedirectPolicy) -> Option<SecretString> {
    if input.error.as_deref().is_some_and(|e| !e.trim().is_empty()) {
        return None;
    }
    let verifier = ClientVerifier::parse(input.client_verifier.as_ref()?.expose_secret()).ok()?;
    let code = input
        .code
        .as_ref()
        .filter(|c| !c.expose_secret().trim().is_empty())?;
    let redirect_uri = redirects.resolve(input.redirect_uri.as_deref())?;
    Some(SecretString::from(format!(
        "tether login answer\n{}\n{}\n{}\n{}",
        code.expose_secret(),
        input.state.as_deref().unwrap_or_default(),
        redirect_uri,
        verifier.secret().expose_secret()
    )))
}

/// What the posted state says about the exchange.
#[derive(Clone)]
struct StatePlan {
    /// The provider (API) the login was started with; `None` for an unissued state.
    provider: Option<ProviderKey>,
    verifier: Option<SecretString>,
    organization_hint: Option<String>,
    /// The state record taken for this login, to put back when the provider asks us
    /// to wait.
    taken: Option<crate::model::LoginStateRecord>,
}

impl StatePlan {
    /// Whether the login was started with a browser binding (and the callback met it).
    fn bound(&self) -> bool {
        self.taken.as_ref().is_some_and(|t| t.client_challenge.is_some())
    }
}

/// How long after a login a second post of the same callback (same code, state and
/// redirect URI) still answers with the same session, in seconds.
pub const LOGIN_ANSWER_WINDOW_SECONDS: i64 = 60;

/// Completes a login from the callback's input. Every login decision (signed in, and
/// by which rule; refused, and why) is recorded in the audit sink of the ports.
#[derive(Clone, Debug)]
pub struct CompleteLogin {
    ports: Ports,
    provisioner: Provisioner,
    issuer: SessionIssuer,
    redirects: RedirectPolicy,
    accept_unissued: bool,
    link_requests: Option<LinkRequests>,
}

impl CompleteLogin {
    /// Builds the use case over `ports`. The posted state is checked against the
    /// states [`crate::StartLogin`] recorded in its login-state store: a recorded
    /// state is consumed once, must be unexpired and bound to the same redirect URI,
    /// and names the one API to call (with its PKCE verifier). `accept_unissued`
    /// accepts states this service did not issue (SPAs that build the provider's URLs
    /// themselves; the provider then resolves which of its APIs issued the code). Posts
    /// of one callback take turns in the login turns of `ports` (give every wiring of a
    /// process the same table).
    pub fn new(
        ports: Ports,
        provisioner: Provisioner,
        issuer: SessionIssuer,
        redirects: RedirectPolicy,
        accept_unissued: bool,
    ) -> Self {
        Self {
            ports,
            provisioner,
            issuer,
            redirects,
            accept_unissued,
            link_requests: None,
        }
    }

    /// The same use case, recording a link request for each login refused with
    /// [`LoginError::AccountLinkRequired`] (its id comes back in the error). Without
    /// it, no request is recorded.
    #[must_use]
    pub fn recording_link_requests(mut self, link_requests: LinkRequests) -> Self {
        self.link_requests = Some(link_requests);
        self
    }

    /// Provisions the user of `identity`; a refusal for want of a vouched address
    /// records a link request (the only write of such a login) and names it.
    async fn provision(
        &self,
        identity: &ExternalIdentity,
        requested_organization: Option<&str>,
        client: &ClientContext,
        now: Timestamp,
    ) -> Result<Provisioned, Refusal> {
        match self
            .provisioner
            .provision(identity, requested_organization, now)
            .await
        {
            Err(ProvisionError::AccountLinkRequired { user }) => {
                let link_request_id = match &self.link_requests {
                    None => None,
                    Some(link_requests) => {
                        let recorded = match NormalizedIdentity::from_external(identity) {
                            Ok(normalized) => link_requests
                                .record(user.id, user.organization_id, &normalized, client, now)
                                .await
                                .map_err(|e| e.to_string()),
                            Err(e) => Err(e.to_string()),
                        };
                        // The refusal stands either way; without a request an operator
                        // links by hand.
                        match recorded {
                            Ok(request) => Some(request.id),
                            Err(error) => {
                                tracing::warn!(user_id = %user.id, %error, "could not record the link request of a refused login");
                                None
                            }
                        }
                    }
                };
                Err(Refusal {
                    error: LoginError::AccountLinkRequired { link_request_id },
                    matched: Some(*user),
                })
            }
            other => other.map_err(Refusal::from),
        }
    }

    /// Hands the record of a login's decision to the audit sink: `login.succeeded` with
    /// the rule and the API, or `login.refused` with the code (and the user the identity
    /// matched). Second posts answered with the first one's session, steps and outages
    /// decide nothing and are not recorded. Answers what the caller is told.
    fn record(
        &self,
        origin: AuditOrigin,
        provider: Option<&ProviderKey>,
        decision: Decision,
    ) -> Result<AuthSession, LoginError> {
        let event = |kind| {
            AuditEvent::new(
                kind,
                AuditActor::System(SystemActor::Service),
                self.ports.clock.now(),
            )
            .origin(origin)
        };
        let with_api = |event: AuditEvent| match provider {
            Some(api) => event.detail("api", api.as_str()),
            None => event,
        };
        match decision {
            Ok((session, rule)) => {
                if let Some(rule) = rule {
                    self.ports.audit.record(with_api(
                        event(AuditType::LoginSucceeded)
                            .user(session.user.id)
                            .organization(session.user.organization_id)
                            .session(session.session_id.clone())
                            .detail("rule", rule.as_str()),
                    ));
                }
                Ok(session)
            }
            Err(Refusal { error, matched }) => {
                if let Some(code) = error.code() {
                    let mut refused = with_api(event(AuditType::LoginRefused).refused().detail("code", code));
                    if let Some(user) = matched {
                        refused = refused.of_user(&user);
                    }
                    self.ports.audit.record(refused);
                }
                Err(error)
            }
        }
    }

    /// Works out which API to call from the posted state.
    async fn plan_from_state(
        &self,
        state: Option<&str>,
        client_verifier: Option<&SecretString>,
        redirect_uri: &str,
        now: Timestamp,
    ) -> Result<StatePlan, LoginError> {
        let fallback = StatePlan {
            provider: None,
            verifier: None,
            organization_hint: None,
            taken: None,
        };
        let unissued = || {
            if self.accept_unissued {
                Ok(fallback)
            } else {
                Err(LoginError::InvalidState)
            }
        };
        // A verifier, when posted (not empty), must be well formed whatever the state.
        let verifier = match client_verifier.filter(|v| !v.expose_secret().is_empty()) {
            None => None,
            Some(raw) => match ClientVerifier::parse(raw.expose_secret()) {
                Ok(verifier) => Some(verifier),
                Err(_) => {
                    tracing::info!("the client verifier is malformed");
                    return Err(LoginError::InvalidState);
                }
            },
        };
        let Some(state) = state.filter(|s| !s.is_empty()) else {
            return unissued();
        };
        if state.len() > LoginState::MAX_LEN {
            return Err(LoginError::InvalidState);
        }
        // A state outside the rule of the start of a login cannot be one it issued.
        let Ok(state) = LoginState::parse(state) else {
            return unissued();
        };
        let state = state.as_str();
        let presented = verifier.and_then(|v| {
            ClientChallenge::parse(&self.ports.state_protector.pkce_challenge(v.secret())).ok()
        });
        let record = match self
            .ports
            .login_states
            .take(&self.ports.state_protector.hash_state(state), presented.as_ref())
            .await?
        {
            StateTake::Taken(record) => record,
            StateTake::Bound => {
                // A leaked redirect URL, or another browser: the state stays for the
                // browser that started the login, and the provider is not called.
                tracing::info!("login state is bound to another client verifier");
                return Err(LoginError::InvalidState);
            }
            StateTake::Absent => return unissued(),
        };
        if record.expires_at <= now {
            tracing::info!("login state expired");
            return Err(LoginError::InvalidState);
        }
        if record.redirect_uri != redirect_uri {
            tracing::info!("login state was issued for another redirect URI");
            return Err(LoginError::InvalidState);
        }
        Ok(StatePlan {
            provider: Some(record.provider.clone()),
            verifier: record
                .pkce
                .then(|| self.ports.state_protector.pkce_verifier(state)),
            organization_hint: record.organization_hint.clone(),
            taken: Some(record),
        })
    }

    /// Runs the callback: checks the input, exchanges the code, finds or creates the
    /// user and starts a session. Client mistakes are caught before the provider is
    /// called.
    pub async fn complete(&self, input: CallbackInput) -> Result<AuthSession, LoginError> {
        self.complete_reporting_provider(input).await.1
    }

    /// [`CompleteLogin::complete`], also telling which provider (API) the login went
    /// to: `None` when it failed before one was known (for metrics by flow).
    ///
    /// One session per code: a second post of a callback (a React effect run twice, a
    /// retry after a dropped answer) gets the session of the first. Posts of one code,
    /// state and redirect URI take turns; a post the code or state check refuses then
    /// looks for the answer a first post stored (sealed under a key derived from what
    /// was posted) and, within [`LOGIN_ANSWER_WINDOW_SECONDS`] of it, answers with that
    /// session: its first refresh token (if never rotated), its user, and a fresh
    /// access token. Other redirect URIs or states open nothing.
    ///
    /// Every decision is recorded in the audit trail.
    pub async fn complete_reporting_provider(
        &self,
        input: CallbackInput,
    ) -> (Option<ProviderKey>, Result<AuthSession, LoginError>) {
        let origin = AuditOrigin {
            client: input.client.clone(),
            request_id: input.request_id.clone(),
        };
        let (flow, decision) = self.complete_deciding(input).await;
        let answer = self.record(origin, flow.as_ref(), decision);
        (flow, answer)
    }

    /// [`CompleteLogin::complete_reporting_provider`] before its record.
    async fn complete_deciding(&self, input: CallbackInput) -> (Option<ProviderKey>, Decision) {
        let Some(secret) = login_answer_secret(&input, &self.redirects) else {
            return self.complete_once(input, None).await;
        };
        let key = self.issuer.login_answer_key(secret);
        let _turn = self.ports.login_turns.take(key.id().clone()).await;
        match self.complete_once(input, Some(&key)).await {
            (
                flow,
                Err(Refusal {
                    error: refused @ (LoginError::InvalidState | LoginError::InvalidCode),
                    matched,
                }),
            ) => match self.answer_again(&key).await {
                Ok(Some(answer)) => (flow, Ok((answer, None))),
                Ok(None) => (
                    flow,
                    Err(Refusal {
                        error: refused,
                        matched,
                    }),
                ),
                Err(e) => (flow, Err(e.into())),
            },
            other => other,
        }
    }

    /// The session an earlier post of this callback started, within the window.
    async fn answer_again(&self, key: &LoginAnswerKey) -> Result<Option<AuthSession>, LoginError> {
        let Some((session, refresh_token)) = self.issuer.find_login_answer(key).await? else {
            return Ok(None);
        };
        let now = self.ports.clock.now();
        if now >= session.started_at.plus_seconds(LOGIN_ANSWER_WINDOW_SECONDS) {
            tracing::info!(session_id = %session.id, "a login callback was posted again after the window");
            return Ok(None);
        }
        let Some(user) = self.provisioner.users().find_user(session.user_id).await? else {
            return Ok(None);
        };
        if user.login_disabled {
            return Err(LoginError::LoginDisabled);
        }
        let answer = self
            .issuer
            .answer(user, &session, refresh_token, session.started_at, now)
            .await?;
        tracing::info!(user_id = %answer.user.id, session_id = %session.id, "a login callback posted again got the session of the first post");
        Ok(Some(answer))
    }

    /// One post of a callback, with the API it went to, if it got that far.
    async fn complete_once(
        &self,
        input: CallbackInput,
        login_answer_key: Option<&LoginAnswerKey>,
    ) -> (Option<ProviderKey>, Decision) {
        // "Now" is read once for the whole callback.
        let now = self.ports.clock.now();
        let (code, from_state) = match self.check(&input, now).await {
            Ok(checked) => checked,
            Err(e) => return (None, Err(e.into())),
        };
        // Only a login bound to its browser is answered to a second post.
        let login_answer_key = login_answer_key.filter(|_| from_state.bound());
        let planned = from_state.provider.clone();
        // A new user joins the organization the callback names, else the one the login
        // was started for.
        let requested = input
            .organization_id
            .clone()
            .or(from_state.organization_hint.clone());
        let identity = match self.exchange_for(&input, &code, from_state).await {
            Ok(identity) => identity,
            Err(e) => return (planned, Err(e.into())),
        };
        let session = self
            .start_session(
                &identity,
                requested.as_deref(),
                login_answer_key,
                &input.client,
                now,
            )
            .await;
        (Some(identity.link.provider), session)
    }

    /// Checks the callback's input before the provider is called: its error, the
    /// code, the redirect URI and the state.
    async fn check(
        &self,
        input: &CallbackInput,
        now: Timestamp,
    ) -> Result<(SecretString, StatePlan), LoginError> {
        if let Some(error) = input.error.as_deref().filter(|e| !e.trim().is_empty()) {
            tracing::info!(
                provider_error = %sanitize(error, 64),
                description = %input.error_description.as_deref().map(|d| sanitize(d, 256)).unwrap_or_default(),
                "the identity provider reported an error on the redirect"
            );
            return Err(LoginError::ProviderError {
                provider_error: clean_provider_code(error.trim()),
            });
        }
        let code = input
            .code
            .clone()
            .filter(|c| !c.expose_secret().trim().is_empty())
            .ok_or(LoginError::MissingCode)?;
        let redirect_uri = self
            .redirects
            .resolve(input.redirect_uri.as_deref())
            .ok_or(LoginError::InvalidRedirectUri)?;
        let from_state = self
            .plan_from_state(
                input.state.as_deref(),
                input.client_verifier.as_ref(),
                redirect_uri,
                now,
            )
            .await?;
        Ok((code, from_state))
    }

    /// Exchanges the code as the state says; when the provider asks us to wait, the code
    /// was not exchanged, so the state is put back for the retry `Retry-After` invites.
    async fn exchange_for(
        &self,
        input: &CallbackInput,
        code: &SecretString,
        from_state: StatePlan,
    ) -> Result<ExternalIdentity, LoginError> {
        match self
            .ports
            .identity_provider
            .exchange(&CodeExchange {
                provider: from_state.provider,
                code: code.clone(),
                pkce_verifier: from_state.verifier,
                client: input.client.clone(),
            })
            .await
            .map_err(LoginError::from)
        {
            Err(rate_limited @ LoginError::UpstreamRateLimited { .. }) => {
                if let Some(record) = from_state.taken
                    && let Err(e) = self.ports.login_states.save_state(record).await
                {
                    tracing::warn!(error = %e, "could not put back the login state after the provider's rate limit");
                }
                Err(rate_limited)
            }
            other => other,
        }
    }

    /// Finds or creates the user of `identity` and starts their session.
    async fn start_session(
        &self,
        identity: &ExternalIdentity,
        requested_organization: Option<&str>,
        login_answer_key: Option<&LoginAnswerKey>,
        client: &ClientContext,
        now: Timestamp,
    ) -> Decision {
        let provisioned = self
            .provision(identity, requested_organization, client, now)
            .await?;
        let session = self
            .issuer
            .start_login_session(
                provisioned.user,
                provisioned.organization.as_ref(),
                login_answer_key,
                origin_of(identity, client),
                now,
            )
            .await
            .map_err(LoginError::from)?;
        tracing::info!(
            user_id = %session.user.id,
            flow = identity.link.provider.as_str(),
            session_id = %session.session_id,
            "login completed"
        );
        Ok((session, Some(provisioned.rule)))
    }

    /// Completes a login the provider answered with a step to take (the callback's
    /// `403` with a `pendingAuthenticationToken`): the provider checks the step's
    /// answer, then the same trust rules and the same session as a callback follow.
    /// No state is involved (the provider's pending token is single-use and bound to
    /// the login); a new user joins by the organization rules with no request of their
    /// own. The request is checked before the provider is called.
    /// Every decision is recorded in the audit trail, as for a callback.
    pub async fn complete_step(&self, input: StepInput) -> Result<AuthSession, LoginError> {
        let origin = AuditOrigin {
            client: input.client.clone(),
            request_id: input.request_id.clone(),
        };
        let (provider, decision) = self.complete_step_deciding(&input).await;
        self.record(origin, provider.as_ref(), decision)
    }

    /// [`CompleteLogin::complete_step`] before its record.
    async fn complete_step_deciding(&self, input: &StepInput) -> (Option<ProviderKey>, Decision) {
        let step = match input.checked(self.ports.identity_provider.as_ref()) {
            Ok(step) => step,
            Err(e) => return (None, Err(e.into())),
        };
        let now = self.ports.clock.now();
        let identity = match self
            .ports
            .identity_provider
            .complete_step(&step, &input.client)
            .await
        {
            Ok(identity) => identity,
            Err(e) => return (None, Err(LoginError::from(e).into())),
        };
        let provider = identity.link.provider.clone();
        let provisioned = match self.provision(&identity, None, &input.client, now).await {
            Ok(provisioned) => provisioned,
            Err(refusal) => return (Some(provider), Err(refusal)),
        };
        let session = match self
            .issuer
            .start_login_session(
                provisioned.user,
                provisioned.organization.as_ref(),
                None,
                origin_of(&identity, &input.client),
                now,
            )
            .await
        {
            Ok(session) => session,
            Err(e) => return (Some(provider), Err(LoginError::from(e).into())),
        };
        tracing::info!(
            user_id = %session.user.id,
            flow = provider.as_str(),
            session_id = %session.session_id,
            "login completed after a step"
        );
        (Some(provider), Ok((session, Some(provisioned.rule))))
    }
}

/// What a session started by a login of `identity` from `client` records of its origin.
fn origin_of(identity: &ExternalIdentity, client: &ClientContext) -> SessionOrigin {
    SessionOrigin {
        flow: Some(identity.link.provider.clone()),
        client: client.clone(),
    }
}

/// Longest pending authentication token accepted.
const MAX_PENDING_TOKEN_LEN: usize = 2048;

/// Longest e-mailed verification code accepted.
const MAX_STEP_CODE_LEN: usize = 64;

/// What the person answered to a step, as optional raw strings.
#[derive(Debug)]
pub enum StepAnswer {
    /// The provider organization picked from the ones the step offered.
    Organization(Option<String>),
    /// The code the provider e-mailed.
    EmailCode(Option<SecretString>),
}

/// A step's answer as posted: the pending token, the answer, the client.
pub struct StepInput {
    /// The `pendingAuthenticationToken` of the step.
    pub pending_authentication_token: Option<SecretString>,
    /// The person's answer.
    pub answer: StepAnswer,
    /// Where the post came from.
    pub client: ClientContext,
    /// The request id the post is answered under, for the audit trail.
    pub request_id: Option<String>,
}

impl std::fmt::Debug for StepInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepInput")
            .field(
                "pending_authentication_token",
                &self.pending_authentication_token.as_ref().map(|_| "[redacted]"),
            )
            .field("answer", &self.answer)
            .field("client", &self.client)
            .field("request_id", &self.request_id)
            .finish()
    }
}

impl StepInput {
    /// The step to hand to the provider, or the field that is missing or malformed.
    fn checked(&self, idp: &dyn IdentityProvider) -> Result<PendingStep, LoginError> {
        let invalid = |message: &str| LoginError::InvalidRequest(message.to_owned());
        let token = self
            .pending_authentication_token
            .as_ref()
            .map(|t| t.expose_secret().trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| invalid("pendingAuthenticationToken is required"))?;
        if token.len() > MAX_PENDING_TOKEN_LEN || token.chars().any(char::is_control) {
            return Err(invalid("pendingAuthenticationToken is malformed"));
        }
        let pending_authentication_token = SecretString::from(token.to_owned());
        match &self.answer {
            StepAnswer::Organization(organization) => {
                let organization = organization
                    .as_deref()
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .ok_or_else(|| invalid("organizationId is required"))?;
                let organization_id = idp
                    .parse_tenant(organization)
                    .map_err(|e| invalid(&format!("organizationId must be {}", e.expected)))?;
                Ok(PendingStep::OrganizationSelection {
                    pending_authentication_token,
                    organization_id,
                })
            }
            StepAnswer::EmailCode(code) => {
                let code = code
                    .as_ref()
                    .map(|c| c.expose_secret().trim())
                    .filter(|c| !c.is_empty())
                    .ok_or_else(|| invalid("code is required"))?;
                if code.len() > MAX_STEP_CODE_LEN || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(invalid("code is malformed"));
                }
                Ok(PendingStep::EmailVerification {
                    pending_authentication_token,
                    code: SecretString::from(code.to_owned()),
                })
            }
        }
    }
}
