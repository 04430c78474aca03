//! The `login_states` collection: [`LoginStateStore`]. A state is stored only as its
//! keyed digest (`stateHash`) with the provider (`flow`), redirect URI, organization hint and whether
//! PKCE is used, and the browser binding's challenge (`clientChallenge`); the verifier is
//! derived from the state and never stored. `take` is one `findOneAndDelete` whose filter
//! holds the presented challenge, so a state is consumed at most once and never by a
//! callback without its browser's verifier (a miss costs one more `find`, to tell a
//! bound state from an absent one). A new state replaces one of
//! the same digest that has expired by its `createdAt`, even before the TTL monitor
//! removes it.

use async_trait::async_trait;
use mongodb::bson::{Bson, Document, doc};
use tether_domain::{
    ClientChallenge, LoginStateRecord, LoginStateStore, ProviderKey, RepositoryError, StateTake, Timestamp,
    TokenHash,
};

use crate::bson::bson_date;
use crate::{LOGIN_STATES, MongoStore};

/// `clientChallenge`: the browser binding of the login, when it has one.
const CLIENT_CHALLENGE: &str = "clientChallenge";

fn record_from_document(document: &Document) -> Result<LoginStateRecord, RepositoryError> {
    let bad = |field: &str| RepositoryError::Unexpected(format!("login state: unreadable `{field}`"));
    let date = |field: &str| {
        document
            .get_datetime(field)
            .map(|d| Timestamp::from_millis(d.timestamp_millis()))
            .map_err(|_| bad(field))
    };
    Ok(LoginStateRecord {
        state_hash: TokenHash::new(document.get_str("stateHash").map_err(|_| bad("stateHash"))?),
        provider: document
            .get_str("flow")
            .ok()
            .and_then(|raw| ProviderKey::parse(raw).ok())
            .ok_or_else(|| bad("flow"))?,
        redirect_uri: document
            .get_str("redirectUri")
            .map_err(|_| bad("redirectUri"))?
            .to_owned(),
        organization_hint: document.get_str("organizationHint").ok().map(str::to_owned),
        pkce: document.get_bool("pkce").unwrap_or(false),
        client_challenge: match document.get(CLIENT_CHALLENGE) {
            None | Some(Bson::Null) => None,
            Some(Bson::String(raw)) => Some(ClientChallenge::parse(raw).map_err(|_| bad(CLIENT_CHALLENGE))?),
            Some(_) => return Err(bad(CLIENT_CHALLENGE)),
        },
        created_at: date("createdAt")?,
        expires_at: date("expiresAt")?,
    })
}

#[async_trait]
impl LoginStateStore for MongoStore {
    async fn save_state(&self, record: LoginStateRecord) -> Result<(), RepositoryError> {
        let mut document = doc! {
            "stateHash": record.state_hash.as_str(),
            "flow": record.provider.as_str(),
            "redirectUri": &record.redirect_uri,
            "pkce": record.pkce,
            "createdAt": bson_date(record.created_at),
            "expiresAt": bson_date(record.expires_at),
        };
        if let Some(hint) = &record.organization_hint {
            document.insert("organizationHint", hint);
        }
        if let Some(challenge) = &record.client_challenge {
            document.insert(CLIENT_CHALLENGE, challenge.as_str());
        }
        let states = self.database().collection::<Document>(LOGIN_STATES);
        match self
            .run("login_states.insert_one", states.insert_one(&document))
            .await
        {
            Err(RepositoryError::Duplicate) => {
                // An expired state the TTL monitor has not removed yet is not pending:
                // remove it (judged by the record's time, not the server's) and retry once.
                let delete = states.delete_one(doc! {
                    "stateHash": record.state_hash.as_str(),
                    "expiresAt": { "$lte": bson_date(record.created_at) },
                });
                let removed = self
                    .run("login_states.delete_expired", delete)
                    .await?
                    .deleted_count;
                if removed == 0 {
                    return Err(RepositoryError::Duplicate);
                }
                self.run("login_states.insert_one", states.insert_one(document))
                    .await
                    .map(|_| ())
            }
            other => other.map(|_| ()),
        }
    }

    async fn take<'a>(
        &self,
        state_hash: &TokenHash,
        presented: Option<&'a ClientChallenge>,
    ) -> Result<StateTake, RepositoryError> {
        let states = self.database().collection::<Document>(LOGIN_STATES);
        let unbound = doc! { CLIENT_CHALLENGE: Bson::Null };
        let filter = match presented {
            Some(challenge) => doc! {
                "stateHash": state_hash.as_str(),
                "$or": [ unbound, { CLIENT_CHALLENGE: challenge.as_str() } ],
            },
            None => doc! { "stateHash": state_hash.as_str(), CLIENT_CHALLENGE: Bson::Null },
        };
        let taken = self
            .run(
                "login_states.find_one_and_delete",
                states.find_one_and_delete(filter),
            )
            .await?;
        if let Some(document) = taken {
            return record_from_document(&document).map(StateTake::Taken);
        }
        let left = self
            .run(
                "login_states.find_bound",
                states.find_one(doc! { "stateHash": state_hash.as_str() }),
            )
            .await?;
        Ok(if left.is_some() {
            StateTake::Bound
        } else {
            StateTake::Absent
        })
    }
}
