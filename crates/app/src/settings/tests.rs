//! The settings as an operator writes them: defaults, refusals naming the setting,
//! the file, secrets from files, the `check-config` listing.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::ExposeSecret;
use tether_domain::{RefreshPolicy, SessionLifetimes};

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut all = vec![
        ("STORE".to_owned(), "memory".to_owned()),
        ("JWT_SECRET".to_owned(), "s".repeat(32)),
        ("WORKOS_API_KEY".to_owned(), "sk_test_x".to_owned()),
        ("WORKOS_CLIENT_ID".to_owned(), "client_x".to_owned()),
    ];
    for (k, v) in pairs {
        all.retain(|(key, _)| key != k);
        all.push(((*k).to_owned(), (*v).to_owned()));
    }
    all
}

/// The settings of the test environment with `pairs` set over it.
fn load(pairs: &[(&str, &str)]) -> Settings {
    Settings::load_from(None, env(pairs)).unwrap()
}

/// The refusal of `key` set to `value`, which names `key`.
fn refused_naming(key: &str, value: &str) -> SettingsError {
    let err = refusal(&[(key, value)]);
    assert_eq!(err.key, key, "{key}={value}: {err}");
    err
}

/// Why the test environment with `pairs` set over it is refused.
fn refusal(pairs: &[(&str, &str)]) -> SettingsError {
    Settings::load_from(None, env(pairs)).unwrap_err()
}

#[test]
fn minimal_environment_gives_the_documented_defaults() {
    let s = load(&[]);
    assert_eq!(s.http.port, 3000);
    assert_eq!(s.workos.base_url, "https://api.workos.com");
    assert_eq!(s.http.default_redirect_uri(), "http://localhost:5173/signin");
    assert!(s.mongo.uri.is_none());
    assert_eq!(s.provisioning.policy.default_role, AccessRole::SalesRep);
    assert_eq!(s.session, SessionConfig::default());
    assert_eq!(s.tokens.lifetimes, SessionLifetimes::default());
    assert!(
        !s.provisioning.accept_unissued_state,
        "state checking is strict by default"
    );
}

#[test]
fn unissued_states_can_be_accepted_by_setting() {
    let s = load(&[("ACCEPT_UNISSUED_STATE", "true")]);
    assert!(s.provisioning.accept_unissued_state);
    let err = refusal(&[("ACCEPT_UNISSUED_STATE", "maybe")]);
    assert_eq!(err.key, "ACCEPT_UNISSUED_STATE", "{err}");
}

#[test]
fn a_31_byte_jwt_secret_stops_start_up_naming_it() {
    let err = refusal(&[("JWT_SECRET", &"x".repeat(31))]);
    assert_eq!(err.key, "JWT_SECRET");
    assert!(
        !err.to_string().contains(&"x".repeat(31)),
        "the secret is not echoed"
    );
}

#[test]
fn secrets_with_surrounding_white_space_are_refused_naming_them() {
    let padded = format!("{}\n", "s".repeat(40));
    for key in ["JWT_SECRET", "STATE_SECRET", "WORKOS_API_KEY", "MONGODB_URI"] {
        let err = refusal(&[(key, &padded)]);
        assert_eq!(err.key, key);
        assert!(err.message.contains("white space"), "{}", err.message);
        assert!(
            !err.to_string().contains(&"s".repeat(40)),
            "the value is not echoed"
        );
    }
    let leading = format!(" {}", "s".repeat(40));
    assert_eq!(refusal(&[("JWT_SECRET", &leading)]).key, "JWT_SECRET");
}

#[test]
fn a_jwt_secret_is_used_exactly_as_given() {
    let secret = format!("{}!#", "k".repeat(40));
    let settings = load(&[("JWT_SECRET", &secret)]);
    assert_eq!(settings.tokens.jwt_secret.unwrap().expose_secret(), secret);
}

#[test]
fn a_state_secret_is_optional_and_must_be_32_bytes() {
    assert!(load(&[]).tokens.state_secret.is_none());
    let ok = load(&[("STATE_SECRET", &"t".repeat(32))]);
    assert_eq!(ok.tokens.state_secret.unwrap().expose_secret(), "t".repeat(32));
    let err = refusal(&[("STATE_SECRET", &"t".repeat(31))]);
    assert_eq!(err.key, "STATE_SECRET");
}

