//! Signing keys against the real peers: EdDSA and ES256 tokens verified by an
//! independent implementation (Node's `jose`) through the published JWKS, the three
//! rotation steps of docs/operations.md walked with a live session, and forged
//! headers refused with 401 `INVALID_TOKEN`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mongodb::bson::doc;
use serde_json::{Value, json};

use crate::support::*;

/// A new key from `tether-auth keys generate`'s own code, as a JSON element.
fn new_key(alg: &str, kid: &str, status: &str) -> Value {
    let args = [
        "tether-auth",
        "keys",
        "generate",
        "--alg",
        alg,
        "--kid",
        kid,
        "--status",
        status,
    ];
    let Ok(tether_auth::cli::Command::Keys(command)) = tether_auth::cli::Cli::parse_from_args(args) else {
        panic!("valid arguments: {args:?}");
    };
    serde_json::from_str(&tether_auth::keys::run(command.into()).expect("a key")).expect("JSON")
}

fn with_status(mut key: Value, status: &str) -> Value {
    key["status"] = status.into();
    key
}

/// The `JWT_SECRET` of the tests as a key of the set, under the `kid` its tokens carry.
fn secret_key(status: &str) -> Value {
    json!({"kid": secret_kid(), "alg": "HS256", "status": status, "secret": JWT_SECRET})
}

/// The `kid` of the `JWT_SECRET` key: the first 8 bytes of its SHA-256, hex.
fn secret_kid() -> String {
    use sha2::Digest as _;
    hex::encode(&sha2::Sha256::digest(JWT_SECRET.as_bytes())[..8])
}

/// A service with `keys` (none: the default `JWT_SECRET` key) on database `db` (none:
/// its own).
async fn spawn(tag: &'static str, keys: Option<&[Value]>, db: Option<&str>) -> TestApp {
    let mut options = Options::new(tag).env("REFRESH_REUSE_GRACE_SECONDS", "0");
    if let Some(keys) = keys {
        options = options.env("JWT_SIGNING_KEYS", Value::from(keys.to_vec()).to_string());
    }
    if let Some(db) = db {
        options = options.env("MONGODB_DATABASE", db);
    }
    TestApp::spawn(options).await
}

/// (access token, refresh token) of a 200 auth session answer.
async fn pair(res: reqwest::Response) -> (String, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("a JSON body");
    assert_eq!(status, 200, "{body}");
    (
        body["token"].as_str().expect("token").to_owned(),
        body["refreshToken"].as_str().expect("refreshToken").to_owned(),
    )
}

async fn login(app: &TestApp, email: &str) -> (String, String) {
    let code = Browser::default().sso_code("acme.example", email).await;
    pair(app.callback(json!({"code": code})).await).await
}

async fn refresh(app: &TestApp, refresh_token: &str) -> (String, String) {
    pair(
        answer(
            app.at(reqwest::Method::POST, "/api/auth/refresh")
                .json(&json!({"refreshToken": refresh_token})),
        )
        .await,
    )
    .await
}

async fn assert_good(app: &TestApp, token: &str, what: &str) {
    let res = app.verify(token).await;
    assert_eq!(res.status().as_u16(), 200, "{what}");
}

async fn assert_invalid(app: &TestApp, token: &str, what: &str) {
    let res = app.verify(token).await;
    assert_eq!(res.status().as_u16(), 401, "{what}");
    assert_error(res, 401, "INVALID_TOKEN").await;
}

/// The header of a token, as JSON.
fn header(token: &str) -> Value {
    let part = token.split('.').next().expect("a header");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

/// The JWKS the service publishes, with its `Cache-Control`.
async fn jwks(app: &TestApp) -> (Value, String) {
    let res = app.get("/.well-known/jwks.json").await;
    assert_eq!(res.status().as_u16(), 200);
    let cache = res
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (res.json().await.expect("a JSON key set"), cache)
}

/// Verifies `tokens` with Node's `jose` through the JWKS of `app` (fetched over HTTP):
/// per token `{ok, alg, kid, payload}` or `{ok: false, code}`.
async fn jose_verify(app: &TestApp, tokens: &[&str]) -> Vec<Value> {
    let dir = std::env::var("TETHER_TEST_JOSE").unwrap_or_else(|_| {
        panic!("TETHER_TEST_JOSE is not set: run the end-to-end tests through scripts/test.sh, which installs jose")
    });
    let url = format!("{}/.well-known/jwks.json", app.base);
    let tokens = tokens.join("\n");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .args(["--input-type=module", "-e", include_str!("jose_verify.mjs")])
            // `jose` resolves from the folder it is installed in.
            .current_dir(dir)
            .env("JWKS_URL", url)
            .env("TOKENS", tokens)
            .output()
            .expect("node runs")
    })
    .await
    .expect("the verifier finished");
    assert!(
        output.status.success(),
        "jose failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("a JSON array of results")
}

