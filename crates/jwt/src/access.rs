//! [`AccessTokenVerifier`] for [`JwtIssuer`]: the access tokens this service signs,
//! checked (signature, algorithm, issuer, audience) and turned into domain claims.
//! Expiry is not judged here: it is the domain's rule, judged with its clock (and logout
//! accepts expired tokens).

use tether_domain::{
    AccessRole, AccessTokenVerifier, InvalidAccessToken, OrganizationId, SessionId, Timestamp, UserId,
    VerifiedAccess,
};

use crate::{JwtIssuer, VerifyError};

impl AccessTokenVerifier for JwtIssuer {
    fn verify(&self, token: &str) -> Result<VerifiedAccess, InvalidAccessToken> {
        let claims = self.decode(token).map_err(|_: VerifyError| InvalidAccessToken)?;
        if claims.sub != claims.user_id || claims.sid.is_empty() {
            return Err(InvalidAccessToken);
        }
        Ok(VerifiedAccess {
            user_id: UserId::parse(&claims.user_id).map_err(|_| InvalidAccessToken)?,
            organization_id: OrganizationId::parse(&claims.organization_id)
                .map_err(|_| InvalidAccessToken)?,
            access_role: AccessRole::parse(&claims.access_role).map_err(|_| InvalidAccessToken)?,
            session_id: SessionId::new(claims.sid),
            expires_at: Timestamp::from_millis(claims.exp.saturating_mul(1000)),
        })
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use secrecy::ExposeSecret;
    use tether_domain::TokenIssuer;

    use super::*;
    use crate::test_support::{SECRET, claims, issuer, issuer_with_secret};

    /// The issuer of these tests: [`SECRET`], `iss` `tether-auth`.
    fn ours() -> JwtIssuer {
        issuer(Some("tether-auth"), None)
    }

    /// Claims a correctly signed token may carry, without `iss` or `aud`.
    fn foreign_claims() -> serde_json::Value {
        serde_json::json!({
            "userId": "5f7b1c2e8a1d4e0012c3b4a5", "sub": "5f7b1c2e8a1d4e0012c3b4a5",
            "organizationId": "64a1b2c3d4e5f60012345678", "accessRole": "SUPERADMIN",
            "email": "root@acme.example", "sid": "s", "jti": "j", "iat": 1, "exp": 4_000_000_000_i64,
        })
    }

    #[test]
    fn a_token_we_signed_yields_its_claims_even_long_after_its_expiry() {
        // Issued in 2001: long expired by any clock, yet the verifier leaves expiry to the domain.
        let issued_at = Timestamp::from_millis(1_000_000_000_000);
        let jwt = ours().issue_access_token(&claims(issued_at)).unwrap();
        let access = AccessTokenVerifier::verify(&ours(), jwt.expose_secret()).unwrap();
        assert_eq!(access.user_id.to_string(), "5f7b1c2e8a1d4e0012c3b4a5");
        assert_eq!(access.organization_id.to_string(), "64a1b2c3d4e5f60012345678");
        assert_eq!(access.access_role, AccessRole::Admin);
        assert_eq!(access.session_id, SessionId::new("s1"));
        assert_eq!(access.expires_at, issued_at.plus_seconds(8 * 3600));
    }

    #[test]
    fn another_secret_another_issuer_or_garbage_is_invalid() {
        let now = Timestamp::from_millis(1_700_000_000_000);
        let jwt = ours().issue_access_token(&claims(now)).unwrap();
        let other = issuer_with_secret("another-secret-another-secret-another", Some("tether-auth"), None);
        assert_eq!(
            AccessTokenVerifier::verify(&other, jwt.expose_secret()),
            Err(InvalidAccessToken)
        );
        let other_issuer = issuer(Some("someone-else"), None);
        assert_eq!(
            AccessTokenVerifier::verify(&other_issuer, jwt.expose_secret()),
            Err(InvalidAccessToken)
        );
        for garbage in ["", "garbage", "a.b.c", "Bearer x"] {
            assert_eq!(
                AccessTokenVerifier::verify(&ours(), garbage),
                Err(InvalidAccessToken),
                "{garbage}"
            );
        }
    }

    /// `body` signed with [`SECRET`] (HS256), whatever its claims.
    fn sign(body: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &body,
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn a_correctly_signed_token_with_claims_we_never_issue_is_invalid() {
        let mut base = foreign_claims();
        base["iss"] = "tether-auth".into();
        assert!(AccessTokenVerifier::verify(&ours(), &sign(base.clone())).is_ok());
        for (field, value) in [
            ("accessRole", serde_json::json!("OWNER")),
            ("userId", serde_json::json!("not-an-id")),
            ("sub", serde_json::json!("64a1b2c3d4e5f60012345678")),
            ("organizationId", serde_json::json!("org_1")),
            ("sid", serde_json::json!("")),
        ] {
            let mut body = base.clone();
            body[field] = value;
            assert_eq!(
                AccessTokenVerifier::verify(&ours(), &sign(body)),
                Err(InvalidAccessToken),
                "{field}"
            );
        }
        // An unsigned token ("alg": "none") is refused.
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(base.to_string());
        assert_eq!(
            AccessTokenVerifier::verify(&ours(), &format!("{header}.{payload}.")),
            Err(InvalidAccessToken)
        );
    }

    #[test]
    fn a_configured_issuer_or_audience_must_be_present_in_the_token() {
        // Correctly signed with the shared secret, but by someone who sets neither claim.
        let without = foreign_claims();
        let requiring = issuer;
        assert!(AccessTokenVerifier::verify(&requiring(None, None), &sign(without.clone())).is_ok());
        for (issuer, audience) in [(Some("tether-auth"), None), (None, Some("tether"))] {
            assert_eq!(
                AccessTokenVerifier::verify(&requiring(issuer, audience), &sign(without.clone())),
                Err(InvalidAccessToken),
                "{issuer:?} {audience:?}"
            );
        }
        let mut with = without.clone();
        with["iss"] = "tether-auth".into();
        with["aud"] = "tether".into();
        assert!(
            AccessTokenVerifier::verify(&requiring(Some("tether-auth"), Some("tether")), &sign(with)).is_ok()
        );
    }
}
