//! The link requests of [`InMemoryStore`], and the previous links of its users.

use std::collections::HashMap;

use async_trait::async_trait;
use tether_domain::{
    LinkDecision, LinkReplaced, LinkRequest, LinkRequestFilter, LinkRequestId, LinkRequestStatus,
    LinkRequestStore, LinkedIdentity, NewLinkRequest, PreviousLink, RecordedLinkRequest, RepositoryError,
    Timestamp, UserId,
};

use super::{InMemoryStore, carries};

/// What the in-memory store keeps of link requests, beside users.
#[derive(Debug, Default)]
pub(super) struct LinkState {
    requests: Vec<LinkRequest>,
    previous: HashMap<UserId, Vec<PreviousLink>>,
}

impl InMemoryStore {
    /// The links an approved request replaced on the user, oldest first.
    pub fn previous_links(&self, user: UserId) -> Vec<PreviousLink> {
        self.lock().links.previous.get(&user).cloned().unwrap_or_default()
    }
}

#[async_trait]
impl LinkRequestStore for InMemoryStore {
    async fn record_or_get_pending(
        &self,
        new: NewLinkRequest,
    ) -> Result<RecordedLinkRequest, RepositoryError> {
        let id = LinkRequestId::from_bytes(self.new_id(new.requested_at));
        let mut state = self.lock();
        let requests = &mut state.links.requests;
        let same = |r: &&mut LinkRequest| {
            r.status == LinkRequestStatus::Pending
                && r.user_id == new.user_id
                && r.identity.link == new.identity.link
        };
        if let Some(pending) = requests.iter_mut().find(same) {
            if new.requested_at < pending.expires_at {
                return Ok(RecordedLinkRequest {
                    request: pending.clone(),
                    created: false,
                });
            }
            pending.status = LinkRequestStatus::Expired;
        }
        let request = LinkRequest {
            id,
            user_id: new.user_id,
            organization_id: new.organization_id,
            identity: new.identity,
            email: new.email,
            email_verified: new.email_verified,
            requested_at: new.requested_at,
            expires_at: new.expires_at,
            status: LinkRequestStatus::Pending,
            decided_at: None,
            decided_by: None,
        };
        requests.push(request.clone());
        Ok(RecordedLinkRequest {
            request,
            created: true,
        })
    }

    async fn find_link_request(&self, id: LinkRequestId) -> Result<Option<LinkRequest>, RepositoryError> {
        Ok(self.lock().links.requests.iter().find(|r| r.id == id).cloned())
    }

    async fn list_link_requests(
        &self,
        filter: &LinkRequestFilter,
    ) -> Result<Vec<LinkRequest>, RepositoryError> {
        let mut found: Vec<LinkRequest> = self
            .lock()
            .links
            .requests
            .iter()
            .filter(|r| r.status_at(filter.now) == filter.status)
            .filter(|r| filter.organization.is_none_or(|o| r.organization_id == o))
            .cloned()
            .collect();
        found.sort_by_key(|r| std::cmp::Reverse((r.requested_at, r.id)));
        found.truncate(filter.limit.min(tether_domain::links::MAX_LINK_REQUESTS_LISTED) as usize);
        Ok(found)
    }

    async fn decide(&self, decision: LinkDecision) -> Result<Option<LinkRequest>, RepositoryError> {
        let LinkDecision { id, status, by, at } = decision;
        let mut state = self.lock();
        let Some(request) = state
            .links
            .requests
            .iter_mut()
            .find(|r| r.id == id && r.status_at(at) == LinkRequestStatus::Pending)
        else {
            return Ok(None);
        };
        request.status = status;
        request.decided_at = Some(at);
        request.decided_by = Some(by);
        Ok(Some(request.clone()))
    }

    async fn reopen(&self, id: LinkRequestId, decided_at: Timestamp) -> Result<bool, RepositoryError> {
        let mut state = self.lock();
        let Some(request) = state
            .links
            .requests
            .iter_mut()
            .find(|r| r.id == id && r.decided_at == Some(decided_at))
        else {
            return Ok(false);
        };
        request.status = LinkRequestStatus::Pending;
        request.decided_at = None;
        request.decided_by = None;
        Ok(true)
    }

    async fn replace_link(
        &self,
        user: UserId,
        identity: LinkedIdentity,
        at: Timestamp,
    ) -> Result<Option<LinkReplaced>, RepositoryError> {
        let mut state = self.lock();
        let link = identity.link;
        if state.users.iter().any(|u| u.id != user && carries(u, &link)) {
            return Err(RepositoryError::Duplicate);
        }
        let Some(stored) = state.users.iter_mut().find(|u| u.id == user) else {
            return Ok(None);
        };
        let earlier = stored
            .links
            .iter()
            .position(|l| l.provider == link.provider)
            .map(|i| stored.links.remove(i))
            .filter(|earlier| earlier != &link);
        stored.links.push(link);
        let updated = stored.clone();
        let previous = earlier.map(|link| PreviousLink {
            link,
            replaced_at: at,
        });
        if let Some(previous) = &previous {
            state
                .links
                .previous
                .entry(user)
                .or_default()
                .push(previous.clone());
        }
        Ok(Some(LinkReplaced {
            user: updated,
            previous,
        }))
    }
}
