//! Value types of the sign-in domain. Each has private fields and a validating
//! constructor ("parse, don't validate"): holding one proves it is well formed.

use std::borrow::Cow;
use std::fmt;

use secrecy::SecretString;

use thiserror::Error;

/// A normalised e-mail address: trimmed and lower-cased, with one `@` between a
/// non-empty local part and a non-empty domain.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Why a string is not an [`Email`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EmailError {
    /// Nothing but white space.
    #[error("the e-mail address is empty")]
    Empty,
    /// Longer than the 254 characters an address may have.
    #[error("the e-mail address is longer than 254 characters")]
    TooLong,
    /// No `@`, more than one, an empty side, or white space inside.
    #[error("the e-mail address is malformed")]
    Malformed,
}

impl Email {
    /// Longest address accepted (RFC 5321 path limit less the brackets).
    pub const MAX_LEN: usize = 254;

    /// Trims, lower-cases and checks an address.
    ///
    /// ```
    /// # use tether_domain::Email;
    /// let email = Email::parse("  Admin@ACME.example ").unwrap();
    /// assert_eq!(email.as_str(), "admin@acme.example");
    /// assert!(Email::parse("not-an-address").is_err());
    /// ```
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.chars().count() > Self::MAX_LEN {
            return Err(EmailError::TooLong);
        }
        let lowered = trimmed.to_lowercase();
        let mut parts = lowered.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EmailError::Malformed);
        };
        if local.is_empty()
            || domain.is_empty()
            || lowered.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(EmailError::Malformed);
        }
        Ok(Self(lowered))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

/// A 12-byte local id as its 24 lower-case hexadecimal characters: the form in
/// which local ids travel on the wire and in tokens. Users and organizations are
/// named by the distinct [`UserId`] and [`OrganizationId`] built on it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HexId([u8; 12]);

/// Why a string is not an [`HexId`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("expected 24 hexadecimal characters")]
pub struct HexIdError;

impl HexId {
    /// Parses 24 hexadecimal characters (either case).
    ///
    /// ```
    /// # use tether_domain::HexId;
    /// let id = HexId::parse("64A1B2C3D4E5F60012345678").unwrap();
    /// assert_eq!(id.to_string(), "64a1b2c3d4e5f60012345678");
    /// assert!(HexId::parse("org_01HX9R3K4N6P8QZBVTYM2D").is_err());
    /// ```
    pub fn parse(raw: &str) -> Result<Self, HexIdError> {
        let raw = raw.as_bytes();
        if raw.len() != 24 {
            return Err(HexIdError);
        }
        let mut bytes = [0u8; 12];
        for (i, pair) in raw.chunks_exact(2).enumerate() {
            let hi = hex_digit(pair[0]).ok_or(HexIdError)?;
            let lo = hex_digit(pair[1]).ok_or(HexIdError)?;
            bytes[i] = (hi << 4) | lo;
        }
        Ok(Self(bytes))
    }

    /// Wraps the 12 raw bytes of an id.
    pub const fn from_bytes(bytes: [u8; 12]) -> Self {
        Self(bytes)
    }

