//! The CPU cost of one access token per algorithm: sign (what a login or refresh pays)
//! and verify (what every Bearer request pays), through `JwtIssuer` as the service
//! uses it. Run in release: `cargo run --release -p tether-jwt --example sign_verify`
//! (`SIGN_VERIFY_ROUNDS`, default 2000 per algorithm).

#![expect(
    clippy::expect_used,
    reason = "a measuring program: a failure to sign or verify ends it with the reason"
)]

use std::time::Instant;

use secrecy::{ExposeSecret, SecretString};
use tether_domain::{
    AccessClaims, AccessRole, AccessTokenVerifier, Email, OrganizationId, SessionId, Timestamp, TokenIssuer,
    UserId,
};
use tether_jwt::{JwtConfig, JwtIssuer, KeyAlgorithm, KeyStatus, SigningKeys};

fn issuer(alg: KeyAlgorithm) -> JwtIssuer {
    let keys = match alg {
        KeyAlgorithm::Hs256 => {
            SigningKeys::from_secret(&SecretString::from("bench-secret-bench-secret-bench-secret"))
                .expect("a 38-byte secret")
        }
        _ => {
            let key = tether_jwt::generate(alg, Some("bench".into()), KeyStatus::Active).expect("a key");
            let json = serde_json::to_string(&[key]).expect("JSON");
            SigningKeys::parse(&json).expect("a valid key set")
        }
    };
    JwtIssuer::new(JwtConfig {
        keys,
        issuer: Some("tether-auth".into()),
        audience: None,
    })
}

fn main() {
    let rounds: u32 = std::env::var("SIGN_VERIFY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let now = Timestamp::from_millis(1_700_000_000_000);
    let claims = AccessClaims {
        user_id: UserId::parse("5f7b1c2e8a1d4e0012c3b4a5").expect("an id"),
        organization_id: OrganizationId::parse("64a1b2c3d4e5f60012345678").expect("an id"),
        access_role: AccessRole::Admin,
        email: Email::parse("admin@acme.example").expect("an address"),
        session_id: SessionId::new("0123456789abcdef0123456789abcdef"),
        issued_at: now,
        expires_at: now.plus_seconds(8 * 3600),
    };
    println!("algorithm  sign µs/token  verify µs/token  token bytes  ({rounds} rounds each)");
    for alg in [KeyAlgorithm::Hs256, KeyAlgorithm::EdDsa, KeyAlgorithm::Es256] {
        let issuer = issuer(alg);
        let started = Instant::now();
        let mut token = SecretString::from(String::new());
        for _ in 0..rounds {
            token = issuer.issue_access_token(&claims).expect("signed");
        }
        let sign = started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
        let started = Instant::now();
        for _ in 0..rounds {
            AccessTokenVerifier::verify(&issuer, token.expose_secret()).expect("verified");
        }
        let verify = started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
        println!(
            "{:<9}  {sign:>13.1}  {verify:>15.1}  {:>11}",
            alg.as_str(),
            token.expose_secret().len()
        );
    }
}
