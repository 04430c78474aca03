//! The world the use cases run in: the in-memory stores, and small deterministic
//! stand-ins for the identity provider, token signing, login-state cryptography and
//! the clock. Every name of an identity, a user or an organization is built here (one
//! constructor each), so the tests speak of outcomes, not of how the ports are called.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tether_domain::{
    AccessClaims, AccessRole, AccessTokenVerifier, AuthSession, AuthorizationRequest, AuthorizeInput,
    CallbackInput, ClientContext, Clock, CodeExchange, Email, ExchangeError, ExternalIdentity, IdentityLink,
    IdentityProvider, InvalidAccessToken, LinkedIdentity, LoginError, LoginHints, LoginPlan, LoginTurns,
    MintedRefreshToken, NewUser, Organization, OrganizationId, OrganizationRepository, PendingStep, Policies,
    Ports, ProviderKey, RedirectPolicy, RepositoryError, Services, SessionId, SessionRecord, SessionStore,
    StateProtector, StoredSessionSettings, TenantId, TenantIdError, Timestamp, TokenError, TokenHash,
    TokenIssuer, User, UserId, UserRepository, VerifiedAccess, Vouching,
};
use tether_memory::{InMemoryAuditLog, InMemoryLoginStates, InMemoryStore};

pub use tether_domain::{AuditEvent, AuditOrigin, AuditSink, AuditType};

// ---- names --------------------------------------------------------------------

/// A provider (or a provider's API) whose identities' addresses their tenant vouches
/// for: an enterprise connection.
pub const SSO: ProviderKey = ProviderKey::from_static("sso");
/// A provider that verifies addresses itself.
pub const AUTHKIT: ProviderKey = ProviderKey::from_static("authkit");
/// The tenant of the SSO identities of these tests ("company A").
pub const TENANT_A: &str = "org_01HX9R3K4N6P8QZBVTYM2D5A7C";
/// Another company's tenant.
pub const TENANT_B: &str = "org_01HXBBBBBBBBBBBBBBBBBBBBBB";
/// The redirect URI a login uses when it names none.
pub const DEFAULT_REDIRECT: &str = "http://localhost:5173/signin";
/// A second allowed redirect URI.
pub const OTHER_REDIRECT: &str = "https://app.tether.example/auth/callback";
/// The verifier of the browser that starts the logins of these tests.
pub const VERIFIER: &str = "browser-verifier-0123456789abcdefghijklmnopqrstuvwxyz";

/// The instant the world starts at (2023-11-14T22:13:20Z).
pub fn t0() -> Timestamp {
    Timestamp::from_millis(1_700_000_000_000)
}

/// `seconds` after [`t0`].
pub fn at(seconds: i64) -> Timestamp {
    t0().plus_seconds(seconds)
}

/// The state an authorization URL carries.
pub fn state_of(url: &str) -> String {
    let (_, query) = url.split_once("state=").expect("the URL carries a state");
    query.split('&').next().unwrap_or_default().to_owned()
}

/// A secret from a literal.
pub fn secret(raw: &str) -> SecretString {
    SecretString::from(raw)
}

/// What a secret holds.
pub fn shown(secret: &SecretString) -> &str {
    secret.expose_secret()
}

/// A well-formed organization id no organization has.
pub fn gone_org() -> OrganizationId {
    OrganizationId::parse("64a1b2c3d4e5f60012340000").unwrap()
}

/// A tenant id.
pub fn tenant(raw: &str) -> TenantId {
    TenantId::parse(raw).expect("test tenants are well formed")
}