#[test]
fn a_privileged_default_role_is_refused() {
    for role in ["ADMIN", "SUPERADMIN"] {
        let err = refusal(&[("DEFAULT_ROLE", role)]);
        assert_eq!(err.key, "DEFAULT_ROLE", "{role}");
    }
    let ok = load(&[("DEFAULT_ROLE", "DEPARTMENT_HEAD")]);
    assert_eq!(ok.provisioning.policy.default_role, AccessRole::DepartmentHead);
}

#[test]
fn joining_the_oldest_organization_is_on_unless_turned_off() {
    assert!(load(&[]).provisioning.policy.join_oldest_organization);
    let off = load(&[("JOIN_OLDEST_ORGANIZATION", "false")]);
    assert!(!off.provisioning.policy.join_oldest_organization);
}

#[test]
fn a_missing_jwt_secret_stops_start_up() {
    let without: Vec<_> = env(&[]).into_iter().filter(|(k, _)| k != "JWT_SECRET").collect();
    assert_eq!(Settings::load_from(None, without).unwrap_err().key, "JWT_SECRET");
}

#[test]
fn a_malformed_default_organization_id_stops_start_up_naming_it() {
    let err = refusal(&[("DEFAULT_ORGANIZATION_ID", "org_01HX9R3K")]);
    assert_eq!(err.key, "DEFAULT_ORGANIZATION_ID");
    let ok = load(&[("DEFAULT_ORGANIZATION_ID", "64a1b2c3d4e5f60012345678")]);
    assert!(ok.provisioning.policy.default_organization_id.is_some());
}

#[test]
fn environment_names_of_the_product_are_read() {
    let s = load(&[
        ("PORT", "8081"),
        ("STORE", "mongodb"),
        ("MONGODB_URI", "mongodb://127.0.0.1:27017/app"),
        ("WORKOS_BASE_URL", "http://127.0.0.1:4100/"),
        ("CLIENT_URL", "https://app.tether.example"),
        (
            "ALLOWED_REDIRECT_URIS",
            "https://app.tether.example/auth/callback,http://localhost:3000/x",
        ),
        ("SESSION__TOKEN_EXPIRY_HOURS", "2"),
        ("DEFAULT_ROLE", "DEPARTMENT_HEAD"),
    ]);
    assert_eq!(s.http.port, 8081);
    assert!(s.mongo.uses_mongodb());
    assert_eq!(s.workos.base_url, "http://127.0.0.1:4100");
    assert_eq!(s.http.allowed_redirect_uris.len(), 2);
    assert_eq!(s.session.fields().token_expiry_hours, 2);
    assert_eq!(s.provisioning.policy.default_role, AccessRole::DepartmentHead);
}

#[test]
fn bad_values_name_their_setting() {
    for (key, value) in [
        ("PORT", "http"),
        ("WORKOS_BASE_URL", "api.workos.com"),
        ("DEFAULT_ROLE", "OWNER"),
        ("SESSION__WARNING_TIME_MINUTES", "45"),
        ("SESSION__SSO_FALLBACK_BEHAVIOR", "explode"),
        ("REFRESH_TOKEN_TTL_DAYS", "0"),
        ("LOG_FORMAT", "xml"),
    ] {
        refused_naming(key, value);
    }
}

#[test]
fn a_config_file_is_read_and_the_environment_wins_over_it() {
    let path = temp_file(
        "t.toml",
        "port = 4000\nallowed_redirect_uris = [\"https://a.example/cb\"]\n[session]\nidle_timeout_minutes = 60\n",
    );
    let s = Settings::load_from(Some(path.clone()), env(&[("PORT", "5000")])).unwrap();
    assert_eq!(s.http.port, 5000);
    assert_eq!(s.http.allowed_redirect_uris, ["https://a.example/cb"]);
    assert_eq!(s.session.fields().idle_timeout_minutes, 60);
    std::fs::remove_file(path).unwrap();
}

