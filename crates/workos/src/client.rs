//! The WorkOS HTTP client and its [`IdentityProvider`] implementation: one-time code
//! exchange with the SSO API (`POST /sso/token`) or the AuthKit API
//! (`POST /user_management/authenticate`).
//!
//! Secrets (the API key, the code, the PKCE verifier) only ever go into request bodies;
//! WorkOS tokens in answers (`access_token`, `refresh_token`, ...) are never deserialized,
//! kept or logged.

use std::error::Error as _;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Response, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tether_domain::{
    AuthorizationRequest, ClientContext, CodeExchange, ExchangeError, ExternalIdentity, IdentityLink,
    IdentityProvider, LoginHints, LoginPlan, PendingStep, TenantId, TenantIdError, Vouching,
};

use crate::api::{Api, forwarded_organization, organization_id};

use crate::backoff::Backoff;
use crate::classify::{classify_failure, parse_retry_after};
use crate::config::{WorkosBuildError, WorkosConfig};
use crate::domains::{DomainCache, OrganizationAnswer, is_organization_id, vouched};

/// Most bytes read from one WorkOS answer; the rest is ignored.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// How long an idle pooled connection may be reused. Below the 5 s keep-alive of common
/// servers, so that a request is rarely written to a connection the server is closing
/// (such a request could not be retried: the code might have been consumed).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(4);

/// Adapter over the WorkOS HTTP API that exchanges one-time codes for identities.
///
/// Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct WorkosClient {
    http: reqwest::Client,
    sso_token_url: Url,
    authenticate_url: Url,
    sso_authorize_url: Url,
    authkit_authorize_url: Url,
    organizations_url: Url,
    client_id: String,
    api_key: SecretString,
    sso_backoff: Backoff,
    authkit_backoff: Backoff,
    domains: DomainCache,
}