#[tokio::test]
async fn eddsa_and_es256_tokens_verify_with_jose_through_the_published_jwks() {
    for (alg, other) in [("EdDSA", "ES256"), ("ES256", "EdDSA")] {
        let keys = [
            new_key(alg, "signing", "active"),
            new_key(other, "coming", "next"),
            secret_key("verify"),
        ];
        let app = spawn("jose", Some(&keys), None).await;
        app.add_org("Acme", 1, doc! {}).await;
        let (set, cache) = jwks(&app).await;
        assert_eq!(cache, "public, max-age=300");
        let published = set["keys"].as_array().expect("keys");
        assert_eq!(published.len(), 2, "the HS256 key is never published: {set}");
        assert_eq!(published[0]["kid"], "signing");
        assert_eq!(published[0]["alg"], alg);
        assert_eq!(published[0]["use"], "sig");
        assert_eq!(published[1]["kid"], "coming");
        for jwk in published {
            assert!(
                jwk.get("d").is_none() && jwk.get("k").is_none(),
                "no private member: {jwk}"
            );
        }
        assert!(!set.to_string().contains(JWT_SECRET));

        let (token, _) = login(&app, "jose@acme.example").await;
        assert_eq!(header(&token)["alg"], alg);
        assert_eq!(header(&token)["kid"], "signing");
        assert_good(&app, &token, alg).await;
        // Another signature under the same header and claims: jose must refuse it.
        let mut parts: Vec<&str> = token.split('.').collect();
        let tampered_signature = if parts[2].starts_with('A') {
            parts[2].replacen('A', "B", 1)
        } else {
            format!("A{}", &parts[2][1..])
        };
        parts[2] = &tampered_signature;
        let tampered = parts.join(".");
        let results = jose_verify(&app, &[&token, &tampered]).await;
        assert_eq!(results[0]["ok"], true, "{alg}: {}", results[0]);
        assert_eq!(results[0]["alg"], alg);
        assert_eq!(results[0]["kid"], "signing");
        assert_eq!(results[0]["payload"]["sub"], results[0]["payload"]["userId"]);
        assert!(
            results[0]["payload"]["sid"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
        );
        assert_eq!(results[1]["ok"], false, "{alg}: {}", results[1]);
        assert_invalid(&app, &tampered, "a tampered signature").await;
        app.drop().await;
    }
}

#[tokio::test]
async fn the_three_rotation_steps_keep_a_live_session_and_a_removed_keys_tokens_end_with_invalid_token() {
    // Before: JWT_SECRET alone, as every deployment runs today.
    let before = spawn("rotation", None, None).await;
    before.add_org("Acme", 1, doc! {}).await;
    let db = before.db.name().to_owned();
    let (token0, refresh0) = login(&before, "rotation@acme.example").await;
    assert_eq!(header(&token0)["kid"], secret_kid().as_str());
    // A token of the earlier version: the same claims, HS256 under the secret, no `kid`.
    let payload = token0.split('.').nth(1).unwrap();
    let unsigned = format!(
        "{}.{payload}",
        URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"HS256"}"#)
    );
    let without_kid = format!("{unsigned}.{}", hs256(unsigned.as_bytes(), JWT_SECRET.as_bytes()));
    assert_good(&before, &without_kid, "a token without kid").await;

    let ed = new_key("EdDSA", "ed-2026", "next");

    // Step 1: the new key as `next`. It is published; the secret still signs.
    let step1 = spawn("rotation", Some(&[secret_key("active"), ed.clone()]), Some(&db)).await;
    let (set, _) = jwks(&step1).await;
    assert_eq!(set["keys"][0]["kid"], "ed-2026");
    let (token1, refresh1) = refresh(&step1, &refresh0).await;
    assert_eq!(header(&token1)["alg"], "HS256");
    for (token, what) in [(&token0, "token0"), (&without_kid, "no kid"), (&token1, "token1")] {
        assert_good(&step1, token, what).await;
    }

    // Step 2: the new key signs, the secret only verifies.
    let step2 = spawn(
        "rotation",
        Some(&[secret_key("verify"), with_status(ed.clone(), "active")]),
        Some(&db),
    )
    .await;
    let (token2, refresh2) = refresh(&step2, &refresh1).await;
    assert_eq!(header(&token2)["alg"], "EdDSA");
    assert_eq!(header(&token2)["kid"], "ed-2026");
    for (token, what) in [
        (&token0, "token0"),
        (&without_kid, "no kid"),
        (&token1, "token1"),
        (&token2, "token2"),
    ] {
        assert_good(&step2, token, what).await;
    }
    assert_eq!(jose_verify(&step2, &[&token2]).await[0]["ok"], true);

    // Step 3: the old key removed. The session goes on; the old key's tokens end.
    let step3 = spawn("rotation", Some(&[with_status(ed, "active")]), Some(&db)).await;
    let (token3, _) = refresh(&step3, &refresh2).await;
    assert_eq!(header(&token3)["kid"], "ed-2026");
    assert_good(&step3, &token2, "token2").await;
    assert_good(&step3, &token3, "token3").await;
    for (token, what) in [(&token0, "token0"), (&without_kid, "no kid"), (&token1, "token1")] {
        assert_invalid(&step3, token, what).await;
    }
    let results = jose_verify(&step3, &[&token3, &token1]).await;
    assert_eq!(results[0]["ok"], true, "{}", results[0]);
    assert_eq!(
        results[1]["ok"], false,
        "an HS256 token is not verifiable by the JWKS"
    );
    before.drop().await;
}

