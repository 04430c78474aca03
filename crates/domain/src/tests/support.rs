//! Builders shared by the use-case tests: users, organizations, identities, a fixed
//! clock, and the use cases wired to mocks.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use crate::{
    AccessRole, ClientChallenge, CompleteLogin, Email, Flow, IdpIdentity, LiveRefreshToken, LoginStateRecord,
    LoginStateStore, LoginTurns, MintedRefreshToken, MockIdentityProvider, MockLoginStateStore,
    MockOrganizationRepository, MockSessionStore, MockStateProtector, MockTokenIssuer, MockUserRepository,
    NewUser, Organization, OrganizationId, Provisioner, ProvisioningPolicy, RedirectPolicy, RepositoryError,
    SessionConfig, SessionId, SessionIssuer, SessionLifetimes, SessionRecord, StateChecking, StateTake,
    StoredSessionSettings, Timestamp, TokenHash, User, UserId, WorkosLink, WorkosOrganizationId, mocks,
};

/// The instant every fixed clock of these tests reads (2023-11-14T22:13:20Z).
pub(super) const NOW_MILLIS: i64 = 1_700_000_000_000;

/// An existing user's id.
pub(super) const USER_ID: &str = mocks::USER_ID;
/// The id a repository gives a just-in-time user.
pub(super) const NEW_USER_ID: &str = "5f7b1c2e8a1d4e0012c3ffff";
/// The organization of the existing user; also the one a login may request.
pub(super) const ACME_ORG: &str = mocks::ORGANIZATION_ID;
/// The organization `DEFAULT_ORGANIZATION_ID` names in some tests.
pub(super) const DEFAULT_ORG: &str = "64a1b2c3d4e5f600123400de";
/// The organization created first.
pub(super) const OLDEST_ORG: &str = "64a1b2c3d4e5f6001234001d";
/// A well-formed id that names no organization.
pub(super) const MISSING_ORG: &str = "64a1b2c3d4e5f60012340000";

/// The WorkOS organization of [`sso_identity`]'s connection ("org A").
pub(super) const WORKOS_ORG_A: &str = "org_01HX9R3K4N6P8QZBVTYM2D5A7C";
/// Another company's WorkOS organization ("org B").
pub(super) const WORKOS_ORG_B: &str = "org_01HXBBBBBBBBBBBBBBBBBBBBBB";

/// The redirect URI a login uses when it names none (`${CLIENT_URL}/signin`).
pub(super) const DEFAULT_REDIRECT: &str = "http://localhost:5173/signin";
/// A second allowed redirect URI.
pub(super) const OTHER_ALLOWED_REDIRECT: &str = "https://app.tether.example/auth/callback";

/// The one instant of these tests.
pub(super) fn now() -> Timestamp {
    Timestamp::from_millis(NOW_MILLIS)
}

/// Parses a 24-hex user id.
pub(super) fn user_id(hex: &str) -> UserId {
    UserId::parse(hex).expect("test ids are valid ObjectIds")
}

/// Parses a 24-hex organization id.
pub(super) fn org_id(hex: &str) -> OrganizationId {
    OrganizationId::parse(hex).expect("test ids are valid ObjectIds")
}

/// Parses an address.
pub(super) fn email(raw: &str) -> Email {
    Email::parse(raw).expect("test addresses are valid")
}

/// A secret from a literal.
pub(super) fn secret(raw: &str) -> SecretString {
    SecretString::from(raw)
}

/// Whether a secret holds exactly `expected`.
pub(super) fn holds(secret: &SecretString, expected: &str) -> bool {
    secret.expose_secret() == expected
}

/// An enabled ADMIN of [`ACME_ORG`] with no WorkOS id recorded yet.
pub(super) fn user(address: &str) -> User {
    User {
        id: user_id(USER_ID),
        email: email(address),
        full_name: "Acme Admin".to_owned(),
        organization_id: org_id(ACME_ORG),
        access_role: AccessRole::Admin,
        ..mocks::user(address)
    }
}

/// An organization without session overrides, mapped to no WorkOS organization.
pub(super) fn org(hex: &str) -> Organization {
    Organization {
        id: org_id(hex),
        name: format!("Organization {hex}"),
        session_settings: StoredSessionSettings::none(),
        workos_organization_id: None,
    }
}

