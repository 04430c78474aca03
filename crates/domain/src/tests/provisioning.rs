//! `Provisioner::provision` (and `find_or_create`, which wraps it) and
//! `Provisioner::choose_organization`.

use mockall::Sequence;

use super::support::*;
use crate::{
    AccessRole, EmailError, Flow, MockOrganizationRepository, MockUserRepository, ProvisionError,
    ProvisioningPolicy, RepositoryError, User,
};

/// `users` signs nobody in by the identity's WorkOS id (the one-write sign-in answers
/// `None`) and is asked nothing else before the insert: the identity is taken for a
/// new person. No login is recorded.
fn expect_nobody_found(users: &mut MockUserRepository, address: &'static str) {
    users
        .expect_record_login_by_workos_subject()
        .times(1)
        .returning(|_, _, _| Ok(None));
    users.expect_find_by_workos_subject().never();
    users
        .expect_find_by_email()
        .withf(move |e| e.as_str() == address)
        .never();
    users.expect_record_login().never();
}

/// `users` signs nobody in by the WorkOS id; when no organization can be chosen, the
/// matching rule finds nobody by WorkOS id nor by `address` either. No login is recorded.
fn expect_nobody_matched(users: &mut MockUserRepository, address: &'static str) {
    users
        .expect_record_login_by_workos_subject()
        .times(1)
        .returning(|_, _, _| Ok(None));
    users
        .expect_find_by_workos_subject()
        .times(1)
        .returning(|_, _| Ok(None));
    users
        .expect_find_by_email()
        .withf(move |e| e.as_str() == address)
        .times(1)
        .returning(|_| Ok(None));
    users.expect_record_login().never();
}

/// The organizations port knowing only [`OLDEST_ORG`], mapped to no WorkOS organization:
/// where a new person lands when nothing else applies.
fn oldest_only() -> MockOrganizationRepository {
    Organizations::created_in_order([org(OLDEST_ORG)]).mock()
}

/// The organizations port knowing no organization.
fn no_organizations() -> MockOrganizationRepository {
    Organizations::none().mock()
}

/// The organizations port knowing exactly `organizations`, created in this order.
fn knowing(organizations: impl IntoIterator<Item = crate::Organization>) -> MockOrganizationRepository {
    Organizations::created_in_order(organizations).mock()
}

/// `users`, in this order: the one-write sign-in by the WorkOS id answers `None`, the
/// insert of a new person is refused as a `Duplicate` (the address is taken, so
/// nothing is written), the lookup by WorkOS id finds nobody and the lookup by address
/// finds `stored`.
fn expect_found_by_email_through_the_insert(
    users: &mut MockUserRepository,
    order: &mut Sequence,
    stored: User,
) {
    users
        .expect_record_login_by_workos_subject()
        .times(1)
        .in_sequence(order)
        .returning(|_, _, _| Ok(None));
    users
        .expect_insert()
        .times(1)
        .in_sequence(order)
        .returning(|_| Err(RepositoryError::Duplicate));
    users
        .expect_find_by_workos_subject()
        .times(1)
        .in_sequence(order)
        .returning(|_, _| Ok(None));
    users
        .expect_find_by_email()
        .times(1)
        .in_sequence(order)
        .returning(move |_| Ok(Some(stored.clone())));
}

// ---- returning users: one write --------------------------------------------------------

#[tokio::test]
async fn a_returning_user_is_signed_in_by_their_workos_id_in_exactly_one_store_call() {
    let identity = sso_identity("jane@acme.example");
    let mut stored = user("jane@acme.example");
    stored.workos_profile_id = Some("prof_sso_1".to_owned());
    let mut users = MockUserRepository::new();
    let signed_in = stored.clone();
    users
        .expect_record_login_by_workos_subject()
        .withf(|flow, subject, at| *flow == Flow::Sso && subject == "prof_sso_1" && *at == now())
        .times(1)
        .returning(move |_, _, _| Ok(Some(signed_in.clone())));
    users.expect_find_by_workos_subject().never();
    users.expect_find_by_email().never();
    users.expect_insert().never();
    users.expect_record_login().never();
    let mut organizations = MockOrganizationRepository::new();
    organizations.expect_find_by_id().never();
    organizations.expect_find_by_workos_organization().never();
    organizations.expect_mapped_or_oldest_unmapped().never();

    let provisioned = provisioner(users, organizations)
        .provision(&identity, None, now())
        .await
        .unwrap();

    assert_eq!(provisioned.user, stored);
    assert!(provisioned.organization.is_none(), "no organization was read");
}

#[tokio::test]
async fn find_or_create_signs_a_returning_user_in_at_the_clocks_now() {
    let identity = authkit_identity("jane@acme.example");
    let mut stored = user("jane@acme.example");
    stored.workos_user_id = Some("user_authkit_1".to_owned());
    let mut users = MockUserRepository::new();
    let signed_in = stored.clone();
    users
        .expect_record_login_by_workos_subject()
        .withf(|flow, subject, at| *flow == Flow::AuthKit && subject == "user_authkit_1" && *at == now())
        .times(1)
        .returning(move |_, _, _| Ok(Some(signed_in.clone())));

    let result = provisioner(users, MockOrganizationRepository::new())
        .find_or_create(&identity, None)
        .await
        .unwrap();

    assert_eq!(result, stored);
}

#[tokio::test]
async fn existing_user_keeps_organization_and_role_whatever_the_login_requests() {
    let identity = sso_identity("jane@acme.example");
    let mut stored = user("jane@acme.example");
    stored.access_role = AccessRole::DepartmentHead;
    stored.workos_profile_id = Some("prof_sso_1".to_owned());
    // What the store holds after stamping the login: the result must be this user.
    let mut after_login = stored.clone();
    after_login.full_name = "Jane Doe (as stored after the login)".to_owned();
    let mut users = MockUserRepository::new();
    let returned = after_login.clone();
    users
        .expect_record_login_by_workos_subject()
        .times(1)
        .returning(move |_, _, _| Ok(Some(returned.clone())));
    users.expect_insert().never();
    let mut organizations = MockOrganizationRepository::new();
    organizations.expect_find_by_id().never();
    organizations.expect_mapped_or_oldest_unmapped().never();

    let result = provisioner(users, organizations)
        .find_or_create(&identity, Some(DEFAULT_ORG))
        .await
        .unwrap();

    assert_eq!(result, after_login);
    assert_eq!(result.organization_id, org_id(ACME_ORG));
    assert_eq!(result.access_role, AccessRole::DepartmentHead);
}

#[tokio::test]
async fn disabled_existing_user_is_refused_without_recording_a_login() {
    // The one-write sign-in skips a disabled user (writing nothing); taken for a new
    // person, the insert meets the stored WorkOS id, and the match finds the user.
    let identity = sso_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    let mut order = Sequence::new();
    users
        .expect_record_login_by_workos_subject()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _, _| Ok(None));
    users
        .expect_insert()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Err(RepositoryError::Duplicate));
    users
        .expect_find_by_workos_subject()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| {
            let mut disabled = user("jane@acme.example");
            disabled.workos_profile_id = Some("prof_sso_1".to_owned());
            disabled.login_disabled = true;
            Ok(Some(disabled))
        });
    users.expect_find_by_email().never();
    users.expect_record_login().never();

    let result = provisioner(users, oldest_only())
        .find_or_create(&identity, None)
        .await;

    assert!(matches!(result, Err(ProvisionError::LoginDisabled)), "{result:?}");
}

#[tokio::test]
async fn disabled_existing_user_is_refused_when_no_organization_could_be_chosen_either() {
    let identity = sso_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    users
        .expect_record_login_by_workos_subject()
        .times(1)
        .returning(|_, _, _| Ok(None));
    users.expect_insert().never();
    users.expect_find_by_workos_subject().times(1).returning(|_, _| {
        let mut disabled = user("jane@acme.example");
        disabled.workos_profile_id = Some("prof_sso_1".to_owned());
        disabled.login_disabled = true;
        Ok(Some(disabled))
    });
    users.expect_record_login().never();

    let result = provisioner(users, no_organizations())
        .find_or_create(&identity, None)
        .await;

    assert!(matches!(result, Err(ProvisionError::LoginDisabled)), "{result:?}");
}

// ---- existing people reached by address: who may become whom ----------------------------