impl fmt::Debug for WorkosClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkosClient")
            .field("sso_token_url", &self.sso_token_url.as_str())
            .field("authenticate_url", &self.authenticate_url.as_str())
            .field("client_id", &self.client_id)
            .field("api_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl WorkosClient {
    /// Validates `config` and builds the client: one HTTP client with the configured
    /// connect and total time-outs that never follows redirects.
    ///
    /// # Errors
    ///
    /// [`WorkosBuildError`] when the base URL is not an `http`/`https` URL (a trailing
    /// slash is fine; a query or fragment is not), the client id or API key is empty, a
    /// time-out is zero, or the HTTP client cannot be built.
    pub fn new(config: WorkosConfig) -> Result<Self, WorkosBuildError> {
        let base = parse_base_url(&config.base_url)?;
        if config.client_id.trim().is_empty() {
            return Err(WorkosBuildError::MissingClientId);
        }
        if config.api_key.expose_secret().trim().is_empty() {
            return Err(WorkosBuildError::MissingApiKey);
        }
        if config.connect_timeout.is_zero() {
            return Err(WorkosBuildError::ZeroTimeout("connect time-out"));
        }
        if config.request_timeout.is_zero() {
            return Err(WorkosBuildError::ZeroTimeout("request time-out"));
        }
        let endpoint = |path: &str| {
            Url::parse(&format!("{base}{path}")).map_err(|e| WorkosBuildError::InvalidBaseUrl(e.to_string()))
        };
        let sso_token_url = endpoint("/sso/token")?;
        let authenticate_url = endpoint("/user_management/authenticate")?;
        let sso_authorize_url = endpoint("/sso/authorize")?;
        let authkit_authorize_url = endpoint("/user_management/authorize")?;
        let organizations_url = endpoint("/organizations/")?;

        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .user_agent(concat!("tether-auth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WorkosBuildError::HttpClient(error_chain(&e)))?;

        Ok(Self {
            http,
            sso_token_url,
            authenticate_url,
            sso_authorize_url,
            authkit_authorize_url,
            organizations_url,
            client_id: config.client_id,
            api_key: config.api_key,
            sso_backoff: Backoff::new(config.backoff_max),
            authkit_backoff: Backoff::new(config.backoff_max),
            domains: DomainCache::default(),
        })
    }

    /// Sends one exchange request, retrying once only when the connection could not be
    /// established (the request cannot have reached WorkOS then). Never retries after a
    /// time-out or once the request may have been written.
    async fn send(&self, flow: Api, url: &Url, body: Vec<u8>) -> Result<Response, ExchangeError> {
        let mut retried = false;
        loop {
            let request = self
                .http
                .post(url.clone())
                .header(CONTENT_TYPE, "application/json")
                .header(ACCEPT, "application/json")
                .body(body.clone());
            match request.send().await {
                Ok(response) => return Ok(response),
                Err(error) if !retried && error.is_connect() && !error.is_timeout() => {
                    tracing::debug!(flow = flow.as_str(), "could not connect to WorkOS; retrying once");
                    retried = true;
                }
                Err(error) => {
                    tracing::debug!(
                        flow = flow.as_str(),
                        failure = transport_kind(&error),
                        "WorkOS code exchange failed before an answer"
                    );
                    return Err(transport_failure(&error));
                }
            }
        }
    }
}

#[async_trait]
impl IdentityProvider for WorkosClient {
    fn plan_login(&self, hints: &LoginHints) -> Result<LoginPlan, String> {
        crate::api::plan(hints)
    }

    fn parse_tenant(&self, raw: &str) -> Result<TenantId, TenantIdError> {
        organization_id(raw)
    }

    fn authorization_url(&self, request: &AuthorizationRequest) -> String {
        let api = Api::of(&request.provider).unwrap_or(Api::AuthKit);
        let mut url = match api {
            Api::Sso => self.sso_authorize_url.clone(),
            Api::AuthKit => self.authkit_authorize_url.clone(),
        };
        let hints = &request.hints;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("client_id", &self.client_id)
                .append_pair("response_type", "code")
                .append_pair("redirect_uri", &request.redirect_uri)
                .append_pair("state", &request.state);
            let optional = [
                ("connection", hints.connection.as_deref()),
                ("organization", forwarded_organization(hints)),
                ("domain_hint", hints.domain_hint.as_deref()),
                ("provider", hints.provider.as_deref()),
                ("login_hint", hints.login_hint.as_deref()),
                ("prompt", hints.prompt.as_deref()),
            ];
            for (name, value) in optional {
                if let Some(value) = value {
                    query.append_pair(name, value);
                }
            }
            if api == Api::AuthKit && hints.provider.is_none() {
                query.append_pair("provider", "authkit");
            }
            if let Some(challenge) = &request.code_challenge {
                query
                    .append_pair("code_challenge", challenge)
                    .append_pair("code_challenge_method", "S256");
            }
        }
        url.into()
    }

    /// Exchanges `code` with the API of `provider`; for a login started elsewhere
    /// (`None`), with SSO first and AuthKit when SSO says the code is not one of its.
    ///
    /// `pkce_verifier` is sent as `code_verifier` to AuthKit and ignored for SSO (the SSO
    /// API has no PKCE). An empty code is [`ExchangeError::InvalidCode`] without a request.
    async fn exchange(&self, exchange: &CodeExchange) -> Result<ExternalIdentity, ExchangeError> {
        if exchange.code.expose_secret().is_empty() {
            return Err(ExchangeError::InvalidCode);
        }
        let Some(provider) = &exchange.provider else {
            return match self.exchange_with(Api::Sso, exchange).await {
                Err(ExchangeError::InvalidCode) => {
                    tracing::debug!("not an SSO code; trying AuthKit");
                    self.exchange_with(Api::AuthKit, exchange).await
                }
                other => other,
            };
        };
        let api = Api::of(provider)
            .ok_or_else(|| ExchangeError::Unexpected(format!("{provider} is not a WorkOS API")))?;
        self.exchange_with(api, exchange).await
    }

    /// An AuthKit step answered: `POST /user_management/authenticate` with the
    /// organization-selection or e-mail-verification grant and the pending token.
    async fn complete_step(
        &self,
        step: &PendingStep,
        client: &ClientContext,
    ) -> Result<ExternalIdentity, ExchangeError> {
        let (grant, pending, organization_id, code) = match step {
            PendingStep::OrganizationSelection {
                pending_authentication_token,
                organization_id,
            } => (
                ORGANIZATION_SELECTION_GRANT,
                pending_authentication_token,
                Some(organization_id.as_str()),
                None,
            ),
            PendingStep::EmailVerification {
                pending_authentication_token,
                code,
            } => (
                EMAIL_VERIFICATION_GRANT,
                pending_authentication_token,
                None,
                Some(code.expose_secret()),
            ),
        };
        let mut request = self.request(grant);
        request.pending_authentication_token = Some(pending.expose_secret());
        request.organization_id = organization_id;
        request.code = code;
        request.with_client(client);
        match self.guarded(Api::AuthKit, &request).await {
            // A step's answer refused comes as a 400 whose code differs between WorkOS
            // versions (`invalid_pending_authentication_token`, `invalid_one_time_code`,
            // or `invalid_request` where another version wants other fields): every 400
            // means this answer cannot finish the login.
            Err(ExchangeError::Unexpected(reason)) if reason.starts_with("HTTP 400") => {
                tracing::debug!(%reason, "WorkOS refused the answer to a step");
                Err(ExchangeError::InvalidCode)
            }
            other => other,
        }
    }
}

/// The grant that answers `organization_selection_required`.
const ORGANIZATION_SELECTION_GRANT: &str = "urn:workos:oauth:grant-type:organization-selection";

/// The grant that answers `email_verification_required`.
const EMAIL_VERIFICATION_GRANT: &str = "urn:workos:oauth:grant-type:email-verification:code";

impl WorkosClient {
    /// One code exchange with `api`.
    async fn exchange_with(
        &self,
        api: Api,
        exchange: &CodeExchange,
    ) -> Result<ExternalIdentity, ExchangeError> {
        let mut request = self.request("authorization_code");
        request.code = Some(exchange.code.expose_secret());
        if api == Api::AuthKit {
            // SSO's token endpoint has neither PKCE nor the client's details.
            request.code_verifier = exchange.pkce_verifier.as_ref().map(|v| v.expose_secret());
            request.with_client(&exchange.client);
        }
        self.guarded(api, &request).await
    }

    /// The credentials every request of this client carries, with `grant_type`.
    fn request(&self, grant_type: &'static str) -> ExchangeRequest<'_> {
        ExchangeRequest {
            client_id: &self.client_id,
            client_secret: self.api_key.expose_secret(),
            grant_type,
            code: None,
            code_verifier: None,
            pending_authentication_token: None,
            organization_id: None,
            ip_address: None,
            user_agent: None,
        }
    }

    /// One request to the API of `flow` within its back-off window, timed, with an
    /// SSO profile's address vouched for or not.
    async fn guarded(
        &self,
        flow: Api,
        request: &ExchangeRequest<'_>,
    ) -> Result<ExternalIdentity, ExchangeError> {
        let (backoff, url) = match flow {
            Api::Sso => (&self.sso_backoff, &self.sso_token_url),
            Api::AuthKit => (&self.authkit_backoff, &self.authenticate_url),
        };
        if let Some(seconds) = backoff.remaining_seconds(Instant::now()) {
            tracing::debug!(
                flow = flow.as_str(),
                seconds,
                "WorkOS asked us to wait; not calling it"
            );
            return Err(ExchangeError::RateLimited {
                retry_after_seconds: Some(seconds),
            });
        }
        let started = Instant::now();
        let mut result = self.exchange_once(flow, url, request).await;
        if let Err(ExchangeError::RateLimited { retry_after_seconds }) = &mut result {
            backoff.hold(*retry_after_seconds, Instant::now());
            // The caller is told the wait this client keeps, not a wilder one.
            *retry_after_seconds = backoff.remaining_seconds(Instant::now()).or(*retry_after_seconds);
        }
        if let Ok(identity) = &mut result
            && flow == Api::Sso
        {
            match self.sso_address_vouched(identity).await {
                Ok(vouched) => identity.email_verified = Some(vouched),
                Err(e) => result = Err(e),
            }
        }
        metrics::histogram!(
            "tether_workos_exchange_seconds",
            "api" => flow.as_str(),
            "outcome" => outcome_label(&result),
        )
        .record(started.elapsed());
        result
    }
}

/// The fixed `outcome` label of an exchange.
fn outcome_label<T>(result: &Result<T, ExchangeError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(ExchangeError::InvalidCode) => "INVALID_CODE",
        Err(ExchangeError::StepRequired(_)) => "STEP_REQUIRED",
        Err(ExchangeError::Misconfigured(_)) => "UPSTREAM_MISCONFIGURED",
        Err(ExchangeError::RateLimited { .. }) => "UPSTREAM_RATE_LIMITED",
        Err(ExchangeError::Unavailable(_)) => "UPSTREAM_UNAVAILABLE",
        Err(ExchangeError::Unexpected(_)) => "UNEXPECTED_ANSWER",
        // A variant added to the port later: counted, never a panic.
        Err(_) => "OTHER",
    }
}

impl WorkosClient {
    /// One exchange request to `url`, the token endpoint of `flow`, and the reading of
    /// its answer.
    async fn exchange_once(
        &self,
        flow: Api,
        url: &Url,
        request: &ExchangeRequest<'_>,
    ) -> Result<ExternalIdentity, ExchangeError> {
        let body = serde_json::to_vec(request)
            .map_err(|_| ExchangeError::Unexpected("could not encode the request".to_owned()))?;

        let response = self.send(flow, url, body).await?;
        let status = response.status();
        tracing::debug!(
            flow = flow.as_str(),
            status = status.as_u16(),
            "WorkOS code exchange answered"
        );
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after);
        let (body, truncated) = read_capped(response).await.map_err(|error| {
            tracing::debug!(
                flow = flow.as_str(),
                status = status.as_u16(),
                failure = transport_kind(&error),
                "reading the WorkOS answer failed"
            );
            transport_failure(&error)
        })?;

        if !status.is_success() {
            return Err(classify_failure(status.as_u16(), retry_after, &body));
        }
        if truncated {
            return Err(ExchangeError::Unexpected(format!(
                "HTTP {} answer larger than {MAX_ANSWER_BYTES} bytes",
                status.as_u16()
            )));
        }
        match flow {
            Api::Sso => identity_from_sso(&body),
            Api::AuthKit => identity_from_authkit(&body),
        }
    }
}

