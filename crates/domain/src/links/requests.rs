//! The use case of link requests: recording one for a refused login, and listing,
//! approving and rejecting them by the rule of [`crate::admin`].

use std::sync::Arc;

use thiserror::Error;

use super::{
    DEFAULT_LINK_REQUESTS_LISTED, LINK_REQUEST_TTL_SECONDS, LinkDecision, LinkRequest, LinkRequestFilter,
    LinkRequestStatus, LinkRequestStore, MAX_LINK_REQUESTS_LISTED, NewLinkRequest,
};
use crate::admin::{AdminError, AdminRule};
use crate::audit::{AuditActor, AuditEvent, AuditOrigin, AuditSink, AuditType, SystemActor};
use crate::failure::{Failure, failure_from_ports};
use crate::model::{ClientContext, VerifiedAccess};
use crate::ports::{Clock, RepositoryError, UserRepository};
use crate::provisioning::NormalizedIdentity;
use crate::values::{LinkRequestId, OrganizationId, Timestamp, UserId};

/// Who asks.
#[derive(Debug, Clone, Copy)]
pub enum LinkCaller<'a> {
    /// A person, by their access token: a SUPERADMIN any request, an ADMIN those of
    /// users of their organization.
    Bearer(&'a VerifiedAccess),
    /// The command line of a deployment (every request; recorded as `cli`).
    CommandLine,
}

/// Why listing or deciding link requests is refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LinkRequestError {
    /// The token's user no longer exists.
    #[error("the user of the access token no longer exists")]
    UnknownUser,
    /// The token's user may no longer sign in.
    #[error("sign-in is disabled for this user")]
    LoginDisabled,
    /// The caller administers nobody.
    #[error("only a SUPERADMIN or an ADMIN may manage link requests")]
    Forbidden,
    /// The id is not a link request id.
    #[error("the link request id must be 24 hexadecimal characters")]
    InvalidId,
    /// The listing's query is malformed; the message names the parameter.
    #[error("{0}")]
    InvalidQuery(String),
    /// No request within the caller's reach has this id (one of another
    /// organization's user reads the same).
    #[error("no such link request")]
    NotFound,
    /// The request is no longer pending (decided or expired).
    #[error("the link request is {}", .0.as_str())]
    NotPending(LinkRequestStatus),
    /// Another user carries the identity's link.
    #[error("another user carries this identity")]
    Conflict,
    /// The store is unavailable, or something unexpected happened.
    #[error(transparent)]
    Failure(#[from] Failure),
}

failure_from_ports!(LinkRequestError);

impl From<AdminError> for LinkRequestError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::UnknownUser => LinkRequestError::UnknownUser,
            AdminError::LoginDisabled => LinkRequestError::LoginDisabled,
            AdminError::Forbidden => LinkRequestError::Forbidden,
            AdminError::UserNotFound => LinkRequestError::NotFound,
            AdminError::Failure(failure) => LinkRequestError::Failure(failure),
        }
    }
}

/// Records link requests for refused logins; lists, approves and rejects them.
#[derive(Clone)]
pub struct LinkRequests {
    store: Arc<dyn LinkRequestStore>,
    users: Arc<dyn UserRepository>,
    rule: AdminRule,
    clock: Arc<dyn Clock>,
    audit: Arc<dyn AuditSink>,
}

impl std::fmt::Debug for LinkRequests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkRequests").finish_non_exhaustive()
    }
}

/// Who acts, and which organization they are limited to.
struct Acting {
    actor: AuditActor,
    scope: Option<OrganizationId>,
    /// `None` for the command line, which reaches every user.
    administrator: Option<crate::admin::Administrator>,
}

impl LinkRequests {
    /// The use case over its ports; audit records go to `audit`.
    pub fn new(
        store: Arc<dyn LinkRequestStore>,
        users: Arc<dyn UserRepository>,
        clock: Arc<dyn Clock>,
        audit: Arc<dyn AuditSink>,
    ) -> Self {
        Self {
            rule: AdminRule::new(users.clone()),
            store,
            users,
            clock,
            audit,
        }
    }