/// Parses a WorkOS organization id.
pub(super) fn workos_org(raw: &str) -> WorkosOrganizationId {
    WorkosOrganizationId::parse(raw).expect("test WorkOS organization ids are valid")
}

/// An organization without session overrides, mapped to the WorkOS organization `workos`.
pub(super) fn mapped_org(hex: &str, workos: &str) -> Organization {
    Organization {
        workos_organization_id: Some(workos_org(workos)),
        ..org(hex)
    }
}

/// An identity from enterprise SSO (`prof_sso_1`) through a connection of
/// [`WORKOS_ORG_A`]; SSO profiles carry no `email_verified`.
pub(super) fn sso_identity(address: &str) -> IdpIdentity {
    IdpIdentity {
        flow: Flow::Sso,
        subject: "prof_sso_1".to_owned(),
        email: address.to_owned(),
        first_name: Some("Jane".to_owned()),
        last_name: Some("Doe".to_owned()),
        connection_id: Some("conn_okta_1".to_owned()),
        organization_id: Some(WORKOS_ORG_A.to_owned()),
        email_verified: None,
    }
}

/// An identity from AuthKit (`user_authkit_1`) whose address WorkOS verified.
pub(super) fn authkit_identity(address: &str) -> IdpIdentity {
    IdpIdentity {
        first_name: Some("Jane".to_owned()),
        last_name: Some("Doe".to_owned()),
        ..mocks::identity("user_authkit_1", address)
    }
}

/// The WorkOS ids of an identity, as provisioning records them.
pub(super) fn link_of(identity: &IdpIdentity) -> WorkosLink {
    WorkosLink {
        flow: identity.flow,
        subject: identity.subject.clone(),
        connection_id: identity.connection_id.clone(),
        organization_id: identity.organization_id.clone(),
    }
}

/// The user a repository returns for an insert of `new_user`.
pub(super) fn created(new_user: NewUser) -> User {
    let (workos_user_id, workos_profile_id) = match new_user.workos.flow {
        Flow::AuthKit => (Some(new_user.workos.subject), None),
        Flow::Sso => (None, Some(new_user.workos.subject)),
    };
    User {
        id: user_id(NEW_USER_ID),
        email: new_user.email,
        full_name: new_user.full_name,
        organization_id: new_user.organization_id,
        access_role: new_user.access_role,
        conversation_open_preference: new_user.conversation_open_preference,
        login_disabled: false,
        workos_user_id,
        workos_profile_id,
        email_verified: Some(new_user.email_verified),
    }
}

/// A provisioner with the default policy and a clock reading [`now`].
pub(super) fn provisioner(
    users: MockUserRepository,
    organizations: MockOrganizationRepository,
) -> Provisioner {
    provisioner_with(users, organizations, ProvisioningPolicy::default())
}

/// A provisioner with `policy` and a clock reading [`now`].
pub(super) fn provisioner_with(
    users: MockUserRepository,
    organizations: MockOrganizationRepository,
    policy: ProvisioningPolicy,
) -> Provisioner {
    Provisioner::new(
        Arc::new(users),
        Arc::new(organizations),
        mocks::fixed_clock(now()),
        policy,
    )
}

/// A session issuer with the documented defaults and 30-day lifetimes, whose session
/// store stores any new session.
pub(super) fn issuer(organizations: MockOrganizationRepository, tokens: MockTokenIssuer) -> SessionIssuer {
    issuer_storing(organizations, tokens, sessions_accepting())
}

/// A session issuer with the documented defaults and 30-day lifetimes over `sessions`.
pub(super) fn issuer_storing(
    organizations: MockOrganizationRepository,
    tokens: MockTokenIssuer,
    sessions: MockSessionStore,
) -> SessionIssuer {
    SessionIssuer::new(
        Arc::new(organizations),
        Arc::new(tokens),
        Arc::new(sessions),
        SessionConfig::default(),
        SessionLifetimes::default(),
    )
}

/// A session store that stores any new session (and is asked nothing else).
pub(super) fn sessions_accepting() -> MockSessionStore {
    let mut sessions = MockSessionStore::new();
    sessions.expect_start().returning(|_| Ok(()));
    sessions
}