impl WorkosClient {
    /// Whether WorkOS vouches for the SSO profile's address: its domain is a verified
    /// domain of the profile's WorkOS organization. A profile without one (or with an
    /// id that is not a WorkOS organization id, or one WorkOS does not know) is not
    /// vouched for; a failure to read the organization is the login's failure.
    async fn sso_address_vouched(&self, identity: &ExternalIdentity) -> Result<bool, ExchangeError> {
        let Some(organization) = identity
            .tenant
            .as_ref()
            .map(TenantId::as_str)
            .filter(|o| is_organization_id(o))
        else {
            return Ok(false);
        };
        if let Some(verified) = self.domains.get(organization, Instant::now()) {
            return Ok(vouched(&identity.email, &verified));
        }
        let url = self
            .organizations_url
            .join(organization)
            .map_err(|_| ExchangeError::Unexpected("could not build the organization URL".to_owned()))?;
        let started = Instant::now();
        let response = self
            .http
            .get(url)
            .bearer_auth(self.api_key.expose_secret())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| transport_failure(&error))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after);
        let (body, truncated) = read_capped(response)
            .await
            .map_err(|error| transport_failure(&error))?;
        let verified = if status == reqwest::StatusCode::NOT_FOUND {
            Arc::from([])
        } else if !status.is_success() {
            return Err(classify_failure(status.as_u16(), retry_after, &body));
        } else if truncated {
            return Err(malformed("the organization answer is too large"));
        } else {
            serde_json::from_slice::<OrganizationAnswer>(&body)
                .map_err(|_| malformed("the organization answer has no usable `domains`"))?
                .verified()
        };
        metrics::histogram!("tether_workos_organization_seconds").record(started.elapsed());
        tracing::debug!(
            status = status.as_u16(),
            domains = verified.len(),
            "read a WorkOS organization's verified domains"
        );
        self.domains.put(organization, verified.clone(), Instant::now());
        Ok(vouched(&identity.email, &verified))
    }
}