#[test]
fn limits_default_as_documented_and_are_read_from_the_environment() {
    let s = load(&[]);
    assert_eq!(s.mongo.timeout, Duration::from_millis(3000));
    assert_eq!(s.http.request_body_timeout, Duration::from_millis(10_000));
    assert_eq!(s.limits.rate_limit_per_minute, 60);
    assert!(s.limits.trusted_proxies.is_empty());
    assert_eq!(s.http.metrics_port, 9464);
    let s = load(&[
        ("REQUEST_BODY_TIMEOUT_MS", "500"),
        ("RATE_LIMIT_PER_MINUTE", "0"),
        ("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1,2001:db8::/32"),
        ("METRICS_PORT", "0"),
    ]);
    assert_eq!(s.http.request_body_timeout, Duration::from_millis(500));
    assert_eq!(s.limits.rate_limit_per_minute, 0);
    assert_eq!(s.limits.trusted_proxies.len(), 3);
    assert!(s.limits.trusted_proxies[1].contains(&"192.168.1.1".parse::<std::net::IpAddr>().unwrap()));
    assert_eq!(s.http.metrics_port, 0);
}

#[test]
fn the_refresh_budget_the_workos_back_off_cap_and_the_browser_binding_are_settings() {
    let s = load(&[]);
    assert_eq!(s.limits.refresh_rate_limit_per_minute, 600);
    assert_eq!(s.workos.backoff_max, Duration::from_secs(60));
    assert!(!s.provisioning.require_client_challenge);
    let s = load(&[
        ("REFRESH_RATE_LIMIT_PER_MINUTE", "0"),
        ("WORKOS_BACKOFF_MAX_SECONDS", "5"),
        ("REQUIRE_CLIENT_CHALLENGE", "true"),
    ]);
    assert_eq!(s.limits.refresh_rate_limit_per_minute, 0);
    assert_eq!(s.workos.backoff_max, Duration::from_secs(5));
    assert!(s.provisioning.require_client_challenge);
    for (name, value) in [
        ("WORKOS_BACKOFF_MAX_SECONDS", "0"),
        ("WORKOS_BACKOFF_MAX_SECONDS", "3601"),
        ("REFRESH_RATE_LIMIT_PER_MINUTE", "1000001"),
    ] {
        let refused = refusal(&[(name, value)]);
        assert!(
            refused.to_string().contains(&format!("setting {name}:")),
            "{refused}"
        );
    }
    let refused = refusal(&[(
        "TRUSTED_PROXIES",
        "REPLACE_ME_WITH_THE_INGRESS_CONTROLLER_ADDRESSES",
    )]);
    assert!(
        refused.to_string().contains("setting TRUSTED_PROXIES"),
        "the manifest's placeholder: {refused}"
    );
}

#[test]
fn limits_in_a_config_file_use_the_lower_case_names() {
    let path = temp_file(
        "limits.toml",
        "request_body_timeout_ms = 2000\nrate_limit_per_minute = 5\ntrusted_proxies = [\"10.0.0.0/8\"]\nmetrics_port = 9999\n",
    );
    let s = Settings::load_from(Some(path.clone()), env(&[])).unwrap();
    assert_eq!(s.http.request_body_timeout, Duration::from_millis(2000));
    assert_eq!(s.limits.rate_limit_per_minute, 5);
    assert_eq!(s.limits.trusted_proxies.len(), 1);
    assert_eq!(s.http.metrics_port, 9999);
    std::fs::remove_file(path).unwrap();
}

#[test]
fn bad_limits_name_their_setting() {
    for (key, value) in [
        ("MONGODB_TIMEOUT_MS", "0"),
        ("REQUEST_BODY_TIMEOUT_MS", "0"),
        ("REQUEST_BODY_TIMEOUT_MS", "soon"),
        ("RATE_LIMIT_PER_MINUTE", "2000000"),
        ("RATE_LIMIT_PER_MINUTE", "-1"),
        ("TRUSTED_PROXIES", "10.0.0.0/33"),
        ("TRUSTED_PROXIES", "proxy.internal"),
        ("METRICS_PORT", "70000"),
        ("METRICS_PORT", "3000"),
    ] {
        let err = refusal(&[(key, value)]);
        assert!(
            err.key == key || err.to_string().to_lowercase().contains(&key.to_lowercase()),
            "{key}={value}: {err}"
        );
    }
}

