//! # tether-jwt
//!
//! The [`TokenIssuer`] adapter: access tokens signed through `jsonwebtoken` by the
//! active key of [`SigningKeys`] (HS256 under `JWT_SECRET` by default, or the keys of
//! `JWT_SIGNING_KEYS`: HS256, EdDSA, ES256), `kid` in every header and verified by the
//! key it names with that key's own algorithm; opaque `rt_` refresh tokens of 256 random
//! bits, and their SHA-256 digests (the only form in which they are stored); the
//! successor of a rotated refresh token sealed under a key derived from it; and
//! [`StateKeys`], the keyed digests and PKCE verifiers of login states.

mod access;
mod keys;
mod state;
mod successor;
#[cfg(test)]
mod test_support;

pub use keys::{
    GeneratedKey, KeyAlgorithm, KeyError, KeyStatus, PublicJwk, SigningKey, SigningKeys, generate, secret_kid,
};
pub use state::StateKeys;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Validation;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tether_domain::{AccessClaims, MintedRefreshToken, SessionId, TokenError, TokenHash, TokenIssuer};

/// Shortest accepted signing secret, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// Prefix of every refresh token.
pub const REFRESH_TOKEN_PREFIX: &str = "rt_";

/// Settings of the issuer.
#[derive(Debug)]
pub struct JwtConfig {
    /// The keys: the active one signs, every one verifies the tokens naming it.
    pub keys: SigningKeys,
    /// `iss` to set and require, if configured.
    pub issuer: Option<String>,
    /// `aud` to set and require, if configured.
    pub audience: Option<String>,
}

/// The secret is too short to sign with.
#[derive(Debug, thiserror::Error)]
#[error("JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long (got {0})")]
pub struct WeakSecret(pub usize);

/// The claims of an access token, in the order they are written (`userId` first): the
/// wire form of the domain's `AccessClaims`, private to this adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Claims {
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
pub(crate) enum VerifyError {
    /// Well formed and correctly signed, but past its `exp` (the tests' own check: the
    /// service leaves expiry to the domain).
    #[cfg(test)]
    #[error("the token has expired")]
    Expired,
    /// Malformed, badly signed, wrong algorithm, issuer or audience.
    #[error("the token is invalid")]
    Invalid,
}

/// Signs and verifies access tokens; mints and hashes refresh tokens.
pub struct JwtIssuer {
    keys: SigningKeys,
    /// One per key, in the order of `keys`: its algorithm only, issuer and audience.
    validations: Vec<Validation>,
    issuer: Option<String>,
    audience: Option<String>,
}

impl std::fmt::Debug for JwtIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtIssuer")
            .field("keys", &self.keys)
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
    /// Builds the issuer over a checked key set.
    pub fn new(config: JwtConfig) -> Self {
        let validations = config
            .keys
            .keys()
            .iter()
            .map(|key| validation(key.alg(), config.issuer.as_deref(), config.audience.as_deref()))
            .collect();
        Self {
            keys: config.keys,
            validations,
            issuer: config.issuer,
            audience: config.audience,
        }
    }

    /// The keys, for the published key set.
    pub fn keys(&self) -> &SigningKeys {
        &self.keys
    }

    /// [`JwtIssuer::decode`], then expiry against `now`.
    #[cfg(test)]
    pub(crate) fn verify(&self, token: &str, now: tether_domain::Timestamp) -> Result<Claims, VerifyError> {
        let claims = self.decode(token)?;
        if claims.exp <= now.unix_seconds() {
            return Err(VerifyError::Expired);
        }
        Ok(claims)
    }

    /// Checks signature, algorithm, issuer and audience, not expiry (the domain judges it
    /// with its own clock). The header's `kid` picks the key and its `alg` must be that
    /// key's; a token without `kid` (issued before keys had ids) is tried against the
    /// HS256 keys only. `none` is no algorithm.
    pub(crate) fn decode(&self, token: &str) -> Result<Claims, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Invalid)?;
        let claims = match header.kid.as_deref() {
            Some(kid) => {
                let index = self
                    .keys
                    .keys()
                    .iter()
                    .position(|k| k.kid() == kid)
                    .ok_or(VerifyError::Invalid)?;
                let key = &self.keys.keys()[index];
                if header.alg != key.alg().jose() {
                    return Err(VerifyError::Invalid);
                }
                jsonwebtoken::decode::<Claims>(token, &key.decoding, &self.validations[index])
                    .map_err(|_| VerifyError::Invalid)?
                    .claims
            }
            None => {
                self.keys
                    .keys()
                    .iter()
                    .zip(&self.validations)
                    .filter(|(key, _)| key.alg() == KeyAlgorithm::Hs256)
                    .find_map(|(key, validation)| {
                        jsonwebtoken::decode::<Claims>(token, &key.decoding, validation).ok()
                    })
                    .ok_or(VerifyError::Invalid)?
                    .claims
            }
        };
        Ok(claims)
    }
}