/// The JSON body of the exchange and step requests. Holds secrets: never `Debug`,
/// never logged.
#[derive(Serialize)]
struct ExchangeRequest<'a> {
    client_id: &'a str,
    client_secret: &'a str,
    grant_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code_verifier: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pending_authentication_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    organization_id: Option<&'a str>,
    /// AuthKit's optional client details (WorkOS uses them for its sessions and
    /// bot detection).
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_address: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
}

impl<'a> ExchangeRequest<'a> {
    /// Carries the client's address and user agent, when known.
    fn with_client(&mut self, client: &'a ClientContext) {
        self.ip_address = client.ip_address.as_deref();
        self.user_agent = client.user_agent.as_deref();
    }
}

/// The part of a `/sso/token` success we use (tokens are deliberately left out).
#[derive(Deserialize)]
struct SsoAnswer {
    profile: SsoProfile,
}

/// An SSO profile.
#[derive(Deserialize)]
struct SsoProfile {
    id: String,
    email: String,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    connection_id: Option<String>,
    #[serde(default)]
    organization_id: Option<String>,
}

/// The part of a `/user_management/authenticate` success we use (tokens are left out).
#[derive(Deserialize)]
struct AuthKitAnswer {
    user: AuthKitUser,
    #[serde(default)]
    organization_id: Option<String>,
}