#[test]
fn the_mongodb_pool_size_defaults_to_twenty_and_is_bounded_naming_its_setting() {
    let s = load(&[]);
    assert_eq!(s.mongo.max_pool_size, 20);
    let s = load(&[("MONGODB_MAX_POOL_SIZE", "25")]);
    assert_eq!(s.mongo.max_pool_size, 25);
    for bad in ["0", "501", "ten"] {
        let e = refusal(&[("MONGODB_MAX_POOL_SIZE", bad)]);
        assert_eq!(e.key, "MONGODB_MAX_POOL_SIZE", "{bad}");
    }
    let mongo = load_mongo_from(
        None,
        [
            (
                "MONGODB_URI".to_owned(),
                "mongodb://db.internal/tether".to_owned(),
            ),
            ("MONGODB_MAX_POOL_SIZE".to_owned(), "7".to_owned()),
        ],
    )
    .unwrap();
    assert_eq!(mongo.max_pool_size, Some(7));
}

#[test]
fn the_workers_share_the_pool_size_and_never_outnumber_it() {
    let mongo = |pairs: &[(&str, &str)]| {
        let mut all = vec![
            ("STORE", "mongodb"),
            ("MONGODB_URI", "mongodb://db.internal/tether"),
        ];
        all.extend_from_slice(pairs);
        Settings::load_from(None, env(&all))
    };
    let s = mongo(&[("HTTP_WORKERS", "3"), ("MONGODB_MAX_POOL_SIZE", "10")]).unwrap();
    assert_eq!((s.workers(), s.pool_per_worker()), (3, 3));
    let s = mongo(&[("HTTP_WORKERS", "0"), ("MONGODB_MAX_POOL_SIZE", "1")]).unwrap();
    assert_eq!(
        (s.workers(), s.pool_per_worker()),
        (1, 1),
        "one per core, at most the pool size"
    );
    let e = mongo(&[("HTTP_WORKERS", "8"), ("MONGODB_MAX_POOL_SIZE", "4")]).unwrap_err();
    assert_eq!(e.key, "MONGODB_MAX_POOL_SIZE");
    // The in-memory store has no pool to share.
    let s = load(&[("HTTP_WORKERS", "8"), ("MONGODB_MAX_POOL_SIZE", "4")]);
    assert_eq!(s.workers(), 8);
}

#[test]
fn the_refresh_reuse_grace_window_defaults_to_ten_seconds() {
    let s = load(&[]);
    assert_eq!(s.tokens.refresh_policy, RefreshPolicy::default());
    assert_eq!(s.tokens.refresh_policy.reuse_grace_seconds, 10);
}

#[test]
fn the_refresh_reuse_grace_window_is_read_from_the_environment_from_zero_to_three_hundred() {
    for (raw, seconds) in [("0", 0), ("45", 45), ("300", 300)] {
        let s = load(&[("REFRESH_REUSE_GRACE_SECONDS", raw)]);
        assert_eq!(s.tokens.refresh_policy.reuse_grace_seconds, seconds, "{raw}");
    }
}

#[test]
fn a_refresh_reuse_grace_window_out_of_range_or_not_a_number_stops_start_up_naming_it() {
    for bad in ["301", "-1", "ten"] {
        let err = refusal(&[("REFRESH_REUSE_GRACE_SECONDS", bad)]);
        assert_eq!(err.key, "REFRESH_REUSE_GRACE_SECONDS", "{bad}: {err}");
    }
}

#[test]
fn audit_records_are_kept_a_year_unless_audit_retention_days_says_otherwise() {
    let s = load(&[]);
    assert_eq!(s.audit.retention_days, 365);
    for (raw, days) in [("1", 1), ("90", 90), ("3650", 3650)] {
        let s = load(&[("AUDIT_RETENTION_DAYS", raw)]);
        assert_eq!(s.audit.retention_days, days, "{raw}");
    }
    for bad in ["0", "3651", "-1", "a year"] {
        let err = refusal(&[("AUDIT_RETENTION_DAYS", bad)]);
        assert_eq!(err.key, "AUDIT_RETENTION_DAYS", "{bad}: {err}");
    }
}

