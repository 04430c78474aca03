//! Who an identity signs in as, and where a new user lands: the trust rules, by what
//! the stores hold afterwards.

use std::sync::Arc;

use tether_domain::{
    AccessRole, ExternalIdentity, MockOrganizationRepository, OrganizationId, ProviderKey, ProvisionError,
    ProvisioningPolicy, RepositoryError, User,
};

use crate::support::*;

async fn provision(
    w: &World,
    identity: &ExternalIdentity,
    requested: Option<&str>,
) -> Result<User, ProvisionError> {
    let provisioned = w
        .services
        .provisioner
        .provision(identity, requested, at(5))
        .await?;
    Ok(provisioned.user)
}

// ---- where a new user lands ----------------------------------------------------

/// How a row names the organization a new user asks for.
#[derive(Clone, Copy)]
enum Asks {
    Nothing,
    /// The id of the organization of this name.
    For(&'static str),
    /// That id in upper case and padded with spaces.
    Shouting(&'static str),
    /// A raw value.
    Raw(&'static str),
}

/// A rule, the organizations (name, created, tenant), the identity, what it asks for,
/// `DEFAULT_ORGANIZATION_ID` (by name, or a raw id), `JOIN_OLDEST_ORGANIZATION`, and the
/// organization joined or the refusal.
type Row = (
    &'static str,
    Orgs,
    fn() -> ExternalIdentity,
    Asks,
    Option<&'static str>,
    bool,
    Result<&'static str, &'static str>,
);
type Orgs = &'static [(&'static str, i64, Option<&'static str>)];

fn sso_a() -> ExternalIdentity {
    sso("prof_new", "new@acme.example", Some(TENANT_A))
}
fn sso_b() -> ExternalIdentity {
    sso("prof_new", "new@acme.example", Some(TENANT_B))
}
fn sso_malformed_tenant() -> ExternalIdentity {
    sso("prof_new", "new@acme.example", Some("not-a-tenant"))
}
fn authkit_a() -> ExternalIdentity {
    in_tenant(authkit("user_new", "new@acme.example", true), Some(TENANT_A))
}
fn ak() -> ExternalIdentity {
    authkit("user_new", "new@acme.example", true)
}

const MAPPED_A: Orgs = &[("Oldest", 1, None), ("A", 2, Some(TENANT_A)), ("Other", 3, None)];
const OLDEST_MAPPED: Orgs = &[("B", 1, Some(TENANT_B)), ("Second", 2, None), ("Third", 3, None)];
const ALL_MAPPED: Orgs = &[("A", 1, Some(TENANT_A)), ("B", 2, Some(TENANT_B))];
const PLAIN: Orgs = &[("Third", 3, None), ("Oldest", 1, None), ("Default", 2, None)];
const GONE: &str = "64a1b2c3d4e5f60012340000";
const MISMATCH: Result<&str, &str> = Err("mismatch");
const NONE: Result<&str, &str> = Err("no organization");

#[rustfmt::skip]
const ROWS: &[Row] = &[
    ("1: the tenant's organization", MAPPED_A, sso_a, Asks::Nothing, None, true, Ok("A")),
    ("1: an AuthKit answer's tenant maps too", MAPPED_A, authkit_a, Asks::Nothing, None, true, Ok("A")),
    ("1: asking for the mapped one itself", MAPPED_A, sso_a, Asks::For("A"), None, true, Ok("A")),
    ("1: asking for another is a mismatch", MAPPED_A, sso_a, Asks::For("Other"), None, true, MISMATCH),
    ("1 with join-oldest off", MAPPED_A, sso_a, Asks::Nothing, None, false, Ok("A")),
    ("2: the requested unmapped organization", PLAIN, ak, Asks::For("Third"), None, true, Ok("Third")),
    ("2: an id in upper case with spaces", PLAIN, ak, Asks::Shouting("Third"), None, true, Ok("Third")),
    ("2: a mapped one from outside any tenant", OLDEST_MAPPED, ak, Asks::For("B"), None, true, MISMATCH),
    ("2: a mapped one from another tenant", MAPPED_A, sso_b, Asks::For("A"), None, true, MISMATCH),
    ("2: an unknown id falls through", PLAIN, ak, Asks::Raw(GONE), None, true, Ok("Oldest")),
    ("2: a tenant id is no organization id", PLAIN, ak, Asks::Raw(TENANT_A), None, true, Ok("Oldest")),
    ("2 before 3", PLAIN, ak, Asks::For("Third"), Some("Default"), true, Ok("Third")),
    ("2 with join-oldest off", PLAIN, ak, Asks::For("Third"), None, false, Ok("Third")),
    ("3: the default organization", PLAIN, ak, Asks::Nothing, Some("Default"), true, Ok("Default")),
    ("3: a mapped default is skipped", OLDEST_MAPPED, ak, Asks::Nothing, Some("B"), true, Ok("Second")),
    ("3: a mapped default, join-oldest off", OLDEST_MAPPED, ak, Asks::Nothing, Some("B"), false, NONE),
    ("3: a missing default", PLAIN, ak, Asks::Nothing, Some(GONE), true, Ok("Oldest")),
    ("4: the oldest organization", PLAIN, ak, Asks::Nothing, None, true, Ok("Oldest")),
    ("4: the oldest unmapped one, not the mapped oldest", OLDEST_MAPPED, sso_a, Asks::Nothing, None, true, Ok("Second")),
    ("4: no tenant: the oldest unmapped one", OLDEST_MAPPED, ak, Asks::Nothing, None, true, Ok("Second")),
    ("4: a malformed tenant maps nothing", OLDEST_MAPPED, sso_malformed_tenant, Asks::Nothing, None, true, Ok("Second")),
    ("4: every organization mapped", ALL_MAPPED, ak, Asks::Nothing, None, true, NONE),
    ("4: no organization at all", &[], ak, Asks::Nothing, None, true, NONE),
    ("4: join-oldest off", PLAIN, ak, Asks::Nothing, None, false, NONE),
];

#[tokio::test]
async fn a_new_user_joins_the_organization_the_first_applicable_rule_names() {
    for &(rule, orgs, identity, asks, default, join_oldest, joins) in ROWS {
        let mut ids = Vec::new();
        let w = World::new();
        for (name, created, tenant) in orgs {
            ids.push((*name, w.add_org(name, *created, *tenant)));
        }
        let id_of = |name: &str| ids.iter().find(|(n, _)| *n == name).map(|(_, id)| id.to_string());
        let requested = match asks {
            Asks::Nothing => None,
            Asks::For(name) => id_of(name),
            Asks::Shouting(name) => id_of(name).map(|id| format!("  {}  ", id.to_uppercase())),
            Asks::Raw(raw) => Some(raw.to_owned()),
        };
        let default = default.map(|d| id_of(d).unwrap_or_else(|| d.to_owned()));
        let policy = ProvisioningPolicy {
            default_organization_id: default.map(|d| OrganizationId::parse(&d).unwrap()),
            join_oldest_organization: join_oldest,
            ..ProvisioningPolicy::default()
        };
        let w = w.rewired(|p| p.provisioning = policy);
        let provisioner = &w.services.provisioner;
        let identity = identity();
        let outcome = provisioner
            .provision(&identity, requested.as_deref(), at(5))
            .await;
        match (&outcome, joins) {
            (Ok(p), Ok(name)) => {
                let org = w.org(p.user.organization_id).await;
                assert_eq!(org_name(&org), name, "rule {}", rule);
                assert_eq!(
                    p.organization.as_ref().map(|o| o.id),
                    Some(org.id),
                    "rule {}",
                    rule
                );
                assert_eq!(w.user_count(), 1, "rule {}", rule);
            }
            (Err(ProvisionError::OrganizationMismatch), Err("mismatch"))
            | (Err(ProvisionError::NoOrganization), Err("no organization")) => {
                assert_eq!(w.user_count(), 0, "rule {}: nothing is written", rule);
            }
            (outcome, expected) => panic!("rule {}: {outcome:?}, expected {expected:?}", rule),
        }
    }
}

#[tokio::test]
async fn a_new_user_is_created_with_the_normalised_address_names_and_the_configured_role() {
    let w = World::with(|_, policies| {
        policies.provisioning.default_role = AccessRole::DepartmentHead;
        policies.provisioning.default_conversation_open_preference = "stacked".to_owned();
    });
    let org = w.add_org("Acme", 1, None);
    let cases = [
        (
            named(
                authkit("user_1", " Jane@Acme.Example ", true),
                Some(" Jane "),
                Some("Doe"),
            ),
            "jane@acme.example",
            "Jane Doe",
        ),
        (
            named(authkit("user_2", "kim@acme.example", true), None, Some("Lee")),
            "kim@acme.example",
            "Lee",
        ),
        (
            named(authkit("user_3", "sam@acme.example", true), Some(" "), None),
            "sam@acme.example",
            "sam",
        ),
    ];
    for (identity, address, full_name) in cases {
        let user = provision(&w, &identity, None).await.unwrap();
        assert_eq!(w.user_by_email(address).await.as_ref(), Some(&user));
        assert_eq!((user.full_name.as_str(), user.organization_id), (full_name, org));
        assert_eq!(
            (user.access_role, user.conversation_open_preference.as_str()),
            (AccessRole::DepartmentHead, "stacked")
        );
        assert_eq!(linked(&user, AUTHKIT), Some(identity.link.subject.as_str()));
    }
}

#[test]
fn new_users_get_the_least_privilege_and_the_split_preference_by_default() {
    let policy = ProvisioningPolicy::default();
    assert_eq!(policy.default_role, AccessRole::SalesRep);
    assert_eq!(policy.default_conversation_open_preference, "split");
    assert!(policy.join_oldest_organization);
}

#[tokio::test]
async fn a_new_user_records_whether_the_address_was_vouched_for() {
    let w = World::new();
    w.add_org("Acme", 1, None);
    for (identity, expected) in [
        (authkit("user_1", "a@acme.example", true), Some(true)),
        (authkit("user_2", "b@acme.example", false), Some(false)),
        (sso("prof_3", "c@acme.example", Some(TENANT_A)), Some(false)),
    ] {
        let user = provision(&w, &identity, None).await.unwrap();
        assert_eq!(vouched(&user), expected, "{}", identity.email);
    }
}

#[tokio::test]
async fn an_unusable_address_is_refused_and_nothing_is_written() {
    let w = World::new();
    w.add_org("Acme", 1, None);
    let refused = provision(&w, &authkit("user_1", "not an address", true), None).await;
    assert!(
        matches!(refused, Err(ProvisionError::InvalidIdentity(_))),
        "{refused:?}"
    );
    assert_eq!(w.user_count(), 0);
}

// ---- who an identity signs in as -----------------------------------------------

#[tokio::test]
async fn a_returning_user_keeps_their_organization_and_role_whatever_the_login_asks() {
    let w = World::new();
    let home = w.add_org("Home", 1, None);
    let elsewhere = w.add_org("Elsewhere", 2, Some(TENANT_A));
    let existing = w.add_user(UserSpec {
        links: vec![(SSO, "prof_1")],
        ..user("jane@acme.example", home)
    });
    let signed_in = provision(
        &w,
        &sso("prof_1", "jane@acme.example", Some(TENANT_A)),
        Some(&elsewhere.to_string()),
    )
    .await
    .unwrap();
    assert_eq!(signed_in, existing);
    assert_eq!(w.user_count(), 1);
}

/// A case of an identity reaching a user by address: the tenant of the user's
/// organization, the subjects the user carries, whether they were created vouched, the
/// identity.
type Reach = (
    &'static str,
    Option<&'static str>,
    &'static [(ProviderKey, &'static str)],
    Option<bool>,
    fn() -> ExternalIdentity,
);

/// An existing user `jane@acme.example` of an organization mapped to `tenant`,
/// carrying `links` and created with `vouched`.
fn existing(
    w: &World,
    tenant: Option<&str>,
    links: &[(ProviderKey, &'static str)],
    vouched: Option<bool>,
) -> User {
    let org = w.add_org("Home", 1, tenant);
    w.add_user(UserSpec {
        links: links.to_vec(),
        vouched,
        ..user("jane@acme.example", org)
    })
}

fn jane_sso(tenant: Option<&str>) -> ExternalIdentity {
    sso("prof_1", "Jane@acme.example", tenant)
}

#[rustfmt::skip]
const VOUCHED: &[Reach] = &[
    ("SSO through the tenant of the user's organization", Some(TENANT_A), &[], None, || jane_sso(Some(TENANT_A))),
    ("AuthKit, verified", None, &[], None, || authkit("user_1", "jane@acme.example", true)),
    ("AuthKit, verified, a user created vouched", None, &[], Some(true), || authkit("user_1", "jane@acme.example", true)),
    ("a user linked only for the other API", Some(TENANT_A), &[(AUTHKIT, "user_9")], None, || jane_sso(Some(TENANT_A))),
];

#[rustfmt::skip]
const NOT_VOUCHED: &[Reach] = &[
    ("SSO through an unmapped organization", None, &[], None, || jane_sso(Some(TENANT_A))),
    ("SSO through another company's tenant", Some(TENANT_A), &[], None, || jane_sso(Some(TENANT_B))),
    ("SSO without a tenant", Some(TENANT_A), &[], None, || jane_sso(None)),
    ("SSO with a malformed tenant", Some(TENANT_A), &[], None, || jane_sso(Some("acme"))),
    ("AuthKit, unverified", None, &[], None, || authkit("user_1", "jane@acme.example", false)),
    ("another SSO subject already", Some(TENANT_A), &[(SSO, "prof_0")], None, || jane_sso(Some(TENANT_A))),
    ("another AuthKit subject already", None, &[(AUTHKIT, "user_0")], None, || authkit("user_1", "jane@acme.example", true)),
    ("a user created unvouched, AuthKit", None, &[], Some(false), || authkit("user_1", "jane@acme.example", true)),
    ("a user created unvouched, SSO", Some(TENANT_A), &[], Some(false), || jane_sso(Some(TENANT_A))),
];

/// Whether a provisioning answer is the one expected.
type Expected = fn(&Result<User, ProvisionError>) -> bool;
const LINKED: Expected = |r| matches!(r, Ok(u) if linked(u, AUTHKIT) == Some("user_1"));
const LINK_REQUIRED: Expected = |r| matches!(r, Err(ProvisionError::AccountLinkRequired { .. }));
const DISABLED: Expected = |r| matches!(r, Err(ProvisionError::LoginDisabled { .. }));

/// Provisions `identity`, expecting a refusal, and `user` unchanged and alone.
async fn refused(
    w: &World,
    case: &str,
    identity: &ExternalIdentity,
    requested: Option<&str>,
    expected: Expected,
    user: &User,
) {
    let refused = provision(w, identity, requested).await;
    assert!(expected(&refused), "{case}: {refused:?}");
    assert_eq!(
        w.user(user.id).await.as_ref(),
        Some(user),
        "{case}: the user is unchanged"
    );
    assert_eq!(w.user_count(), 1, "{case}: nobody is created");
}

#[tokio::test]
async fn an_address_the_provider_vouches_for_links_the_identity_to_the_user_with_it() {
    for &(case, tenant, links, was_vouched, identity) in VOUCHED {
        let w = World::new();
        let user = existing(&w, tenant, links, was_vouched);
        let identity = identity();
        let signed_in = provision(&w, &identity, None).await.unwrap();
        let stored = w.user(user.id).await.unwrap();
        assert_eq!((signed_in.id, w.user_count()), (user.id, 1), "{case}");
        assert_eq!(
            linked(&stored, provider_of(&identity)),
            Some(identity.link.subject.as_str()),
            "{case}"
        );
    }
}

#[tokio::test]
async fn an_address_nobody_vouches_for_is_account_link_required_and_nothing_is_written() {
    for &(case, tenant, links, was_vouched, identity) in NOT_VOUCHED {
        let w = World::new();
        let user = existing(&w, tenant, links, was_vouched);
        refused(&w, case, &identity(), None, LINK_REQUIRED, &user).await;
    }
    // Not through the organization the login asks for, nor for a user whose
    // organization is gone.
    let w = World::new();
    let jane = existing(&w, None, &[], None);
    let mapped = w.add_org("A", 2, Some(TENANT_A)).to_string();
    refused(
        &w,
        "a request",
        &jane_sso(Some(TENANT_A)),
        Some(&mapped),
        LINK_REQUIRED,
        &jane,
    )
    .await;
    let w = World::new();
    w.add_org("A", 1, Some(TENANT_A));
    let jane = w.add_user(user("jane@acme.example", gone_org()));
    refused(
        &w,
        "organization gone",
        &jane_sso(Some(TENANT_A)),
        None,
        LINK_REQUIRED,
        &jane,
    )
    .await;
}

#[tokio::test]
async fn a_disabled_user_is_refused_however_they_are_reached() {
    #[rustfmt::skip]
    let cases = [("by subject", vec![(AUTHKIT, "user_1")], true), ("by address", vec![], true), ("by subject, no organization", vec![(AUTHKIT, "user_1")], false)];
    for (case, links, orgs) in cases {
        let w = World::new();
        if orgs {
            w.add_org("Acme", 1, None);
        }
        let user = w.add_user(UserSpec {
            links,
            disabled: true,
            ..user("jane@acme.example", gone_org())
        });
        let identity = authkit("user_1", "jane@acme.example", true);
        refused(&w, case, &identity, None, DISABLED, &user).await;
    }
}

#[tokio::test]
async fn an_existing_person_is_matched_not_placed_when_no_organization_could_be_chosen() {
    // Every organization mapped, and a request that would be a mismatch for a new user.
    let w = World::new();
    let jane = existing(&w, Some(TENANT_B), &[], None);
    w.add_org("A", 2, Some(TENANT_A));
    let requested = jane.organization_id.to_string();
    let verified = authkit("user_1", "jane@acme.example", true);
    let signed_in = provision(&w, &verified, Some(&requested)).await;
    assert!(LINKED(&signed_in), "{signed_in:?}");
    let new = provision(&w, &authkit("user_2", "kim@acme.example", true), None).await;
    assert!(
        matches!(new, Err(ProvisionError::NoOrganization)),
        "a new person is placed: {new:?}"
    );

    let w = World::new();
    let jane = w.add_user(user("jane@acme.example", gone_org()));
    let unverified = authkit("user_1", "jane@acme.example", false);
    refused(&w, "unverified", &unverified, None, LINK_REQUIRED, &jane).await;
}

// ---- concurrent logins -------------------------------------------------------------

#[tokio::test]
async fn a_concurrent_login_is_matched_by_the_same_rules() {
    let gone = gone_org();
    // With an organization, the race is lost at the insert; without one, the address
    // matches first and the race is lost when the login is recorded.
    #[rustfmt::skip]
    let races = [
        ("the same identity won the insert", true, UserSpec { links: vec![(AUTHKIT, "user_1")], ..user("jane@acme.example", gone) }, LINKED),
        ("a user with the address won the insert", true, user("jane@acme.example", gone), LINKED),
        ("an unvouched user won the insert", true, UserSpec { vouched: Some(false), ..user("jane@acme.example", gone) }, LINK_REQUIRED),
        ("the user got another subject", false, UserSpec { links: vec![(AUTHKIT, "user_0")], ..user("jane@acme.example", gone) }, LINK_REQUIRED),
        ("another user got this subject", false, UserSpec { links: vec![(AUTHKIT, "user_1")], ..user("kim@acme.example", gone) }, LINK_REQUIRED),
        ("the user was disabled", false, UserSpec { disabled: true, ..user("jane@acme.example", gone) }, DISABLED),
    ];
    for (case, organization, concurrent, expected) in races {
        let w = World::new();
        let mut same = None;
        if organization {
            w.add_org("Acme", 1, None);
        } else {
            same = Some(w.add_user(user("jane@acme.example", gone)).id)
                .filter(|_| concurrent.address.starts_with("jane"));
        }
        w.concurrently(concurrent, same);
        let outcome = provision(&w, &authkit("user_1", "jane@acme.example", true), None).await;
        assert!(expected(&outcome), "{case}: {outcome:?}");
        assert!(
            w.user_count() <= 2 && w.user_by_email("jane@acme.example").await.is_some(),
            "{case}"
        );
    }
}

// ---- outages ------------------------------------------------------------------------

#[tokio::test]
async fn an_organization_store_outage_is_a_store_error_not_a_fallback_nor_a_refusal() {
    for identity in [
        authkit("user_1", "new@acme.example", true),
        jane_sso(Some(TENANT_A)),
    ] {
        let w = World::with(|ports, _| {
            let mut down = MockOrganizationRepository::new();
            down.expect_find_organization()
                .returning(|_| Err(RepositoryError::Unavailable("down".into())));
            down.expect_mapped_or_oldest_unmapped()
                .returning(|_| Err(RepositoryError::Unavailable("down".into())));
            ports.organizations = Arc::new(down);
        });
        w.add_user(user("jane@acme.example", gone_org()));
        let failed = provision(&w, &identity, None).await;
        assert!(
            matches!(
                failed,
                Err(ProvisionError::Store(RepositoryError::Unavailable(_)))
            ),
            "{failed:?}"
        );
        assert_eq!(w.user_count(), 1);
    }
}