/// The form of the stand-in provider's tenants: `org_` and letters and digits; the
/// provider says no tenant for anything else.
pub fn provider_tenant(raw: &str) -> Option<TenantId> {
    raw.strip_prefix("org_")
        .filter(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
        .and_then(|_| TenantId::parse(raw).ok())
}

// ---- identities -----------------------------------------------------------------

/// An SSO identity `subject` through a connection of `tenant` (`None`, or a value
/// that is no tenant of the provider: no tenant); its tenant vouches for its address.
pub fn sso(subject: &str, address: &str, tenant: Option<&str>) -> ExternalIdentity {
    ExternalIdentity {
        link: IdentityLink {
            provider: SSO,
            subject: subject.to_owned(),
        },
        email: address.to_owned(),
        email_verified: None,
        vouching: Vouching::Tenant,
        first_name: Some("Jane".to_owned()),
        last_name: Some("Doe".to_owned()),
        connection: Some("conn_1".to_owned()),
        tenant: tenant.and_then(provider_tenant),
    }
}

/// An AuthKit identity `subject`; `verified`: whether the provider verified the address.
/// The same person as [`sso`]'s, but the provider vouches, through no connection.
pub fn authkit(subject: &str, address: &str, verified: bool) -> ExternalIdentity {
    ExternalIdentity {
        link: IdentityLink {
            provider: AUTHKIT,
            subject: subject.to_owned(),
        },
        email_verified: Some(verified),
        vouching: Vouching::Provider,
        connection: None,
        ..sso(subject, address, None)
    }
}

/// `identity` belonging to `tenant` (or to none).
pub fn in_tenant(identity: ExternalIdentity, tenant: Option<&str>) -> ExternalIdentity {
    ExternalIdentity {
        tenant: tenant.and_then(provider_tenant),
        ..identity
    }
}

/// `identity` with these names.
pub fn named(identity: ExternalIdentity, first: Option<&str>, last: Option<&str>) -> ExternalIdentity {
    ExternalIdentity {
        first_name: first.map(str::to_owned),
        last_name: last.map(str::to_owned),
        ..identity
    }
}

/// The provider of an identity.
pub fn provider_of(identity: &ExternalIdentity) -> ProviderKey {
    identity.link.provider.clone()
}

// ---- users ----------------------------------------------------------------------

/// What a stored user looks like, for [`World::add_user`].
#[derive(Debug, Clone)]
pub struct UserSpec {
    pub address: &'static str,
    pub organization: OrganizationId,
    pub role: AccessRole,
    pub disabled: bool,
    /// The subjects the user carries, by provider.
    pub links: Vec<(ProviderKey, &'static str)>,
    /// Whether the address was vouched for when the user was created (`None`: unknown).
    pub vouched: Option<bool>,
}

/// An enabled ADMIN `address` of `organization` with no link and no record of vouching.
pub fn user(address: &'static str, organization: OrganizationId) -> UserSpec {
    UserSpec {
        address,
        organization,
        role: AccessRole::Admin,
        disabled: false,
        links: Vec::new(),
        vouched: None,
    }
}

impl UserSpec {
    fn build(self, id: UserId) -> User {
        User {
            id,
            email: Email::parse(self.address).expect("test addresses are valid"),
            full_name: "Existing User".to_owned(),
            organization_id: self.organization,
            access_role: self.role,
            conversation_open_preference: "split".to_owned(),
            login_disabled: self.disabled,
            links: self
                .links
                .iter()
                .map(|(provider, subject)| IdentityLink {
                    provider: provider.clone(),
                    subject: (*subject).to_owned(),
                })
                .collect(),
            email_verified: self.vouched,
        }
    }
}

/// The subject `user` carries for `provider`.
pub fn linked(user: &User, provider: ProviderKey) -> Option<&str> {
    user.subject_for(&provider)
}

/// Whether the user was created from an address the provider vouched for.
pub fn vouched(user: &User) -> Option<bool> {
    user.email_verified
}

// ---- organizations ----------------------------------------------------------------

/// The organization a new user lands in, or an error, by name.
pub fn org_name(organization: &Organization) -> &str {
    &organization.name
}

/// The tenant an organization is mapped to.
pub fn tenant_of(organization: &Organization) -> Option<&str> {
    organization.tenant.as_ref().map(TenantId::as_str)
}

// ---- the stand-ins --------------------------------------------------------------

/// A clock the test moves.
#[derive(Debug)]
pub struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst))
    }
}

