//! `LoginStateStore` of `MongoStore` against a real SecantusDB (`TETHER_TEST_MONGODB_URI`).

// Test code throughout, helpers too, for clippy's `allow-unwrap-in-tests`.
#![cfg(test)]

use std::time::Duration;

use mongodb::bson::{Document, doc};
use secrecy::SecretString;
use tether_domain::{
    ClientChallenge, LoginStateRecord, LoginStateStore, ProviderKey, RepositoryError, StateTake, Timestamp,
    TokenHash,
};
use tether_mongo::{LOGIN_STATES, MongoConfig, MongoStore};

async fn store(tag: &str) -> MongoStore {
    let uri = std::env::var("TETHER_TEST_MONGODB_URI")
        .expect("set TETHER_TEST_MONGODB_URI to a running SecantusDB; run scripts/test.sh");
    #[expect(
        clippy::disallowed_methods,
        reason = "a database name that differs between runs, not a time the rules read"
    )]
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let store = MongoStore::connect(MongoConfig {
        uri: SecretString::from(uri),
        database: Some(format!("ls_{tag}_{}_{nanos}", std::process::id())),
        server_selection_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        operation_timeout: Duration::from_secs(5),
        count_commands: false,
        max_pool_size: None,
    })
    .await
    .expect("connect");
    store.ensure_indexes().await.expect("indexes");
    store
}

fn record(hash: &str) -> LoginStateRecord {
    LoginStateRecord {
        state_hash: TokenHash::new(hash),
        provider: ProviderKey::from_static("authkit"),
        redirect_uri: "http://localhost:5173/signin".into(),
        organization_hint: Some("org_123".into()),
        pkce: true,
        client_challenge: None,
        created_at: Timestamp::from_millis(1_700_000_000_000),
        expires_at: Timestamp::from_millis(1_700_000_600_000),
    }
}

#[tokio::test]
async fn a_saved_state_is_taken_once_with_every_field() {
    let store = store("take").await;
    store.save_state(record("aa11")).await.unwrap();
    assert_eq!(
        store.take(&TokenHash::new("aa11"), None).await.unwrap(),
        StateTake::Taken(record("aa11"))
    );
    assert_eq!(
        store.take(&TokenHash::new("aa11"), None).await.unwrap(),
        StateTake::Absent
    );
    assert_eq!(
        store.take(&TokenHash::new("unknown"), None).await.unwrap(),
        StateTake::Absent
    );
    store.database().drop().await.unwrap();
}

#[tokio::test]
async fn the_same_state_digest_cannot_be_pending_twice() {
    let store = store("dup").await;
    store.save_state(record("bb22")).await.unwrap();
    assert!(matches!(
        store.save_state(record("bb22")).await,
        Err(RepositoryError::Duplicate)
    ));
    let count = store
        .database()
        .collection::<Document>(LOGIN_STATES)
        .count_documents(doc! {})
        .await
        .unwrap();
    assert_eq!(count, 1);
    store.database().drop().await.unwrap();
}

#[tokio::test]
async fn concurrent_takes_of_one_state_give_it_to_exactly_one_caller() {
    let store = store("race").await;
    store.save_state(record("cc33")).await.unwrap();
    let takes = (0..10).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.take(&TokenHash::new("cc33"), None).await.unwrap() })
    });
    let mut winners = 0;
    for take in takes {
        if matches!(take.await.unwrap(), StateTake::Taken(_)) {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    store.database().drop().await.unwrap();
}

#[tokio::test]
async fn the_login_states_collection_has_a_ttl_index_on_expiry() {
    let store = store("ttl").await;
    let names = store
        .database()
        .collection::<Document>(LOGIN_STATES)
        .list_index_names()
        .await
        .unwrap();
    assert!(names.iter().any(|n| n == "expiresAt_ttl"), "{names:?}");
    assert!(names.iter().any(|n| n == "stateHash_unique"), "{names:?}");
    store.database().drop().await.unwrap();
}

#[tokio::test]
async fn an_expired_state_not_removed_yet_does_not_block_a_new_login_with_the_same_state() {
    let store = store("expired").await;
    // Far in the future by the server's clock, so that its TTL monitor removes nothing
    // here: only the times of the records decide.
    let created = Timestamp::from_millis(4_100_000_000_000);
    let expired = LoginStateRecord {
        created_at: created,
        expires_at: created.plus_seconds(600),
        ..record("dd44")
    };
    store.save_state(expired.clone()).await.unwrap();
    let restarted = LoginStateRecord {
        provider: ProviderKey::from_static("sso"),
        pkce: false,
        created_at: expired.expires_at,
        expires_at: expired.expires_at.plus_seconds(600),
        ..expired.clone()
    };
    store.save_state(restarted.clone()).await.unwrap();
    assert_eq!(
        store.take(&expired.state_hash, None).await.unwrap(),
        StateTake::Taken(restarted)
    );
    assert_eq!(
        store.take(&expired.state_hash, None).await.unwrap(),
        StateTake::Absent
    );
    store.database().drop().await.unwrap();
}

#[tokio::test]
async fn a_state_bound_to_a_browser_is_taken_only_with_its_challenge_and_stays_otherwise() {
    let store = store("bound").await;
    let ours = ClientChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").unwrap();
    let theirs = ClientChallenge::parse("AAAAAhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").unwrap();
    let bound = LoginStateRecord {
        client_challenge: Some(ours.clone()),
        ..record("ee55")
    };
    store.save_state(bound.clone()).await.unwrap();
    let hash = TokenHash::new("ee55");
    assert_eq!(store.take(&hash, None).await.unwrap(), StateTake::Bound);
    assert_eq!(store.take(&hash, Some(&theirs)).await.unwrap(), StateTake::Bound);
    let stored = store
        .database()
        .collection::<Document>(LOGIN_STATES)
        .find_one(doc! { "stateHash": "ee55" })
        .await
        .unwrap()
        .expect("left in place");
    assert_eq!(stored.get_str("clientChallenge").unwrap(), ours.as_str());
    assert_eq!(
        store.take(&hash, Some(&ours)).await.unwrap(),
        StateTake::Taken(bound)
    );
    assert_eq!(store.take(&hash, Some(&ours)).await.unwrap(), StateTake::Absent);
    store.database().drop().await.unwrap();
}