    /// Records the request of a login refused at `now` because `identity` may not be
    /// linked to `user` (of `organization`), or answers the one already pending for
    /// them; `link.requested` is audited when a new one is recorded.
    pub async fn record(
        &self,
        user: UserId,
        organization: OrganizationId,
        identity: &NormalizedIdentity,
        client: &ClientContext,
        now: Timestamp,
    ) -> Result<LinkRequest, RepositoryError> {
        let recorded = self
            .store
            .record_or_get_pending(NewLinkRequest {
                user_id: user,
                organization_id: organization,
                identity: identity.identity.clone(),
                email: identity.email.clone(),
                email_verified: identity.email_verified,
                requested_at: now,
                expires_at: now.plus_seconds(LINK_REQUEST_TTL_SECONDS),
            })
            .await?;
        let request = recorded.request;
        if recorded.created {
            tracing::info!(user_id = %user, link_request_id = %request.id, "recorded a link request");
            let verified = match identity.email_verified {
                Some(true) => "true",
                Some(false) => "false",
                None => "unknown",
            };
            let mut event = self
                .event(
                    AuditType::LinkRequested,
                    AuditActor::System(SystemActor::Service),
                    &request,
                    now,
                )
                .origin(AuditOrigin {
                    client: client.clone(),
                    request_id: None,
                })
                .detail("verified", verified);
            if let Some(tenant) = &request.identity.tenant {
                event = event.detail("tenant", tenant.as_str());
            }
            self.audit.record(event);
        }
        Ok(request)
    }

