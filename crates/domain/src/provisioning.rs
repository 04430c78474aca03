//! Provisioning: finding the local user behind an external identity, or creating
//! them just in time in the right organization.

use thiserror::Error;

use crate::model::{ExternalIdentity, LinkedIdentity, NewUser, Organization, User, Vouching};
use crate::ports::{RepositoryError, UserRepository};
use crate::values::{AccessRole, Email, EmailError, OrganizationId, TenantId, Timestamp};
use crate::wiring::Ports;

/// What new users get, and where they go when nothing else decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisioningPolicy {
    /// Role of a just-in-time user (default `SALES_REP`, the least privilege; never
    /// `ADMIN` or `SUPERADMIN`, which the settings refuse).
    pub default_role: AccessRole,
    /// `conversationOpenPreference` of a just-in-time user (default `split`).
    pub default_conversation_open_preference: String,
    /// The `DEFAULT_ORGANIZATION_ID` setting: third choice, after the mapped and the
    /// requested organization.
    pub default_organization_id: Option<OrganizationId>,
    /// The `JOIN_OLDEST_ORGANIZATION` setting (default `true`): whether a new user
    /// joins the oldest organization when nothing else decides.
    pub join_oldest_organization: bool,
}

impl Default for ProvisioningPolicy {
    fn default() -> Self {
        Self {
            default_role: AccessRole::SalesRep,
            default_conversation_open_preference: "split".to_owned(),
            default_organization_id: None,
            join_oldest_organization: true,
        }
    }
}

/// Why no user could be found or created.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// The provider's identity has no usable e-mail address.
    #[error("the identity provider sent an unusable e-mail address: {0}")]
    InvalidIdentity(#[from] EmailError),
    /// The user exists and may not sign in.
    #[error("sign-in is disabled for this user")]
    LoginDisabled {
        /// The user the identity matched.
        user: Box<User>,
    },
    /// A new user needs an organization and none applies.
    #[error("no organization exists for a new user to join")]
    NoOrganization,
    /// A local user has the identity's address, but nobody vouches for it on their
    /// behalf (or the user carries another link of the same provider): nothing was
    /// written.
    #[error("the identity may not be linked to the existing user with this address")]
    AccountLinkRequired {
        /// The user the identity's address matched.
        user: Box<User>,
    },
    /// The organization asked for is not one the identity may join.
    #[error("the identity may not join the requested organization")]
    OrganizationMismatch,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] RepositoryError),
}

/// An external identity in the form the rules work with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizedIdentity {
    /// Trimmed, lower-cased address.
    pub email: Email,
    /// First and last name, or the address's local part when both are empty.
    pub full_name: String,
    /// The link (with connection and tenant) to record on the user.
    pub identity: LinkedIdentity,
    /// Whether the provider says the address is verified (see
    /// [`ExternalIdentity::email_verified`]).
    pub email_verified: Option<bool>,
    /// Who vouches for the address.
    pub vouching: Vouching,
}

impl NormalizedIdentity {
    /// Normalises what the provider sent.
    ///
    /// ```
    /// # use tether_domain::{ExternalIdentity, IdentityLink, NormalizedIdentity, ProviderKey, Vouching};
    /// let identity = ExternalIdentity {
    ///     link: IdentityLink { provider: ProviderKey::from_static("sso"), subject: "prof_1".into() },
    ///     email: " Jane@Acme.Example ".into(), email_verified: None, vouching: Vouching::Tenant,
    ///     first_name: None, last_name: Some(" ".into()), connection: None, tenant: None,
    /// };
    /// let n = NormalizedIdentity::from_external(&identity).unwrap();
    /// assert_eq!(n.email.as_str(), "jane@acme.example");
    /// assert_eq!(n.full_name, "jane");
    /// ```
    pub fn from_external(identity: &ExternalIdentity) -> Result<Self, EmailError> {
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
            identity: LinkedIdentity::from(identity),
            email_verified: identity.email_verified,
            vouching: identity.vouching,
        })
    }
}

/// Which rule of trust let a login in: how its identity reached an existing user, or
/// which organization a new user joined and why. Recorded with every login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TrustRule {
    /// The user already carried the identity's link (`matched_by_workos_id`).
    MatchedByLink,
    /// The user had the identity's address, vouched for, and the link was recorded
    /// on them (`linked_by_vouched_email`).
    LinkedByVouchedEmail,
    /// A new user joined the organization mapped to the identity's tenant
    /// (`created_in_mapped_organization`).
    CreatedInMappedOrganization,
    /// A new user joined the organization the login asked for
    /// (`created_in_requested_organization`).
    CreatedInRequestedOrganization,
    /// A new user joined `DEFAULT_ORGANIZATION_ID` (`created_in_default_organization`).
    CreatedInDefaultOrganization,
    /// A new user joined the oldest unmapped organization
    /// (`created_in_oldest_organization`).
    CreatedInOldestOrganization,
}

