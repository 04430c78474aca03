//! Who may administer whom: a SUPERADMIN every user, an ADMIN the users of their own
//! organization, nobody else anyone. Roles are read from the store at each call (a role
//! in an older token does not count). A user an administrator may not administer reads
//! as absent, exactly like an id no user has, so that ids cannot be probed.

use std::sync::Arc;

use thiserror::Error;

use crate::failure::{Failure, failure_from_ports};
use crate::model::{User, VerifiedAccess};
use crate::ports::UserRepository;
use crate::values::{AccessRole, OrganizationId, UserId};

/// Why an administrative request is refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The token's user no longer exists.
    #[error("the user of the access token no longer exists")]
    UnknownUser,
    /// The token's user may no longer sign in.
    #[error("sign-in is disabled for this user")]
    LoginDisabled,
    /// The caller administers nobody (neither SUPERADMIN nor ADMIN).
    #[error("only a SUPERADMIN or an ADMIN may administer users")]
    Forbidden,
    /// No user the caller administers has this id (it may exist in another
    /// organization: the answer is the same).
    #[error("no such user")]
    UserNotFound,
    /// The store is unavailable, or something unexpected happened.
    #[error(transparent)]
    Failure(#[from] Failure),
}

failure_from_ports!(AdminError);

/// A caller checked to administer users: a live SUPERADMIN or ADMIN, as stored now.
#[derive(Debug, Clone)]
pub struct Administrator {
    user: User,
}

impl Administrator {
    /// The administrator as stored.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// Whether this administrator may administer the users of `organization`: a
    /// SUPERADMIN any, an ADMIN only their own.
    pub fn administers(&self, organization: OrganizationId) -> bool {
        match self.user.access_role {
            AccessRole::Superadmin => true,
            AccessRole::Admin => self.user.organization_id == organization,
            AccessRole::DepartmentHead | AccessRole::SalesRep => false,
        }
    }

    /// The organization this administrator is limited to, `None` for a SUPERADMIN.
    pub fn scope(&self) -> Option<OrganizationId> {
        match self.user.access_role {
            AccessRole::Superadmin => None,
            _ => Some(self.user.organization_id),
        }
    }
}

/// Checks callers and the users they ask about against the rule of this module.
#[derive(Clone)]
pub struct AdminRule {
    users: Arc<dyn UserRepository>,
}

impl std::fmt::Debug for AdminRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminRule").finish_non_exhaustive()
    }
}

impl AdminRule {
    /// The rule over the users as stored.
    pub fn new(users: Arc<dyn UserRepository>) -> Self {
        Self { users }
    }

    /// The caller as an [`Administrator`]: refused when their user is gone or
    /// disabled, or administers nobody.
    pub async fn administrator(&self, caller: &VerifiedAccess) -> Result<Administrator, AdminError> {
        let user = self
            .users
            .find_user(caller.user_id)
            .await?
            .ok_or(AdminError::UnknownUser)?;
        if user.login_disabled {
            return Err(AdminError::LoginDisabled);
        }
        match user.access_role {
            AccessRole::Superadmin | AccessRole::Admin => Ok(Administrator { user }),
            AccessRole::DepartmentHead | AccessRole::SalesRep => Err(AdminError::Forbidden),
        }
    }

    /// The user `id`, when `admin` administers them; [`AdminError::UserNotFound`]
    /// both when no user has this id and when it is outside the administrator's reach.
    pub async fn target(&self, admin: &Administrator, id: UserId) -> Result<User, AdminError> {
        match self.users.find_user(id).await? {
            Some(user) if admin.administers(user.organization_id) => Ok(user),
            _ => Err(AdminError::UserNotFound),
        }
    }

    /// The caller as an administrator and the user `id` within their reach, in one.
    pub async fn authorize(
        &self,
        caller: &VerifiedAccess,
        id: UserId,
    ) -> Result<(Administrator, User), AdminError> {
        let admin = self.administrator(caller).await?;
        let user = self.target(&admin, id).await?;
        Ok((admin, user))
    }
}
