//! Sessions and sign-in, administered: an administrator lists and ends the live
//! sessions of a user they administer and disables or re-enables the user's sign-in
//! ([`SessionAdministration`]); a signed-in person lists and ends their own sessions
//! ([`OwnSessions`]). Who may administer whom is [`AdminRule`]'s to say; every change is
//! handed to the audit trail, with the client and request it came from.

use thiserror::Error;

use crate::admin::{AdminError, AdminRule, Administrator};
use crate::audit::{AuditActor, AuditEvent, AuditOrigin, AuditType};
use crate::failure::{Failure, failure_from_ports};
use crate::lifecycle::{DisabledBy, Disablement};
use crate::model::{ClientContext, RevokedReason, SessionRecord, User, VerifiedAccess};
use crate::ports::RepositoryError;
use crate::values::{OrganizationId, ProviderKey, SessionId, Timestamp, UserId};
use crate::wiring::Ports;

/// The most sessions a list answers (the newest ones).
pub const MAX_LISTED_SESSIONS: usize = 100;

/// The longest reason an operator may give for disabling a user, in characters.
pub const MAX_DISABLED_REASON_CHARS: usize = 256;

/// The reason recorded when an operator disables a user and gives none.
pub const DEFAULT_DISABLED_REASON: &str = "operator";

/// A live session as listed: when it started and ends, its last refresh, the provider
/// (API) of its login and the client it came from. Never a token or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    /// The session id (`sid`).
    pub id: SessionId,
    /// When the login happened.
    pub started_at: Timestamp,
    /// The last rotation of one of its refresh tokens, if any.
    pub last_refreshed_at: Option<Timestamp>,
    /// When it reaches its absolute lifetime.
    pub ends_at: Timestamp,
    /// The provider (API) of its login, when recorded.
    pub flow: Option<ProviderKey>,
    /// The client its login came from, when recorded.
    pub client: ClientContext,
    /// Whether it is the session of the access token that asked.
    pub current: bool,
}

impl SessionSummary {
    /// The summary of `record`, flagged current when it is `current`'s; a session
    /// that did not record its flow takes `derived_flow` (see [`only_provider`]).
    fn of(record: &SessionRecord, current: &SessionId, derived_flow: Option<&ProviderKey>) -> Self {
        Self {
            id: record.id.clone(),
            started_at: record.started_at,
            last_refreshed_at: record.last_refreshed_at,
            ends_at: record.ends_at,
            flow: record.flow.clone().or_else(|| derived_flow.cloned()),
            client: record.client.clone(),
            current: &record.id == current,
        }
    }
}

/// The provider every login of `user` went through, when only one can have: a login
/// leaves the link of its provider on its user, and links are never removed, so a user
/// who carries exactly one link signed in through that provider only. This names the
/// flow of sessions stored before it was recorded.
fn only_provider(user: &User) -> Option<&ProviderKey> {
    match user.links.as_slice() {
        [link] => Some(&link.provider),
        _ => None,
    }
}

/// The summaries of the live sessions `live` of `user`, `current` flagged.
fn summaries(live: &[SessionRecord], user: Option<&User>, current: &SessionId) -> Vec<SessionSummary> {
    let derived = user.and_then(only_provider);
    live.iter()
        .map(|s| SessionSummary::of(s, current, derived))
        .collect()
}

/// A session id as a client names it in a path: 1 to 128 of `A-Z a-z 0-9 . _ : -`
/// (what this service mints and earlier ones did); anything else names no session.
fn parse_session_id(raw: &str) -> Option<SessionId> {
    let valid = (1..=128).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    valid.then(|| SessionId::new(raw))
}

/// Sessions ended: one, or how many of a user's.
/// One session ended by `actor` (its owner, or an administrator) for `reason`.
struct EndOne {
    actor: UserId,
    owner: (UserId, OrganizationId),
    reason: RevokedReason,
}

