//! Property tests of two rule sets with many interacting inputs, each checked against
//! an independent model written here (an oracle) and against invariants:
//!
//! - `Provisioner::choose_organization`: random organizations (some mapped to WorkOS
//!   organizations, random creation times with ties), a random WorkOS organization on
//!   the identity (mapped, unmapped, absent, malformed), a random requested organization
//!   (existing, unknown, garbage, padded, upper-case) and a random policy;
//! - `SessionConfig::overlay`: random stored values (right and wrong types, values on
//!   and around every bound, NaN and infinities) over random valid defaults, and the
//!   agreement of the overlay with the settings route's validation (`SettingsPatch`).
//!
//! Case counts are bounded so the file runs in seconds; failures are not persisted
//! (proptest prints the minimal failing input).

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config as ProptestConfig;

use tether_domain::{
    Organization, OrganizationId, PasswordFallbackBehavior, ProvisionError, ProvisioningPolicy,
    SessionConfig, SessionField, SessionFields, SettingValue, SettingsPatch, SsoFallbackBehavior,
    StoredSessionSettings, Timestamp,
};

use crate::support::*;

/// `cases` cases (or `PROPTEST_CASES` for a deeper run), no persisted failures.
fn config(cases: u32) -> ProptestConfig {
    let deeper = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok());
    ProptestConfig {
        cases: deeper.unwrap_or(cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---- choose_organization -------------------------------------------------------

/// The WorkOS organizations organizations may be mapped to and identities may carry.
const WORKOS_POOL: [&str; 4] = [
    "org_01HX9R3K4N6P8QZBVTYM2D5A7C",
    "org_01HXBBBBBBBBBBBBBBBBBBBBBB",
    "org_C",
    "org_0123456789abcdefABCDEF",
];

/// One organization of a generated world.
#[derive(Debug, Clone)]
struct OrgSpec {
    /// The id the in-memory store gives it: its creation second, then its rank.
    id: [u8; 12],
    /// Index into [`WORKOS_POOL`].
    mapped: Option<usize>,
    /// Creation time: few distinct values, so that ties (broken by id) happen.
    created_at: u8,
}

impl OrgSpec {
    fn hex(&self) -> String {
        hex_of(&self.id)
    }
}

/// Up to six organizations, each WorkOS organization mapped at most once.
fn orgs() -> impl Strategy<Value = Vec<OrgSpec>> {
    prop::collection::vec((prop::option::weighted(0.5, 0..WORKOS_POOL.len()), 0u8..4), 0..6).prop_map(|raw| {
        let mut specs: Vec<OrgSpec> = Vec::new();
        for (rank, (mapped, created_at)) in (1u8..).zip(raw) {
            let mapped = mapped.filter(|m| !specs.iter().any(|s| s.mapped == Some(*m)));
            let mut id = [0; 12];
            id[3] = created_at;
            id[11] = rank;
            specs.push(OrgSpec {
                id,
                mapped,
                created_at,
            });
        }
        specs
    })
}

/// The raw organization the provider named for the identity (a tenant when well formed).
#[derive(Debug, Clone)]
enum IdentityOrg {
    None,
    /// One of [`WORKOS_POOL`]: mapped or not, depending on the world.
    Pool(usize),
    /// Not a WorkOS organization id: provisioning ignores it.
    Malformed(String),
    /// The local id of one of the organizations (a 24-hex id is no `org_...` id).
    LocalId(Index),
}

fn identity_org() -> impl Strategy<Value = IdentityOrg> {
    prop_oneof![
        1 => Just(IdentityOrg::None),
        3 => (0..WORKOS_POOL.len()).prop_map(IdentityOrg::Pool),
        1 => prop_oneof![
            Just("org_".to_owned()),
            Just("org_<script>".to_owned()),
            Just("ORG_01HXBBBBBBBBBBBBBBBBBBBBBB".to_owned()),
            Just(" org_C".to_owned()),
            Just("org_C ".to_owned()),
            Just(format!("org_{}", "a".repeat(65))),
            "\\PC{0,30}",
        ]
        .prop_map(IdentityOrg::Malformed),
        1 => any::<Index>().prop_map(IdentityOrg::LocalId),
    ]
}

/// The organization a login requests.
#[derive(Debug, Clone)]
enum Requested {
    None,
    /// An existing organization's id, upper-cased or not, padded with whitespace or not.
    Existing {
        which: Index,
        upper: bool,
        pad: (&'static str, &'static str),
    },
    /// A well-formed id, almost always of no organization.
    Unknown([u8; 12]),
    /// Anything at all.
    Garbage(String),
    /// A WorkOS organization id rather than a local one.
    Workos(usize),
    /// An existing id one character short or long.
    OffByOne(Index, bool),
}

fn requested() -> impl Strategy<Value = Requested> {
    let pad = prop_oneof![
        Just(("", "")),
        Just((" ", "")),
        Just(("", "\t")),
        Just((" \n", "  ")),
        Just(("\u{a0}", "\u{2003}")),
    ];
    prop_oneof![
        1 => Just(Requested::None),
        4 => (any::<Index>(), any::<bool>(), pad).prop_map(|(which, upper, pad)| Requested::Existing { which, upper, pad }),
        1 => any::<[u8; 12]>().prop_map(Requested::Unknown),
        1 => prop_oneof!["\\PC{0,30}", "[0-9a-fA-FgG ]{22,26}"].prop_map(Requested::Garbage),
        1 => (0..WORKOS_POOL.len()).prop_map(Requested::Workos),
        1 => (any::<Index>(), any::<bool>()).prop_map(|(i, longer)| Requested::OffByOne(i, longer)),
    ]
}

/// `DEFAULT_ORGANIZATION_ID`.
#[derive(Debug, Clone)]
enum DefaultOrg {
    None,
    Existing(Index),
    Unknown([u8; 12]),
}

fn default_org() -> impl Strategy<Value = DefaultOrg> {
    prop_oneof![
        Just(DefaultOrg::None),
        any::<Index>().prop_map(DefaultOrg::Existing),
        any::<[u8; 12]>().prop_map(DefaultOrg::Unknown),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    orgs: Vec<OrgSpec>,
    identity_org: IdentityOrg,
    requested: Requested,
    default_org: DefaultOrg,
    join_oldest: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (orgs(), identity_org(), requested(), default_org(), any::<bool>()).prop_map(
        |(orgs, identity_org, requested, default_org, join_oldest)| Case {
            orgs,
            identity_org,
            requested,
            default_org,
            join_oldest,
        },
    )
}

fn hex_of(bytes: &[u8; 12]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Case {
    fn pick(&self, index: &Index) -> Option<&OrgSpec> {
        (!self.orgs.is_empty()).then(|| &self.orgs[index.index(self.orgs.len())])
    }

    /// The identity's raw WorkOS organization, as the provider sent it.
    fn raw_identity_org(&self) -> Option<String> {
        match &self.identity_org {
            IdentityOrg::None => None,
            IdentityOrg::Pool(i) => Some(WORKOS_POOL[*i].to_owned()),
            IdentityOrg::Malformed(raw) => Some(raw.clone()),
            IdentityOrg::LocalId(i) => self.pick(i).map(OrgSpec::hex),
        }
    }

    fn raw_requested(&self) -> Option<String> {
        match &self.requested {
            Requested::None => None,
            Requested::Existing { which, upper, pad } => self.pick(which).map(|o| {
                let hex = if *upper { o.hex().to_uppercase() } else { o.hex() };
                format!("{}{hex}{}", pad.0, pad.1)
            }),
            Requested::Unknown(bytes) => Some(hex_of(bytes)),
            Requested::Garbage(raw) => Some(raw.clone()),
            Requested::Workos(i) => Some(WORKOS_POOL[*i].to_owned()),
            Requested::OffByOne(i, longer) => self.pick(i).map(|o| {
                let hex = o.hex();
                if *longer {
                    format!("{hex}0")
                } else {
                    hex[1..].to_owned()
                }
            }),
        }
    }

    fn default_organization_id(&self) -> Option<OrganizationId> {
        match &self.default_org {
            DefaultOrg::None => None,
            DefaultOrg::Existing(i) => self.pick(i).map(|o| OrganizationId::from_bytes(o.id)),
            DefaultOrg::Unknown(bytes) => Some(OrganizationId::from_bytes(*bytes)),
        }
    }

    /// The rules of `choose_organization`'s documentation, written on the generated
    /// data alone: strings compared as strings, the oldest unmapped found by a scan.
    fn model(&self) -> Outcome {
        let identity_workos = self.raw_identity_org().filter(|raw| {
            raw.strip_prefix("org_").is_some_and(|rest| {
                (1..=64).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric())
            })
        });
        let requested = self.raw_requested().and_then(|raw| {
            let trimmed = raw.trim().to_owned();
            let well_formed = trimmed.len() == 24 && trimmed.bytes().all(|b| b.is_ascii_hexdigit());
            well_formed
                .then(|| self.orgs.iter().find(|o| o.hex() == trimmed.to_ascii_lowercase()))
                .flatten()
        });
        let mapped = identity_workos.as_deref().and_then(|w| {
            self.orgs
                .iter()
                .find(|o| o.mapped.map(|i| WORKOS_POOL[i]) == Some(w))
        });
        if let Some(mapped) = mapped {
            return match requested {
                Some(r) if r.id != mapped.id => Outcome::Mismatch,
                _ => Outcome::Joined(mapped.hex()),
            };
        }
        if let Some(requested) = requested {
            return if requested.mapped.is_some() {
                Outcome::Mismatch
            } else {
                Outcome::Joined(requested.hex())
            };
        }
        // A mapped default is skipped.
        let default = self.default_organization_id().map(|id| id.to_string());
        if let Some(default) =
            default.and_then(|d| self.orgs.iter().find(|o| o.hex() == d && o.mapped.is_none()))
        {
            return Outcome::Joined(default.hex());
        }
        if !self.join_oldest {
            return Outcome::NoOrganization;
        }
        let mut oldest: Option<&OrgSpec> = None;
        for o in self.orgs.iter().filter(|o| o.mapped.is_none()) {
            if oldest.is_none_or(|best| (o.created_at, o.id) < (best.created_at, best.id)) {
                oldest = Some(o);
            }
        }
        oldest.map_or(Outcome::NoOrganization, |o| Outcome::Joined(o.hex()))
    }

    /// A world holding the generated organizations, with `policy`.
    fn world(&self, policy: ProvisioningPolicy) -> World {
        let w = World::with(|_, policies| policies.provisioning = policy);
        for o in &self.orgs {
            let created = Timestamp::from_millis(i64::from(o.created_at) * 1000);
            let tenant = o.mapped.map(|i| tenant(WORKOS_POOL[i]));
            let id =
                w.store
                    .add_mapped_organization(&o.hex(), created, StoredSessionSettings::none(), tenant);
            assert_eq!(id.to_string(), o.hex(), "the ids the model expects");
        }
        w
    }

    /// Whether some organization is mapped to no WorkOS organization.
    fn any_unmapped(&self) -> bool {
        self.orgs.iter().any(|o| o.mapped.is_none())
    }

    /// The organization mapped to the identity's (well-formed) WorkOS organization.
    fn own_mapped(&self) -> Option<&OrgSpec> {
        let workos = self.raw_identity_org().and_then(|raw| provider_tenant(&raw))?;
        self.orgs
            .iter()
            .find(|o| o.mapped.map(|i| WORKOS_POOL[i]) == Some(workos.as_str()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Joined(String),
    Mismatch,
    NoOrganization,
    Other(String),
}

fn run_choose(case: &Case) -> (Outcome, Option<Organization>) {
    let policy = ProvisioningPolicy {
        default_organization_id: case.default_organization_id(),
        join_oldest_organization: case.join_oldest,
        ..ProvisioningPolicy::default()
    };
    let w = case.world(policy);
    // As `find_or_create` does: a malformed WorkOS organization is no WorkOS organization.
    let workos = case.raw_identity_org().and_then(|raw| provider_tenant(&raw));
    let requested = case.raw_requested();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime builds");
    let result = runtime.block_on(
        w.services
            .provisioner
            .choose_organization(workos.as_ref(), requested.as_deref()),
    );
    match result {
        Ok(org) => (Outcome::Joined(org.id.to_string()), Some(org)),
        Err(ProvisionError::OrganizationMismatch) => (Outcome::Mismatch, None),
        Err(ProvisionError::NoOrganization) => (Outcome::NoOrganization, None),
        Err(other) => (Outcome::Other(other.to_string()), None),
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// The organization chosen (or the refusal) is the one the documented rules give.
    #[test]
    fn choose_organization_follows_the_documented_rules(case in case()) {
        let (actual, _) = run_choose(&case);
        prop_assert_eq!(actual, case.model(), "requested {:?}, identity org {:?}", case.raw_requested(), case.raw_identity_org());
    }

    /// Invariants that hold whatever the rules' order: a new user joins an existing
    /// organization; a mapped organization only through its own WorkOS organization
    /// (never by request, default or fallback); a mismatch needs a request; with
    /// `JOIN_OLDEST_ORGANIZATION` on and an unmapped organization (or their own) to
    /// join, the only refusal is a mismatch.
    #[test]
    fn choose_organization_invariants(case in case()) {
        let (outcome, joined) = run_choose(&case);
        let identity_workos = case
            .raw_identity_org()
            .and_then(|raw| provider_tenant(&raw));
        match (&outcome, joined) {
            (Outcome::Joined(hex), Some(org)) => {
                let spec = case.orgs.iter().find(|o| &o.hex() == hex);
                prop_assert!(spec.is_some(), "joined {} which does not exist", hex);
                // A mapped organization is never joined from outside its WorkOS
                // organization.
                if let Some(mapped) = &org.tenant {
                    prop_assert_eq!(Some(mapped), identity_workos.as_ref(),
                        "the mapped organization {} was joined from outside", hex);
                }
                // The identity's own mapped organization always wins when it is joined at all.
                if let Some(own) = identity_workos.as_ref().and_then(|w| case.orgs.iter().find(|o| o.mapped.map(|i| WORKOS_POOL[i]) == Some(w.as_str()))) {
                    prop_assert_eq!(hex, &own.hex());
                }
            }
            (Outcome::Mismatch, _) => {
                prop_assert!(case.raw_requested().is_some(), "a mismatch without a request");
            }
            (Outcome::NoOrganization, _) => {
                prop_assert!(!case.join_oldest || (!case.any_unmapped() && case.own_mapped().is_none()),
                    "NoOrganization although join-oldest is on and an organization may be joined");
            }
            (other, _) => prop_assert!(false, "unexpected outcome {:?}", other),
        }
    }

    /// A requested id means the same upper-cased or padded with whitespace; and
    /// without any request the choice never fails when join-oldest is on and an
    /// unmapped organization (or the identity's own) exists.
    #[test]
    fn a_request_spelled_differently_is_the_same_request(case in case(), upper in any::<bool>()) {
        if let Requested::Existing { which, pad, .. } = case.requested.clone() {
            let plain = Case { requested: Requested::Existing { which, upper: false, pad: ("", "") }, ..case.clone() };
            let spelled = Case { requested: Requested::Existing { which, upper, pad }, ..case.clone() };
            prop_assert_eq!(run_choose(&plain).0, run_choose(&spelled).0);
        }
        let unrequested = Case { requested: Requested::None, ..case };
        let (outcome, _) = run_choose(&unrequested);
        if unrequested.join_oldest && (unrequested.any_unmapped() || unrequested.own_mapped().is_some()) {
            prop_assert!(matches!(outcome, Outcome::Joined(_)), "{:?}", outcome);
        }
    }
}

/// A refused `warningTimeMinutes` is warned about once (wrong type), not a second time
/// for the minute relation it never took part in (a defect these properties found).
#[test]
fn a_refused_warning_time_is_warned_about_once_even_when_the_idle_time_out_is_dropped() {
    let stored = StoredSessionSettings::none()
        .with(
            SessionField::WarningTimeMinutes,
            SettingValue::Text("x".to_owned()),
        )
        .with(SessionField::IdleTimeoutMinutes, SettingValue::Number(2.0));
    let (config, warnings) = SessionConfig::default().overlay(&stored);
    assert_eq!(config, SessionConfig::default());
    let fields: Vec<SessionField> = warnings.iter().map(|w| w.field).collect();
    assert_eq!(
        fields,
        [SessionField::WarningTimeMinutes, SessionField::IdleTimeoutMinutes],
        "{warnings:?}"
    );
}

// ---- SessionConfig::overlay ------------------------------------------------------

const SSO_VALUES: [&str; 3] = ["redirect", "reauth-button", "force-logout"];
const PASSWORD_VALUES: [&str; 3] = ["logout", "reauth-modal", "force-logout"];

/// Numbers on and around every bound, plus anything.
fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => prop::sample::select(vec![
            -1.0, -0.0, 0.0, 1.0, 2.0, 3.0, 29.0, 30.0, 31.0, 719.0, 720.0, 721.0, 1439.0, 1440.0, 1441.0,
            0.5, 1.5, 1439.5, 4_294_967_296.0, 1e300, -1e300,
            f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MIN_POSITIVE, f64::EPSILON,
        ]),
        4 => (0u32..1500).prop_map(f64::from),
        1 => any::<f64>(),
    ]
}

fn setting_value() -> impl Strategy<Value = SettingValue> {
    prop_oneof![
        1 => any::<bool>().prop_map(SettingValue::Bool),
        3 => number().prop_map(SettingValue::Number),
        2 => prop_oneof![
            prop::sample::select(SSO_VALUES.to_vec()).prop_map(str::to_owned),
            prop::sample::select(PASSWORD_VALUES.to_vec()).prop_map(str::to_owned),
            Just("Redirect".to_owned()),
            Just(" logout".to_owned()),
            Just("true".to_owned()),
            Just("30".to_owned()),
            "\\PC{0,12}",
        ]
        .prop_map(SettingValue::Text),
        1 => prop::sample::select(vec!["array", "document", "date", "null"]).prop_map(SettingValue::Other),
    ]
}

/// A value of the field's type, on its own within its bounds, or not.
fn value_for(field: SessionField) -> BoxedStrategy<SettingValue> {
    let fitting: BoxedStrategy<SettingValue> = match field {
        SessionField::IdleTimeoutMinutes => prop_oneof![1u32..=3, 1u32..=1440]
            .prop_map(|n| SettingValue::Number(f64::from(n)))
            .boxed(),
        SessionField::TokenExpiryHours => (1u32..=720)
            .prop_map(|n| SettingValue::Number(f64::from(n)))
            .boxed(),
        SessionField::WarningTimeMinutes => prop_oneof![0u32..=3, 0u32..=1439]
            .prop_map(|n| SettingValue::Number(f64::from(n)))
            .boxed(),
        SessionField::SsoFallbackBehavior => prop::sample::select(SSO_VALUES.to_vec())
            .prop_map(|s| SettingValue::Text(s.to_owned()))
            .boxed(),
        SessionField::PasswordFallbackBehavior => prop::sample::select(PASSWORD_VALUES.to_vec())
            .prop_map(|s| SettingValue::Text(s.to_owned()))
            .boxed(),
        _ => any::<bool>().prop_map(SettingValue::Bool).boxed(),
    };
    prop_oneof![2 => fitting, 1 => setting_value()].boxed()
}

/// Any subset of the nine fields, each with a fitting or arbitrary value.
fn stored() -> impl Strategy<Value = StoredSessionSettings> {
    let per_field: Vec<BoxedStrategy<Option<SettingValue>>> = SessionField::ALL
        .iter()
        .map(|&f| prop::option::weighted(0.5, value_for(f)).boxed())
        .collect();
    per_field.prop_map(|values| {
        let mut stored = StoredSessionSettings::none();
        for (field, value) in SessionField::ALL.into_iter().zip(values) {
            stored.set(field, value);
        }
        stored
    })
}

/// Valid session policies to overlay on: the documented defaults or any valid one.
fn defaults() -> impl Strategy<Value = SessionConfig> {
    let any_valid = (
        any::<bool>(),
        prop_oneof![1u32..=3, 1u32..=1440],
        1u32..=720,
        prop_oneof![0u32..=3, 0u32..=1439],
        any::<[bool; 3]>(),
        prop::sample::select(SsoFallbackBehavior::ALL.to_vec()),
        prop::sample::select(PasswordFallbackBehavior::ALL.to_vec()),
    )
        .prop_filter_map(
            "warning must be below the idle time-out",
            |(enabled, idle, hours, warning, flags, sso, password)| {
                SessionConfig::new(SessionFields {
                    enabled,
                    idle_timeout_minutes: idle,
                    token_expiry_hours: hours,
                    warning_time_minutes: warning,
                    idle_tracking_enabled: flags[0],
                    sso_silent_renewal_enabled: flags[1],
                    sso_fallback_behavior: sso,
                    password_silent_renewal_enabled: flags[2],
                    password_fallback_behavior: password,
                })
                .ok()
            },
        );
    prop_oneof![1 => Just(SessionConfig::default()), 3 => any_valid]
}

/// The value `field` takes from `value`, if it is of the field's type and bounds;
/// written from the documented bounds, not from `policy.rs`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Taken {
    Flag(bool),
    Count(u32),
    Sso(SsoFallbackBehavior),
    Password(PasswordFallbackBehavior),
}

fn takes(field: SessionField, value: &SettingValue) -> Option<Taken> {
    let whole = |lo: u32, hi: u32| match value {
        SettingValue::Number(n)
            if n.is_finite() && n.trunc() == *n && *n >= f64::from(lo) && *n <= f64::from(hi) =>
        {
            (lo..=hi).find(|k| f64::from(*k) == *n).map(Taken::Count)
        }
        _ => None,
    };
    match (field, value) {
        (SessionField::IdleTimeoutMinutes, _) => whole(1, 1440),
        (SessionField::TokenExpiryHours, _) => whole(1, 720),
        (SessionField::WarningTimeMinutes, _) => whole(0, 1439),
        (SessionField::SsoFallbackBehavior, SettingValue::Text(t)) => match t.as_str() {
            "redirect" => Some(Taken::Sso(SsoFallbackBehavior::Redirect)),
            "reauth-button" => Some(Taken::Sso(SsoFallbackBehavior::ReauthButton)),
            "force-logout" => Some(Taken::Sso(SsoFallbackBehavior::ForceLogout)),
            _ => None,
        },
        (SessionField::PasswordFallbackBehavior, SettingValue::Text(t)) => match t.as_str() {
            "logout" => Some(Taken::Password(PasswordFallbackBehavior::Logout)),
            "reauth-modal" => Some(Taken::Password(PasswordFallbackBehavior::ReauthModal)),
            "force-logout" => Some(Taken::Password(PasswordFallbackBehavior::ForceLogout)),
            _ => None,
        },
        (SessionField::SsoFallbackBehavior | SessionField::PasswordFallbackBehavior, _) => None,
        (_, SettingValue::Bool(b)) => Some(Taken::Flag(*b)),
        _ => None,
    }
}

fn put(fields: &mut SessionFields, field: SessionField, taken: Taken) {
    match (field, taken) {
        (SessionField::Enabled, Taken::Flag(b)) => fields.enabled = b,
        (SessionField::IdleTrackingEnabled, Taken::Flag(b)) => fields.idle_tracking_enabled = b,
        (SessionField::SsoSilentRenewalEnabled, Taken::Flag(b)) => fields.sso_silent_renewal_enabled = b,
        (SessionField::PasswordSilentRenewalEnabled, Taken::Flag(b)) => {
            fields.password_silent_renewal_enabled = b
        }
        (SessionField::IdleTimeoutMinutes, Taken::Count(n)) => fields.idle_timeout_minutes = n,
        (SessionField::TokenExpiryHours, Taken::Count(n)) => fields.token_expiry_hours = n,
        (SessionField::WarningTimeMinutes, Taken::Count(n)) => fields.warning_time_minutes = n,
        (SessionField::SsoFallbackBehavior, Taken::Sso(v)) => fields.sso_fallback_behavior = v,
        (SessionField::PasswordFallbackBehavior, Taken::Password(v)) => fields.password_fallback_behavior = v,
        other => panic!("the model paired {other:?}"),
    }
}

/// The documented overlay: each value of its type and bounds is taken, every other
/// one is refused with one warning; if the taken values break `warning < idle`, the
/// taken warning time is dropped first, then the taken idle time-out, each with one
/// warning. Returns the fields and how many warnings each field gets.
fn overlay_model(
    defaults: &SessionConfig,
    stored: &StoredSessionSettings,
) -> (SessionFields, BTreeMap<SessionField, usize>) {
    let base = *defaults.fields();
    let mut fields = base;
    let mut warnings = BTreeMap::new();
    let mut taken_minutes = Vec::new();
    for (field, value) in stored.iter() {
        match takes(field, value) {
            Some(t) => {
                put(&mut fields, field, t);
                taken_minutes.push(field);
            }
            None => *warnings.entry(field).or_insert(0) += 1,
        }
    }
    if fields.warning_time_minutes >= fields.idle_timeout_minutes
        && taken_minutes.contains(&SessionField::WarningTimeMinutes)
    {
        fields.warning_time_minutes = base.warning_time_minutes;
        *warnings.entry(SessionField::WarningTimeMinutes).or_insert(0) += 1;
    }
    if fields.warning_time_minutes >= fields.idle_timeout_minutes
        && taken_minutes.contains(&SessionField::IdleTimeoutMinutes)
    {
        fields.idle_timeout_minutes = base.idle_timeout_minutes;
        *warnings.entry(SessionField::IdleTimeoutMinutes).or_insert(0) += 1;
    }
    (fields, warnings)
}

/// The nine fields of a policy as stored values.
fn as_stored(config: &SessionConfig) -> StoredSessionSettings {
    let f = config.fields();
    let (flag, count) = (SettingValue::Bool, |n: u32| SettingValue::Number(f64::from(n)));
    let sso = SettingValue::Text(f.sso_fallback_behavior.as_str().to_owned());
    let password = SettingValue::Text(f.password_fallback_behavior.as_str().to_owned());
    let values = [
        flag(f.enabled),
        count(f.idle_timeout_minutes),
        count(f.token_expiry_hours),
        count(f.warning_time_minutes),
        flag(f.idle_tracking_enabled),
        flag(f.sso_silent_renewal_enabled),
        sso,
        flag(f.password_silent_renewal_enabled),
        password,
    ];
    SessionField::ALL
        .into_iter()
        .zip(values)
        .fold(StoredSessionSettings::none(), |stored, (field, value)| {
            stored.with(field, value)
        })
}

fn warned_fields(warnings: &[tether_domain::SettingError]) -> BTreeMap<SessionField, usize> {
    let mut counts = BTreeMap::new();
    for w in warnings {
        *counts.entry(w.field).or_insert(0) += 1;
    }
    counts
}

proptest! {
    #![proptest_config(config(512))]

    /// The result is always a valid policy: every bound, and warning < idle.
    #[test]
    fn overlay_always_yields_a_valid_policy(defaults in defaults(), stored in stored()) {
        let (config, _) = defaults.overlay(&stored);
        let f = config.fields();
        prop_assert!((1..=1440).contains(&f.idle_timeout_minutes), "{:?}", f);
        prop_assert!((1..=720).contains(&f.token_expiry_hours), "{:?}", f);
        prop_assert!(f.warning_time_minutes < f.idle_timeout_minutes, "{:?}", f);
        prop_assert_eq!(SessionConfig::new(*f), Ok(config));
    }

    /// Field by field, the result is what the documented rules give: valid stored
    /// values taken, invalid ones leaving the default, the minute relation restored
    /// by dropping the stored warning time first.
    #[test]
    fn overlay_takes_exactly_the_valid_stored_values(defaults in defaults(), stored in stored()) {
        let (config, warnings) = defaults.overlay(&stored);
        let (expected, expected_warnings) = overlay_model(&defaults, &stored);
        prop_assert_eq!(config.fields(), &expected);
        // Every warning names a stored field, and every warned field is one the model warns about.
        for w in &warnings {
            prop_assert!(stored.get(w.field).is_some(), "warning about {} which is not stored", w.field);
            prop_assert!(!w.reason.is_empty());
        }
        let warned = warned_fields(&warnings);
        prop_assert_eq!(warned.keys().collect::<Vec<_>>(), expected_warnings.keys().collect::<Vec<_>>());
        // A refused value never changes its field.
        for (field, value) in stored.iter() {
            if takes(field, value).is_none() {
                let mut reset = *config.fields();
                put_default(&mut reset, &defaults, field);
                prop_assert_eq!(&reset, config.fields(), "refused {} changed its field", field);
            }
        }
    }

    /// Each refused stored value yields exactly one warning for its field, and a value
    /// taken then dropped for the minute relation exactly one too.
    #[test]
    fn overlay_warns_exactly_once_per_refused_or_dropped_field(defaults in defaults(), stored in stored()) {
        let (_, warnings) = defaults.overlay(&stored);
        let (_, expected_warnings) = overlay_model(&defaults, &stored);
        prop_assert_eq!(warned_fields(&warnings), expected_warnings, "{:?}", warnings);
    }

    /// Valid stored values that keep warning < idle together are all taken, silently.
    #[test]
    fn a_consistent_stored_set_is_taken_as_is(defaults in defaults(), stored in stored()) {
        let valid: StoredSessionSettings = stored
            .iter()
            .filter(|(f, v)| takes(*f, v).is_some())
            .fold(StoredSessionSettings::none(), |acc, (f, v)| acc.with(f, v.clone()));
        let mut fields = *defaults.fields();
        for (f, v) in valid.iter() {
            if let Some(t) = takes(f, v) { put(&mut fields, f, t); }
        }
        let (config, warnings) = defaults.overlay(&valid);
        if fields.warning_time_minutes < fields.idle_timeout_minutes {
            prop_assert!(warnings.is_empty(), "{:?}", warnings);
            prop_assert_eq!(config.fields(), &fields);
        } else {
            prop_assert!(!warnings.is_empty());
        }
    }

    /// Nothing stored: the defaults, no warning.
    #[test]
    fn overlaying_nothing_gives_the_defaults(defaults in defaults()) {
        prop_assert_eq!(defaults.overlay(&StoredSessionSettings::none()), (defaults, Vec::new()));
    }

    /// Storing the result's nine values and overlaying them again, on the same
    /// defaults or on the result itself, changes nothing and warns about nothing.
    #[test]
    fn overlay_is_idempotent(defaults in defaults(), stored in stored()) {
        let (config, _) = defaults.overlay(&stored);
        prop_assert_eq!(defaults.overlay(&as_stored(&config)), (config, Vec::new()));
        prop_assert_eq!(config.overlay(&as_stored(&config)), (config, Vec::new()));
        prop_assert_eq!(config.overlay(&StoredSessionSettings::none()), (config, Vec::new()));
    }

    /// The result passes the settings route's own validation: sent as a change of all
    /// nine fields, it is accepted and resolves to the same policy.
    #[test]
    fn overlay_result_passes_the_settings_route_validation(defaults in defaults(), stored in stored()) {
        let (config, _) = defaults.overlay(&stored);
        let patch = SettingsPatch::new(as_stored(&config).iter().map(|(f, v)| (f.name().to_owned(), Some(v.clone()))));
        let applied = patch.apply_to(&stored, &defaults);
        prop_assert!(applied.is_ok(), "{:?}", applied);
        if let Ok((_, resolved)) = applied {
            prop_assert_eq!(resolved, config);
        }
    }

    /// Whatever the settings route accepts and stores, a login overlays to the same
    /// policy without a single warning (write-time and read-time rules agree).
    #[test]
    fn what_the_settings_route_stores_overlays_cleanly(
        defaults in defaults(),
        stored in stored(),
        change in prop::collection::vec(
            (prop::sample::select(SessionField::ALL.to_vec()), prop::option::weighted(0.8, setting_value())),
            0..6,
        ),
    ) {
        let patch = SettingsPatch::new(change.into_iter().map(|(f, v)| (f.name().to_owned(), v)));
        if let Ok((next, resolved)) = patch.apply_to(&stored, &defaults) {
            prop_assert_eq!(defaults.overlay(&next), (resolved, Vec::new()));
        }
    }
}

/// Resets `field` of `fields` to its value in `defaults`.
fn put_default(fields: &mut SessionFields, defaults: &SessionConfig, field: SessionField) {
    let d = defaults.fields();
    match field {
        SessionField::Enabled => fields.enabled = d.enabled,
        SessionField::IdleTimeoutMinutes => fields.idle_timeout_minutes = d.idle_timeout_minutes,
        SessionField::TokenExpiryHours => fields.token_expiry_hours = d.token_expiry_hours,
        SessionField::WarningTimeMinutes => fields.warning_time_minutes = d.warning_time_minutes,
        SessionField::IdleTrackingEnabled => fields.idle_tracking_enabled = d.idle_tracking_enabled,
        SessionField::SsoSilentRenewalEnabled => {
            fields.sso_silent_renewal_enabled = d.sso_silent_renewal_enabled
        }
        SessionField::SsoFallbackBehavior => fields.sso_fallback_behavior = d.sso_fallback_behavior,
        SessionField::PasswordSilentRenewalEnabled => {
            fields.password_silent_renewal_enabled = d.password_silent_renewal_enabled
        }
        SessionField::PasswordFallbackBehavior => {
            fields.password_fallback_behavior = d.password_fallback_behavior
        }
        other => panic!("the model does not know {other:?}"),
    }
}
