//! Signing keys as an operator meets them through the binary: `keys generate` (no
//! setting needed), `check-config` showing thumbprints and never private keys, and a
//! key set that cannot be used stopping start-up with exit 2, naming
//! `JWT_SIGNING_KEYS` and the `kid`.

// Test code throughout, helpers too, for clippy's `allow-unwrap-in-tests`.
#![cfg(test)]

use std::process::{Command, Stdio};

mod support;
use support::SECRET;

/// The binary with nothing but `PATH` in its environment.
fn bare() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tether-auth"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null());
    cmd
}

/// The binary with valid settings on the in-memory store, plus `env`.
fn configured(env: &[(&str, &str)]) -> Command {
    let mut cmd = support::configured();
    cmd.envs(env.iter().copied());
    cmd
}

/// (exit code, stdout, stderr) of a command that stops by itself.
fn run(cmd: &mut Command) -> (Option<i32>, String, String) {
    let output = cmd.output().expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `keys generate` with `args`, in an empty environment; the printed JSON element.
fn generate(args: &[&str]) -> serde_json::Value {
    let (code, stdout, stderr) = run(bare().args(["keys", "generate"]).args(args));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout}");
    serde_json::from_str(&stdout).expect("one JSON element")
}

/// The base64 body of a PEM (what must never be printed).
fn pem_body(key: &serde_json::Value) -> String {
    key["privateKeyPem"]
        .as_str()
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect()
}

#[test]
fn keys_generate_needs_no_setting_and_prints_one_key_element() {
    let ed = generate(&["--alg", "EdDSA", "--kid", "ed-2026", "--status", "active"]);
    assert_eq!(ed["kid"], "ed-2026");
    assert_eq!(ed["alg"], "EdDSA");
    assert_eq!(ed["status"], "active");
    assert!(
        ed["privateKeyPem"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----\n")
    );
    let ec = generate(&["--alg", "ES256"]);
    assert_eq!(ec["alg"], "ES256");
    assert_eq!(ec["status"], "next", "next is the default status");
    assert_eq!(
        ec["kid"].as_str().unwrap().len(),
        16,
        "kid from the thumbprint: {ec}"
    );
    assert_ne!(
        generate(&["--alg", "ES256"])["privateKeyPem"],
        ec["privateKeyPem"]
    );
    let (code, _, stderr) = run(bare().args(["keys", "generate", "--alg", "HS256"]));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--alg"), "{stderr}");
}

#[test]
fn check_config_shows_kid_alg_status_and_thumbprint_never_the_private_keys() {
    let ed = generate(&["--alg", "EdDSA", "--kid", "ed-1", "--status", "active"]);
    let ec = generate(&["--alg", "ES256", "--kid", "ec-2"]);
    let hs = serde_json::json!({"kid": "legacy", "alg": "HS256", "status": "verify", "secret": SECRET});
    let keys = serde_json::json!([ed, ec, hs]).to_string();
    let (code, stdout, stderr) = run(configured(&[("JWT_SIGNING_KEYS", &keys)]).arg("check-config"));
    assert_eq!(code, Some(0), "{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("JWT_SIGNING_KEYS="))
        .expect("a JWT_SIGNING_KEYS line");
    assert!(
        line.starts_with("JWT_SIGNING_KEYS=kid=ed-1 alg=EdDSA status=active thumbprint="),
        "{line}"
    );
    assert!(
        line.contains("; kid=ec-2 alg=ES256 status=next thumbprint="),
        "{line}"
    );
    assert!(line.ends_with("; kid=legacy alg=HS256 status=verify"), "{line}");
    let all = format!("{stdout}{stderr}");
    for secret in [pem_body(&ed), pem_body(&ec), SECRET.to_owned()] {
        assert!(!all.contains(&secret), "private material printed: {all}");
    }
    assert!(!all.contains("PRIVATE KEY"), "{all}");
    assert!(stdout.contains("JWT_SECRET=<redacted>"), "{stdout}");
}

#[test]
fn a_key_set_that_cannot_be_used_stops_start_up_naming_the_setting_and_the_kid() {
    let key = |kid: &str, status: &str| {
        let mut key = generate(&["--alg", "EdDSA", "--kid", kid]);
        key["status"] = status.into();
        key
    };
    let ec = generate(&["--alg", "ES256", "--kid", "torn"]);
    let torn_pem = ec["privateKeyPem"].as_str().unwrap().replacen('M', "#", 1);
    let short = "short-hs256-secret-of-31-bytes!";
    assert_eq!(short.len(), 31);
    let cases = [
        (
            "no active key",
            serde_json::json!([key("k-a", "verify"), key("k-b", "next")]),
            "k-a",
        ),
        (
            "two active keys",
            serde_json::json!([key("k-a", "active"), key("k-b", "active")]),
            "k-b",
        ),
        (
            "a duplicate kid",
            serde_json::json!([key("dup", "active"), key("dup", "verify")]),
            "dup",
        ),
        (
            "a short HS256 secret",
            serde_json::json!([key("k-a", "active"), {"kid": "weak", "alg": "HS256", "status": "verify", "secret": short}]),
            "weak",
        ),
        (
            "a malformed PEM",
            serde_json::json!([key("k-a", "active"), {"kid": "torn", "alg": "ES256", "status": "next", "privateKeyPem": torn_pem}]),
            "torn",
        ),
        (
            "an unknown alg",
            serde_json::json!([key("k-a", "active"), {"kid": "rsa", "alg": "RS256", "status": "next", "secret": SECRET}]),
            "rsa",
        ),
    ];
    for (what, keys, kid) in cases {
        let keys = keys.to_string();
        for args in [&[][..], &["check-config"][..]] {
            let (code, _, stderr) = run(configured(&[("JWT_SIGNING_KEYS", &keys)]).args(args));
            assert_eq!(code, Some(2), "{what} {args:?}: {stderr}");
            assert!(stderr.contains("JWT_SIGNING_KEYS"), "{what}: {stderr}");
            assert!(
                stderr.contains(&format!("`{kid}`")),
                "{what} names {kid}: {stderr}"
            );
            assert!(
                !stderr.contains(short) && !stderr.contains(SECRET) && !stderr.contains("PRIVATE"),
                "{what}: {stderr}"
            );
        }
    }
}

#[test]
fn with_signing_keys_and_a_state_secret_jwt_secret_may_be_unset() {
    let ed = generate(&["--alg", "EdDSA", "--kid", "ed-only", "--status", "active"]);
    let keys = serde_json::json!([ed]).to_string();
    let state = "state-secret-state-secret-state-secret";
    let mut cmd = configured(&[("JWT_SIGNING_KEYS", &keys), ("STATE_SECRET", state)]);
    cmd.env_remove("JWT_SECRET").arg("check-config");
    let (code, stdout, stderr) = run(&mut cmd);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("JWT_SECRET=(unset)"), "{stdout}");
    assert!(
        stdout.contains("JWT_SIGNING_KEYS=kid=ed-only alg=EdDSA status=active"),
        "{stdout}"
    );
    // Without STATE_SECRET, JWT_SECRET keys the login states and stays required.
    let mut cmd = configured(&[("JWT_SIGNING_KEYS", &keys)]);
    cmd.env_remove("JWT_SECRET").arg("check-config");
    let (code, _, stderr) = run(&mut cmd);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("JWT_SECRET") && stderr.contains("STATE_SECRET"),
        "{stderr}"
    );
}