impl EndOne {
    /// By an administrator (`admin`).
    fn by_admin(admin: &Administrator, user: &User) -> Self {
        Self {
            actor: admin.user().id,
            owner: (user.id, user.organization_id),
            reason: RevokedReason::Admin,
        }
    }

    /// By its owner, the caller (`logout`).
    fn by_owner(caller: &VerifiedAccess) -> Self {
        Self {
            actor: caller.user_id,
            owner: (caller.user_id, caller.organization_id),
            reason: RevokedReason::Logout,
        }
    }

    /// Ends the owner's live session `session_id` and records it: `false`, having
    /// written nothing, when the owner has no live session with this id (a malformed
    /// id included).
    async fn end(
        self,
        ports: &Ports,
        session_id: &str,
        origin: AuditOrigin,
    ) -> Result<bool, RepositoryError> {
        let Some(id) = parse_session_id(session_id) else {
            return Ok(false);
        };
        let now = ports.clock.now();
        let (user, _) = self.owner;
        if !ports
            .sessions
            .revoke_live_of_user(user, &id, now, self.reason)
            .await?
        {
            return Ok(false);
        }
        match self.reason {
            RevokedReason::Admin => {
                tracing::info!(user_id = %user, session_id = %id, admin_id = %self.actor, "session ended by an administrator");
            }
            _ => tracing::info!(user_id = %user, session_id = %id, "session ended by its user"),
        }
        ports.audit.record(revoked_record(
            self.actor,
            self.owner,
            Ended::One(&id),
            self.reason,
            now,
            origin,
        ));
        Ok(true)
    }
}

enum Ended<'a> {
    One(&'a SessionId),
    Many(u64),
}

/// The audit record of sessions of `user` (of `organization`) ended by `actor` for
/// `reason`.
fn revoked_record(
    actor: UserId,
    (user, organization): (UserId, OrganizationId),
    ended: Ended<'_>,
    reason: RevokedReason,
    at: Timestamp,
    origin: AuditOrigin,
) -> AuditEvent {
    let event = AuditEvent::new(AuditType::SessionRevoked, AuditActor::User(actor), at)
        .user(user)
        .organization(organization)
        .origin(origin)
        .detail("reason", reason.as_str());
    match ended {
        Ended::One(session) => event.session(session.clone()),
        Ended::Many(count) => event.detail("count", count.to_string()),
    }
}

/// Why an administrative request about a user's sessions or sign-in is refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AdministrationError {
    /// The token's user no longer exists.
    #[error("the user of the access token no longer exists")]
    UnknownUser,
    /// The token's user may no longer sign in.
    #[error("sign-in is disabled for this user")]
    LoginDisabled,
    /// The caller administers nobody (neither SUPERADMIN nor ADMIN).
    #[error("only a SUPERADMIN or an ADMIN may administer users")]
    Forbidden,
    /// The user id is not 24 hexadecimal characters.
    #[error("the user id is malformed")]
    InvalidUserId,
    /// No user the caller administers has this id.
    #[error("no such user")]
    UserNotFound,
    /// The user has no live session with this id.
    #[error("no such session")]
    SessionNotFound,
    /// An administrator may not disable their own sign-in.
    #[error("an administrator cannot disable their own sign-in")]
    CannotDisableSelf,
    /// The reason given is refused (too long); nothing was changed.
    #[error("the reason is too long")]
    InvalidReason,
    /// The store is unavailable, or something unexpected happened.
    #[error(transparent)]
    Failure(#[from] Failure),
}

failure_from_ports!(AdministrationError);

impl From<AdminError> for AdministrationError {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::UnknownUser => Self::UnknownUser,
            AdminError::LoginDisabled => Self::LoginDisabled,
            AdminError::Forbidden => Self::Forbidden,
            AdminError::UserNotFound => Self::UserNotFound,
            AdminError::Failure(failure) => Self::Failure(failure),
        }
    }
}