/// A folder of this test process under the workspace's `target/tmp` (removed with
/// the build output, not left in the system's temporary folder).
fn test_dir(tag: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/tmp")
        .join(format!("tether-{tag}-{}", std::process::id()))
}

fn temp_file(name: &str, content: &str) -> PathBuf {
    let dir = test_dir("settings");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

#[test]
fn every_type_error_names_the_environment_name() {
    for (key, value) in [
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("MONGODB_TIMEOUT_MS", "soon"),
        ("ACCEPT_UNISSUED_STATE", "maybe"),
        ("SESSION__IDLE_TIMEOUT_MINUTES", "half"),
        ("SESSION__ENABLED", "perhaps"),
    ] {
        let err = refused_naming(key, value);
        assert!(
            err.to_string().starts_with(&format!("invalid setting {key}:")),
            "{err}"
        );
    }
}

#[test]
fn a_type_error_in_the_file_names_the_environment_name_too() {
    let path = temp_file("typed.toml", "port = \"abc\"\n");
    let err = Settings::load_from(Some(path), env(&[])).unwrap_err();
    assert_eq!(err.key, "PORT", "{err}");
}

#[test]
fn the_store_defaults_to_mongodb_which_requires_its_uri() {
    let err = refusal(&[("STORE", "")]);
    assert_eq!(err.key, "MONGODB_URI", "{err}");
    let s = load(&[("STORE", ""), ("MONGODB_URI", "mongodb://db:27017")]);
    assert_eq!(s.mongo.store, StoreKind::MongoDb);
    assert!(s.mongo.uses_mongodb());
    let s = load(&[]);
    assert_eq!(s.mongo.store, StoreKind::Memory);
    assert!(!s.mongo.uses_mongodb());
}

#[test]
fn an_unknown_store_or_memory_with_a_uri_is_refused() {
    assert_eq!(refusal(&[("STORE", "redis")]).key, "STORE");
    let err = refusal(&[("MONGODB_URI", "mongodb://db:27017")]);
    assert_eq!(err.key, "STORE", "{err}");
}

#[test]
fn a_settings_file_that_does_not_parse_is_reported_without_its_lines() {
    let file = temp_file(
        "broken.toml",
        "port = 3000\njwt_secret = \"unterminated-very-secret-value\n",
    );
    let err = Settings::load_from(Some(file), env(&[])).unwrap_err();
    assert_eq!(err.key, "TETHER_CONFIG");
    assert!(err.message.contains("line 2"), "{}", err.message);
    assert!(!err.to_string().contains("very-secret"), "{err}");
}

#[test]
fn secrets_are_read_from_files_less_one_trailing_line_break() {
    let jwt = temp_file("jwt", &format!("{}\n", "f".repeat(40)));
    let key = temp_file("key", "sk_from_file\r\n");
    let uri = temp_file("uri", "mongodb://user:pw@db:27017/x");
    let state = temp_file("state", &format!("{}\n", "t".repeat(32)));
    let pairs: Vec<(String, String)> = env(&[("STORE", "mongodb")])
        .into_iter()
        .filter(|(k, _)| k != "JWT_SECRET" && k != "WORKOS_API_KEY")
        .chain([
            ("JWT_SECRET_FILE".to_owned(), jwt.display().to_string()),
            ("WORKOS_API_KEY_FILE".to_owned(), key.display().to_string()),
            ("MONGODB_URI_FILE".to_owned(), uri.display().to_string()),
            ("STATE_SECRET_FILE".to_owned(), state.display().to_string()),
        ])
        .collect();
    let s = Settings::load_from(None, pairs).unwrap();
    assert_eq!(s.tokens.jwt_secret.unwrap().expose_secret(), "f".repeat(40));
    assert_eq!(s.workos.api_key.expose_secret(), "sk_from_file");
    assert_eq!(
        s.mongo.uri.unwrap().expose_secret(),
        "mongodb://user:pw@db:27017/x"
    );
    assert_eq!(s.tokens.state_secret.unwrap().expose_secret(), "t".repeat(32));
    // Only one line break is taken off; more white space is refused, not trimmed.
    let padded = temp_file("state-padded", &format!("{}\n\n", "t".repeat(32)));
    let pairs: Vec<(String, String)> = env(&[("STATE_SECRET_FILE", &padded.display().to_string())]);
    let err = Settings::load_from(None, pairs).unwrap_err();
    assert_eq!(err.key, "STATE_SECRET_FILE");
    assert!(err.message.contains("white space"), "{}", err.message);
}

#[test]
fn a_secret_set_as_value_and_as_file_is_refused_naming_both() {
    let jwt = temp_file("jwt-both", &"f".repeat(40));
    let err = refusal(&[("JWT_SECRET_FILE", &jwt.display().to_string())]);
    assert_eq!(err.key, "JWT_SECRET");
    assert!(err.to_string().contains("JWT_SECRET_FILE"), "{err}");
    assert!(!err.to_string().contains(&"f".repeat(40)), "{err}");
}

#[test]
fn a_missing_or_empty_secret_file_names_the_file_setting() {
    let empty = temp_file("empty", "\n");
    for path in [
        empty.display().to_string(),
        "/nonexistent/tether/secret".to_owned(),
    ] {
        let pairs: Vec<_> = env(&[("WORKOS_API_KEY_FILE", &path)])
            .into_iter()
            .filter(|(k, _)| k != "WORKOS_API_KEY")
            .collect();
        assert_eq!(
            Settings::load_from(None, pairs).unwrap_err().key,
            "WORKOS_API_KEY_FILE"
        );
    }
}

#[test]
fn an_unknown_key_of_the_file_is_refused_naming_it() {
    let path = temp_file("typo.toml", "port = 4000\nmongo_uri = \"mongodb://db\"\n");
    let err = Settings::load_from(Some(path), env(&[])).unwrap_err();
    assert!(err.to_string().contains("`mongo_uri`"), "{err}");
    let path = temp_file("typo-session.toml", "[session]\nidle_timeout = 5\n");
    let err = Settings::load_from(Some(path), env(&[])).unwrap_err();
    assert!(err.to_string().contains("`session.idle_timeout`"), "{err}");
}

#[test]
fn the_shipped_example_file_is_valid() {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/tether-auth.example.toml"
    ));
    Settings::load_from(Some(path), env(&[])).unwrap();
}