    /// The requests of `status` (`pending` when `None`) the caller may see, each with
    /// its status judged now (a lapsed pending one reads expired), newest first, at most `limit` (default [`DEFAULT_LINK_REQUESTS_LISTED`], at most
    /// [`MAX_LINK_REQUESTS_LISTED`]).
    pub async fn list(
        &self,
        caller: LinkCaller<'_>,
        status: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<LinkRequest>, LinkRequestError> {
        let acting = self.acting(caller).await?;
        let status = match status {
            None => LinkRequestStatus::Pending,
            Some(raw) => LinkRequestStatus::parse(raw).ok_or_else(|| {
                LinkRequestError::InvalidQuery(
                    "status must be pending, approved, rejected or expired".to_owned(),
                )
            })?,
        };
        let limit = limit.unwrap_or(DEFAULT_LINK_REQUESTS_LISTED);
        if !(1..=MAX_LINK_REQUESTS_LISTED).contains(&limit) {
            return Err(LinkRequestError::InvalidQuery(format!(
                "limit must be between 1 and {MAX_LINK_REQUESTS_LISTED}"
            )));
        }
        let now = self.clock.now();
        let mut found = self
            .store
            .list_link_requests(&LinkRequestFilter {
                status,
                organization: acting.scope,
                now,
                limit,
            })
            .await?;
        for request in &mut found {
            request.status = request.status_at(now);
        }
        Ok(found)
    }

    /// Approves the request `id`: records its link on the user, replacing the subject
    /// they carried for that provider (kept among their previous links), so that the
    /// identity's next login signs in. Refused when the request is not pending
    /// ([`LinkRequestError::NotPending`]) or another user carries the link
    /// ([`LinkRequestError::Conflict`]); then nothing is written.
    pub async fn approve(&self, caller: LinkCaller<'_>, id: &str) -> Result<LinkRequest, LinkRequestError> {
        let (acting, request) = self.reach(caller, id).await?;
        let now = self.clock.now();
        pending(&request, now)?;
        let link = &request.identity.link;
        if let Some(carrier) = self.users.find_by_link(link).await?
            && carrier.id != request.user_id
        {
            return Err(LinkRequestError::Conflict);
        }
        let decided = self
            .decide(&request, LinkRequestStatus::Approved, &acting, now)
            .await?;
        let replaced = match self
            .store
            .replace_link(request.user_id, request.identity.clone(), now)
            .await
        {
            Ok(Some(replaced)) => replaced,
            outcome => {
                // The link is not recorded: the request waits again.
                if let Err(e) = self.store.reopen(request.id, now).await {
                    tracing::error!(link_request_id = %request.id, error = %e, "could not reopen a link request whose approval failed");
                }
                return Err(match outcome {
                    Ok(_) => LinkRequestError::NotFound,
                    Err(RepositoryError::Duplicate) => LinkRequestError::Conflict,
                    Err(e) => e.into(),
                });
            }
        };
        tracing::info!(user_id = %request.user_id, link_request_id = %request.id, replaced = replaced.previous.is_some(), "approved a link request");
        let mut event = self.event(AuditType::LinkApproved, acting.actor, &decided, now);
        if let Some(previous) = &replaced.previous {
            event = event.detail("replaced", previous.link.subject.clone());
        }
        self.audit.record(event);
        Ok(decided)
    }

    /// Rejects the request `id`; refused when it is not pending.
    pub async fn reject(&self, caller: LinkCaller<'_>, id: &str) -> Result<LinkRequest, LinkRequestError> {
        let (acting, request) = self.reach(caller, id).await?;
        let now = self.clock.now();
        pending(&request, now)?;
        let decided = self
            .decide(&request, LinkRequestStatus::Rejected, &acting, now)
            .await?;
        tracing::info!(user_id = %request.user_id, link_request_id = %request.id, "rejected a link request");
        self.audit
            .record(self.event(AuditType::LinkRejected, acting.actor, &decided, now));
        Ok(decided)
    }

    /// The compare-and-set of a decision, or why it lost.
    async fn decide(
        &self,
        request: &LinkRequest,
        status: LinkRequestStatus,
        acting: &Acting,
        now: Timestamp,
    ) -> Result<LinkRequest, LinkRequestError> {
        if let Some(decided) = self
            .store
            .decide(LinkDecision {
                id: request.id,
                status,
                by: acting.actor.clone(),
                at: now,
            })
            .await?
        {
            return Ok(decided);
        }
        // Another decision (or the expiry) came first.
        let current = self
            .store
            .find_link_request(request.id)
            .await?
            .ok_or(LinkRequestError::NotFound)?;
        Err(LinkRequestError::NotPending(current.status_at(now)))
    }

    /// The caller as an actor, and the organization they are limited to.
    async fn acting(&self, caller: LinkCaller<'_>) -> Result<Acting, LinkRequestError> {
        match caller {
            LinkCaller::CommandLine => Ok(Acting {
                actor: AuditActor::System(SystemActor::Cli),
                scope: None,
                administrator: None,
            }),
            LinkCaller::Bearer(access) => {
                let admin = self.rule.administrator(access).await?;
                Ok(Acting {
                    actor: AuditActor::User(admin.user().id),
                    scope: admin.scope(),
                    administrator: Some(admin),
                })
            }
        }
    }

    /// The caller and the request `id`, when it concerns a user within their reach.
    async fn reach(
        &self,
        caller: LinkCaller<'_>,
        id: &str,
    ) -> Result<(Acting, LinkRequest), LinkRequestError> {
        let acting = self.acting(caller).await?;
        let id = LinkRequestId::parse(id.trim()).map_err(|_| LinkRequestError::InvalidId)?;
        let request = self
            .store
            .find_link_request(id)
            .await?
            .ok_or(LinkRequestError::NotFound)?;
        match &acting.administrator {
            Some(admin) => {
                self.rule.target(admin, request.user_id).await?;
            }
            None => {
                self.users
                    .find_user(request.user_id)
                    .await?
                    .ok_or(LinkRequestError::NotFound)?;
            }
        }
        Ok((acting, request))
    }

    /// The audit record of `kind` about `request`.
    fn event(&self, kind: AuditType, actor: AuditActor, request: &LinkRequest, at: Timestamp) -> AuditEvent {
        AuditEvent::new(kind, actor, at)
            .user(request.user_id)
            .organization(request.organization_id)
            .detail("provider", request.identity.link.provider.as_str())
            .detail("linkRequestId", request.id.to_string())
    }
}

/// Refuses a request that is no longer pending at `now`.
fn pending(request: &LinkRequest, now: Timestamp) -> Result<(), LinkRequestError> {
    match request.status_at(now) {
        LinkRequestStatus::Pending => Ok(()),
        other => Err(LinkRequestError::NotPending(other)),
    }
}