/// A change of a user's sign-in asked by an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginDisabledChange {
    /// `true` disables the user's sign-in (and ends every session), `false` enables it.
    pub disabled: bool,
    /// Why, as the operator wrote it (recorded when disabling): control characters are
    /// removed, at most [`MAX_DISABLED_REASON_CHARS`] characters.
    pub reason: Option<String>,
}

/// What a change of a user's sign-in did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginDisabledOutcome {
    /// The user.
    pub user_id: UserId,
    /// Whether the user's sign-in is disabled now.
    pub disabled: bool,
    /// Whether this request changed it (`false` when it was so already).
    pub changed: bool,
    /// How many live sessions of the user this request ended.
    pub revoked_sessions: u64,
}

/// The reason of a disablement as recorded: control characters removed, trimmed,
/// [`DEFAULT_DISABLED_REASON`] when blank; refused above [`MAX_DISABLED_REASON_CHARS`].
fn disabled_reason(raw: Option<&str>) -> Result<String, AdministrationError> {
    let cleaned: String = raw
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.chars().count() > MAX_DISABLED_REASON_CHARS {
        return Err(AdministrationError::InvalidReason);
    }
    Ok(if cleaned.is_empty() {
        DEFAULT_DISABLED_REASON.to_owned()
    } else {
        cleaned.to_owned()
    })
}

/// An administrator's view of users' sessions and sign-in: a SUPERADMIN's of everyone,
/// an ADMIN's of their own organization (another organization's user reads as absent).
#[derive(Clone, Debug)]
pub struct SessionAdministration {
    ports: Ports,
    rule: AdminRule,
}

impl SessionAdministration {
    /// Builds the use case: who may administer whom is read from the users of `ports`;
    /// sessions end in its sessions, sign-in changes in its lifecycle store; changes go
    /// to its audit sink.
    pub fn new(ports: Ports) -> Self {
        Self {
            rule: AdminRule::new(ports.users.clone()),
            ports,
        }
    }

    /// The caller as an administrator and the user `user_id` (24 hexadecimal
    /// characters, as the client sent it) within their reach.
    async fn target(
        &self,
        caller: &VerifiedAccess,
        user_id: &str,
    ) -> Result<(Administrator, User), AdministrationError> {
        let admin = self.rule.administrator(caller).await?;
        let id = UserId::parse(user_id).map_err(|_| AdministrationError::InvalidUserId)?;
        let user = self.rule.target(&admin, id).await?;
        Ok((admin, user))
    }

    /// The live sessions of user `user_id`, newest first, at most
    /// [`MAX_LISTED_SESSIONS`]; the caller's own current session is flagged.
    pub async fn sessions(
        &self,
        caller: &VerifiedAccess,
        user_id: &str,
    ) -> Result<Vec<SessionSummary>, AdministrationError> {
        let (_, user) = self.target(caller, user_id).await?;
        let live = self
            .ports
            .sessions
            .list_live_for_user(user.id, self.ports.clock.now(), MAX_LISTED_SESSIONS)
            .await?;
        Ok(summaries(&live, Some(&user), &caller.session_id))
    }

    /// Ends every live session of user `user_id` (`admin`); returns how many. Also
    /// the caller's own current one, when they end their own.
    pub async fn revoke_sessions(
        &self,
        caller: &VerifiedAccess,
        user_id: &str,
        origin: AuditOrigin,
    ) -> Result<u64, AdministrationError> {
        let (admin, user) = self.target(caller, user_id).await?;
        self.revoke_all(&admin, &user, self.ports.clock.now(), origin)
            .await
    }