#[tokio::test]
async fn sso_email_match_through_the_mapped_organization_links_the_profile_to_the_user() {
    let identity = sso_identity("  Jane@ACME.example ");
    let expected_link = link_of(&identity);
    let mut users = MockUserRepository::new();
    let mut order = Sequence::new();
    users
        .expect_record_login_by_workos_subject()
        .withf(|flow, subject, _| *flow == Flow::Sso && subject == "prof_sso_1")
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _, _| Ok(None));
    // Taken for a new person of the mapped organization: the address is taken.
    users
        .expect_insert()
        .withf(|new_user| new_user.organization_id == org_id(ACME_ORG))
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Err(RepositoryError::Duplicate));
    users
        .expect_find_by_workos_subject()
        .withf(|flow, subject| *flow == Flow::Sso && subject == "prof_sso_1")
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(None));
    users
        .expect_find_by_email()
        .withf(|e| e.as_str() == "jane@acme.example")
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(Some(user("jane@acme.example"))));
    users
        .expect_record_login()
        .withf(move |id, link, at| {
            *id == user_id(USER_ID) && link.as_ref() == Some(&expected_link) && *at == now()
        })
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _, _| {
            let mut linked = user("jane@acme.example");
            linked.workos_profile_id = Some("prof_sso_1".to_owned());
            Ok(Some(linked))
        });
    // The user's organization is mapped to the WorkOS organization of the connection.
    let organizations = knowing([org(OLDEST_ORG), mapped_org(ACME_ORG, WORKOS_ORG_A)]);

    let provisioned = provisioner(users, organizations)
        .provision(&identity, None, now())
        .await
        .unwrap();

    assert_eq!(provisioned.user.workos_profile_id.as_deref(), Some("prof_sso_1"));
    assert_eq!(provisioned.user.id, user_id(USER_ID));
    assert!(
        provisioned.organization.is_none(),
        "an existing user's organization is not the one chosen for a new person"
    );
}

#[tokio::test]
async fn sso_user_carrying_another_profile_id_is_refused_even_when_vouched_and_nothing_is_written() {
    // Found by e-mail through the mapped organization, but another SSO profile id is
    // already recorded: the identity is not that user's.
    let identity = sso_identity("jane@acme.example");
    let mut stored = user("jane@acme.example");
    stored.workos_profile_id = Some("prof_recorded_earlier".to_owned());
    let mut users = MockUserRepository::new();
    let mut order = Sequence::new();
    expect_found_by_email_through_the_insert(&mut users, &mut order, stored);
    users.expect_record_login().never();
    let organizations = knowing([org(OLDEST_ORG), mapped_org(ACME_ORG, WORKOS_ORG_A)]);

    let result = provisioner(users, organizations)
        .find_or_create(&identity, None)
        .await;

    assert!(
        matches!(result, Err(ProvisionError::AccountLinkRequired)),
        "{result:?}"
    );
}

#[tokio::test]
async fn authkit_user_carrying_another_user_id_is_refused_even_with_a_verified_email() {
    let identity = authkit_identity("jane@acme.example");
    assert_eq!(identity.email_verified, Some(true));
    let mut stored = user("jane@acme.example");
    stored.workos_user_id = Some("user_recorded_earlier".to_owned());
    let mut users = MockUserRepository::new();
    let mut order = Sequence::new();
    expect_found_by_email_through_the_insert(&mut users, &mut order, stored);
    users.expect_record_login().never();

    let result = provisioner(users, oldest_only())
        .find_or_create(&identity, None)
        .await;

    assert!(
        matches!(result, Err(ProvisionError::AccountLinkRequired)),
        "{result:?}"
    );
}

#[tokio::test]
async fn existing_user_with_only_an_id_of_the_other_flow_gets_the_link_of_this_flow() {
    let identity = authkit_identity("jane@acme.example");
    let expected_link = link_of(&identity);
    let mut stored = user("jane@acme.example");
    stored.workos_profile_id = Some("prof_sso_1".to_owned());
    let mut users = MockUserRepository::new();
    let mut order = Sequence::new();
    expect_found_by_email_through_the_insert(&mut users, &mut order, stored.clone());
    let mut linked = stored.clone();
    linked.workos_user_id = Some("user_authkit_1".to_owned());
    users
        .expect_record_login()
        .withf(move |_, link, _| link.as_ref() == Some(&expected_link))
        .times(1)
        .in_sequence(&mut order)
        .returning(move |_, _, _| Ok(Some(linked.clone())));

    let result = provisioner(users, oldest_only())
        .find_or_create(&identity, None)
        .await
        .unwrap();

    assert_eq!(result.workos_user_id.as_deref(), Some("user_authkit_1"));
    assert_eq!(result.workos_profile_id.as_deref(), Some("prof_sso_1"));
}

#[tokio::test]
async fn disabled_user_found_by_email_is_refused_without_recording_a_login() {
    let identity = sso_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    let mut order = Sequence::new();
    expect_found_by_email_through_the_insert(
        &mut users,
        &mut order,
        User {
            login_disabled: true,
            ..user("jane@acme.example")
        },
    );
    users.expect_record_login().never();
    let organizations = knowing([mapped_org(ACME_ORG, WORKOS_ORG_A)]);

    let result = provisioner(users, organizations)
        .find_or_create(&identity, None)
        .await;

    assert!(matches!(result, Err(ProvisionError::LoginDisabled)), "{result:?}");
}

#[tokio::test]
async fn user_disabled_while_signing_in_is_refused() {
    let identity = authkit_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    let mut order = Sequence::new();
    expect_found_by_email_through_the_insert(&mut users, &mut order, user("jane@acme.example"));
    users.expect_record_login().times(1).returning(|_, _, _| {
        let mut disabled = user("jane@acme.example");
        disabled.workos_user_id = Some("user_authkit_1".to_owned());
        disabled.login_disabled = true;
        Ok(Some(disabled))
    });

    let result = provisioner(users, oldest_only())
        .find_or_create(&identity, None)
        .await;

    assert!(matches!(result, Err(ProvisionError::LoginDisabled)), "{result:?}");
}

#[tokio::test]
async fn user_vanishing_while_signing_in_is_an_unexpected_store_failure() {
    let identity = authkit_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    let mut order = Sequence::new();
    expect_found_by_email_through_the_insert(&mut users, &mut order, user("jane@acme.example"));
    users.expect_record_login().times(1).returning(|_, _, _| Ok(None));

    let result = provisioner(users, oldest_only())
        .find_or_create(&identity, None)
        .await;

    assert!(
        matches!(result, Err(ProvisionError::Store(RepositoryError::Unexpected(_)))),
        "{result:?}"
    );
}

/// `users`: the identity is taken for a new person, whose insert the stored address
/// refuses; then nobody is found by the WorkOS id but `stored` is found by address.
/// No login is recorded.
fn users_matching_by_email_only(stored: User) -> MockUserRepository {
    let mut users = MockUserRepository::new();
    let mut order = Sequence::new();
    expect_found_by_email_through_the_insert(&mut users, &mut order, stored);
    users.expect_record_login().never();
    users
}

#[tokio::test]
async fn sso_email_match_through_an_unmapped_organization_is_account_link_required_and_nothing_is_written() {
    // The user's organization is mapped to no WorkOS organization: no SSO connection vouches.
    let identity = sso_identity("Jane@Acme.Example");
    let result = provisioner(
        users_matching_by_email_only(user("jane@acme.example")),
        knowing([org(OLDEST_ORG), org(ACME_ORG)]),
    )
    .find_or_create(&identity, None)
    .await;

    assert!(
        matches!(result, Err(ProvisionError::AccountLinkRequired)),
        "{result:?}"
    );
}

#[tokio::test]
async fn sso_email_match_through_another_companys_workos_organization_is_account_link_required_and_nothing_is_written()
 {
    // The victim's organization is mapped to org B; the login comes through org A's
    // connection and asks for the victim's organization (a mismatch for a new person).
    let identity = sso_identity("CEO@Acme.Example");
    let mut users = MockUserRepository::new();
    expect_nobody_signed_in_then(&mut users, user("ceo@acme.example"));
    let organizations = knowing([mapped_org(ACME_ORG, WORKOS_ORG_B)]);

    let result = provisioner(users, organizations)
        .find_or_create(&identity, Some(ACME_ORG))
        .await;

    assert!(
        matches!(result, Err(ProvisionError::AccountLinkRequired)),
        "{result:?}"
    );
}

/// `users`: the one-write sign-in answers `None`; no organization can be chosen for a
/// new person, so nothing is inserted; nobody is found by the WorkOS id and `stored`
/// is found by address. No login is recorded.
fn expect_nobody_signed_in_then(users: &mut MockUserRepository, stored: User) {
    users
        .expect_record_login_by_workos_subject()
        .times(1)
        .returning(|_, _, _| Ok(None));
    users.expect_insert().never();
    users
        .expect_find_by_workos_subject()
        .times(1)
        .returning(|_, _| Ok(None));
    users
        .expect_find_by_email()
        .times(1)
        .returning(move |_| Ok(Some(stored.clone())));
    users.expect_record_login().never();
}