type Answer = Arc<dyn Fn(ProviderKey) -> Result<ExternalIdentity, ExchangeError> + Send + Sync>;

/// One exchange the identity provider was asked for: `flow` is the API the domain
/// named, `None` for a login it did not start (the provider resolves it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub flow: Option<ProviderKey>,
    pub code: String,
    pub pkce_verifier: Option<String>,
    pub client: ClientContext,
}

/// An identity provider with two APIs, [`SSO`] and [`AUTHKIT`], answering scripted
/// codes: a code belongs to one API (the other answers `InvalidCode`), an unknown code
/// is invalid on both; a code of a login it did not start is tried with SSO, then
/// AuthKit. It plans logins as the asked API, else SSO for enterprise hints, else
/// AuthKit with PKCE. Records every exchange.
#[derive(Default)]
pub struct Idp {
    codes: Mutex<HashMap<String, Answer>>,
    step: Mutex<Option<Answer>>,
    exchanges: Mutex<Vec<Exchange>>,
    steps: Mutex<Vec<PendingStep>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Idp {
    /// `code` is a code of `identity`'s API, for `identity`.
    pub fn code(&self, code: &str, identity: ExternalIdentity) {
        self.answer(code, move |flow| {
            if flow == identity.link.provider {
                Ok(identity.clone())
            } else {
                Err(ExchangeError::InvalidCode)
            }
        });
    }

    /// `code` answers as `answer` on every API.
    pub fn answer(
        &self,
        code: &str,
        answer: impl Fn(ProviderKey) -> Result<ExternalIdentity, ExchangeError> + Send + Sync + 'static,
    ) {
        lock(&self.codes).insert(code.to_owned(), Arc::new(answer));
    }

    /// Every step answer completes as `answer`.
    pub fn step(
        &self,
        answer: impl Fn(ProviderKey) -> Result<ExternalIdentity, ExchangeError> + Send + Sync + 'static,
    ) {
        *lock(&self.step) = Some(Arc::new(answer));
    }

    /// The exchanges asked for so far.
    pub fn exchanges(&self) -> Vec<Exchange> {
        lock(&self.exchanges).clone()
    }

    /// The APIs the domain named, in order (`None`: left to the provider).
    pub fn flows_asked(&self) -> Vec<Option<ProviderKey>> {
        self.exchanges().iter().map(|e| e.flow.clone()).collect()
    }

    /// The steps completed so far.
    pub fn steps(&self) -> Vec<PendingStep> {
        lock(&self.steps).clone()
    }
}

#[async_trait]
impl IdentityProvider for Idp {
    fn plan_login(&self, hints: &LoginHints) -> Result<LoginPlan, String> {
        let enterprise = hints
            .organization
            .as_deref()
            .is_some_and(|o| provider_tenant(o).is_some())
            || hints.connection.is_some()
            || hints.domain_hint.is_some();
        let provider = match hints.requested.as_deref() {
            Some("sso") => SSO,
            Some("authkit") => AUTHKIT,
            Some(_) => return Err("flow must be sso or authkit".to_owned()),
            None if enterprise => SSO,
            None => AUTHKIT,
        };
        Ok(LoginPlan {
            pkce: provider == AUTHKIT,
            provider,
        })
    }

    async fn exchange(&self, exchange: &CodeExchange) -> Result<ExternalIdentity, ExchangeError> {
        let CodeExchange {
            provider,
            code,
            pkce_verifier,
            client,
        } = exchange;
        lock(&self.exchanges).push(Exchange {
            flow: provider.clone(),
            code: code.expose_secret().to_owned(),
            pkce_verifier: pkce_verifier.as_ref().map(|v| v.expose_secret().to_owned()),
            client: client.clone(),
        });
        let answer = lock(&self.codes).get(code.expose_secret()).cloned();
        let Some(answer) = answer else {
            return Err(ExchangeError::InvalidCode);
        };
        match provider {
            Some(provider) => answer(provider.clone()),
            None => match answer(SSO) {
                Err(ExchangeError::InvalidCode) => answer(AUTHKIT),
                other => other,
            },
        }
    }

