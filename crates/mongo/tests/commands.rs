//! How many MongoDB commands a refresh and a verify-token cost (at most 4 for a
//! refresh; the login's are counted over HTTP in the end-to-end tests), counted with the
//! driver's command events (`ClientOptions::command_event_handler`) on a real
//! SecantusDB (`TETHER_TEST_MONGODB_URI`). The use cases run as the service wires
//! them, over `MongoStore` and `JwtIssuer`.

// Test code throughout, helpers too, for clippy's `allow-unwrap-in-tests`.
#![cfg(test)]

use std::sync::{Arc, Mutex, PoisonError};

use mongodb::Client;
use mongodb::event::EventHandler;
use mongodb::event::command::CommandEvent;
use mongodb::options::ClientOptions;
use tether_clock::SystemClock;
use tether_domain::secrecy::SecretString;
use tether_domain::{
    AccessGuard, AccessRole, Clock, Email, IdentityLink, LinkedIdentity, NewOrganization, NewUser,
    OrganizationRepository, Ports, ProviderKey, RefreshPolicy, RefreshSession, SessionConfig, SessionIssuer,
    SessionLifetimes, UserRepository, mocks,
};

const SSO: ProviderKey = ProviderKey::from_static("sso");
use tether_jwt::{JwtConfig, JwtIssuer, SigningKeys};
use tether_mongo::MongoStore;

/// The names of the commands started since the last [`Commands::take`].
#[derive(Clone, Default)]
struct Commands(Arc<Mutex<Vec<String>>>);

impl Commands {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[tokio::test]
async fn a_refresh_costs_four_commands_and_a_verify_token_two() {
    let uri =
        std::env::var("TETHER_TEST_MONGODB_URI").expect("set TETHER_TEST_MONGODB_URI; run scripts/test.sh");
    let commands = Commands::default();
    let mut options = ClientOptions::parse(&uri).await.unwrap();
    let log = commands.clone();
    options.command_event_handler = Some(EventHandler::callback(move |event: CommandEvent| {
        if let CommandEvent::Started(started) = event {
            log.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(started.command_name);
        }
    }));
    let client = Client::with_options(options).unwrap();
    let name = format!("t_commands_{}", std::process::id());
    let store = Arc::new(MongoStore::with_database(
        client.database(&name),
        std::time::Duration::from_secs(5),
    ));
    store.ensure_indexes().await.unwrap();

    let clock = Arc::new(SystemClock);
    let org = OrganizationRepository::create(
        store.as_ref(),
        NewOrganization {
            name: "Acme".into(),
            tenant: None,
            created_at: clock.now(),
        },
    )
    .await
    .unwrap();
    let user = store
        .insert(NewUser {
            email: Email::parse("count@acme.example").unwrap(),
            full_name: "Count".into(),
            organization_id: org.id,
            access_role: AccessRole::Admin,
            conversation_open_preference: "split".into(),
            identity: LinkedIdentity {
                link: IdentityLink {
                    provider: SSO,
                    subject: "prof_count".into(),
                },
                connection: None,
                tenant: None,
            },
            email_verified: false,
            created_at: clock.now(),
        })
        .await
        .unwrap();
    let jwt = Arc::new(JwtIssuer::new(JwtConfig {
        keys: SigningKeys::from_secret(&SecretString::from("commands-secret-commands-secret-0123")).unwrap(),
        issuer: None,
        audience: None,
    }));
    let ports = Ports {
        users: store.clone(),
        organizations: store.clone(),
        sessions: store.clone(),
        refresh_tokens: store.clone(),
        tokens: jwt.clone(),
        verifier: jwt,
        clock: clock.clone(),
        ..mocks::ports()
    };
    let issuer = SessionIssuer::new(
        ports.clone(),
        SessionConfig::default(),
        SessionLifetimes::default(),
    );
    let refresh = RefreshSession::new(ports.clone(), issuer.clone(), RefreshPolicy::default());
    let guard = AccessGuard::new(ports);
    let login = issuer.start_session(user, None, clock.now()).await.unwrap();
    commands.take();

    let renewed = refresh
        .refresh(&login.refresh_token, &tether_domain::AuditOrigin::default())
        .await
        .unwrap();
    let per_refresh = commands.take();
    guard
        .authenticate(tether_domain::secrecy::ExposeSecret::expose_secret(
            &renewed.access_token,
        ))
        .await
        .unwrap();
    let per_verify = commands.take();
    // Within the grace window: the same successor; the insert that makes sure it is
    // stored is refused as a duplicate, so nothing is written.
    let replayed = refresh
        .refresh(&login.refresh_token, &tether_domain::AuditOrigin::default())
        .await
        .unwrap();
    let per_replay = commands.take();
    assert_eq!(
        tether_domain::secrecy::ExposeSecret::expose_secret(&replayed.refresh_token),
        tether_domain::secrecy::ExposeSecret::expose_secret(&renewed.refresh_token)
    );
    println!("refresh: {} {per_refresh:?}", per_refresh.len());
    println!("verify-token: {} {per_verify:?}", per_verify.len());
    println!(
        "refresh within the grace window: {} {per_replay:?}",
        per_replay.len()
    );

    // the rotation on the session, the consumed token's record, user, policy
    assert_eq!(per_refresh, ["findAndModify", "insert", "find", "find"]);
    // session by _id, user by _id: no scan over tokens
    assert_eq!(per_verify, ["find", "find"]);
    // the refused rotation, the session by the consumed token, user, policy, and the
    // consumed token's record again (refused as a duplicate: nothing written)
    assert_eq!(per_replay, ["findAndModify", "find", "find", "find", "insert"]);
    client.database(&name).drop().await.unwrap();
}