#[tokio::test]
async fn sso_email_match_from_a_profile_without_a_usable_workos_organization_is_account_link_required() {
    for organization_id in [None, Some(""), Some("not-an-org"), Some("ORG_01HX")] {
        let mut identity = sso_identity("jane@acme.example");
        identity.organization_id = organization_id.map(str::to_owned);
        // Whatever the user's organization is mapped to, nothing vouches.
        let organizations = knowing([org(OLDEST_ORG), mapped_org(ACME_ORG, WORKOS_ORG_A)]);

        let result = provisioner(
            users_matching_by_email_only(user("jane@acme.example")),
            organizations,
        )
        .find_or_create(&identity, None)
        .await;

        assert!(
            matches!(result, Err(ProvisionError::AccountLinkRequired)),
            "{organization_id:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn sso_email_match_of_a_user_whose_organization_no_longer_exists_is_account_link_required() {
    let identity = sso_identity("jane@acme.example");
    let result = provisioner(
        users_matching_by_email_only(user("jane@acme.example")),
        oldest_only(),
    )
    .find_or_create(&identity, None)
    .await;

    assert!(
        matches!(result, Err(ProvisionError::AccountLinkRequired)),
        "{result:?}"
    );
}

#[tokio::test]
async fn sso_email_match_does_not_vouch_through_the_organization_the_login_requests() {
    // The request names DEFAULT_ORG, mapped to the identity's WorkOS organization (a
    // new person would join it), but the existing user belongs to an unmapped one:
    // only the user's organization counts.
    let identity = sso_identity("jane@acme.example");
    let organizations = knowing([org(ACME_ORG), mapped_org(DEFAULT_ORG, WORKOS_ORG_A)]);

    let result = provisioner(
        users_matching_by_email_only(user("jane@acme.example")),
        organizations,
    )
    .find_or_create(&identity, Some(DEFAULT_ORG))
    .await;

    assert!(
        matches!(result, Err(ProvisionError::AccountLinkRequired)),
        "{result:?}"
    );
}

#[tokio::test]
async fn authkit_email_match_that_workos_has_not_verified_is_account_link_required_and_nothing_is_written() {
    for email_verified in [Some(false), None] {
        let mut identity = authkit_identity("jane@acme.example");
        identity.email_verified = email_verified;

        let result = provisioner(
            users_matching_by_email_only(user("jane@acme.example")),
            oldest_only(),
        )
        .find_or_create(&identity, None)
        .await;

        assert!(
            matches!(result, Err(ProvisionError::AccountLinkRequired)),
            "{email_verified:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn authkit_email_match_that_workos_verified_links_the_user_id() {
    let identity = authkit_identity("Jane@Acme.Example");
    assert_eq!(identity.email_verified, Some(true));
    let expected_link = link_of(&identity);
    let mut users = MockUserRepository::new();
    let mut order = Sequence::new();
    expect_found_by_email_through_the_insert(&mut users, &mut order, user("jane@acme.example"));
    users
        .expect_record_login()
        .withf(move |id, link, at| {
            *id == user_id(USER_ID) && link.as_ref() == Some(&expected_link) && *at == now()
        })
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _, _| {
            let mut linked = user("jane@acme.example");
            linked.workos_user_id = Some("user_authkit_1".to_owned());
            Ok(Some(linked))
        });
    // AuthKit's own flag vouches.
    let result = provisioner(users, oldest_only())
        .find_or_create(&identity, None)
        .await
        .unwrap();

    assert_eq!(result.id, user_id(USER_ID));
    assert_eq!(result.workos_user_id.as_deref(), Some("user_authkit_1"));
}

#[tokio::test]
async fn a_user_created_between_the_two_reads_by_a_concurrent_first_login_of_the_same_identity_is_signed_in()
{
    // Not found by the WorkOS id, then found by address already carrying that id: a
    // concurrent first login created them. No vouching is needed and nothing is linked.
    let identity = sso_identity("jane@acme.example");
    let mut winner = user("jane@acme.example");
    winner.id = user_id(NEW_USER_ID);
    winner.workos_profile_id = Some("prof_sso_1".to_owned());
    let mut users = MockUserRepository::new();
    let mut order = Sequence::new();
    expect_found_by_email_through_the_insert(&mut users, &mut order, winner.clone());
    let signed_in = winner.clone();
    users
        .expect_record_login()
        .withf(|id, link, _| *id == user_id(NEW_USER_ID) && link.is_none())
        .times(1)
        .in_sequence(&mut order)
        .returning(move |_, _, _| Ok(Some(signed_in.clone())));
    // The user's organization is not consulted (only the new person's choice is made).
    let mut organizations = MockOrganizationRepository::new();
    organizations.expect_find_by_id().never();
    organizations
        .expect_mapped_or_oldest_unmapped()
        .times(1)
        .returning(|_| Ok(Some(org(OLDEST_ORG))));

    let result = provisioner(users, organizations)
        .find_or_create(&identity, None)
        .await
        .unwrap();

    assert_eq!(result, winner);
}

#[tokio::test]
async fn a_link_the_store_refuses_as_a_duplicate_is_account_link_required() {
    // Another user carries the WorkOS id (recorded after the lookup by id).
    let identity = authkit_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    let mut order = Sequence::new();
    expect_found_by_email_through_the_insert(&mut users, &mut order, user("jane@acme.example"));
    users
        .expect_record_login()
        .withf(|_, link, _| link.is_some())
        .times(1)
        .returning(|_, _, _| Err(RepositoryError::Duplicate));

    let result = provisioner(users, oldest_only())
        .find_or_create(&identity, None)
        .await;

    assert!(
        matches!(result, Err(ProvisionError::AccountLinkRequired)),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_link_lost_to_a_concurrent_login_with_another_workos_id_is_account_link_required() {
    // Between the lookup and the write, another login recorded another profile id;
    // the store never overwrites it, so the user carries someone else's id.
    let identity = sso_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    let mut order = Sequence::new();
    expect_found_by_email_through_the_insert(&mut users, &mut order, user("jane@acme.example"));
    users.expect_record_login().times(1).returning(|_, _, _| {
        let mut other = user("jane@acme.example");
        other.workos_profile_id = Some("prof_someone_else".to_owned());
        Ok(Some(other))
    });
    let organizations = knowing([mapped_org(ACME_ORG, WORKOS_ORG_A)]);

    let result = provisioner(users, organizations)
        .find_or_create(&identity, None)
        .await;

    assert!(
        matches!(result, Err(ProvisionError::AccountLinkRequired)),
        "{result:?}"
    );
}

#[tokio::test]
async fn store_outage_while_reading_the_users_organization_is_a_store_error_not_a_refusal() {
    let identity = sso_identity("jane@acme.example");
    let mut organizations = MockOrganizationRepository::new();
    organizations
        .expect_find_by_id()
        .times(1)
        .returning(|_| Err(RepositoryError::Unavailable("timed out".into())));
    organizations
        .expect_mapped_or_oldest_unmapped()
        .returning(|_| Ok(Some(org(OLDEST_ORG))));

    let result = provisioner(
        users_matching_by_email_only(user("jane@acme.example")),
        organizations,
    )
    .find_or_create(&identity, None)
    .await;

    assert!(
        matches!(
            result,
            Err(ProvisionError::Store(RepositoryError::Unavailable(_)))
        ),
        "{result:?}"
    );
}

// ---- addresses nobody vouched for -------------------------------------------------------

#[tokio::test]
async fn a_user_created_from_an_unvouched_address_is_not_linked_by_a_verified_authkit_login_of_that_address()
{
    // Someone signed up with the address before its owner, without proving it.
    let identity = authkit_identity("jane@acme.example");
    assert_eq!(identity.email_verified, Some(true));
    let squatter = User {
        email_verified: Some(false),
        ..user("jane@acme.example")
    };

    let result = provisioner(users_matching_by_email_only(squatter), oldest_only())
        .find_or_create(&identity, None)
        .await;

    assert!(
        matches!(result, Err(ProvisionError::AccountLinkRequired)),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_user_created_from_an_unvouched_address_is_not_linked_by_an_sso_login_through_its_mapped_organization_either()
 {
    let identity = sso_identity("jane@acme.example");
    let squatter = User {
        email_verified: Some(false),
        ..user("jane@acme.example")
    };
    let organizations = knowing([org(OLDEST_ORG), mapped_org(ACME_ORG, WORKOS_ORG_A)]);

    let result = provisioner(users_matching_by_email_only(squatter), organizations)
        .find_or_create(&identity, None)
        .await;

    assert!(
        matches!(result, Err(ProvisionError::AccountLinkRequired)),
        "{result:?}"
    );
}

#[tokio::test]
async fn legacy_and_vouched_users_are_still_linked_by_a_verified_authkit_login_of_their_address() {
    for email_verified in [None, Some(true)] {
        let identity = authkit_identity("jane@acme.example");
        let expected_link = link_of(&identity);
        let stored = User {
            email_verified,
            ..user("jane@acme.example")
        };
        let mut users = MockUserRepository::new();
        let mut order = Sequence::new();
        expect_found_by_email_through_the_insert(&mut users, &mut order, stored.clone());
        let linked = User {
            workos_user_id: Some("user_authkit_1".to_owned()),
            ..stored
        };
        users
            .expect_record_login()
            .withf(move |id, link, _| *id == user_id(USER_ID) && link.as_ref() == Some(&expected_link))
            .times(1)
            .in_sequence(&mut order)
            .returning(move |_, _, _| Ok(Some(linked.clone())));

        let result = provisioner(users, oldest_only())
            .find_or_create(&identity, None)
            .await;

        assert_eq!(
            result.ok().and_then(|u| u.workos_user_id),
            Some("user_authkit_1".to_owned()),
            "{email_verified:?}"
        );
    }
}

#[tokio::test]
async fn a_legacy_user_is_still_linked_by_an_sso_login_through_its_mapped_organization() {
    let identity = sso_identity("jane@acme.example");
    let expected_link = link_of(&identity);
    let mut users = MockUserRepository::new();
    let mut order = Sequence::new();
    expect_found_by_email_through_the_insert(&mut users, &mut order, user("jane@acme.example"));
    users
        .expect_record_login()
        .withf(move |_, link, _| link.as_ref() == Some(&expected_link))
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _, _| {
            Ok(Some(User {
                workos_profile_id: Some("prof_sso_1".to_owned()),
                ..user("jane@acme.example")
            }))
        });
    assert_eq!(user("jane@acme.example").email_verified, None);

    let result = provisioner(users, knowing([mapped_org(ACME_ORG, WORKOS_ORG_A)]))
        .find_or_create(&identity, None)
        .await
        .unwrap();

    assert_eq!(result.workos_profile_id.as_deref(), Some("prof_sso_1"));
}

#[tokio::test]
async fn a_new_user_records_that_the_address_is_vouched_only_when_the_identity_vouches_for_it() {
    for (flow, vouched, expected) in [
        (Flow::AuthKit, Some(true), true),
        (Flow::AuthKit, Some(false), false),
        (Flow::AuthKit, None, false),
        (Flow::Sso, Some(true), true),
        (Flow::Sso, Some(false), false),
        (Flow::Sso, None, false),
    ] {
        let mut identity = match flow {
            Flow::AuthKit => authkit_identity("jane@acme.example"),
            Flow::Sso => sso_identity("jane@acme.example"),
        };
        identity.email_verified = vouched;
        let mut users = MockUserRepository::new();
        expect_nobody_found(&mut users, "jane@acme.example");
        users
            .expect_insert()
            .withf(move |new_user| new_user.email_verified == expected)
            .times(1)
            .returning(|new_user| Ok(created(new_user)));

        let result = provisioner(users, oldest_only())
            .find_or_create(&identity, None)
            .await
            .unwrap();

        assert_eq!(result.email_verified, Some(expected), "{flow:?} {vouched:?}");
    }
}

// ---- existing people when no organization can be chosen for a new one ---------------------

#[tokio::test]
async fn an_existing_person_is_matched_not_refused_when_no_organization_could_be_chosen() {
    // JOIN_OLDEST_ORGANIZATION off and nothing else applies: a new person would be
    // NoOrganization, but this is an existing user whose address WorkOS verified.
    let identity = authkit_identity("jane@acme.example");
    let expected_link = link_of(&identity);
    let mut users = MockUserRepository::new();
    let mut order = Sequence::new();
    users
        .expect_record_login_by_workos_subject()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _, _| Ok(None));
    users.expect_insert().never();
    users
        .expect_find_by_workos_subject()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(None));
    users
        .expect_find_by_email()
        .withf(|e| e.as_str() == "jane@acme.example")
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(Some(user("jane@acme.example"))));
    users
        .expect_record_login()
        .withf(move |id, link, at| {
            *id == user_id(USER_ID) && link.as_ref() == Some(&expected_link) && *at == now()
        })
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _, _| {
            let mut linked = user("jane@acme.example");
            linked.workos_user_id = Some("user_authkit_1".to_owned());
            Ok(Some(linked))
        });
    // An unmapped organization exists, but the oldest is not joined.
    let policy = ProvisioningPolicy {
        join_oldest_organization: false,
        ..ProvisioningPolicy::default()
    };

    let provisioned = provisioner_with(users, oldest_only(), policy)
        .provision(&identity, None, now())
        .await
        .unwrap();

    assert_eq!(provisioned.user.id, user_id(USER_ID));
    assert_eq!(provisioned.user.organization_id, org_id(ACME_ORG));
    assert_eq!(provisioned.user.workos_user_id.as_deref(), Some("user_authkit_1"));
    assert!(provisioned.organization.is_none());
}

#[tokio::test]
async fn an_existing_person_is_matched_not_refused_when_the_request_would_be_a_mismatch_for_a_new_one() {
    // The identity's WorkOS organization maps to ACME_ORG, the login names DEFAULT_ORG:
    // OrganizationMismatch for a new person; this user of ACME_ORG signs in there.
    let identity = sso_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    users
        .expect_record_login_by_workos_subject()
        .times(1)
        .returning(|_, _, _| Ok(None));
    users.expect_insert().never();
    users
        .expect_find_by_workos_subject()
        .times(1)
        .returning(|_, _| Ok(None));
    users
        .expect_find_by_email()
        .times(1)
        .returning(|_| Ok(Some(user("jane@acme.example"))));
    users
        .expect_record_login()
        .withf(|id, link, _| *id == user_id(USER_ID) && link.is_some())
        .times(1)
        .returning(|_, _, _| {
            let mut linked = user("jane@acme.example");
            linked.workos_profile_id = Some("prof_sso_1".to_owned());
            Ok(Some(linked))
        });
    let organizations = knowing([mapped_org(ACME_ORG, WORKOS_ORG_A), org(DEFAULT_ORG)]);

    let result = provisioner(users, organizations)
        .find_or_create(&identity, Some(DEFAULT_ORG))
        .await
        .unwrap();

    assert_eq!(result.organization_id, org_id(ACME_ORG));
    assert_eq!(result.workos_profile_id.as_deref(), Some("prof_sso_1"));
}

#[tokio::test]
async fn an_existing_person_the_matching_rule_refuses_is_refused_when_no_organization_could_be_chosen() {
    // No organization for a new person, and the address match is not vouched for: the
    // refusal is the matching rule's, and nothing is written.
    let mut identity = authkit_identity("jane@acme.example");
    identity.email_verified = Some(false);
    let mut users = MockUserRepository::new();
    expect_nobody_signed_in_then(&mut users, user("jane@acme.example"));

    let result = provisioner(users, no_organizations())
        .find_or_create(&identity, None)
        .await;

    assert!(
        matches!(result, Err(ProvisionError::AccountLinkRequired)),
        "{result:?}"
    );
}

// ---- new users -----------------------------------------------------------------

#[tokio::test]
async fn new_user_is_created_with_a_normalised_email_full_name_and_the_default_role_and_preference() {
    let mut identity = sso_identity("  Jane.Doe@ACME.Example ");
    identity.first_name = Some(" Jane ".to_owned());
    identity.last_name = Some("van Doe".to_owned());
    let expected_link = link_of(&identity);
    let mut users = MockUserRepository::new();
    expect_nobody_found(&mut users, "jane.doe@acme.example");
    users
        .expect_insert()
        .withf(move |new_user| {
            new_user.email.as_str() == "jane.doe@acme.example"
                && new_user.full_name == "Jane van Doe"
                && new_user.organization_id == org_id(ACME_ORG)
                && new_user.access_role == AccessRole::SalesRep
                && new_user.conversation_open_preference == "split"
                && new_user.workos == expected_link
                && new_user.created_at == now()
        })
        .times(1)
        .returning(|new_user| Ok(created(new_user)));

    let result = provisioner(users, knowing([org(OLDEST_ORG), org(ACME_ORG)]))
        .find_or_create(&identity, Some(ACME_ORG))
        .await
        .unwrap();

    assert_eq!(result.id, user_id(NEW_USER_ID));
    assert_eq!(result.organization_id, org_id(ACME_ORG));
    assert_eq!(result.access_role, AccessRole::SalesRep);
}

#[tokio::test]
async fn a_new_user_is_inserted_without_any_lookup_and_provisioned_with_the_organization_chosen() {
    let identity = sso_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    let mut order = Sequence::new();
    users
        .expect_record_login_by_workos_subject()
        .withf(|flow, subject, at| *flow == Flow::Sso && subject == "prof_sso_1" && *at == now())
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _, _| Ok(None));
    users
        .expect_insert()
        .withf(|new_user| new_user.organization_id == org_id(OLDEST_ORG))
        .times(1)
        .in_sequence(&mut order)
        .returning(|new_user| Ok(created(new_user)));
    users.expect_find_by_workos_subject().never();
    users.expect_find_by_email().never();
    users.expect_record_login().never();

    let provisioned = provisioner(users, oldest_only())
        .provision(&identity, None, now())
        .await
        .unwrap();

    assert_eq!(provisioned.user.id, user_id(NEW_USER_ID));
    assert_eq!(provisioned.user.organization_id, org_id(OLDEST_ORG));
    assert_eq!(provisioned.organization, Some(org(OLDEST_ORG)));
}

#[tokio::test]
async fn losing_the_insert_race_to_a_user_whose_email_is_not_vouched_is_account_link_required() {
    let mut identity = authkit_identity("jane@acme.example");
    identity.email_verified = Some(false);
    let result = provisioner(
        users_matching_by_email_only(user("jane@acme.example")),
        oldest_only(),
    )
    .find_or_create(&identity, None)
    .await;

    assert!(
        matches!(result, Err(ProvisionError::AccountLinkRequired)),
        "{result:?}"
    );
}

#[test]
fn default_policy_gives_new_users_the_least_privilege_and_the_split_preference() {
    let policy = ProvisioningPolicy::default();
    assert_eq!(policy.default_role, AccessRole::SalesRep);
    assert_eq!(policy.default_conversation_open_preference, "split");
    assert_eq!(policy.default_organization_id, None);
    assert!(
        policy.join_oldest_organization,
        "JOIN_OLDEST_ORGANIZATION defaults to true"
    );
}

#[tokio::test]
async fn new_user_without_names_is_named_after_the_email_local_part() {
    let mut identity = authkit_identity("Jane.Doe@acme.example");
    identity.first_name = Some("   ".to_owned());
    identity.last_name = None;
    let mut users = MockUserRepository::new();
    expect_nobody_found(&mut users, "jane.doe@acme.example");
    users
        .expect_insert()
        .withf(|new_user| new_user.full_name == "jane.doe")
        .times(1)
        .returning(|new_user| Ok(created(new_user)));

    let result = provisioner(users, oldest_only())
        .find_or_create(&identity, None)
        .await
        .unwrap();

    assert_eq!(result.full_name, "jane.doe");
}

#[tokio::test]
async fn new_user_with_only_a_last_name_is_named_by_it_alone() {
    let mut identity = sso_identity("jane@acme.example");
    identity.first_name = Some(String::new());
    identity.last_name = Some("Doe".to_owned());
    let mut users = MockUserRepository::new();
    expect_nobody_found(&mut users, "jane@acme.example");
    users
        .expect_insert()
        .withf(|new_user| new_user.full_name == "Doe")
        .times(1)
        .returning(|new_user| Ok(created(new_user)));

    provisioner(users, oldest_only())
        .find_or_create(&identity, None)
        .await
        .unwrap();
}

#[tokio::test]
async fn new_user_gets_the_configured_default_role_and_preference() {
    let identity = sso_identity("jane@acme.example");
    let policy = ProvisioningPolicy {
        default_role: AccessRole::DepartmentHead,
        default_conversation_open_preference: "stacked".to_owned(),
        default_organization_id: None,
        join_oldest_organization: true,
    };
    let mut users = MockUserRepository::new();
    expect_nobody_found(&mut users, "jane@acme.example");
    users
        .expect_insert()
        .withf(|new_user| {
            new_user.access_role == AccessRole::DepartmentHead
                && new_user.conversation_open_preference == "stacked"
        })
        .times(1)
        .returning(|new_user| Ok(created(new_user)));

    provisioner_with(users, oldest_only(), policy)
        .find_or_create(&identity, None)
        .await
        .unwrap();
}

#[tokio::test]
async fn new_user_joins_the_oldest_org_when_no_other_choice() {
    let identity = sso_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    expect_nobody_found(&mut users, "jane@acme.example");
    users
        .expect_insert()
        .withf(|new_user| new_user.organization_id == org_id(OLDEST_ORG))
        .times(1)
        .returning(|new_user| Ok(created(new_user)));
    // The identity's WorkOS organization is mapped to none of them.
    let organizations = knowing([org(OLDEST_ORG), org(ACME_ORG), org(DEFAULT_ORG)]);

    let result = provisioner(users, organizations)
        .find_or_create(&identity, None)
        .await
        .unwrap();

    assert_eq!(result.organization_id, org_id(OLDEST_ORG));
}

#[tokio::test]
async fn new_user_with_no_organization_at_all_is_refused_and_nothing_is_inserted() {
    let identity = sso_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    expect_nobody_matched(&mut users, "jane@acme.example");
    users.expect_insert().never();
    let policy = ProvisioningPolicy {
        default_organization_id: Some(org_id(DEFAULT_ORG)),
        ..ProvisioningPolicy::default()
    };

    let result = provisioner_with(users, no_organizations(), policy)
        .find_or_create(&identity, Some(MISSING_ORG))
        .await;

    assert!(
        matches!(result, Err(ProvisionError::NoOrganization)),
        "{result:?}"
    );
}

#[tokio::test]
async fn losing_the_insert_race_signs_in_the_winner() {
    let identity = sso_identity("jane@acme.example");
    let mut winner = user("jane@acme.example");
    winner.id = user_id(NEW_USER_ID);
    winner.workos_profile_id = Some("prof_sso_1".to_owned());
    let mut users = MockUserRepository::new();
    let mut order = Sequence::new();
    users
        .expect_record_login_by_workos_subject()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _, _| Ok(None));
    users
        .expect_insert()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Err(RepositoryError::Duplicate));
    users.expect_find_by_email().never();
    let found = winner.clone();
    users
        .expect_find_by_workos_subject()
        .withf(|flow, subject| *flow == Flow::Sso && subject == "prof_sso_1")
        .times(1)
        .in_sequence(&mut order)
        .returning(move |_, _| Ok(Some(found.clone())));
    let signed_in = winner.clone();
    users
        .expect_record_login()
        .withf(|id, link, at| *id == user_id(NEW_USER_ID) && link.is_none() && *at == now())
        .times(1)
        .in_sequence(&mut order)
        .returning(move |_, _, _| Ok(Some(signed_in.clone())));

    let result = provisioner(users, oldest_only())
        .find_or_create(&identity, None)
        .await
        .unwrap();

    assert_eq!(result, winner);
}