    async fn complete_step(
        &self,
        step: &PendingStep,
        _client: &ClientContext,
    ) -> Result<ExternalIdentity, ExchangeError> {
        lock(&self.steps).push(step.clone());
        let answer = lock(&self.step).clone();
        answer.map_or(Err(ExchangeError::InvalidCode), |a| a(SSO))
    }

    fn authorization_url(&self, request: &AuthorizationRequest) -> String {
        format!(
            "https://idp.example/authorize?flow={}&state={}&organization={}&challenge={}",
            request.provider,
            request.state,
            request
                .hints
                .organization
                .as_deref()
                .filter(|o| provider_tenant(o).is_some())
                .unwrap_or_default(),
            request.code_challenge.as_deref().unwrap_or_default()
        )
    }

    fn parse_tenant(&self, raw: &str) -> Result<TenantId, TenantIdError> {
        provider_tenant(raw).ok_or(TenantIdError {
            expected: "a WorkOS organization id (org_...)",
        })
    }
}

/// Deterministic tokens: session `sess_N`, refresh token `rt_N` (digest `h(rt_N)`),
/// access tokens `at_N` whose claims it keeps (the verifier reads them back), and a
/// successor sealed under a key that only that key opens.
#[derive(Debug, Default)]
pub struct Tokens {
    next: AtomicUsize,
    signed: Mutex<HashMap<String, AccessClaims>>,
    /// Signing fails while set.
    pub refuse_signing: std::sync::atomic::AtomicBool,
}

impl Tokens {
    fn next(&self) -> usize {
        self.next.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The claims of an access token it signed.
    pub fn claims(&self, access_token: &SecretString) -> AccessClaims {
        lock(&self.signed)[access_token.expose_secret()].clone()
    }

    /// The digest of a token, as a store keeps it.
    pub fn digest(token: &str) -> TokenHash {
        TokenHash::new(format!("h({token})"))
    }
}

impl TokenIssuer for Tokens {
    fn issue_access_token(&self, claims: &AccessClaims) -> Result<SecretString, TokenError> {
        if self.refuse_signing.load(Ordering::SeqCst) {
            return Err(TokenError("no key".to_owned()));
        }
        let token = format!("at_{}", self.next());
        lock(&self.signed).insert(token.clone(), claims.clone());
        Ok(SecretString::from(token))
    }

    fn mint_refresh_token(&self) -> MintedRefreshToken {
        let token = format!("rt_{}", self.next());
        MintedRefreshToken {
            hash: Self::digest(&token),
            token: SecretString::from(token),
        }
    }

    fn hash_refresh_token(&self, token: &str) -> TokenHash {
        Self::digest(token)
    }

    fn new_session_id(&self) -> SessionId {
        SessionId::new(format!("sess_{}", self.next()))
    }

    fn seal_successor(&self, presented: &str, successor: &SecretString) -> String {
        format!(
            "sealed[{}]{}",
            Self::digest(presented).as_str(),
            successor.expose_secret()
        )
    }

    fn open_successor(&self, presented: &str, sealed: &str) -> Option<SecretString> {
        let prefix = format!("sealed[{}]", Self::digest(presented).as_str());
        sealed.strip_prefix(&prefix).map(SecretString::from)
    }
}

/// Verifies the access tokens [`Tokens`] signed (and nothing else), expiry not judged.
#[derive(Debug)]
pub struct Verifier(pub Arc<Tokens>);

impl AccessTokenVerifier for Verifier {
    fn verify(&self, token: &str) -> Result<VerifiedAccess, InvalidAccessToken> {
        let claims = lock(&self.0.signed)
            .get(token)
            .cloned()
            .ok_or(InvalidAccessToken)?;
        Ok(VerifiedAccess {
            user_id: claims.user_id,
            organization_id: claims.organization_id,
            access_role: claims.access_role,
            session_id: claims.session_id,
            expires_at: claims.expires_at,
        })
    }
}

/// S256 as far as these tests care: 43 base64url characters, different for different
/// verifiers.
pub fn challenge_of(verifier: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    (0..43u8)
        .map(|round| {
            for b in verifier.bytes().chain([round]) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
            char::from(ALPHABET[usize::try_from(h >> 58).expect("six bits")])
        })
        .collect()
}

/// States: a generated one is `generated-state-N…`, digests are `s(state)`, the PKCE
/// verifier of a state is `pkce-<state>`.
#[derive(Debug, Default)]
pub struct States(AtomicUsize);

impl StateProtector for States {
    fn random_state(&self) -> String {
        format!("generated-state-{:016}", self.0.fetch_add(1, Ordering::SeqCst))
    }

