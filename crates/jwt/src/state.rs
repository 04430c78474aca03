//! Keyed cryptography of login states: HMAC-SHA256 digests under which states are
//! stored, and PKCE verifiers derived from the state, so that a database reader can
//! neither recover a state nor the verifier that would complete someone's login.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tether_domain::{StateProtector, TokenHash};

use crate::random_bytes;

type HmacSha256 = Hmac<Sha256>;

/// Derives its keys from the service secret, one per purpose.
pub struct StateKeys {
    digest_key: [u8; 32],
    verifier_key: [u8; 32],
}

impl std::fmt::Debug for StateKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateKeys([redacted])")
    }
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(message);
    mac.finalize().into_bytes().into()
}

impl StateKeys {
    /// Keys derived from `secret` (`STATE_SECRET`, else `JWT_SECRET`) with distinct labels.
    pub fn new(secret: &SecretString) -> Self {
        let secret = secret.expose_secret().as_bytes();
        Self {
            digest_key: hmac(secret, b"tether-auth/login-state/digest/v1"),
            verifier_key: hmac(secret, b"tether-auth/login-state/pkce-verifier/v1"),
        }
    }
}

impl StateProtector for StateKeys {
    fn random_state(&self) -> String {
        URL_SAFE_NO_PAD.encode(random_bytes::<32>())
    }

    fn hash_state(&self, state: &str) -> TokenHash {
        TokenHash::new(hex::encode(hmac(&self.digest_key, state.as_bytes())))
    }

    fn pkce_verifier(&self, state: &str) -> SecretString {
        // 32 bytes -> 43 base64url characters: within RFC 7636's 43–128 unreserved characters.
        SecretString::from(URL_SAFE_NO_PAD.encode(hmac(&self.verifier_key, state.as_bytes())))
    }

    fn pkce_challenge(&self, verifier: &SecretString) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose_secret().as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> StateKeys {
        StateKeys::new(&SecretString::from(secret))
    }

    #[test]
    fn digests_are_keyed_stable_and_not_the_state() {
        let a = keys("0123456789abcdef0123456789abcdef");
        let b = keys("another-secret-another-secret-xx");
        let digest = a.hash_state("my-state");
        assert_eq!(digest, a.hash_state("my-state"));
        assert_ne!(digest, b.hash_state("my-state"));
        assert_ne!(digest, a.hash_state("my-state2"));
        assert_ne!(
            digest.as_str(),
            hex::encode(Sha256::digest(b"my-state")),
            "not a plain hash"
        );
        assert_eq!(digest.as_str().len(), 64);
    }

    #[test]
    fn pkce_verifiers_are_derived_per_state_and_valid() {
        let k = keys("0123456789abcdef0123456789abcdef");
        let v = k.pkce_verifier("s1");
        let text = v.expose_secret();
        assert_eq!(text.len(), 43);
        assert!(
            text.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(text, k.pkce_verifier("s1").expose_secret());
        assert_ne!(text, k.pkce_verifier("s2").expose_secret());
        assert_ne!(
            k.hash_state("s1").as_str(),
            hex::encode(URL_SAFE_NO_PAD.decode(text).unwrap())
        );
    }

    #[test]
    fn the_challenge_is_the_s256_of_the_verifier() {
        // RFC 7636 appendix B.
        let k = keys("0123456789abcdef0123456789abcdef");
        let verifier = SecretString::from("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            k.pkce_challenge(&verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn random_states_are_long_and_distinct() {
        let k = keys("0123456789abcdef0123456789abcdef");
        let (a, b) = (k.random_state(), k.random_state());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }
}