#[tokio::test]
async fn losing_the_insert_race_to_a_user_found_only_by_email_links_the_identity() {
    let identity = authkit_identity("jane@acme.example");
    let expected_link = link_of(&identity);
    let mut users = MockUserRepository::new();
    let mut order = Sequence::new();
    expect_found_by_email_through_the_insert(&mut users, &mut order, user("jane@acme.example"));
    users
        .expect_record_login()
        .withf(move |id, link, _| *id == user_id(USER_ID) && link.as_ref() == Some(&expected_link))
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _, _| {
            let mut linked = user("jane@acme.example");
            linked.workos_user_id = Some("user_authkit_1".to_owned());
            Ok(Some(linked))
        });

    let result = provisioner(users, oldest_only())
        .find_or_create(&identity, None)
        .await
        .unwrap();

    assert_eq!(result.id, user_id(USER_ID));
}

#[tokio::test]
async fn a_duplicate_insert_with_no_winner_to_read_is_an_unexpected_store_failure() {
    let identity = sso_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    users
        .expect_record_login_by_workos_subject()
        .times(1)
        .returning(|_, _, _| Ok(None));
    users
        .expect_find_by_workos_subject()
        .times(1)
        .returning(|_, _| Ok(None));
    users.expect_find_by_email().times(1).returning(|_| Ok(None));
    users
        .expect_insert()
        .times(1)
        .returning(|_| Err(RepositoryError::Duplicate));
    users.expect_record_login().never();

    let result = provisioner(users, oldest_only())
        .find_or_create(&identity, None)
        .await;

    assert!(
        matches!(result, Err(ProvisionError::Store(RepositoryError::Unexpected(_)))),
        "{result:?}"
    );
}