    fn hash_state(&self, state: &str) -> TokenHash {
        TokenHash::new(format!("s({state})"))
    }

    fn pkce_verifier(&self, state: &str) -> SecretString {
        SecretString::from(format!("pkce-{state}"))
    }

    fn pkce_challenge(&self, verifier: &SecretString) -> String {
        challenge_of(verifier.expose_secret())
    }
}

/// The user store, with a concurrent login's write that lands just before the next
/// write of the use case (an insert or a recorded login): to play the races.
#[derive(Debug, Default)]
pub struct Users {
    pub store: InMemoryStore,
    concurrent: Mutex<Option<User>>,
}

impl Users {
    fn interleave(&self) {
        if let Some(user) = lock(&self.concurrent).take() {
            self.store.put_user(user);
        }
    }
}

#[async_trait]
impl UserRepository for Users {
    async fn find_by_link(&self, link: &IdentityLink) -> Result<Option<User>, RepositoryError> {
        self.store.find_by_link(link).await
    }
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError> {
        self.store.find_by_email(email).await
    }
    async fn find_user(&self, id: UserId) -> Result<Option<User>, RepositoryError> {
        UserRepository::find_user(&self.store, id).await
    }
    async fn insert(&self, user: NewUser) -> Result<User, RepositoryError> {
        self.interleave();
        self.store.insert(user).await
    }
    async fn record_login(
        &self,
        id: UserId,
        identity: Option<LinkedIdentity>,
        at: Timestamp,
    ) -> Result<Option<User>, RepositoryError> {
        self.interleave();
        self.store.record_login(id, identity, at).await
    }
    async fn record_login_by_link(
        &self,
        link: &IdentityLink,
        at: Timestamp,
    ) -> Result<Option<User>, RepositoryError> {
        self.store.record_login_by_link(link, at).await
    }
}

// ---- the world ----------------------------------------------------------------------

/// Every use case wired over the in-memory stores and the stand-ins above.
pub struct World {
    pub store: InMemoryStore,
    pub states: InMemoryLoginStates,
    pub users: Arc<Users>,
    pub idp: Arc<Idp>,
    pub tokens: Arc<Tokens>,
    pub clock: Arc<TestClock>,
    pub services: Services,
    /// Every audit record the use cases handed over, in order.
    pub audit: Arc<Recorded>,
    /// The audit records the trail reads.
    pub audit_log: Arc<InMemoryAuditLog>,
    ports: Ports,
    policies: Policies,
}

/// An audit sink that keeps what it is handed, for the tests to read.
#[derive(Debug, Default)]
pub struct Recorded(Mutex<Vec<AuditEvent>>);

impl AuditSink for Recorded {
    fn record(&self, event: AuditEvent) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(event);
    }
}

impl Recorded {
    /// The records handed over so far.
    pub fn all(&self) -> Vec<AuditEvent> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The records of `kind` handed over so far.
    pub fn of(&self, kind: AuditType) -> Vec<AuditEvent> {
        self.all().into_iter().filter(|e| e.kind == kind).collect()
    }
}

/// The policies of these tests: the documented defaults, two redirect URIs.
pub fn policies() -> Policies {
    Policies::new(RedirectPolicy::new(DEFAULT_REDIRECT, [OTHER_REDIRECT.to_owned()]))
}

impl World {
    /// A world with the default [`policies`].
    pub fn new() -> Self {
        Self::with(|_, _| {})
    }

