//! Sealing the successor of a rotated refresh token, so that a replay within the grace
//! window can be answered with the same successor while the store never holds it in
//! clear: ChaCha20-Poly1305 under a key derived with HKDF-SHA256 from the presented
//! (old) token, which only its holder has. Format: `v1.` + base64url(nonce ‖ ciphertext).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// Prefix of the sealed form (the version of the scheme).
const VERSION: &str = "v1.";
/// HKDF `info`: binds the key to this one purpose.
const INFO: &[u8] = b"tether-auth refresh-token successor v1";
/// Additional data authenticated with every ciphertext.
const AAD: &[u8] = b"tether-auth successor";
const NONCE_LEN: usize = 12;

#[expect(
    clippy::expect_used,
    reason = "HKDF-SHA256 refuses only outputs over 255 * 32 bytes; this one is 32"
)]
fn cipher_for(presented: &str) -> ChaCha20Poly1305 {
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(None, presented.as_bytes())
        .expand(INFO, &mut key)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    ChaCha20Poly1305::new(&Key::from(key))
}

/// Seals `successor` under a key derived from `presented`, with a fresh random nonce.
#[expect(
    clippy::expect_used,
    reason = "ChaCha20-Poly1305 refuses only messages over 256 GiB; a refresh token is 46 bytes"
)]
pub(crate) fn seal(presented: &str, successor: &SecretString) -> String {
    let nonce: [u8; NONCE_LEN] = crate::random_bytes();
    let ciphertext = cipher_for(presented)
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: successor.expose_secret().as_bytes(),
                aad: AAD,
            },
        )
        .expect("ChaCha20-Poly1305 encrypts any message of this size");
    let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(out))
}

/// Opens a sealed successor; `None` for another token's seal, an altered text or an
/// unknown format.
pub(crate) fn open(presented: &str, sealed: &str) -> Option<SecretString> {
    let raw = URL_SAFE_NO_PAD.decode(sealed.strip_prefix(VERSION)?).ok()?;
    if raw.len() <= NONCE_LEN {
        return None;
    }
    let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
    let plain = cipher_for(presented)
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad: AAD,
            },
        )
        .ok()?;
    String::from_utf8(plain).ok().map(SecretString::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "rt_old_old_old_old_old_old_old_old_old_old_old";
    const NEW: &str = "rt_new_new_new_new_new_new_new_new_new_new_new";

    #[test]
    fn only_the_holder_of_the_presented_token_opens_the_successor_and_the_seal_hides_it() {
        let sealed = seal(OLD, &SecretString::from(NEW));
        assert!(!sealed.contains(NEW) && !sealed.contains(&NEW[3..]), "{sealed}");
        assert_eq!(open(OLD, &sealed).unwrap().expose_secret(), NEW);
        assert!(open("rt_another_token", &sealed).is_none());
        // A fresh nonce each time: two seals of one successor differ.
        assert_ne!(sealed, seal(OLD, &SecretString::from(NEW)));
    }

    #[test]
    fn an_altered_or_foreign_seal_does_not_open() {
        let sealed = seal(OLD, &SecretString::from(NEW));
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert!(open(OLD, std::str::from_utf8(&altered).unwrap()).is_none());
        assert!(open(OLD, "v1.").is_none());
        assert!(open(OLD, "v2.AAAA").is_none());
        assert!(open(OLD, "not sealed").is_none());
    }
}