    /// Ends the live session `session_id` of user `user_id` (`admin`);
    /// [`AdministrationError::SessionNotFound`] when the user has no such live session.
    pub async fn revoke_session(
        &self,
        caller: &VerifiedAccess,
        user_id: &str,
        session_id: &str,
        origin: AuditOrigin,
    ) -> Result<(), AdministrationError> {
        let (admin, user) = self.target(caller, user_id).await?;
        let ended = EndOne::by_admin(&admin, &user)
            .end(&self.ports, session_id, origin)
            .await?;
        ended.then_some(()).ok_or(AdministrationError::SessionNotFound)
    }

    /// Disables or enables the sign-in of user `user_id`. Disabling records who
    /// (the caller), when and why, and ends every live session of the user at once
    /// (`admin`), also when the user was disabled already; an administrator cannot
    /// disable themselves. Enabling lifts any disablement, also one an event made.
    pub async fn set_login_disabled(
        &self,
        caller: &VerifiedAccess,
        user_id: &str,
        change: LoginDisabledChange,
        origin: AuditOrigin,
    ) -> Result<LoginDisabledOutcome, AdministrationError> {
        let (admin, user) = self.target(caller, user_id).await?;
        let now = self.ports.clock.now();
        let actor = admin.user().id;
        if !change.disabled {
            let changed = self.ports.lifecycle.enable_user(user.id, now).await?;
            if changed {
                tracing::info!(user_id = %user.id, admin_id = %actor, "sign-in enabled by an administrator");
                self.ports.audit.record(
                    AuditEvent::new(AuditType::UserEnabled, AuditActor::User(actor), now)
                        .of_user(&user)
                        .origin(origin),
                );
            }
            return Ok(LoginDisabledOutcome {
                user_id: user.id,
                disabled: false,
                changed,
                revoked_sessions: 0,
            });
        }
        if user.id == actor {
            return Err(AdministrationError::CannotDisableSelf);
        }
        let reason = disabled_reason(change.reason.as_deref())?;
        let disablement = Disablement {
            by: DisabledBy::Operator { user_id: actor },
            at: now,
            reason: reason.clone(),
        };
        let changed = self.ports.lifecycle.disable_user(user.id, disablement).await?;
        if changed {
            tracing::info!(user_id = %user.id, admin_id = %actor, "sign-in disabled by an administrator");
            self.ports.audit.record(
                AuditEvent::new(AuditType::UserDisabled, AuditActor::User(actor), now)
                    .of_user(&user)
                    .origin(origin.clone())
                    .detail("reason", reason),
            );
        }
        let revoked_sessions = self.revoke_all(&admin, &user, now, origin).await?;
        Ok(LoginDisabledOutcome {
            user_id: user.id,
            disabled: true,
            changed,
            revoked_sessions,
        })
    }

    /// Ends every live session of `user` for `admin` at `now`, and records it when
    /// there were any.
    async fn revoke_all(
        &self,
        admin: &Administrator,
        user: &User,
        now: Timestamp,
        origin: AuditOrigin,
    ) -> Result<u64, AdministrationError> {
        let revoked = self
            .ports
            .sessions
            .revoke_all_live_of_user(user.id, None, now, RevokedReason::Admin)
            .await?;
        if revoked > 0 {
            tracing::info!(user_id = %user.id, admin_id = %admin.user().id, revoked, "sessions ended by an administrator");
            self.ports.audit.record(revoked_record(
                admin.user().id,
                (user.id, user.organization_id),
                Ended::Many(revoked),
                RevokedReason::Admin,
                now,
                origin,
            ));
        }
        Ok(revoked)
    }
}

/// Why a person's request about their own sessions is refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum OwnSessionsError {
    /// The person has no live session with this id (another person's reads the same).
    #[error("no such session")]
    SessionNotFound,
    /// The store is unavailable, or something unexpected happened.
    #[error(transparent)]
    Failure(#[from] Failure),
}

failure_from_ports!(OwnSessionsError);

/// A signed-in person's own sessions: listed, ended one by one or all at once ("sign
/// out everywhere"). The caller is the person of an access token the
/// [`crate::AccessGuard`] accepted.
#[derive(Clone, Debug)]
pub struct OwnSessions {
    ports: Ports,
}

