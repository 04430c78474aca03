//! Provisioning: finding the local user behind a provider identity, or creating
//! them just in time in the right organization.

use std::sync::Arc;

use thiserror::Error;

use crate::model::{IdpIdentity, NewUser, Organization, User, WorkosLink};
use crate::ports::{Clock, OrganizationRepository, RepositoryError, UserRepository};
use crate::values::{AccessRole, Email, EmailError, ObjectIdHex};

/// What new users get, and where they go when the login names no organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisioningPolicy {
    /// Role of a just-in-time user (default `SALES_REP`, the least privilege).
    pub default_role: AccessRole,
    /// `conversationOpenPreference` of a just-in-time user (default `split`).
    pub default_conversation_open_preference: String,
    /// The `DEFAULT_ORGANIZATION_ID` setting: second choice after the request's.
    pub default_organization_id: Option<ObjectIdHex>,
}

impl Default for ProvisioningPolicy {
    fn default() -> Self {
        Self {
            default_role: AccessRole::SalesRep,
            default_conversation_open_preference: "split".to_owned(),
            default_organization_id: None,
        }
    }
}

/// Why no user could be found or created.
#[derive(Debug, Error)]
pub enum ProvisionError {
    /// The provider's identity has no usable e-mail address.
    #[error("the identity provider sent an unusable e-mail address: {0}")]
    InvalidIdentity(#[from] EmailError),
    /// The user exists and may not sign in.
    #[error("sign-in is disabled for this user")]
    LoginDisabled,
    /// A new user needs an organization and none exists.
    #[error("no organization exists for a new user to join")]
    NoOrganization,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] RepositoryError),
}

/// A provider identity in the form the rules work with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizedIdentity {
    /// Trimmed, lower-cased address.
    pub email: Email,
    /// First and last name, or the address's local part when both are empty.
    pub full_name: String,
    /// The WorkOS ids to record on the user.
    pub link: WorkosLink,
}

impl NormalizedIdentity {
    /// Normalises what the provider sent.
    ///
    /// ```
    /// # use tether_domain::{Flow, IdpIdentity, NormalizedIdentity};
    /// let identity = IdpIdentity {
    ///     flow: Flow::Sso, subject: "prof_1".into(), email: " Jane@Acme.Example ".into(),
    ///     first_name: None, last_name: Some(" ".into()), connection_id: None, organization_id: None,
    /// };
    /// let n = NormalizedIdentity::from_idp(&identity).unwrap();
    /// assert_eq!(n.email.as_str(), "jane@acme.example");
    /// assert_eq!(n.full_name, "jane");
    /// ```
    pub fn from_idp(identity: &IdpIdentity) -> Result<Self, EmailError> {
        let email = Email::parse(&identity.email)?;
        let names: Vec<&str> = [&identity.first_name, &identity.last_name]
            .into_iter()
            .filter_map(|n| n.as_deref().map(str::trim))
            .filter(|n| !n.is_empty())
            .collect();
        let full_name = if names.is_empty() {
            email.local_part().to_owned()
        } else {
            names.join(" ")
        };
        Ok(Self {
            email,
            full_name,
            link: WorkosLink {
                flow: identity.flow,
                subject: identity.subject.clone(),
                connection_id: identity.connection_id.clone(),
                organization_id: identity.organization_id.clone(),
            },
        })
    }
}

/// Finds or creates the local user of a provider identity.
#[derive(Clone)]
pub struct Provisioner {
    users: Arc<dyn UserRepository>,
    organizations: Arc<dyn OrganizationRepository>,
    clock: Arc<dyn Clock>,
    policy: ProvisioningPolicy,
}

impl std::fmt::Debug for Provisioner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provisioner")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Provisioner {
    /// Builds the service from its ports and policy.
    pub fn new(
        users: Arc<dyn UserRepository>,
        organizations: Arc<dyn OrganizationRepository>,
        clock: Arc<dyn Clock>,
        policy: ProvisioningPolicy,
    ) -> Self {
        Self {
            users,
            organizations,
            clock,
            policy,
        }
    }

    /// Finds the user by WorkOS id, then by e-mail; creates them when neither exists.
    ///
    /// An existing user keeps their organization and role; a disabled one is refused.
    /// Concurrent first logins of one person create one user: the insert that loses the
    /// race re-reads the winner.
    pub async fn find_or_create(
        &self,
        identity: &IdpIdentity,
        requested_organization: Option<&str>,
    ) -> Result<User, ProvisionError> {
        let identity = NormalizedIdentity::from_idp(identity)?;
        if let Some(user) = self.find_existing(&identity).await? {
            return self.sign_in_existing(user, &identity).await;
        }
        let organization = self.choose_organization(requested_organization).await?;
        let new_user = NewUser {
            email: identity.email.clone(),
            full_name: identity.full_name.clone(),
            organization_id: organization.id,
            access_role: self.policy.default_role,
            conversation_open_preference: self.policy.default_conversation_open_preference.clone(),
            workos: identity.link.clone(),
            created_at: self.clock.now(),
        };
        match self.users.insert(new_user).await {
            Ok(user) => {
                tracing::info!(user_id = %user.id, organization_id = %user.organization_id, "provisioned a new user");
                Ok(user)
            }
            Err(RepositoryError::Duplicate) => {
                // Another login of the same person won the race: use their user.
                let winner = self.find_existing(&identity).await?.ok_or_else(|| {
                    RepositoryError::Unexpected(
                        "insert reported a duplicate but no user matches the identity".into(),
                    )
                })?;
                self.sign_in_existing(winner, &identity).await
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn find_existing(&self, identity: &NormalizedIdentity) -> Result<Option<User>, RepositoryError> {
        if let Some(user) = self
            .users
            .find_by_workos_subject(identity.link.flow, &identity.link.subject)
            .await?
        {
            return Ok(Some(user));
        }
        self.users.find_by_email(&identity.email).await
    }

    async fn sign_in_existing(
        &self,
        user: User,
        identity: &NormalizedIdentity,
    ) -> Result<User, ProvisionError> {
        if user.login_disabled {
            return Err(ProvisionError::LoginDisabled);
        }
        let link = user
            .workos_subject(identity.link.flow)
            .is_none()
            .then(|| identity.link.clone());
        let updated = self
            .users
            .record_login(user.id, link, self.clock.now())
            .await?
            .ok_or_else(|| RepositoryError::Unexpected("the user vanished during sign-in".into()))?;
        if updated.login_disabled {
            return Err(ProvisionError::LoginDisabled);
        }
        Ok(updated)
    }

    /// The organization a new user joins: the requested one if it is a valid id of an
    /// existing organization, else the configured default if it exists, else the oldest.
    pub async fn choose_organization(&self, requested: Option<&str>) -> Result<Organization, ProvisionError> {
        if let Some(id) = requested.and_then(|raw| ObjectIdHex::parse(raw.trim()).ok()) {
            if let Some(org) = self.organizations.find_by_id(id).await? {
                return Ok(org);
            }
            tracing::debug!(requested = %id, "requested organization does not exist; falling back");
        }
        if let Some(id) = self.policy.default_organization_id {
            if let Some(org) = self.organizations.find_by_id(id).await? {
                return Ok(org);
            }
            tracing::warn!(default_organization_id = %id, "DEFAULT_ORGANIZATION_ID names no organization; using the oldest");
        }
        self.organizations
            .oldest()
            .await?
            .ok_or(ProvisionError::NoOrganization)
    }
}