/// HMAC-SHA256 of `message` under `key`, base64url (RFC 2104 over SHA-256).
fn hs256(message: &[u8], key: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    URL_SAFE_NO_PAD.encode(outer)
}

#[tokio::test]
async fn hs256_under_a_public_key_alg_none_and_an_unknown_kid_are_401_invalid_token() {
    let keys = [new_key("EdDSA", "ed", "active"), new_key("ES256", "ec", "verify")];
    let app = spawn("forged", Some(&keys), None).await;
    app.add_org("Acme", 1, doc! {}).await;
    let (token, _) = login(&app, "forged@acme.example").await;
    assert_good(&app, &token, "the genuine token").await;
    let payload = token.split('.').nth(1).unwrap().to_owned();
    let with_header = |h: Value| format!("{}.{payload}", URL_SAFE_NO_PAD.encode(h.to_string()));
    let (set, _) = jwks(&app).await;
    for jwk in set["keys"].as_array().unwrap() {
        let kid = jwk["kid"].as_str().unwrap();
        let x = jwk["x"].as_str().unwrap();
        let mut secrets = vec![
            URL_SAFE_NO_PAD.decode(x).unwrap(),
            x.as_bytes().to_vec(),
            jwk.to_string().into_bytes(),
        ];
        if let Some(y) = jwk["y"].as_str() {
            let mut sec1 = vec![4u8];
            sec1.extend(URL_SAFE_NO_PAD.decode(x).unwrap());
            sec1.extend(URL_SAFE_NO_PAD.decode(y).unwrap());
            secrets.push(sec1);
        }
        for secret in secrets {
            let unsigned = with_header(json!({"alg": "HS256", "typ": "JWT", "kid": kid}));
            let forged = format!("{unsigned}.{}", hs256(unsigned.as_bytes(), &secret));
            assert_invalid(&app, &forged, &format!("HS256 under the public key {kid}")).await;
        }
        assert_invalid(
            &app,
            &format!("{}.", with_header(json!({"alg": "none", "kid": kid}))),
            "alg none",
        )
        .await;
    }
    assert_invalid(
        &app,
        &format!("{}.", with_header(json!({"alg": "none"}))),
        "alg none, no kid",
    )
    .await;
    let signature = token.rsplit('.').next().unwrap();
    let unknown = format!(
        "{}.{signature}",
        with_header(json!({"alg": "EdDSA", "typ": "JWT", "kid": "gone"}))
    );
    assert_invalid(&app, &unknown, "an unknown kid").await;
    app.drop().await;
}