/// A live session `id` of [`USER_ID`] in [`ACME_ORG`] that started at `started` and
/// lasts the default 30 days, never rotated and holding no live refresh token (as a
/// session adopted from the earlier shape; set `refresh_token` for a newer one).
pub(super) fn session_record(id: &str, started: Timestamp) -> SessionRecord {
    SessionRecord {
        id: SessionId::new(id),
        user_id: user_id(USER_ID),
        organization_id: org_id(ACME_ORG),
        started_at: started,
        ends_at: started.plus_seconds(SessionLifetimes::default().absolute_session_seconds),
        revoked_at: None,
        revoked_reason: None,
        last_refreshed_at: None,
        refresh_token: None,
        last_rotation: None,
        login_answer: None,
    }
}

/// The live refresh token of a session started at `started` with the default
/// lifetimes: [`REFRESH_HASH`], for 30 days.
pub(super) fn first_refresh_token(started: Timestamp) -> LiveRefreshToken {
    LiveRefreshToken {
        hash: TokenHash::new(REFRESH_HASH),
        expires_at: started.plus_seconds(SessionLifetimes::default().refresh_token_seconds),
    }
}

/// The session id a [`token_issuer`] mints.
pub(super) const SESSION_ID: &str = "sess_1";
/// The access token a [`token_issuer`] signs.
pub(super) const ACCESS_TOKEN: &str = "header.claims.signature";
/// The refresh token a [`token_issuer`] mints.
pub(super) const REFRESH_TOKEN: &str = "rt_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// The digest of [`REFRESH_TOKEN`] (as far as these tests care).
pub(super) const REFRESH_HASH: &str = "9f86d081884c7d659a2feb64c5c2a8f4e8a1b0c3d2e5f60718293a4b5c6d7e8f";

/// A token issuer that mints one session ([`SESSION_ID`]), signs one access token
/// ([`ACCESS_TOKEN`]) whatever the claims, and mints one refresh token ([`REFRESH_TOKEN`]).
pub(super) fn token_issuer() -> MockTokenIssuer {
    let mut tokens = MockTokenIssuer::new();
    tokens
        .expect_new_session_id()
        .times(1)
        .returning(|| SessionId::new(SESSION_ID));
    tokens
        .expect_issue_access_token()
        .times(1)
        .returning(|_| Ok(secret(ACCESS_TOKEN)));
    tokens.expect_mint_refresh_token().times(1).returning(minted);
    tokens.expect_hash_refresh_token().never();
    tokens
}

/// The refresh token [`token_issuer`] mints.
pub(super) fn minted() -> MintedRefreshToken {
    MintedRefreshToken {
        token: secret(REFRESH_TOKEN),
        hash: TokenHash::new(REFRESH_HASH),
    }
}

/// The id of the stored answer of every login in these tests.
pub(super) const LOGIN_ANSWER_ID: &str = "10910a115e1d";
/// The sealed first refresh token of every login in these tests.
pub(super) const SEALED_LOGIN_ANSWER: &str = "v1.sealed-login-answer";

/// Every port of the login use case, as mocks without expectations: a call nobody
/// expected fails the test.
#[derive(Default)]
pub(super) struct LoginPorts {
    pub(super) idp: MockIdentityProvider,
    pub(super) users: MockUserRepository,
    /// The organizations the provisioner reads.
    pub(super) organizations: MockOrganizationRepository,
    /// The organizations the session issuer reads.
    pub(super) policy_organizations: MockOrganizationRepository,
    pub(super) tokens: MockTokenIssuer,
    pub(super) sessions: MockSessionStore,
}

impl LoginPorts {
    /// The login use case over these mocks, accepting unissued states (no state is
    /// recorded, so every login uses the SSO-then-AuthKit fallback), with a clock
    /// reading [`now`], the default provisioning policy and session defaults, and
    /// [`DEFAULT_REDIRECT`] plus [`OTHER_ALLOWED_REDIRECT`] allowed.
    pub(super) fn build(self) -> CompleteLogin {
        let mut states = MockLoginStateStore::new();
        states.expect_take().returning(|_, _| Ok(StateTake::Absent));
        let mut protector = MockStateProtector::new();
        protector
            .expect_hash_state()
            .returning(|_| TokenHash::new("no-such-state"));
        self.build_with(StateChecking {
            store: Arc::new(states),
            protector: Arc::new(protector),
            clock: mocks::fixed_clock(now()),
            accept_unissued: true,
        })
    }