/// An AuthKit user.
#[derive(Deserialize)]
struct AuthKitUser {
    id: String,
    email: String,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    /// Missing or `null` is "not verified".
    #[serde(default)]
    email_verified: Option<bool>,
}

/// The identity in a `/sso/token` success body.
/// An SSO profile's address is vouched for by its tenant: it links only a user of
/// the organization mapped to the profile's WorkOS organization.
fn identity_from_sso(body: &[u8]) -> Result<ExternalIdentity, ExchangeError> {
    let answer: SsoAnswer =
        serde_json::from_slice(body).map_err(|_| malformed("the SSO answer lacks a usable `profile`"))?;
    let profile = answer.profile;
    usable_identity(
        Api::Sso,
        Answered {
            subject: profile.id,
            email: profile.email,
            first_name: profile.first_name,
            last_name: profile.last_name,
            connection: profile.connection_id,
            organization: profile.organization_id,
            email_verified: None,
        },
        "the SSO profile",
    )
}

/// The identity in a `/user_management/authenticate` success body.
/// An AuthKit user's address is vouched for by WorkOS itself when it says it verified it.
fn identity_from_authkit(body: &[u8]) -> Result<ExternalIdentity, ExchangeError> {
    let answer: AuthKitAnswer =
        serde_json::from_slice(body).map_err(|_| malformed("the AuthKit answer lacks a usable `user`"))?;
    let user = answer.user;
    usable_identity(
        Api::AuthKit,
        Answered {
            subject: user.id,
            email: user.email,
            first_name: user.first_name,
            last_name: user.last_name,
            connection: None,
            organization: answer.organization_id,
            email_verified: Some(user.email_verified.unwrap_or(false)),
        },
        "the AuthKit user",
    )
}