    /// A world whose ports and policies `edit` changes first (e.g. a store that fails).
    pub fn with(edit: impl FnOnce(&mut Ports, &mut Policies)) -> Self {
        let store = InMemoryStore::new();
        let states = InMemoryLoginStates::new();
        let users = Arc::new(Users {
            store: store.clone(),
            concurrent: Mutex::new(None),
        });
        let idp = Arc::new(Idp::default());
        let tokens = Arc::new(Tokens::default());
        let clock = Arc::new(TestClock(AtomicI64::new(t0().millis())));
        let audit = Arc::new(Recorded::default());
        let audit_log = Arc::new(InMemoryAuditLog::new());
        let mut ports = Ports {
            users: users.clone(),
            organizations: Arc::new(store.clone()),
            sessions: Arc::new(store.clone()),
            refresh_tokens: Arc::new(store.clone()),
            login_states: Arc::new(states.clone()),
            lifecycle: Arc::new(store.clone()),
            identity_provider: idp.clone(),
            tokens: tokens.clone(),
            verifier: Arc::new(Verifier(tokens.clone())),
            state_protector: Arc::new(States::default()),
            clock: clock.clone(),
            link_requests: Arc::new(store.clone()),
            login_turns: LoginTurns::new(),
            audit: audit.clone(),
            audit_store: audit_log.clone(),
        };
        let mut policies = policies();
        edit(&mut ports, &mut policies);
        Self {
            store,
            states,
            users,
            idp,
            tokens,
            clock,
            services: Services::new(ports.clone(), policies.clone()),
            audit,
            audit_log,
            ports,
            policies,
        }
    }

    /// The same world (stores and all) with its use cases wired again under the
    /// policies `edit` changes, e.g. to name an organization created since.
    pub fn rewired(mut self, edit: impl FnOnce(&mut Policies)) -> Self {
        edit(&mut self.policies);
        self.services = Services::new(self.ports.clone(), self.policies.clone());
        self
    }

    /// Moves the clock to `seconds` after [`t0`].
    pub fn set_clock(&self, seconds: i64) {
        self.clock.0.store(at(seconds).millis(), Ordering::SeqCst);
    }

    // -- organizations --

    /// An organization `name` created `created` seconds after [`t0`] (older ones first),
    /// mapped to `tenant` if given, with `settings`.
    pub fn add_org_with(
        &self,
        name: &str,
        created: i64,
        tenant: Option<&str>,
        settings: StoredSessionSettings,
    ) -> OrganizationId {
        self.store
            .add_mapped_organization(name, at(created), settings, tenant.map(self::tenant))
    }

    /// An organization `name` created `created` seconds after [`t0`], mapped to `tenant`.
    pub fn add_org(&self, name: &str, created: i64, tenant: Option<&str>) -> OrganizationId {
        self.add_org_with(name, created, tenant, StoredSessionSettings::none())
    }

    /// The organization with this id.
    pub async fn org(&self, id: OrganizationId) -> Organization {
        OrganizationRepository::find_organization(&self.store, id)
            .await
            .unwrap()
            .expect("the organization exists")
    }

    // -- users --

    /// Stores `spec` as an existing user and returns them.
    pub fn add_user(&self, spec: UserSpec) -> User {
        let n = self.store.user_count() + 1;
        let id = UserId::parse(&format!("5f7b1c2e8a1d4e00120000{n:02x}")).unwrap();
        let user = spec.build(id);
        self.store.put_user(user.clone());
        user
    }

    /// Stores `spec` as written by a concurrent login just before the use case's next
    /// user write.
    pub fn concurrently(&self, spec: UserSpec, id: Option<UserId>) {
        let id = id.unwrap_or_else(|| UserId::parse("5f7b1c2e8a1d4e00120000ff").unwrap());
        *lock(&self.users.concurrent) = Some(spec.build(id));
    }

