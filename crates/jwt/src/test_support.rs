//! What the tests of this crate share: the secret, issuers and the claims they sign.

use secrecy::SecretString;
use tether_domain::{AccessClaims, AccessRole, Email, OrganizationId, SessionId, Timestamp, UserId};

use crate::{JwtConfig, JwtIssuer, SigningKeys};

/// The shared secret the tests sign with.
pub(crate) const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// An issuer signing with `secret` (HS256) that sets and requires `iss` and `aud` when given.
pub(crate) fn issuer_with_secret(secret: &str, iss: Option<&str>, aud: Option<&str>) -> JwtIssuer {
    JwtIssuer::new(JwtConfig {
        keys: SigningKeys::from_secret(&SecretString::from(secret)).unwrap(),
        issuer: iss.map(str::to_owned),
        audience: aud.map(str::to_owned),
    })
}

/// An issuer signing with [`SECRET`] that sets and requires `iss` and `aud` when given.
pub(crate) fn issuer(iss: Option<&str>, aud: Option<&str>) -> JwtIssuer {
    issuer_with_secret(SECRET, iss, aud)
}

/// The claims of session `s1` of an ADMIN, issued at `now` for 8 hours.
pub(crate) fn claims(now: Timestamp) -> AccessClaims {
    AccessClaims {
        user_id: UserId::parse("5f7b1c2e8a1d4e0012c3b4a5").unwrap(),
        organization_id: OrganizationId::parse("64a1b2c3d4e5f60012345678").unwrap(),
        access_role: AccessRole::Admin,
        email: Email::parse("admin@acme.example").unwrap(),
        session_id: SessionId::new("s1"),
        issued_at: now,
        expires_at: now.plus_seconds(8 * 3600),
    }
}