    /// The login use case over these mocks with `checking` (see [`LoginPorts::build`]).
    pub(super) fn build_with(mut self, checking: StateChecking) -> CompleteLogin {
        // Every login keys its turn and its stored answer by a digest of what was
        // posted, seals its first refresh token for a second post, and a refused one
        // looks for the answer of a first post (there is none here).
        self.tokens
            .expect_hash_refresh_token()
            .returning(|_| TokenHash::new(LOGIN_ANSWER_ID));
        self.tokens
            .expect_seal_successor()
            .returning(|_, _| SEALED_LOGIN_ANSWER.to_owned());
        self.sessions
            .expect_find_by_login_answer()
            .returning(|_| Ok(None));
        let clock = mocks::fixed_clock(now());
        let provisioner = Provisioner::new(
            Arc::new(self.users),
            Arc::new(self.organizations),
            clock.clone(),
            ProvisioningPolicy::default(),
        );
        let issuer = SessionIssuer::new(
            Arc::new(self.policy_organizations),
            Arc::new(self.tokens),
            Arc::new(self.sessions),
            SessionConfig::default(),
            SessionLifetimes::default(),
        );
        CompleteLogin::new(
            Arc::new(self.idp),
            provisioner,
            issuer,
            RedirectPolicy::new(DEFAULT_REDIRECT, vec![OTHER_ALLOWED_REDIRECT.to_owned()]),
            checking,
            LoginTurns::new(),
        )
    }

    /// The provider must never be asked to exchange a code.
    pub(super) fn idp_never_called(&mut self) {
        self.idp.expect_exchange().never();
    }

    /// The existing `user` is found by the WorkOS id of `flow`/`subject` and signed in,
    /// and a session is issued for them (see [`LoginPorts::expect_session_for`]).
    pub(super) fn expect_existing_user_session(&mut self, flow: Flow, subject: &'static str, user: User) {
        let organization = user.organization_id;
        self.expect_existing_user(flow, subject, user);
        self.expect_session_for(organization);
    }

    /// The existing `user` carries the WorkOS id of `flow`/`subject` and is signed in
    /// by it in one write (`record_login_by_workos_subject`); nothing else is read or
    /// written about users.
    pub(super) fn expect_existing_user(&mut self, flow: Flow, subject: &'static str, user: User) {
        let mut linked = user;
        match flow {
            Flow::Sso => linked.workos_profile_id = Some(subject.to_owned()),
            Flow::AuthKit => linked.workos_user_id = Some(subject.to_owned()),
        }
        self.users
            .expect_record_login_by_workos_subject()
            .withf(move |f, s, at| *f == flow && s == subject && *at == now())
            .times(1)
            .returning(move |_, _, _| Ok(Some(linked.clone())));
        self.users.expect_find_by_workos_subject().never();
        self.users.expect_find_by_email().never();
        self.users.expect_insert().never();
        self.users.expect_record_login().never();
    }

    /// The session issuer reads `organization` once; it has no overrides.
    pub(super) fn expect_policy_of(&mut self, organization: OrganizationId) {
        self.policy_organizations
            .expect_find_by_id()
            .withf(move |id| *id == organization)
            .times(1)
            .returning(|id| {
                Ok(Some(Organization {
                    id,
                    name: "Acme".to_owned(),
                    session_settings: StoredSessionSettings::none(),
                    workos_organization_id: None,
                }))
            });
    }

    /// A session is issued for a user of `organization` (which has no overrides and
    /// is read once for its policy): one session id, one access token, one refresh
    /// token, and one session record carrying the refresh token's digest [`REFRESH_HASH`].
    pub(super) fn expect_session_for(&mut self, organization: OrganizationId) {
        self.expect_session_record(organization);
        self.expect_policy_of(organization);
    }

    /// One session record is stored for a user of `organization`, carrying the digest
    /// [`REFRESH_HASH`] of its first refresh token; one session id, one access token
    /// and one refresh token are minted.
    pub(super) fn expect_session_record(&mut self, organization: OrganizationId) {
        self.sessions
            .expect_start()
            .withf(move |s| {
                s.id.as_str() == SESSION_ID
                    && s.organization_id == organization
                    && s.started_at == now()
                    && s.refresh_token == Some(first_refresh_token(now()))
                    && s.last_rotation.is_none()
            })
            .times(1)
            .returning(|_| Ok(()));
        self.tokens = token_issuer();
    }
}