#[test]
fn effective_settings_name_every_setting_and_redact_secrets() {
    let s = load(&[("WORKOS_API_KEY", "sk_live_very_secret"), ("PORT", "4321")]);
    let shown: std::collections::HashMap<_, _> = s.effective().iter().cloned().collect();
    assert_eq!(shown["PORT"], "4321");
    assert_eq!(shown["STORE"], "memory");
    assert_eq!(shown["JWT_SECRET"], "<redacted>");
    assert_eq!(shown["WORKOS_API_KEY"], "<redacted>");
    assert_eq!(shown["MONGODB_URI"], "(unset)");
    assert_eq!(shown["STATE_SECRET"], "(unset)");
    assert_eq!(shown["SESSION__IDLE_TIMEOUT_MINUTES"], "30");
    let all = format!("{:?}", s.effective());
    assert!(
        !all.contains("sk_live_very_secret") && !all.contains(&"s".repeat(32)),
        "{all}"
    );
}

fn generated_key(alg: tether_jwt::KeyAlgorithm, kid: &str, status: tether_jwt::KeyStatus) -> String {
    serde_json::to_string(&tether_jwt::generate(alg, Some(kid.to_owned()), status).unwrap()).unwrap()
}

#[test]
fn signing_keys_are_read_and_shown_by_kid_alg_status_and_thumbprint_only() {
    use tether_jwt::{KeyAlgorithm, KeyStatus};
    let ed = generated_key(KeyAlgorithm::EdDsa, "ed-1", KeyStatus::Active);
    let ec = generated_key(KeyAlgorithm::Es256, "ec-2", KeyStatus::Next);
    let keys = format!("[{ed}, {ec}]");
    let from_file = temp_file("signing-keys.json", &format!("{keys}\n"));
    for pairs in [
        env(&[("JWT_SIGNING_KEYS", &keys)]),
        env(&[("JWT_SIGNING_KEYS_FILE", &from_file.display().to_string())]),
    ] {
        let s = Settings::load_from(None, pairs).unwrap();
        assert_eq!(s.tokens.signing_keys.active().kid(), "ed-1");
        let shown: std::collections::HashMap<_, _> = s.effective().iter().cloned().collect();
        let line = &shown["JWT_SIGNING_KEYS"];
        assert!(
            line.starts_with("kid=ed-1 alg=EdDSA status=active thumbprint="),
            "{line}"
        );
        assert!(
            line.contains("; kid=ec-2 alg=ES256 status=next thumbprint="),
            "{line}"
        );
        let all = format!("{:?} {:?}", s.effective(), s);
        assert!(
            !all.contains("PRIVATE KEY") && !all.contains(&"s".repeat(32)),
            "{all}"
        );
    }
    // Unset: the JWT_SECRET key, named by its kid.
    let s = load(&[]);
    let shown: std::collections::HashMap<_, _> = s.effective().iter().cloned().collect();
    assert_eq!(
        shown["JWT_SIGNING_KEYS"],
        format!(
            "(unset: JWT_SECRET signs, kid={} alg=HS256 status=active)",
            tether_jwt::secret_kid(&"s".repeat(32))
        )
    );
    let err = refusal(&[
        ("JWT_SIGNING_KEYS", &keys),
        ("JWT_SIGNING_KEYS_FILE", &from_file.display().to_string()),
    ]);
    assert_eq!(err.key, "JWT_SIGNING_KEYS");
}

