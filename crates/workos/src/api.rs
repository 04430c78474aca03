//! What is WorkOS about a login, in the words of the domain: its two APIs are two
//! providers (`sso` and `authkit`, each with its own subjects), its organizations
//! (`org_...`) are tenants, and the rules that pick an API for a login, decide PKCE,
//! and resolve a code of a login started elsewhere live here.

use tether_domain::{LoginHints, LoginPlan, ProviderKey, TenantId, TenantIdError};

/// The provider key of WorkOS enterprise SSO (subjects are SSO profile ids, `prof_...`).
pub const SSO: ProviderKey = ProviderKey::from_static("sso");
/// The provider key of WorkOS AuthKit (subjects are AuthKit user ids, `user_...`).
pub const AUTHKIT: ProviderKey = ProviderKey::from_static("authkit");

/// One of the two WorkOS APIs that authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    /// Enterprise SSO through an identity provider (`/sso/token`).
    Sso,
    /// AuthKit (`/user_management/authenticate`).
    AuthKit,
}

impl Api {
    /// `sso` or `authkit` (also the metrics label).
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Api::Sso => "sso",
            Api::AuthKit => "authkit",
        }
    }

    /// The provider key of this API.
    pub(crate) const fn key(self) -> ProviderKey {
        match self {
            Api::Sso => SSO,
            Api::AuthKit => AUTHKIT,
        }
    }

    /// The API of a provider key, `None` for a key that is not WorkOS's.
    pub(crate) fn of(key: &ProviderKey) -> Option<Self> {
        match key.as_str() {
            "sso" => Some(Api::Sso),
            "authkit" => Some(Api::AuthKit),
            _ => None,
        }
    }

    /// Whether logins through this API use PKCE (AuthKit does; the SSO API has none).
    pub(crate) const fn pkce(self) -> bool {
        matches!(self, Api::AuthKit)
    }
}

/// What a WorkOS organization id looks like, for messages.
pub(crate) const ORGANIZATION_ID_FORM: &str = "a WorkOS organization id (org_...)";

/// `raw` as a WorkOS organization id: `org_` followed by 1 to 64 ASCII letters and
/// digits, exactly as given.
///
/// ```
/// assert!(tether_workos::organization_id("org_01HX9R3K4N6P8QZBVTYM2D5A7C").is_ok());
/// assert!(tether_workos::organization_id("64a1b2c3d4e5f60012345678").is_err());
/// assert!(tether_workos::organization_id("org_<script>").is_err());
/// ```
///
/// # Errors
///
/// A [`TenantIdError`] saying what a WorkOS organization id looks like.
pub fn organization_id(raw: &str) -> Result<TenantId, TenantIdError> {
    let refused = TenantIdError {
        expected: ORGANIZATION_ID_FORM,
    };
    let rest = raw.strip_prefix("org_").ok_or_else(|| refused.clone())?;
    if rest.is_empty() || rest.len() > 64 || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(refused);
    }
    TenantId::parse(raw).map_err(|_| refused)
}

/// The API a login started with `hints` uses: the one asked for (`flow`: `sso` or
/// `authkit`); else SSO when an organization (`org_...`), connection or domain hint
/// names an enterprise connection; else AuthKit.
pub(crate) fn plan(hints: &LoginHints) -> Result<LoginPlan, String> {
    let api = match hints.requested.as_deref() {
        Some("sso") => Api::Sso,
        Some("authkit") => Api::AuthKit,
        Some(_) => return Err("flow must be sso or authkit".to_owned()),
        None if forwarded_organization(hints).is_some()
            || hints.connection.is_some()
            || hints.domain_hint.is_some() =>
        {
            Api::Sso
        }
        None => Api::AuthKit,
    };
    Ok(LoginPlan {
        provider: api.key(),
        pkce: api.pkce(),
    })
}

/// The start's organization when it is a WorkOS organization (forwarded to WorkOS as
/// `organization`); a local organization id is not.
pub(crate) fn forwarded_organization(hints: &LoginHints) -> Option<&str> {
    hints.organization.as_deref().filter(|o| o.starts_with("org_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hints(requested: Option<&str>, organization: Option<&str>) -> LoginHints {
        LoginHints {
            requested: requested.map(str::to_owned),
            organization: organization.map(str::to_owned),
            ..LoginHints::default()
        }
    }

    #[test]
    fn a_login_goes_to_the_api_asked_for_else_sso_for_enterprise_hints_else_authkit() {
        let planned = |h: LoginHints| plan(&h).map(|p| (p.provider, p.pkce));
        assert_eq!(planned(hints(Some("sso"), None)), Ok((SSO, false)));
        assert_eq!(
            planned(hints(Some("authkit"), Some("org_1"))),
            Ok((AUTHKIT, true))
        );
        assert_eq!(planned(hints(None, Some("org_1"))), Ok((SSO, false)));
        assert_eq!(
            planned(hints(None, Some("64a1b2c3d4e5f60012345678"))),
            Ok((AUTHKIT, true)),
            "a local organization id is no enterprise hint"
        );
        for enterprise in [
            LoginHints {
                connection: Some("conn_1".into()),
                ..LoginHints::default()
            },
            LoginHints {
                domain_hint: Some("acme.example".into()),
                ..LoginHints::default()
            },
        ] {
            assert_eq!(planned(enterprise), Ok((SSO, false)));
        }
        assert_eq!(planned(LoginHints::default()), Ok((AUTHKIT, true)));
        assert_eq!(
            planned(hints(Some("saml"), None)),
            Err("flow must be sso or authkit".to_owned())
        );
    }

    #[test]
    fn organization_ids_are_org_and_alphanumerics() {
        assert!(organization_id("org_01HX9R3K4N6P8QZBVTYM2D5A7C").is_ok());
        for bad in ["", "org_", "org", "ORG_123", "org_12 3", "org_a-b", "conn_123"] {
            assert_eq!(
                organization_id(bad).map_err(|e| e.expected),
                Err(ORGANIZATION_ID_FORM),
                "{bad}"
            );
        }
        assert!(organization_id(&format!("org_{}", "A".repeat(65))).is_err());
        assert_eq!(Api::of(&SSO), Some(Api::Sso));
        assert_eq!(Api::of(&ProviderKey::from_static("other")), None);
    }
}
