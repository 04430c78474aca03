//! # tether-jwt
//!
//! The [`TokenIssuer`] adapter: HS256 access tokens signed with the shared secret
//! (`JWT_SECRET`) through `jsonwebtoken`, opaque `rt_` refresh tokens of 256 random
//! bits, and their SHA-256 digests (the only form in which they are stored); the
//! successor of a rotated refresh token sealed under a key derived from it; and
//! [`StateKeys`], the keyed digests and PKCE verifiers of login states.

mod access;
mod state;
mod successor;

pub use state::StateKeys;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tether_domain::{
    AccessClaims, MintedRefreshToken, SessionId, Timestamp, TokenError, TokenHash, TokenIssuer,
};

/// Shortest accepted signing secret, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// Prefix of every refresh token.
pub const REFRESH_TOKEN_PREFIX: &str = "rt_";

/// Settings of the issuer.
pub struct JwtConfig {
    /// The shared HS256 secret (at least [`MIN_SECRET_BYTES`] bytes).
    pub secret: SecretString,
    /// `iss` to set and require, if configured.
    pub issuer: Option<String>,
    /// `aud` to set and require, if configured.
    pub audience: Option<String>,
}

impl std::fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtConfig")
            .field("secret", &"[redacted]")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

/// The secret is too short to sign with.
#[derive(Debug, thiserror::Error)]
#[error("JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long (got {0})")]
pub struct WeakSecret(pub usize);

/// The claims of an access token, in the order they are written (`userId` first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    /// The user's ObjectId hex: the claim other services read.
    pub user_id: String,
    /// Same as `userId`.
    pub sub: String,
    /// The user's organization.
    pub organization_id: String,
    /// The user's role.
    pub access_role: String,
    /// The user's e-mail address.
    pub email: String,
    /// The session id shared with the refresh token.
    pub sid: String,
    /// A unique token id.
    pub jti: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// Issuer, when configured.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub iss: Option<String>,
    /// Audience, when configured.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub aud: Option<String>,
}

/// Why a presented access token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Well formed and correctly signed, but past its `exp`.
    #[error("the token has expired")]
    Expired,
    /// Malformed, badly signed, wrong algorithm, issuer or audience.
    #[error("the token is invalid")]
    Invalid,
}

/// Signs and verifies access tokens; mints and hashes refresh tokens.
pub struct JwtIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: Option<String>,
    audience: Option<String>,
}

impl std::fmt::Debug for JwtIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtIssuer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    #[expect(
        clippy::expect_used,
        reason = "no token may be issued without the operating system's randomness, and the \
                  minting ports are infallible"
    )]
    getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
    bytes
}

impl JwtIssuer {
    /// Builds the issuer; refuses a secret shorter than [`MIN_SECRET_BYTES`].
    pub fn new(config: JwtConfig) -> Result<Self, WeakSecret> {
        let secret = config.secret.expose_secret().as_bytes();
        if secret.len() < MIN_SECRET_BYTES {
            return Err(WeakSecret(secret.len()));
        }
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            issuer: config.issuer,
            audience: config.audience,
        })
    }

    /// Checks signature, algorithm, issuer and audience, then expiry against `now`
    /// (the caller's clock, so expiry is testable).
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<Claims, VerifyError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.required_spec_claims = ["exp", "sub"].into_iter().map(String::from).collect();
        validation.leeway = 0;
        // A configured issuer or audience must be present, not only right when present
        // (`jsonwebtoken` checks them only when the token carries them).
        match &self.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                validation.required_spec_claims.insert("aud".to_owned());
            }
            None => validation.validate_aud = false,
        }
        if let Some(iss) = &self.issuer {
            validation.set_issuer(&[iss]);
            validation.required_spec_claims.insert("iss".to_owned());
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| VerifyError::Invalid)?;
        if data.claims.exp <= now.unix_seconds() {
            return Err(VerifyError::Expired);
        }
        Ok(data.claims)
    }
}

/// SHA-256 of a refresh token, hex encoded.
pub fn hash_refresh_token(token: &str) -> TokenHash {
    TokenHash::new(hex::encode(Sha256::digest(token.as_bytes())))
}