    /// The 12 raw bytes.
    pub const fn bytes(&self) -> [u8; 12] {
        self.0
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for HexId {
    /// 24 lower-case hexadecimal digits, written at once: an id is formatted several
    /// times per login (the access token's claims, the answer's body), and twelve
    /// `{:02x}` writes cost more than the rest of it. Like them, it ignores the
    /// formatter's width and fill.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 24];
        for (pair, b) in out.chunks_exact_mut(2).zip(self.0) {
            pair[0] = DIGITS[usize::from(b >> 4)];
            pair[1] = DIGITS[usize::from(b & 0x0f)];
        }
        // Only ASCII digits were written, so this never fails.
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for HexId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HexId({self})")
    }
}

/// Declares a local id: a distinct type over [`HexId`], so that one kind of
/// id cannot be passed where another is expected.
macro_rules! local_id {
    ($(#[$meta:meta])* $name:ident, $example:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(HexId);

        impl $name {
            /// Parses 24 hexadecimal characters (either case).
            ///
            /// ```
            #[doc = concat!("# use tether_domain::", stringify!($name), ";")]
            #[doc = concat!("let id = ", stringify!($name), "::parse(\"", $example, "\").unwrap();")]
            #[doc = concat!("assert_eq!(id.to_string(), \"", $example, "\".to_lowercase());")]
            #[doc = concat!("assert!(", stringify!($name), "::parse(\"org_01HX9R3K4N6P8QZBVTYM2D\").is_err());")]
            /// ```
            pub fn parse(raw: &str) -> Result<Self, HexIdError> {
                HexId::parse(raw).map(Self)
            }

            /// Wraps the 12 raw bytes of an id.
            ///
            /// ```
            #[doc = concat!("# use tether_domain::", stringify!($name), ";")]
            #[doc = concat!("let id = ", stringify!($name), "::parse(\"", $example, "\").unwrap();")]
            #[doc = concat!("assert_eq!(", stringify!($name), "::from_bytes(id.bytes()), id);")]
            /// ```
            pub const fn from_bytes(bytes: [u8; 12]) -> Self {
                Self(HexId::from_bytes(bytes))
            }

            /// The 12 raw bytes.
            pub const fn bytes(&self) -> [u8; 12] {
                self.0.bytes()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }
    };
}

local_id! {
    /// The local id of a user: 12 bytes, written as 24 lower-case hexadecimal
    /// characters on the wire and in tokens.
    ///
    /// It is a type of its own, so a user id is never taken for an organization id:
    ///
    /// ```compile_fail,E0308
    /// # use tether_domain::{OrganizationId, UserId};
    /// fn settings_of(_organization: OrganizationId) {}
    /// let user = UserId::parse("5f7b1c2e8a1d4e0012c3b4a5").unwrap();
    /// settings_of(user);
    /// ```
    UserId,
    "5F7B1C2E8A1D4E0012C3B4A5"
}

local_id! {
    /// The local id of an organization: 12 bytes, written as 24 lower-case
    /// hexadecimal characters on the wire and in tokens.
    ///
    /// It is a type of its own, so an organization id is never taken for a user id:
    ///
    /// ```compile_fail,E0308
    /// # use tether_domain::{OrganizationId, UserId};
    /// fn profile_of(_user: UserId) {}
    /// let organization = OrganizationId::parse("64a1b2c3d4e5f60012345678").unwrap();
    /// profile_of(organization);
    /// ```
    OrganizationId,
    "64A1B2C3D4E5F60012345678"
}

local_id! {
    /// The local id of a link request (an identity a login could not link to the user
    /// it matched, waiting for an administrator): 12 bytes, written as 24 lower-case
    /// hexadecimal characters on the wire.
    LinkRequestId,
    "6A1B2C3D4E5F600123456789"
}

/// A tenant of an identity provider: the provider's own organization (a customer
/// with its own directory and domains), to which a local organization may be *mapped*. Opaque to
/// the rules: 1 to 128 ASCII letters, digits, `_` and `-`; each provider says which of
/// those are its tenants ([`crate::IdentityProvider::parse_tenant`]).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TenantId(String);

/// Why a string is not a [`TenantId`]: what was expected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("expected {expected}")]
pub struct TenantIdError {
    /// What a tenant id looks like, in words a client reads after "must be".
    pub expected: &'static str,
}

impl TenantId {
    /// Parses 1 to 128 ASCII letters, digits, `_` and `-`, exactly as given.
    ///
    /// ```
    /// # use tether_domain::TenantId;
    /// assert!(TenantId::parse("org_01HX9R3K4N6P8QZBVTYM2D5A7C").is_ok());
    /// assert!(TenantId::parse("").is_err());
    /// assert!(TenantId::parse("org_<script>").is_err());
    /// ```
    pub fn parse(raw: &str) -> Result<Self, TenantIdError> {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
        if raw.is_empty() || raw.len() > 128 || !raw.bytes().all(allowed) {
            return Err(TenantIdError {
                expected: "1 to 128 letters, digits, _ and -",
            });
        }
        Ok(Self(raw.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({})", self.0)
    }
}

/// Which identity provider (or which of its APIs, when a provider has several, each
/// with its own subjects) authenticated a login: the first half of an
/// [`crate::IdentityLink`]. 1 to 32 lowercase ASCII letters, digits, `_` and `-`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderKey(Cow<'static, str>);

/// Why a string is not a [`ProviderKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("a provider key is 1 to 32 lowercase letters, digits, _ and -")]
pub struct ProviderKeyError;

impl ProviderKey {
    /// A key known when the program is written. The caller vouches for its form (an
    /// adapter's constant); [`ProviderKey::parse`] checks one read from elsewhere.
    pub const fn from_static(key: &'static str) -> Self {
        Self(Cow::Borrowed(key))
    }

    /// Parses 1 to 32 lowercase ASCII letters, digits, `_` and `-`.
    ///
    /// ```
    /// # use tether_domain::ProviderKey;
    /// assert_eq!(ProviderKey::parse("authkit").unwrap().as_str(), "authkit");
    /// assert!(ProviderKey::parse("AuthKit").is_err());
    /// assert!(ProviderKey::parse("").is_err());
    /// ```
    pub fn parse(raw: &str) -> Result<Self, ProviderKeyError> {
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-';
        if raw.is_empty() || raw.len() > 32 || !raw.bytes().all(allowed) {
            return Err(ProviderKeyError);
        }
        Ok(Self(Cow::Owned(raw.to_owned())))
    }

    /// The key, e.g. `sso`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key as a metrics label: borrowed, without a copy, for a key of the program.
    pub fn label(&self) -> Cow<'static, str> {
        self.0.clone()
    }
}

impl fmt::Display for ProviderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ProviderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProviderKey({})", self.0)
    }
}

/// A CSRF state chosen by the SPA for a login: 22 to 512 characters of
/// `A-Z a-z 0-9 - _ . ~` (22 such characters carry at least 128 bits when random).
/// Holding one proves it is well formed; its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginState(String);

/// Why a string is not a [`LoginState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LoginStateError {
    /// Fewer than [`LoginState::MIN_LEN`] characters.
    #[error("state must be at least 22 characters (128 random bits)")]
    TooShort,
    /// More than [`LoginState::MAX_LEN`] characters.
    #[error("state must be at most 512 characters")]
    TooLong,
    /// A character outside `A-Z a-z 0-9 - _ . ~`.
    #[error("state may contain only A-Z a-z 0-9 - _ . ~")]
    InvalidCharacter,
}

impl LoginState {
    /// Fewest characters accepted.
    pub const MIN_LEN: usize = 22;
    /// Most characters accepted.
    pub const MAX_LEN: usize = 512;

