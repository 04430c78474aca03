//! Pending login states held in memory, with the same one-time `take` as MongoDB.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use tether_domain::{
    ClientChallenge, LoginStateRecord, LoginStateStore, RepositoryError, StateTake, TokenHash,
};

/// Login states keyed by digest. Cloning shares the data.
///
/// Expired states are dropped whenever a new one is saved, so memory stays bounded
/// by the logins started in the last ten minutes.
#[derive(Debug, Clone, Default)]
pub struct InMemoryLoginStates {
    states: Arc<Mutex<HashMap<String, LoginStateRecord>>>,
}

impl InMemoryLoginStates {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many states are pending.
    pub fn len(&self) -> usize {
        self.states.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether no state is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl LoginStateStore for InMemoryLoginStates {
    async fn save_state(&self, record: LoginStateRecord) -> Result<(), RepositoryError> {
        let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        states.retain(|_, r| r.expires_at > record.created_at);
        if states.contains_key(record.state_hash.as_str()) {
            return Err(RepositoryError::Duplicate);
        }
        states.insert(record.state_hash.as_str().to_owned(), record);
        Ok(())
    }

    async fn take<'a>(
        &self,
        state_hash: &TokenHash,
        presented: Option<&'a ClientChallenge>,
    ) -> Result<StateTake, RepositoryError> {
        let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(record) = states.get(state_hash.as_str()) else {
            return Ok(StateTake::Absent);
        };
        let met = match &record.client_challenge {
            None => true,
            Some(challenge) => presented == Some(challenge),
        };
        if !met {
            return Ok(StateTake::Bound);
        }
        Ok(states
            .remove(state_hash.as_str())
            .map_or(StateTake::Absent, StateTake::Taken))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_domain::{ProviderKey, Timestamp};

    fn record(hash: &str, created: i64) -> LoginStateRecord {
        LoginStateRecord {
            state_hash: TokenHash::new(hash),
            provider: ProviderKey::from_static("sso"),
            redirect_uri: "http://localhost:5173/signin".into(),
            organization_hint: None,
            pkce: false,
            client_challenge: None,
            created_at: Timestamp::from_millis(created),
            expires_at: Timestamp::from_millis(created + 600_000),
        }
    }

    #[tokio::test]
    async fn a_state_is_taken_once_and_duplicates_are_refused() {
        let store = InMemoryLoginStates::new();
        store.save_state(record("a", 0)).await.unwrap();
        assert!(matches!(
            store.save_state(record("a", 1)).await,
            Err(RepositoryError::Duplicate)
        ));
        assert!(matches!(
            store.take(&TokenHash::new("a"), None).await.unwrap(),
            StateTake::Taken(_)
        ));
        assert_eq!(
            store.take(&TokenHash::new("a"), None).await.unwrap(),
            StateTake::Absent
        );
    }

    #[tokio::test]
    async fn expired_states_are_dropped_when_new_ones_arrive() {
        let store = InMemoryLoginStates::new();
        store.save_state(record("old", 0)).await.unwrap();
        store.save_state(record("new", 700_000)).await.unwrap();
        assert_eq!(store.len(), 1);
    }
}