// ---- faithful fakes of ports whose answers, not their calls, are the point ---------------

/// Organizations as the organizations port sees them: each with its creation time and
/// its mapping. [`Organizations::mock`] answers the port's reads exactly as the port
/// documents them and refuses every write (a call nobody expected fails the test):
/// choosing an organization for a new user never writes one.
#[derive(Debug, Clone, Default)]
pub(super) struct Organizations {
    /// Each organization with its creation time.
    all: Vec<(i64, Organization)>,
}

impl Organizations {
    /// No organization at all.
    pub(super) fn none() -> Self {
        Self::default()
    }

    /// `organizations`, created in this order (the first is the oldest).
    pub(super) fn created_in_order(organizations: impl IntoIterator<Item = Organization>) -> Self {
        organizations
            .into_iter()
            .fold(Self::none(), |book, organization| book.then(organization))
    }

    /// Also `organization`, created after every other one.
    pub(super) fn then(self, organization: Organization) -> Self {
        let created_at = self.all.iter().map(|(at, _)| at + 1).max().unwrap_or(0);
        self.created_at(created_at, organization)
    }

    /// Also `organization`, created at `created_at` (ties are broken by id).
    pub(super) fn created_at(mut self, created_at: i64, organization: Organization) -> Self {
        assert!(
            self.all.iter().all(|(_, o)| o.id != organization.id),
            "one organization per id"
        );
        assert!(
            organization.workos_organization_id.is_none()
                || self
                    .all
                    .iter()
                    .all(|(_, o)| o.workos_organization_id != organization.workos_organization_id),
            "one organization per WorkOS organization"
        );
        self.all.push((created_at, organization));
        self
    }

    /// `find_by_id`.
    pub(super) fn find_by_id(&self, id: OrganizationId) -> Option<Organization> {
        self.all.iter().map(|(_, o)| o).find(|o| o.id == id).cloned()
    }

    /// `find_by_workos_organization`.
    pub(super) fn find_by_workos_organization(&self, workos: &WorkosOrganizationId) -> Option<Organization> {
        self.all
            .iter()
            .map(|(_, o)| o)
            .find(|o| o.workos_organization_id.as_ref() == Some(workos))
            .cloned()
    }

    /// `list`: oldest first, ties broken by id.
    pub(super) fn list(&self) -> Vec<Organization> {
        let mut all = self.all.clone();
        all.sort_by_key(|(at, o)| (*at, o.id.bytes()));
        all.into_iter().map(|(_, o)| o).collect()
    }

    /// `mapped_or_oldest_unmapped`: the organization mapped to `workos` when one is,
    /// else the oldest organization mapped to none.
    pub(super) fn mapped_or_oldest_unmapped(
        &self,
        workos: Option<&WorkosOrganizationId>,
    ) -> Option<Organization> {
        workos
            .and_then(|w| self.find_by_workos_organization(w))
            .or_else(|| {
                self.list()
                    .into_iter()
                    .find(|o| o.workos_organization_id.is_none())
            })
    }

    /// The port over these organizations: its reads answer as documented; any write
    /// fails the test.
    pub(super) fn mock(&self) -> MockOrganizationRepository {
        let mut port = MockOrganizationRepository::new();
        self.answer_reads(&mut port);
        port
    }

    /// Installs the documented answers to the port's reads on `port` (after any
    /// expectation a test set first, which mockall tries first).
    pub(super) fn answer_reads(&self, port: &mut MockOrganizationRepository) {
        let book = self.clone();
        port.expect_find_by_id()
            .returning(move |id| Ok(book.find_by_id(id)));
        let book = self.clone();
        port.expect_find_by_workos_organization()
            .returning(move |w| Ok(book.find_by_workos_organization(w)));
        let book = self.clone();
        port.expect_mapped_or_oldest_unmapped()
            .returning(move |w| Ok(book.mapped_or_oldest_unmapped(w)));
        let book = self.clone();
        port.expect_list().returning(move || Ok(book.list()));
    }
}

/// What the state protectors of these tests give as the S256 challenge of `verifier`:
/// 43 base64url characters, different for different verifiers (SHA-256 as far as
/// these tests care).
pub(super) fn challenge_of(verifier: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    (0..ClientChallenge::LEN)
        .map(|round| {
            for b in verifier.bytes().chain(round.to_le_bytes()) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
            char::from(ALPHABET[usize::try_from(h >> 58).expect("six bits")])
        })
        .collect()
}

