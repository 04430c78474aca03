//! One in-memory store implementing the user, organization, session and refresh-token ports
//! (and, in `events`, the lifecycle store and the event cursors; in `links`, the link
//! requests).

mod events;
mod links;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use tether_domain::{
    Email, IdentityLink, LinkedIdentity, NewOrganization, NewUser, Organization, OrganizationId,
    OrganizationRepository, RefreshTokenRecord, RefreshTokenStore, RepositoryError, TenantId, Timestamp,
    TokenRotation, User, UserId, UserRepository,
};
use tether_domain::{
    LiveRefreshToken, RevokedReason, Rotation, RotationOutcome, SessionId, SessionRecord, SessionStore,
    StoredSessionSettings, TokenHash,
};

#[derive(Debug, Default)]
struct State {
    users: Vec<User>,
    /// Organizations with their creation time, for `oldest`.
    organizations: Vec<(Timestamp, Organization)>,
    refresh_tokens: Vec<RefreshTokenRecord>,
    sessions: Vec<SessionRecord>,
    events: events::EventState,
    links: links::LinkState,
}

/// Users, organizations, sessions and refresh tokens held in memory. Cloning shares
/// the data. It keeps the contracts of the ports, as the port-conformance suites of
/// `tether-domain` (feature `conformance`) check for it and for the MongoDB adapter.
#[derive(Debug, Clone, Default)]
pub struct InMemoryStore {
    state: Arc<Mutex<State>>,
    next_id: Arc<AtomicU64>,
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-written record: every
        // mutation below is a single push or field assignment.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The bytes of a fresh id: a 4-byte time part like a real ObjectId, then a counter.
    fn new_id(&self, at: Timestamp) -> [u8; 12] {
        let mut bytes = [0u8; 12];
        let seconds = u32::try_from(at.unix_seconds()).unwrap_or(u32::MAX);
        bytes[..4].copy_from_slice(&seconds.to_be_bytes());
        let n = self.next_id.fetch_add(1, Ordering::SeqCst) + 1;
        bytes[4..].copy_from_slice(&n.to_be_bytes());
        bytes
    }

    /// Adds an organization created at `created_at` and returns its id.
    pub fn add_organization(
        &self,
        name: &str,
        created_at: Timestamp,
        settings: tether_domain::StoredSessionSettings,
    ) -> OrganizationId {
        self.add_mapped_organization(name, created_at, settings, None)
    }

    /// Adds an organization mapped to a tenant (the caller keeps the mappings unique)
    /// and returns its id.
    pub fn add_mapped_organization(
        &self,
        name: &str,
        created_at: Timestamp,
        settings: tether_domain::StoredSessionSettings,
        tenant: Option<TenantId>,
    ) -> OrganizationId {
        let id = OrganizationId::from_bytes(self.new_id(created_at));
        self.lock().organizations.push((
            created_at,
            Organization {
                id,
                name: name.to_owned(),
                session_settings: settings,
                tenant,
            },
        ));
        id
    }

    /// Adds (or replaces) a user as-is, e.g. to set up a disabled or privileged user.
    pub fn put_user(&self, user: User) {
        let mut state = self.lock();
        state.users.retain(|u| u.id != user.id);
        state.users.push(user);
    }

    /// Every stored refresh-token record.
    pub fn refresh_tokens(&self) -> Vec<RefreshTokenRecord> {
        self.lock().refresh_tokens.clone()
    }

    /// How many users exist.
    pub fn user_count(&self) -> usize {
        self.lock().users.len()
    }

    /// Revokes every session `which` picks at `at` for `reason`, under one lock (one
    /// write, as the ports require); returns how many.
    fn revoke_where(
        &self,
        which: impl Fn(&SessionRecord) -> bool,
        at: Timestamp,
        reason: RevokedReason,
    ) -> u64 {
        let mut state = self.lock();
        let mut revoked = 0;
        for session in state.sessions.iter_mut().filter(|s| which(s)) {
            session.revoked_at = Some(at);
            session.revoked_reason = Some(reason);
            revoked += 1;
        }
        revoked
    }
}

fn carries(user: &User, link: &IdentityLink) -> bool {
    user.links.contains(link)
}