impl OwnSessions {
    /// Builds the use case over the sessions of `ports` (and their users, for the flow
    /// of older sessions); ended sessions go to its audit sink.
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// The caller's live sessions, newest first, at most [`MAX_LISTED_SESSIONS`]; the
    /// one of the caller's token flagged current. The caller's user is read only when
    /// a session stored before flows were recorded needs one derived.
    pub async fn list(&self, caller: &VerifiedAccess) -> Result<Vec<SessionSummary>, OwnSessionsError> {
        let live = self
            .ports
            .sessions
            .list_live_for_user(caller.user_id, self.ports.clock.now(), MAX_LISTED_SESSIONS)
            .await?;
        let user = if live.iter().any(|s| s.flow.is_none()) {
            self.ports.users.find_user(caller.user_id).await?
        } else {
            None
        };
        Ok(summaries(&live, user.as_ref(), &caller.session_id))
    }

    /// Ends the caller's live session `session_id` (`logout`), the current one too;
    /// [`OwnSessionsError::SessionNotFound`] for any other id, another person's
    /// session included.
    pub async fn revoke(
        &self,
        caller: &VerifiedAccess,
        session_id: &str,
        origin: AuditOrigin,
    ) -> Result<(), OwnSessionsError> {
        let ended = EndOne::by_owner(caller)
            .end(&self.ports, session_id, origin)
            .await?;
        ended.then_some(()).ok_or(OwnSessionsError::SessionNotFound)
    }

    /// Ends the caller's live sessions (`logout`), all but the current one unless
    /// `include_current`; returns how many.
    pub async fn revoke_all(
        &self,
        caller: &VerifiedAccess,
        include_current: bool,
        origin: AuditOrigin,
    ) -> Result<u64, OwnSessionsError> {
        let now = self.ports.clock.now();
        let keep = (!include_current).then_some(&caller.session_id);
        let revoked = self
            .ports
            .sessions
            .revoke_all_live_of_user(caller.user_id, keep, now, RevokedReason::Logout)
            .await?;
        if revoked > 0 {
            tracing::info!(user_id = %caller.user_id, revoked, include_current, "sessions ended by their user");
            self.ports.audit.record(
                revoked_record(
                    caller.user_id,
                    (caller.user_id, caller.organization_id),
                    Ended::Many(revoked),
                    RevokedReason::Logout,
                    now,
                    origin,
                )
                .detail("includeCurrent", include_current.to_string()),
            );
        }
        Ok(revoked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_loses_its_control_characters_and_a_blank_one_is_the_default() {
        assert_eq!(
            disabled_reason(Some("  left\r\n the company\u{7} ")).unwrap(),
            "left the company"
        );
        assert_eq!(disabled_reason(Some(" \t ")).unwrap(), DEFAULT_DISABLED_REASON);
        assert_eq!(disabled_reason(None).unwrap(), DEFAULT_DISABLED_REASON);
        let longest = "é".repeat(MAX_DISABLED_REASON_CHARS);
        assert_eq!(disabled_reason(Some(&longest)).unwrap(), longest);
        assert!(matches!(
            disabled_reason(Some(&format!("{longest}x"))),
            Err(AdministrationError::InvalidReason)
        ));
    }

    #[test]
    fn a_session_id_is_read_only_in_the_form_ids_take() {
        for good in [
            "0123456789abcdef0123456789abcdef",
            "sess_1",
            "a:b.c-d",
            &"x".repeat(128),
        ] {
            assert_eq!(
                parse_session_id(good).map(|s| s.as_str().to_owned()).as_deref(),
                Some(good)
            );
        }
        for bad in ["", &"x".repeat(129), "a b", "a/b", "<script>", "s\u{e9}ss"] {
            assert!(parse_session_id(bad).is_none(), "{bad}");
        }
    }
}