/// What either API said of the person.
struct Answered {
    subject: String,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    connection: Option<String>,
    organization: Option<String>,
    email_verified: Option<bool>,
}

/// The rules both APIs' identities follow: an empty id or email makes the answer
/// unusable (`what` names the object for the reason), empty optional fields are
/// absent, and an organization that is not a WorkOS organization id is no tenant.
fn usable_identity(api: Api, answered: Answered, what: &str) -> Result<ExternalIdentity, ExchangeError> {
    if answered.subject.is_empty() || answered.email.is_empty() {
        return Err(malformed(&format!("{what} has an empty id or email")));
    }
    Ok(ExternalIdentity {
        link: IdentityLink {
            provider: api.key(),
            subject: answered.subject,
        },
        email: answered.email,
        email_verified: answered.email_verified,
        vouching: match api {
            Api::Sso => Vouching::Tenant,
            Api::AuthKit => Vouching::Provider,
        },
        first_name: non_empty(answered.first_name),
        last_name: non_empty(answered.last_name),
        connection: non_empty(answered.connection),
        tenant: answered
            .organization
            .as_deref()
            .and_then(|raw| organization_id(raw).ok()),
    })
}

/// A 2xx answer this adapter cannot use. The serde error is dropped on purpose: its
/// message may quote values from the body.
fn malformed(reason: &str) -> ExchangeError {
    ExchangeError::Unexpected(format!("HTTP 200: {reason}"))
}

/// `None` for a missing or empty string.
fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// Reads at most [`MAX_ANSWER_BYTES`] of the body; `true` when more was on offer.
async fn read_capped(mut response: Response) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_ANSWER_BYTES - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// A transport failure (time-out, refused connection, broken body) as an outage.
fn transport_failure(error: &reqwest::Error) -> ExchangeError {
    ExchangeError::Unavailable(format!("{}: {}", transport_kind(error), error_chain(error)))
}

/// A short name for a transport failure.
fn transport_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "could not read the answer"
    } else {
        "request failed"
    }
}