    /// The user with this address, if any.
    pub async fn user_by_email(&self, address: &str) -> Option<User> {
        self.store
            .find_by_email(&Email::parse(address).unwrap())
            .await
            .unwrap()
    }

    /// The user with this id, if any.
    pub async fn user(&self, id: UserId) -> Option<User> {
        UserRepository::find_user(&self.store, id).await.unwrap()
    }

    /// How many users exist.
    pub fn user_count(&self) -> usize {
        self.store.user_count()
    }

    // -- sessions --

    /// The session with this id, as stored.
    pub async fn session(&self, id: &SessionId) -> Option<SessionRecord> {
        SessionStore::find_session(&self.store, id).await.unwrap()
    }

    /// The stored record of `session`.
    pub async fn record(&self, session: &AuthSession) -> SessionRecord {
        self.session(&session.session_id)
            .await
            .expect("the session is stored")
    }

    /// A login of `identity` started with its API and bound to [`VERIFIER`]'s browser,
    /// its code `code` scripted: its state.
    pub async fn start_for(&self, code: &str, identity: ExternalIdentity) -> String {
        let flow = identity.link.provider.clone();
        self.idp.code(code, identity);
        self.start(flow).await
    }

    /// Every session stored (the ids the token issuer minted that were stored).
    pub async fn sessions(&self) -> Vec<SessionRecord> {
        let mut found = Vec::new();
        for n in 1..=self.tokens.next.load(Ordering::SeqCst) {
            if let Some(session) = self.session(&SessionId::new(format!("sess_{n}"))).await {
                found.push(session);
            }
        }
        found
    }

    // -- logins --

    /// Starts a login with `flow` bound to [`VERIFIER`]'s browser, and returns its state.
    pub async fn start(&self, flow: ProviderKey) -> String {
        let started = self
            .services
            .start
            .start(AuthorizeInput {
                flow: Some(flow.as_str().to_owned()),
                client_challenge: Some(challenge_of(VERIFIER)),
                ..AuthorizeInput::default()
            })
            .await
            .expect("the login starts");
        state_of(&started.url)
    }

    /// The callback a browser posts after a login started with `state`.
    pub fn posted(code: &str, state: &str) -> CallbackInput {
        CallbackInput {
            code: Some(secret(code)),
            state: Some(state.to_owned()),
            client_verifier: Some(secret(VERIFIER)),
            ..CallbackInput::default()
        }
    }

    /// Posts `input` to the callback.
    pub async fn post(&self, input: CallbackInput) -> Result<AuthSession, LoginError> {
        self.services.login.complete(input).await
    }

    /// A world with one organization, "Acme".
    pub fn acme() -> Self {
        let w = Self::new();
        w.add_org("Acme", 1, None);
        w
    }

    /// A login of `identity` with code `code-1`, started with its API, bound to
    /// [`VERIFIER`]'s browser and called back once: its state and its session.
    pub async fn bound_login(&self, identity: ExternalIdentity) -> (String, AuthSession) {
        let state = self.start_for("code-1", identity).await;
        let session = self
            .post(Self::posted("code-1", &state))
            .await
            .expect("the login completes");
        (state, session)
    }

    /// A whole login of `identity` (`code` scripted, started, called back), with a
    /// new user asking for `requested`.
    pub async fn login_requesting(
        &self,
        identity: ExternalIdentity,
        requested: Option<&str>,
    ) -> Result<AuthSession, LoginError> {
        let code = format!("code-{}", self.idp.exchanges().len() + 1);
        let flow = identity.link.provider.clone();
        self.idp.code(&code, identity);
        let state = self.start(flow).await;
        let input = CallbackInput {
            organization_id: requested.map(str::to_owned),
            ..Self::posted(&code, &state)
        };
        self.services.login.complete(input).await
    }

    /// A whole login of `identity`.
    pub async fn login(&self, identity: ExternalIdentity) -> Result<AuthSession, LoginError> {
        self.login_requesting(identity, None).await
    }
}
