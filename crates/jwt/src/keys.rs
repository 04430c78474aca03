//! The signing keys of access tokens ([`SigningKeys`]): `JWT_SIGNING_KEYS` parsed and
//! checked (one `active` key signs, `verify` and `next` keys only verify), or the one
//! HS256 key of `JWT_SECRET`; their public halves as a JWK set (RFC 7517) and their
//! RFC 7638 thumbprints; and new Ed25519 or P-256 keys for `tether-auth keys generate`.
//! PKCS#8 is read and written by the curve crates (`ed25519-dalek`, `p256`), which also
//! sign EdDSA and ES256 tokens with the key parsed once; HS256 signing and all
//! verifying is `jsonwebtoken`'s.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{MIN_SECRET_BYTES, WeakSecret, random_bytes};

/// The algorithm of a key: the only one its tokens may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// HMAC-SHA256 under a shared secret (never published).
    Hs256,
    /// Ed25519 signatures.
    EdDsa,
    /// ECDSA on P-256 with SHA-256.
    Es256,
}

impl KeyAlgorithm {
    /// The JOSE name: `HS256`, `EdDSA`, `ES256`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::Hs256 => "HS256",
            KeyAlgorithm::EdDsa => "EdDSA",
            KeyAlgorithm::Es256 => "ES256",
        }
    }

    /// Parses a JOSE name (exactly as written).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "HS256" => Some(KeyAlgorithm::Hs256),
            "EdDSA" => Some(KeyAlgorithm::EdDsa),
            "ES256" => Some(KeyAlgorithm::Es256),
            _ => None,
        }
    }

    pub(crate) fn jose(self) -> Algorithm {
        match self {
            KeyAlgorithm::Hs256 => Algorithm::HS256,
            KeyAlgorithm::EdDsa => Algorithm::EdDSA,
            KeyAlgorithm::Es256 => Algorithm::ES256,
        }
    }
}

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Signs every new token (exactly one key).
    Active,
    /// A previous key: verifies the tokens it signed until it is removed.
    Verify,
    /// The coming key: published (asymmetric) and verifying before it signs.
    Next,
}

impl KeyStatus {
    /// `active`, `verify` or `next`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Verify => "verify",
            KeyStatus::Next => "next",
        }
    }

    /// Parses `active`, `verify` or `next`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "active" => Some(KeyStatus::Active),
            "verify" => Some(KeyStatus::Verify),
            "next" => Some(KeyStatus::Next),
            _ => None,
        }
    }
}

/// A key set that cannot be used, naming the key (`kid`) when one is at fault. The
/// message never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{problem}", kid.as_deref().map(|k| format!("key `{k}`: ")).unwrap_or_default())]
pub struct KeyError {
    /// The `kid` of the key at fault, when one is.
    pub kid: Option<String>,
    /// What is wrong.
    pub problem: String,
}

impl KeyError {
    fn of(kid: &str, problem: impl Into<String>) -> Self {
        Self {
            kid: Some(kid.to_owned()),
            problem: problem.into(),
        }
    }

    fn set(problem: impl Into<String>) -> Self {
        Self {
            kid: None,
            problem: problem.into(),
        }
    }
}

/// The public half of an asymmetric key as a JWK (RFC 7517, 8037): what
/// `GET /.well-known/jwks.json` lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicJwk {
    /// `OKP` (Ed25519) or `EC` (P-256).
    pub kty: &'static str,
    /// `Ed25519` or `P-256`.
    pub crv: &'static str,
    /// The public key (Ed25519) or its x coordinate (P-256), base64url.
    pub x: String,
    /// The y coordinate (P-256 only), base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// The key id tokens name in their header.
    pub kid: String,
    /// `EdDSA` or `ES256`.
    pub alg: &'static str,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: &'static str,
}

impl PublicJwk {
    /// The RFC 7638 thumbprint: SHA-256 of the required members in lexicographic
    /// order, base64url.
    pub fn thumbprint(&self) -> String {
        let canonical = match &self.y {
            Some(y) => format!(
                r#"{{"crv":"{}","kty":"{}","x":"{}","y":"{}"}}"#,
                self.crv, self.kty, self.x, y
            ),
            None => format!(
                r#"{{"crv":"{}","kty":"{}","x":"{}"}}"#,
                self.crv, self.kty, self.x
            ),
        };
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }
}