/// The error's causes, without the URL (which holds nothing secret, but is noise).
pub(crate) fn error_chain(error: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut source = error.source();
    while let Some(cause) = source {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if text.is_empty() {
        text = error.to_string();
    }
    text
}

/// Parses and checks the base URL; returns it without trailing slashes.
pub(crate) fn parse_base_url(raw: &str) -> Result<String, WorkosBuildError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let url = Url::parse(trimmed).map_err(|e| WorkosBuildError::InvalidBaseUrl(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(WorkosBuildError::InvalidBaseUrl(format!(
            "scheme `{}` is not http or https",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(WorkosBuildError::InvalidBaseUrl("no host".to_owned()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(WorkosBuildError::InvalidBaseUrl(
            "a query or fragment is not allowed".to_owned(),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(WorkosBuildError::InvalidBaseUrl(
            "credentials in the URL are not allowed".to_owned(),
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base_url: &str) -> WorkosConfig {
        WorkosConfig {
            base_url: base_url.to_owned(),
            client_id: "client_test".to_owned(),
            api_key: SecretString::from("sk_test_default"),
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(5),
            backoff_max: Duration::from_secs(60),
        }
    }

    fn request(api: Api) -> AuthorizationRequest {
        AuthorizationRequest {
            provider: api.key(),
            redirect_uri: "http://localhost:5173/signin".to_owned(),
            state: "st ate&1".to_owned(),
            hints: LoginHints {
                login_hint: Some("jane@acme.example".to_owned()),
                ..LoginHints::default()
            },
            code_challenge: None,
        }
    }

    #[test]
    fn an_sso_authorization_url_carries_the_hints_encoded() {
        let client = WorkosClient::new(config("https://api.workos.com/")).unwrap();
        let mut req = request(Api::Sso);
        req.hints.organization = Some("org_123".to_owned());
        let url = Url::parse(&client.authorization_url(&req)).unwrap();
        assert_eq!(url.path(), "/sso/authorize");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("client_id"), Some("client_test"));
        assert_eq!(get("response_type"), Some("code"));
        assert_eq!(get("redirect_uri"), Some("http://localhost:5173/signin"));
        assert_eq!(get("state"), Some("st ate&1"));
        assert_eq!(get("organization"), Some("org_123"));
        assert_eq!(get("login_hint"), Some("jane@acme.example"));
        assert_eq!(get("code_challenge"), None);
        assert_eq!(get("provider"), None);
    }

    #[test]
    fn an_authkit_authorization_url_carries_the_pkce_challenge() {
        let client = WorkosClient::new(config("https://api.workos.com")).unwrap();
        let mut req = request(Api::AuthKit);
        req.code_challenge = Some("abc_-".to_owned());
        let url = Url::parse(&client.authorization_url(&req)).unwrap();
        assert_eq!(url.path(), "/user_management/authorize");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert!(pairs.contains(&("provider".to_owned(), "authkit".to_owned())));
        assert!(pairs.contains(&("code_challenge".to_owned(), "abc_-".to_owned())));
        assert!(pairs.contains(&("code_challenge_method".to_owned(), "S256".to_owned())));
    }

    #[test]
    fn a_trailing_slash_on_the_base_url_is_tolerated() {
        let client = WorkosClient::new(config("https://api.workos.com/")).unwrap();
        assert_eq!(client.sso_token_url.as_str(), "https://api.workos.com/sso/token");
        assert_eq!(
            client.authenticate_url.as_str(),
            "https://api.workos.com/user_management/authenticate"
        );
    }

    #[test]
    fn a_base_url_with_a_path_prefix_keeps_it() {
        let client = WorkosClient::new(config("http://127.0.0.1:4100/workos//")).unwrap();
        assert_eq!(
            client.sso_token_url.as_str(),
            "http://127.0.0.1:4100/workos/sso/token"
        );
    }

    #[test]
    fn bad_base_urls_are_refused() {
        for bad in [
            "",
            "api.workos.com",
            "ftp://api.workos.com",
            "https://api.workos.com?x=1",
            "https://api.workos.com#frag",
            "https://user:pw@api.workos.com",
            "not a url",
        ] {
            assert!(
                matches!(
                    WorkosClient::new(config(bad)),
                    Err(WorkosBuildError::InvalidBaseUrl(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn empty_credentials_and_zero_timeouts_are_refused() {
        let mut no_client = config("https://api.workos.com");
        no_client.client_id = " ".to_owned();
        assert_eq!(
            WorkosClient::new(no_client).unwrap_err(),
            WorkosBuildError::MissingClientId
        );

        let mut no_key = config("https://api.workos.com");
        no_key.api_key = SecretString::from("");
        assert_eq!(
            WorkosClient::new(no_key).unwrap_err(),
            WorkosBuildError::MissingApiKey
        );

        let mut zero = config("https://api.workos.com");
        zero.request_timeout = Duration::ZERO;
        assert!(matches!(
            WorkosClient::new(zero),
            Err(WorkosBuildError::ZeroTimeout(_))
        ));
    }

    #[test]
    fn debug_output_hides_the_api_key() {
        let client = WorkosClient::new(config("https://api.workos.com")).unwrap();
        let printed = format!("{client:?}");
        assert!(!printed.contains("sk_test_default"), "{printed}");
    }

    #[test]
    fn the_request_body_has_no_redirect_uri_and_a_verifier_only_when_given() {
        let client = WorkosClient::new(config("https://api.workos.com")).unwrap();
        let mut request = client.request("authorization_code");
        request.code = Some("c");
        let without = serde_json::to_value(&request).unwrap();
        assert_eq!(
            without,
            serde_json::json!({"client_id":"client_test","client_secret":"sk_test_default","grant_type":"authorization_code","code":"c"})
        );
        request.code_verifier = Some("v");
        let context = ClientContext {
            ip_address: Some("203.0.113.9".to_owned()),
            user_agent: Some("UA/1".to_owned()),
        };
        request.with_client(&context);
        let with = serde_json::to_value(&request).unwrap();
        assert_eq!(with["code_verifier"], "v");
        assert_eq!(with["ip_address"], "203.0.113.9");
        assert_eq!(with["user_agent"], "UA/1");
        assert!(with.get("redirect_uri").is_none());
    }

    #[test]
    fn an_sso_success_becomes_an_identity() {
        let body = br#"{"profile":{"object":"profile","id":"prof_1","email":"Admin@Acme.example","first_name":"Acme","last_name":null,"connection_id":"conn_1","connection_type":"OktaSAML","organization_id":"org_1","idp_id":"idp_1","role":{"slug":"member"}},"access_token":"secret"}"#;
        assert_eq!(
            identity_from_sso(body).unwrap(),
            ExternalIdentity {
                link: IdentityLink {
                    provider: crate::SSO,
                    subject: "prof_1".into(),
                },
                email: "Admin@Acme.example".into(),
                email_verified: None,
                vouching: Vouching::Tenant,
                first_name: Some("Acme".into()),
                last_name: None,
                connection: Some("conn_1".into()),
                tenant: Some(organization_id("org_1").unwrap()),
            }
        );
    }

    #[test]
    fn an_authkit_success_becomes_an_identity() {
        let body = br#"{"user":{"id":"user_1","email":"jane@authkit.example","first_name":"Jane","last_name":"Doe","email_verified":true},"organization_id":"org_9","access_token":"a","refresh_token":"r"}"#;
        assert_eq!(
            identity_from_authkit(body).unwrap(),
            ExternalIdentity {
                link: IdentityLink {
                    provider: crate::AUTHKIT,
                    subject: "user_1".into(),
                },
                email: "jane@authkit.example".into(),
                email_verified: Some(true),
                vouching: Vouching::Provider,
                first_name: Some("Jane".into()),
                last_name: Some("Doe".into()),
                connection: None,
                tenant: Some(organization_id("org_9").unwrap()),
            }
        );
        let no_org = br#"{"user":{"id":"user_1","email":"j@x.example"},"organization_id":null}"#;
        let identity = identity_from_authkit(no_org).unwrap();
        assert_eq!(identity.tenant, None);
        assert_eq!(
            identity.email_verified,
            Some(false),
            "a missing flag is not a verification"
        );
        let unverified = br#"{"user":{"id":"user_1","email":"j@x.example","email_verified":false}}"#;
        assert_eq!(
            identity_from_authkit(unverified).unwrap().email_verified,
            Some(false)
        );
    }

    #[test]
    fn a_success_without_the_expected_fields_is_unexpected() {
        for body in [
            &br#"{"access_token":"a"}"#[..],
            br#"{"profile":{"id":"prof_1"}}"#,
            br#"{"profile":{"id":"","email":"a@b.example"}}"#,
            b"not json",
        ] {
            assert!(matches!(
                identity_from_sso(body),
                Err(ExchangeError::Unexpected(_))
            ));
        }
        for body in [
            &br#"{"organization_id":null}"#[..],
            br#"{"user":{"email":"a@b.example"}}"#,
            br#"{"user":{"id":"user_1","email":42}}"#,
        ] {
            assert!(matches!(
                identity_from_authkit(body),
                Err(ExchangeError::Unexpected(_))
            ));
        }
    }
}