/// The checks of a token of `alg`: that algorithm only, `exp` and `sub` present, and a
/// configured issuer or audience present and equal. Expiry is judged by the caller.
fn validation(alg: KeyAlgorithm, issuer: Option<&str>, audience: Option<&str>) -> Validation {
    let mut validation = Validation::new(alg.jose());
    validation.validate_exp = false;
    validation.required_spec_claims = ["exp", "sub"].into_iter().map(String::from).collect();
    validation.leeway = 0;
    // A configured issuer or audience must be present, not only right when present
    // (`jsonwebtoken` checks them only when the token carries them).
    match audience {
        Some(aud) => {
            validation.set_audience(&[aud]);
            validation.required_spec_claims.insert("aud".to_owned());
        }
        None => validation.validate_aud = false,
    }
    if let Some(iss) = issuer {
        validation.set_issuer(&[iss]);
        validation.required_spec_claims.insert("iss".to_owned());
    }
    validation
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
        let key = self.keys.active();
        key.sign(&body).map(SecretString::from).map_err(TokenError)
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
    use secrecy::ExposeSecret;
    use tether_domain::Timestamp;

    use crate::test_support::{SECRET, claims, issuer, issuer_with_secret};

    #[test]
    fn a_secret_of_31_bytes_is_refused() {
        let err = SigningKeys::from_secret(&SecretString::from("x".repeat(31))).unwrap_err();
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
        let other = issuer_with_secret("another-secret-another-secret-another", Some("a"), None);
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

    /// A key set of `keys` (JSON elements), with `iss` `tether-auth`.
    fn keyed(keys: &[serde_json::Value]) -> JwtIssuer {
        JwtIssuer::new(JwtConfig {
            keys: SigningKeys::parse(&serde_json::Value::from(keys.to_vec()).to_string()).unwrap(),
            issuer: Some("tether-auth".into()),
            audience: None,
        })
    }

    fn new_key(alg: KeyAlgorithm, kid: &str, status: KeyStatus) -> serde_json::Value {
        serde_json::to_value(generate(alg, Some(kid.into()), status).unwrap()).unwrap()
    }

    fn with_status(mut key: serde_json::Value, status: &str) -> serde_json::Value {
        key["status"] = status.into();
        key
    }

    fn header_of(token: &str) -> serde_json::Value {
        let header = token.split('.').next().unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
    }

    /// A token of `header` and `claims`, HMAC-SHA256 under `key`, whatever the header says.
    fn hmac_token(header: serde_json::Value, claims: &Claims, key: &[u8]) -> String {
        use hmac::Mac as _;
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(serde_json::to_string(claims).unwrap())
        );
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    #[test]
    fn eddsa_and_es256_tokens_name_their_key_and_verify_by_it() {
        let now = Timestamp::from_millis(1_700_000_000_000);
        for (alg, name) in [(KeyAlgorithm::EdDsa, "EdDSA"), (KeyAlgorithm::Es256, "ES256")] {
            let issuer = keyed(&[
                new_key(alg, "k-active", KeyStatus::Active),
                new_key(alg, "k-next", KeyStatus::Next),
            ]);
            let jwt = issuer.issue_access_token(&claims(now)).unwrap();
            let header = header_of(jwt.expose_secret());
            assert_eq!(header["alg"], name);
            assert_eq!(header["kid"], "k-active");
            let verified = issuer.verify(jwt.expose_secret(), now).unwrap();
            assert_eq!(verified.sid, "s1");
            assert_eq!(verified.iss.as_deref(), Some("tether-auth"));
        }
    }

    #[test]
    fn the_jwt_secret_key_names_itself_in_every_header() {
        let now = Timestamp::from_millis(1_700_000_000_000);
        let jwt = issuer(None, None).issue_access_token(&claims(now)).unwrap();
        let header = header_of(jwt.expose_secret());
        assert_eq!(header["alg"], "HS256");
        assert_eq!(header["kid"], secret_kid(SECRET));
    }

    #[test]
    fn a_token_without_kid_verifies_against_the_hs256_keys_only() {
        let now = Timestamp::from_millis(1_700_000_000_000);
        // As issued before keys had ids: HS256 under the shared secret, no `kid`.
        let legacy = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &issuer(Some("tether-auth"), None)
                .verify(
                    issuer(Some("tether-auth"), None)
                        .issue_access_token(&claims(now))
                        .unwrap()
                        .expose_secret(),
                    now,
                )
                .unwrap(),
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        assert!(header_of(&legacy).get("kid").is_none());
        let hs = |kid: &str, status: &str, secret: &str| serde_json::json!({"kid": kid, "alg": "HS256", "status": status, "secret": secret});
        // The default key of JWT_SECRET, and the secret listed under any kid in a key set.
        assert!(issuer(Some("tether-auth"), None).verify(&legacy, now).is_ok());
        let rotated = keyed(&[
            new_key(KeyAlgorithm::EdDsa, "new", KeyStatus::Active),
            hs("other", "verify", "another-secret-another-secret-another"),
            hs("old", "verify", SECRET),
        ]);
        assert!(rotated.verify(&legacy, now).is_ok());
        // Once no HS256 key holds the secret, it is refused.
        let without = keyed(&[
            new_key(KeyAlgorithm::EdDsa, "new", KeyStatus::Active),
            hs("other", "verify", "another-secret-another-secret-another"),
        ]);
        assert_eq!(without.verify(&legacy, now), Err(VerifyError::Invalid));
    }

    #[test]
    fn a_token_of_a_removed_key_or_an_unknown_kid_is_invalid() {
        let now = Timestamp::from_millis(1_700_000_000_000);
        let old = new_key(KeyAlgorithm::EdDsa, "old", KeyStatus::Active);
        let next = new_key(KeyAlgorithm::Es256, "next", KeyStatus::Next);
        let jwt = keyed(&[old.clone(), next.clone()])
            .issue_access_token(&claims(now))
            .unwrap();
        let token = jwt.expose_secret();
        // Step 2 of a rotation: the new key signs, the old one verifies.
        let step2 = keyed(&[with_status(old, "verify"), with_status(next.clone(), "active")]);
        assert!(step2.verify(token, now).is_ok());
        assert_eq!(
            header_of(step2.issue_access_token(&claims(now)).unwrap().expose_secret())["kid"],
            "next"
        );
        // Step 3: the old key removed.
        let step3 = keyed(&[with_status(next, "active")]);
        assert_eq!(step3.verify(token, now), Err(VerifyError::Invalid));
        // Same kid, other key material: the signature does not verify.
        let impostor = keyed(&[new_key(KeyAlgorithm::EdDsa, "old", KeyStatus::Active)]);
        assert_eq!(impostor.verify(token, now), Err(VerifyError::Invalid));
    }

    #[test]
    fn a_public_key_used_as_an_hmac_secret_is_refused() {
        let now = Timestamp::from_millis(1_700_000_000_000);
        let keys = [
            new_key(KeyAlgorithm::EdDsa, "ed", KeyStatus::Active),
            new_key(KeyAlgorithm::Es256, "ec", KeyStatus::Verify),
        ];
        let issuer = keyed(&keys);
        let mut forged_claims = issuer
            .verify(
                issuer.issue_access_token(&claims(now)).unwrap().expose_secret(),
                now,
            )
            .unwrap();
        forged_claims.access_role = "SUPERADMIN".into();
        for jwk in issuer.keys().public_jwks() {
            let x = URL_SAFE_NO_PAD.decode(&jwk.x).unwrap();
            let mut candidates = vec![
                x.clone(),
                jwk.x.as_bytes().to_vec(),
                serde_json::to_vec(&jwk).unwrap(),
            ];
            if let Some(y) = &jwk.y {
                let mut sec1 = vec![4u8];
                sec1.extend(&x);
                sec1.extend(URL_SAFE_NO_PAD.decode(y).unwrap());
                candidates.push(sec1);
            }
            for secret in candidates {
                let forged = hmac_token(
                    serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": jwk.kid}),
                    &forged_claims,
                    &secret,
                );
                assert_eq!(
                    issuer.verify(&forged, now),
                    Err(VerifyError::Invalid),
                    "{}",
                    jwk.kid
                );
            }
        }
    }

    #[test]
    fn alg_none_and_a_header_alg_other_than_the_keys_are_refused() {
        let now = Timestamp::from_millis(1_700_000_000_000);
        let issuer = keyed(&[
            new_key(KeyAlgorithm::Es256, "ec", KeyStatus::Active),
            serde_json::json!({"kid": "hs", "alg": "HS256", "status": "verify", "secret": SECRET}),
        ]);
        let jwt = issuer.issue_access_token(&claims(now)).unwrap();
        let body = issuer.verify(jwt.expose_secret(), now).unwrap();
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_string(&body).unwrap());
        for header in [
            serde_json::json!({"alg": "none", "kid": "ec"}),
            serde_json::json!({"alg": "none", "kid": "hs"}),
            serde_json::json!({"alg": "none"}),
        ] {
            let unsigned = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(header.to_string()));
            assert_eq!(
                issuer.verify(&unsigned, now),
                Err(VerifyError::Invalid),
                "{header}"
            );
        }
        // The HS256 key's kid with a signature by the ES256 key (header claims ES256).
        let signature = jwt.expose_secret().rsplit('.').next().unwrap();
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","typ":"JWT","kid":"hs"}"#);
        let mislabelled = format!("{header}.{payload}.{signature}");
        assert_eq!(issuer.verify(&mislabelled, now), Err(VerifyError::Invalid));
        // The right secret under the HS256 kid verifies: the refusals above are the header's.
        let good = hmac_token(
            serde_json::json!({"alg": "HS256", "kid": "hs"}),
            &body,
            SECRET.as_bytes(),
        );
        assert!(issuer.verify(&good, now).is_ok());
        let unknown = hmac_token(
            serde_json::json!({"alg": "HS256", "kid": "nope"}),
            &body,
            SECRET.as_bytes(),
        );
        assert_eq!(issuer.verify(&unknown, now), Err(VerifyError::Invalid));
    }

    #[test]
    fn tokens_verify_with_jsonwebtoken_under_the_published_jwk_alone() {
        let now = Timestamp::from_millis(1_700_000_000_000);
        for alg in [KeyAlgorithm::EdDsa, KeyAlgorithm::Es256] {
            let issuer = keyed(&[new_key(alg, "k", KeyStatus::Active)]);
            let token = issuer.issue_access_token(&claims(now)).unwrap();
            let jwk = &issuer.keys().public_jwks()[0];
            let key = match &jwk.y {
                Some(y) => jsonwebtoken::DecodingKey::from_ec_components(&jwk.x, y).unwrap(),
                None => jsonwebtoken::DecodingKey::from_ed_components(&jwk.x).unwrap(),
            };
            let mut validation = jsonwebtoken::Validation::new(alg.jose());
            validation.validate_exp = false;
            let data = jsonwebtoken::decode::<Claims>(token.expose_secret(), &key, &validation).unwrap();
            assert_eq!(data.header.kid.as_deref(), Some("k"));
            assert_eq!(data.claims.sid, "s1");
        }
    }
}