    /// Checks a state exactly as given (no trimming).
    ///
    /// ```
    /// # use tether_domain::{LoginState, LoginStateError};
    /// assert!(LoginState::parse("abcdefghijklmnopqrstuv").is_ok());
    /// assert_eq!(LoginState::parse("abc"), Err(LoginStateError::TooShort));
    /// assert_eq!(LoginState::parse("abcdefghijklmnopqrstu v"), Err(LoginStateError::InvalidCharacter));
    /// ```
    pub fn parse(raw: &str) -> Result<Self, LoginStateError> {
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
        {
            return Err(LoginStateError::InvalidCharacter);
        }
        // ASCII only from here: bytes are characters.
        match raw.len() {
            n if n < Self::MIN_LEN => Err(LoginStateError::TooShort),
            n if n > Self::MAX_LEN => Err(LoginStateError::TooLong),
            _ => Ok(Self(raw.to_owned())),
        }
    }

    /// The state.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LoginState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginState([redacted])")
    }
}

/// The browser binding of a login (`client_challenge` of the authorize query): the
/// base64url (unpadded) SHA-256 of a [`ClientVerifier`] the SPA keeps, so exactly 43
/// characters of `A-Z a-z 0-9 - _`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientChallenge(String);

/// A string is not a [`ClientChallenge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("client_challenge must be the 43-character base64url SHA-256 of the client verifier")]
pub struct ClientChallengeError;

impl ClientChallenge {
    /// Length of a base64url, unpadded SHA-256.
    pub const LEN: usize = 43;

    /// Checks a challenge exactly as given.
    ///
    /// ```
    /// # use tether_domain::ClientChallenge;
    /// assert!(ClientChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").is_ok());
    /// assert!(ClientChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c=").is_err());
    /// ```
    pub fn parse(raw: &str) -> Result<Self, ClientChallengeError> {
        let well_formed = raw.len() == Self::LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
        well_formed
            .then(|| Self(raw.to_owned()))
            .ok_or(ClientChallengeError)
    }

    /// The challenge.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The secret half of the browser binding (`client_verifier` of the callback): 43 to
/// 128 characters of `A-Z a-z 0-9 - . _ ~` (RFC 7636's rule). Its `Debug` never shows it.
#[derive(Clone)]
pub struct ClientVerifier(SecretString);

/// A string is not a [`ClientVerifier`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("client_verifier must be 43-128 characters of A-Z a-z 0-9 - . _ ~")]
pub struct ClientVerifierError;

impl ClientVerifier {
    /// Checks a verifier exactly as given.
    ///
    /// ```
    /// # use tether_domain::ClientVerifier;
    /// assert!(ClientVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").is_ok());
    /// assert!(ClientVerifier::parse("too-short").is_err());
    /// ```
    pub fn parse(raw: &str) -> Result<Self, ClientVerifierError> {
        let well_formed = (43..=128).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        well_formed
            .then(|| Self(SecretString::from(raw.to_owned())))
            .ok_or(ClientVerifierError)
    }