#[test]
fn a_refused_key_set_names_the_setting_and_the_kid() {
    use tether_jwt::{KeyAlgorithm, KeyStatus};
    let ed = generated_key(KeyAlgorithm::EdDsa, "ed-1", KeyStatus::Active);
    let also_active = generated_key(KeyAlgorithm::Es256, "ec-2", KeyStatus::Active);
    let err = refusal(&[("JWT_SIGNING_KEYS", &format!("[{ed}, {also_active}]"))]);
    assert_eq!(err.key, "JWT_SIGNING_KEYS");
    assert!(
        err.message.contains("ec-2") && err.message.contains("ed-1"),
        "{err}"
    );
    assert!(!err.message.contains("PRIVATE"), "{err}");
    let err = refusal(&[("JWT_SIGNING_KEYS", "[{\"kid\": \"a\",")]);
    assert_eq!(err.key, "JWT_SIGNING_KEYS");
}

#[test]
fn jwt_secret_may_be_unset_only_with_signing_keys_and_a_state_secret() {
    use tether_jwt::{KeyAlgorithm, KeyStatus};
    let keys = format!(
        "[{}]",
        generated_key(KeyAlgorithm::EdDsa, "ed-1", KeyStatus::Active)
    );
    let without = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        env(pairs)
            .into_iter()
            .filter(|(k, _)| k != "JWT_SECRET")
            .collect()
    };
    let s = Settings::load_from(
        None,
        without(&[("JWT_SIGNING_KEYS", &keys), ("STATE_SECRET", &"t".repeat(32))]),
    )
    .unwrap();
    assert!(s.tokens.jwt_secret.is_none());
    assert_eq!(s.tokens.signing_keys.active().kid(), "ed-1");
    let shown: std::collections::HashMap<_, _> = s.effective().iter().cloned().collect();
    assert_eq!(shown["JWT_SECRET"], "(unset)");
    let state = "t".repeat(32);
    for pairs in [
        &[("JWT_SIGNING_KEYS", keys.as_str())][..],
        &[("STATE_SECRET", state.as_str())][..],
    ] {
        let err = Settings::load_from(None, without(pairs)).unwrap_err();
        assert_eq!(err.key, "JWT_SECRET", "{pairs:?}: {err}");
    }
}