/// What signs a key's tokens: `jsonwebtoken` for HS256; for EdDSA and ES256 the curve
/// crate's key, parsed once (`jsonwebtoken` would parse the PKCS#8 document and derive
/// the public key again for every token, about half the cost of an ES256 signature).
#[derive(Clone)]
enum Signer {
    Hmac(EncodingKey),
    Ed25519(Box<ed25519_dalek::SigningKey>),
    P256(Box<p256::ecdsa::SigningKey>),
}

/// One configured key: its id, algorithm, status, what signs with it and the key
/// `jsonwebtoken` verifies with. `Debug` shows no material.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    alg: KeyAlgorithm,
    status: KeyStatus,
    signer: Signer,
    pub(crate) decoding: DecodingKey,
    public: Option<PublicJwk>,
}

/// `base64url(header).base64url(claims)`, the JWS signing input, as `jsonwebtoken` writes it.
fn signing_input<T: Serialize>(header: &Header, claims: &T) -> Result<String, String> {
    let header = serde_json::to_vec(header).map_err(|e| e.to_string())?;
    let claims = serde_json::to_vec(claims).map_err(|e| e.to_string())?;
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    ))
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("status", &self.status)
            .field("thumbprint", &self.public.as_ref().map(PublicJwk::thumbprint))
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm.
    pub fn alg(&self) -> KeyAlgorithm {
        self.alg
    }

    /// The status.
    pub fn status(&self) -> KeyStatus {
        self.status
    }

    /// The public JWK of an asymmetric key; `None` for HS256.
    pub fn public_jwk(&self) -> Option<&PublicJwk> {
        self.public.as_ref()
    }

    /// A token header naming this key and its algorithm.
    pub(crate) fn header(&self) -> Header {
        let mut header = Header::new(self.alg.jose());
        header.kid = Some(self.kid.clone());
        header
    }

    /// A compact JWS of `claims` under this key, its header naming it.
    pub(crate) fn sign<T: Serialize>(&self, claims: &T) -> Result<String, String> {
        let header = self.header();
        let signature = match &self.signer {
            Signer::Hmac(key) => {
                return jsonwebtoken::encode(&header, claims, key).map_err(|e| e.to_string());
            }
            Signer::Ed25519(key) => {
                let input = signing_input(&header, claims)?;
                let signature = ed25519_dalek::Signer::try_sign(key.as_ref(), input.as_bytes())
                    .map_err(|e| e.to_string())?;
                (input, signature.to_bytes().to_vec())
            }
            Signer::P256(key) => {
                let input = signing_input(&header, claims)?;
                let signature: p256::ecdsa::Signature =
                    p256::ecdsa::signature::Signer::try_sign(key.as_ref(), input.as_bytes())
                        .map_err(|e| e.to_string())?;
                (input, signature.to_bytes().to_vec())
            }
        };
        let (input, signature) = signature;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    fn hs256(kid: String, status: KeyStatus, secret: &str) -> Result<Self, KeyError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(KeyError::of(
                &kid,
                format!(
                    "`secret` must be at least {MIN_SECRET_BYTES} bytes long (got {})",
                    secret.len()
                ),
            ));
        }
        Ok(Self {
            kid,
            alg: KeyAlgorithm::Hs256,
            status,
            signer: Signer::Hmac(EncodingKey::from_secret(secret.as_bytes())),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            public: None,
        })
    }

    fn ed25519(kid: String, status: KeyStatus, key: &ed25519_dalek::SigningKey) -> Result<Self, KeyError> {
        let public = key.verifying_key().to_bytes();
        let jwk = PublicJwk {
            kty: "OKP",
            crv: "Ed25519",
            x: URL_SAFE_NO_PAD.encode(public),
            y: None,
            kid: kid.clone(),
            alg: KeyAlgorithm::EdDsa.as_str(),
            use_: "sig",
        };
        Ok(Self {
            kid,
            alg: KeyAlgorithm::EdDsa,
            status,
            signer: Signer::Ed25519(Box::new(key.clone())),
            decoding: DecodingKey::from_ed_der(&public),
            public: Some(jwk),
        })
    }

    fn p256(kid: String, status: KeyStatus, key: &p256::SecretKey) -> Result<Self, KeyError> {
        use p256::elliptic_curve::sec1::ToEncodedPoint as _;
        let point = key.public_key().to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(KeyError::of(&kid, "the P-256 public key has no coordinates"));
        };
        let jwk = PublicJwk {
            kty: "EC",
            crv: "P-256",
            x: URL_SAFE_NO_PAD.encode(x),
            y: Some(URL_SAFE_NO_PAD.encode(y)),
            kid: kid.clone(),
            alg: KeyAlgorithm::Es256.as_str(),
            use_: "sig",
        };
        Ok(Self {
            kid,
            alg: KeyAlgorithm::Es256,
            status,
            signer: Signer::P256(Box::new(p256::ecdsa::SigningKey::from(key))),
            decoding: DecodingKey::from_ec_der(point.as_bytes()),
            public: Some(jwk),
        })
    }

    /// Signs a probe and verifies it with the key's own verifying half.
    fn self_test(&self) -> Result<(), KeyError> {
        let probe = serde_json::json!({"sub": "self-test", "exp": 1});
        let failed = || KeyError::of(&self.kid, "fails its sign-and-verify self test");
        let token = self.sign(&probe).map_err(|_| failed())?;
        let mut validation = Validation::new(self.alg.jose());
        validation.validate_exp = false;
        validation.validate_aud = false;
        jsonwebtoken::decode::<serde_json::Value>(&token, &self.decoding, &validation)
            .map(|_| ())
            .map_err(|_| failed())
    }
}