impl TrustRule {
    /// Every rule, in the order the contract lists them.
    pub const ALL: [TrustRule; 6] = [
        TrustRule::MatchedByLink,
        TrustRule::LinkedByVouchedEmail,
        TrustRule::CreatedInMappedOrganization,
        TrustRule::CreatedInRequestedOrganization,
        TrustRule::CreatedInDefaultOrganization,
        TrustRule::CreatedInOldestOrganization,
    ];

    /// The wire name of the contract (the audit record's `detail.rule`).
    pub const fn as_str(&self) -> &'static str {
        match self {
            TrustRule::MatchedByLink => "matched_by_workos_id",
            TrustRule::LinkedByVouchedEmail => "linked_by_vouched_email",
            TrustRule::CreatedInMappedOrganization => "created_in_mapped_organization",
            TrustRule::CreatedInRequestedOrganization => "created_in_requested_organization",
            TrustRule::CreatedInDefaultOrganization => "created_in_default_organization",
            TrustRule::CreatedInOldestOrganization => "created_in_oldest_organization",
        }
    }
}

/// The user a login signs in as.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Provisioned {
    /// The user, found or created.
    pub user: User,
    /// The user's organization when it was read on the way (a new user's), so that
    /// its session policy costs no second read; `None` otherwise.
    pub organization: Option<Organization>,
    /// The rule that decided.
    pub rule: TrustRule,
}

/// An existing user an identity reaches, and whether the identity's link is still to
/// be recorded on them.
struct Reached {
    user: User,
    link: bool,
}

impl Reached {
    /// The rule that let the identity reach the user.
    fn rule(&self) -> TrustRule {
        if self.link {
            TrustRule::LinkedByVouchedEmail
        } else {
            TrustRule::MatchedByLink
        }
    }
}

impl ProvisionError {
    /// The existing user the identity matched before it was refused, if any.
    pub fn matched_user(&self) -> Option<&User> {
        match self {
            ProvisionError::LoginDisabled { user } | ProvisionError::AccountLinkRequired { user } => {
                Some(user)
            }
            _ => None,
        }
    }
}

/// Finds or creates the local user of a provider identity, by the rules of trust:
/// who may become whom, and who joins which organization.
#[derive(Clone, Debug)]
pub struct Provisioner {
    ports: Ports,
    policy: ProvisioningPolicy,
}

impl Provisioner {
    /// Builds the service over the users, organizations and clock of `ports`, and
    /// `policy`.
    pub fn new(ports: Ports, policy: ProvisioningPolicy) -> Self {
        Self { ports, policy }
    }

    /// The users this service signs in.
    pub(crate) fn users(&self) -> &dyn UserRepository {
        self.ports.users.as_ref()
    }

    /// Finds the user the identity reaches, or creates them.
    ///
    /// Matching: by link; else by address, and then only when the address is vouched
    /// for ([`Vouching::Provider`]: the provider verified it; [`Vouching::Tenant`]: the
    /// identity's tenant is the one mapped to the user's organization) and the user
    /// carries no other link of the same provider: the link is then recorded on them. Otherwise [`ProvisionError::AccountLinkRequired`] and nothing is
    /// written. An existing user keeps their organization and role; a disabled one
    /// is refused. A new user joins the organization [`Provisioner::choose_organization`]
    /// picks. Concurrent first logins of one person create one user: the insert that
    /// loses the race matches again. Dates are stamped with the clock's "now".
    pub async fn find_or_create(
        &self,
        identity: &ExternalIdentity,
        requested_organization: Option<&str>,
    ) -> Result<User, ProvisionError> {
        self.find_or_create_at(identity, requested_organization, self.ports.clock.now())
            .await
    }

    /// [`Provisioner::find_or_create`] with the "now" a calling use case already read.
    pub async fn find_or_create_at(
        &self,
        identity: &ExternalIdentity,
        requested_organization: Option<&str>,
        now: Timestamp,
    ) -> Result<User, ProvisionError> {
        Ok(self.provision(identity, requested_organization, now).await?.user)
    }