#[async_trait]
impl UserRepository for InMemoryStore {
    async fn find_by_link(&self, link: &IdentityLink) -> Result<Option<User>, RepositoryError> {
        Ok(self.lock().users.iter().find(|u| carries(u, link)).cloned())
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError> {
        // Emails are normalised to lower case on the way in, so equality is case-insensitive.
        Ok(self.lock().users.iter().find(|u| &u.email == email).cloned())
    }

    async fn find_user(&self, id: UserId) -> Result<Option<User>, RepositoryError> {
        Ok(self.lock().users.iter().find(|u| u.id == id).cloned())
    }

    async fn insert(&self, new: NewUser) -> Result<User, RepositoryError> {
        let id = UserId::from_bytes(self.new_id(new.created_at));
        let mut state = self.lock();
        if state
            .users
            .iter()
            .any(|u| u.email == new.email || carries(u, &new.identity.link))
        {
            return Err(RepositoryError::Duplicate);
        }
        let user = User {
            id,
            email: new.email,
            full_name: new.full_name,
            organization_id: new.organization_id,
            access_role: new.access_role,
            conversation_open_preference: new.conversation_open_preference,
            login_disabled: false,
            links: vec![new.identity.link],
            email_verified: Some(new.email_verified),
        };
        state.users.push(user.clone());
        Ok(user)
    }

    async fn record_login(
        &self,
        id: UserId,
        identity: Option<LinkedIdentity>,
        _at: Timestamp,
    ) -> Result<Option<User>, RepositoryError> {
        let mut state = self.lock();
        let taken = identity
            .as_ref()
            .is_some_and(|i| state.users.iter().any(|u| u.id != id && carries(u, &i.link)));
        if taken {
            return Err(RepositoryError::Duplicate);
        }
        let Some(user) = state.users.iter_mut().find(|u| u.id == id) else {
            return Ok(None);
        };
        if let Some(identity) = identity.filter(|i| user.subject_for(&i.link.provider).is_none()) {
            user.links.push(identity.link);
        }
        Ok(Some(user.clone()))
    }

    async fn record_login_by_link(
        &self,
        link: &IdentityLink,
        _at: Timestamp,
    ) -> Result<Option<User>, RepositoryError> {
        Ok(self
            .lock()
            .users
            .iter()
            .find(|u| carries(u, link) && !u.login_disabled)
            .cloned())
    }
}

#[async_trait]
impl OrganizationRepository for InMemoryStore {
    async fn find_organization(&self, id: OrganizationId) -> Result<Option<Organization>, RepositoryError> {
        Ok(self
            .lock()
            .organizations
            .iter()
            .find(|(_, o)| o.id == id)
            .map(|(_, o)| o.clone()))
    }

    async fn mapped_or_oldest_unmapped<'a>(
        &self,
        tenant: Option<&'a TenantId>,
    ) -> Result<Option<Organization>, RepositoryError> {
        let state = self.lock();
        let mapped = tenant.and_then(|wanted| {
            state
                .organizations
                .iter()
                .find(|(_, o)| o.tenant.as_ref() == Some(wanted))
        });
        Ok(mapped
            .or_else(|| {
                state
                    .organizations
                    .iter()
                    .filter(|(_, o)| o.tenant.is_none())
                    .min_by_key(|(created, o)| (*created, o.id))
            })
            .map(|(_, o)| o.clone()))
    }

    async fn find_by_tenant(&self, tenant: &TenantId) -> Result<Option<Organization>, RepositoryError> {
        Ok(self
            .lock()
            .organizations
            .iter()
            .find(|(_, o)| o.tenant.as_ref() == Some(tenant))
            .map(|(_, o)| o.clone()))
    }

    async fn list(&self) -> Result<Vec<Organization>, RepositoryError> {
        let mut all = self.lock().organizations.clone();
        all.sort_by_key(|(created, o)| (*created, o.id));
        Ok(all.into_iter().map(|(_, o)| o).collect())
    }

    async fn create(&self, new: NewOrganization) -> Result<Organization, RepositoryError> {
        let id = OrganizationId::from_bytes(self.new_id(new.created_at));
        let mut state = self.lock();
        if new.tenant.is_some() && state.organizations.iter().any(|(_, o)| o.tenant == new.tenant) {
            return Err(RepositoryError::Duplicate);
        }
        let organization = Organization {
            id,
            name: new.name,
            session_settings: StoredSessionSettings::none(),
            tenant: new.tenant,
        };
        state.organizations.push((new.created_at, organization.clone()));
        Ok(organization)
    }

    async fn set_tenant(
        &self,
        id: OrganizationId,
        tenant: Option<TenantId>,
        _at: Timestamp,
    ) -> Result<Option<Organization>, RepositoryError> {
        let mut state = self.lock();
        if tenant.is_some()
            && state
                .organizations
                .iter()
                .any(|(_, o)| o.id != id && o.tenant == tenant)
        {
            return Err(RepositoryError::Duplicate);
        }
        let Some((_, organization)) = state.organizations.iter_mut().find(|(_, o)| o.id == id) else {
            return Ok(None);
        };
        organization.tenant = tenant;
        Ok(Some(organization.clone()))
    }

    async fn update_session_settings(
        &self,
        id: OrganizationId,
        settings: StoredSessionSettings,
        _at: Timestamp,
    ) -> Result<Option<Organization>, RepositoryError> {
        let mut state = self.lock();
        let Some((_, organization)) = state.organizations.iter_mut().find(|(_, o)| o.id == id) else {
            return Ok(None);
        };
        organization.session_settings = settings;
        Ok(Some(organization.clone()))
    }
}