    /// The verifier, for hashing.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

impl fmt::Debug for ClientVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientVerifier([redacted])")
    }
}

/// The product's access roles, most privileged first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AccessRole {
    /// Administers every organization.
    Superadmin,
    /// Administers one organization.
    Admin,
    /// Leads a department.
    DepartmentHead,
    /// A sales representative: the least privilege.
    SalesRep,
}

/// The string names no [`AccessRole`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown access role (expected SUPERADMIN, ADMIN, DEPARTMENT_HEAD or SALES_REP)")]
pub struct AccessRoleError;

impl AccessRole {
    /// Every role, most privileged first.
    pub const ALL: [AccessRole; 4] = [
        AccessRole::Superadmin,
        AccessRole::Admin,
        AccessRole::DepartmentHead,
        AccessRole::SalesRep,
    ];

    /// Parses the stored and wire form (`SUPERADMIN`, `ADMIN`, `DEPARTMENT_HEAD`, `SALES_REP`).
    pub fn parse(raw: &str) -> Result<Self, AccessRoleError> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == raw)
            .ok_or(AccessRoleError)
    }

    /// The stored and wire form.
    pub const fn as_str(&self) -> &'static str {
        match self {
            AccessRole::Superadmin => "SUPERADMIN",
            AccessRole::Admin => "ADMIN",
            AccessRole::DepartmentHead => "DEPARTMENT_HEAD",
            AccessRole::SalesRep => "SALES_REP",
        }
    }
}

impl fmt::Display for AccessRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A point in time as milliseconds since the Unix epoch (the precision stores keep).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The instant `millis` milliseconds after the Unix epoch.
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn millis(&self) -> i64 {
        self.0
    }

    /// Whole seconds since the Unix epoch (rounded down), as JWT `iat`/`exp` use.
    pub const fn unix_seconds(&self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// This instant moved forward by `seconds` (saturating).
    pub const fn plus_seconds(&self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds.saturating_mul(1000)))
    }
}