#[tokio::test]
async fn insert_failing_for_another_reason_is_reported_without_a_re_read() {
    let identity = sso_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    expect_nobody_found(&mut users, "jane@acme.example");
    users
        .expect_insert()
        .times(1)
        .returning(|_| Err(RepositoryError::Unavailable("primary stepped down".into())));

    let result = provisioner(users, oldest_only())
        .find_or_create(&identity, None)
        .await;

    assert!(
        matches!(
            result,
            Err(ProvisionError::Store(RepositoryError::Unavailable(_)))
        ),
        "{result:?}"
    );
}

// ---- failures of the store -------------------------------------------

#[tokio::test]
async fn store_unavailable_while_signing_in_by_the_workos_id_is_a_store_error() {
    let identity = sso_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    users
        .expect_record_login_by_workos_subject()
        .times(1)
        .returning(|_, _, _| Err(RepositoryError::Unavailable("server selection timed out".into())));
    users.expect_find_by_workos_subject().never();
    users.expect_find_by_email().never();
    users.expect_insert().never();
    users.expect_record_login().never();

    let result = provisioner(users, MockOrganizationRepository::new())
        .find_or_create(&identity, None)
        .await;

    assert!(
        matches!(
            result,
            Err(ProvisionError::Store(RepositoryError::Unavailable(_)))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn store_unavailable_while_finding_by_email_is_a_store_error() {
    let identity = sso_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    let mut order = Sequence::new();
    users
        .expect_record_login_by_workos_subject()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _, _| Ok(None));
    users
        .expect_insert()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Err(RepositoryError::Duplicate));
    users
        .expect_find_by_workos_subject()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(None));
    users
        .expect_find_by_email()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Err(RepositoryError::Unavailable("connection refused".into())));
    users.expect_record_login().never();

    let result = provisioner(users, oldest_only())
        .find_or_create(&identity, None)
        .await;

    assert!(
        matches!(
            result,
            Err(ProvisionError::Store(RepositoryError::Unavailable(_)))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn unusable_identity_email_is_refused_before_any_repository_call() {
    for (raw, why) in [
        ("   ", EmailError::Empty),
        ("jane.acme.example", EmailError::Malformed),
        ("jane@", EmailError::Malformed),
    ] {
        let identity = sso_identity(raw);
        let mut users = MockUserRepository::new();
        users.expect_record_login_by_workos_subject().never();
        users.expect_find_by_workos_subject().never();
        users.expect_find_by_email().never();
        users.expect_insert().never();
        users.expect_record_login().never();
        let mut organizations = MockOrganizationRepository::new();
        organizations.expect_find_by_id().never();
        organizations.expect_find_by_workos_organization().never();
        organizations.expect_mapped_or_oldest_unmapped().never();

        let result = provisioner(users, organizations)
            .find_or_create(&identity, Some(ACME_ORG))
            .await;

        assert!(
            matches!(&result, Err(ProvisionError::InvalidIdentity(e)) if *e == why),
            "{raw:?}: {result:?}"
        );
    }
}

// ---- choosing an organization -------------------------------------------------------

#[tokio::test]
async fn requested_organization_that_exists_wins() {
    let organizations = knowing([org(OLDEST_ORG), org(DEFAULT_ORG), org(ACME_ORG)]);
    let policy = ProvisioningPolicy {
        default_organization_id: Some(org_id(DEFAULT_ORG)),
        ..ProvisioningPolicy::default()
    };

    let chosen = provisioner_with(MockUserRepository::new(), organizations, policy)
        .choose_organization(None, Some(ACME_ORG))
        .await
        .unwrap();

    assert_eq!(chosen.id, org_id(ACME_ORG));
}

#[tokio::test]
async fn requested_organization_id_in_upper_case_with_spaces_is_accepted() {
    let chosen = provisioner(
        MockUserRepository::new(),
        knowing([org(OLDEST_ORG), org(ACME_ORG)]),
    )
    .choose_organization(None, Some(" 64A1B2C3D4E5F60012345678 "))
    .await
    .unwrap();

    assert_eq!(chosen.id, org_id(ACME_ORG));
}

#[tokio::test]
async fn requested_workos_organization_id_falls_through_without_being_looked_up() {
    let mut organizations = MockOrganizationRepository::new();
    // The only lookup by id is the default's.
    organizations
        .expect_find_by_id()
        .withf(|id| *id == org_id(DEFAULT_ORG))
        .times(1)
        .returning(|_| Ok(Some(org(DEFAULT_ORG))));
    organizations
        .expect_mapped_or_oldest_unmapped()
        .times(1)
        .returning(|_| Ok(Some(org(OLDEST_ORG))));
    let policy = ProvisioningPolicy {
        default_organization_id: Some(org_id(DEFAULT_ORG)),
        ..ProvisioningPolicy::default()
    };

    let chosen = provisioner_with(MockUserRepository::new(), organizations, policy)
        .choose_organization(None, Some("org_01HX9R3K4N6P8QZBVTYM2D5A7C"))
        .await
        .unwrap();

    assert_eq!(chosen.id, org_id(DEFAULT_ORG));
}

#[tokio::test]
async fn requested_workos_organization_id_without_a_default_goes_to_the_oldest_with_no_lookup() {
    let mut organizations = MockOrganizationRepository::new();
    organizations.expect_find_by_id().never();
    organizations
        .expect_mapped_or_oldest_unmapped()
        .times(1)
        .returning(|_| Ok(Some(org(OLDEST_ORG))));

    let chosen = provisioner(MockUserRepository::new(), organizations)
        .choose_organization(None, Some("org_01HX9R3K4N6P8QZBVTYM2D5A7C"))
        .await
        .unwrap();

    assert_eq!(chosen.id, org_id(OLDEST_ORG));
}

#[tokio::test]
async fn requested_organization_that_does_not_exist_falls_through_to_the_default() {
    let policy = ProvisioningPolicy {
        default_organization_id: Some(org_id(DEFAULT_ORG)),
        ..ProvisioningPolicy::default()
    };

    let chosen = provisioner_with(
        MockUserRepository::new(),
        knowing([org(OLDEST_ORG), org(DEFAULT_ORG)]),
        policy,
    )
    .choose_organization(None, Some(MISSING_ORG))
    .await
    .unwrap();

    assert_eq!(chosen.id, org_id(DEFAULT_ORG));
}

#[tokio::test]
async fn missing_default_organization_falls_through_to_the_oldest() {
    let policy = ProvisioningPolicy {
        default_organization_id: Some(org_id(DEFAULT_ORG)),
        ..ProvisioningPolicy::default()
    };

    let chosen = provisioner_with(MockUserRepository::new(), oldest_only(), policy)
        .choose_organization(None, None)
        .await
        .unwrap();

    assert_eq!(chosen.id, org_id(OLDEST_ORG));
}

#[tokio::test]
async fn no_organization_at_all_is_no_organization() {
    let policy = ProvisioningPolicy {
        default_organization_id: Some(org_id(DEFAULT_ORG)),
        ..ProvisioningPolicy::default()
    };

    let result = provisioner_with(MockUserRepository::new(), no_organizations(), policy)
        .choose_organization(None, Some(MISSING_ORG))
        .await;

    assert!(
        matches!(result, Err(ProvisionError::NoOrganization)),
        "{result:?}"
    );
}

#[tokio::test]
async fn organization_store_outage_is_a_store_error_not_a_fallback() {
    let mut organizations = MockOrganizationRepository::new();
    organizations
        .expect_find_by_id()
        .times(1)
        .returning(|_| Err(RepositoryError::Unavailable("timed out".into())));
    organizations.expect_mapped_or_oldest_unmapped().never();

    let result = provisioner(MockUserRepository::new(), organizations)
        .choose_organization(None, Some(ACME_ORG))
        .await;

    assert!(
        matches!(
            result,
            Err(ProvisionError::Store(RepositoryError::Unavailable(_)))
        ),
        "{result:?}"
    );
}

// ---- choosing an organization: the trust rules ----------------------------------------

/// A WorkOS organization mapped to no local organization.
const UNMAPPED_WORKOS_ORG: &str = "org_01HXUNMAPPED0000000000000";
/// A third company's WorkOS organization.
const WORKOS_ORG_C: &str = "org_01HXCCCCCCCCCCCCCCCCCCCCCC";

/// Organizations, oldest first: [`OLDEST_ORG`] mapped to [`WORKOS_ORG_B`], [`ACME_ORG`]
/// mapped to [`WORKOS_ORG_A`], and [`DEFAULT_ORG`] mapped to nothing (so the oldest
/// unmapped one).
fn mapped_organizations() -> MockOrganizationRepository {
    knowing([
        mapped_org(OLDEST_ORG, WORKOS_ORG_B),
        mapped_org(ACME_ORG, WORKOS_ORG_A),
        org(DEFAULT_ORG),
    ])
}

#[tokio::test]
async fn rule_1_a_new_user_of_a_mapped_workos_organization_joins_the_mapped_organization() {
    let policy = ProvisioningPolicy {
        default_organization_id: Some(org_id(DEFAULT_ORG)),
        ..ProvisioningPolicy::default()
    };
    for requested in [
        None,
        Some(ACME_ORG),
        Some(" 64A1B2C3D4E5F60012345678 "),
        Some(MISSING_ORG),
        Some("not-an-id"),
        Some(WORKOS_ORG_B),
    ] {
        let chosen = provisioner_with(MockUserRepository::new(), mapped_organizations(), policy.clone())
            .choose_organization(Some(&workos_org(WORKOS_ORG_A)), requested)
            .await
            .unwrap();
        assert_eq!(chosen.id, org_id(ACME_ORG), "{requested:?}");
    }
}

#[tokio::test]
async fn rule_1_a_new_user_of_a_mapped_workos_organization_naming_another_existing_organization_is_a_mismatch()
 {
    for requested in [DEFAULT_ORG, OLDEST_ORG] {
        let result = provisioner(MockUserRepository::new(), mapped_organizations())
            .choose_organization(Some(&workos_org(WORKOS_ORG_A)), Some(requested))
            .await;
        assert!(
            matches!(result, Err(ProvisionError::OrganizationMismatch)),
            "{requested}: {result:?}"
        );
    }
}

#[tokio::test]
async fn rule_1_a_new_sso_user_of_a_mapped_workos_organization_is_created_in_it() {
    let identity = sso_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    expect_nobody_found(&mut users, "jane@acme.example");
    users
        .expect_insert()
        .withf(|new_user| new_user.organization_id == org_id(ACME_ORG))
        .times(1)
        .returning(|new_user| Ok(created(new_user)));
    let mut organizations = MockOrganizationRepository::new();
    organizations
        .expect_mapped_or_oldest_unmapped()
        .withf(|w| w.is_some_and(|w| w.as_str() == WORKOS_ORG_A))
        .times(1)
        .returning(|_| Ok(Some(mapped_org(ACME_ORG, WORKOS_ORG_A))));
    // Neither the default nor any other organization is consulted.
    organizations.expect_find_by_id().never();
    organizations.expect_find_by_workos_organization().never();
    let policy = ProvisioningPolicy {
        default_organization_id: Some(org_id(DEFAULT_ORG)),
        ..ProvisioningPolicy::default()
    };

    let result = provisioner_with(users, organizations, policy)
        .find_or_create(&identity, None)
        .await
        .unwrap();

    assert_eq!(result.organization_id, org_id(ACME_ORG));
}

#[tokio::test]
async fn rule_1_a_new_user_naming_another_organization_than_the_mapped_one_is_a_mismatch_and_nothing_is_inserted()
 {
    let identity = sso_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    expect_nobody_matched(&mut users, "jane@acme.example");
    users.expect_insert().never();

    let result = provisioner(users, mapped_organizations())
        .find_or_create(&identity, Some(DEFAULT_ORG))
        .await;

    assert!(
        matches!(result, Err(ProvisionError::OrganizationMismatch)),
        "{result:?}"
    );
}

#[tokio::test]
async fn rule_1_the_authkit_answers_workos_organization_maps_a_new_user_too() {
    let mut identity = authkit_identity("jane@acme.example");
    identity.organization_id = Some(WORKOS_ORG_B.to_owned());
    let mut users = MockUserRepository::new();
    expect_nobody_found(&mut users, "jane@acme.example");
    users
        .expect_insert()
        .withf(|new_user| new_user.organization_id == org_id(OLDEST_ORG))
        .times(1)
        .returning(|new_user| Ok(created(new_user)));

    let result = provisioner(users, mapped_organizations())
        .find_or_create(&identity, None)
        .await
        .unwrap();

    assert_eq!(result.organization_id, org_id(OLDEST_ORG));
}

#[tokio::test]
async fn rule_2_a_requested_unmapped_organization_is_joined_by_an_identity_of_an_unmapped_or_no_workos_organization()
 {
    for workos in [None, Some(UNMAPPED_WORKOS_ORG)] {
        let workos = workos.map(workos_org);
        let chosen = provisioner(MockUserRepository::new(), mapped_organizations())
            .choose_organization(workos.as_ref(), Some(DEFAULT_ORG))
            .await
            .unwrap();
        assert_eq!(chosen.id, org_id(DEFAULT_ORG), "{workos:?}");
    }
}

#[tokio::test]
async fn rule_2_a_requested_mapped_organization_is_a_mismatch_for_an_identity_outside_its_workos_organization()
 {
    // No WorkOS organization (AuthKit), an unmapped one, or another company's.
    for workos in [None, Some(UNMAPPED_WORKOS_ORG)] {
        let workos = workos.map(workos_org);
        let result = provisioner(MockUserRepository::new(), mapped_organizations())
            .choose_organization(workos.as_ref(), Some(ACME_ORG))
            .await;
        assert!(
            matches!(result, Err(ProvisionError::OrganizationMismatch)),
            "{workos:?}: {result:?}"
        );
    }
    let result = provisioner(MockUserRepository::new(), mapped_organizations())
        .choose_organization(Some(&workos_org(WORKOS_ORG_B)), Some(ACME_ORG))
        .await;
    assert!(
        matches!(result, Err(ProvisionError::OrganizationMismatch)),
        "{result:?}"
    );
}

#[tokio::test]
async fn rule_2_an_authkit_user_naming_a_mapped_organization_is_a_mismatch_and_nothing_is_inserted() {
    let identity = authkit_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    expect_nobody_matched(&mut users, "jane@acme.example");
    users.expect_insert().never();
    let policy = ProvisioningPolicy {
        default_organization_id: Some(org_id(DEFAULT_ORG)),
        ..ProvisioningPolicy::default()
    };

    let result = provisioner_with(users, mapped_organizations(), policy)
        .find_or_create(&identity, Some(ACME_ORG))
        .await;

    assert!(
        matches!(result, Err(ProvisionError::OrganizationMismatch)),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_new_user_requesting_the_mapped_oldest_organization_from_outside_is_a_mismatch_though_an_unmapped_one_exists()
 {
    // Every fallback would land in DEFAULT_ORG: the request is refused, not ignored.
    for identity in [authkit_identity("jane@acme.example"), {
        let mut from_elsewhere = sso_identity("jane@acme.example");
        from_elsewhere.organization_id = Some(UNMAPPED_WORKOS_ORG.to_owned());
        from_elsewhere
    }] {
        let mut users = MockUserRepository::new();
        expect_nobody_matched(&mut users, "jane@acme.example");
        users.expect_insert().never();

        let result = provisioner(users, mapped_organizations())
            .find_or_create(&identity, Some(OLDEST_ORG))
            .await;

        assert!(
            matches!(result, Err(ProvisionError::OrganizationMismatch)),
            "{:?}: {result:?}",
            identity.flow
        );
    }
}

#[tokio::test]
async fn rule_3_the_default_organization_is_joined_when_nothing_is_mapped_or_requested() {
    let policy = ProvisioningPolicy {
        default_organization_id: Some(org_id(DEFAULT_ORG)),
        join_oldest_organization: false,
        ..ProvisioningPolicy::default()
    };
    for requested in [None, Some(MISSING_ORG), Some("not-an-id")] {
        let chosen = provisioner_with(MockUserRepository::new(), mapped_organizations(), policy.clone())
            .choose_organization(Some(&workos_org(UNMAPPED_WORKOS_ORG)), requested)
            .await
            .unwrap();
        assert_eq!(chosen.id, org_id(DEFAULT_ORG), "{requested:?}");
    }
}

#[tokio::test]
async fn rule_3_a_mapped_default_organization_is_skipped_and_a_new_user_joins_the_oldest_unmapped_one() {
    // DEFAULT_ORG became mapped to org B after start-up; ACME_ORG is the oldest unmapped.
    let identity = sso_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    expect_nobody_found(&mut users, "jane@acme.example");
    users
        .expect_insert()
        .withf(|new_user| new_user.organization_id == org_id(ACME_ORG))
        .times(1)
        .returning(|new_user| Ok(created(new_user)));
    let organizations = knowing([
        mapped_org(OLDEST_ORG, WORKOS_ORG_C),
        mapped_org(DEFAULT_ORG, WORKOS_ORG_B),
        org(ACME_ORG),
    ]);
    let policy = ProvisioningPolicy {
        default_organization_id: Some(org_id(DEFAULT_ORG)),
        ..ProvisioningPolicy::default()
    };

    let result = provisioner_with(users, organizations, policy)
        .find_or_create(&identity, None)
        .await
        .unwrap();

    assert_eq!(result.organization_id, org_id(ACME_ORG));
}

#[tokio::test]
async fn rule_3_a_mapped_default_organization_is_skipped_and_with_join_oldest_organization_off_it_is_no_organization()
 {
    let policy = ProvisioningPolicy {
        default_organization_id: Some(org_id(DEFAULT_ORG)),
        join_oldest_organization: false,
        ..ProvisioningPolicy::default()
    };
    let organizations = knowing([org(OLDEST_ORG), mapped_org(DEFAULT_ORG, WORKOS_ORG_B)]);

    let result = provisioner_with(MockUserRepository::new(), organizations, policy)
        .choose_organization(Some(&workos_org(WORKOS_ORG_A)), None)
        .await;

    assert!(
        matches!(result, Err(ProvisionError::NoOrganization)),
        "{result:?}"
    );
}

#[tokio::test]
async fn rule_4_the_oldest_organization_is_joined_when_nothing_else_applies() {
    let chosen = provisioner(
        MockUserRepository::new(),
        knowing([org(OLDEST_ORG), org(ACME_ORG)]),
    )
    .choose_organization(Some(&workos_org(UNMAPPED_WORKOS_ORG)), None)
    .await
    .unwrap();

    assert_eq!(chosen.id, org_id(OLDEST_ORG));
}

#[tokio::test]
async fn rule_4_a_new_user_of_an_unmapped_workos_organization_joins_the_oldest_unmapped_organization_not_the_mapped_oldest()
 {
    let identity = sso_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    expect_nobody_found(&mut users, "jane@acme.example");
    users
        .expect_insert()
        .withf(|new_user| new_user.organization_id == org_id(ACME_ORG))
        .times(1)
        .returning(|new_user| Ok(created(new_user)));
    // The identity's org A is mapped to none of them; the oldest is org B's.
    let organizations = knowing([
        mapped_org(OLDEST_ORG, WORKOS_ORG_B),
        org(ACME_ORG),
        org(DEFAULT_ORG),
    ]);

    let provisioned = provisioner(users, organizations)
        .provision(&identity, None, now())
        .await
        .unwrap();

    assert_eq!(provisioned.user.organization_id, org_id(ACME_ORG));
    assert_eq!(provisioned.organization, Some(org(ACME_ORG)));
}

#[tokio::test]
async fn rule_4_a_new_user_without_a_workos_organization_joins_the_oldest_unmapped_organization_too() {
    let organizations = knowing([
        mapped_org(OLDEST_ORG, WORKOS_ORG_B),
        mapped_org(ACME_ORG, WORKOS_ORG_A),
        org(DEFAULT_ORG),
    ]);

    let chosen = provisioner(MockUserRepository::new(), organizations)
        .choose_organization(None, None)
        .await
        .unwrap();

    assert_eq!(chosen.id, org_id(DEFAULT_ORG));
}

#[tokio::test]
async fn rule_4_when_every_organization_is_mapped_a_new_user_from_outside_them_is_no_organization_and_nothing_is_inserted()
 {
    let identity = sso_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    expect_nobody_matched(&mut users, "jane@acme.example");
    users.expect_insert().never();
    // Org A (the identity's) is mapped to none of them.
    let organizations = knowing([
        mapped_org(OLDEST_ORG, WORKOS_ORG_B),
        mapped_org(DEFAULT_ORG, WORKOS_ORG_C),
    ]);

    let result = provisioner(users, organizations)
        .find_or_create(&identity, None)
        .await;

    assert!(
        matches!(result, Err(ProvisionError::NoOrganization)),
        "{result:?}"
    );
}

#[tokio::test]
async fn rule_4_with_join_oldest_organization_off_nothing_else_applying_is_no_organization() {
    let policy = ProvisioningPolicy {
        default_organization_id: Some(org_id(DEFAULT_ORG)),
        join_oldest_organization: false,
        ..ProvisioningPolicy::default()
    };

    // The request and the default name no organization; the oldest exists.
    let result = provisioner_with(MockUserRepository::new(), oldest_only(), policy)
        .choose_organization(Some(&workos_org(UNMAPPED_WORKOS_ORG)), Some(MISSING_ORG))
        .await;

    assert!(
        matches!(result, Err(ProvisionError::NoOrganization)),
        "{result:?}"
    );
}

#[tokio::test]
async fn rule_4_with_join_oldest_organization_off_a_new_user_is_refused_and_nothing_is_inserted() {
    let identity = authkit_identity("jane@acme.example");
    let mut users = MockUserRepository::new();
    expect_nobody_matched(&mut users, "jane@acme.example");
    users.expect_insert().never();
    let policy = ProvisioningPolicy {
        join_oldest_organization: false,
        ..ProvisioningPolicy::default()
    };

    let result = provisioner_with(users, oldest_only(), policy)
        .find_or_create(&identity, None)
        .await;

    assert!(
        matches!(result, Err(ProvisionError::NoOrganization)),
        "{result:?}"
    );
}

#[tokio::test]
async fn rule_4_with_join_oldest_organization_off_a_mapped_or_requested_organization_still_applies() {
    let policy = ProvisioningPolicy {
        join_oldest_organization: false,
        ..ProvisioningPolicy::default()
    };
    let chosen = provisioner_with(MockUserRepository::new(), mapped_organizations(), policy.clone())
        .choose_organization(Some(&workos_org(WORKOS_ORG_A)), None)
        .await
        .unwrap();
    assert_eq!(chosen.id, org_id(ACME_ORG));
    let chosen = provisioner_with(MockUserRepository::new(), mapped_organizations(), policy)
        .choose_organization(None, Some(DEFAULT_ORG))
        .await
        .unwrap();
    assert_eq!(chosen.id, org_id(DEFAULT_ORG));
}

#[tokio::test]
async fn the_organization_of_a_new_user_is_chosen_with_one_read_of_where_they_may_land_whatever_rule_decides()
{
    let default = ProvisioningPolicy {
        default_organization_id: Some(org_id(DEFAULT_ORG)),
        ..ProvisioningPolicy::default()
    };
    let oldest = ProvisioningPolicy::default();
    let off = ProvisioningPolicy {
        join_oldest_organization: false,
        ..ProvisioningPolicy::default()
    };
    let cases = [
        (
            "the mapped organization",
            Some(WORKOS_ORG_A),
            None,
            &oldest,
            Ok(ACME_ORG),
        ),
        (
            "a mismatch",
            Some(WORKOS_ORG_A),
            Some(DEFAULT_ORG),
            &oldest,
            Err("mismatch"),
        ),
        ("the request", None, Some(DEFAULT_ORG), &oldest, Ok(DEFAULT_ORG)),
        (
            "the default",
            Some(UNMAPPED_WORKOS_ORG),
            None,
            &default,
            Ok(DEFAULT_ORG),
        ),
        (
            "the oldest unmapped",
            Some(UNMAPPED_WORKOS_ORG),
            None,
            &oldest,
            Ok(DEFAULT_ORG),
        ),
        ("no organization", None, None, &off, Err("none")),
    ];
    let world = Organizations::created_in_order([
        mapped_org(OLDEST_ORG, WORKOS_ORG_B),
        mapped_org(ACME_ORG, WORKOS_ORG_A),
        org(DEFAULT_ORG),
    ]);
    for (why, workos, requested, policy, expected) in cases {
        let mut organizations = MockOrganizationRepository::new();
        let landing = world.clone();
        organizations
            .expect_mapped_or_oldest_unmapped()
            .times(1)
            .returning(move |w| Ok(landing.mapped_or_oldest_unmapped(w)));
        organizations.expect_find_by_workos_organization().never();
        let by_id = world.clone();
        organizations
            .expect_find_by_id()
            .times(0..=1)
            .returning(move |id| Ok(by_id.find_by_id(id)));
        let workos = workos.map(workos_org);

        let result = provisioner_with(MockUserRepository::new(), organizations, policy.clone())
            .choose_organization(workos.as_ref(), requested)
            .await;

        match (expected, result) {
            (Ok(hex), Ok(chosen)) => assert_eq!(chosen.id, org_id(hex), "{why}"),
            (Err("mismatch"), Err(ProvisionError::OrganizationMismatch))
            | (Err("none"), Err(ProvisionError::NoOrganization)) => {}
            (expected, result) => panic!("{why}: expected {expected:?}, got {result:?}"),
        }
    }
}

#[tokio::test]
async fn a_malformed_workos_organization_in_the_identity_maps_nothing() {
    let mut identity = sso_identity("jane@acme.example");
    identity.organization_id = Some("org_<script>".to_owned());
    let mut users = MockUserRepository::new();
    expect_nobody_found(&mut users, "jane@acme.example");
    users
        .expect_insert()
        .withf(|new_user| new_user.organization_id == org_id(OLDEST_ORG))
        .times(1)
        .returning(|new_user| Ok(created(new_user)));
    let mut organizations = MockOrganizationRepository::new();
    organizations.expect_find_by_workos_organization().never();
    organizations.expect_find_by_id().never();
    organizations
        .expect_mapped_or_oldest_unmapped()
        .withf(|w| w.is_none())
        .times(1)
        .returning(|_| Ok(Some(org(OLDEST_ORG))));

    let result = provisioner(users, organizations)
        .find_or_create(&identity, None)
        .await
        .unwrap();

    assert_eq!(result.organization_id, org_id(OLDEST_ORG));
}

#[tokio::test]
async fn organization_store_outage_while_finding_the_mapped_organization_is_a_store_error() {
    let mut organizations = MockOrganizationRepository::new();
    organizations
        .expect_mapped_or_oldest_unmapped()
        .times(1)
        .returning(|_| Err(RepositoryError::Unavailable("timed out".into())));

    let result = provisioner(MockUserRepository::new(), organizations)
        .choose_organization(Some(&workos_org(WORKOS_ORG_A)), None)
        .await;

    assert!(
        matches!(
            result,
            Err(ProvisionError::Store(RepositoryError::Unavailable(_)))
        ),
        "{result:?}"
    );
}