    /// [`Provisioner::find_or_create_at`], also answering the organization a new user
    /// joined (already read, so its session policy costs no second read).
    ///
    /// In as few store round trips as the rules allow: a returning user (one who
    /// carries the identity's link and may sign in) is found and stamped in one
    /// write. Anyone else is taken for a new person first: the organization is chosen
    /// and the user inserted, and the unique address and link of the store turn
    /// a person who exists after all (to link, to refuse, disabled, or created by a
    /// concurrent login) into a `Duplicate` that writes nothing; the matching rule then
    /// decides, exactly as if it had run first. When no organization can be chosen,
    /// the matching rule decides too, so an existing person is never refused for the
    /// organization rules of new users.
    pub async fn provision(
        &self,
        identity: &ExternalIdentity,
        requested_organization: Option<&str>,
        now: Timestamp,
    ) -> Result<Provisioned, ProvisionError> {
        let identity = NormalizedIdentity::from_external(identity)?;
        if let Some(user) = self
            .ports
            .users
            .record_login_by_link(&identity.identity.link, now)
            .await?
        {
            return Ok(Provisioned {
                user,
                organization: None,
                rule: TrustRule::MatchedByLink,
            });
        }
        let (organization, rule) = match self
            .choose(identity.identity.tenant.as_ref(), requested_organization)
            .await
        {
            Ok(chosen) => chosen,
            Err(refusal) => {
                // Perhaps not a new person: an existing one is matched, not placed.
                return match self.find_existing(&identity).await? {
                    Some(reached) => self.sign_in_existing(reached, &identity, now).await,
                    None => Err(refusal),
                };
            }
        };
        let new_user = NewUser {
            email: identity.email.clone(),
            full_name: identity.full_name.clone(),
            organization_id: organization.id,
            access_role: self.policy.default_role,
            conversation_open_preference: self.policy.default_conversation_open_preference.clone(),
            identity: identity.identity.clone(),
            email_verified: identity.email_verified == Some(true),
            created_at: now,
        };
        match self.ports.users.insert(new_user).await {
            Ok(user) => {
                tracing::info!(user_id = %user.id, organization_id = %user.organization_id, "provisioned a new user");
                Ok(Provisioned {
                    user,
                    organization: Some(organization),
                    rule,
                })
            }
            Err(RepositoryError::Duplicate) => {
                // The address or the link is taken: a person who exists (or
                // another login won the race for them). Match.
                let reached = self.find_existing(&identity).await?.ok_or_else(|| {
                    RepositoryError::Unexpected(
                        "insert reported a duplicate but no user matches the identity".into(),
                    )
                })?;
                self.sign_in_existing(reached, &identity, now).await
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The user the identity reaches by the matching rule, `None` for a new person.
    async fn find_existing(&self, identity: &NormalizedIdentity) -> Result<Option<Reached>, ProvisionError> {
        let link = &identity.identity.link;
        if let Some(user) = self.ports.users.find_by_link(link).await? {
            return Ok(Some(Reached { user, link: false }));
        }
        let Some(user) = self.ports.users.find_by_email(&identity.email).await? else {
            return Ok(None);
        };
        match user.subject_for(&link.provider) {
            // A concurrent first login of the same identity created the user between
            // the two reads: it is theirs.
            Some(subject) if subject == link.subject => {
                return Ok(Some(Reached { user, link: false }));
            }
            Some(_) => {
                return Err(refuse_link(
                    &user,
                    "the user carries another link of this provider",
                ));
            }
            None => {}
        }
        if user.email_verified == Some(false) {
            // Created from an identity nobody vouched for: never the landing place of
            // the address's real owner.
            return Err(refuse_link(
                &user,
                "the user was created from an address nobody vouched for",
            ));
        }
        if !self.vouches(identity, &user).await? {
            return Err(refuse_link(
                &user,
                match identity.vouching {
                    Vouching::Provider => "the provider has not verified the address",
                    Vouching::Tenant => {
                        "the identity's tenant is not the one mapped to the user's organization"
                    }
                },
            ));
        }
        Ok(Some(Reached { user, link: true }))
    }

    /// Whether anybody vouches for the identity's address on behalf of `user`.
    async fn vouches(&self, identity: &NormalizedIdentity, user: &User) -> Result<bool, RepositoryError> {
        match identity.vouching {
            Vouching::Provider => Ok(identity.email_verified == Some(true)),
            Vouching::Tenant => {
                let Some(tenant) = &identity.identity.tenant else {
                    return Ok(false);
                };
                let mapped = self
                    .ports
                    .organizations
                    .find_organization(user.organization_id)
                    .await?
                    .and_then(|org| org.tenant);
                Ok(mapped.as_ref() == Some(tenant))
            }
        }
    }

    async fn sign_in_existing(
        &self,
        reached: Reached,
        identity: &NormalizedIdentity,
        now: Timestamp,
    ) -> Result<Provisioned, ProvisionError> {
        let rule = reached.rule();
        let Reached { user, link } = reached;
        if user.login_disabled {
            return Err(ProvisionError::LoginDisabled { user: Box::new(user) });
        }
        let updated = match self
            .ports
            .users
            .record_login(user.id, link.then(|| identity.identity.clone()), now)
            .await
        {
            Err(RepositoryError::Duplicate) => {
                return Err(refuse_link(&user, "another user carries the link"));
            }
            other => other?
                .ok_or_else(|| RepositoryError::Unexpected("the user vanished during sign-in".into()))?,
        };
        let recorded = &identity.identity.link;
        if link && updated.subject_for(&recorded.provider) != Some(recorded.subject.as_str()) {
            // A concurrent login recorded another link of the provider first.
            return Err(refuse_link(
                &updated,
                "the user carries another link of this provider",
            ));
        }
        if updated.login_disabled {
            return Err(ProvisionError::LoginDisabled {
                user: Box::new(updated),
            });
        }
        Ok(Provisioned {
            user: updated,
            organization: None,
            rule,
        })
    }

    /// The organization a new user joins; the first rule that applies decides:
    ///
    /// 1. the organization mapped to the identity's tenant (a request naming another
    ///    existing organization is [`ProvisionError::OrganizationMismatch`]);
    /// 2. the requested organization (a 24-hex id of an existing organization),
    ///    unless it is mapped to a tenant: a mapped organization is joined only
    ///    through its own tenant ([`ProvisionError::OrganizationMismatch`]);
    /// 3. `DEFAULT_ORGANIZATION_ID`, if it exists and is mapped to no tenant (a
    ///    mapped one is skipped, with a warning);
    /// 4. the oldest organization mapped to no tenant, when
    ///    `JOIN_OLDEST_ORGANIZATION` is on; else, or when every organization is
    ///    mapped, [`ProvisionError::NoOrganization`].
    ///
    /// A mapped organization is joined by a new user only through rule 1. A request
    /// that is not a valid id or names no organization falls through.
    pub async fn choose_organization(
        &self,
        tenant: Option<&TenantId>,
        requested: Option<&str>,
    ) -> Result<Organization, ProvisionError> {
        Ok(self.choose(tenant, requested).await?.0)
    }

    /// [`Provisioner::choose_organization`], also naming the rule that chose.
    async fn choose(
        &self,
        tenant: Option<&TenantId>,
        requested: Option<&str>,
    ) -> Result<(Organization, TrustRule), ProvisionError> {
        let requested = match requested.and_then(|raw| OrganizationId::parse(raw.trim()).ok()) {
            Some(id) => {
                let found = self.ports.organizations.find_organization(id).await?;
                if found.is_none() {
                    tracing::debug!(requested = %id, "requested organization does not exist; falling back");
                }
                found
            }
            None => None,
        };
        // One read: the mapped organization, else the oldest unmapped one (rule 4's
        // candidate).
        let (mapped, oldest_unmapped) =
            match self.ports.organizations.mapped_or_oldest_unmapped(tenant).await? {
                Some(org) if tenant.is_some() && org.tenant.as_ref() == tenant => (Some(org), None),
                other => (None, other.filter(|o| o.tenant.is_none())),
            };
        if let Some(mapped) = mapped {
            if let Some(other) = requested.filter(|r| r.id != mapped.id) {
                tracing::warn!(requested = %other.id, mapped = %mapped.id, "a new user asked for another organization than the one of their tenant");
                return Err(ProvisionError::OrganizationMismatch);
            }
            return Ok((mapped, TrustRule::CreatedInMappedOrganization));
        }
        if let Some(requested) = requested {
            if requested.tenant.is_some() {
                tracing::warn!(requested = %requested.id, "a new user asked for a mapped organization from outside its tenant");
                return Err(ProvisionError::OrganizationMismatch);
            }
            return Ok((requested, TrustRule::CreatedInRequestedOrganization));
        }
        if let Some(id) = self.policy.default_organization_id {
            match self.ports.organizations.find_organization(id).await? {
                Some(org) if org.tenant.is_some() => {
                    tracing::warn!(default_organization_id = %id, "DEFAULT_ORGANIZATION_ID is mapped to a tenant; a new user from outside it does not join it");
                }
                Some(org) => return Ok((org, TrustRule::CreatedInDefaultOrganization)),
                None => {
                    tracing::warn!(default_organization_id = %id, "DEFAULT_ORGANIZATION_ID names no organization");
                }
            }
        }
        if !self.policy.join_oldest_organization {
            return Err(ProvisionError::NoOrganization);
        }
        oldest_unmapped
            .map(|org| (org, TrustRule::CreatedInOldestOrganization))
            .ok_or(ProvisionError::NoOrganization)
    }
}

/// Logs why an identity may not become `user` (the user id and the reason, never
/// the address) and returns the refusal.
fn refuse_link(user: &User, reason: &'static str) -> ProvisionError {
    tracing::warn!(user_id = %user.id, reason, "refused to sign an identity in as an existing user");
    ProvisionError::AccountLinkRequired {
        user: Box::new(user.clone()),
    }
}