impl TokenIssuer for JwtIssuer {
    fn issue_access_token(&self, claims: &AccessClaims) -> Result<SecretString, TokenError> {
        let user_id = claims.user_id.to_string();
        let body = Claims {
            sub: user_id.clone(),
            user_id,
            organization_id: claims.organization_id.to_string(),
            access_role: claims.access_role.as_str().to_owned(),
            email: claims.email.as_str().to_owned(),
            sid: claims.session_id.as_str().to_owned(),
            jti: hex::encode(random_bytes::<16>()),
            iat: claims.issued_at.unix_seconds(),
            exp: claims.expires_at.unix_seconds(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &body, &self.encoding)
            .map(SecretString::from)
            .map_err(|e| TokenError(e.to_string()))
    }

    fn mint_refresh_token(&self) -> MintedRefreshToken {
        let token = format!(
            "{REFRESH_TOKEN_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(random_bytes::<32>())
        );
        let hash = hash_refresh_token(&token);
        MintedRefreshToken {
            token: SecretString::from(token),
            hash,
        }
    }

    fn hash_refresh_token(&self, token: &str) -> TokenHash {
        hash_refresh_token(token)
    }

    fn seal_successor(&self, presented: &str, successor: &SecretString) -> String {
        successor::seal(presented, successor)
    }

    fn open_successor(&self, presented: &str, sealed: &str) -> Option<SecretString> {
        successor::open(presented, sealed)
    }

    fn new_session_id(&self) -> SessionId {
        SessionId::new(hex::encode(random_bytes::<16>()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_domain::{AccessRole, Email, OrganizationId, UserId};

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn issuer(iss: Option<&str>, aud: Option<&str>) -> JwtIssuer {
        JwtIssuer::new(JwtConfig {
            secret: SECRET.into(),
            issuer: iss.map(str::to_owned),
            audience: aud.map(str::to_owned),
        })
        .unwrap()
    }

    fn claims(now: Timestamp) -> AccessClaims {
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

    #[test]
    fn a_secret_of_31_bytes_is_refused() {
        let err = JwtIssuer::new(JwtConfig {
            secret: "x".repeat(31).into(),
            issuer: None,
            audience: None,
        })
        .unwrap_err();
        assert_eq!(err.0, 31);
        assert!(err.to_string().contains("JWT_SECRET"));
    }

    #[test]
    fn access_token_carries_the_claims_with_user_id_first() {
        let now = Timestamp::from_millis(1_700_000_000_500);
        let jwt = issuer(Some("tether-auth"), Some("tether"))
            .issue_access_token(&claims(now))
            .unwrap();
        let payload = jwt.expose_secret().split('.').nth(1).unwrap();
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert!(
            json.starts_with(r#"{"userId":"5f7b1c2e8a1d4e0012c3b4a5""#),
            "{json}"
        );
        let verified = issuer(Some("tether-auth"), Some("tether"))
            .verify(jwt.expose_secret(), now)
            .unwrap();
        assert_eq!(verified.sub, verified.user_id);
        assert_eq!(verified.organization_id, "64a1b2c3d4e5f60012345678");
        assert_eq!(verified.access_role, "ADMIN");
        assert_eq!(verified.sid, "s1");
        assert_eq!(verified.iat, 1_700_000_000);
        assert_eq!(verified.exp - verified.iat, 8 * 3600);
        assert_eq!(verified.jti.len(), 32);
    }

    #[test]
    fn verification_refuses_other_secrets_issuers_and_expired_tokens() {
        let now = Timestamp::from_millis(1_700_000_000_000);
        let jwt = issuer(Some("a"), None).issue_access_token(&claims(now)).unwrap();
        let token = jwt.expose_secret();
        assert_eq!(
            issuer(Some("b"), None).verify(token, now),
            Err(VerifyError::Invalid)
        );
        let other = JwtIssuer::new(JwtConfig {
            secret: "another-secret-another-secret-another".into(),
            issuer: Some("a".into()),
            audience: None,
        })
        .unwrap();
        assert_eq!(other.verify(token, now), Err(VerifyError::Invalid));
        assert_eq!(
            issuer(Some("a"), None).verify(token, now.plus_seconds(8 * 3600)),
            Err(VerifyError::Expired)
        );
        assert_eq!(
            issuer(None, None).verify("garbage", now),
            Err(VerifyError::Invalid)
        );
    }

    #[test]
    fn refresh_tokens_are_prefixed_random_and_hashed_with_sha256() {
        let issuer = issuer(None, None);
        let a = issuer.mint_refresh_token();
        let b = issuer.mint_refresh_token();
        let token = a.token.expose_secret();
        assert!(token.starts_with("rt_"));
        assert_eq!(URL_SAFE_NO_PAD.decode(&token[3..]).unwrap().len(), 32);
        assert_ne!(token, b.token.expose_secret());
        assert_eq!(a.hash, issuer.hash_refresh_token(token));
        assert_eq!(a.hash.as_str(), hex::encode(Sha256::digest(token.as_bytes())));
        assert!(!a.hash.as_str().contains(&token[3..]));
    }

    #[test]
    fn session_ids_are_distinct() {
        let issuer = issuer(None, None);
        assert_ne!(issuer.new_session_id(), issuer.new_session_id());
    }
}