/// The browser binding an SPA starts a login with when it keeps `verifier`.
pub(super) fn client_challenge(verifier: &str) -> ClientChallenge {
    ClientChallenge::parse(&challenge_of(verifier)).expect("challenge_of gives valid challenges")
}

/// Login states as the login-state port documents them: saved once per live digest,
/// taken once, and a state bound to a browser taken only with its challenge (else left
/// in place and answered [`StateTake::Bound`]). Share it (`Arc`) between a start and
/// its callbacks.
#[derive(Debug, Default)]
pub(super) struct LoginStates {
    recorded: Mutex<Vec<LoginStateRecord>>,
}

impl LoginStates {
    /// The states recorded now.
    pub(super) fn recorded(&self) -> Vec<LoginStateRecord> {
        self.recorded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// `record`, as if a start had saved it.
    pub(super) fn holding(record: LoginStateRecord) -> Arc<Self> {
        Arc::new(Self {
            recorded: Mutex::new(vec![record]),
        })
    }
}

#[async_trait]
impl LoginStateStore for LoginStates {
    async fn save(&self, record: LoginStateRecord) -> Result<(), RepositoryError> {
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = recorded.iter().position(|r| r.state_hash == record.state_hash) {
            if recorded[at].expires_at > record.created_at {
                return Err(RepositoryError::Duplicate);
            }
            recorded.remove(at);
        }
        recorded.push(record);
        Ok(())
    }

    async fn take<'a>(
        &self,
        state_hash: &TokenHash,
        presented: Option<&'a ClientChallenge>,
    ) -> Result<StateTake, RepositoryError> {
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(at) = recorded.iter().position(|r| r.state_hash == *state_hash) else {
            return Ok(StateTake::Absent);
        };
        match &recorded[at].client_challenge {
            Some(bound) if Some(bound) != presented => Ok(StateTake::Bound),
            _ => Ok(StateTake::Taken(recorded.remove(at))),
        }
    }
}

/// Sessions as the session store keeps them, for the use cases that start one and
/// look one up by its login answer.
#[derive(Debug, Clone, Default)]
pub(super) struct Sessions {
    started: Arc<Mutex<Vec<SessionRecord>>>,
}

impl Sessions {
    /// Every session started so far.
    pub(super) fn started(&self) -> Vec<SessionRecord> {
        self.started
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Installs `start` (keeps the session) and `find_by_login_answer` (the session
    /// whose stored answer has this id) on `port`.
    pub(super) fn answer_on(&self, port: &mut MockSessionStore) {
        let kept = self.started.clone();
        port.expect_start().returning(move |session| {
            kept.lock().unwrap_or_else(PoisonError::into_inner).push(session);
            Ok(())
        });
        let kept = self.started.clone();
        port.expect_find_by_login_answer().returning(move |id| {
            Ok(kept
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .find(|s| s.login_answer.as_ref().is_some_and(|a| a.id == *id))
                .cloned())
        });
    }
}

/// A token issuer for logins posted more than once: every session is [`SESSION_ID`]
/// with the refresh token [`REFRESH_TOKEN`] (digest [`REFRESH_HASH`]); any other
/// secret digests to `id(secret)`; a token sealed under a key opens only with that key.
pub(super) fn token_issuer_sealing() -> MockTokenIssuer {
    let mut tokens = MockTokenIssuer::new();
    tokens
        .expect_new_session_id()
        .returning(|| SessionId::new(SESSION_ID));
    tokens
        .expect_issue_access_token()
        .returning(|_| Ok(secret(ACCESS_TOKEN)));
    tokens.expect_mint_refresh_token().returning(minted);
    tokens.expect_hash_refresh_token().returning(|raw| {
        if raw == REFRESH_TOKEN {
            TokenHash::new(REFRESH_HASH)
        } else {
            TokenHash::new(format!("id({raw})"))
        }
    });
    tokens
        .expect_seal_successor()
        .returning(|key, token| format!("sealed[{key}]{}", token.expose_secret()));
    tokens.expect_open_successor().returning(|key, sealed| {
        sealed
            .strip_prefix(&format!("sealed[{key}]"))
            .map(SecretString::from)
    });
    tokens
}