/// Adds `item` unless an item `same` as it is there already: a unique index.
fn push_unique<T>(items: &mut Vec<T>, item: T, same: impl Fn(&T, &T) -> bool) -> Result<(), RepositoryError> {
    if items.iter().any(|i| same(i, &item)) {
        return Err(RepositoryError::Duplicate);
    }
    items.push(item);
    Ok(())
}

#[async_trait]
impl RefreshTokenStore for InMemoryStore {
    async fn save_token(&self, record: RefreshTokenRecord) -> Result<(), RepositoryError> {
        push_unique(&mut self.lock().refresh_tokens, record, |a, b| a.hash == b.hash)
    }

    async fn find_by_hash(&self, hash: &TokenHash) -> Result<Option<RefreshTokenRecord>, RepositoryError> {
        Ok(self
            .lock()
            .refresh_tokens
            .iter()
            .find(|r| &r.hash == hash)
            .cloned())
    }
}

#[async_trait]
impl SessionStore for InMemoryStore {
    async fn start(&self, session: SessionRecord) -> Result<(), RepositoryError> {
        push_unique(&mut self.lock().sessions, session, |a, b| a.id == b.id)
    }

    async fn find_session(&self, id: &SessionId) -> Result<Option<SessionRecord>, RepositoryError> {
        Ok(self.lock().sessions.iter().find(|s| &s.id == id).cloned())
    }

    async fn revoke(
        &self,
        id: &SessionId,
        at: Timestamp,
        reason: RevokedReason,
    ) -> Result<bool, RepositoryError> {
        Ok(self.revoke_where(|s| &s.id == id && s.revoked_at.is_none(), at, reason) == 1)
    }

    async fn find_by_refresh_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<SessionRecord>, RepositoryError> {
        Ok(holder(&self.lock(), hash))
    }

    async fn find_by_login_answer(&self, id: &TokenHash) -> Result<Option<SessionRecord>, RepositoryError> {
        Ok(self
            .lock()
            .sessions
            .iter()
            .find(|s| s.login_answer.as_ref().is_some_and(|a| &a.id == id))
            .cloned())
    }

    async fn rotate(&self, rotation: TokenRotation) -> Result<RotationOutcome, RepositoryError> {
        let (presented, at) = (&rotation.presented, rotation.at);
        // Check and set under one lock: the compare-and-set the port requires.
        let mut state = self.lock();
        let Some(session) = state.sessions.iter_mut().find(|s| {
            s.revoked_at.is_none()
                && at < s.ends_at
                && s.refresh_token
                    .as_ref()
                    .is_some_and(|t| &t.hash == presented && at < t.expires_at)
        }) else {
            return Ok(RotationOutcome::Refused(holder(&state, presented)));
        };
        let successor = LiveRefreshToken {
            expires_at: rotation.successor.expires_at.min(session.ends_at),
            ..rotation.successor
        };
        let consumed = session.refresh_token.replace(successor);
        session.last_rotation = consumed.map(|token| Rotation {
            hash: token.hash,
            expires_at: token.expires_at,
            used_at: at,
            sealed_successor: rotation.sealed_successor,
        });
        session.last_refreshed_at = Some(at);
        Ok(RotationOutcome::Rotated(session.clone()))
    }

    async fn list_live_for_user(
        &self,
        user: UserId,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<SessionRecord>, RepositoryError> {
        let mut live: Vec<SessionRecord> = self
            .lock()
            .sessions
            .iter()
            .filter(|s| s.user_id == user && live_at(s, now))
            .cloned()
            .collect();
        live.sort_by(|a, b| (b.started_at, b.id.as_str()).cmp(&(a.started_at, a.id.as_str())));
        live.truncate(limit);
        Ok(live)
    }

    async fn revoke_live_of_user(
        &self,
        user: UserId,
        id: &SessionId,
        at: Timestamp,
        reason: RevokedReason,
    ) -> Result<bool, RepositoryError> {
        let revoked = self.revoke_where(|s| &s.id == id && s.user_id == user && live_at(s, at), at, reason);
        Ok(revoked == 1)
    }

    async fn revoke_all_live_of_user<'a>(
        &self,
        user: UserId,
        keep: Option<&'a SessionId>,
        at: Timestamp,
        reason: RevokedReason,
    ) -> Result<u64, RepositoryError> {
        Ok(self.revoke_where(
            |s| s.user_id == user && live_at(s, at) && Some(&s.id) != keep,
            at,
            reason,
        ))
    }
}

/// Whether `session` is live at `at`: not revoked, `at` before its end.
fn live_at(session: &SessionRecord, at: Timestamp) -> bool {
    session.revoked_at.is_none() && at < session.ends_at
}

/// The session whose live refresh token, or the token its last rotation consumed, has
/// this digest.
fn holder(state: &State, hash: &TokenHash) -> Option<SessionRecord> {
    state
        .sessions
        .iter()
        .find(|s| {
            s.refresh_token.as_ref().is_some_and(|t| &t.hash == hash)
                || s.last_rotation.as_ref().is_some_and(|r| &r.hash == hash)
        })
        .cloned()
}