/// Identifies one sign-in session, shared by its access tokens (`sid`) and refresh tokens.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// Wraps an id minted by a [`crate::TokenIssuer`] or read back from a store.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.0)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The SHA-256 digest of a refresh token, hex encoded: the only form in which a
/// refresh token is stored.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    /// Wraps a digest computed by a [`crate::TokenIssuer`].
    pub fn new(hex: impl Into<String>) -> Self {
        Self(hex.into())
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A digest is not a secret, but a short prefix is all a log ever needs.
        write!(f, "TokenHash({}…)", self.0.get(..8).unwrap_or(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse(" Jane.Doe@Example.COM\t").unwrap().as_str(),
            "jane.doe@example.com"
        );
    }

    #[test]
    fn email_without_exactly_one_at_or_with_an_empty_side_is_refused() {
        for bad in ["plain", "a@b@c", "@example.com", "jane@", "ja ne@example.com"] {
            assert_eq!(Email::parse(bad), Err(EmailError::Malformed), "{bad}");
        }
        assert_eq!(Email::parse("   "), Err(EmailError::Empty));
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn email_local_part_is_the_text_before_the_at() {
        assert_eq!(Email::parse("jane@x.io").unwrap().local_part(), "jane");
    }

    #[test]
    fn object_id_displays_as_each_byte_in_two_lower_case_digits() {
        for bytes in [
            [0u8; 12],
            [0xff; 12],
            [
                0x00, 0x01, 0x0f, 0x10, 0x7f, 0x80, 0x9a, 0xab, 0xbc, 0xcd, 0xef, 0xfe,
            ],
            [
                0x64, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x00, 0x12, 0x34, 0x56, 0x78,
            ],
        ] {
            let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let id = HexId::from_bytes(bytes);
            assert_eq!(id.to_string(), expected);
            // Width and fill are ignored, as they always were.
            assert_eq!(format!("{id:>30}"), expected);
            assert_eq!(format!("{id:?}"), format!("HexId({expected})"));
            assert_eq!(HexId::parse(&expected), Ok(id));
        }
    }

    #[test]
    fn object_id_round_trips_in_lower_case() {
        let id = HexId::parse("64A1B2C3D4E5F60012345678").unwrap();
        assert_eq!(id.to_string(), "64a1b2c3d4e5f60012345678");
        assert_eq!(HexId::from_bytes(id.bytes()), id);
    }

    #[test]
    fn user_and_organization_ids_parse_and_print_like_object_ids() {
        let user = UserId::parse("5F7B1C2E8A1D4E0012C3B4A5").unwrap();
        assert_eq!(user.to_string(), "5f7b1c2e8a1d4e0012c3b4a5");
        assert_eq!(format!("{user:?}"), "UserId(5f7b1c2e8a1d4e0012c3b4a5)");
        assert_eq!(UserId::from_bytes(user.bytes()), user);
        let organization = OrganizationId::parse("64a1b2c3d4e5f60012345678").unwrap();
        assert_eq!(
            format!("{organization:?}"),
            "OrganizationId(64a1b2c3d4e5f60012345678)"
        );
        assert_eq!(OrganizationId::from_bytes(organization.bytes()), organization);
        assert_eq!(UserId::parse("org_01HX9R3K4N6P8QZBVTYM2D5A"), Err(HexIdError));
        assert_eq!(OrganizationId::parse("64a1b2c3d4e5f6001234567"), Err(HexIdError));
    }

    #[test]
    fn object_id_refuses_wrong_length_and_non_hex() {
        for bad in [
            "",
            "64a1b2c3d4e5f6001234567",
            "64a1b2c3d4e5f600123456789",
            "org_01HX9R3K4N6P8QZBVTYM2D5A",
            "zza1b2c3d4e5f60012345678",
        ] {
            assert_eq!(HexId::parse(bad), Err(HexIdError), "{bad}");
        }
    }

    #[test]
    fn access_role_parses_only_the_four_known_names() {
        for role in AccessRole::ALL {
            assert_eq!(AccessRole::parse(role.as_str()), Ok(role));
        }
        assert_eq!(AccessRole::parse("admin"), Err(AccessRoleError));
        assert_eq!(AccessRole::parse("OWNER"), Err(AccessRoleError));
    }

    #[test]
    fn login_state_takes_22_to_512_url_safe_characters() {
        assert_eq!(LoginState::parse(&"a".repeat(21)), Err(LoginStateError::TooShort));
        assert!(LoginState::parse(&"a".repeat(22)).is_ok());
        assert!(LoginState::parse("Az09-_.~Az09-_.~Az09-_").is_ok());
        assert!(LoginState::parse(&"a".repeat(512)).is_ok());
        assert_eq!(LoginState::parse(&"a".repeat(513)), Err(LoginStateError::TooLong));
        for bad in [
            "abcdefghijklmnopqrstuv+",
            "abcdefghijklmnopqrstuv/",
            "abcdefghijklmnopqrstuvé",
            "abcdefghijklmnopqrstuv=",
        ] {
            assert_eq!(
                LoginState::parse(bad),
                Err(LoginStateError::InvalidCharacter),
                "{bad}"
            );
        }
        assert_eq!(
            format!("{:?}", LoginState::parse(&"s".repeat(30)).unwrap()),
            "LoginState([redacted])"
        );
    }

    #[test]
    fn tenant_ids_and_provider_keys_are_short_and_plain() {
        assert!(TenantId::parse("org_01HX9R3K4N6P8QZBVTYM2D5A7C").is_ok());
        assert!(TenantId::parse(&"a".repeat(128)).is_ok());
        for bad in ["", "org 1", "org_<b>", "o/1", "\u{e9}"] {
            assert!(TenantId::parse(bad).is_err(), "{bad}");
        }
        assert!(TenantId::parse(&"a".repeat(129)).is_err());
        assert!(ProviderKey::parse("test-idp_2").is_ok());
        for bad in ["", "SSO", "a b", &"a".repeat(33)] {
            assert_eq!(ProviderKey::parse(bad), Err(ProviderKeyError), "{bad}");
        }
        assert_eq!(
            ProviderKey::from_static("sso"),
            ProviderKey::parse("sso").unwrap()
        );
    }

    #[test]
    fn timestamp_converts_to_unix_seconds_rounding_down() {
        assert_eq!(Timestamp::from_millis(1_999).unix_seconds(), 1);
        assert_eq!(
            Timestamp::from_millis(1_000).plus_seconds(3600).millis(),
            3_601_000
        );
    }
}