/// The keys that sign and verify access tokens: exactly one `active` key, any number of
/// `verify` and `next` keys, every `kid` distinct, every key self-tested.
#[derive(Debug, Clone)]
pub struct SigningKeys {
    keys: Vec<SigningKey>,
    active: usize,
}

/// The members a key of `JWT_SIGNING_KEYS` may have.
const MEMBERS: [&str; 5] = ["kid", "alg", "status", "secret", "privateKeyPem"];

impl SigningKeys {
    /// The one HS256 key of `JWT_SECRET` (the default): `kid` is the hex of the first
    /// 8 bytes of the secret's SHA-256.
    pub fn from_secret(secret: &SecretString) -> Result<Self, WeakSecret> {
        let raw = secret.expose_secret();
        let kid = secret_kid(raw);
        let key = SigningKey::hs256(kid, KeyStatus::Active, raw).map_err(|_| WeakSecret(raw.len()))?;
        Ok(Self {
            keys: vec![key],
            active: 0,
        })
    }

    /// Parses `JWT_SIGNING_KEYS`: a JSON array of `{"kid", "alg", "status"}` with
    /// `"secret"` (HS256) or `"privateKeyPem"` (PKCS#8, EdDSA and ES256). Refuses a key
    /// set without exactly one `active` key, with duplicate `kid`s, an unknown `alg` or
    /// status, a weak or malformed key, or a key that fails its self test.
    pub fn parse(json: &str) -> Result<Self, KeyError> {
        // Read as plain JSON values first: a type error of serde would quote the value,
        // which may be a secret.
        let items: Vec<serde_json::Value> = serde_json::from_str(json).map_err(|e| {
            KeyError::set(format!(
                "is not a JSON array of keys (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        if items.is_empty() {
            return Err(KeyError::set("lists no key; exactly one must be `active`"));
        }
        let mut keys: Vec<SigningKey> = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let key = parse_key(index, item)?;
            if keys.iter().any(|k| k.kid == key.kid) {
                return Err(KeyError::of(
                    &key.kid,
                    "the `kid` is listed twice; each must be unique",
                ));
            }
            keys.push(key);
        }
        let active: Vec<usize> = (0..keys.len())
            .filter(|&i| keys[i].status == KeyStatus::Active)
            .collect();
        let active = match active.as_slice() {
            [one] => *one,
            [] => {
                return Err(KeyError::set(format!(
                    "no key is `active` (keys: {}); exactly one must be",
                    kids(&keys)
                )));
            }
            [first, second, ..] => {
                return Err(KeyError::of(
                    &keys[*second].kid,
                    format!(
                        "is `active` as is `{}`; exactly one key may be active",
                        keys[*first].kid
                    ),
                ));
            }
        };
        for key in &keys {
            key.self_test()?;
        }
        Ok(Self { keys, active })
    }

    /// The key that signs.
    pub fn active(&self) -> &SigningKey {
        &self.keys[self.active]
    }

    /// Every key, as configured.
    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The key named `kid`, of any status.
    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// The public JWK of every asymmetric key, of any status (HS256 keys never).
    pub fn public_jwks(&self) -> Vec<PublicJwk> {
        self.keys.iter().filter_map(|k| k.public.clone()).collect()
    }

    /// One line for `check-config`: `kid=... alg=... status=... [thumbprint=...]` per
    /// key, joined by `; `. No key material.
    pub fn describe(&self) -> String {
        self.keys
            .iter()
            .map(|k| {
                let mut line = format!(
                    "kid={} alg={} status={}",
                    k.kid,
                    k.alg.as_str(),
                    k.status.as_str()
                );
                if let Some(jwk) = &k.public {
                    line.push_str(" thumbprint=");
                    line.push_str(&jwk.thumbprint());
                }
                line
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The `kid` of the `JWT_SECRET` key: hex of the first 8 bytes of its SHA-256.
pub fn secret_kid(secret: &str) -> String {
    hex::encode(&Sha256::digest(secret.as_bytes())[..8])
}

fn kids(keys: &[SigningKey]) -> String {
    keys.iter()
        .map(|k| format!("`{}`", k.kid))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A `kid`: 1 to 128 of `A-Za-z0-9._:-`, so that it prints and logs as itself.
fn valid_kid(kid: &str) -> bool {
    (1..=128).contains(&kid.len())
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

fn parse_key(index: usize, item: &serde_json::Value) -> Result<SigningKey, KeyError> {
    let Some(object) = item.as_object() else {
        return Err(KeyError::set(format!("element {index} is not a JSON object")));
    };
    let kid = match object.get("kid") {
        Some(serde_json::Value::String(kid)) if valid_kid(kid) => kid.clone(),
        Some(serde_json::Value::String(_)) => {
            return Err(KeyError::set(format!(
                "the `kid` of element {index} must be 1 to 128 characters of A-Z a-z 0-9 . _ : -"
            )));
        }
        _ => return Err(KeyError::set(format!("element {index} has no string `kid`"))),
    };
    if let Some(unknown) = object.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
        return Err(KeyError::of(
            &kid,
            format!("unknown member `{unknown}` (members: kid, alg, status, secret, privateKeyPem)"),
        ));
    }
    let text = |name: &str| -> Result<Option<&str>, KeyError> {
        match object.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(KeyError::of(&kid, format!("`{name}` must be a string"))),
        }
    };
    let alg = text("alg")?.ok_or_else(|| KeyError::of(&kid, "has no `alg` (HS256, EdDSA or ES256)"))?;
    let alg = KeyAlgorithm::parse(alg)
        .ok_or_else(|| KeyError::of(&kid, format!("unknown `alg` `{alg}` (HS256, EdDSA or ES256)")))?;
    let status =
        text("status")?.ok_or_else(|| KeyError::of(&kid, "has no `status` (active, verify or next)"))?;
    let status = KeyStatus::parse(status).ok_or_else(|| {
        KeyError::of(
            &kid,
            format!("unknown `status` `{status}` (active, verify or next)"),
        )
    })?;
    let secret = text("secret")?;
    let pem = text("privateKeyPem")?;
    match (alg, secret, pem) {
        (KeyAlgorithm::Hs256, Some(secret), None) => SigningKey::hs256(kid, status, secret),
        (KeyAlgorithm::Hs256, _, _) => Err(KeyError::of(
            &kid,
            "an HS256 key needs `secret` (at least 32 bytes) and no `privateKeyPem`",
        )),
        (KeyAlgorithm::EdDsa, None, Some(pem)) => {
            let key = ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
                .map_err(|_| KeyError::of(&kid, "`privateKeyPem` is not a PKCS#8 PEM Ed25519 private key"))?;
            SigningKey::ed25519(kid, status, &key)
        }
        (KeyAlgorithm::Es256, None, Some(pem)) => {
            let key = p256::SecretKey::from_pkcs8_pem(pem)
                .map_err(|_| KeyError::of(&kid, "`privateKeyPem` is not a PKCS#8 PEM P-256 private key"))?;
            SigningKey::p256(kid, status, &key)
        }
        (_, _, _) => Err(KeyError::of(
            &kid,
            format!(
                "an {} key needs `privateKeyPem` (PKCS#8 PEM) and no `secret`",
                alg.as_str()
            ),
        )),
    }
}

/// A new key for `JWT_SIGNING_KEYS`: the JSON element, private key included.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedKey {
    /// The key id (given, else the first 16 characters of the thumbprint).
    pub kid: String,
    /// `EdDSA` or `ES256`.
    pub alg: &'static str,
    /// The status it is added with (`next` unless told otherwise).
    pub status: &'static str,
    /// PKCS#8 PEM.
    #[serde(serialize_with = "expose")]
    pub private_key_pem: SecretString,
}

impl std::fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

fn expose<S: serde::Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

/// Generates an Ed25519 (`EdDSA`) or P-256 (`ES256`) key from the operating system's
/// random generator. HS256 secrets are not generated here.
pub fn generate(alg: KeyAlgorithm, kid: Option<String>, status: KeyStatus) -> Result<GeneratedKey, KeyError> {
    use p256::pkcs8::LineEnding;
    if let Some(kid) = &kid
        && !valid_kid(kid)
    {
        return Err(KeyError::of(
            kid,
            "a `kid` is 1 to 128 characters of A-Z a-z 0-9 . _ : -",
        ));
    }
    let pending = kid.clone().unwrap_or_else(|| "generated".to_owned());
    let encoded = |pem: p256::pkcs8::Result<p256::pkcs8::der::zeroize::Zeroizing<String>>| {
        pem.map(|pem| pem.to_string())
            .map_err(|_| KeyError::of(&pending, "cannot encode the key as PKCS#8"))
    };
    let (pem, signing) = match alg {
        KeyAlgorithm::EdDsa => {
            let key = ed25519_dalek::SigningKey::from_bytes(&random_bytes::<32>());
            (
                encoded(key.to_pkcs8_pem(LineEnding::LF))?,
                SigningKey::ed25519(pending.clone(), status, &key)?,
            )
        }
        KeyAlgorithm::Es256 => {
            // A scalar outside 1..n is refused by the curve crate: draw again (odds 2^-32).
            let key = loop {
                if let Ok(key) = p256::SecretKey::from_slice(&random_bytes::<32>()) {
                    break key;
                }
            };
            (
                encoded(key.to_pkcs8_pem(LineEnding::LF))?,
                SigningKey::p256(pending.clone(), status, &key)?,
            )
        }
        KeyAlgorithm::Hs256 => {
            return Err(KeyError::set(
                "HS256 keys are shared secrets: use a secret of at least 32 random bytes",
            ));
        }
    };
    let jwk = signing.public;
    let kid = kid.unwrap_or_else(|| {
        jwk.as_ref()
            .map(|j| j.thumbprint().chars().take(16).collect())
            .unwrap_or(pending)
    });
    Ok(GeneratedKey {
        kid,
        alg: alg.as_str(),
        status: status.as_str(),
        private_key_pem: SecretString::from(pem),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn generated(alg: KeyAlgorithm, kid: &str, status: KeyStatus) -> serde_json::Value {
        serde_json::to_value(generate(alg, Some(kid.to_owned()), status).unwrap()).unwrap()
    }

    fn hs(kid: &str, status: &str) -> serde_json::Value {
        serde_json::json!({"kid": kid, "alg": "HS256", "status": status, "secret": SECRET})
    }

    fn parse(keys: &[serde_json::Value]) -> Result<SigningKeys, KeyError> {
        SigningKeys::parse(&serde_json::Value::from(keys.to_vec()).to_string())
    }

    #[test]
    fn the_jwt_secret_key_is_hs256_named_by_the_first_8_bytes_of_its_sha256() {
        let keys = SigningKeys::from_secret(&SecretString::from(SECRET)).unwrap();
        let expected = hex::encode(&Sha256::digest(SECRET.as_bytes())[..8]);
        assert_eq!(keys.active().kid(), expected);
        assert_eq!(expected.len(), 16);
        assert_eq!(keys.active().alg(), KeyAlgorithm::Hs256);
        assert!(keys.public_jwks().is_empty());
        assert_eq!(
            SigningKeys::from_secret(&SecretString::from("x".repeat(31)))
                .unwrap_err()
                .0,
            31
        );
    }

    #[test]
    fn a_key_set_of_the_three_algorithms_publishes_only_the_asymmetric_keys() {
        let keys = parse(&[
            generated(KeyAlgorithm::EdDsa, "ed", KeyStatus::Active),
            generated(KeyAlgorithm::Es256, "ec", KeyStatus::Next),
            hs("old", "verify"),
        ])
        .unwrap();
        assert_eq!(keys.active().kid(), "ed");
        let jwks = serde_json::to_value(keys.public_jwks()).unwrap();
        assert_eq!(jwks.as_array().unwrap().len(), 2, "{jwks}");
        assert_eq!(jwks[0]["kty"], "OKP");
        assert_eq!(jwks[0]["crv"], "Ed25519");
        assert_eq!(jwks[0]["alg"], "EdDSA");
        assert_eq!(jwks[0]["use"], "sig");
        assert_eq!(jwks[0]["kid"], "ed");
        assert!(jwks[0].get("y").is_none());
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(jwks[0]["x"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        assert_eq!(jwks[1]["kty"], "EC");
        assert_eq!(jwks[1]["crv"], "P-256");
        assert_eq!(jwks[1]["alg"], "ES256");
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(jwks[1]["y"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        let text = jwks.to_string();
        assert!(!text.contains(SECRET) && !text.contains("\"d\""), "{text}");
    }

    #[test]
    fn the_thumbprint_is_rfc_7638s() {
        // RFC 8037, appendix A.2 and A.3: an Ed25519 public key and its thumbprint.
        let jwk = PublicJwk {
            kty: "OKP",
            crv: "Ed25519",
            x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into(),
            y: None,
            kid: "any".into(),
            alg: "EdDSA",
            use_: "sig",
        };
        assert_eq!(jwk.thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn the_rfc_8037_private_key_in_pkcs8_yields_its_public_key() {
        // RFC 8037 A.1's secret key d, wrapped as PKCS#8 by the curve crate.
        let d: [u8; 32] = URL_SAFE_NO_PAD
            .decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
            .unwrap()
            .try_into()
            .unwrap();
        let pem = ed25519_dalek::SigningKey::from_bytes(&d)
            .to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
            .unwrap();
        let keys = parse(&[serde_json::json!({
            "kid": "rfc", "alg": "EdDSA", "status": "active", "privateKeyPem": pem.as_str(),
        })])
        .unwrap();
        let jwk = &keys.public_jwks()[0];
        assert_eq!(jwk.x, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        assert_eq!(
            keys.describe(),
            "kid=rfc alg=EdDSA status=active thumbprint=kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn no_or_two_active_keys_are_refused_naming_the_kids() {
        let err = parse(&[hs("a", "verify"), hs("b", "next")]).unwrap_err();
        assert!(
            err.to_string().contains("no key is `active` (keys: `a`, `b`)"),
            "{err}"
        );
        let err = parse(&[hs("a", "active"), hs("b", "active")]).unwrap_err();
        assert_eq!(err.kid.as_deref(), Some("b"));
        assert!(err.to_string().contains("`a`"), "{err}");
        assert!(parse(&[]).unwrap_err().to_string().contains("no key"));
    }

    #[test]
    fn a_duplicate_kid_is_refused_naming_it() {
        let err = parse(&[
            hs("same", "active"),
            generated(KeyAlgorithm::EdDsa, "same", KeyStatus::Next),
        ])
        .unwrap_err();
        assert_eq!(err.kid.as_deref(), Some("same"));
        assert!(err.problem.contains("twice"), "{err}");
    }

    #[test]
    fn weak_malformed_or_mismatched_keys_are_refused_naming_the_kid_without_their_material() {
        let ed = generated(KeyAlgorithm::EdDsa, "ed", KeyStatus::Next);
        let ec_pem = generated(KeyAlgorithm::Es256, "x", KeyStatus::Next)["privateKeyPem"].clone();
        let cases = [
            (
                serde_json::json!({"kid": "short", "alg": "HS256", "status": "verify", "secret": "s3cr3t-but-short"}),
                "short",
                "32 bytes",
            ),
            (
                serde_json::json!({"kid": "torn", "alg": "EdDSA", "status": "verify", "privateKeyPem": "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIBADBEEF\n-----END PRIVATE KEY-----\n"}),
                "torn",
                "PKCS#8",
            ),
            (
                serde_json::json!({"kid": "curve", "alg": "EdDSA", "status": "verify", "privateKeyPem": ec_pem}),
                "curve",
                "Ed25519",
            ),
            (
                serde_json::json!({"kid": "rsa", "alg": "RS256", "status": "verify", "secret": SECRET}),
                "rsa",
                "unknown `alg`",
            ),
            (
                serde_json::json!({"kid": "st", "alg": "HS256", "status": "retired", "secret": SECRET}),
                "st",
                "unknown `status`",
            ),
            (
                serde_json::json!({"kid": "both", "alg": "EdDSA", "status": "verify", "secret": SECRET, "privateKeyPem": ed["privateKeyPem"]}),
                "both",
                "no `secret`",
            ),
            (
                serde_json::json!({"kid": "num", "alg": "HS256", "status": "verify", "secret": 12345678}),
                "num",
                "must be a string",
            ),
            (
                serde_json::json!({"kid": "typo", "alg": "HS256", "status": "verify", "secrets": SECRET}),
                "typo",
                "unknown member `secrets`",
            ),
        ];
        for (key, kid, says) in cases {
            let err = parse(&[hs("fine", "active"), key]).unwrap_err();
            assert_eq!(err.kid.as_deref(), Some(kid), "{err}");
            assert!(err.to_string().contains(says), "{kid}: {err}");
            assert!(
                !err.to_string().contains("s3cr3t") && !err.to_string().contains("MC4C"),
                "{err}"
            );
            assert!(!err.to_string().contains("12345678"), "{err}");
        }
        for garbage in [
            "",
            "{}",
            "[1]",
            "[{\"alg\": \"HS256\"}]",
            "[{\"kid\": \"has space\"}]",
        ] {
            let err = SigningKeys::parse(garbage).unwrap_err();
            assert!(err.kid.is_none(), "{garbage}: {err}");
        }
    }

    #[test]
    fn debug_output_and_the_description_carry_no_key_material() {
        let ed = generated(KeyAlgorithm::EdDsa, "ed", KeyStatus::Active);
        let pem = ed["privateKeyPem"].as_str().unwrap().to_owned();
        let keys = parse(&[ed, hs("old", "verify")]).unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        for shown in [format!("{keys:?}"), keys.describe()] {
            assert!(!shown.contains(&body) && !shown.contains(SECRET), "{shown}");
        }
        assert!(
            keys.describe()
                .starts_with("kid=ed alg=EdDSA status=active thumbprint=")
        );
        assert!(keys.describe().ends_with("; kid=old alg=HS256 status=verify"));
        let generated = generate(KeyAlgorithm::EdDsa, None, KeyStatus::Next).unwrap();
        assert!(!format!("{generated:?}").contains("PRIVATE"));
    }

    #[test]
    fn generated_keys_are_fresh_named_by_their_thumbprint_and_refuse_hs256() {
        let a = generate(KeyAlgorithm::Es256, None, KeyStatus::Next).unwrap();
        let b = generate(KeyAlgorithm::Es256, None, KeyStatus::Next).unwrap();
        assert_ne!(
            a.private_key_pem.expose_secret(),
            b.private_key_pem.expose_secret()
        );
        assert!(
            a.private_key_pem
                .expose_secret()
                .starts_with("-----BEGIN PRIVATE KEY-----\n")
        );
        let keys = parse(&[serde_json::to_value(&a).unwrap(), hs("h", "active")]).unwrap();
        let jwk = &keys.public_jwks()[0];
        assert_eq!(a.kid, jwk.thumbprint()[..16]);
        assert_eq!(a.status, "next");
        assert!(generate(KeyAlgorithm::Hs256, None, KeyStatus::Next).is_err());
        assert!(generate(KeyAlgorithm::EdDsa, Some("a b".into()), KeyStatus::Next).is_err());
    }
}
